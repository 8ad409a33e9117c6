/*
 * Masks and keypoints of a project's labels and inference sets: kept
 * beside the boxes, entry k for box k, and dropped with them. In the file
 * they are optional datasets of the box group (docs/FORMAT.md):
 *
 *   mask_offsets     uint64 (n + 1)  box i's runs: mask_counts[o[i] .. o[i+1])
 *   mask_counts      uint32          COCO RLE runs, column-major, 0s first
 *   mask_size        uint32 (2, n)   heights, then widths; 0, 0: no mask
 *   keypoint_offsets uint64 (n + 1)  box i's values: keypoints[o[i] .. o[i+1])
 *   keypoints        float64         x, y, v triples
 *   num_keypoints    int32 (n)       labels: the COCO field, -1 absent
 *   coco_area        float64 (n)     detections: the area of the COCO
 *                                    protocol's area ranges
 *
 * read when first asked for, checked as every other dataset is.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static const char *ptag(const dg_project *p)
{
    return p->path ? p->path : "(new project)";
}

/* "<group>/<name>" into buf. */
static const char *at(char *buf, size_t cap, const char *g, const char *n)
{
    snprintf(buf, cap, "%s/%s", g, n);
    return buf;
}

#define REC_FAIL(field, ...)                                                  \
    do {                                                                      \
        char m_[256];                                                         \
        snprintf(m_, sizeof(m_), __VA_ARGS__);                                \
        st = dg__fail(ctx, DG_EFORMAT, "'%s': %s record %llu: field '%s': %s", \
                      ptag(p), gpath, (unsigned long long)i, field, m_);      \
        goto out;                                                             \
    } while (0)

/* Offsets of n records: n + 1 values from 0, never decreasing; the last
 * is the values' count, *total. */
static dg_status read_off(dg_ctx *ctx, dg_project *p, const char *gpath,
                          const char *name, const char *vals, uint64_t n,
                          uint64_t **out, uint64_t *total)
{
    char path[700], vp[700];
    hid_t f = (hid_t)p->file;
    dg_status st;
    uint64_t *o = dg__alloc(ctx, n + 1, sizeof(*o));
    if (!o)
        return DG_ENOMEM;
    if ((st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath, name),
                             H5T_NATIVE_UINT64, H5T_INTEGER, o, n + 1, 0,
                             n + 1)) < 0 ||
        (st = dg__h5_len(ctx, f, at(vp, sizeof(vp), gpath, vals), total)) < 0)
        goto fail;
    if (o[0] != 0) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': %s: does not start at 0",
                      ptag(p), path);
        goto fail;
    }
    for (uint64_t i = 0; i < n; i++)
        if (o[i + 1] < o[i]) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': %s record %llu: offsets "
                          "decrease", ptag(p), path, (unsigned long long)i);
            goto fail;
        }
    if (o[n] != *total) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': %s ends at %llu, %s has %llu "
                      "values", ptag(p), path, (unsigned long long)o[n], vp,
                      (unsigned long long)*total);
        goto fail;
    }
    *out = o;
    return DG_OK;
fail:
    free(o);
    return st;
}

/* The shapes of box group gpath (n boxes, stored order), or *out NULL
 * when it has none; sorted by frame as load_boxes sorts the boxes when
 * the group has no frame_offsets. */
