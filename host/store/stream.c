/*
 * Writing a project file frame by frame (store.h), for projects larger
 * than memory (synth --stream, docs/SCALE.md): the file that
 * dg_project_save would write, without holding the boxes. Each column is
 * appended to an unlinked scratch file as frames come, then hashed (the
 * group fingerprint hashes whole columns one after the other, so it needs
 * them all) and copied into its HDF5 dataset in whole chunks, which
 * compress to the same bytes.
 *
 * Also the one builder the importers need beside those in project.c:
 * moving inference sets between projects.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_impl.h"

/* ---- the columns of one box group ---------------------------------------- */

enum { COL_FRAME, COL_CLASS, COL_X, COL_Y, COL_W, COL_H, COL_SCORE, COL_AREA,
       COL_CROWD, COL_IGNORE, N_COLS };

static const struct {
    const char *name;
    size_t esz;
} col_info[N_COLS] = {
    {"frame", 4}, {"class", 4}, {"x", 8},    {"y", 8},       {"w", 8},
    {"h", 8},     {"score", 8}, {"area", 8}, {"iscrowd", 1}, {"ignore", 1}};

typedef struct colset {
    int kind;          /* DG_BOXES_LABELS or DG_BOXES_DETS */
    FILE *f[N_COLS];   /* NULL for columns the kind has not */
    uint64_t n;
    uint64_t *off;     /* n_frames + 1 */
} colset;

static int has_col(int kind, int c)
{
    if (c == COL_SCORE)
        return kind == DG_BOXES_DETS;
    if (c >= COL_AREA)
        return kind == DG_BOXES_LABELS;
    return 1;
}

static dg_status colset_open(dg_ctx *ctx, colset *cs, int kind,
                             const char *dir, uint32_t n_frames)
{
    memset(cs, 0, sizeof(*cs));
    cs->kind = kind;
    cs->off = dg__calloc(ctx, (size_t)n_frames + 1, 8);
    if (!cs->off)
        return DG_ENOMEM;
    for (int c = 0; c < N_COLS; c++) {
        if (!has_col(kind, c))
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/.detgrid-synth-XXXXXX", dir);
        int fd = mkstemp(path);
        if (fd < 0)
            return dg__fail(ctx, DG_EIO, "cannot create a scratch file in "
                            "'%s': %s", dir, strerror(errno));
        unlink(path);
        cs->f[c] = fdopen(fd, "w+b");
        if (!cs->f[c]) {
            close(fd);
            return dg__fail(ctx, DG_EIO, "cannot open a scratch file");
        }
        setvbuf(cs->f[c], NULL, _IOFBF, 1 << 20);
    }
    return DG_OK;
}

static void colset_close(colset *cs)
{
    for (int c = 0; c < N_COLS; c++)
        if (cs->f[c])
            fclose(cs->f[c]);
    free(cs->off);
    memset(cs, 0, sizeof(*cs));
}

/*
 * Appends the boxes of frame f, b (its frame column is set to f here); 0,
 * or -1 on a write error.
 */
static int colset_append(colset *cs, uint32_t f, dg_boxset *b)
{
    size_t n = (size_t)b->n;
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        b->frame[i] = f;
    int ok = fwrite(b->frame, 4, n, cs->f[COL_FRAME]) == n &&
             fwrite(b->cls, 4, n, cs->f[COL_CLASS]) == n &&
             fwrite(b->x, 8, n, cs->f[COL_X]) == n &&
             fwrite(b->y, 8, n, cs->f[COL_Y]) == n &&
             fwrite(b->w, 8, n, cs->f[COL_W]) == n &&
             fwrite(b->h, 8, n, cs->f[COL_H]) == n;
    if (cs->kind == DG_BOXES_LABELS)
        ok = ok && fwrite(b->area, 8, n, cs->f[COL_AREA]) == n &&
             fwrite(b->iscrowd, 1, n, cs->f[COL_CROWD]) == n &&
             fwrite(b->ignore, 1, n, cs->f[COL_IGNORE]) == n;
    else
        ok = ok && fwrite(b->score, 8, n, cs->f[COL_SCORE]) == n;
    cs->n += n;
    return ok ? 0 : -1;
}

