/*
 * The project file: open, lazy loading of boxes, range reads, atomic save.
 * The layout is documented in docs/FORMAT.md; keep the two in step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "detgrid/image.h"
#include "store_impl.h"

#define FORMAT_TAG "detgrid-project"

static const char *ptag(const dg_project *p)
{
    return p->path ? p->path : "(new project)";
}

dg_status dg_project_create(dg_ctx *ctx, dg_project **out)
{
    dg__h5_quiet();
    dg_project *p = dg__calloc(ctx, 1, sizeof(*p));
    if (!p)
        return DG_ENOMEM;
    p->file = -1;
    p->format_version = DG_FORMAT_VERSION;
    p->default_conf = DG_DEFAULT_CONF;
    p->default_iou = DG_DEFAULT_IOU;
    p->meta_dirty = 1;
    p->labels_loaded = 1;
    dg__boxset_init(&p->labels);
    p->labels.frame_off = calloc(1, sizeof(uint64_t));
    if (!p->labels.frame_off) {
        free(p);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    *out = p;
    return DG_OK;
}

static void infset_release(dg_infset *s)
{
    free(s->name);
    free(s->h5name);
    dg__boxset_release(&s->boxes);
    dg__results_destroy(s->results);
    for (int t = 1; t < DG_N_IOU_TYPES; t++)
        dg__results_destroy(s->typed[t]);
    dg__shapes_free(s->shapes);
}

void dg_project_free(dg_project *p)
{
    if (!p)
        return;
    if (p->file >= 0)
        H5Fclose((hid_t)p->file);
    free(p->path);
    free(p->images_dir);
    free(p->real);
    dg__strings_free(p->class_names, p->n_classes);
    free(p->class_ids);
    dg__strings_free(p->frame_ids, p->n_frames);
    free(p->frame_num);
    free(p->frame_w);
    free(p->frame_h);
    for (uint32_t i = 0; i < p->n_meta; i++) {
        free(p->meta[i].name);
        free(p->meta[i].num);
        dg__strings_free(p->meta[i].str, p->n_frames);
    }
    free(p->meta);
    dg__boxset_release(&p->labels);
    dg__shapes_free(p->label_shapes);
    free(p->zero_ids);
    for (uint32_t i = 0; i < p->n_inf; i++)
        infset_release(&p->inf[i]);
    free(p->inf);
    dg__segments_free(p);
    dg__embeddings_free(p);
    free(p);
}

void dg_project_get_info(const dg_project *p, dg_project_info *out)
{
    out->format_version = p->format_version;
    out->n_classes = p->n_classes;
    out->n_frames = p->n_frames;
    out->n_labels = p->labels_loaded ? p->labels.n : p->n_labels;
    out->n_inferences = p->n_inf;
    out->default_conf = p->default_conf;
    out->default_iou = p->default_iou;
}

const char *dg_project_class_name(const dg_project *p, uint32_t i)
{
    return i < p->n_classes ? p->class_names[i] : NULL;
}

int64_t dg_project_class_id(const dg_project *p, uint32_t i)
{
    return i < p->n_classes ? p->class_ids[i] : -1;
}

int64_t dg_project_class_index(const dg_project *p, const char *name)
{
    for (uint32_t i = 0; i < p->n_classes; i++)
        if (!strcmp(p->class_names[i], name))
            return i;
    return -1;
}

const char *dg_project_frame_id(const dg_project *p, uint32_t i)
{
    return i < p->n_frames ? p->frame_ids[i] : NULL;
}

const char *dg_project_inference_name(const dg_project *p, uint32_t i)
{
    return i < p->n_inf ? p->inf[i].name : NULL;
}

int64_t dg_project_inference_index(const dg_project *p, const char *name)
{
    for (uint32_t i = 0; i < p->n_inf; i++)
        if (!strcmp(p->inf[i].name, name))
            return i;
    return -1;
}

dg_status dg_project_find(dg_ctx *ctx, const dg_project *p,
                          dg_name_kind kind, const char *name, uint32_t *idx)
{
    static const char *const what[] = { "class", "inference set", "segment" };
    static const char *const kinds[] = { "classes", "inference sets",
                                         "segments" };
    uint32_t n = 0;
    const char *(*get)(const dg_project *, uint32_t) = NULL;
    int64_t i = -1;
    if (!p || !name || (unsigned)kind > DG_NAME_SEGMENT)
        return dg__fail(ctx, DG_EINVAL, "dg_project_find: no project, no "
                        "name or an unknown kind");
    switch (kind) {
    case DG_NAME_CLASS:
        i = dg_project_class_index(p, name);
        n = p->n_classes;
        get = dg_project_class_name;
        break;
    case DG_NAME_INFERENCES:
        i = dg_project_inference_index(p, name);
        n = p->n_inf;
        get = dg_project_inference_name;
        break;
    case DG_NAME_SEGMENT:
        i = dg_project_segment_index(p, name);
        n = dg_project_n_segments(p);
        get = dg_project_segment_name;
        break;
    }
    if (i >= 0) {
        if (idx)
            *idx = (uint32_t)i;
        return DG_OK;
    }
    /* The choices for the message; without memory, the message has none. */
    const char **v = malloc((n ? n : 1) * sizeof(*v));
    if (!v)
        n = 0;
    for (uint32_t k = 0; k < n; k++)
        v[k] = get(p, k);
    char w[700];
    snprintf(w, sizeof(w), "'%s': no %s", dg__project_path(p), what[kind]);
    dg_status st = dg__fail_unknown(ctx, DG_ENOTFOUND, w, name, v, n,
                                    kinds[kind]);
    free(v);
    return st;
}

uint64_t dg_project_inference_size(const dg_project *p, uint32_t i)
{
    if (i >= p->n_inf)
        return 0;
    return p->inf[i].loaded ? p->inf[i].boxes.n : p->inf[i].n;
}

/* ---- accessors for the other layers (store.h) ------------------------- */

const char *dg__project_path(const dg_project *p)
{
    return p->path ? p->path : "(project)";
}

uint32_t dg__project_n_frames(const dg_project *p)
{
    return p->n_frames;
}

uint32_t dg__project_n_classes(const dg_project *p)
{
    return p->n_classes;
}

uint32_t dg__project_n_inferences(const dg_project *p)
{
    return p->n_inf;
}

uint64_t dg__project_n_labels(const dg_project *p)
{
    return p->labels_loaded ? p->labels.n : p->n_labels;
}

void dg__project_frame_size(const dg_project *p, uint32_t i, double *w,
                            double *h)
{
    *w = i < p->n_frames && p->frame_w ? p->frame_w[i] : 0;
    *h = i < p->n_frames && p->frame_h ? p->frame_h[i] : 0;
}

char *const *dg__project_class_names(const dg_project *p)
{
    return p->class_names;
}

char *const *dg__project_frame_ids(const dg_project *p)
{
    return p->frame_ids;
}

dg_status dg__project_labels(dg_ctx *ctx, dg_project *p,
                             const dg_boxset **gt)
{
    dg_status st = dg__project_load_labels(ctx, p);
    *gt = st < 0 ? NULL : &p->labels;
    return st;
}

dg_status dg__project_inferences(dg_ctx *ctx, dg_project *p, uint32_t i,
                                 const dg_boxset **dt)
{
    *dt = NULL;
    if (i >= p->n_inf)
        return dg__fail(ctx, DG_EINVAL, "no inference set %u", i);
    dg_status st = dg__project_load_inferences(ctx, p, i);
    if (st >= 0)
        *dt = &p->inf[i].boxes;
    return st;
}

int dg__project_labels_loaded(const dg_project *p)
{
    return p->labels_loaded;
}

int dg__project_inferences_loaded(const dg_project *p, uint32_t i)
{
    return i < p->n_inf && p->inf[i].loaded;
}

dg_status dg__project_det_column(dg_ctx *ctx, dg_project *p, uint32_t which,
                                 const char *name, void **col, int *owned)
{
    dg_infset *s = &p->inf[which];
    int is_cls = !strcmp(name, "class");
    *owned = 0;
    if (s->loaded) {
        *col = is_cls ? (void *)s->boxes.cls : (void *)s->boxes.score;
        return DG_OK;
    }
    char path[600];
    uint64_t n = s->n;
    *col = dg__alloc(ctx, n ? n : 1, is_cls ? 4 : 8);
    if (!*col)
        return DG_ENOMEM;
    *owned = 1;
    snprintf(path, sizeof(path), "/inferences/%s/%s", dg__infset_src_name(s),
             name);
    return dg__h5_read_1d(ctx, (hid_t)p->file, path,
                          is_cls ? H5T_NATIVE_UINT32 : H5T_NATIVE_DOUBLE,
                          is_cls ? H5T_INTEGER : H5T_FLOAT, *col, n, 0, n);
}

