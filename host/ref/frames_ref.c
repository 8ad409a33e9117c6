/*
 * The reference path's matcher: both matchings of a chunk, frame by frame,
 * on every core. The twin of kernels/frames.cl (one work-group a frame),
 * step for step:
 *
 *   1. the frame's detections in matching order (descending score, input
 *      order on ties: ascending (dg__match_key, index)), once across
 *      classes and once class by class; its ground truths class by class,
 *      regular ones first, each part in input order;
 *   2. the IoU tile, every (detection, ground truth) pair once (from the
 *      boxes, or the tile an earlier stage supplied), shared by both
 *      matchers; per detection, its candidates: the ground truths of its
 *      class with IoU >= the lowest threshold (every one of its class when
 *      one IoU is NaN, as a NaN best lets anything after it in), the
 *      regular ones of any class with IoU >= the lowest threshold, and the
 *      highest IoU with a crowd or ignored ground truth;
 *   3. per threshold, the class-wise greedy matching (pycocotools' rules,
 *      dg__match_ref) and the class-agnostic one (dg__match_agnostic_ref)
 *      over those candidates alone: a ground truth below every threshold is
 *      only ever passed over (ref.h explains why that changes no match);
 *   4. outcomes go straight to their cell (the sorted position when the
 *      caller gives one); the rows are first filled with the outcome of a
 *      detection that takes nothing (FP, -1, background), so only the
 *      others are written.
 *
 * The chunk's frames are cut into tasks of about TASK_DETS detections,
 * taken by a team of threads (dg__parallel), each with its own scratch.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#define TASK_DETS 4096

/* A detection's place in matching order: ascending (key, idx). */
typedef struct {
    uint64_t key;
    uint32_t idx; /* frame-relative */
    uint32_t cls;
} dkey;

static int before(const dkey *a, const dkey *b)
{
    return a->key < b->key || (a->key == b->key && a->idx < b->idx);
}

/* By class, then matching order. */
static int before_cls(const dkey *a, const dkey *b)
{
    return a->cls < b->cls || (a->cls == b->cls && before(a, b));
}

