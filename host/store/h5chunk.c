/*
 * The chunk writer and reader (h5chunk.h): HDF5's shuffle and deflate
 * filters done by hand on every core, chunks moved with H5Dwrite_chunk
 * and H5Dread_chunk.
 *
 * What HDF5 1.10's filters do, and so what this does:
 *   - shuffle (filter 0 of dg__h5_dcpl's pipeline): with elements of e > 1
 *     bytes, byte j of element i goes to j * n + i of the n-element chunk;
 *     with e = 1 the chunk is left as it is;
 *   - deflate (filter 1): a zlib stream of the shuffled chunk in a buffer
 *     of ceil(1.001 * nbytes) + 12 bytes; should that not suffice, the
 *     optional filter is skipped and its bit set in the chunk's filter
 *     mask;
 *   - an edge chunk is a whole chunk, the columns past the dataset's end
 *     zero.
 *
 * The stream is not zlib's: deflate_runs.h's encoder writes it, a
 * valid zlib stream (header 0x78 0x01, deflate, Adler-32) that HDF5's
 * filter and every inflater read, several times faster than zlib's level
 * 1 and smaller on these data. Inflating is deflate_runs.h's too (any
 * zlib stream, header and checksum checked); a chunk it refuses goes to
 * zlib, whose verdict stands.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "deflate_runs.h"
#include "h5chunk.h"
#include "h5io.h"

#define BIT_SHUFFLE 1u /* filter masks: shuffle is filter 0 */
#define BIT_DEFLATE 2u /* deflate is filter 1 */

/* ---- shuffle ------------------------------------------------------------- */

static void shuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t e)
{
    if (e == 4) {
        for (size_t i = 0; i < n; i++) {
            dst[i] = src[4 * i];
            dst[n + i] = src[4 * i + 1];
            dst[2 * n + i] = src[4 * i + 2];
            dst[3 * n + i] = src[4 * i + 3];
        }
        return;
    }
    if (e == 8) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < 8; j++)
                dst[j * n + i] = src[8 * i + j];
        return;
    }
    for (size_t j = 0; j < e; j++)
        for (size_t i = 0; i < n; i++)
            dst[j * n + i] = src[i * e + j];
}

/* Elements [a, a + m) of the unshuffled n-element chunk src into dst. */
static void unshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t e,
                      size_t a, size_t m)
{
    if (e == 4) {
        for (size_t i = 0; i < m; i++) {
            dst[4 * i] = src[a + i];
            dst[4 * i + 1] = src[n + a + i];
            dst[4 * i + 2] = src[2 * n + a + i];
            dst[4 * i + 3] = src[3 * n + a + i];
        }
        return;
    }
    if (e == 8) {
        /* Eight planes into whole elements: one 8-byte store each. */
        const uint8_t *p0 = src + a;
        for (size_t i = 0; i < m; i++) {
            uint8_t v[8];
            for (size_t j = 0; j < 8; j++)
                v[j] = p0[j * n + i];
            memcpy(dst + 8 * i, v, 8);
        }
        return;
    }
    for (size_t j = 0; j < e; j++)
        for (size_t i = 0; i < m; i++)
            dst[i * e + j] = src[j * n + a + i];
}

/* ---- zlib streams ------------------------------------------------------------ */

/* A worker's encoder scratch (deflate_runs.h), made on first use. */
typedef struct zworker {
    dg_deflate_scratch *enc;
} zworker;

static void zworker_end(zworker *zw)
{
    dg__deflate_scratch_free(zw->enc);
    zw->enc = NULL;
}

/*
 * Inflates the zlib stream src (n bytes) into exactly cap bytes of dst,
 * checking the header and the Adler-32; 0 on success.
 */
