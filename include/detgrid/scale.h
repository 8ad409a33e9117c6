/*
 * Scale: bounded-memory evaluation and evaluation sharded over MPI ranks.
 *
 * With a memory budget, dg_eval keeps only the sort keys of an inference
 * set (class, score, record index: about 16 bytes a detection) and a
 * compact, run-length form of the match outcomes in memory, spilling the
 * latter to a scratch file beside the project once they outgrow the
 * budget; dg_project_save then writes the T x N tables block by block.
 * The stored results are the same bytes as an in-memory eval's. See
 * docs/SCALE.md for the memory model.
 *
 *     dg_ctx_set_memory_budget(ctx, 2048ull << 20);  // 2 GiB
 *     dg_eval(ctx, p, "model-a", iou, n);
 *     dg_project_save(ctx, p, "big.h5");
 *
 * Under MPI (a build with DG_HAVE_MPI, launched by mpirun or srun), each
 * rank matches its own range of frames, reading only those from the
 * project file, and rank 0 gathers the outcomes and stores results
 * identical to a single-process run. A rank that fails makes every rank's
 * dg_eval fail with that rank's message.
 */
#ifndef DETGRID_SCALE_H
#define DETGRID_SCALE_H

#include <stdint.h>

#include "detgrid/context.h"
#include "detgrid/project.h"
#include "detgrid/synth.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bytes that later dg_eval calls on ctx may hold for match outcomes
 * beyond the sort keys. 0 (the default) means unbounded: the tables are
 * built in memory, as they always were, and are queryable before saving.
 * With a budget, results are streamed at save time and can be queried
 * once saved (queries before that fail with DG_ESTALE's message).
 */
void dg_ctx_set_memory_budget(dg_ctx *ctx, uint64_t bytes);

/*
 * Writes the project dg_synth_project() would build, as dg_project_save()
 * would write it (the same datasets, attributes and chunk bytes), to path
 * without holding its boxes in memory: columns go to unlinked scratch
 * files beside path, then into the file chunk by chunk. Memory stays near
 * the frame list's; disk needs about twice the project's raw size.
 */
dg_status dg_synth_write(dg_ctx *ctx, const dg_synth_opts *opts,
                         const char *path);

/* 1 if this library was built with MPI support, else 0. */
int dg_mpi_available(void);

/*
 * 1 when the environment says this process was started by an MPI launcher
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set), else 0. A plain run
 * never needs mpirun.
 */
int dg_mpi_launched(void);

/*
 * Initializes MPI (when built with it and launched under a launcher) and
 * makes later dg_eval calls on ctx shard frames over the ranks. *rank and
 * *size get this process's rank and the world size (0 and 1 without MPI).
 * The device of each rank is picked by its local rank (see docs/SCALE.md)
 * unless ctx already names one. DG_EINVAL when launched under MPI but
 * built without it.
 */
dg_status dg_mpi_init(dg_ctx *ctx, int *argc, char ***argv, int *rank,
                      int *size);

/* Finalizes MPI if dg_mpi_init started it. */
void dg_mpi_finalize(void);

/*
 * Agrees on a status across all ranks: returns the first failing rank's
 * status (its message copied into ctx) or DG_OK on every rank. Without
 * MPI it returns st.
 */
dg_status dg_mpi_agree(dg_ctx *ctx, dg_status st);

#ifdef __cplusplus
}
#endif
#endif
