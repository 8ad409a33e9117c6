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
 * Fills an empty project from a COCO instances file: categories become
 * classes (kept in the file's order, with their ids), images become frames
 * (sorted by image id, as pycocotools orders them), annotations become
 * labels. DG_EINVAL if p already has classes or frames.
 */
dg_status dg_import_coco_gt(dg_ctx *ctx, dg_project *p, const char *path);

/*
 * Adds a COCO results file ([{image_id, category_id, bbox, score}, ...]) to
 * p as the inference set name. DG_EEXIST if the name is taken, unless
 * replace is non-zero.
 */
dg_status dg_import_coco_dt(dg_ctx *ctx, dg_project *p, const char *path,
                            const char *name, int replace);

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

#ifdef __cplusplus
}
#endif
#endif
