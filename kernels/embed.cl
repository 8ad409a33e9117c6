/*
 * Embeddings: the data-parallel parts of PCA and k-means.
 *
 *   embed_cov:     one work-item computes one entry (i, j), i <= j, of the
 *                  centred cross-product matrix: the sum over rows r in
 *                  ascending order of (x[r][i] - mean[i]) * (x[r][j] -
 *                  mean[j]). Agrees with dg__embed_cov_ref().
 *   embed_project: one work-item computes one point's two coordinates: the
 *                  sum over dimensions t in ascending order of
 *                  (x[t] - mean[t]) * comp[c][t]. Agrees with
 *                  dg__embed_project_ref().
 *   embed_assign:  one work-item assigns one point to the centroid with the
 *                  smallest squared distance (summed over t ascending; the
 *                  lowest index on ties) and writes that distance. Agrees
 *                  with dg__embed_assign_ref().
 *   embed_update:  one work-item computes one (cluster, dimension) entry of
 *                  the new centroids: the members' values (member lists in
 *                  ascending point order) summed in that order, divided by
 *                  the count; an empty cluster keeps its centroid. Agrees
 *                  with dg__embed_update_ref().
 *
 * Everything is double precision with contraction off: each result is the
 * same sequence of correctly rounded IEEE operations as in the reference,
 * so the bytes are identical (no fast-math, no fma, fixed order).
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

__kernel void embed_cov(__global const float *x, uint m, uint d,
                        __global const double *mean, __global const uint2 *pairs,
                        uint n_pairs, __global double *cov)
{
    uint p = get_global_id(0);
    if (p >= n_pairs)
        return;
    uint i = pairs[p].x, j = pairs[p].y;
    double mi = mean[i], mj = mean[j], s = 0.0;
    for (uint r = 0; r < m; r++) {
        double a = (double)x[(ulong)r * d + i] - mi;
        double b = (double)x[(ulong)r * d + j] - mj;
        double ab = a * b;
        s = s + ab;
    }
    cov[(ulong)i * d + j] = s;
}

__kernel void embed_project(__global const float *x, uint m, uint d,
                            __global const double *mean,
                            __global const double *comp, __global double *xy)
{
    uint r = get_global_id(0);
    if (r >= m)
        return;
    double s0 = 0.0, s1 = 0.0;
    for (uint t = 0; t < d; t++) {
        double c = (double)x[(ulong)r * d + t] - mean[t];
        double p0 = c * comp[t], p1 = c * comp[d + t];
        s0 = s0 + p0;
        s1 = s1 + p1;
    }
    xy[2 * (ulong)r] = s0;
    xy[2 * (ulong)r + 1] = s1;
}

/* cent is transposed: cent[t * k + c]. */
__kernel void embed_assign(__global const float *x, uint m, uint d,
                           __global const double *cent, uint k,
                           __global uint *assign, __global double *dist)
{
    uint r = get_global_id(0);
    if (r >= m)
        return;
    uint best = 0;
    double bd = 0.0;
    for (uint c = 0; c < k; c++) {
        double s = 0.0;
        for (uint t = 0; t < d; t++) {
            double e = (double)x[(ulong)r * d + t] - cent[(ulong)t * k + c];
            double e2 = e * e;
            s = s + e2;
        }
        if (c == 0 || s < bd) {
            bd = s;
            best = c;
        }
    }
    assign[r] = best;
    dist[r] = bd;
}

/* Members of cluster c are idx[off[c] .. off[c + 1]). cent is k x d. */
__kernel void embed_update(__global const float *x, uint d, uint k,
                           __global const uint *off, __global const uint *idx,
                           __global double *cent)
{
    ulong g = get_global_id(0);
    if (g >= (ulong)k * d)
        return;
    uint c = (uint)(g / d), t = (uint)(g % d);
    uint a = off[c], b = off[c + 1];
    if (a == b)
        return;
    double s = 0.0;
    for (uint q = a; q < b; q++)
        s = s + (double)x[(ulong)idx[q] * d + t];
    cent[g] = s / (double)(b - a);
}

/*
 * The neighbourhood-preserving layout (host/embed_layout.c):
 *
 *   embed_rproj:  one work-item maps one point to q coordinates, the sum
 *                 over t ascending of x[t] * rmat[c][t]. Agrees with
 *                 dg__embed_rproj_ref().
 *   embed_knn:    one work-item finds one point's k nearest other points in
 *                 those q coordinates (squared distance summed over c
 *                 ascending; ties: the lower index). Agrees with
 *                 dg__embed_knn_ref().
 *   embed_layout: one work-item moves one point by one step, from the old
 *                 positions only (so the order of work-items is
 *                 irrelevant): attraction to its neighbours, repulsion from
 *                 n_neg points picked by dg_layout_pick(). Agrees with
 *                 dg__embed_layout_ref().
 */
