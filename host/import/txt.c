/*
 * Folder-of-text-files importers: Cartucho/mAP (VOC txt), rafaelpadilla,
 * YOLO, and Pascal VOC XML ground truth. include/detgrid/import_txt.h
 * sums them up and docs/VOC.md has every rule and message.
 *
 * Like the COCO importers, everything is read, checked and converted into
 * temporaries first; the project changes only when nothing that depends on
 * user input can fail any more. Messages name the file, the line and the
 * field:
 *
 *     'dt/2007_000027.txt': line 3: field 'right': less than left (3 < 5)
 *
 * Warnings that can fire on many lines are counted and reported once, with
 * the first place and the total.
 *
 * This file is the import itself: the formats, the frames, the classes and
 * committing to the project; txt.h lists the files that read the rest.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txt.h"

/* ---- formats ------------------------------------------------------------ */

static const struct {
    const char *name;
    dg_txt_format format;
} format_names[] = {
    {"cartucho", DG_TXT_CARTUCHO}, {"voc-txt", DG_TXT_CARTUCHO},
    {"padilla", DG_TXT_PADILLA},   {"rafaelpadilla", DG_TXT_PADILLA},
    {"yolo", DG_TXT_YOLO},         {"voc-xml", DG_TXT_VOC_XML},
};

int dg_txt_format_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(format_names) / sizeof(*format_names);
         i++) {
        if (!strcmp(name, format_names[i].name))
            return (int)format_names[i].format;
    }
    return -1;
}

const char *dg_txt_format_name(dg_txt_format format)
{
    switch (format) {
    case DG_TXT_CARTUCHO: return "cartucho";
    case DG_TXT_PADILLA: return "padilla";
    case DG_TXT_YOLO: return "yolo";
    case DG_TXT_VOC_XML: return "voc-xml";
    }
    return "?";
}

dg_status dg_txt_opts_init(dg_txt_opts *o, dg_txt_format format)
{
    memset(o, 0, sizeof(*o));
    o->format = format;
    o->conf_leading = 1;
    switch (format) {
    case DG_TXT_CARTUCHO:
    case DG_TXT_VOC_XML:
        o->box = DG_TXT_BOX_XYXY;
        return DG_OK;
    case DG_TXT_PADILLA:
        o->box = DG_TXT_BOX_XYWH;
        return DG_OK;
    case DG_TXT_YOLO:
        o->box = DG_TXT_BOX_CXCYWH;
        o->relative = 1;
        o->conf_leading = 0;
        o->unlabeled_frames = 1;
        return DG_OK;
    }
    return DG_EINVAL;
}

int dg_import_have_xml(void)
{
#ifdef DG_HAVE_EXPAT
    return 1;
#else
    return 0;
#endif
}

/* ---- the import state -------------------------------------------------- */

static void imp_release(imp *s)
{
    dg__txt_strvec_release(&s->cnames);
    dg__txt_strmap_release(&s->cmap);
    free(s->cls_of);
    free(s->class_id);
    dg__txt_strvec_release(&s->fids);
    dg__txt_strmap_release(&s->fmap);
    free(s->fw);
    free(s->fh);
    dg__txt_strvec_release(&s->snames);
    dg__txt_strmap_release(&s->smap);
    free(s->sw);
    free(s->sh);
}

/* ---- frames --------------------------------------------------------------- */

typedef struct frame_key {
    const char *key; /* stem + the ground truth's extension: the sort key */
    size_t stem;
    int owned;       /* key was made here (a frame without labels) */
} frame_key;

static int cmp_frame_key(const void *a, const void *b)
{
    return strcmp(((const frame_key *)a)->key, ((const frame_key *)b)->key);
}

/*
 * The frames when creating: one per ground-truth file, plus (with
 * unlabeled_frames) one per detection file without one, ordered by the
 * ground-truth file name (for the latter: as if it existed), and their
 * sizes from the sizes file.
 */
