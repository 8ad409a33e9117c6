/*
 * The project-file reader, structure-aware. The fuzz bytes do not become
 * the file: they drive the building of a *valid HDF5 file* (in memory with
 * the core driver, then written out) laid out like a detgrid project, with
 * every part open to mistakes: root attributes of the wrong type or value
 * (format versions 0, 2, missing), datasets missing, of the wrong type
 * (strings for numbers, floats for integers), the wrong rank or length,
 * frame and class indices out of range, unsorted records and offsets, NaN,
 * infinite and negative boxes and scores, huge counts in offsets and
 * attributes, results whose attributes, offsets, orders, statuses, matches
 * and class-agnostic rows disagree with the boxes; segments whose names,
 * kinds, offsets, frames, targets and metadata are wrong; embeddings
 * (/embeddings/<model>/{frames,labels,inferences/<set>}) of the wrong
 * shape, rank, type or row count, with NaN and infinite values, missing or
 * wrong "dim" and "model" attributes, for inference sets that do not
 * exist, or claiming far more values than the file holds. Then
 * dg_project_open, labels and inference sets loaded, frame offsets,
 * results loaded and every query (also restricted to each segment, with
 * per-frame counts and a bootstrap), every embedding matrix loaded, eval
 * on the reference path and a save and reopen.
 *
 * The embeddings part of the recipe follows "@@E" when the input holds
 * it, else the bytes the rest left over. Masks and keypoints
 * (mask_offsets, mask_counts, mask_size, keypoint_offsets, keypoints,
 * num_keypoints, coco_area of /labels and the first inference set, right
 * or wrong) follow "@@M", before "@@E"; they are read, evaluated as masks,
 * boundaries and keypoints (dg_coco_evaluate) and saved.
 *
 * libhdf5 itself is not fuzzed here (it is not robust against corrupt
 * bytes; tests/test_bad_inputs.py covers truncated files instead).
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "fuzzutil.h"
#include "detgrid/coco.h"

typedef fz_bytes rd;

static uint8_t u8(rd *r)
{
    return fz_u8(r);
}

static uint32_t u32(rd *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | u8(r);
    return v;
}

static uint64_t u64(rd *r)
{
    return (uint64_t)u32(r) << 32 | u32(r);
}

/* A double from a small pool of troublemakers, or from the bytes. */
static double dbl(rd *r)
{
    uint8_t k = u8(r);
    switch (k & 15) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -1.0;
    case 4: return 0.0;
    case 5: return 1.0;
    case 6: return 1e300;
    case 7: return 5e-324;
    case 8: return 0.5;
    case 9: {
        uint64_t b = u64(r);
        double d;
        memcpy(&d, &b, 8);
        return d;
    }
    default: return (double)(k >> 4) + (double)u8(r) / 256.0;
    }
}

/* An unsigned index near [0, lim), sometimes far outside. */
static uint64_t idx(rd *r, uint64_t lim)
{
    uint8_t k = u8(r);
    if (k < 200)
        return lim ? k % lim : 0;
    if (k < 220)
        return lim + (k & 3);
    if (k < 240)
        return (uint64_t)-1 - (k & 3);
    return u64(r);
}

/* An index inside [0, lim) (lim > 0). */
static uint64_t pos(rd *r, uint64_t lim)
{
    return u8(r) % lim;
}

/* How a column is written: its length, type and rank. */
enum { W_OK, W_MISSING, W_SHORT, W_LONG, W_STRING, W_FLOAT, W_INT, W_2D,
       W_GROUP, W_N };

static int wmode(rd *r)
{
    uint8_t k = u8(r);
    return k < 224 ? W_OK : (int)(k % W_N);
}

/* Writes a numeric 1-D column of n values (doubles in v), mistakes by mode. */
static void put_num(hid_t loc, const char *name, hid_t ftype, const double *v,
                    uint64_t n, int mode)
{
    if (mode == W_MISSING)
        return;
    if (mode == W_GROUP) {
        hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0)
            H5Gclose(g);
        return;
    }
    uint64_t m = n;
    if (mode == W_SHORT && m)
        m--;
    if (mode == W_LONG)
        m++;
    hsize_t dims[2] = {m, 1};
    int rank = 1;
    if (mode == W_2D) {
        dims[0] = 1;
        dims[1] = m;
        rank = 2;
    }
    hid_t t = H5Tcopy(mode == W_FLOAT ? H5T_IEEE_F64LE
                      : mode == W_INT ? H5T_STD_I64LE
                                      : ftype);
    if (mode == W_STRING) {
        H5Tclose(t);
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 8);
    }
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    if (ds >= 0 && m) {
        double *buf = calloc(m, sizeof(double));
        char *sbuf = calloc(m, 8);
        memcpy(buf, v, (m < n ? m : n) * sizeof(double));
        for (uint64_t i = 0; i < m; i++)
            snprintf(sbuf + i * 8, 8, "%g", buf[i]);
        if (mode == W_STRING) {
            H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, sbuf);
        } else {
            /* Converting NaN or huge values to integers clamps quietly. */
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     buf);
        }
        free(sbuf);
        free(buf);
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

