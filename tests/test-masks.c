/*
 * Masks and keypoints, plain C: the run-length code against brute force
 * on dense pixel images (area, box, union, IoU, boundary, the string code
 * both ways), dg__oks_exp against libm, OKS against a direct evaluation.
 *
 * With --oracle it is the C side of tests/test_masks.py instead: it reads
 * one JSON request a line on stdin and answers each with one JSON line on
 * stdout, so that the Python test can hold every function up against
 * pycocotools.mask and faster-coco-eval themselves.
 */
#include <cjson/cJSON.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"

/* ---- a tiny random generator -------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return dg__mix64(rng_state);
}

static double rndu(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static uint32_t rndn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

/* ---- dense helpers ------------------------------------------------------ */

/* Runs of a column-major byte image, as pycocotools' rleEncode. */
static void encode(const uint8_t *px, uint64_t n, dg_runs *r)
{
    r->n = 0;
    uint8_t cur = 0;
    uint32_t len = 0;
    for (uint64_t p = 0; p < n; p++) {
        if (px[p] != cur) {
            dg__runs_reserve(r, 1);
            r->v[r->n++] = len;
            cur = px[p];
            len = 0;
        }
        len++;
    }
    dg__runs_reserve(r, 1);
    r->v[r->n++] = len;
}

static void decode(const uint32_t *c, uint64_t m, uint8_t *px)
{
    uint8_t v = 0;
    for (uint64_t j = 0; j < m; j++, v = !v) {
        memset(px, v, c[j]);
        px += c[j];
    }
}

/* A random mask: blobs, holes, stripes or nothing. */
static void random_mask(uint8_t *px, uint32_t h, uint32_t w)
{
    memset(px, 0, (size_t)h * w);
    int kind = (int)rndn(5);
    if (kind == 0)
        return;
    if (kind == 1) {
        for (uint64_t p = 0; p < (uint64_t)h * w; p++)
            px[p] = rndu() < 0.3;
        return;
    }
    int nb = 1 + (int)rndn(4);
    for (int b = 0; b < nb; b++) {
        uint32_t x0 = rndn(w), y0 = rndn(h);
        uint32_t x1 = x0 + rndn(w - x0) + 1, y1 = y0 + rndn(h - y0) + 1;
        uint8_t v = kind == 3 && b > 0 ? 0 : 1; /* later blobs cut holes */
        for (uint32_t x = x0; x < x1; x++)
            for (uint32_t y = y0; y < y1; y++)
                px[(size_t)x * h + y] = v;
    }
}

/* pycocotools' rleToBbox, literally, on the dense image. */
static void dense_bbox(const uint8_t *px, uint32_t h, uint32_t w,
                       uint32_t bb[4])
{
    uint32_t xs = w, xe = 0, ys = h, ye = 0;
    int any = 0;
    for (uint32_t x = 0; x < w; x++)
        for (uint32_t y = 0; y < h; y++)
            if (px[(size_t)x * h + y]) {
                any = 1;
                xs = x < xs ? x : xs;
                xe = x > xe ? x : xe;
                ys = y < ys ? y : ys;
                ye = y > ye ? y : ye;
            }
    if (!any) {
        bb[0] = bb[1] = bb[2] = bb[3] = 0;
        return;
    }
    bb[0] = xs;
    bb[1] = ys;
    bb[2] = xe - xs + 1;
    bb[3] = ye - ys + 1;
}

/* The square erosion boundary, brute force. */
static void dense_boundary(const uint8_t *px, uint32_t h, uint32_t w,
                           uint32_t d, uint8_t *out)
{
    for (uint32_t x = 0; x < w; x++)
        for (uint32_t y = 0; y < h; y++) {
            size_t p = (size_t)x * h + y;
            int keep = px[p] != 0;
            for (int64_t i = -(int64_t)d; keep && i <= (int64_t)d; i++)
                for (int64_t j = -(int64_t)d; keep && j <= (int64_t)d; j++) {
                    int64_t xx = (int64_t)x + i, yy = (int64_t)y + j;
                    keep = xx >= 0 && yy >= 0 && xx < w && yy < h &&
                           px[(size_t)xx * h + (size_t)yy];
                }
            out[p] = (uint8_t)(px[p] && !keep);
        }
}

