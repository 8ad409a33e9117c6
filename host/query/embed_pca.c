/*
 * PCA and k-means over embeddings. The heavy, data-parallel steps
 * (covariance, projection, assignment, centroid update) run through the
 * engine, on the device or the reference with identical bytes; what is left
 * here is small and shared by both paths: sampling, means, the 2 x 2
 * eigenproblem after subspace iteration, k-means++ seeding.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_impl.h"

#define MAX_DIM 4096
#define CHUNK_ROWS 65536u

dg_status dg__embed_check_points(dg_ctx *ctx, const dg_embed_points *pts)
{
    if (!pts || !pts->row || pts->dim == 0 || pts->dim > MAX_DIM)
        return dg__fail(ctx, DG_EINVAL,
                        "embeddings: dimension %u is outside 1 .. %d",
                        pts ? pts->dim : 0, MAX_DIM);
    if (pts->n == 0)
        return dg__fail(ctx, DG_EINVAL, "embeddings: no points");
    if (pts->n > UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "embeddings: too many points");
    return DG_OK;
}

/* Every stride-th point from 0: ceil(n / max) spacing. */
uint64_t dg__embed_fit_stride(uint64_t n, uint64_t max_fit)
{
    return n <= max_fit ? 1 : (n + max_fit - 1) / max_fit;
}

/* Packs points first, first + stride, ... (count of them) into dst. */
void dg__embed_pack(const dg_embed_points *pts, uint64_t first, uint64_t stride,
                 uint64_t count, float *dst)
{
    for (uint64_t i = 0; i < count; i++)
        memcpy(dst + i * pts->dim, pts->row[first + i * stride],
               pts->dim * sizeof(float));
}

/* ---- PCA ---------------------------------------------------------------- */

static double dot(const double *a, const double *b, uint32_t d)
{
    double s = 0;
    for (uint32_t t = 0; t < d; t++)
        s += a[t] * b[t];
    return s;
}

static void matvec(const double *c, const double *v, double *out, uint32_t d)
{
    for (uint32_t i = 0; i < d; i++)
        out[i] = dot(c + (size_t)i * d, v, d);
}

/* Normalises v; returns its former norm. */
static double normalise(double *v, uint32_t d)
{
    double n = sqrt(dot(v, v, d));
    if (n > 0)
        for (uint32_t t = 0; t < d; t++)
            v[t] /= n;
    return n;
}

/* v2 minus its projection on unit v1, normalised (Gram-Schmidt twice, so
 * that a small remainder is still orthogonal); falls back to a basis vector
 * orthogonal to v1 when v2 was (nearly) parallel to v1. */
static void orthonormalise(const double *v1, double *v2, uint32_t d)
{
    double n0 = sqrt(dot(v2, v2, d));
    for (int pass = 0; pass < 2; pass++) {
        double p = dot(v1, v2, d);
        for (uint32_t t = 0; t < d; t++)
            v2[t] -= p * v1[t];
    }
    if (n0 > 0 && normalise(v2, d) > 1e-9 * n0)
        return;
    for (uint32_t b = 0; b < d; b++) {
        memset(v2, 0, d * sizeof(double));
        v2[b] = 1;
        for (int pass = 0; pass < 2; pass++) {
            double p = dot(v1, v2, d);
            for (uint32_t t = 0; t < d; t++)
                v2[t] -= p * v1[t];
        }
        if (normalise(v2, d) > 1e-6)
            return;
    }
}

/* Sign convention: the entry of largest magnitude is positive. */
static void fix_sign(double *v, uint32_t d)
{
    uint32_t b = 0;
    for (uint32_t t = 1; t < d; t++)
        if (fabs(v[t]) > fabs(v[b]))
            b = t;
    if (v[b] < 0)
        for (uint32_t t = 0; t < d; t++)
            v[t] = -v[t];
}

/*
 * Top two eigenvectors of the symmetric d x d matrix c by subspace
 * iteration (two vectors, re-orthonormalised each step) and a final 2 x 2
 * Rayleigh-Ritz rotation. Deterministic: same input, same bytes.
 */
