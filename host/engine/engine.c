/*
 * The engine interface (engine.h): the one place that chooses between the
 * OpenCL device and the reference path, and that falls back. Every stage
 * call below has the same shape: on the device while it works, else the
 * reference twin; a device failure of the kinds a reference run avoids
 * (no device, an OpenCL error, device memory) warns once and moves the
 * engine to the reference path for good.
 *
 * Without OpenCL (DG_HAVE_OPENCL unset: -DDETGRID_OPENCL=OFF) the device
 * branches compile away and an engine that asks for a device warns and
 * runs on the reference path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "ref.h"
#if DG_HAVE_OPENCL
#include "cl.h"
#endif

struct dg_engine {
    dg_ctx *ctx;    /* the context the device state lives in */
    int device;     /* 1 while stages run on the device */
#if DG_HAVE_OPENCL
    dg_embed_cl *emb; /* the embeddings program, opened on first use */
    dg_status emb_st; /* its opening's failure, kept */
#endif
    dg_stage_profile prof; /* what the device stages moved and took */
    char desc[600];
};

/* The device selection asks for OpenCL (auto: only when a GPU exists). */
static int wants_device(dg_ctx *ctx)
{
#if DG_HAVE_OPENCL
    dg_device_kind k = dg__ctx_device_kind(ctx);
    return k == DG_DEVICE_GPU || k == DG_DEVICE_CPU ||
           (k == DG_DEVICE_AUTO && dg__cl_have_gpu(ctx));
#else
    dg_device_kind k = dg__ctx_device_kind(ctx);
    return k == DG_DEVICE_GPU || k == DG_DEVICE_CPU;
#endif
}

static void to_reference(dg_engine *e)
{
#if DG_HAVE_OPENCL
    dg__embed_cl_close(e->emb);
    e->emb = NULL;
#endif
    e->device = 0;
    snprintf(e->desc, sizeof(e->desc), "reference");
}

#if DG_HAVE_OPENCL
/*
 * After a device stage failed with st: 1 when the caller should run the
 * reference twin instead (the warning given, the engine moved to the
 * reference path), 0 when st is the answer.
 */
static int fall_back(dg_engine *e, dg_ctx *ctx, dg_status st,
                     const char *what)
{
    if (st != DG_ENODEV && st != DG_ECL && st != DG_ENOMEM)
        return 0;
    if (!dg__ctx_fallback(e->ctx)) {
        if (ctx != e->ctx)
            dg__fail(ctx, st, "%s", dg_ctx_last_error(e->ctx));
        return 0;
    }
    dg__warn(ctx, "warning: OpenCL %s failed, falling back to the reference "
                  "path: %s",
             what, dg_ctx_last_error(e->ctx));
    to_reference(e);
    return 1;
}
#endif

dg_status dg__engine_open(dg_ctx *ctx, dg_engine **out)
{
    dg_engine *e = dg__calloc(ctx, 1, sizeof(*e));
    if (!e)
        return DG_ENOMEM;
    e->ctx = ctx;
    to_reference(e);
    if (wants_device(ctx)) {
#if DG_HAVE_OPENCL
        dg_status st = dg__cl_ensure(ctx);
        if (st >= 0) {
            e->device = 1;
            snprintf(e->desc, sizeof(e->desc), "%s", dg__cl_device_desc(ctx));
        } else if (!fall_back(e, ctx, st, "device")) {
            free(e);
            return st;
        }
#else
        if (!dg__ctx_fallback(ctx)) {
            free(e);
            return dg__fail(ctx, DG_ENODEV, "this detgrid was built without "
                                            "OpenCL (-DDETGRID_OPENCL=OFF)");
        }
        dg__warn(ctx, "warning: OpenCL device failed, falling back to the "
                      "reference path: this detgrid was built without "
                      "OpenCL");
#endif
    }
    *out = e;
    return DG_OK;
}

void dg__engine_prepare(dg_engine *e)
{
#if DG_HAVE_OPENCL
    if (e->device)
        dg__cl_prepare(e->ctx);
#else
    (void)e;
#endif
}

void dg__engine_close(dg_engine *e)
{
    if (!e)
        return;
    to_reference(e);
    free(e);
}

