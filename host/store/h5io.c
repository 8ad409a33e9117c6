/*
 * HDF5 helpers: checked reads and writes of columns, strings, attributes,
 * and the atomic temporary-file commit.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_impl.h"

void dg__h5_quiet(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

const char *dg__h5_fname(hid_t loc)
{
    static char buf[1024];
    /* A temporary file is named by its target, the file the user knows. */
    dg_tmpfile *t = dg__h5_tmpfile_of(loc);
    if (t)
        snprintf(buf, sizeof(buf), "%s", t->path);
    else if (H5Fget_name(loc, buf, sizeof(buf)) < 0)
        strcpy(buf, "?");
    return buf;
}

int dg__h5_exists(hid_t loc, const char *name)
{
    /* H5Lexists needs every intermediate link to exist. */
    char part[512];
    const char *p = name;
    while (1) {
        const char *slash = strchr(p + (*p == '/'), '/');
        size_t len = slash ? (size_t)(slash - name) : strlen(name);
        if (len >= sizeof(part))
            return 0;
        memcpy(part, name, len);
        part[len] = 0;
        if (H5Lexists(loc, part, H5P_DEFAULT) <= 0)
            return 0;
        if (!slash)
            return 1;
        p = slash;
    }
}

hid_t dg__h5_dcpl(int rank, const hsize_t *dims, const hsize_t *chunk,
                  int compress)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return dcpl;
    int empty = 0;
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            empty = 1;
    if (!empty) {
        H5Pset_chunk(dcpl, rank, chunk);
        if (compress) {
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, 1);
        }
    }
    return dcpl;
}

hsize_t dg__h5_chunk_1d(uint64_t n)
{
    return n < 65536 ? (n ? n : 1) : 65536;
}

static dg_status write_nd(dg_ctx *ctx, hid_t loc, const char *name,
                          hid_t memtype, hid_t filetype, const void *data,
                          int rank, const hsize_t *dims, const hsize_t *chunk,
                          int compress)
{
    dg_status st = DG_OK;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = dg__h5_dcpl(rank, dims, chunk, compress);
    hid_t ds = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0)
        goto fail;
    ds = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl,
                    H5P_DEFAULT);
    if (ds < 0)
        goto fail;
    hsize_t total = 1;
    for (int i = 0; i < rank; i++)
        total *= dims[i];
    if (total && dg__h5_chunkable(rank, chunk, compress, memtype, filetype)) {
        /* The same chunks, compressed on every core (h5chunk.c). */
        st = dg__h5_write_all(ctx, ds, rank, dims, chunk,
                              H5Tget_size(filetype), data, 0);
        goto out;
    }
    if (total && H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto fail;
    st = dg__h5_check_write(ctx, loc);
    goto out;
fail:
    st = dg__fail(ctx, DG_EIO, "'%s': cannot write dataset '%s'",
                  dg__h5_fname(loc), name);
out:
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

dg_status dg__h5_write_1d(dg_ctx *ctx, hid_t loc, const char *name,
                          hid_t memtype, hid_t filetype, const void *data,
                          uint64_t n, int compress)
{
    hsize_t dims[1] = {n};
    hsize_t chunk[1] = {dg__h5_chunk_1d(n)};
    return write_nd(ctx, loc, name, memtype, filetype, data, 1, dims, chunk,
                    compress);
}

dg_status dg__h5_write_2d(dg_ctx *ctx, hid_t loc, const char *name,
                          hid_t memtype, hid_t filetype, const void *data,
                          uint64_t rows, uint64_t cols, int compress)
{
    hsize_t dims[2] = {rows, cols};
    hsize_t chunk[2] = {1, cols < (1u << 20) ? (cols ? cols : 1) : (1u << 20)};
    return write_nd(ctx, loc, name, memtype, filetype, data, 2, dims, chunk,
                    compress);
}

dg_status dg__h5_write_strings(dg_ctx *ctx, hid_t loc, const char *name,
                               char *const *s, uint64_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims[1] = {n};
    hsize_t chunk[1] = {n < 4096 ? (n ? n : 1) : 4096};
    dg_status st =
        write_nd(ctx, loc, name, t, t, s, 1, dims, chunk, 1);
    H5Tclose(t);
    return st;
}

static hid_t open_ds(dg_ctx *ctx, hid_t loc, const char *name, dg_status *st)
{
    if (!dg__h5_exists(loc, name)) {
        *st = dg__fail(ctx, DG_EFORMAT, "'%s': missing dataset '%s'",
                       dg__h5_fname(loc), name);
        return H5I_INVALID_HID;
    }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        *st = dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a dataset",
                       dg__h5_fname(loc), name);
    return ds;
}

