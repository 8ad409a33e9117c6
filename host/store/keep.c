/*
 * What a save keeps of the user's own data. A project file is HDF5, and
 * people add to it with h5py: a group of notes, an attribute naming the
 * model's commit on its inference set, a column beside the boxes. A save
 * writes a new file with detgrid's parts; this walk then copies from the
 * old file everything detgrid does not own, as it is, and warns naming
 * what it cannot keep (under a part detgrid removed, or an attribute of
 * references, which point into the old file).
 *
 * What detgrid owns is the layout of docs/FORMAT.md: the names below. A
 * name detgrid owns that is missing from the new file was removed by
 * detgrid (a deleted segment, stale results), and is not brought back.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static const char *const root_attrs[] = {
    "format", "format_version", "default_conf", "default_iou", "writer",
    "images_dir", NULL};
static const char *const root_links[] = {
    "classes", "frames", "labels", "inferences", "results", "results_segm",
    "results_boundary", "results_keypoints", "segments", "embeddings", NULL};
static const char *const class_links[] = {"name", "id", NULL};
static const char *const frame_links[] = {"id", "num", "width", "height",
                                          "meta", NULL};
static const char *const box_links[] = {
    "frame", "class", "x", "y", "w", "h", "frame_offsets", "score", "area",
    "iscrowd", "ignore", "coco_id_zero", "mask_offsets", "mask_counts",
    "mask_size", "keypoint_offsets", "keypoints", "num_keypoints",
    "coco_area", NULL};
static const char *const box_attrs[] = {"fingerprint", NULL};
static const char *const result_links[] = {
    "class_offsets", "order", "score", "status", "matched", "gt_count",
    "agnostic", "label_class", NULL};
static const char *const result_attrs[] = {
    "results_version", "iou_thresholds", "fingerprint", "labels_fingerprint",
    "n_gt", "device", "iou_type", "dilation_ratio", "kpt_sigma_offsets",
    "kpt_sigmas", NULL};
static const char *const segment_links[] = {
    "name", "kind", "frame_offsets", "frames", "min_precision", "min_recall",
    "min_f1", "min_ap", "conf", "iou", "meta_segment", "meta_key",
    "meta_value", NULL};
static const char *const version_attr[] = {"version", NULL};
static const char *const model_links[] = {"frames", "labels", "inferences",
                                          NULL};
static const char *const model_attrs[] = {"model", "dim", NULL};
static const char *const encoding_attr[] = {"encoding", NULL};
static const char *const none[] = {NULL};

/* Sentinel for "every name": members named after the project's things. */
static const char *const every[] = {"", NULL};

static int listed(const char *const *l, const char *name)
{
    if (l == every)
        return 1;
    for (; *l; l++)
        if (!strcmp(*l, name))
            return 1;
    return 0;
}

/*
 * The names detgrid owns among the links (links = 1) or attributes of the
 * object at path ("/a/b"), by where it lies in docs/FORMAT.md's layout.
 */
static const char *const *owned(const char *path, int links)
{
    const char *c[4] = {0};
    size_t len[4] = {0};
    int n = 0;
    for (const char *s = path; *s && n < 5;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (n < 4) {
            c[n] = s;
            len[n] = l;
        }
        n++;
        s += l;
    }
#define IS(i, lit) (len[i] == sizeof(lit) - 1 && !strncmp(c[i], lit, len[i]))
    if (n == 0)
        return links ? root_links : root_attrs;
    if (n == 1 && IS(0, "classes"))
        return links ? class_links : none;
    if (n == 1 && IS(0, "frames"))
        return links ? frame_links : none;
    if (n == 2 && IS(0, "frames") && IS(1, "meta"))
        return links ? every : none;
    if ((n == 1 && IS(0, "labels")) || (n == 2 && IS(0, "inferences")))
        return links ? box_links : box_attrs;
    /* Results of every IoU type share one layout (docs/FORMAT.md). */
    int res = n >= 1 && (IS(0, "results") || IS(0, "results_segm") ||
                         IS(0, "results_boundary") ||
                         IS(0, "results_keypoints"));
    if (n == 1 && (IS(0, "inferences") || res || IS(0, "embeddings")))
        return links ? every : none;
    if (n == 2 && res)
        return links ? result_links : result_attrs;
    if (n == 3 && res && len[2] == 7 && !strncmp(c[2], "matched", 7))
        return links ? none : encoding_attr;
    if (n == 1 && IS(0, "segments"))
        return links ? segment_links : version_attr;
    if (n == 2 && IS(0, "embeddings"))
        return links ? model_links : model_attrs;
    if (n == 3 && IS(0, "embeddings") && len[2] == 10 &&
        !strncmp(c[2], "inferences", 10))
        return links ? every : none;
#undef IS
    return none;
}

typedef struct walk {
    dg_ctx *ctx;
    hid_t src, dst;
    const char *path;   /* the object being walked */
    const char *gone;   /* the removed part it lies in, or NULL */
    int n_lost;
} walk;

static void lost(walk *w, const char *what, const char *name,
                 const char *why)
{
    char n[300], p[600];
    if (w->n_lost++ < 20)
        dg__warn(w->ctx, "'%s': %s '%s' of '%s' was not kept: %s",
                 dg__h5_fname(w->src), what,
                 dg__name_show(name, n, sizeof(n)),
                 dg__name_show(*w->path ? w->path : "/", p, sizeof(p)), why);
}

