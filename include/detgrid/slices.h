/*
 * Slice discovery: where in the frame metadata (/frames/meta columns:
 * weather, time of day, camera, image size, any COCO image field) a model
 * does significantly worse than on the rest, found without being told
 * where to look (docs/SLICES.md; the method follows Slice Finder, Chung
 * et al. 2019).
 *
 *     dg_slices_opts o;
 *     dg_slices_opts_init(&o);
 *     o.iou_idx = t;
 *     dg_slices_result res;
 *     if (dg_slices_evaluate(ctx, r, p, &o, &res) == DG_OK)
 *         for (uint32_t i = 0; i < res.n_slices; i++)
 *             printf("%s: F1 %.3f\n", res.slices[i].name,
 *                    res.slices[i].prf.f1);
 *     dg_slices_result_release(&res);
 *
 * A condition is a column's value (string columns, and numeric ones with
 * few distinct values) or a range of a numeric column between quantiles;
 * a slice is a conjunction of conditions on different columns. Each slice
 * with enough frames is tested against the rest of the frames on one
 * metric (a ratio test over frames, docs/SLICES.md), the p-values of every
 * slice tested are adjusted together (Benjamini-Hochberg), and the
 * significant slices are ranked; a slice is reported only when it is
 * still significantly worse on the frames no higher-ranked reported slice
 * holds, so that the refinements and the dilutions of a slice do not
 * crowd the list.
 */
#ifndef DETGRID_SLICES_H
#define DETGRID_SLICES_H

#include <stdint.h>

#include "detgrid/explain.h"
#include "detgrid/metrics.h"
#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metric a slice is tested on. */
typedef enum dg_slice_metric {
    DG_SLICE_F1 = 0,
    DG_SLICE_PRECISION = 1,
    DG_SLICE_RECALL = 2
} dg_slice_metric;

/* How significant slices are ranked. */
typedef enum dg_slice_rank {
    /*
     * The default: by the p-value of the slice's test, smallest first. It
     * grows with the effect (the metric's deficit against the rest) and
     * with the frames that show it, so it is lowest for the slice where
     * the failure is, not for a larger one that dilutes it with frames
     * that are fine, nor for a smaller one that holds only part of it.
     */
    DG_SLICE_RANK_P = 0,
    /*
     * By effect x support (deficit against the rest x frames): the same
     * for a failing slice and for any dilution of it (each added frame
     * that is fine lowers the deficit as much as it raises the support),
     * so which of them ranks first is chance. For comparison.
     */
    DG_SLICE_RANK_EFFECT_SUPPORT = 1
} dg_slice_rank;

/* "f1", "precision", "recall" and "p", "effect-support"; NULL otherwise. */
const char *dg_slice_metric_name(dg_slice_metric m);
const char *dg_slice_rank_name(dg_slice_rank r);
/* The value named s, or -1. */
int dg_slice_metric_parse(const char *s);
int dg_slice_rank_parse(const char *s);

typedef struct dg_slices_opts {
    double conf;              /* detections with score >= conf count */
    int iou_idx;              /* the IoU threshold index of the results */
    dg_slice_metric metric;   /* tested; default F1 */
    dg_slice_rank rank;
    uint32_t max_conditions;  /* 1 .. 3; 0 also means 2 */
    /* Fewest frames in a slice tested; 0: max(30, 1 % of the frames). */
    uint32_t min_support;
    /* Numeric columns with more distinct values than max_values are cut
     * into `bins` ranges of (about) equal frames at order statistics;
     * others give one condition per value. 0 also means 4 bins, 10
     * values. */
    uint32_t bins;
    uint32_t max_values;
    double alpha;             /* false discovery rate; 0 also means 0.05 */
    /* Columns to search (names); NULL: every metadata column. */
    const char *const *columns;
    uint32_t n_columns;
    uint32_t limit;           /* slices reported at most; 0 also means 20 */
} dg_slices_opts;

/* conf 0.1, IoU index 0, F1, by p, 2 conditions, min_support 0 (30 or
 * 1 %), 4 bins, 10 values, alpha 0.05, every column, limit 20. */
void dg_slices_opts_init(dg_slices_opts *o);

typedef struct dg_slice {
    /*
     * The conditions, as `segment --where` reads them ("weather=rain",
     * "10<=speed<20", "speed>=85.5"), and "cond1 and cond2" in name.
     * Owned by the result.
     */
    uint32_t n_conditions;
    char *where[3];
    char *column[3];
    char *name;
    /* Its frames, ascending (project frame indices), owned by the result. */
    uint32_t *frames;
    uint32_t n_frames;
    dg_counts counts;        /* pooled over classes in its frames */
    dg_prf prf;
    dg_prf rest;             /* on the other frames considered */
    double value, value_rest; /* the tested metric here and on the rest */
    double effect;           /* value_rest - value */
    double z, p, q;          /* statistic, one-sided p, BH-adjusted p */
    /* The ranking key: -ln p (rank p; finite where p underflows to 0) or
     * effect x frames. */
    double score;
    dg_pattern_explain explain;
} dg_slice;

/* A condition the search considered. */
typedef struct dg_slice_condition {
    char *column;
    char *where;
    uint32_t n_frames;
} dg_slice_condition;

typedef struct dg_slices_result {
    dg_slice_metric metric;
    dg_slice_rank rank;
    double alpha;
    uint32_t min_support, max_conditions;
    uint32_t n_frames;         /* frames considered (the restriction's) */
    dg_counts counts;          /* pooled over them */
    dg_prf prf;
    double value;              /* the tested metric over them */
    /* Every condition, column by column. */
    dg_slice_condition *conditions;
    uint32_t n_conditions;
    uint32_t n_columns;        /* columns searched */
    uint64_t n_tested;         /* slices with enough frames, tested */
    uint64_t n_significant;    /* of them with q <= alpha and worse */
    /* The reported slices, ranked (at most opts.limit). */
    dg_slice *slices;
    uint32_t n_slices;
    double seconds;
} dg_slices_result;

/*
 * Searches the metadata columns of p for slices where r (the results of
 * one of p's inference sets, restricted or not) does significantly worse
 * at (opts.conf, opts.iou_idx), as described above and in docs/SLICES.md.
 * Frames outside r's restriction are in no slice and not in the rest.
 * opts NULL means the defaults of dg_slices_opts_init. Errors: DG_EINVAL
 * (bad options, an IoU index out of range, no metadata columns),
 * DG_ENOTFOUND (a column named in opts that p lacks), and the loaders';
 * *out is then empty. Release out with dg_slices_result_release.
 */
dg_status dg_slices_evaluate(dg_ctx *ctx, dg_results *r, dg_project *p,
                             const dg_slices_opts *opts,
                             dg_slices_result *out);
void dg_slices_result_release(dg_slices_result *res);

#ifdef __cplusplus
}
#endif
#endif
