/*
 * Launchers of kernels/embed.cl. The program comes from the context's
 * program cache (program.c); a session holds its kernels for one
 * analysis.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

struct dg_embed_cl {
    cl_kernel k_cov, k_proj, k_assign, k_update;
    cl_kernel k_rproj, k_knn, k_layout;
};

void dg__embed_cl_close(dg_embed_cl *e)
{
    if (!e)
        return;
    if (e->k_layout)
        clReleaseKernel(e->k_layout);
    if (e->k_knn)
        clReleaseKernel(e->k_knn);
    if (e->k_rproj)
        clReleaseKernel(e->k_rproj);
    if (e->k_update)
        clReleaseKernel(e->k_update);
    if (e->k_assign)
        clReleaseKernel(e->k_assign);
    if (e->k_proj)
        clReleaseKernel(e->k_proj);
    if (e->k_cov)
        clReleaseKernel(e->k_cov);
    free(e);
}

dg_status dg__embed_cl_open(dg_ctx *ctx, dg_embed_cl **out)
{
    dg_status st = dg__cl_ensure(ctx);
    if (st < 0)
        return st;
    dg_embed_cl *e = dg__calloc(ctx, 1, sizeof(*e));
    if (!e)
        return DG_ENOMEM;
    static const char *const names[7] = {
        "embed_cov",  "embed_project", "embed_assign", "embed_update",
        "embed_rproj", "embed_knn",    "embed_layout"};
    cl_kernel *ks[7] = {&e->k_cov,   &e->k_proj, &e->k_assign, &e->k_update,
                        &e->k_rproj, &e->k_knn,  &e->k_layout};
    for (int i = 0; i < 7; i++)
        if ((st = dg__cl_kernel(ctx, DG_CL_PROG_EMBED, names[i], ks[i])) < 0)
            goto out;
    *out = e;
    e = NULL;
out:
    dg__embed_cl_close(e);
    return st;
}

/* A read-only buffer initialised from host memory (n > 0 bytes). */
static cl_mem buf_in(dg_ctx *ctx, const void *p, size_t n, dg_status *st)
{
    cl_int err;
    cl_mem m = clCreateBuffer(DG_CL(ctx)->context,
                              CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              n ? n : 1, (void *)p, &err);
    if (err != CL_SUCCESS) {
        *st = dg__cl_fail(ctx, "clCreateBuffer", err, __FILE__, __LINE__);
        return NULL;
    }
    return m;
}

static cl_mem buf_out(dg_ctx *ctx, size_t n, dg_status *st)
{
    cl_int err;
    cl_mem m = clCreateBuffer(DG_CL(ctx)->context, CL_MEM_READ_WRITE, n ? n : 1,
                              NULL, &err);
    if (err != CL_SUCCESS) {
        *st = dg__cl_fail(ctx, "clCreateBuffer", err, __FILE__, __LINE__);
        return NULL;
    }
    return m;
}

static void rel(cl_mem m)
{
    if (m)
        clReleaseMemObject(m);
}

dg_status dg__embed_cl_cov(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                           uint32_t m, uint32_t d, const double *mean,
                           double *cov)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_uint n_pairs = (cl_uint)((uint64_t)d * (d + 1) / 2);
    cl_uint *pairs = dg__alloc(ctx, n_pairs, 2 * sizeof(cl_uint));
    cl_mem bx = NULL, bm = NULL, bp = NULL, bc = NULL;
    if (!pairs)
        return DG_ENOMEM;
    cl_uint q = 0;
    for (cl_uint i = 0; i < d; i++)
        for (cl_uint j = i; j < d; j++) {
            pairs[2 * q] = i;
            pairs[2 * q + 1] = j;
            q++;
        }
    size_t cb = (size_t)d * d * sizeof(double);
    if (!(bx = buf_in(ctx, x, (size_t)m * d * sizeof(float), &st)) ||
        !(bm = buf_in(ctx, mean, d * sizeof(double), &st)) ||
        !(bp = buf_in(ctx, pairs, (size_t)n_pairs * 2 * sizeof(cl_uint),
                      &st)) ||
        !(bc = buf_out(ctx, cb, &st)))
        goto out;
    cl_uint mm = m, dd = d;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 0, bx));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 1, mm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 2, dd));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 3, bm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 4, bp));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 5, n_pairs));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_cov, 6, bc));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_cov, n_pairs, 1));
    /* Only the upper triangle is written; read it all and keep those. */
    double *full = dg__alloc(ctx, (size_t)d * d, sizeof(double));
    if (!full) {
        st = DG_ENOMEM;
        goto out;
    }
    cl_int err = clEnqueueReadBuffer(s->queue, bc, CL_TRUE, 0, cb, full, 0,
                                     NULL, NULL);
    if (err == CL_SUCCESS)
        for (uint32_t i = 0; i < d; i++)
            memcpy(cov + (size_t)i * d + i, full + (size_t)i * d + i,
                   (d - i) * sizeof(double));
    free(full);
    DG_CL_TRY(ctx, err);
