/*
 * The pending store of bounded-memory eval. Matching produces, per chunk of
 * frames, T outcomes per detection in inference-set order; the stored tables
 * are T x N in sorted order (class, score, record). Holding those tables
 * twice (once per order) is what made eval's memory grow as 18 T bytes a
 * detection. Here each detection's outcomes are run-length encoded across
 * thresholds (they change at one or two thresholds, if at all) and appended
 * to the bucket of its sorted position: bucket j holds sorted positions
 * [j W, (j + 1) W), W being the width of one HDF5 chunk of the tables.
 * Buckets spill to an unlinked scratch file when they outgrow the budget.
 * At save, each bucket is decoded one threshold row at a time into whole
 * HDF5 chunks, so the tables never exist in memory and the chunks written
 * are byte for byte those of an in-memory eval.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_impl.h"

#define RUN_BYTES 10
/* The tables' HDF5 chunk width (dg__h5_write_2d): one row, up to 2^20. */
#define CHUNK_W (1u << 20)

static int bytes_room(dg_bytes *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap += cap / 2 + 4096;
    void *q = realloc(b->p, cap);
    if (!q)
        return -1;
    b->p = q;
    b->cap = cap;
    return 0;
}

static void put32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)u;
    p[1] = (uint8_t)(u >> 8);
    p[2] = (uint8_t)(u >> 16);
    p[3] = (uint8_t)(u >> 24);
}

static int32_t get32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

dg_status dg__stream_encode(dg_ctx *ctx, dg_bytes *out, int n_iou, uint64_t n,
                            const uint8_t *status, const int32_t *matched,
                            const int32_t *agn, int64_t gbase)
{
    if (bytes_room(out, (size_t)n * (1 + RUN_BYTES * (size_t)n_iou)) < 0)
        return dg__fail(ctx, DG_ENOMEM, "out of memory for match outcomes");
    uint8_t *p = out->p + out->n;
    for (uint64_t k = 0; k < n; k++) {
        uint8_t *cnt = p++;
        int runs = 0;
        uint8_t ps = 0;
        int32_t pm = 0, pa = 0;
        for (int t = 0; t < n_iou; t++) {
            size_t o = (size_t)t * n + k;
            uint8_t s = status[o];
            int32_t m = matched[o] < 0 ? -1 : (int32_t)(matched[o] + gbase);
            int32_t a = agn[o] < 0 ? agn[o] : (int32_t)(agn[o] + gbase);
            if (t && s == ps && m == pm && a == pa)
                continue;
            p[0] = (uint8_t)t;
            p[1] = s;
            put32(p + 2, m);
            put32(p + 6, a);
            p += RUN_BYTES;
            runs++;
            ps = s;
            pm = m;
            pa = a;
        }
        *cnt = (uint8_t)runs;
    }
    out->n = (size_t)(p - out->p);
    return DG_OK;
}

/* ---- the pending store ------------------------------------------------ */

typedef struct bucket {
    dg_bytes mem;      /* entries not yet spilled */
    uint64_t *seg;     /* (offset, length) pairs in the scratch file */
    uint32_t nseg, segcap;
    uint64_t count;    /* entries added */
} bucket;

struct dg_pending {
    int n_iou;
    uint64_t n_det, width; /* width: sorted positions per bucket */
    uint32_t nb;
    bucket *b;
    uint64_t budget, mem, disk, added;
    int fd;
    char dir[4096];
};

dg_pending *dg__pending_new(dg_ctx *ctx, int n_iou, uint64_t n_det,
                            uint64_t budget, const char *dir)
{
    dg_pending *pd = dg__calloc(ctx, 1, sizeof(*pd));
    if (!pd)
        return NULL;
    pd->n_iou = n_iou;
    pd->n_det = n_det;
    pd->width = n_det < CHUNK_W ? (n_det ? n_det : 1) : CHUNK_W;
    pd->nb = (uint32_t)((n_det + pd->width - 1) / pd->width);
    pd->budget = budget;
    pd->fd = -1;
    snprintf(pd->dir, sizeof(pd->dir), "%s", dir && *dir ? dir : ".");
    pd->b = dg__calloc(ctx, pd->nb ? pd->nb : 1, sizeof(*pd->b));
    if (!pd->b) {
        free(pd);
        return NULL;
    }
    return pd;
}

void dg__pending_free(dg_pending *pd)
{
    if (!pd)
        return;
    for (uint32_t j = 0; j < pd->nb; j++) {
        free(pd->b[j].mem.p);
        free(pd->b[j].seg);
    }
    free(pd->b);
    if (pd->fd >= 0)
        close(pd->fd);
    free(pd);
}

