/*
 * detgrid examples: the boxes behind one cell of the confusion matrix
 * (a ground-truth class or background, a predicted class or background),
 * sorted by confidence, IoU or box area: high-confidence false positives,
 * low-confidence agreements, the largest misses.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid examples <project.h5> [--inferences <name>] --cell <gt>,<pred> "
    "[--conf <c>] [--iou <t>] [--sort confidence|iou|area] [--asc|--desc] "
    "[--limit <n>] [--offset <k>] [--segment <s>] [--json]",
    NULL};

/* A class index, DG_BACKGROUND, or -2 when name is neither. A class named
 * "background" wins over the background. */
static int64_t resolve(dg_project *p, const char *name)
{
    int64_t c = dg_project_class_index(p, name);
    if (c >= 0)
        return c;
    return strcmp(name, "background") ? -2 : DG_BACKGROUND;
}

/*
 * Splits "gt,pred" at the one comma that leaves a class (or background) on
 * both sides, so class names may hold commas. 0 ok, -1 no split resolves,
 * -2 more than one does.
 */
static int parse_cell(dg_project *p, const char *spec, int64_t *g,
                      int64_t *pr)
{
    int found = 0;
    size_t n = strlen(spec);
    char *buf = malloc(n + 1);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (spec[i] != ',')
            continue;
        memcpy(buf, spec, n + 1);
        buf[i] = 0;
        int64_t a = resolve(p, buf), b = resolve(p, buf + i + 1);
        if (a == -2 || b == -2)
            continue;
        *g = a;
        *pr = b;
        found++;
    }
    free(buf);
    return found == 1 ? 0 : found ? -2 : -1;
}

/*
 * The message for a cell that names no classes: with one comma, the side
 * that is not a class, with the classes and the nearest one.
 */
static int bad_cell(dg_project *p, const char *path, const char *spec)
{
    const char *comma = strchr(spec, ',');
    if (comma && !strchr(comma + 1, ',')) {
        char left[512];
        snprintf(left, sizeof(left), "%.*s", (int)(comma - spec), spec);
        const char *side[2] = {left, comma + 1};
        for (int k = 0; k < 2; k++)
            if (resolve(p, side[k]) == -2)
                return cli_find(p, DG_NAME_CLASS, side[k], NULL);
    }
    return cli_error("'%s' is not <class>,<class> with classes of '%s' or "
                     "'background'", spec, path);
}

static const char *cls_name(dg_project *p, int32_t c)
{
    return c == DG_BACKGROUND ? "background"
                              : dg_project_class_name(p, (uint32_t)c);
}

static cJSON *box_json(const double *b)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(a, cli_num(b[i]));
    return a;
}

static void fmt_box(char *buf, size_t cap, const double *b)
{
    if (isnan(b[0]))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "[%.1f, %.1f, %.1f, %.1f]", b[0], b[1], b[2], b[3]);
}

/* What is listed, as the output repeats it. */
typedef struct listing {
    dg_project *p;
    const char *name, *sort;
    double conf, thr;
    int32_t g, pc; /* the cell */
    int asc;
    long offset, limit;
    uint64_t total;
} listing;

