/*
 * Embeddings: the OpenCL kernels of kernels/embed.cl against their plain-C
 * twins (host/ref/embed_ref.c) on many random inputs and adversarial ones,
 * byte for byte; then PCA, k-means, the layout and the whole analysis
 * (dg_embeddings_evaluate) end to end on both paths, and hand-checked
 * answers of the reference.
 *
 * The reference path is a context on device "ref"; the device path a
 * context on the OpenCL device found ("gpu" or "cpu") with fallback off,
 * so that a call that succeeds ran on the device.
 *
 * Every device result must equal the reference exactly: each value is the
 * same sequence of IEEE double operations (fixed order, no contraction),
 * so there is no tolerance anywhere in the differential part.
 *
 * Exit 77 when no OpenCL device exists (after the reference-only checks).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cl.h"
#include "gen_cl.h"
#include "ref.h"

static uint64_t rs = 12345;

static uint64_t xrnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double xunif(void)
{
    return (double)(xrnd() >> 11) / 9007199254740992.0;
}

/* m points in d dims: kind 0 clustered, 1 duplicates of a few points,
 * 2 integer grid (many exact ties), 3 mixed magnitudes. */
static float *gen_points(uint32_t m, uint32_t d, int kind)
{
    float *x = malloc((size_t)m * d * sizeof(float) + 4);
    uint32_t nc = 1 + (uint32_t)(xrnd() % 6);
    for (uint32_t r = 0; r < m; r++) {
        uint32_t c = (uint32_t)(xrnd() % nc);
        for (uint32_t t = 0; t < d; t++) {
            float v;
            if (kind == 0)
                v = (float)(c * 3.0 + (xunif() - 0.5) * (t + 1) * 0.3);
            else if (kind == 1)
                v = (float)(c * 0.25 + t);
            else if (kind == 2)
                v = (float)(xrnd() % 3);
            else
                v = (float)((xunif() - 0.5) * pow(10, (double)(xrnd() % 9) - 4));
            x[(size_t)r * d + t] = v;
        }
    }
    return x;
}

