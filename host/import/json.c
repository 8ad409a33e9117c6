/*
 * The importers' JSON reader (json.h): one pass over the file builds a flat
 * array of nodes, checking the grammar of RFC 8259 as it goes; numbers and
 * strings are converted only when a caller asks for them.
 *
 * The file is NUL-terminated in memory and a raw NUL anywhere else is an
 * error found before parsing, so every scanning loop stops at the
 * terminator without a bounds check.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

#define F_ESC 1 /* the string has escapes */
#define F_DEC 2 /* the string is decoded and NUL-terminated in place */
#define MAX_DEPTH 1000

static inline size_t node_off(const dg_jnode *n)
{
    return (size_t)(n->pos >> 5);
}

static inline int node_flags(const dg_jnode *n)
{
    return (int)((n->pos >> 3) & 3);
}

/* ---- reading ----------------------------------------------------------- */

dg_status dg__json_read(dg_ctx *ctx, const char *path, dg_json *out)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof(*out));
    dg_status st = dg__json_read_file(ctx, path, &buf, &len);
    if (st < 0)
        return st;
    return dg__json_parse(ctx, path, buf, len, out);
}

dg_status dg__json_read_file(dg_ctx *ctx, const char *path, char **out,
                             size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dg__fail(ctx, DG_EIO, "'%s': cannot open: %s", path,
                        strerror(errno));

    /* Sized from the file when it is a regular one, grown as we go
     * otherwise, so pipes and special files work too. */
    size_t cap = 1 << 16, len = 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uint64_t)sb.st_size < SIZE_MAX / 2)
        cap = (size_t)sb.st_size + 2;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory", path);
    }
    for (;;) {
        if (cap - len < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory",
                                path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return dg__fail(ctx, DG_EIO, "'%s': cannot read: %s", path,
                        strerror(e));
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return DG_OK;
}

void dg__json_release(dg_json *j)
{
    if (j->n_dup > 1 && j->ctx)
        dg__warn(j->ctx, "'%s': %llu repeated keys in all; each time the "
                 "last value was used", j->path ? j->path : "?",
                 (unsigned long long)j->n_dup);
    free(j->buf);
    free(j->node);
    memset(j, 0, sizeof(*j));
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct parser {
    const unsigned char *s;
    size_t len;
    dg_json *j;
    int oom;
} parser;

/* Appends a node; its index, or UINT32_MAX when out of memory. */
static uint32_t push(parser *ps, int type, int flags, size_t off, size_t len)
{
    dg_json *j = ps->j;
    if (j->n == j->cap) {
        uint64_t cap = j->cap ? (uint64_t)j->cap * 2 : 1024;
        if (cap > UINT32_MAX - 1)
            cap = UINT32_MAX - 1;
        dg_jnode *nn = j->n < cap ? realloc(j->node, (size_t)cap * sizeof(*nn))
                                  : NULL;
        if (!nn) {
            ps->oom = 1;
            return UINT32_MAX;
        }
        j->node = nn;
        j->cap = (uint32_t)cap;
    }
    dg_jnode *nd = &j->node[j->n];
    nd->pos = ((uint64_t)off << 5) | ((uint64_t)flags << 3) | (uint64_t)type;
    nd->len = (uint32_t)len;
    nd->next = j->n + 1;
    return j->n++;
}

static inline size_t skip_ws(const unsigned char *s, size_t p)
{
    while (s[p] == ' ' || s[p] == '\n' || s[p] == '\r' || s[p] == '\t')
        p++;
    return p;
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Whether word is at s; stops at the first mismatch, so it never reads
 * past the terminating NUL. */
static int is_word(const unsigned char *s, const char *word)
{
    for (; *word; s++, word++)
        if (*s != (unsigned char)*word)
            return 0;
    return 1;
}

static int hex4(const unsigned char *s, unsigned *cp)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if ((c | 32) >= 'a' && (c | 32) <= 'f')
            v |= (unsigned)((c | 32) - 'a' + 10);
        else
            return -1;
    }
    *cp = v;
    return 0;
}

/* Length of the UTF-8 sequence at s (RFC 3629), or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

/*
 * Scans the string whose opening quote is at *pp; on success *pp is past
 * the closing quote. On error *pp is where it is and *why says what.
 */
static int scan_string(const unsigned char *s, size_t *pp, int *flags,
                       const char **why)
{
    size_t p = *pp + 1;
    *flags = 0;
    for (;;) {
        /* The plain part: printable ASCII other than '"' and '\\'. */
        while (s[p] >= 0x20 && s[p] < 0x80 && s[p] != '"' && s[p] != '\\')
            p++;
        unsigned char c = s[p];
        if (c == '"')
            break;
        if (c == '\\') {
            unsigned cp, lo;
            *flags = F_ESC;
            switch (s[p + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n':
            case 'r': case 't':
                p += 2;
                continue;
            case 'u':
                if (hex4(s + p + 2, &cp) < 0) {
                    *pp = p;
                    *why = "invalid \\u escape";
                    return -1;
                }
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    *pp = p;
                    *why = "lone UTF-16 surrogate";
                    return -1;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (s[p + 6] != '\\' || s[p + 7] != 'u' ||
                        hex4(s + p + 8, &lo) < 0 || lo < 0xdc00 ||
                        lo > 0xdfff) {
                        *pp = p;
                        *why = "lone UTF-16 surrogate";
                        return -1;
                    }
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            default:
                *pp = p;
                *why = "invalid escape";
                return -1;
            }
        }
        if (c < 0x20) {
            *pp = p;
            *why = c ? "control character in a string"
                     : "unexpected end of the file in a string";
            return -1;
        }
        int n = utf8_len(s + p);
        if (!n) {
            *pp = p;
            *why = "invalid UTF-8";
            return -1;
        }
        p += (size_t)n;
    }
    *pp = p + 1;
    return 0;
}

/*
 * The length of the token NaN, Infinity or -Infinity at s, else 0.
 * Python's json module writes them for float('nan') and the infinities
 * (allow_nan is its default), so files from Python tools carry them; they
 * are read as numbers, and the fields that need a finite one say so.
 */
static size_t nonfinite_len(const unsigned char *s)
{
    if (is_word(s, "NaN"))
        return 3;
    if (is_word(s, "Infinity"))
        return 8;
    if (is_word(s, "-Infinity"))
        return 9;
    return 0;
}

/* Scans a number at *pp (RFC 8259 grammar). */
static int scan_number(const unsigned char *s, size_t *pp, const char **why)
{
    size_t p = *pp;
    if (s[p] == '-')
        p++;
    if (s[p] == '0') {
        p++;
    } else if (s[p] >= '1' && s[p] <= '9') {
        while (is_digit(s[++p]))
            ;
    } else {
        *pp = p;
        *why = "invalid number";
        return -1;
    }
    if (s[p] == '.') {
        if (!is_digit(s[++p])) {
            *pp = p;
            *why = "invalid number";
            return -1;
        }
        while (is_digit(s[++p]))
            ;
    }
    if (s[p] == 'e' || s[p] == 'E') {
        p++;
        if (s[p] == '+' || s[p] == '-')
            p++;
        if (!is_digit(s[p])) {
            *pp = p;
            *why = "invalid number";
            return -1;
        }
        while (is_digit(s[++p]))
            ;
    }
    *pp = p;
    return 0;
}

static dg_status syntax_error(dg_ctx *ctx, const char *path,
                              const unsigned char *s, size_t off,
                              const char *why)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        line += s[i] == '\n';
    return dg__fail(ctx, DG_EFORMAT,
                    "'%s': not valid JSON near byte %zu (line %zu)%s%s", path,
                    off, line, why ? ": " : "", why ? why : "");
}

/*
 * Parses the value at p (whitespace already skipped) into ps->j, with
 * `base` containers already open around it (for the depth limit). On
 * success *endp is just past the value; on failure it is where the error
 * is and *why says what (NULL with ps->oom set when out of memory).
 */
static int parse_value(parser *ps, size_t p, int base, size_t *endp,
                       const char **why_out)
{
    const unsigned char *s = ps->s;
    size_t len = ps->len;
    dg_json *out = ps->j;
    uint32_t stack[MAX_DEPTH], count[MAX_DEPTH];
    int depth = 0, type, flags;
    const char *why = NULL;
    size_t q;
    uint32_t top;

value:
    switch (s[p]) {
    case '{':
    case '[':
        if (depth + base == MAX_DEPTH) {
            why = "nested deeper than 1000";
            goto fail;
        }
        type = s[p] == '{' ? DG_JSON_OBJECT : DG_JSON_ARRAY;
        if ((top = push(ps, type, 0, p, 0)) == UINT32_MAX)
            goto fail;
        stack[depth] = top;
        count[depth++] = 0;
        p = skip_ws(s, p + 1);
        if (s[p] == (type == DG_JSON_OBJECT ? '}' : ']')) {
            p++;
            depth--;
            goto closed;
        }
        if (type == DG_JSON_OBJECT)
            goto key;
        goto value;
    case '"':
        q = p;
        if (scan_string(s, &q, &flags, &why) < 0) {
            p = q;
            goto fail;
        }
        if (q - p - 2 > UINT32_MAX) {
            why = "string longer than 4 GiB";
            goto fail;
        }
        if (push(ps, DG_JSON_STRING, flags, p + 1, q - p - 2) == UINT32_MAX)
            goto fail;
        p = q;
        goto after;
    case 't':
    case 'f':
    case 'n': {
        /* The three literals: the first letter picks the word. */
        const char *word = s[p] == 't'   ? "true"
                           : s[p] == 'f' ? "false"
                                         : "null";
        int type = s[p] == 't'   ? DG_JSON_TRUE
                   : s[p] == 'f' ? DG_JSON_FALSE
                                 : DG_JSON_NULL;
        uint32_t len = (uint32_t)strlen(word);
        if (!is_word(s + p, word)) {
            why = "expected a value";
            goto fail;
        }
        if (push(ps, type, 0, p, len) == UINT32_MAX)
            goto fail;
        p += len;
        goto after;
    }
    default:
        if ((q = nonfinite_len(s + p)) != 0) {
            if (push(ps, DG_JSON_NUMBER, 0, p, q) == UINT32_MAX)
                goto fail;
            p += q;
            goto after;
        }
        if (s[p] == '-' || is_digit(s[p])) {
            q = p;
            if (scan_number(s, &q, &why) < 0) {
                p = q;
                goto fail;
            }
            if (q - p > UINT32_MAX) {
                why = "number longer than 4 GiB";
                goto fail;
            }
            if (push(ps, DG_JSON_NUMBER, 0, p, q - p) == UINT32_MAX)
                goto fail;
            p = q;
            goto after;
        }
        why = p == len ? "unexpected end of the file" : "expected a value";
        goto fail;
    }

key:
    if (s[p] != '"') {
        why = p == len ? "unexpected end of the file"
                       : "expected a string (an object key)";
        goto fail;
    }
    q = p;
    if (scan_string(s, &q, &flags, &why) < 0) {
        p = q;
        goto fail;
    }
    if (q - p - 2 > UINT32_MAX) {
        why = "string longer than 4 GiB";
        goto fail;
    }
    if (push(ps, DG_JSON_STRING, flags, p + 1, q - p - 2) == UINT32_MAX)
        goto fail;
    p = skip_ws(s, q);
    if (s[p] != ':') {
        why = p == len ? "unexpected end of the file" : "expected ':'";
        goto fail;
    }
    p = skip_ws(s, p + 1);
    goto value;

closed:
    /* The container stack[depth] just ended at node count out->n. */
    top = stack[depth];
    out->node[top].len = count[depth];
    out->node[top].next = out->n;
    /* fall through */
after:
    if (depth == 0) {
        *endp = p;
        return 0;
    }
    count[depth - 1]++;
    p = skip_ws(s, p);
    top = stack[depth - 1];
    type = dg__json_type(out, top);
    if (s[p] == ',') {
        p = skip_ws(s, p + 1);
        if (type == DG_JSON_OBJECT)
            goto key;
        goto value;
    }
    if (s[p] == (type == DG_JSON_OBJECT ? '}' : ']')) {
        p++;
        depth--;
        goto closed;
    }
    why = p == len ? "unexpected end of the file"
          : type == DG_JSON_OBJECT ? "expected ',' or '}'"
                                   : "expected ',' or ']'";
    goto fail;

fail:
    *endp = p;
    *why_out = why;
    return -1;
}

dg_status dg__json_parse(dg_ctx *ctx, const char *path, char *buf,
                         size_t len, dg_json *out)
{
    const unsigned char *s = (const unsigned char *)buf;
    memset(out, 0, sizeof(*out));
    out->buf = buf;
    out->len = len;
    buf[len] = '\0';

    if (len == 0) {
        dg__json_release(out);
        return dg__fail(ctx, DG_EFORMAT, "'%s': not valid JSON: file is "
                        "empty", path);
    }
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        dg_status st = syntax_error(ctx, path, s, (size_t)(nul - buf),
                                    "NUL byte");
        dg__json_release(out);
        return st;
    }

    parser ps = {s, len, out, 0};
    const char *why = NULL;
    size_t p = 0;

    /* About one node per 7 bytes in a results file. */
    if (len / 7 + 16 < UINT32_MAX - 1) {
        out->cap = (uint32_t)(len / 7 + 16);
        out->node = malloc((size_t)out->cap * sizeof(*out->node));
        if (!out->node)
            out->cap = 0;
    }
    if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        p = 3; /* a UTF-8 byte order mark, as cJSON skips it */
    p = skip_ws(s, p);
    if (parse_value(&ps, p, 0, &p, &why) < 0)
        goto fail;
    p = skip_ws(s, p);
    if (p != len) {
        why = "unexpected data after the value";
        goto fail;
    }
    out->ctx = ctx;
    out->path = path;
    return DG_OK;

fail:
    if (ps.oom) {
        dg__json_release(out);
        return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory", path);
    }
    {
        dg_status st = syntax_error(ctx, path, s, p, why);
        dg__json_release(out);
        return st;
    }
}

