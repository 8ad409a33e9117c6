/*
 * Queries over stored results: counts at any confidence and stored IoU,
 * and per-class sweeps. A query is a binary search per class plus a count
 * over one status row; nothing is matched again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"

static dg_status fingerprint_of(dg_ctx *ctx, dg_project *p, int which,
                                uint64_t *fp)
{
    dg_boxset *b = which < 0 ? &p->labels : &p->inf[which].boxes;
    int loaded = which < 0 ? p->labels_loaded : p->inf[which].loaded;
    if (!loaded && p->file >= 0) {
        char gp[600];
        if (which < 0)
            snprintf(gp, sizeof(gp), "/labels");
        else
            snprintf(gp, sizeof(gp), "/inferences/%s", p->inf[which].name);
        if (dg__h5_exists((hid_t)p->file, gp)) {
            hid_t g = H5Gopen2((hid_t)p->file, gp, H5P_DEFAULT);
            dg_status st = g >= 0 ? dg__h5_attr_read(ctx, g, "fingerprint",
                                                     H5T_NATIVE_UINT64, fp, 1)
                                  : DG_EFORMAT;
            if (g >= 0)
                H5Gclose(g);
            if (st == DG_OK)
                return DG_OK;
        }
    }
    dg_status st = which < 0 ? dg__project_load_labels(ctx, p)
                             : dg__project_load_inferences(ctx, p,
                                                           (uint32_t)which);
    if (st < 0)
        return st;
    *fp = dg__boxset_fingerprint(b);
    return DG_OK;
}

dg_status dg__project_fingerprint(dg_ctx *ctx, dg_project *p, int which,
                                  uint64_t *fp)
{
    return fingerprint_of(ctx, p, which, fp);
}

dg_status dg_results_load(dg_ctx *ctx, dg_project *p, const char *name,
                          dg_results **out)
{
    int64_t i = dg_project_inference_index(p, name);
    if (i < 0)
        return dg__fail(ctx, DG_ENOTFOUND, "'%s': no inference set '%s'",
                        p->path ? p->path : "(project)", name);
    dg_infset *s = &p->inf[i];
    dg_status st;
    if (!s->results) {
        if (s->dirty || p->file < 0 ||
            (st = dg__results_read(ctx, p->file, name, &s->results)) ==
                DG_ENOTFOUND)
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': no results for '%s' (run 'detgrid eval' "
                            "first)",
                            p->path ? p->path : "(project)", name);
        if (st < 0)
            return st;
        uint64_t fp, lfp;
        if ((st = fingerprint_of(ctx, p, (int)i, &fp)) < 0 ||
            (st = fingerprint_of(ctx, p, -1, &lfp)) < 0)
            return st;
        if (fp != s->results->fingerprint ||
            lfp != s->results->labels_fingerprint ||
            s->results->n_classes != p->n_classes) {
            dg__results_destroy(s->results);
            s->results = NULL;
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': results for '%s' are out of date (labels "
                            "or detections changed; run 'detgrid eval')",
                            p->path, name);
        }
    }
    s->results->refs++;
    s->results->inf_index = i;
    *out = s->results;
    return DG_OK;
}

void dg_results_free(dg_results *r)
{
    dg__results_destroy(r);
}

int dg_results_n_iou(const dg_results *r)
{
    return r->n_iou;
}

double dg_results_iou(const dg_results *r, int i)
{
    return i >= 0 && i < r->n_iou ? r->iou[i] : NAN;
}

uint32_t dg_results_n_classes(const dg_results *r)
{
    return r->n_classes;
}

uint64_t dg_results_n_det(const dg_results *r)
{
    return r->n_det;
}

const char *dg_results_device(const dg_results *r)
{
    return r->device;
}

int dg_results_find_iou(dg_ctx *ctx, const dg_results *r, double iou)
{
    for (int t = 0; t < r->n_iou; t++)
        if (fabs(r->iou[t] - iou) <= 1e-9)
            return t;
    char list[1024] = "";
    size_t len = 0;
    for (int t = 0; t < r->n_iou && len + 16 < sizeof(list); t++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%g",
                                t ? ", " : "", r->iou[t]);
    return dg__fail(ctx, DG_ENOTFOUND,
                    "IoU threshold %g was not evaluated; stored: %s (run "
                    "'detgrid eval --iou-thresholds' to add it)",
                    iou, list);
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

uint64_t dg__count_at_least(const double *s, uint64_t n, double conf)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s[mid] >= conf)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

dg_status dg_results_counts(dg_ctx *ctx, dg_results *r, double conf,
                            int iou_idx, dg_counts *per_class)
{
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    const uint8_t *row = dg__results_status_row(ctx, r, iou_idx);
    if (!row)
        return DG_EFORMAT;
    /* A segment restriction (host/segments.c) skips other frames. */
    const uint8_t *mask = r->frame_mask;
    const uint32_t *df = r->det_frame;
    const uint64_t *gtc = mask ? r->mask_gt_count : r->gt_count;
    for (uint32_t c = 0; c < r->n_classes; c++) {
        uint64_t lo = r->class_off[c], hi = r->class_off[c + 1];
        uint64_t k = dg__count_at_least(r->score + lo, hi - lo, conf);
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
    if (cls >= r->n_classes)
        return dg__fail(ctx, DG_EINVAL, "class %u out of range", cls);
    const uint8_t *row = dg__results_status_row(ctx, r, iou_idx);
    if (!row)
        return DG_EFORMAT;
    uint64_t lo = r->class_off[cls], hi = r->class_off[cls + 1];
    dg_sweep_point *pts = dg__alloc(ctx, hi - lo ? hi - lo : 1, sizeof(*pts));
    if (!pts)
        return DG_ENOMEM;
    /* Under a segment restriction, only kept frames' detections make
     * points (host/segments.c). */
    const uint8_t *mask = r->frame_mask;
    const uint32_t *df = r->det_frame;
    uint64_t gtc = mask ? r->mask_gt_count[cls] : r->gt_count[cls];
    uint64_t m = 0, tp = 0, fp = 0;
    double last = NAN;
    for (uint64_t k = lo; k < hi; k++) {
        if (mask && !mask[df[k]])
            continue;
        tp += row[k] == DG_TP;
        fp += row[k] == DG_FP;
        if (m && r->score[k] == last) {
            /* Same score as the previous kept detection: one point. */
            pts[m - 1].tp = tp;
            pts[m - 1].fp = fp;
            pts[m - 1].fn = gtc - tp;
            continue;
        }
        pts[m].conf = last = r->score[k];
        pts[m].tp = tp;
        pts[m].fp = fp;
        pts[m].fn = gtc - tp;
        m++;
    }
    *out = pts;
    *n = m;
    return DG_OK;
}