static dg_status make_frames(imp *s, const strvec *gt_files,
                             const char *gt_ext, const strvec *dt_files,
                             int n_dt)
{
    dg_ctx *ctx = s->ctx;
    dg_status st = DG_OK;
    size_t n = 0, cap = gt_files->n, el = strlen(gt_ext);
    strvec seen_v = {0};
    strmap seen = {0};
    frame_key *k = NULL;
    uint32_t idx;

    for (int i = 0; s->o->unlabeled_frames && i < n_dt; i++)
        cap += dt_files[i].n;
    k = dg__calloc(ctx, cap, sizeof(*k));
    if (!k)
        return DG_ENOMEM;
    for (size_t i = 0; i < gt_files->n; i++) {
        const char *f = gt_files->v[i];
        size_t sl = strlen(f) - el;
        const char *why = dg__name_problem(f, 0);
        if (why) {
            char shown[600];
            st = dg__fail(ctx, DG_EFORMAT, "'%s/%s': the file name (the "
                          "frame id) is %s", s->gt_dir,
                          dg__name_show(f, shown, sizeof(shown)),
                          !strcmp(why, "not valid UTF-8") ? why
                          : "not a name: it contains a control character");
            goto out;
        }
        if ((st = dg__txt_strmap_add(ctx, &seen, &seen_v, f, sl, &idx)) < 0)
            goto out;
        k[n].key = f;
        k[n].stem = sl;
        n++;
    }
    for (int d = 0; s->o->unlabeled_frames && d < n_dt; d++) {
        for (size_t i = 0; i < dt_files[d].n; i++) {
            const char *f = dt_files[d].v[i];
            size_t sl = dg__txt_stem_len(f);
            if (dg__txt_strmap_find(&seen, &seen_v, f, sl) != NONE)
                continue;
            const char *why = dg__name_problem(f, 0);
            if (why) {
                char shown[600];
                st = dg__fail(ctx, DG_EFORMAT, "'%s': the file name (the "
                              "frame id) is %s",
                              dg__name_show(f, shown, sizeof(shown)),
                              !strcmp(why, "not valid UTF-8") ? why
                              : "not a name: it contains a control character");
                goto out;
            }
            if ((st = dg__txt_strmap_add(ctx, &seen, &seen_v, f, sl, &idx)) < 0)
                goto out;
            char *key = dg__alloc(ctx, sl + el + 1, 1);
            if (!key) {
                st = DG_ENOMEM;
                goto out;
            }
            memcpy(key, f, sl);
            memcpy(key + sl, gt_ext, el + 1);
            k[n].key = key;
            k[n].stem = sl;
            k[n].owned = 1;
            n++;
        }
    }
    qsort(k, n, sizeof(*k), cmp_frame_key);
    if (n >= NONE) {
        st = dg__fail(ctx, DG_ERANGE, "too many frames");
        goto out;
    }
    s->fw = dg__alloc(ctx, n, sizeof(double));
    s->fh = dg__alloc(ctx, n, sizeof(double));
    if (!s->fw || !s->fh) {
        st = DG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((st = dg__txt_strmap_add(ctx, &s->fmap, &s->fids, k[i].key,
                                     k[i].stem, &idx)) < 0)
            goto out;
        uint32_t sz = dg__txt_strmap_find(&s->smap, &s->snames, k[i].key,
                                          k[i].stem);
        s->fw[i] = sz != NONE ? s->sw[sz] : NAN;
        s->fh[i] = sz != NONE ? s->sh[sz] : NAN;
    }
out:
    for (size_t i = 0; i < n; i++)
        if (k[i].owned)
            free((char *)k[i].key);
    free(k);
    dg__txt_strmap_release(&seen);
    dg__txt_strvec_release(&seen_v);
    return st;
}

/* The frames of an existing project, with sizes from the sizes file where
 * it has them, else the project's. */
static dg_status project_frames(imp *s)
{
    dg_ctx *ctx = s->ctx;
    const dg_project *p = s->p;
    uint32_t n_frames = dg__project_n_frames(p);
    char *const *ids = dg__project_frame_ids(p);
    dg_status st;
    s->fw = dg__alloc(ctx, n_frames, sizeof(double));
    s->fh = dg__alloc(ctx, n_frames, sizeof(double));
    if (!s->fw || !s->fh)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < n_frames; i++) {
        const char *id = ids[i];
        uint32_t idx;
        size_t n = strlen(id);
        /* Duplicate ids (possible in hand-written files): the first wins. */
        if (dg__txt_strmap_find(&s->fmap, &s->fids, id, n) != NONE) {
            if ((st = dg__txt_strvec_push(ctx, &s->fids, id, n)) < 0)
                return st;
        } else if ((st = dg__txt_strmap_add(ctx, &s->fmap, &s->fids, id, n,
                                            &idx)) < 0) {
            return st;
        }
        uint32_t sz = dg__txt_strmap_find(&s->smap, &s->snames, id, n);
        double w, h;
        dg__project_frame_size(p, i, &w, &h);
        s->fw[i] = sz != NONE ? s->sw[sz] : w;
        s->fh[i] = sz != NONE ? s->sh[sz] : h;
    }
    return DG_OK;
}

