/*
 * Differential test of the OpenCL engine against the reference: for random
 * and adversarial chunks, dg__cl_match must give the bytes dg__match_ref
 * gives (status and matched, untouched cells included), and
 * dg__cl_accumulate the bytes dg__accumulate_ref gives. Each chunk runs
 * with the default batch budget and with tiny ones, which force many
 * batches and groups whose IoUs are computed on the fly.
 *
 * Exit 0 on success, 1 on a difference, 77 when no OpenCL device exists.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cl_internal.h"
#include "ref.h"
#include "store.h"
#include "gen.h"

/* ---- comparison ------------------------------------------------------------ */

static dg_ctx *ctx;
static int n_compared;

static double grid[20]; /* grid_init */

static void report_diff(const char *what, const char *label, int n_iou,
                        uint64_t n, const uint8_t *s1, const int32_t *m1,
                        const uint8_t *s2, const int32_t *m2)
{
    for (int t = 0; t < n_iou; t++)
        for (uint64_t d = 0; d < n; d++) {
            size_t o = (size_t)t * n + d;
            if (s1[o] != s2[o] || m1[o] != m2[o]) {
                fprintf(stderr,
                        "%s: %s: first difference at threshold %d, "
                        "detection %llu: reference (%d, %d), device (%d, %d)\n",
                        label, what, t, (unsigned long long)d, s1[o], m1[o],
                        s2[o], m2[o]);
                return;
            }
        }
}

