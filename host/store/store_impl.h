/*
 * The store's private parts: the layouts of struct dg_project and struct
 * dg_results, HDF5 I/O, and the functions the store's files share. Only
 * files in host/store/ include this header (the build keeps it out of the
 * other layers' include paths).
 */
#ifndef DG_STORE_IMPL_H
#define DG_STORE_IMPL_H

#include "h5chunk.h"
#include "h5io.h"
#include "store.h"

/* ---- project ---------------------------------------------------------- */

typedef struct dg_infset {
    char *name;
    /*
     * The group's name in the source file when it is not valid UTF-8 (an
     * older detgrid wrote such names): name is then its escaped, valid
     * form, which the next save writes. NULL otherwise.
     */
    char *h5name;
    uint64_t n;         /* box count, known without loading */
    int loaded;
    int dirty;          /* boxes changed since open: must be written */
    dg_boxset boxes;
    /* The fingerprint of the boxes (to detect stale results), computed on
     * first use and kept while the boxes stay (fp_known). */
    uint64_t fp;
    int fp_known;
    struct dg_results *results; /* attached by eval, or NULL */
    int results_dirty;
    /* Results of the other IoU types (index DG_COCO_SEGM .. KEYPOINTS;
     * [0] unused: bbox is results above), dg__infset_results. */
    struct dg_results *typed[DG_N_IOU_TYPES];
    int typed_dirty[DG_N_IOU_TYPES];
    dg_shapes *shapes;  /* masks and keypoints (shapes.c), or NULL */
    int shapes_known;   /* shapes is what the set has (else: in the file) */
} dg_infset;

/* The name of set s's groups in the source file. */
static inline const char *dg__infset_src_name(const dg_infset *s)
{
    return s->h5name ? s->h5name : s->name;
}

struct dg_project {
    char *path;         /* file it was opened from, or NULL */
    int64_t file;       /* hid_t of the open source file, or -1 */
    /*
     * The source's real path (symbolic links followed) and identity when
     * opened: a save to the same file refuses to overwrite it when it is
     * no longer that version (another writer saved meanwhile).
     */
    char *real;
    int has_id;
    dg_file_id src_id;
    int format_version;
    double default_conf, default_iou;
    char *images_dir;   /* default image folder (detgrid/image.h), or NULL */
    int meta_dirty;     /* defaults, classes, frames or labels changed */

    uint32_t n_classes;
    char **class_names;
    int64_t *class_ids;

    uint32_t n_frames;
    char **frame_ids;
    int64_t *frame_num;  /* numeric image id (COCO) or -1 */
    double *frame_w, *frame_h;
    uint32_t n_meta;
    dg_meta_col *meta;

    uint64_t n_labels;
    int labels_loaded;
    dg_boxset labels;
    uint64_t labels_fp; /* as dg_infset's fp */
    int labels_fp_known;
    dg_shapes *label_shapes; /* masks and keypoints (shapes.c), or NULL */
    int label_shapes_known;  /* label_shapes is what the labels have */
    /* Label records whose COCO annotation id is 0, ascending (read at
     * open; /labels/coco_id_zero). */
    uint64_t *zero_ids;
    uint64_t n_zero_ids;

    uint32_t n_inf;
    dg_infset *inf;
    int iou_type; /* the results dg_results_load hands out (dg_coco_iou_type) */

    struct dg_segments *segs; /* host/segments.c; NULL until first use */
    struct dg_embed_store *emb; /* host/embeddings.c; NULL until first use */
};

/* The slot of set s's results of IoU type t (bbox: s->results), and its
 * dirty flag. */
static inline struct dg_results **dg__infset_results(dg_infset *s, int t)
{
    return t ? &s->typed[t] : &s->results;
}
static inline int *dg__infset_dirty(dg_infset *s, int t)
{
    return t ? &s->typed_dirty[t] : &s->results_dirty;
}

/* Loads labels (if not yet) from the source file. */
dg_status dg__project_load_labels(dg_ctx *ctx, dg_project *p);
/* Loads the boxes of inference set i (if not yet). */
dg_status dg__project_load_inferences(dg_ctx *ctx, dg_project *p, uint32_t i);
/* Writes classes, frames, metadata and labels into the new file f. */
dg_status dg__project_write_meta(dg_ctx *ctx, dg_project *p, int64_t f);

/*
 * Copies what detgrid does not own from the source file src into the new
 * file dst (user groups, datasets and attributes added with h5py, say),
 * after detgrid wrote its own parts; warns naming what cannot be kept
 * (host/store/keep.c).
 */
dg_status dg__keep_user_data(dg_ctx *ctx, int64_t src, int64_t dst);

/* ---- masks and keypoints (shapes.c) ---------------------------------------- */

/* Writes s (one entry per box of the group) into the box group g. */
dg_status dg__shapes_write(dg_ctx *ctx, int64_t g, const dg_shapes *s);

/* ---- segments (segments.c) ------------------------------------------------ */

/* Reads /segments (names, kinds, targets, metadata; frames on first use)
 * from the project's source file; a no-op when absent. */
