/*
 * Class-agnostic matching on the device: dg__cl_match_agnostic() gives the
 * bytes dg__match_agnostic_ref() gives, for any input size.
 *
 * The host packs the chunk frame by frame (the frame is the group here:
 * every class competes for every ground truth), in linear time but for the
 * sort of each frame's detections by score:
 *
 *   - frm[f] = (dt_off, n_d, gt_off, n_reg), n_ign[f], pair_off[f];
 *   - the frame's detections, all classes, in matching order (descending
 *     score, input order on ties) in dbox/dcls/didx/dgrp (dgrp: the frame);
 *   - its ground truths, regular ones then crowd or ignored ones, each in
 *     input order, in gbox/gflag/gcls/gidx; frames without detections
 *     contribute none (nothing could take them);
 *   - pair_off[f]: the start of its n_d rows of n_reg candidate slots, or
 *     DG_CL_IOU_ON_THE_FLY when they would take more than half the batch
 *     budget.
 *
 * Frames are cut into batches that fit the device by batch.c. Per batch:
 * upload, agnostic_iou (one work-item per detection), agnostic_greedy (one
 * per frame and threshold, every threshold in one launch) and one
 * rectangular read that drops the rows into agn. The buffers are the
 * state's, shared with the class-wise matcher (which is done with them by
 * the time this runs: both end with clFinish).
 *
 * DETGRID_FAULT=cl-agnostic makes this path fail (DG_ECL) for tests of
 * eval's fallback to the reference.
 */
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* The kernel file spells these out; keep them in step. */
_Static_assert(DG_AGN_BACKGROUND == -1 && DG_AGN_IGNORED == -2,
               "kernels/confusion.cl defines DG_AGN_* as -1 and -2");

typedef struct {
    uint32_t n_frames, n_det, n_gt;
    cl_uint4 *frm;
    cl_ulong *pair_off;
    cl_uint *n_ign;
    cl_uint *dfrm, *dcls, *didx;
    cl_double *dbox;
    cl_double *gbox;
    cl_uchar *gflag;
    cl_uint *gcls;
    cl_int *gidx;
    /* Per frame f (n_frames + 1): where its ground truths and pairs start. */
    uint32_t *f_gt;
    uint64_t *f_pairs;
} packed;

static void packed_release(packed *p)
{
    free(p->frm);
    free(p->pair_off);
    free(p->n_ign);
    free(p->dfrm);
    free(p->dcls);
    free(p->didx);
    free(p->dbox);
    free(p->gbox);
    free(p->gflag);
    free(p->gcls);
    free(p->gidx);
    free(p->f_gt);
    free(p->f_pairs);
}