static dg_status read_shapes(dg_ctx *ctx, dg_project *p, const char *gpath,
                             uint64_t n, int labels, dg_shapes **out)
{
    hid_t f = (hid_t)p->file;
    char path[700];
    dg_status st = DG_OK;
    int has_m = dg__h5_exists(f, at(path, sizeof(path), gpath,
                                    "mask_offsets"));
    int has_k = dg__h5_exists(f, at(path, sizeof(path), gpath,
                                    "keypoint_offsets"));
    int has_n = labels && dg__h5_exists(f, at(path, sizeof(path), gpath,
                                              "num_keypoints"));
    int has_a = !labels && dg__h5_exists(f, at(path, sizeof(path), gpath,
                                               "coco_area"));
    uint64_t *off = NULL, *koff = NULL, tot = 0, ktot = 0, i = 0;
    uint32_t *hw = NULL, *frame = NULL;
    *out = NULL;
    if (!has_m && !has_k)
        return DG_OK;
    dg_shapes *sh = dg__calloc(ctx, 1, sizeof(*sh));
    if (!sh)
        return DG_ENOMEM;
    int flags = (has_m ? DG_SHAPES_MASKS : 0) | (has_k ? DG_SHAPES_KP : 0) |
                (has_n ? DG_SHAPES_NUM_KP : 0) | (has_a ? DG_SHAPES_AREA : 0);
    if ((st = dg__shapes_reserve(ctx, sh, flags, n)) < 0)
        goto out;
    if (has_m) {
        if ((st = read_off(ctx, p, gpath, "mask_offsets", "mask_counts", n,
                           &off, &tot)) < 0)
            goto out;
        if (dg__runs_reserve(&sh->runs, tot ? tot : 1)) {
            st = DG_ENOMEM;
            goto out;
        }
        if (!(hw = dg__alloc(ctx, n ? n : 1, 2 * sizeof(*hw)))) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath,
                                            "mask_counts"),
                                 H5T_NATIVE_UINT32, H5T_INTEGER, sh->runs.v,
                                 tot, 0, tot)) < 0 ||
            (n && (st = dg__h5_read_2d(ctx, f, at(path, sizeof(path), gpath,
                                                  "mask_size"),
                                       H5T_NATIVE_UINT32, hw, 2, n)) < 0))
            goto out;
        sh->runs.n = tot;
    }
    if (has_k) {
        if ((st = read_off(ctx, p, gpath, "keypoint_offsets", "keypoints", n,
                           &koff, &ktot)) < 0)
            goto out;
        if (!(sh->kp = dg__alloc(ctx, ktot ? ktot : 1, sizeof(double)))) {
            st = DG_ENOMEM;
            goto out;
        }
        sh->cap_kp = ktot ? ktot : 1;
        if ((st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath,
                                            "keypoints"),
                                 H5T_NATIVE_DOUBLE, H5T_FLOAT, sh->kp, ktot, 0,
                                 ktot)) < 0)
            goto out;
        sh->n_kp = ktot;
    }
    if (has_n && (st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath,
                                                 "num_keypoints"),
                                      H5T_NATIVE_INT32, H5T_INTEGER,
                                      sh->num_kp, n, 0, n)) < 0)
        goto out;
    if (has_a && (st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath,
                                                 "coco_area"),
                                      H5T_NATIVE_DOUBLE, H5T_FLOAT, sh->area,
                                      n, 0, n)) < 0)
        goto out;
    /* Every record checked. */
    for (i = 0; i < n; i++) {
        if (has_m) {
            uint64_t h = hw[i], w = hw[n + i], sum = 0;
            if ((h == 0) != (w == 0))
                REC_FAIL("mask_size", "%llu x %llu: both 0 (no mask) or "
                         "neither", (unsigned long long)h,
                         (unsigned long long)w);
            if (h * w > 2147483647u)
                REC_FAIL("mask_size", "%llu x %llu is too large for masks",
                         (unsigned long long)h, (unsigned long long)w);
            for (uint64_t j = off[i]; j < off[i + 1]; j++)
                sum += sh->runs.v[j];
            if (sum != h * w)
                REC_FAIL("mask_counts", "runs cover %llu pixels, mask_size "
                         "%llu x %llu has %llu", (unsigned long long)sum,
                         (unsigned long long)h, (unsigned long long)w,
                         (unsigned long long)(h * w));
            if (h && off[i + 1] == off[i])
                REC_FAIL("mask_counts", "no runs for a %llu x %llu mask",
                         (unsigned long long)h, (unsigned long long)w);
            sh->off[i + 1] = off[i + 1];
            sh->mh[i] = (uint32_t)h;
            sh->mw[i] = (uint32_t)w;
        }
        if (has_k) {
            uint64_t m = koff[i + 1] - koff[i];
            if (m % 3 || m / 3 > DG_OKS_MAX_KP)
                REC_FAIL("keypoints", "%llu values, not x, y, v triples of "
                         "at most %d keypoints", (unsigned long long)m,
                         DG_OKS_MAX_KP);
            for (uint64_t j = koff[i]; j < koff[i + 1]; j++)
                if (!isfinite(sh->kp[j]))
                    REC_FAIL("keypoints", "value %llu is not finite",
                             (unsigned long long)(j - koff[i]));
            sh->kp_off[i + 1] = koff[i + 1];
        }
        if (has_n && sh->num_kp[i] < -1)
            REC_FAIL("num_keypoints", "negative (%d)", (int)sh->num_kp[i]);
        if (has_a && !(sh->area[i] >= 0 && isfinite(sh->area[i])))
            REC_FAIL("coco_area", "not a finite area >= 0 (%g)", sh->area[i]);
    }
    sh->n = n;
    /* load_boxes sorts a group without frame_offsets by frame. */
    if (!dg__h5_exists(f, at(path, sizeof(path), gpath, "frame_offsets"))) {
        if (!(frame = dg__alloc(ctx, n ? n : 1, sizeof(*frame)))) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg__h5_read_1d(ctx, f, at(path, sizeof(path), gpath,
                                            "frame"),
                                 H5T_NATIVE_UINT32, H5T_INTEGER, frame, n, 0,
                                 n)) < 0 ||
            (st = dg__shapes_sort_by_frame(ctx, sh, frame, p->n_frames)) < 0)
            goto out;
    }
    *out = sh;
    sh = NULL;
