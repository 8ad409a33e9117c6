/*
 * detgrid confusion: the class-agnostic confusion matrix at one (confidence,
 * IoU) point, answered from stored results, with a background row and
 * column. Up to 25 classes it prints the matrix; beyond that a
 * classification report and the confusions of one class (--class), as
 * Aquarium's many-class metrics view does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

/* More classes than this switch the text output to the many-class view. */
#define MATRIX_MAX_CLASSES 25
/* Confusions listed in the many-class view without --class. */
#define TOP_CONFUSIONS 20

static const char *const usage[] = {
    "detgrid confusion <project.h5> [--inferences <name>] [--conf <c>] "
    "[--iou <t>] [--normalize none|gt|pred] [--class <name>] "
    "[--segment <s>] [--json]",
    NULL};

enum { NORM_NONE, NORM_GT, NORM_PRED };

typedef struct cell {
    uint32_t g, p;
    uint64_t count;
} cell;

typedef struct view {
    dg_project *p;
    uint32_t K;
    size_t w; /* K + 1 */
    const uint64_t *m;
    uint64_t *row, *col; /* sums */
    int norm;
} view;

static const char *axis_name(const view *v, uint32_t i)
{
    return i == v->K ? "background" : dg_project_class_name(v->p, i);
}

/* The cell's value under the normalization; NaN when undefined. */
static double norm_value(const view *v, uint32_t g, uint32_t p)
{
    uint64_t c = v->m[(size_t)g * v->w + p];
    uint64_t d = v->norm == NORM_GT ? v->row[g] : v->col[p];
    return d ? (double)c / (double)d : NAN;
}

static const char *kind_of(const view *v, uint32_t g, uint32_t p)
{
    if (g == v->K)
        return "false_positive";
    if (p == v->K)
        return "false_negative";
    return g == p ? "correct" : "confusion";
}

/* Off-diagonal cells first, then the diagonal; each by count descending,
 * then ground truth, then prediction. */
static int cell_cmp(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    int xd = x->g == x->p, yd = y->g == y->p;
    if (xd != yd)
        return xd - yd;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->g != y->g)
        return x->g < y->g ? -1 : 1;
    return (x->p > y->p) - (x->p < y->p);
}

/* Non-zero cells, sorted; only those touching cls when cls >= 0. */
static cell *list_cells(const view *v, int64_t cls, size_t *n)
{
    cell *c = malloc(v->w * v->w * sizeof(*c) + 1);
    size_t k = 0;
    if (!c)
        return NULL;
    for (uint32_t g = 0; g < v->w; g++)
        for (uint32_t p = 0; p < v->w; p++) {
            uint64_t x = v->m[(size_t)g * v->w + p];
            if (!x)
                continue;
            if (cls >= 0 && g != (uint32_t)cls && p != (uint32_t)cls)
                continue;
            c[k].g = g;
            c[k].p = p;
            c[k].count = x;
            k++;
        }
    qsort(c, k, sizeof(*c), cell_cmp);
    *n = k;
    return c;
}

/* Per-class counts of the classification report (TP = the diagonal). */
static dg_counts report_counts(const view *v, uint32_t k)
{
    dg_counts c;
    c.tp = v->m[(size_t)k * v->w + k];
    c.fp = v->col[k] - c.tp;
    c.fn = v->row[k] - c.tp;
    c.n_gt = v->row[k];
    c.n_det = v->col[k];
    return c;
}

static void fmt_cell(char *buf, size_t cap, const view *v, uint32_t g,
                     uint32_t p)
{
    if (g == v->K && p == v->K)
        snprintf(buf, cap, "-");
    else if (v->norm == NORM_NONE)
        snprintf(buf, cap, "%llu",
                 (unsigned long long)v->m[(size_t)g * v->w + p]);
    else if (isnan(norm_value(v, g, p)))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.3f", norm_value(v, g, p));
}

static void print_matrix(const view *v)
{
    size_t rw = strlen("ground truth \\ predicted"), cw = 5;
    char b[64];
    for (uint32_t i = 0; i < v->w; i++) {
        size_t l = strlen(axis_name(v, i));
        if (l > rw)
            rw = l;
        if (l > cw)
            cw = l;
        for (uint32_t j = 0; j < v->w; j++) {
            fmt_cell(b, sizeof(b), v, i, j);
            if (strlen(b) > cw)
                cw = strlen(b);
        }
    }
    if (rw > 32)
        rw = 32;
    if (cw > 12)
        cw = 12;
    printf("%-*s", (int)rw, "ground truth \\ predicted");
    for (uint32_t p = 0; p < v->w; p++)
        printf("  %*.*s", (int)cw, (int)cw, axis_name(v, p));
    printf("\n");
    for (uint32_t g = 0; g < v->w; g++) {
        printf("%-*.*s", (int)rw, (int)rw, axis_name(v, g));
        for (uint32_t p = 0; p < v->w; p++) {
            fmt_cell(b, sizeof(b), v, g, p);
            printf("  %*s", (int)cw, b);
        }
        printf("\n");
    }
}

