/*
 * The matching stage on the device (kernels/frames.cl): the bytes of
 * dg__match_frames_ref for any input, with the host doing no more than
 * planning.
 *
 * The columns go up as stored (detections: x, y, w, h, score, class;
 * labels: x, y, w, h, class, iscrowd, ignore; both frames' offsets; the
 * sorted positions; an earlier stage's IoU tiles), never repacked:
 *
 *   - on a device with memory of its own, slab by slab through two slots:
 *     the slab's columns are copied into the slot's pinned staging buffer
 *     and uploaded on the copy queue while the compute queue runs the
 *     previous slab's kernels; the host waits only before it refills a
 *     staging buffer (once a slab) and for the final download;
 *   - on a device that shares the host's memory (PoCL, integrated GPUs),
 *     the buffers wrap the host's arrays (CL_MEM_USE_HOST_PTR) and nothing
 *     is copied: one slab, outputs written in place.
 *
 * The outputs are whole rows of the caller's tables (T x n_out cells,
 * sorted positions when pos is given), filled with "took nothing" first;
 * when T rows do not fit the device, the thresholds go in passes.
 *
 * Frames go to match_frames (one work-group a bin of small frames, scratch
 * in local memory) when they fit the local caps, which come from the
 * device's local memory size, and to match_frames_big (scratch in a
 * global buffer, in batches that fit) otherwise.
 *
 * DETGRID_FAULT=cl-match makes the stage fail (DG_ECL) for tests of the
 * engine's fallback to the reference path; DETGRID_CL_COPIES=1 takes the
 * way of a device with memory of its own on any device (tests, and the
 * stage profile's bytes on PoCL); DETGRID_CL_WG and DETGRID_CL_BIN set the
 * work-group size and the detections a bin aims at (tuning).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* Work-items of a work-group, and detections a bin aims at. */
#define WG_GPU 64
#define WG_CPU 1
#define BIN_GPU 32
#define BIN_CPU 512
/* Frames in local memory keep taken-masks in registers: at most 64
 * ground truths. */
#define CAP_G 64