/* Elements per copy block: a multiple of the 65536-element chunks. */
#define COPY_ELEMS ((size_t)1 << 20)

static dg_status colset_fingerprint(dg_ctx *ctx, colset *cs, void *buf,
                                    uint64_t *out)
{
    uint64_t h = 14695981039346656037ULL;
    h = dg__fnv_words(h, &cs->n, sizeof(cs->n));
    /* boxset.c's order: frame, class, x, y, w, h, score, area, iscrowd,
     * ignore. */
    for (int c = 0; cs->n && c < N_COLS; c++) {
        if (!cs->f[c])
            continue;
        if (fflush(cs->f[c]) || fseek(cs->f[c], 0, SEEK_SET))
            return dg__fail(ctx, DG_EIO, "cannot write a scratch file: %s",
                            strerror(errno));
        for (uint64_t o = 0; o < cs->n; o += COPY_ELEMS) {
            size_t m = cs->n - o < COPY_ELEMS ? (size_t)(cs->n - o) : COPY_ELEMS;
            if (fread(buf, col_info[c].esz, m, cs->f[c]) != m)
                return dg__fail(ctx, DG_EIO, "cannot read a scratch file");
            h = dg__fnv_words(h, buf, m * col_info[c].esz);
        }
    }
    *out = h;
    return DG_OK;
}

/* Where a column's chunks come from: a scratch file (read with pread, so
 * that the chunk writer's workers can fill chunks at once) or memory. */
typedef struct colsrc {
    int fd;
    const uint8_t *mem;
    size_t esz;
    atomic_int failed;
} colsrc;

static void fill_column(const void *arg, uint64_t row, uint64_t col0,
                        uint64_t n, void *dst)
{
    colsrc *c = (colsrc *)arg;
    (void)row;
    size_t want = (size_t)n * c->esz;
    if (c->mem) {
        memcpy(dst, c->mem + col0 * c->esz, want);
        return;
    }
    uint8_t *p = dst;
    off_t off = (off_t)(col0 * c->esz);
    while (want) {
        ssize_t k = pread(c->fd, p, want, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            atomic_store(&c->failed, 1);
            memset(p, 0, want);
            return;
        }
        p += k;
        want -= (size_t)k;
        off += k;
    }
}

/* A 1-D column laid out as dg__h5_write_1d(compress = 1) lays it out and
 * compressed by the same chunk writer (so its bytes are those of a save
 * from memory), filled from file src or from memory mem. */
