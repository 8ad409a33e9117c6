/*
 * Object-level churn between two inference sets: which ground truths one
 * set finds and the other misses, read from the stored class-wise matches
 * (status and matched rows), without matching again.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/*
 * found[l] = 1 + sorted position of the detection of r (score >= conf,
 * true positive at iou_idx) matched to label l, or 0.
 */
static dg_status found_by(dg_ctx *ctx, struct dg_results *r, double conf,
                          int iou_idx, uint64_t n_labels, uint64_t *found)
{
    dg_results_info ri;
    dg__results_info(r, &ri);
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    if (iou_idx < 0 || iou_idx >= ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range (%d stored)",
                        iou_idx, ri.n_iou);
    const uint8_t *row;
    const int32_t *matched;
    dg_status st = dg__results_status_row(ctx, r, iou_idx, &row);
    if (st < 0 || (st = dg__results_matched(ctx, r, &matched)) < 0)
        return st;
    const int32_t *m = matched + (size_t)iou_idx * ri.n_det;
    for (uint32_t c = 0; c < ri.n_classes; c++) {
        uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
        uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, conf);
        for (uint64_t j = lo; j < lo + k; j++) {
            if (row[j] != DG_TP)
                continue;
            if (m[j] < 0 || (uint64_t)m[j] >= n_labels)
                return dg__fail(ctx, DG_EFORMAT,
                                "results: matched[%d][%llu] = %d is not a "
                                "label index",
                                iou_idx, (unsigned long long)j, m[j]);
            found[m[j]] = j + 1;
        }
    }
    return DG_OK;
}

static int cmp_item(const void *x, const void *y)
{
    const dg_churn_item *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->label < b->label ? -1 : a->label > b->label;
}

dg_status dg_results_churn(dg_ctx *ctx, dg_results *ra, dg_results *rb,
                           dg_project *p, double conf_a, int iou_a,
                           double conf_b, int iou_b, int which,
                           uint64_t *per_class, uint64_t *n_a_only,
                           uint64_t *n_b_only, dg_churn_item **items,
                           uint64_t *n_items)
{
    dg_status st;
    uint64_t *fa = NULL, *fb = NULL;
    dg_churn_item *out = NULL;
    if (!p || !ra || !rb)
        return dg__fail(ctx, DG_EINVAL, "dg_results_churn: NULL argument");
    if (items) {
        *items = NULL;
        *n_items = 0;
    }
    const dg_boxset *gt;
    if ((st = dg__project_labels(ctx, p, &gt)) < 0)
        return st;
    uint64_t nl = gt->n;
    dg_results_info ia, ib;
    dg__results_info(ra, &ia);
    dg__results_info(rb, &ib);
    if (ia.n_gt_total != nl || ib.n_gt_total != nl)
        return dg__fail(ctx, DG_ESTALE,
                        "results cover %llu labels, the project has %llu "
                        "(run 'detgrid eval')",
                        (unsigned long long)ia.n_gt_total,
                        (unsigned long long)nl);
    fa = dg__calloc(ctx, nl ? nl : 1, sizeof(uint64_t));
    fb = dg__calloc(ctx, nl ? nl : 1, sizeof(uint64_t));
    if (!fa || !fb) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = found_by(ctx, ra, conf_a, iou_a, nl, fa)) < 0 ||
        (st = found_by(ctx, rb, conf_b, iou_b, nl, fb)) < 0)
        goto out;
    uint32_t C = dg__project_n_classes(p);
    if (per_class)
        memset(per_class, 0, 2 * (size_t)C * sizeof(uint64_t));
    uint64_t na = 0, nb = 0;
    const uint8_t *mask = ia.frame_mask;
    for (uint64_t l = 0; l < nl; l++) {
        if ((mask && !mask[gt->frame[l]]) || (!fa[l]) == (!fb[l]))
            continue;
        if (gt->cls[l] >= C) {
            st = dg__fail(ctx, DG_EFORMAT, "labels: record %llu has class %u",
                          (unsigned long long)l, gt->cls[l]);
            goto out;
        }
        if (fa[l]) {
            na++;
            if (per_class)
                per_class[2 * gt->cls[l]]++;
        } else {
            nb++;
            if (per_class)
                per_class[2 * gt->cls[l] + 1]++;
        }
    }
    if (n_a_only)
        *n_a_only = na;
    if (n_b_only)
        *n_b_only = nb;
    if (!items || (which != 0 && which != 1))
        goto out;

    struct dg_results *r = which == 0 ? ra : rb;
    const dg_results_info *ri = which == 0 ? &ia : &ib;
    uint64_t *f = which == 0 ? fa : fb, *g = which == 0 ? fb : fa;
    uint64_t n = which == 0 ? na : nb;
    if (ri->inf_index < 0 ||
        (uint64_t)ri->inf_index >= dg__project_n_inferences(p)) {
        st = dg__fail(ctx, DG_EINVAL, "results are not attached to an "
                                      "inference set of this project");
        goto out;
    }
    const uint32_t *order;
    const dg_boxset *dt;
    if ((st = dg__results_order(ctx, r, &order)) < 0 ||
        (st = dg__project_inferences(ctx, p, (uint32_t)ri->inf_index,
                                     &dt)) < 0)
        goto out;
    out = dg__alloc(ctx, n ? n : 1, sizeof(*out));
    if (!out) {
        st = DG_ENOMEM;
        goto out;
    }
    uint64_t k = 0;
    for (uint64_t l = 0; l < nl && k < n; l++) {
        if ((mask && !mask[gt->frame[l]]) || !f[l] || g[l])
            continue;
        uint64_t j = f[l] - 1;
        uint32_t d = order[j];
        if (d >= dt->n) {
            st = dg__fail(ctx, DG_ESTALE, "results do not fit the inference "
                                          "set (run 'detgrid eval')");
            goto out;
        }
        dg_churn_item *it = &out[k++];
        it->label = l;
        it->frame = gt->frame[l];
        it->cls = gt->cls[l];
        it->box[0] = gt->x[l];
        it->box[1] = gt->y[l];
        it->box[2] = gt->w[l];
        it->box[3] = gt->h[l];
        it->det = d;
        it->score = ri->score[j];
        it->iou = dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d], gt->x[l],
                          gt->y[l], gt->w[l], gt->h[l], 0);
    }
    qsort(out, k, sizeof(*out), cmp_item);
    *items = out;
    *n_items = k;
    out = NULL;
out:
    free(out);
    free(fa);
    free(fb);
    return st;
}