/* Integer columns: values written exactly through a uint64 buffer. */
static void put_u64(hid_t loc, const char *name, hid_t ftype,
                    const uint64_t *v, uint64_t n, int mode)
{
    if (mode != W_OK && mode != W_SHORT && mode != W_LONG) {
        double *d = calloc(n ? n : 1, sizeof(double));
        for (uint64_t i = 0; i < n; i++)
            d[i] = (double)v[i];
        put_num(loc, name, ftype, d, n, mode);
        free(d);
        return;
    }
    uint64_t m = n;
    if (mode == W_SHORT && m)
        m--;
    if (mode == W_LONG)
        m++;
    hsize_t dims[1] = {m};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    if (ds >= 0 && m) {
        uint64_t *buf = calloc(m, sizeof(uint64_t));
        memcpy(buf, v, (m < n ? m : n) * sizeof(uint64_t));
        H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free(buf);
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
}

static void put_strings(rd *r, hid_t loc, const char *name, uint64_t n,
                        const char *prefix)
{
    int mode = wmode(r);
    if (mode == W_MISSING)
        return;
    if (mode == W_FLOAT || mode == W_INT || mode == W_2D || mode == W_GROUP) {
        double *d = calloc(n ? n : 1, sizeof(double));
        put_num(loc, name, H5T_STD_I32LE, d, n, mode);
        free(d);
        return;
    }
    uint64_t m = n + (mode == W_LONG) - (mode == W_SHORT && n);
    char **s = calloc(m ? m : 1, sizeof(char *));
    for (uint64_t i = 0; i < m; i++) {
        s[i] = calloc(1, 16);
        uint8_t k = u8(r);
        if (k < 200)
            snprintf(s[i], 16, "%s%u", prefix, (unsigned)(k < 100 ? i : k));
        else if (k < 215)
            s[i][0] = 0; /* empty */
        else if (k < 230)
            memcpy(s[i], "\xff\xfe\xc3(", 5); /* not UTF-8 */
        else if (k < 245)
            strcpy(s[i], "a/b");
        else
            snprintf(s[i], 16, "%s0", prefix); /* a duplicate */
    }
    int fixed = u8(r) & 1;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, fixed ? 16 : H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims[1] = {m};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    if (ds >= 0 && m) {
        if (fixed) {
            char *buf = calloc(m, 16);
            for (uint64_t i = 0; i < m; i++)
                memcpy(buf + 16 * i, s[i], 16);
            H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            free(buf);
        } else {
            H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
        }
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    for (uint64_t i = 0; i < m; i++)
        free(s[i]);
    free(s);
}

static void attr_num(hid_t loc, const char *name, hid_t ftype, const void *v,
                     hid_t mtype, uint64_t n)
{
    hsize_t dims[1] = {n};
    hid_t sp = n ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, mtype, v);
        H5Aclose(a);
    }
    H5Sclose(sp);
}

static void attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, t, &s);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

/* A uint64 attribute, or missing, or a string, or two values. */
static void attr_u64(rd *r, hid_t loc, const char *name, uint64_t v)
{
    int mode = wmode(r);
    if (mode == W_MISSING)
        return;
    if (mode == W_STRING) {
        attr_str(loc, name, "x");
        return;
    }
    uint64_t two[2] = {v, v};
    attr_num(loc, name, H5T_STD_U64LE, two, H5T_NATIVE_UINT64,
             mode == W_2D ? 2 : 0);
}

static hid_t group(hid_t loc, const char *name)
{
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

/* The masks and keypoints of box group gpath (n records), from r. */
static void put_shapes(rd *r, hid_t f, const char *gpath, uint64_t n)
{
    if (!r || !r->n)
        return;
    hid_t g = H5Gopen2(f, gpath, H5P_DEFAULT);
    if (g < 0)
        return;
    uint8_t flags = u8(r);
    if (flags & 1) {
        uint64_t *off = calloc(n + 2, 8), *hw = calloc(2 * n + 2, 8);
        uint64_t *cnt = calloc(64 * n + 1, 8), m = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t h = u8(r) % 7, w = h ? 1 + u8(r) % 6 : 0;
            hw[i] = h;
            hw[n + i] = w;
            /* Runs that cover h * w, but now and then not. */
            uint64_t left = h * w, k = 0;
            while (left && k < 60) {
                uint64_t c = k + 1 < 60 ? u8(r) % (left + 1) : left;
                cnt[m++] = c;
                left -= c;
                k++;
            }
            if (h && u8(r) < 16)
                cnt[m++] = u8(r);
            off[i + 1] = m;
        }
        if (u8(r) < 16 && n)
            off[pos(r, n + 1)] = idx(r, m + 2);
        put_u64(g, "mask_offsets", H5T_STD_U64LE, off, n + 1, wmode(r));
        put_u64(g, "mask_counts", H5T_STD_U32LE, cnt, m, wmode(r));
        int mode = wmode(r);
        if (mode == W_OK) {
            hsize_t dims[2] = {2, n};
            hid_t sp = H5Screate_simple(2, dims, NULL);
            hid_t ds = H5Dcreate2(g, "mask_size", H5T_STD_U32LE, sp,
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (ds >= 0 && n)
                H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, hw);
            if (ds >= 0)
                H5Dclose(ds);
            H5Sclose(sp);
        } else {
            put_u64(g, "mask_size", H5T_STD_U32LE, hw, 2 * n, mode);
        }
        free(off);
        free(hw);
        free(cnt);
    }
    if (flags & 2) {
        uint64_t *off = calloc(n + 2, 8), m = 0;
        /* up to 3 triples an object, and one more value when not triples */
        double *v = calloc(n * 10 + 1, sizeof(double));
        int k = flags & 16 ? 2 : 3; /* keypoints an object */
        for (uint64_t i = 0; i < n; i++) {
            int ki = u8(r) < 32 ? 0 : k;
            for (int j = 0; j < 3 * ki; j++)
                v[m++] = j % 3 == 2 ? (double)(u8(r) % 3)
                         : u8(r) < 240 ? (double)(u8(r) % 64) : dbl(r);
            if (u8(r) < 8)
                v[m++] = 1; /* not triples */
            off[i + 1] = m;
        }
        put_u64(g, "keypoint_offsets", H5T_STD_U64LE, off, n + 1, wmode(r));
        put_num(g, "keypoints", H5T_IEEE_F64LE, v, m, wmode(r));
        free(off);
        free(v);
    }
    double *a = calloc(n + 1, sizeof(double));
    if (flags & 4) {
        for (uint64_t i = 0; i < n; i++)
            a[i] = (double)(u8(r) % 5) - 2;
        put_num(g, "num_keypoints", H5T_STD_I32LE, a, n, wmode(r));
    }
    if (flags & 8) {
        for (uint64_t i = 0; i < n; i++)
            a[i] = u8(r) < 240 ? (double)u8(r) * 40 : dbl(r);
        put_num(g, "coco_area", H5T_IEEE_F64LE, a, n, wmode(r));
    }
    free(a);
    H5Gclose(g);
}

