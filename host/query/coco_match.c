/*
 * COCO step 3 (see coco.c): matching, per (image, category) group and
 * area range, into TP/FP masks. The reference path's own one-pass matcher
 * handles all four area ranges at once; on an OpenCL device, or with a
 * NaN score, the engine's matcher runs once per area range.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coco_impl.h"

static dg_status make_chunks(coco_state *s, uint64_t target)
{
    dg_ctx *ctx = s->ctx;
    uint32_t F = s->n_pf;
    const uint64_t *goff = s->pf_goff, *doff = s->pf_doff;
    s->chunks = dg__calloc(ctx, (size_t)F + 1, sizeof(*s->chunks));
    if (!s->chunks)
        return DG_ENOMEM;
    s->n_chunks = 0;
    s->max_chunk_dets = 0;
    for (uint32_t f = 0; f < F;) {
        uint32_t g = f + 1;
        while (g < F && doff[g + 1] - doff[f] + goff[g + 1] - goff[f] <= target)
            g++;
        chunk *c = &s->chunks[s->n_chunks++];
        c->lo = f;
        c->hi = g;
        c->goff = dg__alloc(ctx, (size_t)(g - f) + 1, sizeof(uint64_t));
        c->doff = dg__alloc(ctx, (size_t)(g - f) + 1, sizeof(uint64_t));
        if (!c->goff || !c->doff)
            return DG_ENOMEM;
        for (uint32_t i = f; i <= g; i++) {
            c->goff[i - f] = goff[i] - goff[f];
            c->doff[i - f] = doff[i] - doff[f];
        }
        if (doff[g] - doff[f] > s->max_chunk_dets)
            s->max_chunk_dets = doff[g] - doff[f];
        f = g;
    }
    return DG_OK;
}

/* Views of groups [c->lo, c->hi) for area range a: no copies. */
static void chunk_views(const coco_state *s, const chunk *c, int a,
                        dg_boxset *g, dg_boxset *d)
{
    const dg_boxset *gt = &s->g, *w = &s->w;
    uint64_t g0 = s->pf_goff[c->lo], g1 = s->pf_goff[c->hi];
    uint64_t d0 = s->pf_doff[c->lo], d1 = s->pf_doff[c->hi];
    memset(g, 0, sizeof(*g));
    memset(d, 0, sizeof(*d));
    g->n = g->cap = g1 - g0;
    g->frame = gt->frame + g0;
    g->cls = gt->cls + g0;
    g->x = gt->x + g0;
    g->y = gt->y + g0;
    g->w = gt->w + g0;
    g->h = gt->h + g0;
    g->area = gt->area ? gt->area + g0 : NULL;
    g->iscrowd = gt->iscrowd + g0;
    g->ignore = s->ign + (size_t)a * gt->n + g0;
    g->frame_off = c->goff;
    d->n = d->cap = d1 - d0;
    d->frame = w->frame + d0;
    d->cls = w->cls + d0;
    d->x = w->x + d0;
    d->y = w->y + d0;
    d->w = w->w + d0;
    d->h = w->h + d0;
    d->score = w->score + d0;
    d->frame_off = c->doff;
}

/* Status rows of a chunk into the TP/FP masks of area range a; matched
 * (labels of the chunk) tells the labels of annotation id 0 (s->zid). */
static void to_masks(coco_state *s, const chunk *c, int a,
                     const uint8_t *status, const int32_t *matched)
{
    const dg_boxset *w = &s->w;
    uint64_t d0 = s->pf_doff[c->lo], nd = s->pf_doff[c->hi] - d0;
    uint64_t g0 = s->pf_goff[c->lo];
    const uint32_t *pos = s->pos + d0;
    double lo = s->area_rng[a][0], hi = s->area_rng[a][1];
    for (uint64_t i = 0; i < nd; i++) {
        uint32_t tp = 0, fp = 0;
        for (int t = 0; t < NT; t++) {
            uint8_t v = status[(size_t)t * nd + i];
            if (v == DG_TP && s->zid &&
                s->zid[g0 + (uint64_t)matched[(size_t)t * nd + i]])
                v = DG_FP;
            tp |= (uint32_t)(v == DG_TP) << t;
            fp |= (uint32_t)(v == DG_FP) << t;
        }
        double da = s->w_area ? s->w_area[d0 + i]
                              : w->w[d0 + i] * w->h[d0 + i];
        if (da < lo || da > hi)
            fp = 0; /* an unmatched detection outside the range is ignored */
        MASK(s, pos[i], a) = tp | fp << 16;
    }
}

