/*
 * store: the project file and everything kept in it. The only layer that
 * knows the HDF5 layout (docs/FORMAT.md) and the layouts of struct
 * dg_project and struct dg_results; the other layers go through the
 * functions below. Depends on core.
 *
 * Lazy parts (labels, inference sets, result rows) load on first use: an
 * accessor that can load returns a status and hands the data out through
 * a pointer, so no caller has to remember to load first.
 */
#ifndef DG_STORE_H
#define DG_STORE_H

#include <stdio.h>

#include "core.h"

/* ---- project: what it holds ------------------------------------------------ */

/* The file the project was opened from, or "(project)" for messages. */
const char *dg__project_path(const dg_project *p);
uint32_t dg__project_n_frames(const dg_project *p);
uint32_t dg__project_n_classes(const dg_project *p);
uint32_t dg__project_n_inferences(const dg_project *p);
/* Labels without loading them (the stored count). */
uint64_t dg__project_n_labels(const dg_project *p);
/* Frame i's image size (0 when unknown). */
void dg__project_frame_size(const dg_project *p, uint32_t i, double *w,
                            double *h);
/* Class names, n_classes entries (borrowed). */
char *const *dg__project_class_names(const dg_project *p);
/* Frame ids, n_frames entries (borrowed). */
char *const *dg__project_frame_ids(const dg_project *p);

/* The labels, loaded if not yet (borrowed; valid until p changes). */
dg_status dg__project_labels(dg_ctx *ctx, dg_project *p,
                             const dg_boxset **gt);
/* The boxes of inference set i, loaded if not yet (borrowed). */
dg_status dg__project_inferences(dg_ctx *ctx, dg_project *p, uint32_t i,
                                 const dg_boxset **dt);
/* Whether the labels / set i are in memory (else only in the file). */
int dg__project_labels_loaded(const dg_project *p);
int dg__project_inferences_loaded(const dg_project *p, uint32_t i);
/*
 * Loads the labels and inference set name (if not yet) for an analysis of
 * the whole set: *gt and *dt point into p. DG_ENOTFOUND, "no inference set
 * '<name>'", when p has none of that name.
 */
dg_status dg__project_load_set(dg_ctx *ctx, dg_project *p, const char *name,
                               const dg_boxset **gt, const dg_boxset **dt);
/*
 * Reads frames [lo, hi) of labels (which = -1) or of inference set which
 * into out (initialised here, frame_off relative to lo, frames kept
 * absolute). Reads from the file when not loaded, else copies. Safe to
 * call from a worker thread with a worker context while no other thread
 * changes p.
 */
dg_status dg__project_read_range(dg_ctx *ctx, dg_project *p, int which,
                                 uint32_t lo, uint32_t hi, dg_boxset *out);
/*
 * The frame offsets (n_frames + 1) of labels (which = -1) or inference set
 * which, malloc'd, without loading the boxes when the file stores them.
 */
dg_status dg__project_frame_offsets(dg_ctx *ctx, dg_project *p, int which,
                                    uint64_t **out);
/*
 * One whole column of inference set which: "class" (uint32) or "score"
 * (double). From the set in memory (*col points into it, *owned 0), else
 * read from the file (malloc'd, *owned 1).
 */
dg_status dg__project_det_column(dg_ctx *ctx, dg_project *p, uint32_t which,
                                 const char *name, void **col, int *owned);
/*
 * Class and "counted" flag (neither crowd nor ignored) of every label, in
 * frame-sorted order, without reading a box: borrowed (cached in p, or
 * pointing into the loaded labels).
 */
dg_status dg__project_label_columns(dg_ctx *ctx, dg_project *p,
                                    const uint32_t **cls,
                                    const uint8_t **counted);
/* Fingerprint of labels (which = -1) or inference set which, from the
 * file's attribute when stored, else computed. */
dg_status dg__project_fingerprint(dg_ctx *ctx, dg_project *p, int which,
                                  uint64_t *fp);

/*
 * The label records whose COCO annotation id was 0, ascending (borrowed;
 * *n = 0 when none). pycocotools counts a detection matched to such a
 * label as a false positive; dg_coco_opts.pycocotools_id0 does the same.
 */
void dg__project_coco_zero_ids(const dg_project *p, const uint64_t **idx,
                               uint64_t *n);

/* ---- project: frame metadata -------------------------------------------------- */

