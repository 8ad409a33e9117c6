/*
 * The neighbourhood-preserving layout (dg_embed_layout in
 * include/detgrid/embeddings.h): random projection, brute-force kNN and a
 * force-directed refinement of the PCA coordinates, each step through the
 * engine, on the device or the reference path with the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_impl.h"

#define MAX_POINTS 20000u
#define Q_MAX 16u
#define N_NEG 5u

static uint64_t mixer(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The checks of dg_embed_layout before any work. */
static dg_status check_layout(dg_ctx *ctx, const dg_embed_points *pts,
                              const dg_embed_layout_opts *o)
{
    uint32_t k = o->neighbours ? o->neighbours : 10;
    if (!pts || pts->n == 0 || pts->dim == 0)
        return dg__fail(ctx, DG_EINVAL, "layout: no points");
    if (pts->n > MAX_POINTS)
        return dg__fail(ctx, DG_ERANGE,
                        "layout: %llu points; the neighbourhood layout takes "
                        "at most %u (use PCA, --only or --segment)",
                        (unsigned long long)pts->n, MAX_POINTS);
    if (k > DG_EMBED_KNN_MAX)
        return dg__fail(ctx, DG_EINVAL, "layout: %u neighbours (at most %d)",
                        k, DG_EMBED_KNN_MAX);
    return DG_OK;
}

dg_status dg__embed_layout_on(dg_ctx *ctx, dg_engine *eng,
                              const dg_embed_points *pts,
                              const dg_embed_layout_opts *o, double *xy)
{
    uint32_t k = o->neighbours ? o->neighbours : 10;
    uint32_t iters = o->iters ? o->iters : 300;
    dg_status st = check_layout(ctx, pts, o);
    if (st < 0)
        return st;
    uint32_t n = (uint32_t)pts->n, d = pts->dim;
    uint32_t q = d < Q_MAX ? d : Q_MAX;
    if (k > n - 1)
        k = n > 1 ? n - 1 : 1;
    double var[2];
    if ((st = dg__embed_pca_on(ctx, eng, pts, 0, xy, var, NULL)) < 0)
        return st;
    float *x = dg__alloc(ctx, n, (size_t)d * sizeof(float));
    double *rmat = dg__calloc(ctx, (size_t)q * d, sizeof(double));
    double *z = dg__alloc(ctx, n, (size_t)q * sizeof(double));
    uint32_t *nbr = dg__alloc(ctx, n, (size_t)k * sizeof(uint32_t));
    double *lr = dg__alloc(ctx, iters, sizeof(double));
    if (!x || !rmat || !z || !nbr || !lr) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        memcpy(x + (size_t)i * d, pts->row[i], d * sizeof(float));
    if (q == d) {
        for (uint32_t c = 0; c < q; c++)
            rmat[(size_t)c * d + c] = 1.0;
    } else {
        uint64_t s = o->seed ^ 0x7a11ULL;
        for (size_t i = 0; i < (size_t)q * d; i++)
            rmat[i] = (mixer(&s) >> 63) ? 1.0 : -1.0; /* Achlioptas */
    }
    if ((st = dg__engine_embed_rproj(eng, ctx, x, n, d, rmat, q, z)) < 0 ||
        (st = dg__engine_embed_knn(eng, ctx, z, n, q, k, nbr)) < 0)
        goto out;
    /* Start from PCA scaled to standard deviation 3 along PC1. */
    double sc = var[0] > 0 ? 3.0 / sqrt(var[0]) : 1.0;
    for (size_t i = 0; i < 2 * (size_t)n; i++)
        xy[i] *= sc;
    for (uint32_t it = 0; it < iters; it++)
        lr[it] = 1.0 - (double)it / (double)iters;
    st = dg__engine_embed_layout(eng, ctx, xy, n, nbr, k, N_NEG, o->seed,
                                 iters, lr);
out:
    free(lr);
    free(nbr);
    free(z);
    free(rmat);
    free(x);
    return st;
}

void dg_embed_layout_opts_init(dg_embed_layout_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->neighbours = 10;
    o->iters = 300;
    o->seed = 1;
}

dg_status dg_embed_layout(dg_ctx *ctx, const dg_embed_points *pts,
                          const dg_embed_layout_opts *o, double *xy)
{
    dg_embed_layout_opts def;
    if (!o) {
        dg_embed_layout_opts_init(&def);
        o = &def;
    }
    dg_engine *eng;
    dg_status st = check_layout(ctx, pts, o);
    if (st < 0 || (st = dg__engine_open(ctx, &eng)) < 0)
        return st;
    st = dg__embed_layout_on(ctx, eng, pts, o, xy);
    dg__engine_close(eng);
    return st;
}
