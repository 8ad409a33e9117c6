/*
 * Class-agnostic matching (the confusion matrix's): hand-checked cases of
 * dg__match_agnostic_ref, then the OpenCL engine (dg__cl_match_agnostic)
 * against the reference, byte for byte, on random and adversarial chunks:
 * equal IoU across classes, the same-class and lower-index tie-breaks,
 * crowd and ignored overlaps, IoUs exactly at thresholds, empty frames and
 * a frame with thousands of boxes. Each device comparison runs at the
 * default batch budget and at tiny ones (many batches, IoUs on the fly).
 *
 * Exit 0 on success, 1 on a difference, 77 when no OpenCL device exists
 * (after the reference checks passed).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"

static double grid[20]; /* grid_init */

/* The reference's agnostic rows for c (cells it does not own: 0x5a5a5a5a). */
static int32_t *run_ref(dg_ctx *ctx, chunk *c, const double *iou, int n_iou)
{
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, n_iou,
                         iou};
    size_t n = (size_t)n_iou * c->dt.n;
    int32_t *a = xrealloc(NULL, 4 * n);
    memset(a, 0x5a, 4 * n);
    CHECK_EQ_INT(dg__match_agnostic_ref(ctx, &in, a), DG_OK);
    return a;
}

/* ---- hand-checked cases ---------------------------------------------------- */

