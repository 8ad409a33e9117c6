/*
 * Hand-checked cases for the reference matcher and the IoU it uses: every
 * expected value here was worked out on paper from the rules in eval.h.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine_impl.h"
#include "ref.h"

/* A tiny builder: one frame unless frames are given. */
typedef struct {
    dg_boxset gt, dt;
} pair;

static void pair_init(pair *p)
{
    dg__boxset_init(&p->gt);
    dg__boxset_init(&p->dt);
    dg__boxset_reserve(NULL, &p->gt, DG_BOXES_LABELS, 64);
    dg__boxset_reserve(NULL, &p->dt, DG_BOXES_DETS, 64);
}

static void gt(pair *p, uint32_t f, uint32_t c, double x, double y, double w,
               double h, int crowd, int ignore)
{
    dg__boxset_push(&p->gt, f, c, x, y, w, h, 0, w * h, (uint8_t)crowd,
                    (uint8_t)ignore);
}

static void dt(pair *p, uint32_t f, uint32_t c, double x, double y, double w,
               double h, double s)
{
    dg__boxset_push(&p->dt, f, c, x, y, w, h, s, 0, 0, 0);
}

/* Runs the matcher; status/matched are n_iou x n_dt. */
static void run(pair *p, uint32_t nf, const double *iou, int n_iou,
                uint8_t *status, int32_t *matched)
{
    dg__boxset_sort_by_frame(NULL, &p->gt, nf);
    dg__boxset_sort_by_frame(NULL, &p->dt, nf);
    dg_match_input in = {nf, 8, &p->gt, &p->dt, n_iou, iou, NULL, NULL};
    dg_match_output out = {status, matched, NULL, NULL, 0};
    CHECK_EQ_INT(dg__match_ref(NULL, &in, &out), DG_OK);
    /* The reference path's matcher agrees on every hand case. */
    size_t n = (size_t)n_iou * p->dt.n;
    uint8_t *s2 = malloc(n + 1);
    int32_t *m2 = malloc(4 * n + 4);
    dg_match_output o2 = {s2, m2, NULL, NULL, 0};
    CHECK_EQ_INT(dg__match_frames_ref(NULL, &in, &o2), DG_OK);
    CHECK(!memcmp(s2, status, n) && !memcmp(m2, matched, 4 * n));
    free(s2);
    free(m2);
}

static void pair_release(pair *p)
{
    dg__boxset_release(&p->gt);
    dg__boxset_release(&p->dt);
}

static void test_iou(void)
{
    /* Identical boxes. */
    CHECK_EQ_DBL(dg__iou(0, 0, 10, 10, 0, 0, 10, 10, 0), 1.0);
    /* Half overlap: inter 50, union 150. */
    CHECK_EQ_DBL(dg__iou(0, 0, 10, 10, 5, 0, 10, 10, 0), 50.0 / 150.0);
    /* Touching edges do not overlap. */
    CHECK_EQ_DBL(dg__iou(0, 0, 10, 10, 10, 0, 10, 10, 0), 0.0);
    /* Zero-area detection: no overlap. */
    CHECK_EQ_DBL(dg__iou(5, 5, 0, 0, 0, 0, 10, 10, 0), 0.0);
    /* Crowd: intersection over detection area (det inside crowd → 1). */
    CHECK_EQ_DBL(dg__iou(2, 2, 4, 4, 0, 0, 100, 100, 1), 1.0);
    /* Crowd, det half outside: inter 50 / det area 100. */
    CHECK_EQ_DBL(dg__iou(-5, 0, 10, 10, 0, 0, 100, 100, 1), 0.5);
    /* Exactly 0.5 in double: [0,2]x[0,1] vs [0,1]x[0,1]: inter 1, union 2. */
    CHECK_EQ_DBL(dg__iou(0, 0, 2, 1, 0, 0, 1, 1, 0), 0.5);
    /* The vectorized row agrees bit for bit, special values included. */
    static const double v[] = {0, 1, 2.5, 10, -3, 1e-300, 1e300, -0.0,
                               INFINITY, -INFINITY, NAN, 0.1, 7.25};
    const int nv = (int)(sizeof(v) / sizeof(v[0]));
    enum { N = 997 };
    double gx[N], gy[N], gw[N], gh[N], out[N];
    uint8_t cr[N];
    uint64_t z = 7;
    for (int k = 0; k < N; k++) {
        z = z * 6364136223846793005ULL + 1;
        gx[k] = v[(z >> 20) % nv] + (double)((z >> 40) % 5);
        gy[k] = v[(z >> 24) % nv];
        gw[k] = v[(z >> 28) % nv] + (double)((z >> 45) % 3);
        gh[k] = v[(z >> 32) % nv];
        cr[k] = (z >> 50) % 4 == 0;
    }
    int same = 1;
    for (int a = 0; a < nv * 4; a++) {
        double dx = v[a % nv], dy = v[(a / 2) % nv], dw = v[(a * 7) % nv] + 1;
        double dh = v[(a * 3) % nv] + 2;
        dg__iou_row(dx, dy, dw, dh, gx, gy, gw, gh, cr, N, out);
        for (int k = 0; k < N; k++) {
            double want = dg__iou(dx, dy, dw, dh, gx[k], gy[k], gw[k], gh[k],
                                  cr[k]);
            uint64_t bw, bo;
            memcpy(&bw, &want, 8);
            memcpy(&bo, &out[k], 8);
            if (bw != bo && !(isnan(want) && isnan(out[k])))
                same = 0;
        }
    }
    CHECK(same);
}

