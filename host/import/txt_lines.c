/*
 * The box lines of the three text formats (txt.h): Cartucho/mAP ("VOC
 * txt"), rafaelpadilla and YOLO, one box a line. Their layouts differ in
 * the box fields, where the confidence goes and the "difficult" flag
 * (dg_txt_opts); YOLO's class indices are resolved in txt.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txt.h"

/* ---- box lines ------------------------------------------------------------- */

static const char *const box_fields[3][4] = {
    {"left", "top", "right", "bottom"},
    {"left", "top", "width", "height"},
    {"x_center", "y_center", "width", "height"},
};

/* "<class> <left> <top> <right> <bottom> [difficult]" and the like. */
static void layout(const dg_txt_opts *o, int is_dt, char *buf, size_t cap)
{
    const char *const *bf = box_fields[o->box];
    const char *cls = o->format == DG_TXT_YOLO ? "<class-index>" : "<class>";
    const char *conf_l = is_dt && o->conf_leading ? " <confidence>" : "";
    const char *conf_t = is_dt && !o->conf_leading ? " <confidence>" : "";
    const char *diff = !is_dt && o->format == DG_TXT_CARTUCHO ? " [difficult]"
                                                               : "";
    snprintf(buf, cap, "%s%s <%s> <%s> <%s> <%s>%s%s", cls, conf_l, bf[0],
             bf[1], bf[2], bf[3], conf_t, diff);
}

/*
 * Converts the four numbers v of a line to x, y, w, h in pixels. Checks
 * the layout's constraints; notes zero sizes and relative values outside
 * [0, 1].
 */
static dg_status convert_box(imp *s, const char *path, size_t line,
                             uint32_t frame, const double v[4], double b[4])
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    const char *const *bf = box_fields[o->box];
    char n1[40], n2[40];

    if (o->box == DG_TXT_BOX_XYXY) {
        for (int i = 0; i < 2; i++) {
            if (v[i + 2] < v[i])
                return dg__txt_line_fail(ctx, path, line, bf[i + 2],
                                         "less than %s (%s < %s)", bf[i],
                                         dg__txt_fmt_num(n1, sizeof(n1),
                                                         v[i + 2]),
                                         dg__txt_fmt_num(n2, sizeof(n2), v[i]));
        }
        b[0] = v[0];
        b[1] = v[1];
        b[2] = v[2] - v[0];
        b[3] = v[3] - v[1];
    } else {
        for (int i = 2; i < 4; i++) {
            if (v[i] < 0)
                return dg__txt_line_fail(ctx, path, line, bf[i],
                                         "negative (%s)",
                                         dg__txt_fmt_num(n1, sizeof(n1), v[i]));
        }
        b[2] = v[2];
        b[3] = v[3];
        if (o->box == DG_TXT_BOX_XYWH) {
            b[0] = v[0];
            b[1] = v[1];
        } else {
            b[0] = v[0] - v[2] / 2;
            b[1] = v[1] - v[3] / 2;
        }
    }
    if (o->relative) {
        double W = s->fw[frame], H = s->fh[frame];
        if (isnan(W) || isnan(H))
            return dg__txt_line_fail(ctx, path, line, NULL, "relative "
                                     "coordinates need the image size of frame "
                                     "'%s', and there is none%s",
                                     s->fids.v[frame],
                                     o->sizes_path ? " in the sizes file" : "");
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > 1) {
                dg__txt_warn_note(&s->out_of_range, path, line, bf[i],
                                  "relative value outside [0, 1] (%s)",
                                  dg__txt_fmt_num(n1, sizeof(n1), v[i]));
                break;
            }
        }
        b[0] *= W;
        b[2] *= W;
        b[1] *= H;
        b[3] *= H;
    }
    if (!dg__box_finite(b[0], b[1], b[2], b[3]))
        return dg__txt_line_fail(ctx, path, line, NULL, "box too large: its "
                                 "size, corner or area is not a finite "
                                 "number");
    if (b[2] == 0 || b[3] == 0)
        dg__txt_warn_note(&s->zero_box, path, line, b[2] == 0 ? bf[2] : bf[3],
                          "zero width or height");
    return DG_OK;
}

