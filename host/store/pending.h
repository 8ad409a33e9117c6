/*
 * Bounded-memory and sharded eval (host/shard.c, host/mpi.c): the pending
 * store that holds match outcomes in compact form until dg_project_save
 * writes the T x N result tables block by block, and the MPI transport.
 */
#ifndef DG_SHARD_H
#define DG_SHARD_H

#include "dg_internal.h"

/*
 * The record stream: per detection, in inference-set record order, a run
 * count (1 byte, 1..T) and that many runs of 10 bytes: first threshold
 * index (u8), status (u8), matched label (i32 LE), agnostic (i32 LE),
 * global label indices. A run holds until the next run's threshold.
 * Typical detections need 1 to 3 runs (10 to 30 bytes instead of 9 T).
 */
typedef struct dg_bytes {
    uint8_t *p;
    size_t n, cap;
} dg_bytes;

/*
 * Appends n records of a matched chunk to out: status, matched and agn are
 * n_iou x n tables (row stride n); matched and agn hold chunk-relative label
 * indices, made global by adding gbase.
 */
dg_status dg__stream_encode(dg_ctx *ctx, dg_bytes *out, int n_iou, uint64_t n,
                            const uint8_t *status, const int32_t *matched,
                            const int32_t *agn, int64_t gbase);

typedef struct dg_pending dg_pending;

/*
 * A store for the outcomes of n_det detections at n_iou thresholds, to be
 * written in sorted order: pos[d] is the sorted position of record d (pos
 * is borrowed: it must outlive the store's adds). budget (bytes, 0 = no
 * limit) bounds what it holds in memory; beyond it, buckets spill to a
 * scratch file created (and unlinked at once) in dir.
 */
dg_pending *dg__pending_new(dg_ctx *ctx, int n_iou, uint64_t n_det,
                            uint64_t budget, const char *dir);
/*
 * Adds len bytes of record stream holding the records base, base + 1, ...
 * (whole records only); *count gets how many.
 */
dg_status dg__pending_add(dg_ctx *ctx, dg_pending *pd, const uint32_t *pos,
                          uint64_t base, const uint8_t *s, size_t len,
                          uint64_t *count);
/* Moves every bucket to the scratch file (frees its memory). */
dg_status dg__pending_spill(dg_ctx *ctx, dg_pending *pd);
/* Records added so far. */
uint64_t dg__pending_count(const dg_pending *pd);
/* Bytes held in memory and in the scratch file. */
void dg__pending_usage(const dg_pending *pd, uint64_t *mem, uint64_t *disk);
/*
 * Creates datasets status, matched (XOR row encoding) and agnostic in the
 * group g, exactly as dg__results_write lays them out, and fills them block
 * by block. Every record must have been added.
 */
dg_status dg__pending_write(dg_ctx *ctx, dg_pending *pd, int64_t g);
void dg__pending_free(dg_pending *pd);

/* host/project.c: the root attributes, /classes and /frames of p into f. */
dg_status dg__project_write_meta(dg_ctx *ctx, dg_project *p, int64_t f);

/* ---- MPI (host/mpi.c; single-process stubs without DG_HAVE_MPI) ---- */

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