static uint64_t pow2(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Bytes of DG_CARVE's scratch in kernels/frames.cl, part for part. */
static uint64_t frame_scratch(uint64_t d, uint64_t g, uint64_t p, int cand,
                              uint64_t bitw)
{
    uint64_t dp = pow2(d), gp = pow2(g), pc = cand ? p : 0;
    return 8 * p + 8 * pc + 8 * pc + 8 * dp + 8 * dp + 6 * 4 * dp +
           2 * 4 * (dp + 2) + 20 * dp + 4 * pc + 4 * pc + 3 * 4 * gp + 16 +
           4 * bitw + 4 * (dp > gp ? dp : gp) + gp + dp;
}

/* The scratch of a frame the big kernel takes, 8-aligned. */
static uint64_t big_scratch(uint64_t nd, uint64_t ng, uint32_t nt)
{
    uint64_t bitw = (uint64_t)nt * (2 * ((ng + 31) / 32) + nd + 1);
    return (frame_scratch(nd, ng, nd * ng, 1, bitw) + 7) & ~(uint64_t)7;
}

typedef struct plan {
    const dg_match_input *in;
    const dg_match_output *out;
    uint32_t nf;
    uint64_t d_lo, d_hi, g_lo, g_hi, n_out;
    int agn;
    cl_double thr[DG_MAX_IOU_THRESHOLDS];
    cl_double thr_min;
    uint32_t nt;                     /* thresholds a pass */
    uint32_t capd, capg, capp;       /* local caps */
    int cand;                        /* agnostic candidate lists in local */
    size_t lsz, lsz_big, local_bytes;
    uint32_t bin_dets;
    uint64_t slab_cap, scratch_cap;
    /* The slab being run: its frames and its lists (slab-relative). */
    uint32_t *flist, *bin_off, *bigf;
    cl_ulong *boff;
    uint32_t n_local, n_bins, n_big;
    uint64_t *big_bytes; /* scratch of each big frame */
} plan;

/* Frames of slab [fa, fb): the lists the kernels take. */
static void slab_lists(plan *pl, uint32_t fa, uint32_t fb)
{
    const dg_boxset *dt = pl->in->dt, *gt = pl->in->gt;
    pl->n_local = pl->n_bins = pl->n_big = 0;
    pl->bin_off[0] = 0;
    uint64_t in_bin = 0;
    for (uint32_t f = fa; f < fb; f++) {
        uint64_t nd = dt->frame_off[f + 1] - dt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - gt->frame_off[f];
        if (!nd)
            continue;
        if (nd <= pl->capd && ng <= pl->capg && nd * ng <= pl->capp) {
            if (in_bin && in_bin + nd > pl->bin_dets) {
                pl->bin_off[++pl->n_bins] = pl->n_local;
                in_bin = 0;
            }
            pl->flist[pl->n_local++] = f - fa;
            in_bin += nd;
        } else {
            pl->big_bytes[pl->n_big] = big_scratch(nd, ng, pl->nt);
            pl->bigf[pl->n_big++] = f - fa;
        }
    }
    if (in_bin)
        pl->bin_off[++pl->n_bins] = pl->n_local;
}

/* Bytes slab frames [fa, fb) upload. */
static uint64_t slab_bytes(const plan *pl, uint32_t fa, uint32_t fb)
{
    const dg_match_input *in = pl->in;
    uint64_t nd = in->dt->frame_off[fb] - in->dt->frame_off[fa];
    uint64_t ng = in->gt->frame_off[fb] - in->gt->frame_off[fa];
    uint64_t b = nd * (5 * 8 + 4 + (pl->out->pos ? 4 : 0)) +
                 ng * (4 * 8 + 4 + 2) + 2 * 8 * ((uint64_t)(fb - fa) + 1) +
                 4 * 4 * ((uint64_t)(fb - fa) + 1);
    if (in->iou_tile)
        b += 8 * (in->tile_off[fb] - in->tile_off[fa]) +
             8 * ((uint64_t)(fb - fa) + 1);
    return b;
}

/* The device's share of the work, from its limits and the input. */
static dg_status make_plan(dg_ctx *ctx, struct dg_cl_state *s, plan *pl)
{
    const dg_match_input *in = pl->in;
    const dg_boxset *dt = in->dt, *gt = in->gt;
    uint64_t budget = s->batch_bytes ? s->batch_bytes
                                     : dg__cl_default_batch_bytes(s);
    uint32_t T = (uint32_t)in->n_iou;
    for (uint32_t t = 0; t < T; t++) {
        pl->thr[t] = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        if (t == 0 || pl->thr[t] < pl->thr_min)
            pl->thr_min = pl->thr[t];
    }

    /* Work-group sizes: the kernel's limit and the device kind's habit
     * (DETGRID_CL_WG overrides, for tuning). */
    size_t kwg = 1, kbig = 1;
    cl_ulong klocal = 0;
    clGetKernelWorkGroupInfo(s->k_frames, s->device, CL_KERNEL_WORK_GROUP_SIZE,
                             sizeof(kwg), &kwg, NULL);
    clGetKernelWorkGroupInfo(s->k_frames_big, s->device,
                             CL_KERNEL_WORK_GROUP_SIZE, sizeof(kbig), &kbig,
                             NULL);
    clGetKernelWorkGroupInfo(s->k_frames, s->device, CL_KERNEL_LOCAL_MEM_SIZE,
                             sizeof(klocal), &klocal, NULL);
    size_t want = s->wg ? s->wg
                        : (size_t)dg__env_u64("DETGRID_CL_WG",
                                              s->is_cpu ? WG_CPU : WG_GPU);
    pl->lsz = want < kwg ? want : kwg;
    pl->lsz_big = (s->is_cpu ? WG_CPU : WG_GPU) < kbig
                      ? (s->is_cpu ? WG_CPU : WG_GPU)
                      : kbig;
    if (s->wg && s->wg < pl->lsz_big)
        pl->lsz_big = s->wg;
    if (!pl->lsz)
        pl->lsz = 1;
    if (!pl->lsz_big)
        pl->lsz_big = 1;
    pl->bin_dets = (uint32_t)dg__env_u64("DETGRID_CL_BIN",
                                         s->is_cpu ? BIN_CPU : BIN_GPU);

    /* Local caps: the largest frames whose scratch fits local memory. */
    uint64_t maxd = 1, maxg = 1;
    for (uint32_t f = 0; f < pl->nf; f++) {
        uint64_t nd = dt->frame_off[f + 1] - dt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - gt->frame_off[f];
        if (ng <= CAP_G && nd > maxd)
            maxd = nd;
        if (ng <= CAP_G && ng > maxg)
            maxg = ng;
    }
    uint64_t L = s->local_mem > klocal + 256 ? s->local_mem - klocal - 256 : 0;
    pl->cand = L >= 65536;
    pl->capg = (uint32_t)pow2(maxg);
    uint64_t capd = pow2(maxd);
    if (capd > 4096)
        capd = 4096;
    if (s->cap_d && capd > s->cap_d)
        capd = s->cap_d;
    pl->capd = pl->capp = 0;
    for (; capd >= 1; capd /= 2) {
        uint64_t p = capd * pl->capg;
        if (s->cap_p && p > s->cap_p)
            p = s->cap_p;
        while (p >= capd && frame_scratch(capd, pl->capg, p, pl->cand, 1) > L)
            p -= p / 8 + 1;
        if (p >= capd || p >= maxd * maxg) {
            pl->capd = (uint32_t)capd;
            pl->capp = (uint32_t)p;
            break;
        }
    }
    pl->local_bytes = pl->capd ? (size_t)frame_scratch(pl->capd, pl->capg,
                                                       pl->capp, pl->cand, 1)
                               : 8;

    /* Passes of thresholds: the rows that fit beside two slabs and the
     * big frames' scratch. */
    pl->slab_cap = budget / 8;
    if (pl->slab_cap > ((uint64_t)128 << 20))
        pl->slab_cap = (uint64_t)128 << 20;
    if (pl->slab_cap < 4096)
        pl->slab_cap = 4096;
    pl->scratch_cap = budget / 8;
    if (pl->scratch_cap > s->max_alloc)
        pl->scratch_cap = s->max_alloc;
    uint64_t row = pl->n_out * (1 + 4 + (pl->agn ? 4 : 0));
    uint64_t rest = budget > 2 * pl->slab_cap + pl->scratch_cap
                        ? budget - 2 * pl->slab_cap - pl->scratch_cap
                        : 0;
    uint64_t nt = row ? rest / row : T;
    if (nt > T)
        nt = T;
    if (nt * pl->n_out * 4 > s->max_alloc)
        nt = s->max_alloc / (pl->n_out * 4);
    if (nt == 0) {
        if (pl->n_out * 4 > s->max_alloc || row > budget)
            return dg__fail(ctx, DG_ENOMEM,
                            "one threshold's outcomes of %llu detections do "
                            "not fit the OpenCL device (maximum allocation "
                            "%llu bytes)",
                            (unsigned long long)pl->n_out,
                            (unsigned long long)s->max_alloc);
        nt = 1;
    }
    pl->nt = (uint32_t)nt;
    if (s->unified && !dg__env("DETGRID_CL_COPIES"))
        pl->slab_cap = UINT64_MAX; /* nothing is copied: one slab */
    return DG_OK;
}

/* ---- events and the profile ------------------------------------------------ */

typedef struct evlist {
    cl_event *e;
    int *kind; /* 0 upload, 1 kernel, 2 download */
    uint64_t *bytes;
    size_t n, cap;
} evlist;

static int ev_add(evlist *l, cl_event e, int kind, uint64_t bytes)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 64;
        if (dg__grow((void **)&l->e, c, sizeof(*l->e)) < 0 ||
            dg__grow((void **)&l->kind, c, sizeof(*l->kind)) < 0 ||
            dg__grow((void **)&l->bytes, c, sizeof(*l->bytes)) < 0) {
            clReleaseEvent(e);
            return -1;
        }
        l->cap = c;
    }
    l->e[l->n] = e;
    l->kind[l->n] = kind;
    l->bytes[l->n++] = bytes;
    return 0;
}

