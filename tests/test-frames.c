/*
 * The reference path's matcher (dg__match_frames_ref, host/ref/frames_ref.c)
 * against the two oracles (dg__match_ref, class-wise; dg__match_agnostic_ref,
 * class-agnostic), byte for byte, on random and adversarial chunks: exact
 * IoU ties at thresholds, mass score ties, crowd and ignored labels, NaN
 * and infinite boxes, empty frames, boxes outside the chunk's frames, a
 * frame of 5,000 detections and 500 labels, thresholds out of order and
 * at or below zero. Then the rest of its contract: outcomes at sorted
 * positions, label_base, class-wise only, IoU tiles from an earlier stage
 * (the boxes' own IoUs, and arbitrary values with NaNs, against the
 * oracles reading the same tiles), one thread or several. Needs no OpenCL.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"

static dg_ctx *ctx;
static double grid[20];
static int n_compared;

/* The oracles' tables for in. */
static void oracles(const dg_match_input *in, tables *o)
{
    dg_match_output mo = {o->s, o->m, NULL, NULL, 0};
    CHECK_EQ_INT(dg__match_ref(ctx, in, &mo), DG_OK);
    CHECK_EQ_INT(dg__match_agnostic_ref(ctx, in, o->a), DG_OK);
}

/* The reference path with threads threads, class-wise only unless agn. */
static dg_status frames(const dg_match_input *in, tables *r, unsigned threads,
                        int agn)
{
    dg_ctx_set_threads(ctx, threads);
    dg_match_output out = {r->s, r->m, agn ? r->a : NULL, NULL, 0};
    dg_status st = dg__match_frames_ref(ctx, in, &out);
    dg_ctx_set_threads(ctx, 0);
    return st;
}

/* Oracles against the reference path on c, with 1 and 3 threads. */
static void compare(const char *label, chunk *c, const double *iou, int n_iou)
{
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, n_iou,
                         iou, NULL, NULL};
    size_t n = (size_t)n_iou * c->dt.n;
    tables o, r;
    tables_init(&o, n, 0xab);
    oracles(&in, &o);
    for (unsigned th = 1; th <= 3; th += 2) {
        tables_init(&r, n, 0xab);
        CHECK_EQ_INT(frames(&in, &r, th, 1), DG_OK);
        int ok = tables_same(&o, &r);
        CHECK(ok);
        if (!ok)
            tables_first_diff(label, th == 1 ? "1 thread" : "3 threads", &o, &r,
                       c->dt.n);
        tables_free(&r);
    }
    tables_free(&o);
    n_compared++;
}

/*
 * The rest of the contract on c (whose chunk must be all of dt): sorted
 * positions and label_base; class-wise only; tiles of the boxes' IoUs;
 * tiles of other values.
 */
static void contract(const char *label, chunk *c)
{
    const double *iou = grid;
    int T = 19;
    uint64_t nd = c->dt.n;
    size_t n = (size_t)T * nd;
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, T, iou,
                         NULL, NULL};
    tables o, r;
    tables_init(&o, n, 0x11);
    oracles(&in, &o);

    /* A random permutation as sorted positions, and a label base. */
    uint32_t *pos = random_perm(nd);
    tables_init(&r, n, 0x22);
    dg_match_output out = {r.s, r.m, r.a, pos, 1000};
    CHECK_EQ_INT(dg__match_frames_ref(ctx, &in, &out), DG_OK);
    int ok = 1;
    for (int t = 0; t < T && ok; t++)
        for (uint64_t d = 0; d < nd && ok; d++) {
            size_t a = (size_t)t * nd + d, b = (size_t)t * nd + pos[d];
            ok = o.s[a] == r.s[b] &&
                 (o.m[a] < 0 ? r.m[b] == -1 : r.m[b] == o.m[a] + 1000) &&
                 (o.a[a] < 0 ? r.a[b] == o.a[a] : r.a[b] == o.a[a] + 1000);
            if (!ok)
                fprintf(stderr, "%s: sorted positions: threshold %d, "
                        "detection %llu differs\n", label, t,
                        (unsigned long long)d);
        }
    CHECK(ok);
    tables_free(&r);

    /* Class-wise only: the agnostic rows are not touched. */
    tables_init(&r, n, 0x33);
    CHECK_EQ_INT(frames(&in, &r, 2, 0), DG_OK);
    CHECK(!memcmp(r.s, o.s, n) && !memcmp(r.m, o.m, 4 * n));
    int untouched = 1;
    for (size_t k = 0; k < 4 * n; k++)
        untouched &= ((uint8_t *)r.a)[k] == 0x33;
    CHECK(untouched);
    tables_free(&r);

    /* Tiles of the boxes' own IoUs (crowd regions over the detection's
     * area): the same bytes. */
    uint32_t nf = c->n_frames;
    uint64_t *toff = xrealloc(NULL, ((size_t)nf + 1) * 8);
    toff[0] = 0;
    for (uint32_t f = 0; f < nf; f++) {
        uint64_t dn = c->dt.frame_off[f + 1] - c->dt.frame_off[f];
        uint64_t gn = c->gt.frame_off[f + 1] - c->gt.frame_off[f];
        toff[f + 1] = toff[f] + dn * gn + (f % 3 == 1 ? 5 : 0); /* gaps */
    }
    double *tile = xrealloc(NULL, toff[nf] * 8 + 8);
    for (uint32_t f = 0; f < nf; f++) {
        uint64_t d0 = c->dt.frame_off[f], g0 = c->gt.frame_off[f];
        uint64_t dn = c->dt.frame_off[f + 1] - d0;
        uint64_t gn = c->gt.frame_off[f + 1] - g0;
        for (uint64_t i = 0; i < dn; i++)
            for (uint64_t j = 0; j < gn; j++) {
                uint64_t d = d0 + i, g = g0 + j;
                tile[toff[f] + i * gn + j] =
                    dg__iou(c->dt.x[d], c->dt.y[d], c->dt.w[d], c->dt.h[d],
                            c->gt.x[g], c->gt.y[g], c->gt.w[g], c->gt.h[g],
                            c->gt.iscrowd[g]);
            }
    }
    dg_match_input tin = in;
    tin.iou_tile = tile;
    tin.tile_off = toff;
    tables_init(&r, n, 0xab);
    CHECK_EQ_INT(frames(&tin, &r, 3, 1), DG_OK);
    ok = tables_same(&o, &r);
    CHECK(ok);
    if (!ok)
        tables_first_diff(label, "box tiles", &o, &r, nd);
    tables_free(&r);

    /* Tiles of other values (a mask or keypoint stage's): the oracles read
     * the same tiles. Values on a coarse grid (ties), some NaN, some
     * above 1. */
    for (uint64_t k = 0; k < toff[nf]; k++) {
        uint32_t v = rnd_below(24);
        tile[k] = v == 23 ? NAN : v == 22 ? 1.5 : v / 20.0;
    }
    tables o2;
    tables_init(&o2, n, 0x44);
    tables_init(&r, n, 0x44);
    oracles(&tin, &o2);
    CHECK_EQ_INT(frames(&tin, &r, 3, 1), DG_OK);
    ok = tables_same(&o2, &r);
    CHECK(ok);
    if (!ok)
        tables_first_diff(label, "other tiles", &o2, &r, nd);
    tables_free(&o2);
    tables_free(&r);
    free(tile);
    free(toff);
    free(pos);
    tables_free(&o);
}