static dg_status top2(dg_ctx *ctx, const double *c, uint32_t d, double *comp,
                      double *var)
{
    double *v1 = comp, *v2 = comp + d;
    double *w1 = dg__alloc(ctx, 2 * (size_t)d, sizeof(double));
    if (!w1)
        return DG_ENOMEM;
    double *w2 = w1 + d;
    /* A fixed start with no special alignment to any axis. */
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (uint32_t t = 0; t < d; t++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        v1[t] = 1.0 + (double)(s >> 40) / (double)(1 << 24);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        v2[t] = (double)(s >> 40) / (double)(1 << 24) - 0.5;
    }
    normalise(v1, d);
    if (d > 1)
        orthonormalise(v1, v2, d);
    for (int it = 0; it < 1000; it++) {
        matvec(c, v1, w1, d);
        if (normalise(w1, d) == 0)
            break; /* a zero matrix: any basis will do */
        double change = 1 - fabs(dot(w1, v1, d));
        memcpy(v1, w1, d * sizeof(double));
        if (d > 1) {
            matvec(c, v2, w2, d);
            orthonormalise(v1, w2, d);
            change += 1 - fabs(dot(w2, v2, d));
            memcpy(v2, w2, d * sizeof(double));
        }
        if (change < 1e-15)
            break;
    }
    if (d == 1) {
        v1[0] = 1;
        var[0] = c[0];
        var[1] = 0;
        v2[0] = 0;
        free(w1);
        return DG_OK;
    }
    /* Rayleigh-Ritz in span(v1, v2): H = V^T C V, rotate to its eigenbasis. */
    matvec(c, v1, w1, d);
    matvec(c, v2, w2, d);
    double a = dot(v1, w1, d), b = dot(v1, w2, d), e = dot(v2, w2, d);
    double th = 0.5 * atan2(2 * b, a - e);
    double cs = cos(th), sn = sin(th);
    for (uint32_t t = 0; t < d; t++) {
        double p = v1[t], q = v2[t];
        v1[t] = cs * p + sn * q;
        v2[t] = -sn * p + cs * q;
    }
    double l1 = cs * cs * a + 2 * sn * cs * b + sn * sn * e;
    double l2 = sn * sn * a - 2 * sn * cs * b + cs * cs * e;
    if (l2 > l1) {
        for (uint32_t t = 0; t < d; t++) {
            double x = v1[t];
            v1[t] = v2[t];
            v2[t] = x;
        }
        double x = l1;
        l1 = l2;
        l2 = x;
    }
    fix_sign(v1, d);
    fix_sign(v2, d);
    var[0] = l1;
    var[1] = l2;
    free(w1);
    return DG_OK;
}

dg_status dg__embed_pca_on(dg_ctx *ctx, dg_engine *eng,
                           const dg_embed_points *pts, uint64_t max_fit,
                           double *xy, double *var_out, double *comp_out)
{
    dg_status st = dg__embed_check_points(ctx, pts);
    if (st < 0)
        return st;
    uint32_t d = pts->dim;
    uint64_t n = pts->n;
    if (max_fit == 0)
        max_fit = 20000;
    uint64_t stride = dg__embed_fit_stride(n, max_fit);
    uint64_t m = (n + stride - 1) / stride;
    uint64_t chunk = m > CHUNK_ROWS ? m : CHUNK_ROWS;
    float *x = dg__alloc(ctx, chunk, (size_t)d * sizeof(float));
    double *mean = dg__calloc(ctx, d, sizeof(double));
    double *cov = dg__alloc(ctx, (size_t)d * d, sizeof(double));
    double comp[2 * MAX_DIM], var[2];
    if (!x || !mean || !cov) {
        st = DG_ENOMEM;
        goto out;
    }
    dg__embed_pack(pts, 0, stride, m, x);
    for (uint64_t r = 0; r < m; r++)
        for (uint32_t t = 0; t < d; t++)
            mean[t] += (double)x[r * d + t];
    for (uint32_t t = 0; t < d; t++)
        mean[t] /= (double)m;
    if ((st = dg__engine_embed_cov(eng, ctx, x, (uint32_t)m, d, mean,
                                   cov)) < 0)
        goto out;
    for (uint32_t i = 0; i < d; i++)
        for (uint32_t j = i; j < d; j++) {
            double v = cov[(size_t)i * d + j] / (double)m;
            cov[(size_t)i * d + j] = cov[(size_t)j * d + i] = v;
        }
    if ((st = top2(ctx, cov, d, comp, var)) < 0)
        goto out;
    for (uint64_t a = 0; a < n; a += chunk) {
        uint64_t c = n - a < chunk ? n - a : chunk;
        dg__embed_pack(pts, a, 1, c, x);
        if ((st = dg__engine_embed_project(eng, ctx, x, (uint32_t)c, d, mean,
                                           comp, xy + 2 * a)) < 0)
            goto out;
    }
    if (var_out)
        memcpy(var_out, var, sizeof(var));
    if (comp_out)
        memcpy(comp_out, comp, 2 * (size_t)d * sizeof(double));
out:
    free(cov);
    free(mean);
    free(x);
    return st;
}