static int same(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* Each kernel against its twin on one input. */
static void diff_kernels(dg_ctx *ctx, dg_embed_cl *e, const char *label,
                         const float *x, uint32_t m, uint32_t d, uint32_t k)
{
    double *mean = calloc(d, sizeof(double));
    double *c1 = calloc((size_t)d * d, sizeof(double));
    double *c2 = calloc((size_t)d * d, sizeof(double));
    double *comp = malloc(2 * (size_t)d * sizeof(double));
    double *xy1 = malloc(2 * (size_t)m * sizeof(double));
    double *xy2 = malloc(2 * (size_t)m * sizeof(double));
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t t = 0; t < d; t++)
            mean[t] += x[(size_t)r * d + t];
    for (uint32_t t = 0; t < d; t++) {
        mean[t] /= m;
        comp[t] = xunif() - 0.5;
        comp[d + t] = xunif() - 0.5;
    }
    dg__embed_cov_ref(x, m, d, mean, c1);
    CHECK_EQ_INT(dg__embed_cl_cov(ctx, e, x, m, d, mean, c2), DG_OK);
    int ok = 1;
    for (uint32_t i = 0; i < d; i++)
        ok &= same(c1 + (size_t)i * d + i, c2 + (size_t)i * d + i,
                   (d - i) * sizeof(double));
    if (!ok)
        fprintf(stderr, "%s: covariance differs\n", label);
    CHECK(ok);
    dg__embed_project_ref(x, m, d, mean, comp, xy1);
    CHECK_EQ_INT(dg__embed_cl_project(ctx, e, x, m, d, mean, comp, xy2),
                 DG_OK);
    ok = same(xy1, xy2, 2 * (size_t)m * sizeof(double));
    if (!ok)
        fprintf(stderr, "%s: projection differs\n", label);
    CHECK(ok);

    /* Centroids: k of the points (duplicates allowed), transposed. */
    double *cent = malloc((size_t)k * d * sizeof(double));
    double *ct = malloc((size_t)k * d * sizeof(double));
    for (uint32_t c = 0; c < k; c++) {
        uint32_t r = (uint32_t)(xrnd() % m);
        for (uint32_t t = 0; t < d; t++)
            cent[(size_t)c * d + t] = x[(size_t)r * d + t];
    }
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t t = 0; t < d; t++)
            ct[(size_t)t * k + c] = cent[(size_t)c * d + t];
    uint32_t *a1 = malloc(m * sizeof(uint32_t)), *a2 = malloc(m * 4);
    double *d1 = malloc(m * sizeof(double)), *d2 = malloc(m * 8);
    dg__embed_assign_ref(x, m, d, ct, k, a1, d1);
    CHECK_EQ_INT(dg__embed_cl_assign(ctx, e, x, m, d, ct, k, a2, d2), DG_OK);
    ok = same(a1, a2, m * 4) && same(d1, d2, m * 8);
    if (!ok)
        fprintf(stderr, "%s: assignment differs\n", label);
    CHECK(ok);
    /* Update from these assignments. */
    uint32_t *off = calloc(k + 2, 4), *idx = malloc(m * 4);
    for (uint32_t r = 0; r < m; r++)
        off[a1[r] + 2]++;
    for (uint32_t c = 0; c < k; c++)
        off[c + 2] += off[c + 1];
    for (uint32_t r = 0; r < m; r++)
        idx[off[a1[r] + 1]++] = r;
    double *u1 = malloc((size_t)k * d * 8), *u2 = malloc((size_t)k * d * 8);
    memcpy(u1, cent, (size_t)k * d * 8);
    memcpy(u2, cent, (size_t)k * d * 8);
    dg__embed_update_ref(x, d, k, off, idx, u1);
    CHECK_EQ_INT(dg__embed_cl_update(ctx, e, x, m, d, k, off, idx, u2),
                 DG_OK);
    ok = same(u1, u2, (size_t)k * d * 8);
    if (!ok)
        fprintf(stderr, "%s: update differs\n", label);
    CHECK(ok);
    /* The layout's kernels: random projection, kNN, layout steps. */
    uint32_t q = d < 16 ? d : 16, kn = 1 + (uint32_t)(xrnd() % 12);
    double *rm = malloc((size_t)q * d * 8);
    for (size_t i = 0; i < (size_t)q * d; i++)
        rm[i] = (xrnd() >> 63) ? 1.0 : -1.0;
    double *z1 = malloc((size_t)m * q * 8), *z2 = malloc((size_t)m * q * 8);
    dg__embed_rproj_ref(x, m, d, rm, q, z1);
    CHECK_EQ_INT(dg__embed_cl_rproj(ctx, e, x, m, d, rm, q, z2), DG_OK);
    ok = same(z1, z2, (size_t)m * q * 8);
    if (!ok)
        fprintf(stderr, "%s: random projection differs\n", label);
    CHECK(ok);
    uint32_t *n1 = malloc((size_t)m * kn * 4), *n2 = malloc((size_t)m * kn * 4);
    dg__embed_knn_ref(z1, m, q, kn, n1);
    CHECK_EQ_INT(dg__embed_cl_knn(ctx, e, z1, m, q, kn, n2), DG_OK);
    ok = same(n1, n2, (size_t)m * kn * 4);
    if (!ok)
        fprintf(stderr, "%s: kNN differs\n", label);
    CHECK(ok);
    double *ly = malloc(2 * (size_t)m * 8), *l1 = malloc(2 * (size_t)m * 8);
    double *l2 = malloc(2 * (size_t)m * 8), lr[7];
    for (uint32_t i = 0; i < 2 * m; i++)
        ly[i] = xy1[i] * 0.01;
    for (int i = 0; i < 7; i++)
        lr[i] = 1.0 - i / 7.0;
    /* Seven reference steps, ping-pong, against seven device steps. */
    double *pa = l1, *pb = l2;
    memcpy(pa, ly, 2 * (size_t)m * 8);
    for (uint32_t it = 0; it < 7; it++) {
        dg__embed_layout_ref(pa, m, n1, kn, 5, 99, it, lr[it], pb);
        double *tt = pa;
        pa = pb;
        pb = tt;
    }
    CHECK_EQ_INT(dg__embed_cl_layout(ctx, e, ly, m, n1, kn, 5, 99, 7, lr),
                 DG_OK);
    ok = same(pa, ly, 2 * (size_t)m * 8);
    if (!ok)
        fprintf(stderr, "%s: layout differs\n", label);
    CHECK(ok);
    free(ly);
    free(l1);
    free(l2);
    free(n1);
    free(n2);
    free(z1);
    free(z2);
    free(rm);
    free(u1);
    free(u2);
    free(off);
    free(idx);
    free(a1);
    free(a2);
    free(d1);
    free(d2);
    free(cent);
    free(ct);
    free(mean);
    free(c1);
    free(c2);
    free(comp);
    free(xy1);
    free(xy2);
}

