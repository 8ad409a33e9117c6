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
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    return dg__json_read_skipping(ctx, path, NULL, out);
}

/*
 * A large regular file is read by several threads at once, each its own
 * range with pread: the copy out of the page cache and the first touch of
 * the buffer's pages are most of a read's time. A range that ends early
 * (the file shrank while read) sends the whole file to the plain loop.
 */
#define PREAD_MIN_BYTES (8u << 20)
#define PREAD_MAX_THREADS 4

typedef struct pread_job {
    int fd;
    char *buf;
    size_t off, n;
    int err; /* errno, or -1 at an early end of the file */
} pread_job;

static void *pread_main(void *arg)
{
    pread_job *j = arg;
    size_t got = 0;
    while (got < j->n) {
        ssize_t r = pread(j->fd, j->buf + j->off + got, j->n - got,
                          (off_t)(j->off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            j->err = r < 0 ? errno : -1;
            return NULL;
        }
        got += (size_t)r;
    }
    return NULL;
}

/*
 * 1: buf[0..n) read; 0: not done (read it the plain way); -errno. The
 * test hook DETGRID_JSON_PAR="<min bytes>,<parts>" of the results reader
 * (coco.c) lowers the size from which files are read so.
 */
static int read_parallel(int fd, char *buf, size_t n)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = ncpu > PREAD_MAX_THREADS ? PREAD_MAX_THREADS : (int)ncpu;
    unsigned long min_bytes = PREAD_MIN_BYTES, parts = 0;
    const char *hook = dg__env("DETGRID_JSON_PAR");
    if (hook && sscanf(hook, "%lu,%lu", &min_bytes, &parts) == 2 &&
        parts >= 2) {
        nt = parts > PREAD_MAX_THREADS ? PREAD_MAX_THREADS : (int)parts;
    } else {
        min_bytes = PREAD_MIN_BYTES;
    }
    if (n < min_bytes || nt < 2 || n < (size_t)nt)
        return 0;
    pread_job job[PREAD_MAX_THREADS];
    pthread_t th[PREAD_MAX_THREADS];
    int started[PREAD_MAX_THREADS] = { 0 };
    size_t step = n / (size_t)nt;
    for (int k = 0; k < nt; k++) {
        job[k].fd = fd;
        job[k].buf = buf;
        job[k].off = step * (size_t)k;
        job[k].n = k + 1 < nt ? step : n - step * (size_t)k;
        job[k].err = 0;
    }
    for (int k = 1; k < nt; k++)
        started[k] = pthread_create(&th[k], NULL, pread_main, &job[k]) == 0;
    pread_main(&job[0]);
    int rc = 1;
    for (int k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            pread_main(&job[k]);
    }
    for (int k = 0; k < nt; k++)
        if (job[k].err > 0)
            return -job[k].err;
        else if (job[k].err < 0)
            rc = 0;
    return rc;
}