typedef struct dg_meta_col {
    char *name;
    int is_num;    /* 1: num[] valid, 0: str[] valid */
    double *num;   /* n_frames, NaN for missing */
    char **str;    /* n_frames, "" for missing */
} dg_meta_col;

uint32_t dg__project_n_meta(const dg_project *p);
const dg_meta_col *dg__project_meta(const dg_project *p, uint32_t i);
/*
 * Adds (or replaces) metadata column name; takes ownership of num (is_num)
 * or str (n_frames malloc'd strings, the array malloc'd too).
 */
dg_status dg__project_set_meta(dg_ctx *ctx, dg_project *p, const char *name,
                               int is_num, double *num, char **str);

/* ---- project: building (importers, synth) ----------------------------------- */

/* Adds an empty inference set (boxes loaded, dirty); returns its index. */
dg_status dg__project_add_inferences(dg_ctx *ctx, dg_project *p,
                                     const char *name, uint32_t *idx);
/* Appends a class (DG_EINVAL for a name dg__name_problem refuses). A
 * repeated name is the importer's to refuse; dg_project_save refuses it
 * too (DG_EFORMAT). */
dg_status dg__project_add_class(dg_ctx *ctx, dg_project *p, const char *name,
                                int64_t id);
/* Appends a frame. */
dg_status dg__project_add_frame(dg_ctx *ctx, dg_project *p, const char *id,
                                int64_t num, double w, double h);
/*
 * Moves classes and frames from src to dst (which has none), swapping so
 * that src, freed next, takes whatever empty arrays dst had. Importers
 * build a temporary project and move it in once the input is valid.
 */
void dg__project_move_classes_frames(dg_project *dst, dg_project *src);
/*
 * Makes b's boxes p's labels (loaded, to be written); b gets the old
 * labels, for the caller to release.
 */
void dg__project_take_labels(dg_project *p, dg_boxset *b);
/*
 * Records which of the labels just taken had COCO annotation id 0: idx
 * (malloc'd, taken over; NULL when n is 0) lists record indices of the
 * frame-sorted labels, ascending. dg__project_take_labels forgets them.
 */
void dg__project_set_coco_zero_ids(dg_project *p, uint64_t *idx, uint64_t n);
/*
 * Makes b's boxes those of inference set i (loaded, to be written) and
 * drops the set's results, which no longer belong to them; b gets the old
 * boxes, for the caller to release.
 */
void dg__project_take_inferences(dg_project *p, uint32_t i, dg_boxset *b);

/*
 * Writes a project file frame by frame, for projects larger than memory
 * (synth --stream; host/store/stream.c): p holds the classes, frames,
 * metadata, segments and embeddings (no boxes, no inference sets); the
 * file gets n_sets inference sets named set_names[k]. next() is called for
 * frames 0 .. n_frames - 1 in order with gt and dt[0 .. n_sets) emptied
 * (n = 0; their columns kept, labels' and detections' respectively) and
 * appends that frame's labels to gt and each set's detections to dt[k],
 * reserving room first (frame fields ignored); a negative status from it
 * stops the writer and is returned. The columns wait in unlinked scratch
 * files beside path (DG_EIO when they cannot be made or written). The
 * file is written atomically: the bytes are those dg_project_save writes
 * for the same project held in memory.
 */
typedef dg_status (*dg_frame_source_fn)(void *arg, dg_ctx *ctx, uint32_t f,
                                        dg_boxset *gt, dg_boxset *dt);
dg_status dg__project_stream_write(dg_ctx *ctx, dg_project *p,
                                   const char *path, uint32_t n_sets,
                                   char *const *set_names,
                                   dg_frame_source_fn next, void *arg);

/* ---- safe files (host/store/safefile.c; include/detgrid/files.h) ---------- */

/*
 * Where a write to path really goes: *real (malloc'd) is the absolute path
 * of the file, symbolic links followed (a dangling one names the file to
 * create); *is_link is 1 when path was a symbolic link. DG_EIO naming
 * path when its directory does not exist or is not one.
 */
dg_status dg__resolve_target(dg_ctx *ctx, const char *path, char **real,
                             int *is_link);

/* What identifies one version of a file: a save replaces the inode. */
typedef struct dg_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
} dg_file_id;
int dg__file_id_fd(int fd, dg_file_id *id);
int dg__file_id_path(const char *path, dg_file_id *id);
int dg__file_id_eq(const dg_file_id *a, const dg_file_id *b);

