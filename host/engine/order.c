/*
 * Ordering: the sort results keep detections in, by class, then
 * descending score, then inference-set order; every query's binary search
 * and every prefix count rest on it. Matching writes each detection's
 * outcomes straight to its place in this order (pos), so there is no
 * permutation of the tables afterwards.
 *
 * A stable counting sort by class, then each class's scores sorted on its
 * own, the classes shared among ctx's threads: a radix sort of the score
 * keys for large classes, a merge sort for small ones (a 16-bit radix pass
 * clears 64 Ki counters, which small classes do not repay).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"

#define RADIX_MIN 65536

typedef struct sorter {
    uint32_t nc;
    const uint64_t *class_off;
    uint32_t *order;     /* in: by class, record order; out: sorted */
    double *score_out;   /* sorted scores */
    uint32_t *pos;       /* sorted position of each record, or NULL */
    const double *score; /* by record */
    /* Per worker scratch of the largest class. */
    uint64_t **key, **key2, **cnt;
    uint32_t **idx, **idx2;
    uint64_t m_max;
    atomic_int failed;
} sorter;

/* Stable merge sort of (key, idx) pairs ascending by key. */
static void merge_sort(uint64_t *k, uint32_t *v, uint64_t *k2, uint32_t *v2,
                       uint64_t n)
{
    if (n <= 16) {
        for (uint64_t i = 1; i < n; i++) {
            uint64_t kk = k[i];
            uint32_t vv = v[i];
            uint64_t j = i;
            while (j > 0 && k[j - 1] > kk) {
                k[j] = k[j - 1];
                v[j] = v[j - 1];
                j--;
            }
            k[j] = kk;
            v[j] = vv;
        }
        return;
    }
    uint64_t h = n / 2;
    merge_sort(k, v, k2, v2, h);
    merge_sort(k + h, v + h, k2, v2, n - h);
    if (k[h - 1] <= k[h])
        return;
    memcpy(k2, k, h * sizeof(*k));
    memcpy(v2, v, h * sizeof(*v));
    uint64_t i = 0, j = h, o = 0;
    while (i < h && j < n) {
        if (k[j] < k2[i]) {
            k[o] = k[j];
            v[o++] = v[j++];
        } else {
            k[o] = k2[i];
            v[o++] = v2[i++];
        }
    }
    while (i < h) {
        k[o] = k2[i];
        v[o++] = v2[i++];
    }
}

static void sort_class(void *arg, uint64_t c, unsigned w)
{
    sorter *s = arg;
    uint64_t a = s->class_off[c], m = s->class_off[c + 1] - a;
    if (!m)
        return;
    if (!s->key[w]) {
        uint64_t mm = s->m_max;
        s->key[w] = malloc(mm * 8);
        s->key2[w] = malloc(mm * 8);
        s->idx[w] = malloc(mm * 4);
        s->idx2[w] = malloc(mm * 4);
        s->cnt[w] = mm >= RADIX_MIN ? malloc(65536 * 8) : NULL;
        if (!s->key[w] || !s->key2[w] || !s->idx[w] || !s->idx2[w] ||
            (mm >= RADIX_MIN && !s->cnt[w])) {
            atomic_store(&s->failed, 1);
            return;
        }
    }
    uint32_t *seg = s->order + a;
    uint64_t *key = s->key[w], *key2 = s->key2[w];
    uint32_t *idx = s->idx[w], *idx2 = s->idx2[w];
    for (uint64_t k = 0; k < m; k++) {
        key[k] = dg__score_key(s->score[seg[k]]);
        idx[k] = seg[k];
    }
    /* Stable: equal scores keep record order (the segment is in record
     * order). */
    if (m >= RADIX_MIN) {
        dg__radix_sort_keys(&key, &idx, &key2, &idx2, s->cnt[w], m);
        /* The passes swap the buffers: keep the worker's four. */
        s->key[w] = key;
        s->key2[w] = key2;
        s->idx[w] = idx;
        s->idx2[w] = idx2;
    } else {
        merge_sort(key, idx, key2, idx2, m);
    }
    for (uint64_t k = 0; k < m; k++) {
        seg[k] = idx[k];
        s->score_out[a + k] = s->score[idx[k]];
        if (s->pos)
            s->pos[idx[k]] = (uint32_t)(a + k);
    }
}

/* class_off (nc + 1) and order by class, record order within a class;
 * *m_max: the largest class. Classes are checked. */
