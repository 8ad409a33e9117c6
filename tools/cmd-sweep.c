/*
 * detgrid sweep: precision, recall and F1 against confidence per class and
 * for all classes pooled (micro), at the project's IoU threshold or every
 * stored one, at every distinct score or on a step grid, and the
 * confidence that maximises F1 per class and for all classes at once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plots.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid sweep <project.h5> [--inferences <name>] [--iou <t>|all] "
    "[--class <name>] [--step <s>] [--segment <s>] [--format csv|json] "
    "[-o <file>] [--plot <file.png|svg|pdf>]",
    "detgrid sweep <project.h5> [--inferences <name>] [--iou <t>|all] --best "
    "[--format table|csv|json]",
    NULL};

/* One CSV row; the class name quoted with quotes doubled (RFC 4180). */
static void csv_row(cli_buf *b, const char *cls, double iou, double conf,
                    uint64_t tp, uint64_t fp, uint64_t fn, const char *p,
                    const char *r, const char *f1)
{
    char ti[40], tc[40];
    cli_fmt_double(ti, sizeof(ti), iou);
    cli_fmt_double(tc, sizeof(tc), conf);
    cli_bprintf(b, "\"");
    for (const char *c = cls; *c; c++)
        cli_bprintf(b, *c == '"' ? "\"\"" : "%c", *c);
    cli_bprintf(b, "\",%s,%s,%llu,%llu,%llu,%s,%s,%s\n", ti, tc,
            (unsigned long long)tp, (unsigned long long)fp,
            (unsigned long long)fn, p, r, f1);
}

static void fmt_opt(char *o, size_t cap, double v)
{
    if (isnan(v))
        snprintf(o, cap, "%s", "");
    else
        snprintf(o, cap, "%.6f", v);
}

/* Best F1 point of one class at one IoU: highest F1, higher conf on ties. */
static int best_f1(const dg_sweep_point *pts, uint64_t n, uint64_t n_gt,
                   dg_sweep_point *best, double *f1)
{
    int found = 0;
    *f1 = -1;
    for (uint64_t i = 0; i < n; i++) {
        dg_counts c = {pts[i].tp, pts[i].fp, pts[i].fn, n_gt, 0};
        dg_prf m = dg_counts_prf(&c);
        if (!isnan(m.f1) && m.f1 > *f1) {
            *f1 = m.f1;
            *best = pts[i];
            found = 1;
        }
    }
    return found;
}

/* One point as a CSV row, precision, recall and F1 with it. */
static void csv_point(cli_buf *b, const char *cls, double iou,
                      const dg_sweep_point *pt, uint64_t n_gt)
{
    dg_counts c = {pt->tp, pt->fp, pt->fn, n_gt, 0};
    dg_prf m = dg_counts_prf(&c);
    char a[32], bb[32], f[32];
    fmt_opt(a, sizeof(a), m.precision);
    fmt_opt(bb, sizeof(bb), m.recall);
    fmt_opt(f, sizeof(f), m.f1);
    csv_row(b, cls, iou, pt->conf, pt->tp, pt->fp, pt->fn, a, bb, f);
}

/*
 * Counts at conf = lo + i * step, from the distinct-score points
 * (descending score): those of the last point whose score >= conf.
 */
static dg_sweep_point step_point(const dg_sweep_point *pts, uint64_t np,
                                 double lo_conf, double step, uint64_t i,
                                 uint64_t n_gt)
{
    dg_sweep_point pt;
    double conf = round((lo_conf + (double)i * step) * 1e9) / 1e9;
    uint64_t lo = 0, hi = np;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (pts[mid].conf >= conf)
            lo = mid + 1;
        else
            hi = mid;
    }
    pt.conf = conf;
    pt.tp = lo ? pts[lo - 1].tp : 0;
    pt.fp = lo ? pts[lo - 1].fp : 0;
    pt.fn = n_gt - pt.tp;
    return pt;
}

/* The name the pooled (micro) curve goes by in CSV and tables. */
#define MICRO "(all classes)"

/* Where the output goes: CSV rows or a table into b, or the JSON arrays. */
typedef struct sweep_out {
    cli_buf *b;
    int table;      /* --best as a table */
    cJSON *curves;  /* JSON, curves wanted; else NULL */
    cJSON *best;    /* JSON; else NULL */
    cJSON *micro;   /* JSON, curves wanted: the pooled curves; else NULL */
    cJSON *best_micro; /* JSON: the pooled best points; else NULL */
    int best_only;  /* --best */
    double step;    /* --step, or NaN: every distinct score */
    double lo, hi;  /* with --step: the grid's ends */
    int name_w;     /* table: the class column's width */
} sweep_out;

