/*
 * The store's deflate encoder (host/store/deflate_runs.c) against zlib's
 * inflater: every stream must be a zlib stream that uncompress() takes
 * (header, Huffman codes, Adler-32) and gives back the input exactly, over
 * sizes around every boundary the encoder has (a run's 258 bytes, a stored
 * block's 65,535, a segment's 256 KiB) and contents that reach each of
 * its paths: long runs, no runs, runs of exactly 3, small alphabets,
 * incompressible bytes (stored blocks), skewed counts that need
 * length-limited codes, and shuffled result tables as the store writes
 * them. It must also fit a buffer of exactly its size, refuse one byte
 * less without writing past it, give
 * the same bytes on every call, and compress the store's tables at least
 * as well as zlib's level 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "deflate_runs.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static dg_inflate_scratch *dec;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

enum { K_ZERO, K_ONE_BYTE, K_RANDOM, K_RUNS, K_RUNS3, K_ALPHABET3, K_RAMP,
       K_SKEW, K_TABLE, K_ALT, N_KINDS };
static const char *kind_name[N_KINDS] = {
    "zeros", "one byte", "random", "random runs", "runs of 3",
    "three symbols", "ramp", "skewed counts", "shuffled table", "alternating"};

/* Shuffled int32 rows XORed with the row before, as results.c stores
 * `matched`: mostly zero planes with a few changes. */
static void table_bytes(uint8_t *d, size_t n)
{
    size_t m = n / 4;
    for (size_t i = 0; i < m; i++) {
        uint32_t v = next_u64() % 50 == 0 ? (uint32_t)(next_u64() % 150000) : 0;
        d[i] = (uint8_t)v;
        d[m + i] = (uint8_t)(v >> 8);
        d[2 * m + i] = (uint8_t)(v >> 16);
        d[3 * m + i] = (uint8_t)(v >> 24);
    }
    for (size_t i = 4 * m; i < n; i++)
        d[i] = 0;
}

static void make(uint8_t *d, size_t n, int kind)
{
    switch (kind) {
    case K_ZERO:
        memset(d, 0, n);
        break;
    case K_ONE_BYTE:
        memset(d, 0xa7, n);
        break;
    case K_RANDOM:
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)next_u64();
        break;
    case K_RUNS:
        for (size_t i = 0; i < n;) {
            size_t r = 1 + next_u64() % 600;
            uint8_t v = (uint8_t)next_u64();
            for (size_t k = 0; k < r && i < n; k++)
                d[i++] = v;
        }
        break;
    case K_RUNS3: /* a literal then a run of exactly 3, over and over */
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)(i / 4);
        break;
    case K_ALPHABET3:
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)(next_u64() % 3);
        break;
    case K_RAMP:
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)i;
        break;
    case K_SKEW: {
        /* Fibonacci counts over 25 symbols: an unlimited Huffman code
         * would be 24 bits deep. */
        uint64_t fib[25] = {1, 1};
        for (int k = 2; k < 25; k++)
            fib[k] = fib[k - 1] + fib[k - 2];
        size_t i = 0;
        for (int k = 24; k >= 0 && i < n; k--)
            for (uint64_t c = 0; c < fib[k] && i < n; c++)
                d[i++] = (uint8_t)(k * 2 + (c & 1)); /* no runs */
        for (; i < n; i++)
            d[i] = (uint8_t)(i & 1);
        break;
    }
    case K_TABLE:
        table_bytes(d, n);
        break;
    case K_ALT:
        for (size_t i = 0; i < n; i++)
            d[i] = (i & 1) ? 0x55 : 0xaa;
        break;
    }
}

/* Compresses d, inflates it with zlib and checks everything. Returns the
 * compressed size. */