dg_status dg_embed_pca(dg_ctx *ctx, const dg_embed_points *pts,
                       uint64_t max_fit, double *xy, double *var,
                       double *comp)
{
    dg_engine *eng;
    dg_status st = dg__embed_check_points(ctx, pts);
    if (st < 0 || (st = dg__engine_open(ctx, &eng)) < 0)
        return st;
    st = dg__embed_pca_on(ctx, eng, pts, max_fit, xy, var, comp);
    dg__engine_close(eng);
    return st;
}

/* ---- k-means ------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) / 9007199254740992.0;
}

/* A point drawn with probability proportional to mind (total > 0). */
static uint32_t draw(const double *mind, uint32_t m, double total,
                     uint64_t *s)
{
    double u = uniform(s) * total, acc = 0;
    for (uint32_t r = 0; r < m; r++) {
        acc += mind[r];
        if (acc > u && mind[r] > 0)
            return r;
    }
    return m - 1;
}

/*
 * Greedy k-means++ seeding of cent (k x d) from the m packed points: the
 * first centre uniformly, then each next one the best of 2 + floor(ln k)
 * candidates drawn with probability proportional to the squared distance
 * to the nearest centre so far, "best" meaning the least sum of squared
 * distances once it is added (the earliest candidate on a tie). Plain
 * k-means++ often puts two centres in one of many well-separated groups
 * and none in another, which Lloyd's iterations do not undo.
 */
dg_status dg__embed_seed_pp(dg_ctx *ctx, const float *x, uint32_t m,
                            uint32_t d, uint32_t k, uint64_t seed,
                            double *cent)
{
    double *mind = dg__alloc(ctx, 3 * (size_t)m, sizeof(double));
    if (!mind)
        return DG_ENOMEM;
    double *cand = mind + m, *best = cand + m;
    uint32_t trials = 2;
    for (uint32_t t = k; t >= 3; t = (uint32_t)(t / 2.718281828459045))
        trials++; /* 2 + floor(ln k), in integers */
    uint64_t s = seed;
    uint32_t first = (uint32_t)(uniform(&s) * m);
    if (first >= m)
        first = m - 1;
    for (uint32_t t = 0; t < d; t++)
        cent[t] = x[(size_t)first * d + t];
    for (uint32_t r = 0; r < m; r++)
        mind[r] = dg__embed_sqdist(x + (size_t)r * d, cent, d);
    double *cc = dg__alloc(ctx, d, sizeof(double));
    if (!cc) {
        free(mind);
        return DG_ENOMEM;
    }
    for (uint32_t c = 1; c < k; c++) {
        double total = 0;
        for (uint32_t r = 0; r < m; r++)
            total += mind[r];
        uint32_t pick = m - 1;
        if (!(total > 0)) {
            /* Every point sits on a centre: any point will do. */
            pick = (uint32_t)(uniform(&s) * m);
            if (pick >= m)
                pick = m - 1;
            memcpy(best, mind, m * sizeof(double));
        } else {
            double best_pot = INFINITY;
            for (uint32_t t = 0; t < trials; t++) {
                uint32_t r0 = draw(mind, m, total, &s);
                for (uint32_t u = 0; u < d; u++)
                    cc[u] = x[(size_t)r0 * d + u];
                double pot = 0;
                for (uint32_t r = 0; r < m; r++) {
                    double v = dg__embed_sqdist(x + (size_t)r * d, cc, d);
                    cand[r] = v < mind[r] ? v : mind[r];
                    pot += cand[r];
                }
                if (pot < best_pot) {
                    best_pot = pot;
                    pick = r0;
                    double *sw = best;
                    best = cand;
                    cand = sw;
                }
            }
        }
        for (uint32_t t = 0; t < d; t++)
            cent[(size_t)c * d + t] = x[(size_t)pick * d + t];
        double *sw = mind;
        mind = best;
        best = sw;
    }
    free(cc);
    /* mind, cand and best are the three thirds of one block, permuted. */
    double *block = mind < cand ? mind : cand;
    if (best < block)
        block = best;
    free(block);
    return DG_OK;
}