/* Box columns of n records over nf frames and nc classes. */
static void put_boxes(rd *r, hid_t g, uint64_t n, uint32_t nf, uint32_t nc,
                      int dets)
{
    uint64_t *fr = calloc(n + 1, 8), *cl = calloc(n + 1, 8);
    uint64_t *off = calloc((size_t)nf + 2, 8);
    double *v = calloc(n + 1, sizeof(double));
    int sorted = u8(r) < 200;
    for (uint64_t i = 0; i < n; i++) {
        fr[i] = idx(r, nf);
        cl[i] = idx(r, nc);
    }
    if (sorted) /* insertion sort, n is small */
        for (uint64_t i = 1; i < n; i++)
            for (uint64_t j = i; j > 0 && fr[j - 1] > fr[j]; j--) {
                uint64_t t = fr[j];
                fr[j] = fr[j - 1];
                fr[j - 1] = t;
            }
    put_u64(g, "frame", H5T_STD_U32LE, fr, n, wmode(r));
    put_u64(g, "class", H5T_STD_U32LE, cl, n, wmode(r));
    static const char *const xywh[4] = {"x", "y", "w", "h"};
    int nice_boxes = u8(r) < 160;
    for (int k = 0; k < 4; k++) {
        for (uint64_t i = 0; i < n; i++)
            v[i] = nice_boxes ? (double)(u8(r) % 64) : dbl(r);
        put_num(g, xywh[k], H5T_IEEE_F64LE, v, n, wmode(r));
    }
    if (dets) {
        for (uint64_t i = 0; i < n; i++)
            v[i] = nice_boxes ? (double)(u8(r) % 5) / 4 : dbl(r);
        put_num(g, "score", H5T_IEEE_F64LE, v, n, wmode(r));
    } else {
        uint8_t opt = u8(r);
        if (opt & 1) {
            for (uint64_t i = 0; i < n; i++)
                v[i] = nice_boxes ? (double)u8(r) : dbl(r);
            put_num(g, "area", H5T_IEEE_F64LE, v, n, wmode(r));
        }
        if (opt & 2) {
            for (uint64_t i = 0; i < n; i++)
                v[i] = (double)(u8(r) % (nice_boxes ? 2 : 256));
            put_num(g, "iscrowd", H5T_STD_U8LE, v, n, wmode(r));
        }
        if (opt & 4) {
            for (uint64_t i = 0; i < n; i++)
                v[i] = (double)(u8(r) % (nice_boxes ? 2 : 256));
            put_num(g, "ignore", H5T_STD_U8LE, v, n, wmode(r));
        }
    }
    uint8_t ok = u8(r);
    if (ok < 128) {
        /* Offsets that agree with the frames, then perhaps spoiled. */
        for (uint64_t i = 0; i < n; i++)
            if (fr[i] < nf)
                off[fr[i] + 1]++;
        for (uint32_t f = 0; f < nf; f++)
            off[f + 1] += off[f];
        if (ok & 1)
            off[pos(r, (uint64_t)nf + 1)] = idx(r, n + 1);
        put_u64(g, "frame_offsets", H5T_STD_U64LE, off, (uint64_t)nf + 1,
                wmode(r));
    } else if (ok < 160) {
        for (uint32_t f = 0; f <= nf; f++)
            off[f] = idx(r, n + 1);
        put_u64(g, "frame_offsets", H5T_STD_U64LE, off, (uint64_t)nf + 1,
                wmode(r));
    }
    free(v);
    free(off);
    free(cl);
    free(fr);
}