/* ---- classes --------------------------------------------------------------- */

/*
 * Resolves a class token to a class: *cls, or NONE when the detection is
 * to be dropped. Errors name the file and line.
 */
dg_status dg__txt_resolve_class(imp *s, const char *path, size_t line,
                                const char *field, const char *tok, int is_dt,
                                uint32_t *cls)
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    uint32_t idx;
    dg_status st;

    if (o->format == DG_TXT_YOLO) {
        const char *q = tok;
        while (isdigit((unsigned char)*q))
            q++;
        if (q == tok || *q || q - tok > 9)
            return dg__txt_line_fail(ctx, path, line, field,
                                     "not a class index ('%s')", tok);
        idx = (uint32_t)strtoul(tok, NULL, 10);
        if (idx >= s->cnames.n)
            return dg__txt_line_fail(ctx, path, line, field, "unknown class "
                                     "index %u ('%s' has %zu class%s)", idx,
                                     o->names_path, s->cnames.n,
                                     s->cnames.n == 1 ? "" : "es");
    } else {
        size_t n = strlen(tok);
        const char *why = dg__name_problem(tok, 0);
        if (why)
            return dg__txt_line_fail(ctx, path, line, field,
                                     "class name %s", !strcmp(why, "not valid "
                                     "UTF-8") ? "is not valid UTF-8" : why);
        idx = dg__txt_strmap_find(&s->cmap, &s->cnames, tok, n);
        if (idx == NONE) {
            if (!s->fixed) {
                if (n > MAX_NAME)
                    return dg__txt_line_fail(ctx, path, line, field,
                                             "class name longer than %d bytes",
                                             MAX_NAME);
                if ((st = dg__txt_strmap_add(ctx, &s->cmap, &s->cnames, tok, n,
                                             &idx)) < 0)
                    return st;
                *cls = idx;
                return DG_OK;
            }
            if (is_dt && o->drop_unknown_classes) {
                dg__txt_warn_note(&s->dropped, path, line, field,
                                  "unknown class '%s', detection dropped", tok);
                *cls = NONE;
                return DG_OK;
            }
            if (s->creating)
                return dg__txt_line_fail(ctx, path, line, field,
                                         "unknown class '%s' (not in '%s')",
                                         tok, o->names_path);
            return dg__txt_line_fail(ctx, path, line, field, "unknown class "
                                     "'%s' (the project has no such class)",
                                     tok);
        }
    }
    *cls = s->cls_of ? s->cls_of[idx] : idx;
    if (*cls == NONE) {
        /* A YOLO name the project does not have. */
        if (is_dt && o->drop_unknown_classes) {
            dg__txt_warn_note(&s->dropped, path, line, field, "unknown class "
                              "'%s' (index %s), detection dropped",
                              s->cnames.v[idx], tok);
            return DG_OK;
        }
        return dg__txt_line_fail(ctx, path, line, field, "unknown class '%s' "
                                 "(index %s; the project has no such class)",
                                 s->cnames.v[idx], tok);
    }
    return DG_OK;
}

/* ---- committing -------------------------------------------------------------- */

