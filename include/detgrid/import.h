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
} dg_coco_import_opts;

/* The defaults: strict off. */
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

#ifdef __cplusplus
}
#endif
#endif
