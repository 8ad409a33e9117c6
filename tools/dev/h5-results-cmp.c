/*
 * h5-results-cmp A.h5 B.h5: whether the /results of two project files are
 * the same bytes: the same groups, datasets, shapes, types, attributes (but
 * "device", which names where they were computed) and, dataset by dataset,
 * the same raw chunks (filter mask, size, bytes: H5Dread_chunk) or, for
 * datasets that are not chunked, the same values. Prints what differs
 * first and a count of what was compared; exit 0 same, 1 different, 2
 * error. For tools/dev/gpu-check.sh, where no Python HDF5 is at hand; the
 * tests compare the same way with h5py (tests/test_bounded.py).
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long n_chunks, n_datasets;

static int fail(const char *what, const char *name)
{
    printf("DIFFERENT: %s: %s\n", name, what);
    return 1;
}

/* The bytes of attribute name of a and b (same type and size), or 1. */
static int cmp_attr(hid_t a, hid_t b, const char *name, const char *where)
{
    hid_t x = H5Aopen(a, name, H5P_DEFAULT), y = H5Aopen(b, name, H5P_DEFAULT);
    int bad = 1;
    if (x >= 0 && y >= 0) {
        hid_t tx = H5Aget_type(x), ty = H5Aget_type(y);
        hid_t sx = H5Aget_space(x), sy = H5Aget_space(y);
        hssize_t n = H5Sget_simple_extent_npoints(sx);
        size_t sz = H5Tget_size(tx);
        if (H5Tequal(tx, ty) > 0 && n == H5Sget_simple_extent_npoints(sy)) {
            if (H5Tis_variable_str(tx) > 0) {
                char *p = NULL, *q = NULL;
                bad = H5Aread(x, tx, &p) < 0 || H5Aread(y, ty, &q) < 0 ||
                      !p || !q || strcmp(p, q);
                H5free_memory(p);
                H5free_memory(q);
            } else {
                char *p = malloc(sz * (size_t)n + 1), *q = malloc(sz * (size_t)n + 1);
                bad = !p || !q || H5Aread(x, tx, p) < 0 || H5Aread(y, ty, q) < 0 ||
                      memcmp(p, q, sz * (size_t)n);
                free(p);
                free(q);
            }
        }
        H5Sclose(sx);
        H5Sclose(sy);
        H5Tclose(tx);
        H5Tclose(ty);
    }
    if (x >= 0)
        H5Aclose(x);
    if (y >= 0)
        H5Aclose(y);
    if (bad) {
        char w[600];
        snprintf(w, sizeof(w), "attribute '%s'", name);
        return fail(w, where);
    }
    return 0;
}

static int cmp_attrs(hid_t a, hid_t b, const char *where)
{
    int na = H5Aget_num_attrs(a), nb = H5Aget_num_attrs(b);
    int skip_a = H5Aexists(a, "device") > 0, skip_b = H5Aexists(b, "device") > 0;
    if (na - skip_a != nb - skip_b)
        return fail("attribute count", where);
    for (int i = 0; i < na; i++) {
        char name[256];
        hid_t at = H5Aopen_by_idx(a, ".", H5_INDEX_NAME, H5_ITER_INC,
                                  (hsize_t)i, H5P_DEFAULT, H5P_DEFAULT);
        if (at < 0)
            return fail("attribute", where);
        H5Aget_name(at, sizeof(name), name);
        H5Aclose(at);
        if (!strcmp(name, "device"))
            continue;
        if (H5Aexists(b, name) <= 0 || cmp_attr(a, b, name, where))
            return fail(name, where);
    }
    return 0;
}

