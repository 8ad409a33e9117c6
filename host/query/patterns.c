/*
 * Failure-pattern discovery: the crops (TP, FP, FN, misclassified) of a
 * result at one (confidence, IoU) and the ranking of clusters of frames or
 * crops by how much worse the model does in them than overall.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

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

/* A cluster while ranking, with log p (finite where p underflows). */
typedef struct ranked {
    dg_pattern_cluster c;
    double logp;
    int frames;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->frames && x->logp != y->logp)
        return x->logp < y->logp ? -1 : 1;
    if (x->c.z != y->c.z && !(isnan(x->c.z) && isnan(y->c.z))) {
        if (isnan(x->c.z))
            return 1;
        if (isnan(y->c.z))
            return -1;
        return x->c.z > y->c.z ? -1 : 1;
    }
    return x->c.id < y->c.id ? -1 : x->c.id > y->c.id;
}

/* Adds frame f with distance dd to the five nearest of pc. */
static void add_rep(dg_pattern_cluster *pc, double *rd, uint32_t f, double dd)
{
    uint32_t *rep = pc->explain.rep_frame;
    for (int i = 0; i < DG_EXPLAIN_FRAMES; i++) {
        if (rep[i] == f)
            return;
    }
    for (int i = 0; i < DG_EXPLAIN_FRAMES; i++)
        if (rep[i] == UINT32_MAX || dd < rd[i]) {
            for (int j = DG_EXPLAIN_FRAMES - 1; j > i; j--) {
                rep[j] = rep[j - 1];
                rd[j] = rd[j - 1];
            }
            rep[i] = f;
            rd[i] = dd;
            return;
        }
}

/* What the test of a cluster needs, additive over clusters. */
typedef struct csum {
    dg__ratio ra;     /* frames: F1 over its frames */
    dg_counts counts; /* pooled over its crops */
    uint64_t size;    /* frames (frames mode) or crops */
} csum;

/*
 * Per-cluster sums (k entries, then the total over every cluster) of the
 * crops (crop i in cluster cl[i], UINT32_MAX for none); in frames mode
 * (frame_cl given) the frames' F1 sums too, each frame's counts from its
 * crops.
 */
static dg_status cluster_sums(dg_ctx *ctx, const dg_crop *crops, uint64_t n,
                              const uint32_t *cl, const uint32_t *frame_cl,
                              uint32_t F, uint32_t k, csum *cs)
{
    memset(cs, 0, ((size_t)k + 1) * sizeof(csum));
    dg_frame_counts *fc = NULL;
    if (frame_cl && !(fc = dg__calloc(ctx, F ? F : 1, sizeof(*fc))))
        return DG_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        const dg_crop *e = &crops[i];
        uint32_t c = cl[i];
        if (c >= k)
            continue;
        if (!frame_cl)
            cs[c].size++, cs[k].size++;
        for (int t = 0; t < 2; t++) {
            dg_counts *q = &cs[t ? k : c].counts;
            if (e->kind == 1) {
                q->n_det++;
                if (e->outcome == DG_CROP_TP)
                    q->tp++;
                else
                    q->fp++;
            } else {
                q->n_gt++;
                if (e->outcome == DG_CROP_FN)
                    q->fn++;
            }
        }
        if (fc) {
            dg_frame_counts *f = &fc[e->frame];
            if (e->kind == 1)
                e->outcome == DG_CROP_TP ? f->tp++ : f->fp++;
            else if (e->outcome == DG_CROP_FN)
                f->fn++;
        }
    }
    if (fc) {
        for (uint32_t f = 0; f < F; f++)
            if (frame_cl[f] < k) {
                cs[frame_cl[f]].size++;
                cs[k].size++;
                dg__ratio_add(&cs[frame_cl[f]].ra, DG__RATIO_F1, &fc[f]);
                dg__ratio_add(&cs[k].ra, DG__RATIO_F1, &fc[f]);
            }
        free(fc);
    }
    return DG_OK;
}

static csum csum_plus(const csum *a, const csum *b)
{
    csum s = *a;
    s.ra.n += b->ra.n, s.ra.a += b->ra.a, s.ra.b += b->ra.b;
    s.ra.aa += b->ra.aa, s.ra.ab += b->ra.ab, s.ra.bb += b->ra.bb;
    s.counts.tp += b->counts.tp, s.counts.fp += b->counts.fp;
    s.counts.fn += b->counts.fn, s.counts.n_gt += b->counts.n_gt;
    s.counts.n_det += b->counts.n_det;
    s.size += b->size;
    return s;
}

/*
 * The test of cluster c against the total: frames, its F1 against the
 * other clustered frames (dg__ratio_test); crops, the larger binomial z of
 * its FP share among detection crops and its FN share among label crops
 * against the shares of every clustered crop, p its normal tail.
 */
