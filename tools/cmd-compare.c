/*
 * detgrid compare: two inference sets side by side on the same frames.
 * Per class and overall (micro): both sets' precision, recall, F1 and AP at
 * their thresholds, the differences B - A, paired percentile bootstrap
 * intervals of the differences over frames (the same frames drawn for A
 * and B) and a verdict; per segment when the project has segments; and
 * object-level churn, the ground truths one set finds and the other misses.
 * docs/COMPARE.md describes the method.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid compare <project.h5> -i <A> -i <B> [--segment <name>] "
    "[--conf <c>] "
    "[--iou <t>] [--conf-a <c>] [--iou-a <t>] [--conf-b <c>] [--iou-b <t>] "
    "[--resamples <n>] [--seed <s>] [--level <l>] "
    "[--churn a-only|b-only] [--limit <n>] [--json]",
    "detgrid compare <project.h5> <A> <B> [<options>]",
    NULL};

/*
 * COCO-style 101-point interpolated AP of class cls at iou index t over
 * the (possibly restricted) detections of r: the sweep's points (one per
 * distinct score), precision made non-increasing from the right, sampled
 * at the first point whose recall reaches 0, 0.01, ..., 1 (0 where none
 * does). NaN without ground truth.
 */
static double class_ap(dg_ctx *ctx, dg_results *r, uint32_t cls, int t,
                       uint64_t n_gt, dg_status *st)
{
    dg_sweep_point *pt = NULL;
    uint64_t n = 0;
    *st = DG_OK;
    if (!n_gt)
        return NAN;
    if ((*st = dg_results_sweep(ctx, r, cls, t, &pt, &n)) < 0)
        return NAN;
    double *rec = malloc((n ? n : 1) * sizeof(double));
    double *prec = malloc((n ? n : 1) * sizeof(double));
    if (!rec || !prec) {
        free(rec);
        free(prec);
        free(pt);
        *st = DG_ENOMEM;
        return NAN;
    }
    for (uint64_t i = 0; i < n; i++) {
        rec[i] = (double)pt[i].tp / (double)n_gt;
        uint64_t d = pt[i].tp + pt[i].fp;
        prec[i] = d ? (double)pt[i].tp / (double)d : 0.0;
    }
    for (uint64_t i = n; i-- > 1;)
        if (prec[i] > prec[i - 1])
            prec[i - 1] = prec[i];
    double sum = 0;
    for (int k = 0; k <= 100; k++) {
        double rt = k == 100 ? 1.0 : k * 0.01; /* numpy.linspace(0, 1, 101) */
        uint64_t lo = 0, hi = n;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (rec[mid] < rt)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n)
            sum += prec[lo];
    }
    free(rec);
    free(prec);
    free(pt);
    return sum / 101.0;
}

static double prf_k(dg_prf m, int k)
{
    return k == 0 ? m.precision : k == 1 ? m.recall : m.f1;
}

/* "B better" when the interval of B - A lies above 0, "B worse" below. */
static const char *verdict(double lo, double hi)
{
    if (lo > 0)
        return "B better";
    if (hi < 0)
        return "B worse";
    return "no significant difference";
}

static cJSON *side_json(const dg_counts *c, dg_prf m, double ap)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tp", (double)c->tp);
    cJSON_AddNumberToObject(o, "fp", (double)c->fp);
    cJSON_AddNumberToObject(o, "fn", (double)c->fn);
    cJSON_AddNumberToObject(o, "n_gt", (double)c->n_gt);
    cli_prf_json(o, m);
    cJSON_AddItemToObject(o, "ap", cli_num(ap));
    return o;
}

static const char *const metric_names[3] = {"precision", "recall", "f1"};

