/*
 * Boxes from arrays (include/detgrid/import.h): COCO's records column by
 * column, for programs that hold them in memory. The rules and messages
 * are those of the COCO importer (docs/IMPORT.md), with the caller's
 * source name where a file's path would stand; the project changes only
 * once everything is valid.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define NONE UINT32_MAX

/* An id and where it goes (frame or class index), sorted by id. */
typedef struct id_pos {
    int64_t id;
    uint32_t pos;
} id_pos;

static int cmp_id_pos(const void *a, const void *b)
{
    const id_pos *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static uint32_t lookup(const id_pos *v, uint32_t n, int64_t id)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].id == id ? v[lo].pos : NONE;
}

/* v so that it reads back as the same double (as the COCO importer). */
static const char *fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.15g", v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, size, "%.17g", v);
    return buf;
}

/* "'<source>': <array>[<index>]: field '<field>': <problem>" */
static dg_status rec_fail(dg_ctx *ctx, const char *src, const char *array,
                          uint64_t i, const char *field, const char *fmt, ...)
    DG_PRINTF(6, 7);
static dg_status rec_fail(dg_ctx *ctx, const char *src, const char *array,
                          uint64_t i, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return dg__fail(ctx, DG_EFORMAT, "'%s': %s[%" PRIu64 "]: field '%s': %s",
                    src, array, i, field, msg);
}

/* A finite number >= 0 (sizes, areas), or the message. */
static dg_status check_size(dg_ctx *ctx, const char *src, const char *array,
                            uint64_t i, const char *field, double v)
{
    char b[40];
    if (!isfinite(v))
        return rec_fail(ctx, src, array, i, field,
                        "not a finite number (%s)", fmt_num(b, sizeof(b), v));
    if (v < 0)
        return rec_fail(ctx, src, array, i, field, "negative (%s)",
                        fmt_num(b, sizeof(b), v));
    return DG_OK;
}

static dg_status check_box(dg_ctx *ctx, const char *src, const char *arr,
                           uint64_t i, const double *bb, uint64_t *zero,
                           uint64_t *first)
{
    static const char *const part[4] = {"x", "y", "width", "height"};
    char b[40];
    for (int k = 0; k < 4; k++) {
        if (!isfinite(bb[k]))
            return rec_fail(ctx, src, arr, i, "bbox",
                            "%s is not a finite number (%s)", part[k],
                            fmt_num(b, sizeof(b), bb[k]));
        if (k >= 2 && bb[k] < 0)
            return rec_fail(ctx, src, arr, i, "bbox", "%s is negative (%s)",
                            part[k], fmt_num(b, sizeof(b), bb[k]));
    }
    if ((bb[2] == 0 || bb[3] == 0) && (*zero)++ == 0)
        *first = i;
    return DG_OK;
}

static dg_status check_flag(dg_ctx *ctx, const char *src, uint64_t i,
                            const char *field, const uint8_t *v)
{
    if (v && v[i] > 1)
        return rec_fail(ctx, src, "annotations", i, field, "not 0 or 1 (%u)",
                        (unsigned)v[i]);
    return DG_OK;
}

/*
 * Validates boxes against the images (frame lookup) and categories (class
 * lookup) and builds them into *out, sorted by frame; labels take area,
 * iscrowd and ignore, detections their score.
 */
