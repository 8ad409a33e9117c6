/*
 * The readers of files a user points detgrid at besides the importers':
 * frame metadata CSV (dg_import_meta_csv) and the frames' pictures (JPEG
 * and PNG through dg_image_thumbnail and dg_image_read). Byte 0 picks:
 * even, the rest is a CSV imported into a small synthetic project (frames
 * frame-000000 ..), whose columns are then saved and read back; odd, the
 * rest is a picture, read in full and as a thumbnail of the size in byte 1,
 * drawn on and encoded again.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"

static void csv(const uint8_t *d, size_t n)
{
    dg_ctx *ctx = fz_ctx();
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.n_frames = 6;
    o.n_classes = 2;
    dg_project *p = NULL;
    if (dg_synth_project(ctx, &o, &p) < 0)
        abort();
    const char *path = fz_write("m.csv", d, n);
    dg_status st = dg_import_meta_csv(ctx, p, path);
    fz_check(ctx, st, "import meta");
    if (st >= 0) {
        st = dg_project_save(ctx, p, fz_path("p.h5"));
        fz_check(ctx, st, "save");
        dg_project *q = NULL;
        if (st >= 0) {
            st = dg_project_open(ctx, fz_path("p.h5"), &q);
            fz_check(ctx, st, "open");
            if (q && dg_project_n_meta(q) != dg_project_n_meta(p))
                abort();
            char buf[512];
            if (q)
                (void)dg_project_frame_image(ctx, q, fz_dir(), 0, buf,
                                             sizeof(buf));
            dg_project_free(q);
        }
    }
    dg_project_free(p);
    dg_ctx_free(ctx);
}

static void picture(const uint8_t *d, size_t n, uint8_t size)
{
    dg_ctx *ctx = fz_ctx();
    const char *path = fz_write("f.img", d, n);
    dg_image im, t;
    double s;
    dg_status st = dg_image_read(ctx, path, &im);
    fz_check(ctx, st, "read");
    if (st >= 0)
        dg_image_release(&im);
    st = dg_image_thumbnail(ctx, path, 1u + size, 1u + size / 2, &t, &s);
    fz_check(ctx, st, "thumbnail");
    if (st >= 0) {
        if (!(s > 0) || t.w > 1u + size || t.h > 1u + size / 2)
            abort();
        dg_image_stroke_rect(&t, -3, 2, 40, 1e9, 2, 0xff0000, 1);
        dg_image_fill_rect(&t, 1, 1, 2, 2, 0x00ff00);
        uint8_t *b;
        size_t len;
        for (int f = DG_IMAGE_JPEG; f <= DG_IMAGE_PNG; f++) {
            st = dg_image_encode(ctx, &t, (dg_image_format)f, 50, &b, &len);
            fz_check(ctx, st, "encode");
            if (st >= 0)
                free(b);
        }
        dg_image_release(&t);
    }
    dg_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fz_clean();
    if (data[0] & 1)
        picture(data + 2, size - 2, data[1]);
    else
        csv(data + 2, size - 2);
    return 0;
}
