/*
 * Explaining a failure pattern (include/detgrid/explain.h): which classes
 * fail more there than they do overall, and which TIDE error types its
 * errors are, from the crops of one result at one (confidence, IoU).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int dg_explain_tide_order(const dg_pattern_explain *e, dg_tide_type *order)
{
    int n = 0;
    for (int t = 0; t < DG_TIDE_N; t++)
        order[t] = (dg_tide_type)t;
    for (int i = 1; i < DG_TIDE_N; i++)
        for (int j = i; j > 0 && e->tide[order[j]] > e->tide[order[j - 1]];
             j--) {
            dg_tide_type x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (int t = 0; t < DG_TIDE_N; t++)
        n += e->tide[t] > 0;
    return n;
}

void dg__explainer_release(dg__explainer *ex)
{
    if (!ex)
        return;
    free(ex->tide);
    free(ex->err_all);
    free(ex->chn_all);
    free(ex->err);
    free(ex->chn);
    memset(ex, 0, sizeof(*ex));
}

/* A crop's errors and chances for its class (see dg_class_lift). */
static void crop_tally(const dg_crop *c, uint64_t *err, uint64_t *chn)
{
    if (c->kind == 1) {
        if (c->outcome == DG_CROP_TP)
            chn[c->cls] += 2;
        else if (c->outcome == DG_CROP_FP ||
                 c->outcome == DG_CROP_MISCLASSIFIED)
            chn[c->cls]++, err[c->cls]++;
    } else if (c->outcome == DG_CROP_FN) {
        chn[c->cls]++, err[c->cls]++;
    }
}

dg_status dg__explainer_init(dg_ctx *ctx, dg_project *p, dg_results *r,
                             double conf, int iou_idx, const dg_crop *crop,
                             uint64_t n_crop, dg__explainer *ex)
{
    memset(ex, 0, sizeof(*ex));
    dg_results_info ri;
    dg__results_info(r, &ri);
    uint32_t nc = ri.n_classes;
    ex->n_classes = nc;
    ex->crop = crop;
    ex->n_crop = n_crop;
    ex->tide = dg__alloc(ctx, n_crop ? n_crop : 1, 1);
    ex->err_all = dg__calloc(ctx, nc ? nc : 1, sizeof(uint64_t));
    ex->chn_all = dg__calloc(ctx, nc ? nc : 1, sizeof(uint64_t));
    ex->err = dg__calloc(ctx, nc ? nc : 1, sizeof(uint64_t));
    ex->chn = dg__calloc(ctx, nc ? nc : 1, sizeof(uint64_t));
    if (!ex->tide || !ex->err_all || !ex->chn_all || !ex->err || !ex->chn) {
        dg__explainer_release(ex);
        return DG_ENOMEM;
    }
    const char *name =
        ri.inf_index >= 0
            ? dg_project_inference_name(p, (uint32_t)ri.inf_index)
            : NULL;
    if (!name) {
        dg__explainer_release(ex);
        return dg__fail(ctx, DG_EINVAL, "explain: results of no inference "
                                        "set");
    }
    /* Background below 0.1 when the IoU threshold itself is. */
    double fg = ri.iou[iou_idx];
    dg_tide_opts to = {conf, fg, fg < 0.1 ? fg : 0.1, -1};
    dg_tide_result t;
    dg_status st = dg_tide_evaluate(ctx, p, name, &to, &t);
    if (st < 0) {
        dg__explainer_release(ex);
        return st;
    }
    for (uint64_t i = 0; i < n_crop; i++) {
        const dg_crop *c = &crop[i];
        int8_t ty = -1;
        if (c->kind == 1 && c->index < t.n_det_records)
            ty = t.det_type[c->index];
        else if (c->kind == 0 && c->index < t.n_label_records)
            ty = t.label_type[c->index];
        ex->tide[i] = ty;
        if (ty >= 0 && ty < DG_TIDE_N)
            ex->tide_all[ty]++;
        if (c->cls < nc)
            crop_tally(c, ex->err_all, ex->chn_all);
    }
    dg_tide_result_release(&t);
    return DG_OK;
}

/* Inserts l into the top list (by z, then the lower class) if it fits. */
static void keep_top(dg_class_lift *top, const dg_class_lift *l)
{
    for (int i = 0; i < DG_EXPLAIN_CLASSES; i++)
        if (top[i].cls == UINT32_MAX || l->z > top[i].z) {
            for (int j = DG_EXPLAIN_CLASSES - 1; j > i; j--)
                top[j] = top[j - 1];
            top[i] = *l;
            return;
        }
}

void dg__explain_group(dg__explainer *ex, const uint8_t *in,
                       const uint8_t *in_frame, dg_pattern_explain *out)
{
    uint32_t nc = ex->n_classes;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < DG_EXPLAIN_CLASSES; i++)
        out->cls[i].cls = UINT32_MAX;
    for (int i = 0; i < DG_EXPLAIN_FRAMES; i++)
        out->rep_frame[i] = UINT32_MAX;
    memcpy(out->tide_all, ex->tide_all, sizeof(out->tide_all));
    memset(ex->err, 0, nc * sizeof(uint64_t));
    memset(ex->chn, 0, nc * sizeof(uint64_t));
    for (uint64_t i = 0; i < ex->n_crop; i++) {
        const dg_crop *c = &ex->crop[i];
        if (in ? !in[i] : !in_frame[c->frame])
            continue;
        if (ex->tide[i] >= 0 && ex->tide[i] < DG_TIDE_N)
            out->tide[ex->tide[i]]++;
        if (c->cls < nc)
            crop_tally(c, ex->err, ex->chn);
    }
    for (uint32_t k = 0; k < nc; k++) {
        if (!ex->chn[k] || !ex->chn_all[k])
            continue;
        double p0 = (double)ex->err_all[k] / (double)ex->chn_all[k];
        double n = (double)ex->chn[k], x = (double)ex->err[k];
        double v = n * p0 * (1 - p0);
        dg_class_lift l = {k, ex->err[k], ex->chn[k], ex->err_all[k],
                           ex->chn_all[k], p0 > 0 ? (x / n) / p0 : NAN,
                           v > 0 ? (x - n * p0) / sqrt(v) : 0};
        if (l.z > 0)
            keep_top(out->cls, &l);
    }
}