static void put_results(rd *r, hid_t rg, const char *name, uint64_t fp,
                        uint64_t lfp, uint64_t n_det, uint64_t n_gt,
                        uint32_t nc)
{
    hid_t g = group(rg, name);
    if (g < 0)
        return;
    int nt = 1 + u8(r) % 3;
    double iou[3] = {0.5, 0.75, 0.9};
    if (u8(r) >= 200)
        for (int t = 0; t < nt; t++)
            iou[t] = dbl(r);
    if (wmode(r) != W_MISSING)
        attr_num(g, "iou_thresholds", H5T_IEEE_F64LE, iou, H5T_NATIVE_DOUBLE,
                 (uint64_t)nt);
    attr_u64(r, g, "fingerprint", u8(r) < 230 ? fp : u64(r));
    attr_u64(r, g, "labels_fingerprint", u8(r) < 230 ? lfp : u64(r));
    uint8_t gk = u8(r);
    attr_u64(r, g, "n_gt", gk < 220 ? n_gt : idx(r, n_gt + 2));
    int32_t ver = 2;
    uint8_t vk = u8(r);
    if (vk >= 200)
        ver = (int32_t)(vk % 5) - 1;
    if (vk != 255)
        attr_num(g, "results_version", H5T_STD_I32LE, &ver, H5T_NATIVE_INT32,
                 0);
    attr_str(g, "device", "reference");

    /* Classes and the counts of detections in each. */
    uint64_t *off = calloc((size_t)nc + 2, 8);
    uint64_t nd = 0;
    uint8_t ok = u8(r);
    for (uint32_t c = 0; c < nc; c++) {
        uint64_t k = ok < 128 ? (c + 1 == nc ? n_det - nd : idx(r, n_det - nd + 1))
                              : idx(r, 4);
        if (ok < 128 && nd + k > n_det)
            k = n_det - nd;
        nd += k;
        off[c + 1] = nd;
    }
    if (ok >= 240)
        off[pos(r, (uint64_t)nc + 1)] = idx(r, n_det + 3);
    put_u64(g, "class_offsets", H5T_STD_U64LE, off, (uint64_t)nc + 1,
            wmode(r));
    uint64_t nd_file = off[nc];
    if (nd_file > 4096)
        nd_file = n_det; /* the file claims more than it holds */
    uint64_t *ord = calloc(nd_file + 1, 8);
    double *sc = calloc(nd_file + 1, sizeof(double));
    for (uint64_t k = 0; k < nd_file; k++)
        ord[k] = u8(r) < 240 ? k : idx(r, nd_file);
    put_u64(g, "order", H5T_STD_U32LE, ord, nd_file, wmode(r));
    double s = 1.0;
    for (uint64_t k = 0; k < nd_file; k++) {
        uint8_t q = u8(r);
        s = q < 240 ? s - (double)(q % 3) / 16 : dbl(r);
        if (s < 0 && q < 240)
            s = 0;
        sc[k] = s;
        for (uint32_t c = 0; c < nc; c++)
            if (off[c] == k + 1)
                s = 1.0;
    }
    put_num(g, "score", H5T_IEEE_F64LE, sc, nd_file, wmode(r));
    uint64_t *cnt = calloc((size_t)nc + 1, 8);
    for (uint32_t c = 0; c < nc; c++)
        cnt[c] = idx(r, n_gt + 1);
    put_u64(g, "gt_count", H5T_STD_U64LE, cnt, nc, wmode(r));

    /* T x N tables. */
    uint64_t cells = (uint64_t)nt * nd_file;
    int shape_bad = u8(r) >= 240;
    hsize_t dims[2] = {(hsize_t)nt, nd_file + (shape_bad ? 1 : 0)};
    uint64_t ncell = dims[0] * dims[1];
    uint8_t *stt = calloc(ncell + 1, 1);
    int32_t *mat = calloc(ncell + 1, 4), *agn = calloc(ncell + 1, 4);
    for (uint64_t i = 0; i < ncell; i++) {
        uint8_t q = u8(r);
        stt[i] = q < 240 ? q % 3 : q;
        mat[i] = q < 240 ? (stt[i] == 1 ? (int32_t)idx(r, n_gt) : -1)
                         : (int32_t)u32(r);
        agn[i] = q < 240 ? (int32_t)idx(r, n_gt + 2) - 2 : (int32_t)u32(r);
    }
    (void)cells;
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(g, "status", H5T_STD_U8LE, sp, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        if (ncell)
            H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, stt);
        H5Dclose(ds);
    }
    ds = H5Dcreate2(g, "matched", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT);
    if (ds >= 0) {
        if (u8(r) & 1) {
            /* Row t stored XORed with row t - 1. */
            for (hsize_t t = dims[0]; t-- > 1;)
                for (hsize_t k = 0; k < dims[1]; k++)
                    mat[t * dims[1] + k] ^= mat[(t - 1) * dims[1] + k];
            attr_str(ds, "encoding", u8(r) < 240 ? "xor-previous-row" : "zip");
        }
        if (ncell)
            H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, mat);
        H5Dclose(ds);
    }
    if (ver >= 2 && wmode(r) != W_MISSING) {
        ds = H5Dcreate2(g, "agnostic", H5T_STD_I32LE, sp, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
        if (ds >= 0) {
            if (ncell)
                H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         agn);
            H5Dclose(ds);
        }
        uint64_t *lc = calloc(n_gt + 1, 8);
        for (uint64_t i = 0; i < n_gt; i++)
            lc[i] = idx(r, nc);
        put_u64(g, "label_class", H5T_STD_U32LE, lc, n_gt, wmode(r));
        free(lc);
    }
    H5Sclose(sp);
    free(agn);
    free(mat);
    free(stt);
    free(cnt);
    free(sc);
    free(ord);
    free(off);
    H5Gclose(g);
}

