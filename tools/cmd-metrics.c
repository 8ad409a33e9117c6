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
    "[--iou <t>] [--json]",
    NULL};

static void fmt_ratio(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%9s", "-");
    else
        snprintf(buf, cap, "%9.4f", v);
}

static cJSON *prf_json(cJSON *o, dg_prf m)
{
    cJSON_AddItemToObject(o, "precision", cli_num(m.precision));
    cJSON_AddItemToObject(o, "recall", cli_num(m.recall));
    cJSON_AddItemToObject(o, "f1", cli_num(m.f1));
    return o;
}

int cli_metrics_report(dg_ctx *ctx, dg_project *p, const char *name,
                       double conf, double iou, int json, int compact)
{
    dg_results *r;
    dg_status st = dg_results_load(ctx, p, name, &r);
    if (st < 0)
        return cli_fail(ctx, st);
    int t = dg_results_find_iou(ctx, r, iou);
    if (t < 0) {
        dg_results_free(r);
        return cli_fail(ctx, (dg_status)t);
    }
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
    dg_counts micro = {0};
    double sp = 0, sr = 0, sf = 0;
    int np = 0, nr = 0, nf = 0;
    for (uint32_t k = 0; k < nc; k++) {
        micro.tp += c[k].tp;
        micro.fp += c[k].fp;
        micro.fn += c[k].fn;
        micro.n_gt += c[k].n_gt;
        micro.n_det += c[k].n_det;
        dg_prf m = dg_counts_prf(&c[k]);
        if (!isnan(m.precision))
            sp += m.precision, np++;
        if (!isnan(m.recall))
            sr += m.recall, nr++;
        if (!isnan(m.f1))
            sf += m.f1, nf++;
    }
    dg_prf mm = dg_counts_prf(&micro);
    dg_prf ma = {np ? sp / np : NAN, nr ? sr / nr : NAN, nf ? sf / nf : NAN};
    double thr = dg_results_iou(r, t);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
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
            prf_json(o, dg_counts_prf(&c[k]));
            cJSON_AddItemToArray(cl, o);
        }
        cJSON *ov = cJSON_AddObjectToObject(j, "overall");
        cJSON *mi = cJSON_AddObjectToObject(ov, "micro");
        cJSON_AddNumberToObject(mi, "tp", (double)micro.tp);
        cJSON_AddNumberToObject(mi, "fp", (double)micro.fp);
        cJSON_AddNumberToObject(mi, "fn", (double)micro.fn);
        prf_json(mi, mm);
        cJSON *mac = cJSON_AddObjectToObject(ov, "macro");
        prf_json(mac, ma);
        cJSON_AddNumberToObject(mac, "classes_precision", np);
        cJSON_AddNumberToObject(mac, "classes_recall", nr);
        cJSON_AddNumberToObject(mac, "classes_f1", nf);
        cli_print_json(j, compact);
    } else {
        printf("%s at confidence >= %g, IoU >= %g\n\n", name, conf, thr);
        size_t w = 5;
        for (uint32_t k = 0; k < nc; k++)
            if (strlen(dg_project_class_name(p, k)) > w)
                w = strlen(dg_project_class_name(p, k));
        if (w > 40)
            w = 40;
        printf("%-*s %8s %8s %8s %9s %9s %9s\n", (int)w, "class", "TP", "FP",
               "FN", "precision", "recall", "F1");
        for (uint32_t k = 0; k < nc; k++) {
            char a[16], b[16], f[16];
            dg_prf m = dg_counts_prf(&c[k]);
            fmt_ratio(a, sizeof(a), m.precision);
            fmt_ratio(b, sizeof(b), m.recall);
            fmt_ratio(f, sizeof(f), m.f1);
            printf("%-*.*s %8llu %8llu %8llu %s %s %s\n", (int)w, (int)w,
                   dg_project_class_name(p, k), (unsigned long long)c[k].tp,
                   (unsigned long long)c[k].fp, (unsigned long long)c[k].fn, a,
                   b, f);
        }
        char a[16], b[16], f[16];
        fmt_ratio(a, sizeof(a), mm.precision);
        fmt_ratio(b, sizeof(b), mm.recall);
        fmt_ratio(f, sizeof(f), mm.f1);
        printf("\n%-*s %8llu %8llu %8llu %s %s %s\n", (int)w, "micro",
               (unsigned long long)micro.tp, (unsigned long long)micro.fp,
               (unsigned long long)micro.fn, a, b, f);
        fmt_ratio(a, sizeof(a), ma.precision);
        fmt_ratio(b, sizeof(b), ma.recall);
        fmt_ratio(f, sizeof(f), ma.f1);
        printf("%-*s %8s %8s %8s %s %s %s\n", (int)w, "macro", "", "", "", a,
               b, f);
    }
    free(c);
    dg_results_free(r);
    return EXIT_OK;
}

int cmd_metrics(int argc, const char **argv)
{
    const char *inf = NULL;
    double conf = NAN, iou = NAN;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        {OPT_STR, 'i', "inferences", &inf, "<name>",
         "inference set (default: the only one)", 0},
        {OPT_DBL, 'c', "conf", &conf, "<c>",
         "count detections with score >= c (default: project's, 0.1)", 0},
        {OPT_DBL, 't', "iou", &iou, "<t>",
         "match at IoU >= t, a stored threshold (default: project's, 0.5)", 0},
        {OPT_FLAG, 0, "json", &json, NULL, "JSON on stdout", 0},
        {OPT_FLAG, 0, "compact", &compact, NULL, "with --json: one line", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    dg_project_info info;
    dg_project_get_info(p, &info);
    if (isnan(conf))
        conf = info.default_conf;
    if (isnan(iou))
        iou = info.default_iou;
    int rc = EXIT_ERROR;
    const char *name = cli_pick_inferences(p, inf);
    if (name)
        rc = cli_metrics_report(ctx, p, name, conf, iou, json, compact);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
