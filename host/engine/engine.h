/*
 * engine: the one place that chooses between the OpenCL device and the
 * reference path, and the only way the queries reach either. An engine is
 * opened for one analysis; every stage call goes to the device while it
 * works and to the reference twin otherwise, with identical bytes.
 *
 * The policy, in full:
 *  - device "ref": the reference path;
 *  - "gpu" or "cpu" (optionally ":P.D" or ":name"): that OpenCL device;
 *  - "auto": a GPU when one is present, else the reference path (faster
 *    than PoCL on a CPU, see docs/BENCHMARKS.md).
 * When the device chosen cannot be opened, or a stage fails on it with
 * DG_ENODEV, DG_ECL or DG_ENOMEM, the engine warns once ("warning: OpenCL
 * <what> failed, falling back to the reference path: <reason>") and runs
 * that stage and every later one on the reference path. With
 * dg_ctx_set_fallback(ctx, 0) it returns the error instead.
 *
 * Depends on core, store, ref and cl; the queries include only this header
 * of the engine's.
 */
#ifndef DG_ENGINE_H
#define DG_ENGINE_H

#include "core.h"

typedef struct dg_engine dg_engine;

/* Opens the engine ctx's device selection asks for (see above). */
dg_status dg__engine_open(dg_ctx *ctx, dg_engine **out);
void dg__engine_close(dg_engine *e);
/* Starts what a device stage needs before its first call (the matching
 * program's build) on a thread of its own, to overlap the caller's own
 * work; a failure shows at that call. */
void dg__engine_prepare(dg_engine *e);
/* 1 while stages run on the OpenCL device. */
int dg__engine_on_device(const dg_engine *e);
/* "reference" or "OpenCL: <platform> / <device>" (valid while e is). */
const char *dg__engine_desc(const dg_engine *e);

/* ---- stages (contracts in stages.h and ref.h) ------------------------------ */

/*
 * Matching (stages.h): class-wise, and class-agnostic too when
 * out->agnostic is set, every threshold, both from one IoU tile a frame.
 */
dg_status dg__engine_match(dg_engine *e, dg_ctx *ctx, const dg_match_input *in,
                           const dg_match_output *out);
/* What the device stages of e moved and took so far (zeros on the
 * reference path). */
void dg__engine_profile(const dg_engine *e, dg_stage_profile *out);
/*
 * The IoU tiles of masks and of keypoints (stages.h). On the reference
 * path they may run on several threads at once, each with its own ctx
 * (dg__ctx_worker) and its own groups; on a device one call at a time.
 */
dg_status dg__engine_mask_iou(dg_engine *e, dg_ctx *ctx,
                              const dg_mask_iou_input *in, double *out);
dg_status dg__engine_oks(dg_engine *e, dg_ctx *ctx, const dg_oks_input *in,
                         double *out);
dg_status dg__engine_bootstrap_sums(dg_engine *e, dg_ctx *ctx,
                                    const dg_boot_input *in, uint32_t b0,
                                    uint32_t nb, uint64_t *sums);

/* Embeddings: the covariance, projection, k-means and layout stages. */
dg_status dg__engine_embed_cov(dg_engine *e, dg_ctx *ctx, const float *x,
                               uint32_t m, uint32_t d, const double *mean,
                               double *cov);
dg_status dg__engine_embed_project(dg_engine *e, dg_ctx *ctx, const float *x,
                                   uint32_t m, uint32_t d, const double *mean,
                                   const double *comp, double *xy);
dg_status dg__engine_embed_assign(dg_engine *e, dg_ctx *ctx, const float *x,
                                  uint32_t m, uint32_t d, const double *cent_t,
                                  uint32_t k, uint32_t *assign, double *dist);
dg_status dg__engine_embed_update(dg_engine *e, dg_ctx *ctx, const float *x,
                                  uint32_t m, uint32_t d, uint32_t k,
                                  const uint32_t *off, const uint32_t *idx,
                                  double *cent);
dg_status dg__engine_embed_rproj(dg_engine *e, dg_ctx *ctx, const float *x,
                                 uint32_t m, uint32_t d, const double *rmat,
                                 uint32_t q, double *out);
dg_status dg__engine_embed_knn(dg_engine *e, dg_ctx *ctx, const double *z,
                               uint32_t n, uint32_t q, uint32_t k,
                               uint32_t *nbr);
/* iters steps of the layout: y (n x 2) in and out; lr[iters]. */
dg_status dg__engine_embed_layout(dg_engine *e, dg_ctx *ctx, double *y,
                                  uint32_t n, const uint32_t *nbr, uint32_t k,
                                  uint32_t n_neg, uint64_t seed,
                                  uint32_t iters, const double *lr);

#endif
