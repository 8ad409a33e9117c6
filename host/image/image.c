/*
 * Pictures in memory: JPEG through libjpeg(-turbo), PNG through libpng's
 * simplified API, area-average scaling, rectangles, blits. Either codec
 * may be compiled out (DG_HAVE_JPEG, DG_HAVE_PNG); the rest stays.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "detgrid/files.h"
#include "detgrid/image.h"
#include "image_impl.h"

#ifdef DG_HAVE_JPEG
#include <setjmp.h>
#include <jpeglib.h>
#endif
#ifdef DG_HAVE_PNG
#include <png.h>
#endif

#define MAX_PIXELS (1u << 28)

int dg_image_supported(dg_image_format fmt)
{
#ifdef DG_HAVE_JPEG
    if (fmt == DG_IMAGE_JPEG)
        return 1;
#endif
#ifdef DG_HAVE_PNG
    if (fmt == DG_IMAGE_PNG)
        return 1;
#endif
    (void)fmt;
    return 0;
}

static dg_status unsupported(dg_ctx *ctx, dg_image_format fmt)
{
    return dg__fail(ctx, DG_EINVAL,
                    fmt == DG_IMAGE_JPEG
                        ? "this detgrid was built without libjpeg (Debian: "
                          "libjpeg62-turbo-dev): JPEG images are not available"
                        : "this detgrid was built without libpng (Debian: "
                          "libpng-dev): PNG images are not available");
}

dg_status dg_image_init(dg_ctx *ctx, dg_image *im, uint32_t w, uint32_t h,
                        uint32_t rgb)
{
    memset(im, 0, sizeof(*im));
    if (!w || !h || (uint64_t)w * h > MAX_PIXELS)
        return dg__fail(ctx, DG_EINVAL, "image size %ux%u out of range", w,
                        h);
    im->px = dg__alloc(ctx, (size_t)w * h, 3);
    if (!im->px)
        return DG_ENOMEM;
    im->w = w;
    im->h = h;
    uint8_t c[3] = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb};
    for (size_t i = 0; i < (size_t)w * h; i++)
        memcpy(im->px + 3 * i, c, 3);
    return DG_OK;
}

void dg_image_release(dg_image *im)
{
    if (!im)
        return;
    free(im->px);
    memset(im, 0, sizeof(*im));
}

/* ---- JPEG --------------------------------------------------------------- */

#ifdef DG_HAVE_JPEG
/* libjpeg reports errors through error_exit, which must not return. */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_silent(j_common_ptr c, int level)
{
    (void)c;
    (void)level;
}

/*
 * Decodes f into *out at 1/denom scale (denom 1, 2, 4 or 8; 0 picks the
 * smallest that keeps at least min_w x min_h). *ow, *oh get the full size.
 */
static dg_status jpeg_read(dg_ctx *ctx, const char *path, FILE *f,
                           uint32_t min_w, uint32_t min_h, dg_image *out,
                           uint32_t *ow, uint32_t *oh)
{
    struct jpeg_decompress_struct d;
    jerr e;
    /* volatile: changed between setjmp and a longjmp back to it */
    uint8_t *volatile px = NULL;
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_silent;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&d);
        free(px);
        return dg__fail(ctx, DG_EFORMAT, "'%s': not a readable JPEG: %s",
                        path, e.msg);
    }
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    *ow = d.image_width;
    *oh = d.image_height;
    if ((uint64_t)d.image_width * d.image_height > MAX_PIXELS ||
        !d.image_width || !d.image_height) {
        jpeg_destroy_decompress(&d);
        return dg__fail(ctx, DG_EFORMAT, "'%s': JPEG size %ux%u out of range",
                        path, (unsigned)d.image_width,
                        (unsigned)d.image_height);
    }
    unsigned denom = 1;
    while (denom < 8 && d.image_width / (denom * 2) >= min_w &&
           d.image_height / (denom * 2) >= min_h && min_w && min_h)
        denom *= 2;
    d.scale_num = 1;
    d.scale_denom = denom;
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    uint32_t w = d.output_width, h = d.output_height;
    px = malloc((size_t)w * h * 3);
    if (!px) {
        jpeg_destroy_decompress(&d);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    while (d.output_scanline < h) {
        JSAMPROW row = px + (size_t)d.output_scanline * w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    out->w = w;
    out->h = h;
    out->px = px;
    return DG_OK;
}

static dg_status jpeg_encode(dg_ctx *ctx, const dg_image *im, int quality,
                             uint8_t **out, size_t *len)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *volatile buf = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_silent;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&c);
        free(buf);
        return dg__fail(ctx, DG_EIO, "cannot encode JPEG: %s", e.msg);
    }
    jpeg_create_compress(&c);
    unsigned char *b = NULL;
    jpeg_mem_dest(&c, &b, &n);
    c.image_width = im->w;
    c.image_height = im->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < im->h) {
        JSAMPROW row = im->px + (size_t)c.next_scanline * im->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    buf = b;
    jpeg_destroy_compress(&c);
    *out = b;
    *len = n;
    return DG_OK;
}
#endif

