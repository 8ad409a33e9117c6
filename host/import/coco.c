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
#include "coco_shapes.h"
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
    char what[256]; /* the problem, as found on the first record */
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

/* one, many: what the array holds ("category", "categories"). */
static void warn_emit(dg_ctx *ctx, const warn_count *w, const char *path,
                      const char *array, const char *one, const char *many)
{
    if (w->n == 0)
        return;
    dg__warn(ctx, "'%s': %s[%zu]: field '%s': %s (%zu %s in all)", path,
             array, w->first, w->field, w->what, w->n,
             w->n == 1 ? one : many);
}

/* Progress every 65536 records, and at the last one. */
static void tick(dg_ctx *ctx, const char *phase, size_t i, size_t n)
{
    if ((i & 0xffff) == 0 || i == n)
        dg__progress(ctx, phase, i, n);
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
    const char *name; /* into the JSON text or own; NULL while unnamed */
    char *own;        /* a name made here (from the id, or made unique) */
    int64_t id;
    size_t index;     /* in categories[] */
} cat_rec;

typedef struct img_rec {
    int64_t id;
    const char *sid;  /* a string id (into the JSON text), else NULL */
    double w, h;
    size_t index;     /* in images[] */
    uint32_t node;    /* the record's JSON object */
} img_rec;