static int zlib_inflate(const uint8_t *src, size_t n, uint8_t *dst,
                        size_t cap)
{
    if (n < 6 || (src[0] & 0x0f) != 8 || (src[0] >> 4) > 7 ||
        ((unsigned)src[0] << 8 | src[1]) % 31 || (src[1] & 0x20)) {
        uLongf got = (uLongf)cap; /* anything unusual: zlib's own way */
        return uncompress(dst, &got, src, (uLong)n) == Z_OK && got == cap
                   ? 0
                   : -1;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK)
        return -1;
    z.next_in = (Bytef *)src + 2;
    z.avail_in = (uInt)(n - 2);
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    size_t used = n - 2 - z.avail_in, out = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out != cap || used + 6 > n)
        return -1;
    const uint8_t *t = src + 2 + used;
    uint32_t want = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
                    (uint32_t)t[2] << 8 | t[3];
    return dg__adler32(1, dst, cap) == want ? 0 : -1;
}

/* ---- writing --------------------------------------------------------------- */

typedef struct wslot {
    uint8_t *bytes; /* what goes to the file */
    size_t n;
    uint32_t mask;
} wslot;

typedef struct wave {
    const dg_h5_job *jobs;
    wslot *slots;
    uint8_t **raw, **shuf, **zout; /* per worker: cap, cap, zcap bytes */
    zworker *zw;                   /* per worker */
    size_t zcap;
    atomic_int failed;
} wave;

static void compress_task(void *arg, uint64_t i, unsigned worker)
{
    wave *w = arg;
    const dg_h5_job *j = &w->jobs[i];
    wslot *s = &w->slots[i];
    size_t nbytes = (size_t)j->width * j->elem;
    uint64_t valid = j->cols - j->col0 < j->width ? j->cols - j->col0
                                                 : j->width;
    uint8_t *raw = w->raw[worker], *src = raw;
    j->fill(j->arg, j->row, j->col0, valid, raw);
    if (valid < j->width)
        memset(raw + valid * j->elem, 0, nbytes - valid * j->elem);
    if (j->elem > 1) {
        shuffle(raw, w->shuf[worker], j->width, j->elem);
        src = w->shuf[worker];
    }
    /* HDF5's output buffer: ceil(1.001 nbytes) + 12. */
    size_t cap = (size_t)(ceil((double)nbytes * 1.001) + 12), got = 0;
    zworker *zw = &w->zw[worker];
    if (!zw->enc && !(zw->enc = dg__deflate_scratch_new())) {
        atomic_store(&w->failed, 1);
        return;
    }
    const uint8_t *bytes = w->zout[worker];
    /* A block per byte plane of the shuffled chunk (unless planes are
     * small: a block's codes cost about 100 bytes). */
    size_t plane = (size_t)j->width;
    size_t block = j->elem > 1 && plane >= ((size_t)16 << 10) ? plane : 0;
    if (dg__deflate_runs(zw->enc, src, nbytes, block, w->zout[worker], cap,
                         &got) < 0) {
        /* HDF5 skips the optional deflate filter: the shuffled bytes. */
        bytes = src;
        got = nbytes;
        s->mask = BIT_DEFLATE;
    }
    s->bytes = malloc(got ? got : 1);
    if (!s->bytes) {
        atomic_store(&w->failed, 1);
        return;
    }
    memcpy(s->bytes, bytes, got);
    s->n = got;
}