static dg_status pack(dg_ctx *ctx, const dg_match_input *in, uint64_t iou_cap,
                      packed *p)
{
    const dg_boxset *gt = in->gt, *dt = in->dt;
    uint32_t nf = in->n_frames;
    uint64_t d_lo = dt->frame_off[0], d_hi = dt->frame_off[nf];
    uint64_t g_lo = gt->frame_off[0], g_hi = gt->frame_off[nf];
    uint32_t n_det = (uint32_t)(d_hi - d_lo), max_fd = 0;
    dg_cl_skey *keys = NULL, *tmp = NULL;
    dg_status st = DG_OK;

    memset(p, 0, sizeof(*p));
    for (uint32_t f = 0; f < nf; f++)
        if (dt->frame_off[f + 1] - dt->frame_off[f] > max_fd)
            max_fd = (uint32_t)(dt->frame_off[f + 1] - dt->frame_off[f]);
    uint64_t gt_max = g_hi - g_lo;
    p->frm = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->frm));
    p->pair_off = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->pair_off));
    p->n_ign = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->n_ign));
    p->dfrm = dg__alloc(ctx, (size_t)n_det + 1, sizeof(*p->dfrm));
    p->dcls = dg__alloc(ctx, (size_t)n_det + 1, sizeof(*p->dcls));
    p->didx = dg__alloc(ctx, (size_t)n_det + 1, sizeof(*p->didx));
    p->dbox = dg__alloc(ctx, (size_t)n_det + 1, 4 * sizeof(*p->dbox));
    p->gbox = dg__alloc(ctx, gt_max + 1, 4 * sizeof(*p->gbox));
    p->gflag = dg__alloc(ctx, gt_max + 1, sizeof(*p->gflag));
    p->gcls = dg__alloc(ctx, gt_max + 1, sizeof(*p->gcls));
    p->gidx = dg__alloc(ctx, gt_max + 1, sizeof(*p->gidx));
    p->f_gt = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->f_gt));
    p->f_pairs = dg__alloc(ctx, (size_t)nf + 1, sizeof(*p->f_pairs));
    keys = dg__alloc(ctx, (size_t)max_fd + 1, sizeof(*keys));
    tmp = dg__alloc(ctx, (size_t)max_fd / 2 + 1, sizeof(*tmp));
    if (!p->frm || !p->pair_off || !p->n_ign || !p->dfrm || !p->dcls ||
        !p->didx || !p->dbox || !p->gbox || !p->gflag || !p->gcls ||
        !p->gidx || !p->f_gt || !p->f_pairs || !keys || !tmp) {
        st = DG_ENOMEM;
        goto out;
    }

    uint32_t n_gt = 0;
    uint64_t pairs = 0;
    for (uint32_t f = 0; f < nf; f++) {
        uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
        uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
        uint32_t n_d = (uint32_t)(d1 - d0), n_reg = 0, n_i = 0;
        uint32_t doff = (uint32_t)(d0 - d_lo);
        p->f_gt[f] = n_gt;
        p->f_pairs[f] = pairs;
        p->pair_off[f] = DG_CL_IOU_ON_THE_FLY;
        if (n_d) {
            for (uint64_t j = g0; j < g1; j++)
                n_reg += !(gt->iscrowd[j] || gt->ignore[j]);
            n_i = (uint32_t)(g1 - g0) - n_reg;
            uint32_t rc = n_gt, ic = n_gt + n_reg;
            for (uint64_t j = g0; j < g1; j++) {
                int crowd = gt->iscrowd[j] != 0;
                int ig = crowd || gt->ignore[j];
                uint32_t o = ig ? ic++ : rc++;
                dg__cl_put_box(p->gbox, o, gt, j);
                p->gflag[o] = (cl_uchar)((crowd ? DG_CL_FLAG_CROWD : 0) |
                                         (ig ? DG_CL_FLAG_IGNORED : 0));
                p->gcls[o] = gt->cls[j];
                p->gidx[o] = (cl_int)j;
            }
            for (uint32_t i = 0; i < n_d; i++) {
                keys[i].score = dt->score[d0 + i];
                keys[i].idx = (uint32_t)(d0 + i);
            }
            dg__cl_sort_desc(keys, tmp, n_d);
            for (uint32_t i = 0; i < n_d; i++) {
                uint32_t k = keys[i].idx, o = doff + i;
                p->dfrm[o] = f;
                p->dcls[o] = dt->cls[k];
                p->didx[o] = k;
                dg__cl_put_box(p->dbox, o, dt, k);
            }
            uint64_t np = (uint64_t)n_d * n_reg;
            if (np * DG_CL_PAIR_BYTES <= iou_cap) {
                p->pair_off[f] = pairs;
                pairs += np;
            }
        }
        p->frm[f].s[0] = doff;
        p->frm[f].s[1] = n_d;
        p->frm[f].s[2] = n_gt;
        p->frm[f].s[3] = n_reg;
        p->n_ign[f] = n_i;
        n_gt += n_reg + n_i;
    }
    p->f_gt[nf] = n_gt;
    p->f_pairs[nf] = pairs;
    p->n_frames = nf;
    p->n_det = n_det;
    p->n_gt = n_gt;
out:
    free(keys);
    free(tmp);
    if (st < 0)
        packed_release(p);
    return st;
}

/* Bytes each device buffer needs for frames [fa, fb). */
static void batch_sizes(const void *packed_, const dg_match_input *in,
                        uint32_t fa, uint32_t fb, size_t *sz)
{
    const packed *p = packed_;
    const uint64_t *doff = in->dt->frame_off;
    uint64_t f = fb - fa;
    uint64_t d = doff[fb] - doff[fa];
    uint64_t g = p->f_gt[fb] - p->f_gt[fa];
    uint64_t pr = p->f_pairs[fb] - p->f_pairs[fa];
    uint64_t ni = (uint64_t)in->n_iou;

    memset(sz, 0, DG_CL_N_BUFS * sizeof(*sz));
    sz[DG_CL_BUF_GRP] = f * sizeof(cl_uint4);
    sz[DG_CL_BUF_IOU_OFF] = f * sizeof(cl_ulong);
    sz[DG_CL_BUF_NIGN] = f * sizeof(cl_uint);
    sz[DG_CL_BUF_DGRP] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_DCLS] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_DIDX] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_DBOX] = d * 4 * sizeof(cl_double);
    sz[DG_CL_BUF_NCAND] = d * sizeof(cl_uint);
    sz[DG_CL_BUF_IBEST] = d * sizeof(cl_double);
    sz[DG_CL_BUF_GBOX] = g * 4 * sizeof(cl_double);
    sz[DG_CL_BUF_GFLAG] = g;
    sz[DG_CL_BUF_GCLS] = g * sizeof(cl_uint);
    sz[DG_CL_BUF_GIDX] = g * sizeof(cl_int);
    sz[DG_CL_BUF_IOU] = pr * sizeof(cl_double);
    sz[DG_CL_BUF_CAND] = pr * sizeof(cl_uint);
    sz[DG_CL_BUF_THR] = ni * sizeof(cl_double);
    sz[DG_CL_BUF_TAKEN] = ni * g;
    sz[DG_CL_BUF_MATCHED] = ni * d * sizeof(cl_int);
}