static void hand_cases(dg_ctx *ctx)
{
    chunk c;
    chunk_init(&c, 9, 4);
    double t5[2] = {0.5, 0.55};

    /* Frame 0: identical boxes of classes 0 and 1 (equal IoU across
     * classes). The class-1 detection (higher score) takes the class-1 box
     * although the class-0 box comes first; the class-0 one takes the
     * other. */
    uint64_t g0 = add_gt(&c, 0, 0, 0, 10, 10, 0, 0);
    uint64_t g1 = add_gt(&c, 1, 0, 0, 10, 10, 0, 0);
    uint64_t d0 = add_dt(&c, 1, 0, 0, 10, 10, 0.9);
    uint64_t d1 = add_dt(&c, 0, 0, 0, 10, 10, 0.8);
    next_frame(&c);
    /* Frame 1: equal IoU, neither of the detection's class, then two of
     * its class: the lower index wins (unlike class-wise matching). */
    uint64_t g2 = add_gt(&c, 2, 20, 0, 10, 10, 0, 0);
    add_gt(&c, 3, 20, 0, 10, 10, 0, 0);
    uint64_t d2 = add_dt(&c, 0, 20, 0, 10, 10, 0.7);
    uint64_t g4 = add_gt(&c, 0, 40, 0, 10, 10, 0, 0);
    add_gt(&c, 0, 40, 0, 10, 10, 0, 0);
    uint64_t d3 = add_dt(&c, 0, 40, 0, 10, 10, 0.7);
    next_frame(&c);
    /* Frame 2: a higher IoU beats the same class. */
    uint64_t g6 = add_gt(&c, 1, 0, 0, 10, 10, 0, 0);  /* IoU 1 */
    add_gt(&c, 0, 0, 0, 10, 12, 0, 0);                /* IoU 10/12 */
    uint64_t d4 = add_dt(&c, 0, 0, 0, 10, 10, 0.6);
    next_frame(&c);
    /* Frame 3: score order across classes; a taken ground truth leaves the
     * next detection on background; equal scores keep input order. */
    uint64_t g8 = add_gt(&c, 0, 0, 0, 10, 10, 0, 0);
    uint64_t d5 = add_dt(&c, 0, 0, 0, 10, 10, 0.5);
    uint64_t d6 = add_dt(&c, 1, 0, 0, 10, 10, 0.9);
    uint64_t g9 = add_gt(&c, 2, 50, 0, 10, 10, 0, 0);
    uint64_t d7 = add_dt(&c, 3, 50, 0, 10, 10, 0.4);
    uint64_t d8 = add_dt(&c, 2, 50, 0, 10, 10, 0.4);
    next_frame(&c);
    /* Frame 4: crowd of another class at IoU exactly 0.5 (intersection
     * over detection area); an ignored box (IoU 0.5 as union); crowd and
     * ignored boxes never take anything. */
    add_gt(&c, 3, 0, 0, 1, 1, 1, 0);
    uint64_t d9 = add_dt(&c, 0, 0, 0, 2, 1, 0.9);
    uint64_t d10 = add_dt(&c, 1, 0, 0, 2, 1, 0.8);
    add_gt(&c, 2, 10, 0, 2, 1, 0, 1);
    uint64_t d11 = add_dt(&c, 2, 10, 0, 1, 1, 0.7);
    next_frame(&c);
    /* Frame 5: only ground truth; frame 6: nothing; frame 7: only
     * detections. */
    add_gt(&c, 0, 0, 0, 5, 5, 0, 0);
    next_frame(&c);
    next_frame(&c);
    uint64_t d12 = add_dt(&c, 0, 0, 0, 5, 5, 1.0);
    next_frame(&c);
    /* Frame 8: a regular ground truth beats an overlapping crowd. */
    add_gt(&c, 0, 0, 0, 10, 10, 1, 0);
    uint64_t g12 = add_gt(&c, 1, 0, 0, 10, 10, 0, 0);
    uint64_t d13 = add_dt(&c, 0, 0, 0, 10, 10, 0.9);
    uint64_t d14 = add_dt(&c, 0, 0, 0, 10, 10, 0.8);
    next_frame(&c);
    CHECK_EQ_DBL(dg__iou(0, 0, 2, 1, 0, 0, 1, 1, 1), 0.5);
    CHECK_EQ_DBL(dg__iou(10, 0, 1, 1, 10, 0, 2, 1, 0), 0.5);

    int32_t *a = run_ref(ctx, &c, t5, 2);
    size_t n = c.dt.n;
#define AT(t, d) a[(size_t)(t) * n + (d)]
    CHECK_EQ_INT(AT(0, d0), (int64_t)g1);
    CHECK_EQ_INT(AT(0, d1), (int64_t)g0);
    CHECK_EQ_INT(AT(0, d2), (int64_t)g2);
    CHECK_EQ_INT(AT(0, d3), (int64_t)g4);
    CHECK_EQ_INT(AT(0, d4), (int64_t)g6);
    CHECK_EQ_INT(AT(0, d6), (int64_t)g8);
    CHECK_EQ_INT(AT(0, d5), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(0, d7), (int64_t)g9);
    CHECK_EQ_INT(AT(0, d8), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(0, d9), DG_AGN_IGNORED);
    CHECK_EQ_INT(AT(0, d10), DG_AGN_IGNORED);
    CHECK_EQ_INT(AT(0, d11), DG_AGN_IGNORED);
    CHECK_EQ_INT(AT(1, d9), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(1, d10), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(1, d11), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(0, d12), DG_AGN_BACKGROUND);
    CHECK_EQ_INT(AT(0, d13), (int64_t)g12);
    CHECK_EQ_INT(AT(0, d14), DG_AGN_IGNORED);
#undef AT
    free(a);
    chunk_free(&c);

    /* IoU exactly i / 20 against each grid threshold: taken up to i / 20,
     * background above. */
    chunk_init(&c, 1, 2);
    for (int i = 1; i <= 20; i++) {
        double oy = 3.0 * i;
        add_gt(&c, (uint32_t)(i & 1), 0, oy, i, 1, 0, 0);
        add_dt(&c, 0, 0, oy, 20, 1, 0.5);
        CHECK_EQ_DBL(dg__iou(0, oy, 20, 1, 0, oy, i, 1, 0), i / 20.0);
    }
    next_frame(&c);
    a = run_ref(ctx, &c, grid, 20);
    for (int t = 0; t < 20; t++)
        for (int i = 1; i <= 20; i++)
            CHECK_EQ_INT(a[(size_t)t * 20 + (i - 1)],
                         grid[t] <= i / 20.0 ? i - 1 : DG_AGN_BACKGROUND);
    free(a);
    chunk_free(&c);
}

/* ---- device comparisons ---------------------------------------------------- */

static int n_compared;

static void compare(dg_ctx *ctx, const char *label, chunk *c,
                    const double *iou, int n_iou, uint64_t batch_bytes)
{
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, n_iou,
                         iou};
    size_t n = (size_t)n_iou * c->dt.n;
    int32_t *a1 = run_ref(ctx, c, iou, n_iou);
    int32_t *a2 = xrealloc(NULL, 4 * n);
    memset(a2, 0x5a, 4 * n);
    dg__cl_set_batch_bytes(ctx, batch_bytes);
    dg_status st = dg__cl_match_agnostic(ctx, &in, a2);
    dg__cl_set_batch_bytes(ctx, 0);
    if (st != DG_OK)
        fprintf(stderr, "%s: %s\n", label, dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    int same = !memcmp(a1, a2, 4 * n);
    CHECK(same);
    if (!same)
        for (size_t k = 0; k < n; k++)
            if (a1[k] != a2[k]) {
                fprintf(stderr,
                        "%s (budget %llu): first difference at threshold "
                        "%zu, detection %zu: reference %d, device %d\n",
                        label, (unsigned long long)batch_bytes,
                        k / c->dt.n, k % c->dt.n, (int)a1[k], (int)a2[k]);
                break;
            }
    free(a1);
    free(a2);
    n_compared++;
}