dg_status dg__h5_write_jobs(dg_ctx *ctx, const dg_h5_job *jobs, size_t n)
{
    dg_status st = DG_OK;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].width * jobs[i].elem > cap)
            cap = (size_t)(jobs[i].width * jobs[i].elem);
    /* Waves of chunks: a few per worker, within 256 MiB of raw chunks. */
    unsigned team = dg__team(ctx, n, 0);
    size_t per = 4 * (size_t)team;
    size_t mem_cap = ((size_t)256 << 20) / cap;
    if (per > mem_cap)
        per = mem_cap > team ? mem_cap : team;
    wave w;
    memset(&w, 0, sizeof(w));
    w.zcap = (size_t)(ceil((double)cap * 1.001) + 12);
    w.slots = dg__calloc(ctx, per, sizeof(*w.slots));
    w.raw = dg__calloc(ctx, team, sizeof(*w.raw));
    w.shuf = dg__calloc(ctx, team, sizeof(*w.shuf));
    w.zout = dg__calloc(ctx, team, sizeof(*w.zout));
    w.zw = dg__calloc(ctx, team, sizeof(*w.zw));
    if (!w.slots || !w.raw || !w.shuf || !w.zout || !w.zw) {
        st = DG_ENOMEM;
        goto out;
    }
    for (unsigned k = 0; k < team; k++)
        if (!(w.raw[k] = dg__alloc(ctx, cap, 1)) ||
            !(w.shuf[k] = dg__alloc(ctx, cap, 1)) ||
            !(w.zout[k] = dg__alloc(ctx, w.zcap, 1))) {
            st = DG_ENOMEM;
            goto out;
        }
    for (size_t a = 0; a < n && st >= 0; a += per) {
        size_t m = n - a < per ? n - a : per;
        w.jobs = jobs + a;
        memset(w.slots, 0, m * sizeof(*w.slots));
        atomic_init(&w.failed, 0);
        dg__parallel(ctx, m, team, compress_task, &w);
        if (atomic_load(&w.failed))
            st = dg__fail(ctx, DG_ENOMEM, "out of memory compressing chunks");
        for (size_t i = 0; i < m && st >= 0; i++) {
            const dg_h5_job *j = &jobs[a + i];
            hsize_t off[2] = {j->row, j->col0};
            const hsize_t *o = j->rank == 2 ? off : off + 1;
            if (H5Dwrite_chunk(j->ds, H5P_DEFAULT, w.slots[i].mask, o,
                               w.slots[i].n, w.slots[i].bytes) < 0)
                st = dg__fail(ctx, DG_EIO,
                              "'%s': cannot write a chunk of a dataset",
                              dg__h5_fname(j->ds));
        }
        /* A write the temporary file's driver failed (a full disk): stop
         * here rather than compress what cannot be kept. */
        if (st >= 0)
            st = dg__h5_check_write(ctx, jobs[a].ds);
        for (size_t i = 0; i < m; i++)
            free(w.slots[i].bytes);
    }
out:
    for (unsigned k = 0; k < team; k++) {
        if (w.raw)
            free(w.raw[k]);
        if (w.shuf)
            free(w.shuf[k]);
        if (w.zout)
            free(w.zout[k]);
        if (w.zw)
            zworker_end(&w.zw[k]);
    }
    free(w.raw);
    free(w.shuf);
    free(w.zout);
    free(w.zw);
    free(w.slots);
    return st;
}

int dg__h5_chunkable(int rank, const hsize_t *chunk, int compress,
                     hid_t memtype, hid_t filetype)
{
    if (!compress || (rank != 1 && !(rank == 2 && chunk[0] == 1)))
        return 0;
    H5T_class_t c = H5Tget_class(filetype);
    if ((c != H5T_INTEGER && c != H5T_FLOAT) ||
        H5Tget_class(memtype) != c ||
        H5Tget_size(memtype) != H5Tget_size(filetype) ||
        H5Tget_order(memtype) != H5Tget_order(filetype) ||
        H5Tget_order(filetype) != H5T_ORDER_LE)
        return 0;
    if (c == H5T_INTEGER && H5Tget_sign(memtype) != H5Tget_sign(filetype))
        return 0;
    return 1;
}

/* The filler of dg__h5_write_all. */
typedef struct whole {
    const uint8_t *data;
    uint64_t cols;
    size_t elem;
    int xor_rows;
} whole;

static void fill_whole(const void *arg, uint64_t row, uint64_t col0,
                       uint64_t n, void *dst)
{
    const whole *w = arg;
    const uint8_t *src = w->data + (row * w->cols + col0) * w->elem;
    if (!w->xor_rows || row == 0) {
        memcpy(dst, src, n * w->elem);
        return;
    }
    const uint32_t *a = (const uint32_t *)src;
    const uint32_t *b = (const uint32_t *)(src - w->cols * 4);
    uint32_t *d = dst;
    for (uint64_t k = 0; k < n; k++)
        d[k] = a[k] ^ b[k];
}

