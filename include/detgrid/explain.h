/*
 * What a failure pattern fails at: for a group of frames or crops (a
 * cluster of `detgrid embeddings`, a slice of `detgrid slices`), the
 * classes whose error rate is most over-represented there, the TIDE error
 * types (detgrid/tide.h) of its errors against their overall shares, and
 * representative frames. Filled by dg_embeddings_evaluate and
 * dg_slices_evaluate.
 */
#ifndef DETGRID_EXPLAIN_H
#define DETGRID_EXPLAIN_H

#include <stdint.h>

#include "detgrid/tide.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DG_EXPLAIN_CLASSES 3
#define DG_EXPLAIN_FRAMES 5

/*
 * One class in a group. Its errors are its false positives (detections
 * of the class that are not true positives, misclassified ones included)
 * and its misses; its chances 2 TP + FP + FN, so that errors / chances is
 * 1 - F1 of the class, and lift the group's rate over the overall one.
 */
typedef struct dg_class_lift {
    uint32_t cls;         /* UINT32_MAX: an unused entry */
    uint64_t errors, chances;         /* in the group */
    uint64_t errors_all, chances_all; /* in every frame considered */
    double lift;          /* (errors / chances) / (errors_all / chances_all) */
    /*
     * Binomial z of errors out of chances against the overall rate: the
     * ranking key, so that one error out of one chance does not outrank
     * forty out of a hundred.
     */
    double z;
} dg_class_lift;

typedef struct dg_pattern_explain {
    /* The classes of highest z among those with z > 0, highest first. */
    dg_class_lift cls[DG_EXPLAIN_CLASSES];
    /*
     * The group's errors by TIDE type (tide.h; at the analysis's
     * confidence, at its IoU as the foreground threshold, background 0.1,
     * every detection kept) and the same over every frame considered: a
     * type's share of the group's errors over its overall share is its
     * lift.
     */
    uint64_t tide[DG_TIDE_N];
    uint64_t tide_all[DG_TIDE_N];
    /*
     * Representative frames, UINT32_MAX when fewer: for a cluster the
     * frames nearest its centroid; for a slice those with the most errors
     * (false positives and misses), the lower index first on a tie.
     */
    uint32_t rep_frame[DG_EXPLAIN_FRAMES];
} dg_pattern_explain;

/*
 * The TIDE types of e ordered by their count in the group, largest first
 * (the lower type on a tie); returns how many have a count > 0.
 */
int dg_explain_tide_order(const dg_pattern_explain *e, dg_tide_type *order);

#ifdef __cplusplus
}
#endif
#endif