/* Sorts the open class list by name and renumbers the boxes' classes. */
static dg_status finish_classes(imp *s, dg_boxset *labels, dg_boxset *dts,
                                int n_dt)
{
    dg_ctx *ctx = s->ctx;
    size_t n = s->cnames.n;
    uint32_t *rank = dg__alloc(ctx, n, sizeof(*rank));
    char **sorted = dg__alloc(ctx, n, sizeof(*sorted));
    s->class_id = dg__alloc(ctx, n, sizeof(*s->class_id));
    if (!rank || !sorted || !s->class_id) {
        free(rank);
        free(sorted);
        return DG_ENOMEM;
    }
    if (s->fixed) {
        /* Names-file order; the line index is the id. */
        for (size_t i = 0; i < n; i++) {
            rank[i] = (uint32_t)i;
            s->class_id[i] = (int64_t)i;
        }
    } else if (n) {
        memcpy(sorted, s->cnames.v, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), dg__txt_cmp_str);
        for (size_t i = 0; i < n; i++) {
            uint32_t old = dg__txt_strmap_find(&s->cmap, &s->cnames, sorted[i],
                                               strlen(sorted[i]));
            rank[old] = (uint32_t)i;
            s->class_id[i] = (int64_t)i + 1;
        }
        /* The names in their new order. */
        memcpy(s->cnames.v, sorted, n * sizeof(*sorted));
        dg__txt_strmap_release(&s->cmap);
    }
    for (uint64_t i = 0; i < labels->n; i++)
        labels->cls[i] = rank[labels->cls[i]];
    for (int d = 0; d < n_dt; d++)
        for (uint64_t i = 0; i < dts[d].n; i++)
            dts[d].cls[i] = rank[dts[d].cls[i]];
    free(rank);
    free(sorted);
    return DG_OK;
}

/* As project.c's check, so that the sets can be added after the rest is
 * done. */
static int valid_set_name(const char *name)
{
    if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c == '/' || *c < 0x20)
            return 0;
    return 1;
}

/* ---- the import ------------------------------------------------------------ */

/* The classes when adding detections to an existing project. */
static dg_status project_classes(imp *s)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    dg_status st;
    uint32_t idx;
    s->fixed = 1;
    if (s->o->format == DG_TXT_YOLO) {
        /* Names from the names file, mapped to the project's by name. */
        s->cls_of = dg__alloc(ctx, s->cnames.n, sizeof(*s->cls_of));
        if (!s->cls_of)
            return DG_ENOMEM;
        for (size_t i = 0; i < s->cnames.n; i++) {
            int64_t k = dg_project_class_index(p, s->cnames.v[i]);
            s->cls_of[i] = k < 0 ? NONE : (uint32_t)k;
        }
        return DG_OK;
    }
    for (uint32_t i = 0; i < dg__project_n_classes(p); i++) {
        const char *nm = dg__project_class_names(p)[i];
        if (dg__txt_strmap_find(&s->cmap, &s->cnames, nm, strlen(nm)) != NONE) {
            /* Unreachable with unique names; keeps indices aligned. */
            if ((st = dg__txt_strvec_push(ctx, &s->cnames, nm, strlen(nm))) < 0)
                return st;
            continue;
        }
        if ((st = dg__txt_strmap_add(ctx, &s->cmap, &s->cnames, nm, strlen(nm),
                                     &idx)) < 0)
            return st;
    }
    return DG_OK;
}

/* The arguments and the project, checked before anything is read. */
static dg_status check_args(dg_ctx *ctx, dg_project *p, const dg_txt_opts *o,
                            const char *gt_dir, int n_dt,
                            const char *const *dt_dirs,
                            const char *const *set_names, int replace)
{
    if (!p || n_dt < 0 || (n_dt && (!dt_dirs || !set_names)))
        return dg__fail(ctx, DG_EINVAL, "import: bad arguments");
    if (!gt_dir && !n_dt)
        return dg__fail(ctx, DG_EINVAL, "import: no ground truth and no "
                        "detections to import");
    if (o->format < DG_TXT_CARTUCHO || o->format > DG_TXT_VOC_XML ||
        o->box < DG_TXT_BOX_XYXY || o->box > DG_TXT_BOX_CXCYWH)
        return dg__fail(ctx, DG_EINVAL, "import: unknown format or box "
                        "layout");
    if (o->format == DG_TXT_VOC_XML && gt_dir && !dg_import_have_xml())
        return dg__fail(ctx, DG_EINVAL, "'%s': Pascal VOC XML support was not "
                        "compiled in (install expat, e.g. Debian's "
                        "libexpat1-dev, and rebuild)", gt_dir);
    if (o->format == DG_TXT_YOLO && !o->names_path)
        return dg__fail(ctx, DG_EINVAL, "yolo files hold class indices: a "
                        "class names file is required");
    if (!gt_dir && o->names_path && o->format != DG_TXT_YOLO)
        return dg__fail(ctx, DG_EINVAL, "'%s': a class names file is only "
                        "used with ground truth (the project's classes are "
                        "fixed)", o->names_path);
    for (int i = 0; i < n_dt; i++) {
        if (!dt_dirs[i])
            return dg__fail(ctx, DG_EINVAL, "import: no detection folder");
        if (!valid_set_name(set_names[i]))
            return dg__fail(ctx, DG_EINVAL, "invalid inference set name '%s' "
                            "(must be non-empty, without '/' or control "
                            "characters)", set_names[i] ? set_names[i] : "");
        for (int j = 0; j < i; j++)
            if (!strcmp(set_names[i], set_names[j]))
                return dg__fail(ctx, DG_EINVAL, "inference set '%s' given "
                                "twice", set_names[i]);
        if (!gt_dir && !replace &&
            dg_project_inference_index(p, set_names[i]) >= 0)
            return dg__fail(ctx, DG_EEXIST, "inference set '%s' already "
                            "exists", set_names[i]);
    }
    if (gt_dir && (dg__project_n_classes(p) || dg__project_n_frames(p) ||
                   dg__project_n_labels(p) || dg__project_n_meta(p) ||
                   dg__project_n_inferences(p)))
        return dg__fail(ctx, DG_EINVAL, "'%s': cannot import ground truth "
                        "into a project that already has classes or frames",
                        gt_dir);
    if (!gt_dir && dg__project_n_frames(p) == 0)
        return dg__fail(ctx, DG_EINVAL, "'%s': the project has no frames; "
                        "import ground truth first", dt_dirs[0]);
    return DG_OK;
}

