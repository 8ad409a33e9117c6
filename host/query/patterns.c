/*
 * Failure-pattern discovery: the crops (TP, FP, FN, misclassified) of a
 * result at one (confidence, IoU) and the ranking of clusters of frames or
 * crops by how much worse the model does in them than overall.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

const char *dg_crop_outcome_name(dg_crop_outcome o)
{
    switch (o) {
    case DG_CROP_TP:
        return "tp";
    case DG_CROP_FP:
        return "fp";
    case DG_CROP_FN:
        return "fn";
    case DG_CROP_MISCLASSIFIED:
        return "misclassified";
    case DG_CROP_IGNORED:
        return "ignored";
    }
    return "?";
}

dg_status dg_results_crops(dg_ctx *ctx, dg_results *r, dg_project *p,
                           double conf, int iou_idx, dg_crop **out,
                           uint64_t *n_out)
{
    dg_status st;
    dg_results_info ri;
    dg__results_info(r, &ri);
    if (iou_idx < 0 || iou_idx >= ri.n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range", iou_idx);
    const dg_boxset *lb;
    const uint32_t *order;
    const int32_t *matched;
    if ((st = dg__project_labels(ctx, p, &lb)) < 0 ||
        (st = dg__results_order(ctx, r, &order)) < 0 ||
        (st = dg__results_matched(ctx, r, &matched)) < 0)
        return st;
    if (lb->n != ri.n_gt_total)
        return dg__fail(ctx, DG_ESTALE,
                        "results hold %llu labels, the project %llu: run "
                        "'detgrid eval' again",
                        (unsigned long long)ri.n_gt_total,
                        (unsigned long long)lb->n);
    const uint8_t *row;
    const uint32_t *dfr;
    if ((st = dg__results_status_row(ctx, r, iou_idx, &row)) < 0 ||
        (st = dg__results_det_frame(ctx, r, p, &dfr)) < 0)
        return st;
    /* Version-1 results have no class-agnostic matching: no
     * misclassified crops then, only FPs. */
    const int32_t *agn = NULL;
    const uint32_t *lcls = NULL;
    if (ri.version >= 2 &&
        ((st = dg__results_agnostic_row(ctx, r, iou_idx, &agn)) < 0 ||
         (st = dg__results_label_class(ctx, r, &lcls)) < 0))
        return st;
    const int32_t *mrow = matched + (size_t)iou_idx * ri.n_det;
    const uint8_t *mask = ri.frame_mask;
    uint8_t *hit = dg__calloc(ctx, lb->n ? lb->n : 1, 1);
    uint64_t cap = lb->n + ri.n_det;
    dg_crop *c = dg__alloc(ctx, cap ? cap : 1, sizeof(dg_crop));
    if (!hit || !c) {
        free(hit);
        free(c);
        return DG_ENOMEM;
    }
    uint64_t n = 0;
    for (uint32_t k = 0; k < ri.n_classes; k++) {
        uint64_t a = ri.class_off[k], len = ri.class_off[k + 1] - a;
        uint64_t cnt = dg__count_at_least(ri.score + a, len, conf);
        for (uint64_t q = a; q < a + cnt; q++) {
            uint32_t f = dfr[q];
            if (mask && !mask[f])
                continue;
            dg_crop *e = &c[n];
            e->kind = 1;
            e->frame = f;
            e->cls = k;
            e->index = order[q];
            e->score = ri.score[q];
            if (row[q] == DG_IGN) {
                continue; /* neither TP nor FP: not a crop of interest */
            } else if (row[q] == DG_TP) {
                e->outcome = DG_CROP_TP;
                if (mrow[q] >= 0 && (uint64_t)mrow[q] < lb->n)
                    hit[mrow[q]] = 1;
            } else {
                e->outcome = DG_CROP_FP;
                if (agn && agn[q] >= 0 && lcls[agn[q]] != k)
                    e->outcome = DG_CROP_MISCLASSIFIED;
            }
            n++;
        }
    }
    for (uint64_t i = 0; i < lb->n; i++) {
        if (lb->iscrowd[i] || lb->ignore[i])
            continue;
        if (mask && !mask[lb->frame[i]])
            continue;
        dg_crop *e = &c[n++];
        e->kind = 0;
        e->frame = lb->frame[i];
        e->cls = lb->cls[i];
        e->index = i;
        e->score = NAN;
        e->outcome = hit[i] ? DG_CROP_TP : DG_CROP_FN;
    }
    free(hit);
    *out = c;
    *n_out = n;
    return DG_OK;
}

