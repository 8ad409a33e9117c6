/*
 * The run-length deflate encoder (deflate_runs.h).
 *
 * A segment of the input is first cut into tokens (a literal byte, or a
 * run: "repeat the previous byte L times", 3 <= L <= 258, distance 1),
 * counting symbol frequencies; then its block is written with Huffman
 * codes built from those counts (length-limited by halving the counts
 * until the longest code fits), or as stored blocks when that is smaller.
 * Bits go out least significant first through a 64-bit accumulator.
 */
#include <stdlib.h>
#include <string.h>

#include "deflate_runs.h"

#define SEG ((size_t)256 << 10) /* input bytes per block */
#define STORED_MAX 65535u       /* bytes per stored block */
#define NLIT 286                /* literal/length symbols */
#define NCL 19                  /* code-length symbols */
#define MAXRUN 258

struct dg_deflate_scratch {
    uint16_t tok[SEG]; /* < 256 a literal, else 256 + run length */
    uint8_t len_sym[MAXRUN + 1]; /* run length -> length code - 257 */
};

/* RFC 1951 3.2.5: the length codes 257..285. */
static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,
                                      11, 13, 15, 17,  19,  23,  27,  31,
                                      35, 43, 51, 59,  67,  83,  99,  115,
                                      131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                                      1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                      4, 4, 4, 4, 5, 5, 5, 5, 0};
/* RFC 1951 3.2.7: the order the code-length code's lengths are sent in. */
static const uint8_t cl_order[NCL] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};

dg_deflate_scratch *dg__deflate_scratch_new(void)
{
    dg_deflate_scratch *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    for (unsigned c = 0; c < 29; c++) {
        unsigned hi = c == 28 ? MAXRUN : len_base[c] + (1u << len_extra[c]) - 1;
        if (c == 27)
            hi = 257; /* 227 + 31 would be 258, which has its own code */
        for (unsigned l = len_base[c]; l <= hi; l++)
            s->len_sym[l] = (uint8_t)c;
    }
    return s;
}

void dg__deflate_scratch_free(dg_deflate_scratch *s)
{
    free(s);
}

/* ---- Adler-32 ---------------------------------------------------------- */

#define ADLER_BASE 65521u
#define ADLER_NMAX 5552u /* bytes whose sums fit 32 bits */

uint32_t dg__adler32(uint32_t adler, const uint8_t *p, size_t len)
{
    uint64_t a = adler & 0xffff, b = adler >> 16;
    while (len) {
        uint32_t n = len < ADLER_NMAX ? (uint32_t)len : ADLER_NMAX;
        uint32_t s1 = 0, s2 = 0;
        /* After n bytes: a + sum p[k], b + n a + sum (n - k) p[k]. */
        for (uint32_t k = 0; k < n; k++) {
            s1 += p[k];
            s2 += (n - k) * (uint32_t)p[k];
        }
        b = (b + n * a + s2) % ADLER_BASE;
        a = (a + s1) % ADLER_BASE;
        p += n;
        len -= n;
    }
    return (uint32_t)(b << 16 | a);
}

/* ---- Huffman codes --------------------------------------------------------- */

/*
 * Huffman code lengths for the n symbols of f (at least two non-zero;
 * zero-count symbols get length 0); returns the longest.
 */
static unsigned huff_build(const uint32_t *f, unsigned n, uint8_t *len)
{
    uint32_t w[2 * NLIT];
    uint16_t sym[NLIT], parent[2 * NLIT];
    uint8_t depth[2 * NLIT];
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        len[i] = 0;
        if (!f[i])
            continue;
        /* Insertion by (count, symbol): at most 286 symbols. */
        unsigned k = m++;
        while (k > 0 && f[sym[k - 1]] > f[i]) {
            sym[k] = sym[k - 1];
            k--;
        }
        sym[k] = (uint16_t)i;
    }
    for (unsigned k = 0; k < m; k++)
        w[k] = f[sym[k]];
    /* Two queues: the sorted leaves and the internal nodes, whose weights
     * come out in order. */
    unsigned li = 0, ii = m, next = m;
    while (next < 2 * m - 1) {
        unsigned pick[2];
        for (int t = 0; t < 2; t++) {
            if (li < m && (ii >= next || w[li] <= w[ii]))
                pick[t] = li++;
            else
                pick[t] = ii++;
        }
        w[next] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)next;
        next++;
    }
    unsigned max = 0;
    depth[2 * m - 2] = 0;
    for (unsigned k = 2 * m - 2; k-- > 0;) {
        depth[k] = (uint8_t)(depth[parent[k]] + 1);
        if (k < m) {
            len[sym[k]] = depth[k];
            if (depth[k] > max)
                max = depth[k];
        }
    }
    return max;
}

