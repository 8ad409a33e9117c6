/*
 * Per-frame counts and the bootstrap: the reference resampling engine
 * against a brute-force recount (explicit draw multiplicities), per-frame
 * counts against a recount from the stored status rows and the boxes,
 * bootstrap intervals against percentiles recomputed here, the quantile
 * against hand-computed values; then the OpenCL engine (bootstrap_sums)
 * against the reference, byte for byte, on many random seeds and on
 * adversarial inputs: one frame, empty frames only, frames with only false
 * positives, one resample, resamples not starting at 0.
 *
 * Exit 0 on success, 1 on a difference, 77 when no OpenCL device exists
 * (after the reference checks passed).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen_cl.h"
#include "query.h"
#include "store_impl.h"

/* ---- random engine inputs ------------------------------------------------ */

typedef struct table {
    dg_boot_input in;
    uint64_t *off;
    uint32_t *cls, *cnt;
} table;

/*
 * mode 0: random; 1: every frame empty; 2: only false positives;
 * 3: one frame with many pairs.
 */
static void table_make(table *t, uint32_t n, uint32_t C, uint32_t S,
                       uint64_t seed, int mode)
{
    memset(t, 0, sizeof(*t));
    t->off = xrealloc(NULL, (size_t)S * (n + 1) * 8);
    size_t cap = 16, np = 0;
    t->cls = xrealloc(NULL, cap * 4);
    t->cnt = xrealloc(NULL, cap * 12);
    for (uint32_t s = 0; s < S; s++) {
        for (uint32_t u = 0; u < n; u++) {
            t->off[(size_t)s * (n + 1) + u] = np;
            if (mode == 1 || (mode == 0 && rnd_below(4) == 0))
                continue;
            for (uint32_t c = 0; c < C; c++) {
                if (mode != 3 && rnd_below(3))
                    continue;
                if (np == cap) {
                    cap *= 2;
                    t->cls = xrealloc(t->cls, cap * 4);
                    t->cnt = xrealloc(t->cnt, cap * 12);
                }
                uint32_t gt = mode == 2 ? 0 : rnd_below(6);
                uint32_t tp = gt ? rnd_below(gt + 1) : 0;
                uint32_t fp = rnd_below(mode == 3 ? 1000 : 5);
                if (mode == 2 && !fp)
                    fp = 1;
                t->cls[np] = c;
                t->cnt[3 * np] = tp;
                t->cnt[3 * np + 1] = fp;
                t->cnt[3 * np + 2] = gt;
                np++;
            }
        }
        t->off[(size_t)s * (n + 1) + n] = np;
    }
    dg_boot_input in = {n, C, S, seed, t->off, t->cls, t->cnt};
    t->in = in;
}

static void table_free(table *t)
{
    free(t->off);
    free(t->cls);
    free(t->cnt);
}

/* The sums by brute force: how often each frame is drawn, times its counts. */
static uint64_t *brute_sums(const dg_boot_input *in, uint32_t b0, uint32_t nb)
{
    size_t row = (size_t)in->n_sets * in->n_classes * 3;
    uint64_t *s = calloc((size_t)nb * row + 1, 8);
    uint32_t *mult = calloc(in->n, 4);
    for (uint32_t bi = 0; bi < nb; bi++) {
        memset(mult, 0, (size_t)in->n * 4);
        for (uint32_t j = 0; j < in->n; j++)
            mult[dg__boot_draw(in->seed, (uint64_t)b0 + bi, j, in->n)]++;
        for (uint32_t st = 0; st < in->n_sets; st++) {
            const uint64_t *off = in->off + (size_t)st * (in->n + 1);
            for (uint32_t u = 0; u < in->n; u++)
                for (uint64_t q = off[u]; q < off[u + 1]; q++)
                    for (int k = 0; k < 3; k++)
                        s[(size_t)bi * row +
                          ((size_t)st * in->n_classes + in->cls[q]) * 3 + k] +=
                            (uint64_t)mult[u] * in->cnt[3 * q + k];
        }
    }
    free(mult);
    return s;
}

