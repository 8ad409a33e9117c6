/*
 * Class-agnostic matching (the confusion matrix's): hand-checked cases of
 * the oracle dg__match_agnostic_ref: equal IoU across classes, the
 * same-class and lower-index tie-breaks, crowd and ignored overlaps, IoUs
 * exactly at thresholds. The reference path's matcher is held to this
 * oracle by test-frames.c, the device to the reference path by
 * test-cl-diff.c.
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
                         iou, NULL, NULL};
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

/* ---- main ------------------------------------------------------------------ */

int main(void)
{
    dg_ctx *ctx;
    grid_init(grid);
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;

    hand_cases(ctx);

    dg_ctx_free(ctx);
    return check_done("test-confusion");
}