typedef struct run {
    double *xy, var[2], *comp, *dist, *cent, inertia;
    uint32_t *assign, k;
} run;

/* PCA and k-means end to end on ctx's path. */
static dg_status end_to_end(dg_ctx *ctx, const float *x, uint32_t n,
                            uint32_t d, uint32_t k, uint64_t max_fit, run *o)
{
    const float **rows = malloc(n * sizeof(*rows));
    for (uint32_t i = 0; i < n; i++)
        rows[i] = x + (size_t)i * d;
    dg_embed_points pts = {n, d, rows};
    o->xy = malloc(2 * (size_t)n * 8);
    o->comp = malloc(2 * (size_t)d * 8);
    o->dist = malloc((size_t)n * 8);
    o->cent = malloc((size_t)(k ? k : 30) * d * 8);
    o->assign = malloc((size_t)n * 4);
    dg_status st = dg_embed_pca(ctx, &pts, max_fit, o->xy, o->var, o->comp);
    dg_embed_kmeans_opts ko;
    dg_embed_kmeans_opts_init(&ko);
    ko.k = k;
    ko.seed = 7;
    if (max_fit)
        ko.max_fit = max_fit;
    if (st == DG_OK)
        st = dg_embed_kmeans(ctx, &pts, &ko, o->assign, o->dist, o->cent,
                             &o->inertia, &o->k);
    free(rows);
    return st;
}

static void run_free(run *o)
{
    free(o->xy);
    free(o->comp);
    free(o->dist);
    free(o->cent);
    free(o->assign);
}

/* Nothing fell back: dev's calls ran on the device (its fallback is off,
 * so a device failure would have been the call's error). */
static void check_no_fallback(dg_ctx *dev, const char *label)
{
    const char *w = dg_ctx_take_warnings(dev);
    if (*w)
        fprintf(stderr, "%s: warnings on the device path: %s", label, w);
    CHECK(*w == 0);
}

static void diff_end_to_end(dg_ctx *ref, dg_ctx *dev, const char *label,
                            const float *x, uint32_t n, uint32_t d,
                            uint32_t k, uint64_t max_fit)
{
    run a, b;
    CHECK_EQ_INT(end_to_end(ref, x, n, d, k, max_fit, &a), DG_OK);
    CHECK_EQ_INT(end_to_end(dev, x, n, d, k, max_fit, &b), DG_OK);
    check_no_fallback(dev, label);
    int ok = same(a.xy, b.xy, 2 * (size_t)n * 8) &&
             same(a.var, b.var, sizeof(a.var)) &&
             same(a.comp, b.comp, 2 * (size_t)d * 8) && a.k == b.k &&
             same(a.assign, b.assign, (size_t)n * 4) &&
             same(a.dist, b.dist, (size_t)n * 8) &&
             same(a.cent, b.cent, (size_t)a.k * d * 8) &&
             same(&a.inertia, &b.inertia, 8);
    if (!ok)
        fprintf(stderr, "%s: end to end differs\n", label);
    CHECK(ok);
    run_free(&a);
    run_free(&b);
}

