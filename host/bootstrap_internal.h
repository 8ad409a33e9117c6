/*
 * Internals of per-frame counts (host/frames.c) and the bootstrap
 * (host/bootstrap.c, host/ref/bootstrap_ref.c, host/cl/bootstrap.c,
 * kernels/bootstrap.cl).
 */
#ifndef DG_BOOTSTRAP_INTERNAL_H
#define DG_BOOTSTRAP_INTERNAL_H

#include <stdint.h>

#include "dg_internal.h"

/*
 * Sparse counts per (frame, class) over a universe of n frames (universe
 * index u = position in an ascending frame list): the pairs of universe
 * frame u are off[u] .. off[u + 1] - 1, by ascending class, and only pairs
 * with a detection or a counted ground truth occur. cnt holds three
 * uint32 per pair: tp, fp, n_gt (non-ignored ground truths).
 */
typedef struct dg_fcc {
    uint32_t n;        /* universe frames */
    uint32_t n_classes;
    uint32_t *frames;  /* n: project frame index of each universe frame */
    uint64_t *off;     /* n + 1 */
    uint32_t *cls;     /* off[n] */
    uint32_t *cnt;     /* 3 * off[n] */
} dg_fcc;

/*
 * Builds the table of results r (of p) at (conf, iou_idx) over the
 * universe frames[0..n) (ascending, unique; NULL = every frame of p).
 * Ignores r's restriction: the caller chooses the universe.
 */
dg_status dg__fcc_build(dg_ctx *ctx, struct dg_results *r, dg_project *p,
                        double conf, int iou_idx, const uint32_t *frames,
                        uint32_t n, dg_fcc *out);
void dg__fcc_release(dg_fcc *t);
/*
 * The frames of r's restriction (malloc'd, ascending) or every frame of p
 * when r has none.
 */
dg_status dg__results_universe(dg_ctx *ctx, struct dg_results *r,
                               dg_project *p, uint32_t **frames, uint32_t *n);

/*
 * The resampling engine's input: n_sets tables over the same universe,
 * concatenated. off has n_sets * (n + 1) entries, absolute into cls/cnt.
 */
typedef struct dg_boot_input {
    uint32_t n;          /* universe frames (> 0) */
    uint32_t n_classes;  /* > 0 */
    uint32_t n_sets;     /* 1 or 2 */
    uint64_t seed;
    const uint64_t *off;
    const uint32_t *cls;
    const uint32_t *cnt;
} dg_boot_input;

/*
 * Resamples b0 .. b0 + nb - 1: sums[((b - b0) * n_sets + s) * n_classes * 3
 * + c * 3 + k] = sum over the draws j < n of resample b of set s's count k
 * (tp, fp, n_gt) of class c in frame dg__boot_draw(seed, b, j, n).
 */
dg_status dg__bootstrap_sums_ref(dg_ctx *ctx, const dg_boot_input *in,
                                 uint32_t b0, uint32_t nb, uint64_t *sums);
/* The same on ctx's OpenCL device, identical bytes. */
dg_status dg__cl_bootstrap_sums(dg_ctx *ctx, const dg_boot_input *in,
                                uint32_t b0, uint32_t nb, uint64_t *sums);

/* splitmix64's finaliser. */
static inline uint64_t dg__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define DG_BOOT_GAMMA 0x9E3779B97F4A7C15ULL

/*
 * Universe index of draw j of resample b: a splitmix64 stream keyed by
 * (seed, b), element j, modulo n. kernels/bootstrap.cl computes the same.
 */
static inline uint32_t dg__boot_draw(uint64_t seed, uint64_t b, uint64_t j,
                                     uint32_t n)
{
    uint64_t key = dg__mix64(seed + (b + 1) * DG_BOOT_GAMMA);
    return (uint32_t)(dg__mix64(key + (j + 1) * DG_BOOT_GAMMA) % n);
}

/*
 * The q-quantile (0 <= q <= 1) of the ascending v[0..m), m > 0, with
 * numpy's default linear interpolation.
 */
double dg__quantile_sorted(const double *v, uint64_t m, double q);

#endif
