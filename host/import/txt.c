/*
 * Folder-of-text-files importers: Cartucho/mAP (VOC txt), rafaelpadilla,
 * YOLO, and Pascal VOC XML ground truth. include/detgrid/import_txt.h
 * sums them up and docs/VOC.md has every rule and message.
 *
 * Like the COCO importers, everything is read, checked and converted into
 * temporaries first; the project changes only when nothing that depends on
 * user input can fail any more. Messages name the file, the line and the
 * field:
 *
 *     'dt/2007_000027.txt': line 3: field 'confidence': out of range [0, 1] (1.5)
 *
 * Warnings that can fire on many lines are counted and reported once, with
 * the first place and the total.
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

#include <cjson/cJSON.h>
#ifdef DG_HAVE_EXPAT
#include <expat.h>
#endif

#include "dg_internal.h"
#include "detgrid/import_txt.h"

#define NONE UINT32_MAX
#define MAX_NAME 1024 /* longest class name or XML text we keep */

/* ---- formats ------------------------------------------------------------ */

static const struct {
    const char *name;
    dg_txt_format format;
} format_names[] = {
    {"cartucho", DG_TXT_CARTUCHO}, {"voc-txt", DG_TXT_CARTUCHO},
    {"padilla", DG_TXT_PADILLA},   {"rafaelpadilla", DG_TXT_PADILLA},
    {"yolo", DG_TXT_YOLO},         {"voc-xml", DG_TXT_VOC_XML},
};

int dg_txt_format_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(format_names) / sizeof(*format_names);
         i++) {
        if (!strcmp(name, format_names[i].name))
            return (int)format_names[i].format;
    }
    return -1;
}

const char *dg_txt_format_name(dg_txt_format format)
{
    switch (format) {
    case DG_TXT_CARTUCHO: return "cartucho";
    case DG_TXT_PADILLA: return "padilla";
    case DG_TXT_YOLO: return "yolo";
    case DG_TXT_VOC_XML: return "voc-xml";
    }
    return "?";
}

dg_status dg_txt_opts_init(dg_txt_opts *o, dg_txt_format format)
{
    memset(o, 0, sizeof(*o));
    o->format = format;
    o->conf_leading = 1;
    switch (format) {
    case DG_TXT_CARTUCHO:
    case DG_TXT_VOC_XML:
        o->box = DG_TXT_BOX_XYXY;
        return DG_OK;
    case DG_TXT_PADILLA:
        o->box = DG_TXT_BOX_XYWH;
        return DG_OK;
    case DG_TXT_YOLO:
        o->box = DG_TXT_BOX_CXCYWH;
        o->relative = 1;
        o->conf_leading = 0;
        o->unlabeled_frames = 1;
        return DG_OK;
    }
    return DG_EINVAL;
}

int dg_import_have_xml(void)
{
#ifdef DG_HAVE_EXPAT
    return 1;
#else
    return 0;
#endif
}

/* ---- strings ------------------------------------------------------------ */

/* A growable array of owned strings. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static dg_status strvec_push(dg_ctx *ctx, strvec *s, const char *str,
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

static void strvec_release(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A hash set over the strings of a strvec: maps a string to its index.
 * Open addressing, grown at half load.
 */
typedef struct strmap {
    uint32_t *slot; /* index into the strvec, NONE when empty */
    size_t mask;
    size_t n;
} strmap;

static uint64_t hash_str(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void strmap_release(strmap *m)
{
    free(m->slot);
    memset(m, 0, sizeof(*m));
}

/* The index of str (len bytes) in sv, or NONE. */
static uint32_t strmap_find(const strmap *m, const strvec *sv, const char *str,
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
static dg_status strmap_add(dg_ctx *ctx, strmap *m, strvec *sv,
                            const char *str, size_t len, uint32_t *idx)
{
    dg_status st;
    if (sv->n >= NONE - 1)
        return dg__fail(ctx, DG_ERANGE, "too many names");
    if ((st = strmap_grow(ctx, m, sv)) < 0 ||
        (st = strvec_push(ctx, sv, str, len)) < 0)
        return st;
    *idx = (uint32_t)(sv->n - 1);
    strmap_insert(m, sv, *idx);
    return DG_OK;
}

/* ---- messages ------------------------------------------------------------ */

/* Formats v so that it reads back as the same double (as import_coco.c). */
static const char *fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.15g", v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, size, "%.17g", v);
    return buf;
}

/* "'<path>': line <n>: field '<field>': <problem>"; field may be NULL. */
static dg_status line_fail(dg_ctx *ctx, const char *path, size_t line,
                           const char *field, const char *fmt, ...)
    DG_PRINTF(5, 6);
static dg_status line_fail(dg_ctx *ctx, const char *path, size_t line,
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

/* A warning that may fire on many lines: counted, reported once. */
typedef struct warn_count {
    size_t n;
    char where[2048]; /* "'<path>': line <n>: field '<f>'" of the first */
    char what[1100];  /* the problem, as found there */
} warn_count;

static void warn_note(warn_count *w, const char *path, size_t line,
                      const char *field, const char *fmt, ...)
    DG_PRINTF(5, 6);
static void warn_note(warn_count *w, const char *path, size_t line,
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

static void warn_emit(dg_ctx *ctx, const warn_count *w, const char *one,
                      const char *many)
{
    if (w->n)
        dg__warn(ctx, "%s: %s (%zu %s in all)", w->where, w->what, w->n,
                 w->n == 1 ? one : many);
}

/* ---- files ---------------------------------------------------------------- */

static char *join_path(dg_ctx *ctx, const char *dir, const char *name)
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
static dg_status slurp(dg_ctx *ctx, const char *path, char **buf, size_t *len)
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
static dg_status list_dir(dg_ctx *ctx, const char *dir, const char *ext,
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
        char *full = join_path(ctx, dir, e->d_name);
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
        if ((st = strvec_push(ctx, out, e->d_name, n)) < 0)
            break;
    }
    closedir(d);
    if (st < 0)
        return st;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    return DG_OK;
}

/*
 * Line iteration over a buffer: strips a UTF-8 byte-order mark, a
 * trailing CR, and reports NUL bytes.
 */
typedef struct lines {
    char *p, *end;
    size_t no;
} lines;

static void lines_init(lines *it, char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->no = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        it->p += 3;
}

/* The next line, NUL-terminated in place; NULL at the end. *nul is set
 * when the line holds a NUL byte. */
static char *lines_next(lines *it, int *nul)
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
static int split(char *s, char **f, int max, int commas)
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
static int parse_num(const char *t, double *out)
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

static dg_status field_num(dg_ctx *ctx, const char *path, size_t line,
                           const char *field, const char *tok, double *out)
{
    int r = parse_num(tok, out);
    if (r == -1)
        return line_fail(ctx, path, line, field, "not a number ('%s')", tok);
    if (r == -2)
        return line_fail(ctx, path, line, field, "not a finite number ('%s')",
                         tok);
    return DG_OK;
}

/* The file name less its last extension (".txt"): the frame id. */
static size_t stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

/* ---- the import state -------------------------------------------------- */

typedef struct imp {
    dg_ctx *ctx;
    const dg_txt_opts *o;
    dg_project *p;
    int creating; /* with ground truth: classes and frames are made here */
    const char *gt_dir;

    /*
     * Classes. cnames/cmap hold the names a class token can resolve to.
     * fixed: names from a names file or the project; open: names as found
     * (first-seen order, sorted at the end). cls_of[i] is the final class
     * of name i (or NONE: not in the project) once known.
     */
    int fixed;
    strvec cnames;
    strmap cmap;
    uint32_t *cls_of;
    int64_t *class_id; /* creating: the id of each class */

    /* Frames: ids (stems) in frame order, and their sizes. */
    strvec fids;
    strmap fmap;
    double *fw, *fh;

    /* Sizes from the sizes file, by image stem. */
    strvec snames;
    strmap smap;
    double *sw, *sh;
    size_t s_cap;

    warn_count zero_box, out_of_range, dropped;
} imp;

static void imp_release(imp *s)
{
    strvec_release(&s->cnames);
    strmap_release(&s->cmap);
    free(s->cls_of);
    free(s->class_id);
    strvec_release(&s->fids);
    strmap_release(&s->fmap);
    free(s->fw);
    free(s->fh);
    strvec_release(&s->snames);
    strmap_release(&s->smap);
    free(s->sw);
    free(s->sh);
}

/* ---- names file ---------------------------------------------------------- */

static dg_status read_names(imp *s, const char *path)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL, *ln;
    size_t len;
    lines it;
    dg_status st;
    size_t blank_from = 0; /* first line of a run of blank lines */
    size_t *line_of = NULL, cap = 0;

    if ((st = slurp(ctx, path, &buf, &len)) < 0)
        return st;
    lines_init(&it, buf, len);
    int nul;
    while ((ln = lines_next(&it, &nul))) {
        if (nul) {
            st = line_fail(ctx, path, it.no, NULL, "NUL byte");
            goto out;
        }
        /* Names may hold inner spaces ("traffic light"); the ends are
         * trimmed. */
        while (*ln == ' ' || *ln == '\t')
            ln++;
        size_t n = strlen(ln);
        while (n && (ln[n - 1] == ' ' || ln[n - 1] == '\t'))
            n--;
        if (!n) {
            if (!blank_from)
                blank_from = it.no;
            continue;
        }
        if (blank_from) {
            /* Blank lines at the end are fine; inside they would shift
             * every index after them. */
            st = line_fail(ctx, path, blank_from, NULL, "empty class name");
            goto out;
        }
        if (n > MAX_NAME) {
            st = line_fail(ctx, path, it.no, NULL, "class name longer than "
                           "%d bytes", MAX_NAME);
            goto out;
        }
        char end = ln[n];
        ln[n] = 0;
        int utf8 = dg__utf8_valid(ln);
        ln[n] = end;
        if (!utf8) {
            st = line_fail(ctx, path, it.no, NULL, "class name is not valid "
                           "UTF-8");
            goto out;
        }
        uint32_t have = strmap_find(&s->cmap, &s->cnames, ln, n);
        if (have != NONE) {
            ln[n] = 0;
            st = line_fail(ctx, path, it.no, NULL, "duplicate class name '%s' "
                           "(also line %zu)", ln, line_of[have]);
            goto out;
        }
        uint32_t idx;
        if ((st = strmap_add(ctx, &s->cmap, &s->cnames, ln, n, &idx)) < 0)
            goto out;
        if (idx >= cap) {
            size_t nc = cap ? cap * 2 : 64;
            size_t *nl = realloc(line_of, nc * sizeof(*nl));
            if (!nl) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                goto out;
            }
            line_of = nl;
            cap = nc;
        }
        line_of[idx] = it.no;
    }
    if (s->cnames.n == 0)
        st = dg__fail(ctx, DG_EFORMAT, "'%s': no class names", path);
out:
    free(line_of);
    free(buf);
    return st;
}