size_t dg__json_array_start(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t p = 0;
    if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        p = 3;
    p = skip_ws(s, p);
    if (s[p] != '[')
        return SIZE_MAX;
    p = skip_ws(s, p + 1);
    return s[p] == ']' || p >= len ? SIZE_MAX : p;
}

int dg__json_scan_elements(dg_json *scratch, size_t start, size_t stop,
                           dg_json_elem_fn fn, void *arg, size_t *end,
                           int *closed)
{
    const unsigned char *s = (const unsigned char *)scratch->buf;
    parser ps = {s, scratch->len, scratch, 0};
    const char *why = NULL;
    size_t p = start;
    *closed = 0;
    for (;;) {
        scratch->n = 0;
        if (parse_value(&ps, p, 1, &p, &why) < 0)
            return -1;
        if (fn(arg, scratch) < 0)
            return -1;
        p = skip_ws(s, p);
        if (s[p] == ',') {
            p = skip_ws(s, p + 1);
            if (p >= stop) {
                *end = p;
                return 0;
            }
            continue;
        }
        if (s[p] == ']') {
            *end = skip_ws(s, p + 1);
            *closed = 1;
            return 0;
        }
        return -1;
    }
}

/* ---- access ------------------------------------------------------------ */

const char *dg__json_type_name(const dg_json *j, uint32_t i)
{
    switch (dg__json_type(j, i)) {
    case DG_JSON_NULL:
        return "null";
    case DG_JSON_FALSE:
    case DG_JSON_TRUE:
        return "boolean";
    case DG_JSON_NUMBER:
        return "number";
    case DG_JSON_STRING:
        return "string";
    case DG_JSON_ARRAY:
        return "array";
    default:
        return "object";
    }
}