static void cluster_test(const csum *c, const csum *tot, int frames,
                         double *z, double *p, double *logp)
{
    if (frames) {
        dg__ratio rest = dg__ratio_minus(&tot->ra, &c->ra);
        dg__ratio_test(&c->ra, &rest, z, p, logp);
        return;
    }
    const dg_counts *q = &c->counts, *a = &tot->counts;
    double p_fp = a->n_det ? (double)a->fp / (double)a->n_det : 0;
    double p_fn = a->n_gt ? (double)a->fn / (double)a->n_gt : 0;
    double zf = zscore((double)q->fp, (double)q->n_det, p_fp);
    double zn = zscore((double)q->fn, (double)q->n_gt, p_fn);
    *z = zf > zn ? zf : zn;
    *p = dg__normal_sf(*z);
    *logp = log(*p);
}

dg_status dg__patterns_merge(dg_ctx *ctx, const dg_crop *crops, uint64_t n,
                             const uint32_t *cl, const uint32_t *frame_cl,
                             uint32_t F, uint32_t k, double *cent,
                             uint32_t dim, uint32_t *map, uint32_t *k_out)
{
    int frames = frame_cl != NULL;
    csum *cs = dg__alloc(ctx, (size_t)k + 1, sizeof(csum));
    uint32_t *root = dg__alloc(ctx, k ? k : 1, sizeof(uint32_t));
    double *z = dg__alloc(ctx, 3 * (size_t)(k ? k : 1), sizeof(double));
    dg_status st = DG_ENOMEM;
    if (!cs || !root || !z)
        goto out;
    double *p = z + k, *q = p + k;
    if ((st = cluster_sums(ctx, crops, n, cl, frame_cl, F, k, cs)) < 0)
        goto out;
    for (uint32_t c = 0; c < k; c++)
        root[c] = c;
    for (;;) {
        /* The tests of the clusters left, adjusted together. */
        uint32_t alive = 0;
        for (uint32_t c = 0; c < k; c++) {
            double lp;
            if (root[c] != c)
                continue;
            cluster_test(&cs[c], &cs[k], frames, &z[c], &p[alive], &lp);
            alive++;
        }
        if ((st = dg__bh_adjust(ctx, p, alive, p)) < 0)
            goto out;
        for (uint32_t c = 0, i = 0; c < k; c++)
            q[c] = root[c] == c ? p[i++] : NAN;
        uint32_t best_a = UINT32_MAX, best_b = 0;
        double best_z = -INFINITY;
        for (uint32_t a = 0; a < k; a++) {
            if (root[a] != a || !(q[a] <= 0.05) || !(z[a] > 0))
                continue;
            /* Its nearest cluster by centroid (the lower index on a tie). */
            uint32_t b = UINT32_MAX;
            double bd = INFINITY;
            for (uint32_t c = 0; c < k; c++) {
                if (c == a || root[c] != c)
                    continue;
                double d2 = 0;
                for (uint32_t t = 0; t < dim; t++) {
                    double e = cent[(size_t)a * dim + t] -
                               cent[(size_t)c * dim + t];
                    d2 += e * e;
                }
                if (d2 < bd)
                    bd = d2, b = c;
            }
            if (b == UINT32_MAX || !(q[b] <= 0.05) || !(z[b] > 0))
                continue;
            csum u = csum_plus(&cs[a], &cs[b]);
            double zu, pu, lu;
            cluster_test(&u, &cs[k], frames, &zu, &pu, &lu);
            if (zu > z[a] && zu > z[b] && zu > best_z)
                best_z = zu, best_a = a, best_b = b;
        }
        if (best_a == UINT32_MAX)
            break;
        /* b into a; the union's centroid is the size-weighted mean. */
        uint32_t a = best_a < best_b ? best_a : best_b;
        uint32_t b = best_a < best_b ? best_b : best_a;
        double wa = (double)cs[a].size, wb = (double)cs[b].size;
        for (uint32_t t = 0; t < dim; t++)
            cent[(size_t)a * dim + t] =
                (wa * cent[(size_t)a * dim + t] +
                 wb * cent[(size_t)b * dim + t]) /
                (wa + wb > 0 ? wa + wb : 1);
        cs[a] = csum_plus(&cs[a], &cs[b]);
        for (uint32_t c = 0; c < k; c++)
            if (root[c] == b)
                root[c] = a;
    }
    /* The clusters left, renumbered in order; their centroids moved down. */
    uint32_t m = 0;
    for (uint32_t c = 0; c < k; c++)
        if (root[c] == c) {
            if (m != c)
                memmove(cent + (size_t)m * dim, cent + (size_t)c * dim,
                        dim * sizeof(double));
            map[c] = m++;
        }
    for (uint32_t c = 0; c < k; c++)
        map[c] = map[root[c]];
    *k_out = m;
    st = DG_OK;
out:
    free(z);
    free(root);
    free(cs);
    return st;
}

