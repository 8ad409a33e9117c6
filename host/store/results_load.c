/*
 * Results as the queries open them: dg_results_load finds an inference
 * set's stored results, checks that they still belong to its boxes and the
 * labels (fingerprints), and hands out a reference; and the small getters.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static dg_status fingerprint_of(dg_ctx *ctx, dg_project *p, int which,
                                uint64_t *fp)
{
    dg_boxset *b = which < 0 ? &p->labels : &p->inf[which].boxes;
    int loaded = which < 0 ? p->labels_loaded : p->inf[which].loaded;
    if (!loaded && p->file >= 0) {
        char gp[600];
        if (which < 0)
            snprintf(gp, sizeof(gp), "/labels");
        else
            snprintf(gp, sizeof(gp), "/inferences/%s",
                     dg__infset_src_name(&p->inf[which]));
        if (dg__h5_exists((hid_t)p->file, gp)) {
            hid_t g = H5Gopen2((hid_t)p->file, gp, H5P_DEFAULT);
            dg_status st = g >= 0 ? dg__h5_attr_read(ctx, g, "fingerprint",
                                                     H5T_NATIVE_UINT64, fp, 1)
                                  : DG_EFORMAT;
            if (g >= 0)
                H5Gclose(g);
            if (st == DG_OK)
                return DG_OK;
        }
    }
    dg_status st = which < 0 ? dg__project_load_labels(ctx, p)
                             : dg__project_load_inferences(ctx, p,
                                                           (uint32_t)which);
    if (st < 0)
        return st;
    /* Hashed once per boxes: every query asks, and the boxes only change
     * by being replaced (dg__project_take_*) or loaded, which forget it. */
    uint64_t *have = which < 0 ? &p->labels_fp : &p->inf[which].fp;
    int *known = which < 0 ? &p->labels_fp_known : &p->inf[which].fp_known;
    if (!*known) {
        *have = dg__boxset_fingerprint(b);
        *known = 1;
    }
    *fp = *have;
    return DG_OK;
}

dg_status dg__project_fingerprint(dg_ctx *ctx, dg_project *p, int which,
                                  uint64_t *fp)
{
    return fingerprint_of(ctx, p, which, fp);
}

static const char *const type_names[DG_N_IOU_TYPES] = {"bbox", "segm",
                                                     "boundary", "keypoints"};

dg_status dg_project_set_iou_type(dg_ctx *ctx, dg_project *p, int iou_type)
{
    if (iou_type < 0 || iou_type >= DG_N_IOU_TYPES)
        return dg__fail(ctx, DG_EINVAL, "no IoU type %d (types: bbox, "
                        "segm, boundary, keypoints)", iou_type);
    p->iou_type = iou_type;
    return DG_OK;
}

int dg_project_iou_type(const dg_project *p)
{
    return p->iou_type;
}

unsigned dg_project_result_types(const dg_project *p, uint32_t i)
{
    unsigned bits = 0;
    if (i >= p->n_inf)
        return 0;
    dg_infset *s = &p->inf[i];
    for (int t = 0; t < DG_N_IOU_TYPES; t++) {
        char gp[600];
        snprintf(gp, sizeof(gp), "/%s/%s", dg__results_root(t),
                 dg__infset_src_name(s));
        if (*dg__infset_results(s, t) ||
            (!s->dirty && p->file >= 0 && dg__h5_exists((hid_t)p->file, gp)))
            bits |= 1u << t;
    }
    return bits;
}

int dg_results_iou_type(const dg_results *r)
{
    return r->iou_type;
}

/* "bbox, segm" : the types of bits, or "none". */
static void type_list(unsigned bits, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int t = 0; t < DG_N_IOU_TYPES; t++)
        if (bits >> t & 1)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s",
                                  n ? ", " : "", type_names[t]);
    if (!n)
        snprintf(buf, cap, "none");
}

dg_status dg_results_load(dg_ctx *ctx, dg_project *p, const char *name,
                          dg_results **out)
{
    uint32_t i;
    dg_status st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &i);
    if (st < 0)
        return st;
    dg_infset *s = &p->inf[i];
    int type = p->iou_type;
    struct dg_results **slot = dg__infset_results(s, type);
    if (!*slot) {
        if (s->dirty || p->file < 0 ||
            (st = dg__results_read(ctx, p->file, dg__infset_src_name(s), type,
                                   slot)) ==
                DG_ENOTFOUND) {
            if (!type)
                return dg__fail(ctx, DG_ESTALE,
                                "'%s': no results for '%s' (run 'detgrid "
                                "eval' first)",
                                p->path ? p->path : "(project)", name);
            char have[64];
            type_list(dg_project_result_types(p, i), have, sizeof(have));
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': no %s results for '%s' (stored: %s); run "
                            "'detgrid eval --iou-type %s' first",
                            p->path ? p->path : "(project)", type_names[type],
                            name, have, type_names[type]);
        }
        if (st < 0)
            return st;
        uint64_t fp, lfp;
        if ((st = fingerprint_of(ctx, p, (int)i, &fp)) < 0 ||
            (st = fingerprint_of(ctx, p, -1, &lfp)) < 0)
            return st;
        if (fp != (*slot)->fingerprint ||
            lfp != (*slot)->labels_fingerprint ||
            (*slot)->n_classes != p->n_classes) {
            dg__results_destroy(*slot);
            *slot = NULL;
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': %s%sresults for '%s' are out of date "
                            "(labels or detections changed; run 'detgrid "
                            "eval%s%s')",
                            p->path, type ? type_names[type] : "",
                            type ? " " : "", name, type ? " --iou-type " : "",
                            type ? type_names[type] : "");
        }
    }
    (*slot)->refs++;
    (*slot)->inf_index = i;
    *out = *slot;
    return DG_OK;
}

void dg_results_free(dg_results *r)
{
    dg__results_destroy(r);
}

int dg_results_n_iou(const dg_results *r)
{
    return r->n_iou;
}

double dg_results_iou(const dg_results *r, int i)
{
    return i >= 0 && i < r->n_iou ? r->iou[i] : NAN;
}

uint32_t dg_results_n_classes(const dg_results *r)
{
    return r->n_classes;
}

uint64_t dg_results_n_det(const dg_results *r)
{
    return r->n_det;
}

const char *dg_results_device(const dg_results *r)
{
    return r->device;
}

