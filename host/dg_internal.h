/*
 * Internal declarations shared by the library's parts. Nothing here is
 * installed. Internal non-static names carry the dg__ prefix.
 */
#ifndef DG_INTERNAL_H
#define DG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "detgrid/detgrid.h"

#if defined(__GNUC__)
#define DG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DG_PRINTF(a, b)
#endif

/* ---- context ---------------------------------------------------------- */

struct dg_cl_state; /* host/cl/, NULL until first device use */

struct dg_ctx {
    char err[16384]; /* room for a full OpenCL build log */
    char *warnings; /* malloc'd, newline-separated, or NULL */
    size_t warnings_len;
    dg_device_kind device_kind;
    char device_select[256]; /* "", "0.1" or a name substring */
    dg_progress_fn progress;
    void *progress_user;
    dg_eval_stats stats;
    struct dg_cl_state *cl;
    /* host/shard.c: dg_ctx_set_memory_budget (0: unbounded) and the MPI
     * world this context shards eval over (size 1: none). */
    uint64_t mem_budget;
    int mpi_rank, mpi_size;
};

/* Sets ctx->err from fmt and returns st. ctx may be NULL. */
dg_status dg__fail(dg_ctx *ctx, dg_status st, const char *fmt, ...)
    DG_PRINTF(3, 4);
/* Prepends "prefix: " to the current error message; returns st. */
dg_status dg__fail_prefix(dg_ctx *ctx, dg_status st, const char *fmt, ...)
    DG_PRINTF(3, 4);
/* Appends one warning line. */
void dg__warn(dg_ctx *ctx, const char *fmt, ...) DG_PRINTF(2, 3);
void dg__progress(dg_ctx *ctx, const char *phase, uint64_t done,
                  uint64_t total);

/* Monotonic seconds. */
double dg__now(void);

/* malloc that sets DG_ENOMEM on failure; n * size overflow-checked. */
void *dg__alloc(dg_ctx *ctx, size_t n, size_t size);
void *dg__calloc(dg_ctx *ctx, size_t n, size_t size);
char *dg__strdup(dg_ctx *ctx, const char *s);
/*
 * Resizes the array *p to n elements of size bytes (contents kept, as
 * realloc). 0, or -1 with *p unchanged when memory runs out; sets no
 * error message, so that callers report it in their own words.
 */
int dg__grow(void **p, size_t n, size_t size);
/* 1 if the NUL-terminated s is valid UTF-8 (RFC 3629), else 0. */
int dg__utf8_valid(const char *s);

/* ---- boxes ------------------------------------------------------------ */

/*
 * A columnar set of boxes sorted by frame (stable: input order kept within a
 * frame). Labels use area, iscrowd and ignore; inference sets use score.
 * Boxes are x, y, w, h in pixels, as doubles, so IoU equals pycocotools'.
 */
typedef struct dg_boxset {
    uint64_t n, cap;
    uint32_t *frame;
    uint32_t *cls;
    double *x, *y, *w, *h;
    double *score;    /* inference sets, else NULL */
    double *area;     /* labels, else NULL */
    uint8_t *iscrowd; /* labels, else NULL */
    uint8_t *ignore;  /* labels, else NULL */
    uint64_t *frame_off; /* n_frames + 1 entries once sorted, else NULL */
} dg_boxset;

enum { DG_BOXES_LABELS = 1, DG_BOXES_DETS = 2 };

/* Empty set of the kind given; columns grow on push. */
void dg__boxset_init(dg_boxset *b);
void dg__boxset_release(dg_boxset *b);
/* Makes room for n more boxes; kind picks the optional columns. */
dg_status dg__boxset_reserve(dg_ctx *ctx, dg_boxset *b, int kind,
                             uint64_t more);
/* Appends one box (reserve first). score is ignored for labels and area,
 * crowd, ignore for detections. */
void dg__boxset_push(dg_boxset *b, uint32_t frame, uint32_t cls, double x,
                     double y, double w, double h, double score, double area,
                     uint8_t iscrowd, uint8_t ignore);
/* Stable-sorts by frame and builds frame_off for n_frames frames. */
dg_status dg__boxset_sort_by_frame(dg_ctx *ctx, dg_boxset *b,
                                   uint32_t n_frames);

/* ---- project ---------------------------------------------------------- */