/*
 * Appends the jobs of every chunk of dataset ds (rows x cols of elem bytes,
 * chunks width wide) filled from w to *jobs; -1 when memory runs out.
 */
static int add_jobs(dg_h5_job **jobs, size_t *n, hid_t ds, int rank,
                    size_t elem, uint64_t rows, uint64_t cols,
                    uint64_t width, const whole *w)
{
    uint64_t nb = (cols + width - 1) / width;
    dg_h5_job *more = realloc(*jobs, (*n + rows * nb) * sizeof(**jobs));
    if (!more)
        return -1;
    *jobs = more;
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t b = 0; b < nb; b++) {
            dg_h5_job *j = &more[(*n)++];
            j->ds = ds;
            j->rank = rank;
            j->elem = elem;
            j->cols = cols;
            j->width = width;
            j->row = r;
            j->col0 = b * width;
            j->fill = fill_whole;
            j->arg = w;
        }
    return 0;
}

dg_status dg__h5_write_all(dg_ctx *ctx, hid_t ds, int rank,
                           const hsize_t *dims, const hsize_t *chunk,
                           size_t elem, const void *data, int xor_rows)
{
    uint64_t rows = rank == 2 ? dims[0] : 1, cols = dims[rank - 1];
    if (!rows || !cols)
        return DG_OK;
    whole w = {data, cols, elem, xor_rows && rank == 2 && elem == 4};
    dg_h5_job *jobs = NULL;
    size_t n = 0;
    if (add_jobs(&jobs, &n, ds, rank, elem, rows, cols, chunk[rank - 1],
                 &w) < 0)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    dg_status st = dg__h5_write_jobs(ctx, jobs, n);
    free(jobs);
    return st;
}

dg_status dg__h5_write_tables(dg_ctx *ctx, hid_t loc, const dg_h5_table *t,
                              size_t n)
{
    dg_status st = DG_OK;
    hid_t ds[8];
    whole w[8];
    size_t n_jobs = 0, made = 0;
    dg_h5_job *jobs = NULL;
    if (n > 8)
        return dg__fail(ctx, DG_EINVAL, "dg__h5_write_tables: %zu tables", n);
    for (size_t k = 0; k < n; k++) {
        const dg_h5_table *x = &t[k];
        hsize_t dims[2] = {x->dims[0], x->dims[1]}, chunk[2];
        if (x->rank == 1) {
            chunk[0] = dg__h5_chunk_1d(dims[0]);
        } else {
            chunk[0] = 1;
            chunk[1] = dims[1] < (1u << 20) ? (dims[1] ? dims[1] : 1)
                                            : (1u << 20);
        }
        hid_t space = H5Screate_simple(x->rank, dims, NULL);
        hid_t dcpl = dg__h5_dcpl(x->rank, dims, chunk, 1);
        ds[k] = space >= 0 && dcpl >= 0
                    ? H5Dcreate2(loc, x->name, x->filetype, space, H5P_DEFAULT,
                                 dcpl, H5P_DEFAULT)
                    : H5I_INVALID_HID;
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (space >= 0)
            H5Sclose(space);
        if (ds[k] < 0) {
            st = dg__fail(ctx, DG_EIO, "'%s': cannot write dataset '%s'",
                          dg__h5_fname(loc), x->name);
            goto out;
        }
        made = k + 1;
        uint64_t rows = x->rank == 2 ? dims[0] : 1, cols = dims[x->rank - 1];
        if (!rows || !cols)
            continue;
        size_t elem = H5Tget_size(x->filetype);
        w[k] = (whole){x->data, cols, elem,
                       x->xor_rows && x->rank == 2 && elem == 4};
        if (add_jobs(&jobs, &n_jobs, ds[k], x->rank, elem, rows, cols,
                     chunk[x->rank - 1], &w[k]) < 0) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto out;
        }
    }
    st = dg__h5_write_jobs(ctx, jobs, n_jobs);
