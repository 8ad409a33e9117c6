/*
 * Small HDF5 helpers shared by the project and results code. Each reports
 * failures through dg__fail naming the file and the dataset.
 */
#ifndef DG_H5IO_H
#define DG_H5IO_H

#include <hdf5.h>

#include "core.h"
#include "store.h"

/* Silences HDF5's own error printing (once per process). */
void dg__h5_quiet(void);

/* The file name of loc, for messages ("?" if unknown); static buffer. */
const char *dg__h5_fname(hid_t loc);

/* 1 if loc has a link called name, 0 if not. */
int dg__h5_exists(hid_t loc, const char *name);

/*
 * Dataset creation properties as the writers below set them: chunked as
 * chunk unless some dimension is 0, shuffle+deflate when compress is 1.
 * Negative on failure; close with H5Pclose.
 */
hid_t dg__h5_dcpl(int rank, const hsize_t *dims, const hsize_t *chunk,
                  int compress);
/* The chunk length dg__h5_write_1d gives a dataset of n elements. */
hsize_t dg__h5_chunk_1d(uint64_t n);

/*
 * Writes a 1-D dataset of n elements. compress: 0 none, 1 shuffle+deflate.
 */
dg_status dg__h5_write_1d(dg_ctx *ctx, hid_t loc, const char *name,
                          hid_t memtype, hid_t filetype, const void *data,
                          uint64_t n, int compress);
/* Writes a 2-D dataset rows x cols, chunked by row. */
dg_status dg__h5_write_2d(dg_ctx *ctx, hid_t loc, const char *name,
                          hid_t memtype, hid_t filetype, const void *data,
                          uint64_t rows, uint64_t cols, int compress);
/* Writes n strings as variable-length UTF-8. */
dg_status dg__h5_write_strings(dg_ctx *ctx, hid_t loc, const char *name,
                               char *const *s, uint64_t n);

/* Number of elements of 1-D dataset name (negative status on error). */
dg_status dg__h5_len(dg_ctx *ctx, hid_t loc, const char *name, uint64_t *n);

/*
 * Reads count elements starting at start of 1-D dataset name into out,
 * converting to memtype. want_class is H5T_INTEGER or H5T_FLOAT (floats
 * accept integers too); the dataset must hold exactly expect elements
 * (UINT64_MAX: any).
 */
dg_status dg__h5_read_1d(dg_ctx *ctx, hid_t loc, const char *name,
                         hid_t memtype, H5T_class_t want_class, void *out,
                         uint64_t expect, uint64_t start, uint64_t count);
/* Reads a whole rows x cols 2-D dataset (shape checked). */
dg_status dg__h5_read_2d(dg_ctx *ctx, hid_t loc, const char *name,
                         hid_t memtype, void *out, uint64_t rows,
                         uint64_t cols);
/* Reads n strings (variable or fixed length) into malloc'd copies. */
dg_status dg__h5_read_strings(dg_ctx *ctx, hid_t loc, const char *name,
                              uint64_t n, char ***out);
void dg__strings_free(char **s, uint64_t n);
/*
 * As dg__h5_read_strings, but a string that is not valid UTF-8 is replaced
 * by its escaped form (dg__name_show) and marked in repaired (n bytes),
 * instead of failing: for what a user must be able to fix with detgrid
 * itself (segment names and metadata an older detgrid wrote).
 */
dg_status dg__h5_read_strings_repair(dg_ctx *ctx, hid_t loc, const char *name,
                                     uint64_t n, char ***out,
                                     uint8_t *repaired);

/* Attributes: n == 0 writes a scalar, n >= 1 a 1-D array of n. */
dg_status dg__h5_attr_write(dg_ctx *ctx, hid_t loc, const char *name,
                            hid_t memtype, hid_t filetype, const void *v,
                            uint64_t n);
dg_status dg__h5_attr_write_str(dg_ctx *ctx, hid_t loc, const char *name,
                                const char *s);
/* Reads n elements of attribute name; DG_ENOTFOUND if absent. */
dg_status dg__h5_attr_read(dg_ctx *ctx, hid_t loc, const char *name,
                           hid_t memtype, void *v, uint64_t n);
/* Reads a string attribute into buf (truncated to cap). */
dg_status dg__h5_attr_read_str(dg_ctx *ctx, hid_t loc, const char *name,
                               char *buf, size_t cap);

/*
 * An atomic write of the HDF5 file path (host/store/safefile.c, h5fd.c):
 * t as dg__tmp_open leaves it, for a regular file, and *file the new
 * temporary file; or an error with the message set and t released.
 */
dg_status dg__h5_create_tmp(dg_ctx *ctx, const char *path, dg_tmpfile *t,
                            hid_t *file);
/* Closes file, then dg__tmp_commit (id: the new file's, may be NULL); the
 * caller ends with dg__tmp_abort(t) either way. */
dg_status dg__h5_commit_tmp(dg_ctx *ctx, hid_t file, dg_tmpfile *t,
                            dg_file_id *id);
/* Closes file and removes its temporary file after a failure. */
void dg__h5_abort_tmp(hid_t file, dg_tmpfile *t);
/*
 * DG_OK, or the write error latched for the temporary file loc is in (a
 * full disk, an I/O error) as dg__tmp_fail's message. The writers check it
 * after each dataset, so a failed save stops early.
 */
dg_status dg__h5_check_write(dg_ctx *ctx, hid_t loc);
/* The file access list of t's driver (h5fd.c); close with H5Pclose. */
hid_t dg__h5_fapl_tmp(dg_tmpfile *t);
/* The dg_tmpfile loc's file writes to, or NULL for any other file. */
dg_tmpfile *dg__h5_tmpfile_of(hid_t loc);

/* Frees what HDF5 allocated for the variable-length parts of buf (read
 * as memtype over space), whatever HDF5's version. */
void dg__h5_reclaim(hid_t memtype, hid_t space, void *buf);

/*
 * NULL when s may name an HDF5 group of the project (an inference set, an
 * embedding model): dg__name_problem's rules, and neither '/' nor "." nor
 * ".."; else the reason.
 */
const char *dg__h5_name_problem(const char *s);

/*
 * Names of the links in group path, NULL-terminated, malloc'd (free with
 * dg__h5_list_free); an empty list when path does not exist.
 */
dg_status dg__h5_list_group(dg_ctx *ctx, hid_t file, const char *path,
                            char ***out);
void dg__h5_list_free(char **list);

#endif