static void quantile_cases(void)
{
    double v[4] = {1, 2, 3, 4};
    CHECK_EQ_DBL(dg__quantile_sorted(v, 4, 0.5), 2.5);
    CHECK_EQ_DBL(dg__quantile_sorted(v, 4, 0.0), 1.0);
    CHECK_EQ_DBL(dg__quantile_sorted(v, 4, 1.0), 4.0);
    /* virtual index 3 * 0.25 = 0.75: 2 - 1 * 0.25 */
    CHECK_EQ_DBL(dg__quantile_sorted(v, 4, 0.25), 1.75);
    double one = 0.7;
    CHECK_EQ_DBL(dg__quantile_sorted(&one, 1, 0.025), 0.7);
    double w[3] = {0, 0, 10};
    /* virtual index 2 * 0.975 = 1.95: 10 - 10 * 0.05 */
    CHECK_NEAR(dg__quantile_sorted(w, 3, 0.975), 9.5, 1e-12);
}

static void engine_ref_cases(dg_ctx *ctx)
{
    for (int it = 0; it < 60; it++) {
        table t;
        uint32_t n = 1 + rnd_below(it < 10 ? 3 : 200);
        uint32_t C = 1 + rnd_below(9), S = 1 + rnd_below(2);
        table_make(&t, n, C, S, rnd(), it % 7 == 0 ? 2 : it % 11 == 0 ? 1 : 0);
        uint32_t b0 = rnd_below(3) ? 0 : rnd_below(1000), nb = 1 + rnd_below(40);
        size_t row = (size_t)S * C * 3;
        uint64_t *got = malloc((size_t)nb * row * 8);
        CHECK_EQ_INT(dg__bootstrap_sums_ref(ctx, &t.in, b0, nb, got), DG_OK);
        uint64_t *want = brute_sums(&t.in, b0, nb);
        CHECK(!memcmp(got, want, (size_t)nb * row * 8));
        free(got);
        free(want);
        table_free(&t);
    }
    /* The draws cover the frames roughly uniformly. */
    uint32_t hist[10] = {0};
    for (uint32_t j = 0; j < 100000; j++)
        hist[dg__boot_draw(42, 7, j, 10)]++;
    for (int u = 0; u < 10; u++)
        CHECK(hist[u] > 9500 && hist[u] < 10500);
}

/* ---- per-frame counts and bootstrap on a synthetic project --------------- */

typedef struct fc {
    uint32_t tp, fp, gt;
} fc;

/* Per (frame, class) counts recounted from the status row and the boxes. */
static fc *recount(dg_project *p, struct dg_results *r, uint32_t which,
                   double conf, int t)
{
    uint32_t C = p->n_classes;
    fc *o = calloc((size_t)p->n_frames * C, sizeof(fc));
    const dg_boxset *dt = &p->inf[which].boxes, *gt = &p->labels;
    const uint32_t *order;
    const uint8_t *row;
    CHECK_EQ_INT(dg__results_order(NULL, r, &order), DG_OK);
    CHECK_EQ_INT(dg__results_status_row(NULL, r, t, &row), DG_OK);
    for (uint64_t j = 0; j < r->n_det; j++) {
        uint32_t rec = order[j];
        if (!(dt->score[rec] >= conf) || row[j] == DG_IGN)
            continue;
        fc *x = &o[(size_t)dt->frame[rec] * C + dt->cls[rec]];
        if (row[j] == DG_TP)
            x->tp++;
        else
            x->fp++;
    }
    for (uint64_t i = 0; i < gt->n; i++)
        if (!gt->iscrowd[i] && !gt->ignore[i])
            o[(size_t)gt->frame[i] * C + gt->cls[i]].gt++;
    return o;
}

static dg_prf prf3(uint64_t tp, uint64_t fp, uint64_t gt)
{
    dg_counts c = {tp, fp, gt - tp, gt, tp + fp};
    return dg_counts_prf(&c);
}

