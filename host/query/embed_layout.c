/*
 * The neighbourhood-preserving layout (dg_embed_layout in
 * include/detgrid/embeddings.h): random projection, brute-force kNN and a
 * force-directed refinement of the PCA coordinates, each step on the
 * device or the reference path with the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_internal.h"

#define MAX_POINTS 20000u
#define Q_MAX 16u
#define N_NEG 5u

dg_status dg__embed_engine_open(dg_ctx *ctx, dg_embed_cl **cl);

static uint64_t mixer(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

dg_status dg_embed_layout(dg_ctx *ctx, const dg_embed_points *pts,
                          const dg_layout_opts *o, double *xy)
{
    uint32_t k = o->neighbours ? o->neighbours : 10;
    uint32_t iters = o->iters ? o->iters : 300;
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
    uint32_t n = (uint32_t)pts->n, d = pts->dim;
    uint32_t q = d < Q_MAX ? d : Q_MAX;
    if (k > n - 1)
        k = n > 1 ? n - 1 : 1;
    double var[2];
    dg_status st = dg_embed_pca(ctx, pts, 0, xy, var, NULL);
    if (st < 0)
        return st;
    dg_embed_cl *cl = NULL;
    float *x = dg__alloc(ctx, n, (size_t)d * sizeof(float));
    double *rmat = dg__calloc(ctx, (size_t)q * d, sizeof(double));
    double *z = dg__alloc(ctx, n, (size_t)q * sizeof(double));
    uint32_t *nbr = dg__alloc(ctx, n, (size_t)k * sizeof(uint32_t));
    double *y2 = dg__alloc(ctx, n, 2 * sizeof(double));
    double *lr = dg__alloc(ctx, iters, sizeof(double));
    if (!x || !rmat || !z || !nbr || !y2 || !lr) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__embed_engine_open(ctx, &cl)) < 0)
        goto out;
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
    if (cl) {
        if ((st = dg__embed_cl_rproj(ctx, cl, x, n, d, rmat, q, z)) < 0 ||
            (st = dg__embed_cl_knn(ctx, cl, z, n, q, k, nbr)) < 0)
            goto out;
    } else {
        dg__embed_rproj_ref(x, n, d, rmat, q, z);
        dg__embed_knn_ref(z, n, q, k, nbr);
    }
    /* Start from PCA scaled to standard deviation 3 along PC1. */
    double sc = var[0] > 0 ? 3.0 / sqrt(var[0]) : 1.0;
    for (size_t i = 0; i < 2 * (size_t)n; i++)
        xy[i] *= sc;
    for (uint32_t it = 0; it < iters; it++)
        lr[it] = 1.0 - (double)it / (double)iters;
    if (cl) {
        st = dg__embed_cl_layout(ctx, cl, xy, n, nbr, k, N_NEG, o->seed,
                                 iters, lr);
    } else {
        double *a = xy, *b = y2;
        for (uint32_t it = 0; it < iters; it++) {
            dg__embed_layout_ref(a, n, nbr, k, N_NEG, o->seed, it, lr[it], b);
            double *t = a;
            a = b;
            b = t;
        }
        if (a != xy)
            memcpy(xy, a, 2 * (size_t)n * sizeof(double));
    }
out:
    dg__embed_cl_close(cl);
    free(lr);
    free(y2);
    free(nbr);
    free(z);
    free(rmat);
    free(x);
    return st;
}
