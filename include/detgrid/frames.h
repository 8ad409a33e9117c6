/*
 * Per-frame counts from stored results: how many true positives, false
 * positives and misses each frame holds at one (confidence, IoU). They are
 * what `detgrid frames`, the bootstrap and the embeddings' colouring read.
 * Nothing is matched again.
 */
#ifndef DETGRID_FRAMES_H
#define DETGRID_FRAMES_H

#include <stdint.h>

#include "detgrid/metrics.h"
#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Counts of one frame. n_gt: non-ignored ground truths (crowd and ignored
 * labels are never counted); n_det: detections with score >= conf that are
 * not ignored (n_det = tp + fp); fn = n_gt - tp.
 */
typedef struct dg_frame_counts {
    uint32_t tp, fp, fn, n_gt, n_det;
} dg_frame_counts;

/*
 * Per frame (per_frame has n_frames entries) at (conf, iou index): all
 * classes when cls < 0, else class cls. Frames outside r's restriction get
 * zeros. r must be the results of one of p's inference sets. DG_EINVAL for
 * a bad iou index or class.
 */
dg_status dg_results_frame_counts(dg_ctx *ctx, dg_results *r, dg_project *p,
                                  double conf, int iou_idx, int64_t cls,
                                  dg_frame_counts *per_frame);

/*
 * Object-level churn between inference sets A (ra at conf_a, iou index
 * iou_a) and B (rb at conf_b, iou_b) of the same project: a ground truth is
 * found by a set when one of its detections with score >= conf is a true
 * positive matched to it. "A only" ground truths are found by A and missed
 * by B; "B only" the reverse. Only the frames of ra's restriction count
 * (all frames when none). Crowd and ignored labels never count.
 */
typedef struct dg_churn_item {
    uint64_t label;   /* label record index */
    uint32_t frame;   /* frame index */
    uint32_t cls;     /* class index */
    double box[4];    /* the ground truth's x, y, w, h */
    uint64_t det;     /* record index of the detection that found it */
    double score;     /* its score */
    double iou;       /* IoU of that detection with the ground truth */
} dg_churn_item;

/*
 * Counts A-only and B-only ground truths per class (per_class: 2 *
 * n_classes entries, a_only[c] at 2c, b_only[c] at 2c + 1; or NULL) and in
 * all (*n_a_only, *n_b_only; either may be NULL). With which = 0 (A only)
 * or 1 (B only) and items non-NULL, also lists those ground truths
 * (malloc'd, *n_items entries; free() it), by descending score of the
 * detection that found them, then label index; which = -1 lists nothing.
 */
dg_status dg_results_churn(dg_ctx *ctx, dg_results *ra, dg_results *rb,
                           dg_project *p, double conf_a, int iou_a,
                           double conf_b, int iou_b, int which,
                           uint64_t *per_class, uint64_t *n_a_only,
                           uint64_t *n_b_only, dg_churn_item **items,
                           uint64_t *n_items);

#ifdef __cplusplus
}
#endif
#endif