/*
 * The clusters of the crops (crop i in cluster cl[i], UINT32_MAX for
 * none): counts, the test, BH over the clusters, explanations (with the
 * representatives from the crops' distances, or the frames' when
 * frame_cl is given: frames mode) and the order, into out (k entries).
 */
static dg_status rank(dg_ctx *ctx, dg_results *r, dg_project *p, double conf,
                      int iou_idx, const dg_crop *crops, uint64_t n,
                      const uint32_t *cl, const double *crop_dist,
                      const uint32_t *frame_cl, const double *frame_dist,
                      uint32_t k, dg_pattern_cluster **out)
{
    dg_status st = DG_OK;
    int frames = frame_cl != NULL;
    uint32_t F = dg__project_n_frames(p);
    ranked *rk = dg__calloc(ctx, k ? k : 1, sizeof(ranked));
    csum *cs = dg__alloc(ctx, (size_t)k + 1, sizeof(csum));
    double *rd = dg__alloc(ctx, (size_t)k * DG_EXPLAIN_FRAMES + 1,
                           sizeof(double));
    double *pv = dg__alloc(ctx, k ? k : 1, sizeof(double));
    uint8_t *in = dg__alloc(ctx, n ? n : 1, 1);
    dg__explainer ex;
    memset(&ex, 0, sizeof(ex));
    if (!rk || !cs || !rd || !pv || !in) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = cluster_sums(ctx, crops, n, cl, frame_cl, F, k, cs)) < 0)
        goto out;
    dg_prf pall = dg_counts_prf(&cs[k].counts);
    for (uint32_t c = 0; c < k; c++) {
        dg_pattern_cluster *q = &rk[c].c;
        const dg_counts *cc = &cs[c].counts;
        rk[c].frames = frames;
        q->id = c;
        q->size = cs[c].size;
        q->counts = *cc;
        q->prf = dg_counts_prf(cc);
        q->deficit = isnan(q->prf.f1) || isnan(pall.f1)
                         ? NAN
                         : pall.f1 - q->prf.f1;
        q->fp_share = cc->n_det ? (double)cc->fp / (double)cc->n_det : NAN;
        q->fn_share = cc->n_gt ? (double)cc->fn / (double)cc->n_gt : NAN;
        cluster_test(&cs[c], &cs[k], frames, &q->z, &q->p, &rk[c].logp);
        pv[c] = q->p;
    }
    if ((st = dg__bh_adjust(ctx, pv, k, pv)) < 0)
        goto out;
    /* Explanations, then the representatives. */
    if ((st = dg__explainer_init(ctx, p, r, conf, iou_idx, crops, n, &ex)) <
        0)
        goto out;
    for (uint32_t c = 0; c < k; c++) {
        rk[c].c.q = pv[c];
        for (uint64_t i = 0; i < n; i++)
            in[i] = cl[i] == c;
        dg__explain_group(&ex, in, NULL, &rk[c].c.explain);
    }
    if (frames) {
        for (uint32_t f = 0; f < F; f++)
            if (frame_cl[f] < k)
                add_rep(&rk[frame_cl[f]].c,
                        rd + (size_t)frame_cl[f] * DG_EXPLAIN_FRAMES, f,
                        frame_dist ? frame_dist[f] : (double)f);
    } else {
        for (uint64_t i = 0; i < n; i++)
            if (cl[i] < k)
                add_rep(&rk[cl[i]].c, rd + (size_t)cl[i] * DG_EXPLAIN_FRAMES,
                        crops[i].frame, crop_dist ? crop_dist[i] : (double)i);
    }
    qsort(rk, k, sizeof(*rk), cmp_ranked);
    dg_pattern_cluster *pc = dg__calloc(ctx, k ? k : 1, sizeof(*pc));
    if (!pc) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < k; c++)
        pc[c] = rk[c].c;
    *out = pc;
out:
    dg__explainer_release(&ex);
    free(in);
    free(pv);
    free(rd);
    free(cs);
    free(rk);
    return st;
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
    uint32_t *cl = dg__alloc(ctx, n ? n : 1, sizeof(uint32_t));
    if (!cl) {
        free(crops);
        return DG_ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++)
        cl[i] = assign[crops[i].frame];
    st = rank(ctx, r, p, conf, iou_idx, crops, n, cl, NULL, assign, dist, k,
              out);
    free(cl);
    free(crops);
    return st;
}

dg_status dg_patterns_crops(dg_ctx *ctx, dg_results *r, dg_project *p,
                            double conf, int iou_idx, const dg_crop *crops,
                            uint64_t n, const uint32_t *assign,
                            const double *dist, uint32_t k,
                            dg_pattern_cluster **out)
{
    return rank(ctx, r, p, conf, iou_idx, crops, n, assign, dist, NULL, NULL,
                k, out);
}
