/*
 * Queries over segments: restricting results to a segment's frames,
 * choosing frames by metadata, and per-segment counts and AP. The
 * segments themselves are stored by host/store/segments.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

static const char *ptag(const dg_project *p)
{
    const char *path = dg__project_source(p);
    return path ? path : "(new project)";
}

dg_status dg_results_restrict_frames(dg_ctx *ctx, dg_results *r,
                                     dg_project *p, const uint32_t *frames,
                                     uint32_t n)
{
    if (!r || !p)
        return dg__fail(ctx, DG_EINVAL,
                        "dg_results_restrict_frames: NULL argument");
    if (!frames) {
        dg__results_set_restriction(r, NULL, NULL);
        return DG_OK;
    }
    dg_status st = dg__results_check_classes(ctx, r, p);
    if (st < 0)
        return st;
    uint32_t nf = dg__project_n_frames(p);
    uint32_t nc = dg_results_n_classes(r);
    uint8_t *mask = dg__calloc(ctx, nf ? nf : 1, 1);
    uint64_t *cnt = dg__calloc(ctx, nc ? nc : 1, 8);
    uint64_t *off = NULL;
    const uint32_t *cls = NULL, *det_frame;
    const uint8_t *counted = NULL;
    if (!mask || !cnt) {
        st = DG_ENOMEM;
        goto fail;
    }
    for (uint32_t k = 0; k < n; k++) {
        if (frames[k] >= nf) {
            st = dg__fail(ctx, DG_EINVAL,
                          "frame index %u out of range (%u frames)",
                          frames[k], nf);
            goto fail;
        }
        mask[frames[k]] = 1;
    }
    /* Built now, so that the queries under the mask find it
     * (dg__results_mask_det_frame). */
    if ((st = dg__results_det_frame(ctx, r, p, &det_frame)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, -1, &off)) < 0 ||
        (st = dg__project_label_columns(ctx, p, &cls, &counted)) < 0)
        goto fail;
    uint64_t n_lab = dg__project_n_labels(p);
    if (off[nf] != n_lab) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': label frame offsets end at %llu, there are %llu "
                      "labels",
                      ptag(p), (unsigned long long)off[nf],
                      (unsigned long long)n_lab);
        goto fail;
    }
    for (uint32_t f = 0; f < nf; f++)
        if (mask[f])
            for (uint64_t m = off[f]; m < off[f + 1]; m++)
                cnt[cls[m]] += counted[m];
    free(off);
    dg__results_set_restriction(r, mask, cnt);
    return DG_OK;
fail:
    free(off);
    free(mask);
    free(cnt);
    return st;
}

dg_status dg_results_restrict_segment(dg_ctx *ctx, dg_results *r,
                                      dg_project *p, const char *segment)
{
    if (!segment || !strcmp(segment, DG_SEGMENT_ALL))
        return dg_results_restrict_frames(ctx, r, p, NULL, 0);
    uint32_t i;
    dg_status st = dg_project_find(ctx, p, DG_NAME_SEGMENT, segment, &i);
    if (st < 0)
        return st;
    const uint32_t *f;
    uint32_t n;
    st = dg_project_segment_frames(ctx, p, i, &f, &n);
    if (st < 0)
        return st;
    return dg_results_restrict_frames(ctx, r, p, f, n);
}

/* ---- frame selection ----------------------------------------------------- */


enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* Reads an operator at *s, advancing; -1 if none. */
static int read_op(const char **s)
{
    const char *c = *s;
    int op = -1, len = 1;
    if (c[0] == '!' && c[1] == '=')
        op = OP_NE, len = 2;
    else if (c[0] == '<' && c[1] == '=')
        op = OP_LE, len = 2;
    else if (c[0] == '>' && c[1] == '=')
        op = OP_GE, len = 2;
    else if (c[0] == '=' && c[1] == '=')
        op = OP_EQ, len = 2;
    else if (c[0] == '=')
        op = OP_EQ;
    else if (c[0] == '<')
        op = OP_LT;
    else if (c[0] == '>')
        op = OP_GT;
    if (op >= 0)
        *s = c + len;
    return op;
}

static int cmp_num(double v, int op, double x)
{
    switch (op) {
    case OP_EQ: return v == x;
    case OP_NE: return v != x;
    case OP_LT: return v < x;
    case OP_LE: return v <= x;
    case OP_GT: return v > x;
    default: return v >= x;
    }
}