/* One row's JSON: a, b, diff, ci, verdicts and verdict (on F1). */
static cJSON *row_json(const char *name, const dg_counts *ca,
                       const dg_counts *cb, const dg_prf_paired_ci *x,
                       double ap_a, double ap_b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddItemToObject(o, "a", side_json(ca, x->a.point, ap_a));
    cJSON_AddItemToObject(o, "b", side_json(cb, x->b.point, ap_b));
    cJSON *d = cJSON_AddObjectToObject(o, "diff");
    cli_prf_json(d, x->diff.point);
    cJSON_AddItemToObject(d, "ap", cli_num(ap_b - ap_a));
    cJSON *ci = cJSON_AddObjectToObject(o, "ci");
    cJSON *v = cJSON_AddObjectToObject(o, "verdicts");
    for (int k = 0; k < 3; k++) {
        double lo = prf_k(x->diff.lo, k), hi = prf_k(x->diff.hi, k);
        if (isnan(lo)) {
            cJSON_AddNullToObject(ci, metric_names[k]);
        } else {
            cJSON *a = cJSON_AddArrayToObject(ci, metric_names[k]);
            cJSON_AddItemToArray(a, cli_num(lo));
            cJSON_AddItemToArray(a, cli_num(hi));
        }
        cJSON_AddStringToObject(v, metric_names[k], verdict(lo, hi));
    }
    cJSON_AddStringToObject(o, "verdict",
                            verdict(x->diff.lo.f1, x->diff.hi.f1));
    return o;
}

static void fmt3(char *buf, size_t cap, double v, int sign)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, sign ? "%+.3f" : "%.3f", v);
}

static void row_text(int w, const char *name, const dg_prf_paired_ci *x,
                     double ap_a, double ap_b)
{
    char a[6][24], d[24], lo[24], hi[24];
    fmt3(a[0], 24, x->a.point.precision, 0);
    fmt3(a[1], 24, x->b.point.precision, 0);
    fmt3(a[2], 24, x->a.point.recall, 0);
    fmt3(a[3], 24, x->b.point.recall, 0);
    fmt3(a[4], 24, x->a.point.f1, 0);
    fmt3(a[5], 24, x->b.point.f1, 0);
    fmt3(d, 24, x->diff.point.f1, 1);
    fmt3(lo, 24, x->diff.lo.f1, 1);
    fmt3(hi, 24, x->diff.hi.f1, 1);
    char apa[24], apb[24];
    fmt3(apa, 24, ap_a, 0);
    fmt3(apb, 24, ap_b, 0);
    printf("%-*.*s %6s %6s %6s %6s %6s %6s %7s [%6s, %6s] %6s %6s  %s\n", w, w,
           name, a[0], a[1], a[2], a[3], a[4], a[5], d, lo, hi, apa, apb,
           verdict(x->diff.lo.f1, x->diff.hi.f1));
}

static void header_text(int w, const char *first)
{
    printf("%-*s %6s %6s %6s %6s %6s %6s %7s %16s %6s %6s  %s\n", w, first,
           "P(A)", "P(B)", "R(A)", "R(B)", "F1(A)", "F1(B)", "dF1",
           "interval", "AP(A)", "AP(B)", "verdict");
}

typedef struct side {
    const char *name;
    dg_results *r;
    int t;
    double conf, iou;
    dg_counts *c; /* n_classes */
    dg_counts micro;
    double *ap;   /* n_classes */
    double map;   /* mean over classes with ground truth */
} side;

/* Counts and AP of one side under the current restriction. */
static int side_figures(dg_ctx *ctx, side *s, uint32_t C)
{
    dg_status st = dg_results_counts(ctx, s->r, s->conf, s->t, s->c);
    if (st < 0)
        return cli_fail(ctx, st);
    memset(&s->micro, 0, sizeof(s->micro));
    double sum = 0;
    int n = 0;
    for (uint32_t k = 0; k < C; k++) {
        s->micro.tp += s->c[k].tp;
        s->micro.fp += s->c[k].fp;
        s->micro.fn += s->c[k].fn;
        s->micro.n_gt += s->c[k].n_gt;
        s->micro.n_det += s->c[k].n_det;
        s->ap[k] = class_ap(ctx, s->r, k, s->t, s->c[k].n_gt, &st);
        if (st < 0)
            return cli_fail(ctx, st);
        if (!isnan(s->ap[k])) {
            sum += s->ap[k];
            n++;
        }
    }
    s->map = n ? sum / n : NAN;
    return EXIT_OK;
}

