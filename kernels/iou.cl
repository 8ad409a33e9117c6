/*
 * iou_pairwise: all-pairs IoU of one (frame, class) group.
 *
 * One work-item computes one row of its group's IoU matrix: the IoU of one
 * detection (in the group's matching order) against every ground truth of
 * the group, in the group's order (regular first, then ignored). The row
 * starts at iou_off[group] + i * n_g, where i is the detection's rank in
 * its group. Groups whose iou_off is DG_IOU_ON_THE_FLY have no stored matrix
 * (it would not fit); match_greedy computes their IoUs itself with dg_iou().
 *
 * Must agree bit for bit with dg__iou() in host/dg_internal.h, which is
 * pycocotools' bbIou: the same double operations in the same order, no
 * contraction into FMA, no fast math. Crowd ground truths divide the
 * intersection by the detection's area.
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
                           ulong iou_base, __global double *iou)
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
    __global double *row = iou + (off - iou_base) + (ulong)i * n_g;
    for (uint j = 0; j < n_g; j++) {
        double4 b = gbox[g0 + j];
        row[j] = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w,
                        gflag[g0 + j] & DG_FLAG_CROWD);
    }
}