uint32_t dg__project_n_meta(const dg_project *p)
{
    return p->n_meta;
}

const dg_meta_col *dg__project_meta(const dg_project *p, uint32_t i)
{
    return i < p->n_meta ? &p->meta[i] : NULL;
}

static void meta_col_release(dg_meta_col *m, uint32_t n_frames)
{
    free(m->name);
    free(m->num);
    if (m->str)
        for (uint32_t f = 0; f < n_frames; f++)
            free(m->str[f]);
    free(m->str);
    memset(m, 0, sizeof(*m));
}

/* DG_EINVAL naming what (a "class name") when name cannot be written. */
static dg_status check_name(dg_ctx *ctx, const char *what, const char *name,
                            const char *why)
{
    char shown[600];
    if (!why)
        return DG_OK;
    return dg__fail(ctx, DG_EINVAL, "invalid %s '%s': %s (names are "
                    "non-empty UTF-8 without control characters)", what,
                    dg__name_show(name, shown, sizeof(shown)), why);
}

dg_status dg__project_set_meta(dg_ctx *ctx, dg_project *p, const char *name,
                               int is_num, double *num, char **str)
{
    dg_status st = DG_ENOMEM;
    const char *why = dg__h5_name_problem(name);
    for (uint32_t f = 0; !why && !is_num && f < p->n_frames; f++)
        if ((why = dg__name_problem(str[f], 1)) != NULL) {
            char shown[600];
            st = dg__fail(ctx, DG_EINVAL, "metadata column '%s', frame %u: "
                          "value '%s': %s", name, f,
                          dg__name_show(str[f], shown, sizeof(shown)), why);
            goto fail;
        }
    if (why) {
        st = check_name(ctx, "metadata column name", name, why);
        goto fail;
    }
    uint32_t i = 0;
    while (i < p->n_meta && strcmp(p->meta[i].name, name))
        i++;
    char *nm = dg__strdup(ctx, name);
    if (!nm)
        goto fail;
    if (i == p->n_meta) {
        dg_meta_col *m = realloc(p->meta, (p->n_meta + 1) * sizeof(*m));
        if (!m) {
            free(nm);
            dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto fail;
        }
        p->meta = m;
        p->n_meta++;
    } else {
        meta_col_release(&p->meta[i], p->n_frames);
    }
    dg_meta_col *m = &p->meta[i];
    m->name = nm;
    m->is_num = is_num;
    m->num = is_num ? num : NULL;
    m->str = is_num ? NULL : str;
    p->meta_dirty = 1;
    return DG_OK;
fail:
    free(num);
    if (str)
        for (uint32_t f = 0; f < p->n_frames; f++)
            free(str[f]);
    free(str);
    return st;
}

dg_status dg__project_spill_pending(dg_ctx *ctx, dg_project *p)
{
    for (uint32_t i = 0; i < p->n_inf; i++)
        for (int t = 0; t < DG_N_IOU_TYPES; t++) {
            struct dg_results *r = *dg__infset_results(&p->inf[i], t);
            dg_status st;
            if (r && r->pending &&
                (st = dg__pending_spill(ctx, r->pending)) < 0)
                return st;
        }
    return DG_OK;
}

dg_status dg_project_set_defaults(dg_ctx *ctx, dg_project *p, double conf,
                                  double iou)
{
    if (!isfinite(conf))
        return dg__fail(ctx, DG_ERANGE, "confidence %g is not a finite "
                        "number", conf);
    if (!(iou > 0 && iou <= 1))
        return dg__fail(ctx, DG_ERANGE, "IoU %g is outside (0, 1]", iou);
    p->default_conf = conf;
    p->default_iou = iou;
    p->meta_dirty = 1;
    return DG_OK;
}

uint32_t dg_project_n_meta(const dg_project *p)
{
    return p->n_meta;
}

const char *dg_project_meta_name(const dg_project *p, uint32_t i)
{
    return i < p->n_meta ? p->meta[i].name : NULL;
}

int dg_project_meta_is_num(const dg_project *p, uint32_t i)
{
    return i < p->n_meta ? p->meta[i].is_num : 0;
}

const char *dg_project_images_dir(const dg_project *p)
{
    return p->images_dir;
}

dg_status dg_project_set_images_dir(dg_ctx *ctx, dg_project *p,
                                    const char *dir)
{
    char *d = NULL;
    if (dir) {
        if (!dir[0] || strlen(dir) >= 4096)
            return dg__fail(ctx, DG_EINVAL, "image folder: empty or too long");
        if (!(d = dg__strdup(ctx, dir)))
            return DG_ENOMEM;
    }
    free(p->images_dir);
    p->images_dir = d;
    p->meta_dirty = 1;
    return DG_OK;
}

dg_status dg_project_remove_inferences(dg_ctx *ctx, dg_project *p,
                                       const char *name)
{
    uint32_t i;
    dg_status st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &i);
    if (st < 0)
        return st;
    infset_release(&p->inf[i]);
    memmove(&p->inf[i], &p->inf[i + 1],
            (p->n_inf - (uint32_t)i - 1) * sizeof(p->inf[0]));
    p->n_inf--;
    return DG_OK;
}

