/*
 * Masks and keypoints of a project's labels and inference sets: kept
 * beside the boxes, entry k for box k, and dropped with them.
 */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

dg_status dg__project_label_shapes(dg_ctx *ctx, dg_project *p,
                                   const dg_shapes **out)
{
    *out = NULL;
    dg_status st = dg__project_load_labels(ctx, p);
    if (st < 0)
        return st;
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
    *out = p->inf[i].shapes;
    return DG_OK;
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