int main(void)
{
    double t_start = dg__now();
    grid_init(grid);
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    chunk c;
    char label[64];

    exact_chunk(&c, grid);
    compare("exact", &c, grid, 20);
    for (int i = 0; i < 20; i++) {
        snprintf(label, sizeof(label), "exact@%d", i);
        compare(label, &c, &grid[i], 1);
    }
    contract("exact", &c);
    chunk_free(&c);

    equal_scores_chunk(&c);
    compare("equal-scores", &c, grid, 20);
    contract("equal-scores", &c);
    chunk_free(&c);
    mass_ties_chunk(&c);
    compare("mass-ties", &c, grid, 20);
    contract("mass-ties", &c);
    chunk_free(&c);
    ties_chunk(&c);
    compare("ties", &c, grid, 20);
    chunk_free(&c);
    sparse_chunk(&c);
    compare("sparse-300-classes", &c, grid, 20);
    contract("sparse", &c);
    chunk_free(&c);
    odd_chunk(&c); /* boxes outside the frames, infinite scores, NaN */
    compare("odd", &c, grid, 20);
    chunk_free(&c);
    for (uint64_t seed = 1; seed <= 12; seed++) {
        nan_chunk(&c, seed);
        snprintf(label, sizeof(label), "nan %llu", (unsigned long long)seed);
        compare(label, &c, grid, 20);
        if (seed <= 3)
            contract(label, &c);
        chunk_free(&c);
    }

    chunk_init(&c, 0, 1);
    compare("no-frames", &c, grid, 20);
    chunk_free(&c);
    chunk_init(&c, 5, 1);
    for (int f = 0; f < 5; f++)
        next_frame(&c);
    compare("empty-frames", &c, grid, 20);
    chunk_free(&c);

    double t_big = dg__now();
    cw_big_frame_chunk(&c);
    compare("big-frame", &c, grid, 20);
    chunk_free(&c);
    agn_big_frame_chunk(&c);
    compare("agn-big-frame", &c, grid, 20);
    chunk_free(&c);
    huge_frame_chunk(&c);
    compare("5000x500", &c, grid, 19);
    contract("5000x500", &c);
    chunk_free(&c);
    t_big = dg__now() - t_big;

    int seeds = 0;
    for (uint64_t seed = 1; seed <= 400; seed++, seeds++) {
        const double *iou;
        int n_iou = seed_case(&c, seed, grid, &iou);
        snprintf(label, sizeof(label), "seed %llu", (unsigned long long)seed);
        compare(label, &c, iou, n_iou);
        if (seed % 10 == 3)
            contract(label, &c);
        chunk_free(&c);
        if (check_failures > 20)
            break;
    }
    printf("%d comparisons (%d random seeds), big frames %.2f s, total "
           "%.2f s\n",
           n_compared, seeds, t_big, dg__now() - t_start);
    dg_ctx_free(ctx);
    return check_done("test-frames");
}
