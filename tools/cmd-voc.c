/*
 * detgrid voc: Pascal VOC AP per class and mAP (VOC2007 11-point or
 * VOC2012 all-point), from a project or straight from folders of text
 * files. The semantics are in include/detgrid/voc.h and docs/VOC.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "import-txt.h"

static const char *const usage[] = {
    "detgrid voc <project.h5> [--inferences <name>] [--protocol voc07|voc12] "
    "[--iou <t>] [--plus1|--no-plus1] [--json]",
    "detgrid voc --format <format> --gt-dir <dir> --dt-dir <dir> "
    "[<format options>] [--protocol voc07|voc12] [--iou <t>] [--json]",
    NULL};

static void fmt_ap(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%8s", "-");
    else
        snprintf(buf, cap, "%7.2f%%", 100 * v);
}

static cJSON *num_array(const double *v, uint64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (uint64_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cli_num(v[i]));
    return a;
}

static void report_json(const dg_project *p, const char *name,
                        const dg_voc_result *r, int curves, int compact)
{
    const dg_voc_opts *o = &r->opts;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "inferences", name);
    cJSON_AddStringToObject(j, "protocol", dg_voc_protocol_name(o->protocol));
    cJSON_AddNumberToObject(j, "iou", o->iou);
    cJSON_AddBoolToObject(j, "plus1", o->plus1);
    if (o->protocol == DG_VOC07)
        cJSON_AddStringToObject(j, "recall_points",
                                o->exact_recall_points ? "exact" : "numpy");
    cJSON *cl = cJSON_AddArrayToObject(j, "classes");
    for (uint32_t k = 0; k < r->n_classes; k++) {
        const dg_voc_class *c = &r->classes[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", dg_project_class_name(p, k));
        cJSON_AddNumberToObject(e, "id", (double)dg_project_class_id(p, k));
        cJSON_AddNumberToObject(e, "n_gt", (double)c->n_gt);
        cJSON_AddNumberToObject(e, "n_difficult", (double)c->n_difficult);
        cJSON_AddNumberToObject(e, "n_det", (double)c->n_det);
        cJSON_AddNumberToObject(e, "n_ignored", (double)c->n_ignored);
        cJSON_AddNumberToObject(e, "tp", (double)c->tp);
        cJSON_AddNumberToObject(e, "fp", (double)c->fp);
        cJSON_AddItemToObject(e, "ap", cli_num(c->ap));
        if (curves) {
            cJSON *cv = cJSON_AddObjectToObject(e, "curve");
            cJSON_AddItemToObject(cv, "score", num_array(c->score, c->n_points));
            cJSON_AddItemToObject(cv, "precision",
                                  num_array(c->precision, c->n_points));
            cJSON_AddItemToObject(cv, "recall",
                                  num_array(c->recall, c->n_points));
        }
        cJSON_AddItemToArray(cl, e);
    }
    cJSON_AddItemToObject(j, "map", cli_num(r->map));
    cJSON_AddNumberToObject(j, "map_classes", r->n_map_classes);
    cli_print_json(j, compact);
}

static void report_table(const dg_project *p, const char *name,
                         const dg_voc_result *r)
{
    const dg_voc_opts *o = &r->opts;
    char ap[32];
    if (o->protocol == DG_VOC07)
        printf("voc07: 11-point AP (%s recall points)",
               o->exact_recall_points ? "exact" : "numpy");
    else
        printf("voc12: all-point AP");
    printf(", IoU >= %g, %s IoU, inference set '%s'\n\n", o->iou,
           o->plus1 ? "+1 pixel" : "continuous", name);
    size_t w = 5;
    for (uint32_t k = 0; k < r->n_classes; k++)
        if (strlen(dg_project_class_name(p, k)) > w)
            w = strlen(dg_project_class_name(p, k));
    if (w > 40)
        w = 40;
    printf("%-*s %7s %9s %7s %7s %7s %8s\n", (int)w, "class", "GT",
           "difficult", "dets", "TP", "FP", "AP");
    for (uint32_t k = 0; k < r->n_classes; k++) {
        const dg_voc_class *c = &r->classes[k];
        fmt_ap(ap, sizeof(ap), c->ap);
        printf("%-*.*s %7llu %9llu %7llu %7llu %7llu %s\n", (int)w, (int)w,
               dg_project_class_name(p, k), (unsigned long long)c->n_gt,
               (unsigned long long)c->n_difficult,
               (unsigned long long)c->n_det, (unsigned long long)c->tp,
               (unsigned long long)c->fp, ap);
    }
    if (isnan(r->map))
        snprintf(ap, sizeof(ap), "-");
    else
        snprintf(ap, sizeof(ap), "%.2f%%", 100 * r->map);
    printf("\nmAP = %s over %u class%s with ground truth\n", ap,
           r->n_map_classes, r->n_map_classes == 1 ? "" : "es");
}

int cmd_voc(int argc, const char **argv)
{
    const char *inf = NULL, *protocol = "voc12", *points = NULL;
    const char *format = NULL, *gt = NULL, *dt = NULL, *set = NULL;
    double iou = 0.5;
    int plus1 = 0, no_plus1 = 0, json = 0, compact = 0, curves = 0;
    txt_cli t = {0};
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_STR, 0, "protocol", &protocol, "<p>",
         "voc07 (11-point AP) or voc12 (all-point AP, the default)", 0},
        {OPT_DBL, 't', "iou", &iou, "<t>", "a match needs IoU >= t (0.5)", 0},
        {OPT_FLAG, 0, "plus1", &plus1, NULL,
         "pixel-inclusive IoU, width = x2 - x1 + 1 (the default)", 0},
        {OPT_FLAG, 0, "no-plus1", &no_plus1, NULL, "continuous IoU", 0},
        {OPT_STR, 0, "recall-points", &points, "numpy|exact",
         "voc07: numpy's i * 0.1 (default) or exactly i / 10", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_FLAG, 0, "curves", &curves, NULL,
         "with --json: each class's precision/recall curve", 0},
        {OPT_STR, 0, "format", &format, "<format>",
         "evaluate folders directly: " TXT_CLI_FORMATS, 0},
        {OPT_STR, 0, "gt-dir", &gt, "<dir>", "with --format: ground truth", 0},
        {OPT_STR, 0, "dt-dir", &dt, "<dir>", "with --format: detections", 0},
        {OPT_STR, 0, "name", &set, "<name>",
         "with --format: the detections' name (default: the folder's)", 0},
        TXT_CLI_OPTIONS(t),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);

    dg_voc_opts o;
    int proto = dg_voc_protocol_parse(protocol);
    if (proto < 0)
        cli_usage_error(usage, opts, "--protocol must be voc07 or voc12, not "
                        "'%s'", protocol);
    dg_voc_opts_init(&o);
    o.protocol = (dg_voc_protocol)proto;
    if (!(iou > 0 && iou <= 1))
        cli_usage_error(usage, opts, "--iou must be in (0, 1], not %g", iou);
    o.iou = iou;
    if (plus1 && no_plus1)
        cli_usage_error(usage, opts, "--plus1 and --no-plus1 contradict each "
                        "other");
    if (no_plus1)
        o.plus1 = 0;
    if (points) {
        if (!strcmp(points, "exact"))
            o.exact_recall_points = 1;
        else if (strcmp(points, "numpy"))
            cli_usage_error(usage, opts, "--recall-points must be numpy or "
                            "exact, not '%s'", points);
    }
    if ((compact || curves) && !json)
        cli_usage_error(usage, opts, "--compact and --curves go with --json");

    dg_txt_opts to;
    int direct = format || gt || dt;
    if (direct) {
        if (npos)
            cli_usage_error(usage, opts, "give a project file or --format "
                            "with folders, not both");
        if (!format || !gt || !dt)
            cli_usage_error(usage, opts, "evaluating folders needs --format, "
                            "--gt-dir and --dt-dir");
        if (!strcmp(format, "coco"))
            cli_usage_error(usage, opts, "for COCO files, import them first "
                            "(detgrid import coco) and give the project");
        if (inf)
            cli_usage_error(usage, opts, "--inferences goes with a project "
                            "file; use --name");
        txt_cli_opts(format, &t, &to, usage, opts);
    } else {
        if (npos != 1)
            cli_usage_error(usage, opts, "need a project file, or --format "
                            "with --gt-dir and --dt-dir");
        if (set || t.names || t.sizes || t.box || t.coords || t.conf_pos ||
            t.unlabeled || t.no_unlabeled || t.drop_unknown)
            cli_usage_error(usage, opts, "format options go with --format");
    }

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    dg_status st;
    int rc = EXIT_OK;
    char set_buf[256];
    const char *name;
    if (direct) {
        if (set)
            snprintf(set_buf, sizeof(set_buf), "%s", set);
        else
            txt_cli_dir_name(dt, set_buf, sizeof(set_buf));
        const char *dts[1] = {dt}, *names[1] = {set_buf};
        if ((st = dg_project_create(ctx, &p)) < 0 ||
            (st = dg_import_txt(ctx, p, gt, 1, dts, names, 0, &to)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        cli_flush_warnings(ctx);
        name = set_buf;
    } else {
        name = cli_open_inferences(ctx, pos[0], inf, NULL, NULL, &p);
        if (!name) {
            rc = EXIT_ERROR;
            goto done;
        }
    }

    dg_voc_result r;
    if ((st = dg_voc_evaluate(ctx, p, name, &o, &r)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    if (json)
        report_json(p, name, &r, curves, compact);
    else
        report_table(p, name, &r);
    dg_voc_result_release(&r);
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