static dg_status build_boxes(dg_ctx *ctx, const char *src,
                             const dg_array_boxes *a, int labels,
                             const id_pos *imgs, uint32_t n_img,
                             const id_pos *cats, uint32_t n_cat,
                             uint32_t n_frames, dg_boxset *out)
{
    dg_status st;
    uint64_t zero = 0, first = 0;
    /* As the COCO importer (docs/IMPORT.md): a detection of a category the
     * ground truth lacks is skipped, a score outside [0, 1] kept, each
     * kind reported once. */
    uint64_t n_unk = 0, first_unk = 0, n_out = 0, first_out = 0;
    int64_t unk_cat = 0;
    double out_score = 0.0;
    char b[40];
    /* Labels are a file's "annotations", detections a bare array. */
    const char *arr = labels ? "annotations" : "";
    if (a->n && (!a->image_id || !a->category_id || !a->bbox ||
                 (!labels && !a->score)))
        return dg__fail(ctx, DG_EINVAL, "'%s': missing a column (image_id, "
                        "category_id, bbox%s)", src, labels ? "" : ", score");
    if (a->n >= UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "'%s': too many boxes (%" PRIu64 ")",
                        src, a->n);
    if ((st = dg__boxset_reserve(ctx, out,
                                 labels ? DG_BOXES_LABELS : DG_BOXES_DETS,
                                 a->n ? a->n : 1)) < 0)
        return st;
    /* Boxes come grouped by image as a rule: the last image found is
     * tried first. */
    int64_t last_img = 0;
    uint32_t f = NONE;
    for (uint64_t i = 0; i < a->n; i++) {
        const double *bb = a->bbox + 4 * i;
        if (f == NONE || a->image_id[i] != last_img) {
            last_img = a->image_id[i];
            f = lookup(imgs, n_img, last_img);
        }
        if (f == NONE)
            return rec_fail(ctx, src, arr, i, "image_id", "unknown image %"
                            PRId64, a->image_id[i]);
        uint32_t c = lookup(cats, n_cat, a->category_id[i]);
        if (c == NONE && labels)
            return rec_fail(ctx, src, arr, i, "category_id",
                            "unknown category %" PRId64, a->category_id[i]);
        if ((st = check_box(ctx, src, arr, i, bb, &zero, &first)) < 0)
            return st;
        double area = 0.0, score = 0.0;
        if (labels) {
            area = a->area ? a->area[i] : bb[2] * bb[3];
            if ((a->area &&
                 (st = check_size(ctx, src, arr, i, "area", area)) < 0) ||
                (st = check_flag(ctx, src, i, "iscrowd", a->iscrowd)) < 0 ||
                (st = check_flag(ctx, src, i, "ignore", a->ignore)) < 0)
                return st;
        } else {
            score = a->score[i];
            if (!isfinite(score))
                return rec_fail(ctx, src, "", i, "score",
                                "not a finite number (%s)",
                                fmt_num(b, sizeof(b), score));
            if (c == NONE) {
                if (n_unk++ == 0) {
                    first_unk = i;
                    unk_cat = a->category_id[i];
                }
                continue;
            }
            if ((score < 0 || score > 1) && n_out++ == 0) {
                first_out = i;
                out_score = score;
            }
        }
        dg__boxset_push(out, f, c, bb[0], bb[1], bb[2], bb[3], score, area,
                        a->iscrowd ? a->iscrowd[i] : 0,
                        a->ignore ? a->ignore[i] : 0);
    }
    if (n_unk)
        dg__warn(ctx, "'%s': [%" PRIu64 "]: field 'category_id': unknown "
                 "category %" PRId64 ", detection skipped (%" PRIu64
                 " detection%s in all)", src, first_unk, unk_cat, n_unk,
                 n_unk == 1 ? "" : "s");
    if (n_out)
        dg__warn(ctx, "'%s': [%" PRIu64 "]: field 'score': outside [0, 1] "
                 "(%s), kept: confidences apply to the raw scores (%" PRIu64
                 " detection%s in all)", src, first_out,
                 fmt_num(b, sizeof(b), out_score), n_out,
                 n_out == 1 ? "" : "s");
    if (zero)
        dg__warn(ctx, "'%s': %s[%" PRIu64 "]: field 'bbox': zero width or "
                 "height (%" PRIu64 " %s%s in all)", src, arr, first, zero,
                 labels ? "label" : "detection", zero == 1 ? "" : "s");
    return dg__boxset_sort_by_frame(ctx, out, n_frames);
}

/* Sorts v by id; two records with one id are an error naming both. */
static dg_status sort_distinct(dg_ctx *ctx, const char *src, const char *array,
                               const char *noun, id_pos *v, uint32_t n)
{
    qsort(v, n, sizeof(*v), cmp_id_pos);
    for (uint32_t i = 1; i < n; i++)
        if (v[i].id == v[i - 1].id)
            return rec_fail(ctx, src, array, v[i].pos, "id",
                            "duplicate %s %" PRId64 " (also %s[%" PRIu32 "])",
                            noun, v[i].id, array, v[i - 1].pos);
    return DG_OK;
}