/* The curve of one class (or the pooled one, cn MICRO) at one IoU: a JSON
 * object or CSV rows. */
static void curve_out(const sweep_out *o, const char *cn, double thr,
                      const dg_sweep_point *pts, uint64_t np, uint64_t n_gt)
{
    cJSON *jconf = NULL, *jtp = NULL, *jfp = NULL, *jfn = NULL;
    int micro = !strcmp(cn, MICRO);
    cJSON *into = micro ? o->micro : o->curves;
    if (into) {
        cJSON *jc = cJSON_CreateObject();
        if (!micro)
            cJSON_AddStringToObject(jc, "class", cn);
        cJSON_AddItemToObject(jc, "iou", cli_num(thr));
        cJSON_AddNumberToObject(jc, "n_gt", (double)n_gt);
        jconf = cJSON_AddArrayToObject(jc, "conf");
        jtp = cJSON_AddArrayToObject(jc, "tp");
        jfp = cJSON_AddArrayToObject(jc, "fp");
        jfn = cJSON_AddArrayToObject(jc, "fn");
        cJSON_AddItemToArray(into, jc);
    }
    if (o->best_only)
        return;
    uint64_t m = isnan(o->step)
                     ? np
                     : (uint64_t)floor((o->hi - o->lo) / o->step + 1e-9) + 1;
    for (uint64_t i = 0; i < m; i++) {
        dg_sweep_point pt = isnan(o->step)
                                ? pts[i]
                                : step_point(pts, np, o->lo, o->step, i, n_gt);
        if (into) {
            cJSON_AddItemToArray(jconf, cli_num(pt.conf));
            cJSON_AddItemToArray(jtp, cJSON_CreateNumber((double)pt.tp));
            cJSON_AddItemToArray(jfp, cJSON_CreateNumber((double)pt.fp));
            cJSON_AddItemToArray(jfn, cJSON_CreateNumber((double)pt.fn));
        } else {
            csv_point(o->b, cn, thr, &pt, n_gt);
        }
    }
}

/* The F1-maximising point of one class (or the pooled curve) at one IoU,
 * when there is one; a table row shows "-" where there is none. */
static void best_out(const sweep_out *o, const char *cn, double thr,
                     const dg_sweep_point *pts, uint64_t np, uint64_t n_gt)
{
    dg_sweep_point bp = {0, 0, 0, 0};
    double f1;
    int found = best_f1(pts, np, n_gt, &bp, &f1);
    int micro = !strcmp(cn, MICRO);
    dg_counts c = {bp.tp, bp.fp, bp.fn, n_gt, 0};
    dg_prf m = dg_counts_prf(&c);
    cJSON *into = micro ? o->best_micro : o->best;
    if (into && found) {
        cJSON *j = cJSON_CreateObject();
        if (!micro)
            cJSON_AddStringToObject(j, "class", cn);
        cJSON_AddItemToObject(j, "iou", cli_num(thr));
        cJSON_AddItemToObject(j, "conf", cli_num(bp.conf));
        cJSON_AddItemToObject(j, "f1", cli_num(m.f1));
        cJSON_AddItemToObject(j, "precision", cli_num(m.precision));
        cJSON_AddItemToObject(j, "recall", cli_num(m.recall));
        cJSON_AddNumberToObject(j, "tp", (double)bp.tp);
        cJSON_AddNumberToObject(j, "fp", (double)bp.fp);
        cJSON_AddNumberToObject(j, "fn", (double)bp.fn);
        cJSON_AddItemToArray(into, j);
    } else if (o->table) {
        char prf[64], tc[40];
        if (found) {
            cli_fmt_prf(prf, sizeof(prf), m);
            cli_fmt_double(tc, sizeof(tc), bp.conf);
            cli_bprintf(o->b, "%-*.*s %10s %s %7llu %7llu %7llu\n",
                        o->name_w, o->name_w, cn, tc, prf,
                        (unsigned long long)bp.tp, (unsigned long long)bp.fp,
                        (unsigned long long)bp.fn);
        } else {
            cli_bprintf(o->b, "%-*.*s %10s %9s %9s %9s %7s %7s %7llu\n",
                        o->name_w, o->name_w, cn, "-", "-", "-", "-", "-",
                        "-", (unsigned long long)n_gt);
        }
    } else if (o->best_only && found) {
        csv_point(o->b, cn, thr, &bp, n_gt);
    }
}

/* Every class in c_lo .. c_hi - 1 at IoU index t, then (all classes
 * asked for) the pooled curve. */
