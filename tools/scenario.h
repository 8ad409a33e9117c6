/*
 * One inference set on one segment against the segment's targets: what
 * `detgrid scenarios` and `detgrid check` both show (tools/scenario.c).
 */
#ifndef DG_SCENARIO_H
#define DG_SCENARIO_H

#include "cli.h"

typedef struct sc_result {
    const char *inferences;
    uint32_t segment;
    double conf, iou;       /* the thresholds used */
    dg_counts micro;        /* pooled over classes */
    dg_prf prf;
    double ap;              /* mean AP over classes; NaN unless an AP target */
    dg_segment_targets t;
    int has_targets;        /* any of precision, recall, F1 set */
    int pass;               /* 1 every set target met (or none set), 0 not */
    int strict;             /* pass judged on the interval's lower bound */
    dg_prf_ci ci;           /* with strict or ci: the bootstrap interval */
    int has_ci;
    char why[256];          /* the unmet targets, "" when passing */
} sc_result;

/*
 * Evaluates inference set name on segment seg of p. Thresholds: conf / iou
 * when not NaN, else the segment's own, else the project's defaults. With
 * bo (bootstrap options) the interval is computed; with strict a target
 * counts as met only when the interval's lower bound meets it. Returns
 * EXIT_OK, or EXIT_ERROR with the message printed. With bo, leaves the
 * results of name restricted to seg; without, counts every segment in one
 * pass on the first call and answers later ones from that.
 */
int sc_eval(dg_ctx *ctx, dg_project *p, const char *name, uint32_t seg,
            double conf, double iou, const dg_bootstrap_opts *bo, int strict,
            sc_result *out);

/* Frees what sc_eval keeps between calls. */
void sc_release(void);

/* Adds the result's fields (thresholds, counts, P/R/F1, pass) to o. */
void sc_json(const sc_result *r, cJSON *o);
/* Targets of segment seg as a JSON object (null where unset). */
cJSON *sc_targets_json(const dg_segment_targets *t);
/* "P>=0.5 R>=0.4" or "no targets". */
void sc_fmt_targets(char *buf, size_t cap, const dg_segment_targets *t);

#endif