dg_status dg__h5_len(dg_ctx *ctx, hid_t loc, const char *name, uint64_t *n)
{
    dg_status st = DG_OK;
    hid_t ds = open_ds(ctx, loc, name, &st);
    if (ds < 0)
        return st;
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank != 1) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' has %d dimensions, expected 1",
                      dg__h5_fname(loc), name, rank);
    } else {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        *n = dims[0];
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    default: return "non-numeric";
    }
}

dg_status dg__h5_read_1d(dg_ctx *ctx, hid_t loc, const char *name,
                         hid_t memtype, H5T_class_t want_class, void *out,
                         uint64_t expect, uint64_t start, uint64_t count)
{
    dg_status st = DG_OK;
    hid_t ds = open_ds(ctx, loc, name, &st), sp = H5I_INVALID_HID,
          ms = H5I_INVALID_HID, ft = H5I_INVALID_HID;
    if (ds < 0)
        return st;
    ft = H5Dget_type(ds);
    H5T_class_t fc = H5Tget_class(ft);
    if (!(fc == want_class || (want_class == H5T_FLOAT && fc == H5T_INTEGER))) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' holds %s values, expected %s",
                      dg__h5_fname(loc), name, class_name(fc),
                      class_name(want_class));
        goto out;
    }
    sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank != 1) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' has %d dimensions, expected 1",
                      dg__h5_fname(loc), name, rank);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (expect != UINT64_MAX && dims[0] != expect) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' has %llu values, expected %llu",
                      dg__h5_fname(loc), name, (unsigned long long)dims[0],
                      (unsigned long long)expect);
        goto out;
    }
    if (start + count > dims[0]) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' has %llu values, cannot read "
                      "[%llu, %llu)",
                      dg__h5_fname(loc), name, (unsigned long long)dims[0],
                      (unsigned long long)start,
                      (unsigned long long)(start + count));
        goto out;
    }
    if (!count)
        goto out;
    int fast = dg__h5_read_rows(ctx, ds, memtype, 0, 1, start, count, out);
    if (fast != 0) {
        st = fast > 0 ? DG_OK : (dg_status)fast;
        goto out;
    }
    hsize_t hs[1] = {start}, hc[1] = {count};
    ms = H5Screate_simple(1, hc, NULL);
    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, hs, NULL, hc, NULL) < 0 ||
        H5Dread(ds, memtype, ms, sp, H5P_DEFAULT, out) < 0)
        st = dg__fail(ctx, DG_EIO, "'%s': cannot read dataset '%s'",
                      dg__h5_fname(loc), name);
out:
    if (ms >= 0)
        H5Sclose(ms);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    H5Dclose(ds);
    return st;
}

