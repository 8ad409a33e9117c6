/*
 * The COCO protocol (host/query/coco.c): numpy's thresholds and searchsorted, the
 * fast PR curve against the literal one, a small project worked by hand,
 * truncation to 100 detections per image and category, and the same bytes
 * whatever the thread count or device. Also the strict JSON reader the COCO
 * importers use (host/import/json.c): grammar, error positions, escapes, and
 * numbers bit-identical to strtod.
 *
 * numpy's pairwise summation cannot be checked here without numpy; with
 * "--mean FILE" this program prints dg__np_mean of each array in FILE
 * (records of a little-endian uint64 length and that many float64) as a
 * hex float per line, and tests/test_coco_parity.py compares them to
 * np.mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coco_internal.h"
#include "json.h"
#include "store.h"

static dg_ctx *ctx;

/* ---- --mean mode ------------------------------------------------------ */

static int mean_mode(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    uint64_t n;
    while (fread(&n, sizeof(n), 1, f) == 1) {
        double *a = malloc((n ? n : 1) * sizeof(*a));
        if (!a || fread(a, sizeof(*a), n, f) != n) {
            fprintf(stderr, "%s: short read\n", path);
            free(a);
            fclose(f);
            return 2;
        }
        printf("%a\n", n ? dg__np_mean(a, n) : 0.0);
        free(a);
    }
    fclose(f);
    return 0;
}

/* ---- numpy pieces ------------------------------------------------------ */

static void test_numpy(void)
{
    /* numpy.linspace(.5, .95, 10) and (0, 1, 101), values from numpy. */
    double iou[10];
    for (int i = 0; i < 10; i++)
        iou[i] = dg__np_linspace(0.5, 0.95, 10, i);
    CHECK_EQ_DBL(iou[0], 0.5);
    CHECK_EQ_DBL(iou[1], 0x1.199999999999ap-1); /* 0.55 */
    CHECK_EQ_DBL(iou[2], 0.6);
    CHECK_EQ_DBL(iou[5], 0.75);
    CHECK_EQ_DBL(iou[8], 0x1.cccccccccccccp-1); /* 0.8999999999999999 */
    CHECK(iou[8] < 0.9);
    CHECK_EQ_DBL(iou[9], 0.95);
    CHECK_EQ_DBL(dg__np_linspace(0, 1, 101, 1), 0.01);
    CHECK_EQ_DBL(dg__np_linspace(0, 1, 101, 35), 0x1.6666666666667p-2);
    CHECK(dg__np_linspace(0, 1, 101, 35) > 0.35);
    CHECK_EQ_DBL(dg__np_linspace(0, 1, 101, 83), 0x1.a8f5c28f5c290p-1);
    CHECK_EQ_DBL(dg__np_linspace(0, 1, 101, 100), 1.0);

    /* searchsorted(side='left'): the first index with a[i] >= v. */
    static const double a[] = {0, 0.5, 0.5, 1};
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, -1), 0);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 0), 0);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 0.25), 1);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 0.5), 1);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 0.7), 3);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 1), 3);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 4, 1.5), 4);
    CHECK_EQ_INT(dg__np_searchsorted_left(a, 0, 1), 0);

    /* Sums of small integers are exact whatever the order. */
    double v[300];
    for (int n = 0; n < 300; n++) {
        double want = 0;
        for (int i = 0; i < n; i++) {
            v[i] = i + 1;
            want += v[i];
        }
        CHECK_EQ_DBL(dg__np_sum(v, (size_t)n), want);
    }
    CHECK_EQ_DBL(dg__np_mean(v, 4), 2.5);
}

/* ---- curves ------------------------------------------------------------ */

static double rec101(int i)
{
    return dg__np_linspace(0, 1, 101, i);
}

