/*
 * Instance masks as COCO run-length codes, and the shapes (masks,
 * keypoints) that ride along with a box set.
 *
 * Each RLE function gives what its namesake in pycocotools'
 * common/maskApi.c gives for valid input, with the same roundings and
 * truncations where they decide a pixel (docs/MASKS.md spells them out);
 * the code is this project's own. Where pycocotools reads out of bounds or
 * overflows on hostile input, these check and refuse instead.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- runs ---------------------------------------------------------------- */

int dg__runs_reserve(dg_runs *r, uint64_t more)
{
    uint64_t need = r->n + more;
    if (need <= r->cap && r->v)
        return 0;
    uint64_t cap = r->cap ? r->cap : 256;
    while (cap < need)
        cap += cap / 2 + 256;
    if (cap > (uint64_t)SIZE_MAX / 4 || dg__grow((void **)&r->v, cap, 4))
        return -1;
    r->cap = cap;
    return 0;
}

void dg__runs_release(dg_runs *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static int runs_push(dg_runs *r, uint32_t v)
{
    if (r->n == r->cap && dg__runs_reserve(r, 1))
        return -1;
    r->v[r->n++] = v;
    return 0;
}

/* ---- the string code ------------------------------------------------------ */

static void say(char *err, size_t cap, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "%s", msg);
}

int dg__rle_decode(const char *s, size_t len, uint64_t h, uint64_t w,
                   dg_runs *out, char *err, size_t errcap)
{
    uint64_t first = out->n, sum = 0;
    size_t p = 0;
    while (p < len) {
        /* One value: 5 bits a character, low bits first; bit 0x20 says
         * more follow, bit 0x10 of the last one is the sign. */
        uint64_t x = 0;
        int k = 0, more = 1;
        while (more) {
            if (p >= len) {
                say(err, errcap, "ends inside a value");
                return -1;
            }
            int c = (unsigned char)s[p] - 48;
            if (c < 0 || c > 63) {
                char m[64];
                snprintf(m, sizeof(m), "character %zu is not one of '0'..'o'",
                         p);
                say(err, errcap, m);
                return -1;
            }
            if (k == 7) {
                say(err, errcap, "a value is longer than 7 characters");
                return -1;
            }
            x |= (uint64_t)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++;
            k++;
            if (!more && (c & 0x10))
                x |= ~UINT64_C(0) << (5 * k);
        }
        int64_t v = (int64_t)x;
        uint64_t m = out->n - first;
        if (m > 2)
            v += (int64_t)out->v[out->n - 2];
        if (v < 0 || v > (int64_t)UINT32_MAX) {
            char msg[96];
            snprintf(msg, sizeof(msg), "run %llu is %s",
                     (unsigned long long)m,
                     v < 0 ? "negative" : "longer than 2^32 - 1");
            say(err, errcap, msg);
            return -1;
        }
        if (runs_push(out, (uint32_t)v)) {
            say(err, errcap, "out of memory");
            return -1;
        }
        sum += (uint64_t)v;
    }
    if (sum != h * w) {
        char msg[128];
        snprintf(msg, sizeof(msg), "runs cover %llu pixels, the size %llu x "
                 "%llu has %llu", (unsigned long long)sum,
                 (unsigned long long)h, (unsigned long long)w,
                 (unsigned long long)(h * w));
        say(err, errcap, msg);
        return -1;
    }
    return 0;
}

char *dg__rle_encode(const uint32_t *cnts, uint64_t m)
{
    /* At most 7 characters a run (35 bits for a difference of two). */
    if (m > (SIZE_MAX - 1) / 7)
        return NULL;
    char *s = malloc((size_t)m * 7 + 1), *q = s;
    if (!s)
        return NULL;
    for (uint64_t i = 0; i < m; i++) {
        int64_t x = (int64_t)cnts[i];
        if (i > 2)
            x -= (int64_t)cnts[i - 2];
        for (;;) {
            int c = (int)(x & 0x1f);
            /* Arithmetic shift, written so that it is one everywhere. */
            x = x < 0 ? ~(~x >> 5) : x >> 5;
            int more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            *q++ = (char)(c + 48);
            if (!more)
                break;
        }
    }
    *q = 0;
    return s;
}

