/*
 * detgrid errors: the TIDE error taxonomy of one inference set (every false
 * positive and false negative as Cls, Loc, Both, Dupe, Bkg or Miss) with
 * the AP that fixing each type would add, as tidecv computes them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/tide.h"

static const char *const usage[] = {
    "detgrid errors <project.h5> [--inferences <name>] [--conf <c>] "
    "[--fg-iou <t>] [--bg-iou <b>] [--json]",
    NULL};

static const char *const meaning[DG_TIDE_N] = {
    "right box, wrong class",
    "right class, box IoU in [bg, fg]",
    "wrong class and a poor box",
    "duplicate of a true positive",
    "background: IoU <= bg with every label",
    "label no error above could find",
};

static void fmt_ap(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%7s", "-");
    else
        snprintf(buf, cap, "%7.2f", v);
}

int cmd_errors(int argc, const char **argv)
{
    const char *inf = NULL;
    double conf = 0, fg = 0.5, bg = 0.1;
    long max_dets = 100;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_DBL, 'c', "conf", &conf, "<c>",
         "leave out detections with score < c (default 0, as tidecv)", 0},
        {OPT_DBL, 0, "fg-iou", &fg, "<t>",
         "match at IoU >= t (tidecv's pos_threshold, default 0.5)", 0},
        {OPT_DBL, 0, "bg-iou", &bg, "<b>",
         "background: IoU <= b with every label (tidecv's background_threshold, 0.1)", 0},
        {OPT_INT, 0, "max-dets", &max_dets, "<n>",
         "keep the n best detections per frame (default 100; 0: all)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!(conf >= 0 && conf <= 1))
        cli_usage_error(usage, opts, "--conf must be in [0, 1]");
    if (!(fg > 0 && fg <= 1))
        cli_usage_error(usage, opts, "--fg-iou must be in (0, 1]");
    if (!(bg > 0 && bg <= fg))
        cli_usage_error(usage, opts, "--bg-iou must be in (0, --fg-iou]");
    if (max_dets < 0)
        cli_usage_error(usage, opts, "--max-dets must be >= 0");

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    const char *name = cli_open_inferences(ctx, pos[0], inf, NULL, NULL, &p);
    if (!name)
        goto done;
    dg_tide_opts o;
    dg_tide_opts_init(&o);
    o.conf = conf;
    o.fg_iou = fg;
    o.bg_iou = bg;
    o.max_dets = max_dets ? max_dets : -1;
    dg_tide_result r;
    dg_status st = dg_tide_evaluate(ctx, p, name, &o, &r);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        cJSON_AddItemToObject(j, "conf", cli_num(r.conf));
        cJSON_AddItemToObject(j, "fg_iou", cli_num(r.fg_iou));
        cJSON_AddItemToObject(j, "bg_iou", cli_num(r.bg_iou));
        if (r.max_dets < 0)
            cJSON_AddNullToObject(j, "max_dets");
        else
            cJSON_AddNumberToObject(j, "max_dets", (double)r.max_dets);
        cJSON_AddItemToObject(j, "ap", cli_num(r.ap));
        cJSON_AddNumberToObject(j, "n_det", (double)r.n_det);
        cJSON_AddNumberToObject(j, "n_dropped", (double)r.n_dropped);
        cJSON_AddNumberToObject(j, "n_gt", (double)r.n_gt);
        cJSON_AddNumberToObject(j, "tp", (double)r.tp);
        cJSON_AddNumberToObject(j, "fp", (double)r.fp);
        cJSON_AddNumberToObject(j, "ignored", (double)r.ignored);
        cJSON_AddNumberToObject(j, "fn", (double)r.fn);
        cJSON_AddNumberToObject(j, "fn_fixable", (double)r.fn_fixable);
        cJSON *e = cJSON_AddObjectToObject(j, "errors");
        for (int k = 0; k < DG_TIDE_N; k++) {
            cJSON *t = cJSON_AddObjectToObject(
                e, dg_tide_type_name((dg_tide_type)k));
            cJSON_AddNumberToObject(t, "count", (double)r.total[k]);
            cJSON_AddItemToObject(t, "dap", cli_num(r.dap[k]));
        }
        cJSON *sp = cJSON_AddObjectToObject(j, "special");
        cJSON_AddItemToObject(sp, "FalsePos", cli_num(r.dap_fp));
        cJSON_AddItemToObject(sp, "FalseNeg", cli_num(r.dap_fn));
        cJSON *cl = cJSON_AddArrayToObject(j, "classes");
        for (uint32_t c = 0; c < r.n_classes; c++) {
            cJSON *o2 = cJSON_CreateObject();
            cJSON_AddStringToObject(o2, "name", dg_project_class_name(p, c));
            cJSON_AddNumberToObject(o2, "id",
                                    (double)dg_project_class_id(p, c));
            cJSON_AddItemToObject(o2, "ap", cli_num(r.class_ap[c]));
            for (int k = 0; k < DG_TIDE_N; k++)
                cJSON_AddNumberToObject(
                    o2, dg_tide_type_name((dg_tide_type)k),
                    (double)r.count[(size_t)c * DG_TIDE_N + k]);
            cJSON_AddItemToArray(cl, o2);
        }
        cJSON_AddItemToObject(j, "seconds", cli_num(r.seconds));
        cli_print_json(j, compact);
    } else {
        char a[16];
        printf("%s: TIDE errors at IoU fg %g, bg %g, confidence >= %g, ", name,
               r.fg_iou, r.bg_iou, r.conf);
        if (r.max_dets < 0)
            printf("all detections\n");
        else
            printf("%lld detections per frame\n", (long long)r.max_dets);
        fmt_ap(a, sizeof(a), r.ap);
        printf("AP%g %s (tidecv's AP); %llu detections: %llu TP, %llu FP, "
               "%llu ignored; %llu labels: %llu FN (%llu fixable)\n\n",
               100 * r.fg_iou, a + strspn(a, " "), (unsigned long long)r.n_det,
               (unsigned long long)r.tp, (unsigned long long)r.fp,
               (unsigned long long)r.ignored, (unsigned long long)r.n_gt,
               (unsigned long long)r.fn, (unsigned long long)r.fn_fixable);
        printf("%-9s %8s %7s\n", "type", "count", "dAP");
        for (int k = 0; k < DG_TIDE_N; k++) {
            fmt_ap(a, sizeof(a), r.dap[k]);
            printf("%-9s %8llu %s   %s\n", dg_tide_type_name((dg_tide_type)k),
                   (unsigned long long)r.total[k], a, meaning[k]);
        }
        fmt_ap(a, sizeof(a), r.dap_fp);
        printf("%-9s %8s %s   %s\n", "FalsePos", "", a,
               "perfect precision, same recall");
        fmt_ap(a, sizeof(a), r.dap_fn);
        printf("%-9s %8s %s   %s\n", "FalseNeg", "", a,
               "perfect recall, same precision");
        size_t w = 5;
        for (uint32_t c = 0; c < r.n_classes; c++)
            if (strlen(dg_project_class_name(p, c)) > w)
                w = strlen(dg_project_class_name(p, c));
        if (w > 30)
            w = 30;
        printf("\n%-*s %7s", (int)w, "class", "AP");
        for (int k = 0; k < DG_TIDE_N; k++)
            printf(" %6s", dg_tide_type_name((dg_tide_type)k));
        printf("\n");
        for (uint32_t c = 0; c < r.n_classes; c++) {
            fmt_ap(a, sizeof(a), r.class_ap[c]);
            printf("%-*.*s %s", (int)w, (int)w, dg_project_class_name(p, c),
                   a);
            for (int k = 0; k < DG_TIDE_N; k++)
                printf(" %6llu", (unsigned long long)
                                     r.count[(size_t)c * DG_TIDE_N + k]);
            printf("\n");
        }
    }
    dg_tide_result_release(&r);
    rc = EXIT_OK;
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
