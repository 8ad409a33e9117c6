/*
 * Pascal VOC protocols: average precision per class and its mean, as the
 * VOC devkit, Cartucho/mAP and rafaelpadilla's tools compute them. This is
 * a separate evaluation from dg_eval (which follows pycocotools): VOC
 * matches differently, and its AP is not a lookup in eval's tables.
 *
 *     dg_voc_opts o;
 *     dg_voc_opts_init(&o);
 *     o.protocol = DG_VOC07;
 *     dg_voc_result r;
 *     if (dg_voc_evaluate(ctx, p, "yolo", &o, &r) == DG_OK) {
 *         printf("mAP = %.2f%%\n", 100 * r.map);
 *         dg_voc_result_release(&r);
 *     }
 *
 * Matching, per class. Every detection of the class, over all frames, is
 * ranked by descending score; equal scores keep frame order, then the
 * inference set's order within a frame (a stable sort, as the tools' own).
 * In that order each detection looks at every ground truth of its frame
 * and class, matched or not, and takes the one of highest IoU (the first
 * in label order on equal IoU). If that IoU >= opts.iou and the ground
 * truth is difficult (the label's ignore or iscrowd column), the detection
 * is ignored: it is in no count and no curve point. If it is >= opts.iou
 * and not difficult, the detection is a true positive if that ground truth
 * was not yet matched, else a false positive (a duplicate). Otherwise, or
 * when the frame has no ground truth of the class, a false positive.
 *
 * IoU. With plus1 (the default, as the devkit, Cartucho and rafaelpadilla
 * compute it), boxes are pixel-inclusive: a box's width is w + 1 and the
 * intersection's is min(x2) - max(x1) + 1 with x2 = x + w, and boxes that
 * do not overlap by a positive amount have IoU 0. Without it, IoU is the
 * plain continuous one, as COCO's.
 *
 * AP. After the k-th ranked detection, recall = TP / n_gt and precision =
 * TP / (TP + FP), both cumulative. DG_VOC12 is the all-point AP of VOC2010
 * and later: the area under the precision envelope (precision made
 * non-increasing from the right), over every recall change. DG_VOC07 is
 * the 11-point AP of VOC2007: the mean over r = 0, 0.1, ..., 1 of the
 * highest precision at recall >= r (0 if none). The recall points are, by
 * default, numpy's (i * 0.1 in double: 0.30000000000000004,
 * 0.6000000000000001, 0.7000000000000001), as in the devkit's Python port
 * and rafaelpadilla's code; exact_recall_points uses the doubles nearest
 * i / 10 instead. The two differ only when a recall lands exactly on 0.3,
 * 0.6 or 0.7.
 *
 * A class's AP is defined when it has non-difficult ground truth (NaN
 * otherwise); mAP is the mean over those classes, so classes that appear
 * only in detections do not count (Cartucho's rule).
 */
#ifndef DETGRID_VOC_H
#define DETGRID_VOC_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DG_VOC07 = 0, /* 11-point interpolated AP (VOC2007) */
    DG_VOC12      /* all-point AP (VOC2010-2012) */
} dg_voc_protocol;

typedef struct dg_voc_opts {
    dg_voc_protocol protocol;
    double iou;              /* match needs IoU >= iou; in (0, 1] */
    int plus1;               /* pixel-inclusive IoU (width + 1) */
    int exact_recall_points; /* DG_VOC07: i / 10, not numpy's i * 0.1 */
} dg_voc_opts;

/* The defaults: DG_VOC12, IoU 0.5, plus1 on, numpy's recall points. */
void dg_voc_opts_init(dg_voc_opts *o);

/* "voc07" or "voc12" to a protocol; -1 if neither. */
int dg_voc_protocol_parse(const char *name);
const char *dg_voc_protocol_name(dg_voc_protocol protocol);

typedef struct dg_voc_class {
    uint64_t n_gt;        /* ground truths that are not difficult */
    uint64_t n_difficult; /* difficult (ignored) ground truths */
    uint64_t n_det;       /* detections of the class */
    uint64_t n_ignored;   /* detections that matched a difficult one */
    uint64_t tp, fp;      /* over all ranked detections */
    double ap;            /* NaN when n_gt == 0 */
    /*
     * The curve: one point per ranked detection that is not ignored
     * (n_det - n_ignored points), in rank order: its score and the
     * cumulative precision and recall after it (recall NaN if n_gt == 0).
     */
    uint64_t n_points;
    double *score, *precision, *recall;
} dg_voc_class;

typedef struct dg_voc_result {
    dg_voc_opts opts;
    uint32_t n_classes;       /* the project's, same order */
    dg_voc_class *classes;
    uint32_t n_map_classes;   /* classes with n_gt > 0 */
    double map;               /* mean AP over them; NaN if none */
} dg_voc_result;

/*
 * Evaluates inference set name against p's labels with opts (NULL: the
 * DG_VOC12 defaults) and fills out, which the caller releases with
 * dg_voc_result_release(). Loads boxes as needed; stores nothing in p.
 * Fails with DG_ENOTFOUND (no such set), DG_EINVAL (bad opts), DG_ENOMEM,
 * or the project's read errors; out is then empty.
 */
dg_status dg_voc_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                          const dg_voc_opts *opts, dg_voc_result *out);

/* Frees what dg_voc_evaluate() put in r and empties it. Accepts an empty r. */
void dg_voc_result_release(dg_voc_result *r);

/*
 * AP of one curve: n points of cumulative recall (non-decreasing) and
 * precision, as the protocol computes it (see above). 0 when n is 0.
 */
double dg_voc_ap(dg_voc_protocol protocol, int exact_recall_points,
                 const double *recall, const double *precision, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif
