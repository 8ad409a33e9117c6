/*
 * detgrid metrics: per-class TP, FP, FN, precision, recall and F1 at one
 * (confidence, IoU) point, answered from stored results.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid metrics <project.h5> [--inferences <name>] [--conf <c>] "
    "[--iou <t>] [--segment <s>] [--ci <level> [--resamples <n>] "
    "[--seed <n>]] [--json]",
    NULL};

int cli_metrics_report(dg_ctx *ctx, dg_project *p, const char *name,
                       const char *segment, double conf, double iou, int json,
                       int compact)
{
    dg_results *r;
    dg_status st;
    int t, rc = cli_load_results(ctx, p, name, conf, iou, &r, &t);
    if (rc != EXIT_OK)
        return rc;
    uint32_t nc = dg_results_n_classes(r);
    dg_counts *c = calloc(nc ? nc : 1, sizeof(*c));
    if (!c) {
        dg_results_free(r);
        return cli_error("out of memory");
    }
    if ((st = dg_results_counts(ctx, r, conf, t, c)) < 0) {
        free(c);
        dg_results_free(r);
        return cli_fail(ctx, st);
    }
    cli_avg avg = {0};
    for (uint32_t k = 0; k < nc; k++)
        cli_avg_add(&avg, &c[k]);
    double thr = dg_results_iou(r, t);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        cJSON_AddStringToObject(j, "segment",
                                segment ? segment : DG_SEGMENT_ALL);
        cJSON_AddItemToObject(j, "conf", cli_num(conf));
        cJSON_AddItemToObject(j, "iou", cli_num(thr));
        cJSON *cl = cJSON_AddArrayToObject(j, "classes");
        for (uint32_t k = 0; k < nc; k++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", dg_project_class_name(p, k));
            cJSON_AddNumberToObject(o, "id", (double)dg_project_class_id(p, k));
            cJSON_AddNumberToObject(o, "tp", (double)c[k].tp);
            cJSON_AddNumberToObject(o, "fp", (double)c[k].fp);
            cJSON_AddNumberToObject(o, "fn", (double)c[k].fn);
            cJSON_AddNumberToObject(o, "n_gt", (double)c[k].n_gt);
            cli_prf_json(o, dg_counts_prf(&c[k]));
            cJSON_AddItemToArray(cl, o);
        }
        cJSON *mac = cli_overall_json(j, &avg);
        cJSON_AddNumberToObject(mac, "classes_precision", avg.n_p);
        cJSON_AddNumberToObject(mac, "classes_recall", avg.n_r);
        cJSON_AddNumberToObject(mac, "classes_f1", avg.n_f);
        cli_print_json(j, compact);
    } else {
        printf("%s at confidence >= %g, IoU >= %g", name, conf, thr);
        if (segment && strcmp(segment, DG_SEGMENT_ALL))
            printf(", segment %s", segment);
        printf("\n\n");
        size_t w = 5;
        for (uint32_t k = 0; k < nc; k++)
            if (strlen(dg_project_class_name(p, k)) > w)
                w = strlen(dg_project_class_name(p, k));
        if (w > 40)
            w = 40;
        printf("%-*s %8s %8s %8s %9s %9s %9s\n", (int)w, "class", "TP", "FP",
               "FN", "precision", "recall", "F1");
        char prf[64];
        for (uint32_t k = 0; k < nc; k++) {
            cli_fmt_prf(prf, sizeof(prf), dg_counts_prf(&c[k]));
            printf("%-*.*s %8llu %8llu %8llu %s\n", (int)w, (int)w,
                   dg_project_class_name(p, k), (unsigned long long)c[k].tp,
                   (unsigned long long)c[k].fp, (unsigned long long)c[k].fn,
                   prf);
        }
        cli_fmt_prf(prf, sizeof(prf), dg_counts_prf(&avg.micro));
        printf("\n%-*s %8llu %8llu %8llu %s\n", (int)w, "micro",
               (unsigned long long)avg.micro.tp,
               (unsigned long long)avg.micro.fp,
               (unsigned long long)avg.micro.fn, prf);
        cli_fmt_prf(prf, sizeof(prf), cli_avg_macro(&avg));
        printf("%-*s %8s %8s %8s %s\n", (int)w, "macro", "", "", "", prf);
    }
    free(c);
    dg_results_free(r);
    return EXIT_OK;
}

int cmd_metrics(int argc, const char **argv)
{
    const char *inf = NULL, *segment = NULL;
    double conf = NAN, iou = NAN, ci = NAN;
    long resamples = 1000, seed = 0;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        CLI_OPT_SEGMENT(segment),
        {OPT_DBL, 0, "ci", &ci, "<level>",
         "bootstrap intervals over frames at this level (e.g. 0.95)", 0},
        {OPT_INT, 0, "resamples", &resamples, "<n>",
         "--ci: resamples (default 1000)", 0},
        {OPT_INT, 0, "seed", &seed, "<n>", "--ci: seed (default 0)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!isnan(ci) && !(ci > 0 && ci < 1))
        cli_usage_error(usage, opts, "--ci must be in (0, 1)");
    if (resamples < 1 || resamples > 1000000)
        cli_usage_error(usage, opts, "--resamples must be in [1, 1000000]");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.resamples = (uint32_t)resamples;
    bo.seed = (uint64_t)seed;
    bo.level = ci;
    if (name && !isnan(ci))
        rc = cli_metrics_ci_report(ctx, p, name, conf, iou, segment, &bo,
                                   json, compact);
    else if (name && cli_preload_segment(ctx, p, name, segment) == EXIT_OK)
        rc = cli_metrics_report(ctx, p, name, segment, conf, iou, json,
                                compact);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
