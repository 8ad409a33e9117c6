/*
 * The batching both matchers share (match.c, confusion.c): the sort of a
 * group's detections, the batch budget, the cutting of a packed chunk's
 * frames into batches that fit the device, the threshold upload, the
 * rectangular read of result rows and the final wait.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

void dg__cl_sort_desc(dg_cl_skey *a, dg_cl_skey *tmp, uint32_t n)
{
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            dg_cl_skey v = a[i];
            uint32_t j = i;
            while (j > 0 && a[j - 1].score < v.score) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    uint32_t h = n / 2;
    dg__cl_sort_desc(a, tmp, h);
    dg__cl_sort_desc(a + h, tmp, n - h);
    if (!(a[h - 1].score < a[h].score))
        return; /* already in order */
    memcpy(tmp, a, h * sizeof(*a));
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = a[j].score > tmp[i].score ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

dg_status dg__cl_check_chunk(dg_ctx *ctx, const char *who,
                             const dg_match_input *in)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    if (in->n_iou < 0 || in->n_iou > DG_MAX_IOU_THRESHOLDS ||
        (in->n_iou && !in->iou))
        return dg__fail(ctx, DG_EINVAL, "%s: bad thresholds", who);
    /* Detection and label indices travel as 32-bit integers. */
    if (dt->n >= UINT32_MAX || gt->n > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE,
                        "%s: chunk too large (%llu detections, %llu labels)",
                        who, (unsigned long long)dt->n,
                        (unsigned long long)gt->n);
    return DG_OK;
}

uint64_t dg__cl_batches_init(dg_ctx *ctx, dg_cl_batches *b)
{
    const struct dg_cl_state *s = DG_CL(ctx);

    memset(b, 0, sizeof(*b));
    b->budget = s->batch_bytes ? s->batch_bytes
                               : dg__cl_default_batch_bytes(s);
    uint64_t iou_cap = b->budget / 2;
    if (iou_cap / sizeof(cl_double) * DG_CL_PAIR_BYTES > s->max_alloc)
        iou_cap = s->max_alloc / sizeof(cl_double) * DG_CL_PAIR_BYTES;
    return iou_cap;
}

/* Whether sizes fit: each under max_alloc and, with budget, the total. */
static int fits(const size_t *sz, uint64_t max_alloc, uint64_t budget)
{
    uint64_t total = 0;
    for (int i = 0; i < DG_CL_N_BUFS; i++) {
        if (sz[i] > max_alloc)
            return 0;
        total += sz[i];
    }
    return !budget || total <= budget;
}

dg_status dg__cl_batches_plan(dg_ctx *ctx, dg_cl_batches *b,
                              const dg_match_input *in, dg_cl_sizes_fn sizes,
                              const void *packed, const int *used,
                              size_t n_used)
{
    const struct dg_cl_state *s = DG_CL(ctx);
    const dg_boxset *dt = in->dt;
    uint32_t nf = in->n_frames;
    dg_status st = DG_OK;

    /* Cut frames into batches; remember the largest size of each buffer. */
    size_t need[DG_CL_N_BUFS] = {0}, sz[DG_CL_N_BUFS];
    b->cuts = dg__alloc(ctx, (size_t)nf + 1, sizeof(*b->cuts));
    if (!b->cuts)
        return DG_ENOMEM;
    uint32_t *cuts = b->cuts, n_cuts = 0;
    cuts[n_cuts++] = 0;
    for (uint32_t fa = 0; fa < nf;) {
        uint32_t fb = fa + 1;
        sizes(packed, in, fa, fb, sz);
        if (!fits(sz, s->max_alloc, 0))
            break; /* reported below */
        /* Gallop: double the step while the frames fit, halve it if not. */
        uint32_t step = 1;
        while (fb < nf) {
            uint32_t nb = fb + step > nf ? nf : fb + step;
            sizes(packed, in, fa, nb, sz);
            if (fits(sz, s->max_alloc, b->budget)) {
                fb = nb;
                step *= 2;
            } else if (step > 1) {
                step /= 2;
            } else {
                break;
            }
        }
        sizes(packed, in, fa, fb, sz);
        for (int i = 0; i < DG_CL_N_BUFS; i++)
            if (sz[i] > need[i])
                need[i] = sz[i];
        cuts[n_cuts++] = fb;
        fa = fb;
    }
    if (cuts[n_cuts - 1] != nf) {
        uint32_t f = cuts[n_cuts - 1];
        return dg__fail(ctx, DG_ENOMEM,
                        "frame %u of the chunk (%llu detections) does not "
                        "fit the OpenCL device's maximum allocation of %llu "
                        "bytes",
                        f,
                        (unsigned long long)(dt->frame_off[f + 1] -
                                             dt->frame_off[f]),
                        (unsigned long long)s->max_alloc);
    }
    b->n = n_cuts - 1;

    for (size_t i = 0; i < n_used; i++)
        if ((st = dg__cl_buf_reserve(ctx, used[i], need[used[i]])) < 0)
            return st;

    for (int t = 0; t < in->n_iou; t++) {
        b->thr[t] = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        if (t == 0 || b->thr[t] < b->thr_min)
            b->thr_min = b->thr[t];
    }
    b->enqueued = 1;
    DG_CL_PUT(ctx, DG_CL_BUF_THR, b->thr, (size_t)in->n_iou * sizeof(*b->thr));
out:
    return st;
}

dg_status dg__cl_read_rows(dg_ctx *ctx, int which, size_t elem,
                           const dg_match_input *in, uint64_t oa,
                           uint32_t nd, void *dst)
{
    struct dg_cl_state *s = DG_CL(ctx);
    dg_status st = DG_OK;
    size_t bo[3] = {0, 0, 0}, ho[3] = {(size_t)oa * elem, 0, 0};
    size_t reg[3] = {nd * elem, (size_t)in->n_iou, 1};
    DG_CL_TRY(ctx, clEnqueueReadBufferRect(
                       s->queue, DG_CL_BUF(s, which), CL_FALSE, bo, ho, reg,
                       nd * elem, 0, (size_t)in->dt->n * elem, 0, dst, 0,
                       NULL, NULL));
out:
    return st;
}

dg_status dg__cl_batches_release(dg_ctx *ctx, dg_cl_batches *b,
                                 dg_status st)
{
    if (b->enqueued) {
        cl_int e = clFinish(DG_CL(ctx)->queue);
        if (e != CL_SUCCESS && st == DG_OK)
            st = dg__cl_fail(ctx, "clFinish(s->queue)", e, __FILE__,
                             __LINE__);
    }
    free(b->cuts);
    b->cuts = NULL;
    b->enqueued = 0;
    return st;
}
