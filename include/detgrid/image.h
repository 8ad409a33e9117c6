/*
 * Images: reading the pictures behind frames (JPEG through libjpeg-turbo,
 * PNG through libpng), thumbnails, boxes drawn on them, contact sheets and
 * encoding, for `detgrid report --images`, `examples --montage` and
 * `synth --images`. Pixels are 8-bit RGB, rows top to bottom.
 *
 *     dg_image t;
 *     double s;
 *     if (dg_image_thumbnail(ctx, "000123.jpg", 240, 180, &t, &s) == DG_OK) {
 *         dg_image_stroke_rect(&t, 10 * s, 20 * s, 50 * s, 40 * s, 2,
 *                              0x1a7f37, 0);
 *         dg_image_write(ctx, &t, "thumb.png", 0);
 *         dg_image_release(&t);
 *     }
 *
 * A build without libjpeg (or libpng) has the rest: reading or writing that
 * format fails with DG_EINVAL and a message naming the Debian package, and
 * dg_image_supported() says so beforehand.
 *
 * The project side (where a frame's picture is, the project's default
 * image folder) is at the end of this header.
 */
#ifndef DETGRID_IMAGE_H
#define DETGRID_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DG_IMAGE_JPEG = 1,
    DG_IMAGE_PNG = 2
} dg_image_format;

/* A caller-owned picture: w * h * 3 bytes of RGB in px (malloc'd). */
typedef struct dg_image {
    uint32_t w, h;
    uint8_t *px;
} dg_image;

/* 1 when this build reads and writes fmt. */
int dg_image_supported(dg_image_format fmt);

/* A w x h picture filled with rgb (0xRRGGBB). DG_EINVAL for an empty or
 * too large size (more than 2^28 pixels), DG_ENOMEM. */
dg_status dg_image_init(dg_ctx *ctx, dg_image *im, uint32_t w, uint32_t h,
                        uint32_t rgb);
/* Frees the pixels and zeroes *im; accepts a zeroed struct. */
void dg_image_release(dg_image *im);

/*
 * Reads a JPEG or PNG file (told apart by its first bytes, whatever the
 * name) into *out. DG_EIO when it cannot be opened, DG_EFORMAT when it is
 * neither or is corrupt (the message names the file and the decoder's
 * reason), DG_EINVAL when this build lacks the decoder.
 */
dg_status dg_image_read(dg_ctx *ctx, const char *path, dg_image *out);

/*
 * Reads path and scales it to fit max_w x max_h (keeping the aspect ratio;
 * never enlarged), averaging the source pixels each target pixel covers.
 * JPEGs are decoded at a reduced DCT scale where that still leaves at least
 * the target size, which makes this several times faster than reading in
 * full. *scale (or NULL) gets thumbnail pixels per source pixel, so a box
 * (x, y, w, h) of the source lands at (x, y, w, h) * scale. Errors as
 * dg_image_read.
 */
dg_status dg_image_thumbnail(dg_ctx *ctx, const char *path, uint32_t max_w,
                             uint32_t max_h, dg_image *out, double *scale);

/* src scaled to w x h (area average). */
dg_status dg_image_resize(dg_ctx *ctx, const dg_image *src, uint32_t w,
                          uint32_t h, dg_image *out);

/* Fills the rectangle (x, y, w, h) in pixels, clipped to the picture. */
void dg_image_fill_rect(dg_image *im, double x, double y, double w, double h,
                        uint32_t rgb);
/*
 * Draws the outline of (x, y, w, h), width pixels thick, inside the
 * rectangle's edge, clipped; dashed draws 6 on, 4 off.
 */
void dg_image_stroke_rect(dg_image *im, double x, double y, double w,
                          double h, int width, uint32_t rgb, int dashed);
/* Copies src onto dst with its top left corner at (x, y), clipped. */
void dg_image_blit(dg_image *dst, const dg_image *src, int64_t x, int64_t y);

/*
 * Encodes im as fmt into a malloc'd buffer (*out, *len). quality is the
 * JPEG quality 1..100 (0: 80); PNGs are deflated at zlib's default level.
 */
dg_status dg_image_encode(dg_ctx *ctx, const dg_image *im,
                          dg_image_format fmt, int quality, uint8_t **out,
                          size_t *len);
/*
 * Writes im to path as PNG (name ending in .png) or JPEG (.jpg, .jpeg),
 * atomically (temporary file, rename). DG_EINVAL for another ending.
 */
dg_status dg_image_write(dg_ctx *ctx, const dg_image *im, const char *path,
                         int quality);

/* ---- frames and their pictures (host/query/images.c) -------------------- */

/*
 * The project's default image folder (set once with
 * dg_project_set_images_dir, kept in the project file), or NULL.
 */
const char *dg_project_images_dir(const dg_project *p);
/* Sets (dir non-NULL) or clears (NULL) the default image folder. */
dg_status dg_project_set_images_dir(dg_ctx *ctx, dg_project *p,
                                    const char *dir);

