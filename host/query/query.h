/*
 * Shared by the queries of host/query/ only: per-frame counts (frames.c)
 * feeding the bootstrap (bootstrap.c) and churn.
 */
#ifndef DG_QUERY_H
#define DG_QUERY_H

#include "engine.h"
#include "store.h"

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
 * The q-quantile (0 <= q <= 1) of the ascending v[0..m), m > 0, with
 * numpy's default linear interpolation.
 */
double dg__quantile_sorted(const double *v, uint64_t m, double q);

#endif
