/*
 * The IoU tiles of shapes on the OpenCL device: dg__cl_mask_iou() runs
 * mask_iou_tiles and dg__cl_oks() oks_tiles (kernels/shapes.cl), one
 * work-item per pair, and read back the bytes dg__mask_iou_ref() and
 * dg__oks_ref() compute. The objects are uploaded whole once; the pairs
 * go in launches of at most a few million, each read back as it ends.
 * The kernels live in a program of their own, built on first use.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* Buffers of one call, released together. */
#define MAX_BUFS 20

typedef struct bufs {
    cl_mem m[MAX_BUFS];
    int n;
} bufs;

static void bufs_release(bufs *b)
{
    for (int i = 0; i < b->n; i++)
        if (b->m[i])
            clReleaseMemObject(b->m[i]);
    b->n = 0;
}

/* A read-only buffer holding bytes of host (at least 8 bytes); NULL with
 * *st set on failure. */
static cl_mem upload(dg_ctx *ctx, bufs *b, const void *host, size_t bytes,
                     const char *what, dg_status *st)
{
    struct dg_cl_state *s = DG_CL(ctx);
    cl_int err = CL_SUCCESS;
    if (bytes > s->max_alloc) {
        *st = dg__fail(ctx, DG_ENOMEM, "%s: %zu bytes exceed what '%s' can "
                       "hold in one buffer", what, bytes, s->device_name);
        return NULL;
    }
    cl_mem m = clCreateBuffer(s->context,
                              CL_MEM_READ_ONLY |
                                  (host && bytes ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes ? bytes : 8,
                              host && bytes ? (void *)host : NULL, &err);
    if (err != CL_SUCCESS) {
        *st = dg__cl_fail(ctx, "clCreateBuffer", err, __FILE__, __LINE__);
        return NULL;
    }
    b->m[b->n++] = m;
    return m;
}

/* The largest index in l[lo .. hi), plus one (0 when empty). */
static uint64_t objects(const uint32_t *l, uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    for (uint64_t i = lo; i < hi; i++)
        if ((uint64_t)l[i] + 1 > n)
            n = (uint64_t)l[i] + 1;
    return n;
}

/* Pair launches: out[base - b0 ..] for pairs base .. of the groups. */
static dg_status launch_pairs(dg_ctx *ctx, cl_kernel k, int arg_base,
                              const dg_tile_pairs *p, double *out)
{
    struct dg_cl_state *s = DG_CL(ctx);
    dg_status st = DG_OK;
    cl_int err;
    uint64_t b0 = p->tile_off[0], total = p->tile_off[p->n_groups] - b0;
    uint64_t per = s->max_alloc / 8;
    if (per > ((uint64_t)1 << 22))
        per = (uint64_t)1 << 22;
    /* Tests lower the batch to force many launches. */
    if (s->batch_bytes && per > s->batch_bytes / 8)
        per = s->batch_bytes / 8 ? s->batch_bytes / 8 : 1;
    if (per > total)
        per = total;
    cl_mem m_out = clCreateBuffer(s->context, CL_MEM_WRITE_ONLY,
                                  per ? per * 8 : 8, NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(out)");
    DG_CL_TRY(ctx, DG_CL_ARG(k, arg_base + 3, m_out));
    for (uint64_t d = 0; d < total; d += per) {
        cl_ulong base = b0 + d;
        cl_ulong n = total - d < per ? total - d : per;
        DG_CL_TRY(ctx, DG_CL_ARG(k, arg_base + 1, base));
        DG_CL_TRY(ctx, DG_CL_ARG(k, arg_base + 2, n));
        DG_CL_TRY(ctx, dg__cl_launch(s, k, (size_t)n, 1));
        DG_CL_TRY(ctx, clEnqueueReadBuffer(s->queue, m_out, CL_TRUE, 0,
                                           (size_t)n * 8, out + base, 0, NULL,
                                           NULL));
    }
out:
    if (s->queue)
        clFinish(s->queue);
    if (m_out)
        clReleaseMemObject(m_out);
    return st;
}

/* The pairs' own buffers: arguments 0 .. 4 of both kernels. */
static dg_status pair_args(dg_ctx *ctx, cl_kernel k, bufs *b,
                           const dg_tile_pairs *p)
{
    dg_status st = DG_OK;
    uint32_t G = p->n_groups;
    uint64_t nd = p->doff[G], ng = p->goff[G];
    cl_mem m[5];
    m[0] = upload(ctx, b, p->doff, ((size_t)G + 1) * 8, "groups", &st);
    m[1] = m[0] ? upload(ctx, b, p->goff, ((size_t)G + 1) * 8, "groups", &st)
                : NULL;
    m[2] = m[1] ? upload(ctx, b, p->tile_off, ((size_t)G + 1) * 8, "groups",
                         &st)
                : NULL;
    m[3] = m[2] ? upload(ctx, b, p->dl, nd * 4, "detections", &st) : NULL;
    m[4] = m[3] ? upload(ctx, b, p->gl, ng * 4, "labels", &st) : NULL;
    if (!m[4])
        return st;
    for (int i = 0; i < 5; i++) {
        cl_int e = DG_CL_ARG(k, (cl_uint)i, m[i]);
        if (e != CL_SUCCESS)
            return dg__cl_fail(ctx, "clSetKernelArg", e, __FILE__, __LINE__);
    }
    return DG_OK;
}

/* One set of masks, objects 0 .. n - 1: offsets, runs, sizes and boxes
 * as arguments a .. a + 3. */
static dg_status mask_args(dg_ctx *ctx, cl_kernel k, bufs *b, cl_uint a,
                           const dg_mask_objs *o, uint64_t n)
{
    dg_status st = DG_OK;
    uint32_t *hw = malloc((n ? n : 1) * 2 * sizeof(*hw));
    if (!hw)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        hw[2 * i] = o->h[i];
        hw[2 * i + 1] = o->w[i];
    }
    cl_mem m[4];
    m[0] = upload(ctx, b, o->off, (n + 1) * 8, "masks", &st);
    m[1] = m[0] ? upload(ctx, b, o->cnts, o->off[n] * 4, "masks", &st) : NULL;
    m[2] = m[1] ? upload(ctx, b, hw, n * 8, "masks", &st) : NULL;
    m[3] = m[2] ? upload(ctx, b, o->bb, n * 16, "masks", &st) : NULL;
    free(hw);
    if (!m[3])
        return st;
    for (int i = 0; i < 4; i++) {
        cl_int e = DG_CL_ARG(k, a + (cl_uint)i, m[i]);
        if (e != CL_SUCCESS)
            return dg__cl_fail(ctx, "clSetKernelArg", e, __FILE__, __LINE__);
    }
    return DG_OK;
}

/*
 * The kernel of a call (oks: oks_tiles, else mask_iou_tiles) and the
 * objects its pairs name: 0 to go on, 1 when there are no pairs, < 0 on
 * failure.
 */
static int begin(dg_ctx *ctx, int oks, const dg_tile_pairs *p, cl_kernel *k,
                 uint64_t *nd, uint64_t *ng)
{
    if (p->n_groups == 0 || p->tile_off[p->n_groups] == p->tile_off[0])
        return 1;
    dg_status st = dg__cl_ensure(ctx);
    if (st < 0)
        return st;
    struct dg_cl_state *s = DG_CL(ctx);
    cl_kernel *slot = oks ? &s->k_oks : &s->k_mask_iou;
    if (!*slot && (st = dg__cl_kernel(ctx, DG_CL_PROG_SHAPES,
                                      oks ? "oks_tiles" : "mask_iou_tiles",
                                      slot)) < 0)
        return st;
    *k = *slot;
    *nd = objects(p->dl, p->doff[0], p->doff[p->n_groups]);
    *ng = objects(p->gl, p->goff[0], p->goff[p->n_groups]);
    return 0;
}

dg_status dg__cl_mask_iou(dg_ctx *ctx, const dg_mask_iou_input *in,
                          double *out)
{
    const dg_tile_pairs *p = &in->pairs;
    bufs b = {{0}, 0};
    cl_kernel k;
    uint64_t nd, ng;
    int go = begin(ctx, 0, p, &k, &nd, &ng);
    if (go != 0)
        return go < 0 ? go : DG_OK;
    dg_status st = DG_OK;
    uint32_t G = p->n_groups;
    cl_mem m_crowd = NULL;
    uint8_t *zeros = NULL;
    if ((st = pair_args(ctx, k, &b, p)) < 0 ||
        (st = mask_args(ctx, k, &b, 5, &in->dt, nd)) < 0 ||
        (st = mask_args(ctx, k, &b, 9, &in->gt, ng)) < 0)
        goto out;
    if (!in->crowd && !(zeros = calloc(ng ? ng : 1, 1))) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
        goto out;
    }
    m_crowd = upload(ctx, &b, in->crowd ? in->crowd : zeros, ng,
                     "crowd flags", &st);
    free(zeros);
    if (!m_crowd)
        goto out;
    cl_uint n_groups = G;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, m_crowd));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 14, n_groups));
    st = launch_pairs(ctx, k, 14, p, out);
