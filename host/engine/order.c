/*
 * Ordering: the sort of accumulation. Results keep detections by class,
 * then descending score, then inference-set order; every query's binary
 * search and every prefix count rest on it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"

dg_status dg__order_dets(dg_ctx *ctx, dg_results_tables *r, uint64_t n,
                         const uint32_t *cls, const double *score)
{
    uint32_t nc = r->n_classes;
    uint64_t *key = dg__alloc(ctx, n ? n : 1, 8);
    uint64_t *key2 = dg__alloc(ctx, n ? n : 1, 8);
    uint32_t *idx = dg__alloc(ctx, n ? n : 1, 4);
    uint32_t *idx2 = dg__alloc(ctx, n ? n : 1, 4);
    uint64_t *cnt = dg__calloc(ctx, 65536 > nc + 1 ? 65536 : (size_t)nc + 1, 8);
    dg_status st = DG_OK;
    if (!key || !key2 || !idx || !idx2 || !cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    if (n > UINT32_MAX) {
        st = dg__fail(ctx, DG_ERANGE, "too many detections (%llu)",
                      (unsigned long long)n);
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        key[i] = dg__score_key(score[i]);
        idx[i] = (uint32_t)i;
    }
    /* Stable, so equal scores keep index order. */
    dg__radix_sort_keys(&key, &idx, &key2, &idx2, cnt, n);

    /* Stable counting sort by class. */
    r->class_off = dg__calloc(ctx, (size_t)nc + 1, 8);
    r->order = dg__alloc(ctx, n ? n : 1, 4);
    r->score = dg__alloc(ctx, n ? n : 1, 8);
    if (!r->class_off || !r->order || !r->score) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (cls[i] >= nc) {
            st = dg__fail(ctx, DG_EFORMAT, "detection %llu: class %u out of "
                          "range", (unsigned long long)i, cls[i]);
            goto out;
        }
        r->class_off[cls[i] + 1]++;
    }
    for (uint32_t c = 0; c < nc; c++)
        r->class_off[c + 1] += r->class_off[c];
    memcpy(cnt, r->class_off, (size_t)nc * 8);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t d = idx[i];
        uint64_t o = cnt[cls[d]]++;
        r->order[o] = d;
        r->score[o] = score[d];
    }
    r->n_det = n;
out:
    free(key);
    free(key2);
    free(idx);
    free(idx2);
    free(cnt);
    return st;
}

/*
 * r->class_off, r->order and r->score exactly as dg__order_dets computes
 * them (class ascending, score descending, record ascending), from the
 * class and score columns alone and in less memory: a stable counting sort
 * by class first, then a stable radix sort of each class's scores, whose
 * scratch is sized by the largest class. Peak: about 20 bytes a detection
 * plus 24 a detection of the largest class, against 48 for the whole-set
 * radix sort.
 */
dg_status dg__order_columns(dg_ctx *ctx, dg_results_tables *r, dg_project *p,
                            uint32_t which, uint64_t n)
{
    uint32_t nc = r->n_classes;
    uint32_t *cls = NULL, *idx = NULL, *idx2 = NULL;
    double *sc = NULL;
    uint64_t *key = NULL, *key2 = NULL, *cnt = NULL;
    int own_cls = 0, own_sc = 0;
    dg_status st;
    if (n > UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many detections (%llu)",
                        (unsigned long long)n);
    r->class_off = dg__calloc(ctx, (size_t)nc + 1, 8);
    r->order = dg__alloc(ctx, n ? n : 1, 4);
    if (!r->class_off || !r->order)
        return DG_ENOMEM;
    if ((st = dg__project_det_column(ctx, p, which, "class", (void **)&cls,
                                    &own_cls)) < 0)
        goto out;
    for (uint64_t i = 0; i < n; i++) {
        if (cls[i] >= nc) {
            st = dg__fail(ctx, DG_EFORMAT, "detection %llu: class %u out of "
                          "range", (unsigned long long)i, cls[i]);
            goto out;
        }
        r->class_off[cls[i] + 1]++;
    }
    uint64_t m_max = 0;
    for (uint32_t c = 0; c < nc; c++) {
        uint64_t m = r->class_off[c + 1];
        if (m > m_max)
            m_max = m;
        r->class_off[c + 1] += r->class_off[c];
    }
    cnt = dg__alloc(ctx, 65536 > (size_t)nc + 1 ? 65536 : (size_t)nc + 1, 8);
    if (!cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    memcpy(cnt, r->class_off, (size_t)nc * 8);
    for (uint64_t i = 0; i < n; i++)
        r->order[cnt[cls[i]]++] = (uint32_t)i;
    if (own_cls)
        free(cls);
    cls = NULL;
    if ((st = dg__project_det_column(ctx, p, which, "score", (void **)&sc,
                                    &own_sc)) <
        0)
        goto out;
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(sc[i])) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /inferences/%s record %llu: field 'score': "
                          "invalid value %g",
                          dg__project_path(p),
                          dg_project_inference_name(p, which),
                          (unsigned long long)i, sc[i]);
            goto out;
        }
    r->score = dg__alloc(ctx, n ? n : 1, 8);
    key = dg__alloc(ctx, m_max ? m_max : 1, 8);
    key2 = dg__alloc(ctx, m_max ? m_max : 1, 8);
    idx = dg__alloc(ctx, m_max ? m_max : 1, 4);
    idx2 = dg__alloc(ctx, m_max ? m_max : 1, 4);
    if (!r->score || !key || !key2 || !idx || !idx2) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < nc; c++) {
        uint64_t a = r->class_off[c], m = r->class_off[c + 1] - a;
        uint32_t *seg = r->order + a;
        for (uint64_t k = 0; k < m; k++) {
            key[k] = dg__score_key(sc[seg[k]]);
            idx[k] = seg[k];
        }
        /* Stable, so equal scores keep record order (the segment is in
         * record order). */
        dg__radix_sort_keys(&key, &idx, &key2, &idx2, cnt, m);
        for (uint64_t k = 0; k < m; k++) {
            seg[k] = idx[k];
            r->score[a + k] = sc[idx[k]];
        }
    }
    r->n_det = n;
out:
    if (own_cls)
        free(cls);
    if (own_sc)
        free(sc);
    free(key);
    free(key2);
    free(idx);
    free(idx2);
    free(cnt);
    return st;
}