/* A curve worked by hand: TP, TP, ignored, FP with 2 ground truths. */
static void test_curve_hand(void)
{
    double rec[101], q[101], ss[101], rc;
    for (int i = 0; i < 101; i++)
        rec[i] = rec101(i);
    static const uint8_t tp[] = {1, 1, 0, 0}, fp[] = {0, 0, 0, 1};
    static const double sc[] = {0.95, 0.9, 0.8, 0.7};
    CHECK_EQ_INT(dg__coco_curve_ref(tp, fp, sc, 4, 2, rec, q, ss, &rc), 0);
    /* pr = [1/(1+eps), 2/(2+eps) = 1, 1, 2/3]: the envelope is 1 up to
     * recall 1. */
    CHECK_EQ_DBL(rc, 1.0);
    for (int i = 0; i < 101; i++)
        CHECK_EQ_DBL(q[i], 1.0);
    CHECK_EQ_DBL(ss[0], 0.95);
    CHECK_EQ_DBL(ss[50], 0.95);
    CHECK_EQ_DBL(ss[51], 0.9);
    CHECK_EQ_DBL(ss[100], 0.9);

    /* FP, TP, ignored, FP: envelope 0.5 to recall 0.5, then nothing. */
    static const uint8_t tp2[] = {0, 1, 0, 0}, fp2[] = {1, 0, 0, 1};
    CHECK_EQ_INT(dg__coco_curve_ref(tp2, fp2, sc, 4, 2, rec, q, ss, &rc), 0);
    CHECK_EQ_DBL(rc, 0.5);
    CHECK_EQ_DBL(q[0], 0.5);
    CHECK_EQ_DBL(ss[0], 0.95); /* position 0: the first detection, an FP */
    CHECK_EQ_DBL(q[50], 0.5);
    CHECK_EQ_DBL(ss[50], 0.9);
    CHECK_EQ_DBL(q[51], 0.0);
    CHECK_EQ_DBL(ss[51], 0.0);

    /* No detections: everything 0, recall 0. */
    CHECK_EQ_INT(dg__coco_curve_ref(tp2, fp2, sc, 0, 2, rec, q, ss, &rc), 0);
    CHECK_EQ_DBL(rc, 0.0);
    CHECK_EQ_DBL(q[0], 0.0);

    /* The first precision is 1 / (1 + np.spacing(1)), just below 1. */
    static const uint8_t one[] = {1}, none[] = {0};
    CHECK_EQ_INT(dg__coco_curve_ref(one, none, sc, 1, 3, rec, q, ss, &rc), 0);
    CHECK_EQ_DBL(q[0], 0x1.ffffffffffffep-1);
    CHECK_EQ_DBL(rc, 1.0 / 3.0);
    CHECK_EQ_DBL(q[33], 0x1.ffffffffffffep-1);
    CHECK_EQ_DBL(q[34], 0.0); /* 0.34 > 1/3 */
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The fast curve against the literal one on random sequences. */
static void test_curve_random(void)
{
    double rec[101];
    for (int i = 0; i < 101; i++)
        rec[i] = rec101(i);
    enum { MAXN = 400 };
    uint8_t tp[MAXN], fp[MAXN];
    double sc[MAXN];
    int bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t nd = rnd() % (iter < 100 ? 4 : MAXN);
        uint64_t npig = 1 + rnd() % (iter % 3 ? 40 : 400);
        int ptp = (int)(rnd() % 100), pign = (int)(rnd() % 40);
        uint64_t ntp = 0;
        double s = 1.0;
        for (size_t i = 0; i < nd; i++) {
            int r = (int)(rnd() % 100);
            tp[i] = fp[i] = 0;
            if (r < pign)
                ;
            else if ((int)(rnd() % 100) < ptp && ntp < npig)
                tp[i] = 1;
            else
                fp[i] = 1;
            ntp += tp[i];
            if (rnd() % 3)
                s -= (double)(rnd() % 1000) * 1e-6;
            sc[i] = s;
        }
        double q1[101], s1[101], r1, q2[101], s2[101], r2;
        dg__coco_curve_ref(tp, fp, sc, nd, npig, rec, q1, s1, &r1);
        dg__coco_curve_fast(tp, fp, sc, nd, npig, rec, q2, s2, &r2);
        if (memcmp(q1, q2, sizeof(q1)) || memcmp(s1, s2, sizeof(s1)) ||
            memcmp(&r1, &r2, sizeof(r1)))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- projects ----------------------------------------------------------- */

typedef struct build {
    dg_project *p;
    uint32_t n_frames, idx;
    dg_boxset gt, dt; /* taken into p by build_done */
} build;

static void build_init(build *b, uint32_t n_frames)
{
    CHECK_EQ_INT(dg_project_create(ctx, &b->p), DG_OK);
    for (uint32_t f = 0; f < n_frames; f++) {
        char id[16];
        snprintf(id, sizeof(id), "%u", f + 1);
        CHECK_EQ_INT(dg__project_add_frame(ctx, b->p, id, f + 1, 640, 480),
                     DG_OK);
    }
    b->n_frames = n_frames;
    dg__boxset_init(&b->gt);
    dg__boxset_init(&b->dt);
    dg__boxset_reserve(ctx, &b->gt, DG_BOXES_LABELS, 64);
    CHECK_EQ_INT(dg__project_add_inferences(ctx, b->p, "m", &b->idx), DG_OK);
    dg__boxset_reserve(ctx, &b->dt, DG_BOXES_DETS, 64);
}

static void gt(build *b, uint32_t f, uint32_t c, double x, double y, double w,
               double h, double area, int crowd)
{
    dg__boxset_reserve(ctx, &b->gt, DG_BOXES_LABELS, 1);
    dg__boxset_push(&b->gt, f, c, x, y, w, h, 0, area, (uint8_t)crowd, 0);
}

static void det(build *b, uint32_t f, uint32_t c, double x, double y,
                double w, double h, double s)
{
    dg__boxset_reserve(ctx, &b->dt, DG_BOXES_DETS, 1);
    dg__boxset_push(&b->dt, f, c, x, y, w, h, s, 0, 0, 0);
}

static void build_done(build *b)
{
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, &b->gt, b->n_frames), DG_OK);
    dg__project_take_labels(b->p, &b->gt);
    dg__boxset_release(&b->gt);
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, &b->dt, b->n_frames), DG_OK);
    dg__project_take_inferences(b->p, b->idx, &b->dt);
    dg__boxset_release(&b->dt);
}

/*
 * Two classes added as "b" (id 5) then "a" (id 2), so category 0 is "a".
 * Frame 1: a at [0,0,10,10] (area 100), an "a" crowd region at
 * [50,50,20,20], b at [0,0,40,40] (area 1600, medium). Frame 2: a at
 * [0,0,10,10]. Detections of a: frame 1: 0.9 on the box (IoU 1), 0.8
 * inside the crowd region (ignored), 0.7 on nothing (FP); frame 2: 0.95 of
 * height 8 (IoU 0.8). No detection of b.
 *
 * Class a in score order: 0.95, 0.9, 0.8, 0.7; two ground truths. At
 * thresholds 0.5 .. 0.8 (t = 0..6): TP, TP, ign, FP: precision 1 at every
 * recall, recall 1. At 0.85 .. 0.95: FP, TP, ign, FP: precision 0.5 up to
 * recall 0.5 (51 entries), then 0; recall 0.5. Class b: one ground truth,
 * no detection: precision 0, recall 0.
 */
