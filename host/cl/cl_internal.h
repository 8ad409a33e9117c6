/*
 * The OpenCL backend's internals: device state, program cache, buffers and
 * the launchers of the kernels in kernels/. Only host/cl/ and the tests
 * include this header; the engine goes through cl.h.
 */
#ifndef DG_CL_INTERNAL_H
#define DG_CL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "cl.h"

/* Kernel sources embedded at build time (cmake/embed.cmake). */
extern const char dg_cl_src_iou[];
extern const char dg_cl_src_match[];
extern const char dg_cl_src_accum[];
extern const char dg_cl_src_confusion[];
extern const char dg_cl_src_bootstrap[];
extern const char dg_cl_src_embed[];
extern const char dg_cl_src_shapes[];

/* The programs (program.c), each one or more kernel files. */
enum {
    DG_CL_PROG_MATCH,     /* iou.cl, match.cl, accum.cl, confusion.cl */
    DG_CL_PROG_BOOTSTRAP, /* bootstrap.cl */
    DG_CL_PROG_EMBED,     /* embed.cl */
    DG_CL_PROG_SHAPES,    /* shapes.cl */
    DG_CL_N_PROGS
};

/* Flags of a ground truth in the packed group order (kernels' gflag). */
enum { DG_CL_FLAG_CROWD = 1, DG_CL_FLAG_IGNORED = 2 };

/* iou_off of a group whose IoUs match_greedy computes itself. */
#define DG_CL_IOU_ON_THE_FLY UINT64_MAX

/* How a program was obtained. */
enum { DG_CL_PROGRAM_BUILT = 1, DG_CL_PROGRAM_CACHED = 2 };

/* A device buffer that grows and is kept between calls. */
typedef struct dg_cl_buf {
    cl_mem mem;
    size_t cap;
} dg_cl_buf;

enum {
    DG_CL_BUF_GRP,     /* uint4 per group: dt_off, n_d, gt_off, n_g */
    DG_CL_BUF_IOU_OFF, /* ulong per group */
    DG_CL_BUF_DGRP,    /* uint per detection: its group */
    DG_CL_BUF_DBOX,    /* double4 per detection */
    DG_CL_BUF_DIDX,    /* uint per detection: chunk index */
    DG_CL_BUF_GBOX,    /* double4 per ground truth */
    DG_CL_BUF_GFLAG,   /* uchar per ground truth */
    DG_CL_BUF_GIDX,    /* int per ground truth: chunk index */
    DG_CL_BUF_IOU,     /* double per stored pair: candidates' IoUs */
    DG_CL_BUF_CAND,    /* uint per stored pair: candidates' indices */
    DG_CL_BUF_NCAND,   /* uint per detection: its candidate count */
    DG_CL_BUF_THR,     /* double per threshold */
    DG_CL_BUF_TAKEN,   /* uchar per (threshold, ground truth) */
    DG_CL_BUF_STATUS,  /* uchar per (threshold, detection) */
    DG_CL_BUF_MATCHED, /* int per (threshold, detection) */
    DG_CL_BUF_ORDER,   /* accumulation: uint per detection */
    DG_CL_BUF_ST_IN,   /* accumulation: uchar per (row, detection) */
    DG_CL_BUF_M_IN,    /* accumulation: int per (row, detection) */
    /*
     * Class-agnostic matching (confusion.c) reuses the buffers above with
     * a frame as the group, and adds these.
     */
    DG_CL_BUF_DCLS,    /* uint per detection: its class */
    DG_CL_BUF_GCLS,    /* uint per ground truth: its class */
    DG_CL_BUF_NIGN,    /* uint per frame: crowd or ignored ground truths */
    DG_CL_BUF_IBEST,   /* double per detection: best IoU with those */
    DG_CL_N_BUFS
};

/* The backend's state, kept in the context (core.h: dg__ctx_backend). */
#define DG_CL(ctx) ((struct dg_cl_state *)dg__ctx_backend(ctx))

/* One program of a context: built on first use. */
typedef struct dg_cl_prog {
    cl_program program;
    int source;    /* DG_CL_PROGRAM_BUILT or _CACHED */
    int from_dir;  /* DETGRID_KERNEL_DIR was used */
    char cache_path[4160]; /* file the binary was read from or written to */
} dg_cl_prog;

struct dg_cl_state {
    /* The selection this state was made for. */
    dg_device_kind kind;
    char select[256];

    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    dg_cl_prog progs[DG_CL_N_PROGS];
    /* The matching program's kernels, made by dg__cl_ensure_match. */
    cl_kernel k_iou, k_match, k_accum;
    cl_kernel k_agn_iou, k_agn_greedy; /* confusion.cl */
    cl_kernel k_boot; /* bootstrap.cl, made on first use */
    cl_kernel k_mask_iou, k_oks; /* shapes.cl, made on first use */

