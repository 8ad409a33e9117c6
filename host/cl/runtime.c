/*
 * The OpenCL runtime: platforms and devices, the choice among them, the
 * context and queue, the program (built once per context, kept in a binary
 * cache on disk across processes) and the device buffers kept between
 * calls. Everything is created on first use and freed by dg__cl_release().
 *
 * Environment:
 *   DETGRID_KERNEL_DIR       load kernels/<stage>.cl from this directory
 *                            instead of the copies embedded at build time
 *   DETGRID_CL_BUILD_OPTIONS extra options for clBuildProgram
 *   DETGRID_CACHE_DIR        binary cache directory (else
 *                            $XDG_CACHE_HOME/detgrid, else
 *                            $HOME/.cache/detgrid)
 *   DETGRID_FAULT            comma-separated simulated faults for tests:
 *                            cl-none (no platform), cl-build (the build
 *                            fails), cl-oom (the first buffer allocation
 *                            fails)
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cl_internal.h"
#include "detgrid/device.h"


/* ---- faults and environment ---------------------------------------------- */

/* Copies src into dst of cap bytes, truncating. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- platforms and devices ----------------------------------------------- */

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    int pi, di;
    cl_device_type type;
    int fp64, available;
    char platform_name[256], name[256];
} cand;

static void info_str(cl_device_id d, cl_device_info what, char *buf,
                     size_t cap)
{
    size_t got = 0;
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, cap - 1, buf, &got) != CL_SUCCESS) {
        /* Too long for buf: take the start. */
        char *tmp = NULL;
        if (clGetDeviceInfo(d, what, 0, NULL, &got) == CL_SUCCESS &&
            (tmp = malloc(got + 1)) &&
            clGetDeviceInfo(d, what, got, tmp, NULL) == CL_SUCCESS) {
            tmp[got] = 0;
            snprintf(buf, cap, "%s", tmp);
        } else {
            buf[0] = 0;
        }
        free(tmp);
        return;
    }
    buf[got < cap ? got : cap - 1] = 0;
}

static void platform_str(cl_platform_id p, cl_platform_info what, char *buf,
                         size_t cap)
{
    size_t got = 0;
    buf[0] = 0;
    if (clGetPlatformInfo(p, what, cap - 1, buf, &got) != CL_SUCCESS) {
        char *tmp = NULL;
        if (clGetPlatformInfo(p, what, 0, NULL, &got) == CL_SUCCESS &&
            (tmp = malloc(got + 1)) &&
            clGetPlatformInfo(p, what, got, tmp, NULL) == CL_SUCCESS) {
            tmp[got] = 0;
            snprintf(buf, cap, "%s", tmp);
        } else {
            buf[0] = 0;
        }
        free(tmp);
        return;
    }
    buf[got < cap ? got : cap - 1] = 0;
}

static int device_fp64(cl_device_id d)
{
    cl_device_fp_config cfg = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof(cfg), &cfg,
                        NULL) == CL_SUCCESS &&
        cfg)
        return 1;
    /* OpenCL 1.1 devices may report fp64 only as an extension. */
    size_t n = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &n) != CL_SUCCESS)
        return 0;
    char *ext = malloc(n + 1);
    int has = 0;
    if (ext && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, n, ext, NULL) ==
                   CL_SUCCESS) {
        ext[n] = 0;
        has = strstr(ext, "cl_khr_fp64") != NULL;
    }
    free(ext);
    return has;
}

/*
 * Every device of every platform, in platform and device index order. No
 * platform (or DETGRID_FAULT=cl-none) gives zero devices, not an error.
 */
