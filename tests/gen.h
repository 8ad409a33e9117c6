/*
 * Inputs for the tests of the matchers (test-frames.c: the reference path
 * against the oracles; test-cl-diff.c: the device against the reference
 * path): a reproducible random number generator, chunks of labels and
 * detections built box by box, frame by frame, and the random and
 * adversarial chunks both tests run. Needs no OpenCL (gen_cl.h opens the
 * device).
 */
#ifndef DG_TEST_GEN_H
#define DG_TEST_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"
#include "store.h"

/* ---- random numbers (splitmix64), reproducible across platforms ------------ */

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint32_t rnd_below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static inline double rnd_unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* A coordinate in [0, lim]: a small integer in grid mode (many IoU ties). */
static inline double coord(int grid_mode, double lim)
{
    return grid_mode ? (double)rnd_below((uint32_t)lim + 1) : rnd_unit() * lim;
}

/* ---- chunks built by hand -------------------------------------------------- */

typedef struct {
    uint32_t n_frames, n_classes;
    dg_boxset gt, dt;
    uint64_t gcap, dcap;
    uint32_t cur_frame; /* frame being appended to */
} chunk;

static inline void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return q;
}

static inline void grow(dg_boxset *b, uint64_t *cap, int labels)
{
    if (b->n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 64;
    b->frame = xrealloc(b->frame, *cap * sizeof(*b->frame));
    b->cls = xrealloc(b->cls, *cap * sizeof(*b->cls));
    b->x = xrealloc(b->x, *cap * sizeof(double));
    b->y = xrealloc(b->y, *cap * sizeof(double));
    b->w = xrealloc(b->w, *cap * sizeof(double));
    b->h = xrealloc(b->h, *cap * sizeof(double));
    if (labels) {
        b->area = xrealloc(b->area, *cap * sizeof(double));
        b->iscrowd = xrealloc(b->iscrowd, *cap);
        b->ignore = xrealloc(b->ignore, *cap);
    } else {
        b->score = xrealloc(b->score, *cap * sizeof(double));
    }
}

/* An empty chunk of n_frames frames; every frame_off starts at 0. */
static inline void chunk_init(chunk *c, uint32_t n_frames, uint32_t n_classes)
{
    memset(c, 0, sizeof(*c));
    c->n_frames = n_frames;
    c->n_classes = n_classes;
    c->gt.frame_off = xrealloc(NULL, (n_frames + 1) * sizeof(uint64_t));
    c->dt.frame_off = xrealloc(NULL, (n_frames + 1) * sizeof(uint64_t));
    memset(c->gt.frame_off, 0, (n_frames + 1) * sizeof(uint64_t));
    memset(c->dt.frame_off, 0, (n_frames + 1) * sizeof(uint64_t));
    grow(&c->gt, &c->gcap, 1);
    grow(&c->dt, &c->dcap, 0);
}

/*
 * Boxes are appended to the current frame, which next_frame() closes; each
 * returns the box's index.
 */
static inline uint64_t add_gt(chunk *c, uint32_t cls, double x, double y,
                              double w, double h, int crowd, int ignore)
{
    dg_boxset *b = &c->gt;
    grow(b, &c->gcap, 1);
    uint64_t i = b->n++;
    b->frame[i] = c->cur_frame;
    b->cls[i] = cls;
    b->x[i] = x;
    b->y[i] = y;
    b->w[i] = w;
    b->h[i] = h;
    b->area[i] = w * h;
    b->iscrowd[i] = (uint8_t)crowd;
    b->ignore[i] = (uint8_t)ignore;
    return i;
}

static inline uint64_t add_dt(chunk *c, uint32_t cls, double x, double y,
                              double w, double h, double score)
{
    dg_boxset *b = &c->dt;
    grow(b, &c->dcap, 0);
    uint64_t i = b->n++;
    b->frame[i] = c->cur_frame;
    b->cls[i] = cls;
    b->x[i] = x;
    b->y[i] = y;
    b->w[i] = w;
    b->h[i] = h;
    b->score[i] = score;
    return i;
}

static inline void next_frame(chunk *c)
{
    c->cur_frame++;
    c->gt.frame_off[c->cur_frame] = c->gt.n;
    c->dt.frame_off[c->cur_frame] = c->dt.n;
}

static inline void chunk_free(chunk *c)
{
    dg_boxset *b[2] = {&c->gt, &c->dt};
    for (int i = 0; i < 2; i++) {
        free(b[i]->frame);
        free(b[i]->cls);
        free(b[i]->x);
        free(b[i]->y);
        free(b[i]->w);
        free(b[i]->h);
        free(b[i]->score);
        free(b[i]->area);
        free(b[i]->iscrowd);
        free(b[i]->ignore);
        free(b[i]->frame_off);
    }
}


/* ---- random chunks ------------------------------------------------------- */

static inline void cw_random_chunk(chunk *c, uint64_t seed)
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

/* Frames of boxes near each other, detections often of another class. */
static inline void agn_random_chunk(chunk *c, uint64_t seed)
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

/* ---- adversarial chunks ------------------------------------------------- */

/*
 * Boxes whose IoU is exactly i / 20 in double: a ground truth [0, i] x
 * [0, 1] inside a detection [0, 20] x [0, 1] (intersection i, union 20),
 * so at threshold i / 20 the comparison is an exact tie.
 */
static inline void exact_chunk(chunk *c, const double *grid)
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
static inline void equal_scores_chunk(chunk *c)
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
static inline void cw_big_frame_chunk(chunk *c)
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
static inline void sparse_chunk(chunk *c)
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
static inline void odd_chunk(chunk *c)
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

/* Duplicated ground truths of several classes on a grid of integers: IoU
 * ties across classes everywhere; all scores equal. */
static inline void ties_chunk(chunk *c)
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
static inline void agn_big_frame_chunk(chunk *c)
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

/*
 * One frame far too big for local memory: 5,000 detections and 500
 * labels of 4 classes, a third of the detections near a label (often of
 * another class), scores on 7 levels (mass ties), crowd and ignored
 * labels, then a small frame.
 */
static inline void huge_frame_chunk(chunk *c)
{
    rng_state = 500;
    chunk_init(c, 2, 4);
    for (int j = 0; j < 500; j++)
        add_gt(c, rnd_below(4), rnd_unit() * 2000, rnd_unit() * 2000,
               20 + rnd_unit() * 80, 20 + rnd_unit() * 80, rnd_below(40) == 0,
               rnd_below(30) == 0);
    for (int i = 0; i < 5000; i++) {
        if (rnd_below(3) == 0) {
            uint64_t j = rnd_below(500);
            add_dt(c, rnd_below(4) ? c->gt.cls[j] : rnd_below(4),
                   c->gt.x[j] + (rnd_unit() - 0.5) * 20,
                   c->gt.y[j] + (rnd_unit() - 0.5) * 20,
                   c->gt.w[j] + (rnd_unit() - 0.5) * 20,
                   c->gt.h[j] + (rnd_unit() - 0.5) * 20,
                   (double)rnd_below(7) / 7);
        } else {
            add_dt(c, rnd_below(4), rnd_unit() * 2000, rnd_unit() * 2000,
                   20 + rnd_unit() * 80, 20 + rnd_unit() * 80,
                   (double)rnd_below(7) / 7);
        }
    }
    next_frame(c);
    add_gt(c, 0, 0, 0, 10, 10, 0, 0);
    add_dt(c, 0, 1, 1, 10, 10, 0.5);
    next_frame(c);
}

/*
 * Mass score ties: every detection of many frames has the same score, many
 * sit exactly on a label (IoU 1 ties) or on two labels at once, classes
 * mixed, so only the input order decides.
 */
static inline void mass_ties_chunk(chunk *c)
{
    rng_state = 2718;
    chunk_init(c, 40, 3);
    for (uint32_t f = 0; f < 40; f++) {
        uint32_t ng = 1 + rnd_below(12), nd = rnd_below(90);
        uint64_t g0 = c->gt.n;
        for (uint32_t j = 0; j < ng; j++)
            add_gt(c, rnd_below(3), (double)rnd_below(4), (double)rnd_below(4),
                   2 + (double)rnd_below(2), 2 + (double)rnd_below(2),
                   rnd_below(15) == 0, rnd_below(15) == 0);
        for (uint32_t i = 0; i < nd; i++) {
            uint64_t j = g0 + rnd_below(ng);
            add_dt(c, rnd_below(3), c->gt.x[j], c->gt.y[j], c->gt.w[j],
                   c->gt.h[j], 0.5);
        }
        next_frame(c);
    }
}

/*
 * NaN and infinite boxes on both sides, among ordinary ones: NaN IoUs in
 * every position of a group's scan (first, between regular ones, among
 * ignored ones), crowd regions with NaN, and detections whose every IoU is
 * NaN.
 */
static inline void nan_chunk(chunk *c, uint64_t seed)
{
    rng_state = seed * 977 + 3;
    chunk_init(c, 12, 3);
    for (uint32_t f = 0; f < 12; f++) {
        uint32_t ng = rnd_below(10), nd = rnd_below(25);
        uint64_t g0 = c->gt.n;
        for (uint32_t j = 0; j < ng; j++) {
            double x = (double)rnd_below(8), y = (double)rnd_below(8);
            double w = 1 + (double)rnd_below(5), h = 1 + (double)rnd_below(5);
            uint32_t k = rnd_below(12);
            if (k == 0)
                w = NAN;
            else if (k == 1)
                x = NAN;
            else if (k == 2)
                w = INFINITY;
            else if (k == 3)
                x = -INFINITY;
            add_gt(c, rnd_below(3), x, y, w, h, rnd_below(6) == 0,
                   rnd_below(6) == 0);
        }
        for (uint32_t i = 0; i < nd; i++) {
            double x, y, w, h;
            if (ng && rnd_below(3)) {
                uint64_t j = g0 + rnd_below(ng);
                x = isfinite(c->gt.x[j]) ? c->gt.x[j] : 1;
                y = c->gt.y[j];
                w = isfinite(c->gt.w[j]) ? c->gt.w[j] : 3;
                h = c->gt.h[j];
            } else {
                x = (double)rnd_below(8);
                y = (double)rnd_below(8);
                w = 1 + (double)rnd_below(5);
                h = 1 + (double)rnd_below(5);
            }
            uint32_t k = rnd_below(14);
            if (k == 0)
                h = NAN;
            else if (k == 1)
                y = NAN;
            else if (k == 2)
                h = INFINITY;
            add_dt(c, rnd_below(3), x, y, w, h, (double)rnd_below(5) / 4);
        }
        next_frame(c);
    }
}

/* ---- outcome tables ------------------------------------------------------- */

/* The status, matched and agnostic tables of one run, n cells each. */
typedef struct {
    uint8_t *s;
    int32_t *m, *a;
    size_t n;
} tables;

/* Cells nobody writes keep fill in every byte. */
static inline void tables_init(tables *t, size_t n, int fill)
{
    t->n = n;
    t->s = xrealloc(NULL, n + 1);
    t->m = xrealloc(NULL, 4 * n + 4);
    t->a = xrealloc(NULL, 4 * n + 4);
    memset(t->s, fill, n + 1);
    memset(t->m, fill, 4 * n + 4);
    memset(t->a, fill, 4 * n + 4);
}

static inline void tables_free(tables *t)
{
    free(t->s);
    free(t->m);
    free(t->a);
}

static inline int tables_same(const tables *x, const tables *y)
{
    return !memcmp(x->s, y->s, x->n) && !memcmp(x->m, y->m, 4 * x->n) &&
           !memcmp(x->a, y->a, 4 * x->n);
}

/* Prints the first cell where x and y differ. */
static inline void tables_first_diff(const char *label, const char *what,
                                     const tables *x, const tables *y,
                                     uint64_t n_dt)
{
    for (size_t k = 0; k < x->n; k++)
        if (x->s[k] != y->s[k] || x->m[k] != y->m[k] || x->a[k] != y->a[k]) {
            fprintf(stderr,
                    "%s: %s: first difference at threshold %zu, detection "
                    "%zu: (%d, %d, %d) against (%d, %d, %d)\n",
                    label, what, k / n_dt, k % n_dt, x->s[k], (int)x->m[k],
                    (int)x->a[k], y->s[k], (int)y->m[k], (int)y->a[k]);
            return;
        }
}

/* ---- thresholds ------------------------------------------------------------ */

/*
 * grid[0..20): 0.05, 0.10, ..., 0.95 (each the double nearest the decimal,
 * as i / 20.0 is) and 1.0.
 */
static inline void grid_init(double *grid)
{
    for (int i = 0; i < 19; i++)
        grid[i] = (i + 1) / 20.0;
    grid[19] = 1.0;
}

/*
 * many[0..DG_MAX_IOU_THRESHOLDS): 0.001, 0.01, 0.02, ..., 1.0 (i / 100.0
 * but for the first).
 */
static inline void many_init(double *many)
{
    for (int i = 0; i < DG_MAX_IOU_THRESHOLDS; i++)
        many[i] = i / 100.0;
    many[0] = 0.001;
}

/* ---- cases ------------------------------------------------------------------ */

/* A random permutation of [0, n) (sorted positions for the tests). */
static inline uint32_t *random_perm(uint64_t n)
{
    uint32_t *pos = xrealloc(NULL, n * 4 + 4);
    for (uint64_t k = 0; k < n; k++)
        pos[k] = (uint32_t)k;
    for (uint64_t k = n; k > 1; k--) {
        uint32_t j = rnd_below((uint32_t)k), t = pos[k - 1];
        pos[k - 1] = pos[j];
        pos[j] = t;
    }
    return pos;
}

/*
 * Random case `seed`: a class-wise-minded chunk for odd seeds, an
 * agnostic-minded one for even seeds; its thresholds in *iou, their count
 * returned: all 101 every 50th seed, {0.5, 0, -0.25} (IoU 0 itself
 * matches; out of order) every 20th, 0.5 alone every 25th, grid (20)
 * otherwise.
 */
static inline int seed_case(chunk *c, uint64_t seed, const double *grid,
                            const double **iou)
{
    static double many[DG_MAX_IOU_THRESHOLDS];
    static const double zero[3] = {0.5, 0.0, -0.25};
    many_init(many);
    if (seed % 2)
        cw_random_chunk(c, seed);
    else
        agn_random_chunk(c, seed);
    if (seed % 50 == 0) {
        *iou = many;
        return DG_MAX_IOU_THRESHOLDS;
    }
    if (seed % 20 == 0) {
        *iou = zero;
        return 3;
    }
    if (seed % 25 == 0) {
        *iou = &grid[9];
        return 1;
    }
    *iou = grid;
    return 20;
}

#endif