int dg__engine_on_device(const dg_engine *e)
{
    return e->device;
}

const char *dg__engine_desc(const dg_engine *e)
{
    return e->desc;
}

/*
 * The shape of every stage: try the device, else (or after falling back)
 * the reference. DEVICE is evaluated with the engine's own context.
 */
#if DG_HAVE_OPENCL
#define STAGE(what, DEVICE, REF)                                             \
    do {                                                                     \
        if (e->device) {                                                     \
            dg_status st_ = (DEVICE);                                        \
            if (st_ >= 0 || !fall_back(e, ctx, st_, (what)))                 \
                return st_;                                                  \
        }                                                                    \
        return (REF);                                                        \
    } while (0)
#else
#define STAGE(what, DEVICE, REF)                                             \
    do {                                                                     \
        (void)e;                                                             \
        return (REF);                                                        \
    } while (0)
#endif

dg_status dg__engine_match(dg_engine *e, dg_ctx *ctx, const dg_match_input *in,
                           const dg_match_output *out)
{
    STAGE("matching", dg__cl_match_frames(e->ctx, in, out, &e->prof),
          dg__match_frames_ref(ctx, in, out));
}

void dg__engine_profile(const dg_engine *e, dg_stage_profile *out)
{
    *out = e->prof;
}

dg_status dg__engine_mask_iou(dg_engine *e, dg_ctx *ctx,
                              const dg_mask_iou_input *in, double *out)
{
    STAGE("mask IoU", dg__cl_mask_iou(e->ctx, in, out),
          dg__mask_iou_ref(ctx, in, out));
}

dg_status dg__engine_oks(dg_engine *e, dg_ctx *ctx, const dg_oks_input *in,
                         double *out)
{
    STAGE("keypoint similarity", dg__cl_oks(e->ctx, in, out),
          dg__oks_ref(ctx, in, out));
}

dg_status dg__engine_bootstrap_sums(dg_engine *e, dg_ctx *ctx,
                                    const dg_boot_input *in, uint32_t b0,
                                    uint32_t nb, uint64_t *sums)
{
    STAGE("bootstrap", dg__cl_bootstrap_sums(e->ctx, in, b0, nb, sums),
          dg__bootstrap_sums_ref(ctx, in, b0, nb, sums));
}

/* ---- embeddings ------------------------------------------------------------ */

#if DG_HAVE_OPENCL
/* The embeddings program, built on first use: DG_OK with e->emb set, or a
 * failure for the caller's fall_back. */
static dg_status embed_session(dg_engine *e)
{
    if (!e->emb && e->emb_st == DG_OK)
        e->emb_st = dg__embed_cl_open(e->ctx, &e->emb);
    return e->emb_st;
}
#define EMB(call) (embed_session(e) < 0 ? e->emb_st : (call))
#endif

dg_status dg__engine_embed_cov(dg_engine *e, dg_ctx *ctx, const float *x,
                               uint32_t m, uint32_t d, const double *mean,
                               double *cov)
{
    (void)ctx;
    STAGE("embeddings",
          EMB(dg__embed_cl_cov(e->ctx, e->emb, x, m, d, mean, cov)),
          (dg__embed_cov_ref(x, m, d, mean, cov), DG_OK));
}

dg_status dg__engine_embed_project(dg_engine *e, dg_ctx *ctx, const float *x,
                                   uint32_t m, uint32_t d, const double *mean,
                                   const double *comp, double *xy)
{
    (void)ctx;
    STAGE("embeddings",
          EMB(dg__embed_cl_project(e->ctx, e->emb, x, m, d, mean, comp, xy)),
          (dg__embed_project_ref(x, m, d, mean, comp, xy), DG_OK));
}

dg_status dg__engine_embed_assign(dg_engine *e, dg_ctx *ctx, const float *x,
                                  uint32_t m, uint32_t d, const double *cent_t,
                                  uint32_t k, uint32_t *assign, double *dist)
{
    (void)ctx;
    STAGE("embeddings",
          EMB(dg__embed_cl_assign(e->ctx, e->emb, x, m, d, cent_t, k, assign,
                                  dist)),
          (dg__embed_assign_ref(x, m, d, cent_t, k, assign, dist), DG_OK));
}