/*
 * The writer lock of the file whose real path is real (shown: the name for
 * messages), as dg_lock_take; a lock this process holds is shared.
 */
dg_status dg__lock_target(dg_ctx *ctx, const char *real, const char *shown,
                          double timeout_s, dg_lock **out);

/*
 * One atomic write: the target's lock (this process's own when it holds
 * it), a temporary file beside the real target created with O_EXCL and
 * O_NOFOLLOW under an unguessable name, with the target's mode and owner.
 * Writes go through dg__tmp_pwrite / dg__tmp_write, which latch the first
 * error (and inject DETGRID_FAULT=enospc, enospc<N>, eio, eio<N>: fail once
 * N bytes are written). dg__tmp_commit fsyncs, renames over the target
 * (or, for a target with several hard links, copies into it once the
 * complete file is safe under a name no cleanup removes), fsyncs the
 * directory and removes the temporary files of dead writers; on failure
 * the target is unchanged and the message names it and the reason. The
 * lock stays held until dg__tmp_abort, which every path ends with, so a
 * saver can reopen what it wrote before another writer replaces it.
 */
typedef struct dg_tmpfile {
    char *path;       /* as given, for messages */
    char *real;       /* the real target */
    char *tmp;        /* the temporary file, NULL when writing straight */
    int fd;
    int through_link; /* path was a symbolic link */
    int existed, inplace, direct;
    int committed;    /* the target holds the new content */
    unsigned mode, uid, gid;
    dg_lock *lock;
    int err;          /* the first write error (errno), latched */
    const char *fault; /* the DETGRID_FAULT item behind err, or NULL */
    uint64_t written;
} dg_tmpfile;

/* regular_only: refuse a target that is not a regular file (a project);
 * otherwise a pipe or device is written straight (t->direct). */
dg_status dg__tmp_open(dg_ctx *ctx, const char *path, int regular_only,
                       dg_tmpfile *t);
/* 0, or -1 with the error latched in t. */
int dg__tmp_pwrite(dg_tmpfile *t, const void *buf, size_t n, uint64_t off);
/* Appends len bytes; DG_EIO with the message of dg__tmp_fail. */
dg_status dg__tmp_write(dg_ctx *ctx, dg_tmpfile *t, const void *data,
                        size_t len);
/*
 * A stdio stream whose writes go through dg__tmp_pwrite (fopencookie), for
 * writers that print; NULL when it cannot be made. dg__tmp_close_stream
 * flushes and closes it, DG_OK or t's error as dg__tmp_fail says it.
 */
FILE *dg__tmp_stream(dg_tmpfile *t);
dg_status dg__tmp_close_stream(dg_ctx *ctx, dg_tmpfile *t, FILE *f);
/* The message for t's latched error: path, reason, target unchanged. */
dg_status dg__tmp_fail(dg_ctx *ctx, dg_tmpfile *t);
/* id (may be NULL) gets the new file's identity. */
dg_status dg__tmp_commit(dg_ctx *ctx, dg_tmpfile *t, dg_file_id *id);
/* Removes the temporary file (if not committed), releases the lock and
 * frees t's strings; idempotent. */
void dg__tmp_abort(dg_tmpfile *t);
/*
 * The complete copy an interrupted in-place save of path left beside it
 * ("<name>.detgrid-<hex>.saved"): 1 with its path in out, else 0.
 */
int dg__saved_copy(const char *path, char *out, size_t cap);

/* ---- results ----------------------------------------------------------------- */

/*
 * Results of one inference set: detections ordered by class, then
 * descending score, then inference-set order ("sorted order"); per IoU
 * threshold a status and a matched row, and the class-agnostic matches.
 * The struct is private to the store; what every query may read without
 * loading a table is copied out by dg__results_info.
 */
typedef struct dg_results_info {
    int version;             /* 1: no agnostic matching; 2: with it */
    int n_iou;
    const double *iou;       /* n_iou */
    uint32_t n_classes;
    uint64_t n_det;
    uint64_t n_gt_total;     /* every label, crowd and ignored included */
    const uint64_t *class_off; /* n_classes + 1, into sorted order */
    const double *score;     /* n_det, sorted order */
    const uint64_t *gt_count; /* n_classes: non-ignored ground truths */
    int64_t inf_index;       /* the inference set's index in the project */
    /*
     * The restriction of queries to a set of frames (a segment): one byte
     * per project frame, 1 = kept, and the counted ground truths per class
     * in the kept frames; both NULL for every frame.
     */
    const uint8_t *frame_mask;
    const uint64_t *mask_gt_count;
    int iou_type;            /* what the matching compared (dg_coco_iou_type) */
} dg_results_info;