static int cat_by_name(const void *a, const void *b)
{
    const cat_rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Ascending ids, as pycocotools' sorted(getImgIds()): numbers by value,
 * strings as Python orders them (by code point, which is the byte order
 * of UTF-8). */
static int img_by_id(const void *a, const void *b)
{
    const img_rec *x = a, *y = b;
    if (x->sid) {
        int c = strcmp(x->sid, y->sid);
        if (c)
            return c;
        return (x->index > y->index) - (x->index < y->index);
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- image ids: numbers, or strings ------------------------------------- */

/*
 * Finds frames by image id: numeric ids through a hash table, string ids
 * by binary search in a sorted array.
 */
typedef struct img_keys {
    idmap num;
    const char **str;   /* ascending (strcmp) */
    uint32_t *str_frame;
    size_t n_str;
} img_keys;

static void img_keys_release(img_keys *k)
{
    idmap_release(&k->num);
    free(k->str);
    free(k->str_frame);
    memset(k, 0, sizeof(*k));
}

static uint32_t img_keys_find_str(const img_keys *k, const char *s)
{
    size_t lo = 0, hi = k->n_str;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(k->str[mid], s);
        if (c == 0)
            return k->str_frame[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return IDMAP_NONE;
}

/*
 * The frame of the image id in item (field of record r): a number or (not
 * strict) a string. With par set (the parallel reader, which must not
 * write to the buffer a string is decoded in) a string id gives 1, for
 * the caller to fall back to the sequential reader.
 */
static int get_image(dg_ctx *ctx, const rec *r, const char *field,
                     dg_json *j, uint32_t item, const img_keys *k,
                     int strict, int par, uint32_t *frame)
{
    if (!strict && item != NONE &&
        dg__json_type(j, item) == DG_JSON_STRING) {
        if (par)
            return 1;
        const char *s = dg__json_string(j, item);
        if ((*frame = img_keys_find_str(k, s)) == IDMAP_NONE)
            return rec_fail(ctx, r, field, "unknown image '%s'", s);
        return DG_OK;
    }
    int64_t img;
    dg_status st = get_int(ctx, r, field, j, item, &img);
    if (st < 0)
        return st;
    if ((*frame = k->num.key ? idmap_get(&k->num, img) : IDMAP_NONE) ==
        IDMAP_NONE)
        return rec_fail(ctx, r, field, "unknown image %" PRId64, img);
    return DG_OK;
}

typedef struct gt_state {
    const char *path;
    int strict;
    int skip_masks; /* segmentation left unread */
    dg_json *j;
    size_t n_cat, n_img, n_ann;
    cat_rec *cats;    /* file order */
    img_rec *imgs;    /* sorted by id once read */
    idmap cat_map;    /* category id -> class index */
    img_keys img_keys; /* image id -> frame index */
    dg_boxset labels;
    /* label records whose annotation id is 0: frame-sorted indices once
     * the labels are sorted (first their frame and rank in it) */
    uint64_t *zero_ids;
    uint32_t *zero_frame, *zero_rank;
    size_t n_zero;
    /* the warnings, reported once each */
    warn_count unnamed, renamed, str_ids, no_size, zero_box, dup_id, id0,
        other_size;
    dg_shapes *shapes; /* masks and keypoints, entry k for label k */
    dg_shape_reader rd;
} gt_state;

/*
 * A category's name: a non-empty string; missing, null or "" is named
 * after the id (strict: refused).
 */
static dg_status get_cat_name(dg_ctx *ctx, gt_state *s, const rec *r,
                              uint32_t item, cat_rec *cr)
{
    dg_json *j = s->j;
    const char *why = NULL;
    if (item == NONE)
        why = "missing";
    else if (dg__json_type(j, item) == DG_JSON_NULL)
        why = "null";
    else if (dg__json_type(j, item) != DG_JSON_STRING)
        return rec_fail(ctx, r, "name", "not a string (got %s)",
                        dg__json_type_name(j, item));
    else if (!(cr->name = dg__json_string(j, item))[0])
        why = "empty";
    else if ((why = dg__name_problem(cr->name, 0)) != NULL)
        return rec_fail(ctx, r, "name", "%s", why);
    if (!why)
        return DG_OK;
    if (s->strict)
        return rec_fail(ctx, r, "name", "%s", why);
    char num[32], what[96];
    snprintf(num, sizeof(num), "%" PRId64, cr->id);
    if (!(cr->own = dg__strdup(ctx, num)))
        return DG_ENOMEM;
    cr->name = cr->own;
    snprintf(what, sizeof(what), "%s, so the class is named '%s' after its "
             "id", why, num);
    warn_note(&s->unnamed, r->index, "name", what);
    return DG_OK;
}

/*
 * The first repeated name: the later record of the first pair of equal
 * names in sorted order, SIZE_MAX when the names are unique; *first is
 * the earliest record with that name. Sorting a copy is exact and O(n
 * log n) for the tens of thousands of classes some datasets have.
 */
static dg_status find_dup_name(dg_ctx *ctx, const gt_state *s, size_t *bad,
                               size_t *first)
{
    cat_rec *sorted = dg__alloc(ctx, s->n_cat, sizeof(*sorted));
    if (!sorted)
        return DG_ENOMEM;
    memcpy(sorted, s->cats, s->n_cat * sizeof(*sorted));
    qsort(sorted, s->n_cat, sizeof(*sorted), cat_by_name);
    *bad = SIZE_MAX;
    for (size_t i = 1; i < s->n_cat; i++) {
        if (strcmp(sorted[i - 1].name, sorted[i].name) == 0 &&
            sorted[i].index < *bad)
            *bad = sorted[i].index;
    }
    free(sorted);
    *first = 0;
    if (*bad != SIZE_MAX)
        while (strcmp(s->cats[*first].name, s->cats[*bad].name) != 0)
            (*first)++;
    return DG_OK;
}

/*
 * Makes the names unique: a repeated name gets its category id, "car (id
 * 7)" (then a count as well, should that be taken too), one warning for
 * all. Strict: the first repeat is an error.
 */
static dg_status unique_names(dg_ctx *ctx, gt_state *s)
{
    rec r = { s->path, "categories", 0 };
    for (unsigned round = 1;; round++) {
        size_t bad, first;
        dg_status st = find_dup_name(ctx, s, &bad, &first);
        if (st < 0)
            return st;
        if (bad == SIZE_MAX)
            return DG_OK;
        r.index = bad;
        cat_rec *cr = &s->cats[bad];
        if (s->strict)
            return rec_fail(ctx, &r, "name", "duplicate name '%s' "
                            "(also categories[%zu])", cr->name, first);
        if (round > s->n_cat + 1)
            return rec_fail(ctx, &r, "name", "duplicate name '%s' "
                            "(also categories[%zu]) that cannot be made "
                            "unique", cr->name, first);
        size_t len = strlen(cr->name) + 64;
        char *nn = dg__alloc(ctx, len, 1);
        if (!nn)
            return DG_ENOMEM;
        if (round == 1 || !cr->own)
            snprintf(nn, len, "%s (id %" PRId64 ")", cr->name, cr->id);
        else
            snprintf(nn, len, "%s %u", cr->name, round);
        char what[256];
        snprintf(what, sizeof(what), "duplicate name '%.60s' (also "
                 "categories[%zu]), renamed '%.80s'", cr->name, first, nn);
        warn_note(&s->renamed, bad, "name", what);
        free(cr->own);
        cr->own = nn;
        cr->name = nn;
    }
}

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
        if ((st = get_int(ctx, &r, "id", j, f[0], &cr->id)) < 0 ||
            (st = get_cat_name(ctx, s, &r, f[1], cr)) < 0)
            return st;
        cr->index = r.index;
        uint32_t *slot = idmap_slot(&s->cat_map, cr->id);
        if (*slot != IDMAP_NONE)
            return rec_fail(ctx, &r, "id", "duplicate category %" PRId64
                            " (also categories[%" PRIu32 "])", cr->id, *slot);
        *slot = (uint32_t)r.index;
        r.index++;
    }
    return unique_names(ctx, s);
}

/*
 * An image's id: an integer >= 0, or (not strict) a non-empty string; all
 * of one kind, as pycocotools cannot sort a mix.
 */
static dg_status get_image_id(dg_ctx *ctx, gt_state *s, const rec *r,
                              uint32_t item, img_rec *ir)
{
    dg_json *j = s->j;
    int is_str = item != NONE && dg__json_type(j, item) == DG_JSON_STRING;
    ir->sid = NULL;
    if (!is_str || s->strict) {
        dg_status st = get_int(ctx, r, "id", j, item, &ir->id);
        if (st < 0)
            return st;
        /* frame_num is -1 for "none", so COCO ids must not be negative. */
        if (ir->id < 0)
            return rec_fail(ctx, r, "id", "negative (%" PRId64 ")", ir->id);
    } else {
        ir->id = -1;
        ir->sid = dg__json_string(j, item);
        const char *why = dg__name_problem(ir->sid, 0);
        if (why) /* it becomes the frame id, a name */
            return rec_fail(ctx, r, "id", "%s", why);
        char what[120];
        snprintf(what, sizeof(what), "a string ('%.60s'), kept as the frame "
                 "id", ir->sid);
        warn_note(&s->str_ids, r->index, "id", what);
    }
    if (r->index > 0 && (ir->sid != NULL) != (s->imgs[0].sid != NULL))
        return rec_fail(ctx, r, "id", "a %s, but images[0] has a %s id: "
                        "image ids must all be numbers or all be strings",
                        ir->sid ? "string" : "number",
                        ir->sid ? "numeric" : "string");
    return DG_OK;
}

/* Optional width and height, NaN when absent; one warning per image. */
static dg_status get_image_size(dg_ctx *ctx, gt_state *s, const rec *r,
                                const uint32_t f[2], img_rec *ir)
{
    static const char *const names[] = { "width", "height" };
    double *dim[2] = { &ir->w, &ir->h };
    const char *missing = NULL;
    char nb[40];
    dg_status st;
    for (int k = 0; k < 2; k++) {
        *dim[k] = NAN;
        if (is_absent(s->j, f[k])) {
            if (!missing)
                missing = names[k];
            continue;
        }
        if ((st = get_number(ctx, r, names[k], s->j, f[k], dim[k])) < 0)
            return st;
        if (*dim[k] < 0)
            return rec_fail(ctx, r, names[k], "negative (%s)",
                            fmt_num(nb, sizeof(nb), *dim[k]));
    }
    if (missing)
        warn_note(&s->no_size, r->index, missing,
                  "missing, stored as unknown");
    return DG_OK;
}

/*
 * The image ids once images are sorted: numbers in the hash table (which
 * held records while reading), strings as the sorted array itself, where
 * a repeated string is found.
 */
static dg_status index_images(dg_ctx *ctx, gt_state *s)
{
    img_keys *k = &s->img_keys;
    rec r = { s->path, "images", 0 };
    if (!s->imgs[0].sid) {
        for (size_t i = 0; i < s->n_img; i++)
            *idmap_slot(&k->num, s->imgs[i].id) = (uint32_t)i;
        return DG_OK;
    }
    k->str = dg__alloc(ctx, s->n_img, sizeof(*k->str));
    k->str_frame = dg__alloc(ctx, s->n_img, sizeof(*k->str_frame));
    if (!k->str || !k->str_frame)
        return DG_ENOMEM;
    for (size_t i = 0; i < s->n_img; i++) {
        k->str[i] = s->imgs[i].sid;
        k->str_frame[i] = (uint32_t)i;
        if (i && strcmp(k->str[i - 1], k->str[i]) == 0) {
            r.index = s->imgs[i].index;
            return rec_fail(ctx, &r, "id", "duplicate image '%s' (also "
                            "images[%zu])", s->imgs[i].sid,
                            s->imgs[i - 1].index);
        }
    }
    k->n_str = s->n_img;
    return DG_OK;
}

static dg_status read_images(dg_ctx *ctx, gt_state *s, uint32_t arr)
{
    static const char *const names[] = { "id", "width", "height" };
    dg_json *j = s->j;
    uint32_t f[3], c = arr + 1;
    rec r = { s->path, "images", 0 };
    dg_status st;

    if (s->n_img >= UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'images': too many "
                        "images (%zu)", s->path, s->n_img);
    s->imgs = dg__calloc(ctx, s->n_img, sizeof(*s->imgs));
    if (!s->imgs)
        return DG_ENOMEM;
    if ((st = idmap_init(ctx, &s->img_keys.num, s->n_img)) < 0)
        return st;

    for (size_t i = 0; i < s->n_img; i++, c = dg__json_next(j, c)) {
        img_rec *ir = &s->imgs[r.index];
        if (dg__json_type(j, c) != DG_JSON_OBJECT)
            return rec_fail(ctx, &r, NULL, "not an object (got %s)",
                            dg__json_type_name(j, c));
        dg__json_fields(j, c, names, 3, f);
        if ((st = get_image_id(ctx, s, &r, f[0], ir)) < 0 ||
            (st = get_image_size(ctx, s, &r, f + 1, ir)) < 0)
            return st;
        ir->index = r.index;
        ir->node = c;
        if (!ir->sid) {
            uint32_t *slot = idmap_slot(&s->img_keys.num, ir->id);
            if (*slot != IDMAP_NONE)
                return rec_fail(ctx, &r, "id", "duplicate image %" PRId64
                                " (also images[%" PRIu32 "])", ir->id,
                                *slot);
            *slot = (uint32_t)r.index;
        }
        r.index++;
    }

    /* pycocotools evaluates images in ascending id order; so do we. */
    qsort(s->imgs, s->n_img, sizeof(*s->imgs), img_by_id);
    return index_images(ctx, s);
}

/*
 * Notes an annotation with id 0 (record index, frame, and its rank among
 * the frame's labels so far, which makes its place once they are sorted).
 */
static dg_status note_zero_id(dg_ctx *ctx, gt_state *s, size_t index,
                              uint32_t frame, uint32_t rank)
{
    if (s->n_zero % 64 == 0) {
        size_t cap = s->n_zero + 64;
        uint32_t *f = realloc(s->zero_frame, cap * sizeof(*f));
        if (f)
            s->zero_frame = f;
        uint32_t *k = realloc(s->zero_rank, cap * sizeof(*k));
        if (k)
            s->zero_rank = k;
        if (!f || !k)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    s->zero_frame[s->n_zero] = frame;
    s->zero_rank[s->n_zero++] = rank;
    warn_note(&s->id0, index, "id", "annotation id 0: pycocotools counts "
              "detections matched to it as false positives, detgrid as "
              "true positives ('detgrid coco --pycocotools-id0' gives "
              "pycocotools' numbers)");
    return DG_OK;
}

/* An annotation's optional id: checked for repeats and for 0. */
static dg_status get_ann_id(dg_ctx *ctx, gt_state *s, const rec *r,
                            uint32_t item, idmap *ann_ids, uint32_t frame,
                            const uint32_t *in_frame)
{
    int64_t id;
    dg_status st;
    /* Ids are optional (pycocotools numbers results itself). */
    if (is_absent(s->j, item))
        return DG_OK;
    if ((st = get_int(ctx, r, "id", s->j, item, &id)) < 0)
        return st;
    uint32_t *slot = idmap_slot(ann_ids, id);
    if (*slot != IDMAP_NONE) {
        char what[96];
        snprintf(what, sizeof(what), "duplicate annotation id %" PRId64
                 ", first in annotations[%" PRIu32 "]", id, *slot);
        warn_note(&s->dup_id, r->index, "id", what);
    } else {
        *slot = (uint32_t)r->index;
    }
    if (id == 0)
        return note_zero_id(ctx, s, r->index, frame, in_frame[frame]);
    return DG_OK;
}

/*
 * The masks and keypoints of annotation r (fields f[0..2]: segmentation,
 * keypoints, num_keypoints) into the entry just pushed to sh.
 */
static dg_status read_gt_shapes(dg_ctx *ctx, const rec *r, dg_json *j,
                                const uint32_t *f, const img_rec *img,
                                dg_shapes *sh, dg_shape_reader *rd,
                                warn_count *other_size)
{
    char err[256];
    uint64_t area;
    int other = 0;
    double ext[4];
    int rc = dg__coco_read_segm(j, f[0], img->w, img->h, sh, rd, &area,
                                &other, err, sizeof(err));
    if (rc == DG_SHAPE_BAD)
        return rec_fail(ctx, r, "segmentation", "%s", err);
    if (rc == DG_SHAPE_OK)
        rc = dg__coco_read_kp(j, f[1], sh, ext, err, sizeof(err));
    if (rc == DG_SHAPE_BAD)
        return rec_fail(ctx, r, "keypoints", "%s", err);
    if (rc == DG_SHAPE_NOMEM)
        return dg__fail(ctx, DG_ENOMEM, "out of memory reading masks");
    if (other)
        warn_note(other_size, r->index, "segmentation",
                  "size differs from the image's");
    if (!is_absent(j, f[2])) {
        int64_t nk;
        dg_status st = get_int(ctx, r, "num_keypoints", j, f[2], &nk);
        if (st < 0)
            return st;
        if (nk < 0 || nk > INT32_MAX)
            return rec_fail(ctx, r, "num_keypoints", "out of range (%" PRId64
                            ")", nk);
        if ((st = dg__shapes_reserve(ctx, sh, DG_SHAPES_NUM_KP, 0)) < 0)
            return st;
        sh->num_kp[sh->n - 1] = (int32_t)nk;
    }
    return DG_OK;
}

static dg_status read_annotations(dg_ctx *ctx, gt_state *s, uint32_t arr)
{
    static const char *const names[] = {
        "image_id", "category_id", "bbox", "area", "iscrowd", "ignore", "id",
        "segmentation", "keypoints", "num_keypoints"
    };
    dg_json *j = s->j;
    uint32_t f[10], c = arr == NONE ? NONE : arr + 1;
    rec r = { s->path, "annotations", 0 };
    idmap ann_ids = { NULL, NULL, 0 };
    uint32_t *in_frame = NULL; /* labels of each frame so far */
    dg_status st;
    char nb[40];

    if ((st = dg__boxset_reserve(ctx, &s->labels, DG_BOXES_LABELS,
                                 s->n_ann ? s->n_ann : 1)) < 0)
        return st;
    if ((st = idmap_init(ctx, &ann_ids, s->n_ann)) < 0)
        return st;
    if (!(in_frame = dg__calloc(ctx, s->n_img, sizeof(*in_frame))) ||
        !(s->shapes = dg__calloc(ctx, 1, sizeof(*s->shapes))) ||
        (st = dg__shapes_reserve(ctx, s->shapes, 0, s->n_ann)) < 0) {
        st = st < 0 ? st : DG_ENOMEM;
        goto out;
    }

    for (size_t i = 0; i < s->n_ann; i++, c = dg__json_next(j, c)) {
        int64_t cat;
        double bb[4], area;
        uint8_t crowd, ign;
        int zero;
        uint32_t frame, cls;

        if (dg__json_type(j, c) != DG_JSON_OBJECT) {
            st = rec_fail(ctx, &r, NULL, "not an object (got %s)",
                          dg__json_type_name(j, c));
            goto out;
        }
        dg__json_fields(j, c, names, 10, f);
        if ((st = get_image(ctx, &r, "image_id", j, f[0], &s->img_keys,
                            s->strict, 0, &frame)) < 0)
            goto out;
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
            warn_note(&s->zero_box, r.index, "bbox", "zero width or height");
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
        if ((st = get_flag(ctx, &r, "iscrowd", j, f[4], &crowd)) < 0 ||
            (st = get_flag(ctx, &r, "ignore", j, f[5], &ign)) < 0 ||
            (st = get_ann_id(ctx, s, &r, f[6], &ann_ids, frame,
                             in_frame)) < 0)
            goto out;
        in_frame[frame]++;
        dg__shapes_push_empty(s->shapes);
        if (s->skip_masks)
            f[7] = NONE;
        if ((st = read_gt_shapes(ctx, &r, j, f + 7, &s->imgs[frame],
                                 s->shapes, &s->rd, &s->other_size)) < 0)
            goto out;
        dg__boxset_push(&s->labels, frame, cls, bb[0], bb[1], bb[2], bb[3],
                        0.0, area, crowd, ign);
        r.index++;
        tick(ctx, "import labels", r.index, s->n_ann);
    }
    st = DG_OK;
out:
    free(in_frame);
    idmap_release(&ann_ids);
    return st;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/*
 * The sorted places of the labels with annotation id 0: the labels keep
 * the file's order within a frame, so a label's place is its frame's
 * offset plus the frame's labels read before it.
 */
static dg_status place_zero_ids(dg_ctx *ctx, gt_state *s)
{
    if (!s->n_zero)
        return DG_OK;
    if (!(s->zero_ids = dg__alloc(ctx, s->n_zero, sizeof(*s->zero_ids))))
        return DG_ENOMEM;
    for (size_t i = 0; i < s->n_zero; i++)
        s->zero_ids[i] = s->labels.frame_off[s->zero_frame[i]] +
                         s->zero_rank[i];
    qsort(s->zero_ids, s->n_zero, sizeof(*s->zero_ids), cmp_u64);
    return DG_OK;
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

    /* Without masks, the polygons are checked but take no nodes. */
    if ((st = s->skip_masks
                  ? dg__json_read_skipping(ctx, path, "segmentation", j)
                  : dg__json_read(ctx, path, j)) < 0)
        return st;
    if (dg__json_type(j, 0) == DG_JSON_ARRAY)
        return dg__fail(ctx, DG_EFORMAT, "'%s': top level is an array: this "
                        "looks like a COCO results file (a list of "
                        "detections), not an instances file (an object with "
                        "'categories', 'images' and 'annotations')", path);
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
        char num[24];
        const img_rec *ir = &s->imgs[i];
        snprintf(num, sizeof(num), "%" PRId64, ir->id);
        if ((st = dg__project_add_frame(ctx, tmp, ir->sid ? ir->sid : num,
                                        ir->id, ir->w, ir->h)) < 0)
            goto out;
    }
    dg__project_move_classes_frames(p, tmp);
    dg__project_take_labels(p, &s->labels);
    dg__project_take_label_shapes(p, &s->shapes);
    dg__project_set_coco_zero_ids(p, s->zero_ids, s->n_zero);
    s->zero_ids = NULL;
out:
    dg_project_free(tmp);
    return st;
}

/* ---- image fields as frame metadata ------------------------------------- */

#define MAX_META_COLS 64

/* The value of member key in image object obj, or NONE. */
static uint32_t member(dg_json *j, uint32_t obj, const char *key)
{
    uint32_t k = obj + 1;
    for (uint32_t m = 0; m < dg__json_count(j, obj); m++) {
        uint32_t v = k + 1;
        if (dg__json_string_is(j, k, key, strlen(key)))
            return v;
        k = dg__json_next(j, v);
    }
    return NONE;
}

static int scalar(int t)
{
    return t == DG_JSON_NUMBER || t == DG_JSON_STRING || t == DG_JSON_TRUE ||
           t == DG_JSON_FALSE;
}

/* One column from member key of every image (frames in id order). */
static dg_status image_column(dg_ctx *ctx, dg_project *p, gt_state *s,
                              const char *key)
{
    dg_json *j = s->j;
    int is_num = 1;
    for (size_t i = 0; i < s->n_img && is_num; i++) {
        uint32_t v = member(j, s->imgs[i].node, key);
        if (v != NONE && dg__json_type(j, v) == DG_JSON_STRING)
            is_num = 0;
    }
    double *num = NULL;
    char **str = NULL;
    if (is_num ? !(num = dg__alloc(ctx, s->n_img, sizeof(*num)))
               : !(str = dg__calloc(ctx, s->n_img, sizeof(*str))))
        return DG_ENOMEM;
    for (size_t i = 0; i < s->n_img; i++) {
        uint32_t v = member(j, s->imgs[i].node, key);
        int t = v == NONE ? DG_JSON_NULL : dg__json_type(j, v);
        double x = t == DG_JSON_NUMBER ? dg__json_number(j, v)
                   : t == DG_JSON_TRUE ? 1 : t == DG_JSON_FALSE ? 0 : NAN;
        if (is_num) {
            num[i] = scalar(t) ? x : NAN;
            continue;
        }
        char nb[40] = "";
        const char *txt = t == DG_JSON_STRING ? dg__json_string(j, v)
                          : scalar(t) ? fmt_num(nb, sizeof(nb), x) : "";
        if (!(str[i] = dg__strdup(ctx, txt))) {
            for (size_t k = 0; k < i; k++)
                free(str[k]);
            free(str);
            return DG_ENOMEM;
        }
    }
    return dg__project_set_meta(ctx, p, key, is_num, num, str);
}

/*
 * Every scalar field of the image records but id (file_name, width,
 * height, date_captured, ...) becomes a frame metadata column, so that
 * the project knows where its pictures are and `segment --where` can use
 * them: numeric where every value is a number or a boolean, else text;
 * frames without the field get NaN or "". Keys that cannot name a column
 * (empty, with '/', starting with '.') and non-scalar values are skipped.
 */
static dg_status image_meta(dg_ctx *ctx, dg_project *p, gt_state *s)
{
    dg_json *j = s->j;
    const char *keys[MAX_META_COLS];
    int nk = 0, more = 0;
    for (size_t i = 0; i < s->n_img; i++) {
        uint32_t obj = s->imgs[i].node, k = obj + 1;
        for (uint32_t m = 0; m < dg__json_count(j, obj); m++) {
            uint32_t v = k + 1;
            const char *key = dg__json_string(j, k);
            k = dg__json_next(j, v);
            if (!scalar(dg__json_type(j, v)) || !key[0] || key[0] == '.' ||
                strchr(key, '/') || !strcmp(key, "id"))
                continue;
            int seen = 0;
            for (int q = 0; q < nk && !seen; q++)
                seen = !strcmp(keys[q], key);
            if (seen)
                continue;
            if (nk == MAX_META_COLS) {
                more = 1;
                continue;
            }
            keys[nk++] = key;
        }
    }
    if (more)
        dg__warn(ctx, "'%s': field 'images': more than %d fields; the first "
                 "%d are kept as frame metadata", s->path, MAX_META_COLS,
                 MAX_META_COLS);
    for (int q = 0; q < nk; q++) {
        dg_status st = image_column(ctx, p, s, keys[q]);
        if (st < 0)
            return st;
    }
    return DG_OK;
}

void dg_coco_import_opts_init(dg_coco_import_opts *o)
{
    memset(o, 0, sizeof(*o));
}

dg_status dg_import_coco_gt(dg_ctx *ctx, dg_project *p, const char *path,
                            const dg_coco_import_opts *opts)
{
    gt_state s;
    dg_json j;
    uint32_t f[3], cats = NONE, imgs = NONE, anns = NONE;
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
    s.strict = opts && opts->strict;
    s.skip_masks = opts && opts->skip_masks;
    s.j = &j;
    dg__boxset_init(&s.labels);

    if ((st = gt_arrays(ctx, &s, f, &cats, &imgs, &anns)) < 0)
        goto out;
    if ((st = read_categories(ctx, &s, cats)) < 0 ||
        (st = read_images(ctx, &s, imgs)) < 0 ||
        (st = read_annotations(ctx, &s, anns)) < 0)
        goto out;
    /* The shapes first: they sort by the boxes' frames before those. */
    if ((st = dg__shapes_sort_by_frame(ctx, s.shapes, s.labels.frame,
                                       (uint32_t)s.n_img)) < 0 ||
        (st = dg__boxset_sort_by_frame(ctx, &s.labels,
                                       (uint32_t)s.n_img)) < 0 ||
        (st = place_zero_ids(ctx, &s)) < 0)
        goto out;

    /* The old labels come back in s.labels, released below. */
    if ((st = gt_commit(ctx, p, &s)) < 0 ||
        (st = image_meta(ctx, p, &s)) < 0)
        goto out;

    if (f[2] == NONE)
        dg__warn(ctx, "'%s': field 'annotations': missing, so the project "
                 "has no labels", path);
    else if (s.n_ann == 0)
        dg__warn(ctx, "'%s': field 'annotations': empty, so the project "
                 "has no labels", path);
    warn_emit(ctx, &s.unnamed, path, "categories", "category",
              "categories");
    warn_emit(ctx, &s.renamed, path, "categories", "category",
              "categories");
    warn_emit(ctx, &s.str_ids, path, "images", "image", "images");
    warn_emit(ctx, &s.no_size, path, "images", "image", "images");
    warn_emit(ctx, &s.zero_box, path, "annotations", "annotation",
              "annotations");
    warn_emit(ctx, &s.dup_id, path, "annotations", "annotation",
              "annotations");
    warn_emit(ctx, &s.id0, path, "annotations", "annotation",
              "annotations");
    warn_emit(ctx, &s.other_size, path, "annotations", "annotation",
              "annotations");
    st = DG_OK;
out:
    dg__boxset_release(&s.labels);
    dg__shapes_free(s.shapes);
    dg__shape_reader_release(&s.rd);
    img_keys_release(&s.img_keys);
    idmap_release(&s.cat_map);
    free(s.imgs);
    for (size_t i = 0; s.cats && i < s.n_cat; i++)
        free(s.cats[i].own);
    free(s.cats);
    free(s.zero_ids);
    free(s.zero_frame);
    free(s.zero_rank);
    dg__json_release(&j);
    return st;
}

/* ---- detections -------------------------------------------------------- */

/*
 * What a results file is read against: the project's frames by image id
 * (numeric ids by frame_num, string ids by the frame id of frames
 * without one) and classes by id.
 */
typedef struct det_maps {
    img_keys frames;
    idmap classes;
    int strict;
    const dg_project *p; /* for the images' sizes (polygons) */
} det_maps;

static void det_maps_release(det_maps *m)
{
    img_keys_release(&m->frames);
    idmap_release(&m->classes);
}

/* Slots of the frame id array, by the id they hold. */
static int frame_by_id(const void *a, const void *b)
{
    char *const *x = *(char *const *const *)a;
    char *const *y = *(char *const *const *)b;
    return strcmp(*x, *y);
}

static dg_status det_maps_init(dg_ctx *ctx, const dg_project *p, int strict,
                               det_maps *m)
{
    dg_status st;
    uint32_t n_frames = dg__project_n_frames(p);
    uint32_t n_classes = dg__project_n_classes(p);
    char *const *ids = dg__project_frame_ids(p);
    img_keys *k = &m->frames;
    memset(m, 0, sizeof(*m));
    m->strict = strict;
    m->p = p;
    if ((st = idmap_init(ctx, &k->num, n_frames)) < 0 ||
        (st = idmap_init(ctx, &m->classes, n_classes)) < 0)
        return st;
    /* The first of repeated ids wins; COCO import never makes repeats. */
    size_t n_str = 0;
    for (uint32_t i = 0; i < n_frames; i++) {
        int64_t num = dg_project_frame_num(p, i);
        if (num < 0) {
            n_str++;
            continue;
        }
        uint32_t *slot = idmap_slot(&k->num, num);
        if (*slot == IDMAP_NONE)
            *slot = i;
    }
    for (uint32_t i = 0; i < n_classes; i++) {
        uint32_t *slot = idmap_slot(&m->classes, dg_project_class_id(p, i));
        if (*slot == IDMAP_NONE)
            *slot = i;
    }
    if (!n_str || strict)
        return DG_OK;
    /* Frame ids are unique in a project: sorted, a binary search finds
     * each. Pointers into the array of ids carry the frame along. */
    char *const **v = dg__alloc(ctx, n_str, sizeof(*v));
    k->str = dg__alloc(ctx, n_str, sizeof(*k->str));
    k->str_frame = dg__alloc(ctx, n_str, sizeof(*k->str_frame));
    if (!v || !k->str || !k->str_frame) {
        free(v);
        return DG_ENOMEM;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < n_frames; i++)
        if (dg_project_frame_num(p, i) < 0)
            v[n++] = &ids[i];
    qsort(v, n, sizeof(*v), frame_by_id);
    for (size_t i = 0; i < n; i++) {
        k->str[i] = *v[i];
        k->str_frame[i] = (uint32_t)(v[i] - ids);
    }
    free(v);
    k->n_str = n;
    return DG_OK;
}

/*
 * One detection record, checked: its box if it has one (a results file of
 * masks or keypoints may leave boxes out), and what loadRes derives boxes
 * and areas from when it does not. A record of an unknown category is
 * skipped (cls IDMAP_NONE): it keeps only what it has, for the first
 * record's say in how every box and area is taken.
 */
typedef struct det_rec {
    uint32_t frame, cls; /* cls IDMAP_NONE: an unknown category, skipped */
    /* The bbox; without one, pycocotools' toBbox of the mask if any. */
    double bb[4], score;
    uint32_t ext; /* with a mask or keypoints: its det_ext in the list */
    uint8_t has_bbox, has_mask, has_kp;
} det_rec;

/* What a record with a mask or keypoints adds (most records have
 * neither, so it is kept apart). */
typedef struct det_ext {
    double mask_area;
    double kp_ext[4]; /* x0, y0, x1, y1 of the keypoints */
} det_ext;

/* Records as read, in order, and the extras of those with shapes. */
typedef struct det_list {
    det_rec *v;
    size_t n, cap;
    det_ext *x;
    size_t nx, capx;
} det_list;

static void det_list_release(det_list *l)
{
    free(l->v);
    free(l->x);
    memset(l, 0, sizeof(*l));
}

/* Doubles the array *v of *cap elements (first, when empty): 0 or -1. */
static int grow_double(void **v, size_t *cap, size_t first, size_t size)
{
    size_t c = *cap ? *cap * 2 : first;
    if (dg__grow(v, c, size))
        return -1;
    *cap = c;
    return 0;
}

/* A slot for one more record (0), or -1 without memory. */
static int det_list_room(det_list *l)
{
    return l->n < l->cap ? 0
                         : grow_double((void **)&l->v, &l->cap, 4096,
                                       sizeof(*l->v));
}

/* Keeps record l->v[l->n] (read_det's, with its extras x). */
static int det_list_keep(det_list *l, const det_ext *x)
{
    det_rec *d = &l->v[l->n];
    if (d->cls != IDMAP_NONE && (d->has_mask || d->has_kp)) {
        if ((l->nx == l->capx &&
             grow_double((void **)&l->x, &l->capx, 256, sizeof(*l->x))) ||
            l->nx >= UINT32_MAX)
            return -1;
        d->ext = (uint32_t)l->nx;
        l->x[l->nx++] = *x;
    }
    l->n++;
    return 0;
}

/* The warnings of a results file, counted while reading. */
typedef struct det_warns {
    warn_count zero_box, unknown_cat, score_range, other_size;
} det_warns;

static void det_warns_merge(det_warns *into, const det_warns *w, size_t base)
{
    const warn_count *from[4] = { &w->zero_box, &w->unknown_cat,
                                  &w->score_range, &w->other_size };
    warn_count *to[4] = { &into->zero_box, &into->unknown_cat,
                          &into->score_range, &into->other_size };
    for (int k = 0; k < 4; k++) {
        if (!from[k]->n)
            continue;
        if (!to[k]->n) {
            *to[k] = *from[k];
            to[k]->first += base;
        } else {
            to[k]->n += from[k]->n;
        }
    }
}

/* Where a reader puts masks and keypoints: an entry per kept record. */
typedef struct det_shapes {
    dg_shapes *sh;
    dg_shape_reader *rd;
} det_shapes;

/* Whether field item is there and not empty (an empty list is none). */
static int present(const dg_json *j, uint32_t item)
{
    return !is_absent(j, item) &&
           !(dg__json_type(j, item) == DG_JSON_ARRAY &&
             dg__json_count(j, item) == 0);
}

/* The masks and keypoints of record r (fields f[0], f[1]) into a new
 * entry of ds->sh. */
static int read_det_shapes(dg_ctx *ctx, const rec *r, dg_json *j,
                           const uint32_t *f, const det_maps *m,
                           const det_shapes *ds, det_rec *d, det_ext *x,
                           det_warns *w)
{
    char err[256];
    dg_shapes *sh = ds->sh;
    if (sh->n == sh->cap && dg__shapes_reserve(ctx, sh, 0, 1) < 0)
        return DG_ENOMEM;
    dg__shapes_push_empty(sh);
    double iw, ih;
    dg__project_frame_size(m->p, d->frame, &iw, &ih);
    uint64_t area = 0;
    int other = 0;
    int rc = dg__coco_read_segm(j, f[0], iw, ih, sh, ds->rd, &area, &other,
                                err, sizeof(err));
    if (rc == DG_SHAPE_BAIL)
        return 1;
    if (rc == DG_SHAPE_BAD)
        return rec_fail(ctx, r, "segmentation", "%s", err);
    if (rc == DG_SHAPE_NOMEM)
        return dg__fail(ctx, DG_ENOMEM, "out of memory reading masks");
    d->has_mask = (uint8_t)dg__shapes_has_mask(sh, sh->n - 1);
    x->mask_area = (double)area;
    /* The mask's box, when the record gives none. */
    if (d->has_mask && !d->has_bbox) {
        uint64_t a = sh->off[sh->n - 1], b = sh->off[sh->n];
        uint32_t mb[4];
        dg__rle_bbox(sh->runs.v + a, b - a, sh->mh[sh->n - 1],
                     sh->mw[sh->n - 1], mb);
        for (int c = 0; c < 4; c++)
            d->bb[c] = mb[c];
    }
    if (other)
        warn_note(&w->other_size, r->index, "segmentation",
                  "size differs from the image's");
    rc = dg__coco_read_kp(j, f[1], sh, x->kp_ext, err, sizeof(err));
    if (rc == DG_SHAPE_BAD)
        return rec_fail(ctx, r, "keypoints", "%s", err);
    if (rc == DG_SHAPE_NOMEM)
        return dg__fail(ctx, DG_ENOMEM, "out of memory reading keypoints");
    d->has_kp = (uint8_t)dg__shapes_has_kp(sh, sh->n - 1);
    return DG_OK;
}

/*
 * Reads record c into d (what a mask or keypoints add into x), its masks
 * and keypoints into ds. An unknown
 * category is skipped (d->cls = IDMAP_NONE) and a score outside [0, 1]
 * kept, each counted in w, unless strict; returns 1 where the parallel
 * reader (par) must leave the file to the sequential one.
 */
static int read_det(dg_ctx *ctx, const rec *r, dg_json *j, uint32_t c,
                    const det_maps *m, int par, det_rec *d, det_ext *x,
                    det_warns *w, const det_shapes *ds)
{
    static const char *const names[] = { "image_id", "category_id", "bbox",
                                         "score", "segmentation",
                                         "keypoints" };
    uint32_t f[6];
    int64_t cat;
    int st, zero = 0;
    char nb[40], what[120];

    memset(d, 0, sizeof(*d));
    if (dg__json_type(j, c) != DG_JSON_OBJECT)
        return rec_fail(ctx, r, NULL, "not an object (got %s)",
                        dg__json_type_name(j, c));
    dg__json_fields(j, c, names, 6, f);
    if ((st = get_image(ctx, r, "image_id", j, f[0], &m->frames, m->strict,
                        par, &d->frame)) != 0)
        return st;
    if ((st = get_int(ctx, r, "category_id", j, f[1], &cat)) < 0)
        return st;
    if ((d->cls = idmap_get(&m->classes, cat)) == IDMAP_NONE && m->strict)
        return rec_fail(ctx, r, "category_id", "unknown category %" PRId64,
                        cat);
    /* "bbox": [] counts as none, as in loadRes. */
    d->has_bbox = (uint8_t)present(j, f[2]);
    if (d->has_bbox && (st = get_bbox(ctx, r, j, f[2], d->bb, &zero)) < 0)
        return st;
    if ((st = get_number(ctx, r, "score", j, f[3], &d->score)) < 0)
        return st;
    if ((d->score < 0 || d->score > 1) && m->strict)
        return rec_fail(ctx, r, "score", "out of range [0, 1] (%s)",
                        fmt_num(nb, sizeof(nb), d->score));
    /* pycocotools evaluates the ground truth's categories only. */
    if (d->cls == IDMAP_NONE) {
        snprintf(what, sizeof(what), "unknown category %" PRId64 ", "
                 "detection skipped", cat);
        warn_note(&w->unknown_cat, r->index, "category_id", what);
        d->has_mask = (uint8_t)present(j, f[4]);
        d->has_kp = (uint8_t)present(j, f[5]);
        return DG_OK;
    }
    if ((st = read_det_shapes(ctx, r, j, f + 4, m, ds, d, x, w)) != 0)
        return st;
    if (!d->has_bbox && !d->has_mask && !d->has_kp)
        return rec_fail(ctx, r, "bbox", "missing (and no 'segmentation' or "
                        "'keypoints' to take it from)");
    if (zero)
        warn_note(&w->zero_box, r->index, "bbox", "zero width or height");
    if (d->score < 0 || d->score > 1) {
        snprintf(what, sizeof(what), "outside [0, 1] (%s), kept: "
                 "confidences apply to the raw scores",
                 fmt_num(nb, sizeof(nb), d->score));
        warn_note(&w->score_range, r->index, "score", what);
    }
    return DG_OK;
}

/* What gives a detection its box and area (pycocotools' loadRes decides by
 * the first record): its bbox (area w * h), its mask (area: its pixels;
 * the box from the mask when not given) or its keypoints (area and box:
 * their extent). */
enum { AREA_BOX, AREA_MASK, AREA_KP };

/*
 * The kept detections into b, with their areas into sh when they are not
 * w * h; every kept record must have what the first record decides by.
 * The records come in n_parts lists, one after another; sh has an entry
 * for each kept one.
 */
static dg_status finish_dets(dg_ctx *ctx, const char *path,
                             const char *array, const det_list *parts,
                             int n_parts, dg_boxset *b, dg_shapes *sh)
{
    static const char *const field[] = { "bbox", "segmentation",
                                         "keypoints" };
    size_t n = 0;
    const det_rec *first = NULL;
    for (int k = 0; k < n_parts; k++) {
        if (!first && parts[k].n)
            first = parts[k].v;
        n += parts[k].n;
    }
    int mode = !first || first->has_bbox ? AREA_BOX
               : first->has_mask         ? AREA_MASK
                                         : AREA_KP;
    dg_status st;
    if ((st = dg__boxset_reserve(ctx, b, DG_BOXES_DETS, n ? n : 1)) < 0)
        return st;
    if (mode != AREA_BOX &&
        (st = dg__shapes_reserve(ctx, sh, DG_SHAPES_AREA, 0)) < 0)
        return st;
    size_t i = 0, kept = 0;
    for (int k = 0; k < n_parts; k++)
        for (size_t e = 0; e < parts[k].n; e++, i++) {
            const det_rec *d = &parts[k].v[e];
            if (d->cls == IDMAP_NONE)
                continue;
            int has = mode == AREA_BOX    ? d->has_bbox
                      : mode == AREA_MASK ? d->has_mask
                                          : d->has_kp;
            if (!has) {
                rec r = { path, array, i };
                return rec_fail(ctx, &r, field[mode], "missing (the first "
                                "detection has one, and pycocotools takes "
                                "every detection's box and area as the "
                                "first's)");
            }
            /* Past the check, a mask or keypoints mode has its extras. */
            const det_ext *x = mode != AREA_BOX ? &parts[k].x[d->ext] : NULL;
            double bb[4] = { d->bb[0], d->bb[1], d->bb[2], d->bb[3] };
            if (mode == AREA_KP) {
                bb[0] = x->kp_ext[0];
                bb[1] = x->kp_ext[1];
                bb[2] = x->kp_ext[2] - x->kp_ext[0];
                bb[3] = x->kp_ext[3] - x->kp_ext[1];
                sh->area[kept] = bb[2] * bb[3];
            } else if (mode == AREA_MASK) {
                sh->area[kept] = x->mask_area;
            }
            kept++;
            dg__boxset_push(b, d->frame, d->cls, bb[0], bb[1], bb[2], bb[3],
                            d->score, 0.0, 0, 0);
        }
    return DG_OK;
}

static dg_status read_detections(dg_ctx *ctx, const det_maps *m,
                                 const char *path, const char *array,
                                 dg_json *j, uint32_t arr, size_t n,
                                 dg_boxset *b, det_warns *w, dg_shapes *sh)
{
    uint32_t c = arr + 1;
    rec r = { path, array, 0 };
    dg_shape_reader rd;
    det_list l;
    dg_status st;

    memset(&rd, 0, sizeof(rd));
    memset(&l, 0, sizeof(l));
    if (!(l.v = dg__alloc(ctx, n ? n : 1, sizeof(*l.v))) ||
        (st = dg__shapes_reserve(ctx, sh, 0, n)) < 0) {
        st = l.v ? st : DG_ENOMEM;
        goto out;
    }
    l.cap = n ? n : 1;
    det_shapes ds = { sh, &rd };
    for (size_t i = 0; i < n; i++, c = dg__json_next(j, c)) {
        det_ext x;
        if ((st = (dg_status)read_det(ctx, &r, j, c, m, 0, &l.v[i], &x, w,
                                      &ds)) < 0)
            goto out;
        if (det_list_keep(&l, &x) < 0) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory reading '%s'",
                          path);
            goto out;
        }
        r.index++;
        tick(ctx, "import detections", r.index, n);
    }
    st = finish_dets(ctx, path, array, &l, 1, b, sh);
out:
    det_list_release(&l);
    dg__shape_reader_release(&rd);
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
#define PAR_MAX_PARTS 64
#define PAR_PARTS_PER_CPU 4

typedef struct dt_part {
    const char *path;
    const det_maps *maps;
    dg_json scratch;
    size_t start, stop, end;
    int closed, ok;
    det_list l;
    det_warns warns;
    dg_shapes sh;
    dg_shape_reader rd;
} dt_part;

static int part_elem(void *arg, dg_json *j)
{
    dt_part *pt = arg;
    rec r = { pt->path, "", pt->l.n };
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
    if (det_list_room(&pt->l) < 0)
        return -1;
    det_shapes ds = { &pt->sh, &pt->rd };
    det_ext x;
    if (read_det(NULL, &r, j, 0, pt->maps, 1, &pt->l.v[pt->l.n], &x,
                 &pt->warns, &ds) != 0 || j->n_dup)
        return -1; /* the sequential reader says why (or warns) */
    if (det_list_keep(&pt->l, &x) < 0)
        return -1;
    return 0;
}

/*
 * The common record, read without the parser's nodes: a flat object
 * (dg__json_flat_object) with integer image and category ids of known
 * images and categories, a bbox of 4 numbers with positive sizes and a
 * score in [0, 1], and no masks or keypoints. It gives what read_det
 * gives; anything else (0) goes to part_elem, which reads it or says why
 * (and warns) through the sequential reader.
 */
static int part_fast(void *arg, const char *buf, size_t p, size_t *end)
{
    static const char *const names[] = { "image_id", "category_id", "bbox",
                                         "score", "segmentation",
                                         "keypoints" };
    static const uint8_t lens[] = { 8, 11, 4, 5, 12, 9 };
    dt_part *pt = arg;
    dg_jfield f[6];
    int64_t img, cat;
    size_t q = dg__json_flat_object(buf, p, names, lens, 6, f);
    if (!q || f[0].type != DG_JSON_NUMBER || f[1].type != DG_JSON_NUMBER ||
        f[2].type != DG_JSON_ARRAY || f[2].n != 4 ||
        f[3].type != DG_JSON_NUMBER || f[4].type != -1 || f[5].type != -1)
        return 0;
    if (!f[0].is_int || !f[1].is_int)
        return 0;
    img = f[0].iv;
    cat = f[1].iv;
    const det_maps *m = pt->maps;
    uint32_t frame = m->frames.num.key ? idmap_get(&m->frames.num, img)
                                       : IDMAP_NONE;
    uint32_t cls = idmap_get(&m->classes, cat);
    if (frame == IDMAP_NONE || cls == IDMAP_NONE)
        return 0;
    double bb[4] = { f[2].v[0], f[2].v[1], f[2].v[2], f[2].v[3] };
    double score = f[3].v[0];
    /* Not NaN: every comparison below fails on one. */
    if (!(score >= 0 && score <= 1) || !(bb[2] > 0 && bb[3] > 0) ||
        !isfinite(bb[0]) || !isfinite(bb[1]) || !isfinite(bb[2]) ||
        !isfinite(bb[3]) || !dg__box_finite(bb[0], bb[1], bb[2], bb[3]))
        return 0;
    if (det_list_room(&pt->l) < 0)
        return -1;
    dg_shapes *sh = &pt->sh;
    if (sh->n == sh->cap && dg__shapes_reserve(NULL, sh, 0, 1) < 0)
        return -1;
    dg__shapes_push_empty(sh);
    det_rec *d = &pt->l.v[pt->l.n++];
    memset(d, 0, sizeof(*d));
    d->frame = frame;
    d->cls = cls;
    memcpy(d->bb, bb, sizeof(bb));
    d->score = score;
    d->has_bbox = 1;
    *end = q;
    return 1;
}

static void part_scan(dt_part *pt)
{
    pt->ok = dg__json_scan_elements(&pt->scratch, pt->start, pt->stop,
                                    part_fast, part_elem, pt, &pt->end,
                                    &pt->closed) == 0;
}

/* The parts, taken in turn by the threads (several per thread, so that a
 * slow thread or a dense range does not keep the others waiting). */
typedef struct part_queue {
    dt_part *pt;
    int n;
    pthread_mutex_t mu;
    int next;
} part_queue;

static void *part_main(void *arg)
{
    part_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        int k = q->next < q->n ? q->next++ : -1;
        pthread_mutex_unlock(&q->mu);
        if (k < 0)
            return NULL;
        part_scan(&q->pt[k]);
    }
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
 * 1: b holds the detections and *w their warnings, *n the records;
 * 0: not done (the caller reads sequentially); < 0: out of memory.
 */
static int read_detections_par(dg_ctx *ctx, const det_maps *m,
                               const char *path, char **bufp, size_t len,
                               dg_boxset *b, det_warns *w, dg_shapes *sh,
                               size_t *n)
{
    const char *buf = *bufp;
    /*
     * DETGRID_JSON_PAR="<min bytes>,<parts>" is a test hook: the fuzz
     * target tests/fuzz/fuzz-coco-json.c reaches this path with small
     * files, cut into up to 16 parts, and compares it with the sequential
     * reader.
     */
    size_t min_bytes = PAR_MIN_BYTES;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long parts_wanted = ncpu * PAR_PARTS_PER_CPU;
    const char *hook = dg__env("DETGRID_JSON_PAR");
    if (hook) {
        unsigned long mb = 0, np_ = 0;
        if (sscanf(hook, "%lu,%lu", &mb, &np_) == 2 && mb >= 4)
            min_bytes = mb, parts_wanted = (long)np_;
    }
    if (len < min_bytes || ncpu < 1)
        return 0;
    int parts = parts_wanted > PAR_MAX_PARTS ? PAR_MAX_PARTS
                                             : (int)parts_wanted;
    if ((size_t)parts > len / (min_bytes / 4))
        parts = (int)(len / (min_bytes / 4));
    if (parts < 2)
        return 0;
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

    dt_part *pt = dg__calloc(ctx, (size_t)np, sizeof(*pt));
    if (!pt)
        return -1;
    int nth = ncpu < np ? (int)ncpu : np;
    if (nth > PAR_MAX_PARTS)
        nth = PAR_MAX_PARTS;
    pthread_t th[PAR_MAX_PARTS];
    int started[PAR_MAX_PARTS] = { 0 };
    int rc = 0;
    for (int k = 0; k < np; k++) {
        pt[k].path = path;
        pt[k].maps = m;
        pt[k].rd.shared = 1;
        pt[k].scratch.buf = (char *)buf;
        pt[k].scratch.len = len;
        pt[k].start = cut[k];
        pt[k].stop = cut[k + 1];
    }
    part_queue q = { pt, np, PTHREAD_MUTEX_INITIALIZER, 0 };
    for (int k = 1; k < nth; k++)
        started[k] = pthread_create(&th[k], NULL, part_main, &q) == 0;
    part_main(&q); /* and every part no thread took */
    for (int k = 1; k < nth; k++)
        if (started[k])
            pthread_join(th[k], NULL);

    /* Every cut checked by the range before it; the last range ends the
     * array and the file. */
    size_t total = 0;
    for (int k = 0; k < np; k++) {
        if (!pt[k].ok)
            goto out;
        if (k + 1 < np ? (pt[k].closed || pt[k].end != cut[k + 1])
                       : (!pt[k].closed || pt[k].end != len))
            goto out;
        total += pt[k].l.n;
    }
    /* Every record read: the file can go. */
    free(*bufp);
    *bufp = NULL;
    /* Each part's shapes join the whole and are let go at once, so that
     * the runs are held about once, not twice. */
    uint64_t runs = 0;
    for (int k = 0; k < np; k++)
        runs += pt[k].sh.runs.n;
    if (runs && dg__runs_reserve(&sh->runs, runs)) {
        rc = -1;
        goto out;
    }
    size_t base = 0;
    det_list lists[PAR_MAX_PARTS]; /* views: pt[k] keeps and frees them */
    for (int k = 0; k < np; k++) {
        lists[k] = pt[k].l;
        if (dg__shapes_append(ctx, sh, &pt[k].sh) < 0) {
            rc = -1;
            goto out;
        }
        dg__shapes_release(&pt[k].sh);
        det_warns_merge(w, &pt[k].warns, base);
        base += pt[k].l.n;
    }
    /* Every record passed read_det, so the first that the first one's
     * rule does not fit is the sequential reader's message too. */
    dg_status fst = finish_dets(ctx, path, "", lists, np, b, sh);
    if (fst < 0) {
        rc = fst == DG_ENOMEM ? -1 : -2;
        goto out;
    }
    *n = total;
    rc = 1;
out:
    for (int k = 0; k < np; k++) {
        det_list_release(&pt[k].l);
        free(pt[k].scratch.node);
        dg__shapes_release(&pt[k].sh);
        dg__shape_reader_release(&pt[k].rd);
    }
    free(pt);
    return rc;
}

/*
 * The detections of the results file path into b (not sorted yet), their
 * count in *n and the name of their array for messages in *array ("" for
 * a bare top-level array): on several threads when the file is large
 * (read_detections_par), else parsed whole.
 */
/* Whether the array arr holds records with a score (the first tells). */
static int has_scores(dg_json *j, uint32_t arr)
{
    static const char *const score[] = { "score" };
    uint32_t f;
    if (arr == NONE || dg__json_type(j, arr) != DG_JSON_ARRAY ||
        !dg__json_count(j, arr) || dg__json_type(j, arr + 1) != DG_JSON_OBJECT)
        return 0;
    dg__json_fields(j, arr + 1, score, 1, &f);
    return f != NONE;
}

static dg_status read_results(dg_ctx *ctx, const det_maps *m,
                              const char *path, dg_boxset *b, det_warns *w,
                              dg_shapes *sh, size_t *n, const char **array)
{
    dg_json j;
    uint32_t arr;
    char *buf;
    size_t len;
    dg_status st;

    memset(&j, 0, sizeof(j));
    if ((st = dg__json_read_file(ctx, path, &buf, &len)) < 0)
        return st;
    int done = read_detections_par(ctx, m, path, &buf, len, b, w, sh, n);
    if (done > 0)
        dg__progress(ctx, "import detections", *n, *n);
    if (done != 0) {
        free(buf);
        return done == -1 ? dg__fail(ctx, DG_ENOMEM, "out of memory reading "
                                     "'%s'", path)
               : done == -2 ? DG_EFORMAT : DG_OK;
    }
    /* dg__json_parse owns buf from here. */
    if ((st = dg__json_parse(ctx, path, buf, len, &j)) < 0)
        goto out;
    /* Some tools wrap the list as {"annotations": [...]}. */
    arr = 0;
    if (dg__json_type(&j, 0) == DG_JSON_OBJECT) {
        static const char *const wrap[] = { "annotations", "images",
                                            "categories" };
        uint32_t f[3];
        dg__json_fields(&j, 0, wrap, 3, f);
        if (f[1] != NONE && f[2] != NONE && !has_scores(&j, f[0])) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': this is a COCO instances "
                          "file (ground truth: it has 'images' and "
                          "'categories', and its annotations no scores), not "
                          "a results file (a list of detections with "
                          "scores)", path);
            goto out;
        }
        arr = f[0];
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
    st = read_detections(ctx, m, path, *array, &j, arr, *n, b, w, sh);
out:
    dg__json_release(&j);
    return st;
}

dg_status dg_import_coco_dt(dg_ctx *ctx, dg_project *p, const char *path,
                            const char *name, int replace,
                            const dg_coco_import_opts *opts)
{
    const char *array = "";
    dg_boxset b;
    dg_shapes *sh = NULL;
    det_maps m;
    det_warns w;
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

    memset(&w, 0, sizeof(w));
    dg__boxset_init(&b);
    if (!(sh = dg__calloc(ctx, 1, sizeof(*sh))))
        return DG_ENOMEM;
    /* The shapes sort by the boxes' frames before the boxes do. */
    if ((st = det_maps_init(ctx, p, opts && opts->strict, &m)) < 0 ||
        (st = read_results(ctx, &m, path, &b, &w, sh, &n, &array)) < 0 ||
        (st = dg__shapes_sort_by_frame(ctx, sh, b.frame,
                                       dg__project_n_frames(p))) < 0 ||
        (st = dg__boxset_sort_by_frame(ctx, &b, dg__project_n_frames(p))) < 0)
        goto out;

    /* Valid: only now does the project change. */
    if (have < 0) {
        uint32_t idx;
        if ((st = dg__project_add_inferences(ctx, p, name, &idx)) < 0)
            goto out;
        have = idx;
    }
    /* b and sh get the old boxes and shapes, released below. */
    dg__project_take_inferences(p, (uint32_t)have, &b);
    dg__project_take_inference_shapes(p, (uint32_t)have, &sh);

    if (n == 0)
        dg__warn(ctx, "'%s': no detections", path);
    warn_emit(ctx, &w.zero_box, path, array, "detection",
              "detections");
    warn_emit(ctx, &w.unknown_cat, path, array, "detection",
              "detections");
    warn_emit(ctx, &w.score_range, path, array, "detection",
              "detections");
    warn_emit(ctx, &w.other_size, path, array, "detection",
              "detections");
    st = DG_OK;
out:
    det_maps_release(&m);
    dg__boxset_release(&b);
    dg__shapes_free(sh);
    return st;
}