/* Powers of ten that are exact doubles. */
static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod with the C locale's '.' whatever the current locale. */
static double slow_number(const char *s, size_t n)
{
    char tmp[128], *b = n < sizeof(tmp) ? tmp : malloc(n + 1);
    if (!b)
        return strtod(s, NULL); /* the '.' may be misread; memory is gone */
    memcpy(b, s, n);
    b[n] = 0;
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
        char *dot = strchr(b, '.');
        if (dot)
            *dot = dp[0];
    }
    double v = strtod(b, NULL);
    if (b != tmp)
        free(b);
    return v;
}

/*
 * Clinger's fast path: with at most 19 significant digits forming an
 * integer m <= 2^53 and a decimal exponent e with |e| <= 22, m and 10^|e|
 * are exact doubles and one multiplication or division rounds correctly,
 * giving what strtod gives. Anything else goes to strtod.
 */
double dg__json_number(const dg_json *j, uint32_t i)
{
    const dg_jnode *nd = &j->node[i];
    const char *s = j->buf + node_off(nd);
    size_t n = nd->len, k = 0;
    int neg = 0, sig = 0, exp10 = 0, slow = 0;
    uint64_t m = 0;
    if (s[0] == 'N')
        return NAN;
    if (s[0] == 'I' || (s[0] == '-' && s[1] == 'I'))
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (s[0] == '-') {
        neg = 1;
        k = 1;
    }
    for (; k < n && is_digit((unsigned char)s[k]); k++) {
        if (sig < 19) {
            m = m * 10 + (uint64_t)(s[k] - '0');
            sig += m != 0;
        } else {
            slow = 1;
        }
    }
    if (k < n && s[k] == '.') {
        for (k++; k < n && is_digit((unsigned char)s[k]); k++) {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(s[k] - '0');
                sig += m != 0;
                exp10--;
            } else {
                slow = 1;
            }
        }
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        int eneg = 0, e = 0;
        k++;
        if (s[k] == '+' || s[k] == '-')
            eneg = s[k++] == '-';
        for (; k < n; k++)
            if (e < 100000)
                e = e * 10 + (s[k] - '0');
        exp10 += eneg ? -e : e;
    }
    if (m == 0 && !slow)
        return neg ? -0.0 : 0.0;
    if (slow || m > (UINT64_C(1) << 53) || exp10 < -22 || exp10 > 22)
        return slow_number(s, n);
    double v = (double)m;
    v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
    return neg ? -v : v;
}

