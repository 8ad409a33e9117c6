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

/* ---- inflating ----------------------------------------------------------- */

/*
 * A table-driven inflater: any zlib stream (stored, fixed and dynamic
 * blocks, any distance), checked as it goes, so that a damaged stream
 * fails rather than overrunning; the caller falls back to zlib on any
 * failure, and zlib's verdict stands.
 */

#define LOOK 11 /* bits a primary table entry decodes */

/* A Huffman code for decoding: the primary table (symbol << 4 | length,
 * 0 when the code is longer than LOOK or unused) and, for the long codes,
 * canonical counts and symbols (RFC 1951's, as zlib's puff.c decodes). */
typedef struct hdec {
    uint16_t look[1u << LOOK];
    uint16_t count[16];
    uint16_t sym[NLIT + 2];
} hdec;

/*
 * Builds h from n lengths: 0, or -1 when they over-subscribe the code or
 * leave it incomplete, which zlib refuses too, but for a code of a single
 * 1-bit length (allowed when `single`: literal and distance codes).
 */
static int hdec_build(hdec *h, const uint8_t *len, unsigned n, int single)
{
    uint16_t offs[16];
    memset(h->count, 0, sizeof(h->count));
    for (unsigned i = 0; i < n; i++)
        h->count[len[i]]++;
    h->count[0] = 0;
    int left = 1, max = 0;
    for (unsigned b = 1; b < 16; b++) {
        left <<= 1;
        left -= h->count[b];
        if (left < 0)
            return -1;
        if (h->count[b])
            max = (int)b;
    }
    if (left > 0 && (!single || max != 1) && max != 0)
        return -1;
    offs[1] = 0;
    for (unsigned b = 1; b < 15; b++)
        offs[b + 1] = (uint16_t)(offs[b] + h->count[b]);
    for (unsigned i = 0; i < n; i++)
        if (len[i])
            h->sym[offs[len[i]]++] = (uint16_t)i;
    memset(h->look, 0, sizeof(h->look));
    unsigned code = 0, k = 0;
    for (unsigned b = 1; b <= LOOK; b++) {
        for (unsigned c = 0; c < h->count[b]; c++, k++, code++) {
            unsigned r = 0;
            for (unsigned x = 0; x < b; x++)
                r |= ((code >> x) & 1u) << (b - 1 - x);
            uint16_t e = (uint16_t)(h->sym[k] << 4 | b);
            for (unsigned f = r; f < (1u << LOOK); f += 1u << b)
                h->look[f] = e;
        }
        code <<= 1;
    }
    return 0;
}

typedef struct bitr {
    const uint8_t *p, *end;
    uint64_t buf;
    unsigned n;
} bitr;