/* ---- sizes file ---------------------------------------------------------- */

/* Adds image -> (w, h) under the image's base name less its extension. */
static dg_status size_add(imp *s, const char *image, double w, double h,
                          uint32_t *dup)
{
    const char *b = image;
    for (const char *q = image; *q; q++)
        if (*q == '/' || *q == '\\')
            b = q + 1;
    size_t n = stem_len(b);
    *dup = strmap_find(&s->smap, &s->snames, b, n);
    if (*dup != NONE)
        return DG_OK;
    uint32_t idx;
    dg_status st = strmap_add(s->ctx, &s->smap, &s->snames, b, n, &idx);
    if (st < 0)
        return st;
    if (idx >= s->s_cap) {
        size_t cap = s->s_cap ? s->s_cap * 2 : 256;
        double *a = realloc(s->sw, cap * sizeof(double));
        if (a)
            s->sw = a;
        double *c = realloc(s->sh, cap * sizeof(double));
        if (c)
            s->sh = c;
        if (!a || !c)
            return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
        s->s_cap = cap;
    }
    s->sw[idx] = w;
    s->sh[idx] = h;
    return DG_OK;
}

static dg_status size_check(dg_ctx *ctx, const char *path, size_t line,
                            const char *rec, const char *field, double v)
{
    char nb[40];
    if (v > 0)
        return DG_OK;
    if (rec)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s: field '%s': not positive "
                        "(%s)", path, rec, field, fmt_num(nb, sizeof(nb), v));
    return line_fail(ctx, path, line, field, "not positive (%s)",
                     fmt_num(nb, sizeof(nb), v));
}

/* One JSON size record: {"file_name"|"image": s, "width": n, "height": n}
 * or, under a name key, [w, h] or {"width", "height"}. */
static dg_status json_size(imp *s, const char *path, const char *rec,
                           const char *image, const cJSON *v)
{
    dg_ctx *ctx = s->ctx;
    const cJSON *w = NULL, *h = NULL;
    double d[2];
    dg_status st;
    uint32_t dup;
    if (cJSON_IsArray(v)) {
        if (cJSON_GetArraySize(v) != 2)
            return dg__fail(ctx, DG_EFORMAT, "'%s': %s: not [width, height]",
                            path, rec);
        w = cJSON_GetArrayItem(v, 0);
        h = cJSON_GetArrayItem(v, 1);
    } else if (cJSON_IsObject(v)) {
        w = cJSON_GetObjectItemCaseSensitive(v, "width");
        h = cJSON_GetObjectItemCaseSensitive(v, "height");
        if (!image) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "file_name");
            if (!n)
                n = cJSON_GetObjectItemCaseSensitive(v, "image");
            if (!cJSON_IsString(n) || !n->valuestring[0])
                return dg__fail(ctx, DG_EFORMAT, "'%s': %s: field "
                                "'file_name': missing or not a string", path,
                                rec);
            image = n->valuestring;
        }
    } else {
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s: not an object or "
                        "[width, height]", path, rec);
    }
    const cJSON *wh[2] = {w, h};
    static const char *const fields[2] = {"width", "height"};
    for (int i = 0; i < 2; i++) {
        if (!cJSON_IsNumber(wh[i]) || !isfinite(wh[i]->valuedouble))
            return dg__fail(ctx, DG_EFORMAT, "'%s': %s: field '%s': missing "
                            "or not a finite number", path, rec, fields[i]);
        d[i] = wh[i]->valuedouble;
        if ((st = size_check(ctx, path, 0, rec, fields[i], d[i])) < 0)
            return st;
    }
    if ((st = size_add(s, image, d[0], d[1], &dup)) < 0)
        return st;
    if (dup != NONE)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s: duplicate image '%s'",
                        path, rec, image);
    return DG_OK;
}

