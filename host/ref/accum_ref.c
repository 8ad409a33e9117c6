/*
 * Accumulation, plain C: the permutation of per-threshold outcome rows from
 * inference-set order into sorted order (class, descending score,
 * inference-set index). The twin of accumulate_permute in kernels/accum.cl.
 *
 * Done cache-friendly: a direct gather out[k] = in[order[k]] reads the
 * whole row at random, which is fast while a row fits in cache and slow
 * past it (4M detections: a 16 MB row). Two passes instead: scatter each
 * row by class into a scratch row (one sequential write stream per class),
 * then gather each class from its own segment of the scratch row, which is
 * small.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef struct perm_plan {
    uint32_t *gpos; /* detection -> position in the class-grouped row */
    uint32_t *idx2; /* sorted position -> position in the class-grouped row */
} perm_plan;

static void plan_release(perm_plan *pl)
{
    free(pl->gpos);
    free(pl->idx2);
}

static dg_status plan_make(dg_ctx *ctx, const dg_perm *pm, perm_plan *pl)
{
    uint64_t n = pm->n;
    uint32_t nc = pm->n_classes;
    /* Without class offsets (a caller that only has the order) the plan
     * is the plain gather: one "class" holding every detection. */
    int by_class = pm->class_off && nc && pm->class_off[nc] == n;
    if (!by_class)
        nc = 0;
    uint32_t *cls = dg__alloc(ctx, n ? n : 1, 4);
    uint64_t *next = dg__alloc(ctx, (size_t)nc + 1, 8);
    pl->gpos = dg__alloc(ctx, n ? n : 1, 4);
    pl->idx2 = dg__alloc(ctx, n ? n : 1, 4);
    if (!cls || !next || !pl->gpos || !pl->idx2) {
        free(cls);
        free(next);
        plan_release(pl);
        return DG_ENOMEM;
    }
    if (by_class) {
        for (uint32_t c = 0; c < nc; c++)
            for (uint64_t k = pm->class_off[c]; k < pm->class_off[c + 1]; k++)
                cls[pm->order[k]] = c;
        memcpy(next, pm->class_off, (size_t)nc * 8);
    } else {
        memset(cls, 0, (size_t)(n ? n : 1) * 4);
        next[0] = 0;
    }
    for (uint64_t d = 0; d < n; d++)
        pl->gpos[d] = (uint32_t)next[cls[d]]++;
    for (uint64_t k = 0; k < n; k++)
        pl->idx2[k] = pl->gpos[pm->order[k]];
    free(cls);
    free(next);
    return DG_OK;
}

#define PERMUTE_ROWS(type, in, out)                                           \
    do {                                                                      \
        uint64_t n = pm->n;                                                   \
        perm_plan pl = {NULL, NULL};                                          \
        type *tmp = dg__alloc(ctx, n ? n : 1, sizeof(type));                  \
        if (!tmp || plan_make(ctx, pm, &pl) < 0) {                            \
            free(tmp);                                                        \
            return DG_ENOMEM;                                                 \
        }                                                                     \
        for (int t = 0; t < pm->n_rows; t++) {                                \
            const type *s_ = (in) + (size_t)t * n;                            \
            type *d_ = (out) + (size_t)t * n;                                 \
            for (uint64_t i = 0; i < n; i++)                                  \
                tmp[pl.gpos[i]] = s_[i];                                      \
            for (uint64_t k = 0; k < n; k++)                                  \
                d_[k] = tmp[pl.idx2[k]];                                      \
        }                                                                     \
        free(tmp);                                                            \
        plan_release(&pl);                                                    \
        return DG_OK;                                                         \
    } while (0)

dg_status dg__permute_u8_ref(dg_ctx *ctx, const dg_perm *pm,
                             const uint8_t *in, uint8_t *out)
{
    PERMUTE_ROWS(uint8_t, in, out);
}

dg_status dg__permute_i32_ref(dg_ctx *ctx, const dg_perm *pm,
                              const int32_t *in, int32_t *out)
{
    PERMUTE_ROWS(int32_t, in, out);
}