static void test_threshold_equality(void)
{
    pair p;
    pair_init(&p);
    gt(&p, 0, 0, 0, 0, 1, 1, 0, 0);
    dt(&p, 0, 0, 0, 0, 2, 1, 0.9); /* IoU exactly 0.5 */
    double iou[3] = {0.45, 0.5, 0.55};
    uint8_t st[3];
    int32_t m[3];
    run(&p, 1, iou, 3, st, m);
    CHECK_EQ_INT(st[0], DG_TP);
    CHECK_EQ_INT(st[1], DG_TP); /* IoU >= t, equality counts */
    CHECK_EQ_INT(st[2], DG_FP);
    CHECK_EQ_INT(m[1], 0);
    CHECK_EQ_INT(m[2], -1);
    pair_release(&p);
}

static void test_score_order_and_ties(void)
{
    pair p;
    pair_init(&p);
    gt(&p, 0, 0, 0, 0, 10, 10, 0, 0);
    /* Lower score but listed first; the higher one matches first. */
    dt(&p, 0, 0, 0, 0, 10, 10, 0.5);
    dt(&p, 0, 0, 1, 0, 10, 10, 0.9);
    /* Equal scores: input order decides. */
    gt(&p, 0, 1, 50, 50, 10, 10, 0, 0);
    dt(&p, 0, 1, 50, 50, 10, 10, 0.7);
    dt(&p, 0, 1, 50, 50, 10, 10, 0.7);
    double iou[1] = {0.5};
    uint8_t st[4];
    int32_t m[4];
    run(&p, 1, iou, 1, st, m);
    CHECK_EQ_INT(st[0], DG_FP);
    CHECK_EQ_INT(st[1], DG_TP);
    CHECK_EQ_INT(st[2], DG_TP);
    CHECK_EQ_INT(st[3], DG_FP);
    CHECK_EQ_INT(m[2], 1);
    pair_release(&p);
}

static void test_best_iou_and_tie_to_later(void)
{
    pair p;
    pair_init(&p);
    /* Two GTs; the det overlaps the second more. */
    gt(&p, 0, 0, 0, 0, 10, 10, 0, 0);
    gt(&p, 0, 0, 2, 0, 10, 10, 0, 0);
    dt(&p, 0, 0, 2, 0, 10, 10, 0.9);
    /* Equal IoU with two GTs: the later one wins (pycocotools). */
    gt(&p, 0, 2, 100, 0, 10, 10, 0, 0);
    gt(&p, 0, 2, 110, 0, 10, 10, 0, 0);
    dt(&p, 0, 2, 105, 0, 10, 10, 0.8);
    double iou[1] = {0.3};
    uint8_t st[2];
    int32_t m[2];
    run(&p, 1, iou, 1, st, m);
    CHECK_EQ_INT(st[0], DG_TP);
    CHECK_EQ_INT(m[0], 1);
    CHECK_EQ_INT(st[1], DG_TP);
    CHECK_EQ_INT(m[1], 3);
    pair_release(&p);
}

static void test_crowd(void)
{
    pair p;
    pair_init(&p);
    gt(&p, 0, 0, 0, 0, 100, 100, 1, 0); /* crowd listed first */
    gt(&p, 0, 0, 10, 10, 10, 10, 0, 0);
    dt(&p, 0, 0, 10, 10, 10, 10, 0.9); /* regular GT wins over crowd */
    dt(&p, 0, 0, 50, 50, 10, 10, 0.8); /* inside the crowd: ignored */
    dt(&p, 0, 0, 60, 60, 10, 10, 0.7); /* crowd absorbs another */
    dt(&p, 0, 0, 10, 10, 10, 10, 0.6); /* regular taken; falls to crowd */
    dt(&p, 0, 0, 200, 200, 5, 5, 0.5); /* nothing: FP */
    double iou[1] = {0.5};
    uint8_t st[5];
    int32_t m[5];
    run(&p, 1, iou, 1, st, m);
    CHECK_EQ_INT(st[0], DG_TP);
    CHECK_EQ_INT(m[0], 1);
    CHECK_EQ_INT(st[1], DG_IGN);
    CHECK_EQ_INT(m[1], 0);
    CHECK_EQ_INT(st[2], DG_IGN);
    CHECK_EQ_INT(st[3], DG_IGN);
    CHECK_EQ_INT(st[4], DG_FP);
    pair_release(&p);
}