out:
    rel(bc);
    rel(bp);
    rel(bm);
    rel(bx);
    free(pairs);
    return st;
}

dg_status dg__embed_cl_project(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                               uint32_t m, uint32_t d, const double *mean,
                               const double *comp, double *xy)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bx = NULL, bm = NULL, bc = NULL, bo = NULL;
    if (!(bx = buf_in(ctx, x, (size_t)m * d * sizeof(float), &st)) ||
        !(bm = buf_in(ctx, mean, d * sizeof(double), &st)) ||
        !(bc = buf_in(ctx, comp, 2 * (size_t)d * sizeof(double), &st)) ||
        !(bo = buf_out(ctx, 2 * (size_t)m * sizeof(double), &st)))
        goto out;
    cl_uint mm = m, dd = d;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 0, bx));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 1, mm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 2, dd));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 3, bm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 4, bc));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_proj, 5, bo));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_proj, m, 1));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, bo, CL_TRUE, 0,
                                       2 * (size_t)m * sizeof(double), xy, 0,
                                       NULL, NULL));
out:
    rel(bo);
    rel(bc);
    rel(bm);
    rel(bx);
    return st;
}

dg_status dg__embed_cl_assign(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, const double *cent_t,
                              uint32_t k, uint32_t *assign, double *dist)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bx = NULL, bc = NULL, ba = NULL, bd = NULL;
    if (!(bx = buf_in(ctx, x, (size_t)m * d * sizeof(float), &st)) ||
        !(bc = buf_in(ctx, cent_t, (size_t)k * d * sizeof(double), &st)) ||
        !(ba = buf_out(ctx, (size_t)m * sizeof(cl_uint), &st)) ||
        !(bd = buf_out(ctx, (size_t)m * sizeof(double), &st)))
        goto out;
    cl_uint mm = m, dd = d, kk = k;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 0, bx));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 1, mm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 2, dd));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 3, bc));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 4, kk));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 5, ba));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_assign, 6, bd));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_assign, m, 1));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, ba, CL_FALSE, 0,
                                       (size_t)m * sizeof(cl_uint), assign, 0,
                                       NULL, NULL));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, bd, CL_TRUE, 0,
                                       (size_t)m * sizeof(double), dist, 0,
                                       NULL, NULL));
out:
    if (st < 0)
        clFinish(s->queue);
    rel(bd);
    rel(ba);
    rel(bc);
    rel(bx);
    return st;
}

dg_status dg__embed_cl_update(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, uint32_t k,
                              const uint32_t *off, const uint32_t *idx,
                              double *cent)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bx = NULL, bo = NULL, bi = NULL, bc = NULL;
    size_t cb = (size_t)k * d * sizeof(double);
    if (!(bx = buf_in(ctx, x, (size_t)m * d * sizeof(float), &st)) ||
        !(bo = buf_in(ctx, off, ((size_t)k + 1) * sizeof(cl_uint), &st)) ||
        !(bi = buf_in(ctx, idx, (size_t)m * sizeof(cl_uint), &st)) ||
        !(bc = buf_out(ctx, cb, &st)))
        goto out;
    /* Empty clusters keep their centroid: start from the old values. */
    DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue, bc, CL_TRUE, 0, cb, cent, 0,
                                        NULL, NULL));
    cl_uint dd = d, kk = k;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 0, bx));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 1, dd));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 2, kk));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 3, bo));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 4, bi));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_update, 5, bc));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_update, (size_t)k * d, 1));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, bc, CL_TRUE, 0, cb, cent, 0,
                                       NULL, NULL));
