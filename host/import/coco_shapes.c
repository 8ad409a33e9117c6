/*
 * The 'segmentation' and 'keypoints' fields of COCO records, as
 * pycocotools' COCO.annToRLE and loadRes read them (docs/MASKS.md):
 *
 *   - a list of polygons [[x1, y1, x2, y2, ...], ...]: each rasterised at
 *     the image's height and width (rleFrPoly), their union the mask;
 *   - {"size": [h, w], "counts": [runs...]}: uncompressed RLE, as is;
 *   - {"size": [h, w], "counts": "..."}: COCO's compressed string.
 *
 * Where pycocotools would read out of bounds or crash (an odd number of
 * coordinates, a string with characters outside '0'..'o', runs that do not
 * cover the image) the field is refused with the reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coco_shapes.h"

/* Masks of up to 2^31 - 1 pixels: pycocotools' rleFrPoly indexes them
 * with an int. */
#define MAX_PIXELS 2147483647.0

void dg__shape_reader_release(dg_shape_reader *rd)
{
    dg__runs_release(&rd->parts);
    free(rd->poff);
    free(rd->xy);
    free(rd->str);
    memset(rd, 0, sizeof(*rd));
}

static int bad(char *err, size_t cap, const char *fmt, ...)
    DG_PRINTF(3, 4);
static int bad(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return DG_SHAPE_BAD;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    if (dg__grow(p, c, size))
        return -1;
    *cap = c;
    return 0;
}

/* A whole number in [lo, hi] from node i. */
static int get_whole(const dg_json *j, uint32_t i, double lo, double hi,
                     double *out)
{
    if (dg__json_type(j, i) != DG_JSON_NUMBER)
        return -1;
    double v = dg__json_number(j, i);
    if (!(v >= lo && v <= hi) || v != floor(v))
        return -1;
    *out = v;
    return 0;
}

/* The mask columns of sh, added when it has none yet. */
static int want_masks(dg_shapes *sh)
{
    return dg__shapes_reserve(NULL, sh, DG_SHAPES_MASKS, 0) < 0 ? -1 : 0;
}

static int read_polygons(dg_json *j, uint32_t item, double img_w,
                         double img_h, dg_shapes *sh, dg_shape_reader *rd,
                         char *err, size_t errcap)
{
    uint32_t n = dg__json_count(j, item);
    if (!(img_w >= 1 && img_h >= 1 && img_w == floor(img_w) &&
          img_h == floor(img_h)))
        return bad(err, errcap, "polygons need the image's width and height "
                   "(the image has none)");
    if (img_w * img_h > MAX_PIXELS)
        return bad(err, errcap, "the image (%.0f x %.0f) is too large for "
                   "masks", img_w, img_h);
    uint32_t h = (uint32_t)img_h, w = (uint32_t)img_w;
    if (grow((void **)&rd->poff, &rd->poff_cap, (size_t)n + 1, 8))
        return DG_SHAPE_NOMEM;
    rd->parts.n = 0;
    rd->poff[0] = 0;
    uint32_t c = item + 1;
    for (uint32_t k = 0; k < n; k++, c = dg__json_next(j, c)) {
        if (dg__json_type(j, c) != DG_JSON_ARRAY)
            return bad(err, errcap, "polygon %u is not a list of numbers "
                       "(got %s)", k, dg__json_type_name(j, c));
        uint32_t nv = dg__json_count(j, c);
        if (nv < 2 || nv % 2)
            return bad(err, errcap, "polygon %u has %u numbers, expected "
                       "pairs x, y (at least one)", k, nv);
        if (grow((void **)&rd->xy, &rd->xy_cap, nv, 8))
            return DG_SHAPE_NOMEM;
        uint32_t e = c + 1;
        for (uint32_t v = 0; v < nv; v++, e = dg__json_next(j, e)) {
            if (dg__json_type(j, e) != DG_JSON_NUMBER)
                return bad(err, errcap, "polygon %u: value %u is not a "
                           "number (got %s)", k, v, dg__json_type_name(j, e));
            double x = dg__json_number(j, e);
            if (!(fabs(x) <= DG_RLE_MAX_COORD))
                return bad(err, errcap, "polygon %u: value %u (%g) is not a "
                           "coordinate within +-%g", k, v, x,
                           DG_RLE_MAX_COORD);
            rd->xy[v] = x;
        }
        int rc = dg__rle_from_poly(rd->xy, nv / 2, h, w, &rd->parts);
        if (rc == -2)
            return bad(err, errcap, "polygon %u is too long an outline to "
                       "rasterise", k);
        if (rc < 0)
            return DG_SHAPE_NOMEM;
        rd->poff[k + 1] = rd->parts.n;
    }
    if (want_masks(sh) || dg__rle_union(rd->parts.v, rd->poff, n, &sh->runs))
        return DG_SHAPE_NOMEM;
    dg__shapes_end_mask(sh, h, w);
    return DG_SHAPE_OK;
}

