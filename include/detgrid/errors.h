/*
 * What the mistakes are: ranked lists of likely labelling mistakes (where
 * the model and the labels disagree in ways that point at the labels), and
 * the TIDE error taxonomy of a model's false positives and negatives with
 * the AP each kind of error costs. docs/ERRORS.md defines every score and
 * rule and compares them with FiftyOne's mistakenness and tidecv.
 *
 *     dg_label_errors le;
 *     if (dg_label_errors_find(ctx, p, "model-a", NULL, &le) == DG_OK) {
 *         for (uint64_t i = 0; i < le.n[DG_LE_MISSING]; i++)
 *             printf("%s %.3f\n",
 *                    dg_project_frame_id(p, le.list[DG_LE_MISSING][i].frame),
 *                    le.list[DG_LE_MISSING][i].score);
 *         dg_label_errors_release(&le);
 *     }
 *
 *     dg_tide_result t;
 *     if (dg_tide_evaluate(ctx, p, "model-a", NULL, &t) == DG_OK) {
 *         printf("AP50 %.2f, fixing localisation errors adds %.2f\n",
 *                t.ap, t.dap[DG_TIDE_LOC]);
 *         dg_tide_result_release(&t);
 *     }
 *
 * Both compute from the project's boxes (labels and one inference set)
 * and need no stored results; both load the boxes if they are not loaded.
 */
#ifndef DETGRID_ERRORS_H
#define DETGRID_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- label errors ----------------------------------------------------- */

typedef enum {
    DG_LE_MISSING = 0,        /* a confident detection on no label */
    DG_LE_WRONG_CLASS,        /* a confident detection of another class */
    DG_LE_SPURIOUS,           /* a label no detection comes near */
    DG_LE_LOW_CONF_AGREEMENT, /* a label matched only by a weak detection */
    DG_LE_BAD_BOX,            /* a label a confident detection half covers */
    DG_LE_N_KINDS
} dg_label_error_kind;

/* "missing", "wrong-class", "spurious", "low-conf-agreement", "bad-box";
 * NULL for another k. */
const char *dg_label_error_kind_name(dg_label_error_kind k);

/* The kind named name, or -1. */
int dg_label_error_kind_parse(const char *name);

typedef struct dg_label_errors_opts {
    double iou;     /* match threshold t in (0, 1]; 0: the project's default */
    double bg_iou;  /* "near" threshold b, 0 < b < t; 0: 0.1 */
    double conf;    /* detections with score < conf are left out; default 0 */
    uint64_t limit; /* keep the best limit entries of each kind; 0: all */
    unsigned kinds; /* mask of 1u << kind; 0: every kind */
} dg_label_errors_opts;

/*
 * One entry. label and det are record indices (in the project's
 * frame-sorted order; for a COCO import or a synthetic project, the label
 * index is the annotation's position in the file) or -1 when the entry has
 * none; the class and box fields of a missing one are zero.
 */
typedef struct dg_label_error {
    dg_label_error_kind kind;
    double score;        /* higher: more likely a labelling mistake */
    uint32_t frame;
    int64_t label, det;
    uint32_t label_cls, det_cls;
    double label_box[4], det_box[4]; /* x, y, w, h */
    double conf;         /* the detection's score; NaN without one */
    /*
     * IoU of det and label where the entry has both. missing: the
     * detection's highest IoU with any label. spurious: the label's highest
     * IoU with any detection.
     */
    double iou;
    /*
     * missing: how many candidate detections this entry stands for (it and
     * those that overlap it at IoU >= t). spurious: the recall prior of
     * the label's class and size (see docs/ERRORS.md). Otherwise 0.
     */
    double aux;
} dg_label_error;

typedef struct dg_label_errors {
    double iou, bg_iou, conf;           /* the thresholds used */
    uint64_t tp, fp, fn;                /* matching at (conf, iou), as eval */
    uint64_t n_candidates[DG_LE_N_KINDS]; /* before the limit */
    uint64_t n[DG_LE_N_KINDS];          /* entries in list[k] */
    dg_label_error *list[DG_LE_N_KINDS]; /* best first; NULL if n is 0 */
    double seconds;                     /* load and compute time */
} dg_label_errors;

/*
 * Finds likely labelling mistakes of p's labels using inference set name
 * and fills *out (caller-owned; release with dg_label_errors_release()).
 * opts may be NULL (defaults). Fails with DG_ENOTFOUND (no such set),
 * DG_EINVAL (bad thresholds), DG_ERANGE (more than 2^31 boxes), DG_ENOMEM
 * or the project's read errors; *out is then empty.
 */
dg_status dg_label_errors_find(dg_ctx *ctx, dg_project *p, const char *name,
                               const dg_label_errors_opts *opts,
                               dg_label_errors *out);

/* Frees what dg_label_errors_find() put in r and zeroes it. */
void dg_label_errors_release(dg_label_errors *r);

/*
 * A one-line reason for e ("detection 'car' 0.97 overlaps no label ..."),
 * into buf (always terminated when cap > 0). Returns what snprintf does.
 */
int dg_label_error_describe(const dg_project *p, const dg_label_error *e,
                            char *buf, size_t cap);

/* ---- TIDE error taxonomy ---------------------------------------------- */

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
    double conf;      /* detections with score < conf are left out; 0 */
    double fg_iou;    /* tidecv's pos_threshold; 0: 0.5 */
    double bg_iou;    /* tidecv's background_threshold; 0: 0.1 */
    int64_t max_dets; /* best detections kept per frame; 0: 100; < 0: all */
} dg_tide_opts;

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
 * lists the rules and the deliberate differences). opts may be NULL.
 * Fails with DG_ENOTFOUND, DG_EINVAL (bad thresholds), DG_ENOMEM or the
 * project's read errors; *out is then empty.
 */
dg_status dg_tide_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_tide_opts *opts, dg_tide_result *out);

/* Frees what dg_tide_evaluate() put in r and zeroes it. */
void dg_tide_result_release(dg_tide_result *r);

#ifdef __cplusplus
}
#endif
#endif
