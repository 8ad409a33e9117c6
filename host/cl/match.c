/*
 * Matching on the device: dg__cl_match() gives the bytes dg__match_ref()
 * gives, for any input size.
 *
 * The host packs the chunk in group order, in linear time but for the sort
 * of each group's detections by score:
 *
 *   - a group is one class of one frame that has detections, in order of
 *     first appearance among the frame's detections;
 *   - its detections, in matching order (descending score, input order on
 *     ties), are consecutive in dbox/didx/dgrp;
 *   - its ground truths, regular ones then ignored ones, each in input
 *     order, are consecutive in gbox/gflag/gidx (ground truths of classes
 *     without detections in their frame are left out: nothing can take
 *     them);
 *   - grp[g] = (dt_off, n_d, gt_off, n_g) and iou_off[g], the start of its
 *     n_d rows of n_g pairs among the stored pairs, or
 *     DG_CL_IOU_ON_THE_FLY when storing a frame's pairs would take more
 *     than half the batch budget (the groups past that point go without).
 *
 * Frames are then cut into batches that fit the device (each buffer under
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, all of them under the batch budget). Per
 * batch: upload, iou_pairwise (one work-item per detection: its row of
 * IoUs, compacted to the ground truths at or above the lowest threshold),
 * match_greedy (one work-item per group and threshold, all thresholds in
 * one launch, scanning only those candidates, results scattered into
 * chunk detection order), and two rectangular reads that drop the rows
 * into out->status/matched. The queue is in order, so batches pipeline
 * without host waits until the end.
 */
#include <stdlib.h>
#include <string.h>

#include "cl/dg_cl.h"

typedef struct {
    double score;
    uint32_t idx;
} skey;

/* Detection class ids at or above this are refused. */
#define MAX_CLASS_ID (1u << 26)

/* Device bytes per stored pair: an IoU and a candidate index. */
#define PAIR_BYTES (sizeof(cl_double) + sizeof(cl_uint))

/*
 * Stable sort by descending score: equal scores keep their (ascending
 * index) order, which is dg__match_ref's comparator for every score that is
 * not NaN.
 */