dg_status dg__h5_read_2d(dg_ctx *ctx, hid_t loc, const char *name,
                         hid_t memtype, void *out, uint64_t rows,
                         uint64_t cols)
{
    dg_status st = DG_OK;
    hid_t ds = open_ds(ctx, loc, name, &st);
    if (ds < 0)
        return st;
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[3] = {0, 0, 0};
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank == 2)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (rank != 2 || dims[0] != rows || dims[1] != cols)
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' does not have shape (%llu, %llu)",
                      dg__h5_fname(loc), name, (unsigned long long)rows,
                      (unsigned long long)cols);
    else if (rows != 0 && cols != 0) {
        int fast = dg__h5_read_rows(ctx, ds, memtype, 0, rows, 0, cols, out);
        if (fast < 0)
            st = (dg_status)fast;
        else if (!fast &&
                 H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
            st = dg__fail(ctx, DG_EIO, "'%s': cannot read dataset '%s'",
                          dg__h5_fname(loc), name);
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

void dg__strings_free(char **s, uint64_t n)
{
    if (!s)
        return;
    for (uint64_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static dg_status read_strings(dg_ctx *ctx, hid_t loc, const char *name,
                              uint64_t n, char ***out, uint8_t *repaired)
{
    dg_status st = DG_OK;
    hid_t ds = open_ds(ctx, loc, name, &st), sp = H5I_INVALID_HID,
          ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char **res = NULL;
    if (ds < 0)
        return st;
    ft = H5Dget_type(ds);
    sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    if (H5Tget_class(ft) != H5T_STRING) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' holds %s values, expected strings",
                      dg__h5_fname(loc), name, class_name(H5Tget_class(ft)));
        goto out;
    }
    if (H5Sget_simple_extent_ndims(sp) != 1 ||
        (H5Sget_simple_extent_dims(sp, dims, NULL), dims[0] != n)) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' has %llu values, expected %llu",
                      dg__h5_fname(loc), name, (unsigned long long)dims[0],
                      (unsigned long long)n);
        goto out;
    }
    res = dg__calloc(ctx, n ? n : 1, sizeof(*res));
    if (!res) {
        st = DG_ENOMEM;
        goto out;
    }
    if (H5Tis_variable_str(ft) > 0) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **tmp = dg__calloc(ctx, n ? n : 1, sizeof(*tmp));
        if (!tmp) {
            st = DG_ENOMEM;
            goto out;
        }
        if (n && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0) {
            free(tmp);
            st = dg__fail(ctx, DG_EIO, "'%s': cannot read dataset '%s'",
                          dg__h5_fname(loc), name);
            goto out;
        }
        for (uint64_t i = 0; i < n && st == DG_OK; i++) {
            res[i] = dg__strdup(ctx, tmp[i] ? tmp[i] : "");
            if (!res[i])
                st = DG_ENOMEM;
        }
        if (n) {
            dg__h5_reclaim(mt, sp, tmp);
        }
        free(tmp);
    } else {
        size_t len = H5Tget_size(ft);
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        /* HDF5 converts no fixed-length string between character sets. */
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *buf = dg__alloc(ctx, n ? n : 1, len + 1);
        if (!buf) {
            st = DG_ENOMEM;
            goto out;
        }
        if (n && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            free(buf);
            st = dg__fail(ctx, DG_EIO, "'%s': cannot read dataset '%s'",
                          dg__h5_fname(loc), name);
            goto out;
        }
        for (uint64_t i = 0; i < n && st == DG_OK; i++) {
            buf[i * (len + 1) + len] = 0;
            res[i] = dg__strdup(ctx, buf + i * (len + 1));
            if (!res[i])
                st = DG_ENOMEM;
        }
        free(buf);
    }
    /* Names and ids end up in JSON and tables: UTF-8 only. */
    for (uint64_t i = 0; i < n && st == DG_OK; i++) {
        if (dg__utf8_valid(res[i]))
            continue;
        if (!repaired) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': dataset '%s' record %llu: not valid UTF-8",
                          dg__h5_fname(loc), name, (unsigned long long)i);
            break;
        }
        char shown[600];
        char *fixed = dg__strdup(ctx, dg__name_show(res[i], shown,
                                                    sizeof(shown)));
        if (!fixed) {
            st = DG_ENOMEM;
            break;
        }
        free(res[i]);
        res[i] = fixed;
        repaired[i] = 1;
    }
out:
    if (st != DG_OK) {
        dg__strings_free(res, n);
        res = NULL;
    }
    *out = res;
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    H5Dclose(ds);
    return st;
}

dg_status dg__h5_read_strings(dg_ctx *ctx, hid_t loc, const char *name,
                              uint64_t n, char ***out)
{
    return read_strings(ctx, loc, name, n, out, NULL);
}

dg_status dg__h5_read_strings_repair(dg_ctx *ctx, hid_t loc, const char *name,
                                     uint64_t n, char ***out,
                                     uint8_t *repaired)
{
    memset(repaired, 0, n);
    return read_strings(ctx, loc, name, n, out, repaired);
}

dg_status dg__h5_attr_write(dg_ctx *ctx, hid_t loc, const char *name,
                            hid_t memtype, hid_t filetype, const void *v,
                            uint64_t n)
{
    hsize_t dims[1] = {n};
    /* n == 0 means one scalar; otherwise a 1-D array of n, even n == 1. */
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(loc, name, filetype, sp, H5P_DEFAULT, H5P_DEFAULT);
    dg_status st = DG_OK;
    if (a < 0 || H5Awrite(a, memtype, v) < 0)
        st = dg__fail(ctx, DG_EIO, "'%s': cannot write attribute '%s'",
                      dg__h5_fname(loc), name);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return st;
}

dg_status dg__h5_attr_write_str(dg_ctx *ctx, hid_t loc, const char *name,
                                const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    dg_status st = dg__h5_attr_write(ctx, loc, name, t, t, &s, 0);
    H5Tclose(t);
    return st;
}

dg_status dg__h5_attr_read(dg_ctx *ctx, hid_t loc, const char *name,
                           hid_t memtype, void *v, uint64_t n)
{
    if (H5Aexists(loc, name) <= 0)
        return DG_ENOTFOUND;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    hid_t ft = H5Aget_type(a);
    dg_status st = DG_OK;
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    H5T_class_t fc = H5Tget_class(ft);
    if (npts != (hssize_t)(n ? n : 1) || (fc != H5T_INTEGER && fc != H5T_FLOAT))
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': attribute '%s' should hold %llu number%s",
                      dg__h5_fname(loc), name, (unsigned long long)n,
                      n == 1 ? "" : "s");
    else if (H5Aread(a, memtype, v) < 0)
        st = dg__fail(ctx, DG_EIO, "'%s': cannot read attribute '%s'",
                      dg__h5_fname(loc), name);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return st;
}