static dg_status list_devices(dg_ctx *ctx, cand **out, int *n_out)
{
    dg_status st = DG_OK;
    cl_uint n_plat = 0;
    cl_platform_id *plats = NULL;
    cand *c = NULL;
    int n = 0, cap = 0;

    *out = NULL;
    *n_out = 0;
    if (dg__fault("cl-none"))
        return DG_OK;
    cl_int err = clGetPlatformIDs(0, NULL, &n_plat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ ||
        (err == CL_SUCCESS && n_plat == 0))
        return DG_OK;
    DG_CL_TRY_ERR(ctx, err, "clGetPlatformIDs");
    plats = dg__alloc(ctx, n_plat, sizeof(*plats));
    if (!plats)
        return DG_ENOMEM;
    DG_CL_TRY(ctx, clGetPlatformIDs(n_plat, plats, NULL));
    for (cl_uint p = 0; p < n_plat; p++) {
        cl_uint n_dev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_dev);
        if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && !n_dev))
            continue;
        if (err != CL_SUCCESS)
            continue; /* a broken platform must not hide the others */
        cl_device_id *devs = dg__alloc(ctx, n_dev, sizeof(*devs));
        if (!devs) {
            st = DG_ENOMEM;
            goto out;
        }
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, n_dev, devs, NULL) !=
            CL_SUCCESS) {
            free(devs);
            continue;
        }
        for (cl_uint d = 0; d < n_dev; d++) {
            if (n == cap) {
                int ncap = cap ? cap * 2 : 8;
                cand *nc = realloc(c, (size_t)ncap * sizeof(*c));
                if (!nc) {
                    free(devs);
                    st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                    goto out;
                }
                c = nc;
                cap = ncap;
            }
            cand *e = &c[n++];
            memset(e, 0, sizeof(*e));
            e->platform = plats[p];
            e->device = devs[d];
            e->pi = (int)p;
            e->di = (int)d;
            clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof(e->type), &e->type,
                            NULL);
            cl_bool avail = CL_FALSE, comp = CL_FALSE;
            clGetDeviceInfo(devs[d], CL_DEVICE_AVAILABLE, sizeof(avail),
                            &avail, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_COMPILER_AVAILABLE, sizeof(comp),
                            &comp, NULL);
            e->available = avail && comp;
            e->fp64 = device_fp64(devs[d]);
            platform_str(plats[p], CL_PLATFORM_NAME, e->platform_name,
                         sizeof(e->platform_name));
            info_str(devs[d], CL_DEVICE_NAME, e->name, sizeof(e->name));
        }
        free(devs);
    }
out:
    free(plats);
    if (st < 0) {
        free(c);
        return st;
    }
    *out = c;
    *n_out = n;
    return DG_OK;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 1;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* "P.D" with decimal indices. */
static int parse_index(const char *s, int *p, int *d)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return 0;
    long a = strtol(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return 0;
    long b = strtol(end + 1, &end, 10);
    if (*end || a > 1 << 20 || b > 1 << 20)
        return 0;
    *p = (int)a;
    *d = (int)b;
    return 1;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

static const char *kind_name(dg_device_kind k)
{
    switch (k) {
    case DG_DEVICE_GPU:
        return "GPU";
    case DG_DEVICE_CPU:
        return "CPU";
    default:
        return "";
    }
}

/* What was seen, for messages: "0.0 'PoCL / cpu' (CPU), ...". */
static void describe(const cand *c, int n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 1 < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%d.%d '%s / %s' (%s%s%s)",
                         i ? ", " : "", c[i].pi, c[i].di, c[i].platform_name,
                         c[i].name, type_name(c[i].type),
                         c[i].fp64 ? "" : ", no fp64",
                         c[i].available ? "" : ", unavailable");
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (!n)
        snprintf(buf, cap, "no OpenCL platform or device");
}

static int kind_fits(dg_device_kind kind, cl_device_type t)
{
    if (kind == DG_DEVICE_GPU)
        return (t & CL_DEVICE_TYPE_GPU) != 0;
    if (kind == DG_DEVICE_CPU)
        return (t & CL_DEVICE_TYPE_CPU) != 0;
    return 1;
}