uint64_t dg__pending_count(const dg_pending *pd)
{
    return pd->added;
}

void dg__pending_usage(const dg_pending *pd, uint64_t *mem, uint64_t *disk)
{
    *mem = pd->mem;
    *disk = pd->disk;
}

static dg_status open_scratch(dg_ctx *ctx, dg_pending *pd)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/.detgrid-scratch-XXXXXX", pd->dir);
    pd->fd = mkstemp(path);
    if (pd->fd < 0)
        return dg__fail(ctx, DG_EIO, "cannot create a scratch file in '%s': %s",
                        pd->dir, strerror(errno));
    unlink(path); /* gone with the process, whatever happens */
    return DG_OK;
}

dg_status dg__pending_spill(dg_ctx *ctx, dg_pending *pd)
{
    dg_status st;
    if (!pd->mem)
        return DG_OK;
    if (pd->fd < 0 && (st = open_scratch(ctx, pd)) < 0)
        return st;
    for (uint32_t j = 0; j < pd->nb; j++) {
        bucket *b = &pd->b[j];
        if (!b->mem.n)
            continue;
        if (b->nseg == b->segcap) {
            uint32_t cap = b->segcap ? 2 * b->segcap : 8;
            uint64_t *q = realloc(b->seg, (size_t)cap * 2 * sizeof(*q));
            if (!q)
                return dg__fail(ctx, DG_ENOMEM, "out of memory");
            b->seg = q;
            b->segcap = cap;
        }
        size_t done = 0;
        while (done < b->mem.n) {
            ssize_t w = pwrite(pd->fd, b->mem.p + done, b->mem.n - done,
                               (off_t)(pd->disk + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return dg__fail(ctx, DG_EIO,
                                "cannot write the scratch file in '%s': %s",
                                pd->dir, w < 0 ? strerror(errno) : "no space");
            done += (size_t)w;
        }
        b->seg[2 * b->nseg] = pd->disk;
        b->seg[2 * b->nseg + 1] = b->mem.n;
        b->nseg++;
        pd->disk += b->mem.n;
        free(b->mem.p);
        memset(&b->mem, 0, sizeof(b->mem));
    }
    pd->mem = 0;
    return DG_OK;
}

/* Checks one record at s (len bytes left); its size or 0 if malformed. */
static size_t record_size(const uint8_t *s, size_t len, int n_iou)
{
    if (len < 1 + RUN_BYTES)
        return 0;
    int runs = s[0];
    size_t sz = 1 + (size_t)runs * RUN_BYTES;
    if (runs < 1 || runs > n_iou || sz > len || s[1] != 0)
        return 0;
    for (int r = 0; r < runs; r++) {
        const uint8_t *q = s + 1 + (size_t)r * RUN_BYTES;
        if (q[0] >= n_iou || q[1] > DG_IGN || (r && q[0] <= q[-RUN_BYTES]))
            return 0;
    }
    return sz;
}

dg_status dg__pending_add(dg_ctx *ctx, dg_pending *pd, const uint32_t *pos,
                          uint64_t base, const uint8_t *s, size_t len,
                          uint64_t *count)
{
    uint64_t d = base, before = 0;
    dg_status st;
    for (uint32_t j = 0; j < pd->nb; j++)
        before += pd->b[j].mem.n;
    while (len) {
        size_t sz = record_size(s, len, pd->n_iou);
        if (!sz || d >= pd->n_det)
            return dg__fail(ctx, DG_EFORMAT,
                            "corrupt match-outcome stream at record %llu",
                            (unsigned long long)d);
        uint32_t p = pos[d];
        bucket *b = &pd->b[p / pd->width];
        if (bytes_room(&b->mem, 4 + sz) < 0)
            return dg__fail(ctx, DG_ENOMEM, "out of memory for match outcomes");
        put32(b->mem.p + b->mem.n, (int32_t)(p % pd->width));
        memcpy(b->mem.p + b->mem.n + 4, s, sz);
        b->mem.n += 4 + sz;
        b->count++;
        s += sz;
        len -= sz;
        d++;
    }
    uint64_t after = 0;
    for (uint32_t j = 0; j < pd->nb; j++)
        after += pd->b[j].mem.n;
    pd->mem += after - before;
    pd->added += d - base;
    if (count)
        *count = d - base;
    /* Buffers grow by half again: spill before the slack passes the
     * budget. */
    if (pd->budget && pd->mem + pd->mem / 2 > pd->budget &&
        (st = dg__pending_spill(ctx, pd)) < 0)
        return st;
    return DG_OK;
}

/* ---- writing ------------------------------------------------------------ */

/* A T x N dataset laid out as dg__h5_write_2d lays it out. */
static hid_t create_table(dg_ctx *ctx, hid_t g, const char *name,
                          hid_t filetype, uint64_t rows, uint64_t cols)
{
    hsize_t dims[2] = {rows, cols};
    hsize_t chunk[2] = {1, cols < CHUNK_W ? (cols ? cols : 1) : CHUNK_W};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = H5I_INVALID_HID;
    if (space >= 0 && dcpl >= 0) {
        if (rows && cols) {
            H5Pset_chunk(dcpl, 2, chunk);
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, 1);
        }
        ds = H5Dcreate2(g, name, filetype, space, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT);
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (ds < 0)
        dg__fail(ctx, DG_EIO, "'%s': cannot create dataset '%s'",
                 dg__h5_fname(g), name);
    return ds;
}

/* Rows of one block of a table, held for the chunk writer: row t of the
 * block at base + (t - t0) * w elements. */
typedef struct rows_src {
    const uint8_t *base;
    size_t elem;
    uint64_t t0, w;
} rows_src;

static void fill_rows(const void *arg, uint64_t row, uint64_t col0,
                      uint64_t n, void *dst)
{
    const rows_src *r = arg;
    (void)col0;
    memcpy(dst, r->base + (row - r->t0) * r->w * r->elem, n * r->elem);
}

/* Reads bucket j's entries (spilled ones first, in order) into out. */
static dg_status gather(dg_ctx *ctx, dg_pending *pd, uint32_t j, dg_bytes *out)
{
    bucket *b = &pd->b[j];
    uint64_t tot = b->mem.n;
    for (uint32_t s = 0; s < b->nseg; s++)
        tot += b->seg[2 * s + 1];
    out->n = 0;
    if (bytes_room(out, (size_t)tot) < 0)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    for (uint32_t s = 0; s < b->nseg; s++) {
        uint64_t off = b->seg[2 * s], len = b->seg[2 * s + 1], done = 0;
        while (done < len) {
            ssize_t r = pread(pd->fd, out->p + out->n + done, len - done,
                              (off_t)(off + done));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return dg__fail(ctx, DG_EIO,
                                "cannot read the scratch file in '%s': %s",
                                pd->dir, r < 0 ? strerror(errno) : "short");
            done += (uint64_t)r;
        }
        out->n += len;
    }
    if (b->mem.n)
        memcpy(out->p + out->n, b->mem.p, b->mem.n);
    out->n += b->mem.n;
    return DG_OK;
}

dg_status dg__pending_write(dg_ctx *ctx, dg_pending *pd, int64_t loc)
{
    hid_t g = (hid_t)loc;
    int T = pd->n_iou;
    dg_status st = DG_OK;
    hid_t ds_s = H5I_INVALID_HID, ds_m = H5I_INVALID_HID,
          ds_a = H5I_INVALID_HID;
    dg_bytes enc = {NULL, 0, 0};
    uint64_t *cur = NULL;
    uint32_t *lp = NULL;
    uint8_t *rs = NULL;
    int32_t *rm = NULL, *rprev = NULL, *rx = NULL, *ra = NULL;
    dg_h5_job *jobs = NULL;
    uint64_t w0 = pd->width;
    /* Rows decoded at a time: one per worker, so that their chunks
     * compress together. */
    uint64_t K = dg__team(ctx, (uint64_t)T, 0);
    /* ... within 64 MiB of decoded rows (13 bytes an entry). */
    uint64_t k_mem = ((uint64_t)64 << 20) / (w0 * 13);
    if (K > k_mem)
        K = k_mem ? k_mem : 1;
    if (pd->added != pd->n_det)
        return dg__fail(ctx, DG_EINVAL,
                        "match outcomes of %llu of %llu detections pending",
                        (unsigned long long)pd->added,
                        (unsigned long long)pd->n_det);
    if ((ds_s = create_table(ctx, g, "status", H5T_STD_U8LE, (uint64_t)T,
                             pd->n_det)) < 0 ||
        (ds_m = create_table(ctx, g, "matched", H5T_STD_I32LE, (uint64_t)T,
                             pd->n_det)) < 0 ||
        (st = dg__h5_attr_write_str(ctx, ds_m, "encoding",
                                    "xor-previous-row")) < 0 ||
        (ds_a = create_table(ctx, g, "agnostic", H5T_STD_I32LE, (uint64_t)T,
                             pd->n_det)) < 0) {
        if (st >= 0)
            st = DG_EIO;
        goto out;
    }
    cur = dg__alloc(ctx, w0, sizeof(*cur));
    lp = dg__alloc(ctx, w0, sizeof(*lp));
    rs = dg__alloc(ctx, K * w0, 1);
    rm = dg__alloc(ctx, K * w0, 4);
    rprev = dg__alloc(ctx, w0, 4);
    rx = dg__alloc(ctx, K * w0, 4);
    ra = dg__alloc(ctx, K * w0, 4);
    jobs = dg__alloc(ctx, 3 * K, sizeof(*jobs));
    if (!cur || !lp || !rs || !rm || !rprev || !rx || !ra || !jobs) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t j = 0; j < pd->nb; j++) {
        uint64_t col = (uint64_t)j * w0;
        uint64_t w = pd->n_det - col < w0 ? pd->n_det - col : w0;
        if (pd->b[j].count != w) {
            st = dg__fail(ctx, DG_EINVAL,
                          "sorted block %u holds %llu outcomes, expected %llu",
                          j, (unsigned long long)pd->b[j].count,
                          (unsigned long long)w);
            goto out;
        }
        if ((st = gather(ctx, pd, j, &enc)) < 0)
            goto out;
        /* Where each entry's record starts, and its sorted position. */
        memset(rprev, 0, w * 4);
        size_t o = 0;
        for (uint64_t e = 0; e < w; e++) {
            uint32_t k = (uint32_t)get32(enc.p + o);
            size_t sz = enc.n - o >= 4 ? record_size(enc.p + o + 4,
                                                     enc.n - o - 4, T)
                                       : 0;
            if (!sz || k >= w) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "corrupt pending outcomes in block %u", j);
                goto out;
            }
            lp[e] = k;
            cur[e] = o + 4; /* at the run count */
            o += 4 + sz;
        }
        for (uint64_t t0 = 0; t0 < (uint64_t)T; t0 += K) {
            uint64_t nr = (uint64_t)T - t0 < K ? (uint64_t)T - t0 : K;
            for (uint64_t r = 0; r < nr; r++) {
                int t = (int)(t0 + r);
                uint8_t *s_ = rs + r * w;
                int32_t *m_ = rm + r * w, *a_ = ra + r * w, *x_ = rx + r * w;
                for (uint64_t e = 0; e < w; e++) {
                    /* The run holding t: the last whose first threshold is
                     * at or before t (runs are few: one to three,
                     * typically). */
                    const uint8_t *q = enc.p + cur[e];
                    const uint8_t *run = q + 1;
                    int left = q[0];
                    while (left > 1 && run[RUN_BYTES] <= t) {
                        run += RUN_BYTES;
                        left--;
                    }
                    uint32_t k = lp[e];
                    s_[k] = run[1];
                    m_[k] = get32(run + 2);
                    a_[k] = get32(run + 6);
                }
                for (uint64_t k = 0; k < w; k++) {
                    x_[k] = t ? (int32_t)((uint32_t)m_[k] ^ (uint32_t)rprev[k])
                              : m_[k];
                    rprev[k] = m_[k];
                }
            }
            rows_src src[3] = {{rs, 1, t0, w},
                               {(const uint8_t *)rx, 4, t0, w},
                               {(const uint8_t *)ra, 4, t0, w}};
            hid_t dss[3] = {ds_s, ds_m, ds_a};
            size_t nj = 0;
            for (int tb = 0; tb < 3; tb++)
                for (uint64_t r = 0; r < nr; r++) {
                    dg_h5_job *jb = &jobs[nj++];
                    jb->ds = dss[tb];
                    jb->rank = 2;
                    jb->elem = src[tb].elem;
                    jb->cols = pd->n_det;
                    jb->width = w0;
                    jb->row = t0 + r;
                    jb->col0 = col;
                    jb->fill = fill_rows;
                    jb->arg = &src[tb];
                }
            if ((st = dg__h5_write_jobs(ctx, jobs, nj)) < 0)
                goto out;
        }
    }
out:
    if (ds_a >= 0)
        H5Dclose(ds_a);
    if (ds_m >= 0)
        H5Dclose(ds_m);
    if (ds_s >= 0)
        H5Dclose(ds_s);
    free(enc.p);
    free(cur);
    free(lp);
    free(rs);
    free(rm);
    free(rprev);
    free(rx);
    free(ra);
    free(jobs);
    return st;
}
