/*
 * The store's deflate codec (host/store/deflate_runs.c), fed the fuzz
 * bytes. First the bytes as a zlib stream: detgrid's inflater must judge
 * it as zlib does (and give zlib's bytes). Then as data to compress:
 * every stream must inflate with zlib and with detgrid's inflater to
 * exactly its input, and
 * a buffer too small must be refused without a byte written past it
 * (the buffers are exactly their size, so AddressSanitizer sees any).
 *
 * The first byte chooses the input (and the block size, 256 KiB or one
 * of 16 to 63 KiB): the bytes as they are, or expanded as
 * (count, byte) pairs into runs up to a few hundred KiB long, so that runs
 * meet the 258-byte match limit, the 64 KiB stored block and the 256 KiB
 * segment; the second byte a capacity to try below what the stream needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "deflate_runs.h"

/* The bytes as a zlib stream, of an output size zlib finds (up to 1 MiB):
 * detgrid's inflater must stay within its buffers (ASan) and judge the
 * stream as zlib does. */
static void inflate_raw(const uint8_t *data, size_t size)
{
    static dg_inflate_scratch *dec;
    if (!dec && !(dec = dg__inflate_scratch_new()))
        abort();
    size_t cap = (size_t)1 << 20;
    uint8_t *o2 = malloc(cap);
    uLongf l2 = (uLongf)cap;
    int theirs = uncompress(o2, &l2, data, (uLong)size);
    /* zlib's length when it succeeds, else a length from the bytes */
    size_t n = theirs == Z_OK ? (size_t)l2 : (size > 2 ? data[2] * 17u : 0);
    uint8_t *o1 = malloc(n ? n : 1);
    int ours = dg__inflate(dec, data, size, o1, n);
    if ((ours == 0) != (theirs == Z_OK) ||
        (ours == 0 && n && memcmp(o1, o2, n))) {
        fprintf(stderr, "dg__inflate %d, zlib %d on a %zu-byte stream\n", ours,
                theirs, size);
        abort();
    }
    free(o1);
    free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dg_deflate_scratch *s;
    if (!s && !(s = dg__deflate_scratch_new()))
        abort();
    inflate_raw(data, size);
    if (size < 2)
        return 0;
    int expand = data[0] & 1;
    /* blocks as the store cuts them: 256 KiB, or a byte plane >= 16 KiB */
    size_t block = (data[0] >> 1) % 4 == 0 ? 0 : 16384 + (size_t)(data[0] >> 3) * 1500;
    unsigned shrink = data[1];
    data += 2;
    size -= 2;
    uint8_t *in = NULL;
    size_t n = 0;
    if (expand) {
        for (size_t i = 0; i + 1 < size; i += 2)
            n += (size_t)data[i] * (data[i] & 0x80 ? 97 : 1) + 1;
        in = malloc(n ? n : 1);
        size_t k = 0;
        for (size_t i = 0; i + 1 < size; i += 2) {
            size_t r = (size_t)data[i] * (data[i] & 0x80 ? 97 : 1) + 1;
            memset(in + k, data[i + 1], r);
            k += r;
        }
    } else {
        n = size;
        in = malloc(n ? n : 1);
        if (n)
            memcpy(in, data, n);
    }
    size_t cap = n + n / 1000 + 12;
    uint8_t *z = malloc(cap);
    size_t got = 0;
    if (dg__deflate_runs(s, in, n, block, z, cap, &got) < 0) {
        fprintf(stderr, "deflate_runs: %zu bytes refused HDF5's buffer\n", n);
        abort();
    }
    uint8_t *back = malloc(n + 1);
    uLongf bl = (uLongf)n + 1;
    static dg_inflate_scratch *dec;
    if (!dec && !(dec = dg__inflate_scratch_new()))
        abort();
    if (uncompress(back, &bl, z, (uLong)got) != Z_OK || bl != n ||
        (n && memcmp(back, in, n)) || dg__inflate(dec, z, got, back, n) ||
        (n && memcmp(back, in, n))) {
        fprintf(stderr, "deflate_runs: %zu bytes do not come back\n", n);
        abort();
    }
    /* A smaller buffer: refused exactly when the stream does not fit
     * (the encoder counts a block's bits before writing it), else the same
     * stream. */
    size_t small = got > shrink ? got - shrink : 0;
    uint8_t *z2 = malloc(small ? small : 1);
    size_t got2 = 0;
    int rc = dg__deflate_runs(s, in, n, block, z2, small, &got2);
    if ((rc == 0) != (got <= small) ||
        (rc == 0 && (got2 != got || memcmp(z2, z, got)))) {
        fprintf(stderr, "deflate_runs: capacity %zu for a %zu-byte stream\n",
                small, got);
        abort();
    }
    free(z2);
    free(back);
    free(z);
    free(in);
    return 0;
}
