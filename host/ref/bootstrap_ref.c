/*
 * The bootstrap's resampling, plain C: the twin of bootstrap_sums in
 * kernels/bootstrap.cl. For each resample it draws n universe frames with
 * replacement (dg__boot_draw) and adds each drawn frame's sparse counts,
 * per set and class, into 64-bit sums. Integer sums, so the device gives
 * the same bytes whatever the order of the additions.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

dg_status dg__bootstrap_sums_ref(dg_ctx *ctx, const dg_boot_input *in,
                                 uint32_t b0, uint32_t nb, uint64_t *sums)
{
    if (!in || !sums || !in->n || !in->n_classes || !in->n_sets ||
        in->n_sets > 2)
        return dg__fail(ctx, DG_EINVAL, "dg__bootstrap_sums_ref: bad input");
    uint32_t n = in->n, C = in->n_classes, S = in->n_sets;
    size_t row = (size_t)S * C * 3;
    /*
     * Each resample first counts how often it draws each frame, then adds
     * each drawn frame's counts times that multiplicity: the same integer
     * sums as adding draw by draw (the kernel's order), with a third of
     * the frames (those not drawn) skipped.
     */
    uint32_t *mult = dg__alloc(ctx, n, sizeof(uint32_t));
    if (!mult)
        return DG_ENOMEM;
    memset(sums, 0, (size_t)nb * row * sizeof(uint64_t));
    for (uint32_t bi = 0; bi < nb; bi++) {
        uint64_t b = (uint64_t)b0 + bi;
        uint64_t key = dg__mix64(in->seed + (b + 1) * DG_BOOT_GAMMA);
        uint64_t *o = sums + (size_t)bi * row;
        memset(mult, 0, (size_t)n * sizeof(uint32_t));
        for (uint32_t j = 0; j < n; j++)
            mult[dg__mix64(key + ((uint64_t)j + 1) * DG_BOOT_GAMMA) % n]++;
        for (uint32_t s = 0; s < S; s++) {
            const uint64_t *off = in->off + (size_t)s * (n + 1);
            uint64_t *os = o + (size_t)s * C * 3;
            for (uint32_t u = 0; u < n; u++) {
                uint64_t m = mult[u];
                if (!m)
                    continue;
                for (uint64_t q = off[u]; q < off[u + 1]; q++) {
                    uint64_t *oc = os + (size_t)in->cls[q] * 3;
                    oc[0] += m * in->cnt[3 * q];
                    oc[1] += m * in->cnt[3 * q + 1];
                    oc[2] += m * in->cnt[3 * q + 2];
                }
            }
        }
    }
    free(mult);
    return DG_OK;
}