static void hand_project(build *b)
{
    build_init(b, 2);
    CHECK_EQ_INT(dg__project_add_class(ctx, b->p, "b", 5), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, b->p, "a", 2), DG_OK);
    /* dg__project_add_inferences ran before the classes: fine, sets are
     * sized by frames only. */
    gt(b, 0, 1, 0, 0, 10, 10, 100, 0);
    gt(b, 0, 1, 50, 50, 20, 20, 400, 1);
    gt(b, 0, 0, 0, 0, 40, 40, 1600, 0);
    gt(b, 1, 1, 0, 0, 10, 10, 100, 0);
    det(b, 0, 1, 0, 0, 10, 10, 0.9);
    det(b, 0, 1, 55, 55, 5, 5, 0.8);
    det(b, 0, 1, 100, 100, 10, 10, 0.7);
    det(b, 1, 1, 0, 0, 10, 8, 0.95);
    build_done(b);
}

static void test_hand_project(void)
{
    build b;
    hand_project(&b);

    dg_coco_result r;
    dg_coco_opts o;
    dg_coco_opts_init(&o);
    CHECK_EQ_INT(o.exact_iou, 0);
    CHECK_EQ_INT(o.use_ignore, 0);
    CHECK_EQ_INT(o.n_threads, 0);
    o.n_threads = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_cats, 2);
    CHECK_EQ_INT(r.cat_class[0], 1); /* "a", id 2 */
    CHECK_EQ_INT(r.cat_class[1], 0);
    CHECK_EQ_INT(r.n_det, 4);
    CHECK_EQ_INT(r.n_det_dropped, 0);
    CHECK(strcmp(r.device, "reference") == 0);

    /* Category a, area all, maxDets 100. */
    for (int t = 0; t < 10; t++) {
        for (int ri = 0; ri <= 100; ri++) {
            double want = t <= 6 ? 1.0 : ri <= 50 ? 0.5 : 0.0;
            CHECK_EQ_DBL(r.precision[dg_coco_index(&r, t, ri, 0, 0, 2)], want);
        }
        CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, t, 0, 0, 2)],
                     t <= 6 ? 1.0 : 0.5);
        /* Category b: zeros, not -1 (it has ground truth). */
        CHECK_EQ_DBL(r.precision[dg_coco_index(&r, t, 0, 1, 0, 2)], 0.0);
        CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, t, 1, 0, 2)], 0.0);
        CHECK_EQ_DBL(r.scores[dg_coco_index(&r, t, 0, 1, 0, 2)], 0.0);
    }
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 0, 0, 0, 0, 2)], 0.95);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 0, 51, 0, 0, 2)], 0.9);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 9, 0, 0, 0, 2)], 0.95);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 9, 1, 0, 0, 2)], 0.9);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 9, 51, 0, 0, 2)], 0.0);
    /* Medium: a has no ground truth there (-1), b has one (0). */
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 0, 0, 0, 2, 2)], -1.0);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 0, 0, 0, 2, 2)], -1.0);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 0, 0, 1, 2, 2)], 0.0);
    /* Small: b is -1. */
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 0, 1, 1, 2)], -1.0);

    /* Sums of multiples of 0.5: exact in any order. */
    double ap_a = (7 * 101 + 3 * 51 * 0.5) / 1010.0;
    CHECK_EQ_DBL(r.stats[DG_COCO_AP], (7 * 101 + 3 * 51 * 0.5) / 2020.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP50], 0.5);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP75], 0.5);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP_S], ap_a);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP_M], 0.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP_L], -1.0);
    for (int m = 0; m < 3; m++)
        CHECK_EQ_DBL(r.stats[DG_COCO_AR1 + m], 8.5 / 20.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AR_S], 8.5 / 10.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AR_M], 0.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AR_L], -1.0);
    CHECK_EQ_DBL(r.ap[0], ap_a);
    CHECK_EQ_DBL(r.ap[1], 0.0);
    CHECK_EQ_DBL(r.ap50[0], 1.0);
    CHECK_EQ_DBL(r.ap75[0], 1.0);
    CHECK_EQ_DBL(r.ar100[0], 8.5 / 10.0);
    CHECK_EQ_DBL(r.ar100[1], 0.0);
    dg_coco_result_release(&r);

    /* --exact-iou changes nothing here (no IoU between the thresholds). */
    o.exact_iou = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_DBL(r.iou[8], 0.9);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP], (7 * 101 + 3 * 51 * 0.5) / 2020.0);
    dg_coco_result_release(&r);

    /* Errors. */
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "nope", NULL, &r), DG_ENOTFOUND);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "no inference set 'nope'");
    CHECK(r.precision == NULL);
    dg_coco_result_release(&r);
    dg_project_free(b.p);
}

/*
 * Truncation: frame 1 has 105 detections of one class. Only its 100 best
 * (ties by input order) are evaluated, so the result equals that of a
 * project holding just those.
 */