/* Adds the finished events' times and bytes to prof; releases them. */
static void ev_account(struct dg_cl_state *s, evlist *l,
                       dg_stage_profile *prof)
{
    for (size_t i = 0; i < l->n; i++) {
        cl_ulong a = 0, b = 0;
        double dt = 0;
        if (s->profiling &&
            clGetEventProfilingInfo(l->e[i], CL_PROFILING_COMMAND_START,
                                    sizeof(a), &a, NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(l->e[i], CL_PROFILING_COMMAND_END,
                                    sizeof(b), &b, NULL) == CL_SUCCESS &&
            b >= a)
            dt = (double)(b - a) * 1e-9;
        if (prof) {
            if (l->kind[i] == 0) {
                prof->upload_s += dt;
                prof->bytes_up += l->bytes[i];
            } else if (l->kind[i] == 1) {
                prof->kernel_s += dt;
                prof->launches++;
            } else {
                prof->download_s += dt;
                prof->bytes_down += l->bytes[i];
            }
        }
        clReleaseEvent(l->e[i]);
    }
    l->n = 0;
}

static void ev_free(evlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        clReleaseEvent(l->e[i]);
    free(l->e);
    free(l->kind);
    free(l->bytes);
}

/* ---- the input of a slab ------------------------------------------------- */

/* Where each input of slab [fa, fb) is on the host, and its bytes. */
typedef struct slab_src {
    const void *p[DG_CL_N_IN];
    size_t n[DG_CL_N_IN];
} slab_src;

static void slab_sources(const plan *pl, uint32_t fa, uint32_t fb,
                         slab_src *src)
{
    const dg_match_input *in = pl->in;
    const dg_boxset *dt = in->dt, *gt = in->gt;
    uint64_t da = dt->frame_off[fa], db = dt->frame_off[fb];
    uint64_t ga = gt->frame_off[fa], gb = gt->frame_off[fb];
    size_t nd = (size_t)(db - da), ng = (size_t)(gb - ga), nfs = fb - fa;
    memset(src, 0, sizeof(*src));
#define SRC(i, ptr, bytes)                                                   \
    do {                                                                     \
        src->p[i] = (ptr);                                                   \
        src->n[i] = (bytes);                                                 \
    } while (0)
    SRC(DG_CL_IN_DX, dt->x + da, nd * 8);
    SRC(DG_CL_IN_DY, dt->y + da, nd * 8);
    SRC(DG_CL_IN_DW, dt->w + da, nd * 8);
    SRC(DG_CL_IN_DH, dt->h + da, nd * 8);
    SRC(DG_CL_IN_DS, dt->score + da, nd * 8);
    SRC(DG_CL_IN_DC, dt->cls + da, nd * 4);
    SRC(DG_CL_IN_GX, gt->x + ga, ng * 8);
    SRC(DG_CL_IN_GY, gt->y + ga, ng * 8);
    SRC(DG_CL_IN_GW, gt->w + ga, ng * 8);
    SRC(DG_CL_IN_GH, gt->h + ga, ng * 8);
    SRC(DG_CL_IN_GC, gt->cls + ga, ng * 4);
    SRC(DG_CL_IN_GCROWD, gt->iscrowd + ga, ng);
    SRC(DG_CL_IN_GIGN, gt->ignore + ga, ng);
    SRC(DG_CL_IN_DOFF, dt->frame_off + fa, (nfs + 1) * 8);
    SRC(DG_CL_IN_GOFF, gt->frame_off + fa, (nfs + 1) * 8);
    if (pl->out->pos)
        SRC(DG_CL_IN_POS, pl->out->pos + da, nd * 4);
    if (in->iou_tile) {
        SRC(DG_CL_IN_TILE, in->iou_tile + in->tile_off[fa],
            (size_t)(in->tile_off[fb] - in->tile_off[fa]) * 8);
        SRC(DG_CL_IN_TOFF, in->tile_off + fa, (nfs + 1) * 8);
    }
    SRC(DG_CL_IN_FLIST, pl->flist, pl->n_local * 4);
    SRC(DG_CL_IN_BINOFF, pl->bin_off, ((size_t)pl->n_bins + 1) * 4);
#undef SRC
}

/* ---- launching ------------------------------------------------------------ */

/* The arguments both kernels share (0 .. 30). */
static dg_status set_common(dg_ctx *ctx, cl_kernel k, cl_mem *in_mem,
                            cl_mem *out_mem, cl_mem thr, const plan *pl,
                            uint32_t fa, uint32_t t0, uint32_t nt)
{
    const dg_match_input *in = pl->in;
    dg_status st = DG_OK;
    for (int i = 0; i < DG_CL_IN_FLIST; i++) {
        /* Inputs 0 .. 17 in DG_FRAME_ARGS order, thr between toff and the
         * outputs. */
        DG_CL_TRY(ctx, DG_CL_ARG(k, (cl_uint)i, in_mem[i]));
    }
    DG_CL_TRY(ctx, DG_CL_ARG(k, 18, thr));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 19, out_mem[DG_CL_OUT_STATUS]));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 20, out_mem[DG_CL_OUT_MATCHED]));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 21, out_mem[DG_CL_OUT_AGN]));
    cl_ulong n_out = pl->n_out, dbase = in->dt->frame_off[fa],
             gbase = in->gt->frame_off[fa],
             tbase = in->iou_tile ? in->tile_off[fa] : 0;
    cl_long lbase = pl->out->label_base + (cl_long)gbase;
    cl_uint ct0 = t0, cnt = nt;
    cl_double tmin = pl->thr_min;
    cl_uint flags = (pl->out->pos ? 1u : 0) | (in->iou_tile ? 2u : 0) |
                    (pl->agn ? 4u : 0) | (pl->cand ? 8u : 0);
    DG_CL_TRY(ctx, DG_CL_ARG(k, 22, n_out));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 23, dbase));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 24, gbase));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 25, lbase));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 26, tbase));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 27, ct0));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 28, cnt));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 29, tmin));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 30, flags));