static int restrict_both(dg_ctx *ctx, dg_project *p, side *s,
                         const char *segment)
{
    if (cli_restrict_segment(ctx, p, s[0].r, segment) != EXIT_OK)
        return EXIT_ERROR;
    if (s[1].r != s[0].r &&
        cli_restrict_segment(ctx, p, s[1].r, segment) != EXIT_OK)
        return EXIT_ERROR;
    return EXIT_OK;
}

/* The parameters the output repeats. */
typedef struct run_info {
    const char *segment; /* --segment, or NULL */
    uint32_t n_frames;
    long resamples, seed;
    double level, seconds;
} run_info;

/* What dg_results_churn found. */
typedef struct churn_out {
    const char *listed;  /* --churn, or NULL */
    uint64_t n_a, n_b;
    uint64_t *per_class; /* 2 * n_classes: A only, B only */
    dg_churn_item *items;
    uint64_t n_items, shown;
} churn_out;

/* The two sides, the bootstrap and the per-class rows as JSON. */
static cJSON *classes_json(dg_project *p, const side *s, uint32_t C,
                           const dg_prf_paired_ci *pc, const run_info *ri)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *a = cJSON_AddObjectToObject(j, "a");
    cJSON_AddStringToObject(a, "inferences", s[0].name);
    cJSON_AddItemToObject(a, "conf", cli_num(s[0].conf));
    cJSON_AddItemToObject(a, "iou", cli_num(dg_results_iou(s[0].r, s[0].t)));
    cJSON *b = cJSON_AddObjectToObject(j, "b");
    cJSON_AddStringToObject(b, "inferences", s[1].name);
    cJSON_AddItemToObject(b, "conf", cli_num(s[1].conf));
    cJSON_AddItemToObject(b, "iou", cli_num(dg_results_iou(s[1].r, s[1].t)));
    cJSON_AddStringToObject(j, "segment", ri->segment ? ri->segment : "all");
    cJSON_AddNumberToObject(j, "n_frames", ri->n_frames);
    cJSON *bj = cJSON_AddObjectToObject(j, "bootstrap");
    cJSON_AddNumberToObject(bj, "resamples", (double)ri->resamples);
    cJSON_AddNumberToObject(bj, "seed", (double)ri->seed);
    cJSON_AddItemToObject(bj, "level", cli_num(ri->level));
    cJSON_AddItemToObject(bj, "seconds", cli_num(ri->seconds));
    cJSON *cl = cJSON_AddArrayToObject(j, "classes");
    for (uint32_t k = 0; k < C; k++)
        cJSON_AddItemToArray(cl, row_json(dg_project_class_name(p, k),
                                          &s[0].c[k], &s[1].c[k], &pc[k],
                                          s[0].ap[k], s[1].ap[k]));
    cJSON_AddItemToObject(j, "overall",
                          row_json("micro", &s[0].micro, &s[1].micro, &pc[C],
                                   s[0].map, s[1].map));
    return j;
}

static void classes_text(dg_project *p, const side *s, uint32_t C,
                         const dg_prf_paired_ci *pc, const run_info *ri,
                         int w)
{
    printf("A = %s (confidence >= %g, IoU >= %g)\nB = %s (confidence >= "
           "%g, IoU >= %g)\nsegment %s, %u frames; paired bootstrap of "
           "B - A over frames: %ld resamples, seed %ld, %g%% intervals\n\n",
           s[0].name, s[0].conf, dg_results_iou(s[0].r, s[0].t), s[1].name,
           s[1].conf, dg_results_iou(s[1].r, s[1].t),
           ri->segment ? ri->segment : "all", ri->n_frames, ri->resamples,
           ri->seed, ri->level * 100);
    header_text(w, "class");
    for (uint32_t k = 0; k < C; k++)
        row_text(w, dg_project_class_name(p, k), &pc[k], s[0].ap[k],
                 s[1].ap[k]);
    printf("\n");
    row_text(w, "micro", &pc[C], s[0].map, s[1].map);
    printf("(AP of the micro row: mean AP over classes with ground "
           "truth)\n");
}

/*
 * The micro row of every segment but "all", into j's "segments" (JSON) or
 * as a table (j NULL). Leaves both sides unrestricted.
 */
