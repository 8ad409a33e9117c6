/*
 * Segments: named sets of frames of a project, each of a kind (a split, a
 * regression test or a scenario), with optional targets, optional
 * thresholds of its own and free key = value metadata. Segment 0 is always
 * DG_SEGMENT_ALL, every frame; it cannot be changed, renamed or deleted.
 *
 *     int64_t s = dg_project_segment_index(p, "night");
 *     dg_results_restrict_segment(ctx, r, p, "night");
 *     dg_results_counts(ctx, r, 0.4, 0, per_class);   // night frames only
 *     dg_results_restrict_frames(ctx, r, p, NULL, 0);  // every frame again
 *
 * Segments live in the project file (group /segments, docs/FORMAT.md) and
 * are written by dg_project_save like everything else.
 */
#ifndef DETGRID_SEGMENTS_H
#define DETGRID_SEGMENTS_H

#include <stdint.h>

#include "detgrid/project.h"
#include "detgrid/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dg_segment_kind {
    DG_SEGMENT_SPLIT = 0,
    DG_SEGMENT_REGRESSION = 1,
    DG_SEGMENT_SCENARIO = 2
} dg_segment_kind;

/* The implicit segment of every frame, always index 0. */
#define DG_SEGMENT_ALL "all"

/* Number of segments, including "all". */
uint32_t dg_project_n_segments(const dg_project *p);

/* Segment i's name (owned by p), or NULL when i is out of range. */
const char *dg_project_segment_name(const dg_project *p, uint32_t i);

/* Index of the segment named name, or -1 if none. */
int64_t dg_project_segment_index(const dg_project *p, const char *name);

/* Segment i's kind ("all" is a DG_SEGMENT_SPLIT). */
dg_segment_kind dg_project_segment_kind(const dg_project *p, uint32_t i);

/*
 * Segment i's frames: ascending unique frame indices, owned by p and valid
 * until the segment or the project's frames change. Loads them from the
 * file on first use. DG_ENOTFOUND when i is out of range.
 */
dg_status dg_project_segment_frames(dg_ctx *ctx, dg_project *p, uint32_t i,
                                    const uint32_t **frames, uint32_t *n);

/*
 * Adds a segment. frames may be in any order; duplicates are removed.
 * DG_EEXIST if the name exists, DG_EINVAL for an empty name, an unknown
 * kind or a frame index >= n_frames.
 */
dg_status dg_project_add_segment(dg_ctx *ctx, dg_project *p, const char *name,
                                 dg_segment_kind kind, const uint32_t *frames,
                                 uint32_t n);

/*
 * Targets and thresholds of a segment. NaN = not set; conf/iou NaN = the
 * project's defaults.
 */
typedef struct dg_segment_targets {
    double precision, recall, f1, ap;
    double conf, iou;
} dg_segment_targets;

/* Segment i's targets (all NaN for "all" or an index out of range). */
void dg_project_segment_targets(const dg_project *p, uint32_t i,
                                dg_segment_targets *out);

/*
 * Replaces segment i's targets. Targets must be NaN or in [0, 1], conf NaN
 * or in [0, 1], iou NaN or in (0, 1]; DG_EINVAL otherwise or for "all".
 */
dg_status dg_project_set_segment_targets(dg_ctx *ctx, dg_project *p,
                                         uint32_t i,
                                         const dg_segment_targets *t);

/*
 * Adds frames to segment i (remove = 0) or removes them (remove = 1);
 * frames in any order, duplicates and (when removing) absent ones are
 * ignored. DG_EINVAL for "all" or a frame index >= n_frames.
 */
dg_status dg_project_segment_edit_frames(dg_ctx *ctx, dg_project *p,
                                         uint32_t i, const uint32_t *frames,
                                         uint32_t n, int remove);

/* Renames segment i. DG_EEXIST if new_name is taken, DG_EINVAL for "all". */
dg_status dg_project_rename_segment(dg_ctx *ctx, dg_project *p, uint32_t i,
                                    const char *new_name);

/* Deletes segment i; later segments move down by one. DG_EINVAL for "all". */
dg_status dg_project_delete_segment(dg_ctx *ctx, dg_project *p, uint32_t i);