out:
    return st;
}

_Static_assert(DG_CL_IN_FLIST == 18,
               "the inputs before FLIST are the kernels' first 18 arguments");

/*
 * Enqueues k over n work-groups of lsz work-items after the events of
 * *wait (which are then consumed: later launches follow in queue order);
 * its event goes to ev.
 */
static dg_status launch(dg_ctx *ctx, struct dg_cl_state *s, cl_kernel k,
                        size_t n, size_t lsz, const cl_event **wait,
                        cl_uint *n_wait, evlist *ev)
{
    dg_status st = DG_OK;
    cl_event e = NULL;
    size_t gsz = n * lsz;
    DG_CL_TRY(ctx, clEnqueueNDRangeKernel(s->queue, k, 1, NULL, &gsz, &lsz,
                                          *n_wait, *wait, &e));
    if (ev_add(ev, e, 1, 0) < 0) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
        goto out;
    }
    s->last_launches++;
    *wait = NULL;
    *n_wait = 0;
out:
    return st;
}

/*
 * Enqueues the kernels of one slab, after the events in wait (n_wait);
 * their events go to ev (kind 1), the last one to *done (retained).
 */
static dg_status run_slab(dg_ctx *ctx, struct dg_cl_state *s, plan *pl,
                          cl_mem *in_mem, cl_mem *out_mem, cl_mem thr,
                          uint32_t fa, uint32_t t0, uint32_t nt,
                          const cl_event *wait, cl_uint n_wait, evlist *ev,
                          cl_event *done)
{
    dg_status st = DG_OK;
    if (pl->n_bins) {
        cl_kernel k = s->k_frames;
        if ((st = set_common(ctx, k, in_mem, out_mem, thr, pl, fa, t0, nt)) <
            0)
            goto out;
        cl_uint capd = pl->capd, capg = pl->capg, capp = pl->capp;
        DG_CL_TRY(ctx, DG_CL_ARG(k, 31, in_mem[DG_CL_IN_FLIST]));
        DG_CL_TRY(ctx, DG_CL_ARG(k, 32, in_mem[DG_CL_IN_BINOFF]));
        DG_CL_TRY(ctx, clSetKernelArg(k, 33, pl->local_bytes, NULL));
        DG_CL_TRY(ctx, DG_CL_ARG(k, 34, capd));
        DG_CL_TRY(ctx, DG_CL_ARG(k, 35, capg));
        DG_CL_TRY(ctx, DG_CL_ARG(k, 36, capp));
        if ((st = launch(ctx, s, k, pl->n_bins, pl->lsz, &wait, &n_wait,
                         ev)) < 0)
            goto out;
    }
    /* The big frames, in batches whose scratch fits. */
    for (uint32_t a = 0; a < pl->n_big;) {
        uint64_t tot = 0;
        uint32_t b = a;
        while (b < pl->n_big && (b == a || tot + pl->big_bytes[b] <=
                                               pl->scratch_cap)) {
            pl->boff[b] = tot / 8;
            tot += pl->big_bytes[b];
            b++;
        }
        if (tot > s->max_alloc) {
            st = dg__fail(ctx, DG_ENOMEM,
                          "frame %u's matching scratch (%llu bytes) exceeds "
                          "the OpenCL device's maximum allocation",
                          fa + pl->bigf[a], (unsigned long long)tot);
            goto out;
        }
        if ((st = dg__cl_buf_reserve(ctx, &s->scratch, tot)) < 0)
            goto out;
        /* This batch's lists: small buffers of their own. */
        cl_int err;
        cl_mem bf = clCreateBuffer(s->context,
                                   CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                   (size_t)(b - a) * 4, pl->bigf + a, &err);
        DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(big frames)");
        cl_mem bo = clCreateBuffer(s->context,
                                   CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                   (size_t)(b - a) * 8, pl->boff + a, &err);
        if (err != CL_SUCCESS)
            clReleaseMemObject(bf);
        DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(big scratch offsets)");
        cl_kernel k = s->k_frames_big;
        st = set_common(ctx, k, in_mem, out_mem, thr, pl, fa, t0, nt);
        cl_int e1 = DG_CL_ARG(k, 31, bf), e2 = DG_CL_ARG(k, 32, bo),
               e3 = DG_CL_ARG(k, 33, s->scratch.mem);
        if (st >= 0 && (e1 || e2 || e3))
            st = dg__cl_fail(ctx, "clSetKernelArg(match_frames_big)",
                             e1 ? e1 : e2 ? e2 : e3, __FILE__, __LINE__);
        if (st >= 0)
            st = launch(ctx, s, k, b - a, pl->lsz_big, &wait, &n_wait, ev);
        /* Released now, freed once the kernel is done with them. */
        clReleaseMemObject(bf);
        clReleaseMemObject(bo);
        if (st < 0)
            goto out;
        a = b;
    }
out:
    if (st >= 0 && ev->n && done) {
        /* The slab's last kernel (the queue is in order). */
        cl_event last = NULL;
        for (size_t i = ev->n; i-- > 0;)
            if (ev->kind[i] == 1) {
                last = ev->e[i];
                break;
            }
        if (last) {
            clRetainEvent(last);
            *done = last;
        }
    }
    return st;
}

