/*
 * Confusion queries over stored results: the matrix at any (confidence,
 * stored IoU) and the examples behind each of its cells. Both read one row
 * of the class-agnostic matching (results version 2) and the class of each
 * label; neither matches boxes again (see include/detgrid/confusion.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/confusion.h"
#include "store.h"

int dg_results_has_confusion(const dg_results *r)
{
    return r && dg__results_has_agnostic(r);
}

static dg_status check_point(dg_ctx *ctx, const dg_results *r, double conf,
                             int iou_idx)
{
    if (isnan(conf))
        return dg__fail(ctx, DG_EINVAL, "confidence is NaN");
    if (iou_idx < 0 || iou_idx >= dg_results_n_iou(r))
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range",
                        iou_idx);
    return DG_OK;
}

dg_status dg_confusion_matrix(dg_ctx *ctx, dg_results *r, double conf,
                              int iou_idx, uint64_t *counts,
                              uint64_t *n_ignored)
{
    dg_status st;
    if (!r || !counts)
        return dg__fail(ctx, DG_EINVAL, "dg_confusion_matrix: NULL argument");
    if ((st = check_point(ctx, r, conf, iou_idx)) < 0)
        return st;
    const int32_t *row;
    const uint32_t *lc;
    if ((st = dg__results_agnostic_row(ctx, r, iou_idx, &row)) < 0 ||
        (st = dg__results_label_class(ctx, r, &lc)) < 0)
        return st;
    dg_results_info ri;
    dg__results_info(r, &ri);
    uint32_t K = ri.n_classes;
    size_t w = (size_t)K + 1;
    uint64_t ign = 0;
    /* A segment restriction (host/query/segments.c) skips other frames. */
    const uint8_t *mask = ri.frame_mask;
    const uint32_t *df = dg__results_mask_det_frame(r);
    const uint64_t *gtc = mask ? ri.mask_gt_count : ri.gt_count;
    memset(counts, 0, w * w * sizeof(*counts));
    for (uint32_t c = 0; c < K; c++) {
        uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
        uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, conf);
        for (uint64_t j = lo; j < lo + k; j++) {
            if (mask && !mask[df[j]])
                continue;
            int32_t a = row[j];
            if (a == DG_AGN_IGNORED)
                ign++;
            else if (a == DG_AGN_BACKGROUND)
                counts[(size_t)K * w + c]++;
            else
                counts[(size_t)lc[a] * w + c]++;
        }
    }
    for (uint32_t g = 0; g < K; g++) {
        uint64_t taken = 0;
        for (uint32_t c = 0; c < K; c++)
            taken += counts[(size_t)g * w + c];
        if (taken > gtc[g])
            return dg__fail(ctx, DG_EFORMAT,
                            "stored results are inconsistent: %llu "
                            "detections took ground truths of class %u, "
                            "which has %llu",
                            (unsigned long long)taken, g,
                            (unsigned long long)gtc[g]);
        counts[(size_t)g * w + K] = gtc[g] - taken;
    }
    if (n_ignored)
        *n_ignored = ign;
    return DG_OK;
}

/* ---- examples ------------------------------------------------------------- */

typedef struct entry {
    double key;
    uint32_t frame;
    int64_t det; /* inference-set record or -1 */
    int64_t gt;  /* label record or -1 */
    double iou;
    int64_t near; /* a lone box's nearest other box (dg_example) or -1 */
} entry;

struct dg_examples {
    dg_project *p;
    const dg_boxset *gt, *dt;
    int32_t gt_class, pred_class;
    entry *e;
    uint64_t n, next, end;
};

/*
 * Ascending key with NaN last, then frame, detection, label. Descending
 * sorts store the negated key.
 */
static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int xn = isnan(x->key), yn = isnan(y->key);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->frame != y->frame)
        return x->frame < y->frame ? -1 : 1;
    if (x->det != y->det)
        return x->det < y->det ? -1 : 1;
    return (x->gt > y->gt) - (x->gt < y->gt);
}

static double box_iou(const dg_boxset *d, uint64_t i, const dg_boxset *g,
                      uint64_t j)
{
    return dg__iou(d->x[i], d->y[i], d->w[i], d->h[i], g->x[j], g->y[j],
                   g->w[j], g->h[j], 0);
}

/* Keeps the highest v (> 0) and which record gave it. */
static void max_into(double *best, int64_t *which, double v, uint64_t rec)
{
    if (v > *best) {
        *best = v;
        *which = (int64_t)rec;
    }
}

