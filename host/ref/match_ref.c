/*
 * The reference matcher: plain C, one (frame, class) group at a time, written
 * to be obviously right rather than fast. Every OpenCL kernel of the
 * matching stage must give the same bytes; tests/test-cl-diff.c checks it.
 *
 * Per group: ground truths in input order, stably partitioned regular first
 * and ignored (iscrowd or ignore) last; detections stably sorted by
 * descending score. For each IoU threshold t, each detection in turn scans
 * the ground truths in that order, skipping non-crowd ones already taken,
 * stopping at the first ignored one once it holds a regular one, and keeps
 * the last one whose IoU is >= the best so far (starting at min(t, 1-1e-10)).
 * These are pycocotools' evaluateImg rules, so ties go to the later ground
 * truth. IoUs come from the boxes or from the tile an earlier stage gave
 * (dg_match_input.iou_tile).
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef struct {
    uint32_t idx;
    double score;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable */
}

/* The IoU of chunk detection di and label gj of frame f: from the
 * boxes, or the tile an earlier stage gave (stages.h). */
static double pair_iou(const dg_match_input *in, uint32_t f, uint64_t di,
                       uint64_t gj)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    if (in->iou_tile) {
        uint64_t d0 = dt->frame_off[f], g0 = gt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - g0;
        return in->iou_tile[in->tile_off[f] + (di - d0) * ng + (gj - g0)];
    }
    return dg__iou(dt->x[di], dt->y[di], dt->w[di], dt->h[di], gt->x[gj],
                   gt->y[gj], gt->w[gj], gt->h[gj], gt->iscrowd[gj]);
}

/* Matches one group of frame f. g[] and d[] are chunk-relative indices,
 * already in matching order; iou is n_d x n_g scratch, taken a scratch of
 * n_g bytes. */
static void match_group(const dg_match_input *in, dg_match_output *out,
                        uint32_t f, const uint32_t *g, uint32_t n_g,
                        const uint32_t *d, uint32_t n_d, double *iou,
                        uint8_t *taken)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint64_t n_dt = dt->n;

    for (uint32_t i = 0; i < n_d; i++)
        for (uint32_t j = 0; j < n_g; j++)
            iou[(size_t)i * n_g + j] = pair_iou(in, f, d[i], g[j]);
    for (int t = 0; t < in->n_iou; t++) {
        double thr = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        memset(taken, 0, n_g);
        for (uint32_t i = 0; i < n_d; i++) {
            double best = thr;
            int64_t m = -1;
            for (uint32_t j = 0; j < n_g; j++) {
                uint32_t gj = g[j];
                int ig = gt->iscrowd[gj] || gt->ignore[gj];
                if (taken[j] && !gt->iscrowd[gj])
                    continue;
                if (m >= 0 && !(gt->iscrowd[g[m]] || gt->ignore[g[m]]) && ig)
                    break;
                if (iou[(size_t)i * n_g + j] < best)
                    continue;
                best = iou[(size_t)i * n_g + j];
                m = j;
            }
            size_t o = (size_t)t * n_dt + d[i];
            if (m < 0) {
                out->status[o] = DG_FP;
                out->matched[o] = -1;
            } else {
                uint32_t gm = g[m];
                taken[m] = 1;
                out->status[o] =
                    (gt->iscrowd[gm] || gt->ignore[gm]) ? DG_IGN : DG_TP;
                out->matched[o] = (int32_t)gm;
            }
        }
    }
}

dg_status dg__match_ref(dg_ctx *ctx, const dg_match_input *in,
                        dg_match_output *out)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    dg_status st = DG_OK;
    uint32_t *g = NULL;
    scored *ds = NULL;
    uint32_t *d = NULL;
    double *iou = NULL;
    uint8_t *taken = NULL;
    size_t iou_cap = 0;

    /* Largest frame bounds the scratch. */
    uint64_t max_g = 0, max_d = 0;
    for (uint32_t f = 0; f < in->n_frames; f++) {
        uint64_t ng = gt->frame_off[f + 1] - gt->frame_off[f];
        uint64_t nd = dt->frame_off[f + 1] - dt->frame_off[f];
        if (ng > max_g)
            max_g = ng;
        if (nd > max_d)
            max_d = nd;
    }
    g = dg__alloc(ctx, max_g + 1, sizeof(*g));
    ds = dg__alloc(ctx, max_d + 1, sizeof(*ds));
    d = dg__alloc(ctx, max_d + 1, sizeof(*d));
    taken = dg__alloc(ctx, max_g + 1, 1);
    if (!g || !ds || !d || !taken) {
        st = DG_ENOMEM;
        goto out;
    }

    for (uint32_t f = 0; f < in->n_frames; f++) {
        uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
        uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
        if (d0 == d1)
            continue;
        /* Each class present among this frame's detections is a group. */
        for (uint64_t k = d0; k < d1; k++) {
            uint32_t c = dt->cls[k];
            int first = 1;
            for (uint64_t k2 = d0; k2 < k; k2++)
                if (dt->cls[k2] == c) {
                    first = 0;
                    break;
                }
            if (!first)
                continue;
            uint32_t n_d = 0, n_g = 0;
            for (uint64_t k2 = k; k2 < d1; k2++)
                if (dt->cls[k2] == c) {
                    ds[n_d].idx = (uint32_t)k2;
                    ds[n_d].score = dt->score[k2];
                    n_d++;
                }
            qsort(ds, n_d, sizeof(*ds), by_score_desc);
            for (uint32_t i = 0; i < n_d; i++)
                d[i] = ds[i].idx;
            for (int pass = 0; pass < 2; pass++)
                for (uint64_t j = g0; j < g1; j++) {
                    int ig = gt->iscrowd[j] || gt->ignore[j];
                    if (gt->cls[j] == c && ig == pass)
                        g[n_g++] = (uint32_t)j;
                }
            size_t need = (size_t)n_d * n_g;
            if (need > iou_cap) {
                free(iou);
                iou = dg__alloc(ctx, need, sizeof(*iou));
                if (!iou) {
                    st = DG_ENOMEM;
                    goto out;
                }
                iou_cap = need;
            }
            match_group(in, out, f, g, n_g, d, n_d, iou, taken);
        }
    }
out:
    free(g);
    free(ds);
    free(d);
    free(iou);
    free(taken);
    return st;
}
