/*
 * Scatter plots as SVG text or PNG images, without dependencies. One
 * drawing routine feeds a tiny canvas with two back ends: SVG elements, or
 * an RGB raster (filled circles, rectangles, a 3 x 5 bitmap font drawn at
 * twice its size) written as a PNG with stored (uncompressed) deflate
 * blocks, zlib's adler32 and PNG's crc32.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct rgb {
    unsigned char r, g, b;
} rgb;

/* A viridis-like scale: perceptually ordered, colour-blind safe. */
static const rgb viridis[9] = {
    {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142},
    {33, 144, 141}, {39, 173, 129}, {92, 200, 99},  {170, 220, 50},
    {253, 231, 37}};

/* Okabe-Ito categorical palette (colour-blind safe). */
static const rgb okabe[8] = {{0, 158, 115},  {213, 94, 0},   {0, 114, 178},
                             {230, 159, 0},  {204, 121, 167}, {86, 180, 233},
                             {240, 228, 66}, {0, 0, 0}};
static const rgb grey = {160, 160, 160};

static rgb scale_colour(double v)
{
    if (isnan(v))
        return grey;
    if (v < 0)
        v = 0;
    if (v > 1)
        v = 1;
    double f = v * 8;
    int i = (int)f;
    if (i >= 8)
        return viridis[8];
    double t = f - i;
    rgb a = viridis[i], b = viridis[i + 1], c;
    c.r = (unsigned char)lround(a.r + (b.r - a.r) * t);
    c.g = (unsigned char)lround(a.g + (b.g - a.g) * t);
    c.b = (unsigned char)lround(a.b + (b.b - a.b) * t);
    return c;
}

/* ---- the 3 x 5 font ------------------------------------------------------ */

static const struct glyph {
    char c;
    const char *rows; /* 5 rows of 3 pixels, '1' set */
} font[] = {
    {'0', "111101101101111"}, {'1', "010110010010111"},
    {'2', "111001111100111"}, {'3', "111001111001111"},
    {'4', "101101111001001"}, {'5', "111100111001111"},
    {'6', "111100111101111"}, {'7', "111001001010010"},
    {'8', "111101111101111"}, {'9', "111101111001111"},
    {'A', "010101111101101"}, {'B', "110101110101110"},
    {'C', "011100100100011"}, {'D', "110101101101110"},
    {'E', "111100110100111"}, {'F', "111100110100100"},
    {'G', "011100101101011"}, {'H', "101101111101101"},
    {'I', "111010010010111"}, {'J', "001001001101010"},
    {'K', "101101110101101"}, {'L', "100100100100111"},
    {'M', "101111111101101"}, {'N', "110101101101101"},
    {'O', "010101101101010"}, {'P', "110101110100100"},
    {'Q', "010101101110011"}, {'R', "110101110101101"},
    {'S', "011100010001110"}, {'T', "111010010010010"},
    {'U', "101101101101111"}, {'V', "101101101101010"},
    {'W', "101101111111101"}, {'X', "101101010101101"},
    {'Y', "101101010010010"}, {'Z', "111001010100111"},
    {' ', "000000000000000"}, {'.', "000000000000010"},
    {',', "000000000010100"}, {'-', "000000111000000"},
    {'+', "000010111010000"}, {':', "000010000010000"},
    {'=', "000111000111000"}, {'(', "010100100100010"},
    {')', "010001001001010"}, {'/', "001001010100100"},
    {'%', "101001010100101"}, {'_', "000000000000111"},
    {'[', "110100100100110"}, {']', "011001001001011"},
    {'\'', "010010000000000"}, {'>', "100010001010100"},
    {'<', "001010100010001"}, {'#', "101111101111101"},
    {'?', "111001010000010"}, {'!', "010010010000010"},
    {'"', "101101000000000"}, {'|', "010010010010010"},
};

static const char *glyph_rows(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
        if (font[i].c == c)
            return font[i].rows;
    return "111001010000010"; /* '?' */
}

#define FONT_SCALE 2
#define CHAR_W (4 * FONT_SCALE)
#define CHAR_H (5 * FONT_SCALE)