/* Copies attribute name of the object sobj to dobj, as it is. */
static int copy_attr(hid_t sobj, hid_t dobj, const char *name,
                     const char **why)
{
    hid_t a = H5Aopen(sobj, name, H5P_DEFAULT);
    hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    hid_t mt = H5I_INVALID_HID, b = H5I_INVALID_HID;
    void *buf = NULL;
    int ok = 0;
    *why = "HDF5 cannot copy it";
    if (ft < 0 || sp < 0)
        goto out;
    if (H5Tdetect_class(ft, H5T_REFERENCE) > 0) {
        *why = "it holds references, which point into the old file";
        goto out;
    }
    mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = mt >= 0 ? H5Tget_size(mt) : 0;
    if (mt < 0 || n < 0 || !size || (buf = calloc((size_t)n + 1, size)) == NULL)
        goto out;
    if (H5Aread(a, mt, buf) < 0)
        goto out;
    b = H5Acreate2(dobj, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT);
    ok = b >= 0 && H5Awrite(b, mt, buf) >= 0;
    dg__h5_reclaim(mt, sp, buf);
out:
    free(buf);
    if (b >= 0)
        H5Aclose(b);
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

static herr_t attr_cb(hid_t obj, const char *name, const H5A_info_t *info,
                      void *arg)
{
    (void)info;
    walk *w = arg;
    if (listed(owned(w->path, 0), name))
        return 0;
    if (w->gone) {
        lost(w, "attribute", name, "detgrid removed the part it was on");
        return 0;
    }
    const char *p = *w->path ? w->path : "/";
    hid_t d = H5Oopen(w->dst, p, H5P_DEFAULT);
    const char *why = "HDF5 cannot open it";
    /* Present already when its object was copied whole. */
    if (d < 0 || (H5Aexists(d, name) <= 0 && !copy_attr(obj, d, name, &why)))
        lost(w, "attribute", name, why);
    if (d >= 0)
        H5Oclose(d);
    return 0;
}

static void walk_object(walk *w, const char *path, int is_group);

static herr_t link_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *arg)
{
    (void)g;
    walk *w = arg;
    size_t pl = strlen(w->path);
    char *child = malloc(pl + strlen(name) + 2);
    if (!child)
        return -1;
    sprintf(child, "%s/%s", w->path, name);
    int mine = listed(owned(w->path, 1), name);
    int hard = info->type == H5L_TYPE_HARD, is_group = 0;
    if (hard) {
        hid_t o = H5Oopen(w->src, child, H5P_DEFAULT);
        is_group = o >= 0 && H5Iget_type(o) == H5I_GROUP;
        if (o >= 0)
            H5Oclose(o);
    }
    int in_dst = !w->gone && dg__h5_exists(w->dst, child);
    if (mine) {
        /* detgrid's own: look inside for the user's attributes and
         * members, in the new file or (warning) in what detgrid removed. */
        if (hard) {
            walk sub = *w;
            sub.path = child;
            if (!in_dst && !w->gone)
                sub.gone = child;
            walk_object(&sub, child, is_group);
            w->n_lost = sub.n_lost;
        }
    } else if (w->gone) {
        lost(w, is_group ? "group" : "member", name,
             "detgrid removed the part it was in");
    } else if (in_dst) {
        /* Copied with its parent, which did not change. */
    } else if (hard) {
        if (H5Ocopy(w->src, child, w->dst, child, H5P_DEFAULT, H5P_DEFAULT) < 0)
            lost(w, is_group ? "group" : "member", name,
                 "HDF5 cannot copy it");
    } else {
        /* A soft or external link: the link itself, as it was. */
        hid_t lapl = H5P_DEFAULT;
        int ok = 0;
        char *val = malloc(info->u.val_size + 1);
        if (val && H5Lget_val(w->src, child, val, info->u.val_size + 1,
                              lapl) >= 0) {
            if (info->type == H5L_TYPE_SOFT) {
                ok = H5Lcreate_soft(val, w->dst, child, H5P_DEFAULT,
                                    H5P_DEFAULT) >= 0;
            } else if (info->type == H5L_TYPE_EXTERNAL) {
                const char *file, *obj;
                unsigned flags;
                if (H5Lunpack_elink_val(val, info->u.val_size, &flags, &file,
                                        &obj) >= 0)
                    ok = H5Lcreate_external(file, obj, w->dst, child,
                                            H5P_DEFAULT, H5P_DEFAULT) >= 0;
            }
        }
        free(val);
        if (!ok)
            lost(w, "link", name, "HDF5 cannot copy it");
    }
    free(child);
    return 0;
}

static void walk_object(walk *w, const char *path, int is_group)
{
    const char *p = *path ? path : "/";
    hid_t o = H5Oopen(w->src, p, H5P_DEFAULT);
    if (o < 0)
        return;
    walk sub = *w;
    sub.path = path;
    hsize_t idx = 0;
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, &sub);
    if (is_group) {
        idx = 0;
        H5Literate(o, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, &sub);
    }
    w->n_lost = sub.n_lost;
    H5Oclose(o);
}

dg_status dg__keep_user_data(dg_ctx *ctx, int64_t src, int64_t dst)
{
    walk w = {ctx, (hid_t)src, (hid_t)dst, "", NULL, 0};
    walk_object(&w, "", 1);
    if (w.n_lost > 20)
        dg__warn(ctx, "'%s': %d more items of the user's were not kept",
                 dg__h5_fname((hid_t)src), w.n_lost - 20);
    return dg__h5_check_write(ctx, (hid_t)dst);
}