/*
 * One ground-truth (is_dt 0) or detection (is_dt 1) text file of frame
 * into b.
 */
dg_status dg__txt_read_txt(imp *s, const char *path, uint32_t frame, int is_dt,
                           dg_boxset *b)
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    char *buf = NULL, *ln, *f[8];
    size_t len;
    lines it;
    dg_status st;
    int nul;
    int diff_ok = !is_dt && o->format == DG_TXT_CARTUCHO;
    int want = is_dt ? 6 : 5;
    char lay[160], n1[40];

    if ((st = dg__txt_slurp(ctx, path, &buf, &len)) < 0)
        return st;
    dg__txt_lines_init(&it, buf, len);
    while ((ln = dg__txt_lines_next(&it, &nul))) {
        double v[4] = {0}, box[4] = {0}, conf = 0;
        uint8_t difficult = 0;
        uint32_t cls;
        if (nul) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL, "NUL byte");
            goto out;
        }
        int n = dg__txt_split(ln, f, 8, 0);
        if (n == 0)
            continue;
        if (n != want && !(diff_ok && n == want + 1)) {
            layout(o, is_dt, lay, sizeof(lay));
            st = dg__txt_line_fail(ctx, path, it.no, NULL,
                                   "has %d field%s, expected %d%s: %s%s", n,
                                   n == 1 ? "" : "s", want,
                                   diff_ok ? " or 6" : "", lay,
                                   n > want && o->format != DG_TXT_YOLO
                                       ? " (class names cannot contain spaces)"
                                       : "");
            goto out;
        }
        if (n == want + 1) {
            if (strcmp(f[want], "difficult")) {
                st = dg__txt_line_fail(ctx, path, it.no, "difficult",
                                       "expected 'difficult' or nothing, got "
                                       "'%s' (class names cannot contain "
                                       "spaces)", f[want]);
                goto out;
            }
            difficult = 1;
        }
        int k = 1; /* next field */
        if ((st = dg__txt_resolve_class(s, path, it.no, "class", f[0], is_dt,
                                         &cls)) < 0)
            goto out;
        if (is_dt && o->conf_leading) {
            if ((st = dg__txt_field_num(ctx, path, it.no, "confidence", f[k++],
                                        &conf)) < 0)
                goto out;
        }
        for (int i = 0; i < 4; i++) {
            if ((st = dg__txt_field_num(ctx, path, it.no, box_fields[o->box][i],
                                        f[k++], &v[i])) < 0)
                goto out;
        }
        if (is_dt && !o->conf_leading) {
            if ((st = dg__txt_field_num(ctx, path, it.no, "confidence", f[k++],
                                        &conf)) < 0)
                goto out;
        }
        if (is_dt && (conf < 0 || conf > 1)) {
            if (o->strict) {
                st = dg__txt_line_fail(ctx, path, it.no, "confidence",
                                       "out of range [0, 1] (%s)",
                                       dg__txt_fmt_num(n1, sizeof(n1), conf));
                goto out;
            }
            dg__txt_warn_note(&s->conf_range, path, it.no, "confidence",
                              "outside [0, 1] (%s), kept: confidences apply "
                              "to the raw scores",
                              dg__txt_fmt_num(n1, sizeof(n1), conf));
        }
        if ((st = convert_box(s, path, it.no, frame, v, box)) < 0)
            goto out;
        if (cls == NONE)
            continue; /* dropped, noted */
        if ((st = dg__boxset_reserve(ctx, b, is_dt ? DG_BOXES_DETS
                                                   : DG_BOXES_LABELS, 1)) < 0)
            goto out;
        dg__boxset_push(b, frame, cls, box[0], box[1], box[2], box[3], conf,
                        box[2] * box[3], 0, difficult);
    }
    st = DG_OK;
out:
    free(buf);
    return st;
}