/* Hand-checked answers of the reference path. */
static void reference_answers(dg_ctx *ctx)
{
    /* Points (t, 2t), t = -2..2: population covariance 2 * [[1,2],[2,4]],
     * top eigenvalue 10 along (1, 2) / sqrt(5), the second 0. */
    float x[10];
    for (int i = 0; i < 5; i++) {
        x[2 * i] = (float)(i - 2);
        x[2 * i + 1] = (float)(2 * (i - 2));
    }
    run a;
    CHECK_EQ_INT(end_to_end(ctx, x, 5, 2, 5, 0, &a), DG_OK);
    CHECK_NEAR(a.var[0], 10.0, 1e-12);
    CHECK_NEAR(a.var[1], 0.0, 1e-12);
    CHECK_NEAR(a.comp[0], 1 / sqrt(5.0), 1e-12);
    CHECK_NEAR(a.comp[1], 2 / sqrt(5.0), 1e-12);
    /* Coordinates: t * sqrt(5) on PC1, 0 on PC2. */
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(a.xy[2 * i], (i - 2) * sqrt(5.0), 1e-12);
        CHECK_NEAR(a.xy[2 * i + 1], 0.0, 1e-12);
    }
    /* k = n with distinct points: every point its own cluster. */
    CHECK_EQ_INT(a.k, 5);
    CHECK_EQ_DBL(a.inertia, 0.0);
    int seen[5] = {0};
    for (int i = 0; i < 5; i++)
        seen[a.assign[i] % 5]++;
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(seen[i], 1);
    run_free(&a);

    /* k = 1: the centroid is the mean, inertia the sum of squares. */
    CHECK_EQ_INT(end_to_end(ctx, x, 5, 2, 1, 0, &a), DG_OK);
    CHECK_EQ_DBL(a.cent[0], 0.0);
    CHECK_EQ_DBL(a.cent[1], 0.0);
    CHECK_EQ_DBL(a.inertia, 50.0); /* sum of 5 t^2 = 5 * 10 */
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(a.assign[i], 0);
    run_free(&a);

    /* Two well-separated groups in 1-D: 0, 1, 2 and 100, 101, 102. */
    float y[6] = {0, 100, 1, 101, 2, 102};
    CHECK_EQ_INT(end_to_end(ctx, y, 6, 1, 2, 0, &a), DG_OK);
    CHECK(a.assign[0] == a.assign[2] && a.assign[2] == a.assign[4]);
    CHECK(a.assign[1] == a.assign[3] && a.assign[3] == a.assign[5]);
    CHECK(a.assign[0] != a.assign[1]);
    CHECK_EQ_DBL(a.cent[a.assign[0]], 1.0);
    CHECK_EQ_DBL(a.cent[a.assign[1]], 101.0);
    CHECK_EQ_DBL(a.inertia, 4.0);
    CHECK_NEAR(a.var[0], 15004.0 / 6, 1e-9); /* population variance */
    run_free(&a);

    /* A tie: 0.5 lies at the same distance from centroids 0 and 1; the
     * lower index wins. */
    double ct[2] = {0.0, 1.0};
    float z[1] = {0.5f};
    uint32_t as;
    double dd;
    dg__embed_assign_ref(z, 1, 1, ct, 2, &as, &dd);
    CHECK_EQ_INT(as, 0);
    CHECK_EQ_DBL(dd, 0.25);

    /* kNN by hand: 1-D points 0, 1, 3, 3 (q = 1). Point 0: 1 (d 1), then
     * the two 3s tie (d 9): the lower index first. Point 2: 3 (d 0), 1. */
    double zz[4] = {0, 1, 3, 3};
    uint32_t nb[8];
    dg__embed_knn_ref(zz, 4, 1, 2, nb);
    CHECK_EQ_INT(nb[0], 1);
    CHECK_EQ_INT(nb[1], 2);
    CHECK_EQ_INT(nb[4], 3);
    CHECK_EQ_INT(nb[5], 1);
    /* Fewer others than k: the point itself pads. */
    uint32_t nb2[6];
    dg__embed_knn_ref(zz, 2, 1, 3, nb2);
    CHECK_EQ_INT(nb2[0], 1);
    CHECK_EQ_INT(nb2[1], 0);
    CHECK_EQ_INT(nb2[2], 0);
    CHECK_EQ_INT(nb2[3], 0);
    CHECK_EQ_INT(nb2[4], 1);
    CHECK_EQ_INT(nb2[5], 1);
    /* Repulsion partners are never the point itself and cover the rest. */
    int hit[7] = {0};
    for (uint32_t s = 0; s < 400; s++) {
        uint32_t j = dg__embed_layout_pick(5, s / 8, 3, s % 8, 7);
        CHECK(j != 3 && j < 7);
        hit[j < 7 ? j : 0]++;
    }
    for (int j = 0; j < 7; j++)
        CHECK(j == 3 ? hit[j] == 0 : hit[j] > 20);

    /* Errors: k > n, no points. */
    const float *rows[1] = {z};
    dg_embed_points pts = {1, 1, rows};
    dg_embed_kmeans_opts ko;
    dg_embed_kmeans_opts_init(&ko);
    CHECK_EQ_INT(ko.k, 0);
    CHECK_EQ_INT(ko.seed, 1);
    CHECK_EQ_INT(ko.max_iter, 50);
    CHECK_EQ_INT(ko.max_fit, 20000);
    CHECK_EQ_INT(ko.choose, DG_CHOOSE_K_BIC);
    CHECK_EQ_INT(ko.k_max, 30);
    CHECK_EQ_INT(ko.starts, 4);
    ko.k = 2;
    uint32_t asg[1];
    CHECK_EQ_INT(dg_embed_kmeans(ctx, &pts, &ko, asg, NULL, NULL, NULL, NULL),
                 DG_EINVAL);
    /* The layout refuses more than 20000 points before doing anything. */
    pts.n = 20001;
    double big;
    CHECK_EQ_INT(dg_embed_layout(ctx, &pts, NULL, &big), DG_ERANGE);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "at most 20000");
    pts.n = 0;
    double xy[2];
    CHECK_EQ_INT(dg_embed_pca(ctx, &pts, 0, xy, NULL, NULL), DG_EINVAL);
}

