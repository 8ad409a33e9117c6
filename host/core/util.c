/*
 * Allocation, UTF-8, time, processors, and the one reader of the
 * environment variables the library honours.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

double dg__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *dg__alloc(dg_ctx *ctx, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        dg__fail(ctx, DG_ENOMEM, "allocation of %zu x %zu bytes overflows", n,
                 size);
        return NULL;
    }
    void *p = malloc(n != 0 && size != 0 ? n * size : 1);
    if (!p)
        dg__fail(ctx, DG_ENOMEM, "out of memory allocating %zu bytes",
                 n * size);
    return p;
}

void *dg__calloc(dg_ctx *ctx, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        dg__fail(ctx, DG_ENOMEM, "out of memory allocating %zu x %zu bytes",
                 n, size);
    return p;
}

int dg__grow(void **p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, n != 0 && size != 0 ? n * size : 1);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

char *dg__strdup(dg_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dg__alloc(ctx, n, 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

const char *dg__name_problem(const char *s, int allow_empty)
{
    if (!s || (!*s && !allow_empty))
        return "empty";
    if (!dg__utf8_valid(s))
        return "not valid UTF-8";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* C0 controls and DEL; C1 controls are U+0080..U+009F, which
         * UTF-8 writes as 0xc2 0x80..0x9f. */
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 &&
                                          p[1] <= 0x9f))
            return "contains a control character";
    }
    return NULL;
}

const char *dg__name_show(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (!cap)
        return buf;
    while (*p && n + 5 < cap) {
        int ok = *p >= 0x20 && *p < 0x7f;
        if (*p >= 0x80) {
            /* Keep whole valid sequences that are not C1 controls. */
            size_t len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
            char seq[5] = {0};
            size_t k = 0;
            while (len && k < len && p[k])
                seq[k] = (char)p[k], k++;
            if (len && k == len && dg__utf8_valid(seq) &&
                !(p[0] == 0xc2 && p[1] <= 0x9f) && n + len < cap - 1) {
                memcpy(buf + n, seq, len);
                n += len;
                p += len;
                continue;
            }
        }
        if (ok)
            buf[n++] = (char)*p;
        else
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", *p);
        p++;
    }
    buf[n < cap ? n : cap - 1] = 0;
    return buf;
}

void dg__fmt_double(char *buf, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int dg__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!n)
            return 0;
        /* Overlong forms, surrogates and code points past U+10FFFF. */
        unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        for (int i = 1; i < n; i++)
            if (i == 1 ? (p[1] < lo || p[1] > hi) : (p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

unsigned dg__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

const char *dg__env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

uint64_t dg__env_u64(const char *name, uint64_t dflt)
{
    const char *v = dg__env(name);
    if (!v)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return *end || !x || v[0] == '-' ? dflt : (uint64_t)x;
}

/* Calls fn(item, len, arg) for each comma-separated item of DETGRID_FAULT
 * until it returns nonzero; returns that value or 0. */
static int fault_items(int (*fn)(const char *, size_t, const void *),
                       const void *arg)
{
    const char *env = dg__env("DETGRID_FAULT");
    for (const char *p = env; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int r = fn(p, len, arg);
        if (r)
            return r;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int item_is(const char *p, size_t len, const void *arg)
{
    const char *name = arg;
    return len == strlen(name) && !strncmp(p, name, len);
}

int dg__fault(const char *name)
{
    return fault_items(item_is, name);
}

struct fault_num {
    const char *prefix;
    long *v;
};

static int item_num(const char *p, size_t len, const void *arg)
{
    const struct fault_num *f = arg;
    size_t n = strlen(f->prefix);
    if (len <= n || strncmp(p, f->prefix, n))
        return 0;
    long v = 0;
    for (size_t i = n; i < len; i++) {
        if (p[i] < '0' || p[i] > '9' || v > 100000000)
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *f->v = v;
    return 1;
}

int dg__fault_num(const char *prefix, long *v)
{
    struct fault_num f = {prefix, v};
    return fault_items(item_num, &f);
}

/* ---- names in messages --------------------------------------------------- */

/*
 * Optimal string alignment distance (Levenshtein with adjacent
 * transpositions, as git's help.c weighs typos), ASCII letters compared
 * without case; names longer than 63 bytes are cut.
 */
static unsigned name_distance(const char *a, const char *b)
{
    enum { L = 64 };
    unsigned d[L + 1][L + 1];
    size_t n = strlen(a), m = strlen(b);
    if (n > L - 1)
        n = L - 1;
    if (m > L - 1)
        m = L - 1;
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z')
                ca += 'a' - 'A';
            if (cb >= 'A' && cb <= 'Z')
                cb += 'a' - 'A';
            unsigned v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m];
}

const char *dg_nearest_name(const char *name, const char *const *choices,
                            size_t n)
{
    const char *best = NULL;
    unsigned best_d = 0;
    size_t best_pre = 0, len = strlen(name);
    /* Close: a third of the name's letters wrong at most (one for short
     * names), or the name the start of a choice. Of equally near ones,
     * the one that starts like the name, then the first. */
    unsigned limit = len < 6 ? 1 : (unsigned)(len / 3);
    for (size_t i = 0; i < n; i++) {
        unsigned d = name_distance(name, choices[i]);
        if (len >= 2 && !strncmp(choices[i], name, len) && d > 1)
            d = limit; /* a prefix: close, after the typos */
        size_t pre = 0;
        while (name[pre] && name[pre] == choices[i][pre])
            pre++;
        if (d <= limit &&
            (!best || d < best_d || (d == best_d && pre > best_pre))) {
            best = choices[i];
            best_d = d;
            best_pre = pre;
        }
    }
    return best;
}

const char *dg_choices_hint(char *buf, size_t cap, const char *name,
                            const char *const *choices, size_t n,
                            const char *kind)
{
    enum { SHOWN = 25 };
    size_t len = 0;
    if (!cap)
        return buf;
    buf[0] = 0;
#define PUT(...)                                                             \
    do {                                                                     \
        if (len < cap)                                                       \
            len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__);      \
    } while (0)
    const char *near = name ? dg_nearest_name(name, choices, n) : NULL;
    if (near)
        PUT("; did you mean '%s'?", near);
    if (!n) {
        PUT(" (there are no %s)", kind);
        return buf;
    }
    PUT(" (%s: ", kind);
    for (size_t i = 0; i < n && i < SHOWN; i++)
        PUT("%s%s", i ? ", " : "", choices[i]);
    if (n > SHOWN)
        PUT(", ... %zu more", n - SHOWN);
    PUT(")");
#undef PUT
    /* Cut short: end on a whole character, with an ellipsis. */
    if (len >= cap && cap > 4) {
        size_t e = cap - 4;
        while (e > 0 && ((unsigned char)buf[e] & 0xc0) == 0x80)
            e--;
        memcpy(buf + e, "...", 4);
    }
    return buf;
}

dg_status dg__fail_unknown(dg_ctx *ctx, dg_status st, const char *what,
                           const char *name, const char *const *choices,
                           size_t n, const char *kind)
{
    char hint[1024];
    dg_choices_hint(hint, sizeof(hint), name, choices, n, kind);
    return dg__fail(ctx, st, "%s '%s'%s", what, name, hint);
}
