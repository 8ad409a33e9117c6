/*
 * Accumulation on the device: dg__cl_accumulate() permutes each threshold
 * row of status/matched (inference-set order) into sorted order (class,
 * descending score, inference-set index), the bytes dg__permute_u8_ref()
 * and dg__permute_i32_ref() give.
 *
 * order[] goes up once; then as many whole threshold rows as fit the batch
 * budget go up, accumulate_permute runs over (position, row) and the rows
 * come back. Row counts are bounded so that no buffer exceeds
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE; when not even one row fits (hundreds of
 * millions of detections), the permutation runs on the host instead.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

dg_status dg__cl_accumulate_permute(dg_ctx *ctx, cl_ulong n, cl_uint n_rows)
{
    struct dg_cl_state *s = DG_CL(ctx);
    cl_kernel k = s->k_accum;
    dg_status st = DG_OK;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, DG_CL_BUF(s, DG_CL_BUF_ORDER)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, DG_CL_BUF(s, DG_CL_BUF_ST_IN)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, DG_CL_BUF(s, DG_CL_BUF_M_IN)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, n));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, n_rows));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, DG_CL_BUF(s, DG_CL_BUF_STATUS)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, DG_CL_BUF(s, DG_CL_BUF_MATCHED)));
    DG_CL_TRY(ctx, dg__cl_launch(s, k, (size_t)n, n_rows));
out:
    return st;
}

/* The same permutation on the host, for rows too long for the device. */
static void permute_host(const dg_perm *pm, const uint8_t *status,
                         const int32_t *matched, uint8_t *status_out,
                         int32_t *matched_out)
{
    uint64_t n = pm->n;
    for (int t = 0; t < pm->n_rows; t++) {
        const uint8_t *si = status + (size_t)t * n;
        const int32_t *mi = matched + (size_t)t * n;
        uint8_t *so = status_out + (size_t)t * n;
        int32_t *mo = matched_out + (size_t)t * n;
        for (uint64_t k = 0; k < n; k++) {
            so[k] = si[pm->order[k]];
            mo[k] = mi[pm->order[k]];
        }
    }
}

dg_status dg__cl_accumulate(dg_ctx *ctx, const dg_perm *pm,
                            const uint8_t *status, const int32_t *matched,
                            uint8_t *status_out, int32_t *matched_out)
{
    dg_status st;
    struct dg_cl_state *s;
    int enqueued = 0;

    if (!pm || (pm->n && (!status || !matched || !pm->order || !status_out ||
                          !matched_out)))
        return dg__fail(ctx, DG_EINVAL, "dg__cl_accumulate: NULL argument");
    if (pm->n_rows < 0 || pm->n_rows > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_accumulate: bad thresholds");
    if ((st = dg__cl_ensure_match(ctx)) < 0)
        return st;
    s = DG_CL(ctx);

    uint64_t n = pm->n;
    size_t tot = (size_t)pm->n_rows * n;
    if (!tot)
        return DG_OK;

    /* Rows per launch: each row costs n * (1 + 4) in and out. */
    uint64_t budget = s->batch_bytes ? s->batch_bytes
                                     : dg__cl_default_batch_bytes(s);
    uint64_t order_b = n * sizeof(cl_uint), row_b = n * 2 * (1 + 4);
    uint64_t rows = budget > order_b ? (budget - order_b) / row_b : 0;
    if (rows > (uint64_t)pm->n_rows)
        rows = (uint64_t)pm->n_rows;
    if (rows && rows * n * sizeof(cl_int) > s->max_alloc)
        rows = s->max_alloc / (n * sizeof(cl_int));
    if (order_b > s->max_alloc)
        rows = 0;
    if (rows == 0) {
        permute_host(pm, status, matched, status_out, matched_out);
        return DG_OK;
    }

    if ((st = dg__cl_buf_reserve(ctx, DG_CL_BUF_ORDER, order_b)) < 0 ||
        (st = dg__cl_buf_reserve(ctx, DG_CL_BUF_ST_IN, rows * n)) < 0 ||
        (st = dg__cl_buf_reserve(ctx, DG_CL_BUF_M_IN, rows * n * 4)) < 0 ||
        (st = dg__cl_buf_reserve(ctx, DG_CL_BUF_STATUS, rows * n)) < 0 ||
        (st = dg__cl_buf_reserve(ctx, DG_CL_BUF_MATCHED, rows * n * 4)) < 0)
        goto out;

    enqueued = 1;
    DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue,
                                        DG_CL_BUF(s, DG_CL_BUF_ORDER),
                                        CL_FALSE, 0, order_b,
                                        (void *)pm->order, 0,
                                        NULL, NULL));
    for (uint64_t t0 = 0; t0 < (uint64_t)pm->n_rows; t0 += rows) {
        uint64_t nr = (uint64_t)pm->n_rows - t0 < rows
                          ? (uint64_t)pm->n_rows - t0
                          : rows;
        size_t o = (size_t)(t0 * n);
        DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue,
                                            DG_CL_BUF(s, DG_CL_BUF_ST_IN),
                                            CL_FALSE, 0, nr * n,
                                            (void *)(status + o), 0,
                                            NULL, NULL));
        DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue,
                                            DG_CL_BUF(s, DG_CL_BUF_M_IN),
                                            CL_FALSE, 0, nr * n * 4,
                                            (void *)(matched + o), 0, NULL, NULL));
        if ((st = dg__cl_accumulate_permute(ctx, n, (cl_uint)nr)) < 0)
            goto out;
        DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue,
                                           DG_CL_BUF(s, DG_CL_BUF_STATUS),
                                           CL_FALSE, 0, nr * n, status_out + o,
                                           0, NULL, NULL));
        DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue,
                                           DG_CL_BUF(s, DG_CL_BUF_MATCHED),
                                           CL_FALSE, 0, nr * n * 4,
                                           matched_out + o, 0, NULL, NULL));
    }
out:
    if (enqueued) {
        cl_int e = clFinish(s->queue);
        if (e != CL_SUCCESS && st == DG_OK)
            st = dg__cl_fail(ctx, "clFinish(s->queue)", e, __FILE__, __LINE__);
    }
    return st;
}