dg_status dg__json_read_file(dg_ctx *ctx, const char *path, char **out,
                             size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return dg__fail(ctx, DG_EIO, "'%s': cannot open: %s", path,
                        strerror(errno));

    /* Sized from the file when it is a regular one, grown as we go
     * otherwise, so pipes and special files work too. */
    size_t cap = 1 << 16, len = 0;
    struct stat sb;
    int regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                  sb.st_size > 0 && (uint64_t)sb.st_size < SIZE_MAX / 2;
    if (regular)
        cap = (size_t)sb.st_size + 2;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory", path);
    }
    int e = 0;
    if (regular) {
        int rc = read_parallel(fd, buf, (size_t)sb.st_size);
        if (rc < 0)
            e = -rc;
        else if (rc > 0 && lseek(fd, (off_t)sb.st_size, SEEK_SET) >= 0)
            len = (size_t)sb.st_size; /* the loop reads what was added */
    }
    while (!e) {
        if (cap - len < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory",
                                path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            e = errno;
        else if (got == 0)
            break;
        else
            len += (size_t)got;
    }
    close(fd);
    if (e) {
        free(buf);
        return dg__fail(ctx, DG_EIO, "'%s': cannot read: %s", path,
                        strerror(e));
    }
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
    /* dg__json_read_skipping: the values of members named skip_key are
     * parsed into the scratch skip (checked as any value) and kept as
     * null. */
    const char *skip_key;
    size_t skip_len;
    dg_json *skip;
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

static size_t flat_number(const unsigned char *s, size_t p, double *v,
                          int64_t *iv, uint8_t *is_int);

/*
 * The '[' of a list at *pp: 1 with *pp past the ']' of an empty one, 0
 * with *pp at its first item, -1 when it is no list.
 */
static int open_list(const unsigned char *s, size_t *pp)
{
    if (s[*pp] != '[')
        return -1;
    size_t p = skip_ws(s, *pp + 1);
    *pp = s[p] == ']' ? p + 1 : p;
    return s[p] == ']';
}

/*
 * After an item of a list closed by `close`, at *pp: 1 with *pp past the
 * closer, 0 with *pp at the next item (past the ',' and whitespace), -1
 * on anything else.
 */
static int next_item(const unsigned char *s, size_t *pp, unsigned char close)
{
    size_t p = skip_ws(s, *pp);
    if (s[p] == close) {
        *pp = p + 1;
        return 1;
    }
    if (s[p] != ',')
        return -1;
    *pp = skip_ws(s, p + 1);
    return 0;
}

/*
 * A list of numbers at p, checked with scan_number's grammar; with f, each
 * converted (flat_number), counted in f->n, the first DG_JFLAT_ELEMS kept
 * in f->v. The end, or 0 when it is anything else or not valid.
 */
static size_t number_list(const unsigned char *s, size_t p, dg_jfield *f)
{
    const char *why;
    uint32_t n = 0;
    int r = open_list(s, &p);
    if (r)
        return r > 0 ? p : 0;
    for (;;) {
        if (f) {
            double v;
            int64_t iv;
            uint8_t is_int;
            if (!(p = flat_number(s, p, &v, &iv, &is_int)))
                return 0;
            if (n < DG_JFLAT_ELEMS)
                f->v[n] = v;
        } else if (scan_number(s, &p, &why) < 0) {
            return 0;
        }
        if (++n == UINT32_MAX)
            return 0;
        if (f)
            f->n = n;
        r = next_item(s, &p, ']');
        if (r)
            return r > 0 ? p : 0;
    }
}

/*
 * A list of lists of numbers at p (COCO polygons; depth 2), checked: the
 * end, or 0 when the value is anything else or not valid (parse_value
 * then says why).
 */
static size_t skip_polygons(const unsigned char *s, size_t p)
{
    int r = open_list(s, &p);
    if (r)
        return r > 0 ? p : 0;
    for (;;) {
        if (!(p = number_list(s, p, NULL)))
            return 0;
        r = next_item(s, &p, ']');
        if (r)
            return r > 0 ? p : 0;
    }
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
    size_t k0 = p + 1, klen = q - p - 2;
    p = skip_ws(s, q);
    if (s[p] != ':') {
        why = p == len ? "unexpected end of the file" : "expected ':'";
        goto fail;
    }
    p = skip_ws(s, p + 1);
    if (ps->skip_key && !flags && klen == ps->skip_len &&
        memcmp(s + k0, ps->skip_key, klen) == 0) {
        /* Checked as any value (polygons by a loop of their own, the
         * rest in the scratch); kept as null. */
        parser sp = { s, len, ps->skip, 0, NULL, 0, NULL };
        size_t at = p, q2 = base + depth + 2 < MAX_DEPTH
                                ? skip_polygons(s, p) : 0;
        ps->skip->n = 0;
        if (q2)
            p = q2;
        else if (parse_value(&sp, p, base + depth, &p, &why) < 0) {
            ps->oom = sp.oom;
            goto fail;
        }
        if (push(ps, DG_JSON_NULL, 0, at, 0) == UINT32_MAX)
            goto fail;
        goto after;
    }
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

static dg_status parse_whole(dg_ctx *ctx, const char *path, char *buf,
                             size_t len, dg_json *out, const char *skip_key);

dg_status dg__json_parse(dg_ctx *ctx, const char *path, char *buf,
                         size_t len, dg_json *out)
{
    return parse_whole(ctx, path, buf, len, out, NULL);
}

dg_status dg__json_read_skipping(dg_ctx *ctx, const char *path,
                                 const char *skip_key, dg_json *out)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof(*out));
    dg_status st = dg__json_read_file(ctx, path, &buf, &len);
    if (st < 0)
        return st;
    return parse_whole(ctx, path, buf, len, out, skip_key);
}

