/*
 * Confusion matrices and the examples behind each cell, answered from the
 * class-agnostic matching that eval stores beside the class-wise one
 * (results version 2). Like every query, nothing is matched again: the
 * matches among detections with score >= conf are a prefix of the stored
 * matching, so a matrix is one pass over those detections.
 *
 * Class-agnostic matching (the confusion matrix's methodology). Per frame,
 * detections of every class go in descending score (equal scores in input
 * order); at IoU threshold t each takes, among the frame's ground truths
 * that are neither crowd nor ignored, of any class, and not yet taken, the
 * one with the highest IoU >= t (t capped at 1 - 1e-10, as in class-wise
 * matching); on equal IoU one of the detection's own class wins, then the
 * lower index in the frame's input order. Then:
 *
 *   - a detection that took a ground truth counts in cell
 *     (ground-truth class, predicted class);
 *   - a detection that took nothing but has IoU >= t with a crowd or
 *     ignored ground truth of the frame, of any class (crowd IoU is
 *     intersection over detection area), is ignored: it appears in no cell,
 *     as such detections are neither TP nor FP in metrics;
 *   - any other detection counts in (background, predicted class);
 *   - a regular ground truth no detection took counts in
 *     (ground-truth class, background).
 *
 * So row g sums to the class's regular ground truths, and column p to the
 * class's detections with score >= conf that are not ignored. The diagonal
 * is close to, but not always equal to, metrics' class-wise TP: another
 * class's detection may take a ground truth first.
 *
 *     uint64_t *m = calloc((K + 1) * (K + 1), 8);
 *     dg_confusion_matrix(ctx, r, 0.5, dg_results_find_iou(ctx, r, 0.5), m,
 *                         NULL);
 *     // m[g * (K + 1) + p]; index K is the background
 */
#ifndef DETGRID_CONFUSION_H
#define DETGRID_CONFUSION_H

#include <stdint.h>

#include "detgrid/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The background's class index in queries (matrices use index K). */
#define DG_BACKGROUND (-1)

/*
 * 1 when r holds class-agnostic matches (results version 2), 0 when it was
 * evaluated by an older detgrid: confusion queries then fail with
 * DG_ESTALE and a message to run eval again; metrics still work.
 */
int dg_results_has_confusion(const dg_results *r);

/*
 * Fills counts[(K + 1) * (K + 1)], K = dg_results_n_classes(r), row-major:
 * counts[g * (K + 1) + p] is the number of (ground truth of class g,
 * detection of class p) pairs at score >= conf and IoU index iou_idx; index
 * K is the background, and counts[K * (K + 1) + K] is 0. *n_ignored (when
 * not NULL) gets the detections with score >= conf that are ignored.
 * DG_EINVAL for a NaN conf or a bad index, DG_ESTALE for version-1
 * results, DG_EFORMAT for inconsistent stored results.
 */
dg_status dg_confusion_matrix(dg_ctx *ctx, dg_results *r, double conf,
                              int iou_idx, uint64_t *counts,
                              uint64_t *n_ignored);

/* What examples are sorted by. */
typedef enum {
    DG_SORT_CONFIDENCE = 0, /* the detection's score */
    DG_SORT_IOU = 1,        /* dg_example.iou */
    DG_SORT_AREA = 2        /* dg_example.area */
} dg_example_sort;

/* Which examples: one cell at (conf, iou_idx), sorted and paged. */
typedef struct dg_examples_query {
    double conf;
    int iou_idx;
    int32_t gt_class;   /* class index or DG_BACKGROUND */
    int32_t pred_class; /* class index or DG_BACKGROUND (not both) */
    dg_example_sort sort;
    int ascending;      /* 0: descending */
    uint64_t offset;    /* examples to skip after sorting */
    uint64_t limit;     /* at most this many; 0: no limit */
} dg_examples_query;

/*
 * One example. Ground-truth fields are -1 / NaN in the background row
 * (a detection that matched nothing), detection fields in the background
 * column (a ground truth nothing matched).
 */
typedef struct dg_example {
    uint32_t frame;         /* frame index */
    const char *frame_id;   /* owned by the project */
    int32_t gt_class;       /* or DG_BACKGROUND */
    int64_t gt_index;       /* label record (frame-sorted order) or -1 */
    double gt_box[4];       /* x, y, w, h */
    int32_t pred_class;     /* or DG_BACKGROUND */
    int64_t det_index;      /* inference-set record (frame-sorted) or -1 */
    double det_box[4];
    double score;           /* NaN without a detection */
    /*
     * IoU of the pair; for a lone detection its highest IoU with any
     * regular ground truth of the frame, for a lone ground truth its
     * highest IoU with any counted detection (score >= conf) of the frame;
     * 0 when there is nothing to overlap.
     */
    double iou;
    /* Area (w * h) of the ground-truth box, or of the detection's box
     * when there is no ground truth. */
    double area;
    /*
     * Why a lone box matched nothing: the box that iou is measured
     * against -- for a lone ground truth the counted detection of any
     * class with that highest IoU (its record, class and score), for a
     * lone detection the regular ground truth (record and class; score
     * NaN). -1 / DG_BACKGROUND / NaN for a pair, and when nothing
     * overlaps.
     */
    int64_t near_index;
    int32_t near_class;
    double near_score;
} dg_example;

typedef struct dg_examples dg_examples;

/*
 * The examples of one cell of r's confusion matrix; r must come from
 * dg_results_load() on p. Sorting puts examples without a value (a NaN
 * score or IoU) last in either direction and breaks ties by frame, then
 * detection record, then label record. Loads p's labels and the inference
 * set's boxes. p must outlive the iterator. DG_EINVAL for a bad query
 * (both sides background, a class out of range, a NaN conf), DG_ESTALE for
 * version-1 results.
 */
dg_status dg_examples_new(dg_ctx *ctx, dg_results *r, dg_project *p,
                          const dg_examples_query *q, dg_examples **out);

/* The cell's count: examples before offset and limit. */
uint64_t dg_examples_total(const dg_examples *e);

/* Fills *out with the next example and returns 1, or returns 0 at the end. */
int dg_examples_next(dg_examples *e, dg_example *out);

/* Frees the iterator. Accepts NULL. */
void dg_examples_free(dg_examples *e);

#ifdef __cplusplus
}
#endif
#endif
