/*
 * The frame of each sorted detection of stored results: what segment
 * restrictions, per-frame counts and the report need, built from the
 * stored order and the inference set's frame offsets without reading any
 * box.
 */
#include <stdlib.h>

#include "store_impl.h"

dg_status dg__results_check_classes(dg_ctx *ctx, const struct dg_results *r,
                                    const dg_project *p)
{
    if (r->n_classes != p->n_classes)
        return dg__fail(ctx, DG_ESTALE,
                        "results cover %u classes, the project has %u (run "
                        "'detgrid eval')",
                        r->n_classes, p->n_classes);
    return DG_OK;
}

dg_status dg__results_det_frame(dg_ctx *ctx, struct dg_results *r,
                                dg_project *p, const uint32_t **det_frame)
{
    *det_frame = r->det_frame;
    if (r->det_frame)
        return DG_OK;
    if (r->inf_index < 0 || (uint64_t)r->inf_index >= p->n_inf)
        return dg__fail(ctx, DG_EINVAL, "results are not attached to an "
                                        "inference set of this project");
    dg_infset *s = &p->inf[r->inf_index];
    if (s->n != r->n_det)
        return dg__fail(ctx, DG_ESTALE,
                        "results for '%s' cover %llu detections, the set has "
                        "%llu (run 'detgrid eval')",
                        s->name, (unsigned long long)r->n_det,
                        (unsigned long long)s->n);
    uint64_t *off = NULL;
    const uint32_t *order;
    dg_status st = dg__results_order(ctx, r, &order);
    if (st < 0 ||
        (st = dg__project_frame_offsets(ctx, p, (int)r->inf_index, &off)) < 0)
        return st;
    /* record -> frame, then gathered through order. */
    uint32_t *rec_frame = dg__alloc(ctx, r->n_det ? r->n_det : 1, 4);
    uint32_t *out = dg__alloc(ctx, r->n_det ? r->n_det : 1, 4);
    if (!rec_frame || !out) {
        free(rec_frame);
        free(out);
        free(off);
        return DG_ENOMEM;
    }
    for (uint32_t f = 0; f < p->n_frames; f++)
        for (uint64_t k = off[f]; k < off[f + 1] && k < r->n_det; k++)
            rec_frame[k] = f;
    for (uint64_t j = 0; j < r->n_det; j++) {
        uint32_t rec = order[j];
        if (rec >= r->n_det) {
            free(rec_frame);
            free(out);
            free(off);
            return dg__fail(ctx, DG_EFORMAT,
                            "results for '%s': order[%llu] = %u is out of "
                            "range",
                            s->name, (unsigned long long)j, rec);
        }
        out[j] = rec_frame[rec];
    }
    free(rec_frame);
    free(off);
    r->det_frame = out;
    *det_frame = out;
    return DG_OK;
}

/* ---- accessors for the queries (store.h) ------------------------------- */

const char *dg__project_source(const dg_project *p)
{
    return p->path;
}

int64_t dg__project_results_index(const dg_project *p,
                                  const struct dg_results *r)
{
    int64_t which = -1;
    for (uint32_t i = 0; i < p->n_inf; i++)
        for (int t = 0; t < DG_N_IOU_TYPES; t++)
            if (*dg__infset_results(&p->inf[i], t) == r)
                which = i;
    return which;
}

int dg__results_has_agnostic(const struct dg_results *r)
{
    return r->version >= 2 && r->agnostic != NULL;
}

const uint32_t *dg__results_mask_det_frame(const struct dg_results *r)
{
    return r->frame_mask ? r->det_frame : NULL;
}