    char platform_name[256], device_name[256], driver[128];
    char platform_version[256], device_version[256];
    char label[540]; /* "OpenCL: <platform> / <device>" */
    int is_gpu, is_cpu;
    uint64_t global_mem, max_alloc;

    /*
     * Bytes one batch of matching may hold on the device; 0 means a share
     * of global memory. Tests lower it to force batching and on-the-fly
     * IoU (dg__cl_set_batch_bytes).
     */
    uint64_t batch_bytes;

    int fault_oom_armed; /* DETGRID_FAULT=cl-oom, not yet fired */

    dg_cl_buf bufs[DG_CL_N_BUFS];

    /* Statistics of the last dg__cl_match call. */
    unsigned last_batches;
    uint64_t last_groups, last_fly_groups, last_pairs;
};

/*
 * dg__cl_ensure (cl.h) and then the matching program and its kernels:
 * what the matchers and the accumulation call first.
 */
dg_status dg__cl_ensure_match(dg_ctx *ctx);
/*
 * Program id of ctx's device (dg__cl_ensure done), built on first use from
 * the binary cache when it can; owned by the state. DG_ECL with the full
 * build log when the build fails, DG_EIO when DETGRID_KERNEL_DIR cannot be
 * read.
 */
dg_status dg__cl_program(dg_ctx *ctx, int id, cl_program *out);
/* A new kernel of program id (release it with clReleaseKernel). */
dg_status dg__cl_kernel(dg_ctx *ctx, int id, const char *name,
                        cl_kernel *out);
/* Releases every program of s. */
void dg__cl_programs_release(struct dg_cl_state *s);
/* Releases the OpenCL state of ctx (also called by the context itself). */
void dg__cl_release(dg_ctx *ctx);

/* Records an OpenCL failure in ctx (call text, code name, place): DG_ECL. */
dg_status dg__cl_fail(dg_ctx *ctx, const char *call, cl_int err,
                      const char *file, int line);

/* "CL_OUT_OF_RESOURCES" and so on; "CL_UNKNOWN_ERROR" if unknown. */
const char *dg__cl_errname(cl_int err);