/*
 * Choosing k by hand: 1-D points 0, 1, 10, 11 (k_max is cut to 2, the
 * sample having 4 points). Silhouette of the two pairs: point 0 has a = 1,
 * b = (10 + 11) / 2, point 1 a = 1, b = (9 + 10) / 2, and the other pair
 * mirrors them. BIC: w = 4 x 0.25, s^2 = w / (d (m - k)) = 0.5, the two
 * clusters of 2 of 4 points, p = (k - 1) + k d + 1 = 4.
 */
static void choose_by_hand(dg_ctx *ctx)
{
    float x[4] = {0, 1, 10, 11};
    const float *rows[4] = {x, x + 1, x + 2, x + 3};
    dg_embed_points pts = {4, 1, rows};
    dg_embed_kmeans_opts o;
    dg_embed_kmeans_opts_init(&o);
    o.seed = 3;
    o.choose = DG_CHOOSE_K_SILHOUETTE;
    dg_k_choice kc;
    CHECK_EQ_INT(dg_embed_choose_k(ctx, &pts, &o, &kc), DG_OK);
    CHECK_EQ_INT(kc.k, 2);
    CHECK_EQ_INT(kc.k_max, 2);
    CHECK_EQ_INT(kc.sample, 4);
    CHECK_NEAR(kc.score[2], (9.5 / 10.5 + 8.5 / 9.5) / 2, 1e-15);
    CHECK(isnan(kc.score[3]));
    o.choose = DG_CHOOSE_K_BIC;
    CHECK_EQ_INT(dg_embed_choose_k(ctx, &pts, &o, &kc), DG_OK);
    double ll = 4 * log(0.5) - 0.5 * 4 * log(2 * 3.141592653589793 * 0.5) -
                0.5 * 1.0 / 0.5;
    CHECK_NEAR(kc.score[2], ll - 0.5 * 4 * log(4.0), 1e-12);
    /* Five tight, far apart groups of 40 points in 3-D: silhouette and BIC
     * find 5; the elbow's first ratio is the inertia of 2 over 1. */
    enum { G = 5, PER = 40 };
    float *y = malloc(G * PER * 3 * sizeof(float));
    const float **yr = malloc(G * PER * sizeof(*yr));
    for (int g = 0; g < G; g++)
        for (int i = 0; i < PER; i++) {
            float *v = y + (g * PER + i) * 3;
            v[0] = (float)(100 * g) + (float)(i % 5) * 0.1f;
            v[1] = (float)(g % 2 ? 50 : -50) + (float)(i % 7) * 0.1f;
            v[2] = (float)(i % 3) * 0.1f;
            yr[g * PER + i] = v;
        }
    dg_embed_points py = {G * PER, 3, yr};
    for (int c = 0; c < 3; c++) {
        dg_embed_kmeans_opts oy;
        dg_embed_kmeans_opts_init(&oy);
        oy.choose = (dg_choose_k)c;
        oy.k_max = 12;
        CHECK_EQ_INT(dg_embed_choose_k(ctx, &py, &oy, &kc), DG_OK);
        CHECK_EQ_INT(kc.method, c);
        CHECK_EQ_INT(kc.k, G);
        if (c == DG_CHOOSE_K_ELBOW)
            CHECK(kc.score[2] > 0 && kc.score[2] < 1 && isnan(kc.score[1]));
    }
    CHECK_STR_CONTAINS(dg_choose_k_name(DG_CHOOSE_K_BIC), "bic");
    CHECK_EQ_INT(dg_choose_k_parse("elbow"), DG_CHOOSE_K_ELBOW);
    CHECK_EQ_INT(dg_choose_k_parse("gap"), -1);
    dg_embed_kmeans_opts bad;
    dg_embed_kmeans_opts_init(&bad);
    bad.choose = (dg_choose_k)7;
    CHECK_EQ_INT(dg_embed_choose_k(ctx, &py, &bad, &kc), DG_EINVAL);
    free(yr);
    free(y);
}

