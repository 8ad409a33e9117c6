/*
 * Label errors and the TIDE taxonomy on a hand-checked frame, the planted
 * record of the synthetic generator, and argument checks. The comparison
 * with tidecv itself is tests/test_taxonomy.py.
 *
 * The frame (classes a, b, c; boxes 10 x 10 at y = 0, x as given):
 *   labels  L0 a x=0, L1 a x=100, L2 a x=200, L3 b x=300, L4 a x=400
 *   dets    D0 a x=0 0.9     true positive on L0
 *           D1 b x=100 0.8   wrong class on L1 (IoU 1)
 *           D2 a x=204 0.7   a bad box of L2 (IoU 60 / 140 = 3 / 7)
 *           D3 c x=500 0.95  on nothing: a missing label
 *           D4 c x=501 0.6   its duplicate (IoU 90 / 110)
 *           D5 a x=400 0.2   a low-confidence agreement with L4
 *   L3 has nothing near it: spurious.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store.h"
#include "detgrid/detgrid.h"

static dg_project *fixture(dg_ctx *ctx)
{
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, p, "a", 1), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, p, "b", 2), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, p, "c", 3), DG_OK);
    CHECK_EQ_INT(dg__project_add_frame(ctx, p, "f0", 1, 640, 480), DG_OK);
    dg_boxset gb, db, *g = &gb, *d = &db;
    dg__boxset_init(g);
    dg__boxset_init(d);
    static const double lx[5] = {0, 100, 200, 300, 400};
    static const uint32_t lc[5] = {0, 0, 0, 1, 0};
    CHECK_EQ_INT(dg__boxset_reserve(ctx, g, DG_BOXES_LABELS, 5), DG_OK);
    for (int i = 0; i < 5; i++)
        dg__boxset_push(g, 0, lc[i], lx[i], 0, 10, 10, 0, 100, 0, 0);
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, g, 1), DG_OK);
    dg__project_take_labels(p, g);
    dg__boxset_release(g);
    uint32_t k;
    CHECK_EQ_INT(dg__project_add_inferences(ctx, p, "m", &k), DG_OK);
    static const double dx[6] = {0, 100, 204, 500, 501, 400};
    static const uint32_t dc[6] = {0, 1, 0, 2, 2, 0};
    static const double ds[6] = {0.9, 0.8, 0.7, 0.95, 0.6, 0.2};
    CHECK_EQ_INT(dg__boxset_reserve(ctx, d, DG_BOXES_DETS, 6), DG_OK);
    for (int i = 0; i < 6; i++)
        dg__boxset_push(d, 0, dc[i], dx[i], 0, 10, 10, ds[i], 0, 0, 0);
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, d, 1), DG_OK);
    dg__project_take_inferences(p, k, d);
    dg__boxset_release(d);
    return p;
}

static void test_label_errors(dg_ctx *ctx, dg_project *p)
{
    dg_label_errors_result le;
    CHECK_EQ_INT(dg_label_errors_evaluate(ctx, p, "m", NULL, &le), DG_OK);
    CHECK_EQ_DBL(le.iou, 0.5);
    CHECK_EQ_DBL(le.bg_iou, 0.1);
    CHECK_EQ_INT(le.tp, 2);
    CHECK_EQ_INT(le.fp, 4);
    CHECK_EQ_INT(le.fn, 3);

    CHECK_EQ_INT(le.n[DG_LE_MISSING], 1);
    if (le.n[DG_LE_MISSING]) {
        const dg_label_error *e = &le.list[DG_LE_MISSING][0];
        CHECK_EQ_INT(e->det, 3);
        CHECK_EQ_INT(e->label, -1);
        CHECK_EQ_DBL(e->score, 0.95);
        CHECK_EQ_DBL(e->iou, 0);
        CHECK_EQ_DBL(e->aux, 2); /* D4 folded into it */
    }
    CHECK_EQ_INT(le.n[DG_LE_WRONG_CLASS], 1);
    if (le.n[DG_LE_WRONG_CLASS]) {
        const dg_label_error *e = &le.list[DG_LE_WRONG_CLASS][0];
        CHECK_EQ_INT(e->label, 1);
        CHECK_EQ_INT(e->det, 1);
        CHECK_EQ_INT(e->label_cls, 0);
        CHECK_EQ_INT(e->det_cls, 1);
        CHECK_EQ_DBL(e->score, 0.8);
        CHECK_EQ_DBL(e->iou, 1);
    }
    CHECK_EQ_INT(le.n[DG_LE_BAD_BOX], 1);
    if (le.n[DG_LE_BAD_BOX]) {
        const dg_label_error *e = &le.list[DG_LE_BAD_BOX][0];
        CHECK_EQ_INT(e->label, 2);
        CHECK_EQ_INT(e->det, 2);
        CHECK_EQ_DBL(e->score, 0.7);
        CHECK_NEAR(e->iou, 3.0 / 7, 1e-15);
        CHECK_EQ_DBL(e->label_box[0], 200);
        CHECK_EQ_DBL(e->det_box[0], 204);
    }
    CHECK_EQ_INT(le.n[DG_LE_SPURIOUS], 1);
    if (le.n[DG_LE_SPURIOUS]) {
        const dg_label_error *e = &le.list[DG_LE_SPURIOUS][0];
        CHECK_EQ_INT(e->label, 3);
        CHECK_EQ_INT(e->det, -1);
        CHECK(isnan(e->conf));
        /* class b, small: 0 of 1 found, Laplace (0 + 1) / (1 + 2) */
        CHECK_EQ_DBL(e->aux, 1.0 / 3);
        CHECK_EQ_DBL(e->score, 1.0 / 3);
    }
    CHECK_EQ_INT(le.n[DG_LE_LOW_CONF_AGREEMENT], 2);
    if (le.n[DG_LE_LOW_CONF_AGREEMENT] == 2) {
        CHECK_EQ_INT(le.list[DG_LE_LOW_CONF_AGREEMENT][0].label, 4);
        CHECK_EQ_DBL(le.list[DG_LE_LOW_CONF_AGREEMENT][0].score, 0.8);
        CHECK_EQ_INT(le.list[DG_LE_LOW_CONF_AGREEMENT][1].label, 0);
    }
    char buf[256];
    dg_label_error_describe(p, &le.list[DG_LE_WRONG_CLASS][0], buf,
                            sizeof(buf));
    CHECK_STR_CONTAINS(buf, "detection 'b' 0.800 covers label 'a'");
    dg_label_errors_result_release(&le);
    CHECK(le.list[0] == NULL);

    /* limit, kinds, conf */
    dg_label_errors_opts o;
    dg_label_errors_opts_init(&o);
    CHECK_EQ_DBL(o.iou, 0); /* the project's */
    CHECK_EQ_DBL(o.bg_iou, 0.1);
    CHECK_EQ_DBL(o.conf, 0);
    CHECK_EQ_INT(o.limit, 0);
    CHECK_EQ_INT(o.kinds, 0);
    o.limit = 1;
    o.kinds = 1u << DG_LE_LOW_CONF_AGREEMENT;
    o.conf = 0.5; /* D5 is left out: L4 is now unmatched */
    CHECK_EQ_INT(dg_label_errors_evaluate(ctx, p, "m", &o, &le), DG_OK);
    CHECK_EQ_INT(le.n_candidates[DG_LE_LOW_CONF_AGREEMENT], 1);
    CHECK_EQ_INT(le.n_candidates[DG_LE_MISSING], 0);
    CHECK_EQ_INT(le.n[DG_LE_LOW_CONF_AGREEMENT], 1);
    CHECK_EQ_INT(le.fn, 4);
    dg_label_errors_result_release(&le);

    dg_label_errors_opts_init(&o);
    o.bg_iou = 0.5;
    CHECK_EQ_INT(dg_label_errors_evaluate(ctx, p, "m", &o, &le), DG_EINVAL);
    CHECK_EQ_INT(dg_label_errors_evaluate(ctx, p, "nope", NULL, &le),
                 DG_ENOTFOUND);
    CHECK_EQ_INT(dg_label_error_kind_parse("bad-box"), DG_LE_BAD_BOX);
    CHECK_EQ_INT(dg_label_error_kind_parse("bad"), -1);
    CHECK(!strcmp(dg_label_error_kind_name(DG_LE_LOW_CONF_AGREEMENT),
                  "low-conf-agreement"));
}