typedef struct dg_meta_col {
    char *name;
    int is_num;    /* 1: num[] valid, 0: str[] valid */
    double *num;   /* n_frames, NaN for missing */
    char **str;    /* n_frames, "" for missing */
} dg_meta_col;

typedef struct dg_infset {
    char *name;
    uint64_t n;         /* box count, known without loading */
    int loaded;
    int dirty;          /* boxes changed since open: must be written */
    dg_boxset boxes;
    uint64_t fingerprint; /* of the boxes, to detect stale results */
    struct dg_results *results; /* attached by eval, or NULL */
    int results_dirty;
} dg_infset;

struct dg_project {
    char *path;         /* file it was opened from, or NULL */
    int64_t file;       /* hid_t of the open source file, or -1 */
    int format_version;
    double default_conf, default_iou;
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

    uint32_t n_inf;
    dg_infset *inf;

    struct dg_segments *segs; /* host/segments.c; NULL until first use */
    struct dg_embed_store *emb; /* host/embeddings.c; NULL until first use */
};

/* Loads labels (if not yet) from the source file. */
dg_status dg__project_load_labels(dg_ctx *ctx, dg_project *p);
/* Loads the boxes of inference set i (if not yet). */
dg_status dg__project_load_inferences(dg_ctx *ctx, dg_project *p, uint32_t i);
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
 * absolute). Reads from the file when not loaded, else copies.
 */
dg_status dg__project_read_range(dg_ctx *ctx, dg_project *p, int which,
                                 uint32_t lo, uint32_t hi, dg_boxset *out);
/*
 * The frame offsets (n_frames + 1) of labels (which = -1) or inference set
 * which, malloc'd, without loading the boxes when the file stores them.
 */
dg_status dg__project_frame_offsets(dg_ctx *ctx, dg_project *p, int which,
                                    uint64_t **out);
/* Adds an empty inference set (boxes loaded, dirty); returns its index. */
dg_status dg__project_add_inferences(dg_ctx *ctx, dg_project *p,
                                     const char *name, uint32_t *idx);
/* Appends a class; returns DG_EEXIST on a duplicate name. */
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
 * Makes b's boxes those of inference set i (loaded, to be written) and
 * drops the set's results, which no longer belong to them; b gets the old
 * boxes, for the caller to release.
 */
void dg__project_take_inferences(dg_project *p, uint32_t i, dg_boxset *b);
/* A 64-bit fingerprint of a box set's columns. */
uint64_t dg__boxset_fingerprint(const dg_boxset *b);
/*
 * The fingerprint's word hash, a fast 64-bit mix (not cryptographic: it
 * detects changes), continuing from h (start at 14695981039346656037).
 * Fed in multiples of 8 bytes it gives the same value as one call over
 * the whole buffer, so columns may be hashed a block at a time.
 */
uint64_t dg__fnv_words(uint64_t h, const void *p, size_t n);
/* Fingerprint of labels (which = -1) or inference set which, from the
 * file's attribute when stored, else computed. */
dg_status dg__project_fingerprint(dg_ctx *ctx, dg_project *p, int which,
                                  uint64_t *fp);

/* ---- segments (host/segments.c) --------------------------------------- */

/* Reads /segments (names, kinds, targets, metadata; frames on first use)
 * from the project's source file; a no-op when absent. */
dg_status dg__segments_open(dg_ctx *ctx, dg_project *p);
/* Writes /segments into the new file f (copied from src when unchanged). */
dg_status dg__segments_save(dg_ctx *ctx, dg_project *p, int64_t src,
                            int64_t f);
void dg__segments_free(dg_project *p);

/* ---- embeddings (host/embeddings.c) ----------------------------------- */

/* Lists /embeddings (models, dims, which matrices; data on first use)
 * from the project's source file; a no-op when absent. */
dg_status dg__embeddings_open(dg_ctx *ctx, dg_project *p);
/* Writes /embeddings into the new file f (copied from src when unchanged). */
dg_status dg__embeddings_save(dg_ctx *ctx, dg_project *p, int64_t src,
                              int64_t f);
/* Loads every matrix still only in the file (before the file goes away). */
dg_status dg__embeddings_load_all(dg_ctx *ctx, dg_project *p);
void dg__embeddings_free(dg_project *p);

/* ---- matching --------------------------------------------------------- */

