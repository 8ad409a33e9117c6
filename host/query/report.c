/*
 * The report payload (include/detgrid/report.h): the labels, and per
 * inference set the sorted scores, the class-wise outcome at every stored
 * IoU threshold as two bit planes, and the class-agnostic match as a
 * frame-relative label code (row 0 in full, later rows as lists of
 * changes). tools/cmd-report.c encodes them into the page.
 */
#include <stdlib.h>
#include <string.h>

#include "detgrid/report.h"
#include "store.h"

static dg_status oom(dg_ctx *ctx)
{
    return dg__fail(ctx, DG_ENOMEM, "out of memory");
}

/* ---- labels ------------------------------------------------------------- */

dg_status dg_report_export_labels(dg_ctx *ctx, dg_project *p,
                                  dg_report_labels *out)
{
    memset(out, 0, sizeof(*out));
    const dg_boxset *g;
    dg_status st = dg__project_labels(ctx, p, &g);
    if (st < 0)
        return st;
    uint64_t n = g->n;
    uint8_t *flags = malloc(n + 1);
    if (!flags)
        return oom(ctx);
    for (uint64_t i = 0; i < n; i++)
        flags[i] = (uint8_t)((g->iscrowd && g->iscrowd[i] ? 1 : 0) |
                             (g->ignore && g->ignore[i] ? 2 : 0));
    out->n = n;
    out->n_frames = dg__project_n_frames(p);
    out->n_classes = dg__project_n_classes(p);
    out->frame_off = g->frame_off;
    out->cls = g->cls;
    out->flags = flags;
    out->x = g->x;
    out->y = g->y;
    out->w = g->w;
    out->h = g->h;
    return DG_OK;
}

void dg_report_labels_release(dg_report_labels *l)
{
    if (!l)
        return;
    free(l->flags);
    memset(l, 0, sizeof(*l));
}

/* ---- one inference set ------------------------------------------------- */

/* Bit plane of row (n entries): bit j set where row[j] == v. */
static void bit_plane(uint8_t *out, const uint8_t *row, uint64_t n, uint8_t v)
{
    memset(out, 0, (n + 7) / 8);
    for (uint64_t j = 0; j < n; j++)
        if (row[j] == v)
            out[j >> 3] |= (uint8_t)(1u << (j & 7));
}

/*
 * Agnostic codes: 0 background, 1 ignored, 2 + the taken label's index
 * within the detection's frame. Row 0 in full, then per threshold the
 * positions whose code changed from the row before and their codes.
 */
static dg_status agnostic_codes(dg_ctx *ctx, dg_results *r, const char *name,
                                const uint64_t *loff, uint32_t n_frames,
                                dg_report_set *s)
{
    uint64_t n = s->n_det;
    uint64_t maxc = 1;
    for (uint32_t f = 0; f < n_frames; f++)
        if (loff[f + 1] - loff[f] + 1 > maxc)
            maxc = loff[f + 1] - loff[f] + 1;
    size_t es = maxc < 256 ? 1 : maxc < 65536 ? 2 : 4;
    /* Row t is written into row0 (t = 0), then buf[t & 1]. */
    uint8_t *buf[2] = {malloc(n * es + 1), malloc(n * es + 1)};
    uint64_t cap = 1024, nchg = 0;
    s->code_size = (unsigned)es;
    s->agn_row0 = malloc(n * es + 1);
    s->agn_n_changes = calloc((size_t)s->n_iou, sizeof(uint64_t));
    s->agn_chg_pos = malloc(cap * sizeof(*s->agn_chg_pos));
    s->agn_chg_val = malloc(cap * es);
    dg_status st = DG_OK;
    if (!buf[0] || !buf[1] || !s->agn_row0 || !s->agn_n_changes ||
        !s->agn_chg_pos || !s->agn_chg_val) {
        st = oom(ctx);
        goto out;
    }
    const uint8_t *prev = NULL;
    for (int t = 0; t < s->n_iou; t++) {
        const int32_t *row;
        if ((st = dg__results_agnostic_row(ctx, r, t, &row)) < 0)
            goto out;
        uint8_t *code = t == 0 ? s->agn_row0 : buf[t & 1];
        uint64_t before = nchg;
        for (uint64_t j = 0; j < n; j++) {
            int32_t v = row[j];
            uint32_t f = s->det_frame[j];
            uint32_t c;
            if (v == DG_AGN_BACKGROUND) {
                c = 0;
            } else if (v == DG_AGN_IGNORED) {
                c = 1;
            } else if (v >= 0 && (uint64_t)v >= loff[f] &&
                       (uint64_t)v < loff[f + 1]) {
                c = (uint32_t)(2 + ((uint64_t)v - loff[f]));
            } else {
                st = dg__fail(ctx, DG_ESTALE,
                              "results for '%s': detection %llu took label "
                              "%d of another frame (run 'detgrid eval')",
                              name, (unsigned long long)j, (int)v);
                goto out;
            }
            uint8_t cb[4];
            if (es == 1) {
                cb[0] = (uint8_t)c;
            } else if (es == 2) {
                uint16_t c16 = (uint16_t)c;
                memcpy(cb, &c16, 2);
            } else {
                memcpy(cb, &c, 4);
            }
            memcpy(code + j * es, cb, es);
            if (t > 0 && memcmp(prev + j * es, cb, es)) {
                if (nchg == cap) {
                    cap *= 2;
                    uint32_t *np = realloc(s->agn_chg_pos, cap * sizeof(*np));
                    if (np)
                        s->agn_chg_pos = np;
                    uint8_t *nv = realloc(s->agn_chg_val, cap * es);
                    if (nv)
                        s->agn_chg_val = nv;
                    if (!np || !nv) {
                        st = oom(ctx);
                        goto out;
                    }
                }
                s->agn_chg_pos[nchg] = (uint32_t)j;
                memcpy(s->agn_chg_val + nchg * es, cb, es);
                nchg++;
            }
        }
        s->agn_n_changes[t] = nchg - before;
        prev = code;
    }
    s->n_changes = nchg;
    s->has_agnostic = 1;
out:
    free(buf[0]);
    free(buf[1]);
    return st;
}