dg_status dg__cl_agnostic_iou(dg_ctx *ctx, cl_uint n_det, cl_uint frm_base,
                              cl_uint dt_base, cl_uint gt_base,
                              cl_ulong pair_base, cl_double thr_min)
{
    struct dg_cl_state *s = DG_CL(ctx);
    cl_kernel k = s->k_agn_iou;
    dg_status st = DG_OK;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, DG_CL_BUF(s, DG_CL_BUF_GRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, DG_CL_BUF(s, DG_CL_BUF_IOU_OFF)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, DG_CL_BUF(s, DG_CL_BUF_NIGN)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, DG_CL_BUF(s, DG_CL_BUF_DGRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, DG_CL_BUF(s, DG_CL_BUF_DBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, DG_CL_BUF(s, DG_CL_BUF_GBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, DG_CL_BUF(s, DG_CL_BUF_GFLAG)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 7, n_det));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 8, frm_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 9, dt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 10, gt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 11, pair_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 12, thr_min));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, DG_CL_BUF(s, DG_CL_BUF_IOU)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 14, DG_CL_BUF(s, DG_CL_BUF_CAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 15, DG_CL_BUF(s, DG_CL_BUF_NCAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 16, DG_CL_BUF(s, DG_CL_BUF_IBEST)));
    DG_CL_TRY(ctx, dg__cl_launch(s, k, n_det, 1));
out:
    return st;
}

dg_status dg__cl_agnostic_greedy(dg_ctx *ctx, cl_uint n_frm, cl_uint n_thr,
                                 cl_uint dt_base, cl_uint gt_base,
                                 cl_ulong pair_base, cl_uint n_gt,
                                 cl_uint out_base, cl_ulong n_out)
{
    struct dg_cl_state *s = DG_CL(ctx);
    cl_kernel k = s->k_agn_greedy;
    dg_status st = DG_OK;
    DG_CL_TRY(ctx, DG_CL_ARG(k, 0, DG_CL_BUF(s, DG_CL_BUF_GRP)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 1, DG_CL_BUF(s, DG_CL_BUF_IOU_OFF)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 2, DG_CL_BUF(s, DG_CL_BUF_DBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 3, DG_CL_BUF(s, DG_CL_BUF_DCLS)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 4, DG_CL_BUF(s, DG_CL_BUF_DIDX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 5, DG_CL_BUF(s, DG_CL_BUF_GBOX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 6, DG_CL_BUF(s, DG_CL_BUF_GCLS)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 7, DG_CL_BUF(s, DG_CL_BUF_GIDX)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 8, DG_CL_BUF(s, DG_CL_BUF_IOU)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 9, DG_CL_BUF(s, DG_CL_BUF_CAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 10, DG_CL_BUF(s, DG_CL_BUF_NCAND)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 11, DG_CL_BUF(s, DG_CL_BUF_IBEST)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 12, DG_CL_BUF(s, DG_CL_BUF_THR)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 13, DG_CL_BUF(s, DG_CL_BUF_TAKEN)));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 14, n_frm));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 15, n_thr));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 16, dt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 17, gt_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 18, pair_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 19, n_gt));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 20, out_base));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 21, n_out));
    DG_CL_TRY(ctx, DG_CL_ARG(k, 22, DG_CL_BUF(s, DG_CL_BUF_MATCHED)));
    DG_CL_TRY(ctx, dg__cl_launch(s, k, (size_t)n_frm * n_thr, 1));
out:
    return st;
}