dg_status dg__project_add_inferences(dg_ctx *ctx, dg_project *p,
                                     const char *name, uint32_t *idx)
{
    const char *why = dg__h5_name_problem(name);
    if (why)
        return check_name(ctx, "inference set name", name, why);
    if (dg_project_inference_index(p, name) >= 0)
        return dg__fail(ctx, DG_EEXIST, "%s: inference set '%s' exists",
                        ptag(p), name);
    dg_infset *n = realloc(p->inf, (p->n_inf + 1) * sizeof(*n));
    if (!n)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    p->inf = n;
    dg_infset *s = &p->inf[p->n_inf];
    memset(s, 0, sizeof(*s));
    dg__boxset_init(&s->boxes);
    s->name = dg__strdup(ctx, name);
    s->boxes.frame_off = calloc((size_t)p->n_frames + 1, sizeof(uint64_t));
    if (!s->name || !s->boxes.frame_off) {
        free(s->name);
        free(s->boxes.frame_off);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    s->loaded = 1;
    s->dirty = 1;
    s->shapes_known = 1;
    *idx = p->n_inf++;
    return DG_OK;
}

dg_status dg__project_add_class(dg_ctx *ctx, dg_project *p, const char *name,
                                int64_t id)
{
    dg_status st = check_name(ctx, "class name", name,
                              dg__name_problem(name, 0));
    if (st < 0)
        return st;
    /* Duplicates are refused at the save (check_unique), in one sort: a
     * scan here would make an import of many classes quadratic. */
    char **nn = realloc(p->class_names, (p->n_classes + 1) * sizeof(*nn));
    if (!nn)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    p->class_names = nn;
    int64_t *ni = realloc(p->class_ids, (p->n_classes + 1) * sizeof(*ni));
    if (!ni)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    p->class_ids = ni;
    char *d = dg__strdup(ctx, name);
    if (!d)
        return DG_ENOMEM;
    p->class_names[p->n_classes] = d;
    p->class_ids[p->n_classes] = id;
    p->n_classes++;
    p->meta_dirty = 1;
    return DG_OK;
}

dg_status dg__project_add_frame(dg_ctx *ctx, dg_project *p, const char *id,
                                int64_t num, double w, double h)
{
    uint32_t n = p->n_frames;
    dg_status st = check_name(ctx, "frame id", id, dg__name_problem(id, 0));
    if (st < 0)
        return st;
    if (n == UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many frames");
    /* Grow by doubling; capacity is implied by the count. */
    int grow_now = n == 0 || (n & (n - 1)) == 0;
    if (grow_now) {
        size_t cap = n ? (size_t)n * 2 : 1;
        void *a = realloc(p->frame_ids, cap * sizeof(char *));
        if (a)
            p->frame_ids = a;
        void *b = realloc(p->frame_num, cap * sizeof(int64_t));
        if (b)
            p->frame_num = b;
        void *c = realloc(p->frame_w, cap * sizeof(double));
        if (c)
            p->frame_w = c;
        void *e = realloc(p->frame_h, cap * sizeof(double));
        if (e)
            p->frame_h = e;
        if (!a || !b || !c || !e)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    char *d = dg__strdup(ctx, id);
    if (!d)
        return DG_ENOMEM;
    p->frame_ids[n] = d;
    p->frame_num[n] = num;
    p->frame_w[n] = w;
    p->frame_h[n] = h;
    p->n_frames = n + 1;
    p->meta_dirty = 1;
    /* Frame offsets of existing box sets must cover the new frame. */
    uint64_t *lo = realloc(p->labels.frame_off, ((size_t)n + 2) * 8);
    if (!lo)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    lo[n + 1] = lo[n];
    p->labels.frame_off = lo;
    for (uint32_t i = 0; i < p->n_inf; i++) {
        if (!p->inf[i].loaded)
            continue;
        uint64_t *o = realloc(p->inf[i].boxes.frame_off, ((size_t)n + 2) * 8);
        if (!o)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
        o[n + 1] = o[n];
        p->inf[i].boxes.frame_off = o;
    }
    return DG_OK;
}

/*
 * This lists every per-class and per-frame member of struct dg_project:
 * keep it in step with dg_internal.h.
 */
void dg__project_move_classes_frames(dg_project *dst, dg_project *src)
{
    dg_project t = *dst;
    dst->n_classes = src->n_classes;
    dst->class_names = src->class_names;
    dst->class_ids = src->class_ids;
    dst->n_frames = src->n_frames;
    dst->frame_ids = src->frame_ids;
    dst->frame_num = src->frame_num;
    dst->frame_w = src->frame_w;
    dst->frame_h = src->frame_h;
    src->n_classes = t.n_classes;
    src->class_names = t.class_names;
    src->class_ids = t.class_ids;
    src->n_frames = t.n_frames;
    src->frame_ids = t.frame_ids;
    src->frame_num = t.frame_num;
    src->frame_w = t.frame_w;
    src->frame_h = t.frame_h;
}

void dg__project_take_labels(dg_project *p, dg_boxset *b)
{
    dg_boxset old = p->labels;
    p->labels = *b;
    *b = old;
    p->n_labels = p->labels.n;
    p->labels_loaded = 1;
    p->labels_fp_known = 0;
    p->meta_dirty = 1;
    /* Masks and keypoints belonged to the old boxes. */
    dg__shapes_free(p->label_shapes);
    p->label_shapes = NULL;
    p->label_shapes_known = 1;
    free(p->zero_ids);
    p->zero_ids = NULL;
    p->n_zero_ids = 0;
}

void dg__project_set_coco_zero_ids(dg_project *p, uint64_t *idx, uint64_t n)
{
    free(p->zero_ids);
    p->zero_ids = idx;
    p->n_zero_ids = n;
}

void dg__project_coco_zero_ids(const dg_project *p, const uint64_t **idx,
                               uint64_t *n)
{
    *idx = p->zero_ids;
    *n = p->n_zero_ids;
}

void dg__project_take_inferences(dg_project *p, uint32_t i, dg_boxset *b)
{
    dg_infset *inf = &p->inf[i];
    dg_boxset old = inf->boxes;
    inf->boxes = *b;
    *b = old;
    inf->n = inf->boxes.n;
    inf->loaded = 1;
    inf->dirty = 1;
    inf->fp_known = 0;
    dg__shapes_free(inf->shapes);
    inf->shapes = NULL;
    inf->shapes_known = 1;
    for (int t = 0; t < DG_N_IOU_TYPES; t++) {
        struct dg_results **r = dg__infset_results(inf, t);
        dg__results_destroy(*r);
        *r = NULL;
        *dg__infset_dirty(inf, t) = 1;
    }
}

/* ---- reading ------------------------------------------------------------ */


/*
 * Reads records [start, start+count) of the box group gpath into out (kind
 * labels or dets), after out was reserved for count boxes.
 */
static dg_status read_box_columns(dg_ctx *ctx, hid_t file, const char *gpath,
                                  int kind, uint64_t n, uint64_t start,
                                  uint64_t count, dg_boxset *out)
{
    dg_status st;
    char path[600];
#define COL(name, mt, cls, dst)                                               \
    do {                                                                      \
        snprintf(path, sizeof(path), "%s/%s", gpath, name);                   \
        if ((st = dg__h5_read_1d(ctx, file, path, mt, cls, dst, n, start,     \
                                 count)) < 0)                                 \
            return st;                                                        \
    } while (0)
    COL("frame", H5T_NATIVE_UINT32, H5T_INTEGER, out->frame);
    COL("class", H5T_NATIVE_UINT32, H5T_INTEGER, out->cls);
    COL("x", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->x);
    COL("y", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->y);
    COL("w", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->w);
    COL("h", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->h);
    if (kind == DG_BOXES_DETS) {
        COL("score", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->score);
    } else {
        snprintf(path, sizeof(path), "%s/area", gpath);
        if (dg__h5_exists(file, path))
            COL("area", H5T_NATIVE_DOUBLE, H5T_FLOAT, out->area);
        else
            for (uint64_t i = 0; i < count; i++)
                out->area[i] = out->w[i] * out->h[i];
        snprintf(path, sizeof(path), "%s/iscrowd", gpath);
        if (dg__h5_exists(file, path))
            COL("iscrowd", H5T_NATIVE_UINT8, H5T_INTEGER, out->iscrowd);
        else
            memset(out->iscrowd, 0, count);
        snprintf(path, sizeof(path), "%s/ignore", gpath);
        if (dg__h5_exists(file, path))
            COL("ignore", H5T_NATIVE_UINT8, H5T_INTEGER, out->ignore);
        else
            memset(out->ignore, 0, count);
    }
#undef COL
    out->n = count;
    return DG_OK;
}

/* Checks every value of a freshly read box set; names the record. */
static dg_status validate_boxes(dg_ctx *ctx, const dg_project *p,
                                const char *gpath, const dg_boxset *b,
                                uint64_t base)
{
    for (uint64_t i = 0; i < b->n; i++) {
        unsigned long long r = (unsigned long long)(base + i);
        const char *bad = NULL;
        double v = 0;
        if (b->frame[i] >= p->n_frames)
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s record %llu: field 'frame': %u is not a "
                            "frame index (%u frames)",
                            ptag(p), gpath, r, b->frame[i], p->n_frames);
        if (b->cls[i] >= p->n_classes)
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s record %llu: field 'class': %u is not a "
                            "class index (%u classes)",
                            ptag(p), gpath, r, b->cls[i], p->n_classes);
        if (!isfinite(b->x[i]))
            bad = "x", v = b->x[i];
        else if (!isfinite(b->y[i]))
            bad = "y", v = b->y[i];
        else if (!isfinite(b->w[i]) || b->w[i] < 0)
            bad = "w", v = b->w[i];
        else if (!isfinite(b->h[i]) || b->h[i] < 0)
            bad = "h", v = b->h[i];
        else if (b->score && !isfinite(b->score[i]))
            bad = "score", v = b->score[i];
        else if (b->area && !(isfinite(b->area[i]) && b->area[i] >= 0))
            bad = "area", v = b->area[i];
        else if (b->iscrowd && b->iscrowd[i] > 1)
            bad = "iscrowd", v = b->iscrowd[i];
        else if (b->ignore && b->ignore[i] > 1)
            bad = "ignore", v = b->ignore[i];
        else if (!dg__box_finite(b->x[i], b->y[i], b->w[i], b->h[i]))
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s record %llu: the box (%g, %g, %g, %g) is "
                            "too large: its far corner or area is not a finite "
                            "number", ptag(p), gpath, r, b->x[i], b->y[i],
                            b->w[i], b->h[i]);
        if (bad)
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s record %llu: field '%s': invalid value %g",
                            ptag(p), gpath, r, bad, v);
    }
    return DG_OK;
}

