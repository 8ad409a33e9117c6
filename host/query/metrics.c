/*
 * Queries over stored results: counts at any confidence and stored IoU,
 * and per-class sweeps. A query is a binary search per class plus a count
 * over one status row; nothing is matched again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int dg_results_find_iou(dg_ctx *ctx, const dg_results *r, double iou)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    for (int t = 0; t < ri.n_iou; t++)
        if (fabs(ri.iou[t] - iou) <= 1e-9)
            return t;
    char list[1024] = "";
    size_t len = 0;
    for (int t = 0; t < ri.n_iou && len + 16 < sizeof(list); t++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%g",
                                t ? ", " : "", ri.iou[t]);
    return dg__fail(ctx, DG_ENOTFOUND,
                    "IoU threshold %g was not evaluated; stored: %s (run "
                    "'detgrid eval --iou-thresholds' to add it)",
                    iou, list);
}

void dg_results_score_range(const dg_results *r, double *lo, double *hi)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    *lo = *hi = NAN;
    /* Descending within each class: its first and last are its extremes. */
    for (uint32_t c = 0; c < ri.n_classes; c++) {
        uint64_t a = ri.class_off[c], b = ri.class_off[c + 1];
        if (a == b)
            continue;
        if (isnan(*hi) || ri.score[a] > *hi)
            *hi = ri.score[a];
        if (isnan(*lo) || ri.score[b - 1] < *lo)
            *lo = ri.score[b - 1];
    }
}

dg_status dg_results_check_conf(dg_ctx *ctx, const dg_results *r,
                                double conf)
{
    double lo, hi;
    dg_results_score_range(r, &lo, &hi);
    double a = isnan(lo) || lo > 0 ? 0 : lo, b = isnan(hi) || hi < 1 ? 1 : hi;
    if (conf >= a && conf <= b)
        return DG_OK;
    if (isnan(lo))
        return dg__fail(ctx, DG_ERANGE, "confidence %g is outside [0, 1] "
                        "(the inference set has no detections)", conf);
    return dg__fail(ctx, DG_ERANGE, "confidence %g is %s every score (the "
                    "scores lie in [%g, %g]; a confidence applies to them as "
                    "they are, so give one in [%g, %g])", conf,
                    conf > b ? "above" : "below", lo, hi, a, b);
}

dg_prf dg_counts_prf(const dg_counts *c)
{
    dg_prf r;
    double tp = (double)c->tp;
    r.precision = c->tp + c->fp ? tp / (double)(c->tp + c->fp) : NAN;
    r.recall = c->n_gt ? tp / (double)c->n_gt : NAN;
    /* 2TP / (2TP + FP + FN): the harmonic mean where both are defined,
     * and 0 (not undefined) for a class that is only missed or only
     * hallucinated. */
    uint64_t den = 2 * c->tp + c->fp + c->fn;
    r.f1 = den ? 2 * tp / (double)den : NAN;
    return r;
}

dg_status dg_results_counts(dg_ctx *ctx, dg_results *r, double conf,
                            int iou_idx, dg_counts *per_class)
{
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    const uint8_t *row;
    dg_status st = dg__results_status_row(ctx, r, iou_idx, &row);
    if (st < 0)
        return st;
    dg_results_info ri;
    dg__results_info(r, &ri);
    /* A segment restriction (host/query/segments.c) skips other frames. */
    const uint8_t *mask = ri.frame_mask;
    const uint32_t *df = dg__results_mask_det_frame(r);
    const uint64_t *gtc = mask ? ri.mask_gt_count : ri.gt_count;
    for (uint32_t c = 0; c < ri.n_classes; c++) {
        uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
        uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, conf);
        uint64_t tp = 0, ign = 0, kept = k;
        if (mask) {
            kept = 0;
            for (uint64_t j = lo; j < lo + k; j++) {
                if (!mask[df[j]])
                    continue;
                kept++;
                tp += row[j] == DG_TP;
                ign += row[j] == DG_IGN;
            }
        } else {
            for (uint64_t j = lo; j < lo + k; j++) {
                tp += row[j] == DG_TP;
                ign += row[j] == DG_IGN;
            }
        }
        dg_counts *o = &per_class[c];
        o->tp = tp;
        o->fp = kept - tp - ign;
        o->n_gt = gtc[c];
        o->fn = gtc[c] - tp;
        o->n_det = kept - ign;
    }
    return DG_OK;
}

