/*
 * The charts of `sweep --plot` (precision-recall curves) and `confusion
 * --plot` (the heatmap), drawn by the library (detgrid/image.h, cairo).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plots.h"

/* Classes by ground-truth count, most first (ties by index). */
static const uint64_t *by_gt_n;
static int by_gt(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (by_gt_n[x] != by_gt_n[y])
        return by_gt_n[x] > by_gt_n[y] ? -1 : 1;
    return (x > y) - (x < y);
}

int cli_plot_pr(dg_ctx *ctx, dg_project *p, dg_results *r, const char *name,
                int t, int64_t only, double conf, const char *path)
{
    uint32_t nc = dg_results_n_classes(r), n = 0;
    dg_counts *cc = calloc(nc + 1, sizeof(*cc));
    uint64_t *ngt = calloc(nc + 1, sizeof(*ngt));
    uint32_t *order = calloc(nc + 1, sizeof(*order));
    double *ap = calloc(nc + 1, sizeof(*ap));
    dg_chart_series *s = calloc(PLOT_MAX_CURVES, sizeof(*s));
    char (*names)[160] = calloc(PLOT_MAX_CURVES, sizeof(*names));
    double *xy[2 * PLOT_MAX_CURVES] = {0};
    int rc = EXIT_OK;
    dg_status st;
    if (!cc || !ngt || !order || !ap || !s || !names) {
        rc = cli_error("out of memory");
        goto out;
    }
    if ((st = dg_results_counts(ctx, r, conf, t, cc)) < 0 ||
        (st = dg_results_ap(ctx, r, t, ap, NULL)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    for (uint32_t c = 0; c < nc; c++) {
        ngt[c] = cc[c].n_gt;
        order[c] = c;
    }
    by_gt_n = ngt;
    qsort(order, nc, sizeof(*order), by_gt);
    for (uint32_t k = 0; k < nc && n < PLOT_MAX_CURVES; k++) {
        uint32_t c = only >= 0 ? (uint32_t)only : order[k];
        if (only >= 0 && k)
            break;
        if (!ngt[c])
            continue;
        dg_sweep_point *pts;
        uint64_t np;
        if ((st = dg_results_sweep(ctx, r, c, t, &pts, &np)) < 0) {
            rc = cli_fail(ctx, st);
            goto out;
        }
        double *x = malloc((np + 1) * sizeof(double));
        double *y = malloc((np + 1) * sizeof(double));
        xy[2 * n] = x;
        xy[2 * n + 1] = y;
        if (!x || !y) {
            free(pts);
            rc = cli_error("out of memory");
            goto out;
        }
        uint64_t m = 0;
        for (uint64_t i = 0; i < np; i++) {
            uint64_t d = pts[i].tp + pts[i].fp;
            if (!d)
                continue;
            x[m] = (double)pts[i].tp / (double)ngt[c];
            y[m++] = (double)pts[i].tp / (double)d;
        }
        free(pts);
        snprintf(names[n], sizeof(names[n]), "%s (AP %.3f)",
                 dg_project_class_name(p, c), ap[c]);
        dg_counts *k2 = &cc[c];
        uint64_t d = k2->tp + k2->fp;
        s[n] = (dg_chart_series){names[n], m, x, y,
                                 d ? (double)k2->tp / (double)ngt[c] : NAN,
                                 d ? (double)k2->tp / (double)d : NAN};
        n++;
    }
    if (!n) {
        rc = cli_error("no class with ground truth to plot");
        goto out;
    }
    char title[256], note[128];
    snprintf(title, sizeof(title), "%s: precision-recall at IoU %g",
             name, dg_results_iou(r, t));
    snprintf(note, sizeof(note), "dot: confidence %g; AP all-point%s", conf,
             n < nc && only < 0 ? "; classes with most GT" : "");
    dg_chart_lines ln = {title, "recall", "precision", s, n, 0, 1, 0, 1.0,
                         0, 0, note};
    if ((st = dg_chart_lines_write(ctx, &ln, path)) < 0)
        rc = cli_fail(ctx, st);
    else
        fprintf(stderr, "wrote '%s' (%u curves)\n", path, n);
out:
    for (int i = 0; i < 2 * PLOT_MAX_CURVES; i++)
        free(xy[i]);
    free(cc);
    free(ngt);
    free(order);
    free(ap);
    free(s);
    free(names);
    return rc;
}

int cli_plot_confusion(dg_ctx *ctx, dg_project *p, const uint64_t *m,
                       uint32_t K, int norm, const char *title,
                       const char *path)
{
    uint32_t w = K + 1;
    double *v = malloc((size_t)w * w * sizeof(*v) + 8);
    const char **names = malloc((w + 1) * sizeof(*names));
    if (!v || !names) {
        free(v);
        free(names);
        return cli_error("out of memory");
    }
    for (uint32_t g = 0; g < w; g++) {
        names[g] = g == K ? "background" : dg_project_class_name(p, g);
        uint64_t rs = 0, cs = 0;
        for (uint32_t q = 0; q < w; q++)
            rs += m[(size_t)g * w + q];
        for (uint32_t q = 0; q < w; q++) {
            cs = 0;
            if (norm == 2)
                for (uint32_t k = 0; k < w; k++)
                    cs += m[(size_t)k * w + q];
            uint64_t x = m[(size_t)g * w + q], d = norm == 1 ? rs : cs;
            v[(size_t)g * w + q] = norm ? (d ? (double)x / (double)d : NAN)
                                        : (double)x;
        }
    }
    dg_chart_heatmap h = {title, w, v, names,
                          "rows: ground truth, columns: prediction (last: "
                          "background); log colour scale",
                          norm == 1 ? "share of the ground truth"
                          : norm == 2 ? "share of the predictions"
                                      : "count",
                          norm ? "%.2f" : "%.0f", !norm, 1, 1};
    dg_status st = dg_chart_heatmap_write(ctx, &h, path);
    free(v);
    free(names);
    if (st < 0)
        return cli_fail(ctx, st);
    fprintf(stderr, "wrote '%s'\n", path);
    return EXIT_OK;
}