static size_t roundtrip(dg_deflate_scratch *s, const uint8_t *d, size_t n,
                        size_t block, const char *what)
{
    size_t cap = n + n / 1000 + 12 + 64; /* HDF5's buffer, and some */
    uint8_t *z = malloc(cap + 16);
    memset(z + cap, 0xee, 16);
    size_t got = 0;
    int rc = dg__deflate_runs(s, d, n, block, z, cap, &got);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  (%s, %zu bytes, blocks of %zu)\n", what, n, block);
        free(z);
        return 0;
    }
    CHECK(got <= cap);
    /* Never more than a stored copy: 5 bytes a stored block (up to 65,535
     * bytes each, within a block), the header and the checksum. */
    size_t b = block ? block : (size_t)256 << 10;
    size_t bound = n + 5 * ((b + 65534) / 65535) * (n / b + 1) + 6;
    if (!(got <= bound))
        fprintf(stderr, "  %s: %zu bytes into %zu\n", what, n, got);
    CHECK(got <= bound);
    for (int k = 0; k < 16; k++)
        CHECK_EQ_INT(z[cap + k], 0xee);
    CHECK_EQ_INT(z[0], 0x78);
    CHECK_EQ_INT(((unsigned)z[0] << 8 | z[1]) % 31, 0);
    uint8_t *back = malloc(n + 1);
    uLongf bl = (uLongf)n + 1;
    int zr = uncompress(back, &bl, z, (uLong)got);
    CHECK_EQ_INT(zr, Z_OK);
    CHECK_EQ_INT(bl, n);
    int same = zr == Z_OK && bl == n && (n == 0 || !memcmp(back, d, n));
    CHECK(same);
    if (!same)
        fprintf(stderr, "  roundtrip failed: %s, %zu bytes, blocks of %zu\n",
                what, n, block);
    /* detgrid's inflater gives the same bytes back. */
    memset(back, 0x5a, n + 1);
    int ir = dg__inflate(dec, z, got, back, n);
    CHECK_EQ_INT(ir, 0);
    CHECK(ir == 0 && (n == 0 || !memcmp(back, d, n)));
    /* The same bytes again: nothing carried over from the call before. */
    uint8_t *z2 = malloc(cap);
    size_t got2 = 0;
    CHECK_EQ_INT(dg__deflate_runs(s, d, n, block, z2, cap, &got2), 0);
    CHECK(got2 == got && !memcmp(z, z2, got));
    /* Exactly the room it needs: taken. */
    CHECK_EQ_INT(dg__deflate_runs(s, d, n, block, z2, got, &got2), 0);
    CHECK(got2 == got && !memcmp(z, z2, got));
    /* One byte less: refused, nothing written past it. */
    if (got > 12) {
        size_t small = got - 1;
        memset(z2, 0, cap);
        memset(z2 + small, 0xee, cap - small);
        CHECK_EQ_INT(dg__deflate_runs(s, d, n, block, z2, small, &got2), -1);
        for (size_t k = small; k < cap; k++)
            if (z2[k] != 0xee) {
                CHECK(!"wrote past a small buffer");
                break;
            }
    }
    free(z2);
    free(back);
    free(z);
    return got;
}

static size_t zlib1_size(const uint8_t *d, size_t n)
{
    uLongf cap = compressBound((uLong)n);
    uint8_t *z = malloc(cap);
    compress2(z, &cap, d, (uLong)n, 1);
    free(z);
    return (size_t)cap;
}

/*
 * detgrid's inflater on zlib's own streams (the files HDF5 and h5py
 * write): every level and strategy (stored, fixed and dynamic blocks,
 * matches at every distance) must come back exactly; and on damaged ones
 * (bits flipped, bytes cut) it must agree with zlib: fail where zlib
 * fails, give zlib's bytes where zlib succeeds.
 */
static void zlib_streams(uint8_t *d)
{
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED,
                                     Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    size_t sizes[] = {0, 1, 100, 5000, 70000, 300000};
    int agree = 0, damaged = 0;
    for (int kind = 0; kind < N_KINDS; kind++)
        for (size_t si = 0; si < 6; si++)
            for (int lvl = 0; lvl <= 9; lvl += 3)
                for (int st = 0; st < 5; st++) {
                    size_t n = sizes[si];
                    make(d, n, kind);
                    /* words repeating at a distance: real LZ77 matches */
                    if (kind == K_RANDOM && n > 64)
                        for (size_t i = 64; i < n; i++)
                            if ((i / 64) % 3 == 1)
                                d[i] = d[i - 64 + (i % 7)];
                    z_stream zs;
                    memset(&zs, 0, sizeof(zs));
                    deflateInit2(&zs, lvl, Z_DEFLATED, 15, 8, strategies[st]);
                    size_t cap = deflateBound(&zs, (uLong)n) + 16;
                    uint8_t *z = malloc(cap), *out = malloc(n + 1);
                    zs.next_in = d;
                    zs.avail_in = (uInt)n;
                    zs.next_out = z;
                    zs.avail_out = (uInt)cap;
                    CHECK_EQ_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
                    size_t zn = zs.total_out;
                    deflateEnd(&zs);
                    int ok = dg__inflate(dec, z, zn, out, n) == 0 &&
                             (n == 0 || !memcmp(out, d, n));
                    CHECK(ok);
                    if (!ok)
                        fprintf(stderr, "  zlib stream: %s, %zu bytes, level "
                                "%d, strategy %d\n", kind_name[kind], n, lvl,
                                strategies[st]);
                    /* Damaged: a flipped bit, or the stream cut short. */
                    for (int t = 0; t < 3 && zn > 2; t++) {
                        uint8_t *bad = malloc(zn);
                        memcpy(bad, z, zn);
                        size_t bn = zn;
                        if (t < 2)
                            bad[next_u64() % zn] ^= (uint8_t)(1u << (next_u64() % 8));
                        else
                            bn = zn - 1 - next_u64() % (zn - 1);
                        uint8_t *o1 = malloc(n + 1), *o2 = malloc(n + 1);
                        int ours = dg__inflate(dec, bad, bn, o1, n);
                        uLongf l2 = (uLongf)n;
                        int theirs = uncompress(o2, &l2, bad, (uLong)bn);
                        int zok = theirs == Z_OK && l2 == n;
                        int same = ours == 0 ? zok && (n == 0 || !memcmp(o1, o2, n))
                                             : !zok;
                        CHECK(same);
                        if (!same)
                            fprintf(stderr, "  damaged %s stream (%zu bytes, "
                                    "level %d): ours %d, zlib %d\n",
                                    kind_name[kind], n, lvl, ours, theirs);
                        agree += same;
                        damaged++;
                        free(o1);
                        free(o2);
                        free(bad);
                    }
                    free(z);
                    free(out);
                }
    printf("damaged zlib streams: %d of %d judged as zlib judges them\n",
           agree, damaged);
}

