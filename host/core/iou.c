/*
 * dg__iou for a row of ground truths at once, written without branches so
 * that the compiler can vectorize it (this file is built with -O3; no fast
 * math, no contraction, so every lane computes exactly what dg__iou does:
 * the same operations in the same order, and the zero of a box that does
 * not overlap chosen after the fact rather than returned early).
 */
#include "core.h"

void dg__iou_row(double dx, double dy, double dw, double dh,
                 const double *gx, const double *gy, const double *gw,
                 const double *gh, const uint8_t *crowd, uint64_t n,
                 double *out)
{
    double dx2 = dw + dx, dy2 = dh + dy, da = dw * dh;
    for (uint64_t j = 0; j < n; j++) {
        double gx2 = gw[j] + gx[j], gy2 = gh[j] + gy[j];
        double w = (dx2 < gx2 ? dx2 : gx2) - (dx > gx[j] ? dx : gx[j]);
        double h = (dy2 < gy2 ? dy2 : gy2) - (dy > gy[j] ? dy : gy[j]);
        double i = w * h;
        double s = da + gw[j] * gh[j] - i;
        double u = crowd[j] ? da : s;
        double v = i / u;
        int none = (w <= 0) | (h <= 0);
        out[j] = none ? 0.0 : v;
    }
}