/* ---- the two ways ------------------------------------------------------------ */

/* A buffer over host memory (n bytes at p), or the dummy when empty. */
static cl_mem wrap(struct dg_cl_state *s, const void *p, size_t n,
                   cl_mem_flags rw, cl_int *err)
{
    if (!n) {
        *err = CL_SUCCESS;
        clRetainMemObject(s->dummy.mem);
        return s->dummy.mem;
    }
    return clCreateBuffer(s->context, rw | CL_MEM_USE_HOST_PTR, n, (void *)p,
                          err);
}

/* Host memory shared with the device: buffers over the caller's arrays. */
static dg_status run_unified(dg_ctx *ctx, struct dg_cl_state *s, plan *pl,
                             cl_mem thr, evlist *ev, dg_stage_profile *prof)
{
    const dg_match_output *out = pl->out;
    dg_status st = DG_OK;
    cl_mem in_mem[DG_CL_N_IN] = {0}, out_mem[DG_CL_N_OUT] = {0};
    cl_int err;
    slab_src src;
    slab_lists(pl, 0, pl->nf);
    slab_sources(pl, 0, pl->nf, &src);
    for (int i = 0; i < DG_CL_N_IN; i++) {
        in_mem[i] = wrap(s, src.p[i], src.n[i], CL_MEM_READ_ONLY, &err);
        DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(input)");
    }
    s->last_slabs = 1;
    uint32_t T = (uint32_t)pl->in->n_iou;
    for (uint32_t t0 = 0; t0 < T; t0 += pl->nt) {
        uint32_t nt = T - t0 < pl->nt ? T - t0 : pl->nt;
        size_t rows = (size_t)nt * pl->n_out;
        void *hp[DG_CL_N_OUT] = {out->status + (size_t)t0 * pl->n_out,
                                 out->matched + (size_t)t0 * pl->n_out,
                                 pl->agn ? (void *)(out->agnostic +
                                                    (size_t)t0 * pl->n_out)
                                         : NULL};
        size_t hb[DG_CL_N_OUT] = {rows, rows * 4, pl->agn ? rows * 4 : 0};
        for (int i = 0; i < DG_CL_N_OUT; i++) {
            out_mem[i] = wrap(s, hp[i], hb[i], CL_MEM_READ_WRITE, &err);
            DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(output)");
        }
        /* "Took nothing" everywhere first, by the host's threads. */
        dg_match_output rows_out = *out;
        rows_out.status = hp[0];
        rows_out.matched = hp[1];
        rows_out.agnostic = hp[2];
        dg__match_fill(ctx, &rows_out, pl->n_out, nt, pl->d_lo,
                       pl->d_hi - pl->d_lo);
        cl_event done = NULL;
        st = run_slab(ctx, s, pl, in_mem, out_mem, thr, 0, t0, nt, NULL, 0,
                      ev, &done);
        if (done)
            clReleaseEvent(done);
        if (st < 0)
            goto out;
        /* The map makes the device's writes the host's. */
        for (int i = 0; i < DG_CL_N_OUT; i++) {
            if (!hb[i])
                continue;
            void *m = clEnqueueMapBuffer(s->queue, out_mem[i], CL_TRUE,
                                         CL_MAP_READ, 0, hb[i], 0, NULL, NULL,
                                         &err);
            DG_CL_TRY_ERR(ctx, err, "clEnqueueMapBuffer(output)");
            DG_CL_TRY(ctx, clEnqueueUnmapMemObject(s->queue, out_mem[i], m, 0,
                                                   NULL, NULL));
        }
        DG_CL_TRY(ctx, clFinish(s->queue));
        ev_account(s, ev, prof);
        for (int i = 0; i < DG_CL_N_OUT; i++) {
            clReleaseMemObject(out_mem[i]);
            out_mem[i] = NULL;
        }
        s->last_passes++;
    }
out:
    clFinish(s->queue);
    for (int i = 0; i < DG_CL_N_OUT; i++)
        if (out_mem[i])
            clReleaseMemObject(out_mem[i]);
    for (int i = 0; i < DG_CL_N_IN; i++)
        if (in_mem[i])
            clReleaseMemObject(in_mem[i]);
    return st;
}

