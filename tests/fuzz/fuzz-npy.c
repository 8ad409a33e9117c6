/*
 * The .npy reader (dg_npy_read in host/import/npy.c), fed the fuzz bytes as
 * the file. What it accepts must be what it promises: a rows x cols float32
 * matrix (cols > 0) of finite values that the file's data section holds in
 * full; what it refuses must say why (fz_check). An accepted matrix is then
 * handed to dg_project_take_embeddings (as `detgrid embed` does), which
 * must refuse the row count of an empty project unless it is 0, and the
 * project is saved and reopened when it took the matrix.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("a.npy", data, size);
    dg_ctx *ctx = fz_ctx();
    float *m = NULL;
    uint64_t rows = 0, cols = 0;
    dg_status st = dg_npy_read(ctx, path, &m, &rows, &cols);
    fz_check(ctx, st, "dg_npy_read");
    if (st < 0)
        goto out;
    /* The values come from the data section, 4 or 8 bytes each. */
    if (!m || cols == 0 || cols > UINT32_MAX ||
        (rows && cols > size / 4 / rows)) {
        fprintf(stderr, "dg_npy_read: shape (%llu, %llu) from %zu bytes\n",
                (unsigned long long)rows, (unsigned long long)cols, size);
        abort();
    }
    for (uint64_t i = 0; i < rows * cols; i++)
        if (!isfinite(m[i])) {
            fprintf(stderr, "dg_npy_read: value %llu is %g\n",
                    (unsigned long long)i, (double)m[i]);
            abort();
        }
    dg_project *p = NULL;
    if (dg_project_create(ctx, &p) < 0)
        abort();
    /* Takes m in every case. */
    st = dg_project_take_embeddings(ctx, p, "fuzz", DG_EMBED_FRAMES, NULL, m,
                                    rows, (uint32_t)cols);
    fz_check(ctx, st, "dg_project_take_embeddings");
    if ((st >= 0) != (rows == 0)) {
        fprintf(stderr, "dg_project_take_embeddings: %s for %llu rows and "
                "no frames\n", dg_status_name(st), (unsigned long long)rows);
        abort();
    }
    if (st >= 0) {
        const float *d;
        uint64_t r;
        uint32_t dim;
        st = dg_project_get_embeddings(ctx, p, "fuzz", DG_EMBED_FRAMES, NULL,
                                       &d, &r, &dim);
        fz_check(ctx, st, "dg_project_get_embeddings");
        if (st < 0 || r != rows || dim != cols)
            abort();
        const char *out = fz_path("out.h5");
        st = dg_project_save(ctx, p, out);
        fz_check(ctx, st, "dg_project_save");
        if (st >= 0) {
            dg_project *q = NULL;
            st = dg_project_open(ctx, out, &q);
            fz_check(ctx, st, "dg_project_open (saved)");
            if (st >= 0) {
                st = dg_project_get_embeddings(ctx, q, "fuzz",
                                               DG_EMBED_FRAMES, NULL, &d, &r,
                                               &dim);
                fz_check(ctx, st, "dg_project_get_embeddings (saved)");
                if (st < 0 || r != rows || dim != cols)
                    abort();
            }
            dg_project_free(q);
        }
    }
    dg_project_free(p);
out:
    dg_ctx_free(ctx);
    return 0;
}