void dg__results_info(const struct dg_results *r, dg_results_info *out);

/* Row t of status (n_det bytes, DG_FP/DG_TP/DG_IGN), loading it if needed. */
dg_status dg__results_status_row(dg_ctx *ctx, struct dg_results *r, int t,
                                 const uint8_t **row);
/* order[] (sorted position -> inference-set index), loading if needed. */
dg_status dg__results_order(dg_ctx *ctx, struct dg_results *r,
                            const uint32_t **order);
/* matched[] (n_iou rows of n_det label indices or -1), loading if needed. */
dg_status dg__results_matched(dg_ctx *ctx, struct dg_results *r,
                              const int32_t **matched);
/*
 * Row t of agnostic (n_det values, checked to lie in -2 .. n_gt_total - 1),
 * loading it if needed; DG_ESTALE with a message saying to run eval again
 * for version-1 results.
 */
dg_status dg__results_agnostic_row(dg_ctx *ctx, struct dg_results *r, int t,
                                   const int32_t **row);
/* label_class (n_gt_total, checked < n_classes), loading it if needed. */
dg_status dg__results_label_class(dg_ctx *ctx, struct dg_results *r,
                                  const uint32_t **label_class);
/*
 * The frame index of each sorted position (n_det entries), built on first
 * use from the order and the frame offsets of r's inference set in p, and
 * kept in r.
 */
dg_status dg__results_det_frame(dg_ctx *ctx, struct dg_results *r,
                                dg_project *p, const uint32_t **det_frame);
/*
 * DG_OK when r covers as many classes as p, else DG_ESTALE with a message
 * saying to run eval again.
 */
dg_status dg__results_check_classes(dg_ctx *ctx, const struct dg_results *r,
                                    const dg_project *p);
/* Installs a restriction (both malloc'd, taken over; NULL: none). */
void dg__results_set_restriction(struct dg_results *r, uint8_t *frame_mask,
                                 uint64_t *mask_gt_count);
/* Drops one reference; frees r at zero. Accepts NULL. */
void dg__results_destroy(struct dg_results *r);

/* The IoU compared and its settings (see struct dg_results) for
 * dg_results_tables.shape; kpt_sig_off and kpt_sig malloc'd. */
typedef struct dg_results_shape {
    int iou_type; /* dg_coco_iou_type; 0: boxes */
    double dilation_ratio;
    uint64_t *kpt_sig_off;
    double *kpt_sig;
} dg_results_shape;

/*
 * What eval hands to the store: every array malloc'd; dg__results_adopt
 * takes them over (and zeroes t), builds the results object and attaches
 * it to inference set t->inf_index of p, replacing older results, to be
 * written at the next save.
 */
typedef struct dg_results_tables {
    int n_iou;
    double iou[DG_MAX_IOU_THRESHOLDS];
    uint32_t n_classes;
    uint64_t n_det, n_gt_total;
    uint64_t fingerprint, labels_fingerprint;
    int64_t inf_index;
    char device[256];
    uint64_t *class_off;   /* n_classes + 1 */
    uint32_t *order;       /* n_det */
    double *score;         /* n_det */
    uint64_t *gt_count;    /* n_classes */
    uint32_t *label_class; /* n_gt_total */
    /* n_iou x n_det in sorted order; NULL when pending holds them */
    uint8_t *status;
    int32_t *matched;
    int32_t *agnostic;
    struct dg_pending *pending; /* bounded-memory eval, else NULL */
    dg_results_shape shape;     /* what was compared */
} dg_results_tables;

dg_status dg__results_adopt(dg_ctx *ctx, dg_project *p, dg_results_tables *t);
void dg__results_tables_release(dg_results_tables *t);
/* Spills the pending outcomes of every set of p to their scratch files, to
 * make room in memory for another eval. */
dg_status dg__project_spill_pending(dg_ctx *ctx, dg_project *p);

/* ---- pending outcomes (bounded-memory eval, MPI) ------------------------------ */

/* A growable byte buffer. */
typedef struct dg_bytes {
    uint8_t *p;
    size_t n, cap;
} dg_bytes;

