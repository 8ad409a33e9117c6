/*
 * The helpers every matching kernel shares (this file comes first in the
 * matching program):
 *
 *   dg_iou        the IoU of a detection box and a ground truth box; must
 *                 agree bit for bit with dg__iou() in host/core/core.h,
 *                 which is pycocotools' bbIou: the same double operations
 *                 in the same order, no contraction into FMA, no fast math.
 *                 Crowd ground truths divide the intersection by the
 *                 detection's area;
 *   dg_match_key  the key whose ascending order is matching order, the
 *                 same as dg__match_key() in host/core/core.h.
 *
 * The host prepends the DG_* defines (host/cl/program.c).
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

/* Descending score, -0.0 as +0.0, negatives after positives, NaN first. */
ulong dg_match_key(double s)
{
    if (isnan(s))
        return 0;
    ulong b = as_ulong(s + 0.0);
    return (b >> 63) ? b : (~b & 0x7fffffffffffffffUL);
}
