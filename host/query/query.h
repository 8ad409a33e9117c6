/*
 * Shared by the queries of host/query/ only: per-frame counts (frames.c)
 * feeding the bootstrap (bootstrap.c) and churn.
 */
#ifndef DG_QUERY_H
#define DG_QUERY_H

#include "detgrid/embeddings.h"
#include "detgrid/explain.h"
#include "engine.h"
#include "store.h"

/*
 * Sparse counts per (frame, class) over a universe of n frames (universe
 * index u = position in an ascending frame list): the pairs of universe
 * frame u are off[u] .. off[u + 1] - 1, by ascending class, and only pairs
 * with a detection or a counted ground truth occur. cnt holds three
 * uint32 per pair: tp, fp, n_gt (non-ignored ground truths).
 */
typedef struct dg_fcc {
    uint32_t n;        /* universe frames */
    uint32_t n_classes;
    uint32_t *frames;  /* n: project frame index of each universe frame */
    uint64_t *off;     /* n + 1 */
    uint32_t *cls;     /* off[n] */
    uint32_t *cnt;     /* 3 * off[n] */
} dg_fcc;

/*
 * Builds the table of results r (of p) at (conf, iou_idx) over the
 * universe frames[0..n) (ascending, unique; NULL = every frame of p).
 * Ignores r's restriction: the caller chooses the universe.
 */
dg_status dg__fcc_build(dg_ctx *ctx, struct dg_results *r, dg_project *p,
                        double conf, int iou_idx, const uint32_t *frames,
                        uint32_t n, dg_fcc *out);
void dg__fcc_release(dg_fcc *t);
/*
 * The frames of r's restriction (malloc'd, ascending) or every frame of p
 * when r has none.
 */
dg_status dg__results_universe(dg_ctx *ctx, struct dg_results *r,
                               dg_project *p, uint32_t **frames, uint32_t *n);

/*
 * The q-quantile (0 <= q <= 1) of the ascending v[0..m), m > 0, with
 * numpy's default linear interpolation.
 */
double dg__quantile_sorted(const double *v, uint64_t m, double q);

/* ---- the tests of the pattern finders (stats.c) -------------------------- */

/*
 * Sums over a set of frames of a ratio metric's per-frame numerator a and
 * denominator b (F1: a = 2TP, b = 2TP + FP + FN; precision: TP, TP + FP;
 * recall: TP, TP + FN), with their squares and product. Counts are
 * integers, so every sum is exact in double and a set's complement is the
 * total less the set.
 */
typedef struct dg__ratio {
    double n, a, b, aa, ab, bb; /* n: frames with b > 0 */
} dg__ratio;

/* Which ratio a pattern is tested on (dg_slice_metric's values). */
enum { DG__RATIO_F1 = 0, DG__RATIO_PRECISION = 1, DG__RATIO_RECALL = 2 };

/* Adds frame counts c to s under ratio `metric`. */
void dg__ratio_add(dg__ratio *s, int metric, const dg_frame_counts *c);
/* total - part, field by field. */
dg__ratio dg__ratio_minus(const dg__ratio *total, const dg__ratio *part);
/* a / b; NaN when b is 0. */
double dg__ratio_value(const dg__ratio *s);
/*
 * Whether the ratio over the frames of s is lower than over the (other,
 * disjoint) frames of t: z = (R_t - R_s) / sqrt(V_s + V_t), each R the
 * ratio of sums and V its variance by linearisation over frames (the
 * ratio estimator's: n / (n - 1) sum (a_f - R b_f)^2 / B^2), so frames,
 * not boxes, are the units and a frame full of misses counts as one
 * unlucky frame. *p gets the one-sided tail P(T >= z) of Student's t with
 * the Welch-Satterthwaite degrees of freedom (V_s + V_t)^2 / (V_s^2 /
 * (n_s - 1) + V_t^2 / (n_t - 1)), which for a small slice is about n_s -
 * 1 and keeps its tail honest. z NaN and p 1 when either ratio is
 * undefined or a side has fewer than 2 frames; when both variances are 0,
 * z is infinite and p 0 if R_t > R_s, else z 0 and p 0.5. *logp (or
 * NULL) gets log p, finite where p underflows to 0.
 */
void dg__ratio_test(const dg__ratio *s, const dg__ratio *t, double *z,
                    double *p, double *logp);
/* P(Z >= z) for a standard normal Z. */
double dg__normal_sf(double z);
/* log I_x(a, b), the regularised incomplete beta function, a, b > 0. */
double dg__inc_beta_log(double a, double b, double x);
/* log P(T >= t) for Student's t with df > 0 degrees of freedom. */
double dg__student_logsf(double t, double df);
/*
 * Benjamini-Hochberg adjusted p-values of p[0 .. n) into q (may be p):
 * q_(i) = min over j >= i of p_(j) n / j in ascending order of p, at most
 * 1; NaN p count as 1.
 */
dg_status dg__bh_adjust(dg_ctx *ctx, const double *p, uint64_t n, double *q);

/* ---- clusters that are one pattern (patterns.c) --------------------------- */

/*
 * Merges the clusters k-means split one failure into: while some cluster
 * a is significantly worse (q <= 0.05 among the clusters left, by the
 * test dg_patterns_* rank with) and so is its nearest cluster b (by
 * centroid), and their union tests higher (z) than either, the pair whose
 * union's z is highest is merged (into the lower index; its centroid the
 * size-weighted mean). crops, cl and frame_cl as for dg_patterns_crops
 * (frame_cl NULL) or dg_patterns_frames (cl the crops' clusters by their
 * frames'); cent holds the k centroids (k x dim) and gets those left, in
 * order. map[c] (k entries) gets cluster c's new index, *k_out their
 * number.
 */
dg_status dg__patterns_merge(dg_ctx *ctx, const dg_crop *crops, uint64_t n,
                             const uint32_t *cl, const uint32_t *frame_cl,
                             uint32_t F, uint32_t k, double *cent,
                             uint32_t dim, uint32_t *map, uint32_t *k_out);

/* ---- explanations of groups (explain.c) ---------------------------------- */

/*
 * What explains groups of the crops of one result at (conf, IoU): per
 * crop its TIDE type, and the per-class and per-type totals over all the
 * crops (the frames of the result's restriction).
 */
typedef struct dg__explainer {
    uint32_t n_classes;
    const dg_crop *crop; /* borrowed */
    uint64_t n_crop;
    int8_t *tide;        /* n_crop: the crop's TIDE type, or -1 */
    uint64_t *err_all, *chn_all; /* n_classes */
    uint64_t tide_all[DG_TIDE_N];
    uint64_t *err, *chn; /* n_classes: scratch */
} dg__explainer;

/*
 * Prepares ex for the crops (dg_results_crops of r at conf, iou_idx):
 * runs the TIDE taxonomy of r's inference set at conf with the IoU as its
 * foreground threshold and every detection kept.
 */
dg_status dg__explainer_init(dg_ctx *ctx, dg_project *p, dg_results *r,
                             double conf, int iou_idx, const dg_crop *crop,
                             uint64_t n_crop, dg__explainer *ex);
/*
 * The classes and TIDE types of the group of crops with in[i] set (or,
 * with in_frame instead, of the crops of the frames flagged there); the
 * representative frames are left UINT32_MAX for the caller.
 */
void dg__explain_group(dg__explainer *ex, const uint8_t *in,
                       const uint8_t *in_frame, dg_pattern_explain *out);
void dg__explainer_release(dg__explainer *ex);

#endif
