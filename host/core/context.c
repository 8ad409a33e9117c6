/*
 * Context, status strings, messages, allocation and timing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dg_internal.h"

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
    dg__cl_release(ctx);
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
        spec = getenv("DETGRID_DEVICE");
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
            if (ctx->cl)
                dg__cl_release(ctx);
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

double dg__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *dg__alloc(dg_ctx *ctx, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        dg__fail(ctx, DG_ENOMEM, "allocation of %zu x %zu bytes overflows", n,
                 size);
        return NULL;
    }
    void *p = malloc(n != 0 && size != 0 ? n * size : 1);
    if (!p)
        dg__fail(ctx, DG_ENOMEM, "out of memory allocating %zu bytes",
                 n * size);
    return p;
}

void *dg__calloc(dg_ctx *ctx, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        dg__fail(ctx, DG_ENOMEM, "out of memory allocating %zu x %zu bytes",
                 n, size);
    return p;
}

int dg__grow(void **p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, n != 0 && size != 0 ? n * size : 1);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

char *dg__strdup(dg_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dg__alloc(ctx, n, 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

int dg__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!n)
            return 0;
        /* Overlong forms, surrogates and code points past U+10FFFF. */
        unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        for (int i = 1; i < n; i++)
            if (i == 1 ? (p[1] < lo || p[1] > hi) : (p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}