/* /segments (docs/FORMAT.md): names, kinds, offsets, frames, targets. */
static void put_segments(rd *r, hid_t f, uint32_t nf)
{
    hid_t g = group(f, "segments");
    if (g < 0)
        return;
    if (u8(r) < 240) {
        int32_t v = 1;
        attr_num(g, "version", H5T_STD_I32LE, &v, H5T_NATIVE_INT32, 0);
    }
    uint32_t ns = u8(r) % 4;
    put_strings(r, g, "name", ns, "s");
    uint64_t kind[4], off[5] = {0}, fr[32];
    double v[4];
    uint64_t nfr = 0;
    for (uint32_t i = 0; i < ns; i++) {
        kind[i] = idx(r, 3);
        uint32_t k = u8(r) % 7;
        uint64_t last = 0;
        for (uint32_t j = 0; j < k && nfr < 32; j++) {
            uint8_t q = u8(r);
            /* Mostly ascending frames below nf; sometimes not. */
            last = q < 220 ? last + 1 + q % 2 : idx(r, nf + 1);
            fr[nfr++] = q < 220 ? last - 1 : last;
        }
        off[i + 1] = nfr;
    }
    if (u8(r) >= 230)
        off[pos(r, (uint64_t)ns + 1)] = idx(r, nfr + 2);
    put_u64(g, "kind", H5T_STD_U8LE, kind, ns, wmode(r));
    put_u64(g, "frame_offsets", H5T_STD_U64LE, off, (uint64_t)ns + 1,
            wmode(r));
    put_u64(g, "frames", H5T_STD_U32LE, fr, nfr, wmode(r));
    static const char *const cols[6] = {"min_precision", "min_recall",
                                        "min_f1", "min_ap", "conf", "iou"};
    uint8_t which = u8(r);
    for (int c = 0; c < 6; c++) {
        if (!(which >> c & 1))
            continue;
        for (uint32_t i = 0; i < ns; i++)
            v[i] = u8(r) < 128 ? NAN : dbl(r);
        put_num(g, cols[c], H5T_IEEE_F64LE, v, ns, wmode(r));
    }
    if (which & 0x40) {
        uint64_t ms[2] = {idx(r, ns), idx(r, ns)};
        put_u64(g, "meta_segment", H5T_STD_U32LE, ms, 2, wmode(r));
        put_strings(r, g, "meta_key", 2, "k");
        put_strings(r, g, "meta_value", 2, "v");
    }
    H5Gclose(g);
}

/* Per segment: restricted counts, frame counts and a small bootstrap. */
static void segment_queries(dg_ctx *ctx, dg_project *p)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t ns = dg_project_n_segments(p);
    for (uint32_t i = 0; i < info.n_inferences; i++) {
        dg_results *r = NULL;
        if (dg_results_load(ctx, p, dg_project_inference_name(p, i), &r) < 0)
            continue;
        uint32_t nc = dg_results_n_classes(r);
        dg_counts *c = calloc(nc ? nc : 1, sizeof(*c));
        dg_frame_counts *fc = calloc(info.n_frames ? info.n_frames : 1,
                                     sizeof(*fc));
        dg_prf_ci *ci = calloc(nc ? nc : 1, sizeof(*ci));
        for (uint32_t k = 0; k < ns && k < 4; k++) {
            const uint32_t *frames = NULL;
            uint32_t n = 0;
            dg_status st = dg_project_segment_frames(ctx, p, k, &frames, &n);
            fz_check(ctx, st, "dg_project_segment_frames");
            dg_segment_targets t;
            dg_project_segment_targets(p, k, &t);
            st = dg_results_restrict_segment(ctx, r, p,
                                             dg_project_segment_name(p, k));
            fz_check(ctx, st, "dg_results_restrict_segment");
            if (st < 0)
                continue;
            st = dg_results_counts(ctx, r, 0.25, 0, c);
            fz_check(ctx, st, "dg_results_counts (segment)");
            st = dg_results_frame_counts(ctx, r, p, 0.25, 0, -1, fc);
            fz_check(ctx, st, "dg_results_frame_counts");
            if (nc) {
                st = dg_results_frame_counts(ctx, r, p, 0.0, 0, nc - 1, fc);
                fz_check(ctx, st, "dg_results_frame_counts (class)");
            }
            dg_bootstrap_opts bo = {20, k, 0.9};
            dg_prf_ci all;
            st = dg_results_bootstrap(ctx, r, p, 0.25, 0, &bo, ci, &all);
            fz_check(ctx, st, "dg_results_bootstrap");
        }
        free(ci);
        free(fc);
        free(c);
        dg_results_free(r);
    }
}

/* What the rest of the file holds, for the embeddings to agree with. */
typedef struct {
    uint32_t nf;
    uint64_t n_gt;
    int n_sets;
    uint64_t n_det[3];
} layout;

static const char *const set_names[4] = {"m", "model b", "m2", "zz"};

/* A rows x dim float matrix, mostly right, else of the wrong shape, rank,
 * type or row count, or claiming far more than the file holds. */
