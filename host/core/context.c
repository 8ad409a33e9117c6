/*
 * The context: status strings, the last error message, warnings, progress,
 * the device selection and the state the other layers keep in it. Its
 * fields are private to this file; the layers use the accessors of core.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct dg_ctx {
    char err[DG_ERR_CAP];
    char *warnings; /* malloc'd, newline-separated, or NULL */
    size_t warnings_len;
    dg_device_kind device_kind;
    char device_select[256]; /* "", "0.1" or a name substring */
    dg_progress_fn progress;
    void *progress_user;
    dg_eval_stats stats;
    /* The device backend's state and its release (host/cl/). */
    void *backend;
    void (*backend_release)(void *);
    /* dg_ctx_set_memory_budget (0: unbounded) and the MPI world this
     * context shards eval over (size 1: none). */
    uint64_t mem_budget;
    int mpi_rank, mpi_size;
    unsigned threads; /* 0: one per processor */
    int no_fallback;  /* dg_ctx_set_fallback(ctx, 0) */
};

const char *dg_strerror(dg_status st)
{
    switch (st) {
#define X(name, code, msg) case DG_##name: return msg;
        DG_STATUS_MAP(X)
#undef X
    }
    return "unknown status";
}

const char *dg_status_name(dg_status st)
{
    switch (st) {
#define X(name, code, msg) case DG_##name: return #name;
        DG_STATUS_MAP(X)
#undef X
    }
    return "UNKNOWN";
}

dg_status dg_ctx_new(dg_ctx **out)
{
    dg_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return DG_ENOMEM;
    ctx->device_kind = DG_DEVICE_AUTO;
    if (dg_ctx_set_device(ctx, NULL) < 0) {
        /* A bad DETGRID_DEVICE is reported when eval runs. */
        ctx->device_kind = DG_DEVICE_AUTO;
    }
    ctx->err[0] = 0;
    *out = ctx;
    return DG_OK;
}

void dg_ctx_free(dg_ctx *ctx)
{
    if (!ctx)
        return;
    dg__ctx_release_backend(ctx);
    free(ctx->warnings);
    free(ctx);
}

const char *dg_ctx_last_error(const dg_ctx *ctx)
{
    return ctx ? ctx->err : "";
}

dg_status dg_ctx_set_device(dg_ctx *ctx, const char *spec)
{
    if (!spec || !*spec)
        spec = dg__env("DETGRID_DEVICE");
    if (!spec || !*spec)
        spec = "auto";
    static const struct {
        const char *name;
        dg_device_kind kind;
    } kinds[] = {{"auto", DG_DEVICE_AUTO},
                 {"gpu", DG_DEVICE_GPU},
                 {"cpu", DG_DEVICE_CPU},
                 {"ref", DG_DEVICE_REF}};
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strlen(kinds[i].name) == len && !strncmp(kinds[i].name, spec, len)) {
            const char *sel = colon ? colon + 1 : "";
            if (strlen(sel) >= sizeof(ctx->device_select))
                return dg__fail(ctx, DG_EINVAL, "device selector too long: '%s'",
                                sel);
            ctx->device_kind = kinds[i].kind;
            strcpy(ctx->device_select, sel);
            dg__ctx_release_backend(ctx);
            return DG_OK;
        }
    }
    return dg__fail(ctx, DG_EINVAL,
                    "unknown device '%s' (expected auto, gpu, cpu or ref, "
                    "optionally followed by :P.D or :name)",
                    spec);
}

void dg_ctx_set_progress(dg_ctx *ctx, dg_progress_fn fn, void *user)
{
    ctx->progress = fn;
    ctx->progress_user = user;
}

const char *dg_ctx_take_warnings(dg_ctx *ctx)
{
    static const char empty[] = "";
    if (!ctx->warnings)
        return empty;
    /* Hand out the buffer once; the next call or warning frees it. */
    if (ctx->warnings_len == (size_t)-1) {
        free(ctx->warnings);
        ctx->warnings = NULL;
        ctx->warnings_len = 0;
        return empty;
    }
    ctx->warnings_len = (size_t)-1;
    return ctx->warnings;
}

dg_status dg__fail(dg_ctx *ctx, dg_status st, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
        va_end(ap);
    }
    return st;
}

