/*
 * detgrid slices: where in the frame metadata a model does significantly
 * worse than on the rest (dg_slices_evaluate, docs/SLICES.md), each slice
 * explained and savable as a scenario segment.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "explain.h"

static const char *const usage[] = {
    "detgrid slices <project.h5> [-i <name>] [--conf <c>] [--iou <t>] "
    "[--segment <s>] [--metric f1|precision|recall] [--conditions <n>] "
    "[--min-support <n>] [--bins <n>] [--alpha <a>] [--columns <a,b,...>] "
    "[--rank p|effect-support] [--limit <n>] "
    "[--save-segment <name> [--slice <rank>]] [--json]",
    NULL};

static cJSON *slice_json(dg_project *p, const dg_slice *s, int rank)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rank", rank);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON *ca = cJSON_AddArrayToObject(o, "conditions");
    for (uint32_t i = 0; i < s->n_conditions; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "column", s->column[i]);
        cJSON_AddStringToObject(c, "where", s->where[i]);
        cJSON_AddItemToArray(ca, c);
    }
    cJSON_AddNumberToObject(o, "frames", s->n_frames);
    cJSON_AddNumberToObject(o, "tp", (double)s->counts.tp);
    cJSON_AddNumberToObject(o, "fp", (double)s->counts.fp);
    cJSON_AddNumberToObject(o, "fn", (double)s->counts.fn);
    cli_prf_json(o, s->prf);
    cli_prf_json(cJSON_AddObjectToObject(o, "rest"), s->rest);
    cli_slice_test_json(o, s);
    cJSON_AddItemToObject(o, "score", cli_num(s->score));
    cli_explain_json(cJSON_AddObjectToObject(o, "explain"), p, &s->explain);
    cJSON *fa = cJSON_AddArrayToObject(o, "frame_indices");
    for (uint32_t i = 0; i < s->n_frames; i++)
        cJSON_AddItemToArray(fa, cJSON_CreateNumber(s->frames[i]));
    return o;
}

static void print_json(dg_project *p, const char *name, double conf,
                       double iou, const char *segment,
                       const dg_slices_result *res, int compact)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "inferences", name);
    cJSON_AddItemToObject(j, "conf", cli_num(conf));
    cJSON_AddItemToObject(j, "iou", cli_num(iou));
    cJSON_AddStringToObject(j, "segment", segment ? segment : "all");
    cJSON_AddStringToObject(j, "metric", dg_slice_metric_name(res->metric));
    cJSON_AddStringToObject(j, "rank", dg_slice_rank_name(res->rank));
    cJSON_AddItemToObject(j, "alpha", cli_num(res->alpha));
    cJSON_AddNumberToObject(j, "min_support", res->min_support);
    cJSON_AddNumberToObject(j, "max_conditions", res->max_conditions);
    cJSON *ov = cJSON_AddObjectToObject(j, "overall");
    cJSON_AddNumberToObject(ov, "frames", res->n_frames);
    cJSON_AddNumberToObject(ov, "tp", (double)res->counts.tp);
    cJSON_AddNumberToObject(ov, "fp", (double)res->counts.fp);
    cJSON_AddNumberToObject(ov, "fn", (double)res->counts.fn);
    cli_prf_json(ov, res->prf);
    cJSON_AddItemToObject(ov, "value", cli_num(res->value));
    cJSON_AddNumberToObject(j, "columns", res->n_columns);
    cJSON *ca = cJSON_AddArrayToObject(j, "conditions");
    for (uint32_t i = 0; i < res->n_conditions; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "column", res->conditions[i].column);
        cJSON_AddStringToObject(c, "where", res->conditions[i].where);
        cJSON_AddNumberToObject(c, "frames", res->conditions[i].n_frames);
        cJSON_AddItemToArray(ca, c);
    }
    cJSON_AddNumberToObject(j, "tested", (double)res->n_tested);
    cJSON_AddNumberToObject(j, "significant", (double)res->n_significant);
    cJSON *sa = cJSON_AddArrayToObject(j, "slices");
    for (uint32_t i = 0; i < res->n_slices; i++)
        cJSON_AddItemToArray(sa, slice_json(p, &res->slices[i], (int)i + 1));
    cJSON_AddItemToObject(j, "seconds", cli_num(res->seconds));
    cli_print_json(j, compact);
}

static void print_text(dg_project *p, const char *name, double conf,
                       double iou, const char *segment,
                       const dg_slices_result *res)
{
    const char *mn = dg_slice_metric_name(res->metric);
    printf("%s: %u frames%s%s, conf >= %g, IoU >= %g; %u metadata "
           "column%s, %u conditions\n",
           name, res->n_frames, segment ? " of segment " : "",
           segment ? segment : "", conf, iou, res->n_columns,
           res->n_columns == 1 ? "" : "s", res->n_conditions);
    printf("%s %.4f overall; %llu slices of >= %u frames and <= %u "
           "conditions tested, %llu significantly worse (FDR %g), %u "
           "reported; %.3f s\n",
           mn, res->value, (unsigned long long)res->n_tested,
           res->min_support, res->max_conditions,
           (unsigned long long)res->n_significant, res->alpha,
           res->n_slices, res->seconds);
    if (!res->n_slices) {
        printf("\nno slice is significantly worse than the rest\n");
        return;
    }
    printf("\n%4s %7s %9s %9s %9s %8s %9s  %s\n", "rank", "frames", mn,
           "rest", "diff", "z", "q", "slice");
    for (uint32_t i = 0; i < res->n_slices; i++) {
        const dg_slice *s = &res->slices[i];
        char ex[512];
        printf("%4u %7u %9.4f %9.4f %+9.4f %8.2f %9.2g  %s\n", i + 1,
               s->n_frames, s->value, s->value_rest, -s->effect, s->z, s->q,
               s->name);
        cli_explain_text(ex, sizeof(ex), p, &s->explain);
        printf("%32s %s\n", "", ex);
        printf("%32s", "");
        for (int f = 0; f < DG_EXPLAIN_FRAMES; f++)
            if (s->explain.rep_frame[f] != UINT32_MAX)
                printf(" %s", dg_project_frame_id(p, s->explain.rep_frame[f]));
        printf("\n");
    }
}

/* Saves slice `rank` (1-based) as scenario segment `save`. */
static int save_slice(dg_ctx *ctx, dg_project *p, const char *path,
                      const dg_slices_result *res, long rank,
                      const char *save)
{
    const dg_slice *s = &res->slices[rank - 1];
    dg_status st = dg_project_add_segment(ctx, p, save, DG_SEGMENT_SCENARIO,
                                          s->frames, s->n_frames);
    int64_t si = st >= 0 ? dg_project_segment_index(p, save) : -1;
    if (st >= 0)
        st = dg_project_set_segment_meta(ctx, p, (uint32_t)si, "slice",
                                         s->name);
    if (st < 0)
        return cli_fail(ctx, st);
    int rc = cli_save(ctx, p, path, path);
    if (rc != EXIT_OK)
        return rc;
    fprintf(stderr, "saved slice %ld (%s, %u frames) as scenario segment "
            "'%s'\n", rank, s->name, s->n_frames, save);
    return EXIT_OK;
}

