/*
 * A deflate encoder for the shuffled chunks the store writes: zlib
 * streams (RFC 1950 around RFC 1951) that any inflater reads, HDF5's
 * deflate filter and h5py included, made an order of magnitude faster
 * than zlib's level 1 on the data detgrid stores.
 *
 * The only matches it looks for are runs (a byte repeating the one before
 * it: distance 1, as zlib's Z_RLE strategy), found eight bytes at a time.
 * That is what a shuffled chunk of result tables, sorted columns or
 * XOR-encoded rows is made of: byte planes of long runs beside planes of
 * nearly random low bytes, where a general LZ77 search costs time and finds
 * little (on detgrid's own tables and columns it compresses better than
 * zlib level 1, docs/FORMAT.md "Compression"). Each block of the input
 * (a shuffled chunk's byte plane, at most 256 KiB) has its own dynamic
 * Huffman codes, or is stored when those save less than a sixteenth:
 * the nearly random planes then inflate at the speed of a copy, and the
 * output is never more than a few bytes per 64 KiB larger than the input.
 *
 * The output depends on the input bytes only: the same chunk gives the same
 * bytes on every machine, thread count and device, which the results'
 * byte-identity checks rely on.
 */
#ifndef DG_DEFLATE_RUNS_H
#define DG_DEFLATE_RUNS_H

#include <stddef.h>
#include <stdint.h>

/* Scratch memory a worker keeps between calls (dg__deflate_runs). */
typedef struct dg_deflate_scratch dg_deflate_scratch;

dg_deflate_scratch *dg__deflate_scratch_new(void);
void dg__deflate_scratch_free(dg_deflate_scratch *s);

/*
 * Compresses the n bytes of src into the zlib stream dst of at most cap
 * bytes, in blocks of `block` bytes (0 or more than 256 KiB: 256 KiB):
 * 0 with its length in *got, -1 when it does not fit.
 */
int dg__deflate_runs(dg_deflate_scratch *s, const uint8_t *src, size_t n,
                     size_t block, uint8_t *dst, size_t cap, size_t *got);

/*
 * Inflates the zlib stream src (n bytes) into exactly cap bytes of dst and
 * checks its Adler-32: 0, or -1 for anything else (a damaged stream, a
 * shorter or longer one, trailing bytes before the checksum are not
 * looked for). Any zlib stream, not only this encoder's; several times
 * faster than zlib's inflate on the store's literal-heavy planes. Reads
 * and writes stay within src and dst whatever the bytes: on -1 the caller
 * asks zlib, whose verdict stands.
 */
typedef struct dg_inflate_scratch dg_inflate_scratch;
dg_inflate_scratch *dg__inflate_scratch_new(void);
void dg__inflate_scratch_free(dg_inflate_scratch *s);
int dg__inflate(dg_inflate_scratch *s, const uint8_t *src, size_t n,
                uint8_t *dst, size_t cap);

/* Adler-32 of len bytes continuing from adler, as zlib's adler32(). */
uint32_t dg__adler32(uint32_t adler, const uint8_t *p, size_t len);

#endif
