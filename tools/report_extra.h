/*
 * Pieces of `detgrid report` shared between tools/cmd-report.c (the core
 * payload) and tools/report_extra.c (the optional parts: segments and
 * embeddings, exported only when the project holds them).
 */
#ifndef DG_REPORT_EXTRA_H
#define DG_REPORT_EXTRA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "detgrid/detgrid.h"

/* The page's binary arrays, each base64 in its own script element. */
typedef struct report_blobs {
    char **s;      /* base64 text of each blob */
    size_t n;
    size_t bytes;  /* total base64 characters */
    int oom;       /* set once an allocation failed */
} report_blobs;

/*
 * Adds data (n elements of type "f64", "f32", "u32", "i32", "u16" or "u8",
 * little-endian) as a blob and returns its JSON reference
 * {"blob": index, "type": type, "n": n}; a JSON null with B->oom set when
 * memory runs out. Where zlib is available and it pays, the bytes are
 * byte-shuffled (element size > 1) and deflated first; the reference then
 * also has "z": 1 and "shuffle": 0 or 1 (docs/REPORT.md).
 */
cJSON *report_blob_add(report_blobs *B, const void *data, size_t n,
                       const char *type);
/* v[0..n) as the narrowest of u8, u16, u32 holding max. */
cJSON *report_blob_uint(report_blobs *B, const uint64_t *v, size_t n,
                        uint64_t max);
void report_blobs_release(report_blobs *B);
/* Base64 (RFC 4648, padded) of n bytes; malloc'd, NULL when memory runs
 * out. */
char *report_b64(const uint8_t *d, size_t n);

/* The thumbnails, each base64 JPEG text in its own script element
 * (dg-t<i>), read by the page only when shown. */
typedef struct report_thumbs {
    char **s;
    uint32_t n;
} report_thumbs;
void report_thumbs_release(report_thumbs *T);

/* Set name's COCO numbers (12, or 10 for keypoints) and per-class AP,
 * AP50, AP75 (by class index), as `detgrid coco --iou-type` of the
 * project's IoU type (--iou-type); null with a warning when they fail. */
cJSON *report_coco_json(dg_ctx *ctx, dg_project *p, const char *name);
/* The paired bootstrap of B - A at the project's default thresholds with
 * `detgrid compare`'s defaults (1000 resamples, seed 1, level 0.95):
 * overall and per class, the differences, intervals and verdicts. */
cJSON *report_compare_json(dg_ctx *ctx, dg_project *p, const char *a,
                           const char *b);
/*
 * Thumbnails (at most max, fitting size x 3/4 size) of the frames the page
 * is most likely to show: those of the label-error lists in sets[], then
 * the worst frames (ascending F1 at the defaults) of each set in turn.
 * Frames without a readable picture get one warning and none. Adds
 * "images" to j (null without dir or max 0).
 */
int report_thumbnails(dg_ctx *ctx, dg_project *p, const char *dir,
                      const char *const *names, int nn, cJSON *sets,
                      uint32_t max, uint32_t size, report_blobs *B,
                      report_thumbs *T, cJSON *j);
/*
 * Scores in sorted order (descending within each class: class c is
 * class_off[c] .. class_off[c + 1] - 1). When every score is a decimal with
 * at most 6 places ("enc": "dec", "dscale": 10^s) or a float32 value that
 * is not negative ("enc": "f32": the float's bits, which order as the
 * values do), they go as u32 integers, each class's first in full and the
 * rest as the (non-negative) decrease from the one before ("delta": 1),
 * which deflates to a fraction of the doubles; else as f64.
 */
cJSON *report_blob_scores(report_blobs *B, const double *score, size_t n,
                          const uint64_t *class_off, uint32_t n_classes);
/*
 * Boxes x, y, w, h of records idx[0..n) (all n records when idx is NULL),
 * interleaved. When every coordinate is a decimal with at most 4 places
 * (k / 10^s exactly, as COCO files hold them) they go as int32 with
 * "scale": 10^s, which the page turns back into the same doubles; else as
 * float32 (display only).
 */
cJSON *report_blob_boxes(report_blobs *B, const double *x, const double *y,
                         const double *w, const double *h,
                         const uint32_t *idx, size_t n);

/*
 * Adds the project-wide optional parts to the payload j ("segments",
 * "embeddings" with its clusters ranked for inference set `set`; absent
 * parts are JSON null). EXIT_OK or an exit code with the message printed.
 */
int report_extra_project(dg_ctx *ctx, dg_project *p, const char *set,
                         report_blobs *B, cJSON *j);
/*
 * Adds "slices" to j: per set of names[0..nn), the failing metadata slices
 * at the project's default thresholds as `detgrid slices` finds them
 * (report_slices.c), or a "reason" why there are none (no metadata
 * columns, or the search failed). EXIT_OK unless memory ran out.
 */
int report_slices(dg_ctx *ctx, dg_project *p, const char *const *names,
                  int nn, report_blobs *B, cJSON *j);
/* The index of the stored IoU threshold of r nearest to iou. */
int report_nearest_iou(dg_results *r, double iou);

#endif
