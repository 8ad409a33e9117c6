/*
 * detgrid check: the regression gate for CI. Every inference set (or the
 * named ones) against every regression-test segment's targets; exit 0 when
 * all pass, 1 when any fails, 2 on error. --junit writes one test case per
 * (inference set, segment).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "scenario.h"

static const char *const usage[] = {
    "detgrid check <project.h5> [-i <name>]... [--conf <c>] [--iou <t>] "
    "[--strict [--level <l>] [--resamples <n>] [--seed <n>]] "
    "[--junit <file>] [--json]",
    NULL};

/* s with XML's five special characters escaped (control chars dropped). */
static void sb_xml(cli_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cli_bprintf(b, "&amp;"); break;
        case '<': cli_bprintf(b, "&lt;"); break;
        case '>': cli_bprintf(b, "&gt;"); break;
        case '"': cli_bprintf(b, "&quot;"); break;
        case '\'': cli_bprintf(b, "&apos;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                cli_bprintf(b, "%c", *s);
        }
    }
}

static void fmt_fig(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.4f", v);
}

static int write_junit(const char *path, dg_project *p, const sc_result *res,
                       int n_sets, int n_seg, const char *const *names,
                       double secs)
{
    cli_buf b = {0};
    int fails = 0;
    for (int k = 0; k < n_sets * n_seg; k++)
        fails += !res[k].pass;
    cli_bprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    cli_bprintf(&b,
              "<testsuites name=\"detgrid check\" tests=\"%d\" "
              "failures=\"%d\" errors=\"0\" time=\"%.3f\">\n",
              n_sets * n_seg, fails, secs);
    for (int k = 0; k < n_sets; k++) {
        int sf = 0;
        for (int s = 0; s < n_seg; s++)
            sf += !res[(size_t)k * n_seg + s].pass;
        cli_bprintf(&b, "  <testsuite name=\"");
        sb_xml(&b, names[k]);
        cli_bprintf(&b,
                  "\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
                  "skipped=\"0\" time=\"0\">\n",
                  n_seg, sf);
        for (int s = 0; s < n_seg; s++) {
            const sc_result *r = &res[(size_t)k * n_seg + s];
            char tg[128], f[3][16];
            sc_fmt_targets(tg, sizeof(tg), &r->t);
            fmt_fig(f[0], sizeof(f[0]), r->prf.precision);
            fmt_fig(f[1], sizeof(f[1]), r->prf.recall);
            fmt_fig(f[2], sizeof(f[2]), r->prf.f1);
            cli_bprintf(&b, "    <testcase name=\"");
            sb_xml(&b, dg_project_segment_name(p, r->segment));
            cli_bprintf(&b, "\" classname=\"detgrid.");
            sb_xml(&b, names[k]);
            cli_bprintf(&b, "\" time=\"0\">\n");
            if (!r->pass) {
                cli_bprintf(&b, "      <failure type=\"target\" message=\"");
                sb_xml(&b, r->why);
                cli_bprintf(&b, "\">");
                sb_xml(&b, r->why);
                cli_bprintf(&b, "</failure>\n");
            }
            cli_bprintf(&b,
                      "      <system-out>conf %g, IoU %g: TP %llu, FP %llu, "
                      "FN %llu; precision %s, recall %s, F1 %s; targets: ",
                      r->conf, r->iou, (unsigned long long)r->micro.tp,
                      (unsigned long long)r->micro.fp,
                      (unsigned long long)r->micro.fn, f[0], f[1], f[2]);
            sb_xml(&b, tg);
            if (r->strict) {
                char lo[3][16];
                fmt_fig(lo[0], sizeof(lo[0]), r->ci.lo.precision);
                fmt_fig(lo[1], sizeof(lo[1]), r->ci.lo.recall);
                fmt_fig(lo[2], sizeof(lo[2]), r->ci.lo.f1);
                cli_bprintf(&b, " (strict: lower bounds %s, %s, %s)", lo[0],
                          lo[1], lo[2]);
            }
            cli_bprintf(&b, "</system-out>\n    </testcase>\n");
        }
        cli_bprintf(&b, "  </testsuite>\n");
    }
    cli_bprintf(&b, "</testsuites>\n");
    if (b.oom) {
        free(b.s);
        return cli_error("out of memory");
    }
    int rc = cli_write_file(path, b.s, b.n);
    free(b.s);
    return rc;
}