/* Assumes a dg_status st and an out: label in scope. */
#define DG_CL_TRY(ctx, call)                                                 \
    do {                                                                     \
        cl_int e_ = (call);                                                  \
        if (e_ != CL_SUCCESS) {                                              \
            st = dg__cl_fail((ctx), #call, e_, __FILE__, __LINE__);          \
            goto out;                                                        \
        }                                                                    \
    } while (0)

/*
 * The same for calls that return an object and report through an errcode
 * argument: err is that code, what names the call.
 */
#define DG_CL_TRY_ERR(ctx, err, what)                                        \
    do {                                                                     \
        if ((err) != CL_SUCCESS) {                                           \
            st = dg__cl_fail((ctx), (what), (err), __FILE__, __LINE__);      \
            goto out;                                                        \
        }                                                                    \
    } while (0)

/*
 * Makes state buffer which hold at least bytes (contents not kept when it
 * grows). Honours DETGRID_FAULT=cl-oom on the state's first allocation.
 */
dg_status dg__cl_buf_reserve(dg_ctx *ctx, int which, size_t bytes);


/* Test hook: bytes one batch of matching may use (0: the default). */
void dg__cl_set_batch_bytes(dg_ctx *ctx, uint64_t bytes);

/* The default batch budget for this device. */
uint64_t dg__cl_default_batch_bytes(const struct dg_cl_state *s);

/*
 * Enqueues kernel k over n x rows work-items (rows 1: a 1-D launch), in
 * work-groups of up to 64 along the first dimension; the global size is
 * rounded up, so kernels check their bounds.
 */
cl_int dg__cl_launch(struct dg_cl_state *s, cl_kernel k, size_t n,
                     size_t rows);

/* Shorthands for the launchers. */
#define DG_CL_ARG(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))
#define DG_CL_BUF(s, which) ((s)->bufs[(which)].mem)

/*
 * Non-blocking upload of n bytes from host to the start of state buffer
 * which (nothing when n is 0). Assumes st and out: as DG_CL_TRY does.
 */
#define DG_CL_PUT(ctx, which, ptr, n)                                        \
    do {                                                                     \
        if ((n) > 0)                                                         \
            DG_CL_TRY((ctx), clEnqueueWriteBuffer(                           \
                                 DG_CL(ctx)->queue,                           \
                                 DG_CL_BUF(DG_CL(ctx), (which)), CL_FALSE, 0, \
                                 (n), (ptr), 0, NULL, NULL));                \
    } while (0)

/* ---- batching (batch.c): shared by match.c and confusion.c -------------- */

/*
 * Both matchers pack a chunk frame by frame on the host, cut the frames
 * into batches whose buffers fit the device, then upload and launch batch
 * by batch on the in-order queue, waiting only at the end. What differs is
 * the packing and the buffers; the rest is here.
 */

/* Device bytes per stored pair: an IoU and a candidate index. */
#define DG_CL_PAIR_BYTES (sizeof(cl_double) + sizeof(cl_uint))

/* A detection's sort key: its score and its index in the chunk. */
typedef struct dg_cl_skey {
    double score;
    uint32_t idx;
} dg_cl_skey;

/*
 * Stable sort of a[0..n) by descending score: equal scores keep their
 * (ascending index) order, which is the references' comparator for every
 * score that is not NaN. tmp holds at least n / 2 keys.
 */
void dg__cl_sort_desc(dg_cl_skey *a, dg_cl_skey *tmp, uint32_t n);

/* Writes box k of b as the double4 at index o of dst. */
static inline void dg__cl_put_box(cl_double *dst, size_t o,
                                  const dg_boxset *b, uint64_t k)
{
    dst[4 * o + 0] = b->x[k];
    dst[4 * o + 1] = b->y[k];
    dst[4 * o + 2] = b->w[k];
    dst[4 * o + 3] = b->h[k];
}

/*
 * The checks both launchers make after their own argument checks: the
 * thresholds, and indices that must travel as 32-bit integers. who names
 * the launcher in the messages. DG_EINVAL or DG_ERANGE.
 */
dg_status dg__cl_check_chunk(dg_ctx *ctx, const char *who,
                             const dg_match_input *in);

/*
 * Fills sz[DG_CL_N_BUFS] with the bytes each state buffer needs for frames
 * [fa, fb) of the packed chunk (0 for buffers the launcher does not use).
 */
typedef void (*dg_cl_sizes_fn)(const void *packed, const dg_match_input *in,
                               uint32_t fa, uint32_t fb, size_t *sz);

/*
 * One launch's batches. thr lives here, not on a stack frame, because its
 * upload is non-blocking: it must stay put until dg__cl_batches_release.
 */
typedef struct dg_cl_batches {
    uint64_t budget;   /* bytes one batch may hold on the device */
    uint32_t n;        /* batches */
    uint32_t *cuts;    /* n + 1 frame boundaries, malloc'd */
    cl_double thr[DG_MAX_IOU_THRESHOLDS]; /* clamped to 1 - 1e-10 */
    cl_double thr_min; /* the lowest of thr */
    int enqueued;      /* work is on the queue: wait before freeing */
} dg_cl_batches;

/*
 * Fills b for ctx's device (dg__cl_ensure done) and returns the cap in
 * bytes on one frame's stored pairs: half the batch budget, and no more
 * than the largest allocation holds IoUs.
 */
uint64_t dg__cl_batches_init(dg_ctx *ctx, dg_cl_batches *b);

/*
 * Cuts the in->n_frames frames into batches that fit (every buffer under
 * the device's maximum allocation, all under the budget), reserves the
 * n_used buffers in used[] at their largest size over the batches, and
 * uploads the clamped thresholds to DG_CL_BUF_THR. DG_ENOMEM when a single
 * frame does not fit, or as dg__cl_buf_reserve fails.
 */
dg_status dg__cl_batches_plan(dg_ctx *ctx, dg_cl_batches *b,
                              const dg_match_input *in, dg_cl_sizes_fn sizes,
                              const void *packed, const int *used,
                              size_t n_used);

/*
 * Non-blocking read of in->n_iou rows of nd elements of elem bytes from the
 * start of state buffer which into dst, at column oa of rows in->dt->n
 * elements long.
 */
dg_status dg__cl_read_rows(dg_ctx *ctx, int which, size_t elem,
                           const dg_match_input *in, uint64_t oa,
                           uint32_t nd, void *dst);

/*
 * Waits for the queue if anything was enqueued (host memory stays in use
 * until it drains, even on error) and frees b's contents. Returns st, or
 * DG_ECL when st is DG_OK and the wait fails.
 */
dg_status dg__cl_batches_release(dg_ctx *ctx, dg_cl_batches *b,
                                 dg_status st);

/* Launchers, one per kernel, each named after its kernel. */
dg_status dg__cl_iou_pairwise(dg_ctx *ctx, cl_uint n_det, cl_uint grp_base,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong iou_base, cl_double thr_min);
dg_status dg__cl_match_greedy(dg_ctx *ctx, cl_uint n_grp, cl_uint n_thr,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong iou_base, cl_uint n_gt,
                              cl_uint out_base, cl_ulong n_out);
dg_status dg__cl_accumulate_permute(dg_ctx *ctx, cl_ulong n, cl_uint n_rows);
dg_status dg__cl_agnostic_iou(dg_ctx *ctx, cl_uint n_det, cl_uint frm_base,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong pair_base, cl_double thr_min);
dg_status dg__cl_agnostic_greedy(dg_ctx *ctx, cl_uint n_frm, cl_uint n_thr,
                                 cl_uint dt_base, cl_uint gt_base,
                                 cl_ulong pair_base, cl_uint n_gt,
                                 cl_uint out_base, cl_ulong n_out);

#endif
