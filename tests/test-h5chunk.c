/*
 * The chunk writer and reader (host/store/h5chunk.c) against HDF5's own
 * filter pipeline: every dataset is written twice, once with H5Dwrite
 * through shuffle + deflate 1 and once with the chunk writer, and HDF5
 * must read the same elements from both (its filter inflating the chunk
 * writer's streams), the chunk writer's no bigger.
 * Then the chunk reader must read back what H5Dread reads, for whole
 * datasets and for ranges that start and end inside chunks, with one
 * thread and with several.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_impl.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Data of n elements of elem bytes in one of several kinds. */
static void *make_data(size_t n, size_t elem, int kind)
{
    uint8_t *p = malloc(n * elem + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        switch (kind) {
        case 0: v = next_u64(); break;                  /* incompressible */
        case 1: v = next_u64() % 7 == 0 ? i : 0; break; /* mostly zeros */
        case 2: v = i / 37; break;                      /* runs */
        default: {
            double d = (double)(next_u64() % 100000) / 7.0;
            memcpy(&v, &d, 8);
        }
        }
        memcpy(p + i * elem, &v, elem);
    }
    return p;
}

/*
 * Dataset name of file b (the chunk writer's) against a (HDF5's pipeline):
 * the same chunks allocated, each a whole chunk HDF5's filter inflates
 * (H5Dread through the pipeline) to the same elements, and in all no
 * bigger than a quarter over what zlib level 1 made of them. The
 * compressed bytes themselves differ: the store has its own encoder, whose
 * only matches are runs (tests/test-deflate.c checks its streams with
 * zlib's inflater, and that on detgrid's own tables it is smaller).
 */
static size_t bytes_a, bytes_b;
static void compare_chunks(hid_t fa, hid_t fb, const char *name)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name,
                                                                H5P_DEFAULT);
    CHECK(da >= 0 && db >= 0);
    hid_t sp = H5Dget_space(da), pl = H5Dget_create_plist(da);
    hid_t ty = H5Dget_type(da);
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0}, ch[2] = {0, 0};
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t sa_all = 0, sb_all = 0;
    if (H5Pget_layout(pl) == H5D_CHUNKED) {
        H5Pget_chunk(pl, rank, ch);
        uint64_t rows = rank == 2 ? dims[0] : 1, cols = dims[rank - 1];
        uint64_t w = ch[rank - 1];
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t c = 0; c < cols; c += w) {
                hsize_t off[2] = {r, c};
                const hsize_t *o = rank == 2 ? off : off + 1;
                hsize_t sa = 0, sb = 0;
                CHECK(H5Dget_chunk_storage_size(da, o, &sa) >= 0);
                CHECK(H5Dget_chunk_storage_size(db, o, &sb) >= 0);
                CHECK_EQ_INT(sa > 0, sb > 0);
                sa_all += (size_t)sa;
                sb_all += (size_t)sb;
            }
    }
    size_t esz = H5Tget_size(ty);
    size_t tot = (size_t)(rank == 2 ? dims[0] * dims[1] : dims[0]) * esz;
    if (tot) {
        uint8_t *va = malloc(tot), *vb = malloc(tot);
        CHECK(H5Dread(da, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, va) >= 0);
        CHECK(H5Dread(db, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb) >= 0);
        int same = !memcmp(va, vb, tot);
        CHECK(same);
        if (!same)
            fprintf(stderr, "%s: HDF5 reads other elements\n", name);
        free(va);
        free(vb);
    }
    if (!(sb_all <= sa_all + sa_all / 4 + 64))
        fprintf(stderr, "%s: %zu bytes (HDF5: %zu)\n", name, sb_all, sa_all);
    CHECK(sb_all <= sa_all + sa_all / 4 + 64);
    bytes_a += sa_all;
    bytes_b += sb_all;
    H5Tclose(ty);
    H5Pclose(pl);
    H5Sclose(sp);
    H5Dclose(da);
    H5Dclose(db);
}

