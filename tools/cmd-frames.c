/*
 * detgrid frames: each frame's TP, FP, FN, precision, recall and F1 at one
 * (confidence, IoU), from stored results (dg_results_frame_counts), sorted
 * and paged.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid frames <project.h5> [--inferences <name>] [--conf <c>] "
    "[--iou <t>] [--segment <name>] [--class <name>] "
    "[--sort frame|f1|precision|recall|fp|fn] [--limit <n>] [--json]",
    NULL};

typedef struct row {
    uint32_t frame;
    dg_frame_counts c;
    dg_prf m;
} row;

static int sort_key; /* 0 frame, 1 f1, 2 precision, 3 recall, 4 fp, 5 fn */

/*
 * Figures ascending (worst first), counts descending (most first); an
 * undefined figure goes last; ties in frame order.
 */
static int cmp_row(const void *x, const void *y)
{
    const row *a = x, *b = y;
    if (sort_key >= 1 && sort_key <= 3) {
        double u = sort_key == 1 ? a->m.f1
                   : sort_key == 2 ? a->m.precision : a->m.recall;
        double v = sort_key == 1 ? b->m.f1
                   : sort_key == 2 ? b->m.precision : b->m.recall;
        if (isnan(u) != isnan(v))
            return isnan(u) ? 1 : -1;
        if (u != v && !isnan(u))
            return u < v ? -1 : 1;
    } else if (sort_key >= 4) {
        uint32_t u = sort_key == 4 ? a->c.fp : a->c.fn;
        uint32_t v = sort_key == 4 ? b->c.fp : b->c.fn;
        if (u != v)
            return u > v ? -1 : 1;
    }
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

int cmd_frames(int argc, const char **argv)
{
    const char *inf = NULL, *segment = NULL, *sort = "frame", *cls_name = NULL;
    double conf = NAN, iou = NAN;
    long limit = 0;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        CLI_OPT_SEGMENT(segment),
        {OPT_STR, 0, "class", &cls_name, "<name>",
         "count only this class (default: all)", 0},
        {OPT_STR, 's', "sort", &sort, "<key>",
         "frame (default), f1, precision, recall (ascending: worst first), "
         "fp or fn (descending)", 0},
        {OPT_INT, 'n', "limit", &limit, "<n>", "at most n frames (0: all)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    static const char *const keys[] = {"frame", "f1", "precision", "recall",
                                       "fp", "fn"};
    sort_key = -1;
    for (int k = 0; k < 6; k++)
        if (!strcmp(sort, keys[k]))
            sort_key = k;
    if (sort_key < 0)
        cli_usage_error(usage, opts, "unknown --sort '%s'", sort);
    if (limit < 0)
        cli_usage_error(usage, opts, "--limit must be >= 0");

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    dg_results *r = NULL;
    dg_frame_counts *fc = NULL;
    row *rows = NULL;
    int t, rc = EXIT_ERROR;
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto out;
    if ((rc = cli_load_results(ctx, p, name, conf, iou, &r, &t)) != EXIT_OK)
        goto out;
    rc = EXIT_ERROR;
    int64_t cls = -1;
    if (cls_name) {
        uint32_t k;
        if (cli_find(p, DG_NAME_CLASS, cls_name, &k) != EXIT_OK)
            goto out;
        cls = k;
    }
    if (cli_restrict_segment(ctx, p, r, segment) != EXIT_OK)
        goto out;
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t F = info.n_frames;
    const uint32_t *seg_frames = NULL;
    uint32_t n_seg = F;
    if (segment) {
        uint32_t si;
        dg_status st;
        if (cli_find(p, DG_NAME_SEGMENT, segment, &si) != EXIT_OK)
            goto out;
        if ((st = dg_project_segment_frames(ctx, p, si, &seg_frames,
                                            &n_seg)) < 0) {
            cli_fail(ctx, st);
            goto out;
        }
    }
    fc = calloc(F ? F : 1, sizeof(*fc));
    rows = calloc(n_seg ? n_seg : 1, sizeof(*rows));
    if (!fc || !rows) {
        cli_error("out of memory");
        goto out;
    }
    dg_status st = dg_results_frame_counts(ctx, r, p, conf, t, cls, fc);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    for (uint32_t k = 0; k < n_seg; k++) {
        uint32_t f = seg_frames ? seg_frames[k] : k;
        rows[k].frame = f;
        rows[k].c = fc[f];
        dg_counts c = {fc[f].tp, fc[f].fp, fc[f].fn, fc[f].n_gt, fc[f].n_det};
        rows[k].m = dg_counts_prf(&c);
    }
    qsort(rows, n_seg, sizeof(*rows), cmp_row);
    uint32_t shown = limit && (uint64_t)limit < n_seg ? (uint32_t)limit : n_seg;
    double thr = dg_results_iou(r, t);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        cJSON_AddItemToObject(j, "conf", cli_num(conf));
        cJSON_AddItemToObject(j, "iou", cli_num(thr));
        cJSON_AddStringToObject(j, "segment", segment ? segment : "all");
        if (cls >= 0)
            cJSON_AddStringToObject(j, "class", cls_name);
        else
            cJSON_AddNullToObject(j, "class");
        cJSON_AddStringToObject(j, "sort", sort);
        cJSON_AddNumberToObject(j, "n_frames", n_seg);
        cJSON *a = cJSON_AddArrayToObject(j, "frames");
        for (uint32_t k = 0; k < shown; k++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", rows[k].frame);
            cJSON_AddStringToObject(o, "id",
                                    dg_project_frame_id(p, rows[k].frame));
            cJSON_AddNumberToObject(o, "tp", rows[k].c.tp);
            cJSON_AddNumberToObject(o, "fp", rows[k].c.fp);
            cJSON_AddNumberToObject(o, "fn", rows[k].c.fn);
            cJSON_AddNumberToObject(o, "n_gt", rows[k].c.n_gt);
            cli_prf_json(o, rows[k].m);
            cJSON_AddItemToArray(a, o);
        }
        cli_print_json(j, compact);
    } else {
        char count[128];
        if (shown < n_seg)
            snprintf(count, sizeof(count), "first %u of %u frames (by %s; "
                     "--limit 0 for all)", shown, n_seg, sort);
        else
            snprintf(count, sizeof(count), "%u frames", n_seg);
        printf("%s at confidence >= %g, IoU >= %g, segment %s%s%s: %s\n\n",
               name, conf, thr, segment ? segment : "all",
               cls >= 0 ? ", class " : "", cls >= 0 ? cls_name : "", count);
        size_t w = 5;
        for (uint32_t k = 0; k < shown; k++) {
            size_t l = strlen(dg_project_frame_id(p, rows[k].frame));
            if (l > w)
                w = l;
        }
        if (w > 40)
            w = 40;
        printf("%-*s %6s %6s %6s %9s %9s %9s\n", (int)w, "frame", "TP", "FP",
               "FN", "precision", "recall", "F1");
        char prf[64];
        for (uint32_t k = 0; k < shown; k++) {
            cli_fmt_prf(prf, sizeof(prf), rows[k].m);
            printf("%-*.*s %6u %6u %6u %s\n", (int)w, (int)w,
                   dg_project_frame_id(p, rows[k].frame), rows[k].c.tp,
                   rows[k].c.fp, rows[k].c.fn, prf);
        }
    }
    rc = EXIT_OK;
out:
    cli_flush_warnings(ctx);
    free(rows);
    free(fc);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
