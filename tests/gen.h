/*
 * Inputs for the differential tests of the OpenCL matchers
 * (test-cl-diff.c, test-confusion.c): a reproducible random number
 * generator and chunks of labels and detections built box by box, frame
 * by frame. Each test draws its own random chunks from these.
 */
#ifndef DG_TEST_GEN_H
#define DG_TEST_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"
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

/* ---- the device ---------------------------------------------------------- */

/*
 * Selects the device DETGRID_DEVICE names (auto when unset or a reference
 * selection: these tests need OpenCL) and sets it up. 0 when it is ready,
 * its description printed; else what main returns: 2 for a bad selection,
 * 77 when no device exists (after "SKIP: <skip>no OpenCL device (...)"),
 * 1 when setting it up fails.
 */
static inline int device_open(dg_ctx *ctx, const char *skip)
{
    const char *dev = getenv("DETGRID_DEVICE");
    if (!dev || !strncmp(dev, "ref", 3))
        dev = "auto";
    if (dg_ctx_set_device(ctx, dev) != DG_OK) {
        fprintf(stderr, "%s\n", dg_ctx_last_error(ctx));
        return 2;
    }
    dg_status st = dg__cl_ensure(ctx);
    if (st == DG_ENODEV) {
        printf("SKIP: %sno OpenCL device (%s)\n", skip,
               dg_ctx_last_error(ctx));
        return 77;
    }
    if (st != DG_OK) {
        fprintf(stderr, "cannot set up OpenCL: %s\n", dg_ctx_last_error(ctx));
        return 1;
    }
    printf("device: %s\n", dg__cl_device_desc(ctx));
    return 0;
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

#endif