/* ---- canvas --------------------------------------------------------------- */

typedef struct canvas {
    int svg;
    int w, h;
    /* SVG */
    char *buf;
    size_t len, cap;
    int oom;
    /* PNG */
    unsigned char *px;
} canvas;

static void out(canvas *c, const char *fmt, ...) DG_PRINTF(2, 3);
static void out(canvas *c, const char *fmt, ...)
{
    if (c->oom)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(c->buf + c->len, c->cap - c->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            c->oom = 1;
            return;
        }
        if ((size_t)n < c->cap - c->len) {
            c->len += (size_t)n;
            return;
        }
        size_t nc = c->cap * 2 + (size_t)n + 1024;
        char *nb = realloc(c->buf, nc);
        if (!nb) {
            c->oom = 1;
            return;
        }
        c->buf = nb;
        c->cap = nc;
    }
}

static void put(canvas *c, int x, int y, rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    unsigned char *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

static void rect(canvas *c, double x, double y, double w, double h, rgb col,
                 int stroke_only)
{
    if (c->svg) {
        if (stroke_only)
            out(c,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"none\" stroke=\"#%02x%02x%02x\"/>\n",
                x, y, w, h, col.r, col.g, col.b);
        else
            out(c,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#%02x%02x%02x\"/>\n",
                x, y, w, h, col.r, col.g, col.b);
        return;
    }
    int x0 = (int)lround(x), y0 = (int)lround(y);
    int x1 = (int)lround(x + w), y1 = (int)lround(y + h);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++)
            if (!stroke_only || yy == y0 || yy == y1 - 1 || xx == x0 ||
                xx == x1 - 1)
                put(c, xx, yy, col);
}

static void circle(canvas *c, double cx, double cy, double r, rgb col,
                   int ring)
{
    if (c->svg) {
        if (ring)
            out(c,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"none\" "
                "stroke=\"#000\" stroke-width=\"1.2\"/>\n",
                cx, cy, r);
        else
            out(c,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" "
                "fill=\"#%02x%02x%02x\"/>\n",
                cx, cy, r, col.r, col.g, col.b);
        return;
    }
    int x0 = (int)floor(cx - r - 1), x1 = (int)ceil(cx + r + 1);
    int y0 = (int)floor(cy - r - 1), y1 = (int)ceil(cy + r + 1);
    rgb black = {0, 0, 0};
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double d = sqrt(dx * dx + dy * dy);
            if (ring) {
                if (d <= r && d >= r - 1.3)
                    put(c, x, y, black);
            } else if (d <= r) {
                put(c, x, y, col);
            }
        }
}

/* anchor: 0 start, 1 middle, 2 end. rot: 1 for vertical (bottom to top). */
static void text(canvas *c, double x, double y, int anchor, int rot,
                 int bold, const char *s)
{
    if (c->svg) {
        static const char *const an[3] = {"start", "middle", "end"};
        out(c, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y,
            an[anchor], bold ? " font-weight=\"bold\"" : "",
            rot ? "" : "");
        if (rot) {
            /* Rotate about the anchor point. */
            c->len -= 1;
            out(c, " transform=\"rotate(-90 %.1f %.1f)\">", x, y);
        }
        for (const char *p = s; *p; p++) {
            if (*p == '&')
                out(c, "&amp;");
            else if (*p == '<')
                out(c, "&lt;");
            else if (*p == '>')
                out(c, "&gt;");
            else if (*p == '"')
                out(c, "&quot;");
            else if ((unsigned char)*p >= 0x20)
                out(c, "%c", *p);
        }
        out(c, "</text>\n");
        return;
    }
    rgb ink = {20, 20, 20};
    int n = (int)strlen(s);
    double w = n * CHAR_W;
    /* y is the baseline, as in SVG: glyphs sit above it. */
    double ox = anchor == 0 ? x : anchor == 1 ? x - w / 2 : x - w;
    double oy = y - CHAR_H;
    if (rot) {
        ox = x - CHAR_H;
        oy = anchor == 0 ? y : anchor == 1 ? y + w / 2 : y + w;
    }
    for (int i = 0; i < n; i++) {
        const char *g = glyph_rows(s[i]);
        for (int row = 0; row < 5; row++)
            for (int col = 0; col < 3; col++) {
                if (g[row * 3 + col] != '1')
                    continue;
                for (int a = 0; a < FONT_SCALE; a++)
                    for (int b = 0; b < FONT_SCALE + bold; b++) {
                        int px = col * FONT_SCALE + b, py = row * FONT_SCALE + a;
                        if (!rot)
                            put(c, (int)ox + i * CHAR_W + px, (int)oy + py,
                                ink);
                        else
                            put(c, (int)ox + py, (int)oy - i * CHAR_W - px,
                                ink);
                    }
            }
    }
}