int main(void)
{
    dg_deflate_scratch *s = dg__deflate_scratch_new();
    dec = dg__inflate_scratch_new();
    CHECK(s != NULL && dec != NULL);
    const size_t seg = (size_t)256 << 10;
    size_t sizes[] = {0,       1,       2,       3,       4,       5,
                      257,     258,     259,     260,     261,     516,
                      517,     65534,   65535,   65536,   65537,   131071,
                      seg - 1, seg,     seg + 1, seg + 2, 2 * seg, 3 * seg + 17,
                      (size_t)5 << 20};
    size_t ns = sizeof(sizes) / sizeof(sizes[0]);
    uint8_t *d = malloc(((size_t)5 << 20) + 64);
    char what[64];
    /* Blocks as the store cuts them: 256 KiB, or a shuffled chunk's byte
     * plane (at least 16 KiB). */
    size_t blocks[] = {0, 16384, 65536, 100003};
    for (int kind = 0; kind < N_KINDS; kind++)
        for (size_t si = 0; si < ns; si++) {
            make(d, sizes[si], kind);
            snprintf(what, sizeof(what), "%s", kind_name[kind]);
            for (size_t bi = 0; bi < 4; bi++)
                roundtrip(s, d, sizes[si], blocks[bi], what);
        }
    /* Many random mixtures: runs of every length beside literals, so that
     * runs end on every position of a segment and of a 258-byte match. */
    for (int t = 0; t < 300; t++) {
        size_t n = (size_t)(next_u64() % (t < 250 ? 5000 : 600000));
        for (size_t i = 0; i < n;) {
            uint64_t r = next_u64();
            size_t len = r % 4 == 0 ? 1 + (r >> 8) % 1000 : 1 + (r >> 8) % 4;
            uint8_t v = (uint8_t)(r >> 32) % (t % 2 ? 4 : 256);
            for (size_t k = 0; k < len && i < n; k++)
                d[i++] = v;
        }
        roundtrip(s, d, n, blocks[t % 4], "mixture");
    }
    /* Compression: the store's tables at least as small as zlib level 1
     * makes them; incompressible bytes at most 0.01 % larger than they are. */
    size_t n = (size_t)4 << 20;
    table_bytes(d, n);
    size_t ours = roundtrip(s, d, n, (size_t)1 << 20, "table");
    size_t theirs = zlib1_size(d, n);
    printf("shuffled XOR table, 4 MiB: %zu bytes (zlib level 1: %zu)\n", ours,
           theirs);
    CHECK(ours <= theirs);
    make(d, n, K_ALPHABET3);
    ours = roundtrip(s, d, n, 0, "three symbols");
    theirs = zlib1_size(d, n);
    printf("three symbols, 4 MiB: %zu bytes (zlib level 1: %zu)\n", ours,
           theirs);
    CHECK(ours <= theirs + theirs / 10);
    make(d, n, K_RANDOM);
    ours = roundtrip(s, d, n, 0, "random");
    printf("random, 4 MiB: %zu bytes\n", ours);
    CHECK(ours <= n + n / 10000 + 12); /* HDF5 keeps it up to 0.1 % */
    /* The Adler-32 the encoder carries along equals the plain one. */
    make(d, 100000, K_RUNS);
    CHECK_EQ_INT(dg__adler32(1, d, 100000), adler32(1, d, 100000));
    zlib_streams(d);
    free(d);
    dg__inflate_scratch_free(dec);
    dg__deflate_scratch_free(s);
    return check_done("test-deflate");
}