/* ---- self-checks ---------------------------------------------------------- */

static void test_string_code(void)
{
    /* Hand-checked: runs 3, 5, 2 (3 zeros, 5 ones, 2 zeros). */
    uint32_t c[] = {3, 5, 2};
    char *s = dg__rle_encode(c, 3);
    CHECK(s && strcmp(s, "352") == 0);
    dg_runs r = {0};
    char err[128];
    CHECK_EQ_INT(dg__rle_decode(s, strlen(s), 2, 5, &r, err, sizeof(err)), 0);
    CHECK_EQ_INT(r.n, 3);
    CHECK(r.n == 3 && r.v[0] == 3 && r.v[1] == 5 && r.v[2] == 2);
    free(s);
    /* Bad input: out-of-range character, truncated value, wrong sum. */
    r.n = 0;
    CHECK_EQ_INT(dg__rle_decode("3~2", 3, 2, 5, &r, err, sizeof(err)), -1);
    CHECK_STR_CONTAINS(err, "character 1");
    r.n = 0;
    CHECK_EQ_INT(dg__rle_decode("3P", 2, 2, 5, &r, err, sizeof(err)), -1);
    CHECK_STR_CONTAINS(err, "ends inside a value");
    r.n = 0;
    CHECK_EQ_INT(dg__rle_decode("35", 2, 2, 5, &r, err, sizeof(err)), -1);
    CHECK_STR_CONTAINS(err, "cover 8 pixels");
    /* Random runs survive the round trip, large ones and differences. */
    for (int it = 0; it < 2000; it++) {
        uint32_t m = 1 + rndn(40), cnt[40];
        uint64_t sum = 0;
        for (uint32_t j = 0; j < m; j++) {
            cnt[j] = rndn(4) == 0 ? (uint32_t)(rnd() % 50000000u) : rndn(40);
            if (j > 0 && rndn(7) == 0)
                cnt[j] = 0;
            sum += cnt[j];
        }
        char *t = dg__rle_encode(cnt, m);
        r.n = 0;
        int rc = dg__rle_decode(t, strlen(t), 1, sum, &r, err, sizeof(err));
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.n, m);
        int same = r.n == m;
        for (uint32_t j = 0; same && j < m; j++)
            same = r.v[j] == cnt[j];
        CHECK(same);
        free(t);
    }
    dg__runs_release(&r);
}

