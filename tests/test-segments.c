/*
 * Segments: the C API (add, edit, targets, metadata, rename, delete), the
 * save / reopen round trip of /segments, metadata queries, and restricted
 * queries (counts, sweep, confusion matrix) against a brute-force recount
 * from the loaded boxes, on many random projects and random segments.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "detgrid/detgrid.h"
#include "store_impl.h"

static uint64_t rs = 88172645463325252ULL;
static uint64_t rnd64(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static char tmpdir[256];

static dg_project *synth(dg_ctx *ctx, uint64_t seed, uint32_t frames)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.seed = seed;
    o.n_frames = frames;
    o.n_classes = 3 + (uint32_t)(seed % 4);
    o.n_inferences = 2;
    o.crowd_rate = 0.3;
    o.score_levels = seed % 2 ? 10 : 0; /* ties in half the runs */
    dg_project *p = NULL;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_OK);
    return p;
}

/* ---- API and round trip ---------------------------------------------------- */

static void api_cases(dg_ctx *ctx)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/api.h5", tmpdir);
    dg_project *p = synth(ctx, 7, 30);
    CHECK_EQ_INT(dg_project_n_segments(p), 1);
    CHECK(!strcmp(dg_project_segment_name(p, 0), DG_SEGMENT_ALL));
    CHECK_EQ_INT(dg_project_segment_index(p, "all"), 0);
    CHECK_EQ_INT(dg_project_segment_index(p, "nope"), -1);
    const uint32_t *f;
    uint32_t n;
    CHECK_EQ_INT(dg_project_segment_frames(ctx, p, 0, &f, &n), DG_OK);
    CHECK_EQ_INT(n, 30);
    CHECK_EQ_INT(f[29], 29);

    uint32_t a[] = {9, 3, 3, 7, 0, 9};
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "night", DG_SEGMENT_REGRESSION,
                                        a, 6),
                 DG_OK);
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "night", DG_SEGMENT_SPLIT, a,
                                        1),
                 DG_EEXIST);
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "all", DG_SEGMENT_SPLIT, a, 1),
                 DG_EINVAL);
    uint32_t bad[] = {30};
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "x", DG_SEGMENT_SPLIT, bad, 1),
                 DG_EINVAL);
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "empty", DG_SEGMENT_SCENARIO,
                                        NULL, 0),
                 DG_OK);
    CHECK_EQ_INT(dg_project_n_segments(p), 3);
    CHECK_EQ_INT(dg_project_segment_frames(ctx, p, 1, &f, &n), DG_OK);
    CHECK_EQ_INT(n, 4); /* 0 3 7 9 */
    CHECK(n == 4 && f[0] == 0 && f[1] == 3 && f[2] == 7 && f[3] == 9);

    uint32_t more[] = {5, 3, 29};
    CHECK_EQ_INT(dg_project_segment_edit_frames(ctx, p, 1, more, 3, 0), DG_OK);
    uint32_t less[] = {0, 7, 11};
    CHECK_EQ_INT(dg_project_segment_edit_frames(ctx, p, 1, less, 3, 1), DG_OK);
    CHECK_EQ_INT(dg_project_segment_frames(ctx, p, 1, &f, &n), DG_OK);
    CHECK(n == 4 && f[0] == 3 && f[1] == 5 && f[2] == 9 && f[3] == 29);
    CHECK_EQ_INT(dg_project_segment_edit_frames(ctx, p, 0, more, 3, 0),
                 DG_EINVAL);

    dg_segment_targets t = {0.5, 0.25, NAN, NAN, 0.3, NAN};
    CHECK_EQ_INT(dg_project_set_segment_targets(ctx, p, 1, &t), DG_OK);
    dg_segment_targets tb = {1.5, NAN, NAN, NAN, NAN, NAN};
    CHECK_EQ_INT(dg_project_set_segment_targets(ctx, p, 1, &tb), DG_EINVAL);
    CHECK_EQ_INT(dg_project_set_segment_targets(ctx, p, 0, &t), DG_EINVAL);
    CHECK_EQ_INT(dg_project_set_segment_meta(ctx, p, 1, "owner", "qa"), DG_OK);
    CHECK_EQ_INT(dg_project_set_segment_meta(ctx, p, 1, "ticket", "7"), DG_OK);
    CHECK_EQ_INT(dg_project_set_segment_meta(ctx, p, 1, "owner", "perception"),
                 DG_OK);
    CHECK_EQ_INT(dg_project_add_segment(ctx, p, "tmp", DG_SEGMENT_SPLIT, a, 2),
                 DG_OK);
    CHECK_EQ_INT(dg_project_rename_segment(ctx, p, 3, "night"), DG_EEXIST);
    CHECK_EQ_INT(dg_project_rename_segment(ctx, p, 3, "train"), DG_OK);
    CHECK_EQ_INT(dg_project_delete_segment(ctx, p, 2), DG_OK); /* "empty" */
    CHECK_EQ_INT(dg_project_delete_segment(ctx, p, 0), DG_EINVAL);
    CHECK_EQ_INT(dg_project_set_segment_kind(ctx, p, 2, DG_SEGMENT_SCENARIO),
                 DG_OK);

    CHECK_EQ_INT(dg_project_save(ctx, p, path), DG_OK);
    dg_project_free(p);
    /* Reopen, save again untouched (copied), reopen: same segments. */
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_INT(dg_project_open(ctx, path, &p), DG_OK);
        if (!p)
            return;
        CHECK_EQ_INT(dg_project_n_segments(p), 3);
        CHECK(!strcmp(dg_project_segment_name(p, 1), "night"));
        CHECK(!strcmp(dg_project_segment_name(p, 2), "train"));
        CHECK_EQ_INT(dg_project_segment_kind(p, 1), DG_SEGMENT_REGRESSION);
        CHECK_EQ_INT(dg_project_segment_kind(p, 2), DG_SEGMENT_SCENARIO);
        dg_segment_targets r;
        dg_project_segment_targets(p, 1, &r);
        CHECK_EQ_DBL(r.precision, 0.5);
        CHECK_EQ_DBL(r.recall, 0.25);
        CHECK(isnan(r.f1) && isnan(r.ap) && isnan(r.iou));
        CHECK_EQ_DBL(r.conf, 0.3);
        CHECK_EQ_INT(dg_project_segment_n_meta(p, 1), 2);
        CHECK(!strcmp(dg_project_segment_meta_key(p, 1, 0), "owner"));
        CHECK(!strcmp(dg_project_segment_meta_value(p, 1, 0), "perception"));
        CHECK(!strcmp(dg_project_segment_meta_value(p, 1, 1), "7"));
        CHECK_EQ_INT(dg_project_segment_n_meta(p, 2), 0);
        CHECK_EQ_INT(dg_project_segment_frames(ctx, p, 1, &f, &n), DG_OK);
        CHECK(n == 4 && f[0] == 3 && f[1] == 5 && f[2] == 9 && f[3] == 29);
        CHECK_EQ_INT(dg_project_segment_frames(ctx, p, 2, &f, &n), DG_OK);
        CHECK(n == 2 && f[0] == 3 && f[1] == 9);
        if (round == 0)
            CHECK_EQ_INT(dg_project_save(ctx, p, path), DG_OK);
        dg_project_free(p);
    }
    unlink(path);
}