out:
    for (size_t k = 0; k < made; k++)
        H5Dclose(ds[k]);
    free(jobs);
    return st;
}

dg_status dg__h5_write_xor_table(dg_ctx *ctx, hid_t loc, const char *name,
                                 const int32_t *data, uint64_t rows,
                                 uint64_t cols)
{
    dg_h5_table t = {name,  H5T_NATIVE_INT32, H5T_STD_I32LE, data, 2,
                     {rows, cols}, 1};
    return dg__h5_write_tables(ctx, loc, &t, 1);
}

/* ---- reading ------------------------------------------------------------- */

/* The filters of ds: 1 when every one is shuffle or deflate, shuffle
 * first; *shuf / *defl: their positions, -1 when absent. */
static int plain_filters(hid_t dcpl, int *shuf, int *defl)
{
    int n = H5Pget_nfilters(dcpl);
    *shuf = *defl = -1;
    if (n < 0 || n > 2)
        return 0;
    for (int i = 0; i < n; i++) {
        unsigned flags = 0, cd[8], cfg = 0;
        size_t ncd = 8;
        char name[64];
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd,
                                        sizeof(name), name, &cfg);
        if (f == H5Z_FILTER_SHUFFLE && *shuf < 0 && *defl < 0)
            *shuf = i;
        else if (f == H5Z_FILTER_DEFLATE && *defl < 0)
            *defl = i;
        else
            return 0;
    }
    return 1;
}

typedef struct rchunk {
    uint8_t *raw;   /* as stored */
    size_t n_raw;
    uint32_t mask;
    uint64_t row, col0; /* the chunk's first element */
    uint64_t a, m;      /* elements [a, a + m) of it go out */
    uint8_t *dst;
} rchunk;

typedef struct rwave {
    rchunk *c;
    size_t elem, width;
    int shuf, defl;
    uint8_t **scratch; /* per worker: one chunk */
    dg_inflate_scratch **dec; /* per worker */
    atomic_int failed;
} rwave;

static void inflate_task(void *arg, uint64_t i, unsigned worker)
{
    rwave *w = arg;
    rchunk *c = &w->c[i];
    size_t nbytes = w->width * w->elem;
    uint8_t *a = w->scratch[worker];
    const uint8_t *src = c->raw;
    if (w->defl >= 0 && !(c->mask & (1u << w->defl))) {
        /* detgrid's inflater; zlib's for what it refuses (zlib says
         * whether the chunk is damaged). */
        if (dg__inflate(w->dec[worker], c->raw, c->n_raw, a, nbytes) < 0 &&
            zlib_inflate(c->raw, c->n_raw, a, nbytes) < 0) {
            atomic_store(&w->failed, 1);
            return;
        }
        src = a;
    } else if (c->n_raw != nbytes) {
        atomic_store(&w->failed, 1);
        return;
    }
    if (w->shuf >= 0 && w->elem > 1 && !(c->mask & (1u << w->shuf))) {
        unshuffle(src, c->dst, w->width, w->elem, c->a, c->m);
        return;
    }
    memcpy(c->dst, src + c->a * w->elem, c->m * w->elem);
}