/*
 * The files of the ground-truth folder (with gt_dir) and of each
 * detection folder, sorted by name.
 */
static dg_status list_files(imp *s, const char *gt_ext, int n_dt,
                            const char *const *dt_dirs, strvec *gt_files,
                            strvec *dt_files)
{
    dg_ctx *ctx = s->ctx;
    const char *gt_dir = s->gt_dir;
    dg_status st;
    if (gt_dir) {
        if ((st = dg__txt_list_dir(ctx, gt_dir, gt_ext, gt_files)) < 0)
            return st;
    }
    for (int i = 0; i < n_dt; i++) {
        if ((st = dg__txt_list_dir(ctx, dt_dirs[i], ".txt", &dt_files[i])) < 0)
            return st;
    }
    /* labelImg writes the class list beside YOLO labels. */
    for (int i = -1; s->o->format == DG_TXT_YOLO && i < n_dt; i++) {
        strvec *l = i < 0 ? gt_files : &dt_files[i];
        const char *dir = i < 0 ? gt_dir : dt_dirs[i];
        for (size_t k = 0; dir && k < l->n; k++) {
            if (strcmp(l->v[k], "classes.txt"))
                continue;
            char *path = dg__txt_join_path(ctx, dir, "classes.txt");
            dg__warn(ctx, "'%s': skipped (a class list, as labelImg writes "
                     "it, not a label file)", path ? path : "classes.txt");
            free(path);
            free(l->v[k]);
            memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof(char *));
            l->n--;
            break;
        }
    }
    if (gt_dir && gt_files->n == 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': no %s files", gt_dir, gt_ext);
    return DG_OK;
}

/* The ground-truth files (none without gt_dir) into labels. */
static dg_status read_labels(imp *s, const char *gt_ext,
                             const strvec *gt_files, dg_boxset *labels)
{
    dg_ctx *ctx = s->ctx;
    dg_status st;
    for (size_t i = 0; i < gt_files->n; i++) {
        char *path = dg__txt_join_path(ctx, s->gt_dir, gt_files->v[i]);
        if (!path)
            return DG_ENOMEM;
        uint32_t frame = dg__txt_strmap_find(&s->fmap, &s->fids,
                                             gt_files->v[i],
                                             strlen(gt_files->v[i]) -
                                                 strlen(gt_ext));
#ifdef DG_HAVE_EXPAT
        if (s->o->format == DG_TXT_VOC_XML)
            st = dg__txt_read_xml(s, path, frame, labels);
        else
#endif
            st = dg__txt_read_txt(s, path, frame, 0, labels);
        free(path);
        if (st < 0)
            return st;
    }
    if (s->gt_dir && labels->n == 0) {
        /* An empty box set still needs its columns. */
        if ((st = dg__boxset_reserve(ctx, labels, DG_BOXES_LABELS, 1)) < 0)
            return st;
    }
    return DG_OK;
}

