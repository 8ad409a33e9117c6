/*
 * Queries over stored results. None of them matches boxes again: a
 * confidence threshold is a binary search in a class's sorted scores and
 * the counts at that position are a prefix count of its match table.
 *
 * A detection counts when score >= conf; a match needs IoU >= iou, where
 * iou must be one of the thresholds eval stored. FN is the class's
 * non-ignored ground truths minus its TP.
 */
#ifndef DETGRID_METRICS_H
#define DETGRID_METRICS_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_results dg_results;

/*
 * Loads the stored results of inference set name. DG_ESTALE when eval has
 * not been run for it (or the inference set changed since).
 */
dg_status dg_results_load(dg_ctx *ctx, dg_project *p, const char *name,
                          dg_results **out);

/* Drops this handle's reference to the results. Accepts NULL. */
void dg_results_free(dg_results *r);

int dg_results_n_iou(const dg_results *r);
double dg_results_iou(const dg_results *r, int i);

/*
 * Index of the stored threshold equal to iou (within 1e-9), or a negative
 * status with a message listing the stored ones.
 */
int dg_results_find_iou(dg_ctx *ctx, const dg_results *r, double iou);

typedef struct dg_counts {
    uint64_t tp, fp, fn;
    uint64_t n_gt;  /* non-ignored ground truths */
    uint64_t n_det; /* detections with score >= conf that are not ignored */
} dg_counts;

/* precision, recall and F1 of c; NaN where undefined: precision without
 * detections, recall without ground truth, F1 = 2TP / (2TP + FP + FN)
 * without either. */
typedef struct dg_prf {
    double precision, recall, f1;
} dg_prf;
dg_prf dg_counts_prf(const dg_counts *c);

/*
 * Fills per_class[n_classes] with the counts at (conf, iou index).
 */
dg_status dg_results_counts(dg_ctx *ctx, dg_results *r, double conf,
                            int iou_idx, dg_counts *per_class);

/* One point of a class's sweep: counts when conf = score. */
typedef struct dg_sweep_point {
    double conf;
    uint64_t tp, fp, fn;
} dg_sweep_point;

/*
 * The sweep of class cls at iou index: one point per distinct score, in
 * descending score order (so ascending detection count). *out is malloc'd;
 * free() it. *n may be 0.
 */
dg_status dg_results_sweep(dg_ctx *ctx, dg_results *r, uint32_t cls,
                           int iou_idx, dg_sweep_point **out, uint64_t *n);

/*
 * The least and greatest score of the detections the results cover (NaN
 * for both when there are none). Scores need not lie in [0, 1].
 */
void dg_results_score_range(const dg_results *r, double *lo, double *hi);

/*
 * DG_OK when conf can select something sensible: within [0, 1], or within
 * the scores' range where they reach beyond it. DG_ERANGE otherwise, with
 * a message that gives the range (a percentage given for a fraction, or a
 * threshold on the wrong scale).
 */
dg_status dg_results_check_conf(dg_ctx *ctx, const dg_results *r,
                                double conf);

/*
 * The micro-averaged sweep at iou index: every class pooled, one point per
 * distinct score in descending order, each with the counts summed over
 * the classes at conf = that score; *n_gt is the ground truths of every
 * class. Its best-F1 point is the one confidence that serves all classes
 * best. *out is malloc'd; free() it. *n may be 0.
 */
dg_status dg_results_sweep_micro(dg_ctx *ctx, dg_results *r, int iou_idx,
                                 dg_sweep_point **out, uint64_t *n,
                                 uint64_t *n_gt);

/* Number of classes and detections the results cover. */
uint32_t dg_results_n_classes(const dg_results *r);
uint64_t dg_results_n_det(const dg_results *r);
/* What computed them: "reference" or "OpenCL: <platform> / <device>". */
const char *dg_results_device(const dg_results *r);

#ifdef __cplusplus
}
#endif
#endif