out:
    rel(bc);
    rel(bi);
    rel(bo);
    rel(bx);
    return st;
}

dg_status dg__embed_cl_rproj(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                             uint32_t m, uint32_t d, const double *rmat,
                             uint32_t q, double *out_)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bx = NULL, br = NULL, bo = NULL;
    size_t ob = (size_t)m * q * sizeof(double);
    if (!(bx = buf_in(ctx, x, (size_t)m * d * sizeof(float), &st)) ||
        !(br = buf_in(ctx, rmat, (size_t)q * d * sizeof(double), &st)) ||
        !(bo = buf_out(ctx, ob, &st)))
        goto out;
    cl_uint mm = m, dd = d, qq = q;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 0, bx));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 1, mm));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 2, dd));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 3, br));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 4, qq));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_rproj, 5, bo));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_rproj, m, 1));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, bo, CL_TRUE, 0, ob, out_, 0,
                                       NULL, NULL));
out:
    rel(bo);
    rel(br);
    rel(bx);
    return st;
}

dg_status dg__embed_cl_knn(dg_ctx *ctx, dg_embed_cl *e, const double *z,
                           uint32_t n, uint32_t q, uint32_t k, uint32_t *nbr)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bz = NULL, bn = NULL;
    size_t nb = (size_t)n * k * sizeof(cl_uint);
    if (!(bz = buf_in(ctx, z, (size_t)n * q * sizeof(double), &st)) ||
        !(bn = buf_out(ctx, nb, &st)))
        goto out;
    cl_uint nn = n, qq = q, kk = k;
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_knn, 0, bz));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_knn, 1, nn));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_knn, 2, qq));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_knn, 3, kk));
    DG_CL_TRY(ctx, DG_CL_ARG(e->k_knn, 4, bn));
    DG_CL_TRY(ctx, dg__cl_launch(s, e->k_knn, n, 1));
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, bn, CL_TRUE, 0, nb, nbr, 0,
                                       NULL, NULL));
out:
    rel(bn);
    rel(bz);
    return st;
}

dg_status dg__embed_cl_layout(dg_ctx *ctx, dg_embed_cl *e, double *y,
                              uint32_t n, const uint32_t *nbr, uint32_t k,
                              uint32_t n_neg, uint64_t seed, uint32_t iters,
                              const double *lr)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_mem bn = NULL, ya = NULL, yb = NULL;
    size_t yb_n = 2 * (size_t)n * sizeof(double);
    if (!(bn = buf_in(ctx, nbr, (size_t)n * k * sizeof(cl_uint), &st)) ||
        !(ya = buf_out(ctx, yb_n, &st)) || !(yb = buf_out(ctx, yb_n, &st)))
        goto out;
    DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue, ya, CL_TRUE, 0, yb_n, y, 0,
                                        NULL, NULL));
    cl_uint nn = n, kk = k, ng = n_neg;
    cl_ulong sd = seed;
    /* Ping-pong between two buffers; the queue is in order. */
    for (uint32_t it = 0; it < iters; it++) {
        cl_mem src = it % 2 ? yb : ya, dst = it % 2 ? ya : yb;
        cl_uint itc = it;
        cl_double l = lr[it];
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 0, src));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 1, nn));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 2, bn));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 3, kk));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 4, ng));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 5, sd));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 6, itc));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 7, l));
        DG_CL_TRY(ctx, DG_CL_ARG(e->k_layout, 8, dst));
        DG_CL_TRY(ctx, dg__cl_launch(s, e->k_layout, n, 1));
    }
    DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, iters % 2 ? yb : ya, CL_TRUE,
                                       0, yb_n, y, 0, NULL, NULL));
out:
    if (st < 0)
        clFinish(s->queue);
    rel(yb);
    rel(ya);
    rel(bn);
    return st;
}