/* Per-detection outcome at one IoU threshold. */
enum { DG_FP = 0, DG_TP = 1, DG_IGN = 2 };

/*
 * What matching consumes: labels and detections of the same frames (both
 * sorted by frame, frame_off relative to frame_lo), and the thresholds.
 */
typedef struct dg_match_input {
    uint32_t n_frames;  /* frames in this chunk */
    uint32_t n_classes;
    const dg_boxset *gt;
    const dg_boxset *dt;
    int n_iou;
    const double *iou;
} dg_match_input;

/*
 * What matching produces, per detection of the chunk in dt order:
 * status[t * n_dt + d] in {DG_FP, DG_TP, DG_IGN} and matched[t * n_dt + d],
 * the index into gt (chunk-relative) of the ground truth taken, or -1.
 */
typedef struct dg_match_output {
    uint8_t *status;
    int32_t *matched;
} dg_match_output;

/*
 * IoU of detection box d and ground truth g, as pycocotools' bbIou computes
 * it in double: 0 when they do not overlap, intersection / detection area
 * for crowd ground truths, else intersection / union.
 */
static inline double dg__iou(double dx, double dy, double dw, double dh,
                             double gx, double gy, double gw, double gh,
                             int crowd)
{
    double w = (dw + dx < gw + gx ? dw + dx : gw + gx) - (dx > gx ? dx : gx);
    if (w <= 0)
        return 0.0;
    double h = (dh + dy < gh + gy ? dh + dy : gh + gy) - (dy > gy ? dy : gy);
    if (h <= 0)
        return 0.0;
    double i = w * h;
    double da = dw * dh;
    double u = crowd ? da : da + gw * gh - i;
    return i / u;
}

/* The reference: obviously right, plain C, one group at a time. */
dg_status dg__match_ref(dg_ctx *ctx, const dg_match_input *in,
                        dg_match_output *out);

/*
 * Class-agnostic matching (the confusion matrix's methodology), per
 * detection and threshold: the index into in->gt of the ground truth taken
 * (any class), or one of these.
 */
enum { DG_AGN_BACKGROUND = -1, DG_AGN_IGNORED = -2 };

/*
 * The class-agnostic reference. Per frame, detections of every class go in
 * descending score (equal scores in input order); at threshold t each takes,
 * among the frame's regular ground truths (neither crowd nor ignored) of any
 * class not yet taken, the one with the highest IoU >= min(t, 1 - 1e-10);
 * on equal IoU one of the detection's class wins, then the lower index. A
 * NaN IoU never matches. A detection that takes nothing is DG_AGN_IGNORED
 * when some crowd or ignored ground truth of the frame (any class) has IoU
 * >= that threshold with it (crowd: intersection over detection area),
 * else DG_AGN_BACKGROUND. Writes agn[t * in->dt->n + d] for the chunk's
 * detections d; other cells are left alone.
 */
dg_status dg__match_agnostic_ref(dg_ctx *ctx, const dg_match_input *in,
                                 int32_t *agn);

/* ---- results ---------------------------------------------------------- */

/*
 * Stored results of one inference set. Detections are ordered by class,
 * then descending score, then inference-set order ("sorted order").
 */
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
};

/* An empty results object with refs = 1, everything in memory. */
struct dg_results *dg__results_new(dg_ctx *ctx);
/* Row t of status (n_det bytes), loading it if needed; NULL on error. */
const uint8_t *dg__results_status_row(dg_ctx *ctx, struct dg_results *r,
                                      int t);
/* order[] and matched[] (all rows), loading them if needed. */
dg_status dg__results_load_order(dg_ctx *ctx, struct dg_results *r);
dg_status dg__results_load_matched(dg_ctx *ctx, struct dg_results *r);
/*
 * Row t of agnostic (n_det values, checked to lie in -2 .. n_gt_total - 1),
 * loading it if needed; NULL with DG_ESTALE's message for version-1
 * results, NULL on other errors.
 */
const int32_t *dg__results_agnostic_row(dg_ctx *ctx, struct dg_results *r,
                                        int t);
/* Every agnostic row and label_class (a no-op for version 1). */
dg_status dg__results_load_agnostic(dg_ctx *ctx, struct dg_results *r);
/* label_class (n_gt_total, checked < n_classes), loading it if needed. */
const uint32_t *dg__results_label_class(dg_ctx *ctx, struct dg_results *r);

