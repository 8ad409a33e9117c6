/*
 * Per-frame counts from stored results: each detection's outcome comes from
 * the status row at the IoU threshold, its frame from the stored order and
 * the inference set's frame offsets (dg__results_det_frame); ground truths
 * per frame and class come from the labels. Nothing is matched again.
 *
 * The sparse (frame, class) table built here is also the bootstrap's input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

void dg__fcc_release(dg_fcc *t)
{
    if (!t)
        return;
    free(t->frames);
    free(t->off);
    free(t->cls);
    free(t->cnt);
    memset(t, 0, sizeof(*t));
}

dg_status dg__results_universe(dg_ctx *ctx, struct dg_results *r,
                               dg_project *p, uint32_t **frames, uint32_t *n)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    const uint8_t *mask = ri.frame_mask;
    uint32_t nf = dg__project_n_frames(p), m = 0;
    for (uint32_t f = 0; f < nf; f++)
        m += !mask || mask[f];
    uint32_t *out = dg__alloc(ctx, m ? m : 1, sizeof(*out));
    if (!out)
        return DG_ENOMEM;
    m = 0;
    for (uint32_t f = 0; f < nf; f++)
        if (!mask || mask[f])
            out[m++] = f;
    *frames = out;
    *n = m;
    return DG_OK;
}

/* One contribution: a detection (kind 0 = TP, 1 = FP) or a label (2). */
typedef struct entry {
    uint32_t cls;
    uint32_t kind;
} entry;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The state of dg__fcc_build's passes. */
typedef struct fcc_pass {
    dg_results_info ri;
    const uint8_t *row;        /* status at the IoU index, sorted order */
    const uint32_t *det_frame; /* frame of each sorted position */
    const dg_boxset *gt;
    uint32_t nf, C;
    uint32_t *pos;    /* frame -> position in the universe, or UINT32_MAX */
    uint32_t *ecount; /* per position: contributions, then the fill level */
    uint64_t *eoff;   /* n + 1 offsets into ent */
    uint64_t *kcls;   /* per class: detections with score >= conf */
    entry *ent;
} fcc_pass;

/* The universe: out->frames, and pos for every frame in it. */
static dg_status universe(dg_ctx *ctx, fcc_pass *S, const uint32_t *frames,
                          dg_fcc *out)
{
    for (uint32_t f = 0; f < S->nf; f++)
        S->pos[f] = UINT32_MAX;
    for (uint32_t u = 0; u < out->n; u++) {
        uint32_t f = frames ? frames[u] : u;
        if (f >= S->nf || (u && f <= out->frames[u - 1]))
            return dg__fail(ctx, DG_EINVAL,
                            "frame list: entry %u (%u) is out of range or "
                            "not ascending",
                            u, f);
        out->frames[u] = f;
        S->pos[f] = u;
    }
    return DG_OK;
}

/* Pass 1: count the contributions per universe frame, and make room. */
static dg_status count_entries(dg_ctx *ctx, fcc_pass *S, double conf,
                               uint32_t n)
{
    const dg_boxset *gt = S->gt;
    for (uint32_t c = 0; c < S->C; c++) {
        uint64_t lo = S->ri.class_off[c], hi = S->ri.class_off[c + 1];
        S->kcls[c] = dg__count_at_least(S->ri.score + lo, hi - lo, conf);
        for (uint64_t j = lo; j < lo + S->kcls[c]; j++)
            if (S->row[j] != DG_IGN && S->pos[S->det_frame[j]] != UINT32_MAX)
                S->ecount[S->pos[S->det_frame[j]]]++;
    }
    for (uint64_t i = 0; i < gt->n; i++) {
        if ((gt->iscrowd && gt->iscrowd[i]) || (gt->ignore && gt->ignore[i]))
            continue;
        if (gt->frame[i] >= S->nf || gt->cls[i] >= S->C)
            return dg__fail(ctx, DG_EFORMAT,
                            "labels: record %llu has frame %u / class %u "
                            "out of range",
                            (unsigned long long)i, gt->frame[i], gt->cls[i]);
        if (S->pos[gt->frame[i]] != UINT32_MAX)
            S->ecount[S->pos[gt->frame[i]]]++;
    }
    for (uint32_t u = 0; u < n; u++)
        S->eoff[u + 1] = S->eoff[u] + S->ecount[u];
    S->ent = dg__alloc(ctx, S->eoff[n] ? S->eoff[n] : 1, sizeof(entry));
    return S->ent ? DG_OK : DG_ENOMEM;
}

/* Pass 2: place them, each frame's entries together. */
static void place_entries(fcc_pass *S, uint32_t n)
{
    const dg_boxset *gt = S->gt;
    memset(S->ecount, 0, ((size_t)n + 1) * sizeof(uint32_t));
    for (uint32_t c = 0; c < S->C; c++) {
        uint64_t lo = S->ri.class_off[c];
        for (uint64_t j = lo; j < lo + S->kcls[c]; j++) {
            uint32_t u;
            if (S->row[j] == DG_IGN ||
                (u = S->pos[S->det_frame[j]]) == UINT32_MAX)
                continue;
            entry e = {c, S->row[j] == DG_TP ? 0u : 1u};
            S->ent[S->eoff[u] + S->ecount[u]++] = e;
        }
    }
    for (uint64_t i = 0; i < gt->n; i++) {
        uint32_t u;
        if ((gt->iscrowd && gt->iscrowd[i]) || (gt->ignore && gt->ignore[i]) ||
            (u = S->pos[gt->frame[i]]) == UINT32_MAX)
            continue;
        entry e = {gt->cls[i], 2u};
        S->ent[S->eoff[u] + S->ecount[u]++] = e;
    }
}