uint64_t dg__rle_area(const uint32_t *cnts, uint64_t m)
{
    uint64_t a = 0;
    for (uint64_t j = 1; j < m; j += 2)
        a += cnts[j];
    return a;
}

void dg__rle_bbox(const uint32_t *cnts, uint64_t m, uint32_t h, uint32_t w,
                  uint32_t bb[4])
{
    /*
     * pycocotools (2.0.x) works in 32-bit unsigned arithmetic: positions
     * wrap at 2^32 (only masks of 2^32 pixels or more could tell). The
     * column and row of a position are tracked as runs advance, dividing
     * only for a run longer than a column.
     */
    uint64_t mm = m / 2 * 2;
    uint32_t xs = w, ys = h, xe = 0, ye = 0;
    if (mm == 0 || h == 0) {
        bb[0] = bb[1] = bb[2] = bb[3] = 0;
        return;
    }
    uint32_t x = 0, y = 0; /* of the position reached, cc */
    for (uint64_t j = 0; j < mm; j++) {
        uint32_t len = cnts[j];
        if (j % 2 == 0 || len == 0) {
            /* Advance by len. */
            uint32_t t = y + len;
            if (t >= y && t < h) {
                y = t;
            } else if (t >= y && t - h < h) {
                y = t - h;
                x++;
            } else {
                uint64_t q = (uint64_t)y + len;
                x += (uint32_t)(q / h);
                y = (uint32_t)(q % h);
            }
            continue;
        }
        uint32_t x0 = x, y0 = y;
        /* The last pixel of the run, then the position after it. */
        uint64_t q = (uint64_t)y + len - 1;
        uint32_t x1, y1;
        if (q < h) {
            x1 = x;
            y1 = (uint32_t)q;
        } else if (q - h < h) {
            x1 = x + 1;
            y1 = (uint32_t)(q - h);
        } else {
            x1 = x + (uint32_t)(q / h);
            y1 = (uint32_t)(q % h);
        }
        if (y1 + 1 < h) {
            x = x1;
            y = y1 + 1;
        } else {
            x = x1 + 1;
            y = 0;
        }
        if (x0 < xs)
            xs = x0;
        if (x1 > xe)
            xe = x1;
        if (x0 < x1) {
            ys = 0; /* a run across columns */
            ye = h - 1;
        } else {
            if (y0 < ys)
                ys = y0;
            if (y1 > ye)
                ye = y1;
        }
    }
    bb[0] = xs;
    bb[2] = xe - xs + 1;
    bb[1] = ys;
    bb[3] = ye - ys + 1;
}

/* ---- polygons --------------------------------------------------------------- */

/* Sorts a[0..n) ascending: insertion sort when short (the crossings of
 * an outline come in long ordered stretches), else an LSD radix sort on
 * bytes through tmp, skipping bytes that are the same everywhere. */
