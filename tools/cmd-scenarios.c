/*
 * detgrid scenarios: one card per segment, grouped as splits, regression
 * tests and scenarios, with each inference set's precision, recall and F1
 * against the segment's targets and pass or fail.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "scenario.h"

static const char *const usage[] = {
    "detgrid scenarios <project.h5> [-i <A> [-i <B>]] [--conf-a <c>] "
    "[--iou-a <t>] [--conf-b <c>] [--iou-b <t>] [--json]",
    NULL};

#define MAX_SETS 8

/* b - a of each figure; NaN where either is undefined. */
static dg_prf prf_diff(dg_prf b, dg_prf a)
{
    dg_prf d = {b.precision - a.precision, b.recall - a.recall, b.f1 - a.f1};
    return d;
}

static void fmt_signed(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%9s", "-");
    else
        snprintf(buf, cap, "%+9.4f", v);
}

/* Under A's and B's rows (r[0], r[1]), B - A aligned with their figures
 * (lead: the width before them). */
static void print_diff(const sc_result *r, int lead)
{
    dg_prf d = prf_diff(r[1].prf, r[0].prf);
    char p[16], rc[16], f[16], ap[32] = "";
    fmt_signed(p, sizeof(p), d.precision);
    fmt_signed(rc, sizeof(rc), d.recall);
    fmt_signed(f, sizeof(f), d.f1);
    if (!isnan(r[0].ap) && !isnan(r[1].ap))
        snprintf(ap, sizeof(ap), "  AP %+.4f", r[1].ap - r[0].ap);
    printf("%-*s%-6s %s %s %s%s\n", lead, "    B - A", "", p, rc, f, ap);
}

int cmd_scenarios(int argc, const char **argv)
{
    strlist sets = {{0}, 0};
    double conf[2] = {NAN, NAN}, iou[2] = {NAN, NAN};
    int json = 0, compact = 0;
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &sets, "<name>",
         "inference set, once or twice: A then B (default: every set)", 0},
        {OPT_DBL, 0, "conf-a", &conf[0], "<c>",
         "A's confidence (default: the segment's, else the project's)", 0},
        {OPT_DBL, 0, "iou-a", &iou[0], "<t>",
         "A's IoU, a stored threshold (default: the segment's, else the "
         "project's)",
         0},
        {OPT_DBL, 0, "conf-b", &conf[1], "<c>", "B's confidence", 0},
        {OPT_DBL, 0, "iou-b", &iou[1], "<t>", "B's IoU", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    const char *names[MAX_SETS];
    int rc = EXIT_OK;
    int ns = cli_pick_sets(p, pos[0], &sets, names, MAX_SETS);
    if (ns < 0) {
        rc = EXIT_ERROR;
        goto out;
    }
    if (!ns) {
        rc = cli_error("'%s' has no inference sets", pos[0]);
        goto out;
    }
    uint32_t nseg = dg_project_n_segments(p);
    sc_result *res = calloc((size_t)nseg * ns, sizeof(*res));
    uint32_t *nfr = calloc(nseg, sizeof(*nfr));
    if (!res || !nfr) {
        free(res);
        free(nfr);
        rc = cli_error("out of memory");
        goto out;
    }
    for (uint32_t s = 0; s < nseg && rc == EXIT_OK; s++) {
        const uint32_t *f;
        dg_status st = dg_project_segment_frames(ctx, p, s, &f, &nfr[s]);
        if (st < 0) {
            rc = cli_fail(ctx, st);
            break;
        }
        for (int k = 0; k < ns && rc == EXIT_OK; k++)
            rc = sc_eval(ctx, p, names[k], s, k < 2 ? conf[k] : NAN,
                         k < 2 ? iou[k] : NAN, NULL, 0,
                         &res[(size_t)s * ns + k]);
    }
    static const char *const group[3] = {"splits", "regression_tests",
                                         "scenarios"};
    static const char *const title[3] = {"Splits", "Regression tests",
                                         "Scenarios"};
    if (rc == EXIT_OK && json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "file", pos[0]);
        cJSON *ia = cJSON_AddArrayToObject(j, "inferences");
        for (int k = 0; k < ns; k++)
            cJSON_AddItemToArray(ia, cJSON_CreateString(names[k]));
        for (int g = 0; g < 3; g++) {
            cJSON *arr = cJSON_AddArrayToObject(j, group[g]);
            for (uint32_t s = 0; s < nseg; s++) {
                if ((int)dg_project_segment_kind(p, s) != g)
                    continue;
                cJSON *card = cJSON_CreateObject();
                cJSON_AddStringToObject(card, "segment",
                                        dg_project_segment_name(p, s));
                cJSON_AddStringToObject(
                    card, "kind",
                    dg_segment_kind_name(dg_project_segment_kind(p, s)));
                cJSON_AddNumberToObject(card, "frames", nfr[s]);
                cJSON_AddItemToObject(card, "targets",
                                      sc_targets_json(&res[(size_t)s * ns].t));
                cJSON *ra = cJSON_AddArrayToObject(card, "results");
                for (int k = 0; k < ns; k++) {
                    cJSON *o = cJSON_CreateObject();
                    sc_json(&res[(size_t)s * ns + k], o);
                    cJSON_AddItemToArray(ra, o);
                }
                if (ns == 2) {
                    const sc_result *a = &res[(size_t)s * ns];
                    cJSON *d = cli_prf_json(
                        cJSON_AddObjectToObject(card, "b_minus_a"),
                        prf_diff(a[1].prf, a[0].prf));
                    cJSON_AddItemToObject(d, "ap", cli_num(a[1].ap - a[0].ap));
                }
                cJSON_AddItemToArray(arr, card);
            }
        }
        cli_print_json(j, compact);
    } else if (rc == EXIT_OK) {
        size_t w = 4;
        for (int k = 0; k < ns; k++)
            if (strlen(names[k]) > w)
                w = strlen(names[k]);
        if (w > 30)
            w = 30;
        for (int g = 0; g < 3; g++) {
            int any = 0;
            for (uint32_t s = 0; s < nseg; s++) {
                if ((int)dg_project_segment_kind(p, s) != g)
                    continue;
                if (!any)
                    printf("%s%s\n", g && rc == EXIT_OK ? "\n" : "",
                           title[g]);
                any = 1;
                char tg[128];
                sc_fmt_targets(tg, sizeof(tg), &res[(size_t)s * ns].t);
                printf("\n  %s  (%u frames; %s)\n",
                       dg_project_segment_name(p, s), nfr[s], tg);
                for (int k = 0; k < ns; k++) {
                    const sc_result *r = &res[(size_t)s * ns + k];
                    char prf[96];
                    cli_fmt_prf(prf, sizeof(prf), r->prf);
                    if (!isnan(r->ap)) {
                        size_t len = strlen(prf);
                        snprintf(prf + len, sizeof(prf) - len, "  AP %.4f",
                                 r->ap);
                    }
                    int lead = printf("    %c %-*.*s conf %-5g IoU %-5g ",
                                      k < 26 ? 'A' + k : '?', (int)w, (int)w,
                                      names[k], r->conf, r->iou);
                    printf("P/R/F1 %s  %s%s%s\n", prf,
                           !r->has_targets ? "-"
                           : r->pass       ? "PASS"
                                           : "FAIL",
                           r->why[0] ? ": " : "", r->why);
                    if (k == 1 && ns == 2)
                        print_diff(r - 1, lead);
                }
            }
        }
    }
    free(res);
    free(nfr);
out:
    sc_release();
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