static void transpose(const double *cent, uint32_t k, uint32_t d,
                      double *cent_t)
{
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t t = 0; t < d; t++)
            cent_t[(size_t)t * k + c] = cent[(size_t)c * d + t];
}

/*
 * Lloyd iterations on m packed points; cent holds the seeds on entry.
 * inertia and asg_out (m entries) may be NULL.
 */
dg_status dg__embed_lloyd(dg_ctx *ctx, dg_engine *e, const float *x,
                          uint32_t m, uint32_t d, uint32_t k,
                          uint32_t max_iter, double *cent, double *inertia,
                          uint32_t *asg_out)
{
    dg_status st = DG_OK;
    uint32_t *asg = dg__alloc(ctx, m, sizeof(uint32_t));
    uint32_t *prev = dg__alloc(ctx, m, sizeof(uint32_t));
    uint32_t *idx = dg__alloc(ctx, m, sizeof(uint32_t));
    uint32_t *off = dg__calloc(ctx, (size_t)k + 2, sizeof(uint32_t));
    double *dist = dg__alloc(ctx, m, sizeof(double));
    double *cent_t = dg__alloc(ctx, (size_t)k * d, sizeof(double));
    if (!asg || !prev || !idx || !off || !dist || !cent_t) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t it = 0;; it++) {
        transpose(cent, k, d, cent_t);
        if ((st = dg__engine_embed_assign(e, ctx, x, m, d, cent_t, k, asg,
                                          dist)) < 0)
            goto out;
        if ((it > 0 && !memcmp(asg, prev, m * sizeof(uint32_t))) ||
            it == max_iter)
            break;
        memcpy(prev, asg, m * sizeof(uint32_t));
        /* Members by cluster, ascending point order (a counting sort). */
        memset(off, 0, ((size_t)k + 2) * sizeof(uint32_t));
        for (uint32_t r = 0; r < m; r++)
            off[asg[r] + 2]++;
        for (uint32_t c = 0; c < k; c++)
            off[c + 2] += off[c + 1];
        for (uint32_t r = 0; r < m; r++)
            idx[off[asg[r] + 1]++] = r;
        if ((st = dg__engine_embed_update(e, ctx, x, m, d, k, off, idx,
                                          cent)) < 0)
            goto out;
    }
    if (inertia) {
        double s = 0;
        for (uint32_t r = 0; r < m; r++)
            s += dist[r];
        *inertia = s;
    }
    if (asg_out)
        memcpy(asg_out, asg, m * sizeof(uint32_t));
out:
    free(cent_t);
    free(dist);
    free(off);
    free(idx);
    free(prev);
    free(asg);
    return st;
}

