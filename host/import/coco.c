/*
 * COCO importers: an instances file (categories, images, annotations) fills
 * an empty project; a results file becomes an inference set.
 *
 * Both validate every record before they touch the project. The file is
 * parsed by json.c (strict RFC 8259, numbers and strings converted
 * only where a field is read), checked and converted into temporaries, and
 * only when nothing is left that can fail on user input are the
 * temporaries moved into the project, so a failed import leaves the
 * project as it was. A syntax error anywhere in the file is reported
 * before any record's problem, since the whole file is parsed first.
 * A large results file that is a bare array is first read on several
 * threads (read_detections_par); on any problem that attempt is dropped
 * and the file read as above, so messages do not depend on it.
 *
 * Every message names the file, the record (its array and 0-based index,
 * "[12]" for a bare top-level array) and the field:
 *
 *     'dt.json': [12]: field 'bbox': width is negative (-3)
 *
 * Warnings are counted while reading and reported once per kind at the end,
 * with the first offending record and the total. docs/IMPORT.md lists what
 * is an error and what a warning.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "detgrid/import.h"
#include "json.h"

/*
 * Integers beyond 2^53 do not survive the trip through a double, which is
 * how every JSON number is read; such ids would silently collide.
 */
#define MAX_EXACT_INT 9007199254740992.0

/* ---- messages ---------------------------------------------------------- */

/* Where a record lives, for messages: "'<path>': <array>[<index>]". */
typedef struct rec {
    const char *path;
    const char *array; /* "" for a bare top-level array */
    size_t index;
} rec;

/*
 * Formats v so that it reads back as the same double: a user who wrote
 * 1.0000001 must not be told that 1 is out of range.
 */
static const char *fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.15g", v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, size, "%.17g", v);
    return buf;
}

/* "'<path>': <array>[<index>]: field '<field>': <problem>"; field may be NULL. */
static dg_status rec_fail(dg_ctx *ctx, const rec *r, const char *field,
                          const char *fmt, ...) DG_PRINTF(4, 5);
static dg_status rec_fail(dg_ctx *ctx, const rec *r, const char *field,
                          const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (field)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s[%zu]: field '%s': %s",
                        r->path, r->array, r->index, field, msg);
    return dg__fail(ctx, DG_EFORMAT, "'%s': %s[%zu]: %s", r->path, r->array,
                    r->index, msg);
}

/* A warning that may fire on many records: counted, reported once. */
typedef struct warn_count {
    size_t n;
    size_t first; /* index of the first record it fired on */
    const char *field;
    char what[64]; /* the problem, as found on the first record */
} warn_count;

static void warn_note(warn_count *w, size_t index, const char *field,
                      const char *what)
{
    if (w->n++ == 0) {
        w->first = index;
        w->field = field;
        snprintf(w->what, sizeof(w->what), "%s", what);
    }
}

static void warn_emit(dg_ctx *ctx, const warn_count *w, const char *path,
                      const char *array, const char *noun)
{
    if (w->n == 0)
        return;
    dg__warn(ctx, "'%s': %s[%zu]: field '%s': %s (%zu %s%s in all)", path,
             array, w->first, w->field, w->what, w->n, noun,
             w->n == 1 ? "" : "s");
}

/* ---- id maps ----------------------------------------------------------- */

/*
 * Open addressing with linear probing, int64 key to uint32 value. COCO
 * scale (hundreds of thousands of lookups) rules out linear scans.
 */
#define IDMAP_NONE UINT32_MAX

typedef struct idmap {
    int64_t *key;
    uint32_t *val; /* IDMAP_NONE marks an empty slot */
    size_t mask;
} idmap;

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser: consecutive ids spread over the table. */
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static dg_status idmap_init(dg_ctx *ctx, idmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    m->key = dg__alloc(ctx, cap, sizeof(*m->key));
    m->val = dg__alloc(ctx, cap, sizeof(*m->val));
    if (!m->key || !m->val) {
        free(m->key);
        free(m->val);
        m->key = NULL;
        m->val = NULL;
        return DG_ENOMEM;
    }
    memset(m->val, 0xff, cap * sizeof(*m->val));
    m->mask = cap - 1;
    return DG_OK;
}

static void idmap_release(idmap *m)
{
    free(m->key);
    free(m->val);
    m->key = NULL;
    m->val = NULL;
}

/*
 * The slot of key, claimed for it if it was free. Returns a pointer to its
 * value, IDMAP_NONE when the key is new. The table never fills: it has at
 * least twice the slots of the keys it was sized for.
 */
static uint32_t *idmap_slot(idmap *m, int64_t key)
{
    size_t i = (size_t)mix64((uint64_t)key) & m->mask;
    while (m->val[i] != IDMAP_NONE && m->key[i] != key)
        i = (i + 1) & m->mask;
    m->key[i] = key;
    return &m->val[i];
}

static uint32_t idmap_get(const idmap *m, int64_t key)
{
    size_t i = (size_t)mix64((uint64_t)key) & m->mask;
    while (m->val[i] != IDMAP_NONE) {
        if (m->key[i] == key)
            return m->val[i];
        i = (i + 1) & m->mask;
    }
    return IDMAP_NONE;
}

/* ---- fields ------------------------------------------------------------ */