/* ---- metadata queries ------------------------------------------------------- */

static void where_cases(dg_ctx *ctx)
{
    dg_project *p = synth(ctx, 3, 6);
    /* Two columns by hand: a string and a number (one missing). */
    p->meta = calloc(2, sizeof(*p->meta));
    p->n_meta = 2;
    p->meta[0].name = strdup("weather");
    p->meta[0].str = calloc(6, sizeof(char *));
    const char *w[6] = {"rain", "sun", "rain", "", "fog", "rain"};
    for (int i = 0; i < 6; i++)
        p->meta[0].str[i] = strdup(w[i]);
    p->meta[1].name = strdup("speed");
    p->meta[1].is_num = 1;
    p->meta[1].num = malloc(6 * sizeof(double));
    double s[6] = {5, 30, 12.5, NAN, 20, 10};
    memcpy(p->meta[1].num, s, sizeof(s));
    struct {
        const char *expr;
        int n;
        uint32_t f[6];
    } cases[] = {
        {"weather=rain", 3, {0, 2, 5}},
        {"weather != rain", 3, {1, 3, 4}},
        {"speed>=20", 2, {1, 4}},
        {"speed<10", 1, {0}},
        {"10<=speed<20", 2, {2, 5}},
        {"10<speed<=20", 2, {2, 4}},
        {"speed=12.5", 1, {2}},
        {"speed!=5", 4, {1, 2, 4, 5}},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint32_t *out = NULL, n = 0;
        CHECK_EQ_INT(dg_project_frames_where(ctx, p, cases[k].expr, &out, &n),
                     DG_OK);
        CHECK_EQ_INT(n, cases[k].n);
        for (int i = 0; i < cases[k].n && (int)n == cases[k].n; i++)
            CHECK_EQ_INT(out[i], cases[k].f[i]);
        free(out);
    }
    uint32_t *out = NULL, n;
    CHECK_EQ_INT(dg_project_frames_where(ctx, p, "colour=red", &out, &n),
                 DG_ENOTFOUND);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "colour");
    CHECK_EQ_INT(dg_project_frames_where(ctx, p, "weather>rain", &out, &n),
                 DG_EINVAL);
    CHECK_EQ_INT(dg_project_frames_where(ctx, p, "speed=fast", &out, &n),
                 DG_EINVAL);
    CHECK_EQ_INT(dg_project_frames_where(ctx, p, "speed", &out, &n),
                 DG_EINVAL);
    dg_project_free(p);
}