out:
    dg__shapes_free(sh);
    free(off);
    free(koff);
    free(hw);
    free(frame);
    return st;
}

dg_status dg__project_label_shapes(dg_ctx *ctx, dg_project *p,
                                   const dg_shapes **out)
{
    *out = NULL;
    dg_status st = dg__project_load_labels(ctx, p);
    if (st < 0)
        return st;
    if (!p->label_shapes_known) {
        if (p->file >= 0 &&
            (st = read_shapes(ctx, p, "/labels", p->labels.n, 1,
                              &p->label_shapes)) < 0)
            return st;
        p->label_shapes_known = 1;
    }
    *out = p->label_shapes;
    return DG_OK;
}

dg_status dg__project_inference_shapes(dg_ctx *ctx, dg_project *p,
                                       uint32_t i, const dg_shapes **out)
{
    *out = NULL;
    dg_status st = dg__project_load_inferences(ctx, p, i);
    if (st < 0)
        return st;
    dg_infset *s = &p->inf[i];
    if (!s->shapes_known) {
        char g[600];
        snprintf(g, sizeof(g), "/inferences/%s", dg__infset_src_name(s));
        if (p->file >= 0 &&
            (st = read_shapes(ctx, p, g, s->boxes.n, 0, &s->shapes)) < 0)
            return st;
        s->shapes_known = 1;
    }
    *out = s->shapes;
    return DG_OK;
}

dg_status dg__shapes_write(dg_ctx *ctx, int64_t gid, const dg_shapes *s)
{
    hid_t g = (hid_t)gid;
    uint64_t n = s->n;
    dg_status st = DG_OK;
    uint32_t *hw = NULL;
    int parts = dg__shapes_parts(s);
    if (parts & DG_SHAPES_MASKS) {
        if (!(hw = dg__alloc(ctx, n ? n : 1, 2 * sizeof(*hw))))
            return DG_ENOMEM;
        memcpy(hw, s->mh, n * sizeof(*hw));
        memcpy(hw + n, s->mw, n * sizeof(*hw));
        if ((st = dg__h5_write_1d(ctx, g, "mask_offsets", H5T_NATIVE_UINT64,
                                  H5T_STD_U64LE, s->off, n + 1, 1)) < 0 ||
            (st = dg__h5_write_1d(ctx, g, "mask_counts", H5T_NATIVE_UINT32,
                                  H5T_STD_U32LE, s->runs.v, s->off[n], 1)) < 0 ||
            (st = dg__h5_write_2d(ctx, g, "mask_size", H5T_NATIVE_UINT32,
                                  H5T_STD_U32LE, hw, 2, n, 1)) < 0)
            goto out;
    }
    if ((parts & DG_SHAPES_KP) &&
        ((st = dg__h5_write_1d(ctx, g, "keypoint_offsets", H5T_NATIVE_UINT64,
                               H5T_STD_U64LE, s->kp_off, n + 1, 1)) < 0 ||
         (st = dg__h5_write_1d(ctx, g, "keypoints", H5T_NATIVE_DOUBLE,
                               H5T_IEEE_F64LE, s->kp, s->kp_off[n], 1)) < 0))
        goto out;
    if ((parts & DG_SHAPES_NUM_KP) &&
        (st = dg__h5_write_1d(ctx, g, "num_keypoints", H5T_NATIVE_INT32,
                              H5T_STD_I32LE, s->num_kp, n, 1)) < 0)
        goto out;
    if ((parts & DG_SHAPES_AREA) &&
        (st = dg__h5_write_1d(ctx, g, "coco_area", H5T_NATIVE_DOUBLE,
                              H5T_IEEE_F64LE, s->area, n, 1)) < 0)
        goto out;
out:
    free(hw);
    return st;
}

/* Swaps *s into *slot; shapes with neither masks nor keypoints are
 * none. */
static void take(dg_shapes **slot, dg_shapes **s)
{
    dg_shapes *old = *slot;
    *slot = *s;
    if (*slot && !(dg__shapes_parts(*slot) & (DG_SHAPES_MASKS | DG_SHAPES_KP)))
    {
        dg__shapes_free(*slot);
        *slot = NULL;
    }
    *s = old;
}

void dg__project_take_label_shapes(dg_project *p, dg_shapes **s)
{
    take(&p->label_shapes, s);
    p->meta_dirty = 1;
}

void dg__project_take_inference_shapes(dg_project *p, uint32_t i,
                                       dg_shapes **s)
{
    if (i >= p->n_inf)
        return;
    take(&p->inf[i].shapes, s);
    p->inf[i].dirty = 1;
}
