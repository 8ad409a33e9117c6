/*
 * Charts through cairo: the embeddings scatter (dg_plot), precision-recall
 * curves and the confusion heatmap, as PNG (deflated by libpng), SVG or
 * PDF, with anti-aliased text in DejaVu Sans (any sans-serif fontconfig
 * finds). Without cairo (DG_HAVE_CAIRO unset) every writer says how to get
 * it; `detgrid embeddings` then falls back to host/core/plot.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "detgrid/embeddings.h"
#include "detgrid/files.h"
#include "detgrid/image.h"
#include "image_impl.h"

#define DG_PI 3.14159265358979323846

#ifdef DG_HAVE_CAIRO
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#endif

int dg_chart_supported(void)
{
#ifdef DG_HAVE_CAIRO
    return 1;
#else
    return 0;
#endif
}

#ifndef DG_HAVE_CAIRO
static dg_status no_cairo(dg_ctx *ctx)
{
    return dg__fail(ctx, DG_EINVAL, "this detgrid was built without cairo "
                    "(Debian: libcairo2-dev): plots are not available");
}

dg_status dg_plot_write(dg_ctx *ctx, const dg_plot *pl, const char *path)
{
    (void)pl;
    (void)path;
    return no_cairo(ctx);
}

dg_status dg_chart_lines_write(dg_ctx *ctx, const dg_chart_lines *c,
                               const char *path)
{
    (void)c;
    (void)path;
    return no_cairo(ctx);
}

dg_status dg_chart_heatmap_write(dg_ctx *ctx, const dg_chart_heatmap *h,
                                 const char *path)
{
    (void)h;
    (void)path;
    return no_cairo(ctx);
}
#else

/* ---- surfaces ----------------------------------------------------------- */

typedef enum { OUT_PNG, OUT_SVG, OUT_PDF } out_kind;

/* A drawing in progress: the surface, its context, where it goes and the
 * bytes of the file so far (cairo writes them through stream_write). */
typedef struct chart {
    cairo_surface_t *s;
    cairo_t *cr;
    out_kind kind;
    const char *path;
    double w, h;
    unsigned char *buf;
    size_t len, cap;
} chart;

static cairo_status_t stream_write(void *arg, const unsigned char *data,
                                   unsigned int n)
{
    chart *c = arg;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 65536;
        while (cap < c->len + n)
            cap *= 2;
        unsigned char *b = realloc(c->buf, cap);
        if (!b)
            return CAIRO_STATUS_NO_MEMORY;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return CAIRO_STATUS_SUCCESS;
}

static dg_status chart_open(dg_ctx *ctx, chart *c, const char *path,
                            double w, double h)
{
    memset(c, 0, sizeof(*c));
    if (dg__has_ending(path, ".png"))
        c->kind = OUT_PNG;
    else if (dg__has_ending(path, ".svg"))
        c->kind = OUT_SVG;
    else if (dg__has_ending(path, ".pdf"))
        c->kind = OUT_PDF;
    else
        return dg__fail(ctx, DG_EINVAL,
                        "'%s': plots are .png, .svg or .pdf files", path);
    c->path = path;
    c->w = w;
    c->h = h;
    if (c->kind == OUT_PNG)
        c->s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    else if (c->kind == OUT_SVG)
        c->s = cairo_svg_surface_create_for_stream(stream_write, c, w, h);
    else
        c->s = cairo_pdf_surface_create_for_stream(stream_write, c, w, h);
    if (cairo_surface_status(c->s) != CAIRO_STATUS_SUCCESS) {
        dg_status st = dg__fail(ctx, DG_EIO, "'%s': cannot draw: %s", path,
                                cairo_status_to_string(
                                    cairo_surface_status(c->s)));
        cairo_surface_destroy(c->s);
        free(c->buf);
        return st;
    }
    c->cr = cairo_create(c->s);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_select_font_face(c->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    return DG_OK;
}

/* Finishes the drawing in memory, then writes the file as every output of
 * detgrid is written (dg_write_file: locked, exclusive temporary file,
 * every write checked, renamed over the target). */
static dg_status chart_close(dg_ctx *ctx, chart *c)
{
    cairo_status_t cs = cairo_status(c->cr);
    cairo_destroy(c->cr);
    if (cs == CAIRO_STATUS_SUCCESS && c->kind == OUT_PNG)
        cs = cairo_surface_write_to_png_stream(c->s, stream_write, c);
    cairo_surface_finish(c->s);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(c->s);
    cairo_surface_destroy(c->s);
    dg_status st;
    if (cs == CAIRO_STATUS_NO_MEMORY)
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
    else if (cs != CAIRO_STATUS_SUCCESS)
        st = dg__fail(ctx, DG_EIO, "'%s': cannot draw: %s", c->path,
                      cairo_status_to_string(cs));
    else
        st = dg_write_file(ctx, c->path, c->buf, c->len);
    free(c->buf);
    return st;
}

static void rgb_of(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, (rgb >> 16 & 255) / 255.0,
                          (rgb >> 8 & 255) / 255.0, (rgb & 255) / 255.0,
                          alpha);
}