static dg_status by_class(dg_ctx *ctx, uint32_t nc, uint64_t n,
                          const uint32_t *cls, uint64_t *class_off,
                          uint32_t *order, uint64_t *m_max)
{
    if (n > UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many detections (%llu)",
                        (unsigned long long)n);
    memset(class_off, 0, ((size_t)nc + 1) * 8);
    for (uint64_t i = 0; i < n; i++) {
        if (cls[i] >= nc)
            return dg__fail(ctx, DG_EFORMAT,
                            "detection %llu: class %u out of range",
                            (unsigned long long)i, cls[i]);
        class_off[cls[i] + 1]++;
    }
    *m_max = 0;
    for (uint32_t c = 0; c < nc; c++) {
        if (class_off[c + 1] > *m_max)
            *m_max = class_off[c + 1];
        class_off[c + 1] += class_off[c];
    }
    uint64_t *next = dg__alloc(ctx, nc ? nc : 1, 8);
    if (!next)
        return DG_ENOMEM;
    memcpy(next, class_off, (size_t)nc * 8);
    for (uint64_t i = 0; i < n; i++)
        order[next[cls[i]]++] = (uint32_t)i;
    free(next);
    return DG_OK;
}

/* Each class's segment of order by descending score, on ctx's threads;
 * score_out and, unless NULL, pos with it. */
static dg_status by_score(dg_ctx *ctx, uint32_t nc, const uint64_t *class_off,
                          uint64_t m_max, const double *score,
                          uint32_t *order, double *score_out, uint32_t *pos)
{
    sorter s;
    memset(&s, 0, sizeof(s));
    s.nc = nc;
    s.class_off = class_off;
    s.order = order;
    s.score_out = score_out;
    s.pos = pos;
    s.score = score;
    s.m_max = m_max;
    atomic_init(&s.failed, 0);
    unsigned team = dg__team(ctx, nc, 0);
    s.key = dg__calloc(ctx, team, sizeof(*s.key));
    s.key2 = dg__calloc(ctx, team, sizeof(*s.key2));
    s.cnt = dg__calloc(ctx, team, sizeof(*s.cnt));
    s.idx = dg__calloc(ctx, team, sizeof(*s.idx));
    s.idx2 = dg__calloc(ctx, team, sizeof(*s.idx2));
    dg_status st = DG_OK;
    if (!s.key || !s.key2 || !s.cnt || !s.idx || !s.idx2)
        st = DG_ENOMEM;
    else
        dg__parallel(ctx, nc, team, sort_class, &s);
    if (st >= 0 && atomic_load(&s.failed))
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
    for (unsigned w = 0; w < team && s.key; w++) {
        free(s.key[w]);
        free(s.key2[w]);
        free(s.cnt[w]);
        free(s.idx[w]);
        free(s.idx2[w]);
    }
    free(s.key);
    free(s.key2);
    free(s.cnt);
    free(s.idx);
    free(s.idx2);
    return st;
}

static dg_status alloc_order(dg_ctx *ctx, dg_results_tables *r, uint64_t n)
{
    r->class_off = dg__calloc(ctx, (size_t)r->n_classes + 1, 8);
    r->order = dg__alloc(ctx, n ? n : 1, 4);
    r->score = dg__alloc(ctx, n ? n : 1, 8);
    return r->class_off && r->order && r->score ? DG_OK : DG_ENOMEM;
}

dg_status dg__order_dets(dg_ctx *ctx, dg_results_tables *r, uint64_t n,
                         const uint32_t *cls, const double *score,
                         uint32_t *pos)
{
    uint64_t m_max;
    dg_status st;
    if ((st = alloc_order(ctx, r, n)) < 0 ||
        (st = by_class(ctx, r->n_classes, n, cls, r->class_off, r->order,
                       &m_max)) < 0 ||
        (st = by_score(ctx, r->n_classes, r->class_off, m_max, score,
                       r->order, r->score, pos)) < 0)
        return st;
    r->n_det = n;
    return DG_OK;
}

dg_status dg__order_columns(dg_ctx *ctx, dg_results_tables *r, dg_project *p,
                            uint32_t which, uint64_t n, uint32_t *pos)
{
    uint32_t *cls = NULL;
    double *sc = NULL;
    int own_cls = 0, own_sc = 0;
    uint64_t m_max = 0;
    dg_status st;
    /* The class column goes before the score column comes, to keep the
     * peak low. */
    if ((st = alloc_order(ctx, r, n)) < 0 ||
        (st = dg__project_det_column(ctx, p, which, "class", (void **)&cls,
                                    &own_cls)) < 0 ||
        (st = by_class(ctx, r->n_classes, n, cls, r->class_off, r->order,
                       &m_max)) < 0)
        goto out;
    if (own_cls)
        free(cls);
    own_cls = 0;
    if ((st = dg__project_det_column(ctx, p, which, "score", (void **)&sc,
                                    &own_sc)) < 0)
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
    if ((st = by_score(ctx, r->n_classes, r->class_off, m_max, sc, r->order,
                       r->score, pos)) >= 0)
        r->n_det = n;
out:
    if (own_cls)
        free(cls);
    if (own_sc)
        free(sc);
    return st;
}