static void sort_u32(uint32_t *a, uint32_t *tmp, uint64_t n)
{
    if (n <= 64) {
        for (uint64_t i = 1; i < n; i++) {
            uint32_t v = a[i];
            uint64_t j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    uint32_t diff = 0;
    for (uint64_t i = 1; i < n; i++)
        diff |= a[i] ^ a[0];
    uint32_t *src = a, *dst = tmp;
    for (int sh = 0; sh < 32; sh += 8) {
        if (!((diff >> sh) & 0xff))
            continue;
        uint64_t cnt[257];
        memset(cnt, 0, sizeof(cnt));
        for (uint64_t i = 0; i < n; i++)
            cnt[((src[i] >> sh) & 0xff) + 1]++;
        for (int d = 0; d < 256; d++)
            cnt[d + 1] += cnt[d];
        for (uint64_t i = 0; i < n; i++)
            dst[cnt[(src[i] >> sh) & 0xff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

int dg__rle_from_poly(const double *xy, uint32_t k, uint32_t h, uint32_t w,
                      dg_runs *out)
{
    const double scale = 5;
    int rc = -1;
    int *x = NULL, *y = NULL, *u = NULL, *v = NULL;
    uint32_t *a = NULL;
    if (k == 0) {
        /* No points: an empty mask (pycocotools reads past its array). */
        return runs_push(out, h * w);
    }
    x = malloc(((size_t)k + 1) * sizeof(*x));
    y = malloc(((size_t)k + 1) * sizeof(*y));
    if (!x || !y)
        goto out;
    /* The vertices upsampled by 5, rounded as (int)(5 v + .5) rounds. */
    for (uint32_t j = 0; j < k; j++) {
        x[j] = (int)(scale * xy[2 * j] + .5);
        y[j] = (int)(scale * xy[2 * j + 1] + .5);
    }
    x[k] = x[0];
    y[k] = y[0];
    uint64_t m = 0;
    for (uint32_t j = 0; j < k; j++) {
        uint64_t dx = (uint64_t)llabs((long long)x[j] - x[j + 1]);
        uint64_t dy = (uint64_t)llabs((long long)y[j] - y[j + 1]);
        m += (dx > dy ? dx : dy) + 1;
    }
    if (m > ((uint64_t)1 << 28)) {
        rc = -2; /* a perimeter of hundreds of millions of points */
        goto out;
    }
    u = malloc((size_t)m * sizeof(*u));
    v = malloc((size_t)m * sizeof(*v));
    if (!u || !v)
        goto out;
    /* Every point along each edge, stepping along its longer axis. */
    m = 0;
    for (uint32_t j = 0; j < k; j++) {
        int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
        int dx = abs(xe - xs), dy = abs(ys - ye);
        if (dx == 0 && dy == 0) {
            /* A repeated vertex: one point (pycocotools computes 0 / 0
             * for its row, a value nothing below ever reads). */
            u[m] = xs;
            v[m++] = ys;
            continue;
        }
        int flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if (flip) {
            int t = xs;
            xs = xe;
            xe = t;
            t = ys;
            ys = ye;
            ye = t;
        }
        if (dx >= dy) {
            double s = (double)(ye - ys) / dx;
            for (int d = 0; d <= dx; d++) {
                int t = flip ? dx - d : d;
                u[m] = t + xs;
                v[m++] = (int)(ys + s * t + .5);
            }
        } else {
            double s = (double)(xe - xs) / dy;
            for (int d = 0; d <= dy; d++) {
                int t = flip ? dy - d : d;
                v[m] = t + ys;
                u[m++] = (int)(xs + s * t + .5);
            }
        }
    }
    /* Where the outline crosses a pixel column's centre line, back at the
     * original scale: the first row inside, as a column-major position. */
    a = malloc(((size_t)m + 1) * 2 * sizeof(*a));
    if (!a)
        goto out;
    uint64_t na = 0;
    for (uint64_t j = 1; j < m; j++) {
        if (u[j] == u[j - 1])
            continue;
        double xd = (double)(u[j] < u[j - 1] ? u[j] : u[j] - 1);
        xd = (xd + .5) / scale - .5;
        if (floor(xd) != xd || xd < 0 || xd > (double)w - 1)
            continue;
        double yd = (double)(v[j] < v[j - 1] ? v[j] : v[j - 1]);
        yd = (yd + .5) / scale - .5;
        if (yd < 0)
            yd = 0;
        else if (yd > h)
            yd = h;
        yd = ceil(yd);
        a[na++] = (uint32_t)((int)xd * (int)h + (int)yd);
    }
    a[na++] = h * w;
    sort_u32(a, a + m + 1, na);
    /* Differences are the runs; a 0 means two crossings at one place,
     * which cancel: the run after them joins the one before. */
    uint32_t prev = 0;
    for (uint64_t j = 0; j < na; j++) {
        uint32_t t = a[j];
        a[j] -= prev;
        prev = t;
    }
    if (dg__runs_reserve(out, na))
        goto out;
    uint64_t base = out->n, j = 0;
    out->v[out->n++] = a[j++];
    while (j < na) {
        if (a[j] > 0) {
            out->v[out->n++] = a[j++];
        } else {
            j++;
            if (j < na)
                out->v[out->n - 1] += a[j++];
        }
    }
    (void)base;
    rc = 0;
out:
    free(x);
    free(y);
    free(u);
    free(v);
    free(a);
    return rc;
}

int dg__rle_union(const uint32_t *cnts, const uint64_t *off, uint32_t n,
                  dg_runs *out)
{
    if (n == 0)
        return 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += off[i + 1] - off[i];
    if (n == 1) {
        if (dg__runs_reserve(out, total))
            return -1;
        memcpy(out->v + out->n, cnts + off[0], total * sizeof(uint32_t));
        out->n += total;
        return 0;
    }
    /* Two buffers, each big enough for any partial union. */
    uint32_t *acc = malloc((size_t)(total + 1) * sizeof(*acc));
    uint32_t *nxt = malloc((size_t)(total + 1) * sizeof(*nxt));
    if (!acc || !nxt) {
        free(acc);
        free(nxt);
        return -1;
    }
    uint64_t am = off[1] - off[0];
    memcpy(acc, cnts + off[0], am * sizeof(*acc));
    for (uint32_t i = 1; i < n; i++) {
        const uint32_t *B = cnts + off[i];
        uint64_t bm = off[i + 1] - off[i];
        /* Both walked in step; a run boundary is written where the
         * union's value changes, and at the very end. */
        uint32_t ca = am ? acc[0] : 0, cb = bm ? B[0] : 0, cc = 0;
        uint64_t ia = 1, ib = 1, m = 0;
        int va = 0, vb = 0, v = 0;
        for (;;) {
            uint32_t c = ca < cb ? ca : cb;
            cc += c;
            uint64_t ct = 0;
            ca -= c;
            if (!ca && ia < am) {
                ca = acc[ia++];
                va = !va;
            }
            ct += ca;
            cb -= c;
            if (!cb && ib < bm) {
                cb = B[ib++];
                vb = !vb;
            }
            ct += cb;
            int vp = v;
            v = va || vb;
            if (v != vp || ct == 0) {
                nxt[m++] = cc;
                cc = 0;
            }
            if (ct == 0)
                break;
        }
        uint32_t *t = acc;
        acc = nxt;
        nxt = t;
        am = m;
    }
    int rc = dg__runs_reserve(out, am);
    if (rc == 0) {
        memcpy(out->v + out->n, acc, am * sizeof(*acc));
        out->n += am;
    }
    free(acc);
    free(nxt);
    return rc;
}

/* ---- boundaries --------------------------------------------------------------- */

uint32_t dg__rle_dilation(uint32_t h, uint32_t w, double ratio)
{
    double diag = sqrt((double)((uint64_t)h * h + (uint64_t)w * w));
    double d = round(ratio * diag - 1e-10);
    if (!(d >= 1))
        return 1;
    if (d > 1e9)
        return 1000000000u;
    return (uint32_t)d;
}

/* Appends runs for the set pixels of a column-major byte image of n
 * pixels, canonical (no 0-long run but a first one). */
static int encode_bytes(const uint8_t *px, uint64_t n, dg_runs *out)
{
    uint8_t cur = 0;
    uint64_t len = 0;
    for (uint64_t p = 0; p < n; p++) {
        if (px[p] != cur) {
            if (len > UINT32_MAX || runs_push(out, (uint32_t)len))
                return -1;
            cur = px[p];
            len = 0;
        }
        len++;
    }
    return len > UINT32_MAX || runs_push(out, (uint32_t)len) ? -1 : 0;
}

/*
 * faster-coco-eval's erosion as written, for images at most 2d rows tall
 * (where it is not a square erosion): pixel c of a run of 1s survives when
 * every offset o = i h + j of its half window (i in 0..d, j in -d..d, not
 * i == 0 && j <= 0) has c - o and c + o inside the image and set and
 * c + o within d rows of c; after a survivor in the same run only the
 * window's new row is checked (i h + d, i in -d..d). Runs here are
 * canonical. Where faster-coco-eval reads before its mask (c + o < 0),
 * that pixel counts as unset.
 */
static void erode_tall(const uint8_t *px, const uint32_t *runs, uint64_t m,
                       uint32_t h, uint64_t n, int64_t d, uint8_t *er)
{
    int64_t c = 0, H = h;
    int one = 0;
    for (uint64_t r = 0; r < m; r++, one = !one) {
        int64_t end = c + runs[r];
        int prev = 0;
        for (; one && c < end; c++) {
            int64_t y = c % H;
            int ok = 1;
            if (prev) {
                for (int64_t i = d; i >= -d && ok; i--) {
                    int64_t t = c + i * H + d;
                    ok = t >= 0 && t < (int64_t)n && px[t] &&
                         llabs(t % H - y) <= d;
                }
            } else {
                for (int64_t i = d; i >= 0 && ok; i--)
                    for (int64_t j = d; j >= -d && ok; j--) {
                        if (i == 0 && j <= 0)
                            continue;
                        int64_t o = i * H + j, t = c + o, tm = c - o;
                        ok = tm >= 0 && tm < (int64_t)n && px[tm] && t >= 0 &&
                             t < (int64_t)n && px[t] && llabs(t % H - y) <= d;
                    }
            }
            er[c] = (uint8_t)ok;
            prev = ok;
        }
        c = end;
    }
}

int dg__rle_boundary(const uint32_t *cnts, uint64_t m, uint32_t h,
                     uint32_t w, double ratio, dg_runs *out)
{
    uint64_t n = (uint64_t)h * w, d = dg__rle_dilation(h, w, ratio);
    /* The mask's exact extent, 0-long runs aside. */
    uint32_t xs = UINT32_MAX, xe = 0, ys = UINT32_MAX, ye = 0;
    uint64_t p = 0;
    for (uint64_t j = 0; j < m; j++) {
        uint64_t len = cnts[j];
        if (j % 2 == 1 && len && h) {
            uint64_t a = p, b = p + len - 1;
            uint32_t xa = (uint32_t)(a / h), xb = (uint32_t)(b / h);
            if (xa < xs)
                xs = xa;
            if (xb > xe)
                xe = xb;
            if (xa != xb) {
                ys = 0;
                ye = h - 1;
            } else {
                uint32_t ya = (uint32_t)(a % h), yb = (uint32_t)(b % h);
                if (ya < ys)
                    ys = ya;
                if (yb > ye)
                    ye = yb;
            }
        }
        p += len;
    }
    if (xs == UINT32_MAX)
        return n > UINT32_MAX ? -1 : runs_push(out, (uint32_t)n);

    if ((uint64_t)h <= 2 * d) {
        /* Short images: the whole mask, eroded as faster-coco-eval does. */
        uint8_t *px = calloc((size_t)n, 1), *er = calloc((size_t)n, 1);
        dg_runs canon = {0};
        int rc = -1;
        if (!px || !er)
            goto short_out;
        /* Canonical runs: a 0-long run joins its neighbours. */
        p = 0;
        for (uint64_t j = 0; j < m; j++) {
            if (j % 2 == 1)
                memset(px + p, 1, cnts[j]);
            p += cnts[j];
        }
        if (encode_bytes(px, n, &canon))
            goto short_out;
        erode_tall(px, canon.v, canon.n, h, n, (int64_t)d, er);
        for (uint64_t q = 0; q < n; q++)
            px[q] = (uint8_t)(px[q] && !er[q]);
        rc = encode_bytes(px, n, out);
    short_out:
        free(px);
        free(er);
        dg__runs_release(&canon);
        return rc;
    }

    /*
     * A square erosion, on the mask's extent only (outside it the mask is
     * 0, so nothing there survives): down each column a run of 1s keeps
     * its rows at least d from both ends (the image's edges are ends too),
     * then along each row a pixel survives where 2d + 1 consecutive
     * columns centred on it do.
     */
    uint64_t bw = (uint64_t)xe - xs + 1, bh = (uint64_t)ye - ys + 1;
    uint8_t *mk = calloc((size_t)(bw * bh), 1);
    uint8_t *vt = calloc((size_t)(bw * bh), 1);
    uint32_t *run = calloc((size_t)bh, sizeof(*run));
    int rc = -1;
    if (!mk || !vt || !run)
        goto out;
    p = 0;
    for (uint64_t j = 0; j < m; j++) {
        uint64_t len = cnts[j];
        if (j % 2 == 1)
            for (uint64_t q = p; q < p + len; q++)
                mk[(q / h - xs) * bh + (q % h - ys)] = 1;
        p += len;
    }
    for (uint64_t x = 0; x < bw; x++) {
        const uint8_t *col = mk + x * bh;
        uint8_t *vc = vt + x * bh;
        for (uint64_t y = 0; y < bh;) {
            if (!col[y]) {
                y++;
                continue;
            }
            uint64_t a = y;
            while (y < bh && col[y])
                y++;
            /* rows a .. y - 1 of the extent; ys + a - d >= 0 and so on */
            if (y - a >= 2 * d + 1)
                memset(vc + a + d, 1, (size_t)(y - a - 2 * d));
        }
    }
    /* run[y]: consecutive columns ending here whose pixel survived the
     * vertical pass. Column x is final once column x + d is counted. */
    uint8_t *bd = mk; /* the boundary, written over the mask */
    for (uint64_t c = 0; c < bw + d; c++) {
        if (c < bw) {
            const uint8_t *vc = vt + c * bh;
            for (uint64_t y = 0; y < bh; y++)
                run[y] = vc[y] ? run[y] + 1 : 0;
        }
        if (c < d)
            continue;
        uint64_t x = c - d;
        uint8_t *col = bd + x * bh;
        for (uint64_t y = 0; y < bh; y++) {
            int kept = c < bw && run[y] >= 2 * d + 1;
            col[y] = (uint8_t)(col[y] && !kept);
        }
    }
    /* Runs over the whole image, column-major. */
    {
        uint64_t last = 0; /* the position after the last run of 1s */
        int any = 0;
        for (uint64_t x = 0; x < bw; x++)
            for (uint64_t y = 0; y < bh; y++) {
                if (!bd[x * bh + y])
                    continue;
                uint64_t q = (xs + x) * (uint64_t)h + ys + y;
                if (any && q == last) {
                    out->v[out->n - 1]++;
                } else {
                    if (runs_push(out, (uint32_t)(q - last)) ||
                        runs_push(out, 1))
                        goto out;
                    any = 1;
                }
                last = q + 1;
            }
        if (!any || last < n)
            if (runs_push(out, (uint32_t)(n - last)))
                goto out;
    }
    rc = 0;
out:
    free(mk);
    free(vt);
    free(run);
    return rc;
}

/* ---- shapes ------------------------------------------------------------------- */

void dg__shapes_init(dg_shapes *s)
{
    memset(s, 0, sizeof(*s));
}

void dg__shapes_release(dg_shapes *s)
{
    free(s->off);
    dg__runs_release(&s->runs);
    free(s->mh);
    free(s->mw);
    free(s->kp_off);
    free(s->kp);
    free(s->num_kp);
    free(s->area);
    memset(s, 0, sizeof(*s));
}

void dg__shapes_free(dg_shapes *s)
{
    if (!s)
        return;
    dg__shapes_release(s);
    free(s);
}

int dg__shapes_parts(const dg_shapes *s)
{
    int f = 0;
    for (uint64_t i = 0; s->off && i < s->n && !(f & DG_SHAPES_MASKS); i++)
        if (s->mh[i])
            f |= DG_SHAPES_MASKS;
    if (s->kp_off && s->n_kp)
        f |= DG_SHAPES_KP;
    if (s->num_kp)
        f |= DG_SHAPES_NUM_KP;
    if (s->area)
        f |= DG_SHAPES_AREA;
    return f;
}

dg_status dg__shapes_append(dg_ctx *ctx, dg_shapes *dst, const dg_shapes *src)
{
    int flags = (src->off ? DG_SHAPES_MASKS : 0) |
                (src->kp_off ? DG_SHAPES_KP : 0) |
                (src->num_kp ? DG_SHAPES_NUM_KP : 0) |
                (src->area ? DG_SHAPES_AREA : 0);
    dg_status st = dg__shapes_reserve(ctx, dst, flags, src->n);
    if (st < 0)
        return st;
    if (src->off && dg__runs_reserve(&dst->runs, src->runs.n))
        return dg__fail(ctx, DG_ENOMEM, "out of memory joining masks");
    for (uint64_t i = 0; i < src->n; i++) {
        dg__shapes_push_empty(dst);
        uint64_t k = dst->n - 1;
        if (src->off) {
            uint64_t a = src->off[i], b = src->off[i + 1];
            if (b > a)
                memcpy(dst->runs.v + dst->runs.n, src->runs.v + a,
                       (b - a) * 4);
            dst->runs.n += b - a;
            dst->off[k + 1] = dst->runs.n;
            dst->mh[k] = src->mh[i];
            dst->mw[k] = src->mw[i];
        }
        if (src->kp_off) {
            uint64_t a = src->kp_off[i], b = src->kp_off[i + 1];
            if (b > a && dg__shapes_add_kp(dst, src->kp + a, b - a))
                return dg__fail(ctx, DG_ENOMEM, "out of memory joining "
                                "keypoints");
        }
        if (src->num_kp)
            dst->num_kp[k] = src->num_kp[i];
        if (src->area)
            dst->area[k] = src->area[i];
    }
    return DG_OK;
}

dg_status dg__shapes_reserve(dg_ctx *ctx, dg_shapes *s, int flags,
                             uint64_t more)
{
    uint64_t need = s->n + more;
    int add = ((flags & DG_SHAPES_MASKS) && !s->off) ||
              ((flags & DG_SHAPES_KP) && !s->kp_off) ||
              ((flags & DG_SHAPES_NUM_KP) && !s->num_kp) ||
              ((flags & DG_SHAPES_AREA) && !s->area);
    if (need <= s->cap && !add && (s->cap || need == 0))
        return DG_OK;
    uint64_t cap = s->cap > need ? s->cap : (s->cap ? s->cap : 64);
    while (cap < need)
        cap += cap / 2 + 64;
    if (cap > (uint64_t)SIZE_MAX / 16)
        goto oom;
    size_t c = (size_t)cap;
    if ((flags & DG_SHAPES_MASKS) || s->off) {
        int fresh = !s->off;
        if (dg__grow((void **)&s->off, c + 1, 8) ||
            dg__grow((void **)&s->mh, c, 4) || dg__grow((void **)&s->mw, c, 4))
            goto oom;
        if (fresh) {
            /* Entries pushed before masks came have none. */
            for (uint64_t i = 0; i <= s->n; i++)
                s->off[i] = 0;
            for (uint64_t i = 0; i < s->n; i++)
                s->mh[i] = s->mw[i] = 0;
        }
    }
    if ((flags & DG_SHAPES_KP) || s->kp_off) {
        int fresh = !s->kp_off;
        if (dg__grow((void **)&s->kp_off, c + 1, 8))
            goto oom;
        if (fresh)
            for (uint64_t i = 0; i <= s->n; i++)
                s->kp_off[i] = 0;
    }
    if ((flags & DG_SHAPES_NUM_KP) || s->num_kp) {
        int fresh = !s->num_kp;
        if (dg__grow((void **)&s->num_kp, c, 4))
            goto oom;
        if (fresh)
            for (uint64_t i = 0; i < s->n; i++)
                s->num_kp[i] = -1;
    }
    if ((flags & DG_SHAPES_AREA) || s->area) {
        int fresh = !s->area;
        if (dg__grow((void **)&s->area, c, 8))
            goto oom;
        if (fresh)
            for (uint64_t i = 0; i < s->n; i++)
                s->area[i] = 0;
    }
    s->cap = cap;
    return DG_OK;
oom:
    return dg__fail(ctx, DG_ENOMEM, "out of memory growing masks and "
                    "keypoints to %llu entries", (unsigned long long)need);
}

void dg__shapes_push_empty(dg_shapes *s)
{
    uint64_t i = s->n++;
    if (s->off) {
        s->off[i + 1] = s->runs.n;
        s->mh[i] = s->mw[i] = 0;
    }
    if (s->kp_off)
        s->kp_off[i + 1] = s->n_kp;
    if (s->num_kp)
        s->num_kp[i] = -1;
    if (s->area)
        s->area[i] = 0;
}

void dg__shapes_end_mask(dg_shapes *s, uint32_t h, uint32_t w)
{
    uint64_t i = s->n - 1;
    s->off[i + 1] = s->runs.n;
    s->mh[i] = h;
    s->mw[i] = w;
}

int dg__shapes_add_kp(dg_shapes *s, const double *v, uint64_t n)
{
    if (s->n_kp + n > s->cap_kp) {
        uint64_t cap = s->cap_kp ? s->cap_kp : 1024;
        while (cap < s->n_kp + n)
            cap += cap / 2 + 1024;
        if (dg__grow((void **)&s->kp, cap, 8))
            return -1;
        s->cap_kp = cap;
    }
    memcpy(s->kp + s->n_kp, v, n * sizeof(double));
    s->n_kp += n;
    s->kp_off[s->n] = s->n_kp;
    return 0;
}

dg_status dg__shapes_sort_by_frame(dg_ctx *ctx, dg_shapes *s,
                                   const uint32_t *frame, uint32_t n_frames)
{
    uint64_t n = s->n;
    int sorted = 1;
    for (uint64_t i = 1; i < n && sorted; i++)
        sorted = frame[i] >= frame[i - 1];
    if (sorted)
        return DG_OK;
    uint64_t *next = dg__calloc(ctx, (size_t)n_frames + 1, sizeof(*next));
    uint64_t *perm = dg__alloc(ctx, n ? n : 1, sizeof(*perm));
    dg_shapes t;
    dg__shapes_init(&t);
    dg_status st = DG_OK;
    if (!next || !perm) {
        st = DG_ENOMEM;
        goto out;
    }
    /* The stable counting sort dg__boxset_sort_by_frame does. */
    for (uint64_t i = 0; i < n; i++)
        next[frame[i] + 1]++;
    for (uint32_t f = 0; f < n_frames; f++)
        next[f + 1] += next[f];
    for (uint64_t i = 0; i < n; i++)
        perm[next[frame[i]]++] = i;
    int flags = (s->off ? DG_SHAPES_MASKS : 0) |
                (s->kp_off ? DG_SHAPES_KP : 0) |
                (s->num_kp ? DG_SHAPES_NUM_KP : 0) |
                (s->area ? DG_SHAPES_AREA : 0);
    if ((st = dg__shapes_reserve(ctx, &t, flags, n)) < 0)
        goto out;
    if (s->off && dg__runs_reserve(&t.runs, s->runs.n)) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory sorting masks");
        goto out;
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t i = perm[k];
        dg__shapes_push_empty(&t);
        if (s->off) {
            uint64_t a = s->off[i], b = s->off[i + 1];
            if (b > a)
                memcpy(t.runs.v + t.runs.n, s->runs.v + a, (b - a) * 4);
            t.runs.n += b - a;
            t.off[k + 1] = t.runs.n;
            t.mh[k] = s->mh[i];
            t.mw[k] = s->mw[i];
        }
        if (s->kp_off) {
            uint64_t a = s->kp_off[i], b = s->kp_off[i + 1];
            if (b > a && dg__shapes_add_kp(&t, s->kp + a, b - a)) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory sorting "
                              "keypoints");
                goto out;
            }
        }
        if (s->num_kp)
            t.num_kp[k] = s->num_kp[i];
        if (s->area)
            t.area[k] = s->area[i];
    }
    dg__shapes_release(s);
    *s = t;
    dg__shapes_init(&t);
out:
    dg__shapes_release(&t);
    free(next);
    free(perm);
    return st;
}