static void test_against_dense(void)
{
    dg_runs ra = {0}, rb = {0}, ru = {0}, rbd = {0};
    for (int it = 0; it < 600; it++) {
        uint32_t h = 1 + rndn(40), w = 1 + rndn(40);
        size_t n = (size_t)h * w;
        uint8_t *a = malloc(n), *b = malloc(n), *u = malloc(n),
                *t = malloc(n), *bd = malloc(n);
        random_mask(a, h, w);
        random_mask(b, h, w);
        encode(a, n, &ra);
        encode(b, n, &rb);
        uint64_t area = 0, inter = 0, uni = 0;
        for (size_t p = 0; p < n; p++) {
            area += a[p];
            inter += a[p] && b[p];
            uni += a[p] || b[p];
            u[p] = a[p] | b[p];
        }
        CHECK_EQ_INT(dg__rle_area(ra.v, ra.n), area);
        uint32_t bb1[4], bb2[4];
        dg__rle_bbox(ra.v, ra.n, h, w, bb1);
        dense_bbox(a, h, w, bb2);
        /* A canonical code's box: the dense one, widened to the full
         * height when a run of 1s wraps a column. */
        CHECK(bb1[0] == bb2[0] && bb1[2] == bb2[2]);
        CHECK(bb1[1] <= bb2[1] && bb1[1] + bb1[3] >= bb2[1] + bb2[3]);
        /* Union of the two. */
        uint64_t off[3] = {0, ra.n, ra.n + rb.n};
        uint32_t *both = malloc((ra.n + rb.n) * 4);
        memcpy(both, ra.v, ra.n * 4);
        memcpy(both + ra.n, rb.v, rb.n * 4);
        ru.n = 0;
        CHECK_EQ_INT(dg__rle_union(both, off, 2, &ru), 0);
        decode(ru.v, ru.n, t);
        CHECK(memcmp(t, u, n) == 0);
        /* IoU, plain and crowd. */
        uint32_t bba[4], bbb[4];
        dg__rle_bbox(ra.v, ra.n, h, w, bba);
        dg__rle_bbox(rb.v, rb.n, h, w, bbb);
        uint64_t moff[2] = {0, ra.n}, goff[2] = {0, rb.n};
        uint8_t crowd = 0;
        dg_mask_iou_input in;
        memset(&in, 0, sizeof(in));
        in.dt = (dg_mask_objs){moff, ra.v, &h, &w, bba};
        in.gt = (dg_mask_objs){goff, rb.v, &h, &w, bbb};
        in.crowd = &crowd;
        double want = inter ? (double)inter / (double)uni : 0.0;
        CHECK_EQ_DBL(dg__mask_iou_pair_ref(&in, 0, 0), want);
        crowd = 1;
        want = inter ? (double)inter / (double)area : 0.0;
        CHECK_EQ_DBL(dg__mask_iou_pair_ref(&in, 0, 0), want);
        /* Boundary: a square erosion on images taller than 2d. */
        double ratio = rndn(2) ? 0.02 : 0.1;
        uint32_t d = dg__rle_dilation(h, w, ratio);
        if (h > 2 * d) {
            rbd.n = 0;
            CHECK_EQ_INT(dg__rle_boundary(ra.v, ra.n, h, w, ratio, &rbd), 0);
            decode(rbd.v, rbd.n, t);
            dense_boundary(a, h, w, d, bd);
            CHECK(memcmp(t, bd, n) == 0);
            uint64_t s = 0;
            for (uint64_t j = 0; j < rbd.n; j++)
                s += rbd.v[j];
            CHECK_EQ_INT(s, n);
        }
        free(both);
        free(a);
        free(b);
        free(u);
        free(t);
        free(bd);
    }
    dg__runs_release(&ra);
    dg__runs_release(&rb);
    dg__runs_release(&ru);
    dg__runs_release(&rbd);
}

static void test_poly(void)
{
    /* The square from (1, 1) to (3, 3) in a 5 x 5 image covers the four
     * pixels whose centres lie inside it, x and y in 1..2 (pycocotools
     * gives "62309"; tests/test_masks.py checks many more). */
    double sq[] = {1, 1, 1, 3, 3, 3, 3, 1};
    dg_runs r = {0};
    CHECK_EQ_INT(dg__rle_from_poly(sq, 4, 5, 5, &r), 0);
    uint8_t px[25];
    uint64_t sum = 0;
    for (uint64_t j = 0; j < r.n; j++)
        sum += r.v[j];
    CHECK_EQ_INT(sum, 25);
    decode(r.v, r.n, px);
    uint32_t bb[4];
    dense_bbox(px, 5, 5, bb);
    CHECK_EQ_INT(dg__rle_area(r.v, r.n), 4);
    CHECK(bb[0] == 1 && bb[1] == 1 && bb[2] == 2 && bb[3] == 2);
    char *s = dg__rle_encode(r.v, r.n);
    CHECK(s && strcmp(s, "62309") == 0);
    free(s);
    /* Repeated vertices and a polygon outside the image. */
    double rep[] = {1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 1};
    r.n = 0;
    CHECK_EQ_INT(dg__rle_from_poly(rep, 6, 5, 5, &r), 0);
    CHECK_EQ_INT(dg__rle_area(r.v, r.n), 4);
    double out[] = {-10, -10, -10, -5, -5, -5};
    r.n = 0;
    CHECK_EQ_INT(dg__rle_from_poly(out, 3, 5, 5, &r), 0);
    CHECK_EQ_INT(dg__rle_area(r.v, r.n), 0);
    dg__runs_release(&r);
}