/* Changes segment i's kind. DG_EINVAL for "all" or an unknown kind. */
dg_status dg_project_set_segment_kind(dg_ctx *ctx, dg_project *p, uint32_t i,
                                      dg_segment_kind kind);

/* Number of metadata entries of segment i, and entry j's key and value. */
uint32_t dg_project_segment_n_meta(const dg_project *p, uint32_t i);
const char *dg_project_segment_meta_key(const dg_project *p, uint32_t i,
                                        uint32_t j);
const char *dg_project_segment_meta_value(const dg_project *p, uint32_t i,
                                          uint32_t j);

/*
 * Sets metadata key of segment i to value, or removes it when value is
 * NULL. DG_EINVAL for "all" or an empty key.
 */
dg_status dg_project_set_segment_meta(dg_ctx *ctx, dg_project *p, uint32_t i,
                                      const char *key, const char *value);

/* "split", "regression" or "scenario"; "?" for anything else. */
const char *dg_segment_kind_name(dg_segment_kind kind);
/* The kind named s ("split", "regression", "regression-test", "scenario"),
 * or -1. */
int dg_segment_kind_parse(const char *s);

/* Frame i's numeric image id (the COCO image id), or -1 when none. */
int64_t dg_project_frame_num(const dg_project *p, uint32_t i);

/*
 * The frames whose metadata (/frames/meta columns) satisfy expr, as a
 * malloc'd ascending list in *frames (free() it) of *n entries. expr is
 * one comparison "col OP value" with OP one of = != < <= > >=, or a range
 * "lo <= col < hi" (either bound < or <=). String columns take = and !=
 * only; numeric columns compare as doubles and a missing (NaN) value
 * matches nothing. DG_EINVAL naming the column or the expression when it
 * does not parse, DG_ENOTFOUND for an unknown column.
 */
dg_status dg_project_frames_where(dg_ctx *ctx, const dg_project *p,
                                  const char *expr, uint32_t **frames,
                                  uint32_t *n);

/*
 * Counts pooled over classes (micro) of r on every segment of p at (conf,
 * iou index): per_segment has dg_project_n_segments(p) entries, equal to
 * the sums over classes of dg_results_counts under each segment's
 * restriction. r's own restriction is ignored and left as it is. One pass
 * over the detections; reads the results' order and the label columns, no
 * box.
 */
dg_status dg_results_segment_counts(dg_ctx *ctx, dg_results *r, dg_project *p,
                                    double conf, int iou_idx,
                                    dg_counts *per_segment);

/*
 * Average precision per class at iou index, within r's restriction: every
 * detection counts (no confidence cut), detections of equal score form one
 * point (as in dg_results_sweep), and AP is the area under the precision
 * envelope, sum over points of (recall_i - recall_{i-1}) * max_{j>=i}
 * precision_j, with recall_{-1} = 0 (all-point interpolation, as Pascal
 * VOC 2010 onwards). per_class (n_classes entries, or NULL) gets NaN for a
 * class without ground truth; *mean (or NULL) the mean over classes with
 * ground truth, NaN when there are none.
 */
dg_status dg_results_ap(dg_ctx *ctx, dg_results *r, int iou_idx,
                        double *per_class, double *mean);

/*
 * Restricts every later query on r (dg_results_counts, dg_results_sweep,
 * confusion, examples, frame counts, bootstrap) to the given frames (any
 * order, duplicates ignored); frames == NULL lifts it. r must have been
 * loaded from p. Reads the results' order and the frame offsets, no boxes.
 */
dg_status dg_results_restrict_frames(dg_ctx *ctx, dg_results *r,
                                     dg_project *p, const uint32_t *frames,
                                     uint32_t n);

/*
 * Restricts r to the frames of the named segment; NULL or "all" lifts any
 * restriction. DG_ENOTFOUND, "no segment '<name>'", when p has none.
 */
dg_status dg_results_restrict_segment(dg_ctx *ctx, dg_results *r,
                                      dg_project *p, const char *segment);

#ifdef __cplusplus
}
#endif
#endif