static void compare_all(dg_ctx *ctx, const char *label, chunk *c,
                        const double *iou, int n_iou)
{
    compare(ctx, label, c, iou, n_iou, 0);
    compare(ctx, label, c, iou, n_iou, 3000);
    compare(ctx, label, c, iou, n_iou, 40000);
}

/* Frames of boxes near each other, detections often of another class. */
static void random_chunk(chunk *c, uint64_t seed)
{
    rng_state = seed * 0x2545f4914f6cdd1dULL + 7;
    uint32_t nf = rnd_below(12);
    uint32_t ncls = seed % 13 == 0 ? 200 : 1 + rnd_below(5);
    int grid_mode = (int)(seed % 3 == 0); /* small integers: IoU ties */
    uint32_t levels = seed % 4 == 1 ? 3 : 0; /* score ties */
    double crowd_p = rnd_unit() * 0.2, ign_p = rnd_unit() * 0.2;
    double confuse = rnd_unit() * 0.6;
    double lim = grid_mode ? 8 : 100;

    chunk_init(c, nf, ncls);
    for (uint32_t f = 0; f < nf; f++) {
        uint32_t ng = rnd_below(16), nd = rnd_below(40);
        if (rnd_below(8) == 0)
            ng = 0;
        if (rnd_below(8) == 0)
            nd = 0;
        if (seed % 11 == 0 && f == 0)
            ng = 90; /* more than 64 regular ground truths in a frame */
        uint64_t g_first = c->gt.n;
        for (uint32_t j = 0; j < ng; j++) {
            double x = coord(grid_mode, lim), y = coord(grid_mode, lim);
            double w = coord(grid_mode, lim / 2) + (grid_mode ? 0 : 1);
            double h = coord(grid_mode, lim / 2) + (grid_mode ? 0 : 1);
            if (rnd_below(30) == 0)
                w = 0;
            add_gt(c, rnd_below(ncls), x, y, w, h, rnd_unit() < crowd_p,
                   rnd_unit() < ign_p);
        }
        for (uint32_t i = 0; i < nd; i++) {
            double x, y, w, h;
            uint32_t cls;
            if (ng && rnd_below(4) != 0) {
                uint64_t j = g_first + rnd_below(ng);
                if (rnd_below(3) == 0) {
                    /* An exact copy: IoU 1 ties with duplicates. */
                    x = c->gt.x[j];
                    y = c->gt.y[j];
                    w = c->gt.w[j];
                    h = c->gt.h[j];
                } else {
                    double jit = grid_mode ? 1 : c->gt.w[j] * 0.3 + 1;
                    x = c->gt.x[j] + (grid_mode ? (double)rnd_below(3) - 1
                                                : (rnd_unit() - 0.5) * jit);
                    y = c->gt.y[j] + (grid_mode ? (double)rnd_below(3) - 1
                                                : (rnd_unit() - 0.5) * jit);
                    w = c->gt.w[j] + (grid_mode ? (double)rnd_below(3) - 1
                                                : (rnd_unit() - 0.5) * jit);
                    h = c->gt.h[j] + (grid_mode ? (double)rnd_below(3) - 1
                                                : (rnd_unit() - 0.5) * jit);
                }
                cls = rnd_unit() < confuse ? rnd_below(ncls) : c->gt.cls[j];
            } else {
                x = coord(grid_mode, lim);
                y = coord(grid_mode, lim);
                w = coord(grid_mode, lim / 2) + 1;
                h = coord(grid_mode, lim / 2) + 1;
                cls = rnd_below(ncls);
            }
            if (rnd_below(40) == 0)
                h = 0;
            double score = levels ? (double)rnd_below(levels) / levels
                                  : rnd_unit();
            add_dt(c, cls, x, y, w, h, score);
        }
        next_frame(c);
    }
}

/* Duplicated ground truths of several classes on a grid of integers: IoU
 * ties across classes everywhere; all scores equal. */