/* ---- the plot ------------------------------------------------------------- */

/* Tick step of about 5 ticks over span: 1, 2 or 5 times a power of 10. */
static double nice_step(double span)
{
    if (!(span > 0))
        return 1;
    double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fmt_tick(char *buf, size_t cap, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6)
        dec = 6;
    if (fabs(v) < step * 1e-9)
        v = 0;
    snprintf(buf, cap, "%.*f", dec, v);
}

static void draw(canvas *c, const dg_plot *pl)
{
    const int W = c->w, H = c->h;
    const double L = 70, R = 210, T = 50, B = 60;
    const double pw = W - L - R, ph = H - T - B;
    rgb white = {255, 255, 255}, axis = {40, 40, 40}, gridc = {225, 225, 225};
    rect(c, 0, 0, W, H, white, 0);
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY,
           ymax = -INFINITY;
    for (uint64_t i = 0; i < pl->n; i++) {
        if (!isfinite(pl->x[i]) || !isfinite(pl->y[i]))
            continue;
        if (pl->x[i] < xmin)
            xmin = pl->x[i];
        if (pl->x[i] > xmax)
            xmax = pl->x[i];
        if (pl->y[i] < ymin)
            ymin = pl->y[i];
        if (pl->y[i] > ymax)
            ymax = pl->y[i];
    }
    if (!(xmin <= xmax)) {
        xmin = ymin = 0;
        xmax = ymax = 1;
    }
    if (xmax - xmin < 1e-12) {
        xmin -= 0.5;
        xmax += 0.5;
    }
    if (ymax - ymin < 1e-12) {
        ymin -= 0.5;
        ymax += 0.5;
    }
    double padx = (xmax - xmin) * 0.05, pady = (ymax - ymin) * 0.05;
    xmin -= padx;
    xmax += padx;
    ymin -= pady;
    ymax += pady;
#define SX(v) (L + ((v) - xmin) / (xmax - xmin) * pw)
#define SY(v) (T + ph - ((v) - ymin) / (ymax - ymin) * ph)
    /* Grid, ticks and their labels. */
    char buf[64];
    double sx = nice_step(xmax - xmin), sy = nice_step(ymax - ymin);
    for (double v = ceil(xmin / sx) * sx; v <= xmax; v += sx) {
        rect(c, SX(v), T, 1, ph, gridc, 0);
        rect(c, SX(v), T + ph, 1, 5, axis, 0);
        fmt_tick(buf, sizeof(buf), v, sx);
        text(c, SX(v), T + ph + 20, 1, 0, 0, buf);
    }
    for (double v = ceil(ymin / sy) * sy; v <= ymax; v += sy) {
        rect(c, L, SY(v), pw, 1, gridc, 0);
        rect(c, L - 5, SY(v), 5, 1, axis, 0);
        fmt_tick(buf, sizeof(buf), v, sy);
        text(c, L - 8, SY(v) + 5, 2, 0, 0, buf);
    }
    rect(c, L, T, pw, ph, axis, 1);
    /* Points: highlighted ones last, the others faded, so the selection
     * stands out in its own colours; rings only while they stay sparse. */
    double r = pl->n > 100000 ? 1.5 : pl->n > 10000 ? 2.0 : 3.5;
    uint64_t n_hi = 0;
    for (uint64_t i = 0; pl->highlight && i < pl->n; i++)
        n_hi += pl->highlight[i] != 0;
    /* SVG viewers choke on hundreds of thousands of elements: past 60000
     * points an SVG shows every stride-th (a PNG shows them all). */
    uint64_t stride = c->svg && pl->n > 60000 ? (pl->n + 59999) / 60000 : 1;
    if (stride > 1) {
        snprintf(buf, sizeof(buf), "every %llu. point shown",
                 (unsigned long long)stride);
        text(c, L + pw, T - 6, 2, 0, 0, buf);
    }
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 0; i < pl->n; i += stride) {
            int hi = pl->highlight && pl->highlight[i];
            if (hi != pass || !isfinite(pl->x[i]) || !isfinite(pl->y[i]))
                continue;
            rgb col = grey;
            if (pl->category)
                col = okabe[pl->category[i] % 8];
            else if (pl->value)
                col = scale_colour(pl->value[i]);
            if (pl->highlight && !hi) {
                col.r = (unsigned char)(col.r + (255 - col.r) * 0.6);
                col.g = (unsigned char)(col.g + (255 - col.g) * 0.6);
                col.b = (unsigned char)(col.b + (255 - col.b) * 0.6);
            }
            circle(c, SX(pl->x[i]), SY(pl->y[i]), r, col, 0);
            if (hi && n_hi <= 300)
                circle(c, SX(pl->x[i]), SY(pl->y[i]), r + 2, col, 1);
        }
    /* Title and axis names. */
    text(c, W / 2.0, 30, 1, 0, 1, pl->title ? pl->title : "");
    text(c, L + pw / 2, H - 15, 1, 0, 0, pl->x_label ? pl->x_label : "x");
    text(c, 20, T + ph / 2, 1, 1, 0, pl->y_label ? pl->y_label : "y");
    /* Legend or colour scale, right of the plot. */
    double lx = L + pw + 25;
    if (pl->category) {
        text(c, lx, T + 10, 0, 0, 1, "legend");
        for (uint32_t k = 0; k < pl->n_cat; k++) {
            double y = T + 30 + k * 22;
            rect(c, lx, y - 10, 12, 12, okabe[k % 8], 0);
            text(c, lx + 20, y + 1, 0, 0, 0,
                 pl->cat_names && pl->cat_names[k] ? pl->cat_names[k] : "?");
        }
    } else {
        text(c, lx, T + 10, 0, 0, 1,
             pl->value_name ? pl->value_name : "value");
        double bh = ph * 0.6, by = T + 25;
        int steps = 64;
        for (int s = 0; s < steps; s++) {
            double v = 1.0 - (s + 0.5) / steps;
            rect(c, lx, by + bh * s / steps, 20, bh / steps + 1,
                 scale_colour(v), 0);
        }
        rect(c, lx, by, 20, bh, axis, 1);
        text(c, lx + 28, by + 5, 0, 0, 0, "1.0");
        text(c, lx + 28, by + bh / 2 + 5, 0, 0, 0, "0.5");
        text(c, lx + 28, by + bh + 5, 0, 0, 0, "0.0");
        rect(c, lx, by + bh + 20, 12, 12, grey, 0);
        text(c, lx + 20, by + bh + 31, 0, 0, 0, "undefined");
    }
    if (pl->highlight) {
        double y = T + ph - 10;
        circle(c, lx + 6, y - 4, 5, grey, 0);
        circle(c, lx + 6, y - 4, 5, grey, 1);
        text(c, lx + 20, y + 1, 0, 0, 0, "selected cluster");
        text(c, lx + 20, y + 17, 0, 0, 0, "(others faded)");
    }
    if (pl->note) {
        /* Lines of the note above the highlight legend. */
        char line[128];
        int n_lines = 1;
        for (const char *q = pl->note; *q; q++)
            n_lines += *q == '\n';
        double y = T + ph - 40 - 18.0 * n_lines;
        const char *q = pl->note;
        while (*q) {
            size_t len = strcspn(q, "\n");
            snprintf(line, sizeof(line), "%.*s", (int)len, q);
            text(c, lx, y, 0, 0, 0, line);
            y += 18;
            q += len;
            if (*q)
                q++;
        }
    }
