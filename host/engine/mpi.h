/*
 * The engine's MPI parts (mpi.c; single-process stubs without
 * DG_HAVE_MPI): which frames a rank matches, and the hand-over of each
 * rank's outcomes to rank 0, which stores them.
 */
#ifndef DG_ENGINE_MPI_H
#define DG_ENGINE_MPI_H

#include "store.h"

/* Frame range [*lo, *hi) of rank of size, balanced by boxes. */
void dg__shard_range(const uint64_t *doff, const uint64_t *goff,
                     uint32_t n_frames, int rank, int size, uint32_t *lo,
                     uint32_t *hi);
/*
 * Worker side: sends this rank's label classes (labels of its range),
 * gt counts (n_classes) and record stream to rank 0.
 */
dg_status dg__mpi_send_part(dg_ctx *ctx, const uint32_t *label_class,
                            uint64_t n_labels, const uint64_t *gt_count,
                            uint32_t n_classes, const dg_bytes *stream);
/*
 * Rank 0: receives rank src's part; label classes go to label_class
 * (n_labels expected), gt counts are added, the stream is added to pd as
 * records from base on (n_det_expect of them). With pd NULL, or after a
 * failure, the rest is received and dropped, so that src never blocks.
 */
dg_status dg__mpi_recv_part(dg_ctx *ctx, int src, uint32_t *label_class,
                            uint64_t n_labels, uint64_t *gt_count,
                            uint32_t n_classes, dg_pending *pd,
                            const uint32_t *pos, uint64_t base,
                            uint64_t n_det_expect);

#endif
