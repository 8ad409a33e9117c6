/*
 * iou_pairwise: all-pairs IoU of one (frame, class) group, kept sparse.
 *
 * One work-item takes one detection (in its group's matching order) and
 * computes its IoU with every ground truth of the group, in the group's
 * order (regular first, then ignored). It keeps the candidates, the ground
 * truths with !(IoU < thr_min) where thr_min is the lowest threshold of the
 * launch, in order at the front of its row: values in iou[], group-relative
 * indices in cand[], their count in ncand[]. The row starts at
 * iou_off[group] + i * n_g, i the detection's rank in its group.
 *
 * Skipping the other ground truths cannot change a greedy match: their IoU
 * is below every threshold, so the reference only ever passes over them,
 * and the one thing they could do, end the scan at the first ignored
 * ground truth, the next ignored candidate does as well. That holds while
 * the best IoU so far is a number; a NaN IoU (degenerate boxes) makes every
 * later IoU compare as not below it, so a row with a NaN keeps every
 * ground truth as a candidate and the match is the reference's full scan.
 *
 * Groups whose iou_off is DG_IOU_ON_THE_FLY have no stored row (it would
 * not fit); match_greedy computes their IoUs itself with dg_iou().
 *
 * dg_iou() must agree bit for bit with dg__iou() in host/dg_internal.h,
 * which is pycocotools' bbIou: the same double operations in the same
 * order, no contraction into FMA, no fast math. Crowd ground truths divide
 * the intersection by the detection's area.
 *
 * The host prepends the DG_* defines (see host/cl/runtime.c). This file
 * comes first in the program: match.cl uses dg_iou().
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

/* The operations of dg__iou(), one for one. */
double dg_iou(double dx, double dy, double dw, double dh, double gx,
              double gy, double gw, double gh, int crowd)
{
    double w = (dw + dx < gw + gx ? dw + dx : gw + gx) - (dx > gx ? dx : gx);
    if (w <= 0)
        return 0.0;
    double h = (dh + dy < gh + gy ? dh + dy : gh + gy) - (dy > gy ? dy : gy);
    if (h <= 0)
        return 0.0;
    double i = w * h;
    double da = dw * dh;
    /*
     * da + gw * gh - i with one rounding per operation, spelled out step by
     * step; the pragma above forbids fusing the product and sum into an FMA.
     */
    double ga = gw * gh;
    double s = da + ga;
    double u = crowd ? da : s - i;
    return i / u;
}

/*
 * grp[g] = (dt_off, n_d, gt_off, n_g), offsets relative to the chunk; the
 * buffers hold the batch that starts at dt_base / gt_base / iou_base.
 * dgrp[k] is the chunk-relative group of batch detection k.
 */
__kernel void iou_pairwise(__global const uint4 *grp,
                           __global const ulong *iou_off,
                           __global const uint *dgrp,
                           __global const double4 *dbox,
                           __global const double4 *gbox,
                           __global const uchar *gflag, uint n_det,
                           uint grp_base, uint dt_base, uint gt_base,
                           ulong iou_base, double thr_min,
                           __global double *iou, __global uint *cand,
                           __global uint *ncand)
{
    uint k = get_global_id(0);
    if (k >= n_det)
        return;
    uint gi = dgrp[k] - grp_base;
    ulong off = iou_off[gi];
    if (off == DG_IOU_ON_THE_FLY)
        return;
    uint4 g = grp[gi];
    uint i = k - (g.s0 - dt_base);
    uint g0 = g.s2 - gt_base, n_g = g.s3;
    double4 d = dbox[k];
    ulong row = (off - iou_base) + (ulong)i * n_g;
    __global double *v = iou + row;
    __global uint *c = cand + row;
    uint n = 0;
    int has_nan = 0;
    for (uint j = 0; j < n_g; j++) {
        double4 b = gbox[g0 + j];
        double x = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w,
                          gflag[g0 + j] & DG_FLAG_CROWD);
        has_nan |= isnan(x);
        if (!(x < thr_min)) {
            v[n] = x;
            c[n] = j;
            n++;
        }
    }
    if (has_nan) {
        /* Every ground truth, as the reference scans them. */
        for (uint j = 0; j < n_g; j++) {
            double4 b = gbox[g0 + j];
            v[j] = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w,
                          gflag[g0 + j] & DG_FLAG_CROWD);
            c[j] = j;
        }
        n = n_g;
    }
    ncand[k] = n;
}
