/*
 * core: what every layer of the library stands on. The context (opaque:
 * its fields live in host/core/context.c), status messages, warnings and
 * progress, allocation, UTF-8, time, the one reader of environment
 * variables, box sets, sorting helpers and IoU. Depends on nothing but the
 * public headers and libc.
 *
 * Every internal non-static name carries the dg__ prefix (docs/HACKING.md).
 */
#ifndef DG_CORE_H
#define DG_CORE_H

#include <math.h>
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

/* ---- context -------------------------------------------------------------- */

/* Bytes of a context's error message buffer (a full OpenCL build log). */
#define DG_ERR_CAP 16384

/* Sets ctx's message from fmt and returns st. ctx may be NULL. */
dg_status dg__fail(dg_ctx *ctx, dg_status st, const char *fmt, ...)
    DG_PRINTF(3, 4);
/* Prepends "prefix: " to the current error message; returns st. */
dg_status dg__fail_prefix(dg_ctx *ctx, dg_status st, const char *fmt, ...)
    DG_PRINTF(3, 4);
/*
 * "<what> '<name>'" and dg_choices_hint()'s hint as ctx's message:
 *     "'val.h5': no inference set 'yol'; did you mean 'yolo'? (inference
 *     sets: yolo, detr)"
 * Returns st.
 */
dg_status dg__fail_unknown(dg_ctx *ctx, dg_status st, const char *what,
                           const char *name, const char *const *choices,
                           size_t n, const char *kind);
/* Appends one warning line. */
void dg__warn(dg_ctx *ctx, const char *fmt, ...) DG_PRINTF(2, 3);
/* Reports progress through ctx's callback, if any. */
void dg__progress(dg_ctx *ctx, const char *phase, uint64_t done,
                  uint64_t total);

/*
 * A context for a worker thread: no device, no callback, its own message
 * and warnings. Free it with dg_ctx_free. NULL when memory runs out.
 */
dg_ctx *dg__ctx_worker(void);
/*
 * Moves worker w's error message into ctx (ctx may be NULL: dropped) and
 * returns st. w's warnings are appended to ctx's.
 */
dg_status dg__ctx_adopt(dg_ctx *ctx, dg_ctx *w, dg_status st);

/* The device selection: kind and the ":P.D" or ":name" part ("" if none). */
dg_device_kind dg__ctx_device_kind(const dg_ctx *ctx);
const char *dg__ctx_device_select(const dg_ctx *ctx);

/*
 * The device backend's state (host/cl/), opaque here: the backend installs
 * it with the function that releases it, and the context calls that
 * function when it is freed or its device selection changes. So core
 * links no OpenCL.
 */
void *dg__ctx_backend(const dg_ctx *ctx);
void dg__ctx_set_backend(dg_ctx *ctx, void *state, void (*release)(void *));
void dg__ctx_release_backend(dg_ctx *ctx);

/* The statistics of the last eval (filled by the engine). */
dg_eval_stats *dg__ctx_stats(dg_ctx *ctx);

/* Bounded-memory eval and MPI sharding (engine). */
uint64_t dg__ctx_mem_budget(const dg_ctx *ctx);
void dg__ctx_mpi(const dg_ctx *ctx, int *rank, int *size);
void dg__ctx_set_mpi(dg_ctx *ctx, int rank, int size);

/* Worker threads: 0 means one per online processor. */
unsigned dg__ctx_threads(const dg_ctx *ctx);
/* Whether a failing device may fall back to the reference path. */
int dg__ctx_fallback(const dg_ctx *ctx);

/* ---- environment ---------------------------------------------------------- */

/*
 * Every DETGRID_* variable the library reads goes through these, so that
 * each is read one way. dg__env returns NULL for unset and empty alike.
 */
const char *dg__env(const char *name);
/* A positive integer, or dflt when unset, empty or not positive. */
uint64_t dg__env_u64(const char *name, uint64_t dflt);
/*
 * DETGRID_FAULT, the test hook that injects failures, is a comma-separated
 * list of items. dg__fault: whether an item equals name. dg__fault_num:
 * whether an item is prefix followed by a decimal number, stored in *v.
 */
int dg__fault(const char *name);
int dg__fault_num(const char *prefix, long *v);

/* ---- small utilities -------------------------------------------------------- */

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
/*
 * v as the shortest of %.15g, %.16g, %.17g that reads back as v exactly
 * (so "0.1", not "0.10000000000000001"), into buf.
 */