#undef SX
#undef SY
}

dg_status dg_plot_svg(dg_ctx *ctx, const dg_plot *pl, char **outp,
                      size_t *len)
{
    canvas c;
    memset(&c, 0, sizeof(c));
    c.svg = 1;
    c.w = pl->width ? (int)pl->width : 900;
    c.h = pl->height ? (int)pl->height : 700;
    c.cap = 1 << 16;
    if (!(c.buf = malloc(c.cap)))
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    out(&c,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
        "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
        "font-size=\"13\">\n",
        c.w, c.h, c.w, c.h);
    draw(&c, pl);
    out(&c, "</svg>\n");
    if (c.oom) {
        free(c.buf);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    *outp = c.buf;
    *len = c.len;
    return DG_OK;
}

/* ---- PNG ------------------------------------------------------------------ */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends a chunk (length, type, data, crc) at *o. */
static void chunk(unsigned char **o, const char *type,
                  const unsigned char *data, uint32_t n)
{
    unsigned char *p = *o;
    be32(p, n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    be32(p + 8 + n, crc32_of(p + 4, (size_t)n + 4));
    *o = p + 12 + n;
}

dg_status dg_plot_png(dg_ctx *ctx, const dg_plot *pl, unsigned char **outp,
                      size_t *len)
{
    canvas c;
    memset(&c, 0, sizeof(c));
    c.w = pl->width ? (int)pl->width : 900;
    c.h = pl->height ? (int)pl->height : 700;
    size_t row = (size_t)c.w * 3 + 1, raw_n = row * c.h;
    c.px = dg__alloc(ctx, (size_t)c.w * c.h, 3);
    unsigned char *raw = dg__alloc(ctx, raw_n, 1);
    size_t nblk = raw_n / 65535 + 1;
    size_t zn = 2 + raw_n + nblk * 5 + 4;
    unsigned char *z = dg__alloc(ctx, zn, 1);
    unsigned char *png = dg__alloc(ctx, zn + 8 + 25 + 12 + 12, 1);
    if (!c.px || !raw || !z || !png) {
        free(c.px);
        free(raw);
        free(z);
        free(png);
        return DG_ENOMEM;
    }
    draw(&c, pl);
    for (int y = 0; y < c.h; y++) {
        raw[y * row] = 0; /* filter: none */
        memcpy(raw + y * row + 1, c.px + (size_t)y * c.w * 3,
               (size_t)c.w * 3);
    }
    /* zlib: CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (check bits). */
    unsigned char *q = z;
    *q++ = 0x78;
    *q++ = 0x01;
    for (size_t off = 0; off < raw_n || off == 0;) {
        size_t n = raw_n - off > 65535 ? 65535 : raw_n - off;
        *q++ = off + n >= raw_n ? 1 : 0; /* BFINAL, BTYPE 00 (stored) */
        *q++ = (unsigned char)(n & 0xff);
        *q++ = (unsigned char)(n >> 8);
        *q++ = (unsigned char)(~n & 0xff);
        *q++ = (unsigned char)((~n >> 8) & 0xff);
        memcpy(q, raw + off, n);
        q += n;
        off += n;
        if (n == 0)
            break;
    }
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    be32(q, b << 16 | a);
    q += 4;
    crc_init();
    unsigned char *o = png;
    memcpy(o, "\x89PNG\r\n\x1a\n", 8);
    o += 8;
    unsigned char ihdr[13];
    be32(ihdr, (uint32_t)c.w);
    be32(ihdr + 4, (uint32_t)c.h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    chunk(&o, "IHDR", ihdr, 13);
    chunk(&o, "IDAT", z, (uint32_t)(q - z));
    chunk(&o, "IEND", NULL, 0);
    free(c.px);
    free(raw);
    free(z);
    *outp = png;
    *len = (size_t)(o - png);
    return DG_OK;
}