static int sweep_iou(dg_ctx *ctx, dg_project *p, dg_results *r, int t,
                     uint32_t c_lo, uint32_t c_hi, dg_counts *cc,
                     const sweep_out *o, const char *name)
{
    double thr = dg_results_iou(r, t);
    /* Ground-truth counts per class (at no detections). */
    dg_status st = dg_results_counts(ctx, r, INFINITY, t, cc);
    if (st < 0)
        return cli_fail(ctx, st);
    if (o->table) {
        char ti[40];
        cli_fmt_double(ti, sizeof(ti), thr);
        cli_bprintf(o->b, "%s%s at IoU >= %s: the F1-maximising confidence "
                    "of each class, and of all classes pooled (micro)\n\n",
                    o->b->n ? "\n" : "", name, ti);
        cli_bprintf(o->b, "%-*s %10s %9s %9s %9s %7s %7s %7s\n", o->name_w,
                    "class", "conf", "precision", "recall", "F1", "TP", "FP",
                    "FN");
    }
    dg_sweep_point *pts = NULL;
    uint64_t np = 0, n_gt = 0;
    for (uint32_t c = c_lo; c < c_hi; c++) {
        const char *cn = dg_project_class_name(p, c);
        if ((st = dg_results_sweep(ctx, r, c, t, &pts, &np)) < 0)
            return cli_fail(ctx, st);
        curve_out(o, cn, thr, pts, np, cc[c].n_gt);
        best_out(o, cn, thr, pts, np, cc[c].n_gt);
        free(pts);
    }
    if (c_hi - c_lo < dg_results_n_classes(r))
        return EXIT_OK;
    if ((st = dg_results_sweep_micro(ctx, r, t, &pts, &np, &n_gt)) < 0)
        return cli_fail(ctx, st);
    curve_out(o, MICRO, thr, pts, np, n_gt);
    best_out(o, MICRO, thr, pts, np, n_gt);
    free(pts);
    return EXIT_OK;
}

/* The most rows --step may ask for (about 1 GB of CSV). */
#define SWEEP_MAX_ROWS 20000000ULL