static void ties_chunk(chunk *c)
{
    rng_state = 31337;
    chunk_init(c, 3, 4);
    for (uint32_t f = 0; f < 3; f++) {
        for (int j = 0; j < 30; j++) {
            double x = (double)rnd_below(5), y = (double)rnd_below(5);
            double w = 2 + (double)rnd_below(3), h = 2 + (double)rnd_below(3);
            add_gt(c, (uint32_t)(j % 4), x, y, w, h, rnd_below(12) == 0,
                   rnd_below(12) == 0);
            add_gt(c, (uint32_t)((j + 1) % 4), x, y, w, h, 0, 0);
        }
        for (int i = 0; i < 150; i++)
            add_dt(c, (uint32_t)(i % 4), (double)rnd_below(5),
                   (double)rnd_below(5), 2 + (double)rnd_below(3),
                   2 + (double)rnd_below(3), 0.25);
        next_frame(c);
    }
}

/* One frame of thousands of boxes of a few classes, between empty ones. */
static void big_frame_chunk(chunk *c)
{
    rng_state = 4242;
    chunk_init(c, 3, 5);
    next_frame(c);
    for (int j = 0; j < 2500; j++)
        add_gt(c, rnd_below(5), rnd_unit() * 1000, rnd_unit() * 1000,
               10 + rnd_unit() * 60, 10 + rnd_unit() * 60, rnd_below(50) == 0,
               rnd_below(40) == 0);
    for (int i = 0; i < 3500; i++) {
        uint64_t j = rnd_below(2500);
        add_dt(c, rnd_below(3) ? c->gt.cls[j] : rnd_below(5),
               c->gt.x[j] + (rnd_unit() - 0.5) * 10,
               c->gt.y[j] + (rnd_unit() - 0.5) * 10,
               c->gt.w[j] + (rnd_unit() - 0.5) * 10,
               c->gt.h[j] + (rnd_unit() - 0.5) * 10,
               (double)rnd_below(1000) / 1000);
    }
    next_frame(c);
    next_frame(c);
}

/* ---- main ------------------------------------------------------------------ */

int main(void)
{
    double t_start = dg__now();
    dg_ctx *ctx;
    grid_init(grid);
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;

    hand_cases(ctx);
    if (check_failures)
        return check_done("test-confusion");

    int rc = device_open(ctx, "reference checks passed; ");
    if (rc == 77)
        check_done("test-confusion");
    if (rc) {
        dg_ctx_free(ctx);
        return rc;
    }

    chunk c;
    char label[64];
    /* The hand cases once more, on the device. */
    {
        chunk_init(&c, 1, 2);
        for (int i = 1; i <= 20; i++) {
            add_gt(&c, (uint32_t)(i & 1), 0, 3.0 * i, i, 1, 0, 0);
            add_dt(&c, 0, 0, 3.0 * i, 20, 1, 0.5);
        }
        next_frame(&c);
        compare_all(ctx, "exact", &c, grid, 20);
        for (int i = 0; i < 20; i++) {
            snprintf(label, sizeof(label), "exact@%d", i);
            compare(ctx, label, &c, &grid[i], 1, 0);
        }
        chunk_free(&c);
    }
    ties_chunk(&c);
    compare_all(ctx, "ties", &c, grid, 20);
    chunk_free(&c);

    chunk_init(&c, 0, 1);
    compare(ctx, "no-frames", &c, grid, 20, 0);
    chunk_free(&c);
    chunk_init(&c, 6, 1);
    for (int f = 0; f < 6; f++)
        next_frame(&c);
    compare(ctx, "empty-frames", &c, grid, 20, 0);
    chunk_free(&c);

    double t_big = dg__now();
    big_frame_chunk(&c);
    compare(ctx, "big-frame", &c, grid, 20, 0);
    compare(ctx, "big-frame-small-budget", &c, grid, 20, 1 << 20);
    chunk_free(&c);
    t_big = dg__now() - t_big;

    double many[DG_MAX_IOU_THRESHOLDS];
    many_init(many);
    static const double odd[3] = {0.5, 0.0, -0.25};
    int seeds = 0;
    for (uint64_t seed = 1; seed <= 150; seed++, seeds++) {
        random_chunk(&c, seed);
        snprintf(label, sizeof(label), "seed %llu", (unsigned long long)seed);
        if (seed % 50 == 0)
            compare(ctx, label, &c, many, DG_MAX_IOU_THRESHOLDS, 0);
        else if (seed % 20 == 0)
            compare(ctx, label, &c, odd, 3, 0); /* IoU 0 itself matches */
        else if (seed % 25 == 0)
            compare(ctx, label, &c, &grid[9], 1, 0);
        else
            compare_all(ctx, label, &c, grid, 20);
        chunk_free(&c);
        if (check_failures > 20)
            break;
    }
    printf("%d comparisons (%d random seeds), big frame %.2f s, total "
           "%.2f s\n",
           n_compared, seeds, t_big, dg__now() - t_start);
    dg_ctx_free(ctx);
    return check_done("test-confusion");
}