/* Lengths of at most limit bits: the counts are halved until they fit. */
static void huff_lengths(const uint32_t *freq, unsigned n, unsigned limit,
                         uint8_t *len)
{
    uint32_t f[NLIT];
    unsigned used = 0;
    for (unsigned i = 0; i < n; i++)
        used += (f[i] = freq[i]) != 0;
    /* A code needs two symbols: a second one is given a code it never
     * uses. */
    for (unsigned i = 0; used < 2 && i < n; i++)
        if (!f[i]) {
            f[i] = 1;
            used++;
        }
    while (huff_build(f, n, len) > limit)
        for (unsigned i = 0; i < n; i++)
            if (f[i])
                f[i] = (f[i] + 1) / 2;
}

/* The canonical codes of RFC 1951 3.2.2, bit-reversed for LSB-first
 * output. */
static void huff_codes(const uint8_t *len, unsigned n, uint16_t *code)
{
    unsigned count[16] = {0}, next[16];
    for (unsigned i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    unsigned c = 0;
    for (unsigned b = 1; b < 16; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!len[i])
            continue;
        unsigned v = next[len[i]]++, r = 0;
        for (unsigned b = 0; b < len[i]; b++)
            r |= ((v >> b) & 1u) << (len[i] - 1 - b);
        code[i] = (uint16_t)r;
    }
}

/* ---- bits -------------------------------------------------------------- */

typedef struct bits {
    uint8_t *p;
    uint64_t acc;
    unsigned n;
} bits;

/* n <= 32 bits; the caller has made sure they fit. */
static inline void put(bits *w, uint64_t v, unsigned n)
{
    w->acc |= v << w->n;
    w->n += n;
    if (w->n >= 32) {
        uint32_t x = (uint32_t)w->acc;
        w->p[0] = (uint8_t)x;
        w->p[1] = (uint8_t)(x >> 8);
        w->p[2] = (uint8_t)(x >> 16);
        w->p[3] = (uint8_t)(x >> 24);
        w->p += 4;
        w->acc >>= 32;
        w->n -= 32;
    }
}

/* Pads to a byte boundary and flushes what is held. */
static void align(bits *w)
{
    while (w->n > 0) {
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->n = w->n >= 8 ? w->n - 8 : 0;
    }
    w->acc = 0;
}

/* ---- tokens ------------------------------------------------------------ */

/* How many of the first lim bytes of q equal c. */
static size_t run_len(const uint8_t *q, uint8_t c, size_t lim)
{
    size_t r = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    defined(__GNUC__)
    uint64_t pat = 0x0101010101010101ull * c;
    while (r + 8 <= lim) {
        uint64_t v;
        memcpy(&v, q + r, 8);
        uint64_t x = v ^ pat;
        if (x)
            return r + ((unsigned)__builtin_ctzll(x) >> 3);
        r += 8;
    }
#endif
    while (r < lim && q[r] == c)
        r++;
    return r;
}

/* The Adler-32 sums, reduced every ADLER_EVERY tokens: a token adds at
 * most 258 * 255 to a and 258 * a + 255 * 258 * 259 / 2 to b, so both
 * stay far within 64 bits between reductions. */
typedef struct adler {
    uint64_t a, b;
} adler;
#define ADLER_EVERY 4096u

/*
 * Tokens of src[s, e) (src[s - 1] is the byte before, when s > 0), their
 * symbol counts, extra bits and runs; the Adler-32 sums are carried along
 * (a run of L bytes c: a += L c, b += L a + c L (L + 1) / 2).
 */