/*
 * Pass 3: aggregate per frame into (class, tp, fp, n_gt) pairs, ascending
 * class: once to count them, once to fill out->cls and out->cnt.
 */
static dg_status aggregate(dg_ctx *ctx, const fcc_pass *S, dg_fcc *out)
{
    uint32_t *scratch = dg__calloc(ctx, (size_t)S->C * 3 + 1,
                                   sizeof(uint32_t));
    uint32_t *touched = dg__alloc(ctx, (size_t)S->C + 1, sizeof(uint32_t));
    dg_status st = scratch && touched ? DG_OK : DG_ENOMEM;
    for (int pass = 0; st == DG_OK && pass < 2; pass++) {
        uint64_t q = 0;
        for (uint32_t u = 0; u < out->n; u++) {
            uint32_t nt = 0;
            for (uint64_t e = S->eoff[u]; e < S->eoff[u + 1]; e++) {
                uint32_t c = S->ent[e].cls;
                if (!scratch[3 * c] && !scratch[3 * c + 1] &&
                    !scratch[3 * c + 2])
                    touched[nt++] = c;
                scratch[3 * c + S->ent[e].kind]++;
            }
            qsort(touched, nt, sizeof(uint32_t), cmp_u32);
            if (pass)
                out->off[u] = q;
            for (uint32_t t = 0; t < nt; t++) {
                uint32_t c = touched[t];
                if (pass) {
                    out->cls[q] = c;
                    memcpy(out->cnt + 3 * q, scratch + 3 * c,
                           3 * sizeof(uint32_t));
                }
                memset(scratch + 3 * c, 0, 3 * sizeof(uint32_t));
                q++;
            }
        }
        if (pass) {
            out->off[out->n] = q;
            break;
        }
        out->cls = dg__alloc(ctx, q ? q : 1, sizeof(uint32_t));
        out->cnt = dg__alloc(ctx, q ? 3 * q : 1, sizeof(uint32_t));
        if (!out->cls || !out->cnt)
            st = DG_ENOMEM;
    }
    free(scratch);
    free(touched);
    return st;
}

dg_status dg__fcc_build(dg_ctx *ctx, struct dg_results *r, dg_project *p,
                        double conf, int iou_idx, const uint32_t *frames,
                        uint32_t n, dg_fcc *out)
{
    dg_status st = DG_OK;
    fcc_pass S;
    memset(&S, 0, sizeof(S));
    memset(out, 0, sizeof(*out));

    dg__results_info(r, &S.ri);
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    if (iou_idx < 0 || iou_idx >= S.ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range (%d stored)",
                        iou_idx, S.ri.n_iou);
    if ((st = dg__results_check_classes(ctx, r, p)) < 0 ||
        (st = dg__results_status_row(ctx, r, iou_idx, &S.row)) < 0 ||
        (st = dg__results_det_frame(ctx, r, p, &S.det_frame)) < 0 ||
        (st = dg__project_labels(ctx, p, &S.gt)) < 0)
        return st;

    S.nf = dg__project_n_frames(p);
    S.C = dg__project_n_classes(p);
    out->n_classes = S.C;
    out->n = frames ? n : S.nf;
    out->frames = dg__alloc(ctx, out->n ? out->n : 1, sizeof(uint32_t));
    out->off = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint64_t));
    S.pos = dg__alloc(ctx, S.nf ? S.nf : 1, sizeof(uint32_t));
    S.ecount = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint32_t));
    S.eoff = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint64_t));
    S.kcls = dg__alloc(ctx, (size_t)S.C + 1, sizeof(uint64_t));
    if (!out->frames || !out->off || !S.pos || !S.ecount || !S.eoff ||
        !S.kcls)
        st = DG_ENOMEM;
    if (st == DG_OK && (st = universe(ctx, &S, frames, out)) == DG_OK &&
        (st = count_entries(ctx, &S, conf, out->n)) == DG_OK) {
        place_entries(&S, out->n);
        st = aggregate(ctx, &S, out);
    }
    free(S.pos);
    free(S.ecount);
    free(S.eoff);
    free(S.kcls);
    free(S.ent);
    if (st < 0)
        dg__fcc_release(out);
    return st;
}

dg_status dg_results_frame_counts(dg_ctx *ctx, dg_results *r, dg_project *p,
                                  double conf, int iou_idx, int64_t cls,
                                  dg_frame_counts *per_frame)
{
    if (!r || !p || !per_frame)
        return dg__fail(ctx, DG_EINVAL, "dg_results_frame_counts: NULL "
                                        "argument");
    uint32_t n_classes = dg_results_n_classes(r);
    if (cls >= (int64_t)n_classes)
        return dg__fail(ctx, DG_EINVAL, "class %lld out of range (%u classes)",
                        (long long)cls, n_classes);
    uint32_t *frames = NULL, n = 0;
    dg_fcc t;
    dg_status st = dg__results_universe(ctx, r, p, &frames, &n);
    if (st < 0)
        return st;
    st = dg__fcc_build(ctx, r, p, conf, iou_idx, frames, n, &t);
    free(frames);
    if (st < 0)
        return st;
    memset(per_frame, 0,
           (size_t)dg__project_n_frames(p) * sizeof(*per_frame));
    for (uint32_t u = 0; u < t.n; u++) {
        dg_frame_counts *o = &per_frame[t.frames[u]];
        for (uint64_t q = t.off[u]; q < t.off[u + 1]; q++) {
            if (cls >= 0 && t.cls[q] != (uint32_t)cls)
                continue;
            o->tp += t.cnt[3 * q];
            o->fp += t.cnt[3 * q + 1];
            o->n_gt += t.cnt[3 * q + 2];
        }
        o->fn = o->n_gt - o->tp;
        o->n_det = o->tp + o->fp;
    }
    dg__fcc_release(&t);
    return DG_OK;
}