static dg_status parse_whole(dg_ctx *ctx, const char *path, char *buf,
                             size_t len, dg_json *out, const char *skip_key)
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

    dg_json skip;
    memset(&skip, 0, sizeof(skip));
    parser ps = {s, len, out, 0, skip_key, skip_key ? strlen(skip_key) : 0,
                 &skip};
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
    free(skip.node);
    out->ctx = ctx;
    out->path = path;
    return DG_OK;

fail:
    free(skip.node);
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
                           dg_json_fast_fn fast, dg_json_elem_fn fn,
                           void *arg, size_t *end, int *closed)
{
    const unsigned char *s = (const unsigned char *)scratch->buf;
    parser ps = {s, scratch->len, scratch, 0, NULL, 0, NULL};
    const char *why = NULL;
    size_t p = start;
    *closed = 0;
    for (;;) {
        size_t q = 0;
        int got = fast ? fast(arg, scratch->buf, p, &q) : 0;
        if (got < 0)
            return -1;
        if (got) {
            p = q;
        } else {
            scratch->n = 0;
            if (parse_value(&ps, p, 1, &p, &why) < 0)
                return -1;
            if (fn(arg, scratch) < 0)
                return -1;
        }
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

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/* Exact powers of ten in 64 bits: 10^0 .. 10^19. */
static const uint64_t p10u[] = {
    UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000),
    UINT64_C(10000), UINT64_C(100000), UINT64_C(1000000),
    UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000),
    UINT64_C(10000000000), UINT64_C(100000000000),
    UINT64_C(1000000000000), UINT64_C(10000000000000),
    UINT64_C(100000000000000), UINT64_C(1000000000000000),
    UINT64_C(10000000000000000), UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000), UINT64_C(10000000000000000000)
};

/*
 * The double nearest to (q + f) * 2^e2, ties to even, where 0 <= f < 1 is
 * nonzero exactly when sticky is set; a sticky q has more than 54 bits.
 */
static double round_u128(u128 q, int sticky, int e2)
{
    uint64_t hi = (uint64_t)(q >> 64);
    int top = hi ? 127 - __builtin_clzll(hi)
                 : 63 - __builtin_clzll((uint64_t)q);
    int drop = top - 52;
    if (drop <= 0)
        return ldexp((double)(uint64_t)q, e2); /* exact */
    u128 rem = q & (((u128)1 << drop) - 1), half = (u128)1 << (drop - 1);
    uint64_t mant = (uint64_t)(q >> drop);
    if (rem > half || (rem == half && (sticky || (mant & 1))))
        mant++; /* 2^53 at most: still exact */
    return ldexp((double)mant, e2 + drop);
}

/*
 * m * 10^exp10 correctly rounded for 2^53 < m < 2^64 (17 to 19
 * significant digits, which Clinger's path cannot take) and -18 <= exp10
 * <= 19, in integers: a product exact in 128 bits, or a quotient of m
 * shifted to the top of 128 bits (at least 67 bits of it) with its
 * remainder as the sticky bit. 0 when out of that range.
 */
static int exact_value(uint64_t m, int exp10, double *v)
{
    if (exp10 < -18 || exp10 > 19)
        return 0;
    if (exp10 >= 0) {
        *v = round_u128((u128)m * p10u[exp10], 0, 0);
        return 1;
    }
    int sh = 64 + __builtin_clzll(m);
    u128 num = (u128)m << sh, den = p10u[-exp10];
    *v = round_u128(num / den, num % den != 0, -sh);
    return 1;
}
#else
static int exact_value(uint64_t m, int exp10, double *v)
{
    (void)m;
    (void)exp10;
    (void)v;
    return 0;
}
#endif

