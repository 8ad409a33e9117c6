/*
 * A strict reader of NumPy .npy files: 2-D, little-endian float32 or
 * float64, C order. The format: magic "\x93NUMPY", major and minor version,
 * a header length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict
 * literal with 'descr', 'fortran_order' and 'shape', then the data.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* The text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char q1[64], q2[64];
    snprintf(q1, sizeof(q1), "'%s'", key);
    snprintf(q2, sizeof(q2), "\"%s\"", key);
    const char *k = strstr(h, q1);
    if (!k)
        k = strstr(h, q2);
    if (!k)
        return NULL;
    k += strlen(q1);
    while (*k == ' ')
        k++;
    if (*k != ':')
        return NULL;
    k++;
    while (*k == ' ')
        k++;
    return k;
}

/*
 * The header of the .npy file f, read up to the data: the element size
 * (4 or 8) and the shape, checked to be a usable 2-D one.
 */
static dg_status read_header(dg_ctx *ctx, const char *path, FILE *f,
                             int *esize_out, uint64_t *rows, uint64_t *cols)
{
    dg_status st = DG_OK;
    char *hdr = NULL;
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s' is not a .npy file (no \\x93NUMPY magic)", path);
        goto out;
    }
    unsigned major = pre[6];
    uint64_t hlen;
    if (major == 1) {
        hlen = pre[8] | (uint64_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': truncated header", path);
            goto out;
        }
        hlen = pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
    } else {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': .npy format version %u.%u is not supported "
                      "(1.0 to 3.0 are)",
                      path, major, pre[7]);
        goto out;
    }
    if (hlen > (1u << 20)) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': header of %llu bytes", path,
                      (unsigned long long)hlen);
        goto out;
    }
    if (!(hdr = dg__alloc(ctx, hlen + 1, 1))) {
        st = DG_ENOMEM;
        goto out;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': truncated header", path);
        goto out;
    }
    hdr[hlen] = 0;
    const char *descr = dict_value(hdr, "descr");
    const char *fo = dict_value(hdr, "fortran_order");
    const char *shape = dict_value(hdr, "shape");
    if (!descr || !fo || !shape) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': header field '%s' is missing", path,
                      !descr ? "descr" : !fo ? "fortran_order" : "shape");
        goto out;
    }
    int esize;
    if (!strncmp(descr, "'<f4'", 5) || !strncmp(descr, "\"<f4\"", 5))
        esize = 4;
    else if (!strncmp(descr, "'<f8'", 5) || !strncmp(descr, "\"<f8\"", 5))
        esize = 8;
    else {
        int n = 0;
        while (descr[n] && descr[n] != ',' && n < 40)
            n++;
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': header field 'descr' is %.*s; little-endian "
                      "float32 ('<f4') or float64 ('<f8') is needed",
                      path, n, descr);
        goto out;
    }
    if (strncmp(fo, "False", 5)) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': header field 'fortran_order' is not False; "
                      "write the array in C order (np.ascontiguousarray)",
                      path);
        goto out;
    }
    if (*shape != '(') {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': header field 'shape' is not a "
                      "tuple", path);
        goto out;
    }
    uint64_t dims[4];
    int nd = 0;
    const char *s = shape + 1;
    for (;;) {
        while (*s == ' ')
            s++;
        if (*s == ')')
            break;
        if (*s < '0' || *s > '9' || nd == 4) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': header field 'shape' cannot be read", path);
            goto out;
        }
        char *e;
        dims[nd++] = strtoull(s, &e, 10);
        s = e;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
    }
    if (nd != 2) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': header field 'shape' has %d dimension%s; a 2-D "
                      "array (rows, dimension) is needed",
                      path, nd, nd == 1 ? "" : "s");
        goto out;
    }
    if (dims[1] == 0 || dims[1] > UINT32_MAX ||
        (dims[0] && dims[1] > UINT64_MAX / 8 / dims[0])) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': header field 'shape' (%llu, %llu) is not usable",
                      path, (unsigned long long)dims[0],
                      (unsigned long long)dims[1]);
        goto out;
    }
    *esize_out = esize;
    *rows = dims[0];
    *cols = dims[1];