static dg_status read_sizes_json(imp *s, const char *path, const char *buf,
                                 size_t len)
{
    dg_ctx *ctx = s->ctx;
    dg_status st = DG_OK;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    char rec[1200];
    if (!root) {
        size_t off = end && end >= buf && end <= buf + len
                         ? (size_t)(end - buf) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off; i++)
            line += buf[i] == '\n';
        return dg__fail(ctx, DG_EFORMAT, "'%s': not valid JSON near byte %zu "
                        "(line %zu)", path, off, line);
    }
    const cJSON *arr = root, *c;
    const char *aname = "";
    if (cJSON_IsObject(root)) {
        const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(root, "images");
        if (cJSON_IsArray(imgs)) {
            arr = imgs; /* a COCO instances file */
            aname = "images";
        } else {
            cJSON_ArrayForEach(c, root) {
                snprintf(rec, sizeof(rec), "'%.1000s'", c->string);
                if ((st = json_size(s, path, rec, c->string, c)) < 0)
                    goto out;
            }
            goto out;
        }
    }
    if (!cJSON_IsArray(arr)) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': top level is neither an object "
                      "nor an array", path);
        goto out;
    }
    size_t i = 0;
    cJSON_ArrayForEach(c, arr) {
        snprintf(rec, sizeof(rec), "%s[%zu]", aname, i++);
        if ((st = json_size(s, path, rec, NULL, c)) < 0)
            goto out;
    }
out:
    cJSON_Delete(root);
    return st;
}

static dg_status read_sizes(imp *s, const char *path)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL, *ln, *f[4];
    size_t len, *line_of = NULL, line_cap = 0;
    lines it;
    dg_status st;
    int nul;

    if ((st = slurp(ctx, path, &buf, &len)) < 0)
        return st;
    size_t k = 0;
    while (k < len && isspace((unsigned char)buf[k]))
        k++;
    if (k < len && (buf[k] == '{' || buf[k] == '[')) {
        if (memchr(buf, 0, len))
            st = dg__fail(ctx, DG_EFORMAT, "'%s': not valid JSON: NUL byte",
                          path);
        else
            st = read_sizes_json(s, path, buf, len);
        goto out;
    }
    lines_init(&it, buf, len);
    int first = 1;
    while ((ln = lines_next(&it, &nul))) {
        double d[2];
        uint32_t dup;
        if (nul) {
            st = line_fail(ctx, path, it.no, NULL, "NUL byte");
            break;
        }
        int n = split(ln, f, 4, 1);
        if (n == 0 || f[0][0] == '#')
            continue;
        if (n != 3) {
            st = line_fail(ctx, path, it.no, NULL, "has %d field%s, expected "
                           "3: <image> <width> <height>", n, n == 1 ? "" : "s");
            break;
        }
        /* A header line ("image,width,height") is allowed first. */
        if (first && parse_num(f[1], &d[0]) == -1 &&
            parse_num(f[2], &d[1]) == -1) {
            first = 0;
            continue;
        }
        first = 0;
        if ((st = field_num(ctx, path, it.no, "width", f[1], &d[0])) < 0 ||
            (st = size_check(ctx, path, it.no, NULL, "width", d[0])) < 0 ||
            (st = field_num(ctx, path, it.no, "height", f[2], &d[1])) < 0 ||
            (st = size_check(ctx, path, it.no, NULL, "height", d[1])) < 0)
            break;
        if ((st = size_add(s, f[0], d[0], d[1], &dup)) < 0)
            break;
        if (dup != NONE) {
            st = line_fail(ctx, path, it.no, "image", "duplicate image '%s' "
                           "(also line %zu)", f[0], line_of[dup]);
            break;
        }
        if (s->snames.n > line_cap) {
            size_t nc = line_cap ? line_cap * 2 : 256;
            size_t *nl = realloc(line_of, nc * sizeof(*nl));
            if (!nl) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                break;
            }
            line_of = nl;
            line_cap = nc;
        }
        line_of[s->snames.n - 1] = it.no;
    }
out:
    free(line_of);
    free(buf);
    return st;
}

/* ---- frames --------------------------------------------------------------- */

typedef struct frame_key {
    const char *key; /* stem + the ground truth's extension: the sort key */
    size_t stem;
    int owned;       /* key was made here (a frame without labels) */
} frame_key;

static int cmp_frame_key(const void *a, const void *b)
{
    return strcmp(((const frame_key *)a)->key, ((const frame_key *)b)->key);
}

/*
 * The frames when creating: one per ground-truth file, plus (with
 * unlabeled_frames) one per detection file without one, ordered by the
 * ground-truth file name (for the latter: as if it existed), and their
 * sizes from the sizes file.
 */
static dg_status make_frames(imp *s, const strvec *gt_files,
                             const char *gt_ext, const strvec *dt_files,
                             int n_dt)
{
    dg_ctx *ctx = s->ctx;
    dg_status st = DG_OK;
    size_t n = 0, cap = gt_files->n, el = strlen(gt_ext);
    strvec seen_v = {0};
    strmap seen = {0};
    frame_key *k = NULL;
    uint32_t idx;

    for (int i = 0; s->o->unlabeled_frames && i < n_dt; i++)
        cap += dt_files[i].n;
    k = dg__calloc(ctx, cap, sizeof(*k));
    if (!k)
        return DG_ENOMEM;
    for (size_t i = 0; i < gt_files->n; i++) {
        const char *f = gt_files->v[i];
        size_t sl = strlen(f) - el;
        if (!dg__utf8_valid(f)) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s/%s': the file name (the "
                          "frame id) is not valid UTF-8", s->gt_dir, f);
            goto out;
        }
        if ((st = strmap_add(ctx, &seen, &seen_v, f, sl, &idx)) < 0)
            goto out;
        k[n].key = f;
        k[n].stem = sl;
        n++;
    }
    for (int d = 0; s->o->unlabeled_frames && d < n_dt; d++) {
        for (size_t i = 0; i < dt_files[d].n; i++) {
            const char *f = dt_files[d].v[i];
            size_t sl = stem_len(f);
            if (strmap_find(&seen, &seen_v, f, sl) != NONE)
                continue;
            if (!dg__utf8_valid(f)) {
                st = dg__fail(ctx, DG_EFORMAT, "'%s': the file name (the "
                              "frame id) is not valid UTF-8", f);
                goto out;
            }
            if ((st = strmap_add(ctx, &seen, &seen_v, f, sl, &idx)) < 0)
                goto out;
            char *key = dg__alloc(ctx, sl + el + 1, 1);
            if (!key) {
                st = DG_ENOMEM;
                goto out;
            }
            memcpy(key, f, sl);
            memcpy(key + sl, gt_ext, el + 1);
            k[n].key = key;
            k[n].stem = sl;
            k[n].owned = 1;
            n++;
        }
    }
    qsort(k, n, sizeof(*k), cmp_frame_key);
    if (n >= NONE) {
        st = dg__fail(ctx, DG_ERANGE, "too many frames");
        goto out;
    }
    s->fw = dg__alloc(ctx, n, sizeof(double));
    s->fh = dg__alloc(ctx, n, sizeof(double));
    if (!s->fw || !s->fh) {
        st = DG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((st = strmap_add(ctx, &s->fmap, &s->fids, k[i].key, k[i].stem,
                             &idx)) < 0)
            goto out;
        uint32_t sz = strmap_find(&s->smap, &s->snames, k[i].key, k[i].stem);
        s->fw[i] = sz != NONE ? s->sw[sz] : NAN;
        s->fh[i] = sz != NONE ? s->sh[sz] : NAN;
    }
out:
    for (size_t i = 0; i < n; i++)
        if (k[i].owned)
            free((char *)k[i].key);
    free(k);
    strmap_release(&seen);
    strvec_release(&seen_v);
    return st;
}