/* The choice of k on both paths: identical scores, bytes and all. */
static void choose_paths(dg_ctx *ref, dg_ctx *dev)
{
    for (int seed = 0; seed < 4; seed++) {
        rs = 7100 + (uint64_t)seed;
        uint32_t n = 300 + (uint32_t)(xrnd() % 1500);
        uint32_t d = 2 + (uint32_t)(xrnd() % 30);
        float *x = gen_points(n, d, seed % 4);
        const float **rows = malloc(n * sizeof(*rows));
        for (uint32_t i = 0; i < n; i++)
            rows[i] = x + (size_t)i * d;
        dg_embed_points pts = {n, d, rows};
        for (int c = 0; c < 3; c++) {
            dg_embed_kmeans_opts o;
            dg_embed_kmeans_opts_init(&o);
            o.seed = (uint64_t)seed;
            o.choose = (dg_choose_k)c;
            dg_k_choice a, b;
            CHECK_EQ_INT(dg_embed_choose_k(ref, &pts, &o, &a), DG_OK);
            CHECK_EQ_INT(dg_embed_choose_k(dev, &pts, &o, &b), DG_OK);
            check_no_fallback(dev, "choose k");
            CHECK(same(&a, &b, sizeof(a)));
        }
        free(rows);
        free(x);
    }
}

/*
 * A context on an OpenCL device with fallback off: DETGRID_DEVICE when it
 * names gpu or cpu, else "gpu" when one is there, else "cpu". NULL when
 * none can be set up.
 */
static dg_ctx *device_ctx(void)
{
    const char *env = getenv("DETGRID_DEVICE");
    const char *spec[3] = {NULL, "gpu", "cpu"};
    if (env && (!strncmp(env, "gpu", 3) || !strncmp(env, "cpu", 3)))
        spec[0] = env;
    for (int i = 0; i < 3; i++) {
        dg_ctx *c;
        if (!spec[i] || dg_ctx_new(&c) != DG_OK)
            continue;
        if (dg_ctx_set_device(c, spec[i]) == DG_OK &&
            dg__cl_ensure(c) == DG_OK) {
            dg_ctx_set_fallback(c, 0);
            printf("device path: %s (%s)\n", spec[i], dg__cl_device_desc(c));
            return c;
        }
        dg_ctx_free(c);
    }
    return NULL;
}

static int same_analysis(const dg_embeddings_result *a,
                         const dg_embeddings_result *b)
{
    uint64_t n = a->n;
    return a->n == b->n && a->dim == b->dim && a->k == b->k &&
           a->k_fit == b->k_fit && a->k_chosen == b->k_chosen &&
           same(&a->k_choice, &b->k_choice, sizeof(a->k_choice)) &&
           same(a->point, b->point, n * 8) && same(a->xy, b->xy, n * 16) &&
           same(a->var, b->var, sizeof(a->var)) &&
           same(a->assign, b->assign, n * 4) &&
           same(a->dist, b->dist, n * 8) &&
           same(a->clusters, b->clusters,
                a->k * sizeof(dg_pattern_cluster));
}

/*
 * The whole analysis (dg_embeddings_evaluate) on a synthetic project with
 * a planted pattern: frames with clusters, crops, the layout. On the
 * reference, out->device says so and the clusters' frames are theirs; on
 * the device (dev, when there is one), the same bytes and out->device
 * names the OpenCL device.
 */