out:
    free(hdr);
    return st;
}

/*
 * The values of f after the header, esize bytes each, rows x columns
 * dims, into *data (malloc'd) as float32: each finite, the file ending
 * with them.
 */
static dg_status read_values(dg_ctx *ctx, const char *path, FILE *f,
                             int esize, const uint64_t dims[2], float **data)
{
    dg_status st = DG_OK;
    unsigned char *raw = NULL;
    float *out = NULL;
    uint64_t n = dims[0] * dims[1];
    /* A shape larger than the file is truncation, not a reason to try
     * allocating it. */
    long here = ftell(f);
    if (here >= 0 && fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end >= here && (uint64_t)(end - here) < n * (uint64_t)esize) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': data truncated: shape (%llu, %llu) needs "
                          "%llu values, the file holds %llu",
                          path, (unsigned long long)dims[0],
                          (unsigned long long)dims[1], (unsigned long long)n,
                          (unsigned long long)((uint64_t)(end - here) /
                                               (uint64_t)esize));
            goto out;
        }
        fseek(f, here, SEEK_SET);
    }
    if (!(out = dg__alloc(ctx, n ? n : 1, sizeof(float)))) {
        st = DG_ENOMEM;
        goto out;
    }
    /* Read in slices so float64 input never needs a second full copy. */
    size_t slice = 1u << 16;
    if (!(raw = dg__alloc(ctx, slice, (size_t)esize))) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < n;) {
        size_t m = n - i < slice ? (size_t)(n - i) : slice;
        if (fread(raw, (size_t)esize, m, f) != m) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': data truncated: shape (%llu, %llu) needs "
                          "%llu values, the file ends after %llu",
                          path, (unsigned long long)dims[0],
                          (unsigned long long)dims[1], (unsigned long long)n,
                          (unsigned long long)i);
            goto out;
        }
        for (size_t j = 0; j < m; j++) {
            const unsigned char *b = raw + j * (size_t)esize;
            double v;
            if (esize == 4) {
                uint32_t u = b[0] | (uint32_t)b[1] << 8 |
                             (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
                float x;
                memcpy(&x, &u, 4);
                v = x;
            } else {
                uint64_t u = 0;
                for (int k = 7; k >= 0; k--)
                    u = u << 8 | b[k];
                memcpy(&v, &u, 8);
            }
            if (!isfinite(v) || !isfinite((float)v)) {
                uint64_t at = i + j;
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': row %llu, column %llu: %g is not a "
                              "finite float32",
                              path, (unsigned long long)(at / dims[1]),
                              (unsigned long long)(at % dims[1]), v);
                goto out;
            }
            out[i + j] = (float)v;
        }
        i += m;
    }
    if (fgetc(f) != EOF) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': trailing bytes after the (%llu, %llu) array",
                      path, (unsigned long long)dims[0],
                      (unsigned long long)dims[1]);
        goto out;
    }
    *data = out;
    out = NULL;
out:
    free(out);
    free(raw);
    return st;
}

dg_status dg_npy_read(dg_ctx *ctx, const char *path, float **data,
                      uint64_t *rows, uint64_t *cols)
{
    dg_status st;
    int esize = 0;
    uint64_t dims[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return dg__fail(ctx, DG_EIO, "cannot open '%s': %s", path,
                        strerror(errno));
    if ((st = read_header(ctx, path, f, &esize, &dims[0], &dims[1])) >= 0 &&
        (st = read_values(ctx, path, f, esize, dims, data)) >= 0) {
        *rows = dims[0];
        *cols = dims[1];
    }
    fclose(f);
    return st;
}