/*
 * Clinger's fast path: with at most 19 significant digits forming an
 * integer m <= 2^53 and a decimal exponent e with |e| <= 22, m and 10^|e|
 * are exact doubles and one multiplication or division rounds correctly,
 * giving what strtod gives. Larger m (17 to 19 digits: areas and
 * coordinates that Python printed from a float32 or a product) are
 * rounded exactly in integers (exact_value). Anything else (slow: more
 * than 19 significant digits) goes to strtod with the text s[0..n).
 */
static inline double number_value(uint64_t m, int exp10, int slow, int neg,
                                  const char *s, size_t n)
{
    double v;
    if (m == 0 && !slow)
        return neg ? -0.0 : 0.0;
    if (slow)
        return slow_number(s, n);
    if (m > (UINT64_C(1) << 53) || exp10 < -22 || exp10 > 22) {
        if (m > (UINT64_C(1) << 53) && exact_value(m, exp10, &v))
            return neg ? -v : v;
        return slow_number(s, n);
    }
    v = (double)m;
    v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
    return neg ? -v : v;
}

double dg__json_number(const dg_json *j, uint32_t i)
{
    const dg_jnode *nd = &j->node[i];
    return dg__json_number_text(j->buf + node_off(nd), nd->len);
}

double dg__json_number_text(const char *s, size_t n)
{
    size_t k = 0;
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
    return number_value(m, exp10, slow, neg, s, n);
}

int dg__json_int64(const dg_json *j, uint32_t i, int64_t *out)
{
    const dg_jnode *nd = &j->node[i];
    return dg__json_int64_text(j->buf + node_off(nd), nd->len, out);
}