/* A slot's staging buffer of at least n bytes, mapped. */
static dg_status staging_fit(dg_ctx *ctx, struct dg_cl_state *s,
                             dg_cl_slot *sl, size_t n)
{
    dg_status st = DG_OK;
    cl_int err;
    if (sl->staging && sl->staging_cap >= n)
        return DG_OK;
    if (sl->staging) {
        clEnqueueUnmapMemObject(s->queue, sl->staging, sl->staging_ptr, 0,
                                NULL, NULL);
        clFinish(s->queue);
        clReleaseMemObject(sl->staging);
        sl->staging = NULL;
        sl->staging_ptr = NULL;
        sl->staging_cap = 0;
    }
    sl->staging = clCreateBuffer(s->context,
                                 CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, n,
                                 NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer(staging)");
    sl->staging_ptr = clEnqueueMapBuffer(s->queue, sl->staging, CL_TRUE,
                                         CL_MAP_WRITE, 0, n, 0, NULL, NULL,
                                         &err);
    if (err != CL_SUCCESS) {
        clReleaseMemObject(sl->staging);
        sl->staging = NULL;
    }
    DG_CL_TRY_ERR(ctx, err, "clEnqueueMapBuffer(staging)");
    sl->staging_cap = n;
out:
    return st;
}

static size_t up64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Copies input i of a slab into its place in the staging buffer. */
typedef struct stage_copy {
    const slab_src *src;
    void *staging;
} stage_copy;

static void copy_column(void *arg, uint64_t i, unsigned worker)
{
    const stage_copy *sc = arg;
    (void)worker;
    size_t off = 0;
    for (uint64_t k = 0; k < i; k++)
        off += up64(sc->src->n[k]);
    if (sc->src->n[i])
        memcpy((uint8_t *)sc->staging + off, sc->src->p[i], sc->src->n[i]);
}

/* A device of its own: slabs through two slots, copies beside kernels. */
static dg_status run_copies(dg_ctx *ctx, struct dg_cl_state *s, plan *pl,
                            cl_mem thr, evlist *ev, dg_stage_profile *prof)
{
    const dg_match_input *in = pl->in;
    const dg_match_output *out = pl->out;
    dg_status st = DG_OK;
    uint32_t nf = pl->nf, T = (uint32_t)in->n_iou;
    uint32_t *cuts = dg__alloc(ctx, (size_t)nf + 2, sizeof(*cuts));
    cl_event downloaded = NULL;
    if (!cuts)
        return DG_ENOMEM;
    /* Slabs of whole frames within slab_cap. */
    uint32_t nc = 0;
    cuts[nc++] = 0;
    for (uint32_t f = 0; f < nf;) {
        uint32_t g = f + 1;
        while (g < nf && slab_bytes(pl, f, g + 1) <= pl->slab_cap)
            g++;
        cuts[nc++] = g;
        f = g;
    }
    uint32_t n_slabs = nc - 1;
    s->last_slabs = n_slabs;

    /* Outputs: nt rows of n_out cells each. */
    size_t rows = (size_t)pl->nt * pl->n_out;
    if ((st = dg__cl_buf_reserve(ctx, &s->out[DG_CL_OUT_STATUS], rows)) < 0 ||
        (st = dg__cl_buf_reserve(ctx, &s->out[DG_CL_OUT_MATCHED], rows * 4)) <
            0 ||
        (pl->agn && (st = dg__cl_buf_reserve(ctx, &s->out[DG_CL_OUT_AGN],
                                             rows * 4)) < 0))
        goto out;
    cl_mem out_mem[DG_CL_N_OUT] = {
        s->out[DG_CL_OUT_STATUS].mem, s->out[DG_CL_OUT_MATCHED].mem,
        pl->agn ? s->out[DG_CL_OUT_AGN].mem : s->dummy.mem};

    for (uint32_t t0 = 0; t0 < T; t0 += pl->nt) {
        uint32_t nt = T - t0 < pl->nt ? T - t0 : pl->nt;
        /* The fill waits for the last pass's download. */
        cl_uchar fp = DG_FP;
        cl_int none = -1;
        size_t n = pl->d_hi - pl->d_lo;
        for (uint32_t t = 0; t < nt && n; t++) {
            size_t o = (size_t)t * pl->n_out + pl->d_lo;
            cl_uint nw = downloaded ? 1 : 0;
            const cl_event *wl = nw ? &downloaded : NULL;
            DG_CL_TRY(ctx, clEnqueueFillBuffer(s->queue, out_mem[0], &fp, 1,
                                               o, n, nw, wl, NULL));
            DG_CL_TRY(ctx, clEnqueueFillBuffer(s->queue, out_mem[1], &none, 4,
                                               o * 4, n * 4, nw, wl, NULL));
            if (pl->agn)
                DG_CL_TRY(ctx, clEnqueueFillBuffer(s->queue, out_mem[2], &none,
                                                   4, o * 4, n * 4, nw, wl,
                                                   NULL));
        }
        cl_event last = NULL;
        for (uint32_t k = 0; k < n_slabs; k++) {
            uint32_t fa = cuts[k], fb = cuts[k + 1];
            dg_cl_slot *sl = &s->slot[k & 1];
            slab_src src;
            slab_lists(pl, fa, fb);
            slab_sources(pl, fa, fb, &src);
            size_t tot = 0;
            for (int i = 0; i < DG_CL_N_IN; i++)
                tot += up64(src.n[i]);
            /* The one wait a slab: its staging buffer's last upload. */
            if (sl->uploaded) {
                DG_CL_TRY(ctx, clWaitForEvents(1, &sl->uploaded));
                clReleaseEvent(sl->uploaded);
                sl->uploaded = NULL;
            }
            if ((st = staging_fit(ctx, s, sl, tot)) < 0)
                goto out;
            cl_mem in_mem[DG_CL_N_IN];
            stage_copy sc = {&src, sl->staging_ptr};
            for (int i = 0; i < DG_CL_N_IN; i++) {
                if ((st = dg__cl_buf_reserve(ctx, &sl->in[i], src.n[i])) < 0)
                    goto out;
                in_mem[i] = sl->in[i].mem;
            }
            /* The host's part of an upload: into pinned memory, a column
             * a thread. */
            dg__parallel(ctx, DG_CL_N_IN, 0, copy_column, &sc);
            size_t off;
            /* Uploads on the copy queue once the slot's last kernel is
             * done with its device buffers. */
            off = 0;
            cl_uint nw = sl->consumed ? 1 : 0;
            for (int i = 0; i < DG_CL_N_IN; i++) {
                if (src.n[i]) {
                    cl_event e;
                    DG_CL_TRY(ctx, clEnqueueWriteBuffer(
                                       s->copyq, in_mem[i], CL_FALSE, 0,
                                       src.n[i],
                                       (uint8_t *)sl->staging_ptr + off, nw,
                                       nw ? &sl->consumed : NULL, &e));
                    if (ev_add(ev, e, 0, src.n[i]) < 0) {
                        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                        goto out;
                    }
                }
                off += up64(src.n[i]);
            }
            DG_CL_TRY(ctx, clEnqueueMarkerWithWaitList(s->copyq, 0, NULL,
                                                       &sl->uploaded));
            DG_CL_TRY(ctx, clFlush(s->copyq));
            if (sl->consumed) {
                clReleaseEvent(sl->consumed);
                sl->consumed = NULL;
            }
            st = run_slab(ctx, s, pl, in_mem, out_mem, thr, fa, t0, nt,
                          &sl->uploaded, 1, ev, &sl->consumed);
            if (st < 0)
                goto out;
            DG_CL_TRY(ctx, clFlush(s->queue));
            if (sl->consumed) {
                if (last)
                    clReleaseEvent(last);
                clRetainEvent(sl->consumed);
                last = sl->consumed;
            }
        }
        /* The rows of the chunk's cells come back on the copy queue. */
        void *hp[DG_CL_N_OUT] = {out->status, out->matched, out->agnostic};
        size_t el[DG_CL_N_OUT] = {1, 4, 4};
        if (downloaded) {
            clReleaseEvent(downloaded);
            downloaded = NULL;
        }
        for (int i = 0; i < (pl->agn ? 3 : 2) && n; i++) {
            size_t bo[3] = {pl->d_lo * el[i], 0, 0};
            size_t ho[3] = {pl->d_lo * el[i], t0, 0};
            size_t reg[3] = {n * el[i], nt, 1};
            cl_event e;
            DG_CL_TRY(ctx, clEnqueueReadBufferRect(
                               s->copyq, out_mem[i], CL_FALSE, bo, ho, reg,
                               pl->n_out * el[i], 0, pl->n_out * el[i], 0,
                               hp[i], last ? 1 : 0, last ? &last : NULL, &e));
            if (ev_add(ev, e, 2, n * el[i] * nt) < 0) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                goto out;
            }
        }
        if (last)
            clReleaseEvent(last);
        DG_CL_TRY(ctx, clEnqueueMarkerWithWaitList(s->copyq, 0, NULL,
                                                   &downloaded));
        s->last_passes++;
    }
    /* The one wait of the call. */
    DG_CL_TRY(ctx, clFinish(s->copyq));
    DG_CL_TRY(ctx, clFinish(s->queue));
    ev_account(s, ev, prof);
out:
    if (st < 0) {
        clFinish(s->copyq);
        clFinish(s->queue);
    }
    if (downloaded)
        clReleaseEvent(downloaded);
    for (int k = 0; k < 2; k++) {
        if (s->slot[k].uploaded)
            clReleaseEvent(s->slot[k].uploaded);
        if (s->slot[k].consumed)
            clReleaseEvent(s->slot[k].consumed);
        s->slot[k].uploaded = s->slot[k].consumed = NULL;
    }
    free(cuts);
    return st;
}