static dg_status grow(dg_ctx *ctx, dg_examples *x, uint64_t *cap)
{
    if (x->n < *cap)
        return DG_OK;
    uint64_t nc = *cap ? *cap * 2 : 1024;
    entry *e = realloc(x->e, nc * sizeof(*e));
    if (!e)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    x->e = e;
    *cap = nc;
    return DG_OK;
}

dg_status dg_examples_new(dg_ctx *ctx, dg_results *r, dg_project *p,
                          const dg_examples_query *q, dg_examples **out)
{
    dg_status st;
    uint8_t *taken = NULL;
    dg_examples *x = NULL;
    uint64_t cap = 0;

    if (!p || !r || !q || !out)
        return dg__fail(ctx, DG_EINVAL, "dg_examples_new: NULL argument");
    *out = NULL;
    if ((st = check_point(ctx, r, q->conf, q->iou_idx)) < 0)
        return st;
    dg_results_info ri;
    dg__results_info(r, &ri);
    int32_t K = (int32_t)ri.n_classes;
    int32_t g = q->gt_class, pc = q->pred_class;
    if (g < DG_BACKGROUND || g >= K || pc < DG_BACKGROUND || pc >= K)
        return dg__fail(ctx, DG_EINVAL, "class index out of range");
    if (g == DG_BACKGROUND && pc == DG_BACKGROUND)
        return dg__fail(ctx, DG_EINVAL,
                        "the (background, background) cell has no examples");
    if (q->sort != DG_SORT_CONFIDENCE && q->sort != DG_SORT_IOU &&
        q->sort != DG_SORT_AREA)
        return dg__fail(ctx, DG_EINVAL, "unknown sort key %d", (int)q->sort);
    int64_t which = dg__project_results_index(p, r);
    if (which < 0)
        return dg__fail(ctx, DG_EINVAL,
                        "dg_examples_new: the results do not belong to this "
                        "project (use dg_results_load)");
    const int32_t *row;
    const uint32_t *lc, *order;
    const dg_boxset *gt, *dt;
    if ((st = dg__results_agnostic_row(ctx, r, q->iou_idx, &row)) < 0 ||
        (st = dg__results_label_class(ctx, r, &lc)) < 0 ||
        (st = dg__results_order(ctx, r, &order)) < 0 ||
        (st = dg__project_labels(ctx, p, &gt)) < 0 ||
        (st = dg__project_inferences(ctx, p, (uint32_t)which, &dt)) < 0)
        return st;
    if (gt->n != ri.n_gt_total || dt->n != ri.n_det || !gt->frame_off ||
        !dt->frame_off)
        return dg__fail(ctx, DG_ESTALE,
                        "results for '%s' do not fit its boxes (run "
                        "'detgrid eval')",
                        dg_project_inference_name(p, (uint32_t)which));

    x = dg__calloc(ctx, 1, sizeof(*x));
    if (!x)
        return DG_ENOMEM;
    x->p = p;
    x->gt = gt;
    x->dt = dt;
    x->gt_class = g;
    x->pred_class = pc;

    if (pc != DG_BACKGROUND) {
        /* Detections of class pc at score >= conf in this cell. */
        uint64_t lo = ri.class_off[pc], hi = ri.class_off[pc + 1];
        uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, q->conf);
        for (uint64_t j = lo; j < lo + k; j++) {
            int32_t a = row[j];
            if (ri.frame_mask && !ri.frame_mask[dt->frame[order[j]]])
                continue;
            if (g == DG_BACKGROUND ? a != DG_AGN_BACKGROUND
                                   : (a < 0 || lc[a] != (uint32_t)g))
                continue;
            if ((st = grow(ctx, x, &cap)) < 0)
                goto fail;
            uint32_t d = order[j];
            entry *e = &x->e[x->n++];
            e->det = d;
            e->gt = a >= 0 ? a : -1;
            e->frame = dt->frame[d];
            e->near = -1;
            if (a >= 0) {
                e->iou = box_iou(dt, d, gt, (uint64_t)a);
            } else {
                double best = 0;
                uint32_t f = e->frame;
                for (uint64_t m = gt->frame_off[f]; m < gt->frame_off[f + 1];
                     m++)
                    if (!gt->iscrowd[m] && !gt->ignore[m])
                        max_into(&best, &e->near, box_iou(dt, d, gt, m), m);
                e->iou = best;
            }
        }
    } else {
        /* Regular ground truths of class g that no counted detection took. */
        taken = dg__calloc(ctx, gt->n ? gt->n : 1, 1);
        if (!taken) {
            st = DG_ENOMEM;
            goto fail;
        }
        for (uint32_t c = 0; c < (uint32_t)K; c++) {
            uint64_t lo = ri.class_off[c], hi = ri.class_off[c + 1];
            uint64_t k = dg__count_at_least(ri.score + lo, hi - lo, q->conf);
            for (uint64_t j = lo; j < lo + k; j++)
                if (row[j] >= 0)
                    taken[row[j]] = 1;
        }
        for (uint64_t m = 0; m < gt->n; m++) {
            if (taken[m] || gt->cls[m] != (uint32_t)g || gt->iscrowd[m] ||
                gt->ignore[m])
                continue;
            if (ri.frame_mask && !ri.frame_mask[gt->frame[m]])
                continue;
            if ((st = grow(ctx, x, &cap)) < 0)
                goto fail;
            entry *e = &x->e[x->n++];
            e->det = -1;
            e->gt = (int64_t)m;
            e->frame = gt->frame[m];
            e->near = -1;
            double best = 0;
            uint32_t f = e->frame;
            for (uint64_t d = dt->frame_off[f]; d < dt->frame_off[f + 1]; d++)
                if (dt->score[d] >= q->conf)
                    max_into(&best, &e->near, box_iou(dt, d, gt, m), d);
            e->iou = best;
        }
    }
    for (uint64_t i = 0; i < x->n; i++) {
        entry *e = &x->e[i];
        switch (q->sort) {
        case DG_SORT_CONFIDENCE:
            e->key = e->det >= 0 ? dt->score[e->det] : NAN;
            break;
        case DG_SORT_IOU:
            e->key = e->iou;
            break;
        default:
            e->key = e->gt >= 0 ? gt->w[e->gt] * gt->h[e->gt]
                                : dt->w[e->det] * dt->h[e->det];
            break;
        }
        if (!q->ascending)
            e->key = -e->key;
    }
    if (x->n)
        qsort(x->e, x->n, sizeof(*x->e), entry_cmp);
    x->next = q->offset < x->n ? q->offset : x->n;
    x->end = x->n;
    if (q->limit && x->end - x->next > q->limit)
        x->end = x->next + q->limit;
    free(taken);
    *out = x;
    return DG_OK;