__kernel void embed_rproj(__global const float *x, uint m, uint d,
                          __global const double *rmat, uint q,
                          __global double *out)
{
    uint r = get_global_id(0);
    if (r >= m)
        return;
    for (uint c = 0; c < q; c++) {
        double s = 0.0;
        for (uint t = 0; t < d; t++) {
            double p = (double)x[(ulong)r * d + t] * rmat[(ulong)c * d + t];
            s = s + p;
        }
        out[(ulong)r * q + c] = s;
    }
}

#define DG_KNN_MAX 32

__kernel void embed_knn(__global const double *z, uint n, uint q, uint k,
                        __global uint *nbr)
{
    uint i = get_global_id(0);
    if (i >= n)
        return;
    double bd[DG_KNN_MAX];
    uint bi[DG_KNN_MAX];
    uint have = 0;
    for (uint j = 0; j < n; j++) {
        if (j == i)
            continue;
        double s = 0.0;
        for (uint c = 0; c < q; c++) {
            double e = z[(ulong)i * q + c] - z[(ulong)j * q + c];
            double e2 = e * e;
            s = s + e2;
        }
        /* j ascends, so a tie keeps the earlier (lower) index in front. */
        if (have == k && !(s < bd[k - 1]))
            continue;
        uint p = have < k ? have++ : k - 1;
        while (p > 0 && s < bd[p - 1]) {
            bd[p] = bd[p - 1];
            bi[p] = bi[p - 1];
            p--;
        }
        bd[p] = s;
        bi[p] = j;
    }
    for (uint a = 0; a < k; a++)
        nbr[(ulong)i * k + a] = a < have ? bi[a] : i;
}

/* The s-th repulsion partner of point i at iteration it (never i itself
 * unless n is 1). Integer only: same on every device. */
uint dg_layout_pick(ulong seed, uint it, uint i, uint s, uint n)
{
    ulong z = seed ^ ((ulong)it << 40) ^ ((ulong)i << 8) ^ (ulong)s;
    z += 0x9e3779b97f4a7c15UL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    z = z ^ (z >> 31);
    if (n <= 1)
        return 0;
    uint j = (uint)(z % (ulong)(n - 1));
    return j >= i ? j + 1 : j;
}

__kernel void embed_layout(__global const double *y, uint n,
                           __global const uint *nbr, uint k, uint n_neg,
                           ulong seed, uint it, double lr,
                           __global double *ynew)
{
    uint i = get_global_id(0);
    if (i >= n)
        return;
    double yi0 = y[2 * (ulong)i], yi1 = y[2 * (ulong)i + 1];
    double g0 = 0.0, g1 = 0.0;
    for (uint a = 0; a < k; a++) {
        uint j = nbr[(ulong)i * k + a];
        double d0 = y[2 * (ulong)j] - yi0, d1 = y[2 * (ulong)j + 1] - yi1;
        double dd = d0 * d0;
        double dd1 = d1 * d1;
        dd = dd + dd1;
        double w = 1.0 / (1.0 + dd);
        /* Pull, with a short-range push that keeps neighbours about
         * 0.5 apart (w = 1.25 w^2 there) instead of collapsing. */
        double ww = w * w;
        ww = ww * 1.25;
        double f = w - ww;
        double t0 = d0 * f, t1 = d1 * f;
        g0 = g0 + t0;
        g1 = g1 + t1;
    }
    for (uint s = 0; s < n_neg; s++) {
        uint j = dg_layout_pick(seed, it, i, s, n);
        double d0 = yi0 - y[2 * (ulong)j], d1 = yi1 - y[2 * (ulong)j + 1];
        double dd = d0 * d0;
        double dd1 = d1 * d1;
        dd = dd + dd1;
        double w = 1.0 / (1.0 + dd);
        double w2 = w * w;
        double t0 = d0 * w2, t1 = d1 * w2;
        t0 = t0 * 4.0;
        t1 = t1 * 4.0;
        g0 = g0 + t0;
        g1 = g1 + t1;
    }
    g0 = g0 > 4.0 ? 4.0 : g0 < -4.0 ? -4.0 : g0;
    g1 = g1 > 4.0 ? 4.0 : g1 < -4.0 ? -4.0 : g1;
    double s0 = lr * g0, s1 = lr * g1;
    ynew[2 * (ulong)i] = yi0 + s0;
    ynew[2 * (ulong)i + 1] = yi1 + s1;
}