void dg__cl_frames_release(struct dg_cl_state *s)
{
    for (int k = 0; k < 2; k++) {
        dg_cl_slot *sl = &s->slot[k];
        for (int i = 0; i < DG_CL_N_IN; i++)
            dg__cl_buf_release(&sl->in[i]);
        if (sl->staging) {
            if (s->queue) {
                clEnqueueUnmapMemObject(s->queue, sl->staging,
                                        sl->staging_ptr, 0, NULL, NULL);
                clFinish(s->queue);
            }
            clReleaseMemObject(sl->staging);
        }
        if (sl->uploaded)
            clReleaseEvent(sl->uploaded);
        if (sl->consumed)
            clReleaseEvent(sl->consumed);
        memset(sl, 0, sizeof(*sl));
    }
    for (int i = 0; i < DG_CL_N_OUT; i++)
        dg__cl_buf_release(&s->out[i]);
    dg__cl_buf_release(&s->thr);
    dg__cl_buf_release(&s->scratch);
    dg__cl_buf_release(&s->dummy);
}

static dg_status check_input(dg_ctx *ctx, const dg_match_input *in,
                             const dg_match_output *out)
{
    const dg_boxset *gt = in ? in->gt : NULL, *dt = in ? in->dt : NULL;
    if (!in || !out || !gt || !dt || !out->status || !out->matched)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_match_frames: NULL argument");
    if (!gt->frame_off || !dt->frame_off || !gt->iscrowd || !gt->ignore ||
        !dt->score)
        return dg__fail(ctx, DG_EINVAL,
                        "dg__cl_match_frames: labels need frame_off, iscrowd "
                        "and ignore; detections need frame_off and score");
    if (in->n_iou < 0 || in->n_iou > DG_MAX_IOU_THRESHOLDS ||
        (in->n_iou && !in->iou))
        return dg__fail(ctx, DG_EINVAL, "dg__cl_match_frames: bad thresholds");
    if (in->iou_tile && !in->tile_off)
        return dg__fail(ctx, DG_EINVAL,
                        "dg__cl_match_frames: an IoU tile needs tile_off");
    /* Detection and label indices travel as 32-bit integers. */
    if (dt->n >= UINT32_MAX || gt->n > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE,
                        "dg__cl_match_frames: chunk too large (%llu "
                        "detections, %llu labels)",
                        (unsigned long long)dt->n, (unsigned long long)gt->n);
    uint32_t nf = in->n_frames;
    if (out->pos && nf &&
        (dt->frame_off[0] != 0 || dt->frame_off[nf] != dt->n))
        return dg__fail(ctx, DG_EINVAL,
                        "dg__cl_match_frames: sorted positions need the "
                        "whole detection set in one chunk");
    return DG_OK;
}