static double pick(dg_prf m, int k)
{
    return k == 0 ? m.precision : k == 1 ? m.recall : m.f1;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * The micro-averaged interval of frames[0..n) recomputed here: per
 * resample, the multiplicity of each frame from dg__boot_draw, the pooled
 * counts, the figure; then the quantiles.
 */
static void brute_micro(const fc *cnt, uint32_t C, const uint32_t *frames,
                        uint32_t n, uint64_t seed, uint32_t B, double level,
                        dg_prf *lo, dg_prf *hi)
{
    double *v[3];
    uint32_t m[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
        v[k] = malloc((size_t)B * 8 + 8);
    for (uint32_t b = 0; b < B; b++) {
        uint64_t tp = 0, fp = 0, gt = 0;
        for (uint32_t j = 0; j < n; j++) {
            uint32_t f = frames[dg__boot_draw(seed, b, j, n)];
            for (uint32_t c = 0; c < C; c++) {
                tp += cnt[(size_t)f * C + c].tp;
                fp += cnt[(size_t)f * C + c].fp;
                gt += cnt[(size_t)f * C + c].gt;
            }
        }
        dg_prf x = prf3(tp, fp, gt);
        for (int k = 0; k < 3; k++)
            if (!isnan(pick(x, k)))
                v[k][m[k]++] = pick(x, k);
    }
    double ql = (1 - level) / 2, qh = (1 + level) / 2;
    double l[3], h[3];
    for (int k = 0; k < 3; k++) {
        qsort(v[k], m[k], 8, cmpd);
        l[k] = m[k] ? dg__quantile_sorted(v[k], m[k], ql) : NAN;
        h[k] = m[k] ? dg__quantile_sorted(v[k], m[k], qh) : NAN;
        free(v[k]);
    }
    *lo = (dg_prf){l[0], l[1], l[2]};
    *hi = (dg_prf){h[0], h[1], h[2]};
}

static void check_prf_eq(dg_prf a, dg_prf b)
{
    CHECK_EQ_DBL(a.precision, b.precision);
    CHECK_EQ_DBL(a.recall, b.recall);
    CHECK_EQ_DBL(a.f1, b.f1);
}

static dg_project *make_project(dg_ctx *ctx, uint64_t seed, uint32_t frames)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.seed = seed;
    o.n_frames = frames;
    o.n_classes = 6;
    o.n_inferences = 2;
    o.crowd_rate = 0.3;
    o.score_levels = 20;
    dg_project *p = NULL;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_OK);
    double iou[3] = {0.3, 0.5, 0.75};
    CHECK_EQ_INT(dg_eval(ctx, p, "model-a", iou, 3), DG_OK);
    CHECK_EQ_INT(dg_eval(ctx, p, "model-b", iou, 3), DG_OK);
    CHECK_EQ_INT(dg__project_load_labels(ctx, p), DG_OK);
    CHECK_EQ_INT(dg__project_load_inferences(ctx, p, 0), DG_OK);
    CHECK_EQ_INT(dg__project_load_inferences(ctx, p, 1), DG_OK);
    return p;
}