/*
 * Picks the device for kind and sel: "" is the first that fits, "P.D" an
 * index pair, anything else a case-insensitive substring of the platform or
 * device name. AUTO prefers a GPU, then a CPU, then anything else. Devices
 * without fp64 or without a compiler do not fit.
 */
static dg_status select_device(dg_ctx *ctx, dg_device_kind kind,
                               const char *sel, cand *chosen)
{
    cand *c = NULL;
    int n = 0, p, d, pick = -1;
    char seen[2048];
    dg_status st = list_devices(ctx, &c, &n);
    if (st < 0)
        return st;
    describe(c, n, seen, sizeof(seen));
    if (!n) {
        st = dg__fail(ctx, DG_ENODEV, "no OpenCL platform found%s",
                      dg__fault("cl-none")
                          ? " (simulated: DETGRID_FAULT=cl-none)"
                          : "");
        goto out;
    }
    if (parse_index(sel, &p, &d)) {
        for (int i = 0; i < n; i++)
            if (c[i].pi == p && c[i].di == d)
                pick = i;
        if (pick < 0) {
            st = dg__fail(ctx, DG_ENODEV, "no OpenCL device %d.%d (seen: %s)",
                          p, d, seen);
            goto out;
        }
        if (!kind_fits(kind, c[pick].type)) {
            st = dg__fail(ctx, DG_ENODEV,
                          "OpenCL device %d.%d '%s' is a %s, not a %s", p, d,
                          c[pick].name, type_name(c[pick].type),
                          kind_name(kind));
            goto out;
        }
        if (!c[pick].fp64 || !c[pick].available) {
            st = dg__fail(ctx, DG_ENODEV,
                          "OpenCL device %d.%d '%s' is unusable: %s", p, d,
                          c[pick].name,
                          !c[pick].fp64 ? "no double precision (cl_khr_fp64)"
                                        : "unavailable or without a compiler");
            goto out;
        }
    } else {
        static const cl_device_type auto_order[] = {
            CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_ALL};
        for (size_t pass = 0; pass < 3 && pick < 0; pass++) {
            for (int i = 0; i < n && pick < 0; i++) {
                if (!kind_fits(kind, c[i].type) || !c[i].fp64 ||
                    !c[i].available)
                    continue;
                if (kind == DG_DEVICE_AUTO && !(c[i].type & auto_order[pass]))
                    continue;
                if (!contains_nocase(c[i].platform_name, sel) &&
                    !contains_nocase(c[i].name, sel))
                    continue;
                pick = i;
            }
            if (kind != DG_DEVICE_AUTO)
                break;
        }
        if (pick < 0) {
            char what[300] = "";
            if (*sel)
                snprintf(what, sizeof(what), " matching '%s'", sel);
            st = dg__fail(ctx, DG_ENODEV,
                          "no usable OpenCL %s%sdevice%s (double precision "
                          "is required; seen: %s)",
                          kind_name(kind), kind == DG_DEVICE_AUTO ? "" : " ",
                          what, seen);
            goto out;
        }
        if (ctx && kind == DG_DEVICE_AUTO &&
            !(c[pick].type & CL_DEVICE_TYPE_GPU))
            dg__warn(ctx, "warning: no OpenCL GPU found; using %s device '%s'",
                     type_name(c[pick].type), c[pick].name);
    }
    *chosen = c[pick];
out:
    free(c);
    return st;
}

/* ---- state ------------------------------------------------------------- */

static void prep_join(struct dg_cl_state *s);

static void state_free(struct dg_cl_state *s)
{
    if (!s)
        return;
    prep_join(s);
    dg__cl_frames_release(s);
    if (s->k_frames_big)
        clReleaseKernel(s->k_frames_big);
    if (s->k_frames)
        clReleaseKernel(s->k_frames);
    if (s->k_boot)
        clReleaseKernel(s->k_boot);
    if (s->k_mask_iou)
        clReleaseKernel(s->k_mask_iou);
    if (s->k_oks)
        clReleaseKernel(s->k_oks);
    dg__cl_programs_release(s);
    if (s->copyq)
        clReleaseCommandQueue(s->copyq);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    if (s->context)
        clReleaseContext(s->context);
    free(s);
}