/* ---- PNG ---------------------------------------------------------------- */

#ifdef DG_HAVE_PNG
static dg_status png_read(dg_ctx *ctx, const char *path, FILE *f,
                          dg_image *out)
{
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&pi, f))
        return dg__fail(ctx, DG_EFORMAT, "'%s': not a readable PNG: %s",
                        path, pi.message);
    if ((uint64_t)pi.width * pi.height > MAX_PIXELS || !pi.width ||
        !pi.height) {
        png_image_free(&pi);
        return dg__fail(ctx, DG_EFORMAT, "'%s': PNG size %ux%u out of range",
                        path, (unsigned)pi.width, (unsigned)pi.height);
    }
    pi.format = PNG_FORMAT_RGB;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(pi));
    if (!px) {
        png_image_free(&pi);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    /* Transparent parts over white. */
    png_color bg = {255, 255, 255};
    if (!png_image_finish_read(&pi, &bg, px, 0, NULL)) {
        free(px);
        dg_status st = dg__fail(ctx, DG_EFORMAT,
                                "'%s': not a readable PNG: %s", path,
                                pi.message);
        png_image_free(&pi);
        return st;
    }
    out->w = pi.width;
    out->h = pi.height;
    out->px = px;
    return DG_OK;
}

static dg_status png_encode(dg_ctx *ctx, const dg_image *im, uint8_t **out,
                            size_t *len)
{
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    pi.width = im->w;
    pi.height = im->h;
    pi.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&pi, NULL, &n, 0, im->px, 0, NULL))
        return dg__fail(ctx, DG_EIO, "cannot encode PNG: %s", pi.message);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    if (!png_image_write_to_memory(&pi, b, &n, 0, im->px, 0, NULL)) {
        free(b);
        return dg__fail(ctx, DG_EIO, "cannot encode PNG: %s", pi.message);
    }
    *out = b;
    *len = n;
    return DG_OK;
}
#endif

/* ---- reading ------------------------------------------------------------ */

static dg_status read_any(dg_ctx *ctx, const char *path, uint32_t min_w,
                          uint32_t min_h, dg_image *out, uint32_t *ow,
                          uint32_t *oh)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f)
        return dg__fail(ctx, DG_EIO, "'%s': cannot open: %s", path,
                        strerror(errno));
    uint8_t magic[8] = {0};
    size_t got = fread(magic, 1, sizeof(magic), f);
    rewind(f);
    dg_status st;
    if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) {
#ifdef DG_HAVE_JPEG
        st = jpeg_read(ctx, path, f, min_w, min_h, out, ow, oh);
#else
        st = unsupported(ctx, DG_IMAGE_JPEG);
#endif
    } else if (got == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8)) {
#ifdef DG_HAVE_PNG
        st = png_read(ctx, path, f, out);
        if (st >= 0) {
            *ow = out->w;
            *oh = out->h;
        }
#else
        st = unsupported(ctx, DG_IMAGE_PNG);
#endif
    } else {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': neither JPEG nor PNG", path);
    }
    fclose(f);
    return st;
}

dg_status dg_image_read(dg_ctx *ctx, const char *path, dg_image *out)
{
    uint32_t w, h;
    return read_any(ctx, path, 0, 0, out, &w, &h);
}

