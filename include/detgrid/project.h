/*
 * A project: classes, frames, ground-truth labels, named inference sets and
 * the results eval computed for them, kept in one HDF5 file (the layout is
 * documented in docs/FORMAT.md).
 *
 * dg_project_open() reads the small parts (classes, frames, names) at once
 * and boxes on first use. Changes live in memory until dg_project_save(),
 * which writes a temporary file beside the target, copies the parts that
 * did not change straight from the source file, fsyncs and renames it into
 * place: a crash leaves either the old or the new file, never a mix.
 */
#ifndef DETGRID_PROJECT_H
#define DETGRID_PROJECT_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/context.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DG_FORMAT_VERSION 1
#define DG_DEFAULT_CONF 0.1
#define DG_DEFAULT_IOU 0.5

typedef struct dg_project dg_project;

typedef struct dg_project_info {
    int format_version;
    uint32_t n_classes;
    uint32_t n_frames;
    uint64_t n_labels;
    uint32_t n_inferences;
    double default_conf;
    double default_iou;
} dg_project_info;

/* An empty project with no classes, frames or labels. */
dg_status dg_project_create(dg_ctx *ctx, dg_project **out);

/*
 * Opens path. Fails with DG_EIO (cannot open, not HDF5), DG_EFORMAT (not a
 * detgrid project, or a dataset of the wrong type or length) or DG_EVERSION
 * (written by a newer detgrid). The file stays open read-only until free.
 */
dg_status dg_project_open(dg_ctx *ctx, const char *path, dg_project **out);

/*
 * Writes the project to path atomically, as include/detgrid/files.h
 * describes: under path's writer lock (the process's own when it holds it,
 * else taken for the save, waiting up to $DETGRID_LOCK_TIMEOUT seconds:
 * DG_EBUSY), into an exclusive temporary file beside the real file (symbolic
 * links followed), every write checked, fsynced and renamed over it (a file
 * with several hard links is rewritten in place once the new file is safe).
 * The file keeps its mode and owner, and what detgrid does not own in it
 * (the user's groups and attributes) is copied; what cannot be is named in
 * a warning. path may be the file the project was opened from: if that
 * file was replaced since (another writer saved), nothing is written and
 * DG_ECONFLICT says so; take the lock before opening (dg_lock_take) to wait
 * for other writers instead. A full disk or an I/O error: DG_EIO naming
 * the file and the reason, the file unchanged, no temporary file left.
 * Afterwards p stands for the file just written.
 */
dg_status dg_project_save(dg_ctx *ctx, dg_project *p, const char *path);

/* Frees the project. Accepts NULL. */
void dg_project_free(dg_project *p);

void dg_project_get_info(const dg_project *p, dg_project_info *out);

/* Class i's name (0 <= i < n_classes), owned by p. */
const char *dg_project_class_name(const dg_project *p, uint32_t i);

/* Class i's external id (the COCO category id; i + 1 when none was given). */
int64_t dg_project_class_id(const dg_project *p, uint32_t i);

/* Index of the class named name, or -1. */
int64_t dg_project_class_index(const dg_project *p, const char *name);

/* Frame i's string id, owned by p. */
const char *dg_project_frame_id(const dg_project *p, uint32_t i);

/*
 * Frame metadata columns (/frames/meta: COCO image fields, `import meta`,
 * h5py-written columns): how many, column i's name (owned by p), and
 * whether it holds numbers (1) or text (0).
 */
uint32_t dg_project_n_meta(const dg_project *p);
const char *dg_project_meta_name(const dg_project *p, uint32_t i);
int dg_project_meta_is_num(const dg_project *p, uint32_t i);

/* Name of inference set i (0 <= i < n_inferences), owned by p. */
const char *dg_project_inference_name(const dg_project *p, uint32_t i);

/* Index of the inference set named name, or -1. */
int64_t dg_project_inference_index(const dg_project *p, const char *name);

/* What dg_project_find looks for. */
typedef enum dg_name_kind {
    DG_NAME_CLASS = 0,
    DG_NAME_INFERENCES,
    DG_NAME_SEGMENT
} dg_name_kind;

/*
 * The index of the class, inference set or segment (segments.h) named
 * name in *idx. DG_ENOTFOUND when there is none, with a message that
 * lists what there is and the nearest name (dg_choices_hint):
 *     "'val.h5': no class 'persn'; did you mean 'person'? (classes: ...)"
 */
dg_status dg_project_find(dg_ctx *ctx, const dg_project *p,
                          dg_name_kind kind, const char *name, uint32_t *idx);

/* Number of boxes in an inference set, loading nothing. */
uint64_t dg_project_inference_size(const dg_project *p, uint32_t i);

/* Removes an inference set and its results. DG_ENOTFOUND if absent. */
dg_status dg_project_remove_inferences(dg_ctx *ctx, dg_project *p,
                                       const char *name);

/*
 * Sets the default thresholds: conf any finite number (scores need not lie
 * in [0, 1]; a confidence applies to the raw scores), 0 < iou <= 1.
 */
dg_status dg_project_set_defaults(dg_ctx *ctx, dg_project *p, double conf,
                                  double iou);

#ifdef __cplusplus
}
#endif
#endif