static void project_cases(dg_ctx *ctx)
{
    dg_ctx_set_device(ctx, "ref");
    for (int it = 0; it < 3; it++) {
        dg_project *p = make_project(ctx, 100 + it, 40 + 30 * it);
        dg_results *r = NULL;
        CHECK_EQ_INT(dg_results_load(ctx, p, "model-a", &r), DG_OK);
        uint32_t C = p->n_classes, F = p->n_frames;
        double conf = 0.1 + 0.2 * it;
        int t = it % 3;
        fc *want = recount(p, r, 0, conf, t);

        /* Per-frame counts, all classes and one class. */
        dg_frame_counts *pf = calloc(F, sizeof(*pf));
        CHECK_EQ_INT(dg_results_frame_counts(ctx, r, p, conf, t, -1, pf),
                     DG_OK);
        dg_counts *cc = calloc(C, sizeof(*cc));
        CHECK_EQ_INT(dg_results_counts(ctx, r, conf, t, cc), DG_OK);
        uint64_t tot_tp = 0, want_tp = 0;
        for (uint32_t f = 0; f < F; f++) {
            fc s = {0, 0, 0};
            for (uint32_t c = 0; c < C; c++) {
                s.tp += want[(size_t)f * C + c].tp;
                s.fp += want[(size_t)f * C + c].fp;
                s.gt += want[(size_t)f * C + c].gt;
            }
            CHECK_EQ_INT(pf[f].tp, s.tp);
            CHECK_EQ_INT(pf[f].fp, s.fp);
            CHECK_EQ_INT(pf[f].n_gt, s.gt);
            CHECK_EQ_INT(pf[f].fn, s.gt - s.tp);
            CHECK_EQ_INT(pf[f].n_det, s.tp + s.fp);
            tot_tp += pf[f].tp;
        }
        for (uint32_t c = 0; c < C; c++)
            want_tp += cc[c].tp;
        CHECK_EQ_INT(tot_tp, want_tp);
        CHECK_EQ_INT(dg_results_frame_counts(ctx, r, p, conf, t, 2, pf),
                     DG_OK);
        for (uint32_t f = 0; f < F; f++) {
            CHECK_EQ_INT(pf[f].tp, want[(size_t)f * C + 2].tp);
            CHECK_EQ_INT(pf[f].fp, want[(size_t)f * C + 2].fp);
            CHECK_EQ_INT(pf[f].n_gt, want[(size_t)f * C + 2].gt);
        }
        CHECK(dg_results_frame_counts(ctx, r, p, conf, t, C, pf) ==
              DG_EINVAL);
        CHECK(dg_results_frame_counts(ctx, r, p, conf, 7, -1, pf) ==
              DG_EINVAL);

        /* The bootstrap on every frame, then on a restriction. */
        dg_bootstrap_opts bo = {300, 77 + (uint64_t)it, 0.9};
        dg_prf_ci ov, *pc = calloc(C, sizeof(*pc));
        CHECK_EQ_INT(dg_results_bootstrap(ctx, r, p, conf, t, &bo, pc, &ov),
                     DG_OK);
        uint32_t *all = malloc(F * 4);
        for (uint32_t f = 0; f < F; f++)
            all[f] = f;
        dg_prf lo, hi;
        brute_micro(want, C, all, F, bo.seed, bo.resamples, bo.level, &lo,
                    &hi);
        check_prf_eq(ov.lo, lo);
        check_prf_eq(ov.hi, hi);
        dg_counts mic = {0, 0, 0, 0, 0};
        for (uint32_t c = 0; c < C; c++) {
            mic.tp += cc[c].tp;
            mic.fp += cc[c].fp;
            mic.fn += cc[c].fn;
            mic.n_gt += cc[c].n_gt;
            check_prf_eq(pc[c].point, dg_counts_prf(&cc[c]));
        }
        check_prf_eq(ov.point, dg_counts_prf(&mic));
        CHECK(ov.lo.f1 <= ov.point.f1 + 0.05 && ov.hi.f1 >= ov.point.f1 - 0.05);
        CHECK(ov.lo.f1 <= ov.hi.f1);

        /* A restriction: every third frame. */
        uint32_t ns = 0;
        for (uint32_t f = 0; f < F; f += 3)
            all[ns++] = f;
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, all, ns), DG_OK);
        CHECK_EQ_INT(dg_results_bootstrap(ctx, r, p, conf, t, &bo, NULL, &ov),
                     DG_OK);
        brute_micro(want, C, all, ns, bo.seed, bo.resamples, bo.level, &lo,
                    &hi);
        check_prf_eq(ov.lo, lo);
        check_prf_eq(ov.hi, hi);
        CHECK_EQ_INT(dg_results_frame_counts(ctx, r, p, conf, t, -1, pf),
                     DG_OK);
        for (uint32_t f = 1; f < F; f += 3)
            CHECK_EQ_INT(pf[f].tp + pf[f].fp + pf[f].n_gt, 0);

        /* One frame: every resample draws it, so the interval is the point. */
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, all + 1, 1), DG_OK);
        CHECK_EQ_INT(dg_results_bootstrap(ctx, r, p, conf, t, &bo, NULL, &ov),
                     DG_OK);
        check_prf_eq(ov.lo, ov.point);
        check_prf_eq(ov.hi, ov.point);

        /* No frames: NaN everywhere, no error. */
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, all, 0), DG_OK);
        CHECK_EQ_INT(dg_results_bootstrap(ctx, r, p, conf, t, &bo, pc, &ov),
                     DG_OK);
        CHECK(isnan(ov.point.f1) && isnan(ov.lo.f1) && isnan(ov.hi.recall));
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, NULL, 0), DG_OK);

        /* One resample: lo = hi = that resample's figure. */
        dg_bootstrap_opts one;
        dg_bootstrap_opts_init(&one);
        CHECK_EQ_INT(one.resamples, 1000);
        CHECK_EQ_INT(one.seed, 0);
        CHECK_EQ_DBL(one.level, 0.95);
        one.resamples = 1;
        one.seed = 5;
        CHECK_EQ_INT(dg_results_bootstrap(ctx, r, p, conf, t, &one, NULL, &ov),
                     DG_OK);
        for (uint32_t f = 0; f < F; f++)
            all[f] = f;
        brute_micro(want, C, all, F, 5, 1, 0.95, &lo, &hi);
        check_prf_eq(ov.lo, lo);
        check_prf_eq(ov.hi, lo);

        /* Paired with itself: every difference exactly 0. */
        dg_prf_paired_ci pov, *ppc = calloc(C, sizeof(*ppc));
        CHECK_EQ_INT(dg_results_bootstrap_paired(ctx, r, r, p, conf, t, conf,
                                                 t, &bo, ppc, &pov),
                     DG_OK);
        CHECK_EQ_DBL(pov.diff.lo.f1, 0.0);
        CHECK_EQ_DBL(pov.diff.hi.f1, 0.0);
        CHECK_EQ_DBL(pov.diff.point.precision, 0.0);
        for (uint32_t c = 0; c < C; c++)
            if (!isnan(ppc[c].a.point.recall))
                CHECK_EQ_DBL(ppc[c].diff.hi.recall, 0.0);
        /* Paired A, B: each side equals its own bootstrap (same draws). */
        dg_results *rb = NULL;
        CHECK_EQ_INT(dg_results_load(ctx, p, "model-b", &rb), DG_OK);
        CHECK_EQ_INT(dg_results_bootstrap_paired(ctx, r, rb, p, conf, t, 0.2,
                                                 1, &bo, ppc, &pov),
                     DG_OK);
        CHECK_EQ_INT(dg_results_bootstrap(ctx, rb, p, 0.2, 1, &bo, pc, &ov),
                     DG_OK);
        check_prf_eq(pov.b.lo, ov.lo);
        check_prf_eq(pov.b.hi, ov.hi);
        check_prf_eq(pov.b.point, ov.point);
        for (uint32_t c = 0; c < C; c++)
            check_prf_eq(ppc[c].b.hi, pc[c].hi);
        CHECK_EQ_DBL(pov.diff.point.f1, pov.b.point.f1 - pov.a.point.f1);
        CHECK(pov.diff.lo.f1 <= pov.diff.hi.f1);
        /* Different restrictions cannot be paired. */
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, rb, p, all, 3), DG_OK);
        CHECK(dg_results_bootstrap_paired(ctx, r, rb, p, conf, t, conf, t, &bo,
                                          NULL, &pov) == DG_EINVAL);
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, rb, p, NULL, 0), DG_OK);
        dg_bootstrap_opts bad = {10, 1, 1.5};
        CHECK(dg_results_bootstrap(ctx, r, p, conf, t, &bad, NULL, &ov) ==
              DG_EINVAL);

        dg_results_free(rb);
        free(ppc);
        free(all);
        free(pc);
        free(cc);
        free(pf);
        free(want);
        dg_results_free(r);
        dg_project_free(p);
    }
}