static void put_matrix(rd *r, hid_t loc, const char *name, uint64_t rows,
                       uint32_t dim)
{
    uint8_t k = u8(r);
    int mode = k < 176 ? 0 : 1 + k % 10;
    uint64_t m = rows;
    uint64_t d = dim;
    switch (mode) {
    case 1: return;                              /* missing */
    case 2: m = rows + 1; break;
    case 3: m = rows ? rows - 1 : 1; break;
    case 4: d = dim + 1; break;
    case 5: {                                    /* a group */
        hid_t g = group(loc, name);
        if (g >= 0)
            H5Gclose(g);
        return;
    }
    default: break;
    }
    int rank = mode == 6 ? 1 : mode == 7 ? 3 : 2;
    hsize_t dims[3] = {m, d, 1};
    if (rank == 1)
        dims[0] = m * d;
    int huge = mode == 10;
    if (huge) {
        /* Never written: HDF5 keeps no storage, reads give the fill value. */
        uint8_t q = u8(r);
        if (q & 1)
            dims[1] = (hsize_t)1 << (20 + q % 12);
        else
            dims[0] = (hsize_t)1 << (20 + q % 24);
    }
    hid_t ft = mode == 8 ? H5T_STD_I32LE
               : (u8(r) & 1) ? H5T_IEEE_F64LE
                             : H5T_IEEE_F32LE;
    hid_t t = H5Tcopy(ft);
    if (mode == 9) {
        H5Tclose(t);
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 4);
    }
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (u8(r) & 1) {
        hsize_t ch[3] = {dims[0] ? (dims[0] < 16 ? dims[0] : 16) : 1,
                         rank > 1 && dims[1] ? (dims[1] < 16 ? dims[1] : 16) : 1,
                         1};
        H5Pset_chunk(dcpl, rank, ch);
    }
    hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    uint64_t cells = (uint64_t)dims[0] * dims[1] * (rank == 3 ? dims[2] : 1);
    if (rank == 1)
        cells = dims[0];
    if (ds >= 0 && !huge && cells && cells <= 4096) {
        int nice_values = u8(r) < 200;
        double *v = calloc(cells, sizeof(double));
        for (uint64_t i = 0; i < cells; i++)
            v[i] = nice_values ? (double)(u8(r) % 16) / 4 - 1 : dbl(r);
        if (mode == 9) {
            char *sb = calloc(cells, 4);
            for (uint64_t i = 0; i < cells; i++)
                snprintf(sb + i * 4, 4, "%g", v[i]);
            H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, sb);
            free(sb);
        } else {
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        }
        free(v);
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

/* /embeddings (docs/EMBEDDINGS.md): models with their matrices. */
static void put_embeddings(rd *r, hid_t f, const layout *lo)
{
    uint8_t k = u8(r);
    if (k < 64)
        return;
    if (k >= 250) { /* a dataset where the group should be */
        double z = 0;
        put_num(f, "embeddings", H5T_IEEE_F64LE, &z, 1, W_OK);
        return;
    }
    hid_t eg = group(f, "embeddings");
    if (eg < 0)
        return;
    static const char *const models[3] = {"clip", "dino v2", "x"};
    int nm = 1 + u8(r) % 3;
    for (int i = 0; i < nm; i++) {
        uint8_t mk = u8(r);
        if (mk >= 245) {
            double z = 0;
            put_num(eg, models[i], H5T_IEEE_F64LE, &z, 1, W_OK);
            continue;
        }
        hid_t g = group(eg, models[i]);
        if (g < 0)
            continue;
        uint32_t dim = 1 + u8(r) % 8;
        uint8_t ak = u8(r);
        int32_t dv = (int32_t)dim;
        if (ak < 200) {
            attr_num(g, "dim", H5T_STD_I32LE, &dv, H5T_NATIVE_INT32, 0);
        } else if (ak < 210) {
            /* missing */
        } else if (ak < 215) {
            attr_str(g, "dim", "8");
        } else if (ak < 225) {
            dv = (int32_t)u32(r);
            attr_num(g, "dim", H5T_STD_I32LE, &dv, H5T_NATIVE_INT32, 0);
        } else if (ak < 235) {
            int32_t two[2] = {dv, dv};
            attr_num(g, "dim", H5T_STD_I32LE, two, H5T_NATIVE_INT32, 2);
        } else if (ak < 245) {
            double x = dbl(r);
            attr_num(g, "dim", H5T_IEEE_F64LE, &x, H5T_NATIVE_DOUBLE, 0);
        } else {
            uint64_t x = u64(r);
            attr_num(g, "dim", H5T_STD_U64LE, &x, H5T_NATIVE_UINT64, 0);
        }
        uint8_t nk = u8(r);
        if (nk < 200)
            attr_str(g, "model", models[i]);
        else if (nk < 230)
            attr_str(g, "model", "another");
        else if (nk < 245) {
            int32_t one = 1;
            attr_num(g, "model", H5T_STD_I32LE, &one, H5T_NATIVE_INT32, 0);
        }
        uint8_t which = u8(r);
        if (which & 1)
            put_matrix(r, g, "frames", lo->nf, dim);
        if (which & 2)
            put_matrix(r, g, "labels", lo->n_gt, dim);
        if (which & 4) {
            if (which & 8) {
                double z = 0;
                put_num(g, "inferences", H5T_IEEE_F64LE, &z, 1, W_OK);
            } else {
                hid_t ig = group(g, "inferences");
                int ns = u8(r) % 5;
                for (int s = 0; s < ns && ig >= 0; s++) {
                    int which_set = u8(r) % 4;
                    uint64_t rows = which_set < lo->n_sets
                                        ? lo->n_det[which_set]
                                        : (uint64_t)(u8(r) % 4);
                    if (H5Lexists(ig, set_names[which_set], H5P_DEFAULT) <= 0)
                        put_matrix(r, ig, set_names[which_set], rows, dim);
                }
                if (ig >= 0)
                    H5Gclose(ig);
            }
        }
        H5Gclose(g);
    }
    H5Gclose(eg);
}

/*
 * Every embedding matrix of p (and some that are not there): what loads
 * must have the row count the project asks for, the model's dimension and
 * finite values (docs/EMBEDDINGS.md: "Values must be finite").
 */
