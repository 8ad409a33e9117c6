/* The charts of `sweep --plot` and `confusion --plot` (tools/plots.c). */
#ifndef DG_PLOTS_H
#define DG_PLOTS_H

#include <stdint.h>

#include "detgrid/detgrid.h"

/* Curves drawn at most (the classes with most ground truth). */
#define PLOT_MAX_CURVES 12

/*
 * Precision-recall curves of r at IoU index t (class only, or with only
 * -1 the PLOT_MAX_CURVES classes with most ground truth), each with a dot
 * at conf and its all-point AP in the legend, into path (.png/.svg/.pdf).
 */
int cli_plot_pr(dg_ctx *ctx, dg_project *p, dg_results *r, const char *name,
                int t, int64_t only, double conf, const char *path);
/*
 * The (K + 1)^2 matrix m ([gt][pred], background last) as a heatmap:
 * counts on a log scale (norm 0), or shares of the row (1) or column (2).
 */
int cli_plot_confusion(dg_ctx *ctx, dg_project *p, const uint64_t *m,
                       uint32_t K, int norm, const char *title,
                       const char *path);

#endif