int dg__h5_read_rows(dg_ctx *ctx, hid_t ds, hid_t memtype, uint64_t row0,
                     uint64_t nrows, uint64_t col0, uint64_t ncols,
                     void *out)
{
    int ret = 0;
    hid_t dcpl = H5Dget_create_plist(ds), ft = H5Dget_type(ds),
          sp = H5Dget_space(ds);
    rwave w;
    memset(&w, 0, sizeof(w));
    unsigned team = 0;
    if (dcpl < 0 || ft < 0 || sp < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED)
        goto out;
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0}, cdims[2] = {0, 0};
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 ||
        H5Pget_chunk(dcpl, rank, cdims) != rank ||
        (rank == 2 && cdims[0] != 1) ||
        !dg__h5_chunkable(rank, cdims, 1, memtype, ft) ||
        !plain_filters(dcpl, &w.shuf, &w.defl) ||
        (w.shuf < 0 && w.defl < 0))
        goto out;
    uint64_t cols = dims[rank - 1], width = cdims[rank - 1];
    if (rank == 1 ? (row0 != 0 || nrows != 1) : row0 + nrows > dims[0])
        goto out;
    if (rank == 2) {
        col0 = 0;
        ncols = cols;
    }
    if (!nrows || !ncols) {
        ret = 1;
        goto out;
    }
    if (col0 + ncols > cols)
        goto out;
    w.elem = H5Tget_size(ft);
    w.width = (size_t)width;
    uint64_t b0 = col0 / width, b1 = (col0 + ncols - 1) / width + 1;
    uint64_t nb = b1 - b0, total = nrows * nb;
    size_t nbytes = w.width * w.elem;
    team = dg__team(ctx, total, 0);
    size_t per = 4 * (size_t)team;
    size_t mem_cap = ((size_t)128 << 20) / (nbytes ? nbytes : 1);
    if (per > mem_cap)
        per = mem_cap > team ? mem_cap : team;
    w.c = calloc(per, sizeof(*w.c));
    w.scratch = calloc(team, sizeof(*w.scratch));
    w.dec = calloc(team, sizeof(*w.dec));
    if (!w.c || !w.scratch || !w.dec) {
        ret = dg__fail(ctx, DG_ENOMEM, "out of memory");
        goto out;
    }
    for (unsigned k = 0; k < team; k++)
        if (!(w.scratch[k] = malloc(nbytes)) ||
            !(w.dec[k] = dg__inflate_scratch_new())) {
            ret = dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto out;
        }
    uint8_t *dst = out;
    for (uint64_t q = 0; q < total; q += per) {
        size_t m = total - q < per ? (size_t)(total - q) : per;
        size_t got = 0;
        for (size_t i = 0; i < m; i++) {
            uint64_t r = row0 + (q + i) / nb, b = b0 + (q + i) % nb;
            rchunk *c = &w.c[i];
            hsize_t off[2] = {r, b * width};
            const hsize_t *o = rank == 2 ? off : off + 1;
            hsize_t sz = 0;
            /* Unallocated (its fill value is HDF5's business), or larger
             * than deflate ever makes a chunk (a damaged file: HDF5 says
             * what is wrong): H5Dread's. */
            if (H5Dget_chunk_storage_size(ds, o, &sz) < 0 || sz == 0 ||
                sz > nbytes + nbytes / 64 + 4096)
                break;
            c->raw = malloc(sz);
            got++;
            if (!c->raw) {
                ret = dg__fail(ctx, DG_ENOMEM, "out of memory");
                break;
            }
            c->n_raw = (size_t)sz;
            if (H5Dread_chunk(ds, H5P_DEFAULT, o, &c->mask, c->raw) < 0)
                break;
            uint64_t lo = b * width > col0 ? b * width : col0;
            uint64_t hi = (b + 1) * width < col0 + ncols ? (b + 1) * width
                                                          : col0 + ncols;
            c->a = lo - b * width;
            c->m = hi - lo;
            c->dst = dst + (((r - row0) * ncols) + (lo - col0)) * w.elem;
        }
        int ok = got == m && ret == 0;
        if (ok) {
            atomic_init(&w.failed, 0);
            dg__parallel(ctx, m, team, inflate_task, &w);
            ok = !atomic_load(&w.failed);
        }
        for (size_t i = 0; i < got; i++) {
            free(w.c[i].raw);
            w.c[i].raw = NULL;
        }
        if (!ok)
            goto out; /* ret: 0 (let H5Dread try) or the failure */
    }
    ret = 1;
out:
    if (w.scratch)
        for (unsigned k = 0; k < team; k++)
            free(w.scratch[k]);
    if (w.dec)
        for (unsigned k = 0; k < team; k++)
            dg__inflate_scratch_free(w.dec[k]);
    free(w.scratch);
    free(w.dec);
    free(w.c);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return ret;
}