/*
 * The one-pass matcher of the reference path, all four area ranges at
 * once: per (image, category) group the IoU matrix is computed once, and
 * the greedy loop of the reference matcher (host/ref/match_ref.c) runs per
 * area range and threshold on it, with the same rules (evaluateImg's):
 * labels regular first, then ignored (crowd, or ignored in that range),
 * each part in input order; detections by descending score, input order
 * on ties, which within a group is the order of their ranks; each
 * detection takes the last of the best IoUs >= min(t, 1 - 1e-10) among
 * the labels not yet taken (a crowd region may be taken again), never an
 * ignored label once it holds a regular one. Used unless a score is NaN
 * (whose order only the reference matcher's sort defines) or the engine
 * runs on a device.
 */
typedef struct match_scratch {
    double *iou;        /* nd x ng: the candidates' IoUs */
    uint32_t *cc;       /* nd x ng: the candidates (labels of the group) */
    uint8_t *reg;       /* NA x ng: regular in each range (neither
                           crowd nor ignored) */
    uint8_t *taken;     /* ng */
    uint16_t *ord;      /* nd: group positions by rank */
    uint32_t *coff;     /* nd + 1: a detection's candidates */
    size_t cap_m, cap_g, cap_d;
} match_scratch;

static int scratch_fit(match_scratch *m, size_t nd, size_t ng)
{
    if (nd * ng > m->cap_m) {
        size_t cap = nd * ng * 2;
        free(m->iou);
        free(m->cc);
        m->iou = malloc(cap * sizeof(*m->iou));
        m->cc = malloc(cap * sizeof(*m->cc));
        if (!m->iou || !m->cc) {
            m->cap_m = 0;
            return -1;
        }
        m->cap_m = cap;
    }
    if (ng > m->cap_g) {
        size_t cap = ng * 2;
        free(m->reg);
        free(m->taken);
        m->reg = malloc(cap * NA);
        m->taken = malloc(cap);
        if (!m->reg || !m->taken) {
            m->cap_g = 0;
            return -1;
        }
        m->cap_g = cap;
    }
    if (nd > m->cap_d) {
        free(m->ord);
        free(m->coff);
        m->ord = malloc(nd * sizeof(*m->ord));
        m->coff = malloc((nd + 1) * sizeof(*m->coff));
        if (!m->ord || !m->coff) {
            m->cap_d = 0;
            return -1;
        }
        m->cap_d = nd;
    }
    return 0;
}

static void scratch_free(match_scratch *m)
{
    free(m->iou);
    free(m->cc);
    free(m->reg);
    free(m->taken);
    free(m->ord);
    free(m->coff);
}