static size_t tokenize(dg_deflate_scratch *S, const uint8_t *src, size_t s,
                       size_t e, uint32_t *lf, uint64_t *extra,
                       uint32_t *runs, adler *ad)
{
    uint16_t *tok = S->tok;
    size_t nt = 0, i = s;
    uint64_t xb = 0, a = ad->a, b = ad->b;
    uint32_t nr = 0;
    if (i == 0 && e > 0) {
        tok[nt++] = src[0];
        lf[src[0]]++;
        a += src[0];
        b += a;
        i = 1;
    }
    while (i < e) {
        if ((nt & (ADLER_EVERY - 1)) == 0) {
            a %= ADLER_BASE;
            b %= ADLER_BASE;
        }
        uint8_t c = src[i - 1];
        if (src[i] != c) {
            tok[nt++] = src[i];
            lf[src[i]]++;
            a += src[i];
            b += a;
            i++;
            continue;
        }
        size_t lim = e - i < MAXRUN ? e - i : MAXRUN;
        size_t r = run_len(src + i, c, lim);
        if (r >= 3) {
            unsigned sy = S->len_sym[r];
            tok[nt++] = (uint16_t)(256 + r);
            lf[257 + sy]++;
            xb += len_extra[sy];
            nr++;
            b += r * a + (uint64_t)c * (r * (r + 1) / 2);
            a += r * (uint64_t)c;
            i += r;
        } else {
            tok[nt++] = c;
            lf[c]++;
            a += c;
            b += a;
            i++;
        }
    }
    ad->a = a % ADLER_BASE;
    ad->b = b % ADLER_BASE;
    *extra = xb;
    *runs = nr;
    return nt;
}

/* ---- blocks ------------------------------------------------------------ */

/* The code-length sequence of a dynamic block: symbols and extra bits. */
typedef struct clseq {
    uint8_t sym[NLIT + 2], xv[NLIT + 2];
    unsigned n;
} clseq;

static void cl_add(clseq *q, unsigned sym, unsigned xv)
{
    q->sym[q->n] = (uint8_t)sym;
    q->xv[q->n] = (uint8_t)xv;
    q->n++;
}

/* The lengths l[0..n) with the repeat codes 16, 17 and 18. */
static void cl_encode(const uint8_t *l, unsigned n, clseq *q)
{
    q->n = 0;
    for (unsigned i = 0; i < n;) {
        unsigned v = l[i], r = 1;
        while (i + r < n && l[i + r] == v)
            r++;
        i += r;
        if (v == 0) {
            while (r >= 11) {
                unsigned k = r < 138 ? r : 138;
                cl_add(q, 18, k - 11);
                r -= k;
            }
            if (r >= 3) {
                cl_add(q, 17, r - 3);
                r = 0;
            }
        } else {
            cl_add(q, v, 0);
            r--;
            while (r >= 3) {
                unsigned k = r < 6 ? r : 6;
                cl_add(q, 16, k - 3);
                r -= k;
            }
        }
        while (r--)
            cl_add(q, v, 0);
    }
}

static const uint8_t cl_xbits[NCL] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 2, 3, 7};

/* Bits of stored blocks holding m bytes, from a position `at` bits into
 * a byte. */
static uint64_t stored_bits(size_t m, unsigned at)
{
    uint64_t blocks = m ? (m + STORED_MAX - 1) / STORED_MAX : 1;
    /* The first header pads from `at`; the others start aligned. */
    uint64_t first = 3 + ((8 - (at + 3) % 8) % 8);
    return first + (blocks - 1) * 8 + blocks * 32 + 8 * (uint64_t)m;
}

static void put_stored(bits *w, const uint8_t *p, size_t m, int final)
{
    do {
        size_t k = m < STORED_MAX ? m : STORED_MAX;
        put(w, (final && k == m) ? 1 : 0, 1);
        put(w, 0, 2);
        align(w);
        w->p[0] = (uint8_t)k;
        w->p[1] = (uint8_t)(k >> 8);
        w->p[2] = (uint8_t)~k;
        w->p[3] = (uint8_t)(~k >> 8);
        memcpy(w->p + 4, p, k);
        w->p += 4 + k;
        p += k;
        m -= k;
    } while (m);
}

