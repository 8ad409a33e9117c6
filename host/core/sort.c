/*
 * Sorting helpers shared by the engine and the queries: a stable radix
 * sort of 64-bit keys with their indices, and the search of a descending
 * score column.
 */
#include "core.h"

void dg__radix_sort_keys(uint64_t **key, uint32_t **idx, uint64_t **key2,
                         uint32_t **idx2, uint64_t *cnt, uint64_t n)
{
    uint64_t *k1 = *key, *k2 = *key2;
    uint32_t *i1 = *idx, *i2 = *idx2;
    /* LSD radix, 16 bits a pass: stable, so equal keys keep their order. */
    for (int pass = 0; pass < 4 && n > 1; pass++) {
        int sh = pass * 16;
        memset(cnt, 0, 65536 * 8);
        for (uint64_t i = 0; i < n; i++)
            cnt[(k1[i] >> sh) & 0xffff]++;
        if (cnt[(k1[0] >> sh) & 0xffff] == n)
            continue; /* every key has this digit: nothing moves */
        uint64_t sum = 0;
        for (int b = 0; b < 65536; b++) {
            uint64_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t o = cnt[(k1[i] >> sh) & 0xffff]++;
            k2[o] = k1[i];
            i2[o] = i1[i];
        }
        uint64_t *tk = k1;
        k1 = k2;
        k2 = tk;
        uint32_t *ti = i1;
        i1 = i2;
        i2 = ti;
    }
    *key = k1;
    *key2 = k2;
    *idx = i1;
    *idx2 = i2;
}

uint64_t dg__count_at_least(const double *s, uint64_t n, double conf)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s[mid] >= conf)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