static void analysis(dg_ctx *ref, dg_ctx *dev, uint32_t scenes)
{
    dg_synth_opts so;
    dg_synth_opts_init(&so);
    so.seed = 4;
    so.n_frames = scenes > 8 ? 900 : 300;
    so.n_classes = 4;
    dg_project *p;
    CHECK_EQ_INT(dg_synth_project(ref, &so, &p), DG_OK);
    dg_synth_embeddings_opts eo;
    dg_synth_embeddings_opts_init(&eo);
    eo.seed = 4;
    eo.dim = 24;
    eo.scenes = scenes;
    eo.plant = 1;
    CHECK_EQ_INT(dg_synth_embeddings(ref, p, &eo, NULL, NULL, NULL), DG_OK);
    const char *name = dg_project_inference_name(p, 0);
    dg_results *r = NULL;
    double iou[DG_MAX_IOU_THRESHOLDS];
    int n_iou = dg_default_iou_thresholds(iou, DG_MAX_IOU_THRESHOLDS);
    CHECK_EQ_INT(dg_eval(ref, p, name, iou, n_iou), DG_OK);
    CHECK_EQ_INT(dg_results_load(ref, p, name, &r), DG_OK);
    if (!r) {
        fprintf(stderr, "analysis: %s\n", dg_ctx_last_error(ref));
        dg_project_free(p);
        return;
    }
    for (int mode = 0; mode < 3; mode++) {
        dg_embeddings_opts o;
        dg_embeddings_opts_init(&o);
        o.model = "synth";
        o.crops = mode == 1;
        o.layout = mode == 2;
        o.cluster = 1;
        o.k = mode == 2 ? 3 : -1;
        dg_embeddings_result a, b;
        CHECK_EQ_INT(dg_embeddings_evaluate(ref, r, p, &o, &a), DG_OK);
        CHECK(strcmp(a.device, "reference") == 0);
        CHECK(a.n > 0 && a.k >= 2 && a.clusters);
        CHECK_EQ_INT(a.crops, o.crops);
        /* The frames of a cluster are those of its points. */
        uint32_t *cf, ncf;
        CHECK_EQ_INT(dg_embeddings_cluster_frames(ref, &a, 0, &cf, &ncf),
                     DG_OK);
        uint64_t in0 = 0;
        for (uint64_t i = 0; i < a.n; i++)
            in0 += a.assign[i] == 0;
        CHECK(ncf > 0 && ncf <= in0);
        for (uint32_t i = 1; i < ncf; i++)
            CHECK(cf[i - 1] < cf[i]);
        free(cf);
        if (dev) {
            CHECK_EQ_INT(dg_embeddings_evaluate(dev, r, p, &o, &b), DG_OK);
            check_no_fallback(dev, "analysis");
            CHECK_STR_CONTAINS(b.device, "OpenCL");
            if (!same_analysis(&a, &b))
                fprintf(stderr, "analysis mode %d differs\n", mode);
            CHECK(same_analysis(&a, &b));
            dg_embeddings_result_release(&b);
        }
        dg_embeddings_result_release(&a);
    }
    /* Errors: no model; a model the project lacks. */
    dg_embeddings_opts o;
    dg_embeddings_opts_init(&o);
    dg_embeddings_result a;
    CHECK_EQ_INT(dg_embeddings_evaluate(ref, r, p, &o, &a), DG_EINVAL);
    CHECK_EQ_INT(dg_embeddings_evaluate(ref, r, p, NULL, &a), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ref), "no model");
    o.model = "nosuch";
    CHECK(dg_embeddings_evaluate(ref, r, p, &o, &a) < 0);
    dg_embeddings_result_release(&a);
    dg_results_free(r);
    dg_project_free(p);
}