static void test_truncation(void)
{
    build full, cut;
    build_init(&full, 2);
    build_init(&cut, 2);
    dg__project_add_class(ctx, full.p, "a", 1);
    dg__project_add_class(ctx, cut.p, "a", 1);
    for (int i = 0; i < 30; i++) {
        double x = (i % 6) * 100, y = (i / 6) * 90;
        gt(&full, 0, 0, x, y, 40, 40, 1600, 0);
        gt(&cut, 0, 0, x, y, 40, 40, 1600, 0);
        gt(&full, 1, 0, x, y, 20, 20, 400, 0);
        gt(&cut, 1, 0, x, y, 20, 20, 400, 0);
    }
    int kept = 0;
    for (int i = 0; i < 105; i++) {
        /* Scores 0.5 + 0.01 * (i % 13): ties everywhere. */
        double s = 0.5 + 0.01 * (i % 13);
        double x = (i % 6) * 100 + (i % 5), y = ((i / 6) % 5) * 90;
        det(&full, 0, 0, x, y, 40, 40, s);
        /* Rank of i among the 105: by score, then index. */
        int rank = 0;
        for (int j = 0; j < 105; j++) {
            double sj = 0.5 + 0.01 * (j % 13);
            rank += sj > s || (sj == s && j < i);
        }
        if (rank < 100) {
            det(&cut, 0, 0, x, y, 40, 40, s);
            kept++;
        }
        if (i < 20) {
            det(&full, 1, 0, x / 2 + 1, y, 20, 20, 0.3);
            det(&cut, 1, 0, x / 2 + 1, y, 20, 20, 0.3);
        }
    }
    CHECK_EQ_INT(kept, 100);
    build_done(&full);
    build_done(&cut);
    dg_coco_result a, b;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, full.p, "m", NULL, &a), DG_OK);
    CHECK_EQ_INT(dg_coco_evaluate(ctx, cut.p, "m", NULL, &b), DG_OK);
    CHECK_EQ_INT(a.n_det_dropped, 5);
    CHECK_EQ_INT(a.n_det, 120);
    CHECK_EQ_INT(b.n_det_dropped, 0);
    size_t np = (size_t)10 * 101 * 1 * 4 * 3;
    CHECK(memcmp(a.precision, b.precision, np * sizeof(double)) == 0);
    CHECK(memcmp(a.scores, b.scores, np * sizeof(double)) == 0);
    CHECK(memcmp(a.recall, b.recall, 120 * sizeof(double)) == 0);
    CHECK(memcmp(a.stats, b.stats, sizeof(a.stats)) == 0);
    CHECK(a.stats[DG_COCO_AP] > 0);
    dg_coco_result_release(&a);
    dg_coco_result_release(&b);
    dg_project_free(full.p);
    dg_project_free(cut.p);
}

static int same(const dg_coco_result *a, const dg_coco_result *b)
{
    size_t np = (size_t)10 * 101 * a->n_cats * 12, nr = (size_t)120 * a->n_cats;
    return a->n_cats == b->n_cats &&
           !memcmp(a->stats, b->stats, sizeof(a->stats)) &&
           !memcmp(a->precision, b->precision, np * sizeof(double)) &&
           !memcmp(a->scores, b->scores, np * sizeof(double)) &&
           !memcmp(a->recall, b->recall, nr * sizeof(double)) &&
           !memcmp(a->ap, b->ap, a->n_cats * sizeof(double));
}

/* The same bytes with 1, 2 and 5 threads, and on an OpenCL device. */
static void test_threads_devices(void)
{
    dg_synth_opts so;
    dg_synth_opts_init(&so);
    so.seed = 3;
    so.n_frames = 150;
    so.n_classes = 3;
    so.crowd_rate = 0.3;
    so.score_levels = 20;
    so.low_score_fp = 300;
    so.max_dets_per_frame = 0;
    dg_project *p;
    CHECK_EQ_INT(dg_synth_project(ctx, &so, &p), DG_OK);
    const char *name = dg_project_inference_name(p, 0);
    dg_coco_result r1, r2, r5, rc;
    dg_coco_opts o;
    dg_coco_opts_init(&o);
    o.n_threads = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &r1), DG_OK);
    o.n_threads = 2;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &r2), DG_OK);
    o.n_threads = 5;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &r5), DG_OK);
    CHECK(r1.n_det_dropped > 0);
    CHECK(same(&r1, &r2));
    CHECK(same(&r1, &r5));

    /* An OpenCL device: DETGRID_TEST_DEVICE (as tools/dev/gpu-check.sh sets
     * it), else a CPU one such as PoCL. */
    const char *dev = getenv("DETGRID_TEST_DEVICE");
    dg_ctx *cl;
    CHECK_EQ_INT(dg_ctx_new(&cl), DG_OK);
    CHECK_EQ_INT(dg_ctx_set_device(cl, dev && *dev ? dev : "cpu"), DG_OK);
    CHECK_EQ_INT(dg_coco_evaluate(cl, p, name, NULL, &rc), DG_OK);
    if (strncmp(rc.device, "OpenCL", 6) == 0)
        printf("device: %s\n", rc.device);
    else
        printf("note: no OpenCL device (%s)\n", dg_ctx_take_warnings(cl));
    CHECK(same(&r1, &rc));
    dg_ctx_free(cl);

    dg_coco_result_release(&r1);
    dg_coco_result_release(&r2);
    dg_coco_result_release(&r5);
    dg_coco_result_release(&rc);
    dg_project_free(p);
}

/* ---- changed params (dg_coco_params, host/query/coco_params.c) ---------- */