/* Reads frame_offsets of gpath, or builds them when the file has none. */
static dg_status read_offsets(dg_ctx *ctx, dg_project *p, const char *gpath,
                              uint64_t n, uint64_t **out)
{
    char path[600];
    dg_status st;
    hid_t file = (hid_t)p->file;
    uint64_t *off = dg__alloc(ctx, (size_t)p->n_frames + 1, sizeof(*off));
    if (!off)
        return DG_ENOMEM;
    snprintf(path, sizeof(path), "%s/frame_offsets", gpath);
    if (dg__h5_exists(file, path)) {
        st = dg__h5_read_1d(ctx, file, path, H5T_NATIVE_UINT64, H5T_INTEGER,
                            off, (uint64_t)p->n_frames + 1, 0,
                            (uint64_t)p->n_frames + 1);
        if (st < 0) {
            free(off);
            return st;
        }
        if (off[0] != 0 || off[p->n_frames] != n)
            goto bad;
        for (uint32_t f = 0; f < p->n_frames; f++)
            if (off[f + 1] < off[f])
                goto bad;
        *out = off;
        return DG_OK;
    }
    free(off);
    *out = NULL; /* caller sorts after a full read */
    return DG_OK;
bad:
    free(off);
    return dg__fail(ctx, DG_EFORMAT,
                    "'%s': %s/frame_offsets is not a non-decreasing list from "
                    "0 to %llu",
                    ptag(p), gpath, (unsigned long long)n);
}

static dg_status load_boxes(dg_ctx *ctx, dg_project *p, const char *gpath,
                            int kind, uint64_t n, dg_boxset *out)
{
    dg_status st;
    uint64_t *off = NULL;
    dg_boxset b;
    dg__boxset_init(&b);
    if ((st = read_offsets(ctx, p, gpath, n, &off)) < 0)
        return st;
    if ((st = dg__boxset_reserve(ctx, &b, kind, n ? n : 1)) < 0 ||
        (st = read_box_columns(ctx, (hid_t)p->file, gpath, kind, n, 0, n,
                               &b)) < 0 ||
        (st = validate_boxes(ctx, p, gpath, &b, 0)) < 0)
        goto fail;
    if (off) {
        /* Offsets must agree with the frame column. */
        for (uint32_t f = 0; f < p->n_frames; f++)
            for (uint64_t i = off[f]; i < off[f + 1]; i++)
                if (b.frame[i] != f) {
                    st = dg__fail(ctx, DG_EFORMAT,
                                  "'%s': %s record %llu: field 'frame': %u "
                                  "disagrees with frame_offsets (frame %u)",
                                  ptag(p), gpath, (unsigned long long)i,
                                  b.frame[i], f);
                    goto fail;
                }
        b.frame_off = off;
        off = NULL;
    } else if ((st = dg__boxset_sort_by_frame(ctx, &b, p->n_frames)) < 0) {
        goto fail;
    }
    *out = b;
    return DG_OK;
fail:
    free(off);
    dg__boxset_release(&b);
    return st;
}

dg_status dg__project_load_labels(dg_ctx *ctx, dg_project *p)
{
    if (p->labels_loaded)
        return DG_OK;
    dg_boxset b;
    dg_status st = load_boxes(ctx, p, "/labels", DG_BOXES_LABELS, p->n_labels,
                              &b);
    if (st < 0)
        return st;
    dg__boxset_release(&p->labels);
    p->labels = b;
    p->labels_loaded = 1;
    p->labels_fp_known = 0;
    return DG_OK;
}

dg_status dg__project_load_inferences(dg_ctx *ctx, dg_project *p, uint32_t i)
{
    if (i >= p->n_inf)
        return dg__fail(ctx, DG_EINVAL, "no inference set %u", i);
    dg_infset *s = &p->inf[i];
    if (s->loaded)
        return DG_OK;
    char gpath[512];
    snprintf(gpath, sizeof(gpath), "/inferences/%s", dg__infset_src_name(s));
    dg_boxset b;
    dg_status st = load_boxes(ctx, p, gpath, DG_BOXES_DETS, s->n, &b);
    if (st < 0)
        return st;
    s->boxes = b;
    s->loaded = 1;
    s->fp_known = 0;
    return DG_OK;
}

dg_status dg__project_load_set(dg_ctx *ctx, dg_project *p, const char *name,
                               const dg_boxset **gt, const dg_boxset **dt)
{
    dg_status st;
    uint32_t which;
    if ((st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &which)) < 0)
        return st;
    if ((st = dg__project_load_labels(ctx, p)) < 0 ||
        (st = dg__project_load_inferences(ctx, p, (uint32_t)which)) < 0)
        return st;
    *gt = &p->labels;
    *dt = &p->inf[which].boxes;
    return DG_OK;
}

dg_status dg__project_frame_offsets(dg_ctx *ctx, dg_project *p, int which,
                                    uint64_t **out)
{
    dg_status st;
    const dg_boxset *src = NULL;
    if (which < 0 ? p->labels_loaded : p->inf[which].loaded)
        src = which < 0 ? &p->labels : &p->inf[which].boxes;
    if (!src) {
        char gpath[512];
        uint64_t n = which < 0 ? p->n_labels : p->inf[which].n;
        if (which < 0)
            snprintf(gpath, sizeof(gpath), "/labels");
        else
            snprintf(gpath, sizeof(gpath), "/inferences/%s",
                     dg__infset_src_name(&p->inf[which]));
        if ((st = read_offsets(ctx, p, gpath, n, out)) < 0 || *out)
            return st;
        st = which < 0 ? dg__project_load_labels(ctx, p)
                       : dg__project_load_inferences(ctx, p, (uint32_t)which);
        if (st < 0)
            return st;
        src = which < 0 ? &p->labels : &p->inf[which].boxes;
    }
    *out = dg__alloc(ctx, (size_t)p->n_frames + 1, 8);
    if (!*out)
        return DG_ENOMEM;
    memcpy(*out, src->frame_off, ((size_t)p->n_frames + 1) * 8);
    return DG_OK;
}

dg_status dg__project_read_range(dg_ctx *ctx, dg_project *p, int which,
                                  uint32_t lo, uint32_t hi, dg_boxset *out)
{
    dg_status st;
    int kind = which < 0 ? DG_BOXES_LABELS : DG_BOXES_DETS;
    dg_boxset *src = NULL;
    char gpath[512];
    uint64_t n;
    dg__boxset_init(out);
    if (which < 0) {
        snprintf(gpath, sizeof(gpath), "/labels");
        n = p->n_labels;
        if (p->labels_loaded)
            src = &p->labels;
    } else {
        if ((uint32_t)which >= p->n_inf)
            return dg__fail(ctx, DG_EINVAL, "no inference set %d", which);
        snprintf(gpath, sizeof(gpath), "/inferences/%s",
                 dg__infset_src_name(&p->inf[which]));
        n = p->inf[which].n;
        if (p->inf[which].loaded)
            src = &p->inf[which].boxes;
    }
    uint64_t *off = NULL;
    if (!src) {
        if ((st = read_offsets(ctx, p, gpath, n, &off)) < 0)
            return st;
        if (!off) {
            /* No offsets stored: load everything once, then copy. */
            st = which < 0 ? dg__project_load_labels(ctx, p)
                           : dg__project_load_inferences(ctx, p,
                                                         (uint32_t)which);
            if (st < 0)
                return st;
            src = which < 0 ? &p->labels : &p->inf[which].boxes;
        }
    }
    const uint64_t *so = src ? src->frame_off : off;
    uint64_t a = so[lo], cnt = so[hi] - so[lo];
    out->frame_off = dg__alloc(ctx, (size_t)(hi - lo) + 1, sizeof(uint64_t));
    if (!out->frame_off ||
        (st = dg__boxset_reserve(ctx, out, kind, cnt ? cnt : 1)) < 0) {
        free(off);
        dg__boxset_release(out);
        return DG_ENOMEM;
    }
    for (uint32_t f = lo; f <= hi; f++)
        out->frame_off[f - lo] = so[f] - a;
    free(off);
    if (src && !cnt) {
        /* src's columns may be NULL: nothing to copy (NULL + 0 is UB). */
        out->n = 0;
        return DG_OK;
    }
    if (src) {
        memcpy(out->frame, src->frame + a, cnt * 4);
        memcpy(out->cls, src->cls + a, cnt * 4);
        memcpy(out->x, src->x + a, cnt * 8);
        memcpy(out->y, src->y + a, cnt * 8);
        memcpy(out->w, src->w + a, cnt * 8);
        memcpy(out->h, src->h + a, cnt * 8);
        if (out->score)
            memcpy(out->score, src->score + a, cnt * 8);
        if (out->area) {
            memcpy(out->area, src->area + a, cnt * 8);
            memcpy(out->iscrowd, src->iscrowd + a, cnt);
            memcpy(out->ignore, src->ignore + a, cnt);
        }
        out->n = cnt;
        return DG_OK;
    }
    st = read_box_columns(ctx, (hid_t)p->file, gpath, kind, n, a, cnt, out);
    if (st >= 0)
        st = validate_boxes(ctx, p, gpath, out, a);
    for (uint64_t i = 0; st >= 0 && i < cnt; i++) {
        uint32_t f = out->frame[i];
        if (f < lo || f >= hi || i < out->frame_off[f - lo] ||
            i >= out->frame_off[f - lo + 1])
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': %s record %llu: field 'frame': %u disagrees "
                          "with frame_offsets",
                          ptag(p), gpath, (unsigned long long)(a + i), f);
    }
    if (st < 0)
        dg__boxset_release(out);
    return st;
}

