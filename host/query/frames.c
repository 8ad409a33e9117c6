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

dg_status dg__fcc_build(dg_ctx *ctx, struct dg_results *r, dg_project *p,
                        double conf, int iou_idx, const uint32_t *frames,
                        uint32_t n, dg_fcc *out)
{
    dg_status st = DG_OK;
    uint32_t *pos = NULL, *ecount = NULL, *touched = NULL, *scratch = NULL;
    uint64_t *eoff = NULL;
    entry *ent = NULL;
    memset(out, 0, sizeof(*out));

    dg_results_info ri;
    dg__results_info(r, &ri);
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    if (iou_idx < 0 || iou_idx >= ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range (%d stored)",
                        iou_idx, ri.n_iou);
    const uint8_t *row;
    const uint32_t *det_frame;
    const dg_boxset *gt;
    if ((st = dg__results_check_classes(ctx, r, p)) < 0 ||
        (st = dg__results_status_row(ctx, r, iou_idx, &row)) < 0 ||
        (st = dg__results_det_frame(ctx, r, p, &det_frame)) < 0 ||
        (st = dg__project_labels(ctx, p, &gt)) < 0)
        return st;

    uint32_t nf = dg__project_n_frames(p), C = dg__project_n_classes(p);
    out->n_classes = C;
    out->n = frames ? n : nf;
    out->frames = dg__alloc(ctx, out->n ? out->n : 1, sizeof(uint32_t));
    pos = dg__alloc(ctx, nf ? nf : 1, sizeof(uint32_t));
    ecount = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint32_t));
    eoff = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint64_t));
    out->off = dg__calloc(ctx, (size_t)out->n + 1, sizeof(uint64_t));
    scratch = dg__calloc(ctx, (size_t)C * 3 + 1, sizeof(uint32_t));
    touched = dg__alloc(ctx, (size_t)C + 1, sizeof(uint32_t));
    if (!out->frames || !pos || !ecount || !eoff || !out->off || !scratch ||
        !touched) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t f = 0; f < nf; f++)
        pos[f] = UINT32_MAX;
    for (uint32_t u = 0; u < out->n; u++) {
        uint32_t f = frames ? frames[u] : u;
        if (f >= nf || (u && f <= out->frames[u - 1])) {
            st = dg__fail(ctx, DG_EINVAL,
                          "frame list: entry %u (%u) is out of range or not "
                          "ascending",
                          u, f);
            goto out;
        }
        out->frames[u] = f;
        pos[f] = u;
    }

    /* Pass 1: count the contributions per universe frame. */
    uint64_t *kcls = NULL;
    kcls = dg__alloc(ctx, (size_t)C + 1, sizeof(uint64_t));
    if (!kcls) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < C; c++) {
        uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
        kcls[c] = dg__count_at_least(ri.score + lo, hi - lo, conf);
        for (uint64_t j = lo; j < lo + kcls[c]; j++)
            if (row[j] != DG_IGN && pos[det_frame[j]] != UINT32_MAX)
                ecount[pos[det_frame[j]]]++;
    }
    for (uint64_t i = 0; i < gt->n; i++) {
        if ((gt->iscrowd && gt->iscrowd[i]) || (gt->ignore && gt->ignore[i]))
            continue;
        if (gt->frame[i] >= nf || gt->cls[i] >= C) {
            free(kcls);
            st = dg__fail(ctx, DG_EFORMAT,
                          "labels: record %llu has frame %u / class %u out "
                          "of range",
                          (unsigned long long)i, gt->frame[i], gt->cls[i]);
            goto out;
        }
        if (pos[gt->frame[i]] != UINT32_MAX)
            ecount[pos[gt->frame[i]]]++;
    }
    for (uint32_t u = 0; u < out->n; u++)
        eoff[u + 1] = eoff[u] + ecount[u];
    ent = dg__alloc(ctx, eoff[out->n] ? eoff[out->n] : 1, sizeof(entry));
    if (!ent) {
        free(kcls);
        st = DG_ENOMEM;
        goto out;
    }
    /* Pass 2: place them (ecount becomes the fill level). */
    memset(ecount, 0, ((size_t)out->n + 1) * sizeof(uint32_t));
    for (uint32_t c = 0; c < C; c++) {
        uint64_t lo = ri.class_off[c];
        for (uint64_t j = lo; j < lo + kcls[c]; j++) {
            uint32_t u;
            if (row[j] == DG_IGN || (u = pos[det_frame[j]]) == UINT32_MAX)
                continue;
            entry e = {c, row[j] == DG_TP ? 0u : 1u};
            ent[eoff[u] + ecount[u]++] = e;
        }
    }
    free(kcls);
    for (uint64_t i = 0; i < gt->n; i++) {
        uint32_t u;
        if ((gt->iscrowd && gt->iscrowd[i]) || (gt->ignore && gt->ignore[i]) ||
            (u = pos[gt->frame[i]]) == UINT32_MAX)
            continue;
        entry e = {gt->cls[i], 2u};
        ent[eoff[u] + ecount[u]++] = e;
    }

    /* Pass 3: aggregate per frame into (class, tp, fp, n_gt) pairs. */
    uint64_t n_pairs = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t q = 0;
        for (uint32_t u = 0; u < out->n; u++) {
            uint32_t nt = 0;
            for (uint64_t e = eoff[u]; e < eoff[u + 1]; e++) {
                uint32_t c = ent[e].cls;
                if (!scratch[3 * c] && !scratch[3 * c + 1] &&
                    !scratch[3 * c + 2])
                    touched[nt++] = c;
                scratch[3 * c + ent[e].kind]++;
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
        if (!pass) {
            n_pairs = q;
            out->cls = dg__alloc(ctx, n_pairs ? n_pairs : 1, sizeof(uint32_t));
            out->cnt = dg__alloc(ctx, n_pairs ? 3 * n_pairs : 1,
                                 sizeof(uint32_t));
            if (!out->cls || !out->cnt) {
                st = DG_ENOMEM;
                goto out;
            }
        } else {
            out->off[out->n] = q;
        }
    }
out:
    free(pos);
    free(ecount);
    free(eoff);
    free(ent);
    free(scratch);
    free(touched);
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