/* The counts string unescaped into rd->str (only ASCII escapes can be
 * part of a valid code). */
static int unescape(const dg_json *j, uint32_t i, dg_shape_reader *rd,
                    size_t *len, char *err, size_t errcap)
{
    size_t n;
    const char *s = dg__json_raw(j, i, &n);
    if (grow((void **)&rd->str, &rd->str_cap, n + 1, 1))
        return DG_SHAPE_NOMEM;
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        if (s[r] != '\\') {
            rd->str[w++] = s[r++];
            continue;
        }
        char c = s[r + 1];
        if (c == '\\' || c == '/' || c == '"') {
            rd->str[w++] = c;
            r += 2;
        } else if (c == 'u') {
            unsigned v = 0;
            for (int k = 0; k < 4; k++) {
                char x = s[r + 2 + k];
                v = v * 16 + (unsigned)(x <= '9' ? x - '0'
                                                 : (x | 0x20) - 'a' + 10);
            }
            if (v >= 0x80)
                return bad(err, errcap, "counts: character %zu is not one of "
                           "'0'..'o'", w);
            rd->str[w++] = (char)v;
            r += 6;
        } else {
            return bad(err, errcap, "counts: character %zu is not one of "
                       "'0'..'o'", w);
        }
    }
    rd->str[w] = 0;
    *len = w;
    return DG_SHAPE_OK;
}

static int read_rle(dg_json *j, uint32_t item, double img_w, double img_h,
                    dg_shapes *sh, dg_shape_reader *rd, int *other_size,
                    char *err, size_t errcap)
{
    static const char *const names[] = {"size", "counts"};
    uint32_t f[2];
    if (rd->shared) {
        uint32_t cnt = dg__json_count(j, item), key = item + 1;
        for (uint32_t m = 0; m < cnt; m++) {
            if (dg__json_has_escape(j, key))
                return DG_SHAPE_BAIL;
            key = dg__json_next(j, key + 1);
        }
    }
    dg__json_fields(j, item, names, 2, f);
    double hw[2];
    if (f[0] == DG_JSON_NONE)
        return bad(err, errcap, "an RLE object without 'size'");
    if (dg__json_type(j, f[0]) != DG_JSON_ARRAY ||
        dg__json_count(j, f[0]) != 2 ||
        get_whole(j, f[0] + 1, 1, MAX_PIXELS, &hw[0]) ||
        get_whole(j, dg__json_next(j, f[0] + 1), 1, MAX_PIXELS, &hw[1]))
        return bad(err, errcap, "'size' is not [height, width], two whole "
                   "numbers >= 1");
    if (hw[0] * hw[1] > MAX_PIXELS)
        return bad(err, errcap, "'size' %.0f x %.0f is too large for masks",
                   hw[0], hw[1]);
    uint32_t h = (uint32_t)hw[0], w = (uint32_t)hw[1];
    uint64_t n = (uint64_t)h * w;
    if (f[1] == DG_JSON_NONE)
        return bad(err, errcap, "an RLE object without 'counts'");
    if (want_masks(sh))
        return DG_SHAPE_NOMEM;
    uint64_t start = sh->runs.n;
    int t = dg__json_type(j, f[1]);
    if (t == DG_JSON_STRING) {
        size_t len = 0;
        int rc = unescape(j, f[1], rd, &len, err, errcap);
        if (rc != DG_SHAPE_OK)
            return rc;
        char why[160];
        if (dg__rle_decode(rd->str, len, h, w, &sh->runs, why, sizeof(why))) {
            sh->runs.n = start;
            return bad(err, errcap, "counts: %s", why);
        }
    } else if (t == DG_JSON_ARRAY) {
        uint32_t m = dg__json_count(j, f[1]), c = f[1] + 1;
        uint64_t sum = 0;
        if (dg__runs_reserve(&sh->runs, m))
            return DG_SHAPE_NOMEM;
        for (uint32_t k = 0; k < m; k++, c = dg__json_next(j, c)) {
            double v;
            if (get_whole(j, c, 0, 4294967295.0, &v)) {
                sh->runs.n = start;
                return bad(err, errcap, "counts: run %u is not a whole number "
                           "in 0..2^32 - 1", k);
            }
            sh->runs.v[sh->runs.n++] = (uint32_t)v;
            sum += (uint64_t)v;
        }
        if (sum != n) {
            sh->runs.n = start;
            return bad(err, errcap, "counts: runs cover %llu pixels, the "
                       "size %u x %u has %llu", (unsigned long long)sum, h, w,
                       (unsigned long long)n);
        }
    } else {
        return bad(err, errcap, "'counts' is not a string or a list of runs "
                   "(got %s)", dg__json_type_name(j, f[1]));
    }
    dg__shapes_end_mask(sh, h, w);
    if (img_w > 0 && img_h > 0 && (img_w != w || img_h != h))
        *other_size = 1;
    return DG_SHAPE_OK;
}

