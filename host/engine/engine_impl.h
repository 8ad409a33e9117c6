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

/*
 * One chunk of frames for the IoU tiles of masks, boundaries or keypoints
 * (tiles.c): the chunk's labels and detections (frame_off from 0 over
 * n_frames frames, frames absolute), the shapes of the whole labels and
 * set (entry gbase + k for the chunk's label k, dbase + k for its
 * detection k; either may be NULL), and what to compare: iou_type
 * (DG_COCO_SEGM, _BOUNDARY or _KEYPOINTS), boundary IoU's dilation ratio,
 * each class's sigmas (dg__kpt_sigmas).
 */
typedef struct dg_shape_chunk {
    int iou_type;
    double ratio;
    const uint64_t *sig_off;
    const double *sig;
    dg_project *p;
    const dg_boxset *gt, *dt;
    uint32_t n_frames;
    const dg_shapes *gsh, *dsh;
    uint64_t gbase, dbase;
} dg_shape_chunk;

/*
 * The tiles of chunk c as dg_match_input takes them: tile_off (n_frames +
 * 1) and *tile, grown as needed (*cap doubles; *tile malloc'd or NULL).
 * DG_EINVAL naming the record when a label has no mask (segm, boundary)
 * or an object has another number of keypoints than its class's sigmas.
 */
dg_status dg__shape_tiles(dg_engine *e, dg_ctx *ctx, const dg_shape_chunk *c,
                          uint64_t *tile_off, double **tile, uint64_t *cap);

#endif
