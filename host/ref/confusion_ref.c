/*
 * The class-agnostic reference matcher behind the confusion matrix: plain C,
 * one frame at a time, written to be obviously right. kernels/confusion.cl
 * must give the same bytes; tests/test-confusion.c checks it.
 *
 * Per frame: detections of every class stably sorted by descending score;
 * the regular ground truths (neither crowd nor ignored) in input order; the
 * others aside. For each IoU threshold t (capped at 1 - 1e-10, as in the
 * class-wise matcher, so that t = 1 accepts what pycocotools accepts), each
 * detection in turn looks at every regular ground truth not yet taken whose
 * IoU is >= t (a NaN IoU never is) and takes the best: the higher IoU, on
 * equal IoU one of the detection's own class, then the lower index (the
 * first seen). Taking nothing, it is ignored when some crowd or ignored
 * ground truth of the frame, of any class, has IoU >= t with it (crowd IoU
 * is intersection over detection area), else background.
 *
 * Each detection's IoUs are computed once; only those >= the lowest
 * threshold are kept as its candidates, since a ground truth below it is
 * skipped at every threshold, and of the crowd or ignored ones only the
 * highest.
 */
#include <math.h>
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

/* Scratch that grows to the largest frame. */
typedef struct {
    scored *ds;
    uint32_t *reg, *ign;
    uint32_t *cand;  /* candidates: positions in reg, detection by detection */
    double *val;     /* their IoUs */
    size_t *cstart;  /* n_d + 1: where detection i's candidates start */
    double *ibest;   /* n_d: highest IoU with a crowd or ignored one */
    uint8_t *taken;  /* n_reg */
    size_t cap_d, cap_g, cap_pairs;
} scratch;

static void scratch_release(scratch *s)
{
    free(s->ds);
    free(s->reg);
    free(s->ign);
    free(s->cand);
    free(s->val);
    free(s->cstart);
    free(s->ibest);
    free(s->taken);
}

static dg_status scratch_reserve(dg_ctx *ctx, scratch *s, size_t nd,
                                 size_t ng)
{
    if (nd > s->cap_d) {
        free(s->ds);
        free(s->cstart);
        free(s->ibest);
        s->ds = dg__alloc(ctx, nd, sizeof(*s->ds));
        s->cstart = dg__alloc(ctx, nd + 1, sizeof(*s->cstart));
        s->ibest = dg__alloc(ctx, nd, sizeof(*s->ibest));
        if (!s->ds || !s->cstart || !s->ibest)
            return DG_ENOMEM;
        s->cap_d = nd;
    }
    if (ng > s->cap_g) {
        free(s->reg);
        free(s->ign);
        free(s->taken);
        s->reg = dg__alloc(ctx, ng, sizeof(*s->reg));
        s->ign = dg__alloc(ctx, ng, sizeof(*s->ign));
        s->taken = dg__alloc(ctx, ng, 1);
        if (!s->reg || !s->ign || !s->taken)
            return DG_ENOMEM;
        s->cap_g = ng;
    }
    return DG_OK;
}

/* Room for one more candidate. */
static dg_status cand_grow(dg_ctx *ctx, scratch *s, size_t n)
{
    if (n < s->cap_pairs)
        return DG_OK;
    size_t cap = s->cap_pairs ? s->cap_pairs * 2 : 4096;
    uint32_t *c = realloc(s->cand, cap * sizeof(*c));
    if (c)
        s->cand = c;
    double *v = c ? realloc(s->val, cap * sizeof(*v)) : NULL;
    if (v)
        s->val = v;
    if (!c || !v)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    s->cap_pairs = cap;
    return DG_OK;
}

/* The IoU of chunk detection d and label j of frame f: from the boxes
 * (crowd regions over the detection's area), or the tile an earlier stage
 * gave (stages.h). */
static double pair_iou(const dg_match_input *in, uint32_t f, uint64_t d,
                       uint64_t j)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    if (in->iou_tile) {
        uint64_t d0 = dt->frame_off[f], g0 = gt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - g0;
        return in->iou_tile[in->tile_off[f] + (d - d0) * ng + (j - g0)];
    }
    return dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d], gt->x[j], gt->y[j],
                   gt->w[j], gt->h[j], gt->iscrowd[j]);
}