static void embedding_queries(dg_ctx *ctx, dg_project *p)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t nm = dg_project_n_embedding_models(p);
    for (uint32_t i = 0; i <= nm; i++) {
        const char *model = i < nm ? dg_project_embedding_model(p, i) : "nope";
        if (!model)
            abort();
        uint32_t want_dim = dg_project_embedding_dim(p, model);
        for (int k = 0; k < 3 + 4; k++) {
            dg_embed_kind kind = k < 2 ? (dg_embed_kind)k : DG_EMBED_INFERENCES;
            const char *set = k < 2 ? NULL : k - 2 < 4 ? set_names[k - 2] : NULL;
            if (k == 6)
                set = NULL;
            (void)dg_project_has_embeddings(p, model, kind, set);
            const float *d = NULL;
            uint64_t rows = 0;
            uint32_t dim = 0;
            dg_status st = dg_project_get_embeddings(ctx, p, model, kind, set,
                                                     &d, &rows, &dim);
            fz_check(ctx, st, "dg_project_get_embeddings");
            if (st < 0)
                continue;
            uint64_t want = kind == DG_EMBED_FRAMES ? info.n_frames
                            : kind == DG_EMBED_LABELS
                                ? info.n_labels
                                : dg_project_inference_size(
                                      p, (uint32_t)dg_project_inference_index(
                                             p, set));
            if (rows != want || dim != want_dim || dim == 0 || (rows && !d)) {
                fprintf(stderr, "embeddings '%s' kind %d: %llu x %u, want "
                        "%llu x %u\n", model, (int)kind,
                        (unsigned long long)rows, dim,
                        (unsigned long long)want, want_dim);
                abort();
            }
            for (uint64_t j = 0; j < rows * dim; j++)
                if (!isfinite(d[j])) {
                    fprintf(stderr, "embeddings '%s' kind %d: value %llu is "
                            "%g\n", model, (int)kind, (unsigned long long)j,
                            (double)d[j]);
                    abort();
                }
        }
    }
}