static void match_group_areas(coco_state *s, uint32_t q, match_scratch *m)
{
    const dg_boxset *gt = &s->g, *w = &s->w;
    uint64_t d0 = s->pf_doff[q], g0 = s->pf_goff[q];
    size_t nd = (size_t)(s->pf_doff[q + 1] - d0);
    size_t ng = (size_t)(s->pf_goff[q + 1] - g0);
    size_t G2 = gt->n;
    double thr[NT], tmin = INFINITY;
    for (int t = 0; t < NT; t++) {
        thr[t] = s->iou[t] < 1 - 1e-10 ? s->iou[t] : 1 - 1e-10;
        if (thr[t] < tmin)
            tmin = thr[t];
    }
    /* Ranks in a group are 0 .. nd-1 (those >= 100 were dropped). */
    for (size_t i = 0; i < nd; i++)
        m->ord[s->rank[d0 + i]] = (uint16_t)i;
    if (!ng) {
        /* Every detection unmatched at every threshold. */
        for (int a = 0; a < s->na; a++) {
            double lo = s->area_rng[a][0], hi = s->area_rng[a][1];
            for (size_t i = 0; i < nd; i++) {
                uint64_t o = d0 + i;
                double da = s->w_area ? s->w_area[o] : w->w[o] * w->h[o];
                MASK(s, s->pos[o], a) = (da < lo || da > hi)
                                      ? 0
                                      : ((1u << NT) - 1) << 16;
            }
        }
        return;
    }
    /* Per detection, the labels that can take it at some threshold (IoU
     * not below the lowest), in file order: the others are passed over at
     * every threshold in every range. */
    uint32_t *cc = m->cc;
    double *cv = m->iou;
    size_t nc = 0;
    /* The IoUs: boxes', or a row of the group's tile (masks, keypoints). */
    const double *tile = s->tile ? s->tile + s->tile_off[q] : NULL;
    for (size_t i = 0; i < nd; i++) {
        uint64_t di = d0 + m->ord[i];
        const double *row = tile ? tile + (size_t)m->ord[i] * ng : NULL;
        m->coff[i] = (uint32_t)nc;
        for (size_t j = 0; j < ng; j++) {
            uint64_t gj = g0 + j;
            double v = row ? row[j]
                           : dg__iou(w->x[di], w->y[di], w->w[di], w->h[di],
                                     gt->x[gj], gt->y[gj], gt->w[gj],
                                     gt->h[gj], gt->iscrowd[gj]);
            if (!(v < tmin)) {
                cc[nc] = (uint32_t)j;
                cv[nc++] = v;
            }
        }
    }
    m->coff[nd] = (uint32_t)nc;
    const uint8_t *crowd = gt->iscrowd + g0;
    /* The outcomes per range; a range whose labels are regular exactly
     * where an earlier one's are has that range's outcomes (nothing else
     * in the loop depends on the range), so it is not matched again: a
     * group whose labels all fall in one size range has two patterns, not
     * four. */
    uint32_t tpa[NA][128], fpa[NA][128]; /* nd <= 100 */
    for (int a = 0; a < s->na; a++) {
        /* Regular labels are tried first, then ignored ones (crowd, or
         * ignored in this range), each part in file order. */
        const uint8_t *ign = s->ign + (size_t)a * G2 + g0;
        uint8_t *reg = m->reg + (size_t)a * ng;
        for (size_t j = 0; j < ng; j++)
            reg[j] = !(crowd[j] || ign[j]);
        int same = -1;
        for (int b = 0; b < a && same < 0; b++)
            if (memcmp(m->reg + (size_t)b * ng, reg, ng) == 0)
                same = b;
        uint32_t *tpm = tpa[same < 0 ? a : same];
        uint32_t *fpm = fpa[same < 0 ? a : same];
        if (same < 0) {
            memset(tpm, 0, nd * sizeof(*tpm));
            memset(fpm, 0, nd * sizeof(*fpm));
        }
        for (int t = 0; same < 0 && t < NT; t++) {
            memset(m->taken, 0, ng);
            for (size_t i = 0; i < nd; i++) {
                double best = thr[t];
                uint32_t mm = UINT32_MAX;
                uint32_t e0 = m->coff[i], e1 = m->coff[i + 1];
                for (uint32_t e = e0; e < e1; e++) {
                    uint32_t j = cc[e];
                    if (!reg[j] || m->taken[j] || cv[e] < best)
                        continue;
                    best = cv[e];
                    mm = j;
                }
                if (mm == UINT32_MAX)
                    for (uint32_t e = e0; e < e1; e++) {
                        uint32_t j = cc[e];
                        if (reg[j] || (m->taken[j] && !crowd[j]) ||
                            cv[e] < best)
                            continue;
                        best = cv[e];
                        mm = j;
                    }
                if (mm == UINT32_MAX) {
                    fpm[i] |= 1u << t;
                } else {
                    m->taken[mm] = 1;
                    /* pycocotools_id0: a match is recorded as the
                     * label's id, and id 0 reads as "no match". */
                    if (reg[mm] && s->zid && s->zid[g0 + mm])
                        fpm[i] |= 1u << t;
                    else if (reg[mm])
                        tpm[i] |= 1u << t;
                }
            }
        }
        double lo = s->area_rng[a][0], hi = s->area_rng[a][1];
        for (size_t i = 0; i < nd; i++) {
            uint64_t o = d0 + m->ord[i];
            uint32_t fp = fpm[i];
            double da = s->w_area ? s->w_area[o] : w->w[o] * w->h[o];
            if (da < lo || da > hi)
                fp = 0; /* an unmatched detection outside the range */
            MASK(s, s->pos[o], a) = tpm[i] | fp << 16;
        }
    }
}

