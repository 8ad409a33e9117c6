/*
 * Frames and their pictures (include/detgrid/image.h): where a frame's
 * image file is, and synthetic pictures of a project's ground truth for
 * tests and demos.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detgrid/image.h"
#include "store.h"

static const dg_meta_col *file_name_col(const dg_project *p)
{
    for (uint32_t i = 0; i < dg__project_n_meta(p); i++) {
        const dg_meta_col *m = dg__project_meta(p, i);
        if (!strcmp(m->name, "file_name") && !m->is_num)
            return m;
    }
    return NULL;
}

dg_status dg_project_frame_image(dg_ctx *ctx, const dg_project *p,
                                 const char *dir, uint32_t f, char *buf,
                                 size_t cap)
{
    if (!dir || f >= dg__project_n_frames(p))
        return dg__fail(ctx, DG_EINVAL, "frame image: no folder or frame %u",
                        f);
    const dg_meta_col *fn = file_name_col(p);
    if (fn && fn->str[f][0]) {
        if ((size_t)snprintf(buf, cap, "%s/%s", dir, fn->str[f]) >= cap)
            return dg__fail(ctx, DG_ERANGE, "frame image path too long");
        if (access(buf, R_OK) == 0)
            return DG_OK;
        return dg__fail(ctx, DG_ENOTFOUND, "'%s': %s", buf, strerror(errno));
    }
    static const char *const ext[] = {".jpg", ".jpeg", ".png"};
    const char *id = dg_project_frame_id(p, f);
    for (int k = 0; k < 3; k++) {
        if ((size_t)snprintf(buf, cap, "%s/%s%s", dir, id, ext[k]) >= cap)
            return dg__fail(ctx, DG_ERANGE, "frame image path too long");
        if (access(buf, R_OK) == 0)
            return DG_OK;
    }
    return dg__fail(ctx, DG_ENOTFOUND,
                    "'%s/%s.jpg' (or .jpeg, .png): no such file", dir, id);
}

/* A class's colour: hues spread by the golden angle, pale, so that the
 * boxes drawn over the picture stand out. */
static uint32_t class_rgb(uint32_t c)
{
    double h = fmod(c * 137.508, 360.0) / 60.0, s = 0.32, v = 0.93;
    double x = v * s * (1 - fabs(fmod(h, 2.0) - 1)), cc = v * s, m = v - cc;
    double r = 0, g = 0, b = 0;
    int i = (int)h;
    switch (i) {
    case 0: r = cc; g = x; break;
    case 1: r = x; g = cc; break;
    case 2: g = cc; b = x; break;
    case 3: g = x; b = cc; break;
    case 4: r = x; b = cc; break;
    default: r = cc; b = x; break;
    }
    return (uint32_t)((r + m) * 255) << 16 | (uint32_t)((g + m) * 255) << 8 |
           (uint32_t)((b + m) * 255);
}

dg_status dg_project_paint_frames(dg_ctx *ctx, dg_project *p, const char *dir)
{
    if (!dg_image_supported(DG_IMAGE_JPEG))
        return dg__fail(ctx, DG_EINVAL,
                        "this detgrid was built without libjpeg (Debian: "
                        "libjpeg62-turbo-dev): cannot write frame images");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return dg__fail(ctx, DG_EIO, "'%s': cannot create: %s", dir,
                        strerror(errno));
    const dg_boxset *g;
    dg_status st = dg__project_labels(ctx, p, &g);
    if (st < 0)
        return st;
    uint32_t nf = dg__project_n_frames(p);
    size_t cap = strlen(dir) + 64;
    char *path = malloc(cap);
    if (!path)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    for (uint32_t f = 0; f < nf && st >= 0; f++) {
        double fw, fh;
        dg__project_frame_size(p, f, &fw, &fh);
        uint32_t w = fw >= 1 && fw <= 8192 ? (uint32_t)fw : 640;
        uint32_t h = fh >= 1 && fh <= 8192 ? (uint32_t)fh : 480;
        dg_image im;
        if ((st = dg_image_init(ctx, &im, w, h, 0xd8dde4)) < 0)
            break;
        /* A soft texture, so that the pictures are not flat. */
        for (uint32_t y = 0; y < h; y += 16)
            dg_image_fill_rect(&im, 0, y, w, 1, 0xc9d0d9);
        for (uint32_t x = (f * 7) % 24; x < w; x += 24)
            dg_image_fill_rect(&im, x, 0, 1, h, 0xc9d0d9);
        for (uint64_t j = g->frame_off[f]; j < g->frame_off[f + 1]; j++) {
            uint32_t c = class_rgb(g->cls[j]);
            dg_image_fill_rect(&im, g->x[j], g->y[j], g->w[j], g->h[j], c);
            dg_image_stroke_rect(&im, g->x[j], g->y[j], g->w[j], g->h[j], 1,
                                 (c >> 1) & 0x7f7f7f, 0);
        }
        const char *id = dg_project_frame_id(p, f);
        if (strlen(id) + strlen(dir) + 8 > cap || strchr(id, '/')) {
            st = dg__fail(ctx, DG_EINVAL,
                          "frame id '%s' cannot name a file", id);
        } else {
            snprintf(path, cap, "%s/%s.jpg", dir, id);
            st = dg_image_write(ctx, &im, path, 85);
        }
        dg_image_release(&im);
        dg__progress(ctx, "images", f + 1, nf);
    }
    free(path);
    return st < 0 ? st : DG_OK;
}