int dg__coco_read_segm(dg_json *j, uint32_t item, double img_w, double img_h,
                       dg_shapes *sh, dg_shape_reader *rd, uint64_t *area,
                       int *other_size, char *err, size_t errcap)
{
    int rc;
    *area = 0;
    if (item == DG_JSON_NONE)
        return DG_SHAPE_OK;
    switch (dg__json_type(j, item)) {
    case DG_JSON_NULL:
        return DG_SHAPE_OK;
    case DG_JSON_ARRAY:
        if (dg__json_count(j, item) == 0)
            return DG_SHAPE_OK; /* no polygons: no mask */
        rc = read_polygons(j, item, img_w, img_h, sh, rd, err, errcap);
        break;
    case DG_JSON_OBJECT:
        rc = read_rle(j, item, img_w, img_h, sh, rd, other_size, err, errcap);
        break;
    default:
        return bad(err, errcap, "not a list of polygons or an RLE object "
                   "(got %s)", dg__json_type_name(j, item));
    }
    if (rc == DG_SHAPE_OK) {
        uint64_t i = sh->n - 1;
        *area = dg__rle_area(sh->runs.v + sh->off[i], sh->off[i + 1] -
                             sh->off[i]);
    }
    return rc;
}

int dg__coco_read_kp(dg_json *j, uint32_t item, dg_shapes *sh, double ext[4],
                     char *err, size_t errcap)
{
    ext[0] = ext[1] = ext[2] = ext[3] = NAN;
    if (item == DG_JSON_NONE || dg__json_type(j, item) == DG_JSON_NULL)
        return DG_SHAPE_OK;
    if (dg__json_type(j, item) != DG_JSON_ARRAY)
        return bad(err, errcap, "not a list of numbers (got %s)",
                   dg__json_type_name(j, item));
    uint32_t n = dg__json_count(j, item);
    if (n % 3)
        return bad(err, errcap, "has %u numbers, expected x, y, v triples",
                   n);
    if (n / 3 > DG_OKS_MAX_KP)
        return bad(err, errcap, "has %u keypoints, at most %d are supported",
                   n / 3, DG_OKS_MAX_KP);
    if (n == 0)
        return DG_SHAPE_OK;
    double v[3 * DG_OKS_MAX_KP];
    uint32_t c = item + 1;
    for (uint32_t k = 0; k < n; k++, c = dg__json_next(j, c)) {
        if (dg__json_type(j, c) != DG_JSON_NUMBER)
            return bad(err, errcap, "value %u is not a number (got %s)", k,
                       dg__json_type_name(j, c));
        v[k] = dg__json_number(j, c);
        if (!isfinite(v[k]))
            return bad(err, errcap, "value %u is not finite", k);
    }
    if (dg__shapes_reserve(NULL, sh, DG_SHAPES_KP, 0) < 0 ||
        dg__shapes_add_kp(sh, v, n))
        return DG_SHAPE_NOMEM;
    ext[0] = ext[2] = v[0];
    ext[1] = ext[3] = v[1];
    for (uint32_t k = 0; k < n; k += 3) {
        ext[0] = fmin(ext[0], v[k]);
        ext[2] = fmax(ext[2], v[k]);
        ext[1] = fmin(ext[1], v[k + 1]);
        ext[3] = fmax(ext[3], v[k + 1]);
    }
    return DG_SHAPE_OK;
}