dg_status dg__engine_embed_update(dg_engine *e, dg_ctx *ctx, const float *x,
                                  uint32_t m, uint32_t d, uint32_t k,
                                  const uint32_t *off, const uint32_t *idx,
                                  double *cent)
{
    (void)ctx;
    (void)m;
    STAGE("embeddings",
          EMB(dg__embed_cl_update(e->ctx, e->emb, x, m, d, k, off, idx,
                                  cent)),
          (dg__embed_update_ref(x, d, k, off, idx, cent), DG_OK));
}

dg_status dg__engine_embed_rproj(dg_engine *e, dg_ctx *ctx, const float *x,
                                 uint32_t m, uint32_t d, const double *rmat,
                                 uint32_t q, double *out)
{
    (void)ctx;
    STAGE("embeddings",
          EMB(dg__embed_cl_rproj(e->ctx, e->emb, x, m, d, rmat, q, out)),
          (dg__embed_rproj_ref(x, m, d, rmat, q, out), DG_OK));
}

dg_status dg__engine_embed_knn(dg_engine *e, dg_ctx *ctx, const double *z,
                               uint32_t n, uint32_t q, uint32_t k,
                               uint32_t *nbr)
{
    (void)ctx;
    STAGE("embeddings", EMB(dg__embed_cl_knn(e->ctx, e->emb, z, n, q, k, nbr)),
          (dg__embed_knn_ref(z, n, q, k, nbr), DG_OK));
}

/* iters reference steps, double-buffered, y in and out. */
static dg_status layout_ref(dg_ctx *ctx, double *y, uint32_t n,
                            const uint32_t *nbr, uint32_t k, uint32_t n_neg,
                            uint64_t seed, uint32_t iters, const double *lr)
{
    double *y2 = dg__alloc(ctx, n ? n : 1, 2 * sizeof(double));
    if (!y2)
        return DG_ENOMEM;
    double *a = y, *b = y2;
    for (uint32_t it = 0; it < iters; it++) {
        dg__embed_layout_ref(a, n, nbr, k, n_neg, seed, it, lr[it], b);
        double *t = a;
        a = b;
        b = t;
    }
    if (a != y)
        memcpy(y, a, 2 * (size_t)n * sizeof(double));
    free(y2);
    return DG_OK;
}

#if DG_HAVE_OPENCL
/* The device layout works in place: a failure half-way must not leave
 * the reference a half-moved start, so it starts from a copy. */
static dg_status layout_cl(dg_engine *e, double *y, uint32_t n,
                           const uint32_t *nbr, uint32_t k, uint32_t n_neg,
                           uint64_t seed, uint32_t iters, const double *lr)
{
    dg_status st = embed_session(e);
    if (st < 0)
        return st;
    double *w = dg__alloc(e->ctx, n ? n : 1, 2 * sizeof(double));
    if (!w)
        return DG_ENOMEM;
    memcpy(w, y, 2 * (size_t)n * sizeof(double));
    st = dg__embed_cl_layout(e->ctx, e->emb, w, n, nbr, k, n_neg, seed, iters,
                             lr);
    if (st >= 0)
        memcpy(y, w, 2 * (size_t)n * sizeof(double));
    free(w);
    return st;
}
#endif

dg_status dg__engine_embed_layout(dg_engine *e, dg_ctx *ctx, double *y,
                                  uint32_t n, const uint32_t *nbr, uint32_t k,
                                  uint32_t n_neg, uint64_t seed,
                                  uint32_t iters, const double *lr)
{
    STAGE("embeddings",
          layout_cl(e, y, n, nbr, k, n_neg, seed, iters, lr),
          layout_ref(ctx, y, n, nbr, k, n_neg, seed, iters, lr));
}

int dg_devices_auto_gpu(void)
{
#if DG_HAVE_OPENCL
    return dg__cl_have_gpu(NULL);
#else
    return 0;
#endif
}

#if !DG_HAVE_OPENCL
/* Without the OpenCL backend there are no devices to list. */
dg_status dg_devices_list(dg_ctx *ctx, dg_device_desc **out, int *n)
{
    (void)ctx;
    *out = NULL;
    *n = 0;
    return DG_OK;
}
#endif