dg_status dg__h5_attr_read_str(dg_ctx *ctx, hid_t loc, const char *name,
                               char *buf, size_t cap)
{
    if (H5Aexists(loc, name) <= 0)
        return DG_ENOTFOUND;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    dg_status st = DG_OK;
    buf[0] = 0;
    if (H5Tget_class(ft) != H5T_STRING ||
        H5Sget_simple_extent_npoints(sp) != 1) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': attribute '%s' is not a string",
                      dg__h5_fname(loc), name);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0)
            st = dg__fail(ctx, DG_EIO, "'%s': cannot read attribute '%s'",
                          dg__h5_fname(loc), name);
        else if (s) {
            snprintf(buf, cap, "%s", s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(ft);
        char *s = calloc(1, len + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (!s || H5Aread(a, mt, s) < 0)
            st = dg__fail(ctx, DG_EIO, "'%s': cannot read attribute '%s'",
                          dg__h5_fname(loc), name);
        else
            snprintf(buf, cap, "%s", s);
        free(s);
        H5Tclose(mt);
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(a);
    return st;
}

dg_status dg__h5_create_tmp(dg_ctx *ctx, const char *path, dg_tmpfile *t,
                            hid_t *file)
{
    dg__h5_quiet();
    *file = H5I_INVALID_HID;
    dg_status st = dg__tmp_open(ctx, path, 1, t);
    if (st < 0)
        return st;
    hid_t fapl = dg__h5_fapl_tmp(t);
    hid_t f = fapl < 0 ? H5I_INVALID_HID
                       : H5Fcreate(t->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f < 0) {
        st = t->err ? dg__tmp_fail(ctx, t)
                    : dg__fail(ctx, DG_EIO, "cannot write '%s': HDF5 cannot "
                               "create its temporary file", path);
        dg__tmp_abort(t);
        return st;
    }
    *file = f;
    return DG_OK;
}

dg_status dg__h5_check_write(dg_ctx *ctx, hid_t loc)
{
    dg_tmpfile *t = dg__h5_tmpfile_of(loc);
    return t && t->err ? dg__tmp_fail(ctx, t) : DG_OK;
}

void dg__h5_abort_tmp(hid_t file, dg_tmpfile *t)
{
    if (file >= 0)
        H5Fclose(file);
    dg__tmp_abort(t);
}

dg_status dg__h5_commit_tmp(dg_ctx *ctx, hid_t file, dg_tmpfile *t,
                            dg_file_id *id)
{
    /* The driver (h5fd.c) never fails a write to HDF5: a failure is
     * latched in t, and reported here with the real reason. */
    int flushed = H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0;
    int closed = H5Fclose(file) >= 0;
    if (!t->err && (!flushed || !closed))
        return dg__fail(ctx, DG_EIO, "cannot write '%s': HDF5 cannot finish "
                        "the file; it is unchanged", t->path);
    return dg__tmp_commit(ctx, t, id);
}

void dg__h5_reclaim(hid_t memtype, hid_t space, void *buf)
{
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(memtype, space, H5P_DEFAULT, buf);
#else
    H5Dvlen_reclaim(memtype, space, H5P_DEFAULT, buf);
#endif
}

const char *dg__h5_name_problem(const char *s)
{
    const char *why = dg__name_problem(s, 0);
    if (why)
        return why;
    if (!strcmp(s, ".") || !strcmp(s, ".."))
        return "not a name";
    if (strchr(s, '/'))
        return "contains '/'";
    return NULL;
}

/* ---- listing groups ------------------------------------------------------ */

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info,
                           void *data)
{
    (void)g;
    (void)info;
    char ***list = data;
    size_t n = 0;
    while ((*list)[n])
        n++;
    char **nl = realloc(*list, (n + 2) * sizeof(char *));
    if (!nl)
        return -1;
    nl[n] = strdup(name);
    nl[n + 1] = NULL;
    *list = nl;
    return nl[n] ? 0 : -1;
}

dg_status dg__h5_list_group(dg_ctx *ctx, hid_t file, const char *path,
                            char ***out)
{
    char **list = calloc(1, sizeof(char *));
    if (!list)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    *out = list;
    if (!dg__h5_exists(file, path))
        return DG_OK;
    hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a group",
                        dg__h5_fname(file), path);
    hsize_t idx = 0;
    herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name,
                          out);
    H5Gclose(g);
    if (e < 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': cannot list group '%s'",
                        dg__h5_fname(file), path);
    return DG_OK;
}

void dg__h5_list_free(char **l)
{
    if (!l)
        return;
    for (size_t i = 0; l[i]; i++)
        free(l[i]);
    free(l);
}