/* A JSON value node, or NONE when the field is absent. */
#define NONE DG_JSON_NONE

/* Absent and null are the same to optional fields. */
static int is_absent(const dg_json *j, uint32_t item)
{
    return item == NONE || dg__json_type(j, item) == DG_JSON_NULL;
}

static dg_status get_number(dg_ctx *ctx, const rec *r, const char *field,
                            const dg_json *j, uint32_t item, double *out)
{
    char nb[40];
    if (item == NONE)
        return rec_fail(ctx, r, field, "missing");
    if (dg__json_type(j, item) != DG_JSON_NUMBER)
        return rec_fail(ctx, r, field, "not a number (got %s)",
                        dg__json_type_name(j, item));
    double v = dg__json_number(j, item);
    if (!isfinite(v))
        return rec_fail(ctx, r, field, "not a finite number (%s)",
                        fmt_num(nb, sizeof(nb), v));
    *out = v;
    return DG_OK;
}

/* An integral number, exact in a double. */
static dg_status get_int(dg_ctx *ctx, const rec *r, const char *field,
                         const dg_json *j, uint32_t item, int64_t *out)
{
    char nb[40];
    double v = 0;
    dg_status st = get_number(ctx, r, field, j, item, &v);
    if (st < 0)
        return st;
    /* Written as an integer: exact (a double would round above 2^53). */
    int e = dg__json_int64(j, item, out);
    if (e == 0)
        return DG_OK;
    if (v != floor(v))
        return rec_fail(ctx, r, field, "not an integer (%s)",
                        fmt_num(nb, sizeof(nb), v));
    /* 2^53 itself stands for 2^53 + 1 as well: out of range too. */
    if (e < 0 || fabs(v) >= MAX_EXACT_INT)
        return rec_fail(ctx, r, field, "out of range (%s)",
                        fmt_num(nb, sizeof(nb), v));
    *out = (int64_t)v;
    return DG_OK;
}

/* An optional 0/1 flag; JSON true and false are accepted too. */
static dg_status get_flag(dg_ctx *ctx, const rec *r, const char *field,
                          const dg_json *j, uint32_t item, uint8_t *out)
{
    char nb[40];
    *out = 0;
    if (is_absent(j, item))
        return DG_OK;
    int t = dg__json_type(j, item);
    if (t == DG_JSON_TRUE || t == DG_JSON_FALSE) {
        *out = t == DG_JSON_TRUE;
        return DG_OK;
    }
    if (t != DG_JSON_NUMBER)
        return rec_fail(ctx, r, field, "not 0 or 1 (got %s)",
                        dg__json_type_name(j, item));
    double v = dg__json_number(j, item);
    if (v != 0.0 && v != 1.0)
        return rec_fail(ctx, r, field, "not 0 or 1 (%s)",
                        fmt_num(nb, sizeof(nb), v));
    *out = v != 0.0;
    return DG_OK;
}

/*
 * [x, y, w, h]: four finite numbers, w and h not negative. *zero is set
 * when w or h is 0, which is legal but suspicious.
 */
static dg_status get_bbox(dg_ctx *ctx, const rec *r, const dg_json *j,
                          uint32_t item, double v[4], int *zero)
{
    static const char *const what[4] = { "x", "y", "width", "height" };
    char nb[40];
    if (item == NONE)
        return rec_fail(ctx, r, "bbox", "missing");
    if (dg__json_type(j, item) != DG_JSON_ARRAY)
        return rec_fail(ctx, r, "bbox", "not an array of 4 numbers (got %s)",
                        dg__json_type_name(j, item));
    uint32_t n = dg__json_count(j, item), c = item + 1;
    for (uint32_t i = 0; i < n && i < 4; i++) {
        if (dg__json_type(j, c) != DG_JSON_NUMBER)
            return rec_fail(ctx, r, "bbox", "%s is not a number (got %s)",
                            what[i], dg__json_type_name(j, c));
        v[i] = dg__json_number(j, c);
        c = dg__json_next(j, c);
    }
    if (n != 4)
        return rec_fail(ctx, r, "bbox", "has %u values, expected 4 "
                        "[x, y, width, height]", (unsigned)n);
    for (int i = 0; i < 4; i++) {
        if (!isfinite(v[i]))
            return rec_fail(ctx, r, "bbox", "%s is not a finite number (%s)",
                            what[i], fmt_num(nb, sizeof(nb), v[i]));
    }
    for (int i = 2; i < 4; i++) {
        if (v[i] < 0)
            return rec_fail(ctx, r, "bbox", "%s is negative (%s)", what[i],
                            fmt_num(nb, sizeof(nb), v[i]));
    }
    if (!dg__box_finite(v[0], v[1], v[2], v[3]))
        return rec_fail(ctx, r, "bbox", "too large: its corner or area is "
                        "not a finite number");
    *zero = v[2] == 0 || v[3] == 0;
    return DG_OK;
}

/* The member of root named name, which must be an array (or absent). */
static dg_status get_array(dg_ctx *ctx, const char *path, const dg_json *j,
                           uint32_t item, const char *name, uint32_t *out,
                           size_t *n)
{
    *out = NONE;
    *n = 0;
    if (item == NONE)
        return DG_OK;
    if (dg__json_type(j, item) != DG_JSON_ARRAY)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field '%s': not an array "
                        "(got %s)", path, name, dg__json_type_name(j, item));
    *n = dg__json_count(j, item);
    *out = item;
    return DG_OK;
}