/* ---- restricted queries against a brute-force recount ------------------------ */

static void recount(dg_project *p, uint32_t which, dg_results *r,
                    const uint8_t *keep, double conf, int t, dg_counts *want,
                    uint64_t *cm)
{
    const dg_boxset *gt = &p->labels, *dt = &p->inf[which].boxes;
    uint32_t K = p->n_classes;
    size_t w = (size_t)K + 1;
    memset(want, 0, K * sizeof(*want));
    memset(cm, 0, w * w * sizeof(*cm));
    for (uint64_t m = 0; m < gt->n; m++)
        if (keep[gt->frame[m]] && !gt->iscrowd[m] && !gt->ignore[m])
            want[gt->cls[m]].n_gt++;
    const uint8_t *row = r->status + (size_t)t * r->n_det;
    const int32_t *agn = r->agnostic + (size_t)t * r->n_det;
    uint64_t *taken = calloc(K, 8);
    for (uint64_t j = 0; j < r->n_det; j++) {
        uint32_t d = r->order[j];
        if (!keep[dt->frame[d]] || !(dt->score[d] >= conf))
            continue;
        dg_counts *c = &want[dt->cls[d]];
        if (row[j] == DG_TP)
            c->tp++;
        else if (row[j] == DG_FP)
            c->fp++;
        if (row[j] != DG_IGN)
            c->n_det++;
        if (agn[j] >= 0) {
            cm[(size_t)gt->cls[agn[j]] * w + dt->cls[d]]++;
            taken[gt->cls[agn[j]]]++;
        } else if (agn[j] == DG_AGN_BACKGROUND) {
            cm[(size_t)K * w + dt->cls[d]]++;
        }
    }
    for (uint32_t c = 0; c < K; c++) {
        want[c].fn = want[c].n_gt - want[c].tp;
        cm[(size_t)c * w + K] = want[c].n_gt - taken[c];
    }
    free(taken);
}