int dg__deflate_runs(dg_deflate_scratch *S, const uint8_t *src, size_t n,
                     size_t block, uint8_t *dst, size_t cap, size_t *got)
{
    if (block == 0 || block > SEG)
        block = SEG;
    if (cap < 2 + 4 + 5)
        return -1;
    /* Header 0x78 0x01: deflate, 32 KiB window, the fastest level. */
    dst[0] = 0x78;
    dst[1] = 0x01;
    bits w = {dst + 2, 0, 0};
    const uint8_t *end = dst + cap - 4; /* the Adler-32 goes after */
    adler sums = {1, 0};
    if (n == 0) {
        put_stored(&w, src, 0, 1);
    }
    for (size_t s = 0; s < n; s += block) {
        size_t e = n - s < block ? n : s + block;
        int final = e == n;
        uint32_t lf[NLIT] = {0};
        uint64_t xb;
        uint32_t nr;
        size_t nt = tokenize(S, src, s, e, lf, &xb, &nr, &sums);
        lf[256] = 1;
        uint8_t ll[NLIT], cll[NCL];
        uint16_t lc[NLIT], clc[NCL];
        huff_lengths(lf, NLIT, 15, ll);
        unsigned hlit = NLIT;
        while (hlit > 257 && !ll[hlit - 1])
            hlit--;
        /* The distance code: two codes of one bit, only the first
         * (distance 1) used. */
        uint8_t seq[NLIT + 2];
        memcpy(seq, ll, hlit);
        seq[hlit] = seq[hlit + 1] = 1;
        clseq q;
        cl_encode(seq, hlit + 2, &q);
        uint32_t cf[NCL] = {0};
        for (unsigned k = 0; k < q.n; k++)
            cf[q.sym[k]]++;
        huff_lengths(cf, NCL, 7, cll);
        unsigned hclen = NCL;
        while (hclen > 4 && !cll[cl_order[hclen - 1]])
            hclen--;
        uint64_t cost = 3 + 5 + 5 + 4 + 3 * (uint64_t)hclen + xb + nr;
        for (unsigned k = 0; k < NCL; k++)
            cost += (uint64_t)cf[k] * (cll[k] + cl_xbits[k]);
        for (unsigned k = 0; k < NLIT; k++)
            cost += (uint64_t)lf[k] * ll[k];
        uint64_t sb = stored_bits(e - s, w.n % 8);
        /* Both counts are exact: the bytes this block ends in. */
        uint64_t need = (sb <= cost + cost / 16 ? sb : cost) + w.n;
        if ((uint64_t)(end - w.p) < (need + 7) / 8)
            return -1;
        /* Stored unless the codes save a sixteenth: stored bytes inflate
         * at the speed of a copy, coded ones several times slower. */
        if (sb <= cost + cost / 16) { /* the tokens took the sums */
            put_stored(&w, src + s, e - s, final);
            continue;
        }
        huff_codes(ll, NLIT, lc);
        huff_codes(cll, NCL, clc);
        put(&w, (unsigned)final | 2u << 1, 3);
        put(&w, hlit - 257, 5);
        put(&w, 1, 5); /* two distance codes */
        put(&w, hclen - 4, 4);
        for (unsigned k = 0; k < hclen; k++)
            put(&w, cll[cl_order[k]], 3);
        for (unsigned k = 0; k < q.n; k++) {
            unsigned sy = q.sym[k];
            put(&w, clc[sy], cll[sy]);
            if (cl_xbits[sy])
                put(&w, q.xv[k], cl_xbits[sy]);
        }
        const uint16_t *tok = S->tok;
        for (size_t k = 0; k < nt; k++) {
            unsigned t = tok[k];
            if (t < 256) {
                put(&w, lc[t], ll[t]);
            } else {
                unsigned r = t - 256, sy = S->len_sym[r];
                unsigned c = 257 + sy, xbits = len_extra[sy];
                /* code, extra bits, then distance code 0 (a 0 bit) */
                uint64_t v = lc[c] | (uint64_t)(r - len_base[sy]) << ll[c];
                put(&w, v, ll[c] + xbits + 1u);
            }
        }
        put(&w, lc[256], ll[256]);
    }
    align(&w);
    uint32_t ad = (uint32_t)(sums.b << 16 | sums.a);
    w.p[0] = (uint8_t)(ad >> 24);
    w.p[1] = (uint8_t)(ad >> 16);
    w.p[2] = (uint8_t)(ad >> 8);
    w.p[3] = (uint8_t)ad;
    *got = (size_t)(w.p + 4 - dst);
    return 0;
}