/* Every entry of category k of a equal to category kb of b. */
static int same_category(const dg_coco_result *a, uint32_t k,
                         const dg_coco_result *b, uint32_t kb)
{
    for (int t = 0; t < (int)a->n_iou; t++)
        for (int ar = 0; ar < a->n_area; ar++)
            for (int m = 0; m < a->n_max_dets; m++) {
                if (a->recall[dg_coco_recall_index(a, t, k, ar, m)] !=
                    b->recall[dg_coco_recall_index(b, t, kb, ar, m)])
                    return 0;
                for (int ri = 0; ri < (int)a->n_rec; ri++) {
                    size_t x = dg_coco_index(a, t, ri, k, ar, m);
                    size_t y = dg_coco_index(b, t, ri, kb, ar, m);
                    if (a->precision[x] != b->precision[y] ||
                        a->scores[x] != b->scores[y])
                        return 0;
                }
            }
    return 1;
}

/*
 * The general path against the fast one on the same evaluation: params
 * naming every image and category plus one the project lacks change
 * nothing pycocotools computes (an image without boxes, a category
 * without labels: -1 entries), but take the general path.
 */
static void test_params_general(void)
{
    static const struct {
        uint64_t seed;
        uint32_t frames, classes, levels, max_dets;
        double crowd, low_fp, dup;
    } cases[] = {
        {21, 120, 6, 0, 100, 0.1, 2, 0.05},
        {22, 80, 3, 4, 0, 0.5, 40, 0.5},   /* ties, > 100 per image */
        {23, 40, 12, 30, 0, 0.2, 150, 0.2},
        {24, 1, 1, 0, 100, 0.0, 0, 0.0},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        dg_synth_opts so;
        dg_synth_opts_init(&so);
        so.seed = cases[c].seed;
        so.n_frames = cases[c].frames;
        so.n_classes = cases[c].classes;
        so.score_levels = cases[c].levels;
        so.max_dets_per_frame = cases[c].max_dets;
        so.crowd_rate = cases[c].crowd;
        so.low_score_fp = cases[c].low_fp;
        so.duplicate_rate = cases[c].dup;
        dg_project *p;
        CHECK_EQ_INT(dg_synth_project(ctx, &so, &p), DG_OK);
        const char *name = dg_project_inference_name(p, 0);
        dg_project_info info;
        dg_project_get_info(p, &info);
        int64_t *img = malloc((info.n_frames + 1) * sizeof(*img));
        int64_t *cat = malloc((info.n_classes + 1) * sizeof(*cat));
        for (uint32_t f = 0; f < info.n_frames; f++)
            img[f] = dg_project_frame_num(p, f);
        img[info.n_frames] = 1000000000;
        /* Reversed and with an extra id: sorted and made unique here. */
        for (uint32_t k = 0; k < info.n_classes; k++)
            cat[k] = dg_project_class_id(p, info.n_classes - 1 - k);
        cat[info.n_classes] = 999999;

        dg_coco_result fast, gen, gen3;
        CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, NULL, &fast), DG_OK);
        dg_coco_params pa;
        dg_coco_params_init(&pa);
        CHECK_EQ_INT(pa.use_cats, 1);
        pa.img_ids = img;
        pa.n_img_ids = info.n_frames + 1;
        pa.cat_ids = cat;
        pa.n_cat_ids = info.n_classes + 1;
        dg_coco_opts o;
        dg_coco_opts_init(&o);
        CHECK(o.params == NULL);
        o.params = &pa;
        o.n_threads = 1;
        CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &gen), DG_OK);
        o.n_threads = 3;
        CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &gen3), DG_OK);
        CHECK_EQ_INT(gen.n_cats, fast.n_cats + 1);
        CHECK_EQ_INT(gen.cat_ids[gen.n_cats - 1], 999999);
        CHECK_EQ_INT(gen.cat_class[gen.n_cats - 1], UINT32_MAX);
        CHECK_EQ_INT(gen.n_det, fast.n_det);
        CHECK_EQ_INT(gen.n_det_dropped, fast.n_det_dropped);
        CHECK(memcmp(gen.stats, fast.stats, sizeof(gen.stats)) == 0);
        CHECK(memcmp(gen3.stats, gen.stats, sizeof(gen.stats)) == 0);
        for (uint32_t k = 0; k < fast.n_cats; k++) {
            CHECK_EQ_INT(gen.cat_class[k], fast.cat_class[k]);
            CHECK_EQ_INT(gen.cat_ids[k], fast.cat_ids[k]);
            CHECK(same_category(&gen, k, &fast, k));
            CHECK(same_category(&gen3, k, &gen, k));
            CHECK_EQ_DBL(gen.ap[k], fast.ap[k]);
            CHECK_EQ_DBL(gen.ap50[k], fast.ap50[k]);
            CHECK_EQ_DBL(gen.ar100[k], fast.ar100[k]);
        }
        uint32_t kx = gen.n_cats - 1;
        CHECK_EQ_DBL(gen.precision[dg_coco_index(&gen, 3, 7, kx, 1, 2)], -1);
        CHECK_EQ_DBL(gen.recall[dg_coco_recall_index(&gen, 9, kx, 0, 0)], -1);
        CHECK(isnan(gen.ap[kx]));
        if (c == 0) {
            /* The engine on an OpenCL device matches every group at once:
             * the same bytes. */
            const char *dev = getenv("DETGRID_TEST_DEVICE");
            dg_ctx *cl;
            dg_coco_result rc;
            CHECK_EQ_INT(dg_ctx_new(&cl), DG_OK);
            CHECK_EQ_INT(dg_ctx_set_device(cl, dev && *dev ? dev : "cpu"),
                         DG_OK);
            CHECK_EQ_INT(dg_coco_evaluate(cl, p, name, &o, &rc), DG_OK);
            CHECK(memcmp(rc.stats, gen.stats, sizeof(gen.stats)) == 0);
            for (uint32_t k = 0; k < gen.n_cats; k++)
                CHECK(same_category(&rc, k, &gen, k));
            dg_coco_result_release(&rc);
            dg_ctx_free(cl);
        }
        /* Params equal to the defaults: the fast path, same bytes. */
        pa.img_ids = img;
        pa.n_img_ids = info.n_frames;
        pa.cat_ids = cat;
        pa.n_cat_ids = info.n_classes;
        dg_coco_result same_r;
        CHECK_EQ_INT(dg_coco_evaluate(ctx, p, name, &o, &same_r), DG_OK);
        CHECK(same(&same_r, &fast));
        dg_coco_result_release(&same_r);
        dg_coco_result_release(&fast);
        dg_coco_result_release(&gen);
        dg_coco_result_release(&gen3);
        free(img);
        free(cat);
        dg_project_free(p);
    }
}