static void restrict_random(dg_ctx *ctx, uint64_t seed)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/r%llu.h5", tmpdir,
             (unsigned long long)seed);
    dg_project *p = synth(ctx, seed, 20 + (uint32_t)(seed % 50));
    double iou[3] = {0.3, 0.5, 0.75};
    for (uint32_t i = 0; i < p->n_inf; i++)
        CHECK_EQ_INT(dg_eval(ctx, p, p->inf[i].name, iou, 3), DG_OK);
    /* Random segments: density from empty to every frame. */
    uint32_t nf = p->n_frames;
    uint32_t *fr = malloc(nf * 2 * sizeof(uint32_t));
    for (int s = 0; s < 4; s++) {
        uint32_t n = 0, dens = (uint32_t)(rnd64() % 101);
        for (uint32_t f = 0; f < nf; f++)
            if (rnd64() % 100 < dens)
                fr[n++] = f;
        if (n && s == 3)
            fr[n++] = fr[0]; /* a duplicate */
        char name[32];
        snprintf(name, sizeof(name), "seg%d", s);
        CHECK_EQ_INT(dg_project_add_segment(ctx, p, name,
                                            (dg_segment_kind)(s % 3), fr, n),
                     DG_OK);
    }
    CHECK_EQ_INT(dg_project_save(ctx, p, path), DG_OK);
    dg_project_free(p);
    CHECK_EQ_INT(dg_project_open(ctx, path, &p), DG_OK);
    /* Restriction first, from the file (lazy results, labels not loaded). */
    uint32_t K = p->n_classes;
    size_t w = (size_t)K + 1;
    dg_counts *got = calloc(K, sizeof(*got)), *want = calloc(K, sizeof(*want));
    uint64_t *cm = calloc(w * w, 8), *cw = calloc(w * w, 8);
    uint8_t *keep = calloc(nf, 1);
    for (uint32_t which = 0; which < p->n_inf; which++) {
        dg_results *r;
        CHECK_EQ_INT(dg_results_load(ctx, p, p->inf[which].name, &r), DG_OK);
        for (uint32_t s = 0; s < dg_project_n_segments(p); s++) {
            CHECK_EQ_INT(dg_results_restrict_segment(
                             ctx, r, p, dg_project_segment_name(p, s)),
                         DG_OK);
            const uint32_t *f;
            uint32_t n;
            CHECK_EQ_INT(dg_project_segment_frames(ctx, p, s, &f, &n), DG_OK);
            memset(keep, 0, nf);
            for (uint32_t k = 0; k < n; k++)
                keep[f[k]] = 1;
            /* Load everything for the recount (after the restriction). */
            CHECK_EQ_INT(dg__project_load_labels(ctx, p), DG_OK);
            CHECK_EQ_INT(dg__project_load_inferences(ctx, p, which), DG_OK);
            const uint32_t *order;
            CHECK_EQ_INT(dg__results_order(ctx, r, &order), DG_OK);
            CHECK_EQ_INT(dg__results_load_agnostic(ctx, r), DG_OK);
            for (int t = 0; t < 3; t++) {
                const uint8_t *row;
                CHECK_EQ_INT(dg__results_status_row(ctx, r, t, &row), DG_OK);
                double confs[4] = {0, 0.3, (double)(rnd64() % 1000) / 1000,
                                   1.1};
                for (int c = 0; c < 4; c++) {
                    recount(p, which, r, keep, confs[c], t, want, cw);
                    CHECK_EQ_INT(dg_results_counts(ctx, r, confs[c], t, got),
                                 DG_OK);
                    for (uint32_t k = 0; k < K; k++) {
                        CHECK_EQ_INT(got[k].tp, want[k].tp);
                        CHECK_EQ_INT(got[k].fp, want[k].fp);
                        CHECK_EQ_INT(got[k].fn, want[k].fn);
                        CHECK_EQ_INT(got[k].n_gt, want[k].n_gt);
                        CHECK_EQ_INT(got[k].n_det, want[k].n_det);
                    }
                    CHECK_EQ_INT(dg_confusion_matrix(ctx, r, confs[c], t, cm,
                                                     NULL),
                                 DG_OK);
                    CHECK(!memcmp(cm, cw, w * w * 8));
                }
                /* Sweep: every point equals counts at its confidence, and
                 * the points are the kept detections' distinct scores. */
                for (uint32_t k = 0; k < K; k++) {
                    dg_sweep_point *pts;
                    uint64_t np;
                    CHECK_EQ_INT(dg_results_sweep(ctx, r, k, t, &pts, &np),
                                 DG_OK);
                    uint64_t distinct = 0;
                    double last = NAN;
                    for (uint64_t j = r->class_off[k]; j < r->class_off[k + 1];
                         j++)
                        if (keep[p->inf[which].boxes.frame[r->order[j]]] &&
                            r->score[j] != last) {
                            distinct++;
                            last = r->score[j];
                        }
                    CHECK_EQ_INT(np, distinct);
                    for (uint64_t q = 0; q < np; q++) {
                        recount(p, which, r, keep, pts[q].conf, t, want, cw);
                        CHECK_EQ_INT(pts[q].tp, want[k].tp);
                        CHECK_EQ_INT(pts[q].fp, want[k].fp);
                        CHECK_EQ_INT(pts[q].fn, want[k].fn);
                    }
                    free(pts);
                }
            }
        }
        /* Every segment in one pass equals the per-segment recounts. */
        uint32_t nseg = dg_project_n_segments(p);
        dg_counts *ps = calloc(nseg, sizeof(*ps));
        for (int t = 0; t < 3; t++) {
            double cf = (double)(rnd64() % 1000) / 1000;
            CHECK_EQ_INT(dg_results_segment_counts(ctx, r, p, cf, t, ps), DG_OK);
            for (uint32_t s = 0; s < nseg; s++) {
                const uint32_t *f;
                uint32_t n;
                CHECK_EQ_INT(dg_project_segment_frames(ctx, p, s, &f, &n),
                             DG_OK);
                memset(keep, 0, nf);
                for (uint32_t k = 0; k < n; k++)
                    keep[f[k]] = 1;
                recount(p, which, r, keep, cf, t, want, cw);
                dg_counts sum = {0, 0, 0, 0, 0};
                for (uint32_t k = 0; k < K; k++) {
                    sum.tp += want[k].tp;
                    sum.fp += want[k].fp;
                    sum.fn += want[k].fn;
                    sum.n_gt += want[k].n_gt;
                    sum.n_det += want[k].n_det;
                }
                CHECK_EQ_INT(ps[s].tp, sum.tp);
                CHECK_EQ_INT(ps[s].fp, sum.fp);
                CHECK_EQ_INT(ps[s].fn, sum.fn);
                CHECK_EQ_INT(ps[s].n_gt, sum.n_gt);
                CHECK_EQ_INT(ps[s].n_det, sum.n_det);
            }
        }
        free(ps);
        /* Lifting the restriction gives the unrestricted counts. */
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, NULL, 0), DG_OK);
        memset(keep, 1, nf);
        recount(p, which, r, keep, 0.2, 1, want, cw);
        CHECK_EQ_INT(dg_results_counts(ctx, r, 0.2, 1, got), DG_OK);
        for (uint32_t k = 0; k < K; k++) {
            CHECK_EQ_INT(got[k].tp, want[k].tp);
            CHECK_EQ_INT(got[k].n_gt, want[k].n_gt);
        }
        uint32_t badf = nf;
        CHECK_EQ_INT(dg_results_restrict_frames(ctx, r, p, &badf, 1),
                     DG_EINVAL);
        CHECK_EQ_INT(dg_results_restrict_segment(ctx, r, p, "missing"),
                     DG_ENOTFOUND);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "missing");
        dg_results_free(r);
    }
    free(got);
    free(want);
    free(cm);
    free(cw);
    free(keep);
    free(fr);
    dg_project_free(p);
    unlink(path);
}