/* ---- ground truth ------------------------------------------------------ */

typedef struct cat_rec {
    const char *name; /* points into the JSON text */
    int64_t id;
    size_t index;     /* in categories[] */
} cat_rec;

typedef struct img_rec {
    int64_t id;
    double w, h;
    size_t index;     /* in images[] */
} img_rec;

static int cat_by_name(const void *a, const void *b)
{
    const cat_rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

static int img_by_id(const void *a, const void *b)
{
    const img_rec *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

typedef struct gt_state {
    const char *path;
    dg_json *j;
    size_t n_cat, n_img, n_ann;
    cat_rec *cats;    /* file order */
    img_rec *imgs;    /* sorted by id once read */
    idmap cat_map;    /* category id -> class index */
    idmap img_map;    /* image id -> frame index */
    dg_boxset labels;
} gt_state;

static dg_status read_categories(dg_ctx *ctx, gt_state *s, uint32_t arr)
{
    static const char *const names[] = { "id", "name" };
    dg_json *j = s->j;
    uint32_t f[2], c = arr + 1;
    rec r = { s->path, "categories", 0 };
    dg_status st;

    s->cats = dg__calloc(ctx, s->n_cat, sizeof(*s->cats));
    if (!s->cats)
        return DG_ENOMEM;
    if ((st = idmap_init(ctx, &s->cat_map, s->n_cat)) < 0)
        return st;

    for (size_t i = 0; i < s->n_cat; i++, c = dg__json_next(j, c)) {
        cat_rec *cr = &s->cats[r.index];
        if (dg__json_type(j, c) != DG_JSON_OBJECT)
            return rec_fail(ctx, &r, NULL, "not an object (got %s)",
                            dg__json_type_name(j, c));
        dg__json_fields(j, c, names, 2, f);
        if ((st = get_int(ctx, &r, "id", j, f[0], &cr->id)) < 0)
            return st;
        if (f[1] == NONE)
            return rec_fail(ctx, &r, "name", "missing");
        if (dg__json_type(j, f[1]) != DG_JSON_STRING)
            return rec_fail(ctx, &r, "name", "not a string (got %s)",
                            dg__json_type_name(j, f[1]));
        cr->name = dg__json_string(j, f[1]);
        if (!cr->name[0])
            return rec_fail(ctx, &r, "name", "empty");
        if (dg__name_problem(cr->name, 0))
            return rec_fail(ctx, &r, "name", "contains a control character");
        cr->index = r.index;
        uint32_t *slot = idmap_slot(&s->cat_map, cr->id);
        if (*slot != IDMAP_NONE)
            return rec_fail(ctx, &r, "id", "duplicate category %" PRId64
                            " (also categories[%" PRIu32 "])", cr->id, *slot);
        *slot = (uint32_t)r.index;
        r.index++;
    }

    /*
     * Duplicate names by sorting a copy: exact, and O(n log n) for the
     * tens of thousands of classes some datasets have. The one reported
     * is the first repeat in file order.
     */
    cat_rec *sorted = dg__alloc(ctx, s->n_cat, sizeof(*sorted));
    if (!sorted)
        return DG_ENOMEM;
    memcpy(sorted, s->cats, s->n_cat * sizeof(*sorted));
    qsort(sorted, s->n_cat, sizeof(*sorted), cat_by_name);
    size_t bad = SIZE_MAX, first = 0;
    for (size_t i = 1; i < s->n_cat; i++) {
        if (strcmp(sorted[i - 1].name, sorted[i].name) == 0 &&
            sorted[i].index < bad)
            bad = sorted[i].index;
    }
    free(sorted);
    if (bad != SIZE_MAX) {
        /* Name the earliest record that has the same name. */
        while (strcmp(s->cats[first].name, s->cats[bad].name) != 0)
            first++;
        r.index = bad;
        return rec_fail(ctx, &r, "name", "duplicate name '%s' "
                        "(also categories[%zu])", s->cats[bad].name, first);
    }
    return DG_OK;
}

static dg_status read_images(dg_ctx *ctx, gt_state *s, uint32_t arr,
                             warn_count *no_size)
{
    static const char *const names[] = { "id", "width", "height" };
    dg_json *j = s->j;
    uint32_t f[3], c = arr + 1;
    rec r = { s->path, "images", 0 };
    dg_status st;
    char nb[40];

    if (s->n_img >= UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'images': too many "
                        "images (%zu)", s->path, s->n_img);
    s->imgs = dg__calloc(ctx, s->n_img, sizeof(*s->imgs));
    if (!s->imgs)
        return DG_ENOMEM;
    if ((st = idmap_init(ctx, &s->img_map, s->n_img)) < 0)
        return st;

    for (size_t i = 0; i < s->n_img; i++, c = dg__json_next(j, c)) {
        img_rec *ir = &s->imgs[r.index];
        if (dg__json_type(j, c) != DG_JSON_OBJECT)
            return rec_fail(ctx, &r, NULL, "not an object (got %s)",
                            dg__json_type_name(j, c));
        dg__json_fields(j, c, names, 3, f);
        if ((st = get_int(ctx, &r, "id", j, f[0], &ir->id)) < 0)
            return st;
        /* frame_num is -1 for "none", so COCO ids must not be negative. */
        if (ir->id < 0)
            return rec_fail(ctx, &r, "id", "negative (%" PRId64 ")", ir->id);
        /* Size is optional: eval does not need it. One warning per image. */
        double *dim[2] = { &ir->w, &ir->h };
        const char *missing = NULL;
        for (int k = 0; k < 2; k++) {
            const char *field = names[1 + k];
            *dim[k] = NAN;
            if (is_absent(j, f[1 + k])) {
                if (!missing)
                    missing = field;
                continue;
            }
            if ((st = get_number(ctx, &r, field, j, f[1 + k], dim[k])) < 0)
                return st;
            if (*dim[k] < 0)
                return rec_fail(ctx, &r, field, "negative (%s)",
                                fmt_num(nb, sizeof(nb), *dim[k]));
        }
        if (missing)
            warn_note(no_size, r.index, missing, "missing, stored as unknown");
        ir->index = r.index;
        uint32_t *slot = idmap_slot(&s->img_map, ir->id);
        if (*slot != IDMAP_NONE)
            return rec_fail(ctx, &r, "id", "duplicate image %" PRId64
                            " (also images[%" PRIu32 "])", ir->id, *slot);
        *slot = (uint32_t)r.index;
        r.index++;
    }

    /* pycocotools evaluates images in ascending id order; so do we. */
    qsort(s->imgs, s->n_img, sizeof(*s->imgs), img_by_id);
    for (size_t i = 0; i < s->n_img; i++)
        *idmap_slot(&s->img_map, s->imgs[i].id) = (uint32_t)i;
    return DG_OK;
}

static dg_status read_annotations(dg_ctx *ctx, gt_state *s, uint32_t arr,
                                  warn_count *zero_box, warn_count *dup_id)
{
    static const char *const names[] = {
        "image_id", "category_id", "bbox", "area", "iscrowd", "ignore", "id"
    };
    dg_json *j = s->j;
    uint32_t f[7], c = arr == NONE ? NONE : arr + 1;
    rec r = { s->path, "annotations", 0 };
    idmap ann_ids = { NULL, NULL, 0 };
    dg_status st;
    char nb[40];

    if ((st = dg__boxset_reserve(ctx, &s->labels, DG_BOXES_LABELS,
                                 s->n_ann ? s->n_ann : 1)) < 0)
        return st;
    if ((st = idmap_init(ctx, &ann_ids, s->n_ann)) < 0)
        return st;

    for (size_t i = 0; i < s->n_ann; i++, c = dg__json_next(j, c)) {
        int64_t img, cat, id;
        double bb[4], area;
        uint8_t crowd, ign;
        int zero;
        uint32_t frame, cls;

        if (dg__json_type(j, c) != DG_JSON_OBJECT) {
            st = rec_fail(ctx, &r, NULL, "not an object (got %s)",
                          dg__json_type_name(j, c));
            goto out;
        }
        dg__json_fields(j, c, names, 7, f);
        if ((st = get_int(ctx, &r, "image_id", j, f[0], &img)) < 0)
            goto out;
        if ((frame = idmap_get(&s->img_map, img)) == IDMAP_NONE) {
            st = rec_fail(ctx, &r, "image_id", "unknown image %" PRId64, img);
            goto out;
        }
        if ((st = get_int(ctx, &r, "category_id", j, f[1], &cat)) < 0)
            goto out;
        if ((cls = idmap_get(&s->cat_map, cat)) == IDMAP_NONE) {
            st = rec_fail(ctx, &r, "category_id", "unknown category %" PRId64,
                          cat);
            goto out;
        }
        if ((st = get_bbox(ctx, &r, j, f[2], bb, &zero)) < 0)
            goto out;
        if (zero)
            warn_note(zero_box, r.index, "bbox", "zero width or height");
        if (is_absent(j, f[3])) {
            area = bb[2] * bb[3];
        } else {
            if ((st = get_number(ctx, &r, "area", j, f[3], &area)) < 0)
                goto out;
            if (area < 0) {
                st = rec_fail(ctx, &r, "area", "negative (%s)",
                              fmt_num(nb, sizeof(nb), area));
                goto out;
            }
        }
        if ((st = get_flag(ctx, &r, "iscrowd", j, f[4], &crowd)) < 0)
            goto out;
        if ((st = get_flag(ctx, &r, "ignore", j, f[5], &ign)) < 0)
            goto out;
        /* Ids are optional (pycocotools numbers results itself). */
        if (!is_absent(j, f[6])) {
            if ((st = get_int(ctx, &r, "id", j, f[6], &id)) < 0)
                goto out;
            uint32_t *slot = idmap_slot(&ann_ids, id);
            if (*slot != IDMAP_NONE) {
                char what[64];
                snprintf(what, sizeof(what), "duplicate annotation id %"
                         PRId64 ", first in annotations[%" PRIu32 "]", id,
                         *slot);
                warn_note(dup_id, r.index, "id", what);
            } else {
                *slot = (uint32_t)r.index;
            }
        }
        dg__boxset_push(&s->labels, frame, cls, bb[0], bb[1], bb[2], bb[3],
                        0.0, area, crowd, ign);
        r.index++;
    }
    st = DG_OK;
out:
    idmap_release(&ann_ids);
    return st;
}

/*
 * Reads and parses the instances file and finds its three arrays (f[] the
 * fields, NONE when missing): categories and images must be there and
 * hold records, annotations may be missing or empty.
 */
static dg_status gt_arrays(dg_ctx *ctx, gt_state *s, uint32_t f[3],
                           uint32_t *cats, uint32_t *imgs, uint32_t *anns)
{
    static const char *const names[] = { "categories", "images",
                                         "annotations" };
    const char *path = s->path;
    dg_json *j = s->j;
    dg_status st;

    if ((st = dg__json_read(ctx, path, j)) < 0)
        return st;
    if (dg__json_type(j, 0) != DG_JSON_OBJECT)
        return dg__fail(ctx, DG_EFORMAT, "'%s': top level is not an object "
                        "(got %s)", path, dg__json_type_name(j, 0));
    dg__json_fields(j, 0, names, 3, f);

    if ((st = get_array(ctx, path, j, f[0], "categories", cats,
                        &s->n_cat)) < 0 ||
        (st = get_array(ctx, path, j, f[1], "images", imgs, &s->n_img)) < 0 ||
        (st = get_array(ctx, path, j, f[2], "annotations", anns,
                        &s->n_ann)) < 0)
        return st;
    if (*cats == NONE)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'categories': missing",
                        path);
    if (s->n_cat == 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'categories': no "
                        "categories", path);
    if (*imgs == NONE)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'images': missing",
                        path);
    if (s->n_img == 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'images': no images",
                        path);
    /* Indices are stored as uint32, with UINT32_MAX for "none". */
    if (s->n_cat >= UINT32_MAX || s->n_ann >= UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field '%s': too many records",
                        path, s->n_cat >= UINT32_MAX ? "categories"
                                                     : "annotations");
    return DG_OK;
}