static void match_worker_areas(void *arg, int tid)
{
    coco_state *s = arg;
    match_scratch m;
    memset(&m, 0, sizeof(m));
    (void)tid;
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned job = atomic_fetch_add(&s->next_job, 1);
        if (job >= s->n_chunks)
            break;
        const chunk *c = &s->chunks[job];
        for (uint32_t q = c->lo; q < c->hi; q++) {
            size_t nd = (size_t)(s->pf_doff[q + 1] - s->pf_doff[q]);
            size_t ng = (size_t)(s->pf_goff[q + 1] - s->pf_goff[q]);
            if (scratch_fit(&m, nd, ng) < 0) {
                dg__coco_worker_fail(s, DG_ENOMEM, "out of memory matching");
                goto out;
            }
            match_group_areas(s, q, &m);
        }
    }
out:
    scratch_free(&m);
}

static dg_status match_one_pass(coco_state *s)
{
    dg_status st;
    if ((st = make_chunks(s, 1u << 12)) < 0)
        return st;
    atomic_store(&s->next_job, 0);
    int nt = s->n_threads;
    if ((uint64_t)nt > s->n_chunks)
        nt = s->n_chunks ? (int)s->n_chunks : 1;
    dg__coco_run_parallel(nt, match_worker_areas, s);
    if (s->st < 0)
        return dg__fail(s->ctx, s->st, "%s", s->err);
    return DG_OK;
}

/*
 * The engine's matcher (the project's: eval's rules), once per area range
 * on labels whose ignore column says "area outside the range", handed one
 * "frame" per group, boxes in input order: it matches class-wise per
 * frame, so this changes no outcome. With stop_on_fallback, *left is set
 * and the ranges not done are left when the engine leaves the device.
 */
static dg_status match_engine(coco_state *s, int stop_on_fallback, int *left)
{
    dg_ctx *ctx = s->ctx;
    dg_status st = DG_OK;
    size_t n_w = s->w.n;
    int on_device = dg__engine_on_device(s->engine);
    /* One chunk of every frame: the device batches by itself. */
    size_t cap = (size_t)NT * (n_w ? n_w : 1);
    uint8_t *status = dg__alloc(ctx, cap, 1);
    int32_t *matched = dg__alloc(ctx, cap, sizeof(*matched));
    chunk all = {0, s->n_pf, s->pf_goff, s->pf_doff};
    *left = 0;
    if (!status || !matched)
        st = DG_ENOMEM;
    for (int a = 0; a < s->na && st >= 0; a++) {
        dg_boxset g, d;
        chunk_views(s, &all, a, &g, &d);
        dg_match_input in = {s->n_pf, dg__project_n_classes(s->p), &g, &d,
                             NT, s->iou, NULL, NULL};
        dg_match_output mo = {status, matched, NULL, NULL, 0};
        st = dg__engine_match(s->engine, ctx, &in, &mo);
        if (st >= 0)
            to_masks(s, &all, a, status, matched);
        if (st >= 0 && stop_on_fallback && on_device &&
            !dg__engine_on_device(s->engine)) {
            *left = 1;
            break;
        }
    }
    free(status);
    free(matched);
    return st;
}

dg_status dg__coco_match(coco_state *s)
{
    dg_ctx *ctx = s->ctx;
    size_t n_w = s->w.n;
    s->mask = dg__alloc(ctx, (size_t)NA * (n_w ? n_w : 1), sizeof(*s->mask));
    if (!s->mask)
        return DG_ENOMEM;
    /* A NaN score has an order only the engine's matcher defines. */
    int has_nan = 0;
    for (uint64_t i = 0; i < n_w && !has_nan; i++)
        has_nan = s->w.score[i] != s->w.score[i];
    if (s->tile && has_nan)
        return dg__fail(ctx, DG_EINVAL, "coco: --iou-type %s: a detection's "
                        "score is NaN", dg_coco_iou_type_name(s->iou_type));
    /* The engine's matcher takes box IoUs only: tiles are matched here. */
    if (!s->tile && (dg__engine_on_device(s->engine) || has_nan)) {
        int left;
        dg_status st = match_engine(s, !has_nan, &left);
        if (st < 0 || !left)
            return st;
        /* The device failed and the engine went on with the reference:
         * the one-pass matcher does every range. */
    }
    return match_one_pass(s);
}
