/*
 * The text-folder importers' toolkit (txt.h): growable string arrays and
 * sets, messages naming the file, line and field, and file and line
 * reading.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "txt.h"

/* ---- strings ------------------------------------------------------------ */

dg_status dg__txt_strvec_push(dg_ctx *ctx, strvec *s, const char *str,
                              size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    char *d = dg__alloc(ctx, len + 1, 1);
    if (!d)
        return DG_ENOMEM;
    memcpy(d, str, len);
    d[len] = 0;
    s->v[s->n++] = d;
    return DG_OK;
}

void dg__txt_strvec_release(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int dg__txt_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t hash_str(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

void dg__txt_strmap_release(strmap *m)
{
    free(m->slot);
    memset(m, 0, sizeof(*m));
}

/* The index of str (len bytes) in sv, or NONE. */
uint32_t dg__txt_strmap_find(const strmap *m, const strvec *sv, const char *str,
                             size_t len)
{
    if (!m->slot)
        return NONE;
    size_t i = (size_t)hash_str(str, len) & m->mask;
    while (m->slot[i] != NONE) {
        const char *k = sv->v[m->slot[i]];
        if (strlen(k) == len && !memcmp(k, str, len))
            return m->slot[i];
        i = (i + 1) & m->mask;
    }
    return NONE;
}

static void strmap_insert(strmap *m, const strvec *sv, uint32_t idx)
{
    const char *k = sv->v[idx];
    size_t i = (size_t)hash_str(k, strlen(k)) & m->mask;
    while (m->slot[i] != NONE)
        i = (i + 1) & m->mask;
    m->slot[i] = idx;
    m->n++;
}

/* Makes room for one more key. */
static dg_status strmap_grow(dg_ctx *ctx, strmap *m, const strvec *sv)
{
    if (m->slot && (m->n + 1) * 2 <= m->mask + 1)
        return DG_OK;
    size_t cap = m->slot ? (m->mask + 1) * 2 : 64;
    uint32_t *old = m->slot;
    size_t old_cap = m->slot ? m->mask + 1 : 0;
    m->slot = dg__alloc(ctx, cap, sizeof(*m->slot));
    if (!m->slot) {
        m->slot = old;
        return DG_ENOMEM;
    }
    memset(m->slot, 0xff, cap * sizeof(*m->slot));
    m->mask = cap - 1;
    m->n = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] != NONE)
            strmap_insert(m, sv, old[i]);
    }
    free(old);
    return DG_OK;
}

/* Appends str to sv and indexes it; *idx is its index. */
dg_status dg__txt_strmap_add(dg_ctx *ctx, strmap *m, strvec *sv,
                             const char *str, size_t len, uint32_t *idx)
{
    dg_status st;
    if (sv->n >= NONE - 1)
        return dg__fail(ctx, DG_ERANGE, "too many names");
    if ((st = strmap_grow(ctx, m, sv)) < 0 ||
        (st = dg__txt_strvec_push(ctx, sv, str, len)) < 0)
        return st;
    *idx = (uint32_t)(sv->n - 1);
    strmap_insert(m, sv, *idx);
    return DG_OK;
}

/* ---- messages ------------------------------------------------------------ */

/* Formats v so that it reads back as the same double (as coco.c). */
const char *dg__txt_fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.15g", v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, size, "%.17g", v);
    return buf;
}

/* "'<path>': line <n>: field '<field>': <problem>"; field may be NULL. */
dg_status dg__txt_line_fail(dg_ctx *ctx, const char *path, size_t line,
                            const char *field, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (field)
        return dg__fail(ctx, DG_EFORMAT, "'%s': line %zu: field '%s': %s",
                        path, line, field, msg);
    return dg__fail(ctx, DG_EFORMAT, "'%s': line %zu: %s", path, line, msg);
}

void dg__txt_warn_note(warn_count *w, const char *path, size_t line,
                       const char *field, const char *fmt, ...)
{
    if (w->n++ == 0) {
        va_list ap;
        snprintf(w->where, sizeof(w->where), "'%s': line %zu: field '%s'",
                 path, line, field);
        va_start(ap, fmt);
        vsnprintf(w->what, sizeof(w->what), fmt, ap);
        va_end(ap);
    }
}

void dg__txt_warn_emit(dg_ctx *ctx, const warn_count *w, const char *one,
                       const char *many)
{
    if (w->n)
        dg__warn(ctx, "%s: %s (%zu %s in all)", w->where, w->what, w->n,
                 w->n == 1 ? one : many);
}

/* ---- files ---------------------------------------------------------------- */