static void print_report(const view *v)
{
    size_t w = 5;
    for (uint32_t k = 0; k < v->K; k++)
        if (strlen(axis_name(v, k)) > w)
            w = strlen(axis_name(v, k));
    if (w > 40)
        w = 40;
    printf("%-*s %8s %8s %8s %8s %9s %9s %9s\n", (int)w, "class", "TP", "FP",
           "FN", "support", "precision", "recall", "F1");
    cli_avg avg = {0};
    char prf[64];
    for (uint32_t k = 0; k < v->K; k++) {
        dg_counts c = report_counts(v, k);
        cli_fmt_prf(prf, sizeof(prf), cli_avg_add(&avg, &c));
        printf("%-*.*s %8llu %8llu %8llu %8llu %s\n", (int)w, (int)w,
               axis_name(v, k), (unsigned long long)c.tp,
               (unsigned long long)c.fp, (unsigned long long)c.fn,
               (unsigned long long)c.n_gt, prf);
    }
    const dg_counts *mi = &avg.micro;
    cli_fmt_prf(prf, sizeof(prf), dg_counts_prf(mi));
    printf("\n%-*s %8llu %8llu %8llu %8llu %s\n", (int)w, "micro",
           (unsigned long long)mi->tp, (unsigned long long)mi->fp,
           (unsigned long long)mi->fn, (unsigned long long)mi->n_gt, prf);
    cli_fmt_prf(prf, sizeof(prf), cli_avg_macro(&avg));
    printf("%-*s %8s %8s %8s %8s %s\n", (int)w, "macro", "", "", "", "",
           prf);
}

static void print_cells(const view *v, const cell *c, size_t n)
{
    size_t w = strlen("ground truth");
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(axis_name(v, c[i].g)), b = strlen(axis_name(v, c[i].p));
        if (a > w)
            w = a;
        if (b > w)
            w = b;
    }
    if (w > 32)
        w = 32;
    printf("%-*s  %-*s %10s", (int)w, "ground truth", (int)w, "predicted",
           "count");
    if (v->norm != NORM_NONE)
        printf(" %10s", v->norm == NORM_GT ? "of gt" : "of pred");
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("%-*.*s  %-*.*s %10llu", (int)w, (int)w, axis_name(v, c[i].g),
               (int)w, (int)w, axis_name(v, c[i].p),
               (unsigned long long)c[i].count);
        if (v->norm != NORM_NONE) {
            double x = norm_value(v, c[i].g, c[i].p);
            if (isnan(x))
                printf(" %10s", "-");
            else
                printf(" %10.4f", x);
        }
        printf("\n");
    }
}

static void print_json(const view *v, const char *name, double conf,
                       double thr, const char *norm, const char *cls_name,
                       const cell *c, size_t nc, uint64_t ignored,
                       int compact)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "inferences", name);
    cJSON_AddItemToObject(j, "conf", cli_num(conf));
    cJSON_AddItemToObject(j, "iou", cli_num(thr));
    cJSON_AddStringToObject(j, "normalize", norm);
    cJSON *cl = cJSON_AddArrayToObject(j, "classes");
    for (uint32_t i = 0; i < v->w; i++)
        cJSON_AddItemToArray(cl, cJSON_CreateString(axis_name(v, i)));
    cJSON *mx = cJSON_AddArrayToObject(j, "matrix");
    for (uint32_t g = 0; g < v->w; g++) {
        cJSON *row = cJSON_CreateArray();
        for (uint32_t p = 0; p < v->w; p++)
            cJSON_AddItemToArray(
                row, cJSON_CreateNumber((double)v->m[(size_t)g * v->w + p]));
        cJSON_AddItemToArray(mx, row);
    }
    if (v->norm != NORM_NONE) {
        cJSON *nm = cJSON_AddArrayToObject(j, "normalized");
        for (uint32_t g = 0; g < v->w; g++) {
            cJSON *row = cJSON_CreateArray();
            for (uint32_t p = 0; p < v->w; p++)
                cJSON_AddItemToArray(row, g == v->K && p == v->K
                                              ? cJSON_CreateNull()
                                              : cli_num(norm_value(v, g, p)));
            cJSON_AddItemToArray(nm, row);
        }
    }
    cJSON_AddNumberToObject(j, "ignored", (double)ignored);
    if (cls_name)
        cJSON_AddStringToObject(j, "class", cls_name);
    cJSON *cs = cJSON_AddArrayToObject(j, "cells");
    for (size_t i = 0; i < nc; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "gt", axis_name(v, c[i].g));
        cJSON_AddStringToObject(o, "pred", axis_name(v, c[i].p));
        cJSON_AddNumberToObject(o, "count", (double)c[i].count);
        cJSON_AddStringToObject(o, "kind", kind_of(v, c[i].g, c[i].p));
        if (v->norm != NORM_NONE)
            cJSON_AddItemToObject(o, "normalized",
                                  cli_num(norm_value(v, c[i].g, c[i].p)));
        cJSON_AddItemToArray(cs, o);
    }
    cJSON *rep = cJSON_AddArrayToObject(j, "report");
    cli_avg avg = {0};
    for (uint32_t k = 0; k < v->K; k++) {
        dg_counts ck = report_counts(v, k);
        dg_prf m = cli_avg_add(&avg, &ck);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "class", axis_name(v, k));
        cJSON_AddNumberToObject(o, "tp", (double)ck.tp);
        cJSON_AddNumberToObject(o, "fp", (double)ck.fp);
        cJSON_AddNumberToObject(o, "fn", (double)ck.fn);
        cJSON_AddNumberToObject(o, "support", (double)ck.n_gt);
        cli_prf_json(o, m);
        cJSON_AddItemToArray(rep, o);
    }
    cli_overall_json(j, &avg);
    cli_print_json(j, compact);
}