int cmd_sweep(int argc, const char **argv)
{
    const char *segment = NULL;
    const char *inf = NULL, *iou_s = NULL, *cls = NULL, *format = NULL,
               *out = NULL, *plot = NULL;
    double step = NAN;
    int best = 0, json = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_STR, 't', "iou", &iou_s, "<t>|all",
         "one stored IoU threshold, or all (default: project's, 0.5)", 0},
        {OPT_STR, 0, "class", &cls, "<name>",
         "one class (default: each, then all classes pooled)", 0},
        CLI_OPT_SEGMENT(segment),
        {OPT_DBL, 0, "step", &step, "<s>",
         "points at conf = 0, s, 2s, ..., 1 (wider when the scores are) "
         "instead of every distinct score", 0},
        {OPT_STR, 0, "format", &format, "csv|json|table",
         "output format (default csv; --best: table)", 0},
        {OPT_STR, 'o', "output", &out, "<file>", "write here (default stdout)", 0},
        {OPT_FLAG, 0, "best", &best, NULL,
         "only the F1-maximising confidence per class and for all classes", 0},
        CLI_OPT_IOU_TYPE,
        {OPT_FLAG, 0, "json", &json, NULL, "same as --format json", 0},
        {OPT_STR, 0, "plot", &plot, "<file>",
         "draw the precision-recall curves (.png, .svg or .pdf) at the IoU "
         "(all: the project's) of the class, or of the 12 with most ground "
         "truth; the curves' table then only with -o", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (json)
        format = "json";
    if (!format)
        format = best ? "table" : "csv";
    if (strcmp(format, "csv") && strcmp(format, "json") &&
        strcmp(format, "table"))
        cli_usage_error(usage, opts, "--format must be csv, json or table");
    if (!best && !strcmp(format, "table"))
        cli_usage_error(usage, opts, "--format table needs --best (the "
                        "curves are csv or json)");
    /* Confidences are rounded to 1e-9 below; a million points per curve
     * is finer than any score data. */
    if (!isnan(step) && !(step >= 1e-6 && step <= 1))
        cli_usage_error(usage, opts, "--step must be in [1e-6, 1]");
    double iou_v = NAN; /* NaN: the project's */
    if (iou_s && strcmp(iou_s, "all")) {
        char *end = NULL;
        iou_v = strtod(iou_s, &end);
        if (!*iou_s || *end)
            cli_usage_error(usage, opts, "--iou takes a number or all, not "
                            "'%s'", iou_s);
    }
    int is_json = !strcmp(format, "json");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    double default_iou = NAN;
    dg_results *r = NULL;
    int rc = EXIT_OK;
    cli_buf b = {0};
    cJSON *j = NULL;
    dg_counts *cc = NULL;
    double default_conf = NAN;
    const char *name =
        cli_open_inferences(ctx, pos[0], inf, &default_conf, &default_iou, &p);
    if (!name) {
        rc = EXIT_ERROR;
        goto done;
    }
    dg_status st = dg_results_load(ctx, p, name, &r);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    if ((rc = cli_restrict_segment(ctx, p, r, segment)) != EXIT_OK)
        goto done;
    int nt = dg_results_n_iou(r), t_lo = 0, t_hi = nt;
    if (!iou_s || strcmp(iou_s, "all")) {
        int t = dg_results_find_iou(ctx, r, isnan(iou_v) ? default_iou
                                                         : iou_v);
        if (t < 0) {
            rc = cli_fail(ctx, (dg_status)t);
            goto done;
        }
        t_lo = t;
        t_hi = t + 1;
    }
    uint32_t nc = dg_results_n_classes(r), c_lo = 0, c_hi = nc;
    if (cls) {
        if ((rc = cli_find(p, DG_NAME_CLASS, cls, &c_lo)) != EXIT_OK)
            goto done;
        c_hi = c_lo + 1;
    }
    if (!isnan(step) && !best) {
        /* The output is built in memory: bounded, with a way out. */
        uint64_t m = (uint64_t)floor(1.0 / step + 1e-9) + 1;
        uint64_t rows = m * (c_hi - c_lo) * (uint64_t)(t_hi - t_lo);
        if (rows > SWEEP_MAX_ROWS) {
            rc = cli_error("--step %g asks for %llu rows (%llu points x %u "
                           "classes x %d thresholds), more than %llu: use a "
                           "larger --step, or one --class or --iou", step,
                           (unsigned long long)rows, (unsigned long long)m,
                           c_hi - c_lo, t_hi - t_lo,
                           (unsigned long long)SWEEP_MAX_ROWS);
            goto done;
        }
    }
    if (plot) {
        int t = t_hi - t_lo == 1 ? t_lo
                                 : dg_results_find_iou(ctx, r, default_iou);
        if (t < 0) {
            rc = cli_fail(ctx, (dg_status)t);
            goto done;
        }
        if ((rc = cli_plot_pr(ctx, p, r, name, t, cls ? (int64_t)c_lo : -1,
                              default_conf, plot)) != EXIT_OK || !out)
            goto done;
    }
    if (!out)
        out = "-";
    cc = calloc(nc ? nc : 1, sizeof(*cc));
    if (!cc) {
        rc = cli_error("out of memory");
        goto done;
    }
    sweep_out so = {&b, !strcmp(format, "table"), NULL, NULL, NULL, NULL,
                    best, step, 0, 1, (int)strlen(MICRO)};
    if (!isnan(step)) {
        /* The grid covers [0, 1] and the scores, from a multiple of s. */
        double lo, hi;
        dg_results_score_range(r, &lo, &hi);
        if (!isnan(lo) && lo < 0)
            so.lo = floor(lo / step) * step;
        if (!isnan(hi) && hi > 1)
            so.hi = hi;
        if ((so.hi - so.lo) / step > 1e7)
            cli_usage_error(usage, opts, "--step %g makes more than 10^7 "
                            "points over [%g, %g]", step, so.lo, so.hi);
    }
    for (uint32_t c = c_lo; c < c_hi; c++) {
        int l = (int)strlen(dg_project_class_name(p, c));
        if (l > so.name_w)
            so.name_w = l > 40 ? 40 : l;
    }
    if (is_json) {
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        if (!best)
            so.curves = cJSON_AddArrayToObject(j, "curves");
        so.best = cJSON_AddArrayToObject(j, "best_f1");
        if (!cls) {
            if (!best)
                so.micro = cJSON_AddArrayToObject(j, "micro");
            so.best_micro = cJSON_AddArrayToObject(j, "best_f1_micro");
        }
    } else if (!so.table) {
        cli_bprintf(&b, "class,iou,conf,tp,fp,fn,precision,recall,f1\n");
    }
    for (int t = t_lo; t < t_hi; t++)
        if ((rc = sweep_iou(ctx, p, r, t, c_lo, c_hi, cc, &so, name)) !=
            EXIT_OK)
            goto done;
    if (is_json) {
        char *s = cJSON_PrintUnformatted(j);
        if (!s) {
            rc = cli_error("out of memory");
            goto done;
        }
        size_t len = strlen(s);
        s[len] = '\n';
        rc = cli_write_file(out, s, len + 1);
        free(s);
    } else if (b.oom) {
        rc = cli_error("out of memory");
    } else {
        rc = cli_write_file(out, b.s ? b.s : "", b.n);
    }
done:
    cJSON_Delete(j);
    free(b.s);
    free(cc);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
