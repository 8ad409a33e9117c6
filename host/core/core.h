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

/* ---- added while porting the layers (one section per porter) ---- */

/* import */

/* query: metrics, confusion, frames, ... */

/* query: coco, voc, tide, embeddings, ... */

/* engine */

#include "stages.h"

#endif