dg_status dg_image_resize(dg_ctx *ctx, const dg_image *src, uint32_t w,
                          uint32_t h, dg_image *out)
{
    dg_status st = dg_image_init(ctx, out, w, h, 0);
    if (st < 0)
        return st;
    /* Each target pixel averages the source rectangle it covers, with
     * fractional weights at its edges. */
    double sx = (double)src->w / w, sy = (double)src->h / h;
    for (uint32_t y = 0; y < h; y++) {
        double y0 = y * sy, y1 = y0 + sy;
        for (uint32_t x = 0; x < w; x++) {
            double x0 = x * sx, x1 = x0 + sx, acc[3] = {0, 0, 0}, wt = 0;
            for (uint32_t v = (uint32_t)y0; v < src->h && v < y1; v++) {
                double wy = fmin(v + 1.0, y1) - fmax((double)v, y0);
                for (uint32_t u = (uint32_t)x0; u < src->w && u < x1; u++) {
                    double ww = wy * (fmin(u + 1.0, x1) - fmax((double)u, x0));
                    const uint8_t *p = src->px + ((size_t)v * src->w + u) * 3;
                    acc[0] += ww * p[0];
                    acc[1] += ww * p[1];
                    acc[2] += ww * p[2];
                    wt += ww;
                }
            }
            uint8_t *q = out->px + ((size_t)y * w + x) * 3;
            for (int k = 0; k < 3; k++)
                q[k] = (uint8_t)(wt > 0 ? fmin(255, acc[k] / wt + 0.5) : 0);
        }
    }
    return DG_OK;
}

dg_status dg_image_thumbnail(dg_ctx *ctx, const char *path, uint32_t max_w,
                             uint32_t max_h, dg_image *out, double *scale)
{
    if (!max_w || !max_h)
        return dg__fail(ctx, DG_EINVAL, "thumbnail size %ux%u", max_w, max_h);
    dg_image full;
    uint32_t ow, oh;
    /* The target size is only known after the header; decode at a scale
     * keeping at least max_w x max_h of either side's fit. */
    dg_status st = read_any(ctx, path, max_w, max_h, &full, &ow, &oh);
    if (st < 0)
        return st;
    double s = fmin(1.0, fmin((double)max_w / ow, (double)max_h / oh));
    uint32_t tw = (uint32_t)fmax(1, floor(ow * s + 0.5));
    uint32_t th = (uint32_t)fmax(1, floor(oh * s + 0.5));
    if (full.w == tw && full.h == th) {
        *out = full;
    } else {
        st = dg_image_resize(ctx, &full, tw, th, out);
        dg_image_release(&full);
        if (st < 0)
            return st;
    }
    if (scale)
        *scale = (double)tw / ow;
    return DG_OK;
}

/* ---- drawing ------------------------------------------------------------ */

static void span(const dg_image *im, double a, double b, int horiz,
                 int64_t *lo, int64_t *hi)
{
    int64_t lim = horiz ? im->w : im->h;
    double l = floor(a), h = ceil(b);
    *lo = l < 0 ? 0 : l > (double)lim ? lim : (int64_t)l;
    *hi = h < 0 ? 0 : h > (double)lim ? lim : (int64_t)h;
}

void dg_image_fill_rect(dg_image *im, double x, double y, double w, double h,
                        uint32_t rgb)
{
    if (!im->px || !(w > 0) || !(h > 0) || isnan(x) || isnan(y))
        return;
    int64_t x0, x1, y0, y1;
    span(im, x, x + w, 1, &x0, &x1);
    span(im, y, y + h, 0, &y0, &y1);
    uint8_t c[3] = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb};
    for (int64_t v = y0; v < y1; v++)
        for (int64_t u = x0; u < x1; u++)
            memcpy(im->px + ((size_t)v * im->w + (size_t)u) * 3, c, 3);
}

/*
 * The dashes (one every 10 pixels from o, over len) that fall inside
 * [0, lim): dash indices a .. a + n - 1. However long the side, at most
 * lim / 10 + 2 of them, so a box of 1e9 pixels is drawn as fast as one
 * of the picture's size.
 */
static void dashes(double o, double len, uint32_t lim, double *a, double *n)
{
    *a = o < 0 ? floor(-o / 10) : 0;
    double b = fmin(ceil(len / 10), ceil(((double)lim - o) / 10));
    *n = b > *a ? fmin(b - *a, lim / 10 + 2) : 0;
}