/* HDF5's own way: the filter pipeline. */
static void write_pipeline(hid_t f, const char *name, hid_t mt, hid_t ft,
                           int rank, const hsize_t *dims, const hsize_t *ch,
                           const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t pl = dg__h5_dcpl(rank, dims, ch, 1);
    hid_t ds = H5Dcreate2(f, name, ft, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    CHECK(ds >= 0);
    hsize_t tot = rank == 2 ? dims[0] * dims[1] : dims[0];
    if (tot)
        CHECK(H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Pclose(pl);
    H5Sclose(sp);
}

/* Reads dataset name back through the chunk reader in pieces and whole,
 * against H5Dread. */
static void check_reads(dg_ctx *ctx, hid_t f, const char *name, hid_t mt,
                        size_t elem, const void *want, int rank,
                        const hsize_t *dims)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    uint64_t rows = rank == 2 ? dims[0] : 1, cols = dims[rank - 1];
    uint8_t *got = malloc(rows * cols * elem + 1);
    if (rank == 2) {
        for (uint64_t r0 = 0; r0 < rows; r0++)
            for (uint64_t nr = 1; r0 + nr <= rows; nr++) {
                memset(got, 0xee, rows * cols * elem);
                int rc = dg__h5_read_rows(ctx, ds, mt, r0, nr, 0, cols, got);
                CHECK_EQ_INT(rc, cols ? 1 : 1);
                CHECK(!memcmp(got, (const uint8_t *)want + r0 * cols * elem,
                              nr * cols * elem));
            }
    } else {
        uint64_t cuts[][2] = {{0, cols},
                              {cols / 3, cols / 3},
                              {1, cols > 2 ? cols - 2 : 0},
                              {cols / 2, cols - cols / 2},
                              {65535 < cols ? 65535 : 0, cols > 65537 ? 3 : 0}};
        for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
            uint64_t a = cuts[k][0], n = cuts[k][1];
            if (a + n > cols)
                continue;
            memset(got, 0xee, cols * elem + 1);
            int rc = dg__h5_read_rows(ctx, ds, mt, 0, 1, a, n, got);
            CHECK_EQ_INT(rc, 1);
            CHECK(!memcmp(got, (const uint8_t *)want + a * elem, n * elem));
        }
    }
    free(got);
    H5Dclose(ds);
}