/* Text at (x, y): anchor 0 left, 1 centre, 2 right; rot: 90 degrees up. */
static void text(cairo_t *cr, double x, double y, int anchor, int rot,
                 double size, int bold, const char *s)
{
    cairo_text_extents_t e;
    cairo_save(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD
                                : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_translate(cr, x, y);
    if (rot)
        cairo_rotate(cr, -DG_PI / 2);
    cairo_move_to(cr, -(anchor * e.x_advance / 2), 0);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

/* s shortened with an ellipsis to fit width at size. */
static void fit(cairo_t *cr, const char *s, double width, double size,
                char *out, size_t cap)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    snprintf(out, cap, "%s", s);
    size_t n = strlen(out);
    for (;;) {
        cairo_text_extents(cr, out, &e);
        if (e.x_advance <= width || n <= 2)
            return;
        /* drop a whole UTF-8 character and put "…" */
        n--;
        while (n > 1 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            n--;
        n--;
        out[n] = 0;
        if (n + 4 < cap)
            strcat(out, "\xe2\x80\xa6");
    }
}

static double nice_step(double span)
{
    double p = pow(10, floor(log10(span / 5))), m = span / 5 / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* viridis sampled at 9 points; t in [0, 1]. */
static uint32_t viridis(double t)
{
    static const uint32_t v[9] = {0x440154, 0x472c7a, 0x3b518b, 0x2c718e,
                                  0x21908d, 0x27ad81, 0x5cc863, 0xaadc32,
                                  0xfde725};
    if (!(t >= 0))
        t = 0;
    if (t > 1)
        t = 1;
    double f = t * 8;
    int i = f >= 8 ? 7 : (int)f;
    double u = f - i;
    uint32_t a = v[i], b = v[i + 1], o = 0;
    for (int k = 16; k >= 0; k -= 8)
        o |= (uint32_t)lround((a >> k & 255) * (1 - u) + (b >> k & 255) * u)
             << k;
    return o;
}

static const uint32_t okabe[8] = {0x009e73, 0xd55e00, 0x0072b2, 0xe69f00,
                                  0xcc79a7, 0x56b4e9, 0xf0e442, 0x000000};

/* Axes with a grid and tick labels over [x0, x1] x [y0, y1]. */
typedef struct axes {
    double L, T, W, H, x0, x1, y0, y1;
} axes;

static double ax_x(const axes *a, double v)
{
    return a->L + (v - a->x0) / (a->x1 - a->x0) * a->W;
}

static double ax_y(const axes *a, double v)
{
    return a->T + a->H - (v - a->y0) / (a->y1 - a->y0) * a->H;
}

static void draw_axes(cairo_t *cr, const axes *a, const char *xl,
                      const char *yl)
{
    char buf[64];
    double sx = nice_step(a->x1 - a->x0), sy = nice_step(a->y1 - a->y0);
    cairo_set_line_width(cr, 1);
    for (int axis = 0; axis < 2; axis++) {
        double lo = axis ? a->y0 : a->x0, hi = axis ? a->y1 : a->x1;
        double st = axis ? sy : sx;
        for (double v = ceil(lo / st - 1e-9) * st; v <= hi + st * 1e-9;
             v += st) {
            double p = axis ? ax_y(a, v) : ax_x(a, v);
            rgb_of(cr, 0xe3e6ec, 1);
            if (axis) {
                cairo_move_to(cr, a->L, floor(p) + 0.5);
                cairo_line_to(cr, a->L + a->W, floor(p) + 0.5);
            } else {
                cairo_move_to(cr, floor(p) + 0.5, a->T);
                cairo_line_to(cr, floor(p) + 0.5, a->T + a->H);
            }
            cairo_stroke(cr);
            int dec = st >= 1 ? 0 : (int)ceil(-log10(st) - 1e-9);
            snprintf(buf, sizeof(buf), "%.*f", dec,
                     fabs(v) < st * 1e-9 ? 0 : v);
            rgb_of(cr, 0x4a5160, 1);
            if (axis)
                text(cr, a->L - 7, p + 4, 2, 0, 11, 0, buf);
            else
                text(cr, p, a->T + a->H + 16, 1, 0, 11, 0, buf);
        }
    }
    rgb_of(cr, 0x30343c, 1);
    cairo_rectangle(cr, a->L + 0.5, a->T + 0.5, a->W, a->H);
    cairo_stroke(cr);
    text(cr, a->L + a->W / 2, a->T + a->H + 38, 1, 0, 12.5, 0, xl ? xl : "x");
    text(cr, a->L - 44, a->T + a->H / 2, 1, 1, 12.5, 0, yl ? yl : "y");
}

/* ---- the embeddings scatter --------------------------------------------- */

dg_status dg_plot_write(dg_ctx *ctx, const dg_plot *pl, const char *path)
{
    double W = pl->width ? pl->width : 900, H = pl->height ? pl->height : 700;
    chart c;
    dg_status st = chart_open(ctx, &c, path, W, H);
    if (st < 0)
        return st;
    cairo_t *cr = c.cr;
    axes a = {80, 56, W - 80 - 230, H - 56 - 70, INFINITY, -INFINITY,
              INFINITY, -INFINITY};
    for (uint64_t i = 0; i < pl->n; i++) {
        if (!isfinite(pl->x[i]) || !isfinite(pl->y[i]))
            continue;
        a.x0 = fmin(a.x0, pl->x[i]);
        a.x1 = fmax(a.x1, pl->x[i]);
        a.y0 = fmin(a.y0, pl->y[i]);
        a.y1 = fmax(a.y1, pl->y[i]);
    }
    if (!(a.x0 <= a.x1)) {
        a.x0 = a.y0 = 0;
        a.x1 = a.y1 = 1;
    }
    if (a.x1 - a.x0 < 1e-12)
        a.x0 -= 0.5, a.x1 += 0.5;
    if (a.y1 - a.y0 < 1e-12)
        a.y0 -= 0.5, a.y1 += 0.5;
    double px = (a.x1 - a.x0) * 0.05, py = (a.y1 - a.y0) * 0.05;
    a.x0 -= px, a.x1 += px, a.y0 -= py, a.y1 += py;
    draw_axes(cr, &a, pl->x_label, pl->y_label);
    /* points: highlighted ones last and in full colour, the rest faded */
    double r = pl->n > 100000 ? 1.2 : pl->n > 10000 ? 1.8 : 3.2;
    uint64_t n_hi = 0;
    for (uint64_t i = 0; pl->highlight && i < pl->n; i++)
        n_hi += pl->highlight[i] != 0;
    uint64_t stride = c.kind != OUT_PNG && pl->n > 60000
                          ? (pl->n + 59999) / 60000 : 1;
    cairo_save(cr);
    cairo_rectangle(cr, a.L, a.T, a.W, a.H);
    cairo_clip(cr);
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 0; i < pl->n; i += stride) {
            int hi = pl->highlight && pl->highlight[i];
            if (hi != pass || !isfinite(pl->x[i]) || !isfinite(pl->y[i]))
                continue;
            uint32_t col = 0xa0a0a0;
            if (pl->category)
                col = okabe[pl->category[i] % 8];
            else if (pl->value && !isnan(pl->value[i]))
                col = viridis(pl->value[i]);
            /* opaque, so that each point keeps its exact colour */
            double alpha = pl->highlight && !hi ? 0.25 : 1.0;
            rgb_of(cr, col, alpha);
            cairo_new_sub_path(cr);
            cairo_arc(cr, ax_x(&a, pl->x[i]), ax_y(&a, pl->y[i]), r, 0,
                      2 * DG_PI);
            cairo_fill(cr);
            if (hi && n_hi <= 300) {
                rgb_of(cr, 0x000000, 0.9);
                cairo_set_line_width(cr, 1);
                cairo_new_path(cr);
                cairo_arc(cr, ax_x(&a, pl->x[i]), ax_y(&a, pl->y[i]), r + 2,
                          0, 2 * DG_PI);
                cairo_stroke(cr);
            }
        }
    cairo_restore(cr);
    rgb_of(cr, 0x1d2330, 1);
    text(cr, W / 2, 32, 1, 0, 16, 1, pl->title ? pl->title : "");
    if (stride > 1) {
        char b[64];
        snprintf(b, sizeof(b), "every %llu. point shown",
                 (unsigned long long)stride);
        text(cr, a.L + a.W, a.T - 6, 2, 0, 11, 0, b);
    }
    double lx = a.L + a.W + 24;
    if (pl->category) {
        text(cr, lx, a.T + 10, 0, 0, 12.5, 1, "legend");
        for (uint32_t k = 0; k < pl->n_cat; k++) {
            double y = a.T + 32 + k * 22;
            rgb_of(cr, okabe[k % 8], 1);
            cairo_rectangle(cr, lx, y - 10, 12, 12);
            cairo_fill(cr);
            rgb_of(cr, 0x1d2330, 1);
            text(cr, lx + 20, y, 0, 0, 12, 0,
                 pl->cat_names && pl->cat_names[k] ? pl->cat_names[k] : "?");
        }
    } else {
        text(cr, lx, a.T + 10, 0, 0, 12.5, 1,
             pl->value_name ? pl->value_name : "value");
        double bh = a.H * 0.55, by = a.T + 26;
        for (int s = 0; s < 128; s++) {
            rgb_of(cr, viridis(1.0 - (s + 0.5) / 128), 1);
            cairo_rectangle(cr, lx, by + bh * s / 128, 18, bh / 128 + 0.6);
            cairo_fill(cr);
        }
        rgb_of(cr, 0x1d2330, 1);
        text(cr, lx + 26, by + 5, 0, 0, 11, 0, "1.0");
        text(cr, lx + 26, by + bh / 2 + 4, 0, 0, 11, 0, "0.5");
        text(cr, lx + 26, by + bh + 4, 0, 0, 11, 0, "0.0");
        rgb_of(cr, 0xa0a0a0, 1);
        cairo_rectangle(cr, lx, by + bh + 18, 12, 12);
        cairo_fill(cr);
        rgb_of(cr, 0x1d2330, 1);
        text(cr, lx + 20, by + bh + 29, 0, 0, 11, 0, "undefined");
    }
    if (pl->note) {
        char line[160];
        int n_lines = 1;
        for (const char *q = pl->note; *q; q++)
            n_lines += *q == '\n';
        double y = a.T + a.H - 40 - 17.0 * n_lines;
        for (const char *q = pl->note; *q;) {
            size_t len = strcspn(q, "\n");
            snprintf(line, sizeof(line), "%.*s", (int)len, q);
            text(cr, lx, y, 0, 0, 11, 0, line);
            y += 17;
            q += len;
            if (*q)
                q++;
        }
    }
    if (pl->highlight) {
        double y = a.T + a.H - 12;
        rgb_of(cr, 0x000000, 0.9);
        cairo_new_path(cr);
        cairo_arc(cr, lx + 6, y - 4, 5, 0, 2 * DG_PI);
        cairo_stroke(cr);
        text(cr, lx + 20, y, 0, 0, 11, 0, "selected cluster (others faded)");
    }
    return chart_close(ctx, &c);
}

/* ---- precision-recall curves ------------------------------------------ */

dg_status dg_chart_lines_write(dg_ctx *ctx, const dg_chart_lines *ln,
                               const char *path)
{
    double W = ln->width ? ln->width : 900, H = ln->height ? ln->height : 620;
    chart c;
    dg_status st = chart_open(ctx, &c, path, W, H);
    if (st < 0)
        return st;
    cairo_t *cr = c.cr;
    axes a = {80, 56, W - 80 - 250, H - 56 - 70, ln->x_min, ln->x_max,
              ln->y_min, ln->y_max};
    if (!(a.x1 > a.x0))
        a.x0 = 0, a.x1 = 1;
    if (!(a.y1 > a.y0))
        a.y0 = 0, a.y1 = 1;
    draw_axes(cr, &a, ln->x_label, ln->y_label);
    cairo_save(cr);
    cairo_rectangle(cr, a.L - 4, a.T - 4, a.W + 8, a.H + 8);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (uint32_t k = 0; k < ln->n; k++) {
        const dg_chart_series *s = &ln->s[k];
        rgb_of(cr, okabe[k % 7], 1);
        cairo_set_line_width(cr, 1.8);
        int started = 0;
        for (uint64_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
                continue;
            double x = ax_x(&a, s->x[i]), y = ax_y(&a, s->y[i]);
            if (!started)
                cairo_move_to(cr, x, y);
            else
                cairo_line_to(cr, x, y);
            started = 1;
        }
        cairo_stroke(cr);
        if (isfinite(s->dot_x) && isfinite(s->dot_y)) {
            cairo_new_path(cr);
            cairo_arc(cr, ax_x(&a, s->dot_x), ax_y(&a, s->dot_y), 4.5, 0,
                      2 * DG_PI);
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
    rgb_of(cr, 0x1d2330, 1);
    text(cr, W / 2, 32, 1, 0, 16, 1, ln->title ? ln->title : "");
    double lx = a.L + a.W + 22;
    char buf[160];
    for (uint32_t k = 0; k < ln->n && k < 24; k++) {
        double y = a.T + 12 + k * 21;
        rgb_of(cr, okabe[k % 7], 1);
        cairo_rectangle(cr, lx, y - 6, 16, 3);
        cairo_fill(cr);
        rgb_of(cr, 0x1d2330, 1);
        fit(cr, ln->s[k].name ? ln->s[k].name : "?", 200, 11.5, buf,
            sizeof(buf));
        text(cr, lx + 22, y, 0, 0, 11.5, 0, buf);
    }
    if (ln->note) {
        /* the note's parts ("a; b; c") one a line, ending at the axis */
        int nl = 1;
        for (const char *q = ln->note; *q; q++)
            nl += q[0] == ';' && q[1] == ' ';
        double y = a.T + a.H - 15.0 * (nl - 1);
        for (const char *q = ln->note; *q; y += 15) {
            const char *e = strstr(q, "; ");
            size_t len = e ? (size_t)(e - q) : strlen(q);
            snprintf(buf, sizeof(buf), "%.*s", (int)len, q);
            text(cr, lx, y, 0, 0, 10.5, 0, buf);
            q += len + (e ? 2 : 0);
        }
    }
    return chart_close(ctx, &c);
}

/* ---- the confusion heatmap ---------------------------------------------- */

dg_status dg_chart_heatmap_write(dg_ctx *ctx, const dg_chart_heatmap *hm,
                                 const char *path)
{
    uint32_t n = hm->n;
    if (!n)
        return dg__fail(ctx, DG_EINVAL, "heatmap: no rows");
    double cs = n <= 12 ? 40 : n <= 30 ? 22 : n <= 60 ? 14 : n <= 100 ? 10 : 6;
    int names = cs >= 9, values = cs >= 22;
    double lab = names ? 120 : 20, size = cs * n;
    double W = lab + size + 150, H = lab + size + 90;
    chart c;
    dg_status st = chart_open(ctx, &c, path, W, H);
    if (st < 0)
        return st;
    cairo_t *cr = c.cr;
    double max = 0, dmax = 0;
    for (uint32_t g = 0; g < n; g++)
        for (uint32_t p = 0; p < n; p++) {
            double v = hm->v[(size_t)g * n + p];
            if (!(v > 0))
                continue;
            if (g == p && hm->diag_apart)
                dmax = fmax(dmax, v);
            else
                max = fmax(max, v);
        }
    double x0 = lab, y0 = lab + 40;
    char buf[160];
    for (uint32_t g = 0; g < n; g++)
        for (uint32_t p = 0; p < n; p++) {
            double v = hm->v[(size_t)g * n + p];
            if (!(v > 0))
                continue;
            int diag = g == p && hm->diag_apart;
            double m = diag ? dmax : max, t;
            if (hm->log_scale)
                t = m <= 1 ? 1 : log(fmax(v, 1)) / log(m);
            else
                t = v / m;
            if (diag) {
                double gl = 0.86 - 0.6 * t;
                cairo_set_source_rgb(cr, gl, gl, gl + 0.02);
            } else {
                rgb_of(cr, viridis(1 - (0.1 + 0.9 * t)), 1);
            }
            cairo_rectangle(cr, x0 + p * cs, y0 + g * cs, cs - (cs > 6),
                            cs - (cs > 6));
            cairo_fill(cr);
            if (values) {
                snprintf(buf, sizeof(buf), hm->value_format ? hm->value_format
                                                            : "%.0f", v);
                if (diag)
                    rgb_of(cr, t > 0.5 ? 0xffffff : 0x1d2330, 1);
                else
                    rgb_of(cr, t > 0.45 ? 0xffffff : 0x1d2330, 1);
                text(cr, x0 + p * cs + cs / 2, y0 + g * cs + cs / 2 + 3.5, 1,
                     0, fmin(10, cs / 3), 0, buf);
            }
        }
    rgb_of(cr, 0xc8ccd4, 1);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x0 - 0.5, y0 - 0.5, size + 1, size + 1);
    cairo_stroke(cr);
    if (names) {
        double fs = fmin(11, cs - 1.5);
        rgb_of(cr, 0x3b4252, 1);
        for (uint32_t g = 0; g < n; g++) {
            fit(cr, hm->names[g], lab - 8, fs, buf, sizeof(buf));
            text(cr, x0 - 5, y0 + g * cs + cs / 2 + fs / 3, 2, 0, fs, 0, buf);
            text(cr, x0 + g * cs + cs / 2 + fs / 3, y0 - 5, 0, 1, fs, 0, buf);
        }
    }
    /* the largest off-diagonal cell (background row and column left out
     * when the caller marks the last axis as background), ringed */
    double best = 0;
    uint32_t bg = -1u, bp = -1u, last = hm->last_is_background ? n - 1 : n;
    for (uint32_t g = 0; g < last; g++)
        for (uint32_t p = 0; p < last; p++) {
            double v = hm->v[(size_t)g * n + p];
            if (g != p && v > best)
                best = v, bg = g, bp = p;
        }
    if (best > 0) {
        rgb_of(cr, 0xd55e00, 1);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, x0 + bp * cs - 2.5, y0 + bg * cs - 2.5, cs + 4,
                        cs + 4);
        cairo_stroke(cr);
    }
    rgb_of(cr, 0x1d2330, 1);
    text(cr, 14, 28, 0, 0, 15, 1, hm->title ? hm->title : "");
    if (hm->row_label)
        text(cr, 14, H - 36, 0, 0, 11.5, 0, hm->row_label);
    /* colour bar */
    double bx = x0 + size + 30, by = y0, bh = fmin(260, size);
    for (int s = 0; s < 128; s++) {
        rgb_of(cr, viridis(1 - (0.1 + 0.9 * (1.0 - (s + 0.5) / 128))), 1);
        cairo_rectangle(cr, bx, by + bh * s / 128, 16, bh / 128 + 0.6);
        cairo_fill(cr);
    }
    rgb_of(cr, 0x1d2330, 1);
    text(cr, bx, by - 10, 0, 0, 11, 1, hm->scale_name ? hm->scale_name : "");
    if (max > 0) {
        /* log ticks 1, 10, 100, ... and the maximum */
        double ticks[16];
        int nt = 0;
        if (hm->log_scale && max > 1)
            for (double v = 1; v <= max && nt < 14; v *= 10)
                ticks[nt++] = v;
        else
            ticks[nt++] = 0;
        ticks[nt++] = max;
        for (int k = 0; k < nt; k++) {
            double t = hm->log_scale && max > 1 ? log(fmax(ticks[k], 1)) /
                                                      log(max)
                                                : ticks[k] / max;
            double y = by + bh * (1 - t);
            snprintf(buf, sizeof(buf), hm->value_format ? hm->value_format
                                                        : "%.0f", ticks[k]);
            text(cr, bx + 22, y + 4, 0, 0, 10.5, 0, buf);
        }
    }
    if (hm->diag_apart) {
        cairo_set_source_rgb(cr, 0.55, 0.55, 0.57);
        cairo_rectangle(cr, bx, by + bh + 16, 12, 12);
        cairo_fill(cr);
        rgb_of(cr, 0x1d2330, 1);
        text(cr, bx + 18, by + bh + 26, 0, 0, 10.5, 0, "diagonal: grey");
    }
    if (best > 0) {
        rgb_of(cr, 0xd55e00, 1);
        cairo_rectangle(cr, bx, by + bh + 36, 12, 12);
        cairo_stroke(cr);
        rgb_of(cr, 0x1d2330, 1);
        text(cr, bx + 18, by + bh + 46, 0, 0, 10.5, 0, "largest confusion");
    }
    return chart_close(ctx, &c);
}
#endif