/* The images sorted by id (frame index = rank), checked. */
static dg_status image_index(dg_ctx *ctx, const char *src,
                             const dg_array_images *im, id_pos **out)
{
    id_pos *v = dg__alloc(ctx, im->n ? im->n : 1, sizeof(*v));
    if (!v)
        return DG_ENOMEM;
    *out = v;
    for (uint32_t i = 0; i < im->n; i++) {
        if (im->id[i] < 0)
            return rec_fail(ctx, src, "images", i, "id", "negative (%" PRId64
                            ")", im->id[i]);
        double wh[2] = {im->width ? im->width[i] : NAN,
                        im->height ? im->height[i] : NAN};
        static const char *const f[2] = {"width", "height"};
        for (int k = 0; k < 2; k++) {
            dg_status st;
            if (!isnan(wh[k]) &&
                (st = check_size(ctx, src, "images", i, f[k], wh[k])) < 0)
                return st;
        }
        v[i].id = im->id[i];
        v[i].pos = i;
    }
    return sort_distinct(ctx, src, "images", "image", v, im->n);
}

/* The categories sorted by id (pos = class index), checked. */
static dg_status category_index(dg_ctx *ctx, const char *src,
                                const dg_array_categories *c, id_pos **out)
{
    id_pos *v = dg__alloc(ctx, c->n ? c->n : 1, sizeof(*v));
    if (!v)
        return DG_ENOMEM;
    *out = v;
    for (uint32_t i = 0; i < c->n; i++) {
        const char *nm = c->name ? c->name[i] : NULL;
        if (c->name && (!nm || !nm[0]))
            return rec_fail(ctx, src, "categories", i, "name", "empty");
        if (nm && !dg__utf8_valid(nm))
            return rec_fail(ctx, src, "categories", i, "name",
                            "not valid UTF-8");
        v[i].id = c->id[i];
        v[i].pos = i;
    }
    return sort_distinct(ctx, src, "categories", "category", v, c->n);
}

/* A class name and its position, sorted by name then position. */
typedef struct name_pos {
    const char *name;
    uint32_t pos;
} name_pos;

static int cmp_name_pos(const void *a, const void *b)
{
    const name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * The class names of cats (the id where there are none) are unique:
 * else DG_EFORMAT naming the later record of the first repeat. One sort,
 * so many classes stay cheap.
 */
static dg_status unique_names(dg_ctx *ctx, const char *src,
                              const dg_array_categories *cats, char (*ids)[24])
{
    uint32_t n = (uint32_t)cats->n;
    if (n < 2)
        return DG_OK;
    name_pos *v = dg__alloc(ctx, n, sizeof(*v));
    if (!v)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        v[i].name = cats->name ? cats->name[i] : ids[i];
        v[i].pos = i;
    }
    qsort(v, n, sizeof(*v), cmp_name_pos);
    uint32_t bad = NONE;
    for (uint32_t i = 1; i < n; i++)
        if (!strcmp(v[i - 1].name, v[i].name) && v[i].pos < bad)
            bad = v[i].pos;
    free(v);
    if (bad == NONE)
        return DG_OK;
    return rec_fail(ctx, src, "categories", bad, "name", "duplicate name '%s'",
                    cats->name ? cats->name[bad] : ids[bad]);
}