void dg__fmt_double(char *buf, size_t cap, double v);
int dg__utf8_valid(const char *s);
/*
 * NULL when s may be written to a project as a name (a class, frame id,
 * inference set, segment, metadata key or column, embedding model) or, with
 * allow_empty, as a free text value: non-empty, valid UTF-8, no control
 * character (C0, DEL, C1). Else the reason, for a message.
 */
const char *dg__name_problem(const char *s, int allow_empty);
/*
 * s for a message: printable text as it is, every other byte (invalid
 * UTF-8, controls) as \xHH; cut to fit cap. Returns buf.
 */
const char *dg__name_show(const char *s, char *buf, size_t cap);

/* Processors online (at least 1). */
unsigned dg__cpu_count(void);

/* ---- threads (threads.c) ---------------------------------------------------- */

/* The most threads one team uses. */
#define DG_MAX_THREADS 256

/* The team size of ctx: dg_ctx_set_threads, else one per processor. */
unsigned dg__threads(const dg_ctx *ctx);

/* One task of dg__parallel: task i, run by worker (0 .. team size - 1). */
typedef void (*dg_task_fn)(void *arg, uint64_t i, unsigned worker);

/*
 * The team dg__parallel(ctx, n, max_workers, ...) runs with: dg__threads,
 * at most max_workers (unless 0) and at most n (at least 1). Size
 * per-worker scratch by it.
 */
unsigned dg__team(const dg_ctx *ctx, uint64_t n, unsigned max_workers);
/*
 * Runs fn(arg, i, worker) for every i in [0, n) on the team above (the
 * calling thread is worker 0), tasks taken in ascending order from a
 * shared counter; returns the team size once all are done. Tasks report
 * failures through arg. Threads that cannot be created leave their share
 * to the others.
 */
unsigned dg__parallel(const dg_ctx *ctx, uint64_t n, unsigned max_workers,
                      dg_task_fn fn, void *arg);

/* ---- boxes ---------------------------------------------------------------- */

/*
 * 1 when a box and what every stage derives from it are finite numbers:
 * x, y, w, h, the far corner (x + w, y + h) and the area w * h. Importers
 * refuse the others, which would store and then fail every reader.
 */
static inline int dg__box_finite(double x, double y, double w, double h)
{
    return isfinite(x) && isfinite(y) && isfinite(w) && isfinite(h) &&
           isfinite(x + w) && isfinite(y + h) && isfinite(w * h);
}

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
/*
 * Cuts frames [lo, hi) into runs of whole frames holding at most target
 * boxes (labels + detections, by the frame offsets doff and goff; a frame
 * larger than that alone): cuts[0] = lo < cuts[1] < ... = hi. Returns the
 * number of cuts, runs + 1; cuts holds hi - lo + 1 entries.
 */
uint32_t dg__frame_runs(const uint64_t *doff, const uint64_t *goff,
                        uint32_t lo, uint32_t hi, uint64_t target,
                        uint32_t *cuts);
/* A 64-bit fingerprint of a box set's columns. */
uint64_t dg__boxset_fingerprint(const dg_boxset *b);
/*
 * The fingerprint's word hash, a fast 64-bit mix (not cryptographic: it
 * detects changes), continuing from h (start at 14695981039346656037).
 * Fed in multiples of 8 bytes it gives the same value as one call over
 * the whole buffer, so columns may be hashed a block at a time.
 */
uint64_t dg__fnv_words(uint64_t h, const void *p, size_t n);

/* ---- ordering ------------------------------------------------------------- */

/* Number of entries of the descending s[0..n) that are >= conf. */
uint64_t dg__count_at_least(const double *s, uint64_t n, double conf);

/*
 * A key whose ascending unsigned order is descending score order, for any
 * score that is not NaN (logits and percentages included): -0.0 becomes
 * +0.0; a non-negative double's bits order like its value once the sign
 * bit is set, a negative one's once all bits are inverted; inverting the
 * result reverses the order. Every sort of scores (the engine's order,
 * COCO's accumulation order) uses this one key.
 */
static inline uint64_t dg__score_key(double s)
{
    double z = s + 0.0;
    uint64_t b;
    memcpy(&b, &z, 8);
    b = (b >> 63) ? ~b : b | (UINT64_C(1) << 63);
    return ~b;
}
/*
 * The key of matching order: dg__score_key, and NaN (which has no place
 * in that order) before everything. With the index to break ties, a total
 * order that is "descending score, input order on ties" wherever scores
 * are numbers. kernels/iou.cl computes the same key.
 */