out:
    bufs_release(&b);
    return st;
}

dg_status dg__cl_oks(dg_ctx *ctx, const dg_oks_input *in, double *out)
{
    const dg_tile_pairs *p = &in->pairs;
    bufs b = {{0}, 0};
    cl_kernel k;
    uint64_t nd, ng;
    int go = begin(ctx, 1, p, &k, &nd, &ng);
    if (go != 0)
        return go < 0 ? go : DG_OK;
    dg_status st = DG_OK;
    uint32_t G = p->n_groups;
    /* The sigmas read: each label's, as many as a detection's keypoints
     * (every detection has as many, checked by the caller). */
    uint64_t kd = 0, n_sig = 0;
    for (uint64_t d = 0; d < nd; d++)
        if ((in->dkp_off[d + 1] - in->dkp_off[d]) / 3 > kd)
            kd = (in->dkp_off[d + 1] - in->dkp_off[d]) / 3;
    for (uint64_t g = 0; g < ng; g++)
        if (in->gsig[g] + kd > n_sig)
            n_sig = in->gsig[g] + kd;
    cl_mem m[8];
    if ((st = pair_args(ctx, k, &b, p)) < 0)
        goto out;
    m[0] = upload(ctx, &b, in->dkp_off, (nd + 1) * 8, "keypoints", &st);
    m[1] = m[0] ? upload(ctx, &b, in->dkp, in->dkp_off[nd] * 8, "keypoints",
                         &st)
                : NULL;
    m[2] = m[1] ? upload(ctx, &b, in->gkp_off, (ng + 1) * 8, "keypoints", &st)
                : NULL;
    m[3] = m[2] ? upload(ctx, &b, in->gkp, in->gkp_off[ng] * 8, "keypoints",
                         &st)
                : NULL;
    m[4] = m[3] ? upload(ctx, &b, in->gbox, ng * 32, "boxes", &st) : NULL;
    m[5] = m[4] ? upload(ctx, &b, in->garea, ng * 8, "areas", &st) : NULL;
    m[6] = m[5] ? upload(ctx, &b, in->gsig, ng * 8, "sigmas", &st) : NULL;
    m[7] = m[6] ? upload(ctx, &b, in->sig, n_sig * 8, "sigmas", &st) : NULL;
    if (!m[7])
        goto out;
    for (int i = 0; i < 8; i++)
        DG_CL_TRY(ctx, DG_CL_ARG(k, (cl_uint)(5 + i), m[i]));
    cl_uint n_groups = G;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, n_groups));
    st = launch_pairs(ctx, k, 13, p, out);
out:
    bufs_release(&b);
    return st;
}