int cmd_check(int argc, const char **argv)
{
    strlist sets = {{0}, 0};
    double conf = NAN, iou = NAN, level = 0.95;
    long resamples = 1000, seed = 0;
    const char *junit = NULL;
    int json = 0, compact = 0, strict = 0;
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &sets, "<name>",
         "check this inference set (repeatable; default: every set)", 0},
        {OPT_DBL, 'c', "conf", &conf, "<c>",
         "confidence for every check (default: each segment's, else the "
         "project's)",
         0},
        {OPT_DBL, 't', "iou", &iou, "<t>",
         "IoU for every check, a stored threshold (default: each segment's, "
         "else the project's)",
         0},
        {OPT_FLAG, 0, "strict", &strict, NULL,
         "pass only when the bootstrap interval's lower bound meets the "
         "target",
         0},
        {OPT_DBL, 0, "level", &level, "<l>",
         "--strict: interval level (default 0.95)", 0},
        {OPT_INT, 0, "resamples", &resamples, "<n>",
         "--strict: bootstrap resamples (default 1000)", 0},
        {OPT_INT, 0, "seed", &seed, "<n>", "--strict: bootstrap seed (default 0)",
         0},
        {OPT_STR, 0, "junit", &junit, "<file>",
         "also write JUnit XML, one test case per (inference set, segment)",
         0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!(level > 0 && level < 1))
        cli_usage_error(usage, opts, "--level must be in (0, 1)");
    if (resamples < 1 || resamples > 1000000)
        cli_usage_error(usage, opts, "--resamples must be in [1, 1000000]");
    double t0 = cli_now();
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    const char *names[64];
    int rc = EXIT_OK;
    sc_result *res = NULL;
    uint32_t *segs = NULL;
    int ns = cli_pick_sets(p, pos[0], &sets, names, 64);
    if (ns < 0) {
        rc = EXIT_ERROR;
        goto out;
    }
    uint32_t nall = dg_project_n_segments(p);
    segs = calloc(nall, sizeof(*segs));
    if (!segs) {
        rc = cli_error("out of memory");
        goto out;
    }
    int nseg = 0;
    for (uint32_t s = 0; s < nall; s++)
        if (dg_project_segment_kind(p, s) == DG_SEGMENT_REGRESSION)
            segs[nseg++] = s;
    res = calloc((size_t)ns * (nseg ? nseg : 1), sizeof(*res));
    if (!res) {
        rc = cli_error("out of memory");
        goto out;
    }
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.resamples = (uint32_t)resamples;
    bo.seed = (uint64_t)seed;
    bo.level = level;
    for (int k = 0; k < ns && rc == EXIT_OK; k++)
        for (int s = 0; s < nseg && rc == EXIT_OK; s++)
            rc = sc_eval(ctx, p, names[k], segs[s], conf, iou,
                         strict ? &bo : NULL, strict,
                         &res[(size_t)k * nseg + s]);
    if (rc != EXIT_OK)
        goto out;
    int fails = 0;
    for (int k = 0; k < ns * nseg; k++)
        fails += !res[k].pass;
    if (junit && (rc = write_junit(junit, p, res, ns, nseg, names,
                                   cli_now() - t0)) != EXIT_OK)
        goto out;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "file", pos[0]);
        cJSON_AddBoolToObject(j, "strict", strict);
        cJSON_AddNumberToObject(j, "checks", ns * nseg);
        cJSON_AddNumberToObject(j, "failures", fails);
        cJSON_AddBoolToObject(j, "pass", !fails);
        cJSON *a = cJSON_AddArrayToObject(j, "results");
        for (int k = 0; k < ns * nseg; k++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "segment",
                                    dg_project_segment_name(p,
                                                            res[k].segment));
            cJSON_AddItemToObject(o, "targets", sc_targets_json(&res[k].t));
            sc_json(&res[k], o);
            cJSON_AddItemToArray(a, o);
        }
        cli_print_json(j, compact);
    } else if (!nseg) {
        printf("no regression-test segments in '%s' (create one with "
               "'detgrid segment create ... --kind regression')\n",
               pos[0]);
    } else {
        size_t wi = 13, ws = 7;
        for (int k = 0; k < ns; k++)
            if (strlen(names[k]) > wi)
                wi = strlen(names[k]);
        for (int s = 0; s < nseg; s++)
            if (strlen(dg_project_segment_name(p, segs[s])) > ws)
                ws = strlen(dg_project_segment_name(p, segs[s]));
        wi = wi > 30 ? 30 : wi;
        ws = ws > 30 ? 30 : ws;
        printf("%-*s %-*s %6s %6s %9s %9s %9s  %s\n", (int)wi,
               "inference set", (int)ws, "segment", "conf", "IoU",
               strict ? "P lo" : "precision", strict ? "R lo" : "recall",
               strict ? "F1 lo" : "F1", "result");
        for (int k = 0; k < ns * nseg; k++) {
            const sc_result *r = &res[k];
            char prf[64];
            cli_fmt_prf(prf, sizeof(prf), r->strict ? r->ci.lo : r->prf);
            printf("%-*.*s %-*.*s %6g %6g %s  %s%s%s\n", (int)wi, (int)wi,
                   r->inferences, (int)ws, (int)ws,
                   dg_project_segment_name(p, r->segment), r->conf, r->iou,
                   prf, r->pass ? "PASS" : "FAIL", r->why[0] ? ": " : "",
                   r->why);
        }
        printf("\n%d of %d checks passed\n", ns * nseg - fails, ns * nseg);
    }
    rc = fails ? EXIT_GATE : EXIT_OK;
out:
    free(res);
    free(segs);
    sc_release();
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