static void sort_desc(skey *a, skey *tmp, uint32_t n)
{
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            skey v = a[i];
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
    sort_desc(a, tmp, h);
    sort_desc(a + h, tmp, n - h);
    if (!(a[h - 1].score < a[h].score))
        return; /* already in order */
    memcpy(tmp, a, h * sizeof(*a));
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = a[j].score > tmp[i].score ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

/* The chunk in group order (see the top of the file). */
typedef struct {
    uint32_t n_grp, n_det, n_gt;
    uint64_t n_pairs; /* stored pairs */
    cl_uint4 *grp;
    cl_ulong *iou_off;
    cl_uint *dgrp, *didx;
    cl_double *dbox; /* 4 per detection */
    cl_double *gbox; /* 4 per ground truth */
    cl_uchar *gflag;
    cl_int *gidx;
    /* Per frame f, where its part starts (n_frames + 1 entries each). */
    uint32_t *f_grp, *f_gt;
    uint64_t *f_pairs;
} packed;

static void packed_release(packed *p)
{
    free(p->grp);
    free(p->iou_off);
    free(p->dgrp);
    free(p->didx);
    free(p->dbox);
    free(p->gbox);
    free(p->gflag);
    free(p->gidx);
    free(p->f_grp);
    free(p->f_gt);
    free(p->f_pairs);
}

/*
 * Packs the chunk. iou_cap bounds the bytes of one frame's stored IoU
 * matrices; groups beyond it are matched with IoUs computed on the fly.
 */
static dg_status pack(dg_ctx *ctx, const dg_match_input *in, uint64_t iou_cap,
                      packed *p)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint32_t nf = in->n_frames;
    uint64_t d_lo = dt->frame_off[0], d_hi = dt->frame_off[nf];
    uint64_t g_lo = gt->frame_off[0], g_hi = gt->frame_off[nf];
    uint32_t n_det = (uint32_t)(d_hi - d_lo);
    dg_status st = DG_OK;
    int32_t *slot = NULL;
    uint32_t *ucls = NULL, *dcnt = NULL, *greg = NULL, *gign = NULL;
    uint32_t *dcur = NULL, *rcur = NULL, *icur = NULL;
    skey *keys = NULL, *tmp = NULL;
    uint32_t n_cls = 0, max_fd = 0;

    memset(p, 0, sizeof(*p));
    /*
     * Class ids index a table as long as the largest among the detections
     * (labels of other classes cannot match anything); n_classes is only a
     * hint the data need not respect.
     */
    for (uint64_t k = d_lo; k < d_hi; k++)
        if (dt->cls[k] >= n_cls) {
            if (dt->cls[k] >= MAX_CLASS_ID)
                return dg__fail(ctx, DG_ERANGE,
                                "dg__cl_match: class id %u of detection %llu "
                                "is out of range",
                                dt->cls[k], (unsigned long long)k);
            n_cls = dt->cls[k] + 1;
        }
    for (uint32_t f = 0; f < nf; f++)
        if (dt->frame_off[f + 1] - dt->frame_off[f] > max_fd)
            max_fd = (uint32_t)(dt->frame_off[f + 1] - dt->frame_off[f]);

    /* Upper bounds: a group per detection, every ground truth packed. */
    uint64_t gt_max = g_hi - g_lo;
    uint64_t grp_max = n_det;
    p->grp = dg__alloc(ctx, grp_max + 1, sizeof(*p->grp));
    p->iou_off = dg__alloc(ctx, grp_max + 1, sizeof(*p->iou_off));
    p->dgrp = dg__alloc(ctx, n_det + 1, sizeof(*p->dgrp));
    p->didx = dg__alloc(ctx, n_det + 1, sizeof(*p->didx));
    p->dbox = dg__alloc(ctx, (size_t)n_det + 1, 4 * sizeof(*p->dbox));
    p->gbox = dg__alloc(ctx, gt_max + 1, 4 * sizeof(*p->gbox));
    p->gflag = dg__alloc(ctx, gt_max + 1, sizeof(*p->gflag));
    p->gidx = dg__alloc(ctx, gt_max + 1, sizeof(*p->gidx));
    p->f_grp = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->f_grp));
    p->f_gt = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->f_gt));
    p->f_pairs = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->f_pairs));
    slot = dg__alloc(ctx, (size_t)n_cls + 1, sizeof(*slot));
    size_t loc = (size_t)(max_fd < n_cls ? max_fd : n_cls) + 1;
    ucls = dg__alloc(ctx, loc, sizeof(*ucls));
    dcnt = dg__alloc(ctx, loc, sizeof(*dcnt));
    greg = dg__alloc(ctx, loc, sizeof(*greg));
    gign = dg__alloc(ctx, loc, sizeof(*gign));
    dcur = dg__alloc(ctx, loc, sizeof(*dcur));
    rcur = dg__alloc(ctx, loc, sizeof(*rcur));
    icur = dg__alloc(ctx, loc, sizeof(*icur));
    keys = dg__alloc(ctx, (size_t)max_fd + 1, sizeof(*keys));
    tmp = dg__alloc(ctx, (size_t)max_fd / 2 + 1, sizeof(*tmp));
    if (!p->grp || !p->iou_off || !p->dgrp || !p->didx || !p->dbox ||
        !p->gbox || !p->gflag || !p->gidx || !p->f_grp || !p->f_gt ||
        !p->f_pairs || !slot || !ucls || !dcnt || !greg || !gign || !dcur ||
        !rcur || !icur || !keys || !tmp) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < n_cls; c++)
        slot[c] = -1;

    uint32_t n_grp = 0, n_gt = 0;
    uint64_t pairs = 0;
    for (uint32_t f = 0; f < nf; f++) {
        uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
        uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
        uint32_t nl = 0;
        p->f_grp[f] = n_grp;
        p->f_gt[f] = n_gt;
        p->f_pairs[f] = pairs;
        if (d0 == d1)
            continue;

        /* Count: groups in order of first appearance. */
        for (uint64_t k = d0; k < d1; k++) {
            uint32_t c = dt->cls[k];
            if (slot[c] < 0) {
                slot[c] = (int32_t)nl;
                ucls[nl] = c;
                dcnt[nl] = greg[nl] = gign[nl] = 0;
                nl++;
            }
            dcnt[slot[c]]++;
        }
        for (uint64_t j = g0; j < g1; j++) {
            uint32_t c = gt->cls[j];
            if (c >= n_cls || slot[c] < 0)
                continue;
            if (gt->iscrowd[j] || gt->ignore[j])
                gign[slot[c]]++;
            else
                greg[slot[c]]++;
        }

        /* Offsets and group descriptors. */
        uint32_t doff = (uint32_t)(d0 - d_lo), goff = n_gt;
        uint64_t fpairs = 0;
        for (uint32_t l = 0; l < nl; l++) {
            uint32_t ng = greg[l] + gign[l];
            uint64_t np = (uint64_t)dcnt[l] * ng;
            cl_uint4 *g = &p->grp[n_grp + l];
            g->s[0] = doff;
            g->s[1] = dcnt[l];
            g->s[2] = goff;
            g->s[3] = ng;
            if ((fpairs + np) * PAIR_BYTES <= iou_cap) {
                p->iou_off[n_grp + l] = pairs + fpairs;
                fpairs += np;
            } else {
                p->iou_off[n_grp + l] = DG_CL_IOU_ON_THE_FLY;
            }
            dcur[l] = doff - (uint32_t)(d0 - d_lo); /* frame-relative */
            rcur[l] = goff;
            icur[l] = goff + greg[l];
            doff += dcnt[l];
            goff += ng;
        }

        /* Detections: place stably, sort each group, write boxes. */
        for (uint64_t k = d0; k < d1; k++) {
            int32_t l = slot[dt->cls[k]];
            skey *e = &keys[dcur[l]++];
            e->score = dt->score[k];
            e->idx = (uint32_t)k;
        }
        for (uint32_t l = 0; l < nl; l++) {
            cl_uint4 g = p->grp[n_grp + l];
            uint32_t fo = g.s[0] - (uint32_t)(d0 - d_lo);
            sort_desc(keys + fo, tmp, g.s[1]);
            for (uint32_t i = 0; i < g.s[1]; i++) {
                uint32_t k = keys[fo + i].idx, o = g.s[0] + i;
                p->dgrp[o] = n_grp + l;
                p->didx[o] = k;
                p->dbox[4 * (size_t)o + 0] = dt->x[k];
                p->dbox[4 * (size_t)o + 1] = dt->y[k];
                p->dbox[4 * (size_t)o + 2] = dt->w[k];
                p->dbox[4 * (size_t)o + 3] = dt->h[k];
            }
        }

        /* Ground truths: regular ones, then ignored ones. */
        for (uint64_t j = g0; j < g1; j++) {
            uint32_t c = gt->cls[j];
            if (c >= n_cls || slot[c] < 0)
                continue;
            int crowd = gt->iscrowd[j] != 0;
            int ig = crowd || gt->ignore[j];
            uint32_t o = ig ? icur[slot[c]]++ : rcur[slot[c]]++;
            p->gbox[4 * (size_t)o + 0] = gt->x[j];
            p->gbox[4 * (size_t)o + 1] = gt->y[j];
            p->gbox[4 * (size_t)o + 2] = gt->w[j];
            p->gbox[4 * (size_t)o + 3] = gt->h[j];
            p->gflag[o] = (cl_uchar)((crowd ? DG_CL_FLAG_CROWD : 0) |
                                     (ig ? DG_CL_FLAG_IGNORED : 0));
            p->gidx[o] = (cl_int)j;
        }

        for (uint32_t l = 0; l < nl; l++)
            slot[ucls[l]] = -1;
        n_grp += nl;
        n_gt = goff;
        pairs += fpairs;
    }
    p->f_grp[nf] = n_grp;
    p->f_gt[nf] = n_gt;
    p->f_pairs[nf] = pairs;
    p->n_grp = n_grp;
    p->n_det = n_det;
    p->n_gt = n_gt;
    p->n_pairs = pairs;
