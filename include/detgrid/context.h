/*
 * The context carries what every call needs besides its arguments: the
 * last error message, the device choice and an optional progress callback.
 * A context is not thread-safe; use one per thread.
 *
 *     dg_ctx *ctx;
 *     if (dg_ctx_new(&ctx) < 0) return 1;
 *     dg_project *p;
 *     if (dg_project_open(ctx, "project.h5", &p) < 0)
 *         fprintf(stderr, "%s\n", dg_ctx_last_error(ctx));
 */
#ifndef DETGRID_CONTEXT_H
#define DETGRID_CONTEXT_H

#include "detgrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_ctx dg_ctx;

/*
 * Where eval runs. AUTO takes an OpenCL GPU when one exists, else the
 * reference path, which beats PoCL on CPUs (tools/dev/bench.py measures it).
 */
typedef enum {
    DG_DEVICE_AUTO = 0,
    DG_DEVICE_GPU,
    DG_DEVICE_CPU, /* an OpenCL CPU device such as PoCL */
    DG_DEVICE_REF  /* the plain-C reference path, no OpenCL */
} dg_device_kind;

/* Called with a phase name and done/total; total 0 means unknown. */
typedef void (*dg_progress_fn)(void *user, const char *phase,
                               unsigned long long done,
                               unsigned long long total);

/* Allocates a context. Returns DG_ENOMEM on failure, *out untouched. */
dg_status dg_ctx_new(dg_ctx **out);

/* Frees the context and any OpenCL state it holds. Accepts NULL. */
void dg_ctx_free(dg_ctx *ctx);

/*
 * The message of the last failed call: what failed, on which file, record
 * and field where that applies. Empty string if none. Owned by ctx.
 */
const char *dg_ctx_last_error(const dg_ctx *ctx);

/*
 * Chooses the device for later eval calls. spec is "auto", "gpu", "cpu",
 * "ref", optionally followed by ":" and a platform.device index pair
 * ("cpu:0.0") or a name substring ("gpu:H100"). NULL or "" means the
 * DETGRID_DEVICE environment variable, else "auto".
 */
dg_status dg_ctx_set_device(dg_ctx *ctx, const char *spec);

/*
 * Whether a device that cannot be used (no platform, a failed build, out
 * of memory) may fall back to the reference path with a warning (allow =
 * 1, the default) or makes the call fail with its error (0), for pipelines
 * that must know the device ran.
 */
void dg_ctx_set_fallback(dg_ctx *ctx, int allow);

/*
 * Worker threads for the reference path and the store (0, the default:
 * one per online processor).
 */
void dg_ctx_set_threads(dg_ctx *ctx, unsigned n);

/* Installs a progress callback (NULL to remove). */
void dg_ctx_set_progress(dg_ctx *ctx, dg_progress_fn fn, void *user);

/*
 * Warnings gathered since the last call to this function (fallbacks,
 * skipped records), newline-separated; empty string if none. The text is
 * cleared by the next call. Owned by ctx.
 */
const char *dg_ctx_take_warnings(dg_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
