/*
 * The data behind `detgrid report`'s page (docs/REPORT.md, "The payload"):
 * the labels of a project and, per inference set, its stored results as
 * per-detection arrays from which any (confidence, IoU) point, confusion
 * matrix and example list can be computed exactly as the queries compute
 * them. The library fills the arrays; encoding them (the page's JSON and
 * blobs) is the caller's.
 *
 *     dg_report_labels l;
 *     dg_report_set s;
 *     if (dg_report_export_labels(ctx, p, &l) == DG_OK) {
 *         ...                                // l.frame_off, l.cls, ...
 *         dg_report_labels_release(&l);
 *     }
 *     if (dg_report_export_set(ctx, p, "model-a", &s) == DG_OK) {
 *         ...                                // s.score, s.status, ...
 *         dg_report_set_release(&s);
 *     }
 *
 * "Sorted order" is the results' order: class ascending, then score
 * descending, then inference-set order (detgrid/metrics.h).
 */
#ifndef DETGRID_REPORT_H
#define DETGRID_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/metrics.h"
#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The labels in frame-sorted order. The arrays marked "borrowed" point
 * into p and stay valid while p is not changed or freed; flags is owned
 * (freed by dg_report_labels_release).
 */
typedef struct dg_report_labels {
    uint64_t n;                  /* labels */
    uint32_t n_frames;
    uint32_t n_classes;
    /* n_frames + 1, borrowed: the labels of frame f are frame_off[f] ..
     * frame_off[f + 1] - 1 */
    const uint64_t *frame_off;
    const uint32_t *cls;         /* n, borrowed: class index */
    uint8_t *flags;              /* n, owned: 1 crowd, 2 ignored (or both) */
    /* n each, borrowed: the box in pixels */
    const double *x, *y, *w, *h;
} dg_report_labels;

/* Loads p's labels (if not yet) and fills *out. */
dg_status dg_report_export_labels(dg_ctx *ctx, dg_project *p,
                                  dg_report_labels *out);
/* Frees what *l owns and zeroes it; accepts a zeroed struct. */
void dg_report_labels_release(dg_report_labels *l);

/*
 * One inference set's stored results, per sorted position j < n_det. The
 * set holds a reference to the results (released by dg_report_set_release);
 * the arrays marked "borrowed" point into them or into p and stay valid
 * until then, as long as p is not changed; those marked "owned" are freed
 * by dg_report_set_release.
 */
typedef struct dg_report_set {
    dg_results *results;         /* the reference held */
    const char *device;          /* dg_results_device */
    uint64_t n_det;
    uint32_t n_classes;
    int n_iou;
    const double *iou;           /* n_iou stored thresholds, borrowed */
    /* n_classes + 1, borrowed: class c is sorted positions class_off[c] ..
     * class_off[c + 1] - 1 */
    const uint64_t *class_off;
    const uint64_t *gt_count;    /* n_classes, borrowed: counted labels */
    const double *score;         /* n_det, borrowed */
    /* n_det, borrowed: the inference-set record at each sorted position */
    const uint32_t *record;
    /* the inference set's boxes by record (index them with record[j]),
     * borrowed */
    const double *x, *y, *w, *h;
    uint32_t *det_frame;         /* n_det, owned: frame of each detection */
    /*
     * Owned: per threshold t two bit planes of plane_bytes = ceil(n_det /
     * 8) bytes each, bit j (LSB first) for sorted position j: plane 2t has
     * the true positives, plane 2t + 1 the ignored detections; the rest are
     * false positives.
     */
    size_t plane_bytes;
    uint8_t *status;             /* 2 * n_iou * plane_bytes */
    /*
     * The class-agnostic match as a code per sorted position: 0 background,
     * 1 ignored, 2 + k the k-th label of the detection's frame. Each code
     * takes code_size bytes (1, 2 or 4: the narrowest that holds the
     * largest, host byte order). agn_row0 holds threshold 0 in full; for
     * t >= 1, agn_n_changes[t] entries of agn_chg_pos / agn_chg_val (in
     * threshold order; n_changes in all) give the positions whose code
     * differs from threshold t - 1, and their new codes; agn_n_changes[0]
     * is 0. has_agnostic is 0, and these NULL, for results without
     * class-agnostic matching (version 1). All owned.
     */
    int has_agnostic;
    unsigned code_size;
    uint8_t *agn_row0;           /* n_det * code_size */
    uint64_t *agn_n_changes;     /* n_iou */
    uint64_t n_changes;
    uint32_t *agn_chg_pos;       /* n_changes */
    uint8_t *agn_chg_val;        /* n_changes * code_size */
} dg_report_set;

/*
 * Loads the results of inference set name (dg_results_load: DG_ENOTFOUND
 * for an unknown set, DG_ESTALE without results or with results older than
 * the boxes), their rows and the set's boxes, and fills *out. DG_ESTALE
 * when the results do not fit the boxes (run eval again); DG_ENOMEM. On
 * failure *out holds nothing to release.
 */
dg_status dg_report_export_set(dg_ctx *ctx, dg_project *p, const char *name,
                               dg_report_set *out);
/* Frees what *s owns, drops its results reference and zeroes it; accepts a
 * zeroed struct. */
void dg_report_set_release(dg_report_set *s);

#ifdef __cplusplus
}
#endif
#endif