/*
 * Appends the outcomes of n detections (status, matched, agnostic rows of
 * a chunk, chunk-relative label indices offset by gbase) to out, run-length
 * encoded across thresholds (docs/SCALE.md).
 */
dg_status dg__stream_encode(dg_ctx *ctx, dg_bytes *out, int n_iou, uint64_t n,
                            const uint8_t *status, const int32_t *matched,
                            const int32_t *agn, int64_t gbase);

typedef struct dg_pending dg_pending;

/*
 * The store of outcomes not yet written, bucketed by sorted position, kept
 * within budget bytes of memory and spilled beyond that to an unlinked
 * scratch file in dir.
 */
dg_pending *dg__pending_new(dg_ctx *ctx, int n_iou, uint64_t n_det,
                            uint64_t budget, const char *dir);
/* Files an encoded stream of detections base.. by their sorted positions
 * pos[]; adds the detections filed to *count when count is not NULL. */
dg_status dg__pending_add(dg_ctx *ctx, dg_pending *pd, const uint32_t *pos,
                          uint64_t base, const uint8_t *s, size_t len,
                          uint64_t *count);
/* Moves everything held in memory to the scratch file. */
dg_status dg__pending_spill(dg_ctx *ctx, dg_pending *pd);
uint64_t dg__pending_count(const dg_pending *pd);
void dg__pending_usage(const dg_pending *pd, uint64_t *mem, uint64_t *disk);
void dg__pending_free(dg_pending *pd);

/* ---- added while porting host/import (keep this section's order) ---- */

/*
 * Moves the inference sets (boxes, results) of src to dst, which has none,
 * swapping so that src, freed next, takes dst's empty array; as
 * dg__project_move_classes_frames does for classes and frames. For an
 * importer that builds classes, frames and sets in a scratch project and
 * moves them in once the input is valid (host/store/stream.c).
 */
void dg__project_move_inferences(dg_project *dst, dg_project *src);

/* ---- added while porting host/query (metrics, confusion, frames, ...) ---- */

/*
 * The file p was opened from, or NULL for a project made in memory (whose
 * messages say "(new project)"). Borrowed. (results_frames.c)
 */
const char *dg__project_source(const dg_project *p);
/*
 * The index of the inference set of p that r is attached to (r is the
 * very object the set holds, as dg_results_load hands out), or -1.
 */
int64_t dg__project_results_index(const dg_project *p,
                                  const struct dg_results *r);
/*
 * 1 when r's class-agnostic matches can be read (results version 2 whose
 * tables are in memory or in a file), 0 for version-1 results and for
 * those of a bounded-memory eval not saved yet.
 */
int dg__results_has_agnostic(const struct dg_results *r);
/*
 * With a restriction installed, the frame of each sorted position (n_det
 * entries; dg_results_restrict_frames builds it, through
 * dg__results_det_frame, before it installs the mask), so that queries
 * under a restriction need not reach the project. NULL without one.
 */
const uint32_t *dg__results_mask_det_frame(const struct dg_results *r);

/* ---- added while porting host/query (coco, voc, tide, embeddings, ...) ---- */

/* ---- added while porting host/engine ---- */

/* ---- masks and keypoints (host/store/shapes.c) -------------------------- */

/*
 * The masks and keypoints of the labels, or of inference set i: *out is
 * NULL when they have none, else borrowed (entry k for box k of the
 * frame-sorted set; valid until p changes). Loaded with the boxes if need
 * be.
 */
dg_status dg__project_label_shapes(dg_ctx *ctx, dg_project *p,
                                   const dg_shapes **out);
dg_status dg__project_inference_shapes(dg_ctx *ctx, dg_project *p,
                                       uint32_t i, const dg_shapes **out);
/*
 * Makes *s (malloc'd, one entry per box in the frame-sorted order of the
 * boxes; or NULL) the shapes of the labels or of set i, to be written;
 * *s gets the old ones (or NULL), for the caller to free with
 * dg__shapes_free. dg__project_take_labels and dg__project_take_inferences
 * drop the shapes of the boxes they replace, so importers call these
 * after them. Shapes without masks or keypoints are stored as none.
 */
void dg__project_take_label_shapes(dg_project *p, dg_shapes **s);
void dg__project_take_inference_shapes(dg_project *p, uint32_t i,
                                       dg_shapes **s);

#endif