/* The files of detection folder dt_dir into b. */
static dg_status read_detections(imp *s, const char *gt_ext,
                                 const char *dt_dir, const strvec *files,
                                 dg_boxset *b)
{
    dg_ctx *ctx = s->ctx;
    const char *gt_dir = s->gt_dir;
    dg_status st;
    if ((st = dg__boxset_reserve(ctx, b, DG_BOXES_DETS, 1)) < 0)
        return st;
    for (size_t i = 0; i < files->n; i++) {
        const char *fn = files->v[i];
        char *path = dg__txt_join_path(ctx, dt_dir, fn);
        if (!path)
            return DG_ENOMEM;
        size_t stem = dg__txt_stem_len(fn);
        uint32_t frame = dg__txt_strmap_find(&s->fmap, &s->fids, fn, stem);
        if (frame == NONE) {
            if (gt_dir)
                st = dg__fail(ctx, DG_EFORMAT, "'%s': no ground-truth "
                              "file '%.*s%s' in '%s' (a frame without "
                              "labels needs an empty file)", path,
                              (int)stem, fn, gt_ext, gt_dir);
            else
                st = dg__fail(ctx, DG_EFORMAT, "'%s': the project has no "
                              "frame '%.*s'", path, (int)stem, fn);
            free(path);
            return st;
        }
        st = dg__txt_read_txt(s, path, frame, 1, b);
        free(path);
        if (st < 0)
            return st;
    }
    return DG_OK;
}

/*
 * Creating: classes, frames and inference sets are built in a scratch
 * project and moved into p, which has none; p takes labels (the old ones
 * are left there for the caller to release) and the sets take dts.
 */
static dg_status commit_new(imp *s, dg_boxset *labels, dg_boxset *dts,
                            int n_dt, const char *const *set_names)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p, *tmp = NULL;
    uint32_t n_frames = (uint32_t)s->fids.n;
    dg_status st;
    if ((st = dg_project_create(ctx, &tmp)) < 0)
        goto out;
    for (size_t i = 0; i < s->cnames.n; i++) {
        if ((st = dg__project_add_class(ctx, tmp, s->cnames.v[i],
                                        s->class_id[i])) < 0)
            goto out;
    }
    for (uint32_t i = 0; i < n_frames; i++) {
        if ((st = dg__project_add_frame(ctx, tmp, s->fids.v[i], -1,
                                        s->fw[i], s->fh[i])) < 0)
            goto out;
    }
    for (int d = 0; d < n_dt; d++) {
        uint32_t idx;
        if ((st = dg__project_add_inferences(ctx, tmp, set_names[d],
                                             &idx)) < 0)
            goto out;
        dg__project_take_inferences(tmp, idx, &dts[d]);
    }
    dg__project_move_classes_frames(p, tmp);
    dg__project_take_labels(p, labels);
    /* p had no inference sets: take tmp's. */
    dg__project_move_inferences(p, tmp);
out:
    dg_project_free(tmp);
    return st;
}

/*
 * Adding: the new sets first, so that running out of memory can be
 * undone, then each set named takes its boxes dts[d] (the old ones are
 * left there for the caller to release).
 */
static dg_status commit_sets(imp *s, dg_boxset *dts, int n_dt,
                             const char *const *set_names)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    int n_added = 0;
    uint32_t *added = dg__calloc(ctx, (size_t)n_dt, sizeof(*added));
    if (!added)
        return DG_ENOMEM;
    for (int d = 0; d < n_dt; d++) {
        if (dg_project_inference_index(p, set_names[d]) >= 0)
            continue;
        uint32_t idx;
        dg_status st = dg__project_add_inferences(ctx, p, set_names[d], &idx);
        if (st < 0) {
            for (int k = n_added; k-- > 0;)
                dg_project_remove_inferences(ctx, p, set_names[added[k]]);
            free(added);
            return st;
        }
        added[n_added++] = (uint32_t)d;
    }
    for (int d = 0; d < n_dt; d++) {
        int64_t i = dg_project_inference_index(p, set_names[d]);
        dg__project_take_inferences(p, (uint32_t)i, &dts[d]);
    }
    free(added);
    return DG_OK;
}

