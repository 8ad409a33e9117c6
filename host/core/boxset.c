/*
 * Columnar box sets: growth, stable sort by frame, fingerprints.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void dg__boxset_init(dg_boxset *b)
{
    memset(b, 0, sizeof(*b));
}

void dg__boxset_release(dg_boxset *b)
{
    free(b->frame);
    free(b->cls);
    free(b->x);
    free(b->y);
    free(b->w);
    free(b->h);
    free(b->score);
    free(b->area);
    free(b->iscrowd);
    free(b->ignore);
    free(b->frame_off);
    memset(b, 0, sizeof(*b));
}

dg_status dg__boxset_reserve(dg_ctx *ctx, dg_boxset *b, int kind,
                             uint64_t more)
{
    uint64_t need = b->n + more;
    if (need <= b->cap && (b->frame || need == 0))
        return DG_OK;
    uint64_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap += cap / 2 + 64;
    if (cap > (uint64_t)SIZE_MAX / 8)
        return dg__fail(ctx, DG_ENOMEM, "too many boxes (%llu)",
                        (unsigned long long)need);
    size_t n = (size_t)cap;
    if (dg__grow((void **)&b->frame, n, 4) ||
        dg__grow((void **)&b->cls, n, 4) || dg__grow((void **)&b->x, n, 8) ||
        dg__grow((void **)&b->y, n, 8) || dg__grow((void **)&b->w, n, 8) ||
        dg__grow((void **)&b->h, n, 8))
        goto oom;
    if (kind == DG_BOXES_DETS || b->score) {
        if (dg__grow((void **)&b->score, n, 8))
            goto oom;
    }
    if (kind == DG_BOXES_LABELS || b->area) {
        if (dg__grow((void **)&b->area, n, 8) ||
            dg__grow((void **)&b->iscrowd, n, 1) ||
            dg__grow((void **)&b->ignore, n, 1))
            goto oom;
    }
    b->cap = cap;
    return DG_OK;
oom:
    return dg__fail(ctx, DG_ENOMEM, "out of memory growing a box set to %llu",
                    (unsigned long long)cap);
}

void dg__boxset_push(dg_boxset *b, uint32_t frame, uint32_t cls, double x,
                     double y, double w, double h, double score, double area,
                     uint8_t iscrowd, uint8_t ignore)
{
    uint64_t i = b->n++;
    b->frame[i] = frame;
    b->cls[i] = cls;
    b->x[i] = x;
    b->y[i] = y;
    b->w[i] = w;
    b->h[i] = h;
    if (b->score)
        b->score[i] = score;
    if (b->area) {
        b->area[i] = area;
        b->iscrowd[i] = iscrowd;
        b->ignore[i] = ignore;
    }
}

#define PERMUTE(col, type)                                                    \
    do {                                                                      \
        if (b->col) {                                                         \
            type *t_ = dg__alloc(ctx, b->n, sizeof(type));                    \
            if (!t_)                                                          \
                goto oom;                                                     \
            for (uint64_t k_ = 0; k_ < b->n; k_++)                            \
                t_[k_] = b->col[perm[k_]];                                    \
            free(b->col);                                                     \
            b->col = t_;                                                      \
        }                                                                     \
    } while (0)

dg_status dg__boxset_sort_by_frame(dg_ctx *ctx, dg_boxset *b,
                                   uint32_t n_frames)
{
    uint64_t *off = dg__calloc(ctx, (size_t)n_frames + 2, sizeof(*off));
    uint64_t *perm = NULL;
    if (!off)
        return DG_ENOMEM;
    int sorted = 1;
    for (uint64_t i = 0; i < b->n; i++) {
        if (b->frame[i] >= n_frames) {
            free(off);
            return dg__fail(ctx, DG_EFORMAT,
                            "box %llu: frame index %u out of range (%u frames)",
                            (unsigned long long)i, b->frame[i], n_frames);
        }
        if (i && b->frame[i] < b->frame[i - 1])
            sorted = 0;
        off[b->frame[i] + 1]++;
    }
    for (uint32_t f = 0; f < n_frames; f++)
        off[f + 1] += off[f];
    if (!sorted) {
        /* Counting sort: stable, so input order is kept within a frame. */
        perm = dg__alloc(ctx, b->n, sizeof(*perm));
        uint64_t *next = dg__alloc(ctx, (size_t)n_frames + 1, sizeof(*next));
        if (!perm || !next) {
            free(next);
            goto oom;
        }
        memcpy(next, off, (size_t)n_frames * sizeof(*next));
        for (uint64_t i = 0; i < b->n; i++)
            perm[next[b->frame[i]]++] = i;
        free(next);
        PERMUTE(frame, uint32_t);
        PERMUTE(cls, uint32_t);
        PERMUTE(x, double);
        PERMUTE(y, double);
        PERMUTE(w, double);
        PERMUTE(h, double);
        PERMUTE(score, double);
        PERMUTE(area, double);
        PERMUTE(iscrowd, uint8_t);
        PERMUTE(ignore, uint8_t);
        free(perm);
    }
    free(b->frame_off);
    b->frame_off = off;
    return DG_OK;
oom:
    free(perm);
    free(off);
    return DG_ENOMEM;
}

uint64_t dg__fnv_words(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, c + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t dg__boxset_fingerprint(const dg_boxset *b)
{
    uint64_t h = 14695981039346656037ULL;
    h = dg__fnv_words(h, &b->n, sizeof(b->n));
    if (!b->n)
        return h;
    h = dg__fnv_words(h, b->frame, b->n * 4);
    h = dg__fnv_words(h, b->cls, b->n * 4);
    h = dg__fnv_words(h, b->x, b->n * 8);
    h = dg__fnv_words(h, b->y, b->n * 8);
    h = dg__fnv_words(h, b->w, b->n * 8);
    h = dg__fnv_words(h, b->h, b->n * 8);
    if (b->score)
        h = dg__fnv_words(h, b->score, b->n * 8);
    if (b->area) {
        h = dg__fnv_words(h, b->area, b->n * 8);
        h = dg__fnv_words(h, b->iscrowd, b->n);
        h = dg__fnv_words(h, b->ignore, b->n);
    }
    return h;
}

uint32_t dg__frame_runs(const uint64_t *doff, const uint64_t *goff,
                        uint32_t lo, uint32_t hi, uint64_t target,
                        uint32_t *cuts)
{
    uint32_t n = 0;
    cuts[n++] = lo;
    for (uint32_t f = lo; f < hi;) {
        uint32_t g = f + 1;
        while (g < hi &&
               doff[g + 1] - doff[f] + goff[g + 1] - goff[f] <= target)
            g++;
        cuts[n++] = g;
        f = g;
    }
    return n;
}