static void test_ignore_flag(void)
{
    pair p;
    pair_init(&p);
    gt(&p, 0, 0, 0, 0, 10, 10, 0, 1); /* ignored, not crowd: taken once */
    dt(&p, 0, 0, 0, 0, 10, 10, 0.9);
    dt(&p, 0, 0, 0, 0, 10, 10, 0.8);
    double iou[1] = {0.5};
    uint8_t st[2];
    int32_t m[2];
    run(&p, 1, iou, 1, st, m);
    CHECK_EQ_INT(st[0], DG_IGN);
    CHECK_EQ_INT(st[1], DG_FP);
    pair_release(&p);
}

static void test_frames_and_classes(void)
{
    pair p;
    pair_init(&p);
    /* Frame 0: GT only. Frame 1: dets only. Frame 2: class on one side. */
    gt(&p, 0, 0, 0, 0, 10, 10, 0, 0);
    dt(&p, 1, 0, 0, 0, 10, 10, 0.9);
    gt(&p, 2, 3, 0, 0, 10, 10, 0, 0);
    dt(&p, 2, 4, 0, 0, 10, 10, 0.9); /* same box, other class: FP */
    /* Zero-area GT and det: never match. */
    gt(&p, 3, 0, 5, 5, 0, 0, 0, 0);
    dt(&p, 3, 0, 5, 5, 0, 0, 0.9);
    double iou[2] = {0.05, 0.95};
    uint8_t st[6];
    int32_t m[6];
    run(&p, 5, iou, 2, st, m);
    for (int k = 0; k < 6; k++)
        CHECK_EQ_INT(st[k], DG_FP);
    pair_release(&p);
}

/* The brute force of the results' order: class, descending score, index. */
static const uint32_t *g_cls;
static const double *g_sc;
static int by_result_order(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (g_cls[x] != g_cls[y])
        return g_cls[x] < g_cls[y] ? -1 : 1;
    if (g_sc[x] != g_sc[y])
        return g_sc[x] > g_sc[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void test_order(void)
{
    dg_boxset d;
    dg__boxset_init(&d);
    dg__boxset_reserve(NULL, &d, DG_BOXES_DETS, 8);
    double sc[6] = {0.5, 0.9, 0.5, 0.1, -0.0, 0.9};
    uint32_t cl[6] = {1, 0, 1, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        dg__boxset_push(&d, 0, cl[i], 0, 0, 1, 1, sc[i], 0, 0, 0);
    dg_results_tables t;
    memset(&t, 0, sizeof(t));
    t.n_classes = 2;
    t.n_iou = 1;
    uint32_t pos[6];
    CHECK_EQ_INT(dg__order_dets(NULL, &t, d.n, d.cls, d.score, pos), DG_OK);
    /* class 0: 0.9 (1), 0.9 (5), -0.0 (4); class 1: 0.5 (0), 0.5 (2), 0.1 (3) */
    uint32_t want[6] = {1, 5, 4, 0, 2, 3};
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(t.order[i], want[i]);
        CHECK_EQ_INT(pos[want[i]], i);
    }
    CHECK_EQ_INT(t.class_off[1], 3);
    CHECK_EQ_DBL(t.score[2], 0.0);
    dg__results_tables_release(&t);
    dg__boxset_release(&d);

    /* Many records: classes large enough for the radix sort and small
     * enough for the merge sort, scores on few levels (ties), one thread
     * or several, against qsort with the rule spelled out. */
    uint64_t n = 300000;
    uint32_t *cls = malloc(n * 4), *want2 = malloc(n * 4), *p2 = malloc(n * 4);
    double *score = malloc(n * 8);
    uint64_t z = 12345;
    for (uint64_t i = 0; i < n; i++) {
        z = z * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(z >> 33);
        cls[i] = r % 10 < 5 ? 0 : 1 + r % 40; /* class 0 holds half */
        score[i] = (double)(r % 1000 / 7) / 142.0;
        want2[i] = (uint32_t)i;
    }
    g_cls = cls;
    g_sc = score;
    qsort(want2, n, 4, by_result_order);
    for (unsigned th = 1; th <= 3; th += 2) {
        dg_ctx *ctx;
        dg_ctx_new(&ctx);
        dg_ctx_set_threads(ctx, th);
        memset(&t, 0, sizeof(t));
        t.n_classes = 41;
        CHECK_EQ_INT(dg__order_dets(ctx, &t, n, cls, score, p2), DG_OK);
        int ok = 1;
        for (uint64_t k = 0; k < n && ok; k++)
            ok = t.order[k] == want2[k] && p2[want2[k]] == k &&
                 t.score[k] == score[want2[k]];
        CHECK(ok);
        dg__results_tables_release(&t);
        dg_ctx_free(ctx);
    }
    free(cls);
    free(want2);
    free(p2);
    free(score);
}

int main(void)
{
    test_iou();
    test_threshold_equality();
    test_score_order_and_ties();
    test_best_iou_and_tie_to_later();
    test_crowd();
    test_ignore_flag();
    test_frames_and_classes();
    test_order();
    return check_done("test-match-ref");
}