static inline uint64_t dg__match_key(double s)
{
    return s != s ? 0 : dg__score_key(s);
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

/* ---- IoU ------------------------------------------------------------------ */

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

/*
 * out[j] = dg__iou(dx, dy, dw, dh, gx[j], gy[j], gw[j], gh[j], crowd[j])
 * for j < n, bit for bit, vectorized (iou.c).
 */
void dg__iou_row(double dx, double dy, double dw, double dh,
                 const double *gx, const double *gy, const double *gw,
                 const double *gh, const uint8_t *crowd, uint64_t n,
                 double *out);

/* ---- masks: COCO run-length codes (host/core/mask.c) ---------------------- */

/*
 * A mask of h x w pixels as pycocotools' RLE: the lengths of alternating
 * runs of 0s and 1s over its pixels in column-major order, 0s first (a
 * first run of 0 when the mask starts with a 1). Runs may be 0 long
 * elsewhere too, as pycocotools keeps them, and sum to h * w. Every
 * function here computes what its pycocotools namesake (common/maskApi.c)
 * computes for valid input, written anew; docs/MASKS.md lists the rules.
 */

/* A growable array of runs. */
typedef struct dg_runs {
    uint32_t *v;
    uint64_t n, cap;
} dg_runs;

/* Makes room for more runs: 0, or -1 when memory runs out. */
int dg__runs_reserve(dg_runs *r, uint64_t more);
void dg__runs_release(dg_runs *r);

/*
 * Decodes COCO's compressed string (rleFrString: 6 bits a character,
 * characters 48..111, each run after the second stored as the difference
 * to the one two before) of s[0..len), appending the runs to out. 0, or
 * -1 with the reason in err: a character out of range, a truncated value,
 * a run that is negative or does not fit 32 bits, runs that do not sum to
 * h * w, or no memory.
 */
int dg__rle_decode(const char *s, size_t len, uint64_t h, uint64_t w,
                   dg_runs *out, char *err, size_t errcap);
/*
 * The compressed string of m runs (rleToString), NUL-terminated, malloc'd;
 * NULL when memory runs out.
 */
char *dg__rle_encode(const uint32_t *cnts, uint64_t m);
/* Pixels set: the sum of the odd runs (rleArea). */
uint64_t dg__rle_area(const uint32_t *cnts, uint64_t m);
/*
 * pycocotools' rleToBbox (2.0.x): x, y, w, h (integers) of the mask's
 * pixels; a run of 1s across columns spans the whole height; w = h_box
 * wraps as pycocotools' unsigned arithmetic does for a mask without
 * pixels (x = w, y = h, w and h of the box 1 - w and 1 - h), all zero
 * without runs of 1s at all.
 */
void dg__rle_bbox(const uint32_t *cnts, uint64_t m, uint32_t h, uint32_t w,
                  uint32_t bb[4]);
/*
 * Rasterises the polygon of k points xy[0..2k) at h x w as rleFrPoly does
 * (5x upsampling, the same roundings and truncations), appending its runs
 * to out. Coordinates must satisfy |v| <= DG_RLE_MAX_COORD and h * w <
 * 2^31. 0; -1 when memory runs out; -2 when the upsampled outline has
 * more than 2^28 points.
 */
#define DG_RLE_MAX_COORD 1e8
int dg__rle_from_poly(const double *xy, uint32_t k, uint32_t h, uint32_t w,
                      dg_runs *out);
/*
 * Box (x, y, w, h) as the polygon pycocotools' loadRes gives a result
 * without a segmentation ([[x1, y1, x1, y2, x2, y2, x2, y1]]), rasterised
 * at h x w as dg__rle_from_poly does: 0; -1 when memory runs out; -2 when
 * a corner is beyond DG_RLE_MAX_COORD or the outline too long.
 */
int dg__rle_from_box(double bx, double by, double bw, double bh, uint32_t h,
                     uint32_t w, dg_runs *out);
/*
 * The union of n masks of the same size, as rleMerge(..., intersect=0)
 * writes it: mask i's runs are cnts + off[i], off[i+1] - off[i] of them.
 * Appends to out; 0, or -1 when memory runs out.
 */
int dg__rle_union(const uint32_t *cnts, const uint64_t *off, uint32_t n,
                  dg_runs *out);
/*
 * The erosion radius faster-coco-eval uses for boundary IoU at image
 * size h x w: round(ratio * sqrt(h^2 + w^2) - 1e-10), at least 1.
 */
uint32_t dg__rle_dilation(uint32_t h, uint32_t w, double ratio);
/*
 * The boundary of a mask for boundary IoU: its pixels less those whose
 * (2d + 1)^2 neighbourhood lies inside the image and inside the mask, d =
 * dg__rle_dilation(h, w, ratio) (faster-coco-eval's toBoundary; for an
 * image at most 2d rows tall its erosion is followed as written, see
 * docs/MASKS.md). Appends canonical runs to out; 0, or -1 when memory
 * runs out.
 */
int dg__rle_boundary(const uint32_t *cnts, uint64_t m, uint32_t h,
                     uint32_t w, double ratio, dg_runs *out);

/* ---- shapes: the masks and keypoints of a box set (host/core/mask.c) ------ */

/*
 * What a box set's entries may carry besides boxes, entry i for box i:
 * a mask (masks.cnts[off[i] .. off[i+1]), mh[i] x mw[i] pixels; mh[i] ==
 * 0: none), keypoints (kp[kp_off[i] .. kp_off[i+1]), x, y, v triples;
 * none when equal), for labels the num_keypoints field (-1 when absent),
 * for detections the area the COCO protocol gives each (pycocotools'
 * loadRes: the box's w * h, the mask's area or the keypoints' extent).
 * Absent parts are NULL.
 */
typedef struct dg_shapes {
    uint64_t n, cap;
    uint64_t *off;
    dg_runs runs;
    uint32_t *mh, *mw;
    uint64_t *kp_off;
    double *kp;
    uint64_t n_kp, cap_kp;
    int32_t *num_kp;
    double *area;
} dg_shapes;

enum {
    DG_SHAPES_MASKS = 1,
    DG_SHAPES_KP = 2,
    DG_SHAPES_NUM_KP = 4,
    DG_SHAPES_AREA = 8
};

void dg__shapes_init(dg_shapes *s);
void dg__shapes_release(dg_shapes *s);
/* Releases and frees a malloc'd dg_shapes; accepts NULL. */
void dg__shapes_free(dg_shapes *s);
/* Appends src's entries to dst's (parts either has, the other lacking
 * them gets none for its entries). */
dg_status dg__shapes_append(dg_ctx *ctx, dg_shapes *dst, const dg_shapes *src);
/* The parts s has, as DG_SHAPES_* flags (masks only when some entry has
 * one, keypoints likewise). */
int dg__shapes_parts(const dg_shapes *s);
/* Makes room for more entries with the parts in flags (DG_SHAPES_*). */
dg_status dg__shapes_reserve(dg_ctx *ctx, dg_shapes *s, int flags,
                             uint64_t more);
/* Appends an entry with nothing set (no mask, no keypoints, area 0). */
void dg__shapes_push_empty(dg_shapes *s);
/* Sets the last entry's mask: its size; the runs were appended to
 * s->runs since the entry was pushed. */
void dg__shapes_end_mask(dg_shapes *s, uint32_t h, uint32_t w);
/* Appends n keypoint values to the last entry (grows; -1 without
 * memory). */
int dg__shapes_add_kp(dg_shapes *s, const double *v, uint64_t n);
/*
 * Stable-sorts the entries by frame[i] (the box set's frame column before
 * its own stable sort, dg__boxset_sort_by_frame), so that entry i stays
 * with box i.
 */
dg_status dg__shapes_sort_by_frame(dg_ctx *ctx, dg_shapes *s,
                                   const uint32_t *frame, uint32_t n_frames);
/* Whether entry i has a mask / keypoints. */
static inline int dg__shapes_has_mask(const dg_shapes *s, uint64_t i)
{
    return s->off && s->mh[i] != 0;
}
static inline int dg__shapes_has_kp(const dg_shapes *s, uint64_t i)
{
    return s->kp_off && s->kp_off[i + 1] > s->kp_off[i];
}

/* ---- added while porting the layers (one section per porter) ---- */

/* import */

/* query: metrics, confusion, frames, ... */

/* query: coco, voc, tide, embeddings, ... */

/* engine */

#include "stages.h"

/*
 * Fills rows [0, rows) of out's tables (rows of n_out cells) at cells
 * [a, a + n) with the outcome of a detection that takes nothing: DG_FP,
 * -1 and, when out->agnostic is set, DG_AGN_BACKGROUND; on ctx's threads
 * (threads.c). The matchers then write only the other outcomes.
 */
void dg__match_fill(const dg_ctx *ctx, const dg_match_output *out,
                    uint64_t n_out, int rows, uint64_t a, uint64_t n);

#endif