static dg_status read_meta_cols(dg_ctx *ctx, dg_project *p)
{
    char **names = NULL;
    hid_t file = (hid_t)p->file;
    dg_status st = dg__h5_list_group(ctx, file, "/frames/meta", &names);
    if (st < 0)
        goto out;
    size_t n = 0;
    while (names[n])
        n++;
    if (!n)
        goto out;
    p->meta = dg__calloc(ctx, n, sizeof(*p->meta));
    if (!p->meta) {
        st = DG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[600];
        dg_meta_col *m = &p->meta[i];
        snprintf(path, sizeof(path), "/frames/meta/%s", names[i]);
        m->name = dg__strdup(ctx, names[i]);
        p->n_meta = (uint32_t)i + 1;
        if (!m->name) {
            st = DG_ENOMEM;
            goto out;
        }
        hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
        hid_t t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
        H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
        if (t >= 0)
            H5Tclose(t);
        if (ds >= 0)
            H5Dclose(ds);
        if (c == H5T_STRING) {
            st = dg__h5_read_strings(ctx, file, path, p->n_frames, &m->str);
        } else {
            m->is_num = 1;
            m->num = dg__alloc(ctx, p->n_frames ? p->n_frames : 1, 8);
            st = m->num ? dg__h5_read_1d(ctx, file, path, H5T_NATIVE_DOUBLE,
                                         H5T_FLOAT, m->num, p->n_frames, 0,
                                         p->n_frames)
                        : DG_ENOMEM;
        }
        if (st < 0)
            goto out;
    }
out:
    dg__h5_list_free(names);
    return st;
}

/*
 * The message for a file that is not HDF5: JSON (a COCO file, most
 * likely, given where a project belongs) is named as such, with the
 * command that makes a project of it.
 */
static dg_status not_hdf5(dg_ctx *ctx, const char *path)
{
    char head[64] = "";
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof(head) - 1, f) : 0;
    if (f)
        fclose(f);
    size_t i = 0;
    if (n >= 3 && !memcmp(head, "\xef\xbb\xbf", 3))
        i = 3; /* a byte order mark */
    while (i < n && strchr(" \t\r\n", head[i]))
        i++;
    if (i < n && (head[i] == '{' || head[i] == '['))
        return dg__fail(ctx, DG_EFORMAT, "'%s' is JSON, not a detgrid "
                        "project (HDF5): make a project of COCO files with "
                        "'detgrid import coco --gt <instances.json> --dt "
                        "<results.json> -o <project.h5>', or evaluate them "
                        "in one shot with 'detgrid coco --gt ... --dt ...'",
                        path);
    return dg__fail(ctx, DG_EFORMAT, "'%s' is not an HDF5 file", path);
}

/* /labels/coco_id_zero, when present: label records, ascending. */
static dg_status read_zero_ids(dg_ctx *ctx, dg_project *p)
{
    static const char *const path = "/labels/coco_id_zero";
    hid_t file = (hid_t)p->file;
    uint64_t n;
    dg_status st;
    if (!dg__h5_exists(file, path))
        return DG_OK;
    if ((st = dg__h5_len(ctx, file, path, &n)) < 0)
        return st;
    if (!(p->zero_ids = dg__alloc(ctx, n ? n : 1, sizeof(uint64_t))))
        return DG_ENOMEM;
    if ((st = dg__h5_read_1d(ctx, file, path, H5T_NATIVE_UINT64, H5T_INTEGER,
                             p->zero_ids, n, 0, n)) < 0)
        return st;
    p->n_zero_ids = n;
    for (uint64_t i = 0; i < n; i++)
        if (p->zero_ids[i] >= p->n_labels ||
            (i && p->zero_ids[i] <= p->zero_ids[i - 1]))
            return dg__fail(ctx, DG_EFORMAT, "'%s': %s record %llu: %llu is "
                            "not an ascending label record index (%llu "
                            "labels)", ptag(p), path, (unsigned long long)i,
                            (unsigned long long)p->zero_ids[i],
                            (unsigned long long)p->n_labels);
    return DG_OK;
}

/*
 * Why H5Fopen (or H5Fis_hdf5: is_not_hdf5) refused path: another program
 * holding it open for writing (HDF5 locks files it writes, with flock),
 * not HDF5, or damage; names the complete copy an interrupted in-place
 * save left, if there is one.
 */
static dg_status open_failure(dg_ctx *ctx, const char *path, int is_not_hdf5)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int busy = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
               errno == EWOULDBLOCK;
    if (fd >= 0)
        close(fd);
    if (busy)
        return dg__fail(ctx, DG_EIO, "cannot open '%s': another program has "
                        "it open for writing (HDF5 locks such files); close "
                        "it there and try again", path);
    if (is_not_hdf5)
        return not_hdf5(ctx, path);
    char saved[4200];
    if (dg__saved_copy(path, saved, sizeof(saved)))
        return dg__fail(ctx, DG_EIO, "cannot open '%s': HDF5 cannot read it "
                        "(damaged or truncated?); an interrupted detgrid save "
                        "left the complete new version in '%s': check it with "
                        "'detgrid info' and move it over '%s'", path, saved,
                        path);
    return dg__fail(ctx, DG_EIO, "cannot open '%s': HDF5 cannot read it "
                    "(damaged or truncated?)", path);
}

/* The real path and identity of the file p->file is, as HDF5 opened it. */
static void record_source(dg_project *p)
{
    hid_t file = (hid_t)p->file;
    hid_t fapl = H5Fget_access_plist(file);
    void *h = NULL;
    free(p->real);
    p->real = realpath(p->path, NULL);
    p->has_id = 0;
    if (fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 &&
        H5Fget_vfd_handle(file, fapl, &h) >= 0 && h)
        p->has_id = dg__file_id_fd(*(int *)h, &p->src_id) == 0;
    if (fapl >= 0)
        H5Pclose(fapl);
}

/*
 * DG_EFORMAT naming the first repeated class name (in record order), found
 * with a sort: opening a project of 100,000 classes must not take n^2
 * string comparisons. file names the project for the message.
 */
static int cmp_name_idx(const void *a, const void *b, void *arg)
{
    char *const *names = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(names[x], names[y]);
    return c ? c : (x > y) - (x < y);
}

static dg_status check_unique(dg_ctx *ctx, char *const *names, uint32_t n,
                              const char *file)
{
    if (n < 2)
        return DG_OK;
    uint32_t *idx = dg__alloc(ctx, n, sizeof(*idx));
    if (!idx)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof(*idx), cmp_name_idx, (void *)names);
    uint32_t bad = UINT32_MAX, first = 0;
    for (uint32_t i = 1; i < n; i++)
        if (!strcmp(names[idx[i - 1]], names[idx[i]]) && idx[i] < bad) {
            bad = idx[i];
            first = idx[i - 1];
        }
    free(idx);
    if (bad == UINT32_MAX)
        return DG_OK;
    char shown[600];
    return dg__fail(ctx, DG_EFORMAT, "'%s': /classes/name record %u: "
                    "duplicate class name '%s' (also record %u)", file, bad,
                    dg__name_show(names[bad], shown, sizeof(shown)), first);
}