dg_status dg_results_sweep(dg_ctx *ctx, dg_results *r, uint32_t cls,
                           int iou_idx, dg_sweep_point **out, uint64_t *n)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    if (cls >= ri.n_classes)
        return dg__fail(ctx, DG_EINVAL, "class %u out of range", cls);
    const uint8_t *row;
    dg_status st = dg__results_status_row(ctx, r, iou_idx, &row);
    if (st < 0)
        return st;
    uint64_t lo = ri.class_off[cls], hi = ri.class_off[cls + 1];
    dg_sweep_point *pts = dg__alloc(ctx, hi - lo ? hi - lo : 1, sizeof(*pts));
    if (!pts)
        return DG_ENOMEM;
    /* Under a segment restriction, only kept frames' detections make
     * points (host/query/segments.c). */
    const uint8_t *mask = ri.frame_mask;
    const uint32_t *df = dg__results_mask_det_frame(r);
    uint64_t gtc = mask ? ri.mask_gt_count[cls] : ri.gt_count[cls];
    uint64_t m = 0, tp = 0, fp = 0;
    double last = NAN;
    for (uint64_t k = lo; k < hi; k++) {
        if (mask && !mask[df[k]])
            continue;
        tp += row[k] == DG_TP;
        fp += row[k] == DG_FP;
        if (m && ri.score[k] == last) {
            /* Same score as the previous kept detection: one point. */
            pts[m - 1].tp = tp;
            pts[m - 1].fp = fp;
            pts[m - 1].fn = gtc - tp;
            continue;
        }
        pts[m].conf = last = ri.score[k];
        pts[m].tp = tp;
        pts[m].fp = fp;
        pts[m].fn = gtc - tp;
        m++;
    }
    *out = pts;
    *n = m;
    return DG_OK;
}

dg_status dg_results_sweep_micro(dg_ctx *ctx, dg_results *r, int iou_idx,
                                 dg_sweep_point **out, uint64_t *n,
                                 uint64_t *n_gt)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    const uint8_t *row;
    dg_status st = dg__results_status_row(ctx, r, iou_idx, &row);
    if (st < 0)
        return st;
    *out = NULL;
    *n = 0;
    const uint8_t *mask = ri.frame_mask;
    const uint32_t *df = dg__results_mask_det_frame(r);
    const uint64_t *gtc = mask ? ri.mask_gt_count : ri.gt_count;
    *n_gt = 0;
    for (uint32_t c = 0; c < ri.n_classes; c++)
        *n_gt += gtc[c];
    if (ri.n_det > UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many detections (%llu)",
                        (unsigned long long)ri.n_det);
    /* The kept detections of every class in one descending score order
     * (dg__score_key); ties need no order, as a point takes them all. */
    uint64_t nd = ri.n_det, m = 0;
    uint64_t *key = dg__alloc(ctx, nd ? nd : 1, 8);
    uint64_t *key2 = dg__alloc(ctx, nd ? nd : 1, 8);
    uint32_t *idx = dg__alloc(ctx, nd ? nd : 1, 4);
    uint32_t *idx2 = dg__alloc(ctx, nd ? nd : 1, 4);
    uint64_t *cnt = dg__alloc(ctx, 65536, 8);
    dg_sweep_point *pts = NULL;
    if (!key || !key2 || !idx || !idx2 || !cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t k = 0; k < nd; k++) {
        if (mask && !mask[df[k]])
            continue;
        key[m] = dg__score_key(ri.score[k]);
        idx[m++] = (uint32_t)k;
    }
    dg__radix_sort_keys(&key, &idx, &key2, &idx2, cnt, m);
    if (!(pts = dg__alloc(ctx, m ? m : 1, sizeof(*pts)))) {
        st = DG_ENOMEM;
        goto out;
    }
    uint64_t np = 0, tp = 0, fp = 0;
    for (uint64_t i = 0; i < m; i++) {
        uint64_t k = idx[i];
        tp += row[k] == DG_TP;
        fp += row[k] == DG_FP;
        if (!np || ri.score[k] != pts[np - 1].conf)
            pts[np++].conf = ri.score[k];
        pts[np - 1].tp = tp;
        pts[np - 1].fp = fp;
        pts[np - 1].fn = *n_gt - tp;
    }
    *out = pts;
    *n = np;
    pts = NULL;
out:
    free(pts);
    free(key);
    free(key2);
    free(idx);
    free(idx2);
    free(cnt);
    return st;
}