int main(void)
{
    dg_ctx *ctx, *ref;
    if (dg_ctx_new(&ctx) != DG_OK || dg_ctx_new(&ref) != DG_OK)
        return 2;
    dg_ctx_set_device(ctx, "ref");
    dg_ctx_set_device(ref, "ref");
    reference_answers(ctx);
    choose_by_hand(ctx);
    int rc = device_open(ctx, "device half: ");
    dg_ctx *dev = rc ? NULL : device_ctx();
    analysis(ref, dev, 0);
    analysis(ref, dev, 14);
    if (dev)
        choose_paths(ref, dev);
    if (rc || !dev) {
        if (!rc) {
            fprintf(stderr, "no OpenCL device context: %s\n",
                    dg_ctx_last_error(ctx));
            CHECK(dev != NULL);
        }
        check_done("test-embed (reference only)");
        dg_ctx_free(ctx);
        dg_ctx_free(ref);
        return check_failures ? 1 : rc;
    }
    dg_embed_cl *e;
    if (dg__embed_cl_open(ctx, &e) != DG_OK) {
        fprintf(stderr, "embed.cl: %s\n", dg_ctx_last_error(ctx));
        return 1;
    }
    char label[96];
    for (int seed = 0; seed < 60; seed++) {
        rs = 1000 + (uint64_t)seed;
        uint32_t m = 1 + (uint32_t)(xrnd() % 1500);
        uint32_t d = 1 + (uint32_t)(xrnd() % 48);
        uint32_t k = 1 + (uint32_t)(xrnd() % (m < 20 ? m : 20));
        int kind = seed % 4;
        float *x = gen_points(m, d, kind);
        snprintf(label, sizeof(label), "seed %d (m %u, d %u, k %u, kind %d)",
                 seed, m, d, k, kind);
        diff_kernels(ctx, e, label, x, m, d, k);
        free(x);
    }
    /* Adversarial shapes: one point, D = 1, k = 1, k = m, 300 centroids
     * (more than the reference's block of 256), all points equal. */
    struct {
        uint32_t m, d, k;
        int kind;
    } adv[] = {{1, 1, 1, 0},   {1, 7, 1, 3},    {5, 1, 5, 2},
               {64, 1, 1, 1},  {300, 3, 300, 0}, {50, 256, 50, 3},
               {700, 2, 257, 2}, {9, 9, 9, 1}};
    for (size_t i = 0; i < sizeof(adv) / sizeof(adv[0]); i++) {
        rs = 77 + i;
        float *x = gen_points(adv[i].m, adv[i].d, adv[i].kind);
        snprintf(label, sizeof(label), "adversarial %zu", i);
        diff_kernels(ctx, e, label, x, adv[i].m, adv[i].d, adv[i].k);
        free(x);
    }
    dg__embed_cl_close(e);

    /* End to end on both paths: random seeds, subsampled fits, duplicates
     * (k-means++ with nothing left to pick), k chosen by the elbow. */
    for (int seed = 0; seed < 6; seed++) {
        rs = 5000 + (uint64_t)seed;
        uint32_t n = 200 + (uint32_t)(xrnd() % 2000);
        uint32_t d = 1 + (uint32_t)(xrnd() % 40);
        float *x = gen_points(n, d, seed % 4);
        snprintf(label, sizeof(label), "end-to-end seed %d", seed);
        diff_end_to_end(ref, dev, label, x, n, d, seed == 5 ? 0 : 2 + seed,
                        seed % 2 ? 300 : 0);
        free(x);
    }
    /* The layout end to end. */
    for (int seed = 0; seed < 3; seed++) {
        rs = 9000 + (uint64_t)seed;
        uint32_t n = 50 + (uint32_t)(xrnd() % 600);
        uint32_t d = 1 + (uint32_t)(xrnd() % 40);
        float *x = gen_points(n, d, seed);
        const float **rows = malloc(n * sizeof(*rows));
        for (uint32_t i = 0; i < n; i++)
            rows[i] = x + (size_t)i * d;
        dg_embed_points pts = {n, d, rows};
        dg_embed_layout_opts lo;
        dg_embed_layout_opts_init(&lo);
        lo.iters = 60;
        lo.seed = (uint64_t)seed;
        double *a = malloc(2 * (size_t)n * 8), *b = malloc(2 * (size_t)n * 8);
        CHECK_EQ_INT(dg_embed_layout(ref, &pts, &lo, a), DG_OK);
        CHECK_EQ_INT(dg_embed_layout(dev, &pts, &lo, b), DG_OK);
        check_no_fallback(dev, "layout end to end");
        if (!same(a, b, 2 * (size_t)n * 8))
            fprintf(stderr, "layout end to end %d differs\n", seed);
        CHECK(same(a, b, 2 * (size_t)n * 8));
        free(a);
        free(b);
        free(rows);
        free(x);
    }
    float same_pts[40];
    for (int i = 0; i < 40; i++)
        same_pts[i] = 3.5f;
    diff_end_to_end(ref, dev, "all points equal", same_pts, 20, 2, 4, 0);
    dg_ctx_free(dev);
    dg_ctx_free(ref);
    dg_ctx_free(ctx);
    return check_done("test-embed");
}
