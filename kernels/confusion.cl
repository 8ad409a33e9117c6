/*
 * Class-agnostic matching for the confusion matrix, in two kernels. Must
 * give the bytes of dg__match_agnostic_ref() in host/ref/confusion_ref.c.
 *
 * The host packs the chunk frame by frame (host/cl/confusion.c):
 * frm[f] = (dt_off, n_d, gt_off, n_reg) with the frame's detections of
 * every class in matching order (descending score, input order on ties)
 * and its ground truths regular first, then n_ign[f] crowd or ignored ones,
 * each part in input order; pair_off[f] is where its n_d rows of n_reg
 * candidate slots start, or DG_IOU_ON_THE_FLY when they would not fit.
 *
 * agnostic_iou: one work-item per detection. It computes, with dg_iou()
 * from iou.cl (the same doubles as dg__iou()), its IoU with each regular
 * ground truth of its frame and keeps those >= thr_min (the lowest
 * threshold) in index order at the front of its row: values in iou[],
 * frame-relative indices in cand[], their count in ncand[]. It also writes
 * ibest[], the highest IoU with a crowd or ignored ground truth of the
 * frame (crowd: intersection over detection area), -inf when there is none;
 * NaNs never count. A ground truth below thr_min can be skipped: the
 * matcher passes over it at every threshold.
 *
 * agnostic_greedy: one work-item per (frame, threshold), flattened as
 * frame * n_thr + t so that neighbours share a frame. It walks the frame's
 * detections in matching order; each takes, among the regular ground truths
 * not yet taken with IoU >= thr[t] (min(t, 1 - 1e-10), from the host), the
 * highest IoU, on equal IoU one of its own class, then the lowest index.
 * Taking nothing, it is DG_AGN_IGNORED (-2) when ibest >= thr[t], else
 * DG_AGN_BACKGROUND (-1). The result (a chunk label index or one of those)
 * goes to agn[t * n_out + (detection index - out_base)]. Taken flags live in
 * a private 64-bit mask for frames of at most 64 regular ground truths, in
 * global scratch (n_thr rows of the batch's ground truths) otherwise. Frames
 * without stored rows compute their IoUs here, with the same dg_iou().
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

/* dg_internal.h's values; host/cl/confusion.c asserts that they agree. */
#define DG_AGN_BACKGROUND (-1)
#define DG_AGN_IGNORED (-2)

__kernel void agnostic_iou(__global const uint4 *frm,
                           __global const ulong *pair_off,
                           __global const uint *n_ign,
                           __global const uint *dfrm,
                           __global const double4 *dbox,
                           __global const double4 *gbox,
                           __global const uchar *gflag, uint n_det,
                           uint frm_base, uint dt_base, uint gt_base,
                           ulong pair_base, double thr_min,
                           __global double *iou, __global uint *cand,
                           __global uint *ncand, __global double *ibest)
{
    uint k = get_global_id(0);
    if (k >= n_det)
        return;
    uint fi = dfrm[k] - frm_base;
    uint4 f = frm[fi];
    uint i = k - (f.s0 - dt_base);
    uint g0 = f.s2 - gt_base, n_reg = f.s3, n_i = n_ign[fi];
    double4 d = dbox[k];
    double ib = -INFINITY;
    for (uint j = n_reg; j < n_reg + n_i; j++) {
        double4 b = gbox[g0 + j];
        double v = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w,
                          gflag[g0 + j] & DG_FLAG_CROWD);
        if (v > ib)
            ib = v;
    }
    ibest[k] = ib;
    ulong off = pair_off[fi];
    if (off == DG_IOU_ON_THE_FLY)
        return;
    ulong row = (off - pair_base) + (ulong)i * n_reg;
    uint n = 0;
    for (uint j = 0; j < n_reg; j++) {
        double4 b = gbox[g0 + j];
        double v = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w, 0);
        if (v >= thr_min) {
            iou[row + n] = v;
            cand[row + n] = j;
            n++;
        }
    }
    ncand[k] = n;
}

__kernel void agnostic_greedy(__global const uint4 *frm,
                              __global const ulong *pair_off,
                              __global const double4 *dbox,
                              __global const uint *dcls,
                              __global const uint *didx,
                              __global const double4 *gbox,
                              __global const uint *gcls,
                              __global const int *gidx,
                              __global const double *iou,
                              __global const uint *cand,
                              __global const uint *ncand,
                              __global const double *ibest,
                              __global const double *thr,
                              __global uchar *taken_rows, uint n_frm,
                              uint n_thr, uint dt_base, uint gt_base,
                              ulong pair_base, uint n_gt, uint out_base,
                              ulong n_out, __global int *agn)
{
    ulong id = get_global_id(0);
    if (id >= (ulong)n_frm * n_thr)
        return;
    uint fi = (uint)(id / n_thr), t = (uint)(id % n_thr);
    uint4 f = frm[fi];
    uint d0 = f.s0 - dt_base, n_d = f.s1, g0 = f.s2 - gt_base, n_reg = f.s3;
    ulong off = pair_off[fi];
    int fly = off == DG_IOU_ON_THE_FLY;
    ulong base = fly ? 0 : off - pair_base;
    double th = thr[t];
    int small = n_reg <= 64;
    ulong mask = 0;
    __global uchar *taken = taken_rows + (ulong)t * n_gt + g0;

    if (!small)
        for (uint j = 0; j < n_reg; j++)
            taken[j] = 0;
    for (uint i = 0; i < n_d; i++) {
        uint k = d0 + i;
        double4 d = dbox[k];
        uint dc = dcls[k];
        ulong row = base + (ulong)i * n_reg;
        uint n_scan = fly ? n_reg : ncand[k];
        int m = -1, m_same = 0;
        double best = 0;
        for (uint q = 0; q < n_scan; q++) {
            uint j = fly ? q : cand[row + q];
            int tk = small ? (int)((mask >> j) & 1) : taken[j];
            if (tk)
                continue;
            double v;
            if (fly) {
                double4 b = gbox[g0 + j];
                v = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w, 0);
            } else {
                v = iou[row + q];
            }
            if (!(v >= th))
                continue;
            int same = gcls[g0 + j] == dc;
            if (m < 0 || v > best || (v == best && same && !m_same)) {
                m = (int)j;
                best = v;
                m_same = same;
            }
        }
        int res;
        if (m >= 0) {
            if (small)
                mask |= (ulong)1 << m;
            else
                taken[m] = 1;
            res = gidx[g0 + m];
        } else {
            res = ibest[k] >= th ? DG_AGN_IGNORED : DG_AGN_BACKGROUND;
        }
        agn[(ulong)t * n_out + (didx[k] - out_base)] = res;
    }
}