/* The frames of an existing project, with sizes from the sizes file where
 * it has them, else the project's. */
static dg_status project_frames(imp *s)
{
    dg_ctx *ctx = s->ctx;
    const dg_project *p = s->p;
    dg_status st;
    s->fw = dg__alloc(ctx, p->n_frames, sizeof(double));
    s->fh = dg__alloc(ctx, p->n_frames, sizeof(double));
    if (!s->fw || !s->fh)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < p->n_frames; i++) {
        const char *id = p->frame_ids[i];
        uint32_t idx;
        size_t n = strlen(id);
        /* Duplicate ids (possible in hand-written files): the first wins. */
        if (strmap_find(&s->fmap, &s->fids, id, n) != NONE) {
            if ((st = strvec_push(ctx, &s->fids, id, n)) < 0)
                return st;
        } else if ((st = strmap_add(ctx, &s->fmap, &s->fids, id, n,
                                    &idx)) < 0) {
            return st;
        }
        uint32_t sz = strmap_find(&s->smap, &s->snames, id, n);
        s->fw[i] = sz != NONE ? s->sw[sz] : p->frame_w[i];
        s->fh[i] = sz != NONE ? s->sh[sz] : p->frame_h[i];
    }
    return DG_OK;
}

/* ---- classes --------------------------------------------------------------- */

/*
 * Resolves a class token to a class: *cls, or NONE when the detection is
 * to be dropped. Errors name the file and line.
 */
static dg_status resolve_class(imp *s, const char *path, size_t line,
                               const char *field, const char *tok, int is_dt,
                               uint32_t *cls)
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    uint32_t idx;
    dg_status st;

    if (o->format == DG_TXT_YOLO) {
        const char *q = tok;
        while (isdigit((unsigned char)*q))
            q++;
        if (q == tok || *q || q - tok > 9)
            return line_fail(ctx, path, line, field, "not a class index "
                             "('%s')", tok);
        idx = (uint32_t)strtoul(tok, NULL, 10);
        if (idx >= s->cnames.n)
            return line_fail(ctx, path, line, field, "unknown class index "
                             "%u ('%s' has %zu class%s)", idx, o->names_path,
                             s->cnames.n, s->cnames.n == 1 ? "" : "es");
    } else {
        size_t n = strlen(tok);
        if (!dg__utf8_valid(tok))
            return line_fail(ctx, path, line, field, "class name is not "
                             "valid UTF-8");
        idx = strmap_find(&s->cmap, &s->cnames, tok, n);
        if (idx == NONE) {
            if (!s->fixed) {
                if (n > MAX_NAME)
                    return line_fail(ctx, path, line, field, "class name "
                                     "longer than %d bytes", MAX_NAME);
                if ((st = strmap_add(ctx, &s->cmap, &s->cnames, tok, n,
                                     &idx)) < 0)
                    return st;
                *cls = idx;
                return DG_OK;
            }
            if (is_dt && o->drop_unknown_classes) {
                warn_note(&s->dropped, path, line, field, "unknown class "
                          "'%s', detection dropped", tok);
                *cls = NONE;
                return DG_OK;
            }
            if (s->creating)
                return line_fail(ctx, path, line, field, "unknown class "
                                 "'%s' (not in '%s')", tok, o->names_path);
            return line_fail(ctx, path, line, field, "unknown class '%s' "
                             "(the project has no such class)", tok);
        }
    }
    *cls = s->cls_of ? s->cls_of[idx] : idx;
    if (*cls == NONE) {
        /* A YOLO name the project does not have. */
        if (is_dt && o->drop_unknown_classes) {
            warn_note(&s->dropped, path, line, field, "unknown class '%s' "
                      "(index %s), detection dropped", s->cnames.v[idx], tok);
            return DG_OK;
        }
        return line_fail(ctx, path, line, field, "unknown class '%s' (index "
                         "%s; the project has no such class)",
                         s->cnames.v[idx], tok);
    }
    return DG_OK;
}

/* ---- box lines ------------------------------------------------------------- */

static const char *const box_fields[3][4] = {
    {"left", "top", "right", "bottom"},
    {"left", "top", "width", "height"},
    {"x_center", "y_center", "width", "height"},
};

/* "<class> <left> <top> <right> <bottom> [difficult]" and the like. */
static void layout(const dg_txt_opts *o, int is_dt, char *buf, size_t cap)
{
    const char *const *bf = box_fields[o->box];
    const char *cls = o->format == DG_TXT_YOLO ? "<class-index>" : "<class>";
    const char *conf_l = is_dt && o->conf_leading ? " <confidence>" : "";
    const char *conf_t = is_dt && !o->conf_leading ? " <confidence>" : "";
    const char *diff = !is_dt && o->format == DG_TXT_CARTUCHO ? " [difficult]"
                                                               : "";
    snprintf(buf, cap, "%s%s <%s> <%s> <%s> <%s>%s%s", cls, conf_l, bf[0],
             bf[1], bf[2], bf[3], conf_t, diff);
}

/*
 * Converts the four numbers v of a line to x, y, w, h in pixels. Checks
 * the layout's constraints; notes zero sizes and relative values outside
 * [0, 1].
 */
static dg_status convert_box(imp *s, const char *path, size_t line,
                             uint32_t frame, const double v[4], double b[4])
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    const char *const *bf = box_fields[o->box];
    char n1[40], n2[40];

    if (o->box == DG_TXT_BOX_XYXY) {
        for (int i = 0; i < 2; i++) {
            if (v[i + 2] < v[i])
                return line_fail(ctx, path, line, bf[i + 2], "less than %s "
                                 "(%s < %s)", bf[i],
                                 fmt_num(n1, sizeof(n1), v[i + 2]),
                                 fmt_num(n2, sizeof(n2), v[i]));
        }
        b[0] = v[0];
        b[1] = v[1];
        b[2] = v[2] - v[0];
        b[3] = v[3] - v[1];
    } else {
        for (int i = 2; i < 4; i++) {
            if (v[i] < 0)
                return line_fail(ctx, path, line, bf[i], "negative (%s)",
                                 fmt_num(n1, sizeof(n1), v[i]));
        }
        b[2] = v[2];
        b[3] = v[3];
        if (o->box == DG_TXT_BOX_XYWH) {
            b[0] = v[0];
            b[1] = v[1];
        } else {
            b[0] = v[0] - v[2] / 2;
            b[1] = v[1] - v[3] / 2;
        }
    }
    if (o->relative) {
        double W = s->fw[frame], H = s->fh[frame];
        if (isnan(W) || isnan(H))
            return line_fail(ctx, path, line, NULL, "relative coordinates "
                             "need the image size of frame '%s', and there "
                             "is none%s", s->fids.v[frame],
                             o->sizes_path ? " in the sizes file" : "");
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > 1) {
                warn_note(&s->out_of_range, path, line, bf[i], "relative "
                          "value outside [0, 1] (%s)",
                          fmt_num(n1, sizeof(n1), v[i]));
                break;
            }
        }
        b[0] *= W;
        b[2] *= W;
        b[1] *= H;
        b[3] *= H;
    }
    if (b[2] == 0 || b[3] == 0)
        warn_note(&s->zero_box, path, line, b[2] == 0 ? bf[2] : bf[3],
                  "zero width or height");
    return DG_OK;
}

/*
 * One ground-truth (is_dt 0) or detection (is_dt 1) text file of frame
 * into b.
 */