int cmd_confusion(int argc, const char **argv)
{
    const char *inf = NULL, *norm = "none", *cls = NULL, *segment = NULL;
    double conf = NAN, iou = NAN;
    int json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        {OPT_STR, 0, "normalize", &norm, "<how>",
         "none (counts), gt (each row sums to 1) or pred (each column)", 0},
        {OPT_STR, 0, "class", &cls, "<name>",
         "also list the non-zero cells of this class, by count", 0},
        CLI_OPT_SEGMENT(segment),
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    int nm = !strcmp(norm, "none") ? NORM_NONE
             : !strcmp(norm, "gt") ? NORM_GT
             : !strcmp(norm, "pred") ? NORM_PRED
                                     : -1;
    if (nm < 0)
        cli_usage_error(usage, opts,
                        "--normalize must be none, gt or pred, not '%s'", norm);

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    dg_results *r = NULL;
    uint64_t *m = NULL, *sums = NULL, ignored = 0;
    cell *cells = NULL;
    size_t n_cells = 0;
    int64_t ci = -1;
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto out;
    if (cls) {
        uint32_t k;
        if ((rc = cli_find(p, DG_NAME_CLASS, cls, &k)) != EXIT_OK)
            goto out;
        ci = k;
    }
    int t;
    if (cli_load_segment_results(ctx, p, name, conf, iou, segment, &r,
                                 &t) != EXIT_OK)
        goto out;
    dg_status st;
    uint32_t K = dg_results_n_classes(r);
    size_t w = (size_t)K + 1;
    m = calloc(w * w, sizeof(*m));
    sums = calloc(2 * w, sizeof(*sums));
    if (!m || !sums) {
        rc = cli_error("out of memory");
        goto out;
    }
    if ((st = dg_confusion_matrix(ctx, r, conf, t, m, &ignored)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    view v = {p, K, w, m, sums, sums + w, nm};
    for (uint32_t g = 0; g < w; g++)
        for (uint32_t q = 0; q < w; q++) {
            v.row[g] += m[(size_t)g * w + q];
            v.col[q] += m[(size_t)g * w + q];
        }
    int many = K > MATRIX_MAX_CLASSES;
    cells = list_cells(&v, ci, &n_cells);
    if (!cells) {
        rc = cli_error("out of memory");
        goto out;
    }
    double thr = dg_results_iou(r, t);
    if (json) {
        print_json(&v, name, conf, thr, norm, cls, cells, n_cells, ignored,
                   compact);
    } else {
        printf("%s at confidence >= %g, IoU >= %g: class-agnostic confusion "
               "(%u classes; rows: ground truth, columns: predicted)\n\n",
               name, conf, thr, K);
        if (!many) {
            print_matrix(&v);
        } else {
            printf("classification report (TP: the diagonal; FP: the rest of "
                   "the column; FN: the rest of the row)\n\n");
            print_report(&v);
        }
        if (ignored)
            printf("\n%llu detections ignored (on crowd or ignored ground "
                   "truths)\n",
                   (unsigned long long)ignored);
        if (ci >= 0) {
            printf("\ncells of '%s', off-diagonal first, by count:\n\n", cls);
            print_cells(&v, cells, n_cells);
        } else if (many) {
            size_t n = 0;
            while (n < n_cells && n < TOP_CONFUSIONS &&
                   cells[n].g != cells[n].p)
                n++;
            printf("\ntop %zu confusions (--class <name> lists all cells of "
                   "one class):\n\n",
                   n);
            print_cells(&v, cells, n);
        }
    }
    rc = EXIT_OK;
out:
    free(cells);
    free(m);
    free(sums);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
