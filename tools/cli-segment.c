/*
 * The --segment option shared by the query commands: a restriction of the
 * stored results to one segment's frames (include/detgrid/segments.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_restrict_segment(dg_ctx *ctx, dg_project *p, dg_results *r,
                         const char *segment)
{
    dg_status st = dg_results_restrict_segment(ctx, r, p, segment);
    return st < 0 ? cli_fail(ctx, st) : EXIT_OK;
}

int cli_load_segment_results(dg_ctx *ctx, dg_project *p, const char *name,
                             double conf, double iou, const char *segment,
                             dg_results **r, int *t)
{
    int rc = cli_load_results(ctx, p, name, conf, iou, r, t);
    if (rc == EXIT_OK &&
        (rc = cli_restrict_segment(ctx, p, *r, segment)) != EXIT_OK) {
        dg_results_free(*r);
        *r = NULL;
    }
    return rc;
}

int cli_preload_segment(dg_ctx *ctx, dg_project *p, const char *name,
                        const char *segment)
{
    if (!segment)
        return EXIT_OK;
    dg_results *r;
    dg_status st = dg_results_load(ctx, p, name, &r);
    if (st < 0)
        return cli_fail(ctx, st);
    int rc = cli_restrict_segment(ctx, p, r, segment);
    dg_results_free(r);
    return rc;
}

char *cli_read_all(const char *path, size_t *len)
{
    cli_note_input(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        cli_error(buf ? "cannot read '%s'" : "out of memory reading '%s'",
                  path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct num_entry {
    int64_t num;
    uint32_t f;
} num_entry;

static int num_cmp(const void *a, const void *b)
{
    int64_t x = ((const num_entry *)a)->num, y = ((const num_entry *)b)->num;
    return (x > y) - (x < y);
}

/* Marks the frames of the COCO image ids in path (integers separated by
 * blanks, commas or brackets: a JSON array works too). */
int cli_mark_coco_ids(dg_project *p, const char *path, uint8_t *mark)
{
    size_t len;
    char *text = cli_read_all(path, &len);
    if (!text)
        return EXIT_ERROR;
    dg_project_info in;
    dg_project_get_info(p, &in);
    num_entry *idx = malloc((in.n_frames ? in.n_frames : 1) * sizeof(*idx));
    if (!idx) {
        free(text);
        return cli_error("out of memory");
    }
    for (uint32_t f = 0; f < in.n_frames; f++) {
        idx[f].num = dg_project_frame_num(p, f);
        idx[f].f = f;
    }
    qsort(idx, in.n_frames, sizeof(*idx), num_cmp);
    int rc = EXIT_OK;
    unsigned long ln = 1;
    for (char *s = text; *s;) {
        if (*s == '\n')
            ln++;
        if (isspace((unsigned char)*s) || *s == ',' || *s == '[' ||
            *s == ']') {
            s++;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno ||
            (*end && !isspace((unsigned char)*end) && *end != ',' &&
             *end != ']')) {
            rc = cli_error("%s:%lu: '%.20s' is not a COCO image id", path, ln,
                           s);
            break;
        }
        num_entry key = {v, 0};
        num_entry *e = bsearch(&key, idx, in.n_frames, sizeof(*idx), num_cmp);
        if (!e || v < 0) {
            rc = cli_error("%s:%lu: no frame with COCO image id %lld", path, ln,
                           v);
            break;
        }
        mark[e->f] = 1;
        s = end;
    }
    free(idx);
    free(text);
    return rc;
}


int cli_add_split_segment(dg_ctx *ctx, dg_project *p, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return cli_error("--split wants NAME=FILE, not '%s'", spec);
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
    dg_project_info in;
    dg_project_get_info(p, &in);
    uint8_t *mark = calloc(in.n_frames ? in.n_frames : 1, 1);
    uint32_t *f = malloc((in.n_frames ? in.n_frames : 1) * sizeof(*f));
    int rc = EXIT_OK;
    if (!mark || !f) {
        rc = cli_error("out of memory");
        goto out;
    }
    if ((rc = cli_mark_coco_ids(p, eq + 1, mark)) != EXIT_OK)
        goto out;
    uint32_t n = 0;
    for (uint32_t k = 0; k < in.n_frames; k++)
        if (mark[k])
            f[n++] = k;
    dg_status st = dg_project_add_segment(ctx, p, name, DG_SEGMENT_SPLIT, f, n);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    fprintf(stderr, "split segment '%s': %u frames\n", name, n);
out:
    free(mark);
    free(f);
    return rc;
}
