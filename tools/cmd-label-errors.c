/*
 * detgrid label-errors: ranked lists of likely labelling mistakes, where
 * one inference set disagrees with the labels in ways that point at the
 * labels (docs/ERRORS.md defines every list and score).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/label_errors.h"

static const char *const usage[] = {
    "detgrid label-errors <project.h5> [--inferences <name>] [--iou <t>] "
    "[--kind <kind>] [--limit <n>] [--json]",
    NULL};

static const char *const blurb[DG_LE_N_KINDS] = {
    "confident detections that overlap no label",
    "confident detections on an unmatched label of another class",
    "unmatched labels no detection comes near",
    "labels matched only by a low-confidence detection",
    "unmatched labels a confident detection of their class half covers",
};

static cJSON *box_json(const double *b)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(a, cli_num(b[i]));
    return a;
}

static cJSON *entry_json(dg_project *p, const dg_label_error *e,
                         uint64_t rank)
{
    char reason[512];
    dg_label_error_describe(p, e, reason, sizeof(reason));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rank", (double)rank);
    cJSON_AddItemToObject(o, "score", cli_num(e->score));
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddStringToObject(o, "frame", dg_project_frame_id(p, e->frame));
    cJSON_AddNumberToObject(o, "frame_index", e->frame);
    if (e->label >= 0) {
        cJSON *l = cJSON_AddObjectToObject(o, "label");
        cJSON_AddNumberToObject(l, "index", (double)e->label);
        cJSON_AddStringToObject(l, "class",
                                dg_project_class_name(p, e->label_cls));
        cJSON_AddNumberToObject(l, "class_index", e->label_cls);
        cJSON_AddItemToObject(l, "box", box_json(e->label_box));
    } else {
        cJSON_AddNullToObject(o, "label");
    }
    if (e->det >= 0) {
        cJSON *d = cJSON_AddObjectToObject(o, "detection");
        cJSON_AddNumberToObject(d, "index", (double)e->det);
        cJSON_AddStringToObject(d, "class",
                                dg_project_class_name(p, e->det_cls));
        cJSON_AddNumberToObject(d, "class_index", e->det_cls);
        cJSON_AddItemToObject(d, "score", cli_num(e->conf));
        cJSON_AddItemToObject(d, "box", box_json(e->det_box));
    } else {
        cJSON_AddNullToObject(o, "detection");
    }
    cJSON_AddItemToObject(o, "iou", cli_num(e->iou));
    if (e->kind == DG_LE_MISSING)
        cJSON_AddNumberToObject(o, "detections", e->aux);
    else if (e->kind == DG_LE_SPURIOUS)
        cJSON_AddItemToObject(o, "recall_prior", cli_num(e->aux));
    return o;
}

static void print_box(const char *what, const char *cls, int64_t idx,
                      const double *b)
{
    printf(" %s #%lld %s [%.2f %.2f %.2f %.2f]", what, (long long)idx, cls,
           b[0], b[1], b[2], b[3]);
}

int cmd_label_errors(int argc, const char **argv)
{
    const char *inf = NULL, *kind = "all";
    double iou = NAN, bg = NAN, conf = 0;
    long limit = 20;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_DBL, 't', "iou", &iou, "<t>",
         "match at IoU >= t (default: project's, 0.5)", 0},
        {OPT_DBL, 0, "bg-iou", &bg, "<b>",
         "'near' means IoU >= b (default 0.1)", 0},
        {OPT_DBL, 'c', "conf", &conf, "<c>",
         "leave out detections with score < c (default 0)", 0},
        {OPT_STR, 'k', "kind", &kind, "<kind>",
         "missing, wrong-class, spurious, low-conf-agreement, bad-box, "
         "a comma list or all (default)", 0},
        {OPT_INT, 'n', "limit", &limit, "<n>",
         "entries per list (default 20; 0: all)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (limit < 0)
        cli_usage_error(usage, opts, "--limit must be >= 0");
    if (!isnan(iou) && !(iou > 0 && iou <= 1))
        cli_usage_error(usage, opts, "--iou must be in (0, 1]");
    if (!isnan(bg) && !(bg > 0 && bg < 1))
        cli_usage_error(usage, opts, "--bg-iou must be in (0, 1)");
    if (!(conf >= 0 && conf <= 1))
        cli_usage_error(usage, opts, "--conf must be in [0, 1]");
    if (!isnan(bg) && !isnan(iou) && !(bg < iou))
        cli_usage_error(usage, opts, "--bg-iou must be below --iou");

    unsigned kinds = 0;
    if (strcmp(kind, "all")) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", kind);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int k = dg_label_error_kind_parse(tok);
            if (k < 0)
                cli_usage_error(usage, opts, "unknown kind '%s'", tok);
            kinds |= 1u << k;
        }
    }

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    const char *name = cli_open_inferences(ctx, pos[0], inf, NULL, NULL, &p);
    if (!name)
        goto done;
    dg_label_errors_opts o;
    dg_label_errors_opts_init(&o);
    if (!isnan(iou))
        o.iou = iou;
    if (!isnan(bg))
        o.bg_iou = bg;
    o.conf = conf;
    o.limit = (uint64_t)limit;
    o.kinds = kinds;
    dg_label_errors_result le;
    dg_status st = dg_label_errors_evaluate(ctx, p, name, &o, &le);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    unsigned shown = kinds ? kinds : (1u << DG_LE_N_KINDS) - 1;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        cJSON_AddItemToObject(j, "iou", cli_num(le.iou));
        cJSON_AddItemToObject(j, "bg_iou", cli_num(le.bg_iou));
        cJSON_AddItemToObject(j, "conf", cli_num(le.conf));
        cJSON_AddNumberToObject(j, "tp", (double)le.tp);
        cJSON_AddNumberToObject(j, "fp", (double)le.fp);
        cJSON_AddNumberToObject(j, "fn", (double)le.fn);
        cJSON_AddItemToObject(j, "seconds", cli_num(le.seconds));
        cJSON *lists = cJSON_AddObjectToObject(j, "lists");
        for (int k = 0; k < DG_LE_N_KINDS; k++) {
            if (!(shown & (1u << k)))
                continue;
            cJSON *l = cJSON_AddObjectToObject(
                lists, dg_label_error_kind_name((dg_label_error_kind)k));
            cJSON_AddNumberToObject(l, "candidates",
                                    (double)le.n_candidates[k]);
            cJSON *a = cJSON_AddArrayToObject(l, "entries");
            for (uint64_t i = 0; i < le.n[k]; i++)
                cJSON_AddItemToArray(a, entry_json(p, &le.list[k][i], i + 1));
        }
        cli_print_json(j, compact);
    } else {
        printf("%s: matching at IoU >= %g, confidence >= %g: %llu TP, %llu "
               "FP, %llu FN\n",
               name, le.iou, le.conf, (unsigned long long)le.tp,
               (unsigned long long)le.fp, (unsigned long long)le.fn);
        for (int k = 0; k < DG_LE_N_KINDS; k++) {
            if (!(shown & (1u << k)))
                continue;
            printf("\n%s: %llu candidates (%s)%s\n",
                   dg_label_error_kind_name((dg_label_error_kind)k),
                   (unsigned long long)le.n_candidates[k], blurb[k],
                   le.n[k] < le.n_candidates[k] ? ", best first" : "");
            if (le.n[k])
                printf("%4s %6s %s\n       %s\n", "#", "score",
                       "frame: the boxes (record class [x y w h])", "why");
            for (uint64_t i = 0; i < le.n[k]; i++) {
                const dg_label_error *e = &le.list[k][i];
                char reason[512];
                dg_label_error_describe(p, e, reason, sizeof(reason));
                printf("%4llu %6.3f %s:", (unsigned long long)i + 1, e->score,
                       dg_project_frame_id(p, e->frame));
                if (e->label >= 0)
                    print_box("label", dg_project_class_name(p, e->label_cls),
                              e->label, e->label_box);
                if (e->det >= 0)
                    print_box("detection",
                              dg_project_class_name(p, e->det_cls), e->det,
                              e->det_box);
                printf("\n       %s\n", reason);
            }
        }
    }
    dg_label_errors_result_release(&le);
    rc = EXIT_OK;
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