int main(void)
{
    char dir[] = "/tmp/dg-h5chunk-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    char pa[256], pb[256];
    snprintf(pa, sizeof(pa), "%s/a.h5", dir);
    snprintf(pb, sizeof(pb), "%s/b.h5", dir);
    dg__h5_quiet();
    dg_ctx *ctx;
    dg_ctx_new(&ctx);
    for (int threads = 1; threads <= 3; threads += 2) {
        dg_ctx_set_threads(ctx, (unsigned)threads);
        hid_t fa = H5Fcreate(pa, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hid_t fb = H5Fcreate(pb, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        struct {
            hid_t mt, ft;
            size_t elem;
        } types[] = {{H5T_NATIVE_UINT8, H5T_STD_U8LE, 1},
                     {H5T_NATIVE_INT32, H5T_STD_I32LE, 4},
                     {H5T_NATIVE_UINT32, H5T_STD_U32LE, 4},
                     {H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 8},
                     {H5T_NATIVE_UINT64, H5T_STD_U64LE, 8}};
        uint64_t sizes[] = {0, 1, 1000, 65535, 65536, 65537, 200003};
        char name[64];
        int nd = 0;
        for (size_t ti = 0; ti < 5; ti++)
            for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
                int kind = (int)((ti + si) % 4);
                uint64_t n = sizes[si];
                void *d = make_data(n ? n : 1, types[ti].elem, kind);
                snprintf(name, sizeof(name), "d%d", nd++);
                hsize_t dims[1] = {n}, ch[1] = {dg__h5_chunk_1d(n)};
                write_pipeline(fa, name, types[ti].mt, types[ti].ft, 1, dims,
                               ch, d);
                CHECK_EQ_INT(dg__h5_write_1d(ctx, fb, name, types[ti].mt,
                                             types[ti].ft, d, n, 1),
                             DG_OK);
                compare_chunks(fa, fb, name);
                if (n)
                    check_reads(ctx, fb, name, types[ti].mt, types[ti].elem,
                                d, 1, dims);
                free(d);
            }
        /* Tables: one chunk per row up to 2^20 columns, edge chunks. */
        uint64_t tcols[] = {1, 999, (1u << 20) + 5};
        for (size_t ci = 0; ci < 3; ci++) {
            uint64_t rows = 3, cols = tcols[ci];
            for (size_t ti = 0; ti < 2; ti++) {
                void *d = make_data(rows * cols, types[ti].elem,
                                    (int)(ci + 1) % 3);
                snprintf(name, sizeof(name), "t%d", nd++);
                hsize_t dims[2] = {rows, cols};
                hsize_t ch[2] = {1, cols < (1u << 20) ? cols : (1u << 20)};
                write_pipeline(fa, name, types[ti].mt, types[ti].ft, 2, dims,
                               ch, d);
                CHECK_EQ_INT(dg__h5_write_2d(ctx, fb, name, types[ti].mt,
                                             types[ti].ft, d, rows, cols, 1),
                             DG_OK);
                compare_chunks(fa, fb, name);
                check_reads(ctx, fb, name, types[ti].mt, types[ti].elem, d,
                            2, dims);
                free(d);
            }
            /* The XOR row encoding: written encoded by hand, and by the
             * chunk writer from the plain rows. */
            int32_t *m = make_data(rows * cols, 4, 1);
            int32_t *enc = malloc(rows * cols * 4);
            for (uint64_t r = 0; r < rows; r++)
                for (uint64_t k = 0; k < cols; k++)
                    enc[r * cols + k] =
                        (int32_t)((uint32_t)m[r * cols + k] ^
                                  (r ? (uint32_t)m[(r - 1) * cols + k] : 0));
            snprintf(name, sizeof(name), "x%d", nd++);
            hsize_t dims[2] = {rows, cols};
            hsize_t ch[2] = {1, cols < (1u << 20) ? cols : (1u << 20)};
            write_pipeline(fa, name, H5T_NATIVE_INT32, H5T_STD_I32LE, 2, dims,
                           ch, enc);
            CHECK_EQ_INT(dg__h5_write_xor_table(ctx, fb, name, m, rows, cols),
                         DG_OK);
            compare_chunks(fa, fb, name);
            free(m);
            free(enc);
        }
        /* A dataset the reader must leave to H5Dread: no filters. */
        {
            uint32_t v[100];
            for (int i = 0; i < 100; i++)
                v[i] = (uint32_t)i;
            CHECK_EQ_INT(dg__h5_write_1d(ctx, fb, "plain", H5T_NATIVE_UINT32,
                                         H5T_STD_U32LE, v, 100, 0),
                         DG_OK);
            hid_t ds = H5Dopen2(fb, "plain", H5P_DEFAULT);
            uint32_t got[100];
            CHECK_EQ_INT(dg__h5_read_rows(ctx, ds, H5T_NATIVE_UINT32, 0, 1, 0,
                                          100, got),
                         0);
            /* ... and another type than stored. */
            H5Dclose(ds);
            ds = H5Dopen2(fb, "d1", H5P_DEFAULT); /* uint8, 1 element */
            CHECK_EQ_INT(dg__h5_read_rows(ctx, ds, H5T_NATIVE_UINT32, 0, 1, 0,
                                          1, got),
                         0);
            H5Dclose(ds);
            uint64_t n = 0;
            uint32_t back[100];
            CHECK_EQ_INT(dg__h5_len(ctx, fb, "plain", &n), DG_OK);
            CHECK_EQ_INT(dg__h5_read_1d(ctx, fb, "plain", H5T_NATIVE_UINT32,
                                        H5T_INTEGER, back, 100, 10, 90),
                         DG_OK);
            CHECK_EQ_INT(back[0], 10);
            CHECK_EQ_INT(back[89], 99);
        }
        /* A damaged chunk (its Adler-32, then its deflate stream, then its
         * stored size) fails the read with a message, never garbage. */
        for (int dmg = 0; dmg < 3; dmg++) {
            snprintf(name, sizeof(name), "bad%d", dmg);
            uint32_t *v = make_data(70000, 4, 2);
            CHECK_EQ_INT(dg__h5_write_1d(ctx, fb, name, H5T_NATIVE_UINT32,
                                         H5T_STD_U32LE, v, 70000, 1),
                         DG_OK);
            hid_t ds = H5Dopen2(fb, name, H5P_DEFAULT);
            hsize_t off[1] = {0}, sz = 0;
            uint32_t mask = 0;
            CHECK(H5Dget_chunk_storage_size(ds, off, &sz) >= 0 && sz > 8);
            uint8_t *raw = calloc(1, (size_t)sz + (1 << 20));
            CHECK(H5Dread_chunk(ds, H5P_DEFAULT, off, &mask, raw) >= 0);
            size_t n = (size_t)sz;
            if (dmg == 0)
                raw[n - 1] ^= 1;          /* the checksum */
            else if (dmg == 1)
                memset(raw + 2, 0xff, 8); /* the stream */
            else
                n = (size_t)sz + (1 << 19); /* a size no chunk has */
            CHECK(H5Dwrite_chunk(ds, H5P_DEFAULT, mask, off, n, raw) >= 0);
            uint32_t *got = malloc(70000 * 4);
            CHECK(dg__h5_read_rows(ctx, ds, H5T_NATIVE_UINT32, 0, 1, 0, 70000,
                                   got) == 0);
            H5Dclose(ds);
            dg_status st = dg__h5_read_1d(ctx, fb, name, H5T_NATIVE_UINT32,
                                          H5T_INTEGER, got, 70000, 0, 70000);
            if (dmg < 2)
                CHECK_EQ_INT(st, DG_EIO);
            else /* HDF5 inflates what the stream holds and ignores the rest */
                CHECK(st == DG_EIO || (st == DG_OK && !memcmp(got, v, 70000 * 4)));
            if (st < 0)
                CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), name);
            free(got);
            free(raw);
            free(v);
        }
        H5Fclose(fa);
        H5Fclose(fb);
    }
    printf("compressed: HDF5's pipeline %zu bytes, the chunk writer %zu\n",
           bytes_a, bytes_b);
    dg_ctx_free(ctx);
    unlink(pa);
    unlink(pb);
    rmdir(dir);
    return check_done("test-h5chunk");
}