/*
 * Everything is valid. Classes and frames go into a scratch project
 * first, so that running out of memory half-way leaves p untouched; then
 * p takes them and s's labels (s gets the old ones, for the caller to
 * release).
 */
static dg_status gt_commit(dg_ctx *ctx, dg_project *p, gt_state *s)
{
    dg_project *tmp = NULL;
    dg_status st;
    if ((st = dg_project_create(ctx, &tmp)) < 0)
        goto out;
    for (size_t i = 0; i < s->n_cat; i++) {
        if ((st = dg__project_add_class(ctx, tmp, s->cats[i].name,
                                        s->cats[i].id)) < 0)
            goto out;
    }
    for (size_t i = 0; i < s->n_img; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%" PRId64, s->imgs[i].id);
        if ((st = dg__project_add_frame(ctx, tmp, id, s->imgs[i].id,
                                        s->imgs[i].w, s->imgs[i].h)) < 0)
            goto out;
    }
    dg__project_move_classes_frames(p, tmp);
    dg__project_take_labels(p, &s->labels);
out:
    dg_project_free(tmp);
    return st;
}

dg_status dg_import_coco_gt(dg_ctx *ctx, dg_project *p, const char *path)
{
    gt_state s;
    dg_json j;
    uint32_t f[3], cats = NONE, imgs = NONE, anns = NONE;
    warn_count no_size = { 0 }, zero_box = { 0 }, dup_id = { 0 };
    dg_status st;

    if (!p || !path)
        return dg__fail(ctx, DG_EINVAL, "import: no project or no path");
    /*
     * Inference sets and metadata columns are sized by the frames, so a
     * project that has any cannot take new frames either.
     */
    if (dg__project_n_classes(p) || dg__project_n_frames(p) ||
        dg__project_n_labels(p) || dg__project_n_meta(p) ||
        dg__project_n_inferences(p))
        return dg__fail(ctx, DG_EINVAL, "'%s': cannot import ground truth "
                        "into a project that already has classes or frames",
                        path);

    memset(&s, 0, sizeof(s));
    memset(&j, 0, sizeof(j));
    s.path = path;
    s.j = &j;
    dg__boxset_init(&s.labels);

    if ((st = gt_arrays(ctx, &s, f, &cats, &imgs, &anns)) < 0)
        goto out;
    if ((st = read_categories(ctx, &s, cats)) < 0 ||
        (st = read_images(ctx, &s, imgs, &no_size)) < 0 ||
        (st = read_annotations(ctx, &s, anns, &zero_box, &dup_id)) < 0)
        goto out;
    if ((st = dg__boxset_sort_by_frame(ctx, &s.labels,
                                       (uint32_t)s.n_img)) < 0)
        goto out;

    /* The old labels come back in s.labels, released below. */
    if ((st = gt_commit(ctx, p, &s)) < 0)
        goto out;

    if (f[2] == NONE)
        dg__warn(ctx, "'%s': field 'annotations': missing, so the project "
                 "has no labels", path);
    else if (s.n_ann == 0)
        dg__warn(ctx, "'%s': field 'annotations': empty, so the project "
                 "has no labels", path);
    warn_emit(ctx, &no_size, path, "images", "image");
    warn_emit(ctx, &zero_box, path, "annotations", "annotation");
    warn_emit(ctx, &dup_id, path, "annotations", "annotation");
    st = DG_OK;
out:
    dg__boxset_release(&s.labels);
    idmap_release(&s.img_map);
    idmap_release(&s.cat_map);
    free(s.imgs);
    free(s.cats);
    dg__json_release(&j);
    return st;
}

