/*
 * Percentile bootstrap intervals of precision, recall and F1 over frames.
 *
 * Resample b draws n frames with replacement from the n frames of the
 * results' restriction (all frames when none); draw j of resample b takes
 * frame index splitmix64(seed, b, j) mod n (see host/ref/bootstrap_ref.c),
 * so the OpenCL device and the plain-C reference draw the same frames and,
 * summing integer counts, give identical results. Each resample pools the
 * counts of its frames per class (and over all classes: micro), turns them
 * into precision, recall and F1, and the interval at level L is the
 * (1 - L) / 2 and (1 + L) / 2 percentiles of the resamples where the figure
 * is defined (linear interpolation between order statistics, numpy's
 * default). A figure undefined in every resample gets NaN bounds.
 */
#ifndef DETGRID_BOOTSTRAP_H
#define DETGRID_BOOTSTRAP_H

#include <stdint.h>

#include "detgrid/frames.h"
#include "detgrid/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_bootstrap_opts {
    uint32_t resamples; /* 0 also means 1000 */
    uint64_t seed;
    double level;       /* in (0, 1); 0 also means 0.95 */
} dg_bootstrap_opts;

/* The defaults: 1000 resamples, seed 0, level 0.95. */
void dg_bootstrap_opts_init(dg_bootstrap_opts *o);

/* The figure on all frames of the restriction, and its interval. */
typedef struct dg_prf_ci {
    dg_prf point, lo, hi;
} dg_prf_ci;

/*
 * Percentile bootstrap over the frames of r's restriction (all frames when
 * none), resampling frames with replacement, of precision, recall and F1 per
 * class (per_class: n_classes entries, or NULL) and micro-averaged over
 * classes (overall, or NULL), at (conf, iou index). On ctx's OpenCL device
 * or the reference path, identical results either way. o NULL means the
 * defaults.
 */
dg_status dg_results_bootstrap(dg_ctx *ctx, dg_results *r, dg_project *p,
                               double conf, int iou_idx,
                               const dg_bootstrap_opts *o,
                               dg_prf_ci *per_class, dg_prf_ci *overall);

/* Both sets' figures and their difference B - A, each with its interval. */
typedef struct dg_prf_paired_ci {
    dg_prf_ci a, b, diff;
} dg_prf_paired_ci;

/*
 * Paired bootstrap of inference sets A (ra, at conf_a / iou_a) and B (rb, at
 * conf_b / iou_b) of the same project: every resample draws the same frames
 * for both, so the interval of B - A reflects only how the two differ on
 * the same frames. The frames are those of ra's restriction, which rb's
 * must equal (DG_EINVAL otherwise); ra and rb may be the same results. A
 * difference counts in a resample where both figures are defined.
 * per_class (n_classes entries) and overall (micro) may be NULL.
 */
dg_status dg_results_bootstrap_paired(dg_ctx *ctx, dg_results *ra,
                                      dg_results *rb, dg_project *p,
                                      double conf_a, int iou_a, double conf_b,
                                      int iou_b, const dg_bootstrap_opts *o,
                                      dg_prf_paired_ci *per_class,
                                      dg_prf_paired_ci *overall);

#ifdef __cplusplus
}
#endif
#endif