/* tidecv's AP of a curve given as (recall, smoothed precision) steps. */
static double bars(const double *rec, const double *prec, int n)
{
    double s = 0;
    int idx = 0;
    for (int k = 0; k <= 100; k++) {
        while (idx < n && rec[idx] < k / 100.0)
            idx++;
        s += idx < n ? prec[idx] : 0.0;
    }
    return s / 101.0 * 100.0;
}

static void test_tide(dg_ctx *ctx, dg_project *p)
{
    dg_tide_result r;
    CHECK_EQ_INT(dg_tide_evaluate(ctx, p, "m", NULL, &r), DG_OK);
    CHECK_EQ_INT(r.tp, 2);
    CHECK_EQ_INT(r.fp, 4);
    CHECK_EQ_INT(r.ignored, 0);
    CHECK_EQ_INT(r.fn, 3);
    CHECK_EQ_INT(r.fn_fixable, 2); /* L1 by D1's Cls, L2 by D2's Loc */
    CHECK_EQ_INT(r.total[DG_TIDE_CLS], 1);
    CHECK_EQ_INT(r.total[DG_TIDE_LOC], 1);
    CHECK_EQ_INT(r.total[DG_TIDE_BOTH], 0);
    CHECK_EQ_INT(r.total[DG_TIDE_DUPE], 0);
    CHECK_EQ_INT(r.total[DG_TIDE_BKG], 2);
    CHECK_EQ_INT(r.total[DG_TIDE_MISS], 1);
    CHECK_EQ_INT(r.count[1 * DG_TIDE_N + DG_TIDE_CLS], 1); /* D1 is a 'b' */
    CHECK_EQ_INT(r.count[2 * DG_TIDE_N + DG_TIDE_BKG], 2);
    CHECK_EQ_INT(r.count[1 * DG_TIDE_N + DG_TIDE_MISS], 1);
    static const int8_t want[6] = {-1, DG_TIDE_CLS, DG_TIDE_LOC, DG_TIDE_BKG,
                                   DG_TIDE_BKG, -1};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(r.det_type[i], want[i]);
    CHECK_EQ_INT(r.label_type[3], DG_TIDE_MISS);
    CHECK_EQ_INT(r.label_type[1], -1);

    /*
     * Class a: D0 0.9 TP, D2 0.7 FP, D5 0.2 TP of 4 labels; b: D1 FP of
     * 1 label (AP 0); c: two FPs, no labels (AP 0, still in the mean).
     */
    double rec_a[3] = {0.25, 0.25, 0.5}, prec_a[3] = {1, 2.0 / 3, 2.0 / 3};
    double ap_a = bars(rec_a, prec_a, 3);
    CHECK_NEAR(r.class_ap[0], ap_a, 1e-12);
    CHECK_EQ_DBL(r.class_ap[1], 0);
    CHECK_EQ_DBL(r.class_ap[2], 0);
    CHECK_NEAR(r.ap, ap_a / 3, 1e-12);
    /* Fixing Cls makes D1 a true positive of class a; b keeps its label. */
    double rec_f[4] = {0.25, 0.5, 0.5, 0.75}, prec_f[4] = {1, 1, 0.75, 0.75};
    CHECK_NEAR(r.dap[DG_TIDE_CLS], bars(rec_f, prec_f, 4) / 3 - ap_a / 3,
               1e-12);
    /* Fixing Bkg drops class c from the mean: (ap_a + 0) / 2. */
    CHECK_NEAR(r.dap[DG_TIDE_BKG], ap_a / 2 - ap_a / 3, 1e-12);
    CHECK_EQ_DBL(r.dap[DG_TIDE_DUPE], 0);
    dg_tide_result_release(&r);

    dg_tide_opts o;
    dg_tide_opts_init(&o);
    CHECK_EQ_DBL(o.conf, 0);
    CHECK_EQ_DBL(o.fg_iou, 0.5);
    CHECK_EQ_DBL(o.bg_iou, 0.1);
    CHECK_EQ_INT(o.max_dets, 100);
    o.max_dets = 2; /* D3 and D0 only */
    CHECK_EQ_INT(dg_tide_evaluate(ctx, p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_det, 2);
    CHECK_EQ_INT(r.n_dropped, 4);
    CHECK_EQ_INT(r.total[DG_TIDE_MISS], 4);
    dg_tide_result_release(&r);

    dg_tide_opts_init(&o);
    o.bg_iou = 0.7;
    CHECK_EQ_INT(dg_tide_evaluate(ctx, p, "m", &o, &r), DG_EINVAL);
    CHECK(!strcmp(dg_tide_type_name(DG_TIDE_DUPE), "Dupe"));
    CHECK(dg_tide_type_name(DG_TIDE_N) == NULL);
}

/* The planted record: each one is where it says, in the project. */
static void test_planted(dg_ctx *ctx)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.n_frames = 150;
    o.seed = 5;
    o.plant_missing = o.plant_wrong_class = o.plant_bad_box = 0.05;
    o.plant_spurious = 0.05;
    dg_synth_plant *pl = NULL;
    uint64_t n = 0, count[DG_PLANT_N_KINDS] = {0};
    CHECK_EQ_INT(dg_synth_planted(ctx, &o, &pl, &n), DG_OK);
    dg_project *p = NULL;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_OK);
    if (!p || !pl) {
        free(pl);
        dg_project_free(p);
        return;
    }
    const dg_boxset *L = NULL;
    CHECK_EQ_INT(dg__project_labels(ctx, p, &L), DG_OK);
    if (!L) {
        free(pl);
        dg_project_free(p);
        return;
    }
    uint32_t last_frame = 0;
    for (uint64_t i = 0; i < n; i++) {
        const dg_synth_plant *e = &pl[i];
        count[e->kind]++;
        CHECK(e->frame >= last_frame);
        last_frame = e->frame;
        if (e->kind == DG_PLANT_MISSING) {
            CHECK_EQ_INT(e->label, -1);
            continue;
        }
        CHECK(e->label >= 0 && (uint64_t)e->label < L->n);
        if (e->label < 0 || (uint64_t)e->label >= L->n)
            continue;
        uint64_t g = (uint64_t)e->label;
        CHECK_EQ_INT(L->frame[g], e->frame);
        CHECK_EQ_INT(L->cls[g], e->cls);
        CHECK_EQ_DBL(L->x[g], e->box[0]);
        CHECK_EQ_DBL(L->h[g], e->box[3]);
        CHECK_EQ_DBL(L->area[g], e->box[2] * e->box[3]);
        if (e->kind == DG_PLANT_BAD_BOX)
            CHECK(e->iou >= 0.15 && e->iou < 0.5);
        if (e->kind == DG_PLANT_WRONG_CLASS)
            CHECK(e->cls != e->true_cls);
    }
    for (int k = 0; k < DG_PLANT_N_KINDS; k++)
        CHECK(count[k] > 0);
    free(pl);
    dg_project_free(p);

    /* Nothing planted: no record. */
    dg_synth_opts_init(&o);
    CHECK_EQ_INT(dg_synth_planted(ctx, &o, &pl, &n), DG_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(pl == NULL);
    o.plant_missing = 0.7;
    o.plant_bad_box = 0.7;
    CHECK_EQ_INT(dg_synth_planted(ctx, &o, &pl, &n), DG_EINVAL);
    CHECK(!strcmp(dg_plant_kind_name(DG_PLANT_BAD_BOX), "bad-box"));
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0)
        return 1;
    dg_project *p = fixture(ctx);
    if (p) {
        test_label_errors(ctx, p);
        test_tide(ctx, p);
    }
    dg_project_free(p);
    test_planted(ctx);
    dg_ctx_free(ctx);
    return check_done("test-taxonomy");
}
