/*
 * Finding failures without being told where to look (docs/SLICES.md,
 * docs/EMBEDDINGS.md): the tests behind the pattern finders against
 * closed forms and brute force, then planted failures ranked first with
 * the default settings, and nothing found where nothing is planted.
 *
 * The seeds below (9401.., 9501..) were not used while the defaults were
 * chosen (tools/dev/patterns_eval.py ran on seeds 1-200). The planted
 * scenarios must each rank the planted failure first with Jaccard >= 0.8
 * against the planted frames (or crops) on every one of them, and the
 * false-positive rates on unplanted data must stay under 8 % (the tests
 * aim at 5 %; each seed is deterministic, so this does not flap).
 *
 * History: the first held-out run (seeds 9001-9010) failed the crop
 * scenario on seed 9008 (Jaccard 0.55: k-means cut the odd-looking crops
 * in two clusters, both 100 % misses). The merge of split failures
 * (dg__patterns_merge) came from that, and passed on fresh seeds
 * 9201-9210 (null: 9301-9400). With the merge, the BIC did better than
 * the silhouette on the development seeds (docs/EMBEDDINGS.md) and
 * became the default; the seeds here are fresh again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "detgrid/detgrid.h"
#include "query.h"

#define PLANTED_SEEDS 10
#define NULL_SEEDS 100

/* ---- the tests' statistics ----------------------------------------------- */

/* The t density with df degrees of freedom. */
static double t_pdf(double t, double df)
{
    return exp(lgamma((df + 1) / 2) - lgamma(df / 2) -
               0.5 * log(df * 3.141592653589793) -
               (df + 1) / 2 * log1p(t * t / df));
}

/* P(T >= t) by Simpson's rule over [t, t + span]. */
static double t_sf_simpson(double t, double df, double span)
{
    int n = 400000;
    double h = span / n, s = t_pdf(t, df) + t_pdf(t + span, df);
    for (int i = 1; i < n; i++)
        s += (i % 2 ? 4 : 2) * t_pdf(t + i * h, df);
    return s * h / 3;
}

static void student(void)
{
    const double ts[] = {-3, -0.5, 0, 0.7, 2, 10, 1e3};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        double t = ts[i];
        /* df 1 is Cauchy's, df 2 has a closed form too. */
        CHECK_NEAR(exp(dg__student_logsf(t, 1)),
                   0.5 - atan(t) / 3.141592653589793, 1e-12);
        CHECK_NEAR(exp(dg__student_logsf(t, 2)),
                   0.5 - t / (2 * sqrt(t * t + 2)), 1e-12);
    }
    /* Many degrees of freedom: the normal tail. */
    CHECK_NEAR(exp(dg__student_logsf(2, 1e8)), dg__normal_sf(2), 1e-8);
    CHECK_NEAR(dg__normal_sf(1.959963984540054), 0.025, 1e-15);
    /* Non-integer df against Simpson, including far tails in log. */
    const double cases[][2] = {{2.5, 29}, {4, 29}, {1.2, 7.3}, {9, 55.5}};
    for (size_t i = 0; i < 4; i++) {
        double t = cases[i][0], df = cases[i][1];
        double ref = t_sf_simpson(t, df, 400);
        CHECK_NEAR(exp(dg__student_logsf(t, df)) / ref, 1, 1e-9);
    }
    double lp = dg__student_logsf(40, 30);
    CHECK_NEAR(lp, log(t_sf_simpson(40, 30, 4000)), 1e-6);
    CHECK(isfinite(dg__student_logsf(1e6, 30)));
    CHECK(isnan(dg__student_logsf(NAN, 3)));
    CHECK_EQ_DBL(exp(dg__student_logsf(INFINITY, 3)), 0);
}