/* Builds the file image; returns a malloc'd buffer and its size. */
static void *build(rd *r, rd *re, rd *rm, size_t *size)
{
    layout lo;
    memset(&lo, 0, sizeof(lo));
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 0);
    hid_t f = H5Fcreate("fuzz-project.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0)
        abort();

    uint8_t root = u8(r);
    if (root < 240)
        attr_str(f, "format", "detgrid-project");
    else if (root < 250)
        attr_str(f, "format", "something-else");
    else if (root < 253) {
        int32_t one = 1;
        attr_num(f, "format", H5T_STD_I32LE, &one, H5T_NATIVE_INT32, 0);
    }
    uint8_t vk = u8(r);
    if (vk < 230) {
        int32_t v = 1;
        attr_num(f, "format_version", H5T_STD_I32LE, &v, H5T_NATIVE_INT32, 0);
    } else if (vk < 250) {
        int32_t v = (int32_t)(vk % 5) - 2;
        attr_num(f, "format_version", H5T_STD_I32LE, &v, H5T_NATIVE_INT32, 0);
    } else if (vk < 252) {
        attr_str(f, "format_version", "1");
    } else if (vk < 254) {
        double v = 1.5;
        attr_num(f, "format_version", H5T_IEEE_F64LE, &v, H5T_NATIVE_DOUBLE, 0);
    }
    if (u8(r) >= 200) {
        double c = dbl(r), i = dbl(r);
        attr_num(f, "default_conf", H5T_IEEE_F64LE, &c, H5T_NATIVE_DOUBLE, 0);
        attr_num(f, "default_iou", H5T_IEEE_F64LE, &i, H5T_NATIVE_DOUBLE, 0);
    }

    uint32_t nc = u8(r) % 5, nf = u8(r) % 6;
    hid_t g = group(f, "classes");
    put_strings(r, g, "name", nc, "c");
    if (u8(r) & 1) {
        uint64_t ids[8];
        for (uint32_t c = 0; c < nc; c++)
            ids[c] = idx(r, 8);
        put_u64(g, "id", H5T_STD_I64LE, ids, nc, wmode(r));
    }
    H5Gclose(g);
    g = group(f, "frames");
    put_strings(r, g, "id", nf, "f");
    uint8_t fopt = u8(r);
    double dv[8];
    if (fopt & 1) {
        uint64_t num[8];
        for (uint32_t i = 0; i < nf; i++)
            num[i] = idx(r, 1000);
        put_u64(g, "num", H5T_STD_I64LE, num, nf, wmode(r));
    }
    if (fopt & 2) {
        for (uint32_t i = 0; i < nf; i++)
            dv[i] = dbl(r);
        put_num(g, "width", H5T_IEEE_F64LE, dv, nf, wmode(r));
        put_num(g, "height", H5T_IEEE_F64LE, dv, nf, wmode(r));
    }
    if (fopt & 4) {
        hid_t m = group(g, "meta");
        for (uint32_t i = 0; i < nf; i++)
            dv[i] = dbl(r);
        put_num(m, "speed", H5T_IEEE_F64LE, dv, nf, wmode(r));
        put_strings(r, m, "weather", nf, "w");
        H5Gclose(m);
    }
    H5Gclose(g);

    uint64_t n_gt = u8(r) % 10;
    lo.nf = nf;
    uint64_t lfp = u64(r);
    if (u8(r) < 230) {
        lo.n_gt = n_gt;
        g = group(f, "labels");
        put_boxes(r, g, n_gt, nf, nc, 0);
        if (u8(r) & 1)
            attr_u64(r, g, "fingerprint", lfp);
        H5Gclose(g);
    }
    hid_t ig = group(f, "inferences"), rg = group(f, "results");
    int n_sets = u8(r) % 3;
    lo.n_sets = n_sets;
    for (int s = 0; s < n_sets; s++) {
        static const char *const names[3] = {"m", "model b", "m2"};
        uint64_t n_det = u8(r) % 12, fp = u64(r);
        lo.n_det[s] = n_det;
        g = group(ig, names[s]);
        put_boxes(r, g, n_det, nf, nc, 1);
        if (u8(r) < 230)
            attr_u64(r, g, "fingerprint", fp);
        H5Gclose(g);
        if (u8(r) < 230)
            put_results(r, rg, names[s], fp, lfp, n_det, n_gt, nc);
    }
    H5Gclose(rg);
    H5Gclose(ig);
    if (u8(r) >= 128)
        put_segments(r, f, nf);
    if (rm) {
        put_shapes(rm, f, "labels", lo.n_gt);
        if (n_sets)
            put_shapes(rm, f, "inferences/m", lo.n_det[0]);
    }
    put_embeddings(re ? re : r, f, &lo);
    H5Fflush(f, H5F_SCOPE_GLOBAL);
    ssize_t n = H5Fget_file_image(f, NULL, 0);
    void *img = n > 0 ? malloc((size_t)n) : NULL;
    if (!img || H5Fget_file_image(f, img, (size_t)n) != n)
        abort();
    H5Fclose(f);
    *size = (size_t)n;
    return img;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2], *mpart[2];
    size_t len[2], mlen[2];
    int np = fz_split(data, size, "@@E", part, len, 2);
    int nm = fz_split(part[0], len[0], "@@M", mpart, mlen, 2);
    rd r = {mpart[0], mlen[0]}, re = {np > 1 ? part[1] : NULL, np > 1 ? len[1] : 0};
    rd rm = {nm > 1 ? mpart[1] : NULL, nm > 1 ? mlen[1] : 0};
    size_t n = 0;
    void *img = build(&r, np > 1 ? &re : NULL, nm > 1 ? &rm : NULL, &n);
    const char *path = fz_write("p.h5", img, n);
    free(img);

    dg_ctx *ctx = fz_ctx();
    dg_project *p = NULL;
    dg_status st = dg_project_open(ctx, path, &p);
    fz_check(ctx, st, "dg_project_open");
    if (st < 0)
        goto out;
    dg_project_info info;
    dg_project_get_info(p, &info);
    for (uint32_t i = 0; i < info.n_classes; i++)
        (void)dg_project_class_name(p, i);
    for (uint32_t i = 0; i < info.n_frames; i++)
        (void)dg_project_frame_id(p, i);
    uint64_t *off = NULL;
    st = dg__project_frame_offsets(ctx, p, -1, &off);
    fz_check(ctx, st, "frame offsets (labels)");
    free(off);
    for (uint32_t i = 0; i < info.n_inferences; i++) {
        off = NULL;
        st = dg__project_frame_offsets(ctx, p, (int)i, &off);
        fz_check(ctx, st, "frame offsets");
        free(off);
        dg_boxset b;
        st = dg__project_read_range(ctx, p, (int)i, 0, info.n_frames, &b);
        fz_check(ctx, st, "dg__project_read_range");
        if (st >= 0)
            dg__boxset_release(&b);
    }
    fz_queries(ctx, p);
    segment_queries(ctx, p);
    embedding_queries(ctx, p);
    const dg_boxset *boxes;
    st = dg__project_labels(ctx, p, &boxes);
    fz_check(ctx, st, "dg__project_labels");
    for (uint32_t i = 0; i < info.n_inferences; i++) {
        st = dg__project_inferences(ctx, p, i, &boxes);
        fz_check(ctx, st, "dg__project_inferences");
    }
    if (info.n_inferences) {
        double iou[] = {0.5};
        const char *name = dg_project_inference_name(p, 0);
        st = dg_eval(ctx, p, name, iou, 1);
        fz_check(ctx, st, "dg_eval");
        /* Masks and keypoints: read, and evaluated (refusing is fine). */
        const dg_shapes *sh;
        st = dg__project_label_shapes(ctx, p, &sh);
        fz_check(ctx, st, "dg__project_label_shapes");
        st = dg__project_inference_shapes(ctx, p, 0, &sh);
        fz_check(ctx, st, "dg__project_inference_shapes");
        for (int t = DG_COCO_SEGM; t <= DG_COCO_KEYPOINTS; t++) {
            dg_coco_opts o;
            memset(&o, 0, sizeof(o));
            o.iou_type = t;
            o.n_threads = 1;
            if (t == DG_COCO_KEYPOINTS && (data[0] & 2)) {
                static const double sig[3] = {0.1, 0.2, 0.3};
                o.kpt_sigmas = sig;
                o.n_kpt_sigmas = 3;
            }
            dg_coco_result cr;
            st = dg_coco_evaluate(ctx, p, name, &o, &cr);
            fz_check(ctx, st, "dg_coco_evaluate");
            if (st >= 0)
                dg_coco_result_release(&cr);
        }
    }
    embedding_queries(ctx, p);
    if (size && (data[0] & 1)) {
        /* Save (copying what did not change) and read it back. */
        const char *out = fz_path("out.h5");
        st = dg_project_save(ctx, p, out);
        fz_check(ctx, st, "dg_project_save");
        if (st >= 0) {
            dg_project *q = NULL;
            st = dg_project_open(ctx, out, &q);
            fz_check(ctx, st, "dg_project_open (saved)");
            if (st >= 0) {
                fz_queries(ctx, q);
                embedding_queries(ctx, q);
            }
            dg_project_free(q);
        }
    }
out:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return 0;
}