/* The hand project of test_hand_project with params changed one at a
 * time; the expected entries follow from its description. */
static void test_params_hand(void)
{
    build b;
    hand_project(&b);
    dg_coco_params pa;
    dg_coco_opts o;
    dg_coco_opts_init(&o);
    o.params = &pa;
    dg_coco_result r;

    /* One threshold, 0.85: category a is FP, TP, ign, FP; precision 0.5
     * up to recall 0.5. No 0.5 among the thresholds: AP50 is -1. */
    double t85 = 0.85;
    dg_coco_params_init(&pa);
    pa.iou_thrs = &t85;
    pa.n_iou = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_iou, 1);
    CHECK_EQ_INT(r.n_rec, 101);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 0, 50, 0, 0, 2)], 0.5);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 0, 51, 0, 0, 2)], 0.0);
    CHECK_EQ_DBL(r.scores[dg_coco_index(&r, 0, 0, 0, 0, 2)], 0.95);
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 0, 0, 0, 2)], 0.5);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP50], -1.0);
    CHECK_NEAR(r.stats[DG_COCO_AP], 51 * 0.5 / 202, 1e-15);
    CHECK_NEAR(r.ap[0], 51 * 0.5 / 101, 1e-15);
    CHECK(isnan(r.ap50[0]));
    dg_coco_result_release(&r);

    /* maxDets [1]: the best detection of each image and category; stat 0
     * asks for maxDets 100 (-1), the ones at maxDets[2] cannot be had. */
    int64_t md1 = 1;
    dg_coco_params_init(&pa);
    pa.max_dets = &md1;
    pa.n_max_dets = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_det, 2);
    CHECK_EQ_INT(r.n_det_dropped, 2);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP], -1.0);
    CHECK(isnan(r.stats[DG_COCO_AP50]));
    CHECK(isnan(r.stats[DG_COCO_AR10]));
    /* AR1: a has recall 1 at 0.5..0.8, 0.5 above; b 0. */
    CHECK_NEAR(r.stats[DG_COCO_AR1], (7 * 1.0 + 3 * 0.5) / 20, 1e-15);
    dg_coco_result_release(&r);

    /* Without categories a detection of "a" may take the label of "b". */
    dg_coco_params_init(&pa);
    pa.use_cats = 0;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_cats, 1);
    CHECK_EQ_INT(r.cat_ids[0], -1);
    CHECK_EQ_INT(r.cat_class[0], UINT32_MAX);
    /* Three regular labels now: recall 2/3 at 0.5 .. 0.8. */
    CHECK_NEAR(r.recall[dg_coco_recall_index(&r, 0, 0, 0, 2)], 2.0 / 3,
               1e-15);
    dg_coco_result_release(&r);

    /* Image 2 only: category a has one detection (IoU 0.8) and one
     * label; b has no label there (-1). */
    int64_t img2 = 2;
    dg_coco_params_init(&pa);
    pa.img_ids = &img2;
    pa.n_img_ids = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 6, 0, 0, 2)], 1.0);
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 7, 0, 0, 2)], 0.0);
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 0, 1, 0, 2)], -1.0);
    CHECK_NEAR(r.stats[DG_COCO_AP], 0.7, 1e-15);
    dg_coco_result_release(&r);

    /* One area range [0, 200] labelled "all": b (area 1600) is out of it;
     * small, medium and large find no label (-1). */
    double rng[2] = {0, 200};
    const char *lbl[1] = {"all"};
    dg_coco_params_init(&pa);
    pa.area_rng = rng;
    pa.n_area = 1;
    pa.area_lbl = lbl;
    pa.n_area_lbl = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_INT(r.n_area, 1);
    CHECK_EQ_DBL(r.recall[dg_coco_recall_index(&r, 0, 1, 0, 2)], -1.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AP_S], -1.0);
    CHECK_EQ_DBL(r.stats[DG_COCO_AR_L], -1.0);
    CHECK(r.stats[DG_COCO_AP] > 0);
    dg_coco_result_release(&r);
    /* The default labels past the one range: pycocotools' IndexError. */
    pa.area_lbl = NULL;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK(isnan(r.stats[DG_COCO_AP_S]));
    CHECK(r.stats[DG_COCO_AP] > 0);
    dg_coco_result_release(&r);

    /* Unsorted recall thresholds: at 0.85 .. 0.95 (final recall 0.5) the
     * loop stops at 1.0, so 0.2 after it stays 0. */
    double rec[3] = {0.5, 1.0, 0.2};
    dg_coco_params_init(&pa);
    pa.rec_thrs = rec;
    pa.n_rec = 3;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_OK);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 9, 0, 0, 0, 2)], 0.5);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 9, 1, 0, 0, 2)], 0.0);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 9, 2, 0, 0, 2)], 0.0);
    CHECK_EQ_DBL(r.precision[dg_coco_index(&r, 0, 2, 0, 0, 2)], 1.0);
    dg_coco_result_release(&r);

    /* Bad params: named, nothing filled. */
    double bad = NAN;
    dg_coco_params_init(&pa);
    pa.iou_thrs = &bad;
    pa.n_iou = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "iouThrs[0]");
    CHECK(r.precision == NULL);
    int64_t neg = -1;
    dg_coco_params_init(&pa);
    pa.max_dets = &neg;
    pa.n_max_dets = 1;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "maxDets");
    pa.n_max_dets = 0;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", &o, &r), DG_EINVAL);
    dg_project_free(b.p);
}