static cJSON *example_json(dg_project *p, const dg_example *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "frame", e->frame);
    cJSON_AddStringToObject(o, "frame_id", e->frame_id);
    if (e->gt_index >= 0) {
        cJSON *gt = cJSON_AddObjectToObject(o, "gt");
        cJSON_AddStringToObject(gt, "class", cls_name(p, e->gt_class));
        cJSON_AddNumberToObject(gt, "index", (double)e->gt_index);
        cJSON_AddItemToObject(gt, "box", box_json(e->gt_box));
    } else {
        cJSON_AddNullToObject(o, "gt");
    }
    if (e->det_index >= 0) {
        cJSON *d = cJSON_AddObjectToObject(o, "detection");
        cJSON_AddStringToObject(d, "class", cls_name(p, e->pred_class));
        cJSON_AddNumberToObject(d, "index", (double)e->det_index);
        cJSON_AddItemToObject(d, "score", cli_num(e->score));
        cJSON_AddItemToObject(d, "box", box_json(e->det_box));
    } else {
        cJSON_AddNullToObject(o, "detection");
    }
    cJSON_AddItemToObject(o, "iou", cli_num(e->iou));
    cJSON_AddItemToObject(o, "area", cli_num(e->area));
    /* A lone box: the other box its IoU is measured against. */
    if (e->near_index >= 0) {
        cJSON *n = cJSON_AddObjectToObject(o, "nearest");
        cJSON_AddStringToObject(n, "kind", e->det_index >= 0 ? "gt"
                                                             : "detection");
        cJSON_AddStringToObject(n, "class", cls_name(p, e->near_class));
        cJSON_AddNumberToObject(n, "index", (double)e->near_index);
        if (e->det_index < 0)
            cJSON_AddItemToObject(n, "score", cli_num(e->near_score));
    } else {
        cJSON_AddNullToObject(o, "nearest");
    }
    return o;
}

static void print_json(const listing *l, dg_examples *ex, int compact)
{
    dg_example e;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "inferences", l->name);
    cJSON_AddItemToObject(j, "conf", cli_num(l->conf));
    cJSON_AddItemToObject(j, "iou", cli_num(l->thr));
    cJSON *c = cJSON_AddObjectToObject(j, "cell");
    cJSON_AddStringToObject(c, "gt", cls_name(l->p, l->g));
    cJSON_AddStringToObject(c, "pred", cls_name(l->p, l->pc));
    cJSON_AddStringToObject(j, "sort", l->sort);
    cJSON_AddStringToObject(j, "order", l->asc ? "asc" : "desc");
    cJSON_AddNumberToObject(j, "offset", (double)l->offset);
    cJSON_AddNumberToObject(j, "limit", (double)l->limit);
    cJSON_AddNumberToObject(j, "total", (double)l->total);
    cJSON *arr = cJSON_AddArrayToObject(j, "examples");
    while (dg_examples_next(ex, &e))
        cJSON_AddItemToArray(arr, example_json(l->p, &e));
    cli_print_json(j, compact);
}

static void print_text(const listing *l, dg_examples *ex)
{
    dg_example e;
    uint64_t total = l->total;
    uint64_t first = (uint64_t)l->offset < total ? (uint64_t)l->offset : total;
    uint64_t last = l->limit && total - first > (uint64_t)l->limit
                        ? first + (uint64_t)l->limit
                        : total;
    printf("%s: %llu example%s of ground truth '%s' predicted as '%s' "
           "at confidence >= %g, IoU >= %g; by %s, %s",
           l->name, (unsigned long long)total, total == 1 ? "" : "s",
           cls_name(l->p, l->g), cls_name(l->p, l->pc), l->conf, l->thr,
           l->sort, l->asc ? "ascending" : "descending");
    if (last > first)
        printf("; %llu to %llu", (unsigned long long)first + 1,
               (unsigned long long)last);
    printf("\n\n");
    /* A lone box's IoU is with the nearest other box, named last. */
    int lone = l->g == DG_BACKGROUND || l->pc == DG_BACKGROUND;
    if (last > first)
        printf("%6s  %-16s %8s %8s %10s  %-30s  %-*s%s\n", "#", "frame",
               "score", "IoU", "area", "ground-truth box", lone ? 30 : 0,
               "detection box",
               !lone ? ""
               : l->g == DG_BACKGROUND ? "  nearest ground truth (its IoU)"
                                       : "  nearest detection (its IoU)");
    uint64_t k = first;
    while (dg_examples_next(ex, &e)) {
        char gb[96], db[96], sc[16], nb[200] = "";
        fmt_box(gb, sizeof(gb), e.gt_box);
        fmt_box(db, sizeof(db), e.det_box);
        if (isnan(e.score))
            snprintf(sc, sizeof(sc), "-");
        else
            snprintf(sc, sizeof(sc), "%.4f", e.score);
        if (lone && e.near_index < 0)
            snprintf(nb, sizeof(nb), "  none overlaps");
        else if (lone && isnan(e.near_score))
            snprintf(nb, sizeof(nb), "  %s", cls_name(l->p, e.near_class));
        else if (lone)
            snprintf(nb, sizeof(nb), "  %s, score %.4f",
                     cls_name(l->p, e.near_class), e.near_score);
        printf("%6llu  %-16s %8s %8.4f %10.1f  %-30s  %-*s%s\n",
               (unsigned long long)++k, e.frame_id, sc, e.iou, e.area, gb,
               lone ? 30 : 0, db, nb);
    }
}

