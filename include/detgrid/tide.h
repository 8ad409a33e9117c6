/*
 * The TIDE error taxonomy: every false positive and false negative of a
 * model as Cls, Loc, Both, Dupe, Bkg or Miss, per class, with the AP that
 * fixing each kind of error adds, as tidecv computes it. docs/ERRORS.md
 * lists the rules and compares them with tidecv.
 *
 *     dg_tide_result t;
 *     if (dg_tide_evaluate(ctx, p, "model-a", NULL, &t) == DG_OK) {
 *         printf("AP50 %.2f, fixing localisation errors adds %.2f\n",
 *                t.ap, t.dap[DG_TIDE_LOC]);
 *         dg_tide_result_release(&t);
 *     }
 *
 * It computes from the project's boxes (labels and one inference set),
 * needs no stored results and loads the boxes if they are not loaded.
 */
#ifndef DETGRID_TIDE_H
#define DETGRID_TIDE_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tidecv's main error types, in its order. */
typedef enum {
    DG_TIDE_CLS = 0, /* right box, wrong class */
    DG_TIDE_LOC,     /* right class, box between bg_iou and fg_iou */
    DG_TIDE_BOTH,    /* wrong class and a poor box */
    DG_TIDE_DUPE,    /* a label already taken by a better detection */
    DG_TIDE_BKG,     /* on background: IoU <= bg_iou with every label */
    DG_TIDE_MISS,    /* a label no error above could have found */
    DG_TIDE_N
} dg_tide_type;

/* tidecv's short names: "Cls", "Loc", "Both", "Dupe", "Bkg", "Miss". */
const char *dg_tide_type_name(dg_tide_type t);

typedef struct dg_tide_opts {
    double conf;      /* detections with score < conf are left out */
    double fg_iou;    /* tidecv's pos_threshold; 0 also means 0.5 */
    double bg_iou;    /* tidecv's background_threshold; 0 also means 0.1 */
    int64_t max_dets; /* best detections kept per frame; 0: 100; < 0: all */
} dg_tide_opts;

/* tidecv's defaults: conf 0, fg_iou 0.5, bg_iou 0.1, max_dets 100. */
void dg_tide_opts_init(dg_tide_opts *o);

typedef struct dg_tide_result {
    double conf, fg_iou, bg_iou; /* as used */
    int64_t max_dets;            /* as used; -1 for all */
    uint32_t n_classes;
    /*
     * Errors per class: count[c * DG_TIDE_N + t]. A detection's error
     * counts for the detection's class, a Miss for the label's.
     */
    uint64_t *count;
    uint64_t total[DG_TIDE_N];
    /*
     * Matching as tidecv does it, at fg_iou: tp and fp are the detections
     * that enter its AP; ignored ones matched an ignore region (crowd or
     * ignore label) and are in neither, but tidecv still gives each of
     * them an error. fn = labels not matched = Miss + fn_fixable (those a
     * Cls or Loc error points at). So Cls + Loc + Both + Dupe + Bkg =
     * fp + ignored.
     */
    uint64_t tp, fp, ignored, fn, fn_fixable;
    uint64_t n_gt;        /* labels that are neither crowd nor ignored */
    uint64_t n_det;       /* detections evaluated (score >= conf, kept) */
    uint64_t n_dropped;   /* beyond max_dets in their frame */
    /* tidecv's mAP at fg_iou in percent, and what fixing each type adds
     * (main errors, clamped at 0 as tidecv does) or the special errors
     * (perfect precision / recall; not clamped). */
    double ap;
    double dap[DG_TIDE_N];
    double dap_fp, dap_fn;
    double *class_ap;     /* n_classes; NaN for classes not in the mAP */
    /* Per detection record: its error type, or -1 (a true positive, or
     * not evaluated). Per label record: DG_TIDE_MISS or -1. */
    int8_t *det_type;
    int8_t *label_type;
    uint64_t n_det_records, n_label_records;
    double seconds;
} dg_tide_result;

/*
 * Classifies every false positive and false negative of inference set
 * name as tidecv 1.0.1 does and computes its dAP values (docs/ERRORS.md
 * lists the rules and the deliberate differences). opts NULL means the
 * defaults.
 * Fails with DG_ENOTFOUND, DG_EINVAL (bad thresholds), DG_ENOMEM or the
 * project's read errors; *out is then empty.
 */
dg_status dg_tide_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_tide_opts *opts, dg_tide_result *out);

/* Frees what dg_tide_evaluate() put in r and zeroes it. Accepts an empty
 * r. */
void dg_tide_result_release(dg_tide_result *r);

#ifdef __cplusplus
}
#endif
#endif