/* ---- the device ----------------------------------------------------------- */

static void device_cases(dg_ctx *ctx)
{
    for (int it = 0; it < 80; it++) {
        table t;
        int mode = it < 60 ? 0 : 1 + it % 3;
        uint32_t n = it % 10 == 0 ? 1 : 1 + rnd_below(it < 40 ? 50 : 2000);
        uint32_t C = 1 + rnd_below(it % 5 == 0 ? 90 : 8), S = 1 + (it & 1);
        table_make(&t, n, C, S, rnd(), mode);
        uint32_t b0 = it % 4 ? 0 : rnd_below(5000);
        uint32_t nb = it % 9 == 0 ? 1 : 1 + rnd_below(300);
        size_t bytes = (size_t)nb * S * C * 3 * 8;
        uint64_t *a = malloc(bytes), *b = malloc(bytes);
        memset(b, 0xa5, bytes);
        CHECK_EQ_INT(dg__bootstrap_sums_ref(ctx, &t.in, b0, nb, a), DG_OK);
        dg_status st = dg__cl_bootstrap_sums(ctx, &t.in, b0, nb, b);
        CHECK_EQ_INT(st, DG_OK);
        if (st != DG_OK)
            fprintf(stderr, "%s\n", dg_ctx_last_error(ctx));
        if (memcmp(a, b, bytes)) {
            check_failures++;
            fprintf(stderr, "device and reference sums differ (iteration %d, "
                            "n %u, C %u, S %u, b0 %u, nb %u)\n",
                    it, n, C, S, b0, nb);
        }
        free(a);
        free(b);
        table_free(&t);
    }
    /* Whole bootstraps, device against reference: identical bytes. */
    dg_project *p = make_project(ctx, 9, 150);
    dg_results *r = NULL, *rb = NULL;
    CHECK_EQ_INT(dg_results_load(ctx, p, "model-a", &r), DG_OK);
    CHECK_EQ_INT(dg_results_load(ctx, p, "model-b", &rb), DG_OK);
    uint32_t C = p->n_classes;
    dg_prf_paired_ci *x = calloc(C + 1, sizeof(*x)), *y = calloc(C + 1,
                                                                 sizeof(*y));
    dg_bootstrap_opts bo = {2000, 1234, 0.95};
    dg_ctx_take_warnings(ctx);
    dg_ctx_take_warnings(ctx);
    const char *dev = getenv("DETGRID_DEVICE");
    dg_ctx_set_device(ctx, dev && strncmp(dev, "ref", 3) ? dev : "auto");
    if (dg__ctx_device_kind(ctx) == DG_DEVICE_AUTO)
        dg_ctx_set_device(ctx, dg__cl_have_gpu(ctx) ? "gpu" : "cpu");
    CHECK_EQ_INT(dg_results_bootstrap_paired(ctx, r, rb, p, 0.3, 1, 0.4, 2,
                                             &bo, x, x + C),
                 DG_OK);
    {
        /* No fallback to the reference. */
        const char *w = dg_ctx_take_warnings(ctx);
        CHECK(!w || !strstr(w, "bootstrap"));
        if (w && strstr(w, "bootstrap"))
            fprintf(stderr, "%s\n", w);
    }
    dg_ctx_set_device(ctx, "ref");
    CHECK_EQ_INT(dg_results_bootstrap_paired(ctx, r, rb, p, 0.3, 1, 0.4, 2,
                                             &bo, y, y + C),
                 DG_OK);
    CHECK(!memcmp(x, y, (C + 1) * sizeof(*x)));
    free(x);
    free(y);
    dg_results_free(r);
    dg_results_free(rb);
    dg_project_free(p);
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    rng_state = 2024;
    quantile_cases();
    engine_ref_cases(ctx);
    project_cases(ctx);
    int rc = device_open(ctx, "bootstrap device checks: ");
    if (rc == 0)
        device_cases(ctx);
    dg_ctx_free(ctx);
    int fail = check_done("test-bootstrap");
    if (fail)
        return 1;
    return rc == 77 ? 77 : rc;
}
