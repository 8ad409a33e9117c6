/*
 * metrics --ci: per-class and micro precision, recall and F1 with
 * percentile bootstrap intervals over frames (include/detgrid/bootstrap.h),
 * within the results' segment restriction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static cJSON *pair(double lo, double hi)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cli_num(lo));
    cJSON_AddItemToArray(a, cli_num(hi));
    return a;
}

static cJSON *ci_json(const dg_prf_ci *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "precision", pair(c->lo.precision, c->hi.precision));
    cJSON_AddItemToObject(o, "recall", pair(c->lo.recall, c->hi.recall));
    cJSON_AddItemToObject(o, "f1", pair(c->lo.f1, c->hi.f1));
    return o;
}

static void fmt_ci(char *buf, size_t cap, double v, double lo, double hi)
{
    if (isnan(v))
        snprintf(buf, cap, "%23s", "-");
    else if (isnan(lo))
        snprintf(buf, cap, "%.4f [   -  ,    -  ]", v);
    else
        snprintf(buf, cap, "%.4f [%.4f, %.4f]", v, lo, hi);
}

static void print_row(const char *name, int w, const dg_counts *c,
                      const dg_prf_ci *ci)
{
    char a[64], b[64], f[64];
    dg_prf m = dg_counts_prf(c);
    fmt_ci(a, sizeof(a), m.precision, ci->lo.precision, ci->hi.precision);
    fmt_ci(b, sizeof(b), m.recall, ci->lo.recall, ci->hi.recall);
    fmt_ci(f, sizeof(f), m.f1, ci->lo.f1, ci->hi.f1);
    printf("%-*.*s %8llu %8llu %8llu  %s  %s  %s\n", w, w, name,
           (unsigned long long)c->tp, (unsigned long long)c->fp,
           (unsigned long long)c->fn, a, b, f);
}

int cli_metrics_ci_report(dg_ctx *ctx, dg_project *p, const char *name,
                          double conf, double iou, const char *segment,
                          const dg_bootstrap_opts *bo, int json, int compact)
{
    dg_results *r;
    dg_status st;
    int t, rc = cli_load_results(ctx, p, name, conf, iou, &r, &t);
    if (rc != EXIT_OK)
        return rc;
    uint32_t nc = dg_results_n_classes(r);
    dg_counts *c = calloc(nc ? nc : 1, sizeof(*c));
    dg_prf_ci *ci = calloc(nc ? nc : 1, sizeof(*ci));
    dg_prf_ci all;
    if (!c || !ci) {
        rc = cli_error("out of memory");
        goto out;
    }
    if ((st = dg_results_restrict_segment(ctx, r, p, segment)) < 0 ||
        (st = dg_results_counts(ctx, r, conf, t, c)) < 0 ||
        (st = dg_results_bootstrap(ctx, r, p, conf, t, bo, ci, &all)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    dg_counts micro = {0, 0, 0, 0, 0};
    for (uint32_t k = 0; k < nc; k++) {
        micro.tp += c[k].tp;
        micro.fp += c[k].fp;
        micro.fn += c[k].fn;
        micro.n_gt += c[k].n_gt;
        micro.n_det += c[k].n_det;
    }
    double level = bo->level > 0 ? bo->level : 0.95;
    uint32_t nres = bo->resamples ? bo->resamples : 1000;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        if (segment)
            cJSON_AddStringToObject(j, "segment", segment);
        else
            cJSON_AddStringToObject(j, "segment", DG_SEGMENT_ALL);
        cJSON_AddItemToObject(j, "conf", cli_num(conf));
        cJSON_AddItemToObject(j, "iou", cli_num(dg_results_iou(r, t)));
        cJSON *b = cJSON_AddObjectToObject(j, "bootstrap");
        cJSON_AddItemToObject(b, "level", cli_num(level));
        cJSON_AddNumberToObject(b, "resamples", nres);
        cJSON_AddNumberToObject(b, "seed", (double)bo->seed);
        cJSON *cl = cJSON_AddArrayToObject(j, "classes");
        for (uint32_t k = 0; k < nc; k++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", dg_project_class_name(p, k));
            cJSON_AddNumberToObject(o, "tp", (double)c[k].tp);
            cJSON_AddNumberToObject(o, "fp", (double)c[k].fp);
            cJSON_AddNumberToObject(o, "fn", (double)c[k].fn);
            cJSON_AddNumberToObject(o, "n_gt", (double)c[k].n_gt);
            cli_prf_json(o, dg_counts_prf(&c[k]));
            cJSON_AddItemToObject(o, "ci", ci_json(&ci[k]));
            cJSON_AddItemToArray(cl, o);
        }
        cJSON *m = cJSON_AddObjectToObject(j, "micro");
        cJSON_AddNumberToObject(m, "tp", (double)micro.tp);
        cJSON_AddNumberToObject(m, "fp", (double)micro.fp);
        cJSON_AddNumberToObject(m, "fn", (double)micro.fn);
        cli_prf_json(m, dg_counts_prf(&micro));
        cJSON_AddItemToObject(m, "ci", ci_json(&all));
        cli_print_json(j, compact);
    } else {
        printf("%s at confidence >= %g, IoU >= %g%s%s; %g intervals, %u "
               "resamples over frames, seed %llu\n\n",
               name, conf, dg_results_iou(r, t), segment ? ", segment " : "",
               segment ? segment : "", level, nres,
               (unsigned long long)bo->seed);
        int w = 5;
        for (uint32_t k = 0; k < nc; k++)
            if ((int)strlen(dg_project_class_name(p, k)) > w)
                w = (int)strlen(dg_project_class_name(p, k));
        w = w > 30 ? 30 : w;
        printf("%-*s %8s %8s %8s  %-23s  %-23s  %-23s\n", w, "class", "TP",
               "FP", "FN", "precision [lo, hi]", "recall [lo, hi]",
               "F1 [lo, hi]");
        for (uint32_t k = 0; k < nc; k++)
            print_row(dg_project_class_name(p, k), w, &c[k], &ci[k]);
        printf("\n");
        print_row("micro", w, &micro, &all);
    }
out:
    free(c);
    free(ci);
    dg_results_free(r);
    return rc;
}
