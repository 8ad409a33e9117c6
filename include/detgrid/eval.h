/*
 * eval: the heavy step. For one inference set it computes all-pairs IoU,
 * greedy matching at every IoU threshold of the grid, and the sorted,
 * per-class tables that make every (confidence, IoU) query a lookup. It
 * runs on an OpenCL device or on the plain-C reference path; both give the
 * same bytes.
 *
 * Matching (class-wise, COCO semantics). Per frame and class, ground truths
 * are ordered regular first, then ignored (iscrowd or ignore set), each part
 * in input order. Detections go in descending score, equal scores in input
 * order. At threshold t each detection takes, among ground truths not yet
 * matched (crowd ones never count as matched), the one with the highest IoU
 * >= t; on equal IoU the later one in that order wins, and once a regular
 * ground truth is held no ignored one is considered (pycocotools' rules).
 * Crowd IoU is intersection over detection area. A detection on an ignored
 * ground truth is ignored: neither TP nor FP.
 *
 * eval also stores a class-agnostic matching of the same frames, on the same
 * path, for confusion matrices (see detgrid/confusion.h).
 */
#ifndef DETGRID_EVAL_H
#define DETGRID_EVAL_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DG_MAX_IOU_THRESHOLDS 101

/*
 * Parses "0.05:0.95:0.05" (start:stop:step, inclusive) or a comma list
 * "0.5,0.75" into at most DG_MAX_IOU_THRESHOLDS ascending, distinct values
 * in (0, 1]. Values are the doubles nearest to the decimals written (so 0.6
 * is 0.6, not 0.6000000000000001). Returns the count or a negative status.
 */
int dg_parse_iou_thresholds(dg_ctx *ctx, const char *spec, double *out,
                            int cap);

/* The default grid: 0.05, 0.10, ..., 0.95 (19 values). */
int dg_default_iou_thresholds(double *out, int cap);

/*
 * Evaluates inference set name against the labels at the n_iou thresholds
 * and attaches the results to p (replacing older ones); dg_project_save()
 * stores them. The device is the context's.
 */
dg_status dg_eval(dg_ctx *ctx, dg_project *p, const char *name,
                  const double *iou, int n_iou);

/*
 * The stage profile of the last dg_eval on ctx: wall seconds of each step
 * (load: reading the columns; order: the sort the results keep; match:
 * the matching stage, transfers included), and for an OpenCL device the
 * bytes that crossed to and from it and the device's own times for the
 * uploads, the kernels and the downloads (zero on the reference path).
 */
typedef struct dg_eval_stats {
    double load_s, match_s;
    double accumulate_s; /* the ordering, as order_s (older name) */
    double total_s;
    char device[256]; /* "reference" or "OpenCL: <platform> / <device>" */
    double order_s;
    double upload_s, kernel_s, download_s;
    uint64_t bytes_up, bytes_down;
    uint64_t detections;
    unsigned threads; /* host threads (reference path, sort, store) */
} dg_eval_stats;
void dg_eval_get_stats(const dg_ctx *ctx, dg_eval_stats *out);

#ifdef __cplusplus
}
#endif
#endif
