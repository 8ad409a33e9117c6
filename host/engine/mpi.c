/*
 * Eval sharded over MPI ranks. Each rank matches a contiguous range of
 * frames (balanced by box count), reading only those from the project
 * file; rank 0 also sorts the keys and files every outcome by sorted
 * position (host/shard.c). Other ranks send rank 0 their part at the end:
 * the classes of their labels, their per-class label counts and their
 * record stream. Rank 0 alone writes the project. Collective status checks
 * (dg_mpi_agree) make every rank fail when one does.
 *
 * Without DG_HAVE_MPI this file only has single-process stubs: the library
 * then needs no MPI at all.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DG_HAVE_MPI
#include <mpi.h>
#endif

#include "mpi.h"

void dg__shard_range(const uint64_t *doff, const uint64_t *goff,
                     uint32_t n_frames, int rank, int size, uint32_t *lo,
                     uint32_t *hi)
{
    /* Frame f starts at weight doff[f] + goff[f]; rank k takes the frames
     * starting in [k W / size, (k + 1) W / size). */
    uint64_t total = doff[n_frames] + goff[n_frames];
    uint32_t b[2];
    for (int e = 0; e < 2; e++) {
        int k = rank + e;
        if (k >= size) {
            b[e] = n_frames;
            continue;
        }
        uint64_t want = (uint64_t)((__uint128_t)total * (uint64_t)k /
                                   (uint64_t)size);
        uint32_t a = 0, z = n_frames; /* first f with weight(f) >= want */
        while (a < z) {
            uint32_t m = a + (z - a) / 2;
            if (doff[m] + goff[m] < want)
                a = m + 1;
            else
                z = m;
        }
        b[e] = k == 0 ? 0 : a;
    }
    *lo = b[0];
    *hi = b[1] < b[0] ? b[0] : b[1];
}

int dg_mpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
           getenv("PMIX_RANK");
}

#ifndef DG_HAVE_MPI

int dg_mpi_available(void)
{
    return 0;
}

dg_status dg_mpi_init(dg_ctx *ctx, int *argc, char ***argv, int *rank,
                      int *size)
{
    (void)argc;
    (void)argv;
    *rank = 0;
    *size = 1;
    dg__ctx_set_mpi(ctx, 0, 1);
    /* A launcher's single task (srun -n 1) runs as a plain process. */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    if (!n)
        n = getenv("SLURM_NTASKS");
    if (dg_mpi_launched() && (!n || atoi(n) != 1))
        return dg__fail(ctx, DG_EINVAL,
                        "started by an MPI launcher, but this detgrid was "
                        "built without MPI (rebuild with -DDETGRID_MPI=ON and "
                        "Open MPI's development files installed)");
    return DG_OK;
}

void dg_mpi_finalize(void)
{
}

dg_status dg_mpi_agree(dg_ctx *ctx, dg_status st)
{
    (void)ctx;
    return st;
}

dg_status dg__mpi_send_part(dg_ctx *ctx, const uint32_t *label_class,
                            uint64_t n_labels, const uint64_t *gt_count,
                            uint32_t n_classes, const dg_bytes *stream)
{
    (void)label_class;
    (void)n_labels;
    (void)gt_count;
    (void)n_classes;
    (void)stream;
    return dg__fail(ctx, DG_EINVAL, "built without MPI");
}

dg_status dg__mpi_recv_part(dg_ctx *ctx, int src, uint32_t *label_class,
                            uint64_t n_labels, uint64_t *gt_count,
                            uint32_t n_classes, dg_pending *pd,
                            const uint32_t *pos, uint64_t base,
                            uint64_t n_det_expect)
{
    (void)src;
    (void)label_class;
    (void)n_labels;
    (void)gt_count;
    (void)n_classes;
    (void)pd;
    (void)pos;
    (void)base;
    (void)n_det_expect;
    return dg__fail(ctx, DG_EINVAL, "built without MPI");
}

#else

static int started; /* by dg_mpi_init, so finalized by us */

int dg_mpi_available(void)
{
    return 1;
}