static void test_exp(void)
{
    /* Against libm's exp: never more than one unit in the last place
     * apart, and the same in nearly every case. */
    int far = 0, diff = 0, n = 0;
    for (int it = 0; it < 400000; it++) {
        double x = -rndu() * (it % 4 == 0 ? 745.0 : it % 4 == 1 ? 40 : 2);
        if (it % 97 == 0)
            x = -x;
        double a = dg__oks_exp(x), b = exp(x);
        n++;
        if (a != b) {
            diff++;
            double ulp = nextafter(b, INFINITY) - b;
            if (fabs(a - b) > ulp * 1.0000001)
                far++;
        }
    }
    CHECK_EQ_INT(far, 0);
    CHECK(diff * 100 < n); /* libm itself is not always correctly rounded */
    CHECK_EQ_DBL(dg__oks_exp(0.0), 1.0);
    CHECK_EQ_DBL(dg__oks_exp(-800), 0.0);
    CHECK_EQ_DBL(dg__oks_exp(-INFINITY), 0.0);
    CHECK(isnan(dg__oks_exp(NAN)));
    /* Subnormal results round once. */
    CHECK_EQ_DBL(dg__oks_exp(-740.0), exp(-740.0));
    CHECK_EQ_DBL(dg__oks_exp(-708.5), exp(-708.5));
}

static void test_oks(void)
{
    /* One ground truth with two visible keypoints, one detection. */
    double gk[] = {10, 10, 2, 20, 20, 1, 0, 0, 0};
    double dk[] = {11, 10, 1, 20, 22, 1, 5, 5, 1};
    double gbox[] = {5, 5, 20, 20}, garea[] = {300};
    double sig[] = {0.1, 0.2, 0.3};
    uint64_t off[2] = {0, 9}, gsig[1] = {0};
    uint64_t doff[2] = {0, 1}, goff2[2] = {0, 1}, toff[2] = {0, 1};
    uint32_t dl[1] = {0}, gl[1] = {0};
    dg_oks_input in = {{1, doff, goff2, toff, dl, gl}, off, off, dk, gk,
                       gbox, garea, gsig, sig};
    double e0 = 1.0 / (0.2 * 0.2) / (300 + DBL_EPSILON) / 2;
    double e1 = 4.0 / (0.4 * 0.4) / (300 + DBL_EPSILON) / 2;
    double want = (exp(-e0) + exp(-e1)) / 2;
    CHECK_NEAR(dg__oks_pair_ref(&in, 0, 0), want, 1e-15);
    /* No visible keypoint: distances outside the box grown by its size
     * (-15 .. 45), over all three. */
    gk[2] = gk[5] = 0;
    dk[0] = -20; /* 5 outside */
    dk[4] = 50;  /* 5 outside */
    double v = 2 * (DBL_EPSILON + 300);
    double w0 = exp(-(25.0 / (0.2 * 0.2) / (300 + DBL_EPSILON) / 2));
    double w1 = exp(-(25.0 / (0.4 * 0.4) / (300 + DBL_EPSILON) / 2));
    (void)v;
    CHECK_NEAR(dg__oks_pair_ref(&in, 0, 0), (w0 + w1 + 1.0) / 3, 1e-15);
    double t[1];
    CHECK_EQ_INT(dg__oks_ref(NULL, &in, t), DG_OK);
    CHECK_EQ_DBL(t[0], dg__oks_pair_ref(&in, 0, 0));
}

/* ---- the oracle ---------------------------------------------------------------- */

static void put_runs(cJSON *o, const char *key, const dg_runs *r)
{
    char *s = dg__rle_encode(r->v, r->n);
    cJSON_AddStringToObject(o, key, s ? s : "");
    free(s);
}

/* Decodes {"counts": "...", "size": [h, w]}; 0 or -1. */
static int get_rle(const cJSON *j, dg_runs *r, uint32_t *h, uint32_t *w)
{
    const cJSON *c = cJSON_GetObjectItem(j, "counts");
    const cJSON *sz = cJSON_GetObjectItem(j, "size");
    if (!cJSON_IsString(c) || !cJSON_IsArray(sz))
        return -1;
    *h = (uint32_t)cJSON_GetArrayItem(sz, 0)->valuedouble;
    *w = (uint32_t)cJSON_GetArrayItem(sz, 1)->valuedouble;
    char err[128];
    r->n = 0;
    return dg__rle_decode(c->valuestring, strlen(c->valuestring), *h, *w, r,
                          err, sizeof(err));
}