char *dg__txt_join_path(dg_ctx *ctx, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *s = dg__alloc(ctx, a + b + 2, 1);
    if (s) {
        memcpy(s, dir, a);
        if (slash)
            s[a] = '/';
        memcpy(s + a + slash, name, b + 1);
    }
    return s;
}

/* Reads a whole file; *buf is NUL-terminated and the caller's to free. */
dg_status dg__txt_slurp(dg_ctx *ctx, const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dg__fail(ctx, DG_EIO, "'%s': cannot open: %s", path,
                        strerror(errno));
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (!b) {
        fclose(f);
        return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory", path);
    }
    for (;;) {
        if (cap - n < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                return dg__fail(ctx, DG_ENOMEM, "'%s': out of memory", path);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(b);
        fclose(f);
        return dg__fail(ctx, DG_EIO, "'%s': cannot read: %s", path,
                        strerror(e));
    }
    fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return DG_OK;
}

/*
 * The regular files of dir whose names end in ext, sorted by name (byte
 * order). Hidden files (a leading '.', such as macOS's "._x.txt") are
 * skipped.
 */
dg_status dg__txt_list_dir(dg_ctx *ctx, const char *dir, const char *ext,
                           strvec *out)
{
    size_t el = strlen(ext);
    DIR *d = opendir(dir);
    dg_status st = DG_OK;
    if (!d)
        return dg__fail(ctx, DG_EIO, "'%s': cannot open folder: %s", dir,
                        strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                st = dg__fail(ctx, DG_EIO, "'%s': cannot read folder: %s",
                              dir, strerror(errno));
            break;
        }
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n <= el || strcmp(e->d_name + n - el, ext))
            continue;
        char *full = dg__txt_join_path(ctx, dir, e->d_name);
        struct stat sb;
        if (!full) {
            st = DG_ENOMEM;
            break;
        }
        if (stat(full, &sb) < 0) {
            st = dg__fail(ctx, DG_EIO, "'%s': cannot open: %s", full,
                          strerror(errno));
            free(full);
            break;
        }
        free(full);
        if (!S_ISREG(sb.st_mode))
            continue;
        if ((st = dg__txt_strvec_push(ctx, out, e->d_name, n)) < 0)
            break;
    }
    closedir(d);
    if (st < 0)
        return st;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), dg__txt_cmp_str);
    return DG_OK;
}

void dg__txt_lines_init(lines *it, char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->no = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        it->p += 3;
}

/* The next line, NUL-terminated in place; NULL at the end. *nul is set
 * when the line holds a NUL byte. */
char *dg__txt_lines_next(lines *it, int *nul)
{
    if (it->p >= it->end)
        return NULL;
    char *s = it->p;
    char *nl = memchr(s, '\n', (size_t)(it->end - s));
    char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    *nul = memchr(s, 0, (size_t)(e - s)) != NULL;
    if (e > s && e[-1] == '\r')
        e--;
    *e = 0;
    return s;
}

/* Splits s in place at spaces and tabs (and commas when commas is set);
 * returns the field count, storing at most max. */
int dg__txt_split(char *s, char **f, int max, int commas)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || (commas && *s == ','))
            s++;
        if (!*s)
            return n;
        if (n < max)
            f[n] = s;
        n++;
        while (*s && *s != ' ' && *s != '\t' && !(commas && *s == ','))
            s++;
        if (*s)
            *s++ = 0;
    }
}

/*
 * A decimal number: [+-]digits[.digits][e[+-]digits], or .5. Returns 0,
 * -1 when t is not a number, -2 when it is one that is not finite (nan,
 * inf, 1e400).
 */
int dg__txt_parse_num(const char *t, double *out)
{
    const char *p = t;
    int digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    if (!strcasecmp(p, "nan") || !strcasecmp(p, "inf") ||
        !strcasecmp(p, "infinity"))
        return -2;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (!digits)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return -1;
    *out = strtod(t, NULL);
    return isfinite(*out) ? 0 : -2;
}

dg_status dg__txt_field_num(dg_ctx *ctx, const char *path, size_t line,
                            const char *field, const char *tok, double *out)
{
    int r = dg__txt_parse_num(tok, out);
    if (r == -1)
        return dg__txt_line_fail(ctx, path, line, field, "not a number ('%s')",
                                 tok);
    if (r == -2)
        return dg__txt_line_fail(ctx, path, line, field,
                                 "not a finite number ('%s')", tok);
    return DG_OK;
}

/* The file name less its last extension (".txt"): the frame id. */
size_t dg__txt_stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}
