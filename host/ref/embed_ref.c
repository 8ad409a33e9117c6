/*
 * The reference twins of kernels/embed.cl: plain loops, double precision,
 * each sum in the order the kernels use, so the bytes agree.
 */
#include <string.h>

#include "ref.h"

/* Row-outer so that the inner loop streams; each entry still sums over rows
 * in ascending order, as one work-item of embed_cov does. */
void dg__embed_cov_ref(const float *x, uint32_t m, uint32_t d,
                       const double *mean, double *cov)
{
    double c[4096];
    double *cv = d <= 4096 ? c : NULL;
    if (!cv)
        return; /* callers limit d to 4096 */
    for (uint32_t i = 0; i < d; i++)
        for (uint32_t j = i; j < d; j++)
            cov[(size_t)i * d + j] = 0.0;
    for (uint32_t r = 0; r < m; r++) {
        const float *xr = x + (size_t)r * d;
        for (uint32_t t = 0; t < d; t++)
            cv[t] = (double)xr[t] - mean[t];
        for (uint32_t i = 0; i < d; i++) {
            double a = cv[i];
            double *ci = cov + (size_t)i * d;
            for (uint32_t j = i; j < d; j++) {
                double ab = a * cv[j];
                ci[j] = ci[j] + ab;
            }
        }
    }
}

void dg__embed_project_ref(const float *x, uint32_t m, uint32_t d,
                           const double *mean, const double *comp,
                           double *xy)
{
    for (uint32_t r = 0; r < m; r++) {
        const float *xr = x + (size_t)r * d;
        double s0 = 0.0, s1 = 0.0;
        for (uint32_t t = 0; t < d; t++) {
            double c = (double)xr[t] - mean[t];
            double p0 = c * comp[t], p1 = c * comp[d + t];
            s0 = s0 + p0;
            s1 = s1 + p1;
        }
        xy[2 * (size_t)r] = s0;
        xy[2 * (size_t)r + 1] = s1;
    }
}

void dg__embed_assign_ref(const float *x, uint32_t m, uint32_t d,
                          const double *cent_t, uint32_t k, uint32_t *assign,
                          double *dist)
{
    double acc[256];
    for (uint32_t r = 0; r < m; r++) {
        const float *xr = x + (size_t)r * d;
        uint32_t best = 0;
        double bd = 0.0;
        /* Centroids in blocks of 256, each accumulating over t ascending:
         * the same sums as embed_assign's, but the inner loop vectorises. */
        for (uint32_t c0 = 0; c0 < k; c0 += 256) {
            uint32_t nc = k - c0 < 256 ? k - c0 : 256;
            memset(acc, 0, sizeof(acc));
            for (uint32_t t = 0; t < d; t++) {
                double v = (double)xr[t];
                const double *ct = cent_t + (size_t)t * k + c0;
                for (uint32_t c = 0; c < nc; c++) {
                    double e = v - ct[c];
                    double e2 = e * e;
                    acc[c] = acc[c] + e2;
                }
            }
            for (uint32_t c = 0; c < nc; c++)
                if ((c0 == 0 && c == 0) || acc[c] < bd) {
                    bd = acc[c];
                    best = c0 + c;
                }
        }
        assign[r] = best;
        dist[r] = bd;
    }
}

void dg__embed_update_ref(const float *x, uint32_t d, uint32_t k,
                          const uint32_t *off, const uint32_t *idx,
                          double *cent)
{
    for (uint32_t c = 0; c < k; c++) {
        uint32_t a = off[c], b = off[c + 1];
        if (a == b)
            continue;
        for (uint32_t t = 0; t < d; t++) {
            double s = 0.0;
            for (uint32_t q = a; q < b; q++)
                s = s + (double)x[(size_t)idx[q] * d + t];
            cent[(size_t)c * d + t] = s / (double)(b - a);
        }
    }
}

/* ---- the layout's twins (kernels/embed.cl: embed_rproj, embed_knn,
 * embed_layout) ---------------------------------------------------------- */

void dg__embed_rproj_ref(const float *x, uint32_t m, uint32_t d,
                         const double *rmat, uint32_t q, double *out)
{
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t c = 0; c < q; c++) {
            double s = 0.0;
            for (uint32_t t = 0; t < d; t++) {
                double p = (double)x[(size_t)r * d + t] * rmat[(size_t)c * d + t];
                s = s + p;
            }
            out[(size_t)r * q + c] = s;
        }
}

void dg__embed_knn_ref(const double *z, uint32_t n, uint32_t q, uint32_t k,
                       uint32_t *nbr)
{
    double bd[DG_EMBED_KNN_MAX];
    uint32_t bi[DG_EMBED_KNN_MAX];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t have = 0;
        for (uint32_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double s = 0.0;
            for (uint32_t c = 0; c < q; c++) {
                double e = z[(size_t)i * q + c] - z[(size_t)j * q + c];
                double e2 = e * e;
                s = s + e2;
            }
            if (have == k && !(s < bd[k - 1]))
                continue;
            uint32_t p = have < k ? have++ : k - 1;
            while (p > 0 && s < bd[p - 1]) {
                bd[p] = bd[p - 1];
                bi[p] = bi[p - 1];
                p--;
            }
            bd[p] = s;
            bi[p] = j;
        }
        for (uint32_t a = 0; a < k; a++)
            nbr[(size_t)i * k + a] = a < have ? bi[a] : i;
    }
}

uint32_t dg__embed_layout_pick(uint64_t seed, uint32_t it, uint32_t i,
                               uint32_t s, uint32_t n)
{
    uint64_t z = seed ^ ((uint64_t)it << 40) ^ ((uint64_t)i << 8) ^ s;
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = z ^ (z >> 31);
    if (n <= 1)
        return 0;
    uint32_t j = (uint32_t)(z % (uint64_t)(n - 1));
    return j >= i ? j + 1 : j;
}

void dg__embed_layout_ref(const double *y, uint32_t n, const uint32_t *nbr,
                          uint32_t k, uint32_t n_neg, uint64_t seed,
                          uint32_t it, double lr, double *ynew)
{
    for (uint32_t i = 0; i < n; i++) {
        double yi0 = y[2 * (size_t)i], yi1 = y[2 * (size_t)i + 1];
        double g0 = 0.0, g1 = 0.0;
        for (uint32_t a = 0; a < k; a++) {
            uint32_t j = nbr[(size_t)i * k + a];
            double d0 = y[2 * (size_t)j] - yi0, d1 = y[2 * (size_t)j + 1] - yi1;
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
        for (uint32_t s = 0; s < n_neg; s++) {
            uint32_t j = dg__embed_layout_pick(seed, it, i, s, n);
            double d0 = yi0 - y[2 * (size_t)j], d1 = yi1 - y[2 * (size_t)j + 1];
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
        ynew[2 * (size_t)i] = yi0 + s0;
        ynew[2 * (size_t)i + 1] = yi1 + s1;
    }
}