static cJSON *num(double v)
{
    char b[40];
    snprintf(b, sizeof(b), "%.17g", v);
    return isfinite(v) ? cJSON_CreateRaw(b) : cJSON_CreateNull();
}

/* One set of masks for the tile stage, from a JSON array of RLEs. */
typedef struct mset {
    dg_runs r;
    uint64_t *off;
    uint32_t *h, *w, *bb;
    int n;
} mset;

static int mset_read(const cJSON *arr, mset *m)
{
    memset(m, 0, sizeof(*m));
    m->n = cJSON_GetArraySize(arr);
    m->off = calloc((size_t)m->n + 1, 8);
    m->h = calloc((size_t)m->n + 1, 4);
    m->w = calloc((size_t)m->n + 1, 4);
    m->bb = calloc((size_t)m->n * 4 + 4, 4);
    dg_runs one = {0};
    for (int i = 0; i < m->n; i++) {
        if (get_rle(cJSON_GetArrayItem(arr, i), &one, &m->h[i], &m->w[i]))
            return -1;
        dg__runs_reserve(&m->r, one.n);
        memcpy(m->r.v + m->r.n, one.v, one.n * 4);
        m->r.n += one.n;
        m->off[i + 1] = m->r.n;
        dg__rle_bbox(one.v, one.n, m->h[i], m->w[i], m->bb + 4 * i);
    }
    dg__runs_release(&one);
    return 0;
}

static void mset_free(mset *m)
{
    dg__runs_release(&m->r);
    free(m->off);
    free(m->h);
    free(m->w);
    free(m->bb);
}