static void ratio(void)
{
    /* Slice frames (a, b): (2, 4), (0, 3); the rest: (4, 4), (6, 6),
     * (2, 3). F1 numerator a = 2TP, denominator b = 2TP + FP + FN. */
    dg_frame_counts s1 = {1, 1, 1, 0, 0}, s2 = {0, 2, 1, 0, 0};
    dg_frame_counts t1 = {2, 0, 0, 0, 0}, t2 = {3, 0, 0, 0, 0},
                    t3 = {1, 1, 0, 0, 0};
    dg__ratio s = {0, 0, 0, 0, 0, 0}, t = s;
    dg__ratio_add(&s, DG__RATIO_F1, &s1);
    dg__ratio_add(&s, DG__RATIO_F1, &s2);
    dg__ratio_add(&t, DG__RATIO_F1, &t1);
    dg__ratio_add(&t, DG__RATIO_F1, &t2);
    dg__ratio_add(&t, DG__RATIO_F1, &t3);
    double as[] = {2, 0}, bs[] = {4, 3}, at[] = {4, 6, 2}, bt[] = {4, 6, 3};
    double rs = 2.0 / 7, rt = 12.0 / 13, vs = 0, vt = 0;
    for (int i = 0; i < 2; i++)
        vs += (as[i] - rs * bs[i]) * (as[i] - rs * bs[i]);
    for (int i = 0; i < 3; i++)
        vt += (at[i] - rt * bt[i]) * (at[i] - rt * bt[i]);
    vs = 2.0 / 1 * vs / 49;
    vt = 3.0 / 2 * vt / 169;
    double z, p, logp;
    dg__ratio_test(&s, &t, &z, &p, &logp);
    CHECK_NEAR(dg__ratio_value(&s), rs, 1e-15);
    CHECK_NEAR(z, (rt - rs) / sqrt(vs + vt), 1e-12);
    double df = (vs + vt) * (vs + vt) / (vs * vs / 1 + vt * vt / 2);
    CHECK_NEAR(logp, dg__student_logsf(z, df), 1e-12);
    CHECK_NEAR(p, exp(logp), 1e-15);
    /* Precision and recall take TP over TP + FP and TP + FN; a frame
     * without chances does not count. */
    dg__ratio pr = {0, 0, 0, 0, 0, 0}, rc = pr;
    dg_frame_counts e = {0, 0, 0, 0, 0};
    dg__ratio_add(&pr, DG__RATIO_PRECISION, &s1);
    dg__ratio_add(&pr, DG__RATIO_PRECISION, &e);
    dg__ratio_add(&rc, DG__RATIO_RECALL, &s2);
    CHECK_EQ_DBL(pr.n, 1);
    CHECK_EQ_DBL(dg__ratio_value(&pr), 0.5);
    CHECK_EQ_DBL(dg__ratio_value(&rc), 0);
    /* The complement is the total less the part. */
    dg__ratio all = t;
    dg__ratio_add(&all, DG__RATIO_F1, &s1);
    dg__ratio_add(&all, DG__RATIO_F1, &s2);
    dg__ratio d = dg__ratio_minus(&all, &s);
    CHECK(!memcmp(&d, &t, sizeof(d)));
    /* Too few frames: no test. */
    dg__ratio one = {0, 0, 0, 0, 0, 0};
    dg__ratio_add(&one, DG__RATIO_F1, &s1);
    dg__ratio_test(&one, &t, &z, &p, NULL);
    CHECK(isnan(z) && p == 1);
}

static void bh(dg_ctx *ctx)
{
    uint64_t st = 99;
    for (int rep = 0; rep < 20; rep++) {
        enum { N = 60 };
        double p[N], q[N];
        for (int i = 0; i < N; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(st >> 11) / 9007199254740992.0;
            /* Ties, exact zeros and NaN too. */
            p[i] = i % 7 == 0 ? 0.01 : i % 11 == 0 ? NAN : u * u * u;
        }
        CHECK_EQ_INT(dg__bh_adjust(ctx, p, N, q), DG_OK);
        for (int i = 0; i < N; i++) {
            /* q_i = min over p_k >= p_i of p_k n / #{m : p_m <= p_k}. */
            double pi = isnan(p[i]) ? 1 : p[i], best = 1;
            for (int k = 0; k < N; k++) {
                double pk = isnan(p[k]) ? 1 : p[k];
                if (pk < pi)
                    continue;
                int r = 0;
                for (int m = 0; m < N; m++)
                    r += (isnan(p[m]) ? 1 : p[m]) <= pk;
                double v = pk * N / r;
                if (v < best)
                    best = v;
            }
            CHECK_NEAR(q[i], best, 1e-15);
        }
    }
}