dg_status dg__segments_open(dg_ctx *ctx, dg_project *p);
/* Writes /segments into the new file f (copied from src when unchanged). */
dg_status dg__segments_save(dg_ctx *ctx, dg_project *p, int64_t src,
                            int64_t f);
void dg__segments_free(dg_project *p);

/* ---- embeddings (embeddings.c) ------------------------------------------ */

/* Lists /embeddings (models, dims, which matrices; data on first use)
 * from the project's source file; a no-op when absent. */
dg_status dg__embeddings_open(dg_ctx *ctx, dg_project *p);
/* Writes /embeddings into the new file f (copied from src when unchanged). */
dg_status dg__embeddings_save(dg_ctx *ctx, dg_project *p, int64_t src,
                              int64_t f);
/* Loads every matrix still only in the file (before the file goes away). */
dg_status dg__embeddings_load_all(dg_ctx *ctx, dg_project *p);
void dg__embeddings_free(dg_project *p);

/* ---- results (results.c) ------------------------------------------------------ */

struct dg_results {
    int n_iou;
    double iou[DG_MAX_IOU_THRESHOLDS];
    uint32_t n_classes;
    uint64_t n_det;
    uint64_t n_gt_total;
    uint64_t fingerprint;  /* of the inference set evaluated */
    uint64_t labels_fingerprint;
    uint64_t *class_off;   /* n_classes + 1, into sorted order */
    uint32_t *order;       /* sorted position -> inference-set index */
    double *score;         /* n_det, sorted order */
    uint8_t *status;       /* n_iou * n_det, row per threshold */
    int32_t *matched;      /* n_iou * n_det: label index or -1 */
    uint64_t *gt_count;    /* n_classes: non-ignored ground truths */
    /*
     * Version 2: class-agnostic matches, n_iou * n_det in sorted order
     * (label index, DG_AGN_BACKGROUND or DG_AGN_IGNORED), and the class of
     * each of the n_gt_total labels (frame-sorted order). Both NULL for
     * version-1 results, which hold no agnostic matching.
     */
    int version;
    int32_t *agnostic;
    uint32_t *label_class;
    char device[256];
    int refs;              /* handles sharing this (project + loads) */
    /*
     * Results read from a file load lazily: status one row at a time,
     * order and matched on first use. src is the file (hid_t) or -1 when
     * everything is in memory.
     */
    int64_t src;
    char src_group[600];
    uint8_t row_loaded[DG_MAX_IOU_THRESHOLDS];
    int order_loaded, matched_loaded;
    uint8_t agn_row_loaded[DG_MAX_IOU_THRESHOLDS];
    int label_class_loaded;
    /*
     * Index of the inference set in the project these results belong to
     * (set by dg_results_load and eval); the frame of each sorted position
     * (n_det entries, NULL until dg__results_det_frame builds it); and the
     * restriction of queries to a set of frames: frame_mask has one byte
     * per project frame, 1 = kept, or is NULL for every frame.
     */
    int64_t inf_index;
    uint32_t *det_frame;
    uint8_t *frame_mask;
    /* With frame_mask: non-ignored ground truths per class in the kept
     * frames (n_classes), set by dg_results_restrict_frames. */
    uint64_t *mask_gt_count;
    /*
     * Bounded-memory eval (host/shard.c): match outcomes not yet written,
     * in compact form; dg__results_write streams them. NULL otherwise.
     */
    struct dg_pending *pending;
    /*
     * What IoU the matching compared (dg_coco_iou_type) and its settings:
     * boundary IoU's dilation ratio; for keypoints the sigmas of class c,
     * kpt_sig[kpt_sig_off[c] .. kpt_sig_off[c+1]) (n_classes + 1 offsets).
     */
    int iou_type;
    double dilation_ratio;
    uint64_t *kpt_sig_off;
    double *kpt_sig;
};

/* An empty results object with refs = 1, everything in memory. */
struct dg_results *dg__results_new(dg_ctx *ctx);
/* Every lazy part (rows, order, matched, agnostic), before the file goes. */
dg_status dg__results_load_all(dg_ctx *ctx, struct dg_results *r);
/* Every agnostic row and label_class (a no-op for version 1). */
dg_status dg__results_load_agnostic(dg_ctx *ctx, struct dg_results *r);
/* Writes r as group name under loc (loads lazy parts first). */
dg_status dg__results_write(dg_ctx *ctx, int64_t loc, const char *name,
                            struct dg_results *r);
/* The root group of results of IoU type t: "results" for bbox,
 * "results_segm", "results_boundary", "results_keypoints". */
const char *dg__results_root(int t);
/* Opens /<dg__results_root(type)>/<name> of file: attributes and small
 * arrays now, the rest lazily. DG_ENOTFOUND if absent. */
dg_status dg__results_read(dg_ctx *ctx, int64_t file, const char *name,
                           int type, struct dg_results **out);

/* Writes the pending outcomes as the results tables under group g. */
dg_status dg__pending_write(dg_ctx *ctx, dg_pending *pd, int64_t g);

#endif