static void state_release(void *s)
{
    state_free(s);
}

void dg__cl_release(dg_ctx *ctx)
{
    if (ctx)
        dg__ctx_release_backend(ctx);
}

uint64_t dg__cl_default_batch_bytes(const struct dg_cl_state *s)
{
    /*
     * Half of global memory (the matching stage's outputs are T x N and
     * stay on the device until the end), leaving the rest to other users
     * and the driver; no less than 16 MiB.
     */
    uint64_t b = s->global_mem / 2;
    if (b < (uint64_t)16 << 20)
        b = (uint64_t)16 << 20;
    return b;
}

void dg__cl_set_batch_bytes(dg_ctx *ctx, uint64_t bytes)
{
    if (ctx && DG_CL(ctx))
        DG_CL(ctx)->batch_bytes = bytes;
}

void dg__cl_set_local_caps(dg_ctx *ctx, uint32_t cap_d, uint32_t cap_p)
{
    if (ctx && DG_CL(ctx)) {
        DG_CL(ctx)->cap_d = cap_d;
        DG_CL(ctx)->cap_p = cap_p;
    }
}

void dg__cl_set_wg(dg_ctx *ctx, uint32_t wg)
{
    if (ctx && DG_CL(ctx))
        DG_CL(ctx)->wg = wg;
}