/* A merge sort of n keys (tmp holds n), insertion below 16. */
static void sort_keys(dkey *a, dkey *tmp, uint32_t n,
                      int (*lt)(const dkey *, const dkey *))
{
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            dkey v = a[i];
            uint32_t j = i;
            while (j > 0 && lt(&v, &a[j - 1])) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    uint32_t h = n / 2;
    sort_keys(a, tmp, h, lt);
    sort_keys(a + h, tmp, n - h, lt);
    if (!lt(&a[h], &a[h - 1]))
        return;
    memcpy(tmp, a, h * sizeof(*a));
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = lt(&a[j], &tmp[i]) ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

/* One worker's scratch, grown to the largest frame it meets. */
typedef struct scratch {
    size_t cap_d, cap_g, cap_p;
    dkey *ord, *cw, *tmp;
    dkey *gk, *gtmp;         /* ground truths' sort keys */
    uint32_t *gord, *reg;    /* ground truths: by class; regular ones */
    uint8_t *gign;           /* per frame ground truth: crowd or ignored */
    double *tile;            /* n_d x n_g */
    double *ibest;           /* per detection */
    uint32_t *cs, *as;       /* candidate starts: class-wise, agnostic */
    uint32_t *cq, *aq;       /* candidates: group position, regular rank */
    double *cv, *av;         /* their IoUs */
    uint32_t *act;           /* detections of a group or frame that take part */
    uint8_t *taken;
} scratch;

static void scratch_free(scratch *s)
{
    free(s->ord);
    free(s->cw);
    free(s->tmp);
    free(s->gk);
    free(s->gtmp);
    free(s->gord);
    free(s->reg);
    free(s->gign);
    free(s->tile);
    free(s->ibest);
    free(s->cs);
    free(s->as);
    free(s->cq);
    free(s->aq);
    free(s->cv);
    free(s->av);
    free(s->act);
    free(s->taken);
    memset(s, 0, sizeof(*s));
}

#define GROW(p, n) (dg__grow((void **)&(p), (n), sizeof(*(p))) == 0)

static int scratch_fit(scratch *s, size_t nd, size_t ng)
{
    nd = nd ? nd : 1;
    ng = ng ? ng : 1;
    if (nd > s->cap_d) {
        size_t c = nd + nd / 2;
        if (!GROW(s->ord, c) || !GROW(s->cw, c) || !GROW(s->tmp, c) ||
            !GROW(s->ibest, c) || !GROW(s->cs, c + 1) || !GROW(s->as, c + 1) ||
            !GROW(s->act, c))
            return -1;
        s->cap_d = c;
    }
    if (ng > s->cap_g) {
        size_t c = ng + ng / 2;
        if (!GROW(s->gord, c) || !GROW(s->reg, c) || !GROW(s->gign, c) ||
            !GROW(s->taken, c) || !GROW(s->gk, c) || !GROW(s->gtmp, c))
            return -1;
        s->cap_g = c;
    }
    if (nd * ng > s->cap_p) {
        size_t c = nd * ng + nd * ng / 2;
        if (!GROW(s->tile, c) || !GROW(s->cq, c) || !GROW(s->aq, c) ||
            !GROW(s->cv, c) || !GROW(s->av, c))
            return -1;
        s->cap_p = c;
    }
    return 0;
}

typedef struct job {
    const dg_match_input *in;
    const dg_match_output *out;
    double thr[DG_MAX_IOU_THRESHOLDS];
    double thr_min;
    uint64_t n_out; /* cells a row */
    const uint32_t *task_f; /* task k: frames [task_f[k], task_f[k + 1]) */
    scratch *sc;            /* per worker */
    atomic_int failed;
} job;

/* The cell of chunk detection d. */
static inline uint64_t cell(const dg_match_output *o, uint64_t d)
{
    return o->pos ? o->pos[d] : d;
}

/*
 * Asks for the cache lines of the cells detection d may write (thresholds
 * up to its best IoU) before the threshold loops write them: the writes
 * land anywhere in the tables, and asking early lets the misses overlap.
 */
static inline void prefetch_cells(const job *jb, const dg_match_output *out,
                                  uint64_t d, double vmax, int cw)
{
#if defined(__GNUC__)
    uint64_t c = cell(out, d);
    for (int t = 0; t < jb->in->n_iou; t++)
        if (jb->thr[t] <= vmax) {
            uint64_t o = (uint64_t)t * jb->n_out + c;
            if (cw) {
                __builtin_prefetch(out->status + o, 1, 1);
                __builtin_prefetch(out->matched + o, 1, 1);
            } else {
                __builtin_prefetch(out->agnostic + o, 1, 1);
            }
        }
#else
    (void)jb, (void)out, (void)d, (void)vmax, (void)cw;
#endif
}

static void match_frame(job *jb, scratch *s, uint32_t f)
{
    const dg_match_input *in = jb->in;
    const dg_match_output *out = jb->out;
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint64_t d0 = dt->frame_off[f], g0 = gt->frame_off[f];
    uint32_t nd = (uint32_t)(dt->frame_off[f + 1] - d0);
    uint32_t ng = (uint32_t)(gt->frame_off[f + 1] - g0);
    uint64_t n_out = jb->n_out;
    int T = in->n_iou;
    if (!nd)
        return;

    /* 1. Orders. */
    for (uint32_t i = 0; i < nd; i++) {
        s->ord[i].key = dg__match_key(dt->score[d0 + i]);
        s->ord[i].idx = i;
        s->ord[i].cls = dt->cls[d0 + i];
    }
    sort_keys(s->ord, s->tmp, nd, before);
    memcpy(s->cw, s->ord, nd * sizeof(*s->cw));
    sort_keys(s->cw, s->tmp, nd, before_cls);
    uint32_t n_reg = 0;
    for (uint32_t j = 0; j < ng; j++) {
        s->gign[j] = gt->iscrowd[g0 + j] || gt->ignore[g0 + j];
        if (!s->gign[j])
            s->reg[n_reg++] = j;
    }
    /* Ground truths by (class, ignored, index). */
    for (uint32_t j = 0; j < ng; j++) {
        s->gk[j].key = (uint64_t)gt->cls[g0 + j] << 1 | s->gign[j];
        s->gk[j].idx = j;
        s->gk[j].cls = 0;
    }
    sort_keys(s->gk, s->gtmp, ng, before);
    for (uint32_t j = 0; j < ng; j++)
        s->gord[j] = s->gk[j].idx;

    /* 2. The tile, the best crowd or ignored IoU, the candidates. */
    double *tile = s->tile;
    if (in->iou_tile) {
        const double *src = in->iou_tile + in->tile_off[f];
        memcpy(tile, src, (size_t)nd * ng * sizeof(*tile));
    } else {
        for (uint32_t i = 0; i < nd; i++) {
            uint64_t d = d0 + i;
            dg__iou_row(dt->x[d], dt->y[d], dt->w[d], dt->h[d], gt->x + g0,
                        gt->y + g0, gt->w + g0, gt->h + g0, gt->iscrowd + g0,
                        ng, tile + (size_t)i * ng);
        }
    }
    double thr_min = jb->thr_min;
    for (uint32_t i = 0; i < nd; i++) {
        const double *row = tile + (size_t)i * ng;
        double ib = -INFINITY;
        for (uint32_t j = 0; j < ng; j++)
            if (s->gign[j] && row[j] > ib)
                ib = row[j];
        s->ibest[i] = ib;
    }

    /* 3a. Class-wise: groups are runs of one class in cw; their ground
     * truths the run of that class in gord. */
    uint32_t q0 = 0, ncand = 0;
    for (uint32_t a = 0; a < nd;) {
        uint32_t c = s->cw[a].cls, b = a + 1;
        while (b < nd && s->cw[b].cls == c)
            b++;
        while (q0 < ng && gt->cls[g0 + s->gord[q0]] < c)
            q0++;
        uint32_t q1 = q0;
        while (q1 < ng && gt->cls[g0 + s->gord[q1]] == c)
            q1++;
        uint32_t gn = q1 - q0, n_act = 0;
        if (gn) {
            /* Candidates in group order, as positions in the group. */
            ncand = 0;
            for (uint32_t k = a; k < b; k++) {
                const double *row = tile + (size_t)s->cw[k].idx * ng;
                int has_nan = 0;
                for (uint32_t q = q0; q < q1; q++)
                    has_nan |= isnan(row[s->gord[q]]);
                s->cs[k - a] = ncand;
                double vmax = -INFINITY;
                for (uint32_t q = q0; q < q1; q++) {
                    double v = row[s->gord[q]];
                    if (has_nan || !(v < thr_min)) {
                        s->cq[ncand] = q - q0;
                        s->cv[ncand] = v;
                        ncand++;
                        if (v > vmax)
                            vmax = v;
                    }
                }
                if (ncand > s->cs[k - a]) {
                    s->act[n_act++] = k - a;
                    prefetch_cells(jb, out, d0 + s->cw[k].idx,
                                   has_nan ? INFINITY : vmax, 1);
                }
            }
            s->cs[b - a] = ncand;
        }
        for (int t = 0; n_act && t < T; t++) {
            double thr = jb->thr[t];
            memset(s->taken, 0, gn);
            for (uint32_t x = 0; x < n_act; x++) {
                uint32_t k = s->act[x];
                double best = thr;
                int64_t m = -1;
                int m_ign = 0;
                for (uint32_t e = s->cs[k]; e < s->cs[k + 1]; e++) {
                    uint32_t q = s->cq[e], j = s->gord[q0 + q];
                    int crowd = gt->iscrowd[g0 + j] != 0, ig = s->gign[j];
                    if (s->taken[q] && !crowd)
                        continue;
                    if (m >= 0 && !m_ign && ig)
                        break;
                    if (s->cv[e] < best)
                        continue;
                    best = s->cv[e];
                    m = q;
                    m_ign = ig;
                }
                if (m < 0)
                    continue;
                s->taken[m] = 1;
                uint64_t o = (uint64_t)t * n_out +
                             cell(out, d0 + s->cw[a + k].idx);
                out->status[o] = m_ign ? DG_IGN : DG_TP;
                out->matched[o] = (int32_t)(out->label_base + (int64_t)g0 +
                                            s->gord[q0 + (uint32_t)m]);
            }
        }
        q0 = q1;
        a = b;
    }
    if (!out->agnostic)
        return;

    /* 3b. Class-agnostic, over the regular ground truths of every class. */
    uint32_t n_act = 0;
    ncand = 0;
    for (uint32_t k = 0; k < nd; k++) {
        uint32_t i = s->ord[k].idx;
        const double *row = tile + (size_t)i * ng;
        s->as[k] = ncand;
        double vmax = s->ibest[i];
        for (uint32_t r = 0; r < n_reg; r++) {
            double v = row[s->reg[r]];
            if (v >= thr_min) {
                s->aq[ncand] = r;
                s->av[ncand] = v;
                ncand++;
                if (v > vmax)
                    vmax = v;
            }
        }
        if (ncand > s->as[k] || s->ibest[i] >= thr_min) {
            s->act[n_act++] = k;
            prefetch_cells(jb, out, d0 + i, vmax, 0);
        }
    }
    s->as[nd] = ncand;
    for (int t = 0; n_act && t < T; t++) {
        double thr = jb->thr[t];
        memset(s->taken, 0, n_reg);
        for (uint32_t x = 0; x < n_act; x++) {
            uint32_t k = s->act[x], i = s->ord[k].idx;
            uint32_t dc = s->ord[k].cls;
            int64_t m = -1;
            double best = 0;
            int m_same = 0;
            for (uint32_t e = s->as[k]; e < s->as[k + 1]; e++) {
                uint32_t r = s->aq[e];
                double v = s->av[e];
                if (s->taken[r] || !(v >= thr))
                    continue;
                int same = gt->cls[g0 + s->reg[r]] == dc;
                if (m < 0 || v > best || (v == best && same && !m_same)) {
                    m = r;
                    best = v;
                    m_same = same;
                }
            }
            int32_t res;
            if (m >= 0) {
                s->taken[m] = 1;
                res = (int32_t)(out->label_base + (int64_t)g0 +
                                s->reg[(uint32_t)m]);
            } else if (s->ibest[i] >= thr) {
                res = DG_AGN_IGNORED;
            } else {
                continue; /* background: the fill */
            }
            out->agnostic[(uint64_t)t * n_out + cell(out, d0 + i)] = res;
        }
    }
}

static void run_task(void *arg, uint64_t k, unsigned worker)
{
    job *jb = arg;
    scratch *s = &jb->sc[worker];
    const dg_boxset *gt = jb->in->gt, *dt = jb->in->dt;
    for (uint32_t f = jb->task_f[k]; f < jb->task_f[k + 1]; f++) {
        uint64_t nd = dt->frame_off[f + 1] - dt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - gt->frame_off[f];
        if (!nd)
            continue;
        if (nd > UINT32_MAX / 2 || ng > UINT32_MAX / 2 ||
            scratch_fit(s, nd, ng) < 0) {
            atomic_store(&jb->failed, 1);
            return;
        }
        match_frame(jb, s, f);
    }
}

dg_status dg__match_frames_ref(dg_ctx *ctx, const dg_match_input *in,
                               const dg_match_output *out)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint32_t nf = in->n_frames;
    if (in->n_iou < 0 || in->n_iou > DG_MAX_IOU_THRESHOLDS ||
        (in->n_iou && !in->iou))
        return dg__fail(ctx, DG_EINVAL, "dg__match_frames_ref: bad thresholds");
    if (!nf || !in->n_iou)
        return DG_OK;
    if (in->iou_tile && !in->tile_off)
        return dg__fail(ctx, DG_EINVAL,
                        "dg__match_frames_ref: an IoU tile needs tile_off");
    uint64_t d_lo = dt->frame_off[0], d_hi = dt->frame_off[nf];
    if (out->pos && (d_lo != 0 || d_hi != dt->n))
        return dg__fail(ctx, DG_EINVAL,
                        "dg__match_frames_ref: sorted positions need the "
                        "whole detection set in one chunk");
    job jb;
    memset(&jb, 0, sizeof(jb));
    jb.in = in;
    jb.out = out;
    jb.n_out = dt->n;
    for (int t = 0; t < in->n_iou; t++) {
        jb.thr[t] = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        if (t == 0 || jb.thr[t] < jb.thr_min)
            jb.thr_min = jb.thr[t];
    }
    atomic_init(&jb.failed, 0);

    /* The fill: every cell of the chunk's detections. */
    dg__match_fill(ctx, out, dt->n, in->n_iou, d_lo, d_hi - d_lo);

    /* Tasks of whole frames, about TASK_DETS detections each. */
    uint32_t *task_f = dg__alloc(ctx, (size_t)nf + 1, sizeof(*task_f));
    if (!task_f)
        return DG_ENOMEM;
    uint32_t nt = dg__frame_runs(dt->frame_off, gt->frame_off, 0, nf,
                                 TASK_DETS, task_f);
    jb.task_f = task_f;
    unsigned team = dg__team(ctx, nt - 1, 0);
    jb.sc = dg__calloc(ctx, team, sizeof(*jb.sc));
    if (!jb.sc) {
        free(task_f);
        return DG_ENOMEM;
    }
    dg__parallel(ctx, nt - 1, team, run_task, &jb);
    for (unsigned w = 0; w < team; w++)
        scratch_free(&jb.sc[w]);
    free(jb.sc);
    free(task_f);
    if (atomic_load(&jb.failed))
        return dg__fail(ctx, DG_ENOMEM, "out of memory matching a frame");
    return DG_OK;
}