/* Runs both matchers (and both accumulations) on c at n_iou thresholds. */
static void compare(const char *label, chunk *c, const double *iou, int n_iou,
                    uint64_t batch_bytes)
{
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, n_iou,
                         iou};
    size_t n = (size_t)n_iou * c->dt.n;
    uint8_t *s1 = malloc(n + 1), *s2 = malloc(n + 1);
    int32_t *m1 = malloc(4 * n + 4), *m2 = malloc(4 * n + 4);
    if (!s1 || !s2 || !m1 || !m2) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    /* Cells neither matcher owns must stay as they were. */
    memset(s1, 0xab, n);
    memset(s2, 0xab, n);
    memset(m1, 0xcd, 4 * n);
    memset(m2, 0xcd, 4 * n);
    dg_match_output o1 = {s1, m1}, o2 = {s2, m2};

    CHECK_EQ_INT(dg__match_ref(ctx, &in, &o1), DG_OK);
    dg__cl_set_batch_bytes(ctx, batch_bytes);
    dg_status st = dg__cl_match(ctx, &in, &o2);
    if (st != DG_OK)
        fprintf(stderr, "%s: %s\n", label, dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    int same = !memcmp(s1, s2, n) && !memcmp(m1, m2, 4 * n);
    CHECK(same);
    if (!same)
        report_diff("match", label, n_iou, c->dt.n, s1, m1, s2, m2);

    /* Accumulation over a random permutation of the detections. */
    uint32_t *order = malloc(c->dt.n * sizeof(uint32_t) + 4);
    for (uint64_t k = 0; k < c->dt.n; k++)
        order[k] = (uint32_t)k;
    for (uint64_t k = c->dt.n; k > 1; k--) {
        uint32_t j = rnd_below((uint32_t)k), tmp = order[k - 1];
        order[k - 1] = order[j];
        order[j] = tmp;
    }
    dg_perm pm = {c->dt.n, n_iou, order, NULL, 0};
    struct {
        uint8_t *status;
        int32_t *matched;
    } r1, r2;
    r1.status = malloc(n + 1);
    r1.matched = malloc(4 * n + 4);
    r2.status = malloc(n + 1);
    r2.matched = malloc(4 * n + 4);
    CHECK_EQ_INT(dg__permute_u8_ref(ctx, &pm, s1, r1.status), DG_OK);
    CHECK_EQ_INT(dg__permute_i32_ref(ctx, &pm, m1, r1.matched), DG_OK);
    st = dg__cl_accumulate(ctx, &pm, s1, m1, r2.status, r2.matched);
    if (st != DG_OK)
        fprintf(stderr, "%s: %s\n", label, dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    if (st == DG_OK) {
        int same_acc = !memcmp(r1.status, r2.status, n) &&
                       !memcmp(r1.matched, r2.matched, 4 * n);
        CHECK(same_acc);
        if (!same_acc)
            report_diff("accumulate", label, n_iou, c->dt.n, r1.status,
                        r1.matched, r2.status, r2.matched);
    }
    free(r2.status);
    free(r2.matched);
    free(r1.status);
    free(r1.matched);
    free(order);
    dg__cl_set_batch_bytes(ctx, 0);
    free(s1);
    free(s2);
    free(m1);
    free(m2);
    n_compared++;
}

/* Each chunk at the default budget and at two tiny ones. */
static void compare_all(const char *label, chunk *c, const double *iou,
                        int n_iou)
{
    compare(label, c, iou, n_iou, 0);
    compare(label, c, iou, n_iou, 3000);
    compare(label, c, iou, n_iou, 40000);
}

/* ---- random chunks ------------------------------------------------------- */

static void random_chunk(chunk *c, uint64_t seed)
{
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    uint32_t nf = rnd_below(12);
    uint32_t ncls = (seed % 17 == 0) ? 300 : 1 + rnd_below(6);
    int grid_mode = (int)(seed % 3 == 0); /* small integers: many ties */
    uint32_t levels = seed % 4 == 1 ? 3 : 0; /* few score levels: ties */
    double crowd_p = rnd_unit() * 0.2, ign_p = rnd_unit() * 0.2;
    double lim = grid_mode ? 8 : 100;

    chunk_init(c, nf, ncls);
    for (uint32_t f = 0; f < nf; f++) {
        uint32_t ng = rnd_below(14), nd = rnd_below(30);
        if (rnd_below(8) == 0)
            ng = 0;
        if (rnd_below(8) == 0)
            nd = 0;
        uint64_t g_first = c->gt.n;
        for (uint32_t j = 0; j < ng; j++) {
            double x = coord(grid_mode, lim), y = coord(grid_mode, lim);
            double w = coord(grid_mode, lim / 2) + (grid_mode ? 0 : 1);
            double h = coord(grid_mode, lim / 2) + (grid_mode ? 0 : 1);
            if (rnd_below(30) == 0)
                w = 0; /* zero area */
            int crowd = rnd_unit() < crowd_p;
            int ign = rnd_unit() < ign_p;
            add_gt(c, rnd_below(ncls), x, y, w, h, crowd, ign);
        }
        for (uint32_t i = 0; i < nd; i++) {
            double x, y, w, h;
            uint32_t cls;
            if (ng && rnd_below(4) != 0) {
                /* Near a ground truth, often of its class. */
                uint64_t j = g_first + rnd_below(ng);
                double jit = grid_mode ? 1 : c->gt.w[j] * 0.3 + 1;
                x = c->gt.x[j] + (grid_mode ? (double)rnd_below(3) - 1
                                            : (rnd_unit() - 0.5) * jit);
                y = c->gt.y[j] + (grid_mode ? (double)rnd_below(3) - 1
                                            : (rnd_unit() - 0.5) * jit);
                w = c->gt.w[j] + (grid_mode ? (double)rnd_below(3) - 1
                                            : (rnd_unit() - 0.5) * jit);
                h = c->gt.h[j] + (grid_mode ? (double)rnd_below(3) - 1
                                            : (rnd_unit() - 0.5) * jit);
                cls = rnd_below(5) ? c->gt.cls[j] : rnd_below(ncls);
            } else {
                x = coord(grid_mode, lim);
                y = coord(grid_mode, lim);
                w = coord(grid_mode, lim / 2) + 1;
                h = coord(grid_mode, lim / 2) + 1;
                cls = rnd_below(ncls);
            }
            if (rnd_below(40) == 0)
                h = 0; /* zero area */
            double score = levels ? (double)rnd_below(levels) / levels
                                  : rnd_unit();
            add_dt(c, cls, x, y, w, h, score);
        }
        next_frame(c);
    }
}

/* ---- adversarial chunks ------------------------------------------------- */

/*
 * Boxes whose IoU is exactly i / 20 in double: a ground truth [0, i] x
 * [0, 1] inside a detection [0, 20] x [0, 1] (intersection i, union 20),
 * so at threshold i / 20 the comparison is an exact tie.
 */
static void exact_chunk(chunk *c)
{
    chunk_init(c, 4, 2);
    /* Frame 0: one pair per threshold, each alone in its class... */
    for (int i = 1; i <= 20; i++) {
        double oy = 3.0 * i;
        add_gt(c, 0, 0, oy, i, 1, 0, 0);
        add_dt(c, 0, 0, oy, 20, 1, 0.5);
        double v = dg__iou(0, oy, 20, 1, 0, oy, i, 1, 0);
        CHECK_EQ_DBL(v, i / 20.0);
        if (i < 20)
            CHECK_EQ_DBL(v, grid[i - 1]);
    }
    next_frame(c);
    /* Frame 1: two ground truths tie at exactly 0.5 for each detection;
     * the later one must win. x 0..2 vs 1..3 style: [0,2] against [0,1]
     * and [1,2]. */
    for (int k = 0; k < 3; k++) {
        add_gt(c, 1, 0, 0, 1, 1, 0, 0);
        add_gt(c, 1, 1, 0, 1, 1, 0, 0);
        add_dt(c, 1, 0, 0, 2, 1, 0.9);
    }
    CHECK_EQ_DBL(dg__iou(0, 0, 2, 1, 0, 0, 1, 1, 0), 0.5);
    CHECK_EQ_DBL(dg__iou(0, 0, 2, 1, 1, 0, 1, 1, 0), 0.5);
    next_frame(c);
    /* Frame 2: crowd and ignore at exactly 0.5 (crowd: intersection over
     * detection area), mixed with regular ties. */
    add_gt(c, 0, 0, 0, 1, 1, 1, 0); /* crowd: 1 / 2 */
    add_gt(c, 0, 1, 0, 1, 1, 0, 1); /* ignored: 1 / 2 */
    add_gt(c, 0, 0, 0, 1, 1, 0, 0); /* regular: 1 / 2 */
    add_gt(c, 0, 1, 0, 1, 1, 0, 0); /* regular: 1 / 2 */
    for (int k = 0; k < 6; k++)
        add_dt(c, 0, 0, 0, 2, 1, 0.7);
    add_dt(c, 0, 0, 0, 1, 1, 0.7); /* IoU 1 with crowd and regular */
    CHECK_EQ_DBL(dg__iou(0, 0, 2, 1, 0, 0, 1, 1, 1), 0.5);
    next_frame(c);
    /* Frame 3: 1 / 3 and 2 / 3 style values near 0.35 and 0.65. */
    add_gt(c, 0, 0, 0, 2, 1, 0, 0);
    add_dt(c, 0, 1, 0, 2, 1, 0.3);
    add_gt(c, 0, 0, 5, 3, 1, 0, 0);
    add_dt(c, 0, 1, 5, 2, 1, 0.3);
    next_frame(c);
}

/* All detections share one score; ground truths overlap heavily. */
static void equal_scores_chunk(chunk *c)
{
    rng_state = 77;
    chunk_init(c, 3, 2);
    for (uint32_t f = 0; f < 3; f++) {
        for (int j = 0; j < 40; j++)
            add_gt(c, j % 2, (double)rnd_below(6), (double)rnd_below(6),
                   2 + (double)rnd_below(3), 2 + (double)rnd_below(3),
                   rnd_below(10) == 0, rnd_below(10) == 0);
        for (int i = 0; i < 200; i++)
            add_dt(c, i % 2, (double)rnd_below(6), (double)rnd_below(6),
                   2 + (double)rnd_below(3), 2 + (double)rnd_below(3), 0.25);
        next_frame(c);
    }
}

/* One frame of >= 3000 detections and >= 2000 ground truths, one class
 * mostly, plus a few others. */
static void big_frame_chunk(chunk *c)
{
    rng_state = 4242;
    chunk_init(c, 3, 3);
    next_frame(c); /* an empty frame first */
    for (int j = 0; j < 2100; j++)
        add_gt(c, j < 2000 ? 0 : 1 + (j & 1), rnd_unit() * 1000,
               rnd_unit() * 1000, 10 + rnd_unit() * 60, 10 + rnd_unit() * 60,
               rnd_below(50) == 0, rnd_below(40) == 0);
    for (int i = 0; i < 3200; i++) {
        uint64_t j = rnd_below(2100);
        add_dt(c, rnd_below(20) ? c->gt.cls[j] : 0,
               c->gt.x[j] + (rnd_unit() - 0.5) * 10,
               c->gt.y[j] + (rnd_unit() - 0.5) * 10,
               c->gt.w[j] + (rnd_unit() - 0.5) * 10,
               c->gt.h[j] + (rnd_unit() - 0.5) * 10,
               (double)rnd_below(1000) / 1000);
    }
    next_frame(c);
    add_gt(c, 0, 0, 0, 10, 10, 0, 0); /* only ground truth */
    next_frame(c);
}

/* Frames with only labels, only detections, nothing; 300 classes. */
static void sparse_chunk(chunk *c)
{
    rng_state = 99;
    chunk_init(c, 8, 300);
    for (uint32_t f = 0; f < 8; f++) {
        int mode = (int)(f % 4); /* 0 empty, 1 gt only, 2 dt only, 3 both */
        if (mode & 1)
            for (int j = 0; j < 50; j++)
                add_gt(c, rnd_below(300), rnd_unit() * 50, rnd_unit() * 50,
                       5 + rnd_unit() * 20, 5 + rnd_unit() * 20,
                       rnd_below(8) == 0, rnd_below(8) == 0);
        if (mode & 2) {
            uint64_t g0 = c->gt.frame_off[f];
            for (int i = 0; i < 120; i++) {
                if (mode == 3 && rnd_below(3)) {
                    uint64_t j = g0 + rnd_below(50);
                    add_dt(c, c->gt.cls[j], c->gt.x[j] + rnd_unit(),
                           c->gt.y[j] + rnd_unit(), c->gt.w[j], c->gt.h[j],
                           rnd_unit());
                } else {
                    add_dt(c, rnd_below(300), rnd_unit() * 50,
                           rnd_unit() * 50, 5 + rnd_unit() * 20,
                           5 + rnd_unit() * 20, rnd_unit());
                }
            }
        }
        next_frame(c);
    }
}

/*
 * Odd but legal inputs: boxes before the first frame (frame_off[0] > 0:
 * neither matcher may touch their cells), negative and zero sizes, class
 * ids at or beyond n_classes, infinite scores.
 */
static void odd_chunk(chunk *c)
{
    rng_state = 5;
    chunk_init(c, 5, 2);
    for (int k = 0; k < 4; k++) {
        add_gt(c, 0, 0, 0, 5, 5, 0, 0);
        add_dt(c, 0, 0, 0, 5, 5, 1.0);
    }
    c->gt.frame_off[0] = c->gt.n;
    c->dt.frame_off[0] = c->dt.n;
    for (uint32_t f = 0; f < 3; f++) {
        for (int j = 0; j < 12; j++)
            add_gt(c, rnd_below(4), (double)rnd_below(5), (double)rnd_below(5),
                   (double)rnd_below(5) - 1, (double)rnd_below(5) - 1,
                   rnd_below(4) == 0, rnd_below(4) == 0);
        for (int i = 0; i < 30; i++)
            add_dt(c, rnd_below(4), (double)rnd_below(5), (double)rnd_below(5),
                   (double)rnd_below(5) - 1, (double)rnd_below(5) - 1,
                   i % 7 == 0 ? INFINITY : (i % 5 == 0 ? -INFINITY : 0.5));
        next_frame(c);
    }
    /*
     * NaN IoUs (a NaN width, an infinite box): a NaN best makes every later
     * ground truth compare as not below it, which the device's candidate
     * lists must reproduce.
     */
    for (int rep = 0; rep < 2; rep++) {
        add_gt(c, 0, 0, 0, 4, 4, 0, 0);
        add_gt(c, 0, 0, 0, NAN, 4, 0, 0);
        add_gt(c, 0, 50, 50, 4, 4, 0, 0); /* far away: IoU 0 */
        add_gt(c, 0, 1, 0, 4, 4, 0, 0);
        add_gt(c, 0, 60, 60, 4, 4, 0, 1); /* ignored, far away */
        add_gt(c, 0, -INFINITY, 0, INFINITY, 4, 1, 0);
        add_gt(c, 1, 70, 70, 4, 4, 0, 0);
        add_gt(c, 1, 0, 0, 4, 4, 0, 0);
        for (int i = 0; i < 6; i++)
            add_dt(c, i % 2, 0.5 * i, 0, 4, 4, 0.9 - 0.1 * i);
        add_dt(c, 1, NAN, 0, 4, 4, 0.95);
        CHECK(isnan(dg__iou(0, 0, 4, 4, 0, 0, NAN, 4, 0)));
        next_frame(c);
    }
}

/* ---- main ------------------------------------------------------------------ */

int main(void)
{
    double t_start = dg__now();
    grid_init(grid);

    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    int rc = device_open(ctx, "");
    if (rc) {
        dg_ctx_free(ctx);
        return rc;
    }

    chunk c;
    char label[64];

    exact_chunk(&c);
    compare_all("exact", &c, grid, 20);
    /* Single thresholds right at the constructed IoUs. */
    for (int i = 0; i < 20; i++) {
        snprintf(label, sizeof(label), "exact@%d", i);
        compare(label, &c, &grid[i], 1, 0);
    }
    chunk_free(&c);

    equal_scores_chunk(&c);
    compare_all("equal-scores", &c, grid, 20);
    chunk_free(&c);

    sparse_chunk(&c);
    compare_all("sparse-300-classes", &c, grid, 20);
    compare("sparse-300-classes", &c, grid, 20, 3000);
    CHECK(DG_CL(ctx)->last_batches > 1); /* the budget split it */
    chunk_free(&c);

    odd_chunk(&c);
    compare_all("odd", &c, grid, 20);
    chunk_free(&c);

    /* A chunk with no frames and one with frames but no boxes. */
    chunk_init(&c, 0, 1);
    compare("no-frames", &c, grid, 20, 0);
    chunk_free(&c);
    chunk_init(&c, 5, 1);
    for (int f = 0; f < 5; f++)
        next_frame(&c);
    compare("empty-frames", &c, grid, 20, 0);
    chunk_free(&c);

    double t_big = dg__now();
    big_frame_chunk(&c);
    compare("big-frame", &c, grid, 20, 0);
    /* The budget forces its IoU matrix onto the on-the-fly path. */
    compare("big-frame-small-budget", &c, grid, 20, 1 << 20);
    CHECK(DG_CL(ctx)->last_fly_groups > 0);
    chunk_free(&c);
    t_big = dg__now() - t_big;

    /* Random chunks; a few with 1 or all 101 thresholds. */
    double many[DG_MAX_IOU_THRESHOLDS];
    many_init(many);
    static const double zero[3] = {0.5, 0.0, -0.25};
    int seeds = 0;
    for (uint64_t seed = 1; seed <= 240; seed++, seeds++) {
        random_chunk(&c, seed);
        snprintf(label, sizeof(label), "seed %llu", (unsigned long long)seed);
        if (seed % 50 == 0)
            compare(label, &c, many, DG_MAX_IOU_THRESHOLDS, 0);
        else if (seed % 20 == 0)
            compare(label, &c, zero, 3, 0); /* IoU 0 itself matches */
        else if (seed % 25 == 0)
            compare(label, &c, &grid[9], 1, 0);
        else
            compare_all(label, &c, grid, 20);
        chunk_free(&c);
        if (check_failures > 20)
            break;
    }

    /* Several calls on one context reuse its buffers. */
    CHECK(DG_CL(ctx)->bufs[DG_CL_BUF_DBOX].mem != NULL);

    printf("%d comparisons (%d random seeds), big frame %.2f s, total "
           "%.2f s\n",
           n_compared, seeds, t_big, dg__now() - t_start);
    dg_ctx_free(ctx);
    return check_done("test-cl-diff");
}