static inline void refill(bitr *r)
{
    if (r->end - r->p >= 8) {
        uint64_t v;
        memcpy(&v, r->p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        r->buf |= v << r->n;
        r->p += (63 - r->n) >> 3;
        r->n |= 56;
        return;
    }
    while (r->n <= 56 && r->p < r->end) {
        r->buf |= (uint64_t)*r->p++ << r->n;
        r->n += 8;
    }
}

/* k <= 32 bits, after a refill; -1 when the stream has run out. */
static inline int64_t take(bitr *r, unsigned k)
{
    if (r->n < k)
        return -1;
    uint64_t v = r->buf & ((1ull << k) - 1);
    r->buf >>= k;
    r->n -= k;
    return (int64_t)v;
}

/* The next symbol of h (refilled: at least 15 bits unless at the end), or
 * -1. */
static inline int decode(bitr *r, const hdec *h)
{
    uint16_t e = h->look[r->buf & ((1u << LOOK) - 1)];
    if (e && (e & 15) <= r->n) {
        r->buf >>= e & 15;
        r->n -= e & 15;
        return e >> 4;
    }
    /* A long code (or too few bits): one bit at a time. */
    int code = 0, first = 0, index = 0;
    for (unsigned b = 1; b < 16; b++) {
        if (!r->n)
            return -1;
        code |= (int)(r->buf & 1);
        r->buf >>= 1;
        r->n--;
        int count = h->count[b];
        if (code - count < first)
            return h->sym[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return -1;
}

static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,   97,   129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* The lengths of a dynamic block's codes into ll (NLIT + 2) and dl (32). */
static int read_dynamic(bitr *r, uint8_t *ll, unsigned *nl, uint8_t *dl,
                        unsigned *nd, hdec *tmp)
{
    refill(r);
    int64_t hl = take(r, 5), hd = take(r, 5), hc = take(r, 4);
    if (hl < 0 || hd < 0 || hc < 0 || hl > 29 || hd > 29)
        return -1;
    unsigned nlit = (unsigned)hl + 257, ndist = (unsigned)hd + 1;
    uint8_t cl[NCL] = {0};
    for (unsigned k = 0; k < (unsigned)hc + 4; k++) {
        refill(r);
        int64_t v = take(r, 3);
        if (v < 0)
            return -1;
        cl[cl_order[k]] = (uint8_t)v;
    }
    if (hdec_build(tmp, cl, NCL, 0) < 0)
        return -1;
    uint8_t lens[NLIT + 32];
    unsigned i = 0, tot = nlit + ndist;
    while (i < tot) {
        refill(r);
        int s = decode(r, tmp);
        if (s < 0)
            return -1;
        if (s < 16) {
            lens[i++] = (uint8_t)s;
            continue;
        }
        unsigned rep, val = 0;
        int64_t x;
        if (s == 16) {
            if (!i || (x = take(r, 2)) < 0)
                return -1;
            val = lens[i - 1];
            rep = 3 + (unsigned)x;
        } else if (s == 17) {
            if ((x = take(r, 3)) < 0)
                return -1;
            rep = 3 + (unsigned)x;
        } else {
            if ((x = take(r, 7)) < 0)
                return -1;
            rep = 11 + (unsigned)x;
        }
        if (i + rep > tot)
            return -1;
        while (rep--)
            lens[i++] = (uint8_t)val;
    }
    if (!lens[256])
        return -1; /* no end of block */
    memcpy(ll, lens, nlit);
    memcpy(dl, lens + nlit, ndist);
    *nl = nlit;
    *nd = ndist;
    return 0;
}

struct dg_inflate_scratch {
    hdec lit, dist, cl;
};

dg_inflate_scratch *dg__inflate_scratch_new(void)
{
    return malloc(sizeof(dg_inflate_scratch));
}

void dg__inflate_scratch_free(dg_inflate_scratch *s)
{
    free(s);
}

int dg__inflate(dg_inflate_scratch *S, const uint8_t *src, size_t n,
                uint8_t *dst, size_t cap)
{
    if (n < 6 || (src[0] & 0x0f) != 8 || (src[0] >> 4) > 7 ||
        ((unsigned)src[0] << 8 | src[1]) % 31 || (src[1] & 0x20))
        return -1;
    bitr r = {src + 2, src + n, 0, 0};
    uint8_t *out = dst, *oend = dst + cap;
    int final = 0;
    while (!final) {
        refill(&r);
        int64_t h = take(&r, 3);
        if (h < 0)
            return -1;
        final = (int)(h & 1);
        unsigned type = (unsigned)(h >> 1);
        if (type == 0) {
            /* Stored: back to the byte the unused bits came from. */
            unsigned drop = r.n & 7;
            r.buf >>= drop;
            r.n -= drop;
            const uint8_t *q = r.p - r.n / 8;
            r.buf = 0;
            r.n = 0;
            if (r.end - q < 4)
                return -1;
            unsigned len = q[0] | (unsigned)q[1] << 8;
            unsigned nlen = q[2] | (unsigned)q[3] << 8;
            if (len != (~nlen & 0xffffu) || (size_t)(r.end - q - 4) < len ||
                (size_t)(oend - out) < len)
                return -1;
            memcpy(out, q + 4, len);
            out += len;
            r.p = q + 4 + len;
            continue;
        }
        if (type == 3)
            return -1;
        uint8_t ll[NLIT + 2], dl[32];
        unsigned nl, nd;
        if (type == 1) {
            nl = 288;
            for (unsigned i = 0; i < 288; i++)
                ll[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
            nd = 32; /* 30 and 31 complete the code; they decode to -1 */
            memset(dl, 5, 32);
        } else if (read_dynamic(&r, ll, &nl, dl, &nd, &S->cl) < 0) {
            return -1;
        }
        if (hdec_build(&S->lit, ll, nl, 1) < 0 ||
            hdec_build(&S->dist, dl, nd, 1) < 0)
            return -1;
        const uint16_t *look = S->lit.look;
        for (;;) {
            refill(&r);
            /* Literals whose codes the primary table holds, as many as
             * the bits held allow: the planes are mostly these. */
            while (r.n >= LOOK) {
                uint16_t e = look[r.buf & ((1u << LOOK) - 1)];
                if (!e || e >= 256 << 4)
                    break;
                if (out == oend)
                    return -1;
                *out++ = (uint8_t)(e >> 4);
                r.buf >>= e & 15;
                r.n -= e & 15;
            }
            refill(&r);
            int s = decode(&r, &S->lit);
            if (s < 256) {
                if (s < 0 || out == oend)
                    return -1;
                *out++ = (uint8_t)s;
                continue;
            }
            if (s == 256)
                break;
            s -= 257;
            if (s >= 29)
                return -1;
            int64_t x = take(&r, len_extra[s]);
            if (x < 0)
                return -1;
            size_t len = len_base[s] + (size_t)x;
            refill(&r);
            int ds = decode(&r, &S->dist);
            if (ds < 0 || ds >= 30 || (x = take(&r, dist_extra[ds])) < 0)
                return -1;
            size_t dist = dist_base[ds] + (size_t)x;
            if (dist > (size_t)(out - dst) || len > (size_t)(oend - out))
                return -1;
            if (dist == 1) {
                memset(out, out[-1], len);
            } else if (dist >= len) {
                memcpy(out, out - dist, len);
            } else { /* overlapping: byte by byte, forwards */
                const uint8_t *from = out - dist;
                for (size_t k = 0; k < len; k++)
                    out[k] = from[k];
            }
            out += len;
        }
    }
    /* The Adler-32 follows the last block, from its next whole byte. */
    unsigned drop = r.n & 7;
    r.n -= drop;
    const uint8_t *q = r.p - r.n / 8;
    if (out != oend || r.end - q < 4)
        return -1;
    uint32_t want = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                    (uint32_t)q[2] << 8 | q[3];
    return dg__adler32(1, dst, cap) == want ? 0 : -1;
}
