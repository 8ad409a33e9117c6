/*
 * codec-bench: the store's deflate codec (host/store/deflate_runs.c)
 * against zlib on the chunks of a real project file, one core.
 *
 *     build/codec-bench PROJECT.h5 [runs]
 *
 * For every dataset that is shuffled and deflated (the result tables and
 * sorted columns, the box columns), each stored chunk is inflated once
 * with zlib to get the shuffled bytes the writer compressed; then, per
 * group of datasets, it times detgrid's encoder (in byte-plane blocks, as
 * the chunk writer cuts them) against zlib's compress2 at level 1, and
 * detgrid's inflater against zlib's uncompress on the encoder's streams,
 * and prints the medians of `runs` (default 5) with the sizes. Timings
 * are reported, never asserted; every round trip is checked.
 */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "deflate_runs.h"

typedef struct chunk {
    uint8_t *raw; /* shuffled bytes */
    size_t n, block;
} chunk;

typedef struct group {
    char name[64];
    chunk *c;
    size_t n, cap;
} group;

static group groups[3];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_chunk(group *g, uint8_t *raw, size_t n, size_t block)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->c = realloc(g->c, g->cap * sizeof(*g->c));
        if (!g->c)
            exit(2);
    }
    g->c[g->n++] = (chunk){raw, n, block};
}

/* The group of a dataset path: result tables, other results, columns. */
static group *group_of(const char *path)
{
    if (strstr(path, "results")) {
        const char *leaf = strrchr(path, '/') + 1;
        if (!strcmp(leaf, "status") || !strcmp(leaf, "matched") ||
            !strcmp(leaf, "agnostic"))
            return &groups[0];
        return &groups[1];
    }
    return &groups[2];
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info,
                    void *arg)
{
    (void)arg;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    hid_t pl = H5Dget_create_plist(ds), ty = H5Dget_type(ds);
    hid_t sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(sp), deflated = 0;
    for (int i = 0; i < H5Pget_nfilters(pl); i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        if (H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL) ==
            H5Z_FILTER_DEFLATE)
            deflated = 1;
    }
    size_t elem = H5Tget_size(ty);
    hsize_t ch[2] = {0, 0}, nchunks = 0;
    if (deflated && H5Tget_class(ty) != H5T_STRING && rank >= 1 && rank <= 2 &&
        H5Pget_chunk(pl, rank, ch) == rank &&
        H5Dget_num_chunks(ds, sp, &nchunks) >= 0) {
        size_t width = (size_t)ch[rank - 1], nbytes = width * elem;
        if (rank == 2)
            nbytes *= (size_t)ch[0];
        for (hsize_t k = 0; k < nchunks; k++) {
            hsize_t off[2], sz = 0;
            unsigned mask = 0;
            haddr_t addr;
            if (H5Dget_chunk_info(ds, sp, k, off, &mask, &addr, &sz) < 0 ||
                mask)
                continue;
            uint8_t *z = malloc(sz), *raw = malloc(nbytes);
            uint32_t m2 = 0;
            uLongf got = (uLongf)nbytes;
            if (z && raw && H5Dread_chunk(ds, H5P_DEFAULT, off, &m2, z) >= 0 &&
                uncompress(raw, &got, z, (uLong)sz) == Z_OK && got == nbytes) {
                /* as the chunk writer cuts it: a block a byte plane */
                size_t block = elem > 1 && width >= 16384 ? width : 0;
                add_chunk(group_of(name), raw, nbytes, block);
                raw = NULL;
            }
            free(z);
            free(raw);
        }
    }
    H5Sclose(sp);
    H5Tclose(ty);
    H5Pclose(pl);
    H5Dclose(ds);
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: codec-bench PROJECT.h5 [runs]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "codec-bench: cannot open '%s'\n", argv[1]);
        return 2;
    }
    strcpy(groups[0].name, "result tables");
    strcpy(groups[1].name, "other results");
    strcpy(groups[2].name, "columns");
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, visit, NULL, H5O_INFO_BASIC);
    H5Fclose(f);
    dg_deflate_scratch *enc = dg__deflate_scratch_new();
    dg_inflate_scratch *dec = dg__inflate_scratch_new();
    int bad = 0;
    printf("| data | raw MB | detgrid deflate s | MB/s | out MB | zlib level 1 s | "
           "MB/s | out MB | detgrid inflate s | MB/s | zlib inflate s | MB/s |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int gi = 0; gi < 3; gi++) {
        group *g = &groups[gi];
        if (!g->n)
            continue;
        size_t raw = 0, cap = 0;
        for (size_t k = 0; k < g->n; k++) {
            raw += g->c[k].n;
            if (g->c[k].n > cap)
                cap = g->c[k].n;
        }
        cap = cap + cap / 1000 + 64;
        uint8_t *z = malloc(cap), *back = malloc(cap);
        uint8_t **ours = calloc(g->n, sizeof(*ours));
        size_t *ours_n = calloc(g->n, sizeof(*ours_n));
        double t[4][100];
        size_t out_ours = 0, out_zlib = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            out_ours = 0;
            for (size_t k = 0; k < g->n; k++) {
                size_t got = 0;
                if (dg__deflate_runs(enc, g->c[k].raw, g->c[k].n,
                                     g->c[k].block, z, cap, &got) < 0)
                    bad++;
                out_ours += got;
                if (r == 0) {
                    ours[k] = malloc(got);
                    memcpy(ours[k], z, got);
                    ours_n[k] = got;
                }
            }
            t[0][r] = now() - t0;
            t0 = now();
            out_zlib = 0;
            for (size_t k = 0; k < g->n; k++) {
                uLongf got = (uLongf)cap;
                compress2(z, &got, g->c[k].raw, (uLong)g->c[k].n, 1);
                out_zlib += got;
            }
            t[1][r] = now() - t0;
            t0 = now();
            for (size_t k = 0; k < g->n; k++)
                if (dg__inflate(dec, ours[k], ours_n[k], back, g->c[k].n) ||
                    memcmp(back, g->c[k].raw, g->c[k].n))
                    bad++;
            t[2][r] = now() - t0;
            t0 = now();
            for (size_t k = 0; k < g->n; k++) {
                uLongf got = (uLongf)g->c[k].n;
                if (uncompress(back, &got, ours[k], (uLong)ours_n[k]) != Z_OK ||
                    got != g->c[k].n)
                    bad++;
            }
            t[3][r] = now() - t0;
        }
        double mb = (double)raw / 1e6, s[4];
        for (int i = 0; i < 4; i++)
            s[i] = median(t[i], runs);
        printf("| %s (%zu chunks) | %.1f | %.3f | %.0f | %.2f | %.3f | %.0f | "
               "%.2f | %.3f | %.0f | %.3f | %.0f |\n",
               g->name, g->n, mb, s[0], mb / s[0], (double)out_ours / 1e6, s[1],
               mb / s[1], (double)out_zlib / 1e6, s[2], mb / s[2], s[3],
               mb / s[3]);
        for (size_t k = 0; k < g->n; k++) {
            free(ours[k]);
            free(g->c[k].raw);
        }
        free(ours);
        free(ours_n);
        free(z);
        free(back);
        free(g->c);
    }
    printf("\nMedians of %d runs, one core; raw = the shuffled chunks. "
           "Round trips that failed: %d.\n", runs, bad);
    dg__inflate_scratch_free(dec);
    dg__deflate_scratch_free(enc);
    return bad ? 1 : 0;
}