/* The buffers the agnostic matcher uses (batch_sizes sets them). */
static const int used_bufs[] = {
    DG_CL_BUF_GRP,   DG_CL_BUF_IOU_OFF, DG_CL_BUF_NIGN,  DG_CL_BUF_DGRP,
    DG_CL_BUF_DCLS,  DG_CL_BUF_DIDX,    DG_CL_BUF_DBOX,  DG_CL_BUF_NCAND,
    DG_CL_BUF_IBEST, DG_CL_BUF_GBOX,    DG_CL_BUF_GFLAG, DG_CL_BUF_GCLS,
    DG_CL_BUF_GIDX,  DG_CL_BUF_IOU,     DG_CL_BUF_CAND,  DG_CL_BUF_THR,
    DG_CL_BUF_TAKEN, DG_CL_BUF_MATCHED};

dg_status dg__cl_match_agnostic(dg_ctx *ctx, const dg_match_input *in,
                                int32_t *agn)
{
    dg_status st = DG_OK;
    packed p;
    dg_cl_batches b;

    const dg_boxset *gt = in ? in->gt : NULL, *dt = in ? in->dt : NULL;
    if (!in || !agn || !gt || !dt || !gt->frame_off || !dt->frame_off ||
        !gt->iscrowd || !gt->ignore || !dt->score)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_match_agnostic: bad "
                        "argument");
    if ((st = dg__cl_check_chunk(ctx, "dg__cl_match_agnostic", in)) < 0)
        return st;
    if ((st = dg__cl_ensure_match(ctx)) < 0)
        return st;
    if (dg__fault("cl-agnostic"))
        return dg__cl_fail(ctx,
                           "dg__cl_match_agnostic (simulated: "
                           "DETGRID_FAULT=cl-agnostic)",
                           CL_OUT_OF_RESOURCES, __FILE__, __LINE__);
    uint32_t nf = in->n_frames;
    if (nf == 0 || in->n_iou == 0 || dt->frame_off[nf] == dt->frame_off[0])
        return DG_OK;

    if ((st = pack(ctx, in, dg__cl_batches_init(ctx, &b), &p)) < 0)
        return st;
    st = dg__cl_batches_plan(ctx, &b, in, batch_sizes, &p, used_bufs,
                             sizeof(used_bufs) / sizeof(used_bufs[0]));
    if (st < 0)
        goto out;

    uint64_t d_lo = dt->frame_off[0];
    for (uint32_t k = 0; k < b.n; k++) {
        uint32_t fa = b.cuts[k], fb = b.cuts[k + 1];
        uint32_t ta = p.f_gt[fa], tb = p.f_gt[fb];
        uint64_t pa = p.f_pairs[fa];
        uint64_t oa = dt->frame_off[fa], ob = dt->frame_off[fb];
        uint32_t da = (uint32_t)(oa - d_lo), db = (uint32_t)(ob - d_lo);
        uint32_t nfr = fb - fa, nd = db - da, nt = tb - ta;
        if (nd == 0)
            continue;
        DG_CL_PUT(ctx, DG_CL_BUF_GRP, p.frm + fa, nfr * sizeof(cl_uint4));
        DG_CL_PUT(ctx, DG_CL_BUF_IOU_OFF, p.pair_off + fa,
                  nfr * sizeof(cl_ulong));
        DG_CL_PUT(ctx, DG_CL_BUF_NIGN, p.n_ign + fa, nfr * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_DGRP, p.dfrm + da, nd * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_DCLS, p.dcls + da, nd * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_DIDX, p.didx + da, nd * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_DBOX, p.dbox + 4 * (size_t)da,
                  nd * 4 * sizeof(cl_double));
        DG_CL_PUT(ctx, DG_CL_BUF_GBOX, p.gbox + 4 * (size_t)ta,
                  nt * 4 * sizeof(cl_double));
        DG_CL_PUT(ctx, DG_CL_BUF_GFLAG, p.gflag + ta, nt);
        DG_CL_PUT(ctx, DG_CL_BUF_GCLS, p.gcls + ta, nt * sizeof(cl_uint));
        DG_CL_PUT(ctx, DG_CL_BUF_GIDX, p.gidx + ta, nt * sizeof(cl_int));

        if ((st = dg__cl_agnostic_iou(ctx, nd, fa, da, ta, pa,
                                      b.thr_min)) < 0)
            goto out;
        if ((st = dg__cl_agnostic_greedy(ctx, nfr, (cl_uint)in->n_iou, da,
                                          ta, pa, nt, (cl_uint)oa, nd)) < 0)
            goto out;
        if ((st = dg__cl_read_rows(ctx, DG_CL_BUF_MATCHED, sizeof(cl_int), in,
                                   oa, nd, agn)) < 0)
            goto out;
    }
out:
    st = dg__cl_batches_release(ctx, &b, st);
    packed_release(&p);
    return st;
}