dg_status dg_mpi_init(dg_ctx *ctx, int *argc, char ***argv, int *rank,
                      int *size)
{
    *rank = 0;
    *size = 1;
    dg__ctx_set_mpi(ctx, 0, 1);
    if (!dg_mpi_launched())
        return DG_OK;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS)
            return dg__fail(ctx, DG_EIO, "MPI_Init failed");
        started = 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    dg__ctx_set_mpi(ctx, *rank, *size);
    /*
     * One rank per GPU: unless the launcher already restricts which GPUs
     * this rank sees (Slurm's --gpus-per-task, a wrapper script), the
     * node-local rank picks one by the vendors' visibility variables,
     * before any OpenCL call. DETGRID_DEVICE and --device still apply.
     */
    const char *lr = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!lr)
        lr = getenv("SLURM_LOCALID");
    if (!lr)
        lr = getenv("MPI_LOCALRANKID");
    if (lr && *size > 1 && !dg__env("DETGRID_NO_LOCAL_GPU")) {
        if (!getenv("CUDA_VISIBLE_DEVICES"))
            setenv("CUDA_VISIBLE_DEVICES", lr, 1);
        if (!getenv("ROCR_VISIBLE_DEVICES"))
            setenv("ROCR_VISIBLE_DEVICES", lr, 1);
    }
    return DG_OK;
}

void dg_mpi_finalize(void)
{
    int fin = 0;
    if (!started)
        return;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
    started = 0;
}

dg_status dg_mpi_agree(dg_ctx *ctx, dg_status st)
{
    int rank, size;
    dg__ctx_mpi(ctx, &rank, &size);
    if (size <= 1)
        return st;
    /* The lowest failing rank, or size when none failed. */
    int mine = st < 0 ? rank : size, first = 0;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first >= size)
        return st < 0 ? st : DG_OK;
    /* Its status and message go to everyone. */
    int code = (int)st;
    static char msg[DG_ERR_CAP];
    if (rank == first)
        snprintf(msg, sizeof(msg), "%s", dg_ctx_last_error(ctx));
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, first, MPI_COMM_WORLD);
    if (rank != first) {
        if (strncmp(msg, "rank ", 5))
            dg__fail(ctx, (dg_status)code, "rank %d failed: %s", first, msg);
        else
            dg__fail(ctx, (dg_status)code, "%s", msg);
    }
    return (dg_status)code;
}

#define TAG_HEAD 101
#define TAG_LABELS 102
#define TAG_COUNTS 103
#define TAG_STREAM 104
/* Stream pieces: at most this many bytes a message (int counts). */
#define PIECE ((size_t)1 << 28)

static dg_status mpi_fail(dg_ctx *ctx, const char *what, int src)
{
    return dg__fail(ctx, DG_EIO, "MPI: %s (rank %d) failed", what, src);
}