/* ---- planted failures ----------------------------------------------------- */

static double jaccard(const uint32_t *a, uint32_t na, const uint8_t *in_b,
                      uint32_t nb)
{
    uint32_t both = 0;
    for (uint32_t i = 0; i < na; i++)
        both += in_b[a[i]];
    uint32_t uni = na + nb - both;
    return uni ? (double)both / uni : 1;
}

static dg_project *synth(dg_ctx *ctx, uint64_t seed, uint32_t frames)
{
    dg_synth_opts so;
    dg_synth_opts_init(&so);
    so.seed = seed;
    so.n_frames = frames;
    dg_project *p = NULL;
    CHECK_EQ_INT(dg_synth_project(ctx, &so, &p), DG_OK);
    return p;
}

static dg_results *evaluate(dg_ctx *ctx, dg_project *p)
{
    double iou[DG_MAX_IOU_THRESHOLDS];
    int n_iou = dg_default_iou_thresholds(iou, DG_MAX_IOU_THRESHOLDS);
    const char *name = dg_project_inference_name(p, 0);
    dg_results *r = NULL;
    CHECK_EQ_INT(dg_eval(ctx, p, name, iou, n_iou), DG_OK);
    CHECK_EQ_INT(dg_results_load(ctx, p, name, &r), DG_OK);
    return r;
}

/* The index of IoU 0.5 among the default thresholds. */
static int iou_half(dg_ctx *ctx, dg_results *r)
{
    int t = dg_results_find_iou(ctx, r, 0.5);
    CHECK(t >= 0);
    return t < 0 ? 0 : t;
}

/* The default clusters (crops or frames) of model synth at IoU 0.5. */
static void clusters(dg_ctx *ctx, dg_project *p, dg_results *r, int crops,
                     dg_embeddings_result *res)
{
    dg_embeddings_opts o;
    dg_embeddings_opts_init(&o);
    o.model = "synth";
    o.iou_idx = iou_half(ctx, r);
    o.crops = crops;
    o.cluster = 1;
    CHECK_EQ_INT(dg_embeddings_evaluate(ctx, r, p, &o, res), DG_OK);
}

/* A failing scene among 8 to 24: the top frame cluster is that scene. */
static double planted_scene(dg_ctx *ctx, uint64_t seed, uint32_t *k)
{
    dg_project *p = synth(ctx, seed, 2000);
    dg_synth_embeddings_opts eo;
    dg_synth_embeddings_opts_init(&eo);
    eo.seed = seed;
    eo.dim = 32;
    eo.scenes = 8 + (uint32_t)(seed % 5) * 4;
    eo.plant = 1;
    uint32_t ps, pc, *scene = NULL;
    CHECK_EQ_INT(dg_synth_embeddings(ctx, p, &eo, &ps, &pc, &scene), DG_OK);
    dg_results *r = evaluate(ctx, p);
    dg_embeddings_result res;
    double jac = 0;
    clusters(ctx, p, r, 0, &res);
    if (res.clusters) {
        uint32_t *f, n, F = dg__project_n_frames(p), np = 0;
        uint8_t *in = calloc(F, 1);
        for (uint32_t i = 0; i < F; i++)
            np += in[i] = scene[i] == ps;
        CHECK_EQ_INT(dg_embeddings_cluster_frames(ctx, &res,
                                                  res.clusters[0].id, &f, &n),
                     DG_OK);
        jac = jaccard(f, n, in, np);
        CHECK(res.clusters[0].q <= 0.05);
        CHECK_EQ_INT(res.clusters[0].explain.cls[0].cls, pc);
        *k = res.k;
        free(f);
        free(in);
    }
    dg_embeddings_result_release(&res);
    free(scene);
    dg_results_free(r);
    dg_project_free(p);
    return jac;
}