static dg_status read_txt(imp *s, const char *path, uint32_t frame, int is_dt,
                          dg_boxset *b)
{
    dg_ctx *ctx = s->ctx;
    const dg_txt_opts *o = s->o;
    char *buf = NULL, *ln, *f[8];
    size_t len;
    lines it;
    dg_status st;
    int nul;
    int diff_ok = !is_dt && o->format == DG_TXT_CARTUCHO;
    int want = is_dt ? 6 : 5;
    char lay[160], n1[40];

    if ((st = slurp(ctx, path, &buf, &len)) < 0)
        return st;
    lines_init(&it, buf, len);
    while ((ln = lines_next(&it, &nul))) {
        double v[4] = {0}, box[4] = {0}, conf = 0;
        uint8_t difficult = 0;
        uint32_t cls;
        if (nul) {
            st = line_fail(ctx, path, it.no, NULL, "NUL byte");
            goto out;
        }
        int n = split(ln, f, 8, 0);
        if (n == 0)
            continue;
        if (n != want && !(diff_ok && n == want + 1)) {
            layout(o, is_dt, lay, sizeof(lay));
            st = line_fail(ctx, path, it.no, NULL, "has %d field%s, expected "
                           "%d%s: %s%s", n, n == 1 ? "" : "s", want,
                           diff_ok ? " or 6" : "", lay,
                           n > want && o->format != DG_TXT_YOLO
                               ? " (class names cannot contain spaces)" : "");
            goto out;
        }
        if (n == want + 1) {
            if (strcmp(f[want], "difficult")) {
                st = line_fail(ctx, path, it.no, "difficult", "expected "
                               "'difficult' or nothing, got '%s' (class names "
                               "cannot contain spaces)", f[want]);
                goto out;
            }
            difficult = 1;
        }
        int k = 1; /* next field */
        if ((st = resolve_class(s, path, it.no, "class", f[0], is_dt,
                                 &cls)) < 0)
            goto out;
        if (is_dt && o->conf_leading) {
            if ((st = field_num(ctx, path, it.no, "confidence", f[k++],
                                &conf)) < 0)
                goto out;
        }
        for (int i = 0; i < 4; i++) {
            if ((st = field_num(ctx, path, it.no, box_fields[o->box][i],
                                f[k++], &v[i])) < 0)
                goto out;
        }
        if (is_dt && !o->conf_leading) {
            if ((st = field_num(ctx, path, it.no, "confidence", f[k++],
                                &conf)) < 0)
                goto out;
        }
        if (is_dt && (conf < 0 || conf > 1)) {
            st = line_fail(ctx, path, it.no, "confidence", "out of range "
                           "[0, 1] (%s)", fmt_num(n1, sizeof(n1), conf));
            goto out;
        }
        if ((st = convert_box(s, path, it.no, frame, v, box)) < 0)
            goto out;
        if (cls == NONE)
            continue; /* dropped, noted */
        if ((st = dg__boxset_reserve(ctx, b, is_dt ? DG_BOXES_DETS
                                                   : DG_BOXES_LABELS, 1)) < 0)
            goto out;
        dg__boxset_push(b, frame, cls, box[0], box[1], box[2], box[3], conf,
                        box[2] * box[3], 0, difficult);
    }
    st = DG_OK;
out:
    free(buf);
    return st;
}

/* ---- Pascal VOC XML ------------------------------------------------------- */

#ifdef DG_HAVE_EXPAT

/* Elements we care about, by their place in the tree. */
enum {
    X_OTHER = 0, X_ANNOTATION, X_SIZE, X_WIDTH, X_HEIGHT, X_OBJECT, X_NAME,
    X_DIFFICULT, X_BNDBOX, X_XMIN, X_YMIN, X_XMAX, X_YMAX
};

static const char *const x_field[] = {
    "", "annotation", "size", "size/width", "size/height", "object", "name",
    "difficult", "bndbox", "bndbox/xmin", "bndbox/ymin", "bndbox/xmax",
    "bndbox/ymax"
};

#define X_DEPTH 64

typedef struct xml_state {
    imp *s;
    const char *path;
    XML_Parser parser;
    dg_status st;
    int depth;
    int stack[X_DEPTH]; /* element kind per depth (1-based) */
    /* Text of the leaf being read. */
    char text[MAX_NAME + 1];
    size_t text_len;
    int text_long;
    /* The annotation's size. */
    int have_size[2];
    double size[2];
    /* The object being read. */
    size_t obj_line;
    int have[X_YMAX + 1];        /* leaf seen */
    size_t line[X_YMAX + 1];     /* where */
    char name[MAX_NAME + 1];
    double v[4];
    uint8_t difficult;
    /* Objects so far: class token, box, difficult and line. */
    struct xobj {
        char *name;
        double v[4];
        uint8_t difficult;
        size_t line;
    } *objs;
    size_t n_objs, cap_objs;
} xml_state;

static size_t xml_line(xml_state *x)
{
    return (size_t)XML_GetCurrentLineNumber(x->parser);
}

static void xml_stop(xml_state *x, dg_status st)
{
    if (x->st == DG_OK)
        x->st = st;
    XML_StopParser(x->parser, XML_FALSE);
}

static int child_kind(int parent, int depth, const char *el)
{
    if (depth == 1)
        return !strcmp(el, "annotation") ? X_ANNOTATION : -1;
    switch (parent) {
    case X_ANNOTATION:
        if (!strcmp(el, "size"))
            return X_SIZE;
        if (!strcmp(el, "object"))
            return X_OBJECT;
        break;
    case X_SIZE:
        if (!strcmp(el, "width"))
            return X_WIDTH;
        if (!strcmp(el, "height"))
            return X_HEIGHT;
        break;
    case X_OBJECT:
        if (!strcmp(el, "name"))
            return X_NAME;
        if (!strcmp(el, "difficult"))
            return X_DIFFICULT;
        if (!strcmp(el, "bndbox"))
            return X_BNDBOX;
        break;
    case X_BNDBOX:
        if (!strcmp(el, "xmin"))
            return X_XMIN;
        if (!strcmp(el, "ymin"))
            return X_YMIN;
        if (!strcmp(el, "xmax"))
            return X_XMAX;
        if (!strcmp(el, "ymax"))
            return X_YMAX;
        break;
    }
    return X_OTHER;
}

static void XMLCALL x_start(void *ud, const XML_Char *el,
                            const XML_Char **attr)
{
    xml_state *x = ud;
    (void)attr;
    if (x->st < 0)
        return;
    int parent = x->depth ? x->stack[x->depth - 1] : 0;
    int kind = child_kind(parent, x->depth + 1, el);
    if (kind < 0) {
        xml_stop(x, line_fail(x->s->ctx, x->path, xml_line(x), NULL, "root "
                              "element is <%s>, expected <annotation>", el));
        return;
    }
    if (x->depth >= X_DEPTH) {
        xml_stop(x, line_fail(x->s->ctx, x->path, xml_line(x), NULL,
                              "elements nested too deep"));
        return;
    }
    x->stack[x->depth++] = kind;
    if (kind == X_OTHER)
        return;
    if (kind == X_OBJECT) {
        x->obj_line = xml_line(x);
        memset(x->have, 0, sizeof(x->have));
        x->difficult = 0;
        return;
    }
    if (kind == X_SIZE || kind == X_ANNOTATION)
        return;
    int size_leaf = kind == X_WIDTH || kind == X_HEIGHT;
    int repeated = size_leaf ? x->have_size[kind - X_WIDTH] : x->have[kind];
    if (repeated) {
        xml_stop(x, line_fail(x->s->ctx, x->path, xml_line(x), x_field[kind],
                              "given twice"));
        return;
    }
    if (!size_leaf) {
        x->have[kind] = 1;
        x->line[kind] = xml_line(x);
    }
    x->text_len = 0;
    x->text_long = 0;
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int len)
{
    xml_state *x = ud;
    if (x->st < 0 || !x->depth)
        return;
    int kind = x->stack[x->depth - 1];
    if (kind == X_OTHER || kind == X_ANNOTATION || kind == X_SIZE ||
        kind == X_OBJECT || kind == X_BNDBOX)
        return;
    size_t n = (size_t)len;
    if (x->text_len + n > MAX_NAME) {
        x->text_long = 1;
        n = MAX_NAME - x->text_len;
    }
    memcpy(x->text + x->text_len, s, n);
    x->text_len += n;
}