fail:
    free(taken);
    dg_examples_free(x);
    return st;
}

uint64_t dg_examples_total(const dg_examples *e)
{
    return e ? e->n : 0;
}

int dg_examples_next(dg_examples *x, dg_example *out)
{
    if (!x || x->next >= x->end)
        return 0;
    const entry *e = &x->e[x->next++];
    const dg_boxset *gt = x->gt, *dt = x->dt;
    memset(out, 0, sizeof(*out));
    out->frame = e->frame;
    out->frame_id = dg_project_frame_id(x->p, e->frame);
    out->gt_class = x->gt_class;
    out->gt_index = e->gt;
    out->pred_class = x->pred_class;
    out->det_index = e->det;
    out->iou = e->iou;
    out->near_index = e->near;
    out->near_class = DG_BACKGROUND;
    out->near_score = NAN;
    if (e->near >= 0 && e->det < 0) {
        out->near_class = (int32_t)dt->cls[e->near];
        out->near_score = dt->score[e->near];
    } else if (e->near >= 0) {
        out->near_class = (int32_t)gt->cls[e->near];
    }
    if (e->gt >= 0) {
        uint64_t j = (uint64_t)e->gt;
        out->gt_box[0] = gt->x[j];
        out->gt_box[1] = gt->y[j];
        out->gt_box[2] = gt->w[j];
        out->gt_box[3] = gt->h[j];
        out->area = gt->w[j] * gt->h[j];
    } else {
        for (int i = 0; i < 4; i++)
            out->gt_box[i] = NAN;
    }
    if (e->det >= 0) {
        uint64_t d = (uint64_t)e->det;
        out->det_box[0] = dt->x[d];
        out->det_box[1] = dt->y[d];
        out->det_box[2] = dt->w[d];
        out->det_box[3] = dt->h[d];
        out->score = dt->score[d];
        if (e->gt < 0)
            out->area = dt->w[d] * dt->h[d];
    } else {
        for (int i = 0; i < 4; i++)
            out->det_box[i] = NAN;
        out->score = NAN;
    }
    return 1;
}

void dg_examples_free(dg_examples *x)
{
    if (!x)
        return;
    free(x->e);
    free(x);
}