/* Every third object of a class looks different and is missed: the top
 * crop cluster is those objects' label crops. */
static double planted_look(dg_ctx *ctx, uint64_t seed)
{
    dg_project *p = synth(ctx, seed, 2000);
    dg_synth_embeddings_opts eo;
    dg_synth_embeddings_opts_init(&eo);
    eo.seed = seed;
    eo.dim = 32;
    eo.plant = 3;
    uint32_t ps, pc;
    CHECK_EQ_INT(dg_synth_embeddings(ctx, p, &eo, &ps, &pc, NULL), DG_OK);
    dg_results *r = evaluate(ctx, p);
    dg_embeddings_result res;
    double jac = 0;
    clusters(ctx, p, r, 1, &res);
    if (res.clusters) {
        /* The planted crops: every third label of class pc, not crowd. */
        const dg_boxset *lb;
        CHECK_EQ_INT(dg__project_labels(ctx, p, &lb), DG_OK);
        uint64_t nl = lb->n;
        uint8_t *odd = calloc(nl ? nl : 1, 1);
        uint64_t seen = 0, n_odd = 0, both = 0, in_top = 0;
        for (uint64_t q = 0; q < nl; q++)
            if (lb->cls[q] == pc && !lb->iscrowd[q] && seen++ % 3 == 0)
                odd[q] = 1, n_odd++;
        uint32_t top = res.clusters[0].id;
        for (uint64_t i = 0; i < res.n; i++) {
            if (res.assign[i] != top)
                continue;
            const dg_crop *c = &res.crop[res.point[i]];
            in_top++;
            both += c->kind == 0 && odd[c->index];
        }
        jac = (double)both / (double)(in_top + n_odd - both);
        free(odd);
    }
    dg_embeddings_result_release(&res);
    dg_results_free(r);
    dg_project_free(p);
    return jac;
}

/* Frames where both planted conditions hold, as flags; returns how many. */
static uint32_t where_both(dg_ctx *ctx, dg_project *p,
                           const dg_synth_slice *sl, uint8_t *in)
{
    uint32_t F = dg__project_n_frames(p), n = 0;
    uint8_t *hit = calloc(F, 1);
    for (int c = 0; c < 2; c++) {
        uint32_t *f, nf;
        CHECK_EQ_INT(dg_project_frames_where(ctx, p, sl->where[c], &f, &nf),
                     DG_OK);
        for (uint32_t i = 0; i < nf; i++)
            hit[f[i]]++;
        free(f);
    }
    for (uint32_t i = 0; i < F; i++)
        n += in[i] = hit[i] == 2;
    free(hit);
    return n;
}

/* Detections vanish where two metadata conditions hold together: the top
 * slice is those frames. */
static double planted_slice(dg_ctx *ctx, uint64_t seed)
{
    dg_project *p = synth(ctx, seed, 2000);
    dg_synth_metadata_opts mo;
    dg_synth_metadata_opts_init(&mo);
    mo.seed = seed;
    mo.plant = 1;
    dg_synth_slice sl;
    CHECK_EQ_INT(dg_synth_metadata(ctx, p, &mo, &sl), DG_OK);
    dg_results *r = evaluate(ctx, p);
    uint32_t F = dg__project_n_frames(p);
    uint8_t *in = calloc(F, 1);
    uint32_t np = where_both(ctx, p, &sl, in);
    CHECK_EQ_INT(np, sl.n_frames);
    dg_slices_opts o;
    dg_slices_opts_init(&o);
    o.iou_idx = iou_half(ctx, r);
    dg_slices_result res;
    double jac = 0;
    CHECK_EQ_INT(dg_slices_evaluate(ctx, r, p, &o, &res), DG_OK);
    if (res.n_slices) {
        jac = jaccard(res.slices[0].frames, res.slices[0].n_frames, in, np);
        CHECK(res.slices[0].q <= 0.05);
    }
    dg_slices_result_release(&res);
    free(in);
    dg_results_free(r);
    dg_project_free(p);
    return jac;
}