int cmd_examples(int argc, const char **argv)
{
    const char *inf = NULL, *cellspec = NULL, *sort = "confidence";
    const char *segment = NULL;
    double conf = NAN, iou = NAN;
    long limit = 20, offset = 0;
    int json = 0, compact = 0, asc = 0, desc = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_STR, 0, "cell", &cellspec, "<gt>,<pred>",
         "the cell: class names or 'background' (required)", 0},
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        {OPT_STR, 0, "sort", &sort, "<key>",
         "confidence (default), iou or area", 0},
        {OPT_FLAG, 0, "asc", &asc, NULL, "ascending order", 0},
        {OPT_FLAG, 0, "desc", &desc, NULL, "descending order (default)", 0},
        {OPT_INT, 'n', "limit", &limit, "<n>",
         "at most n examples (default 20; 0: all)", 0},
        {OPT_INT, 0, "offset", &offset, "<k>", "skip the first k", 0},
        CLI_OPT_SEGMENT(segment),
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!cellspec)
        cli_usage_error(usage, opts, "need --cell <gt>,<pred>");
    if (!strchr(cellspec, ','))
        cli_usage_error(usage, opts,
                        "--cell needs two names separated by a comma, not "
                        "'%s'",
                        cellspec);
    if (asc && desc)
        cli_usage_error(usage, opts, "--asc and --desc exclude each other");
    if (limit < 0 || offset < 0)
        cli_usage_error(usage, opts, "--limit and --offset must not be "
                                     "negative");
    dg_example_sort key = !strcmp(sort, "confidence") ? DG_SORT_CONFIDENCE
                          : !strcmp(sort, "iou")      ? DG_SORT_IOU
                          : !strcmp(sort, "area")     ? DG_SORT_AREA
                                                      : (dg_example_sort)-1;
    if ((int)key < 0)
        cli_usage_error(usage, opts,
                        "--sort must be confidence, iou or area, not '%s'",
                        sort);

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    dg_results *r = NULL;
    dg_examples *ex = NULL;
    int64_t g = 0, pc = 0;
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto out;
    int pr = parse_cell(p, cellspec, &g, &pc);
    if (pr == -2) {
        rc = cli_error("'%s' splits into classes in more than one way",
                       cellspec);
        goto out;
    }
    if (pr < 0) {
        rc = bad_cell(p, pos[0], cellspec);
        goto out;
    }
    if (g == DG_BACKGROUND && pc == DG_BACKGROUND) {
        rc = cli_error("the background,background cell is empty by "
                       "definition");
        goto out;
    }
    int t;
    if (cli_load_segment_results(ctx, p, name, conf, iou, segment, &r,
                                 &t) != EXIT_OK)
        goto out;
    dg_status st;
    dg_examples_query q = {conf, t, (int32_t)g, (int32_t)pc, key, asc,
                           (uint64_t)offset, (uint64_t)limit};
    if ((st = dg_examples_new(ctx, r, p, &q, &ex)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    listing l = {p, name, sort, conf, dg_results_iou(r, t), (int32_t)g,
                 (int32_t)pc, asc, offset, limit, dg_examples_total(ex)};
    if (json)
        print_json(&l, ex, compact);
    else
        print_text(&l, ex);
    rc = EXIT_OK;
out:
    dg_examples_free(ex);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