out:
    free(slot);
    free(ucls);
    free(dcnt);
    free(greg);
    free(gign);
    free(dcur);
    free(rcur);
    free(icur);
    free(keys);
    free(tmp);
    if (st < 0)
        packed_release(p);
    return st;
}

/* ---- batches ------------------------------------------------------------- */

/* Bytes each device buffer needs for frames [fa, fb). */
static void batch_sizes(const packed *p, const dg_match_input *in,
                        uint32_t fa, uint32_t fb, size_t *sz)
{
    const uint64_t *doff = in->dt->frame_off;
    uint64_t g = p->f_grp[fb] - p->f_grp[fa];
    uint64_t d = doff[fb] - doff[fa];
    uint64_t t = p->f_gt[fb] - p->f_gt[fa];
    uint64_t pr = p->f_pairs[fb] - p->f_pairs[fa];
    uint64_t ni = (uint64_t)in->n_iou;

    memset(sz, 0, DG_CL_N_BUFS * sizeof(*sz));
    sz[DG_CL_BUF_GRP] = g * sizeof(cl_uint4);
    sz[DG_CL_BUF_IOU_OFF] = g * sizeof(cl_ulong);
    sz[DG_CL_BUF_DGRP] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_DBOX] = d * 4 * sizeof(cl_double);
    sz[DG_CL_BUF_DIDX] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_GBOX] = t * 4 * sizeof(cl_double);
    sz[DG_CL_BUF_GFLAG] = t;
    sz[DG_CL_BUF_GIDX] = t * sizeof(cl_int);
    sz[DG_CL_BUF_IOU] = pr * sizeof(cl_double);
    sz[DG_CL_BUF_CAND] = pr * sizeof(cl_uint);
    sz[DG_CL_BUF_NCAND] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_THR] = ni * sizeof(cl_double);
    sz[DG_CL_BUF_TAKEN] = ni * t;
    sz[DG_CL_BUF_STATUS] = ni * d;
    sz[DG_CL_BUF_MATCHED] = ni * d * sizeof(cl_int);
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