dg_status dg_report_export_set(dg_ctx *ctx, dg_project *p, const char *name,
                               dg_report_set *out)
{
    dg_results *r = NULL;
    dg_status st;
    uint64_t *loff = NULL, *doff = NULL;
    uint32_t *rec_frame = NULL;

    memset(out, 0, sizeof(*out));
    if ((st = dg_results_load(ctx, p, name, &r)) < 0)
        return st;
    out->results = r;
    int64_t which = dg_project_inference_index(p, name);
    dg_results_info ri;
    dg__results_info(r, &ri);
    uint64_t n = ri.n_det;
    uint32_t n_frames = dg__project_n_frames(p);
    const uint32_t *order;
    const dg_boxset *dt;
    if ((st = dg__results_order(ctx, r, &order)) < 0 ||
        (st = dg__project_inferences(ctx, p, (uint32_t)which, &dt)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, -1, &loff)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, (int)which, &doff)) < 0)
        goto fail;
    if (dt->n != n) {
        st = dg__fail(ctx, DG_ESTALE,
                      "results for '%s' do not fit its boxes (run 'detgrid "
                      "eval')",
                      name);
        goto fail;
    }
    out->device = dg_results_device(r);
    out->n_det = n;
    out->n_classes = ri.n_classes;
    out->n_iou = ri.n_iou;
    out->iou = ri.iou;
    out->class_off = ri.class_off;
    out->gt_count = ri.gt_count;
    out->score = ri.score;
    out->record = order;
    out->x = dt->x;
    out->y = dt->y;
    out->w = dt->w;
    out->h = dt->h;

    /* Frame of each sorted position: record -> frame, then gathered. */
    out->det_frame = malloc(n * sizeof(*out->det_frame) + 4);
    rec_frame = malloc(n * sizeof(*rec_frame) + 4);
    out->plane_bytes = (n + 7) / 8;
    out->status = malloc(2 * out->plane_bytes * (size_t)ri.n_iou + 1);
    if (!out->det_frame || !rec_frame || !out->status) {
        st = oom(ctx);
        goto fail;
    }
    for (uint32_t f = 0; f < n_frames; f++)
        for (uint64_t d = doff[f]; d < doff[f + 1]; d++)
            rec_frame[d] = f;
    for (uint64_t j = 0; j < n; j++)
        out->det_frame[j] = rec_frame[order[j]];

    size_t nb = out->plane_bytes;
    for (int t = 0; t < ri.n_iou; t++) {
        const uint8_t *row;
        dg__progress(ctx, "report: outcomes", (uint64_t)t,
                     (uint64_t)ri.n_iou + 1);
        if ((st = dg__results_status_row(ctx, r, t, &row)) < 0)
            goto fail;
        bit_plane(out->status + (size_t)(2 * t) * nb, row, n, DG_TP);
        bit_plane(out->status + (size_t)(2 * t + 1) * nb, row, n, DG_IGN);
    }
    if (dg__results_has_agnostic(r) &&
        (st = agnostic_codes(ctx, r, name, loff, n_frames, out)) < 0)
        goto fail;
    dg__progress(ctx, "report: outcomes", (uint64_t)ri.n_iou + 1,
                 (uint64_t)ri.n_iou + 1);
    free(loff);
    free(doff);
    free(rec_frame);
    return DG_OK;
fail:
    free(loff);
    free(doff);
    free(rec_frame);
    dg_report_set_release(out);
    return st;
}

void dg_report_set_release(dg_report_set *s)
{
    if (!s)
        return;
    free(s->det_frame);
    free(s->status);
    free(s->agn_row0);
    free(s->agn_n_changes);
    free(s->agn_chg_pos);
    free(s->agn_chg_val);
    dg_results_free(s->results);
    memset(s, 0, sizeof(*s));
}
