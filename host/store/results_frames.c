/*
 * The frame of each sorted detection of stored results: what segment
 * restrictions, per-frame counts and the report need, built from the
 * stored order and the inference set's frame offsets without reading any
 * box.
 */
#include <stdlib.h>

#include "dg_internal.h"

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

const uint32_t *dg__results_det_frame(dg_ctx *ctx, struct dg_results *r,
                                      dg_project *p)
{
    if (r->det_frame)
        return r->det_frame;
    if (r->inf_index < 0 || (uint64_t)r->inf_index >= p->n_inf) {
        dg__fail(ctx, DG_EINVAL, "results are not attached to an inference "
                                 "set of this project");
        return NULL;
    }
    dg_infset *s = &p->inf[r->inf_index];
    if (s->n != r->n_det) {
        dg__fail(ctx, DG_ESTALE,
                 "results for '%s' cover %llu detections, the set has %llu "
                 "(run 'detgrid eval')",
                 s->name, (unsigned long long)r->n_det,
                 (unsigned long long)s->n);
        return NULL;
    }
    uint64_t *off = NULL;
    dg_status st = dg__results_load_order(ctx, r);
    if (st < 0 ||
        (st = dg__project_frame_offsets(ctx, p, (int)r->inf_index, &off)) < 0)
        return NULL;
    /* record -> frame, then gathered through order. */
    uint32_t *rec_frame = dg__alloc(ctx, r->n_det ? r->n_det : 1, 4);
    uint32_t *out = dg__alloc(ctx, r->n_det ? r->n_det : 1, 4);
    if (!rec_frame || !out) {
        free(rec_frame);
        free(out);
        free(off);
        return NULL;
    }
    for (uint32_t f = 0; f < p->n_frames; f++)
        for (uint64_t k = off[f]; k < off[f + 1] && k < r->n_det; k++)
            rec_frame[k] = f;
    for (uint64_t j = 0; j < r->n_det; j++) {
        uint32_t rec = r->order[j];
        if (rec >= r->n_det) {
            dg__fail(ctx, DG_EFORMAT,
                     "results for '%s': order[%llu] = %u is out of range",
                     s->name, (unsigned long long)j, rec);
            free(rec_frame);
            free(out);
            free(off);
            return NULL;
        }
        out[j] = rec_frame[rec];
    }
    free(rec_frame);
    free(off);
    r->det_frame = out;
    return out;
}