static int cmp_dataset(hid_t fa, hid_t fb, const char *path)
{
    hid_t a = H5Dopen2(fa, path, H5P_DEFAULT), b = H5Dopen2(fb, path, H5P_DEFAULT);
    int bad = 0;
    if (a < 0 || b < 0) {
        bad = fail("missing", path);
        goto out;
    }
    n_datasets++;
    if ((bad = cmp_attrs(a, b, path)))
        goto out;
    hid_t ta = H5Dget_type(a), tb = H5Dget_type(b);
    int same_t = H5Tequal(ta, tb) > 0;
    size_t esz = H5Tget_size(ta);
    H5Tclose(ta);
    H5Tclose(tb);
    hid_t sa = H5Dget_space(a), sb = H5Dget_space(b);
    hsize_t da[2] = {0, 0}, db[2] = {0, 0};
    int ra = H5Sget_simple_extent_dims(sa, da, NULL);
    int rb = H5Sget_simple_extent_dims(sb, db, NULL);
    H5Sclose(sa);
    H5Sclose(sb);
    if (!same_t || ra != rb || da[0] != db[0] || da[1] != db[1]) {
        bad = fail("type or shape", path);
        goto out;
    }
    hid_t pa = H5Dget_create_plist(a), pb = H5Dget_create_plist(b);
    int chunked = H5Pget_layout(pa) == H5D_CHUNKED;
    hsize_t ca[2] = {0, 0}, cb[2] = {0, 0};
    if (chunked) {
        H5Pget_chunk(pa, ra, ca);
        H5Pget_chunk(pb, rb, cb);
    }
    H5Pclose(pa);
    H5Pclose(pb);
    if (chunked != (ca[0] != 0) || ca[0] != cb[0] || ca[1] != cb[1]) {
        bad = fail("layout", path);
        goto out;
    }
    if (!chunked) {
        size_t n = esz * (ra ? da[0] : 1) * (ra == 2 ? da[1] : 1);
        char *p = malloc(n + 1), *q = malloc(n + 1);
        hid_t t = H5Dget_type(a);
        bad = !p || !q ||
              (n && (H5Dread(a, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) < 0 ||
                     H5Dread(b, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, q) < 0 ||
                     memcmp(p, q, n)));
        H5Tclose(t);
        free(p);
        free(q);
        if (bad)
            fail("values", path);
        goto out;
    }
    hsize_t rows = ra == 2 ? da[0] : 1, cols = da[ra - 1], w = ca[ra - 1];
    for (hsize_t r = 0; r < rows && !bad; r++)
        for (hsize_t c = 0; c < cols && !bad; c += w) {
            hsize_t off[2] = {r, c};
            const hsize_t *o = ra == 2 ? off : off + 1;
            hsize_t za = 0, zb = 0;
            uint32_t ma = 0, mb = 0;
            if (H5Dget_chunk_storage_size(a, o, &za) < 0 ||
                H5Dget_chunk_storage_size(b, o, &zb) < 0 || za != zb) {
                bad = fail("a chunk's size", path);
                break;
            }
            char *p = malloc(za + 1), *q = malloc(zb + 1);
            if (!p || !q || H5Dread_chunk(a, H5P_DEFAULT, o, &ma, p) < 0 ||
                H5Dread_chunk(b, H5P_DEFAULT, o, &mb, q) < 0 || ma != mb ||
                memcmp(p, q, za)) {
                char what[128];
                snprintf(what, sizeof(what), "raw chunk (%llu, %llu)",
                         (unsigned long long)r, (unsigned long long)c);
                bad = fail(what, path);
            }
            free(p);
            free(q);
            n_chunks++;
        }
out:
    if (a >= 0)
        H5Dclose(a);
    if (b >= 0)
        H5Dclose(b);
    return bad;
}

#if H5_VERSION_GE(1, 12, 0)
#define VISIT(g, f, w) H5Ovisit1((g), H5_INDEX_NAME, H5_ITER_INC, (f), (w))
#else
#define VISIT(g, f, w) H5Ovisit((g), H5_INDEX_NAME, H5_ITER_INC, (f), (w))
#endif

typedef struct walk {
    hid_t fa, fb;
    int bad;
    long n_b;
    const char *prefix;
} walk;

static herr_t visit(hid_t g, const char *name, const H5O_info_t *info,
                    void *arg)
{
    walk *w = arg;
    (void)g;
    char path[1024];
    snprintf(path, sizeof(path), "/results/%s", name);
    if (!strcmp(name, "."))
        return 0;
    if (info->type == H5O_TYPE_DATASET)
        w->bad |= cmp_dataset(w->fa, w->fb, path);
    else if (info->type == H5O_TYPE_GROUP) {
        hid_t a = H5Gopen2(w->fa, path, H5P_DEFAULT);
        hid_t b = H5Gopen2(w->fb, path, H5P_DEFAULT);
        if (a < 0 || b < 0)
            w->bad |= fail("group missing", path);
        else
            w->bad |= cmp_attrs(a, b, path);
        if (a >= 0)
            H5Gclose(a);
        if (b >= 0)
            H5Gclose(b);
    }
    return w->bad ? 1 : 0;
}

static herr_t count(hid_t g, const char *name, const H5O_info_t *info,
                    void *arg)
{
    (void)g, (void)name, (void)info;
    ((walk *)arg)->n_b++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: h5-results-cmp A.h5 B.h5\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fa = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fa < 0 || fb < 0) {
        fprintf(stderr, "h5-results-cmp: cannot open '%s'\n",
                fa < 0 ? argv[1] : argv[2]);
        return 2;
    }
    hid_t ga = H5Gopen2(fa, "/results", H5P_DEFAULT);
    hid_t gb = H5Gopen2(fb, "/results", H5P_DEFAULT);
    if (ga < 0 || gb < 0) {
        fprintf(stderr, "h5-results-cmp: no /results in '%s'\n",
                ga < 0 ? argv[1] : argv[2]);
        return 2;
    }
    walk w = {fa, fb, 0, 0, "/results"}, wa = {fa, fb, 0, 0, ""};
    VISIT(ga, count, &wa);
    VISIT(gb, count, &w);
    if (wa.n_b != w.n_b)
        w.bad = fail("different objects under /results", argv[2]);
    if (!w.bad)
        VISIT(ga, visit, &w);
    H5Gclose(ga);
    H5Gclose(gb);
    H5Fclose(fa);
    H5Fclose(fb);
    if (!w.bad)
        printf("same: %ld datasets, %ld raw chunks\n", n_datasets, n_chunks);
    return w.bad ? 1 : 0;
}