int cmd_slices(int argc, const char **argv)
{
    const char *inf = NULL, *segment = NULL, *metric = NULL, *rank = NULL,
               *columns = NULL, *save = NULL;
    double conf = NAN, iou = NAN, alpha = NAN;
    long conds = 0, support = 0, bins = 0, limit = 0, slice = 1;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        CLI_OPT_SEGMENT(segment),
        {OPT_STR, 0, "metric", &metric, "<m>",
         "the metric tested: f1 (default), precision or recall", 0},
        {OPT_INT, 0, "conditions", &conds, "<n>",
         "conditions per slice, 1 to 3 (default 2)", 0},
        {OPT_INT, 0, "min-support", &support, "<n>",
         "fewest frames in a slice tested (default: 30 or 1 % of the "
         "frames, the larger)",
         0},
        {OPT_INT, 0, "bins", &bins, "<n>",
         "numeric columns: ranges between quantiles (default 4)", 0},
        {OPT_DBL, 0, "alpha", &alpha, "<a>",
         "false discovery rate of the slices reported (default 0.05)", 0},
        {OPT_STR, 0, "columns", &columns, "<a,b,...>",
         "search these metadata columns only (default: every one)", 0},
        {OPT_STR, 0, "rank", &rank, "<how>",
         "p (default: the most significant first) or effect-support "
         "(effect x frames)",
         0},
        {OPT_INT, 0, "limit", &limit, "<n>",
         "report at most n slices (default 20)", 0},
        {OPT_STR, 0, "save-segment", &save, "<name>",
         "save a slice's frames as a scenario segment", 0},
        {OPT_INT, 0, "slice", &slice, "<rank>",
         "with --save-segment: the slice to save (default 1, the first)",
         0},
        CLI_OPT_IOU_TYPE,
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    dg_slices_opts so;
    dg_slices_opts_init(&so);
    int m = metric ? dg_slice_metric_parse(metric) : 0;
    int rk = rank ? dg_slice_rank_parse(rank) : 0;
    if (m < 0)
        cli_usage_error(usage, opts, "--metric: '%s' is not f1, precision or "
                        "recall", metric);
    if (rk < 0)
        cli_usage_error(usage, opts, "--rank: '%s' is not p or "
                        "effect-support", rank);
    if (conds < 0 || conds > 3)
        cli_usage_error(usage, opts, "--conditions must be 1 .. 3");
    if (support < 0 || support > 2000000000L)
        cli_usage_error(usage, opts, "--min-support out of range");
    if (bins != 0 && (bins < 2 || bins > 64))
        cli_usage_error(usage, opts, "--bins must be 2 .. 64");
    if (!isnan(alpha) && !(alpha > 0 && alpha < 1))
        cli_usage_error(usage, opts, "--alpha must be in (0, 1)");
    if (limit < 0 || limit > 100000)
        cli_usage_error(usage, opts, "--limit must be 1 .. 100000");
    if (slice < 1)
        cli_usage_error(usage, opts, "--slice is a rank, from 1");
    strlist cols = {{0}, 0};
    char *colbuf = NULL;
    if (columns) {
        size_t len = strlen(columns) + 1;
        if (!(colbuf = malloc(len)))
            return cli_error("out of memory");
        memcpy(colbuf, columns, len);
        for (char *t = strtok(colbuf, ","); t && cols.n < 64;
             t = strtok(NULL, ","))
            cols.v[cols.n++] = t;
        if (!cols.n) {
            free(colbuf);
            cli_usage_error(usage, opts, "--columns: no column named");
        }
    }
    so.metric = (dg_slice_metric)m;
    so.rank = (dg_slice_rank)rk;
    if (conds)
        so.max_conditions = (uint32_t)conds;
    so.min_support = (uint32_t)support;
    if (bins)
        so.bins = (uint32_t)bins;
    if (!isnan(alpha))
        so.alpha = alpha;
    if (limit)
        so.limit = (uint32_t)limit;
    so.columns = columns ? cols.v : NULL;
    so.n_columns = (uint32_t)cols.n;
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    dg_results *r = NULL;
    dg_slices_result res;
    memset(&res, 0, sizeof(res));
    int rc = EXIT_ERROR, t;
    dg_status st;
    if (save)
        cli_lock(ctx, pos[0]); /* held from the read to the save */
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto done;
    if ((rc = cli_load_segment_results(ctx, p, name, conf, iou, segment,
                                       &r, &t)) != EXIT_OK)
        goto done;
    rc = EXIT_ERROR;
    so.conf = conf;
    so.iou_idx = t;
    if ((st = dg_slices_evaluate(ctx, r, p, &so, &res)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    cli_flush_warnings(ctx);
    if (save) {
        if ((uint32_t)slice > res.n_slices) {
            cli_error("--slice %ld: %u slice%s reported", slice,
                      res.n_slices, res.n_slices == 1 ? "" : "s");
            goto done;
        }
        if ((rc = save_slice(ctx, p, pos[0], &res, slice, save)) != EXIT_OK)
            goto done;
    }
    double thr = dg_results_iou(r, t);
    if (json)
        print_json(p, name, conf, thr, segment, &res, compact);
    else
        print_text(p, name, conf, thr, segment, &res);
    rc = EXIT_OK;
done:
    cli_flush_warnings(ctx);
    dg_slices_result_release(&res);
    free(colbuf);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
