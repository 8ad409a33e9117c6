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
 * Frames are then cut into batches that fit the device (batch.c: each
 * buffer under CL_DEVICE_MAX_MEM_ALLOC_SIZE, all of them under the batch
 * budget). Per batch: upload, iou_pairwise (one work-item per detection:
 * its row of IoUs, compacted to the ground truths at or above the lowest
 * threshold), match_greedy (one work-item per group and threshold, all thresholds in
 * one launch, scanning only those candidates, results scattered into
 * chunk detection order), and two rectangular reads that drop the rows
 * into out->status/matched. The queue is in order, so batches pipeline
 * without host waits until the end.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* Detection class ids at or above this are refused. */
#define MAX_CLASS_ID (1u << 26)

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
    dg_cl_skey *keys = NULL, *tmp = NULL;
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
            if ((fpairs + np) * DG_CL_PAIR_BYTES <= iou_cap) {
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
            dg_cl_skey *e = &keys[dcur[l]++];
            e->score = dt->score[k];
            e->idx = (uint32_t)k;
        }
        for (uint32_t l = 0; l < nl; l++) {
            cl_uint4 g = p->grp[n_grp + l];
            uint32_t fo = g.s[0] - (uint32_t)(d0 - d_lo);
            dg__cl_sort_desc(keys + fo, tmp, g.s[1]);
            for (uint32_t i = 0; i < g.s[1]; i++) {
                uint32_t k = keys[fo + i].idx, o = g.s[0] + i;
                p->dgrp[o] = n_grp + l;
                p->didx[o] = k;
                dg__cl_put_box(p->dbox, o, dt, k);
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
            dg__cl_put_box(p->gbox, o, gt, j);
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
static void batch_sizes(const void *packed_, const dg_match_input *in,
                        uint32_t fa, uint32_t fb, size_t *sz)
{
    const packed *p = packed_;
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

dg_status dg__cl_iou_pairwise(dg_ctx *ctx, cl_uint n_det, cl_uint grp_base,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong iou_base, cl_double thr_min)
{
    struct dg_cl_state *s = DG_CL(ctx);
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
    struct dg_cl_state *s = DG_CL(ctx);
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
    return dg__cl_check_chunk(ctx, "dg__cl_match", in);
}

/* The buffers the class-wise matcher uses (batch_sizes sets them). */
static const int used_bufs[] = {
    DG_CL_BUF_GRP,   DG_CL_BUF_IOU_OFF, DG_CL_BUF_DGRP,  DG_CL_BUF_DBOX,
    DG_CL_BUF_DIDX,  DG_CL_BUF_GBOX,    DG_CL_BUF_GFLAG, DG_CL_BUF_GIDX,
    DG_CL_BUF_IOU,   DG_CL_BUF_CAND,    DG_CL_BUF_NCAND, DG_CL_BUF_THR,
    DG_CL_BUF_TAKEN, DG_CL_BUF_STATUS,  DG_CL_BUF_MATCHED};

dg_status dg__cl_match(dg_ctx *ctx, const dg_match_input *in,
                       dg_match_output *out)
{
    dg_status st = check_input(ctx, in, out);
    packed p;
    dg_cl_batches b;
    struct dg_cl_state *s;

    if (st < 0)
        return st;
    st = dg__cl_ensure_match(ctx);
    if (st < 0)
        return st;
    s = DG_CL(ctx);
    s->last_batches = 0;
    s->last_groups = s->last_fly_groups = s->last_pairs = 0;

    const dg_boxset *dt = in->dt;
    uint32_t nf = in->n_frames;
    if (nf == 0 || in->n_iou == 0 || dt->frame_off[nf] == dt->frame_off[0])
        return DG_OK;

    st = pack(ctx, in, dg__cl_batches_init(ctx, &b), &p);
    if (st < 0)
        return st;
    st = dg__cl_batches_plan(ctx, &b, in, batch_sizes, &p, used_bufs,
                             sizeof(used_bufs) / sizeof(used_bufs[0]));
    if (st < 0)
        goto out;

    uint64_t d_lo = dt->frame_off[0];
    for (uint32_t k = 0; k < b.n; k++) {
        uint32_t fa = b.cuts[k], fb = b.cuts[k + 1];
        uint32_t ga = p.f_grp[fa], gb = p.f_grp[fb];
        uint32_t ta = p.f_gt[fa], tb = p.f_gt[fb];
        uint64_t pa = p.f_pairs[fa], pb = p.f_pairs[fb];
        uint64_t oa = dt->frame_off[fa], ob = dt->frame_off[fb];
        uint32_t da = (uint32_t)(oa - d_lo), db = (uint32_t)(ob - d_lo);
        uint32_t ng = gb - ga, nd = db - da, nt = tb - ta;
        if (nd == 0)
            continue;

        DG_CL_PUT(ctx, DG_CL_BUF_GRP, p.grp + ga, ng * sizeof(cl_uint4));
        DG_CL_PUT(ctx, DG_CL_BUF_IOU_OFF, p.iou_off + ga,
                  ng * sizeof(cl_ulong));
        DG_CL_PUT(ctx, DG_CL_BUF_DGRP, p.dgrp + da, nd * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_DBOX, p.dbox + 4 * (size_t)da,
                  nd * 4 * sizeof(cl_double));
        DG_CL_PUT(ctx, DG_CL_BUF_DIDX, p.didx + da, nd * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_GBOX, p.gbox + 4 * (size_t)ta,
                  nt * 4 * sizeof(cl_double));
        DG_CL_PUT(ctx, DG_CL_BUF_GFLAG, p.gflag + ta, nt);
        DG_CL_PUT(ctx, DG_CL_BUF_GIDX, p.gidx + ta, nt * sizeof(cl_int));

        if (pb > pa) {
            st = dg__cl_iou_pairwise(ctx, nd, ga, da, ta, pa, b.thr_min);
            if (st < 0)
                goto out;
        }
        st = dg__cl_match_greedy(ctx, ng, (cl_uint)in->n_iou, da, ta, pa, nt,
                                 (cl_uint)oa, nd);
        if (st < 0)
            goto out;

        /* Rows of nd results go to out at column oa of rows dt->n long. */
        if ((st = dg__cl_read_rows(ctx, DG_CL_BUF_STATUS, 1, in, oa, nd,
                                   out->status)) < 0 ||
            (st = dg__cl_read_rows(ctx, DG_CL_BUF_MATCHED, sizeof(cl_int), in,
                                   oa, nd, out->matched)) < 0)
            goto out;
        s->last_batches++;
    }
    s->last_groups = p.n_grp;
    s->last_pairs = p.n_pairs;
    for (uint32_t g = 0; g < p.n_grp; g++)
        s->last_fly_groups += p.iou_off[g] == DG_CL_IOU_ON_THE_FLY;
out:
    st = dg__cl_batches_release(ctx, &b, st);
    packed_release(&p);
    return st;
}
