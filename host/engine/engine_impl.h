/*
 * The engine's private parts, shared by host/engine/ only: the stages only
 * eval uses, and the ordering of detections.
 */
#ifndef DG_ENGINE_IMPL_H
#define DG_ENGINE_IMPL_H

#include "engine.h"
#include "store.h"

/* Accumulation: status and matched rows permuted into sorted order (the
 * contract of dg_perm in stages.h). */
dg_status dg__engine_accumulate(dg_engine *e, dg_ctx *ctx, const dg_perm *pm,
                                const uint8_t *status, const int32_t *matched,
                                uint8_t *status_out, int32_t *matched_out);

/*
 * The sort of accumulation (order.c): t->class_off, t->order and t->score
 * for the n detections with classes cls[] and scores score[] (class
 * ascending, score descending, index ascending). DG_EFORMAT when a class
 * is out of range.
 */
dg_status dg__order_dets(dg_ctx *ctx, dg_results_tables *t, uint64_t n,
                         const uint32_t *cls, const double *score);

/*
 * The same from the class and score columns of inference set which of p
 * alone, in less memory (bounded-memory eval): a stable counting sort by
 * class, then a radix sort of each class's scores. Checks every score.
 */
dg_status dg__order_columns(dg_ctx *ctx, dg_results_tables *t, dg_project *p,
                            uint32_t which, uint64_t n);

#endif