dg_status dg__mpi_send_part(dg_ctx *ctx, const uint32_t *label_class,
                            uint64_t n_labels, const uint64_t *gt_count,
                            uint32_t n_classes, const dg_bytes *stream)
{
    uint64_t head[2] = {n_labels, stream->n};
    if (MPI_Send(head, 2, MPI_UINT64_T, 0, TAG_HEAD, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        return mpi_fail(ctx, "send", 0);
    for (uint64_t o = 0; o < n_labels; o += PIECE / 4) {
        uint64_t m = n_labels - o < PIECE / 4 ? n_labels - o : PIECE / 4;
        if (MPI_Send(label_class + o, (int)m, MPI_UINT32_T, 0, TAG_LABELS,
                     MPI_COMM_WORLD) != MPI_SUCCESS)
            return mpi_fail(ctx, "send", 0);
    }
    if (MPI_Send(gt_count, (int)n_classes, MPI_UINT64_T, 0, TAG_COUNTS,
                 MPI_COMM_WORLD) != MPI_SUCCESS)
        return mpi_fail(ctx, "send", 0);
    /* Pieces end on record boundaries so rank 0 decodes each alone. */
    size_t o = 0;
    while (o < stream->n) {
        size_t e = o;
        while (e < stream->n) {
            size_t sz = 1 + (size_t)stream->p[e] * 10;
            if (e + sz - o > PIECE)
                break;
            e += sz;
        }
        if (e == o)
            return dg__fail(ctx, DG_EINVAL, "MPI: oversized record");
        if (MPI_Send(stream->p + o, (int)(e - o), MPI_BYTE, 0, TAG_STREAM,
                     MPI_COMM_WORLD) != MPI_SUCCESS)
            return mpi_fail(ctx, "send", 0);
        o = e;
    }
    return DG_OK;
}

dg_status dg__mpi_recv_part(dg_ctx *ctx, int src, uint32_t *label_class,
                            uint64_t n_labels, uint64_t *gt_count,
                            uint32_t n_classes, dg_pending *pd,
                            const uint32_t *pos, uint64_t base,
                            uint64_t n_det_expect)
{
    /*
     * Everything src sends is received even after a failure here (or with
     * pd NULL, after an earlier one): a sender blocked in MPI_Send would
     * otherwise never reach the status agreement that follows.
     */
    uint64_t head[2];
    dg_status st = DG_OK;
    int keep = pd != NULL;
    if (MPI_Recv(head, 2, MPI_UINT64_T, src, TAG_HEAD, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return mpi_fail(ctx, "receive", src);
    if (keep && head[0] != n_labels) {
        st = dg__fail(ctx, DG_EINVAL,
                      "rank %d sent %llu labels, expected %llu", src,
                      (unsigned long long)head[0],
                      (unsigned long long)n_labels);
        keep = 0;
    }
    size_t piece = head[1] < PIECE ? (size_t)head[1] : PIECE;
    if (!keep && head[0] * 4 > piece)
        piece = head[0] * 4 < PIECE ? (size_t)head[0] * 4 : PIECE;
    if ((size_t)n_classes * 8 > piece)
        piece = (size_t)n_classes * 8;
    uint8_t *buf = malloc(piece ? piece : 1);
    if (!buf)
        return dg__fail(ctx, DG_ENOMEM, "out of memory receiving from rank %d",
                        src);
    for (uint64_t o = 0; o < head[0]; o += PIECE / 4) {
        uint64_t m = head[0] - o < PIECE / 4 ? head[0] - o : PIECE / 4;
        if (MPI_Recv(keep ? (void *)(label_class + o) : (void *)buf, (int)m,
                     MPI_UINT32_T, src, TAG_LABELS, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            st = mpi_fail(ctx, "receive", src);
            goto out;
        }
    }
    if (MPI_Recv(buf, (int)n_classes, MPI_UINT64_T, src, TAG_COUNTS,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        st = mpi_fail(ctx, "receive", src);
        goto out;
    }
    if (keep)
        for (uint32_t c = 0; c < n_classes; c++) {
            uint64_t v;
            memcpy(&v, buf + (size_t)c * 8, 8);
            gt_count[c] += v;
        }
    uint64_t got = 0, d = base;
    size_t left = head[1];
    while (left) {
        MPI_Status ms;
        int len = 0;
        if (MPI_Recv(buf, (int)(left < PIECE ? left : PIECE), MPI_BYTE, src,
                     TAG_STREAM, MPI_COMM_WORLD, &ms) != MPI_SUCCESS) {
            st = mpi_fail(ctx, "receive", src);
            goto out;
        }
        MPI_Get_count(&ms, MPI_BYTE, &len);
        if (len <= 0 || (size_t)len > left) {
            st = dg__fail(ctx, DG_EIO, "rank %d sent a bad piece", src);
            goto out;
        }
        left -= (size_t)len;
        if (!keep)
            continue;
        uint64_t k = 0;
        dg_status s2 = dg__pending_add(ctx, pd, pos, d, buf, (size_t)len, &k);
        if (s2 < 0) {
            st = s2;
            keep = 0;
            continue;
        }
        d += k;
        got += k;
    }
    if (keep && got != n_det_expect)
        st = dg__fail(ctx, DG_EINVAL,
                      "rank %d sent outcomes of %llu detections, expected "
                      "%llu",
                      src, (unsigned long long)got,
                      (unsigned long long)n_det_expect);
out:
    free(buf);
    return st;
}

#endif