/* The leaf's text, trimmed, NUL-terminated in x->text. */
static char *leaf_text(xml_state *x)
{
    char *t = x->text;
    size_t n = x->text_len;
    while (n && isspace((unsigned char)t[n - 1]))
        n--;
    t[n] = 0;
    while (isspace((unsigned char)*t))
        t++;
    return t;
}

static dg_status end_object(xml_state *x)
{
    dg_ctx *ctx = x->s->ctx;
    char n1[40], n2[40];
    if (!x->have[X_NAME])
        return line_fail(ctx, x->path, x->obj_line, "name", "missing");
    if (!x->have[X_BNDBOX])
        return line_fail(ctx, x->path, x->obj_line, "bndbox", "missing");
    for (int i = 0; i < 4; i++) {
        if (!x->have[X_XMIN + i])
            return line_fail(ctx, x->path, x->line[X_BNDBOX],
                             x_field[X_XMIN + i], "missing");
    }
    for (int i = 0; i < 2; i++) {
        if (x->v[i + 2] < x->v[i])
            return line_fail(ctx, x->path, x->line[X_XMAX + i],
                             x_field[X_XMAX + i], "less than %s (%s < %s)",
                             i ? "ymin" : "xmin",
                             fmt_num(n1, sizeof(n1), x->v[i + 2]),
                             fmt_num(n2, sizeof(n2), x->v[i]));
    }
    if (x->n_objs == x->cap_objs) {
        size_t cap = x->cap_objs ? x->cap_objs * 2 : 16;
        struct xobj *o = realloc(x->objs, cap * sizeof(*o));
        if (!o)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
        x->objs = o;
        x->cap_objs = cap;
    }
    struct xobj *o = &x->objs[x->n_objs];
    o->name = dg__strdup(ctx, x->name);
    if (!o->name)
        return DG_ENOMEM;
    memcpy(o->v, x->v, sizeof(o->v));
    o->difficult = x->difficult;
    o->line = x->obj_line;
    x->n_objs++;
    return DG_OK;
}

static void XMLCALL x_end(void *ud, const XML_Char *el)
{
    xml_state *x = ud;
    dg_ctx *ctx = x->s->ctx;
    dg_status st = DG_OK;
    (void)el;
    if (x->st < 0 || !x->depth)
        return;
    int kind = x->stack[--x->depth];
    size_t line = kind == X_WIDTH || kind == X_HEIGHT ? xml_line(x)
                  : kind <= X_YMAX && kind > 0        ? x->line[kind]
                                                      : 0;
    const char *field = x_field[kind];
    char *t;
    double d;
    switch (kind) {
    case X_OBJECT:
        st = end_object(x);
        break;
    case X_NAME:
        t = leaf_text(x);
        if (x->text_long)
            st = line_fail(ctx, x->path, line, field, "longer than %d bytes",
                           MAX_NAME);
        else if (!*t)
            st = line_fail(ctx, x->path, line, field, "empty");
        else
            snprintf(x->name, sizeof(x->name), "%s", t);
        break;
    case X_DIFFICULT:
        t = leaf_text(x);
        if (strcmp(t, "0") && strcmp(t, "1"))
            st = line_fail(ctx, x->path, line, field, "not 0 or 1 ('%.40s')",
                           t);
        else
            x->difficult = t[0] == '1';
        break;
    case X_XMIN:
    case X_YMIN:
    case X_XMAX:
    case X_YMAX:
        t = leaf_text(x);
        st = field_num(ctx, x->path, line, field, t, &x->v[kind - X_XMIN]);
        break;
    case X_WIDTH:
    case X_HEIGHT:
        t = leaf_text(x);
        if ((st = field_num(ctx, x->path, line, field, t, &d)) < 0)
            break;
        if (d < 0) {
            char nb[40];
            st = line_fail(ctx, x->path, line, field, "negative (%s)",
                           fmt_num(nb, sizeof(nb), d));
            break;
        }
        x->have_size[kind - X_WIDTH] = 1;
        /* Some tools write 0 for an unknown size. */
        x->size[kind - X_WIDTH] = d > 0 ? d : NAN;
        break;
    default:
        break;
    }
    if (st < 0)
        xml_stop(x, st);
}

static void xml_release(xml_state *x)
{
    for (size_t i = 0; i < x->n_objs; i++)
        free(x->objs[i].name);
    free(x->objs);
    if (x->parser)
        XML_ParserFree(x->parser);
}

/*
 * One VOC XML file of frame into b: each <object> becomes a label,
 * <difficult>1</difficult> its ignore flag; <size> sets the frame's size.
 */
static dg_status read_xml(imp *s, const char *path, uint32_t frame,
                          dg_boxset *b)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL;
    size_t len;
    dg_status st;
    xml_state *x = dg__calloc(ctx, 1, sizeof(*x));
    if (!x)
        return DG_ENOMEM;
    x->s = s;
    x->path = path;
    if ((st = slurp(ctx, path, &buf, &len)) < 0)
        goto out;
    if (len > INT32_MAX) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': too large", path);
        goto out;
    }
    x->parser = XML_ParserCreate(NULL);
    if (!x->parser) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
        goto out;
    }
    XML_SetUserData(x->parser, x);
    XML_SetElementHandler(x->parser, x_start, x_end);
    XML_SetCharacterDataHandler(x->parser, x_text);
    if (XML_Parse(x->parser, buf, (int)len, 1) == XML_STATUS_ERROR) {
        if (x->st == DG_OK)
            x->st = line_fail(ctx, path, xml_line(x), NULL, "not valid XML: "
                              "%s", XML_ErrorString(XML_GetErrorCode(x->parser)));
    }
    if ((st = x->st) < 0)
        goto out;
    if (!isnan(x->size[0]) && x->have_size[0])
        s->fw[frame] = x->size[0];
    if (!isnan(x->size[1]) && x->have_size[1])
        s->fh[frame] = x->size[1];
    for (size_t i = 0; i < x->n_objs; i++) {
        struct xobj *o = &x->objs[i];
        uint32_t cls;
        double box[4];
        if ((st = resolve_class(s, path, o->line, "name", o->name, 0,
                                     &cls)) < 0)
            goto out;
        box[0] = o->v[0];
        box[1] = o->v[1];
        box[2] = o->v[2] - o->v[0];
        box[3] = o->v[3] - o->v[1];
        if (box[2] == 0 || box[3] == 0)
            warn_note(&s->zero_box, path, o->line, "bndbox",
                      "zero width or height");
        if ((st = dg__boxset_reserve(ctx, b, DG_BOXES_LABELS, 1)) < 0)
            goto out;
        dg__boxset_push(b, frame, cls, box[0], box[1], box[2], box[3], 0,
                        box[2] * box[3], 0, o->difficult);
    }
    st = DG_OK;