dg_status dg__cl_iou_pairwise(dg_ctx *ctx, cl_uint n_det, cl_uint grp_base,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong iou_base, cl_double thr_min)
{
    struct dg_cl_state *s = ctx->cl;
    cl_kernel k = s->k_iou;
    dg_status st = DG_OK;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, DG_CL_BUF(s, DG_CL_BUF_GRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, DG_CL_BUF(s, DG_CL_BUF_IOU_OFF)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, DG_CL_BUF(s, DG_CL_BUF_DGRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, DG_CL_BUF(s, DG_CL_BUF_DBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, DG_CL_BUF(s, DG_CL_BUF_GBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, DG_CL_BUF(s, DG_CL_BUF_GFLAG)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, n_det));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 7, grp_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 8, dt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 9, gt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 10, iou_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 11, thr_min));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 12, DG_CL_BUF(s, DG_CL_BUF_IOU)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, DG_CL_BUF(s, DG_CL_BUF_CAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 14, DG_CL_BUF(s, DG_CL_BUF_NCAND)));
    DG_CL_TRY(ctx, dg__cl_launch(s, k, n_det, 1));
out:
    return st;
}

dg_status dg__cl_match_greedy(dg_ctx *ctx, cl_uint n_grp, cl_uint n_thr,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong iou_base, cl_uint n_gt,
                              cl_uint out_base, cl_ulong n_out)
{
    struct dg_cl_state *s = ctx->cl;
    cl_kernel k = s->k_match;
    dg_status st = DG_OK;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, DG_CL_BUF(s, DG_CL_BUF_GRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, DG_CL_BUF(s, DG_CL_BUF_IOU_OFF)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, DG_CL_BUF(s, DG_CL_BUF_DBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, DG_CL_BUF(s, DG_CL_BUF_DIDX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, DG_CL_BUF(s, DG_CL_BUF_GBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, DG_CL_BUF(s, DG_CL_BUF_GFLAG)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, DG_CL_BUF(s, DG_CL_BUF_GIDX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 7, DG_CL_BUF(s, DG_CL_BUF_IOU)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 8, DG_CL_BUF(s, DG_CL_BUF_CAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 9, DG_CL_BUF(s, DG_CL_BUF_NCAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 10, DG_CL_BUF(s, DG_CL_BUF_THR)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 11, DG_CL_BUF(s, DG_CL_BUF_TAKEN)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 12, n_grp));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, n_thr));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 14, dt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 15, gt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 16, iou_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 17, n_gt));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 18, out_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 19, n_out));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 20, DG_CL_BUF(s, DG_CL_BUF_STATUS)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 21, DG_CL_BUF(s, DG_CL_BUF_MATCHED)));
    DG_CL_TRY(ctx, dg__cl_launch(s, k, (size_t)n_grp * n_thr, 1));
out:
    return st;
}

/* Non-blocking upload of n bytes from host to the start of buffer which. */
#define PUT(which, ptr, n)                                                   \
    do {                                                                     \
        if ((n) > 0)                                                         \
            DG_CL_TRY(ctx, clEnqueueWriteBuffer(s->queue, DG_CL_BUF(s, which),        \
                                                CL_FALSE, 0, (n), (ptr), 0,  \
                                                NULL, NULL));                \
    } while (0)

