/*
 * cl: the OpenCL backend, as the engine sees it. Every function here has a
 * twin in host/ref/ giving the same bytes; only the engine calls these
 * (host/engine/engine.c), and only it decides when to fall back. Plain C
 * types only, so the engine needs no OpenCL header. The backend's own
 * internals are in cl_internal.h. Depends on core.
 */
#ifndef DG_CL_H
#define DG_CL_H

#include "core.h"

/* ---- the device -------------------------------------------------------------- */

/*
 * Sets up the backend for ctx's device selection if not yet done: device,
 * context and queue (programs are built on first use, program.c). DG_ENODEV
 * when no device fits, DG_ECL on OpenCL failures.
 */
dg_status dg__cl_ensure(dg_ctx *ctx);
/* "OpenCL: <platform> / <device>" of the device in use, or NULL. */
const char *dg__cl_device_desc(dg_ctx *ctx);
/* 1 if any OpenCL GPU device is present (no context is created). */
int dg__cl_have_gpu(dg_ctx *ctx);

/*
 * Starts building the matching program on a thread of its own, so that it
 * overlaps the caller's loading (dg__cl_ensure done first, quietly: a
 * failure shows at the stage). Nothing when it is built or building.
 */
void dg__cl_prepare(dg_ctx *ctx);

/* ---- stages -------------------------------------------------------------------- */

/*
 * The matching stage (stages.h): the bytes of dg__match_frames_ref, both
 * matchings when out->agnostic is set, every threshold, on the device.
 * Adds what it moved and took to *prof (unless NULL).
 */
dg_status dg__cl_match_frames(dg_ctx *ctx, const dg_match_input *in,
                              const dg_match_output *out,
                              dg_stage_profile *prof);
/* Same contracts and bytes as dg__mask_iou_ref and dg__oks_ref
 * (shapes.c). */
dg_status dg__cl_mask_iou(dg_ctx *ctx, const dg_mask_iou_input *in,
                          double *out);
dg_status dg__cl_oks(dg_ctx *ctx, const dg_oks_input *in, double *out);
/* Same contract and bytes as dg__bootstrap_sums_ref. */
dg_status dg__cl_bootstrap_sums(dg_ctx *ctx, const dg_boot_input *in,
                                uint32_t b0, uint32_t nb, uint64_t *sums);

/* ---- embeddings ---------------------------------------------------------------- */

typedef struct dg_embed_cl dg_embed_cl;
/* Starts a session on ctx's device; DG_ENODEV/DG_ECL on failure. */
dg_status dg__embed_cl_open(dg_ctx *ctx, dg_embed_cl **out);
void dg__embed_cl_close(dg_embed_cl *e);
dg_status dg__embed_cl_cov(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                           uint32_t m, uint32_t d, const double *mean,
                           double *cov);
dg_status dg__embed_cl_project(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                               uint32_t m, uint32_t d, const double *mean,
                               const double *comp, double *xy);
dg_status dg__embed_cl_assign(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, const double *cent_t,
                              uint32_t k, uint32_t *assign, double *dist);
dg_status dg__embed_cl_update(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, uint32_t k,
                              const uint32_t *off, const uint32_t *idx,
                              double *cent);

dg_status dg__embed_cl_rproj(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                             uint32_t m, uint32_t d, const double *rmat,
                             uint32_t q, double *out);
dg_status dg__embed_cl_knn(dg_ctx *ctx, dg_embed_cl *e, const double *z,
                           uint32_t n, uint32_t q, uint32_t k, uint32_t *nbr);
/* iters steps of the layout on the device: y (n x 2) in and out. */
dg_status dg__embed_cl_layout(dg_ctx *ctx, dg_embed_cl *e, double *y,
                              uint32_t n, const uint32_t *nbr, uint32_t k,
                              uint32_t n_neg, uint64_t seed, uint32_t iters,
                              const double *lr);

#endif