dg_status dg__match_agnostic_ref(dg_ctx *ctx, const dg_match_input *in,
                                 int32_t *agn)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint64_t n_dt = dt->n;
    dg_status st = DG_OK;
    scratch s;
    double thr[DG_MAX_IOU_THRESHOLDS], thr_min = 1;

    memset(&s, 0, sizeof(s));
    if (in->n_iou < 0 || in->n_iou > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(ctx, DG_EINVAL, "dg__match_agnostic_ref: bad "
                        "thresholds");
    for (int t = 0; t < in->n_iou; t++) {
        thr[t] = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        if (t == 0 || thr[t] < thr_min)
            thr_min = thr[t];
    }

    for (uint32_t f = 0; f < in->n_frames; f++) {
        uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
        uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
        uint32_t n_d = (uint32_t)(d1 - d0), n_reg = 0, n_ign = 0;
        if (n_d == 0)
            continue;
        if ((st = scratch_reserve(ctx, &s, n_d, (size_t)(g1 - g0) + 1)) < 0)
            goto out;
        for (uint32_t i = 0; i < n_d; i++) {
            s.ds[i].idx = (uint32_t)(d0 + i);
            s.ds[i].score = dt->score[d0 + i];
        }
        qsort(s.ds, n_d, sizeof(*s.ds), by_score_desc);
        for (uint64_t j = g0; j < g1; j++) {
            if (gt->iscrowd[j] || gt->ignore[j])
                s.ign[n_ign++] = (uint32_t)j;
            else
                s.reg[n_reg++] = (uint32_t)j;
        }
        /*
         * Candidates: regular ground truths with IoU >= the lowest
         * threshold, in index order. Some crowd or ignored ground truth has
         * IoU >= t exactly when the highest of their IoUs (NaNs left out,
         * as they never compare >= t) is >= t.
         */
        size_t n = 0;
        for (uint32_t i = 0; i < n_d; i++) {
            uint32_t d = s.ds[i].idx;
            s.ibest[i] = -INFINITY;
            for (uint32_t q = 0; q < n_ign; q++) {
                uint32_t j = s.ign[q];
                double v = pair_iou(in, f, d, j);
                if (v > s.ibest[i])
                    s.ibest[i] = v;
            }
            s.cstart[i] = n;
            for (uint32_t q = 0; q < n_reg; q++) {
                uint32_t j = s.reg[q];
                double v = pair_iou(in, f, d, j);
                if (v >= thr_min) {
                    if ((st = cand_grow(ctx, &s, n)) < 0)
                        goto out;
                    s.cand[n] = q;
                    s.val[n] = v;
                    n++;
                }
            }
        }
        s.cstart[n_d] = n;
        for (int t = 0; t < in->n_iou; t++) {
            memset(s.taken, 0, n_reg);
            for (uint32_t i = 0; i < n_d; i++) {
                uint32_t d = s.ds[i].idx;
                int64_t m = -1;
                double best = 0;
                int m_same = 0;
                for (size_t c = s.cstart[i]; c < s.cstart[i + 1]; c++) {
                    uint32_t q = s.cand[c];
                    double v = s.val[c];
                    if (s.taken[q] || !(v >= thr[t]))
                        continue;
                    int same = gt->cls[s.reg[q]] == dt->cls[d];
                    if (m < 0 || v > best || (v == best && same && !m_same)) {
                        m = q;
                        best = v;
                        m_same = same;
                    }
                }
                int32_t res;
                if (m >= 0) {
                    s.taken[m] = 1;
                    res = (int32_t)s.reg[m];
                } else {
                    res = s.ibest[i] >= thr[t] ? DG_AGN_IGNORED
                                               : DG_AGN_BACKGROUND;
                }
                agn[(size_t)t * n_dt + d] = res;
            }
        }
    }
out:
    scratch_release(&s);
    return st;
}