/*
 * The file of frame f under dir: dir/<file_name> when the project has a
 * file_name metadata column with a value for f (COCO imports keep it),
 * else the first of dir/<frame id>.jpg, .jpeg, .png that exists. Writes
 * the path into buf (cap bytes). DG_ENOTFOUND when no such file exists
 * (the message names the paths tried), DG_ERANGE when the path does not
 * fit buf.
 */
dg_status dg_project_frame_image(dg_ctx *ctx, const dg_project *p,
                                 const char *dir, uint32_t f, char *buf,
                                 size_t cap);

/*
 * Paints a picture of every frame's ground truth into dir (created if
 * missing) as <frame id>.jpg, at the frame's size (640 x 480 where
 * unknown): a textured background and each label a filled box of its
 * class's colour, so that detections drawn over it can be checked by eye.
 * For tests and demos (`detgrid synth --images`). Reports progress.
 */
dg_status dg_project_paint_frames(dg_ctx *ctx, dg_project *p,
                                  const char *dir);

/*
 * What a box drawn on a frame is: the colours of `detgrid report` and
 * `examples --montage` (docs/REPORT.md).
 */
typedef enum {
    DG_DRAW_GT = 0,       /* a ground truth, matched */
    DG_DRAW_TP,           /* a true positive detection */
    DG_DRAW_FP,           /* a false positive detection */
    DG_DRAW_FN,           /* a missed ground truth */
    DG_DRAW_OTHER         /* context: other labels of the frame */
} dg_draw_kind;

/* 0xRRGGBB of kind k (colour-blind safe: blue, green, vermilion, ...). */
uint32_t dg_draw_color(dg_draw_kind k);

/* A box to draw on a frame's picture, in the frame's pixels. */
typedef struct dg_drawn_box {
    double box[4];      /* x, y, w, h */
    dg_draw_kind kind;  /* colour; DG_DRAW_FN is dashed */
    int thick;          /* 1: the subject (3 px), 0: context (1 px) */
} dg_drawn_box;

/* One tile of a contact sheet: a frame and the boxes drawn on it. */
typedef struct dg_montage_tile {
    uint32_t frame;
    const dg_drawn_box *boxes;
    uint32_t n_boxes;
} dg_montage_tile;

/*
 * A contact sheet of n tiles, written to path (PNG or JPEG by its name):
 * each frame's picture under dir (dg_project_frame_image) scaled to fit
 * tile_w x 3/4 tile_w with its boxes drawn, up to 6 a row, in order. A
 * frame whose picture is missing or unreadable gets a crossed-out grey
 * tile and counts in *n_missing (or NULL); the first such failure is
 * added to the context's warnings. Fails only when the sheet cannot be
 * written (or n is 0: DG_EINVAL).
 */
dg_status dg_project_montage(dg_ctx *ctx, const dg_project *p,
                             const char *dir, const dg_montage_tile *tiles,
                             uint32_t n, uint32_t tile_w, const char *path,
                             uint32_t *n_missing);

/* ---- charts (cairo): PNG, SVG or PDF by the file's name ------------------ */

/* 1 when this build draws charts (cairo). */
int dg_chart_supported(void);

/* One curve: n points (x[i], y[i]) joined in order, and a dot at
 * (dot_x, dot_y) unless NaN. */
typedef struct dg_chart_series {
    const char *name;
    uint64_t n;
    const double *x, *y;
    double dot_x, dot_y;
} dg_chart_series;

/* Curves over fixed axes, each in a colour-blind-safe colour, with a
 * legend (the first 24) beside them. */
typedef struct dg_chart_lines {
    const char *title, *x_label, *y_label;
    const dg_chart_series *s;
    uint32_t n;
    double x_min, x_max, y_min, y_max;
    uint32_t width, height;   /* 0: 900 x 620 */
    const char *note;         /* a line under the legend, or NULL */
} dg_chart_lines;

/*
 * Writes the curves to path (.png, .svg or .pdf), atomically. DG_EINVAL
 * for another ending or a build without cairo; DG_EIO when it cannot be
 * written.
 */
dg_status dg_chart_lines_write(dg_ctx *ctx, const dg_chart_lines *c,
                               const char *path);

/*
 * A square matrix v[n][n] (row-major; rows and columns named by names[])
 * as a heatmap: viridis, light for few and dark for many, on a log scale
 * when log_scale (1 .. the largest value); with diag_apart the diagonal
 * gets its own grey scale so that the off-diagonal cells keep the colours.
 * Names go on both axes while cells are at least 9 px, values in the
 * cells from 22 px (printed with value_format, default "%.0f"). The
 * largest off-diagonal cell is ringed (leaving out the last row and column
 * when last_is_background), and a colour bar with its ticks goes beside.
 */
typedef struct dg_chart_heatmap {
    const char *title;
    uint32_t n;
    const double *v;
    const char *const *names;
    const char *row_label;    /* a line under the matrix, or NULL */
    const char *scale_name;   /* the colour bar's caption */
    const char *value_format;
    int log_scale, diag_apart, last_is_background;
} dg_chart_heatmap;

/* Writes the heatmap to path; errors as dg_chart_lines_write. */
dg_status dg_chart_heatmap_write(dg_ctx *ctx, const dg_chart_heatmap *h,
                                 const char *path);

#ifdef __cplusplus
}
#endif
#endif
