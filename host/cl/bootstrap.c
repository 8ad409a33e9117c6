/*
 * The bootstrap's resampling on the OpenCL device: dg__cl_bootstrap_sums()
 * runs bootstrap_sums (kernels/bootstrap.cl), one work-item per resample,
 * and reads back the same 64-bit sums dg__bootstrap_sums_ref() computes.
 *
 * The kernel lives in a small program of its own, built on the context's
 * device (the driver's own cache makes rebuilds cheap), so that it does not
 * grow the matching program every eval builds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

static cl_mem make_buf(cl_context c, cl_mem_flags fl, size_t bytes,
                       const void *host, cl_int *err)
{
    return clCreateBuffer(c, fl | (host ? CL_MEM_COPY_HOST_PTR : 0),
                          bytes ? bytes : 8, bytes ? (void *)host : NULL, err);
}

dg_status dg__cl_bootstrap_sums(dg_ctx *ctx, const dg_boot_input *in,
                                uint32_t b0, uint32_t nb, uint64_t *sums)
{
    dg_status st = DG_OK;
    cl_kernel k = NULL;
    cl_mem m_off = NULL, m_cls = NULL, m_cnt = NULL, m_sums = NULL;
    cl_int err;

    if (!in || !sums || !in->n || !in->n_classes || !in->n_sets ||
        in->n_sets > 2)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_bootstrap_sums: bad input");
    if ((st = dg__cl_ensure(ctx)) < 0)
        return st;
    struct dg_cl_state *s = DG_CL(ctx);
    if (!s->k_boot && (st = dg__cl_kernel(ctx, DG_CL_PROG_BOOTSTRAP,
                                          "bootstrap_sums", &s->k_boot)) < 0)
        return st;
    k = s->k_boot;

    uint64_t n_off = (uint64_t)in->n_sets * ((uint64_t)in->n + 1);
    uint64_t n_pairs = in->off[n_off - 1];
    size_t row = (size_t)in->n_sets * in->n_classes * 3;
    /* Resamples per launch: sums under an eighth of the largest buffer. */
    uint64_t per = s->max_alloc / 8 / (row * sizeof(cl_ulong));
    if (per < 1)
        per = 1;
    if (per > nb)
        per = nb;
    if (n_off * 8 > s->max_alloc || n_pairs * 12 > s->max_alloc ||
        per * row * 8 > s->max_alloc) {
        st = dg__fail(ctx, DG_ENOMEM,
                      "bootstrap input too large for '%s' (%llu pairs)",
                      s->device_name, (unsigned long long)n_pairs);
        goto out;
    }
    m_off = make_buf(s->context, CL_MEM_READ_ONLY, n_off * 8, in->off, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(off)");
    m_cls = make_buf(s->context, CL_MEM_READ_ONLY, n_pairs * 4,
                     n_pairs ? in->cls : NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(cls)");
    m_cnt = make_buf(s->context, CL_MEM_READ_ONLY, n_pairs * 12,
                     n_pairs ? in->cnt : NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(cnt)");
    m_sums = make_buf(s->context, CL_MEM_WRITE_ONLY, per * row * 8, NULL,
                      &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(sums)");

    cl_uint n = in->n, nc = in->n_classes, ns = in->n_sets;
    cl_ulong seed = in->seed;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, m_off));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, m_cls));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, m_cnt));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, n));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, nc));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, ns));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, seed));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 9, m_sums));
    for (uint64_t d = 0; d < nb; d += per) {
        cl_uint bs = (cl_uint)(b0 + d);
        cl_uint cnt = (cl_uint)(nb - d < per ? nb - d : per);
        DG_CL_TRY(ctx, DG_CL_ARG(k, 7, bs));
        DG_CL_TRY(ctx, DG_CL_ARG(k, 8, cnt));
        DG_CL_TRY(ctx, dg__cl_launch(s, k, cnt, 1));
        DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, m_sums, CL_TRUE, 0,
                                           (size_t)cnt * row * 8,
                                           sums + d * row, 0, NULL, NULL));
    }
out:
    if (s && s->queue)
        clFinish(s->queue);
    if (m_sums)
        clReleaseMemObject(m_sums);
    if (m_cnt)
        clReleaseMemObject(m_cnt);
    if (m_cls)
        clReleaseMemObject(m_cls);
    if (m_off)
        clReleaseMemObject(m_off);
    return st;
}
