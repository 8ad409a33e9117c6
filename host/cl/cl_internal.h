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
extern const char dg_cl_src_frame[];
extern const char dg_cl_src_frames[];
extern const char dg_cl_src_bootstrap[];
extern const char dg_cl_src_embed[];
extern const char dg_cl_src_shapes[];

/* The programs (program.c), each one or more kernel files. */
enum {
    DG_CL_PROG_MATCH,     /* iou.cl, frame.cl (twice), frames.cl */
    DG_CL_PROG_BOOTSTRAP, /* bootstrap.cl */
    DG_CL_PROG_EMBED,     /* embed.cl */
    DG_CL_PROG_SHAPES,    /* shapes.cl */
    DG_CL_N_PROGS
};

/* How a program was obtained. */
enum { DG_CL_PROGRAM_BUILT = 1, DG_CL_PROGRAM_CACHED = 2 };

/* A device buffer that grows and is kept between calls. */
typedef struct dg_cl_buf {
    cl_mem mem;
    size_t cap;
} dg_cl_buf;

/*
 * The matching stage's persistent buffers (frames.c): two slots of a
 * slab's input columns (uploads into one while the kernels read the
 * other), each with its pinned staging twin on devices with their own
 * memory, and the outputs.
 */
enum {
    DG_CL_IN_DX, DG_CL_IN_DY, DG_CL_IN_DW, DG_CL_IN_DH, DG_CL_IN_DS,
    DG_CL_IN_DC, DG_CL_IN_GX, DG_CL_IN_GY, DG_CL_IN_GW, DG_CL_IN_GH,
    DG_CL_IN_GC, DG_CL_IN_GCROWD, DG_CL_IN_GIGN, DG_CL_IN_DOFF,
    DG_CL_IN_GOFF, DG_CL_IN_POS, DG_CL_IN_TILE, DG_CL_IN_TOFF,
    DG_CL_IN_FLIST, DG_CL_IN_BINOFF, DG_CL_N_IN
};
enum { DG_CL_OUT_STATUS, DG_CL_OUT_MATCHED, DG_CL_OUT_AGN, DG_CL_N_OUT };

typedef struct dg_cl_slot {
    dg_cl_buf in[DG_CL_N_IN];
    cl_mem staging;      /* pinned host memory (CL_MEM_ALLOC_HOST_PTR) */
    void *staging_ptr;   /* mapped once, for as long as it lives */
    size_t staging_cap;
    cl_event uploaded;   /* the slot's last upload, or NULL */
    cl_event consumed;   /* the last kernel that read the slot, or NULL */
} dg_cl_slot;

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
    cl_command_queue queue;  /* compute (and everything but copies) */
    cl_command_queue copyq;  /* uploads and downloads of the matching stage */
    int profiling;           /* both queues have profiling on */
    dg_cl_prog progs[DG_CL_N_PROGS];
    /* The matching program's kernels, made by dg__cl_ensure_match. */
    cl_kernel k_frames, k_frames_big;
    cl_kernel k_boot; /* bootstrap.cl, made on first use */
    cl_kernel k_mask_iou, k_oks; /* shapes.cl, made on first use */

    /* The matching program built on a thread of its own while the caller
     * loads its input (dg__cl_prepare); joined by dg__cl_ensure_match. */
    void *prep;

    char platform_name[256], device_name[256], driver[128];
    char platform_version[256], device_version[256];
    char label[540]; /* "OpenCL: <platform> / <device>" */
    int is_gpu, is_cpu;
    int unified;     /* host and device share memory: no copies at all */
    uint64_t global_mem, max_alloc, local_mem;
    size_t max_wg;

    /*
     * Bytes one matching call may hold on the device; 0 means a share of
     * global memory. Tests lower it to force slabs, passes and launches
     * (dg__cl_set_batch_bytes).
     */
    uint64_t batch_bytes;
    /* Caps of a frame matched in local memory, as tests may lower them
     * (dg__cl_set_local_caps: 0 means what the device's memory allows). */
    uint32_t cap_d, cap_p;
    /* Work-items a work-group (0: the device kind's default). */
    uint32_t wg;

    int fault_oom_armed; /* DETGRID_FAULT=cl-oom, not yet fired */

    dg_cl_slot slot[2];
    dg_cl_buf out[DG_CL_N_OUT];
    dg_cl_buf thr, scratch, dummy;

    /* What the last dg__cl_match_frames call did (tests). */
    unsigned last_slabs, last_passes, last_launches;
    uint64_t last_local_frames, last_big_frames;
};

/*
 * dg__cl_ensure (cl.h) and then the matching program and its kernels
 * (joining dg__cl_prepare's thread if one runs): what the matching stage
 * calls first.
 */
dg_status dg__cl_ensure_match(dg_ctx *ctx);
/*
 * Program id of ctx's device (dg__cl_ensure done), built on first use from
 * the binary cache when it can; owned by the state. DG_ECL with the full
 * build log when the build fails, DG_EIO when DETGRID_KERNEL_DIR cannot be
 * read.
 */
dg_status dg__cl_program(dg_ctx *ctx, int id, cl_program *out);
/*
 * Builds program id into s (from the binary cache when it can), messages
 * to ctx, which need not be the state's (dg__cl_prepare's thread).
 */
dg_status dg__cl_build(dg_ctx *ctx, struct dg_cl_state *s, int id);
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
 * Makes b hold at least bytes (contents not kept when it grows), flags as
 * clCreateBuffer's. Honours DETGRID_FAULT=cl-oom on the state's first
 * allocation.
 */
dg_status dg__cl_buf_reserve(dg_ctx *ctx, dg_cl_buf *b, size_t bytes);
void dg__cl_buf_release(dg_cl_buf *b);

/* Test hooks: bytes one matching call may use (0: the default); caps of
 * frames matched in local memory (0: the device's); work-group size (0:
 * the default). */
void dg__cl_set_batch_bytes(dg_ctx *ctx, uint64_t bytes);
void dg__cl_set_local_caps(dg_ctx *ctx, uint32_t cap_d, uint32_t cap_p);
void dg__cl_set_wg(dg_ctx *ctx, uint32_t wg);

/* The default budget of one matching call on this device. */
uint64_t dg__cl_default_batch_bytes(const struct dg_cl_state *s);

/* Releases the matching stage's buffers and events of s. */
void dg__cl_frames_release(struct dg_cl_state *s);

/*
 * Enqueues kernel k over n x rows work-items (rows 1: a 1-D launch), in
 * work-groups of up to 64 along the first dimension; the global size is
 * rounded up, so kernels check their bounds.
 */
cl_int dg__cl_launch(struct dg_cl_state *s, cl_kernel k, size_t n,
                     size_t rows);

/* Shorthand for the launchers. */
#define DG_CL_ARG(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))

#endif
