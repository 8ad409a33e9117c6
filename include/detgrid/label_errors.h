/*
 * Likely labelling mistakes: ranked lists of places where the model and
 * the labels disagree in ways that point at the labels (a confident
 * detection on no label, of another class, half covering a label; a label
 * no detection comes near). docs/ERRORS.md defines every score and rule
 * and compares them with FiftyOne's mistakenness.
 *
 *     dg_label_errors_result le;
 *     if (dg_label_errors_evaluate(ctx, p, "model-a", NULL, &le) == DG_OK) {
 *         for (uint64_t i = 0; i < le.n[DG_LE_MISSING]; i++)
 *             printf("%s %.3f\n",
 *                    dg_project_frame_id(p, le.list[DG_LE_MISSING][i].frame),
 *                    le.list[DG_LE_MISSING][i].score);
 *         dg_label_errors_result_release(&le);
 *     }
 *
 * It computes from the project's boxes (labels and one inference set),
 * needs no stored results and loads the boxes if they are not loaded.
 */
#ifndef DETGRID_LABEL_ERRORS_H
#define DETGRID_LABEL_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    double bg_iou;  /* "near" threshold b, 0 < b < t; default 0.1 */
    double conf;    /* detections with score < conf are left out; default 0 */
    uint64_t limit; /* keep the best limit entries of each kind; 0: all */
    unsigned kinds; /* mask of 1u << kind; 0: every kind */
} dg_label_errors_opts;

/* The defaults: the project's IoU, bg_iou 0.1, conf 0, every entry of
 * every kind. */
void dg_label_errors_opts_init(dg_label_errors_opts *o);

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

typedef struct dg_label_errors_result {
    double iou, bg_iou, conf;           /* the thresholds used */
    uint64_t tp, fp, fn;                /* matching at (conf, iou), as eval */
    uint64_t n_candidates[DG_LE_N_KINDS]; /* before the limit */
    uint64_t n[DG_LE_N_KINDS];          /* entries in list[k] */
    dg_label_error *list[DG_LE_N_KINDS]; /* best first; NULL if n is 0 */
    double seconds;                     /* load and compute time */
} dg_label_errors_result;

/*
 * Finds likely labelling mistakes of p's labels using inference set name
 * and fills *out (caller-owned; release with
 * dg_label_errors_result_release()). opts NULL means the defaults. Fails
 * with DG_ENOTFOUND (no such set), DG_EINVAL (bad thresholds), DG_ERANGE
 * (more than 2^31 boxes), DG_ENOMEM or the project's read errors; *out is
 * then empty.
 */
dg_status dg_label_errors_evaluate(dg_ctx *ctx, dg_project *p,
                                   const char *name,
                                   const dg_label_errors_opts *opts,
                                   dg_label_errors_result *out);

/* Frees what dg_label_errors_evaluate() put in r and zeroes it. Accepts an
 * empty r. */
void dg_label_errors_result_release(dg_label_errors_result *r);

/*
 * A one-line reason for e ("detection 'car' 0.97 overlaps no label ..."),
 * into buf (always terminated when cap > 0). Returns what snprintf does.
 */
int dg_label_error_describe(const dg_project *p, const dg_label_error *e,
                            char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
