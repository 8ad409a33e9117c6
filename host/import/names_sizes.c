/*
 * The side files of the text-folder importers (txt.h): the class names
 * file (YOLO's index order, or the fixed classes of the others' ground
 * truth) and the image sizes file (for relative coordinates), as text or
 * JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "txt.h"

/* ---- names file ---------------------------------------------------------- */

dg_status dg__txt_read_names(imp *s, const char *path)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL, *ln;
    size_t len;
    lines it;
    dg_status st;
    size_t blank_from = 0; /* first line of a run of blank lines */
    size_t *line_of = NULL, cap = 0;

    if ((st = dg__txt_slurp(ctx, path, &buf, &len)) < 0)
        return st;
    dg__txt_lines_init(&it, buf, len);
    int nul;
    while ((ln = dg__txt_lines_next(&it, &nul))) {
        if (nul) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL, "NUL byte");
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
            st = dg__txt_line_fail(ctx, path, blank_from, NULL,
                                   "empty class name");
            goto out;
        }
        if (n > MAX_NAME) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL,
                                   "class name longer than %d bytes", MAX_NAME);
            goto out;
        }
        char end = ln[n];
        ln[n] = 0;
        const char *why = dg__name_problem(ln, 0);
        ln[n] = end;
        if (why) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL, "class name %s",
                                   !strcmp(why, "not valid UTF-8")
                                       ? "is not valid UTF-8" : why);
            goto out;
        }
        uint32_t have = dg__txt_strmap_find(&s->cmap, &s->cnames, ln, n);
        if (have != NONE) {
            ln[n] = 0;
            st = dg__txt_line_fail(ctx, path, it.no, NULL,
                                   "duplicate class name '%s' (also line %zu)",
                                   ln, line_of[have]);
            goto out;
        }
        uint32_t idx;
        if ((st = dg__txt_strmap_add(ctx, &s->cmap, &s->cnames, ln, n,
                                     &idx)) < 0)
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
    size_t n = dg__txt_stem_len(b);
    *dup = dg__txt_strmap_find(&s->smap, &s->snames, b, n);
    if (*dup != NONE)
        return DG_OK;
    uint32_t idx;
    dg_status st = dg__txt_strmap_add(s->ctx, &s->smap, &s->snames, b, n, &idx);
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
                        "(%s)", path, rec, field, dg__txt_fmt_num(nb,
                                                                  sizeof(nb),
                                                                  v));
    return dg__txt_line_fail(ctx, path, line, field, "not positive (%s)",
                             dg__txt_fmt_num(nb, sizeof(nb), v));
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

dg_status dg__txt_read_sizes(imp *s, const char *path)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL, *ln, *f[4];
    size_t len, *line_of = NULL, line_cap = 0;
    lines it;
    dg_status st;
    int nul;

    if ((st = dg__txt_slurp(ctx, path, &buf, &len)) < 0)
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
    dg__txt_lines_init(&it, buf, len);
    int first = 1;
    while ((ln = dg__txt_lines_next(&it, &nul))) {
        double d[2];
        uint32_t dup;
        if (nul) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL, "NUL byte");
            break;
        }
        int n = dg__txt_split(ln, f, 4, 1);
        if (n == 0 || f[0][0] == '#')
            continue;
        if (n != 3) {
            st = dg__txt_line_fail(ctx, path, it.no, NULL, "has %d field%s, "
                                   "expected 3: <image> <width> <height>", n,
                                   n == 1 ? "" : "s");
            break;
        }
        /* A header line ("image,width,height") is allowed first. */
        if (first && dg__txt_parse_num(f[1], &d[0]) == -1 &&
            dg__txt_parse_num(f[2], &d[1]) == -1) {
            first = 0;
            continue;
        }
        first = 0;
        if ((st = dg__txt_field_num(ctx, path, it.no, "width", f[1],
                                    &d[0])) < 0 ||
            (st = size_check(ctx, path, it.no, NULL, "width", d[0])) < 0 ||
            (st = dg__txt_field_num(ctx, path, it.no, "height", f[2],
                                    &d[1])) < 0 ||
            (st = size_check(ctx, path, it.no, NULL, "height", d[1])) < 0)
            break;
        if ((st = size_add(s, f[0], d[0], d[1], &dup)) < 0)
            break;
        if (dup != NONE) {
            st = dg__txt_line_fail(ctx, path, it.no, "image",
                                   "duplicate image '%s' (also line %zu)", f[0],
                                   line_of[dup]);
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