/* ---- detections -------------------------------------------------------- */

/* The project's frames and classes by COCO id. */
static dg_status det_maps(dg_ctx *ctx, const dg_project *p, idmap *frames,
                          idmap *classes)
{
    dg_status st;
    uint32_t n_frames = dg__project_n_frames(p);
    uint32_t n_classes = dg__project_n_classes(p);
    if ((st = idmap_init(ctx, frames, n_frames)) < 0 ||
        (st = idmap_init(ctx, classes, n_classes)) < 0)
        return st;
    /* The first of repeated ids wins; COCO import never makes repeats. */
    for (uint32_t i = 0; i < n_frames; i++) {
        int64_t num = dg_project_frame_num(p, i);
        if (num < 0)
            continue;
        uint32_t *slot = idmap_slot(frames, num);
        if (*slot == IDMAP_NONE)
            *slot = i;
    }
    for (uint32_t i = 0; i < n_classes; i++) {
        uint32_t *slot = idmap_slot(classes, dg_project_class_id(p, i));
        if (*slot == IDMAP_NONE)
            *slot = i;
    }
    return DG_OK;
}

/* One detection record, checked. */
typedef struct det_rec {
    uint32_t frame, cls;
    double bb[4], score;
} det_rec;

static dg_status read_det(dg_ctx *ctx, const rec *r, dg_json *j, uint32_t c,
                          const idmap *frames, const idmap *classes,
                          det_rec *d, int *zero)
{
    static const char *const names[] = { "image_id", "category_id", "bbox",
                                         "score" };
    uint32_t f[4];
    int64_t img, cat;
    dg_status st;
    char nb[40];

    if (dg__json_type(j, c) != DG_JSON_OBJECT)
        return rec_fail(ctx, r, NULL, "not an object (got %s)",
                        dg__json_type_name(j, c));
    dg__json_fields(j, c, names, 4, f);
    if ((st = get_int(ctx, r, "image_id", j, f[0], &img)) < 0)
        return st;
    if ((d->frame = idmap_get(frames, img)) == IDMAP_NONE)
        return rec_fail(ctx, r, "image_id", "unknown image %" PRId64, img);
    if ((st = get_int(ctx, r, "category_id", j, f[1], &cat)) < 0)
        return st;
    if ((d->cls = idmap_get(classes, cat)) == IDMAP_NONE)
        return rec_fail(ctx, r, "category_id", "unknown category %" PRId64,
                        cat);
    if ((st = get_bbox(ctx, r, j, f[2], d->bb, zero)) < 0)
        return st;
    if ((st = get_number(ctx, r, "score", j, f[3], &d->score)) < 0)
        return st;
    if (d->score < 0 || d->score > 1)
        return rec_fail(ctx, r, "score", "out of range [0, 1] (%s)",
                        fmt_num(nb, sizeof(nb), d->score));
    return DG_OK;
}

