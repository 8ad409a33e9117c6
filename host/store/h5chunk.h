/*
 * The chunk writer and reader: compressed datasets written and read a
 * whole HDF5 chunk at a time, with the compression on every core.
 *
 * Writing: each chunk is filled, shuffled and deflated (deflate_runs.h:
 * a zlib stream HDF5's deflate filter reads, made by detgrid's own
 * run-length encoder) on worker threads and handed to H5Dwrite_chunk in
 * chunk order. HDF5's pipeline (shuffle + deflate, dg__h5_dcpl) reads
 * them back: tests/test-h5chunk.c compares what it reads with what HDF5
 * writes itself, chunk layout and elements.
 *
 * Reading: the raw chunks a read touches come out with H5Dread_chunk
 * (HDF5 is called from the calling thread only) and are inflated and
 * unshuffled on worker threads. Datasets whose storage is anything else
 * (other filters, another element type, unallocated chunks) are left to
 * H5Dread.
 */
#ifndef DG_H5CHUNK_H
#define DG_H5CHUNK_H

#include <hdf5.h>

#include "core.h"

/*
 * Fills the raw elements [col0, col0 + n) of row `row` (row 0 for a 1-D
 * dataset) into dst, n elements of the job's size.
 */
typedef void (*dg_h5_fill_fn)(const void *arg, uint64_t row, uint64_t col0,
                              uint64_t n, void *dst);

/*
 * One chunk to write: dataset ds (rank 1, or rank 2 chunked one row at a
 * time), elements of elem bytes, chunks `width` elements wide along the
 * last dimension of length cols; the chunk at (row, col0), whose elements
 * come from fill(arg, ...). Columns past cols are padded with zeros, as
 * HDF5 pads an edge chunk.
 */
typedef struct dg_h5_job {
    hid_t ds;
    int rank;
    size_t elem;
    uint64_t cols, width;
    uint64_t row, col0;
    dg_h5_fill_fn fill;
    const void *arg;
} dg_h5_job;

/*
 * Shuffles, deflates (deflate_runs.h) and writes the n chunks of jobs, compressing
 * on ctx's threads, writing in job order. DG_EIO naming the file on a
 * failed write, DG_ENOMEM.
 */
dg_status dg__h5_write_jobs(dg_ctx *ctx, const dg_h5_job *jobs, size_t n);

/*
 * Whether dataset creation properties dcpl and the types give a dataset
 * the chunk writer can write: chunked one row at a time (rank 2) or rank 1,
 * shuffle + deflate 1 exactly, memtype and filetype the same bytes.
 */
int dg__h5_chunkable(int rank, const hsize_t *chunk, int compress,
                     hid_t memtype, hid_t filetype);

/*
 * Writes all of dataset ds (created with dg__h5_dcpl(rank, dims, chunk,
 * 1)) from data (row-major, elem bytes an element) with the chunk writer.
 * xor_rows (rank 2, elem 4): each row goes out XORed with the row before
 * it, the results' "xor-previous-row" encoding.
 */
dg_status dg__h5_write_all(dg_ctx *ctx, hid_t ds, int rank,
                           const hsize_t *dims, const hsize_t *chunk,
                           size_t elem, const void *data, int xor_rows);

/*
 * Creates the 2-D int32 dataset name of loc (rows x cols, laid out as
 * dg__h5_write_2d lays it out) and writes data into it with each row
 * XORed with the row before it. DG_EIO naming the file and dataset.
 */
dg_status dg__h5_write_xor_table(dg_ctx *ctx, hid_t loc, const char *name,
                                 const int32_t *data, uint64_t rows,
                                 uint64_t cols);

/*
 * A dataset for dg__h5_write_tables: rank 1 (dims[0] elements) or 2 (dims[0]
 * rows of dims[1]), laid out as dg__h5_write_1d / dg__h5_write_2d lay out a
 * compressed one; xor_rows as dg__h5_write_all's.
 */
typedef struct dg_h5_table {
    const char *name;
    hid_t memtype, filetype;
    const void *data;
    int rank;
    uint64_t dims[2];
    int xor_rows;
} dg_h5_table;

/*
 * Creates the n datasets of loc and writes them, their chunks compressed
 * together on ctx's threads (one job list: no worker waits for the next
 * dataset). DG_EIO naming the file and dataset.
 */
dg_status dg__h5_write_tables(dg_ctx *ctx, hid_t loc, const dg_h5_table *t,
                              size_t n);

/*
 * Reads rows [row0, row0 + nrows) (rank 2; whole rows) or elements
 * [col0, col0 + ncols) (rank 1: row0 = 0, nrows = 1) of dataset ds into
 * out as memtype, inflating chunks on ctx's threads: 1 when done, 0 when
 * the dataset's storage is not one this reads (call H5Dread), a negative
 * status on an allocation failure. out may have been written to when it
 * returns 0.
 */
int dg__h5_read_rows(dg_ctx *ctx, hid_t ds, hid_t memtype, uint64_t row0,
                     uint64_t nrows, uint64_t col0, uint64_t ncols,
                     void *out);

#endif