out:
    xml_release(x);
    free(x);
    free(buf);
    return st;
}

#endif /* DG_HAVE_EXPAT */

/* ---- committing -------------------------------------------------------------- */

/* Sorts the open class list by name and renumbers the boxes' classes. */
static dg_status finish_classes(imp *s, dg_boxset *labels, dg_boxset *dts,
                                int n_dt)
{
    dg_ctx *ctx = s->ctx;
    size_t n = s->cnames.n;
    uint32_t *rank = dg__alloc(ctx, n, sizeof(*rank));
    char **sorted = dg__alloc(ctx, n, sizeof(*sorted));
    s->class_id = dg__alloc(ctx, n, sizeof(*s->class_id));
    if (!rank || !sorted || !s->class_id) {
        free(rank);
        free(sorted);
        return DG_ENOMEM;
    }
    if (s->fixed) {
        /* Names-file order; the line index is the id. */
        for (size_t i = 0; i < n; i++) {
            rank[i] = (uint32_t)i;
            s->class_id[i] = (int64_t)i;
        }
    } else if (n) {
        memcpy(sorted, s->cnames.v, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_str);
        for (size_t i = 0; i < n; i++) {
            uint32_t old = strmap_find(&s->cmap, &s->cnames, sorted[i],
                                       strlen(sorted[i]));
            rank[old] = (uint32_t)i;
            s->class_id[i] = (int64_t)i + 1;
        }
        /* The names in their new order. */
        memcpy(s->cnames.v, sorted, n * sizeof(*sorted));
        strmap_release(&s->cmap);
    }
    for (uint64_t i = 0; i < labels->n; i++)
        labels->cls[i] = rank[labels->cls[i]];
    for (int d = 0; d < n_dt; d++)
        for (uint64_t i = 0; i < dts[d].n; i++)
            dts[d].cls[i] = rank[dts[d].cls[i]];
    free(rank);
    free(sorted);
    return DG_OK;
}

/* As project.c's check, so that the sets can be added after the rest is
 * done. */
static int valid_set_name(const char *name)
{
    if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c == '/' || *c < 0x20)
            return 0;
    return 1;
}

/* ---- the import ------------------------------------------------------------ */

/* The classes when adding detections to an existing project. */
static dg_status project_classes(imp *s)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    dg_status st;
    uint32_t idx;
    s->fixed = 1;
    if (s->o->format == DG_TXT_YOLO) {
        /* Names from the names file, mapped to the project's by name. */
        s->cls_of = dg__alloc(ctx, s->cnames.n, sizeof(*s->cls_of));
        if (!s->cls_of)
            return DG_ENOMEM;
        for (size_t i = 0; i < s->cnames.n; i++) {
            int64_t k = dg_project_class_index(p, s->cnames.v[i]);
            s->cls_of[i] = k < 0 ? NONE : (uint32_t)k;
        }
        return DG_OK;
    }
    for (uint32_t i = 0; i < p->n_classes; i++) {
        const char *nm = p->class_names[i];
        if (strmap_find(&s->cmap, &s->cnames, nm, strlen(nm)) != NONE) {
            /* Unreachable with unique names; keeps indices aligned. */
            if ((st = strvec_push(ctx, &s->cnames, nm, strlen(nm))) < 0)
                return st;
            continue;
        }
        if ((st = strmap_add(ctx, &s->cmap, &s->cnames, nm, strlen(nm),
                             &idx)) < 0)
            return st;
    }
    return DG_OK;
}