/* Copies [a, b) trimmed of blanks into buf. */
static void trim_copy(char *buf, size_t cap, const char *a, const char *b)
{
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    size_t n = (size_t)(b - a) < cap - 1 ? (size_t)(b - a) : cap - 1;
    memcpy(buf, a, n);
    buf[n] = 0;
}

static int parse_double(const char *s, double *v)
{
    char *end;
    if (!*s)
        return 0;
    *v = strtod(s, &end);
    return *end == 0 && !isnan(*v);
}

dg_status dg_project_frames_where(dg_ctx *ctx, const dg_project *p,
                                  const char *expr, uint32_t **frames,
                                  uint32_t *n)
{
    /* Split into up to three parts around up to two operators. */
    char part[3][256];
    int op[2] = {-1, -1}, nop = 0;
    const char *s = expr, *start = expr;
    while (*s) {
        const char *at = s;
        int o = read_op(&s);
        if (o < 0) {
            s++;
            continue;
        }
        if (nop == 2)
            return dg__fail(ctx, DG_EINVAL, "cannot parse '%s': too many "
                                            "comparisons", expr);
        trim_copy(part[nop], sizeof(part[nop]), start, at);
        op[nop++] = o;
        start = s;
    }
    if (!nop)
        return dg__fail(ctx, DG_EINVAL,
                        "cannot parse '%s' (want col=value, col>=x or "
                        "lo<=col<hi)",
                        expr);
    trim_copy(part[nop], sizeof(part[nop]), start, s);
    const char *col = nop == 1 ? part[0] : part[1];
    const dg_meta_col *m = NULL;
    uint32_t n_meta = dg__project_n_meta(p);
    for (uint32_t i = 0; i < n_meta; i++)
        if (!strcmp(dg__project_meta(p, i)->name, col))
            m = dg__project_meta(p, i);
    if (!m) {
        const char **v = malloc((n_meta ? n_meta : 1) * sizeof(*v));
        uint32_t nv = v ? n_meta : 0;
        for (uint32_t i = 0; i < nv; i++)
            v[i] = dg__project_meta(p, i)->name;
        char what[600];
        snprintf(what, sizeof(what), "'%s': no frame metadata column", expr);
        dg_status st = dg__fail_unknown(ctx, DG_ENOTFOUND, what, col, v, nv,
                                        "columns");
        free(v);
        return st;
    }
    double lo = 0, hi = 0;
    if (nop == 2) {
        if (!m->is_num || (op[0] != OP_LT && op[0] != OP_LE) ||
            (op[1] != OP_LT && op[1] != OP_LE) ||
            !parse_double(part[0], &lo) || !parse_double(part[2], &hi))
            return dg__fail(ctx, DG_EINVAL,
                            "cannot parse '%s': a range is lo <= col < hi "
                            "with numbers on a numeric column",
                            expr);
    } else if (m->is_num) {
        if (!parse_double(part[1], &hi))
            return dg__fail(ctx, DG_EINVAL,
                            "'%s': column '%s' is numeric and '%s' is not a "
                            "number",
                            expr, col, part[1]);
    } else if (op[0] != OP_EQ && op[0] != OP_NE) {
        return dg__fail(ctx, DG_EINVAL,
                        "'%s': column '%s' holds strings: use = or !=", expr,
                        col);
    }
    uint32_t nf = dg__project_n_frames(p);
    uint32_t *out = dg__alloc(ctx, nf ? nf : 1, 4);
    if (!out)
        return DG_ENOMEM;
    uint32_t k = 0;
    for (uint32_t f = 0; f < nf; f++) {
        int keep;
        if (!m->is_num)
            keep = (strcmp(m->str[f], part[1]) == 0) == (op[0] == OP_EQ);
        else if (isnan(m->num[f]))
            keep = 0;
        else if (nop == 2)
            keep = cmp_num(lo, op[0], m->num[f]) &&
                   cmp_num(m->num[f], op[1], hi);
        else
            keep = cmp_num(m->num[f], op[0], hi);
        if (keep)
            out[k++] = f;
    }
    *frames = out;
    *n = k;
    return DG_OK;
}

/* ---- every segment at once ------------------------------------------------ */