/* The seed of start i: the seed itself for the first. */
uint64_t dg__embed_start_seed(uint64_t seed, uint32_t i)
{
    uint64_t s = seed ^ ((uint64_t)i * 0xd1b54a32d192ed03ULL);
    return i ? splitmix(&s) : seed;
}

dg_status dg__embed_fit_best(dg_ctx *ctx, dg_engine *e, const float *x,
                             uint32_t m, uint32_t d, uint32_t k,
                             uint64_t seed, uint32_t starts,
                             const double *pre, uint32_t pre_k,
                             uint32_t max_iter, double *cent,
                             double *inertia, uint32_t *asg)
{
    dg_status st = DG_OK;
    double *c = NULL, best = INFINITY;
    uint32_t *a = NULL;
    if (starts > 1) {
        c = dg__alloc(ctx, (size_t)k * d, sizeof(double));
        a = asg ? dg__alloc(ctx, m, sizeof(uint32_t)) : NULL;
        if (!c || (asg && !a)) {
            st = DG_ENOMEM;
            goto out;
        }
    }
    for (uint32_t i = 0; i < (starts ? starts : 1); i++) {
        double w;
        double *ci = i == 0 ? cent : c;
        uint32_t *ai = i == 0 ? asg : a;
        if (pre)
            memcpy(ci, pre + (size_t)i * pre_k * d,
                   (size_t)k * d * sizeof(double));
        else if ((st = dg__embed_seed_pp(ctx, x, m, d, k,
                                         dg__embed_start_seed(seed, i),
                                         ci)) < 0)
            goto out;
        if ((st = dg__embed_lloyd(ctx, e, x, m, d, k, max_iter, ci, &w,
                                  ai)) < 0)
            goto out;
        if (i == 0 || w < best) {
            best = w;
            if (i > 0) {
                memcpy(cent, c, (size_t)k * d * sizeof(double));
                if (asg)
                    memcpy(asg, a, m * sizeof(uint32_t));
            }
        }
    }
    if (inertia)
        *inertia = best;
out:
    free(a);
    free(c);
    return st;
}

/* The checks of dg_embed_kmeans before any work. */
static dg_status check_kmeans(dg_ctx *ctx, const dg_embed_points *pts,
                              const dg_embed_kmeans_opts *o)
{
    dg_status st = dg__embed_check_points(ctx, pts);
    if (st < 0)
        return st;
    if (o->k > pts->n)
        return dg__fail(ctx, DG_EINVAL,
                        "k-means: %u clusters for %llu points", o->k,
                        (unsigned long long)pts->n);
    return DG_OK;
}

