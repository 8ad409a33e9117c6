/*
 * Importers turn users' files into a project and validate everything they
 * read. An error names the file, the record (0-based index in its array)
 * and the field, e.g.
 *
 *     'dt.json': [12]: field 'bbox': width is negative (-3)
 *
 * and leaves the project unchanged. What is an error and what a warning is
 * listed in docs/IMPORT.md; warnings go to dg_ctx_take_warnings().
 */
#ifndef DETGRID_IMPORT_H
#define DETGRID_IMPORT_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Options of the COCO importers. By default they accept what pycocotools
 * accepts, each kind of departure from the format's intent reported once
 * as a warning (docs/IMPORT.md): string image ids, detections of
 * categories the ground truth lacks (skipped), scores outside [0, 1],
 * repeated or missing category names.
 */
typedef struct dg_coco_import_opts {
    /* Refuse those inputs instead, with the record named (pipelines that
     * want a file to be exactly right). */
    int strict;
    /*
     * Ground truth only: leave the annotations' segmentation (polygons,
     * RLE) unread; boxes, areas and keypoints are read as usual. For box
     * and keypoint evaluations, which never look at masks: rasterizing the
     * polygons is most of the time a COCO instances file takes to import.
     * The project then has no masks. Results files are read whole either
     * way (their masks may give their areas).
     */
    int skip_masks;
} dg_coco_import_opts;

/* The defaults: strict off, masks read. */
void dg_coco_import_opts_init(dg_coco_import_opts *o);

/*
 * Fills an empty project from a COCO instances file: categories become
 * classes (kept in the file's order, with their ids), images become frames
 * (sorted by image id, as pycocotools orders them; a string id becomes
 * the frame id), annotations become labels. DG_EINVAL if p already has
 * classes or frames. opts NULL means the defaults.
 */
dg_status dg_import_coco_gt(dg_ctx *ctx, dg_project *p, const char *path,
                            const dg_coco_import_opts *opts);

/*
 * Adds a COCO results file ([{image_id, category_id, bbox, score}, ...]) to
 * p as the inference set name. DG_EEXIST if the name is taken, unless
 * replace is non-zero. A numeric image_id is looked up among the frames'
 * numeric ids, a string one among the ids of frames without one. opts
 * NULL means the defaults.
 */
dg_status dg_import_coco_dt(dg_ctx *ctx, dg_project *p, const char *path,
                            const char *name, int replace,
                            const dg_coco_import_opts *opts);

/*
 * Adds frame metadata columns from a CSV file with a header row: the first
 * column is `frame` (frame ids) or `image_id` (COCO image ids), each other
 * column becomes (or replaces) a metadata column of that name, numeric
 * where every non-empty value is a number, else text; frames without a row
 * get NaN or "". Quoted fields ("a, b", doubled quotes) are read as CSV.
 * Errors name the file, line and field (a bad quote, a row with another
 * number of fields, a frame twice); rows naming no frame are skipped with
 * one warning.
 */
dg_status dg_import_meta_csv(dg_ctx *ctx, dg_project *p, const char *path);

/*
 * Boxes given as arrays, for programs that hold them in memory (the
 * Python package's array-in evaluation, pycocotools' COCO objects): the
 * same records a COCO file holds, column by column, with the same
 * validation and the same messages, the source name standing where a
 * file's path would (`'preds': [12]: field 'bbox': width is negative
 * (-3)`). Nothing is copied from the caller before it is validated, and a
 * failure leaves the project unchanged.
 */
typedef struct dg_array_boxes {
    uint64_t n;
    const int64_t *image_id;    /* n COCO image ids */
    const int64_t *category_id; /* n COCO category ids */
    const double *bbox;         /* n x 4: x, y, width, height in pixels */
    const double *score;        /* detections: n, finite */
    const double *area;         /* labels: n, or NULL for width * height */
    const uint8_t *iscrowd;     /* labels: n of 0 or 1, or NULL (0) */
    const uint8_t *ignore;      /* labels: n of 0 or 1, or NULL (0) */
} dg_array_boxes;

/* COCO images: n ids (integers >= 0, distinct); width and height NULL or
 * n finite values >= 0 (NaN: unknown). */
typedef struct dg_array_images {
    uint32_t n;
    const int64_t *id;
    const double *width, *height;
} dg_array_images;

/* COCO categories: n distinct ids and, or NULL for the id in decimal, n
 * distinct non-empty UTF-8 names. */
typedef struct dg_array_categories {
    uint32_t n;
    const int64_t *id;
    const char *const *name;
} dg_array_categories;

/*
 * Fills an empty project as dg_import_coco_gt() does from a file: the
 * categories become classes in the order given, the images frames in
 * ascending id order, the labels labels (input order kept within an
 * image). source names the boxes in messages ("targets", "gt"). The
 * errors of docs/IMPORT.md (ids, boxes, areas, flags) name source, the
 * record and the field; DG_EINVAL if p already has classes or frames.
 */
dg_status dg_import_arrays_gt(dg_ctx *ctx, dg_project *p, const char *source,
                              const dg_array_images *images,
                              const dg_array_categories *cats,
                              const dg_array_boxes *labels);

/*
 * Adds detections to p as inference set name, as dg_import_coco_dt()
 * does: every image id must be one of p's frames (by its COCO image id)
 * and every score finite; a detection of a category p lacks is skipped
 * and a score outside [0, 1] kept, each kind with one warning, as from a
 * file. DG_EEXIST if the name is taken, unless replace is non-zero.
 */
dg_status dg_import_arrays_dt(dg_ctx *ctx, dg_project *p, const char *source,
                              const dg_array_boxes *dets, const char *name,
                              int replace);

#ifdef __cplusplus
}
#endif
#endif