/* A project without labels or detections: every entry -1, stats -1. */
static void test_empty(void)
{
    build b;
    build_init(&b, 3);
    dg__project_add_class(ctx, b.p, "a", 1);
    build_done(&b);
    dg_coco_result r;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, b.p, "m", NULL, &r), DG_OK);
    for (int i = 0; i < DG_COCO_N_STATS; i++)
        CHECK_EQ_DBL(r.stats[i], -1.0);
    CHECK(isnan(r.ap[0]));
    dg_coco_result_release(&r);
    dg_project_free(b.p);
}

/* ---- the JSON reader ----------------------------------------------------- */

/* Parses text; returns the status and leaves the message in ctx. */
static dg_status jparse(const char *text, dg_json *j)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    memcpy(buf, text, n);
    return dg__json_parse(ctx, "t.json", buf, n, j);
}

static void json_ok(const char *text)
{
    dg_json j;
    dg_status st = jparse(text, &j);
    CHECK_EQ_INT(st, DG_OK);
    if (st < 0)
        fprintf(stderr, "    for %s: %s\n", text, dg_ctx_last_error(ctx));
    else
        dg__json_release(&j);
}

static void json_bad(const char *text, const char *want)
{
    dg_json j;
    dg_status st = jparse(text, &j);
    CHECK_EQ_INT(st, DG_EFORMAT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), want);
    if (st >= 0)
        dg__json_release(&j);
}