/* Draws b scaled by s, offset by (ox, oy). */
static void draw_box(dg_image *im, const dg_drawn_box *b, double s, double ox,
                     double oy)
{
    dg_image_stroke_rect(im, ox + b->box[0] * s, oy + b->box[1] * s,
                         b->box[2] * s, b->box[3] * s, b->thick ? 3 : 1,
                         dg_draw_color(b->kind), b->kind == DG_DRAW_FN);
}

dg_status dg_project_montage(dg_ctx *ctx, const dg_project *p,
                             const char *dir, const dg_montage_tile *tiles,
                             uint32_t n, uint32_t tile_w, const char *path,
                             uint32_t *n_missing)
{
    if (!n || tile_w < 16 || tile_w > 4096)
        return dg__fail(ctx, DG_EINVAL, "montage: %u tiles of width %u", n,
                        tile_w);
    uint32_t tile_h = tile_w * 3 / 4, pad = 6, cols = n < 6 ? n : 6;
    uint32_t rows = (n + cols - 1) / cols, missing = 0;
    dg_image sheet;
    dg_status st = dg_image_init(ctx, &sheet, pad + cols * (tile_w + pad),
                                 pad + rows * (tile_h + pad), 0xffffff);
    if (st < 0)
        return st;
    char file[8192];
    for (uint32_t i = 0; i < n; i++) {
        int64_t x0 = pad + (i % cols) * (tile_w + pad);
        int64_t y0 = pad + (i / cols) * (tile_h + pad);
        dg_image t;
        double s = 1;
        dg_status fs = dir ? dg_project_frame_image(ctx, p, dir,
                                                    tiles[i].frame, file,
                                                    sizeof(file))
                           : dg__fail(ctx, DG_ENOTFOUND, "no image folder");
        if (fs >= 0)
            fs = dg_image_thumbnail(ctx, file, tile_w, tile_h, &t, &s);
        if (fs < 0) {
            if (!missing++)
                dg__warn(ctx, "montage: %s", dg_ctx_last_error(ctx));
            dg_image_fill_rect(&sheet, (double)x0, (double)y0, tile_w,
                               tile_h, 0xe6e8ec);
            for (uint32_t k = 0; k < tile_w; k++) {
                double y = (double)k * tile_h / tile_w;
                dg_image_fill_rect(&sheet, (double)(x0 + k), (double)y0 + y,
                                   1, 1, 0xb0b6c2);
                dg_image_fill_rect(&sheet, (double)(x0 + k),
                                   (double)y0 + tile_h - 1 - y, 1, 1,
                                   0xb0b6c2);
            }
            continue;
        }
        dg_image_blit(&sheet, &t, x0, y0);
        for (uint32_t b = 0; b < tiles[i].n_boxes; b++)
            if (!tiles[i].boxes[b].thick)
                draw_box(&sheet, &tiles[i].boxes[b], s, (double)x0,
                         (double)y0);
        for (uint32_t b = 0; b < tiles[i].n_boxes; b++)
            if (tiles[i].boxes[b].thick)
                draw_box(&sheet, &tiles[i].boxes[b], s, (double)x0,
                         (double)y0);
        dg_image_release(&t);
    }
    st = dg_image_write(ctx, &sheet, path, 90);
    dg_image_release(&sheet);
    if (n_missing)
        *n_missing = missing;
    return st;
}