/* AP by hand: one class, four ground truths, detections TP FP TP FP at
 * scores 0.9 .. 0.6, and a class without ground truth. Points (recall,
 * precision): (1/4, 1), (1/4, 1/2), (2/4, 2/3), (2/4, 1/2); the envelope
 * gives 1/4 * 1 + 1/4 * 2/3 = 5/12. */
static void ap_by_hand(dg_ctx *ctx)
{
    struct dg_results *r = dg__results_new(ctx);
    r->n_iou = 1;
    r->iou[0] = 0.5;
    r->n_classes = 2;
    r->n_det = 5;
    r->class_off = malloc(3 * sizeof(uint64_t));
    r->class_off[0] = 0;
    r->class_off[1] = 4;
    r->class_off[2] = 5;
    r->score = malloc(5 * sizeof(double));
    double sc[5] = {0.9, 0.8, 0.7, 0.6, 0.5};
    memcpy(r->score, sc, sizeof(sc));
    r->status = malloc(5);
    uint8_t st[5] = {DG_TP, DG_FP, DG_TP, DG_FP, DG_FP};
    memcpy(r->status, st, 5);
    r->gt_count = malloc(2 * sizeof(uint64_t));
    r->gt_count[0] = 4;
    r->gt_count[1] = 0;
    double per[2], mean;
    CHECK_EQ_INT(dg_results_ap(ctx, r, 0, per, &mean), DG_OK);
    CHECK_NEAR(per[0], 5.0 / 12, 1e-15);
    CHECK(isnan(per[1]));
    CHECK_NEAR(mean, 5.0 / 12, 1e-15);
    CHECK_EQ_INT(dg_results_ap(ctx, r, 1, per, &mean), DG_EINVAL);
    dg__results_destroy(r);
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0)
        return 1;
    dg_ctx_set_device(ctx, "ref");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dg-test-segments-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    api_cases(ctx);
    where_cases(ctx);
    ap_by_hand(ctx);
    for (uint64_t seed = 1; seed <= 24; seed++)
        restrict_random(ctx, seed);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: cannot remove %s\n", tmpdir);
    dg_ctx_free(ctx);
    return check_done("test-segments");
}