static void test_json(void)
{
    /* Grammar: what RFC 8259 allows, and positions of what it does not. */
    json_ok("[]");
    json_ok(" {} ");
    json_ok("\xef\xbb\xbf[1]"); /* a byte order mark, as cJSON took it */
    json_ok("[-0, 0.5, 1e5, 1E+5, -1.25e-3, 0e0, 123456789012345678901234]");
    json_ok("{\"a\": [true, false, null, {\"b\": \"\\u00e9\\ud83d\\ude00\"}]}");
    json_ok("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    json_bad("[01]", "near byte 2 (line 1): expected ',' or ']'");
    json_bad("[1.]", "near byte 3 (line 1): invalid number");
    json_bad("[.5]", "near byte 1 (line 1): expected a value");
    json_bad("[-]", "near byte 2 (line 1): invalid number");
    json_bad("[1e]", "near byte 3 (line 1): invalid number");
    json_bad("[+1]", "near byte 1");
    json_bad("[1,]", "near byte 3 (line 1): expected a value");
    json_bad("{\"a\" 1}", "near byte 5 (line 1): expected ':'");
    json_bad("{\"a\": 1,}", "near byte 8 (line 1): expected a string");
    json_bad("{1: 2}", "near byte 1 (line 1): expected a string");
    json_bad("[1 2]", "near byte 3 (line 1): expected ',' or ']'");
    json_bad("{\"a\": 1 \"b\"}", "near byte 8 (line 1): expected ',' or '}'");
    json_bad("[\"a\tb\"]", "near byte 3 (line 1): control character");
    json_bad("[\"a\\x\"]", "near byte 3 (line 1): invalid escape");
    json_bad("[\"\\u12g4\"]", "near byte 2 (line 1): invalid \\u escape");
    json_bad("[\"\\ud83d\"]", "near byte 2 (line 1): lone UTF-16 surrogate");
    json_bad("[\"\\ude00\"]", "lone UTF-16 surrogate");
    json_bad("[\"\xc3\"]", "near byte 2 (line 1): invalid UTF-8");
    json_bad("[\"\xed\xa0\x80\"]", "invalid UTF-8"); /* a surrogate */
    json_bad("[\"\xc0\xaf\"]", "invalid UTF-8");     /* overlong */
    json_bad("[\"abc", "near byte 5 (line 1): unexpected end of the file");
    json_bad("[1] [2]", "near byte 4 (line 1): unexpected data after");
    json_bad("\n\n  nul", "near byte 4 (line 3): expected a value");
    json_bad("[", "near byte 1 (line 1): unexpected end of the file");
    json_bad("", "not valid JSON: file is empty");
    {
        char deep[2100];
        memset(deep, '[', 1001);
        deep[1001] = 0;
        json_bad(deep, "near byte 1000 (line 1): nested deeper than 1000");
        memset(deep, '[', 1000);
        memset(deep + 1000, ']', 1000);
        deep[2000] = 0;
        json_ok(deep);
    }
    {
        char nul[] = "[1, \0 2]";
        char *buf = malloc(sizeof(nul));
        memcpy(buf, nul, sizeof(nul));
        dg_json j;
        CHECK_EQ_INT(dg__json_parse(ctx, "t.json", buf, sizeof(nul) - 1, &j),
                     DG_EFORMAT);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                           "'t.json': not valid JSON near byte 4 (line 1): "
                           "NUL byte");
    }

    /* Structure: counts, siblings, fields (the last of repeated keys, as
     * Python's json keeps it, counted in n_dup). */
    dg_json j;
    CHECK_EQ_INT(jparse("{\"a\": [1, [2, 3], {\"x\": null}], \"b\": \"s\", "
                        "\"a\": 7, \"k\\u0065y\": 2.5, \"e\": \"\\\"\\\\\\/"
                        "\\b\\f\\n\\r\\t\\u0041\"}", &j), DG_OK);
    CHECK_EQ_INT(dg__json_type(&j, 0), DG_JSON_OBJECT);
    CHECK_EQ_INT(dg__json_count(&j, 0), 5);
    static const char *const names[] = {"a", "b", "key", "e", "zz"};
    uint32_t f[5];
    dg__json_fields(&j, 0, names, 5, f);
    CHECK_EQ_DBL(dg__json_number(&j, f[0]), 7);
    CHECK_EQ_INT(j.n_dup, 1);
    uint32_t arr = 2; /* the value of the first "a" */
    CHECK_EQ_INT(dg__json_type(&j, arr), DG_JSON_ARRAY);
    CHECK_EQ_INT(dg__json_count(&j, arr), 3);
    uint32_t e0 = arr + 1, e1 = dg__json_next(&j, e0),
             e2 = dg__json_next(&j, e1);
    CHECK_EQ_DBL(dg__json_number(&j, e0), 1);
    CHECK_EQ_INT(dg__json_count(&j, e1), 2);
    CHECK_EQ_DBL(dg__json_number(&j, dg__json_next(&j, e1 + 1)), 3);
    CHECK_EQ_INT(dg__json_type(&j, e2), DG_JSON_OBJECT);
    CHECK_EQ_INT(dg__json_next(&j, e2), arr + 8);
    CHECK(strcmp(dg__json_string(&j, f[1]), "s") == 0);
    CHECK(strcmp(dg__json_type_name(&j, f[1]), "string") == 0);
    CHECK_EQ_DBL(dg__json_number(&j, f[2]), 2.5);
    CHECK(strcmp(dg__json_string(&j, f[3]), "\"\\/\b\f\n\r\tA") == 0);
    CHECK_EQ_INT(f[4], DG_JSON_NONE);
    dg__json_release(&j);

    /* Numbers: the fast path and strtod agree bit for bit. */
    int bad = 0;
    char num[64];
    for (int i = 0; i < 200000; i++) {
        uint64_t r = rnd();
        int digits = 1 + (int)(r % 20), point = (int)((r >> 8) % 22);
        int len = 0;
        if (r >> 63)
            num[len++] = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0)
                num[len++] = '.';
            int c = (int)(rnd() % 10);
            if (d == 0 && c == 0 && digits > 1 && point != 1)
                c = 1 + (int)(rnd() % 9);
            num[len++] = (char)('0' + c);
        }
        if ((r >> 20) % 3 == 0)
            len += snprintf(num + len, sizeof(num) - (size_t)len, "e%d",
                            (int)((r >> 24) % 80) - 40);
        num[len] = 0;
        char *buf = malloc((size_t)len + 1);
        memcpy(buf, num, (size_t)len + 1);
        if (dg__json_parse(ctx, "n.json", buf, (size_t)len, &j) < 0) {
            fprintf(stderr, "    %s: %s\n", num, dg_ctx_last_error(ctx));
            bad++;
            continue;
        }
        double a = dg__json_number(&j, 0), b = strtod(num, NULL);
        if (memcmp(&a, &b, sizeof(a)) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "    %s: %a, strtod %a\n", num, a, b);
        }
        dg__json_release(&j);
    }
    CHECK_EQ_INT(bad, 0);
    static const char *const edge[] = {
        "0", "-0", "1e400", "-1e400", "1e-400", "9007199254740993",
        "9007199254740992", "0.1", "1e22", "1e23", "4.9406564584124654e-324",
        "2.2250738585072011e-308", "179769313486231570000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000", "0.000000000000000000000000001",
        "123456789012345678.9", "1.00000000000000011102230246251565404"};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        CHECK_EQ_INT(jparse(edge[i], &j), DG_OK);
        double a = dg__json_number(&j, 0), b = strtod(edge[i], NULL);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        dg__json_release(&j);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--mean"))
        return mean_mode(argv[2]);
    /* The reference path, whatever DETGRID_DEVICE says; the OpenCL case
     * picks its device from DETGRID_TEST_DEVICE. */
    if (dg_ctx_new(&ctx) < 0 || dg_ctx_set_device(ctx, "ref") < 0)
        return 2;
    test_numpy();
    test_curve_hand();
    test_curve_random();
    test_hand_project();
    test_truncation();
    test_threads_devices();
    test_params_general();
    test_params_hand();
    test_empty();
    test_json();
    dg_ctx_free(ctx);
    return check_done("test-coco");
}