dg_status dg_import_arrays_gt(dg_ctx *ctx, dg_project *p, const char *source,
                              const dg_array_images *images,
                              const dg_array_categories *cats,
                              const dg_array_boxes *labels)
{
    const char *src = source ? source : "arrays";
    id_pos *imgs = NULL, *cv = NULL;
    char (*ids)[24] = NULL;
    dg_project *tmp = NULL;
    dg_boxset b;
    dg_status st;
    if (!p || !images || !cats || !labels ||
        (images->n && !images->id) || (cats->n && !cats->id))
        return dg__fail(ctx, DG_EINVAL, "import: no project, images, "
                        "categories or labels");
    if (dg__project_n_classes(p) || dg__project_n_frames(p) ||
        dg__project_n_labels(p) || dg__project_n_meta(p) ||
        dg__project_n_inferences(p))
        return dg__fail(ctx, DG_EINVAL, "'%s': cannot import ground truth "
                        "into a project that already has classes or frames",
                        src);
    if (!cats->n)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'categories': no "
                        "categories", src);
    if (!images->n)
        return dg__fail(ctx, DG_EFORMAT, "'%s': field 'images': no images",
                        src);
    dg__boxset_init(&b);
    if ((st = image_index(ctx, src, images, &imgs)) < 0 ||
        (st = category_index(ctx, src, cats, &cv)) < 0 ||
        (st = dg_project_create(ctx, &tmp)) < 0)
        goto out;
    if (!(ids = dg__alloc(ctx, cats->n, sizeof(*ids)))) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < cats->n; i++)
        snprintf(ids[i], sizeof(ids[i]), "%" PRId64, cats->id[i]);
    if ((st = unique_names(ctx, src, cats, ids)) < 0)
        goto out;
    for (uint32_t i = 0; i < cats->n; i++) {
        const char *nm = cats->name ? cats->name[i] : ids[i];
        if ((st = dg__project_add_class(ctx, tmp, nm, cats->id[i])) < 0)
            goto out;
    }
    /* Frames in ascending image id; an image's frame is its rank. */
    for (uint32_t r = 0; r < images->n; r++) {
        uint32_t i = imgs[r].pos;
        char id[24];
        snprintf(id, sizeof(id), "%" PRId64, images->id[i]);
        if ((st = dg__project_add_frame(
                 ctx, tmp, id, images->id[i],
                 images->width ? images->width[i] : NAN,
                 images->height ? images->height[i] : NAN)) < 0)
            goto out;
        imgs[r].pos = r;
    }
    if ((st = build_boxes(ctx, src, labels, 1, imgs, images->n, cv, cats->n,
                          images->n, &b)) < 0)
        goto out;
    dg__project_move_classes_frames(p, tmp);
    dg__project_take_labels(p, &b);
out:
    dg__boxset_release(&b);
    dg_project_free(tmp);
    free(imgs);
    free(cv);
    free(ids);
    return st;
}

dg_status dg_import_arrays_dt(dg_ctx *ctx, dg_project *p, const char *source,
                              const dg_array_boxes *dets, const char *name,
                              int replace)
{
    const char *src = source ? source : "arrays";
    uint32_t F, C;
    id_pos *imgs = NULL, *cv = NULL;
    dg_boxset b;
    dg_status st;
    if (!p || !dets)
        return dg__fail(ctx, DG_EINVAL, "import: no project or no boxes");
    if (!name || !name[0])
        return dg__fail(ctx, DG_EINVAL, "'%s': no inference set name", src);
    int64_t have = dg_project_inference_index(p, name);
    if (have >= 0 && !replace)
        return dg__fail(ctx, DG_EEXIST, "inference set '%s' already exists",
                        name);
    F = dg__project_n_frames(p);
    C = dg__project_n_classes(p);
    if (!F)
        return dg__fail(ctx, DG_EINVAL, "'%s': the project has no frames; "
                        "import ground truth first", src);
    dg__boxset_init(&b);
    imgs = dg__alloc(ctx, F, sizeof(*imgs));
    cv = dg__alloc(ctx, C ? C : 1, sizeof(*cv));
    if (!imgs || !cv) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t f = 0; f < F; f++) {
        imgs[f].id = dg_project_frame_num(p, f);
        imgs[f].pos = f;
    }
    for (uint32_t c = 0; c < C; c++) {
        cv[c].id = dg_project_class_id(p, c);
        cv[c].pos = c;
    }
    qsort(imgs, F, sizeof(*imgs), cmp_id_pos);
    qsort(cv, C, sizeof(*cv), cmp_id_pos);
    if ((st = build_boxes(ctx, src, dets, 0, imgs, F, cv, C, F, &b)) < 0)
        goto out;
    if (have < 0) {
        uint32_t idx;
        if ((st = dg__project_add_inferences(ctx, p, name, &idx)) < 0)
            goto out;
        have = idx;
    }
    /* b gets the old boxes, released below. */
    dg__project_take_inferences(p, (uint32_t)have, &b);
    if (!dets->n)
        dg__warn(ctx, "'%s': no detections", src);
out:
    dg__boxset_release(&b);
    free(imgs);
    free(cv);
    return st;
}