dg_status dg_project_open(dg_ctx *ctx, const char *path, dg_project **out)
{
    dg_status st;
    dg__h5_quiet();
    if (access(path, R_OK) != 0)
        return dg__fail(ctx, DG_EIO, "cannot open '%s': %s", path,
                        strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return open_failure(ctx, path, 1);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return open_failure(ctx, path, 0);
    dg_project *p = dg__calloc(ctx, 1, sizeof(*p));
    char **sets = NULL;
    if (!p) {
        H5Fclose(file);
        return DG_ENOMEM;
    }
    p->file = file;
    p->path = dg__strdup(ctx, path);
    dg__boxset_init(&p->labels);
    if (!p->path) {
        st = DG_ENOMEM;
        goto fail;
    }
    record_source(p);
    char tag[64] = "";
    st = dg__h5_attr_read_str(ctx, file, "format", tag, sizeof(tag));
    if (st == DG_ENOTFOUND || (st == DG_OK && strcmp(tag, FORMAT_TAG))) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s' is not a detgrid project (root attribute "
                      "'format' should be '" FORMAT_TAG "')",
                      path);
        goto fail;
    }
    if (st < 0)
        goto fail;
    int32_t ver = 0;
    if ((st = dg__h5_attr_read(ctx, file, "format_version", H5T_NATIVE_INT32,
                               &ver, 1)) < 0) {
        if (st == DG_ENOTFOUND)
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': root attribute 'format_version' is missing "
                          "(every detgrid project has it; a file written by "
                          "hand needs format_version = 1, see "
                          "docs/FORMAT.md)",
                          path);
        goto fail;
    }
    /* docs/FORMAT.md "Versions": what each version means to this reader. */
    if (ver > DG_FORMAT_VERSION) {
        st = dg__fail(ctx, DG_EVERSION,
                      "'%s' was written by a newer detgrid (format version "
                      "%d); this detgrid reads up to %d: upgrade detgrid",
                      path, (int)ver, DG_FORMAT_VERSION);
        goto fail;
    }
    if (ver < 1) {
        st = dg__fail(ctx, DG_EVERSION,
                      "'%s': format_version %d is not a detgrid format "
                      "version (they start at 1; this detgrid reads 1 to "
                      "%d): the file was not written by detgrid",
                      path, (int)ver, DG_FORMAT_VERSION);
        goto fail;
    }
    p->format_version = ver;
    p->default_conf = DG_DEFAULT_CONF;
    p->default_iou = DG_DEFAULT_IOU;
    if ((st = dg__h5_attr_read(ctx, file, "default_conf", H5T_NATIVE_DOUBLE,
                               &p->default_conf, 1)) < 0 &&
        st != DG_ENOTFOUND)
        goto fail;
    if ((st = dg__h5_attr_read(ctx, file, "default_iou", H5T_NATIVE_DOUBLE,
                               &p->default_iou, 1)) < 0 &&
        st != DG_ENOTFOUND)
        goto fail;
    {
        char dir[4096];
        if ((st = dg__h5_attr_read_str(ctx, file, "images_dir", dir,
                                       sizeof(dir))) < 0 &&
            st != DG_ENOTFOUND)
            goto fail;
        if (st == DG_OK && dir[0] && !(p->images_dir = dg__strdup(ctx, dir))) {
            st = DG_ENOMEM;
            goto fail;
        }
    }
    if (!isfinite(p->default_conf) ||
        !(p->default_iou > 0 && p->default_iou <= 1)) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': default thresholds out of range (conf %g, iou %g)",
                      path, p->default_conf, p->default_iou);
        goto fail;
    }

    uint64_t n;
    if ((st = dg__h5_len(ctx, file, "/classes/name", &n)) < 0)
        goto fail;
    if (n > UINT32_MAX) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': too many classes", path);
        goto fail;
    }
    p->n_classes = (uint32_t)n;
    if ((st = dg__h5_read_strings(ctx, file, "/classes/name", n,
                                  &p->class_names)) < 0)
        goto fail;
    p->class_ids = dg__alloc(ctx, n ? n : 1, sizeof(int64_t));
    if (!p->class_ids) {
        st = DG_ENOMEM;
        goto fail;
    }
    if (dg__h5_exists(file, "/classes/id")) {
        if ((st = dg__h5_read_1d(ctx, file, "/classes/id", H5T_NATIVE_INT64,
                                 H5T_INTEGER, p->class_ids, n, 0, n)) < 0)
            goto fail;
    } else {
        for (uint64_t i = 0; i < n; i++)
            p->class_ids[i] = (int64_t)i + 1;
    }
    for (uint32_t i = 0; i < p->n_classes; i++) {
        if (!p->class_names[i][0]) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /classes/name record %u: empty class name",
                          path, i);
            goto fail;
        }
    }
    if ((st = check_unique(ctx, p->class_names, p->n_classes, path)) < 0)
        goto fail;

    if ((st = dg__h5_len(ctx, file, "/frames/id", &n)) < 0)
        goto fail;
    if (n > UINT32_MAX - 1) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': too many frames", path);
        goto fail;
    }
    p->n_frames = (uint32_t)n;
    if ((st = dg__h5_read_strings(ctx, file, "/frames/id", n,
                                  &p->frame_ids)) < 0)
        goto fail;
    p->frame_num = dg__alloc(ctx, n ? n : 1, 8);
    p->frame_w = dg__alloc(ctx, n ? n : 1, 8);
    p->frame_h = dg__alloc(ctx, n ? n : 1, 8);
    if (!p->frame_num || !p->frame_w || !p->frame_h) {
        st = DG_ENOMEM;
        goto fail;
    }
    for (uint64_t i = 0; i < n; i++) {
        p->frame_num[i] = -1;
        p->frame_w[i] = p->frame_h[i] = NAN;
    }
    if (dg__h5_exists(file, "/frames/num") &&
        (st = dg__h5_read_1d(ctx, file, "/frames/num", H5T_NATIVE_INT64,
                             H5T_INTEGER, p->frame_num, n, 0, n)) < 0)
        goto fail;
    if (dg__h5_exists(file, "/frames/width") &&
        (st = dg__h5_read_1d(ctx, file, "/frames/width", H5T_NATIVE_DOUBLE,
                             H5T_FLOAT, p->frame_w, n, 0, n)) < 0)
        goto fail;
    if (dg__h5_exists(file, "/frames/height") &&
        (st = dg__h5_read_1d(ctx, file, "/frames/height", H5T_NATIVE_DOUBLE,
                             H5T_FLOAT, p->frame_h, n, 0, n)) < 0)
        goto fail;
    if ((st = read_meta_cols(ctx, p)) < 0)
        goto fail;

    if (dg__h5_exists(file, "/labels")) {
        if ((st = dg__h5_len(ctx, file, "/labels/frame", &p->n_labels)) < 0 ||
            (st = read_zero_ids(ctx, p)) < 0)
            goto fail;
    } else {
        p->n_labels = 0;
        p->labels_loaded = 1;
        p->labels.frame_off = calloc((size_t)p->n_frames + 1, 8);
        if (!p->labels.frame_off) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto fail;
        }
    }

    if ((st = dg__h5_list_group(ctx, file, "/inferences", &sets)) < 0)
        goto fail;
    for (size_t i = 0; sets[i]; i++) {
        char gp[600];
        dg_infset *ni = realloc(p->inf, (p->n_inf + 1) * sizeof(*ni));
        if (!ni) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto fail;
        }
        p->inf = ni;
        dg_infset *s = &p->inf[p->n_inf];
        memset(s, 0, sizeof(*s));
        dg__boxset_init(&s->boxes);
        s->name = sets[i];
        sets[i] = strdup(""); /* ownership moved */
        p->n_inf++;
        if (!dg__utf8_valid(s->name)) {
            /* Kept readable, under its escaped name (so that JSON and
             * tables stay UTF-8); the next save writes that name. */
            char shown[600];
            s->h5name = s->name;
            s->name = dg__strdup(ctx, dg__name_show(s->h5name, shown,
                                                    sizeof(shown)));
            if (!s->name) {
                st = DG_ENOMEM;
                goto fail;
            }
            dg__warn(ctx, "'%s': inference set name '%s' is not valid UTF-8; "
                     "it is shown escaped, and the next save writes it so",
                     path, s->name);
        }
        snprintf(gp, sizeof(gp), "/inferences/%s/frame",
                 dg__infset_src_name(s));
        if ((st = dg__h5_len(ctx, file, gp, &s->n)) < 0)
            goto fail;
    }
    dg__h5_list_free(sets);
    if ((st = dg__segments_open(ctx, p)) < 0)
        goto fail_segs;
    if ((st = dg__embeddings_open(ctx, p)) < 0)
        goto fail_segs;
    *out = p;
    return DG_OK;