dg_status dg__cl_match_frames(dg_ctx *ctx, const dg_match_input *in,
                              const dg_match_output *out,
                              dg_stage_profile *prof)
{
    dg_status st = check_input(ctx, in, out);
    if (st < 0)
        return st;
    if ((st = dg__cl_ensure_match(ctx)) < 0)
        return st;
    if (dg__fault("cl-match")) /* tests of the engine's fallback */
        return dg__cl_fail(ctx, "clEnqueueNDRangeKernel (simulated: "
                                "DETGRID_FAULT=cl-match)",
                           CL_OUT_OF_RESOURCES, __FILE__, __LINE__);
    struct dg_cl_state *s = DG_CL(ctx);
    s->last_slabs = s->last_passes = s->last_launches = 0;
    s->last_local_frames = s->last_big_frames = 0;
    uint32_t nf = in->n_frames;
    const dg_boxset *dt = in->dt, *gt = in->gt;
    if (!nf || !in->n_iou || dt->frame_off[nf] == dt->frame_off[0])
        return DG_OK;

    plan pl;
    evlist ev;
    memset(&pl, 0, sizeof(pl));
    memset(&ev, 0, sizeof(ev));
    pl.in = in;
    pl.out = out;
    pl.nf = nf;
    pl.d_lo = dt->frame_off[0];
    pl.d_hi = dt->frame_off[nf];
    pl.g_lo = gt->frame_off[0];
    pl.g_hi = gt->frame_off[nf];
    pl.n_out = dt->n;
    pl.agn = out->agnostic != NULL;
    if ((st = make_plan(ctx, s, &pl)) < 0)
        return st;
    pl.flist = dg__alloc(ctx, (size_t)nf + 1, sizeof(*pl.flist));
    pl.bin_off = dg__alloc(ctx, (size_t)nf + 2, sizeof(*pl.bin_off));
    pl.bigf = dg__alloc(ctx, (size_t)nf + 1, sizeof(*pl.bigf));
    pl.boff = dg__alloc(ctx, (size_t)nf + 1, sizeof(*pl.boff));
    pl.big_bytes = dg__alloc(ctx, (size_t)nf + 1, sizeof(*pl.big_bytes));
    if (!pl.flist || !pl.bin_off || !pl.bigf || !pl.boff || !pl.big_bytes) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t f = 0; f < nf; f++) {
        uint64_t nd = dt->frame_off[f + 1] - dt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - gt->frame_off[f];
        if (!nd)
            continue;
        if (nd <= pl.capd && ng <= pl.capg && nd * ng <= pl.capp)
            s->last_local_frames++;
        else
            s->last_big_frames++;
    }
    /* The thresholds, and a stand-in for inputs that are empty. */
    if ((st = dg__cl_buf_reserve(ctx, &s->thr, sizeof(pl.thr))) < 0 ||
        (st = dg__cl_buf_reserve(ctx, &s->dummy, 64)) < 0)
        goto out;
    DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue, s->thr.mem, CL_TRUE, 0,
                                        sizeof(pl.thr), pl.thr, 0, NULL,
                                        NULL));
    /* DETGRID_CL_COPIES=1 takes a GPU's way on any device (tests). */
    st = s->unified && !dg__env("DETGRID_CL_COPIES")
             ? run_unified(ctx, s, &pl, s->thr.mem, &ev, prof)
             : run_copies(ctx, s, &pl, s->thr.mem, &ev, prof);
out:
    ev_free(&ev);
    free(pl.flist);
    free(pl.bin_off);
    free(pl.bigf);
    free(pl.boff);
    free(pl.big_bytes);
    return st;
}