dg_status dg__cl_ensure(dg_ctx *ctx)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = NULL;
    cand c;
    cl_int err;

    if (DG_CL(ctx)) {
        /*
         * dg_ctx_set_device() releases the state; a kind changed behind its
         * back keeps it while the device still fits.
         */
        struct dg_cl_state *o = DG_CL(ctx);
        int fits = dg__ctx_device_kind(ctx) == o->kind ||
                   dg__ctx_device_kind(ctx) == DG_DEVICE_AUTO ||
                   (dg__ctx_device_kind(ctx) == DG_DEVICE_GPU && o->is_gpu) ||
                   (dg__ctx_device_kind(ctx) == DG_DEVICE_CPU && o->is_cpu);
        if (fits && !strcmp(o->select, dg__ctx_device_select(ctx)))
            return DG_OK;
        dg__cl_release(ctx);
    }
    if (dg__ctx_device_kind(ctx) == DG_DEVICE_REF)
        return dg__fail(ctx, DG_ENODEV,
                        "the reference path is selected; OpenCL is not used");
    st = select_device(ctx, dg__ctx_device_kind(ctx), dg__ctx_device_select(ctx), &c);
    if (st < 0)
        return st;

    s = dg__calloc(ctx, 1, sizeof(*s));
    if (!s)
        return DG_ENOMEM;
    s->kind = dg__ctx_device_kind(ctx);
    copy_str(s->select, sizeof(s->select), dg__ctx_device_select(ctx));
    s->platform = c.platform;
    s->device = c.device;
    s->is_gpu = (c.type & CL_DEVICE_TYPE_GPU) != 0;
    s->is_cpu = (c.type & CL_DEVICE_TYPE_CPU) != 0;
    copy_str(s->platform_name, sizeof(s->platform_name), c.platform_name);
    copy_str(s->device_name, sizeof(s->device_name), c.name);
    info_str(s->device, CL_DRIVER_VERSION, s->driver, sizeof(s->driver));
    info_str(s->device, CL_DEVICE_VERSION, s->device_version,
             sizeof(s->device_version));
    platform_str(s->platform, CL_PLATFORM_VERSION, s->platform_version,
                 sizeof(s->platform_version));
    snprintf(s->label, sizeof(s->label), "OpenCL: %s / %s", s->platform_name,
             s->device_name);
    cl_ulong gm = 0, ma = 0;
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_GLOBAL_MEM_SIZE,
                                   sizeof(gm), &gm, NULL));
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                   sizeof(ma), &ma, NULL));
    s->global_mem = gm;
    s->max_alloc = ma;
    /* The limits the matching stage plans by: queried, never assumed. */
    cl_ulong lm = 0;
    cl_bool um = CL_FALSE;
    cl_device_local_mem_type lt = CL_LOCAL;
    size_t mwg = 1;
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_LOCAL_MEM_SIZE,
                                   sizeof(lm), &lm, NULL));
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                                   sizeof(mwg), &mwg, NULL));
    if (clGetDeviceInfo(s->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof(um),
                        &um, NULL) != CL_SUCCESS)
        um = CL_FALSE;
    if (clGetDeviceInfo(s->device, CL_DEVICE_LOCAL_MEM_TYPE, sizeof(lt), &lt,
                        NULL) != CL_SUCCESS)
        lt = CL_LOCAL;
    s->local_mem = lm;
    s->max_wg = mwg ? mwg : 1;
    s->unified = um == CL_TRUE;
    s->fault_oom_armed = dg__fault("cl-oom");

    cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, (cl_context_properties)s->platform, 0};
    s->context = clCreateContext(props, 1, &s->device, NULL, NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateContext");
    /* Profiling on: the stage profile reports the device's own times. */
    s->queue = clCreateCommandQueue(s->context, s->device,
                                    CL_QUEUE_PROFILING_ENABLE, &err);
    s->profiling = err == CL_SUCCESS;
    if (err != CL_SUCCESS)
        s->queue = clCreateCommandQueue(s->context, s->device, 0, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateCommandQueue");
    s->copyq = clCreateCommandQueue(s->context, s->device,
                                    s->profiling ? CL_QUEUE_PROFILING_ENABLE
                                                 : 0,
                                    &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateCommandQueue(copy)");
    dg__ctx_set_backend(ctx, s, state_release);
    s = NULL;
out:
    state_free(s);
    return st;
}

/* ---- the matching program, built ahead ------------------------------------ */

typedef struct prep {
    pthread_t th;
    dg_ctx *w;          /* its own context: messages */
    struct dg_cl_state *s;
    dg_status st;
} prep;

static void *prep_run(void *arg)
{
    prep *p = arg;
    p->st = dg__cl_build(p->w, p->s, DG_CL_PROG_MATCH);
    return NULL;
}

void dg__cl_prepare(dg_ctx *ctx)
{
    if (dg__cl_ensure(ctx) < 0)
        return;
    struct dg_cl_state *s = DG_CL(ctx);
    if (s->prep || s->progs[DG_CL_PROG_MATCH].program)
        return;
    prep *p = calloc(1, sizeof(*p));
    if (!p || !(p->w = dg__ctx_worker())) {
        free(p);
        return;
    }
    p->s = s;
    if (pthread_create(&p->th, NULL, prep_run, p) != 0) {
        dg_ctx_free(p->w);
        free(p);
        return;
    }
    s->prep = p;
}

/* Waits for the build ahead, if any; its failure into ctx (unless NULL). */
static dg_status prep_wait(dg_ctx *ctx, struct dg_cl_state *s)
{
    prep *p = s->prep;
    if (!p)
        return DG_OK;
    pthread_join(p->th, NULL);
    dg_status st = dg__ctx_adopt(ctx, p->w, p->st);
    dg_ctx_free(p->w);
    free(p);
    s->prep = NULL;
    return st;
}

static void prep_join(struct dg_cl_state *s)
{
    prep_wait(NULL, s);
}

dg_status dg__cl_ensure_match(dg_ctx *ctx)
{
    dg_status st = dg__cl_ensure(ctx);
    if (st < 0)
        return st;
    struct dg_cl_state *s = DG_CL(ctx);
    if ((st = prep_wait(ctx, s)) < 0) {
        dg__cl_release(ctx);
        return st;
    }
    if (s->k_frames_big)
        return DG_OK;
    if ((st = dg__cl_kernel(ctx, DG_CL_PROG_MATCH, "match_frames",
                            &s->k_frames)) < 0 ||
        (st = dg__cl_kernel(ctx, DG_CL_PROG_MATCH, "match_frames_big",
                            &s->k_frames_big)) < 0) {
        /* Nothing half-made stays behind: the next call starts afresh. */
        dg__cl_release(ctx);
        return st;
    }
    return DG_OK;
}

dg_status dg__cl_buf_reserve(dg_ctx *ctx, dg_cl_buf *b, size_t bytes)
{
    struct dg_cl_state *s = DG_CL(ctx);
    dg_status st = DG_OK;
    cl_int err;

    if (bytes == 0)
        bytes = 1; /* zero-sized buffers are invalid */
    if (b->mem && b->cap >= bytes)
        return DG_OK;
    if (bytes > s->max_alloc)
        return dg__fail(ctx, DG_ENOMEM,
                        "a device buffer of %zu bytes exceeds the device's "
                        "maximum allocation of %llu bytes",
                        bytes, (unsigned long long)s->max_alloc);
    dg__cl_buf_release(b);
    /* Grow by half again so calls of slowly rising size reuse buffers. */
    size_t cap = bytes;
    if (bytes < SIZE_MAX / 3 * 2 && bytes + bytes / 2 <= s->max_alloc)
        cap = bytes + bytes / 2;
    if (s->fault_oom_armed) {
        s->fault_oom_armed = 0;
        st = dg__cl_fail(ctx,
                         "clCreateBuffer (simulated: DETGRID_FAULT=cl-oom)",
                         CL_MEM_OBJECT_ALLOCATION_FAILURE, __FILE__,
                         __LINE__);
        goto out;
    }
    b->mem = clCreateBuffer(s->context, CL_MEM_READ_WRITE, cap, NULL, &err);
    if (err != CL_SUCCESS && cap > bytes) {
        cap = bytes;
        b->mem = clCreateBuffer(s->context, CL_MEM_READ_WRITE, cap, NULL, &err);
    }
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer");
    b->cap = cap;
out:
    return st;
}

void dg__cl_buf_release(dg_cl_buf *b)
{
    if (b->mem)
        clReleaseMemObject(b->mem);
    b->mem = NULL;
    b->cap = 0;
}

/* ---- public listing -------------------------------------------------------- */

dg_status dg_devices_list(dg_ctx *ctx, dg_device_desc **out, int *n)
{
    cand *c = NULL;
    int nc = 0;
    dg_status st;

    if (!out || !n)
        return dg__fail(ctx, DG_EINVAL, "dg_devices_list: NULL argument");
    *out = NULL;
    *n = 0;
    st = list_devices(ctx, &c, &nc);
    if (st < 0)
        return st;
    if (!nc)
        return DG_OK;
    dg_device_desc *d = dg__calloc(ctx, (size_t)nc, sizeof(*d));
    if (!d) {
        free(c);
        return DG_ENOMEM;
    }
    for (int i = 0; i < nc; i++) {
        cl_ulong gm = 0, ma = 0;
        cl_uint cu = 0;
        d[i].platform = c[i].pi;
        d[i].device = c[i].di;
        copy_str(d[i].platform_name, sizeof(d[i].platform_name),
                 c[i].platform_name);
        copy_str(d[i].name, sizeof(d[i].name), c[i].name);
        info_str(c[i].device, CL_DEVICE_VERSION, d[i].version,
                 sizeof(d[i].version));
        info_str(c[i].device, CL_DRIVER_VERSION, d[i].driver,
                 sizeof(d[i].driver));
        d[i].is_gpu = (c[i].type & CL_DEVICE_TYPE_GPU) != 0;
        d[i].is_cpu = (c[i].type & CL_DEVICE_TYPE_CPU) != 0;
        d[i].has_fp64 = c[i].fp64;
        d[i].available = c[i].available;
        clGetDeviceInfo(c[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(gm),
                        &gm, NULL);
        clGetDeviceInfo(c[i].device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(ma),
                        &ma, NULL);
        clGetDeviceInfo(c[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu),
                        &cu, NULL);
        d[i].global_mem = gm;
        d[i].max_alloc = ma;
        d[i].compute_units = cu;
    }
    free(c);
    *out = d;
    *n = nc;
    return DG_OK;
}

const char *dg__cl_device_desc(dg_ctx *ctx)
{
    return ctx && DG_CL(ctx) ? DG_CL(ctx)->label : NULL;
}

/*
 * Whether a GPU could be here at all. Every GPU driver on Linux makes
 * device nodes (NVIDIA /dev/nvidiactl, AMD's compute /dev/kfd, the DRM
 * render and card nodes /dev/dri/renderD* and card* of Intel, AMD, Mesa,
 * WSL's /dev/dxg, Android's /dev/kgsl-3d0 and /dev/mali0), so without one
 * no OpenCL platform can offer a GPU, and the platforms need not be loaded
 * (PoCL's, with its compiler, costs tens of milliseconds of CPU) to learn
 * so. Elsewhere it is not known: 1. DETGRID_DEV_DIR names another folder
 * to look in (tests).
 */
static int gpu_nodes_present(void)
{
#ifdef __linux__
    static const char *const nodes[] = { "nvidiactl", "nvidia0", "kfd",
                                         "dxg", "kgsl-3d0", "mali0" };
    const char *dev = dg__env("DETGRID_DEV_DIR");
    char path[4096];
    struct stat sb;
    if (!dev || !*dev)
        dev = "/dev";
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dev, nodes[i]);
        if (stat(path, &sb) == 0)
            return 1;
    }
    snprintf(path, sizeof(path), "%s/dri", dev);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, "renderD", 7) == 0 ||
                strncmp(e->d_name, "card", 4) == 0;
    closedir(d);
    return found;
#else
    return 1;
#endif
}