dg_status dg_results_segment_counts(dg_ctx *ctx, dg_results *r, dg_project *p,
                                    double conf, int iou_idx,
                                    dg_counts *per_segment)
{
    if (!r || !p || !per_segment)
        return dg__fail(ctx, DG_EINVAL,
                        "dg_results_segment_counts: NULL argument");
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    dg_results_info ri;
    dg__results_info(r, &ri);
    if (iou_idx < 0 || iou_idx >= ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range",
                        iou_idx);
    const uint8_t *row;
    const uint32_t *df;
    dg_status st;
    if ((st = dg__results_check_classes(ctx, r, p)) < 0 ||
        (st = dg__results_status_row(ctx, r, iou_idx, &row)) < 0 ||
        (st = dg__results_det_frame(ctx, r, p, &df)) < 0)
        return st;
    uint32_t nf = dg__project_n_frames(p);
    uint64_t *tp = dg__calloc(ctx, (size_t)nf + 1, 8);
    uint64_t *det = dg__calloc(ctx, (size_t)nf + 1, 8);
    uint64_t *gt = dg__calloc(ctx, (size_t)nf + 1, 8);
    uint64_t *off = NULL;
    const uint32_t *cls;
    const uint8_t *counted;
    if (!tp || !det || !gt) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < ri.n_classes; c++) {
        uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
        uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, conf);
        for (uint64_t j = lo; j < lo + k; j++) {
            uint8_t s = row[j];
            if (s == DG_IGN)
                continue;
            det[df[j]]++;
            tp[df[j]] += s == DG_TP;
        }
    }
    if ((st = dg__project_frame_offsets(ctx, p, -1, &off)) < 0 ||
        (st = dg__project_label_columns(ctx, p, &cls, &counted)) < 0)
        goto out;
    (void)cls;
    if (off[nf] != dg__project_n_labels(p)) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': label frame offsets do not span the labels",
                      ptag(p));
        goto out;
    }
    for (uint32_t f = 0; f < nf; f++)
        for (uint64_t m = off[f]; m < off[f + 1]; m++)
            gt[f] += counted[m];
    for (uint32_t s = 0; s < dg_project_n_segments(p); s++) {
        const uint32_t *fr;
        uint32_t n;
        if ((st = dg_project_segment_frames(ctx, p, s, &fr, &n)) < 0)
            goto out;
        dg_counts *o = &per_segment[s];
        memset(o, 0, sizeof(*o));
        for (uint32_t k = 0; k < n; k++) {
            o->tp += tp[fr[k]];
            o->n_det += det[fr[k]];
            o->n_gt += gt[fr[k]];
        }
        o->fp = o->n_det - o->tp;
        o->fn = o->n_gt - o->tp;
    }
out:
    free(tp);
    free(det);
    free(gt);
    free(off);
    return st;
}

/* ---- AP --------------------------------------------------------------------- */

dg_status dg_results_ap(dg_ctx *ctx, dg_results *r, int iou_idx,
                        double *per_class, double *mean)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    if (iou_idx < 0 || iou_idx >= ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range",
                        iou_idx);
    double sum = 0;
    uint32_t n_def = 0;
    for (uint32_t c = 0; c < ri.n_classes; c++) {
        dg_sweep_point *pts;
        uint64_t np;
        dg_status st = dg_results_sweep(ctx, r, c, iou_idx, &pts, &np);
        if (st < 0)
            return st;
        uint64_t n_gt = ri.frame_mask ? ri.mask_gt_count[c] : ri.gt_count[c];
        double ap = NAN;
        if (n_gt) {
            /* Envelope from the lowest score up, then the area. */
            double best = 0;
            for (uint64_t i = np; i-- > 0;) {
                uint64_t d = pts[i].tp + pts[i].fp;
                double prec = d ? (double)pts[i].tp / (double)d : 0;
                if (prec > best)
                    best = prec;
                double rec = (double)pts[i].tp / (double)n_gt;
                double prev = i ? (double)pts[i - 1].tp / (double)n_gt : 0;
                /* Stored as the area of this step; summed below. */
                pts[i].conf = (rec - prev) * best;
            }
            ap = 0;
            for (uint64_t i = 0; i < np; i++)
                ap += pts[i].conf;
            sum += ap;
            n_def++;
        }
        free(pts);
        if (per_class)
            per_class[c] = ap;
    }
    if (mean)
        *mean = n_def ? sum / n_def : NAN;
    return DG_OK;
}