/* ---- ranking ------------------------------------------------------------- */

/* Binomial z of share x/n against the overall share p0. */
static double zscore(double x, double n, double p0)
{
    if (n <= 0)
        return 0;
    double v = p0 * (1 - p0) / n;
    if (v <= 0)
        return 0;
    return (x / n - p0) / sqrt(v);
}

static int cmp_cluster(const void *a, const void *b)
{
    const dg_pattern_cluster *x = a, *y = b;
    if (x->z != y->z)
        return x->z > y->z ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Fills top_class from per-class counts cc (n_classes entries). */
static void top3(dg_pattern_cluster *pc, const uint64_t *cc, uint32_t nc)
{
    for (int i = 0; i < 3; i++) {
        pc->top_class[i] = UINT32_MAX;
        pc->top_count[i] = 0;
    }
    for (uint32_t k = 0; k < nc; k++) {
        uint64_t v = cc[k];
        if (!v)
            continue;
        for (int i = 0; i < 3; i++)
            if (pc->top_class[i] == UINT32_MAX || v > pc->top_count[i]) {
                for (int j = 2; j > i; j--) {
                    pc->top_class[j] = pc->top_class[j - 1];
                    pc->top_count[j] = pc->top_count[j - 1];
                }
                pc->top_class[i] = k;
                pc->top_count[i] = v;
                break;
            }
    }
}

/* Adds frame f with distance dd to the five nearest of pc. */
static void add_rep(dg_pattern_cluster *pc, double *rd, uint32_t f, double dd)
{
    for (int i = 0; i < 5; i++) {
        if (pc->rep_frame[i] == f)
            return;
    }
    for (int i = 0; i < 5; i++)
        if (pc->rep_frame[i] == UINT32_MAX || dd < rd[i]) {
            for (int j = 4; j > i; j--) {
                pc->rep_frame[j] = pc->rep_frame[j - 1];
                rd[j] = rd[j - 1];
            }
            pc->rep_frame[i] = f;
            rd[i] = dd;
            return;
        }
}

static int is_fp(uint8_t o)
{
    return o == DG_CROP_FP || o == DG_CROP_MISCLASSIFIED;
}

/*
 * Shared tail: per-cluster counts from the crops (cluster of crop i:
 * cl_of(i)), class tallies of the errors, then z, sort.
 */
static dg_status rank(dg_ctx *ctx, const dg_crop *crops, uint64_t n,
                      const uint32_t *crop_cluster, uint32_t k,
                      uint32_t n_classes, int frames,
                      dg_pattern_cluster *pc)
{
    uint64_t *cc = dg__calloc(ctx, (size_t)k * (n_classes ? n_classes : 1),
                              sizeof(uint64_t));
    uint64_t *nd = dg__calloc(ctx, k, sizeof(uint64_t));
    uint64_t *nl = dg__calloc(ctx, k, sizeof(uint64_t));
    if (!cc || !nd || !nl) {
        free(cc);
        free(nd);
        free(nl);
        return DG_ENOMEM;
    }
    dg_counts all = {0, 0, 0, 0, 0};
    for (uint64_t i = 0; i < n; i++) {
        const dg_crop *e = &crops[i];
        uint32_t c = crop_cluster[i];
        if (c >= k)
            continue;
        dg_counts *q = &pc[c].counts;
        if (e->kind == 1) {
            nd[c]++;
            q->n_det++;
            all.n_det++;
            if (e->outcome == DG_CROP_TP)
                q->tp++, all.tp++;
            else
                q->fp++, all.fp++;
        } else {
            nl[c]++;
            q->n_gt++;
            all.n_gt++;
            if (e->outcome == DG_CROP_FN)
                q->fn++, all.fn++;
        }
        if (e->outcome == DG_CROP_FN || is_fp(e->outcome))
            if (e->cls < n_classes)
                cc[(size_t)c * n_classes + e->cls]++;
    }
    dg_prf pall = dg_counts_prf(&all);
    double e_all = isnan(pall.f1) ? 0 : 1 - pall.f1;
    double p_fp = all.n_det ? (double)all.fp / (double)all.n_det : 0;
    double p_fn = all.n_gt ? (double)all.fn / (double)all.n_gt : 0;
    for (uint32_t c = 0; c < k; c++) {
        dg_pattern_cluster *q = &pc[c];
        q->prf = dg_counts_prf(&q->counts);
        q->deficit = isnan(q->prf.f1) || isnan(pall.f1)
                         ? NAN
                         : pall.f1 - q->prf.f1;
        q->fp_share = nd[c] ? (double)q->counts.fp / (double)nd[c] : NAN;
        q->fn_share = nl[c] ? (double)q->counts.fn / (double)nl[c] : NAN;
        if (frames) {
            double N = 2.0 * (double)q->counts.tp + (double)q->counts.fp +
                       (double)q->counts.fn;
            q->z = zscore((double)(q->counts.fp + q->counts.fn), N, e_all);
        } else {
            double zf = zscore((double)q->counts.fp, (double)nd[c], p_fp);
            double zn = zscore((double)q->counts.fn, (double)nl[c], p_fn);
            q->z = zf > zn ? zf : zn;
        }
        top3(q, cc + (size_t)c * n_classes, n_classes);
    }
    free(cc);
    free(nd);
    free(nl);
    qsort(pc, k, sizeof(*pc), cmp_cluster);
    return DG_OK;
}

static dg_pattern_cluster *new_clusters(dg_ctx *ctx, uint32_t k)
{
    dg_pattern_cluster *pc = dg__calloc(ctx, k ? k : 1, sizeof(*pc));
    if (!pc)
        return NULL;
    for (uint32_t c = 0; c < k; c++) {
        pc[c].id = c;
        for (int i = 0; i < 5; i++)
            pc[c].rep_frame[i] = UINT32_MAX;
    }
    return pc;
}

dg_status dg_patterns_frames(dg_ctx *ctx, dg_results *r, dg_project *p,
                             double conf, int iou_idx, const uint32_t *assign,
                             const double *dist, uint32_t k,
                             dg_pattern_cluster **out)
{
    dg_crop *crops = NULL;
    uint64_t n = 0;
    dg_status st = dg_results_crops(ctx, r, p, conf, iou_idx, &crops, &n);
    if (st < 0)
        return st;
    dg_pattern_cluster *pc = new_clusters(ctx, k);
    uint32_t *cl = dg__alloc(ctx, n ? n : 1, sizeof(uint32_t));
    double *rd = dg__alloc(ctx, (size_t)k * 5 + 1, sizeof(double));
    if (!pc || !cl || !rd) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < n; i++)
        cl[i] = assign[crops[i].frame];
    dg_results_info ri;
    dg__results_info(r, &ri);
    for (uint32_t f = 0; f < dg__project_n_frames(p); f++) {
        uint32_t c = assign[f];
        if (c >= k || (ri.frame_mask && !ri.frame_mask[f]))
            continue;
        pc[c].size++;
        add_rep(&pc[c], rd + (size_t)c * 5, f, dist ? dist[f] : (double)f);
    }
    if ((st = rank(ctx, crops, n, cl, k, dg__project_n_classes(p), 1, pc)) <
        0)
        goto out;
    *out = pc;
    pc = NULL;
out:
    free(rd);
    free(cl);
    free(pc);
    free(crops);
    return st;
}

dg_status dg_patterns_crops(dg_ctx *ctx, const dg_crop *crops, uint64_t n,
                            const uint32_t *assign, const double *dist,
                            uint32_t k, uint32_t n_classes,
                            dg_pattern_cluster **out)
{
    dg_pattern_cluster *pc = new_clusters(ctx, k);
    double *rd = dg__alloc(ctx, (size_t)k * 5 + 1, sizeof(double));
    dg_status st = DG_OK;
    if (!pc || !rd) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t c = assign[i];
        if (c >= k)
            continue;
        pc[c].size++;
        add_rep(&pc[c], rd + (size_t)c * 5, crops[i].frame,
                dist ? dist[i] : (double)i);
    }
    if ((st = rank(ctx, crops, n, assign, k, n_classes, 0, pc)) < 0)
        goto out;
    *out = pc;
    pc = NULL;
out:
    free(rd);
    free(pc);
    return st;
}