static int per_segment(dg_ctx *ctx, dg_project *p, side *s, uint32_t C,
                       const dg_bootstrap_opts *bo, int w, cJSON *j)
{
    uint32_t n_seg = dg_project_n_segments(p);
    cJSON *sj = j ? cJSON_AddArrayToObject(j, "segments") : NULL;
    if (!j) {
        printf("\nper segment (micro):\n");
        header_text(w, "segment");
    }
    for (uint32_t i = 1; i < n_seg; i++) {
        const char *sn = dg_project_segment_name(p, i);
        dg_prf_paired_ci ov;
        dg_status st;
        if (restrict_both(ctx, p, s, sn) != EXIT_OK)
            return EXIT_ERROR;
        if ((st = dg_results_bootstrap_paired(ctx, s[0].r, s[1].r, p,
                                              s[0].conf, s[0].t, s[1].conf,
                                              s[1].t, bo, NULL, &ov)) < 0)
            return cli_fail(ctx, st);
        for (int k = 0; k < 2; k++)
            if (side_figures(ctx, &s[k], C) != EXIT_OK)
                return EXIT_ERROR;
        if (j) {
            cJSON *o = row_json(sn, &s[0].micro, &s[1].micro, &ov, s[0].map,
                                s[1].map);
            dg_segment_kind kd = dg_project_segment_kind(p, i);
            cJSON_AddStringToObject(o, "kind", dg_segment_kind_name(kd));
            cJSON_AddItemToArray(sj, o);
        } else {
            row_text(w, sn, &ov, s[0].map, s[1].map);
        }
    }
    return restrict_both(ctx, p, s, NULL);
}

static void churn_json(cJSON *j, dg_project *p, uint32_t C,
                       const churn_out *ch)
{
    cJSON *cj = cJSON_AddObjectToObject(j, "churn");
    cJSON_AddNumberToObject(cj, "a_only", (double)ch->n_a);
    cJSON_AddNumberToObject(cj, "b_only", (double)ch->n_b);
    cJSON *cc = cJSON_AddArrayToObject(cj, "classes");
    for (uint32_t k = 0; k < C; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", dg_project_class_name(p, k));
        cJSON_AddNumberToObject(o, "a_only", (double)ch->per_class[2 * k]);
        cJSON_AddNumberToObject(o, "b_only", (double)ch->per_class[2 * k + 1]);
        cJSON_AddItemToArray(cc, o);
    }
    if (!ch->listed)
        return;
    cJSON_AddStringToObject(cj, "listed", ch->listed);
    cJSON_AddNumberToObject(cj, "n_listed", (double)ch->n_items);
    cJSON *ex = cJSON_AddArrayToObject(cj, "examples");
    for (uint64_t i = 0; i < ch->shown; i++) {
        const dg_churn_item *it = &ch->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "frame", it->frame);
        cJSON_AddStringToObject(o, "frame_id",
                                dg_project_frame_id(p, it->frame));
        cJSON_AddStringToObject(o, "class", dg_project_class_name(p, it->cls));
        cJSON_AddNumberToObject(o, "label", (double)it->label);
        cJSON *bx = cJSON_AddArrayToObject(o, "box");
        for (int q = 0; q < 4; q++)
            cJSON_AddItemToArray(bx, cli_num(it->box[q]));
        cJSON_AddNumberToObject(o, "detection", (double)it->det);
        cJSON_AddItemToObject(o, "score", cli_num(it->score));
        cJSON_AddItemToObject(o, "iou", cli_num(it->iou));
        cJSON_AddItemToArray(ex, o);
    }
}

static void churn_text(dg_project *p, int w, const churn_out *ch)
{
    printf("\nchurn: %llu ground truths found by A only, %llu by B only\n",
           (unsigned long long)ch->n_a, (unsigned long long)ch->n_b);
    if (!ch->listed)
        return;
    printf("\n%s ground truths (%llu, %llu shown), by the score of "
           "the detection that found them:\n",
           ch->listed, (unsigned long long)ch->n_items,
           (unsigned long long)ch->shown);
    printf("%-16s %-*s %30s %8s %6s\n", "frame", w, "class",
           "box x, y, w, h", "score", "IoU");
    for (uint64_t i = 0; i < ch->shown; i++) {
        const dg_churn_item *it = &ch->items[i];
        char box[64];
        snprintf(box, sizeof(box), "%.1f, %.1f, %.1f, %.1f", it->box[0],
                 it->box[1], it->box[2], it->box[3]);
        printf("%-16s %-*.*s %30s %8.4f %6.3f\n",
               dg_project_frame_id(p, it->frame), w, w,
               dg_project_class_name(p, it->cls), box, it->score, it->iou);
    }
}