static dg_status read_detections(dg_ctx *ctx, const dg_project *p,
                                 const char *path, const char *array,
                                 dg_json *j, uint32_t arr, size_t n,
                                 dg_boxset *b, warn_count *zero_box)
{
    uint32_t c = arr + 1;
    rec r = { path, array, 0 };
    idmap frames = { NULL, NULL, 0 }, classes = { NULL, NULL, 0 };
    dg_status st;

    if ((st = det_maps(ctx, p, &frames, &classes)) < 0)
        goto out;
    if ((st = dg__boxset_reserve(ctx, b, DG_BOXES_DETS, n ? n : 1)) < 0)
        goto out;

    for (size_t i = 0; i < n; i++, c = dg__json_next(j, c)) {
        det_rec d;
        int zero;
        if ((st = read_det(ctx, &r, j, c, &frames, &classes, &d, &zero)) < 0)
            goto out;
        if (zero)
            warn_note(zero_box, r.index, "bbox", "zero width or height");
        dg__boxset_push(b, d.frame, d.cls, d.bb[0], d.bb[1], d.bb[2],
                        d.bb[3], d.score, 0.0, 0, 0);
        r.index++;
    }
    st = DG_OK;
out:
    idmap_release(&classes);
    idmap_release(&frames);
    return st;
}

/*
 * The parallel reader of a bare top-level array of detections. The bytes
 * after the array's '[' are cut into one range per CPU at what look like
 * record boundaries ("}" "," "{"), and each range is parsed and its
 * records checked on its own thread, one record at a time, nothing written
 * to the buffer. A cut is right if the range before it, parsed from a
 * right start, ends exactly there; the first range starts at the first
 * element, so every cut is checked by induction. On anything unexpected (a
 * wrong cut, a syntax error, a record's problem, a key with escapes) the
 * result is thrown away and the sequential reader does it all again, so
 * messages and record indices are exactly its own.
 */
#define PAR_MIN_BYTES (1u << 20)
#define PAR_MAX_PARTS 16