/* ---- nothing planted ------------------------------------------------------- */

static int null_slices(dg_ctx *ctx, uint64_t seed)
{
    dg_project *p = synth(ctx, seed, 1000);
    dg_synth_metadata_opts mo;
    dg_synth_metadata_opts_init(&mo);
    mo.seed = seed;
    CHECK_EQ_INT(dg_synth_metadata(ctx, p, &mo, NULL), DG_OK);
    dg_results *r = evaluate(ctx, p);
    dg_slices_opts o;
    dg_slices_opts_init(&o);
    o.iou_idx = iou_half(ctx, r);
    dg_slices_result res;
    CHECK_EQ_INT(dg_slices_evaluate(ctx, r, p, &o, &res), DG_OK);
    CHECK(res.n_tested > 100);
    int found = res.n_slices > 0;
    dg_slices_result_release(&res);
    dg_results_free(r);
    dg_project_free(p);
    return found;
}

static int null_clusters(dg_ctx *ctx, uint64_t seed)
{
    dg_project *p = synth(ctx, seed, 1000);
    dg_synth_embeddings_opts eo;
    dg_synth_embeddings_opts_init(&eo);
    eo.seed = seed;
    eo.dim = 16;
    eo.scenes = 10;
    CHECK_EQ_INT(dg_synth_embeddings(ctx, p, &eo, NULL, NULL, NULL), DG_OK);
    dg_results *r = evaluate(ctx, p);
    dg_embeddings_result res;
    clusters(ctx, p, r, 0, &res);
    int found = 0;
    for (uint32_t c = 0; c < res.k; c++)
        found |= res.clusters[c].q <= 0.05;
    dg_embeddings_result_release(&res);
    dg_results_free(r);
    dg_project_free(p);
    return found;
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    dg_ctx_set_device(ctx, "ref");
    student();
    ratio();
    bh(ctx);

    double js = 0, jl = 0, jc = 0, mins = 1, minl = 1, minc = 1;
    for (uint64_t s = 9401; s < 9401 + PLANTED_SEEDS; s++) {
        uint32_t k = 0;
        double a = planted_scene(ctx, s, &k), b = planted_look(ctx, s),
               c = planted_slice(ctx, s);
        printf("seed %llu: scene (of %u, k %u) J %.3f, look J %.3f, slice "
               "J %.3f\n",
               (unsigned long long)s, 8 + (unsigned)(s % 5) * 4, k, a, b, c);
        CHECK(a >= 0.8);
        CHECK(b >= 0.8);
        CHECK(c >= 0.8);
        js += a, jl += b, jc += c;
        mins = a < mins ? a : mins;
        minl = b < minl ? b : minl;
        minc = c < minc ? c : minc;
    }
    printf("planted, mean (min) Jaccard over %d seeds: scene %.3f (%.3f), "
           "look %.3f (%.3f), slice %.3f (%.3f)\n",
           PLANTED_SEEDS, js / PLANTED_SEEDS, mins, jl / PLANTED_SEEDS, minl,
           jc / PLANTED_SEEDS, minc);

    int fs = 0, fc = 0;
    for (uint64_t s = 9501; s < 9501 + NULL_SEEDS; s++)
        fs += null_slices(ctx, s);
    for (uint64_t s = 9501; s < 9501 + NULL_SEEDS / 2; s++)
        fc += null_clusters(ctx, s);
    printf("nothing planted: a significant slice on %d of %d seeds, a "
           "significant frame cluster on %d of %d\n",
           fs, NULL_SEEDS, fc, NULL_SEEDS / 2);
    CHECK(fs * 100 <= 8 * NULL_SEEDS);
    CHECK(fc * 100 <= 8 * (NULL_SEEDS / 2));
    dg_ctx_free(ctx);
    return check_done("test-patterns");
}