static dg_status write_column(dg_ctx *ctx, hid_t g, const char *name,
                              hid_t mt, hid_t ft, size_t esz, uint64_t n,
                              FILE *src, const void *mem)
{
    hsize_t dims[1] = {n};
    hsize_t chunk[1] = {dg__h5_chunk_1d(n)};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = dg__h5_dcpl(1, dims, chunk, 1);
    hid_t ds = H5I_INVALID_HID;
    dg_h5_job *jobs = NULL;
    dg_status st = DG_OK;
    colsrc cs = {-1, mem, esz, 0};
    if (space < 0 || dcpl < 0 || !dg__h5_chunkable(1, chunk, 1, mt, ft))
        goto fail;
    ds = H5Dcreate2(g, name, ft, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0)
        goto fail;
    if (src && (fflush(src) || (cs.fd = fileno(src)) < 0))
        goto fail;
    size_t n_jobs = n ? (size_t)((n + chunk[0] - 1) / chunk[0]) : 0;
    if (n_jobs && !(jobs = dg__calloc(ctx, n_jobs, sizeof(*jobs)))) {
        st = DG_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < n_jobs; k++)
        jobs[k] = (dg_h5_job){ds, 1, esz, n, chunk[0], 0,
                              (uint64_t)k * chunk[0], fill_column, &cs};
    if ((st = dg__h5_write_jobs(ctx, jobs, n_jobs)) < 0)
        goto out;
    if (atomic_load(&cs.failed)) {
        st = dg__fail(ctx, DG_EIO, "cannot read a scratch file");
        goto out;
    }
    st = dg__h5_check_write(ctx, g);
    goto out;
fail:
    st = dg__fail(ctx, DG_EIO, "'%s': cannot write dataset '%s'",
                  dg__h5_fname(g), name);
out:
    free(jobs);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* The group write_boxes (project.c) writes, from the columns. */
static dg_status colset_write(dg_ctx *ctx, hid_t parent, const char *name,
                              colset *cs, uint32_t n_frames, void *buf)
{
    uint64_t fp;
    dg_status st = colset_fingerprint(ctx, cs, buf, &fp);
    if (st < 0)
        return st;
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EIO, "cannot create group '%s'", name);
    if ((st = dg__h5_attr_write(ctx, g, "fingerprint", H5T_NATIVE_UINT64,
                                H5T_STD_U64LE, &fp, 0)) < 0)
        goto out;
    static const int order[] = {COL_FRAME, COL_CLASS, COL_X, COL_Y, COL_W,
                                COL_H, -1, COL_SCORE, COL_AREA, COL_CROWD,
                                COL_IGNORE};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && st >= 0; i++) {
        int c = order[i];
        if (c < 0) {
            st = write_column(ctx, g, "frame_offsets", H5T_NATIVE_UINT64,
                              H5T_STD_U64LE, 8, (uint64_t)n_frames + 1, NULL,
                              cs->off);
            continue;
        }
        if (!cs->f[c])
            continue;
        hid_t mt, ft;
        if (col_info[c].esz == 4)
            mt = H5T_NATIVE_UINT32, ft = H5T_STD_U32LE;
        else if (col_info[c].esz == 1)
            mt = H5T_NATIVE_UINT8, ft = H5T_STD_U8LE;
        else
            mt = H5T_NATIVE_DOUBLE, ft = H5T_IEEE_F64LE;
        st = write_column(ctx, g, col_info[c].name, mt, ft, col_info[c].esz,
                          cs->n, cs->f[c], NULL);
    }
out:
    H5Gclose(g);
    return st;
}

/* ---- the writer ---------------------------------------------------------- */

