/*
 * Frame metadata from CSV (`detgrid import meta`): a header row, then one
 * row per frame. The key column is `frame` (frame ids) or `image_id` (COCO
 * image ids); every other column becomes a frame metadata column, numeric
 * where every non-empty value is a number, else text. Fields may be quoted
 * ("a, b", "say ""hi"""); an empty field is a missing value.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/import.h"
#include "detgrid/segments.h"
#include "json.h"
#include "store.h"

#define MAX_COLS 256

/* Splits one line (ending at '\n', '\r\n' or NUL) into fields, unquoting in
 * place. Returns the field count, or -1 on a bad quote (*why set). */
static int split_line(char **pos, char **fld, int max, const char **why)
{
    char *s = *pos, *w;
    int n = 0;
    for (;;) {
        if (n == max) {
            *why = "too many columns";
            return -1;
        }
        if (*s == '"') {
            fld[n++] = w = ++s;
            for (;;) {
                if (!*s) {
                    *why = "unterminated quoted field";
                    return -1;
                }
                if (*s == '"' && s[1] == '"') {
                    *w++ = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    *w++ = *s++;
                }
            }
            if (*s != ',' && *s != '\n' && *s != '\r' && *s) {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            fld[n++] = w = s;
            while (*s && *s != ',' && *s != '\n' && *s != '\r')
                s++;
            w = s;
        }
        char c = *s;
        *w = 0;
        if (c == ',') {
            s++;
            continue;
        }
        if (c == '\r') {
            s++;
            if (*s == '\n')
                s++;
        } else if (c == '\n') {
            s++;
        }
        *pos = s;
        return n;
    }
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && errno != ERANGE && isfinite(*v);
}

/* The project whose frames qsort orders (qsort has no context argument). */
static const dg_project *sort_p;

static int cmp_id(const void *a, const void *b)
{
    char *const *ids = dg__project_frame_ids(sort_p);
    return strcmp(ids[*(const uint32_t *)a], ids[*(const uint32_t *)b]);
}

/*
 * A COCO image id from a CSV field: an integer, exactly (ids above 2^53
 * included), else a number truncated to one; 0 when it is out of int64's
 * range (converting such a double is undefined).
 */
static int key_num(const char *k, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(k, &end, 10);
    if (end != k && *end == '\0' && errno == 0) {
        *out = v;
        return 1;
    }
    double d = strtod(k, NULL);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return 0;
    *out = (int64_t)d;
    return 1;
}

static int cmp_num(const void *a, const void *b)
{
    int64_t x = dg_project_frame_num(sort_p, *(const uint32_t *)a);
    int64_t y = dg_project_frame_num(sort_p, *(const uint32_t *)b);
    return (x > y) - (x < y);
}

typedef struct row {
    uint32_t frame;
    char **f;
    size_t line;
} row;

dg_status dg_import_meta_csv(dg_ctx *ctx, dg_project *p, const char *path)
{
    char *buf = NULL, *pos;
    size_t len;
    char *hdr[MAX_COLS], *fl[MAX_COLS];
    row *rows = NULL;
    uint32_t nf = dg__project_n_frames(p);
    size_t nrows = 0, cap = 0, unknown = 0, line = 1;
    const char *why = NULL;
    dg_status st = dg__json_read_file(ctx, path, &buf, &len);
    if (st < 0)
        return st;
    buf[len] = 0;
    if (strlen(buf) != len) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': NUL byte in the file", path);
        goto out;
    }
    pos = buf;
    int nc = split_line(&pos, hdr, MAX_COLS, &why);
    if (nc < 0) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': line 1: %s", path, why);
        goto out;
    }
    int by_num = !strcmp(hdr[0], "image_id");
    if (strcmp(hdr[0], "frame") && !by_num) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': line 1: field 1: the first "
                      "column is 'frame' (frame ids) or 'image_id' (COCO "
                      "image ids), not '%s'", path, hdr[0]);
        goto out;
    }
    if (nc < 2) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': line 1: no columns beside '%s'",
                      path, hdr[0]);
        goto out;
    }
    for (int c = 1; c < nc; c++) {
        if (!hdr[c][0] || hdr[c][0] == '.' || strchr(hdr[c], '/')) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': line 1: field %d: '%s' "
                          "cannot name a column", path, c + 1, hdr[c]);
            goto out;
        }
        for (int d = 0; d < c; d++)
            if (!strcmp(hdr[c], hdr[d])) {
                st = dg__fail(ctx, DG_EFORMAT, "'%s': line 1: field %d: "
                              "column '%s' twice", path, c + 1, hdr[c]);
                goto out;
            }
    }
    char *const *ids = dg__project_frame_ids(p);
    uint32_t *seen = dg__calloc(ctx, nf + 1, sizeof(*seen));
    if (!seen) {
        st = DG_ENOMEM;
        goto out;
    }
    while (*pos) {
        line++;
        if (*pos == '\n' || (*pos == '\r' && pos[1] == '\n')) {
            pos += *pos == '\r' ? 2 : 1;
            continue;
        }
        int n = split_line(&pos, fl, MAX_COLS, &why);
        if (n < 0 || n != nc) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': line %zu: %s", path, line,
                          n < 0 ? why : "not as many fields as the header");
            free(seen);
            goto out;
        }
        double v;
        if (by_num) {
            if (!parse_num(fl[0], &v) || v != floor(v) || v < 0) {
                st = dg__fail(ctx, DG_EFORMAT, "'%s': line %zu: field "
                              "'image_id': not an image id ('%s')", path,
                              line, fl[0]);
                free(seen);
                goto out;
            }
        }
        if (nrows == cap) {
            cap = cap ? 2 * cap : 1024;
            row *r2 = realloc(rows, cap * sizeof(*rows));
            if (!r2) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                free(seen);
                goto out;
            }
            rows = r2;
        }
        row *r = &rows[nrows];
        r->line = line;
        r->f = malloc((size_t)nc * sizeof(char *));
        if (!r->f) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory");
            free(seen);
            goto out;
        }
        memcpy(r->f, fl, (size_t)nc * sizeof(char *));
        r->frame = UINT32_MAX;
        nrows++;
    }
    /* Rows find their frames by binary search in the frames sorted by key. */
    {
        uint32_t *order = dg__alloc(ctx, nf + 1, sizeof(*order));
        if (!order) {
            st = DG_ENOMEM;
            free(seen);
            goto out;
        }
        for (uint32_t f = 0; f < nf; f++)
            order[f] = f;
        sort_p = p;
        qsort(order, nf, sizeof(*order), by_num ? cmp_num : cmp_id);
        for (size_t i = 0; i < nrows; i++) {
            const char *k = rows[i].f[0];
            int64_t num = -1;
            if (by_num && !key_num(k, &num)) {
                unknown++; /* no image has an id out of int64's range */
                continue;
            }
            size_t lo = 0, hi = nf;
            while (lo < hi) {
                size_t m = lo + (hi - lo) / 2;
                int c = by_num ? (dg_project_frame_num(p, order[m]) < num ? -1
                                  : dg_project_frame_num(p, order[m]) > num)
                               : strcmp(ids[order[m]], k);
                if (c < 0)
                    lo = m + 1;
                else
                    hi = m;
            }
            if (lo < nf && (by_num ? dg_project_frame_num(p, order[lo]) == num
                                   : !strcmp(ids[order[lo]], k)))
                rows[i].frame = order[lo];
            if (rows[i].frame == UINT32_MAX) {
                unknown++;
                continue;
            }
            if (seen[rows[i].frame]) {
                st = dg__fail(ctx, DG_EFORMAT, "'%s': line %zu: field '%s': "
                              "frame '%s' again (also line %u)", path,
                              rows[i].line, hdr[0], k,
                              (unsigned)seen[rows[i].frame]);
                free(order);
                free(seen);
                goto out;
            }
            seen[rows[i].frame] = (uint32_t)rows[i].line;
        }
        free(order);
    }
    free(seen);
    for (int c = 1; c < nc && st >= 0; c++) {
        int is_num = 1;
        double v;
        for (size_t i = 0; i < nrows && is_num; i++)
            if (rows[i].frame != UINT32_MAX && rows[i].f[c][0] &&
                !parse_num(rows[i].f[c], &v))
                is_num = 0;
        double *num = NULL;
        char **str = NULL;
        if (is_num ? !(num = dg__alloc(ctx, nf + 1, sizeof(*num)))
                   : !(str = dg__calloc(ctx, nf + 1, sizeof(*str)))) {
            st = DG_ENOMEM;
            break;
        }
        for (uint32_t f = 0; f < nf; f++) {
            if (num)
                num[f] = NAN;
            else if (!(str[f] = dg__strdup(ctx, "")))
                st = DG_ENOMEM;
        }
        for (size_t i = 0; i < nrows && st >= 0; i++) {
            uint32_t f = rows[i].frame;
            if (f == UINT32_MAX)
                continue;
            if (num) {
                num[f] = rows[i].f[c][0] && parse_num(rows[i].f[c], &v) ? v
                                                                       : NAN;
            } else {
                free(str[f]);
                if (!(str[f] = dg__strdup(ctx, rows[i].f[c])))
                    st = DG_ENOMEM;
            }
        }
        if (st >= 0) {
            st = dg__project_set_meta(ctx, p, hdr[c], is_num, num, str);
        } else {
            free(num);
            if (str)
                for (uint32_t f = 0; f < nf; f++)
                    free(str[f]);
            free(str);
        }
    }
    if (st >= 0 && unknown)
        dg__warn(ctx, "'%s': %zu row%s name no frame of the project; "
                 "skipped", path, unknown, unknown == 1 ? "" : "s");
out:
    for (size_t i = 0; i < nrows; i++)
        free(rows[i].f);
    free(rows);
    free(buf);
    return st < 0 ? st : DG_OK;
}
