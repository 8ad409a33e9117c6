/*
 * Internal pieces of the COCO protocol (host/query/coco*.c), exposed for
 * tests/test-coco.c: numpy's arithmetic reproduced bit for bit, and the
 * PR curve of one (category, area range, maxDets, IoU threshold) in two
 * forms, the literal one pycocotools writes and the fast one eval uses.
 */
#ifndef DG_COCO_INTERNAL_H
#define DG_COCO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/coco.h"

/* Element i of numpy.linspace(start, stop, num): i * step + start with
 * step = (stop - start) / (num - 1), and the last element stop itself. */
double dg__np_linspace(double start, double stop, int num, int i);

/* numpy's pairwise summation of a float64 array (what np.add.reduce does
 * along a contiguous axis), started from 0.0 as np.add.reduce starts. */
double dg__np_sum(const double *a, size_t n);

/* np.mean of a float64 array: dg__np_sum(a, n) / n. n must be > 0. */
double dg__np_mean(const double *a, size_t n);

/* np.searchsorted(a, v, side='left') on a non-decreasing array. */
size_t dg__np_searchsorted_left(const double *a, size_t n, double v);

/*
 * One curve, literally as COCOeval.accumulate() computes it: nd
 * detections in accumulation order with flags tp[i], fp[i] (both 0:
 * ignored) and scores score[i]; npig > 0 ground truths. Fills q[101],
 * ss[101] and *recall. Scratch-free but allocates; for tests.
 */
int dg__coco_curve_ref(const uint8_t *tp, const uint8_t *fp,
                       const double *score, size_t nd, uint64_t npig,
                       const double *rec, double *q, double *ss,
                       double *recall);

/*
 * The same curve as the evaluator builds it (from its true positives,
 * walking backwards; see struct curve in coco_accumulate.c). Must give
 * the same bytes as dg__coco_curve_ref.
 */
void dg__coco_curve_fast(const uint8_t *tp, const uint8_t *fp,
                         const double *score, size_t nd, uint64_t npig,
                         const double *rec, double *q, double *ss,
                         double *recall);

#endif