static dg_status check_input(dg_ctx *ctx, const dg_match_input *in,
                             const dg_match_output *out)
{
    const dg_boxset *gt = in ? in->gt : NULL, *dt = in ? in->dt : NULL;
    if (!in || !out || !gt || !dt || !out->status || !out->matched)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_match: NULL argument");
    if (!gt->frame_off || !dt->frame_off || !gt->iscrowd || !gt->ignore ||
        !dt->score)
        return dg__fail(ctx, DG_EINVAL,
                        "dg__cl_match: labels need frame_off, iscrowd and "
                        "ignore; detections need frame_off and score");
    if (in->n_iou < 0 || in->n_iou > DG_MAX_IOU_THRESHOLDS ||
        (in->n_iou && !in->iou))
        return dg__fail(ctx, DG_EINVAL, "dg__cl_match: bad thresholds");
    /* Detection and label indices travel as 32-bit integers. */
    if (dt->n >= UINT32_MAX || gt->n > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE,
                        "dg__cl_match: chunk too large (%llu detections, "
                        "%llu labels)",
                        (unsigned long long)dt->n, (unsigned long long)gt->n);
    return DG_OK;
}

dg_status dg__cl_match(dg_ctx *ctx, const dg_match_input *in,
                       dg_match_output *out)
{
    dg_status st = check_input(ctx, in, out);
    packed p;
    int packed_ok = 0, enqueued = 0;
    uint32_t *cuts = NULL, n_batches = 0;
    struct dg_cl_state *s;

    if (st < 0)
        return st;
    st = dg__cl_ensure(ctx);
    if (st < 0)
        return st;
    s = ctx->cl;
    s->last_batches = 0;
    s->last_groups = s->last_fly_groups = s->last_pairs = 0;

    const dg_boxset *dt = in->dt;
    uint32_t nf = in->n_frames;
    if (nf == 0 || in->n_iou == 0 || dt->frame_off[nf] == dt->frame_off[0])
        return DG_OK;

    uint64_t budget = s->batch_bytes ? s->batch_bytes
                                     : dg__cl_default_batch_bytes(s);
    /* One frame's pairs may take half the budget, and no buffer more than
     * the largest allocation. */
    uint64_t iou_cap = budget / 2;
    if (iou_cap / sizeof(cl_double) * PAIR_BYTES > s->max_alloc)
        iou_cap = s->max_alloc / sizeof(cl_double) * PAIR_BYTES;
    st = pack(ctx, in, iou_cap, &p);
    if (st < 0)
        return st;
    packed_ok = 1;

    /* Cut frames into batches; remember the largest size of each buffer. */
    size_t need[DG_CL_N_BUFS] = {0}, sz[DG_CL_N_BUFS];
    cuts = dg__alloc(ctx, (size_t)nf + 1, sizeof(*cuts));
    if (!cuts) {
        st = DG_ENOMEM;
        goto out;
    }
    cuts[n_batches++] = 0;
    for (uint32_t fa = 0; fa < nf;) {
        uint32_t fb = fa + 1;
        batch_sizes(&p, in, fa, fb, sz);
        if (!fits(sz, s->max_alloc, 0))
            break; /* reported below */
        /* Gallop: double the step while the frames fit, halve it if not. */
        uint32_t step = 1;
        while (fb < nf) {
            uint32_t nb = fb + step > nf ? nf : fb + step;
            batch_sizes(&p, in, fa, nb, sz);
            if (fits(sz, s->max_alloc, budget)) {
                fb = nb;
                step *= 2;
            } else if (step > 1) {
                step /= 2;
            } else {
                break;
            }
        }
        batch_sizes(&p, in, fa, fb, sz);
        for (int i = 0; i < DG_CL_N_BUFS; i++)
            if (sz[i] > need[i])
                need[i] = sz[i];
        cuts[n_batches++] = fb;
        fa = fb;
    }
    if (cuts[n_batches - 1] != nf) {
        uint32_t f = cuts[n_batches - 1];
        st = dg__fail(ctx, DG_ENOMEM,
                      "frame %u of the chunk (%llu detections) does not fit "
                      "the OpenCL device's maximum allocation of %llu bytes",
                      f,
                      (unsigned long long)(dt->frame_off[f + 1] -
                                           dt->frame_off[f]),
                      (unsigned long long)s->max_alloc);
        goto out;
    }
    n_batches--;

    for (int i = 0; i <= DG_CL_BUF_MATCHED; i++) {
        if ((st = dg__cl_buf_reserve(ctx, i, need[i])) < 0)
            goto out;
    }

    double thr[DG_MAX_IOU_THRESHOLDS], thr_min = 0;
    for (int t = 0; t < in->n_iou; t++) {
        thr[t] = in->iou[t] < 1 - 1e-10 ? in->iou[t] : 1 - 1e-10;
        if (t == 0 || thr[t] < thr_min)
            thr_min = thr[t];
    }
    enqueued = 1;
    PUT(DG_CL_BUF_THR, thr, (size_t)in->n_iou * sizeof(*thr));

    uint64_t d_lo = dt->frame_off[0];
    size_t n_dt = dt->n;
    for (uint32_t b = 0; b < n_batches; b++) {
        uint32_t fa = cuts[b], fb = cuts[b + 1];
        uint32_t ga = p.f_grp[fa], gb = p.f_grp[fb];
        uint32_t ta = p.f_gt[fa], tb = p.f_gt[fb];
        uint64_t pa = p.f_pairs[fa], pb = p.f_pairs[fb];
        uint64_t oa = in->dt->frame_off[fa], ob = in->dt->frame_off[fb];
        uint32_t da = (uint32_t)(oa - d_lo), db = (uint32_t)(ob - d_lo);
        uint32_t ng = gb - ga, nd = db - da, nt = tb - ta;
        if (nd == 0)
            continue;

        PUT(DG_CL_BUF_GRP, p.grp + ga, ng * sizeof(cl_uint4));
        PUT(DG_CL_BUF_IOU_OFF, p.iou_off + ga, ng * sizeof(cl_ulong));
        PUT(DG_CL_BUF_DGRP, p.dgrp + da, nd * sizeof(cl_uint));
        PUT(DG_CL_BUF_DBOX, p.dbox + 4 * (size_t)da,
            nd * 4 * sizeof(cl_double));
        PUT(DG_CL_BUF_DIDX, p.didx + da, nd * sizeof(cl_uint));
        PUT(DG_CL_BUF_GBOX, p.gbox + 4 * (size_t)ta,
            nt * 4 * sizeof(cl_double));
        PUT(DG_CL_BUF_GFLAG, p.gflag + ta, nt);
        PUT(DG_CL_BUF_GIDX, p.gidx + ta, nt * sizeof(cl_int));

        if (pb > pa) {
            st = dg__cl_iou_pairwise(ctx, nd, ga, da, ta, pa, thr_min);
            if (st < 0)
                goto out;
        }
        st = dg__cl_match_greedy(ctx, ng, (cl_uint)in->n_iou, da, ta, pa, nt,
                                 (cl_uint)oa, nd);
        if (st < 0)
            goto out;

        /* Rows of nd results go to out at column oa of rows n_dt long. */
        size_t bo[3] = {0, 0, 0}, ho[3] = {oa, 0, 0};
        size_t reg[3] = {nd, (size_t)in->n_iou, 1};
        DG_CL_TRY(ctx, clEnqueueReadBufferRect(
                           s->queue, DG_CL_BUF(s, DG_CL_BUF_STATUS), CL_FALSE, bo, ho,
                           reg, nd, 0, n_dt, 0, out->status, 0, NULL, NULL));
        size_t bo4[3] = {0, 0, 0}, ho4[3] = {oa * sizeof(cl_int), 0, 0};
        size_t reg4[3] = {nd * sizeof(cl_int), (size_t)in->n_iou, 1};
        DG_CL_TRY(ctx, clEnqueueReadBufferRect(
                           s->queue, DG_CL_BUF(s, DG_CL_BUF_MATCHED), CL_FALSE, bo4,
                           ho4, reg4, nd * sizeof(cl_int), 0,
                           n_dt * sizeof(cl_int), 0, out->matched, 0, NULL,
                           NULL));
        s->last_batches++;
    }
    s->last_groups = p.n_grp;
    s->last_pairs = p.n_pairs;
    for (uint32_t g = 0; g < p.n_grp; g++)
        s->last_fly_groups += p.iou_off[g] == DG_CL_IOU_ON_THE_FLY;
out:
    if (enqueued) {
        /* Host memory stays in use until the queue drains, even on error. */
        cl_int e = clFinish(s->queue);
        if (e != CL_SUCCESS && st == DG_OK)
            st = dg__cl_fail(ctx, "clFinish(s->queue)", e, __FILE__, __LINE__);
    }
    free(cuts);
    if (packed_ok)
        packed_release(&p);
    return st;
}
