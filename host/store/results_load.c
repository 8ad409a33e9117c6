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
    *fp = dg__boxset_fingerprint(b);
    return DG_OK;
}

dg_status dg__project_fingerprint(dg_ctx *ctx, dg_project *p, int which,
                                  uint64_t *fp)
{
    return fingerprint_of(ctx, p, which, fp);
}

dg_status dg_results_load(dg_ctx *ctx, dg_project *p, const char *name,
                          dg_results **out)
{
    uint32_t i;
    dg_status st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &i);
    if (st < 0)
        return st;
    dg_infset *s = &p->inf[i];
    if (!s->results) {
        if (s->dirty || p->file < 0 ||
            (st = dg__results_read(ctx, p->file, dg__infset_src_name(s),
                                   &s->results)) ==
                DG_ENOTFOUND)
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': no results for '%s' (run 'detgrid eval' "
                            "first)",
                            p->path ? p->path : "(project)", name);
        if (st < 0)
            return st;
        uint64_t fp, lfp;
        if ((st = fingerprint_of(ctx, p, (int)i, &fp)) < 0 ||
            (st = fingerprint_of(ctx, p, -1, &lfp)) < 0)
            return st;
        if (fp != s->results->fingerprint ||
            lfp != s->results->labels_fingerprint ||
            s->results->n_classes != p->n_classes) {
            dg__results_destroy(s->results);
            s->results = NULL;
            return dg__fail(ctx, DG_ESTALE,
                            "'%s': results for '%s' are out of date (labels "
                            "or detections changed; run 'detgrid eval')",
                            p->path, name);
        }
    }
    s->results->refs++;
    s->results->inf_index = i;
    *out = s->results;
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