dg_status dg_import_txt(dg_ctx *ctx, dg_project *p, const dg_txt_opts *o,
                        const char *gt_dir, int n_dt,
                        const char *const *dt_dirs,
                        const char *const *set_names, int replace)
{
    imp s;
    dg_status st = DG_OK;
    strvec gt_files = {0};
    strvec *dt_files = NULL;
    dg_boxset labels, *dts = NULL;
    dg_project *tmp = NULL;
    uint32_t *added = NULL;
    int n_added = 0;
    const char *gt_ext = o && o->format == DG_TXT_VOC_XML ? ".xml" : ".txt";

    memset(&s, 0, sizeof(s));
    dg__boxset_init(&labels);
    if (!p || !o || n_dt < 0 || (n_dt && (!dt_dirs || !set_names)))
        return dg__fail(ctx, DG_EINVAL, "import: bad arguments");
    if (!gt_dir && !n_dt)
        return dg__fail(ctx, DG_EINVAL, "import: no ground truth and no "
                        "detections to import");
    if (o->format < DG_TXT_CARTUCHO || o->format > DG_TXT_VOC_XML ||
        o->box < DG_TXT_BOX_XYXY || o->box > DG_TXT_BOX_CXCYWH)
        return dg__fail(ctx, DG_EINVAL, "import: unknown format or box "
                        "layout");
    if (o->format == DG_TXT_VOC_XML && gt_dir && !dg_import_have_xml())
        return dg__fail(ctx, DG_EINVAL, "'%s': Pascal VOC XML support was not "
                        "compiled in (install expat, e.g. Debian's "
                        "libexpat1-dev, and rebuild)", gt_dir);
    if (o->format == DG_TXT_YOLO && !o->names_path)
        return dg__fail(ctx, DG_EINVAL, "yolo files hold class indices: a "
                        "class names file is required");
    if (!gt_dir && o->names_path && o->format != DG_TXT_YOLO)
        return dg__fail(ctx, DG_EINVAL, "'%s': a class names file is only "
                        "used with ground truth (the project's classes are "
                        "fixed)", o->names_path);
    for (int i = 0; i < n_dt; i++) {
        if (!dt_dirs[i])
            return dg__fail(ctx, DG_EINVAL, "import: no detection folder");
        if (!valid_set_name(set_names[i]))
            return dg__fail(ctx, DG_EINVAL, "invalid inference set name '%s' "
                            "(must be non-empty, without '/' or control "
                            "characters)", set_names[i] ? set_names[i] : "");
        for (int j = 0; j < i; j++)
            if (!strcmp(set_names[i], set_names[j]))
                return dg__fail(ctx, DG_EINVAL, "inference set '%s' given "
                                "twice", set_names[i]);
        if (!gt_dir && !replace &&
            dg_project_inference_index(p, set_names[i]) >= 0)
            return dg__fail(ctx, DG_EEXIST, "inference set '%s' already "
                            "exists", set_names[i]);
    }
    if (gt_dir && (p->n_classes || p->n_frames || p->n_labels || p->n_meta ||
                   p->n_inf))
        return dg__fail(ctx, DG_EINVAL, "'%s': cannot import ground truth "
                        "into a project that already has classes or frames",
                        gt_dir);
    if (!gt_dir && p->n_frames == 0)
        return dg__fail(ctx, DG_EINVAL, "'%s': the project has no frames; "
                        "import ground truth first", dt_dirs[0]);

    s.ctx = ctx;
    s.o = o;
    s.p = p;
    s.creating = gt_dir != NULL;
    s.gt_dir = gt_dir;
    dt_files = dg__calloc(ctx, (size_t)n_dt, sizeof(*dt_files));
    dts = dg__calloc(ctx, (size_t)n_dt, sizeof(*dts));
    if (!dt_files || !dts) {
        st = DG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n_dt; i++)
        dg__boxset_init(&dts[i]);

    /* Classes and sizes first: every line needs them. */
    if (o->names_path) {
        if ((st = read_names(&s, o->names_path)) < 0)
            goto out;
        s.fixed = 1;
    }
    if (!gt_dir && (st = project_classes(&s)) < 0)
        goto out;
    if (o->sizes_path && (st = read_sizes(&s, o->sizes_path)) < 0)
        goto out;

    /* The files, then the frames they make. */
    if (gt_dir) {
        if ((st = list_dir(ctx, gt_dir, gt_ext, &gt_files)) < 0)
            goto out;
    }
    for (int i = 0; i < n_dt; i++) {
        if ((st = list_dir(ctx, dt_dirs[i], ".txt", &dt_files[i])) < 0)
            goto out;
    }
    /* labelImg writes the class list beside YOLO labels. */
    for (int i = -1; o->format == DG_TXT_YOLO && i < n_dt; i++) {
        strvec *l = i < 0 ? &gt_files : &dt_files[i];
        const char *dir = i < 0 ? gt_dir : dt_dirs[i];
        for (size_t k = 0; dir && k < l->n; k++) {
            if (strcmp(l->v[k], "classes.txt"))
                continue;
            char *path = join_path(ctx, dir, "classes.txt");
            dg__warn(ctx, "'%s': skipped (a class list, as labelImg writes "
                     "it, not a label file)", path ? path : "classes.txt");
            free(path);
            free(l->v[k]);
            memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof(char *));
            l->n--;
            break;
        }
    }
    if (gt_dir && gt_files.n == 0) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': no %s files", gt_dir, gt_ext);
        goto out;
    }
    if (gt_dir)
        st = make_frames(&s, &gt_files, gt_ext, dt_files, n_dt);
    else
        st = project_frames(&s);
    if (st < 0)
        goto out;

    /* Ground truth. */
    for (size_t i = 0; i < gt_files.n; i++) {
        char *path = join_path(ctx, gt_dir, gt_files.v[i]);
        if (!path) {
            st = DG_ENOMEM;
            goto out;
        }
        uint32_t frame = strmap_find(&s.fmap, &s.fids, gt_files.v[i],
                                     strlen(gt_files.v[i]) - strlen(gt_ext));
#ifdef DG_HAVE_EXPAT
        if (o->format == DG_TXT_VOC_XML)
            st = read_xml(&s, path, frame, &labels);
        else
#endif
            st = read_txt(&s, path, frame, 0, &labels);
        free(path);
        if (st < 0)
            goto out;
    }
    if (gt_dir && labels.n == 0) {
        /* An empty box set still needs its columns. */
        if ((st = dg__boxset_reserve(ctx, &labels, DG_BOXES_LABELS, 1)) < 0)
            goto out;
    }

    /* Detections. */
    for (int d = 0; d < n_dt; d++) {
        if ((st = dg__boxset_reserve(ctx, &dts[d], DG_BOXES_DETS, 1)) < 0)
            goto out;
        for (size_t i = 0; i < dt_files[d].n; i++) {
            const char *fn = dt_files[d].v[i];
            char *path = join_path(ctx, dt_dirs[d], fn);
            if (!path) {
                st = DG_ENOMEM;
                goto out;
            }
            uint32_t frame = strmap_find(&s.fmap, &s.fids, fn, stem_len(fn));
            if (frame == NONE) {
                if (gt_dir)
                    st = dg__fail(ctx, DG_EFORMAT, "'%s': no ground-truth "
                                  "file '%.*s%s' in '%s' (a frame without "
                                  "labels needs an empty file)", path,
                                  (int)stem_len(fn), fn, gt_ext, gt_dir);
                else
                    st = dg__fail(ctx, DG_EFORMAT, "'%s': the project has no "
                                  "frame '%.*s'", path, (int)stem_len(fn),
                                  fn);
                free(path);
                goto out;
            }
            st = read_txt(&s, path, frame, 1, &dts[d]);
            free(path);
            if (st < 0)
                goto out;
        }
    }

    uint32_t n_frames = (uint32_t)s.fids.n;
    if (gt_dir) {
        if ((st = finish_classes(&s, &labels, dts, n_dt)) < 0 ||
            (st = dg__boxset_sort_by_frame(ctx, &labels, n_frames)) < 0)
            goto out;
    }
    for (int d = 0; d < n_dt; d++) {
        if ((st = dg__boxset_sort_by_frame(ctx, &dts[d], n_frames)) < 0)
            goto out;
    }

    /* Everything is valid: build, then hand over. */
    if (gt_dir) {
        if ((st = dg_project_create(ctx, &tmp)) < 0)
            goto out;
        for (size_t i = 0; i < s.cnames.n; i++) {
            if ((st = dg__project_add_class(ctx, tmp, s.cnames.v[i],
                                            s.class_id[i])) < 0)
                goto out;
        }
        for (uint32_t i = 0; i < n_frames; i++) {
            if ((st = dg__project_add_frame(ctx, tmp, s.fids.v[i], -1,
                                            s.fw[i], s.fh[i])) < 0)
                goto out;
        }
        for (int d = 0; d < n_dt; d++) {
            uint32_t idx;
            if ((st = dg__project_add_inferences(ctx, tmp, set_names[d],
                                                 &idx)) < 0)
                goto out;
            dg__project_take_inferences(tmp, idx, &dts[d]);
        }
        dg__project_move_classes_frames(p, tmp);
        dg__project_take_labels(p, &labels); /* the old ones released below */
        /* p had no inference sets: take tmp's. */
        dg_infset *inf = p->inf;
        p->inf = tmp->inf;
        p->n_inf = tmp->n_inf;
        tmp->inf = inf;
        tmp->n_inf = 0;
    } else {
        /* New sets first, so that running out of memory can be undone. */
        added = dg__calloc(ctx, (size_t)n_dt, sizeof(*added));
        if (!added) {
            st = DG_ENOMEM;
            goto out;
        }
        for (int d = 0; d < n_dt; d++) {
            if (dg_project_inference_index(p, set_names[d]) >= 0)
                continue;
            uint32_t idx;
            if ((st = dg__project_add_inferences(ctx, p, set_names[d],
                                                 &idx)) < 0) {
                for (int k = n_added; k-- > 0;)
                    dg_project_remove_inferences(ctx, p,
                                                 set_names[added[k]]);
                goto out;
            }
            added[n_added++] = (uint32_t)d;
        }
        for (int d = 0; d < n_dt; d++) {
            int64_t i = dg_project_inference_index(p, set_names[d]);
            dg__project_take_inferences(p, (uint32_t)i, &dts[d]);
        }
    }

    if (gt_dir && p->labels.n == 0)
        dg__warn(ctx, "'%s': no boxes in any file, so the project has no "
                 "labels", gt_dir);
    for (int d = 0; d < n_dt; d++) {
        uint32_t i = (uint32_t)dg_project_inference_index(p, set_names[d]);
        if (p->inf[i].boxes.n == 0)
            dg__warn(ctx, "'%s': no detections", dt_dirs[d]);
    }
    warn_emit(ctx, &s.zero_box, "box", "boxes");
    warn_emit(ctx, &s.out_of_range, "box", "boxes");
    warn_emit(ctx, &s.dropped, "detection", "detections");
    st = DG_OK;
out:
    free(added);
    dg_project_free(tmp);
    dg__boxset_release(&labels);
    for (int d = 0; dts && d < n_dt; d++)
        dg__boxset_release(&dts[d]);
    free(dts);
    for (int d = 0; dt_files && d < n_dt; d++)
        strvec_release(&dt_files[d]);
    free(dt_files);
    strvec_release(&gt_files);
    imp_release(&s);
    return st;
}