typedef struct dt_part {
    const char *path;
    const idmap *frames, *classes;
    dg_json scratch;
    size_t start, stop, end;
    int closed, ok;
    det_rec *v;
    size_t n, cap;
    warn_count zero_box;
} dt_part;

static int part_elem(void *arg, dg_json *j)
{
    dt_part *pt = arg;
    rec r = { pt->path, "", pt->n };
    int zero;
    /* dg__json_fields would decode an escaped key in place, writing to a
     * buffer other threads read. */
    if (dg__json_type(j, 0) == DG_JSON_OBJECT) {
        uint32_t cnt = dg__json_count(j, 0), key = 1;
        for (uint32_t m = 0; m < cnt; m++) {
            if (dg__json_has_escape(j, key))
                return -1;
            key = dg__json_next(j, key + 1);
        }
    }
    if (pt->n == pt->cap) {
        size_t cap = pt->cap ? pt->cap * 2 : 4096;
        det_rec *nv = realloc(pt->v, cap * sizeof(*nv));
        if (!nv)
            return -1;
        pt->v = nv;
        pt->cap = cap;
    }
    if (read_det(NULL, &r, j, 0, pt->frames, pt->classes, &pt->v[pt->n],
                 &zero) < 0 || j->n_dup)
        return -1; /* the sequential reader says why (or warns) */
    if (zero)
        warn_note(&pt->zero_box, pt->n, "bbox", "zero width or height");
    pt->n++;
    return 0;
}

static void *part_main(void *arg)
{
    dt_part *pt = arg;
    pt->ok = dg__json_scan_elements(&pt->scratch, pt->start, pt->stop,
                                    part_elem, pt, &pt->end,
                                    &pt->closed) == 0;
    return NULL;
}

/* A likely element start in [from, limit): the '{' of "}" "," "{". */
static size_t guess_cut(const char *s, size_t from, size_t limit)
{
    for (size_t i = from; i < limit; i++) {
        if (s[i] != '}')
            continue;
        size_t q = i + 1;
        while (q < limit && (s[q] == ' ' || s[q] == '\n' || s[q] == '\r' ||
                             s[q] == '\t'))
            q++;
        if (q >= limit || s[q] != ',')
            continue;
        q++;
        while (q < limit && (s[q] == ' ' || s[q] == '\n' || s[q] == '\r' ||
                             s[q] == '\t'))
            q++;
        if (q < limit && s[q] == '{')
            return q;
    }
    return SIZE_MAX;
}

/*
 * 1: b holds the detections and *zero_box their warnings, *n their count;
 * 0: not done (the caller reads sequentially); < 0: out of memory.
 */
static int read_detections_par(dg_ctx *ctx, const dg_project *p,
                               const char *path, const char *buf, size_t len,
                               dg_boxset *b, warn_count *zero_box, size_t *n)
{
    /*
     * DETGRID_JSON_PAR="<min bytes>,<parts>" is a test hook: the fuzz
     * target tests/fuzz/fuzz-coco-json.c reaches this path with small
     * files, cut into up to 16 parts, and compares it with the sequential
     * reader.
     */
    size_t min_bytes = PAR_MIN_BYTES;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *hook = dg__env("DETGRID_JSON_PAR");
    if (hook) {
        unsigned long mb = 0, np_ = 0;
        if (sscanf(hook, "%lu,%lu", &mb, &np_) == 2 && mb >= 4)
            min_bytes = mb, ncpu = (long)np_;
    }
    if (len < min_bytes)
        return 0;
    int parts = ncpu > PAR_MAX_PARTS ? PAR_MAX_PARTS : (int)ncpu;
    if (parts < 2)
        return 0;
    if ((size_t)parts > len / (min_bytes / 4))
        parts = (int)(len / (min_bytes / 4));
    size_t a0 = dg__json_array_start(buf, len);
    if (a0 == SIZE_MAX)
        return 0;

    size_t cut[PAR_MAX_PARTS + 1];
    int np = 0;
    cut[np++] = a0;
    for (int k = 1; k < parts; k++) {
        size_t g = a0 + (len - a0) / (size_t)parts * (size_t)k;
        if (g <= cut[np - 1])
            continue;
        size_t lim = g + (1u << 16) < len ? g + (1u << 16) : len;
        size_t c = guess_cut(buf, g, lim);
        if (c != SIZE_MAX && c > cut[np - 1])
            cut[np++] = c;
    }
    if (np < 2)
        return 0;
    cut[np] = SIZE_MAX;

    idmap frames = { NULL, NULL, 0 }, classes = { NULL, NULL, 0 };
    dt_part pt[PAR_MAX_PARTS];
    pthread_t th[PAR_MAX_PARTS];
    int started[PAR_MAX_PARTS] = { 0 };
    int rc = 0;
    memset(pt, 0, sizeof(pt));
    if (det_maps(ctx, p, &frames, &classes) < 0) {
        rc = -1;
        goto out;
    }
    for (int k = 0; k < np; k++) {
        pt[k].path = path;
        pt[k].frames = &frames;
        pt[k].classes = &classes;
        pt[k].scratch.buf = (char *)buf;
        pt[k].scratch.len = len;
        pt[k].start = cut[k];
        pt[k].stop = cut[k + 1];
    }
    for (int k = 1; k < np; k++)
        started[k] = pthread_create(&th[k], NULL, part_main, &pt[k]) == 0;
    part_main(&pt[0]);
    for (int k = 1; k < np; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            part_main(&pt[k]);
    }

    /* Every cut checked by the range before it; the last range ends the
     * array and the file. */
    size_t total = 0;
    for (int k = 0; k < np; k++) {
        if (!pt[k].ok)
            goto out;
        if (k + 1 < np ? (pt[k].closed || pt[k].end != cut[k + 1])
                       : (!pt[k].closed || pt[k].end != len))
            goto out;
        total += pt[k].n;
    }
    if (dg__boxset_reserve(ctx, b, DG_BOXES_DETS, total ? total : 1) < 0) {
        rc = -1;
        goto out;
    }
    size_t base = 0;
    for (int k = 0; k < np; k++) {
        for (size_t i = 0; i < pt[k].n; i++) {
            const det_rec *d = &pt[k].v[i];
            dg__boxset_push(b, d->frame, d->cls, d->bb[0], d->bb[1], d->bb[2],
                            d->bb[3], d->score, 0.0, 0, 0);
        }
        if (pt[k].zero_box.n) {
            if (!zero_box->n) {
                *zero_box = pt[k].zero_box;
                zero_box->first += base;
            } else {
                zero_box->n += pt[k].zero_box.n;
            }
        }
        base += pt[k].n;
    }
    *n = total;
    rc = 1;
out:
    for (int k = 0; k < np; k++) {
        free(pt[k].v);
        free(pt[k].scratch.node);
    }
    idmap_release(&classes);
    idmap_release(&frames);
    return rc;
}