dg_status dg__fail_prefix(dg_ctx *ctx, dg_status st, const char *fmt, ...)
{
    if (ctx) {
        char prefix[1024], old[sizeof(ctx->err) - sizeof(prefix) - 4];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, ctx->err, sizeof(old) - 1);
        old[sizeof(old) - 1] = 0;
        snprintf(ctx->err, sizeof(ctx->err), "%s: %s", prefix, old);
    }
    return st;
}

void dg__warn(dg_ctx *ctx, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    if (!ctx)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1;
    if (ctx->warnings_len == (size_t)-1) {
        free(ctx->warnings);
        ctx->warnings = NULL;
        ctx->warnings_len = 0;
    }
    char *w = realloc(ctx->warnings, ctx->warnings_len + (size_t)n + 2);
    if (!w)
        return;
    memcpy(w + ctx->warnings_len, line, (size_t)n);
    ctx->warnings_len += (size_t)n;
    w[ctx->warnings_len++] = '\n';
    w[ctx->warnings_len] = 0;
    ctx->warnings = w;
}

void dg__progress(dg_ctx *ctx, const char *phase, uint64_t done,
                  uint64_t total)
{
    if (ctx && ctx->progress)
        ctx->progress(ctx->progress_user, phase, done, total);
}

dg_ctx *dg__ctx_worker(void)
{
    dg_ctx *w = calloc(1, sizeof(*w));
    if (w)
        w->device_kind = DG_DEVICE_REF;
    return w;
}

dg_status dg__ctx_adopt(dg_ctx *ctx, dg_ctx *w, dg_status st)
{
    if (!ctx || !w)
        return st;
    if (st < 0)
        memcpy(ctx->err, w->err, sizeof(ctx->err));
    if (w->warnings && w->warnings_len != (size_t)-1) {
        /* Line by line, so that ctx's buffer rules apply. */
        for (char *p = w->warnings; *p;) {
            char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            dg__warn(ctx, "%.*s", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    free(w->warnings);
    w->warnings = NULL;
    w->warnings_len = 0;
    return st;
}

dg_device_kind dg__ctx_device_kind(const dg_ctx *ctx)
{
    return ctx->device_kind;
}

const char *dg__ctx_device_select(const dg_ctx *ctx)
{
    return ctx->device_select;
}

void *dg__ctx_backend(const dg_ctx *ctx)
{
    return ctx->backend;
}

void dg__ctx_set_backend(dg_ctx *ctx, void *state, void (*release)(void *))
{
    ctx->backend = state;
    ctx->backend_release = release;
}

void dg__ctx_release_backend(dg_ctx *ctx)
{
    if (ctx->backend && ctx->backend_release)
        ctx->backend_release(ctx->backend);
    ctx->backend = NULL;
    ctx->backend_release = NULL;
}

dg_eval_stats *dg__ctx_stats(dg_ctx *ctx)
{
    return &ctx->stats;
}

void dg_eval_get_stats(const dg_ctx *ctx, dg_eval_stats *out)
{
    *out = ctx->stats;
}

void dg_ctx_set_memory_budget(dg_ctx *ctx, uint64_t bytes)
{
    ctx->mem_budget = bytes;
}

uint64_t dg__ctx_mem_budget(const dg_ctx *ctx)
{
    return ctx->mem_budget;
}

void dg__ctx_mpi(const dg_ctx *ctx, int *rank, int *size)
{
    *rank = ctx->mpi_size > 1 ? ctx->mpi_rank : 0;
    *size = ctx->mpi_size > 1 ? ctx->mpi_size : 1;
}

void dg__ctx_set_mpi(dg_ctx *ctx, int rank, int size)
{
    ctx->mpi_rank = rank;
    ctx->mpi_size = size;
}

unsigned dg__ctx_threads(const dg_ctx *ctx)
{
    return ctx ? ctx->threads : 0;
}

void dg_ctx_set_fallback(dg_ctx *ctx, int allow)
{
    ctx->no_fallback = !allow;
}

int dg__ctx_fallback(const dg_ctx *ctx)
{
    return !ctx->no_fallback;
}

void dg_ctx_set_threads(dg_ctx *ctx, unsigned n)
{
    ctx->threads = n;
}