fail_segs:
    dg_project_free(p);
    return st;
fail:
    dg__h5_list_free(sets);
    dg_project_free(p);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

static dg_status write_boxes(dg_ctx *ctx, hid_t parent, const char *name,
                             const dg_boxset *b, uint32_t n_frames,
                             const dg_shapes *sh)
{
    dg_status st = DG_OK;
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EIO, "cannot create group '%s'", name);
    uint64_t n = b->n;
    uint64_t fp = dg__boxset_fingerprint(b);
    if ((st = dg__h5_attr_write(ctx, g, "fingerprint", H5T_NATIVE_UINT64,
                                H5T_STD_U64LE, &fp, 0)) < 0)
        goto out;
    if ((st = dg__h5_write_1d(ctx, g, "frame", H5T_NATIVE_UINT32,
                              H5T_STD_U32LE, b->frame, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "class", H5T_NATIVE_UINT32,
                              H5T_STD_U32LE, b->cls, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "x", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              b->x, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "y", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              b->y, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "w", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              b->w, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "h", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              b->h, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "frame_offsets", H5T_NATIVE_UINT64,
                              H5T_STD_U64LE, b->frame_off,
                              (uint64_t)n_frames + 1, 1)) < 0)
        goto out;
    if (b->score && (st = dg__h5_write_1d(ctx, g, "score", H5T_NATIVE_DOUBLE,
                                          H5T_IEEE_F64LE, b->score, n, 1)) < 0)
        goto out;
    if (b->area &&
        ((st = dg__h5_write_1d(ctx, g, "area", H5T_NATIVE_DOUBLE,
                               H5T_IEEE_F64LE, b->area, n, 1)) < 0 ||
         (st = dg__h5_write_1d(ctx, g, "iscrowd", H5T_NATIVE_UINT8,
                               H5T_STD_U8LE, b->iscrowd, n, 1)) < 0 ||
         (st = dg__h5_write_1d(ctx, g, "ignore", H5T_NATIVE_UINT8,
                               H5T_STD_U8LE, b->ignore, n, 1)) < 0))
        goto out;
    if (sh)
        st = dg__shapes_write(ctx, (int64_t)g, sh);
out:
    H5Gclose(g);
    return st;
}

/* 1 if the group at path of src carries a fingerprint attribute. */
static int has_fingerprint(hid_t src, const char *path)
{
    if (!dg__h5_exists(src, path))
        return 0;
    hid_t g = H5Gopen2(src, path, H5P_DEFAULT);
    int r = g >= 0 && H5Aexists(g, "fingerprint") > 0;
    if (g >= 0)
        H5Gclose(g);
    return r;
}

/* Copies src's object at path to dst's dpath (NULL: the same path). */
static dg_status copy_obj(dg_ctx *ctx, hid_t src, const char *path, hid_t dst,
                          const char *dpath)
{
    if (H5Ocopy(src, path, dst, dpath ? dpath : path, H5P_DEFAULT,
                H5P_DEFAULT) < 0)
        return dg__fail(ctx, DG_EIO, "cannot copy '%s' from '%s'", path,
                        dg__h5_fname(src));
    return dg__h5_check_write(ctx, dst);
}

static dg_status write_meta(dg_ctx *ctx, dg_project *p, hid_t f)
{
    dg_status st;
    int32_t ver = DG_FORMAT_VERSION;
    hid_t g = H5I_INVALID_HID;
    if ((st = dg__h5_attr_write_str(ctx, f, "format", FORMAT_TAG)) < 0 ||
        (st = dg__h5_attr_write(ctx, f, "format_version", H5T_NATIVE_INT32,
                                H5T_STD_I32LE, &ver, 0)) < 0 ||
        (st = dg__h5_attr_write(ctx, f, "default_conf", H5T_NATIVE_DOUBLE,
                                H5T_IEEE_F64LE, &p->default_conf, 0)) < 0 ||
        (st = dg__h5_attr_write(ctx, f, "default_iou", H5T_NATIVE_DOUBLE,
                                H5T_IEEE_F64LE, &p->default_iou, 0)) < 0 ||
        (st = dg__h5_attr_write_str(ctx, f, "writer",
                                    "detgrid " DG_VERSION_STRING)) < 0 ||
        (p->images_dir && (st = dg__h5_attr_write_str(ctx, f, "images_dir",
                                                      p->images_dir)) < 0))
        return st;
    g = H5Gcreate2(f, "classes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EIO, "cannot create group 'classes'");
    st = dg__h5_write_strings(ctx, g, "name", p->class_names, p->n_classes);
    if (st >= 0)
        st = dg__h5_write_1d(ctx, g, "id", H5T_NATIVE_INT64, H5T_STD_I64LE,
                             p->class_ids, p->n_classes, 0);
    H5Gclose(g);
    if (st < 0)
        return st;
    g = H5Gcreate2(f, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EIO, "cannot create group 'frames'");
    uint64_t n = p->n_frames;
    if ((st = dg__h5_write_strings(ctx, g, "id", p->frame_ids, n)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "num", H5T_NATIVE_INT64, H5T_STD_I64LE,
                              p->frame_num, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "width", H5T_NATIVE_DOUBLE,
                              H5T_IEEE_F64LE, p->frame_w, n, 1)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "height", H5T_NATIVE_DOUBLE,
                              H5T_IEEE_F64LE, p->frame_h, n, 1)) < 0)
        goto out;
    if (p->n_meta) {
        hid_t mg = H5Gcreate2(g, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (mg < 0) {
            st = dg__fail(ctx, DG_EIO, "cannot create group 'frames/meta'");
            goto out;
        }
        for (uint32_t i = 0; i < p->n_meta && st >= 0; i++) {
            dg_meta_col *m = &p->meta[i];
            st = m->is_num ? dg__h5_write_1d(ctx, mg, m->name,
                                             H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                                             m->num, n, 1)
                           : dg__h5_write_strings(ctx, mg, m->name, m->str, n);
        }
        H5Gclose(mg);
    }
out:
    H5Gclose(g);
    return st;
}

/* The root attributes, /classes and /frames (host/store/stream.c streams the rest). */
dg_status dg__project_write_meta(dg_ctx *ctx, dg_project *p, int64_t f)
{
    return write_meta(ctx, p, (hid_t)f);
}

/*
 * The results of IoU type t of every set, into root dg__results_root(t)
 * of the new file f: those computed since the last save written, the
 * others copied from src while their set is unchanged. The box results'
 * root is always created; another type's only when some set has results.
 */