int dg__json_int64(const dg_json *j, uint32_t i, int64_t *out)
{
    const dg_jnode *nd = &j->node[i];
    const char *s = j->buf + node_off(nd);
    size_t n = nd->len, k = s[0] == '-';
    uint64_t m = 0, lim = s[0] == '-' ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    int over = 0;
    for (size_t q = k; q < n; q++) {
        if (!is_digit((unsigned char)s[q]))
            return 1; /* a fraction or an exponent */
        unsigned d = (unsigned)(s[q] - '0');
        if (m > (lim - d) / 10)
            over = 1;
        else
            m = m * 10 + d;
    }
    if (over)
        return -1;
    *out = s[0] == '-' ? (int64_t)(0 - m) : (int64_t)m;
    return 0;
}

/* Decodes the escapes of string node i in place (they only shrink). */
static void decode(dg_json *j, uint32_t i)
{
    dg_jnode *nd = &j->node[i];
    char *s = j->buf + node_off(nd);
    size_t n = nd->len, r = 0, w = 0;
    if (node_flags(nd) & F_ESC) {
        while (r < n) {
            if (s[r] != '\\') {
                s[w++] = s[r++];
                continue;
            }
            char c = s[r + 1];
            r += 2;
            switch (c) {
            case 'b': s[w++] = '\b'; break;
            case 'f': s[w++] = '\f'; break;
            case 'n': s[w++] = '\n'; break;
            case 'r': s[w++] = '\r'; break;
            case 't': s[w++] = '\t'; break;
            case 'u': {
                unsigned cp = 0, lo = 0xdc00;
                hex4((const unsigned char *)s + r, &cp);
                r += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    hex4((const unsigned char *)s + r + 2, &lo);
                    r += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp < 0x80) {
                    s[w++] = (char)cp;
                } else if (cp < 0x800) {
                    s[w++] = (char)(0xc0 | (cp >> 6));
                    s[w++] = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                    s[w++] = (char)(0xe0 | (cp >> 12));
                    s[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    s[w++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    s[w++] = (char)(0xf0 | (cp >> 18));
                    s[w++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                    s[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    s[w++] = (char)(0x80 | (cp & 0x3f));
                }
                break;
            }
            default: /* '"', '\\', '/' */
                s[w++] = c;
                break;
            }
        }
        nd->len = (uint32_t)w;
    } else {
        w = n;
    }
    s[w] = '\0'; /* at most where the closing quote was */
    nd->pos |= (uint64_t)F_DEC << 3;
}

const char *dg__json_string(dg_json *j, uint32_t i)
{
    if (!(node_flags(&j->node[i]) & F_DEC))
        decode(j, i);
    return j->buf + node_off(&j->node[i]);
}

int dg__json_string_is(dg_json *j, uint32_t i, const char *s, size_t n)
{
    const dg_jnode *nd = &j->node[i];
    if (!(node_flags(nd) & F_ESC))
        return nd->len == n && memcmp(j->buf + node_off(nd), s, n) == 0;
    /* Decoded text may hold a NUL from \u0000; compare as C strings, as
     * keys were compared before (cJSON). */
    return strcmp(dg__json_string(j, i), s) == 0;
}

static void dup_warning(dg_json *j, uint32_t obj, const char *name)
{
    size_t off = node_off(&j->node[obj]), line = 1;
    for (size_t i = 0; i < off && i < j->len; i++)
        line += j->buf[i] == '\n';
    dg__warn(j->ctx, "'%s': the object at byte %zu (line %zu) repeats the "
             "key '%s'; the last value is used, as Python's json does",
             j->path ? j->path : "?", off, line, name);
}

void dg__json_fields(dg_json *j, uint32_t obj, const char *const *names,
                     int n, uint32_t *out)
{
    size_t len[16];
    for (int k = 0; k < n; k++) {
        out[k] = DG_JSON_NONE;
        len[k] = strlen(names[k]);
    }
    uint32_t cnt = j->node[obj].len, key = obj + 1;
    for (uint32_t m = 0; m < cnt; m++) {
        uint32_t val = key + 1;
        for (int k = 0; k < n && k < 16; k++) {
            if (!dg__json_string_is(j, key, names[k], len[k]))
                continue;
            /* A repeated key: the last value counts, as in Python's json
             * (and so pycocotools), with a warning. */
            if (out[k] != DG_JSON_NONE && j->n_dup++ == 0 && j->ctx)
                dup_warning(j, obj, names[k]);
            out[k] = val;
            break;
        }
        key = j->node[val].next;
    }
}