dg_status dg_import_txt(dg_ctx *ctx, dg_project *p, const char *gt_dir,
                        int n_dt, const char *const *dt_dirs,
                        const char *const *set_names, int replace,
                        const dg_txt_opts *o)
{
    dg_txt_opts def;
    if (!o) {
        dg_txt_opts_init(&def, DG_TXT_CARTUCHO);
        o = &def;
    }
    imp s;
    dg_status st = DG_OK;
    strvec gt_files = {0};
    strvec *dt_files = NULL;
    dg_boxset labels, *dts = NULL;
    const char *gt_ext = o->format == DG_TXT_VOC_XML ? ".xml" : ".txt";

    memset(&s, 0, sizeof(s));
    dg__boxset_init(&labels);
    if ((st = check_args(ctx, p, o, gt_dir, n_dt, dt_dirs, set_names,
                         replace)) < 0)
        return st;

    s.ctx = ctx;
    s.o = o;
    s.p = p;
    s.creating = gt_dir != NULL;
    s.gt_dir = gt_dir;
    dt_files = dg__calloc(ctx, (size_t)n_dt, sizeof(*dt_files));
    dts = dg__calloc(ctx, (size_t)n_dt, sizeof(*dts));
    if (!dt_files || !dts) {
        st = DG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n_dt; i++)
        dg__boxset_init(&dts[i]);

    /* Classes and sizes first: every line needs them. */
    if (o->names_path) {
        if ((st = dg__txt_read_names(&s, o->names_path)) < 0)
            goto out;
        s.fixed = 1;
    }
    if (!gt_dir && (st = project_classes(&s)) < 0)
        goto out;
    if (o->sizes_path && (st = dg__txt_read_sizes(&s, o->sizes_path)) < 0)
        goto out;

    /* The files, then the frames they make. */
    if ((st = list_files(&s, gt_ext, n_dt, dt_dirs, &gt_files, dt_files)) < 0)
        goto out;
    if (gt_dir)
        st = make_frames(&s, &gt_files, gt_ext, dt_files, n_dt);
    else
        st = project_frames(&s);
    if (st < 0)
        goto out;

    /* The boxes. */
    if ((st = read_labels(&s, gt_ext, &gt_files, &labels)) < 0)
        goto out;
    for (int d = 0; d < n_dt; d++) {
        if ((st = read_detections(&s, gt_ext, dt_dirs[d], &dt_files[d],
                                  &dts[d])) < 0)
            goto out;
    }

    uint32_t n_frames = (uint32_t)s.fids.n;
    if (gt_dir) {
        if ((st = finish_classes(&s, &labels, dts, n_dt)) < 0 ||
            (st = dg__boxset_sort_by_frame(ctx, &labels, n_frames)) < 0)
            goto out;
    }
    for (int d = 0; d < n_dt; d++) {
        if ((st = dg__boxset_sort_by_frame(ctx, &dts[d], n_frames)) < 0)
            goto out;
    }

    /* Everything is valid: build, then hand over. */
    if (gt_dir)
        st = commit_new(&s, &labels, dts, n_dt, set_names);
    else
        st = commit_sets(&s, dts, n_dt, set_names);
    if (st < 0)
        goto out;

    if (gt_dir && dg__project_n_labels(p) == 0)
        dg__warn(ctx, "'%s': no boxes in any file, so the project has no "
                 "labels", gt_dir);
    for (int d = 0; d < n_dt; d++) {
        int64_t i = dg_project_inference_index(p, set_names[d]);
        if (dg_project_inference_size(p, (uint32_t)i) == 0)
            dg__warn(ctx, "'%s': no detections", dt_dirs[d]);
    }
    dg__txt_warn_emit(ctx, &s.zero_box, "box", "boxes");
    dg__txt_warn_emit(ctx, &s.out_of_range, "box", "boxes");
    dg__txt_warn_emit(ctx, &s.dropped, "detection", "detections");
    dg__txt_warn_emit(ctx, &s.conf_range, "confidence", "confidences");
    st = DG_OK;
out:
    dg__boxset_release(&labels);
    for (int d = 0; dts && d < n_dt; d++)
        dg__boxset_release(&dts[d]);
    free(dts);
    for (int d = 0; dt_files && d < n_dt; d++)
        dg__txt_strvec_release(&dt_files[d]);
    free(dt_files);
    dg__txt_strvec_release(&gt_files);
    imp_release(&s);
    return st;
}