int dg__cl_have_gpu(dg_ctx *ctx)
{
    /*
     * Listing platforms costs tens of milliseconds (PoCL), and the answer
     * for the plain selection does not change within a process: keep it.
     * DETGRID_FAULT=cl-none is a test hook that changes it, so it is not
     * cached then.
     */
    static int cached = -1; /* for the selection "" */
    const char *sel = ctx ? dg__ctx_device_select(ctx) : "";
    int plain = !*sel && !dg__fault("cl-none");
    if (plain && cached >= 0)
        return cached;
    cand c;
    /* A quiet probe: no context, and ctx's message is left alone. */
    int have = gpu_nodes_present() &&
               select_device(NULL, DG_DEVICE_GPU, sel, &c) == DG_OK;
    if (plain)
        cached = have;
    return have;
}

cl_int dg__cl_launch(struct dg_cl_state *s, cl_kernel k, size_t n,
                     size_t rows)
{
    size_t wg = 0, local[2] = {64, 1}, global[2];
    if (clGetKernelWorkGroupInfo(k, s->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof(wg), &wg, NULL) != CL_SUCCESS)
        wg = 1;
    while (local[0] > 1 && local[0] > wg)
        local[0] /= 2;
    global[0] = (n + local[0] - 1) / local[0] * local[0];
    global[1] = rows;
    if (!global[0] || !rows)
        return CL_SUCCESS;
    return clEnqueueNDRangeKernel(s->queue, k, rows > 1 ? 2 : 1, NULL, global,
                                  local, 0, NULL, NULL);
}