static dg_status save_results(dg_ctx *ctx, dg_project *p, hid_t src,
                              hid_t f, int t)
{
    const char *root = dg__results_root(t);
    hid_t rg = H5I_INVALID_HID;
    dg_status st = DG_OK;
    for (uint32_t i = 0; i < p->n_inf && st >= 0; i++) {
        dg_infset *s = &p->inf[i];
        struct dg_results *r = *dg__infset_results(s, t);
        char rp[600], drp[600];
        snprintf(rp, sizeof(rp), "/%s/%s", root, dg__infset_src_name(s));
        snprintf(drp, sizeof(drp), "/%s/%s", root, s->name);
        int write = r && *dg__infset_dirty(s, t);
        int copy = !write && !s->dirty && src >= 0 && dg__h5_exists(src, rp);
        if (!write && !copy)
            continue;
        if (rg < 0 && (rg = H5Gcreate2(f, root, H5P_DEFAULT, H5P_DEFAULT,
                                       H5P_DEFAULT)) < 0)
            return dg__fail(ctx, DG_EIO, "'%s': cannot create groups",
                            dg__h5_fname(f));
        st = write ? dg__results_write(ctx, (int64_t)rg, s->name, r)
                   : copy_obj(ctx, src, rp, f, drp);
        if (st >= 0)
            st = dg__h5_check_write(ctx, f);
    }
    if (rg < 0 && !t && st >= 0 &&
        (rg = H5Gcreate2(f, root, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        return dg__fail(ctx, DG_EIO, "'%s': cannot create groups",
                        dg__h5_fname(f));
    if (rg >= 0)
        H5Gclose(rg);
    return st;
}

/*
 * DG_ECONFLICT when the save of p to the target of t would overwrite a
 * version of p's own file other than the one p was opened from.
 */
static dg_status check_unchanged(dg_ctx *ctx, const dg_project *p,
                                 const dg_tmpfile *t)
{
    dg_file_id now;
    if (!p->has_id || !p->real || strcmp(p->real, t->real) ||
        dg__file_id_path(t->real, &now) < 0 || dg__file_id_eq(&now, &p->src_id))
        return DG_OK;
    return dg__fail(ctx, DG_ECONFLICT, "cannot save '%s': it was changed by "
                    "another writer since it was opened; nothing was saved "
                    "(open it again and redo the change)", t->path);
}

/*
 * Writes every part of p into the new file f (src: p's file, or -1),
 * reporting progress as steps of *step out of steps.
 */
static dg_status write_project(dg_ctx *ctx, dg_project *p, hid_t src, hid_t f,
                               uint64_t *step, uint64_t steps)
{
    dg_status st;
    hid_t g = H5I_INVALID_HID;
    if ((st = write_meta(ctx, p, f)) < 0)
        return st;
    dg__progress(ctx, "save", ++*step, steps);
    if (src < 0 || (p->labels_loaded &&
                    (p->meta_dirty || !has_fingerprint(src, "/labels")))) {
        const dg_shapes *sh = NULL;
        if ((st = dg__project_label_shapes(ctx, p, &sh)) < 0 ||
            (st = write_boxes(ctx, f, "labels", &p->labels, p->n_frames,
                              sh)) < 0)
            return st;
        if (p->n_zero_ids &&
            (st = dg__h5_write_1d(ctx, f, "labels/coco_id_zero",
                                  H5T_NATIVE_UINT64, H5T_STD_U64LE,
                                  p->zero_ids, p->n_zero_ids, 0)) < 0)
            return st;
    } else if ((st = copy_obj(ctx, src, "/labels", f, NULL)) < 0) {
        return st;
    }
    if ((st = dg__h5_check_write(ctx, f)) < 0)
        return st;
    dg__progress(ctx, "save", ++*step, steps);
    g = H5Gcreate2(f, "inferences", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        st = dg__fail(ctx, DG_EIO, "'%s': cannot create groups",
                      dg__h5_fname(f));
        goto out;
    }
    for (uint32_t i = 0; i < p->n_inf && st >= 0; i++) {
        dg_infset *s = &p->inf[i];
        char ip[600], dip[600];
        snprintf(ip, sizeof(ip), "/inferences/%s", dg__infset_src_name(s));
        snprintf(dip, sizeof(dip), "/inferences/%s", s->name);
        if (s->dirty || src < 0 || (s->loaded && !has_fingerprint(src, ip))) {
            const dg_shapes *sh = NULL;
            st = dg__project_inference_shapes(ctx, p, i, &sh);
            if (st >= 0)
                st = write_boxes(ctx, g, s->name, &s->boxes, p->n_frames, sh);
        } else {
            st = copy_obj(ctx, src, ip, f, dip);
        }
        if (st >= 0)
            st = dg__h5_check_write(ctx, f);
        dg__progress(ctx, "save", ++*step, steps);
    }
    H5Gclose(g);
    g = H5I_INVALID_HID;
    /* Results: /results (boxes, always there) and a root per other IoU
     * type, created when some set has results of it. */
    for (int t = 0; t < DG_N_IOU_TYPES && st >= 0; t++)
        st = save_results(ctx, p, src, f, t);
    for (uint32_t i = 0; i < p->n_inf; i++)
        dg__progress(ctx, "save", ++*step, steps);
out:
    if (g >= 0)
        H5Gclose(g);
    if (st < 0 || (st = dg__segments_save(ctx, p, src, f)) < 0 ||
        (st = dg__h5_check_write(ctx, f)) < 0)
        return st;
    dg__progress(ctx, "save", ++*step, steps);
    if ((st = dg__embeddings_save(ctx, p, src, f)) < 0 ||
        (st = dg__h5_check_write(ctx, f)) < 0)
        return st;
    if (src >= 0 && (st = dg__keep_user_data(ctx, src, f)) < 0)
        return st;
    if ((st = dg__h5_check_write(ctx, f)) < 0)
        return st;
    dg__progress(ctx, "save", ++*step, steps);
    return DG_OK;
}

/*
 * After a save: p's source becomes the file just written (its lock still
 * held, so that it is this version). Results of every IoU type that read
 * lazily from the old file read from the new one, which holds the same
 * bytes; those of changed sets load fully first. The old file is closed
 * before the new one opens: after an in-place save (hard links) both are
 * one inode, and HDF5 would otherwise hand back the old file's cached
 * state.
 */
static dg_status reopen_saved(dg_ctx *ctx, dg_project *p, const char *path,
                              const char *real)
{
    hid_t src = (hid_t)p->file;
    size_t n = (size_t)p->n_inf * DG_N_IOU_TYPES;
    uint8_t *moved = dg__calloc(ctx, n ? n : 1, 1);
    if (!moved)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < p->n_inf; i++)
        for (int t = 0; t < DG_N_IOU_TYPES; t++) {
            struct dg_results *r = *dg__infset_results(&p->inf[i], t);
            if (!r || r->src < 0)
                continue;
            if (p->inf[i].dirty)
                dg__results_load_all(ctx, r);
            else
                moved[(size_t)i * DG_N_IOU_TYPES + t] = r->src == src;
            r->src = -1;
        }
    if (src >= 0)
        H5Fclose(src);
    hid_t nf = H5Fopen(real, H5F_ACC_RDONLY, H5P_DEFAULT);
    p->file = nf;
    for (uint32_t i = 0; i < p->n_inf; i++)
        for (int t = 0; t < DG_N_IOU_TYPES; t++) {
            if (!moved[(size_t)i * DG_N_IOU_TYPES + t])
                continue;
            struct dg_results *r = *dg__infset_results(&p->inf[i], t);
            r->src = nf;
            /* The group's name as written now (an escaped one). */
            snprintf(r->src_group, sizeof(r->src_group), "/%s/%s",
                     dg__results_root(t), p->inf[i].name);
        }
    free(moved);
    if (nf < 0)
        return dg__fail(ctx, DG_EIO, "saved '%s', but cannot open it again",
                        path);
    char *np = dg__strdup(ctx, path);
    if (np) {
        free(p->path);
        p->path = np;
    }
    record_source(p);
    return DG_OK;
}

dg_status dg_project_save(dg_ctx *ctx, dg_project *p, const char *path)
{
    dg_tmpfile t;
    dg_status st;
    hid_t src = (hid_t)p->file, f;
    if (p->meta_dirty &&
        (st = check_unique(ctx, p->class_names, p->n_classes, path)) < 0)
        return dg__fail_prefix(ctx, st, "cannot save");
    if ((st = dg__h5_create_tmp(ctx, path, &t, &f)) < 0)
        return st;
    /* Under the lock from here: the file cannot change any more, but it
     * may have before (a writer that did not wait for the lock). */
    /* Progress: meta and labels, each set's boxes and results, segments
     * and embeddings, the commit. */
    uint64_t step = 0, steps = 2 + 2 * (uint64_t)p->n_inf + 3;
    dg__progress(ctx, "save", step, steps);
    if ((st = check_unchanged(ctx, p, &t)) < 0 ||
        (st = write_project(ctx, p, src, f, &step, steps)) < 0 ||
        (st = check_unchanged(ctx, p, &t)) < 0) {
        dg__h5_abort_tmp(f, &t);
        return st;
    }
    if ((st = dg__h5_commit_tmp(ctx, f, &t, NULL)) < 0 && !t.committed) {
        dg__tmp_abort(&t);
        return st;
    }
    dg__progress(ctx, "save", ++step, steps);
    /* Committed (a late error, such as the directory's fsync, still left
     * the new file in place): p now stands for it. */
    dg_status rst = reopen_saved(ctx, p, path, t.real);
    dg__tmp_abort(&t);
    if (st < 0)
        return st;
    if (rst < 0)
        return rst;
    p->meta_dirty = 0;
    p->n_labels = p->labels_loaded ? p->labels.n : p->n_labels;
    for (uint32_t i = 0; i < p->n_inf; i++) {
        free(p->inf[i].h5name); /* written under its escaped name now */
        p->inf[i].h5name = NULL;
        p->inf[i].dirty = 0;
        for (int t = 0; t < DG_N_IOU_TYPES; t++)
            *dg__infset_dirty(&p->inf[i], t) = 0;
        if (p->inf[i].loaded)
            p->inf[i].n = p->inf[i].boxes.n;
    }
    return DG_OK;
}