/*
 * DG_OK when r covers as many classes as p, else DG_ESTALE with a message
 * saying to run eval again (host/results_frames.c).
 */
dg_status dg__results_check_classes(dg_ctx *ctx, const struct dg_results *r,
                                    const dg_project *p);
/*
 * The frame index of each sorted position (r->n_det entries), built on
 * first use from r->order and the frame offsets of inference set
 * r->inf_index of p, and kept in r. NULL on error.
 */
const uint32_t *dg__results_det_frame(dg_ctx *ctx, struct dg_results *r,
                                      dg_project *p);

/* Number of entries of the descending s[0..n) that are >= conf. */
uint64_t dg__count_at_least(const double *s, uint64_t n, double conf);

/*
 * A key whose ascending unsigned order is descending score order: scores
 * are >= 0, so their bits order like their values once -0.0 becomes +0.0;
 * inverting them reverses that.
 */
static inline uint64_t dg__score_key(double s)
{
    double z = s + 0.0;
    uint64_t b;
    memcpy(&b, &z, 8);
    return ~b;
}
/*
 * Sorts (*key)[0..n) ascending, carrying (*idx)[0..n) along: an LSD radix
 * sort, 16 bits a pass, stable, so equal keys keep their order. *key2 and
 * *idx2 are scratch of n entries and cnt of 65536; the pointers are
 * swapped as the passes go, so the sorted keys and indices end in *key and
 * *idx, and the four still own one buffer each.
 */
void dg__radix_sort_keys(uint64_t **key, uint32_t **idx, uint64_t **key2,
                         uint32_t **idx2, uint64_t *cnt, uint64_t n);

/* Drops one reference; frees r at zero. Accepts NULL. */
void dg__results_destroy(struct dg_results *r);

/*
 * The sort of accumulation: order[] and class_off[] for detections with
 * classes cls[] and scores score[] (class ascending, score descending,
 * index ascending). Fills r->order, r->score, r->class_off.
 */
dg_status dg__results_sort(dg_ctx *ctx, struct dg_results *r,
                           const dg_boxset *dt);

/*
 * Accumulation on the host: permutes status/matched (dt order, global
 * label indices) into r's sorted order. Used by the reference path and
 * as the oracle for the device's.
 */
dg_status dg__accumulate_ref(dg_ctx *ctx, struct dg_results *r,
                             const uint8_t *status, const int32_t *matched);

/*
 * The agnostic permutation: r->agnostic[t * n + k] = agn[t * n + order[k]]
 * (agn in inference-set order with global label indices). r's order must
 * be filled.
 */
dg_status dg__accumulate_agnostic(dg_ctx *ctx, struct dg_results *r,
                                  const int32_t *agn);

/* Writes r as group name under loc (loads lazy parts first). */
dg_status dg__results_write(dg_ctx *ctx, int64_t loc, const char *name,
                            struct dg_results *r);
/* Opens /results/<name> of file: attributes and small arrays now, the
 * rest lazily. DG_ENOTFOUND if absent. */
dg_status dg__results_read(dg_ctx *ctx, int64_t file, const char *name,
                           struct dg_results **out);

/* ---- OpenCL (host/cl/) -------------------------------------------------- */

/*
 * Runs matching on the context's OpenCL device; same contract and same
 * bytes as dg__match_ref. DG_ENODEV when no device fits the selection.
 */
dg_status dg__cl_match(dg_ctx *ctx, const dg_match_input *in,
                       dg_match_output *out);
/*
 * Class-agnostic matching on the device; same contract and bytes as
 * dg__match_agnostic_ref.
 */
dg_status dg__cl_match_agnostic(dg_ctx *ctx, const dg_match_input *in,
                                int32_t *agn);
/*
 * Accumulation on the device; same contract and bytes as
 * dg__accumulate_ref (r's order/score/class_off already filled).
 */
dg_status dg__cl_accumulate(dg_ctx *ctx, struct dg_results *r,
                            const uint8_t *status, const int32_t *matched);
/* "OpenCL: <platform> / <device>" of the device in use, or NULL. */
const char *dg__cl_device_desc(dg_ctx *ctx);
/* 1 if any OpenCL GPU device is present (no context is created). */
int dg__cl_have_gpu(dg_ctx *ctx);
/* Releases the OpenCL state of ctx. */
void dg__cl_release(dg_ctx *ctx);

#endif