dg_status dg__embed_kmeans_on(dg_ctx *ctx, dg_engine *eng,
                              const dg_embed_points *pts,
                              const dg_embed_kmeans_opts *o, uint32_t *assign,
                              double *dist, double *centroids,
                              double *inertia, uint32_t *k_used,
                              dg_k_choice *choice)
{
    dg_status st = check_kmeans(ctx, pts, o);
    if (st < 0)
        return st;
    uint32_t d = pts->dim, k = o->k;
    uint64_t n = pts->n;
    uint32_t max_iter = o->max_iter ? o->max_iter : 50;
    uint64_t max_fit = o->max_fit ? o->max_fit : 20000;
    float *x = NULL;
    double *cent = NULL, *cent_t = NULL, *dd = NULL;
    int chosen = k == 0;
    if (chosen) {
        /* The chosen clustering of the sample is the start. */
        dg_k_choice kc;
        uint32_t k_max = o->k_max ? o->k_max : 30;
        cent = dg__alloc(ctx, (size_t)(k_max < DG_K_CHOICE_MAX
                                           ? k_max
                                           : DG_K_CHOICE_MAX),
                         (size_t)d * sizeof(double));
        if (!cent) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg__embed_choose_k_on(ctx, eng, pts, o, &kc, cent)) < 0)
            goto out;
        k = kc.k;
        if (choice)
            *choice = kc;
    }
    if (k == 0)
        k = 1;
    uint64_t stride = dg__embed_fit_stride(n, max_fit);
    uint64_t m = (n + stride - 1) / stride;
    if (m < k) {
        stride = 1;
        m = n;
    }
    uint64_t chunk = m > CHUNK_ROWS ? m : CHUNK_ROWS;
    x = dg__alloc(ctx, chunk, (size_t)d * sizeof(float));
    if (!cent)
        cent = dg__alloc(ctx, (size_t)k * d, sizeof(double));
    cent_t = dg__alloc(ctx, (size_t)k * d, sizeof(double));
    dd = dist ? dist : dg__alloc(ctx, chunk, sizeof(double));
    if (!x || !cent || !cent_t || !dd) {
        st = DG_ENOMEM;
        goto out;
    }
    dg__embed_pack(pts, 0, stride, m, x);
    uint32_t starts = o->starts ? o->starts : DG__KMEANS_STARTS;
    uint64_t ss = dg__embed_fit_stride(n, DG__KMEANS_SAMPLE);
    uint64_t ms = (n + ss - 1) / ss;
    if (!chosen && ms < m && ms >= k) {
        /* The starts compete on the sample; the best one goes on. */
        float *xs = dg__alloc(ctx, ms, (size_t)d * sizeof(float));
        if (!xs) {
            st = DG_ENOMEM;
            goto out;
        }
        dg__embed_pack(pts, 0, ss, ms, xs);
        st = dg__embed_fit_best(ctx, eng, xs, (uint32_t)ms, d, k, o->seed,
                                starts, NULL, 0, DG__KMEANS_SAMPLE_ITER, cent,
                                NULL, NULL);
        free(xs);
        chosen = 1;
    } else if (!chosen) {
        st = dg__embed_fit_best(ctx, eng, x, (uint32_t)m, d, k, o->seed,
                                starts, NULL, 0, max_iter, cent, NULL, NULL);
    }
    if (st >= 0 && chosen)
        st = dg__embed_lloyd(ctx, eng, x, (uint32_t)m, d, k, max_iter, cent,
                             NULL, NULL);
    if (st < 0)
        goto out;
    transpose(cent, k, d, cent_t);
    double total = 0;
    for (uint64_t a = 0; a < n; a += chunk) {
        uint64_t c = n - a < chunk ? n - a : chunk;
        double *dc = dist ? dist + a : dd;
        dg__embed_pack(pts, a, 1, c, x);
        if ((st = dg__engine_embed_assign(eng, ctx, x, (uint32_t)c, d,
                                          cent_t, k, assign + a, dc)) < 0)
            goto out;
        for (uint64_t r = 0; r < c; r++)
            total += dc[r];
    }
    if (centroids)
        memcpy(centroids, cent, (size_t)k * d * sizeof(double));
    if (inertia)
        *inertia = total;
    if (k_used)
        *k_used = k;
out:
    if (dd != dist)
        free(dd);
    free(cent_t);
    free(cent);
    free(x);
    return st;
}

void dg_embed_kmeans_opts_init(dg_embed_kmeans_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->max_iter = 50;
    o->max_fit = 20000;
    o->choose = DG_CHOOSE_K_BIC;
    o->k_max = 30;
    o->starts = DG__KMEANS_STARTS;
}

dg_status dg_embed_kmeans(dg_ctx *ctx, const dg_embed_points *pts,
                          const dg_embed_kmeans_opts *o, uint32_t *assign,
                          double *dist, double *centroids, double *inertia,
                          uint32_t *k_used)
{
    dg_embed_kmeans_opts def;
    if (!o) {
        dg_embed_kmeans_opts_init(&def);
        o = &def;
    }
    dg_engine *eng;
    dg_status st = check_kmeans(ctx, pts, o);
    if (st < 0 || (st = dg__engine_open(ctx, &eng)) < 0)
        return st;
    st = dg__embed_kmeans_on(ctx, eng, pts, o, assign, dist, centroids,
                             inertia, k_used, NULL);
    dg__engine_close(eng);
    return st;
}