int dg__json_int64_text(const char *s, size_t n, int64_t *out)
{
    size_t k = s[0] == '-';
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
    for (int k = 0; k < n; k++)
        out[k] = DG_JSON_NONE;
    uint32_t cnt = j->node[obj].len, key = obj + 1;
    for (uint32_t m = 0; m < cnt; m++) {
        uint32_t val = key + 1;
        const dg_jnode *kn = &j->node[key];
        const char *text = j->buf + node_off(kn);
        int plain = !(node_flags(kn) & F_ESC);
        for (int k = 0; k < n; k++) {
            /* Most keys are plain: their first byte rules out most names
             * before a length is taken or a byte compared. */
            int same;
            if (plain)
                same = (kn->len ? text[0] == names[k][0] : !names[k][0]) &&
                       strlen(names[k]) == kn->len &&
                       memcmp(text, names[k], kn->len) == 0;
            else
                same = dg__json_string_is(j, key, names[k],
                                          strlen(names[k]));
            if (!same)
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

/* ---- flat objects ------------------------------------------------------ */

/*
 * Scans the number at p (the grammar of scan_number) and converts it as
 * dg__json_number_text and dg__json_int64_text do, in the same pass: *v,
 * and *iv with *is_int 1 when it is written as an integer that fits in
 * int64_t. The end, or 0 when it is not a number.
 */
static size_t flat_number(const unsigned char *s, size_t p, double *v,
                          int64_t *iv, uint8_t *is_int)
{
    size_t a = p;
    int neg = 0, sig = 0, exp10 = 0, slow = 0, integer = 1;
    uint64_t m = 0;
    if (s[p] == '-') {
        neg = 1;
        p++;
    }
    if (s[p] == '0') {
        p++;
    } else if (s[p] >= '1' && s[p] <= '9') {
        do {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(s[p] - '0');
                sig += m != 0;
            } else {
                slow = 1;
            }
        } while (is_digit(s[++p]));
    } else {
        return 0;
    }
    if (s[p] == '.') {
        integer = 0;
        if (!is_digit(s[++p]))
            return 0;
        do {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(s[p] - '0');
                sig += m != 0;
                exp10--;
            } else {
                slow = 1;
            }
        } while (is_digit(s[++p]));
    }
    if (s[p] == 'e' || s[p] == 'E') {
        int eneg = 0, e = 0;
        integer = 0;
        p++;
        if (s[p] == '+' || s[p] == '-')
            eneg = s[p++] == '-';
        if (!is_digit(s[p]))
            return 0;
        do
            if (e < 100000)
                e = e * 10 + (s[p] - '0');
        while (is_digit(s[++p]));
        exp10 += eneg ? -e : e;
    }
    if (p - a > UINT32_MAX)
        return 0;
    *v = number_value(m, exp10, slow, neg, (const char *)s + a, p - a);
    *is_int = 0;
    if (integer) {
        if (!slow && sig <= 18) {
            *iv = neg ? -(int64_t)m : (int64_t)m;
            *is_int = 1;
        } else {
            *is_int = dg__json_int64_text((const char *)s + a, p - a,
                                          iv) == 0;
        }
    }
    return p;
}

/*
 * One flat value at p: a number (not NaN or Infinity), a string of
 * printable ASCII without escapes, true, false, null, or an array of
 * numbers. Fills f (the first DG_JFLAT_ELEMS numbers of an array); the
 * end, or 0 when the value is anything else.
 */
static size_t flat_value(const unsigned char *s, size_t p, dg_jfield *f)
{
    size_t q;
    f->n = 0;
    switch (s[p]) {
    case '"':
        for (q = p + 1; s[q] >= 0x20 && s[q] < 0x7f && s[q] != '"' &&
                        s[q] != '\\';
             q++)
            ;
        if (s[q] != '"' || q - p - 1 > UINT32_MAX)
            return 0;
        f->type = DG_JSON_STRING;
        f->off = p + 1;
        f->len = (uint32_t)(q - p - 1);
        return q + 1;
    case 't':
        f->type = DG_JSON_TRUE;
        return is_word(s + p, "true") ? p + 4 : 0;
    case 'f':
        f->type = DG_JSON_FALSE;
        return is_word(s + p, "false") ? p + 5 : 0;
    case 'n':
        f->type = DG_JSON_NULL;
        return is_word(s + p, "null") ? p + 4 : 0;
    case '[':
        f->type = DG_JSON_ARRAY;
        return number_list(s, p, f);
    default:
        f->type = DG_JSON_NUMBER;
        f->off = p;
        q = flat_number(s, p, &f->v[0], &f->iv, &f->is_int);
        f->len = q ? (uint32_t)(q - p) : 0;
        return q;
    }
}

size_t dg__json_flat_object(const char *buf, size_t p,
                            const char *const *names, const uint8_t *lens,
                            int n, dg_jfield *out)
{
    const unsigned char *s = (const unsigned char *)buf;
    dg_jfield skip;
    for (int k = 0; k < n; k++)
        out[k].type = -1;
    if (s[p] != '{')
        return 0;
    p = skip_ws(s, p + 1);
    if (s[p] == '}')
        return p + 1;
    for (;;) {
        if (s[p] != '"')
            return 0;
        size_t k0 = p + 1, q = k0;
        while (s[q] >= 0x20 && s[q] < 0x7f && s[q] != '"' && s[q] != '\\')
            q++;
        if (s[q] != '"')
            return 0;
        size_t klen = q - k0;
        dg_jfield *f = &skip;
        for (int k = 0; k < n; k++)
            if (klen == lens[k] && memcmp(s + k0, names[k], klen) == 0) {
                if (out[k].type != -1)
                    return 0; /* a repeated key: the parser warns */
                f = &out[k];
                break;
            }
        p = skip_ws(s, q + 1);
        if (s[p] != ':')
            return 0;
        p = skip_ws(s, p + 1);
        if (!(p = flat_value(s, p, f)))
            return 0;
        int r = next_item(s, &p, '}');
        if (r)
            return r > 0 ? p : 0;
    }
}