static cJSON *answer(const cJSON *q)
{
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(q, "op"));
    cJSON *o = cJSON_CreateObject();
    if (!op)
        return o;
    if (!strcmp(op, "poly") || !strcmp(op, "frbbox")) {
        /* frPyObjects(polys, h, w) then merge: one mask. */
        uint32_t h = (uint32_t)cJSON_GetObjectItem(q, "h")->valuedouble;
        uint32_t w = (uint32_t)cJSON_GetObjectItem(q, "w")->valuedouble;
        const cJSON *ps = cJSON_GetObjectItem(q, "polys");
        int np = cJSON_GetArraySize(ps);
        dg_runs parts = {0}, out = {0};
        uint64_t *off = calloc((size_t)np + 1, 8);
        for (int i = 0; i < np; i++) {
            const cJSON *p = cJSON_GetArrayItem(ps, i);
            int nv = cJSON_GetArraySize(p);
            double *xy = calloc((size_t)nv + 8, sizeof(double));
            for (int k = 0; k < nv; k++)
                xy[k] = cJSON_GetArrayItem(p, k)->valuedouble;
            if (!strcmp(op, "frbbox")) {
                double b[8] = {xy[0], xy[1], xy[0], xy[1] + xy[3],
                               xy[0] + xy[2], xy[1] + xy[3], xy[0] + xy[2],
                               xy[1]};
                dg__rle_from_poly(b, 4, h, w, &parts);
            } else {
                dg__rle_from_poly(xy, (uint32_t)nv / 2, h, w, &parts);
            }
            off[i + 1] = parts.n;
            free(xy);
        }
        dg__rle_union(parts.v, off, (uint32_t)np, &out);
        put_runs(o, "counts", &out);
        uint32_t bb[4];
        dg__rle_bbox(out.v, out.n, h, w, bb);
        cJSON *b = cJSON_AddArrayToObject(o, "bbox");
        for (int k = 0; k < 4; k++)
            cJSON_AddItemToArray(b, cJSON_CreateNumber(bb[k]));
        cJSON_AddNumberToObject(o, "area",
                                (double)dg__rle_area(out.v, out.n));
        free(off);
        dg__runs_release(&parts);
        dg__runs_release(&out);
    } else if (!strcmp(op, "rle")) {
        /* area, toBbox and the boundary of one RLE. */
        dg_runs r = {0}, bd = {0};
        uint32_t h, w;
        if (get_rle(cJSON_GetObjectItem(q, "rle"), &r, &h, &w) == 0) {
            uint32_t bb[4];
            dg__rle_bbox(r.v, r.n, h, w, bb);
            cJSON *b = cJSON_AddArrayToObject(o, "bbox");
            for (int k = 0; k < 4; k++)
                cJSON_AddItemToArray(b, cJSON_CreateNumber(bb[k]));
            cJSON_AddNumberToObject(o, "area", (double)dg__rle_area(r.v, r.n));
            const cJSON *ratio = cJSON_GetObjectItem(q, "ratio");
            if (ratio &&
                dg__rle_boundary(r.v, r.n, h, w, ratio->valuedouble, &bd) == 0)
                put_runs(o, "boundary", &bd);
            put_runs(o, "counts", &r);
        }
        dg__runs_release(&r);
        dg__runs_release(&bd);
    } else if (!strcmp(op, "uncompressed")) {
        /* frUncompressedRLE: runs as given, compressed. */
        const cJSON *c = cJSON_GetObjectItem(q, "counts");
        dg_runs r = {0};
        int n = cJSON_GetArraySize(c);
        dg__runs_reserve(&r, (uint64_t)n + 1);
        for (int k = 0; k < n; k++)
            r.v[r.n++] = (uint32_t)cJSON_GetArrayItem(c, k)->valuedouble;
        put_runs(o, "counts", &r);
        dg__runs_release(&r);
    } else if (!strcmp(op, "iou")) {
        mset D, G;
        const cJSON *cr = cJSON_GetObjectItem(q, "iscrowd");
        if (mset_read(cJSON_GetObjectItem(q, "dt"), &D) == 0 &&
            mset_read(cJSON_GetObjectItem(q, "gt"), &G) == 0) {
            uint8_t *crowd = calloc((size_t)G.n + 1, 1);
            for (int g = 0; g < G.n; g++)
                crowd[g] = (uint8_t)cJSON_GetArrayItem(cr, g)->valuedouble;
            uint32_t *dl = calloc((size_t)D.n + 1, 4),
                     *gl = calloc((size_t)G.n + 1, 4);
            for (int i = 0; i < D.n; i++)
                dl[i] = (uint32_t)i;
            for (int i = 0; i < G.n; i++)
                gl[i] = (uint32_t)i;
            uint64_t doff[2] = {0, (uint64_t)D.n}, goff[2] = {0, (uint64_t)G.n};
            uint64_t toff[2] = {0, (uint64_t)D.n * G.n};
            dg_mask_iou_input in = {{1, doff, goff, toff, dl, gl},
                                    {D.off, D.r.v, D.h, D.w, D.bb},
                                    {G.off, G.r.v, G.h, G.w, G.bb},
                                    crowd};
            double *t = calloc(toff[1] + 1, sizeof(double));
            dg__mask_iou_ref(NULL, &in, t);
            cJSON *a = cJSON_AddArrayToObject(o, "iou");
            for (uint64_t i = 0; i < toff[1]; i++)
                cJSON_AddItemToArray(a, num(t[i]));
            free(t);
            free(dl);
            free(gl);
            free(crowd);
        }
        mset_free(&D);
        mset_free(&G);
    } else if (!strcmp(op, "oks")) {
        /* dts: [[kp...]], gts: [{keypoints, bbox, area}], sigmas. */
        const cJSON *ds = cJSON_GetObjectItem(q, "dts");
        const cJSON *gs = cJSON_GetObjectItem(q, "gts");
        const cJSON *sg = cJSON_GetObjectItem(q, "sigmas");
        int nd = cJSON_GetArraySize(ds), ng = cJSON_GetArraySize(gs);
        int ns = cJSON_GetArraySize(sg);
        uint64_t *dko = calloc((size_t)nd + 1, 8), *gko = calloc((size_t)ng + 1, 8);
        double *dk = calloc((size_t)nd * 3 * ns + 1, 8);
        double *gk = calloc((size_t)ng * 3 * ns + 1, 8);
        double *gb = calloc((size_t)ng * 4 + 1, 8), *ga = calloc((size_t)ng + 1, 8);
        uint64_t *gsig = calloc((size_t)ng + 1, 8);
        double *sig = calloc((size_t)ns + 1, 8);
        for (int i = 0; i < ns; i++)
            sig[i] = cJSON_GetArrayItem(sg, i)->valuedouble;
        for (int i = 0; i < nd; i++) {
            const cJSON *a = cJSON_GetArrayItem(ds, i);
            for (int k = 0; k < 3 * ns; k++)
                dk[(size_t)i * 3 * ns + k] = cJSON_GetArrayItem(a, k)->valuedouble;
            dko[i + 1] = (uint64_t)(i + 1) * 3 * ns;
        }
        for (int i = 0; i < ng; i++) {
            const cJSON *g = cJSON_GetArrayItem(gs, i);
            const cJSON *a = cJSON_GetObjectItem(g, "keypoints");
            const cJSON *b = cJSON_GetObjectItem(g, "bbox");
            for (int k = 0; k < 3 * ns; k++)
                gk[(size_t)i * 3 * ns + k] = cJSON_GetArrayItem(a, k)->valuedouble;
            for (int k = 0; k < 4; k++)
                gb[4 * i + k] = cJSON_GetArrayItem(b, k)->valuedouble;
            ga[i] = cJSON_GetObjectItem(g, "area")->valuedouble;
            gko[i + 1] = (uint64_t)(i + 1) * 3 * ns;
        }
        uint32_t *dl = calloc((size_t)nd + 1, 4), *gl = calloc((size_t)ng + 1, 4);
        for (int i = 0; i < nd; i++)
            dl[i] = (uint32_t)i;
        for (int i = 0; i < ng; i++)
            gl[i] = (uint32_t)i;
        uint64_t doff[2] = {0, (uint64_t)nd}, goff[2] = {0, (uint64_t)ng};
        uint64_t toff[2] = {0, (uint64_t)nd * ng};
        dg_oks_input in = {{1, doff, goff, toff, dl, gl}, dko, gko, dk, gk,
                           gb, ga, gsig, sig};
        double *t = calloc(toff[1] + 1, sizeof(double));
        dg__oks_ref(NULL, &in, t);
        cJSON *a = cJSON_AddArrayToObject(o, "oks");
        for (uint64_t i = 0; i < toff[1]; i++)
            cJSON_AddItemToArray(a, num(t[i]));
        free(t);
        free(dl);
        free(gl);
        free(dko);
        free(gko);
        free(dk);
        free(gk);
        free(gb);
        free(ga);
        free(gsig);
        free(sig);
    } else if (!strcmp(op, "exp")) {
        const cJSON *xs = cJSON_GetObjectItem(q, "x");
        cJSON *a = cJSON_AddArrayToObject(o, "y");
        for (int i = 0; i < cJSON_GetArraySize(xs); i++)
            cJSON_AddItemToArray(
                a, num(dg__oks_exp(cJSON_GetArrayItem(xs, i)->valuedouble)));
    }
    return o;
}

static int oracle(void)
{
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    for (;;) {
        size_t n = 0;
        int c;
        while ((c = getchar()) != EOF && c != '\n') {
            if (n + 1 >= cap) {
                cap *= 2;
                line = realloc(line, cap);
            }
            line[n++] = (char)c;
        }
        if (c == EOF && n == 0)
            break;
        line[n] = 0;
        cJSON *q = cJSON_Parse(line);
        cJSON *o = answer(q);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        fflush(stdout);
        free(s);
        cJSON_Delete(o);
        cJSON_Delete(q);
    }
    free(line);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--oracle"))
        return oracle();
    test_string_code();
    test_against_dense();
    test_poly();
    test_exp();
    test_oks();
    return check_done("test-masks");
}