void dg_image_stroke_rect(dg_image *im, double x, double y, double w,
                          double h, int width, uint32_t rgb, int dashed)
{
    if (!im->px || !(w >= 0) || !(h >= 0) || width < 1 || isnan(x) ||
        isnan(y))
        return;
    double t = width;
    if (t > w / 2 + 0.5)
        t = fmax(1, w / 2 + 0.5);
    if (!dashed) {
        dg_image_fill_rect(im, x, y, w, t, rgb);
        dg_image_fill_rect(im, x, y + h - t, w, t, rgb);
        dg_image_fill_rect(im, x, y, t, h, rgb);
        dg_image_fill_rect(im, x + w - t, y, t, h, rgb);
        return;
    }
    double a, n;
    dashes(x, w, im->w, &a, &n);
    for (double i = 0; i < n; i++) {
        double d = (a + i) * 10, l = fmin(6, w - d);
        dg_image_fill_rect(im, x + d, y, l, t, rgb);
        dg_image_fill_rect(im, x + d, y + h - t, l, t, rgb);
    }
    dashes(y, h, im->h, &a, &n);
    for (double i = 0; i < n; i++) {
        double d = (a + i) * 10, l = fmin(6, h - d);
        dg_image_fill_rect(im, x, y + d, t, l, rgb);
        dg_image_fill_rect(im, x + w - t, y + d, t, l, rgb);
    }
}

void dg_image_blit(dg_image *dst, const dg_image *src, int64_t x, int64_t y)
{
    if (!dst->px || !src->px)
        return;
    for (uint32_t v = 0; v < src->h; v++) {
        int64_t dy = y + v;
        if (dy < 0 || dy >= dst->h)
            continue;
        int64_t u0 = x < 0 ? -x : 0;
        int64_t u1 = src->w;
        if (x + u1 > dst->w)
            u1 = dst->w - x;
        if (u1 <= u0)
            continue;
        memcpy(dst->px + ((size_t)dy * dst->w + (size_t)(x + u0)) * 3,
               src->px + ((size_t)v * src->w + (size_t)u0) * 3,
               (size_t)(u1 - u0) * 3);
    }
}

uint32_t dg_draw_color(dg_draw_kind k)
{
    /* Okabe and Ito's palette, told apart with any colour vision. */
    switch (k) {
    case DG_DRAW_GT:
        return 0x0072b2; /* blue */
    case DG_DRAW_TP:
        return 0x009e73; /* bluish green */
    case DG_DRAW_FP:
        return 0xd55e00; /* vermilion */
    case DG_DRAW_FN:
        return 0xcc79a7; /* reddish purple */
    default:
        return 0x999999;
    }
}

/* ---- encoding and writing ----------------------------------------------- */

dg_status dg_image_encode(dg_ctx *ctx, const dg_image *im,
                          dg_image_format fmt, int quality, uint8_t **out,
                          size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!im->px)
        return dg__fail(ctx, DG_EINVAL, "encode: empty image");
    if (quality <= 0)
        quality = 80;
    if (quality > 100)
        quality = 100;
#ifdef DG_HAVE_JPEG
    if (fmt == DG_IMAGE_JPEG)
        return jpeg_encode(ctx, im, quality, out, len);
#endif
#ifdef DG_HAVE_PNG
    if (fmt == DG_IMAGE_PNG)
        return png_encode(ctx, im, out, len);
#endif
    if (fmt == DG_IMAGE_JPEG || fmt == DG_IMAGE_PNG)
        return unsupported(ctx, fmt);
    return dg__fail(ctx, DG_EINVAL, "encode: unknown image format %d",
                    (int)fmt);
}

int dg__has_ending(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    if (n < m)
        return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suf[i])
            return 0;
    }
    return 1;
}

dg_status dg_image_write(dg_ctx *ctx, const dg_image *im, const char *path,
                         int quality)
{
    dg_image_format fmt;
    if (dg__has_ending(path, ".png"))
        fmt = DG_IMAGE_PNG;
    else if (dg__has_ending(path, ".jpg") || dg__has_ending(path, ".jpeg"))
        fmt = DG_IMAGE_JPEG;
    else
        return dg__fail(ctx, DG_EINVAL,
                        "'%s': image names end in .png, .jpg or .jpeg", path);
    uint8_t *b;
    size_t n;
    dg_status st = dg_image_encode(ctx, im, fmt, quality, &b, &n);
    if (st < 0)
        return st;
    /* As every output of detgrid: under the file's lock, an exclusive
     * temporary file, every write checked, renamed over the target. */
    st = dg_write_file(ctx, path, b, n);
    free(b);
    return st;
}