/*
 * The detections of the results file path into b (not sorted yet), their
 * count in *n and the name of their array for messages in *array ("" for
 * a bare top-level array): on several threads when the file is large
 * (read_detections_par), else parsed whole.
 */
static dg_status read_results(dg_ctx *ctx, const dg_project *p,
                              const char *path, dg_boxset *b,
                              warn_count *zero_box, size_t *n,
                              const char **array)
{
    dg_json j;
    uint32_t arr;
    char *buf;
    size_t len;
    dg_status st;

    memset(&j, 0, sizeof(j));
    if ((st = dg__json_read_file(ctx, path, &buf, &len)) < 0)
        return st;
    int done = read_detections_par(ctx, p, path, buf, len, b, zero_box, n);
    if (done != 0) {
        free(buf);
        return done < 0 ? DG_ENOMEM : DG_OK;
    }
    /* dg__json_parse owns buf from here. */
    if ((st = dg__json_parse(ctx, path, buf, len, &j)) < 0)
        goto out;
    /* Some tools wrap the list as {"annotations": [...]}. */
    arr = 0;
    if (dg__json_type(&j, 0) == DG_JSON_OBJECT) {
        static const char *const wrap[] = { "annotations" };
        dg__json_fields(&j, 0, wrap, 1, &arr);
        if (arr == NONE || dg__json_type(&j, arr) != DG_JSON_ARRAY) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': top level is an object "
                          "without an 'annotations' array", path);
            goto out;
        }
        *array = "annotations";
    } else if (dg__json_type(&j, 0) != DG_JSON_ARRAY) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': top level is not an array "
                      "(got %s)", path, dg__json_type_name(&j, 0));
        goto out;
    }
    *n = dg__json_count(&j, arr);
    st = read_detections(ctx, p, path, *array, &j, arr, *n, b, zero_box);
out:
    dg__json_release(&j);
    return st;
}

dg_status dg_import_coco_dt(dg_ctx *ctx, dg_project *p, const char *path,
                            const char *name, int replace)
{
    const char *array = "";
    dg_boxset b;
    warn_count zero_box = { 0 };
    int64_t have = -1;
    size_t n = 0;
    dg_status st;

    if (!p || !path)
        return dg__fail(ctx, DG_EINVAL, "import: no project or no path");
    if (!name || !name[0])
        return dg__fail(ctx, DG_EINVAL, "'%s': no inference set name", path);
    have = dg_project_inference_index(p, name);
    if (have >= 0 && !replace)
        return dg__fail(ctx, DG_EEXIST, "inference set '%s' already exists",
                        name);
    if (dg__project_n_frames(p) == 0)
        return dg__fail(ctx, DG_EINVAL, "'%s': the project has no frames; "
                        "import ground truth first", path);

    dg__boxset_init(&b);
    if ((st = read_results(ctx, p, path, &b, &zero_box, &n, &array)) < 0 ||
        (st = dg__boxset_sort_by_frame(ctx, &b, dg__project_n_frames(p))) < 0)
        goto out;

    /* Valid: only now does the project change. */
    if (have < 0) {
        uint32_t idx;
        if ((st = dg__project_add_inferences(ctx, p, name, &idx)) < 0)
            goto out;
        have = idx;
    }
    /* b gets the old boxes, released below. */
    dg__project_take_inferences(p, (uint32_t)have, &b);

    if (n == 0)
        dg__warn(ctx, "'%s': no detections", path);
    warn_emit(ctx, &zero_box, path, array, "detection");
    st = DG_OK;
out:
    dg__boxset_release(&b);
    return st;
}