/* Both sides' results and room for their figures. */
static int load_sides(dg_ctx *ctx, dg_project *p, side *s, uint32_t C)
{
    for (int k = 0; k < 2; k++) {
        if (cli_load_results(ctx, p, s[k].name, s[k].conf, s[k].iou, &s[k].r,
                             &s[k].t) != EXIT_OK)
            return EXIT_ERROR;
        s[k].c = calloc((size_t)C + 1, sizeof(dg_counts));
        s[k].ap = calloc((size_t)C + 1, sizeof(double));
        if (!s[k].c || !s[k].ap)
            return cli_error("out of memory");
    }
    return EXIT_OK;
}

/* The width of the class column: the longest name, 7 to 30. */
static int class_width(const dg_project *p, uint32_t C)
{
    int w = 7;
    for (uint32_t k = 0; k < C; k++)
        if ((int)strlen(dg_project_class_name(p, k)) > w)
            w = (int)strlen(dg_project_class_name(p, k));
    return w > 30 ? 30 : w;
}

int cmd_compare(int argc, const char **argv)
{
    const char *segment = NULL, *churn = NULL, *device = NULL;
    double conf = NAN, iou = NAN, conf_a = NAN, iou_a = NAN, conf_b = NAN,
           iou_b = NAN, level = 0.95;
    long resamples = 1000, seed = 1, limit = 20;
    int json = 0, compact = 0;
    strlist sets = {{0}, 0};
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &sets, "<name>",
         "A, then B (or give them after the project file)", 0},
        CLI_OPT_SEGMENT(segment),
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        {OPT_DBL, 0, "conf-a", &conf_a, "<c>", "A's confidence (default: --conf)", 0},
        {OPT_DBL, 0, "iou-a", &iou_a, "<t>", "A's IoU threshold (default: --iou)", 0},
        {OPT_DBL, 0, "conf-b", &conf_b, "<c>", "B's confidence (default: --conf)", 0},
        {OPT_DBL, 0, "iou-b", &iou_b, "<t>", "B's IoU threshold (default: --iou)", 0},
        {OPT_INT, 'r', "resamples", &resamples, "<n>",
         "bootstrap resamples (default 1000)", 0},
        {OPT_INT, 0, "seed", &seed, "<s>", "bootstrap seed (default 1)", 0},
        {OPT_DBL, 0, "level", &level, "<l>",
         "confidence level of the intervals (default 0.95)", 0},
        {OPT_STR, 0, "churn", &churn, "<which>",
         "list ground truths found by one set only: a-only or b-only", 0},
        {OPT_INT, 'n', "limit", &limit, "<n>",
         "with --churn: at most n (default 20, 0: all)", 0},
        {OPT_STR, 'd', "device", &device, "<dev>",
         "bootstrap on auto|gpu|cpu|ref (default: DETGRID_DEVICE, auto)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[3];
    int npos = cli_parse(argc, argv, opts, usage, pos, 3);
    /* -i A -i B, or A and B after the project file, as before. */
    for (int k = 0; k < sets.n && npos < 3; k++)
        pos[npos++] = sets.v[k];
    if (npos != 3 || (sets.n && sets.n != 2))
        cli_usage_error(usage, opts, "need a project file and two inference "
                                     "sets (-i A -i B)");
    /* Memory: 72 bytes per resample and class (values kept for the
     * quantiles of A, B and B - A). */
    if (resamples < 1 || resamples > 100000)
        cli_usage_error(usage, opts, "--resamples must be in 1..100000");
    if (!(level > 0 && level < 1))
        cli_usage_error(usage, opts, "--level must be in (0, 1)");
    if (limit < 0)
        cli_usage_error(usage, opts, "--limit must be >= 0");
    int which = -1;
    if (churn) {
        if (!strcmp(churn, "a-only"))
            which = 0;
        else if (!strcmp(churn, "b-only"))
            which = 1;
        else
            cli_usage_error(usage, opts, "--churn takes a-only or b-only");
    }

    dg_ctx *ctx = cli_ctx(device);
    dg_project *p = cli_open(ctx, pos[0]);
    dg_project_info info;
    dg_project_get_info(p, &info);
    if (isnan(conf))
        conf = info.default_conf;
    if (isnan(iou))
        iou = info.default_iou;
    side s[2];
    memset(s, 0, sizeof(s));
    s[0].name = pos[1];
    s[1].name = pos[2];
    s[0].conf = isnan(conf_a) ? conf : conf_a;
    s[0].iou = isnan(iou_a) ? iou : iou_a;
    s[1].conf = isnan(conf_b) ? conf : conf_b;
    s[1].iou = isnan(iou_b) ? iou : iou_b;
    uint32_t C = info.n_classes;
    dg_prf_paired_ci *pc = calloc((size_t)C + 1, sizeof(*pc));
    churn_out ch = {which >= 0 ? churn : NULL, 0, 0, NULL, NULL, 0, 0};
    ch.per_class = calloc(2 * (size_t)C + 1, sizeof(uint64_t));
    run_info ri = {segment, info.n_frames, resamples, seed, level, 0};
    int rc = EXIT_ERROR;
    cJSON *j = NULL;
    if (!pc || !ch.per_class) {
        cli_error("out of memory");
        goto out;
    }
    if (load_sides(ctx, p, s, C) != EXIT_OK ||
        restrict_both(ctx, p, s, segment) != EXIT_OK)
        goto out;
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.resamples = (uint32_t)resamples;
    bo.seed = (uint64_t)seed;
    bo.level = level;
    double t0 = cli_now();
    dg_status st = dg_results_bootstrap_paired(ctx, s[0].r, s[1].r, p,
                                               s[0].conf, s[0].t, s[1].conf,
                                               s[1].t, &bo, pc, pc + C);
    ri.seconds = cli_now() - t0;
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    for (int k = 0; k < 2; k++)
        if (side_figures(ctx, &s[k], C) != EXIT_OK)
            goto out;
    if ((st = dg_results_churn(ctx, s[0].r, s[1].r, p, s[0].conf, s[0].t,
                               s[1].conf, s[1].t, which, ch.per_class, &ch.n_a,
                               &ch.n_b, which >= 0 ? &ch.items : NULL,
                               &ch.n_items)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    ch.shown = limit && (uint64_t)limit < ch.n_items ? (uint64_t)limit
                                                     : ch.n_items;
    if (segment && strcmp(segment, DG_SEGMENT_ALL)) {
        int64_t si = dg_project_segment_index(p, segment);
        const uint32_t *seg_frames;
        if (si >= 0 && dg_project_segment_frames(ctx, p, (uint32_t)si,
                                                 &seg_frames,
                                                 &ri.n_frames) < 0) {
            rc = cli_fail(ctx, DG_EFORMAT);
            goto out;
        }
    }
    int w = class_width(p, C);

    if (json)
        j = classes_json(p, s, C, pc, &ri);
    else
        classes_text(p, s, C, pc, &ri, w);
    /* Per segment, when there are segments and no --segment was given. */
    if (!segment && dg_project_n_segments(p) > 1 &&
        per_segment(ctx, p, s, C, &bo, w, j) != EXIT_OK)
        goto out;
    if (json) {
        churn_json(j, p, C, &ch);
        cli_print_json(j, compact);
        j = NULL;
    } else {
        churn_text(p, w, &ch);
    }
    rc = EXIT_OK;
out:
    cli_flush_warnings(ctx);
    cJSON_Delete(j);
    free(ch.items);
    free(ch.per_class);
    free(pc);
    for (int k = 0; k < 2; k++) {
        free(s[k].c);
        free(s[k].ap);
        dg_results_free(s[k].r);
    }
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
