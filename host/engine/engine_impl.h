/*
 * The engine's private parts, shared by host/engine/ only: the ordering of
 * detections.
 */
#ifndef DG_ENGINE_IMPL_H
#define DG_ENGINE_IMPL_H

#include "engine.h"
#include "store.h"

/*
 * The sort results keep (order.c): t->class_off, t->order and t->score for
 * the n detections with classes cls[] and scores score[] (class ascending,
 * score descending, index ascending), on ctx's threads, and, unless pos is
 * NULL, pos[d], the sorted position of detection d (n entries). DG_EFORMAT
 * when a class is out of range.
 */
dg_status dg__order_dets(dg_ctx *ctx, dg_results_tables *t, uint64_t n,
                         const uint32_t *cls, const double *score,
                         uint32_t *pos);

/*
 * The same from the class and score columns of inference set which of p
 * (bounded-memory eval): the class column is dropped before the score
 * column is read. Checks every score.
 */
dg_status dg__order_columns(dg_ctx *ctx, dg_results_tables *t, dg_project *p,
                            uint32_t which, uint64_t n, uint32_t *pos);

#endif