/* The file, in dg_project_save's order, from the columns. */
static dg_status write_file(dg_ctx *ctx, dg_project *p, const char *path,
                            uint32_t n_sets, char *const *set_names,
                            colset *cs, void *buf)
{
    dg_tmpfile t;
    hid_t f;
    dg_status st = dg__h5_create_tmp(ctx, path, &t, &f);
    if (st < 0)
        return st;
    p->meta_dirty = 1;
    if ((st = dg__project_write_meta(ctx, p, (int64_t)f)) < 0 ||
        (st = colset_write(ctx, f, "labels", &cs[0], p->n_frames, buf)) < 0)
        goto fail;
    hid_t g = H5Gcreate2(f, "inferences", H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    hid_t rg = H5Gcreate2(f, "results", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || rg < 0) {
        if (g >= 0)
            H5Gclose(g);
        if (rg >= 0)
            H5Gclose(rg);
        st = dg__fail(ctx, DG_EIO, "'%s': cannot create groups", path);
        goto fail;
    }
    for (uint32_t k = 0; k < n_sets && st >= 0; k++)
        st = colset_write(ctx, g, set_names[k], &cs[1 + k], p->n_frames, buf);
    H5Gclose(rg);
    H5Gclose(g);
    if (st < 0 || (st = dg__segments_save(ctx, p, -1, (int64_t)f)) < 0 ||
        (st = dg__embeddings_save(ctx, p, -1, (int64_t)f)) < 0 ||
        (st = dg__h5_check_write(ctx, f)) < 0)
        goto fail;
    st = dg__h5_commit_tmp(ctx, f, &t, NULL);
    dg__tmp_abort(&t);
    return st;
fail:
    dg__h5_abort_tmp(f, &t);
    return st;
}

dg_status dg__project_stream_write(dg_ctx *ctx, dg_project *p,
                                   const char *path, uint32_t n_sets,
                                   char *const *set_names,
                                   dg_frame_source_fn next, void *arg)
{
    colset *cs = NULL;
    dg_boxset gt, *dt = NULL;
    void *buf = NULL;
    char dir[4096];
    dg_status st;
    uint32_t ncs = 0;

    dg__boxset_init(&gt);
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s",
                 (int)(slash == path ? 1 : slash - path), path);
    ncs = 1 + n_sets;
    cs = dg__calloc(ctx, ncs, sizeof(*cs));
    buf = dg__alloc(ctx, COPY_ELEMS, 8);
    dt = dg__calloc(ctx, n_sets ? n_sets : 1, sizeof(*dt));
    if (!cs || !buf || !dt) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < ncs; i++)
        if ((st = colset_open(ctx, &cs[i], i ? DG_BOXES_DETS : DG_BOXES_LABELS,
                              dir, p->n_frames)) < 0)
            goto out;
    /* Every column of each kind exists even before a box is pushed. */
    if ((st = dg__boxset_reserve(ctx, &gt, DG_BOXES_LABELS, 1)) < 0)
        goto out;
    for (uint32_t k = 0; k < n_sets; k++)
        if ((st = dg__boxset_reserve(ctx, &dt[k], DG_BOXES_DETS, 1)) < 0)
            goto out;

    for (uint32_t fr = 0; fr < p->n_frames; fr++) {
        gt.n = 0;
        for (uint32_t k = 0; k < n_sets; k++)
            dt[k].n = 0;
        if ((st = next(arg, ctx, fr, &gt, dt)) < 0)
            goto out;
        if (colset_append(&cs[0], fr, &gt) < 0)
            goto werr;
        cs[0].off[fr + 1] = cs[0].n;
        for (uint32_t k = 0; k < n_sets; k++) {
            if (colset_append(&cs[1 + k], fr, &dt[k]) < 0)
                goto werr;
            cs[1 + k].off[fr + 1] = cs[1 + k].n;
        }
    }
    /* Every scratch byte on disk before the file is written from them. */
    for (uint32_t i = 0; i < ncs; i++)
        for (int c = 0; c < N_COLS; c++)
            if (cs[i].f[c] && fflush(cs[i].f[c]))
                goto werr;
    st = write_file(ctx, p, path, n_sets, set_names, cs, buf);
    goto out;
werr: {
    /* The columns wait beside the target: a full disk shows here first,
     * and is reported as any failed write of the target is. */
    int e = errno ? errno : EIO;
    int existed = access(path, F_OK) == 0;
    st = dg__fail(ctx, DG_EIO, "cannot write '%s': %s (its scratch files in "
                  "'%s'); %s", path, strerror(e), dir,
                  existed ? "it is unchanged" : "nothing was written");
}
out:
    for (uint32_t i = 0; cs && i < ncs; i++)
        colset_close(&cs[i]);
    free(cs);
    free(buf);
    dg__boxset_release(&gt);
    for (uint32_t k = 0; dt && k < n_sets; k++)
        dg__boxset_release(&dt[k]);
    free(dt);
    return st;
}

/* ---- moving inference sets ----------------------------------------------- */

void dg__project_move_inferences(dg_project *dst, dg_project *src)
{
    dg_infset *inf = dst->inf;
    uint32_t n = dst->n_inf;
    dst->inf = src->inf;
    dst->n_inf = src->n_inf;
    src->inf = inf;
    src->n_inf = n;
}
