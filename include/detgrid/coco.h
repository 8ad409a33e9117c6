/*
 * The COCO detection protocol: what pycocotools' COCOeval computes with
 * its default Params, bit for bit: the summary numbers, per-class AP, and
 * the precision, scores and recall arrays of COCOeval.eval. For iouType
 * 'bbox' and 'segm': 10 IoU thresholds 0.50:0.95, 101 recall thresholds,
 * area ranges all/small/medium/large, maxDets 1/10/100, 12 stats; for
 * 'keypoints' (OKS): area ranges all/medium/large, maxDets 20, 10 stats;
 * 'boundary' is faster-coco-eval's (the least of mask and boundary IoU).
 * docs/COCO.md lists every rule that this takes from pycocotools and the
 * switches for its known quirks; docs/MASKS.md the masks and keypoints.
 *
 *     dg_coco_result r;
 *     if (dg_coco_evaluate(ctx, p, "model-a", NULL, &r) == DG_OK) {
 *         printf("AP %.3f\n", r.stats[DG_COCO_AP]);
 *         for (uint32_t k = 0; k < r.n_cats; k++)
 *             printf("%s %.3f\n", dg_project_class_name(p, r.cat_class[k]),
 *                    r.ap[k]);
 *         dg_coco_result_release(&r);
 *     }
 *
 * Evaluation matches each image and category once per area range, on the
 * context's device as every analysis chooses it (dg_ctx_set_device: "gpu"
 * or "cpu" an OpenCL device, "ref" the plain-C reference matcher, "auto"
 * a GPU when one is present, else the reference): both give the same
 * bytes.
 */
#ifndef DETGRID_COCO_H
#define DETGRID_COCO_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DG_COCO_N_IOU 10    /* T: IoU thresholds */
#define DG_COCO_N_REC 101   /* R: recall thresholds 0, 0.01, ..., 1 */
#define DG_COCO_N_AREA 4    /* A at most: all, small, medium, large */
#define DG_COCO_N_MAXDET 3  /* M at most: maxDets 1, 10, 100 */
#define DG_COCO_N_STATS 12  /* stats at most (keypoints have 10) */

/* What is compared: pycocotools' iouType (boundary: faster-coco-eval's). */
typedef enum {
    DG_COCO_BBOX = 0,  /* box IoU */
    DG_COCO_SEGM,      /* mask IoU (the 'segmentation' of each record) */
    DG_COCO_BOUNDARY,  /* min(mask IoU, boundary IoU); crowd: mask IoU */
    DG_COCO_KEYPOINTS  /* object keypoint similarity */
} dg_coco_iou_type;

/* "bbox", "segm", "boundary", "keypoints"; NULL for another value. */
const char *dg_coco_iou_type_name(int t);
/* The type named s, or -1. */
int dg_coco_iou_type_parse(const char *s);

/* Sigmas a keypoint evaluation takes at most (one per keypoint). */
#define DG_COCO_MAX_SIGMAS 240

/* The default dilation ratio of boundary IoU (faster-coco-eval's). */
#define DG_COCO_DILATION_RATIO 0.02

/* Indices into dg_coco_result.stats, in pycocotools' summarize() order. */
enum {
    DG_COCO_AP = 0,  /* AP @[.50:.95], area all, maxDets 100 */
    DG_COCO_AP50,    /* AP @.50 */
    DG_COCO_AP75,    /* AP @.75 */
    DG_COCO_AP_S,    /* AP small */
    DG_COCO_AP_M,    /* AP medium */
    DG_COCO_AP_L,    /* AP large */
    DG_COCO_AR1,     /* AR, maxDets 1 */
    DG_COCO_AR10,    /* AR, maxDets 10 */
    DG_COCO_AR100,   /* AR, maxDets 100 */
    DG_COCO_AR_S,    /* AR small */
    DG_COCO_AR_M,    /* AR medium */
    DG_COCO_AR_L     /* AR large */
};

/*
 * Options. The defaults (dg_coco_opts_init, or a NULL pointer) are
 * pycocotools exactly, except for annotation id 0 (pycocotools_id0);
 * exact_iou and use_ignore depart from it on purpose.
 */
typedef struct dg_coco_opts {
    /*
     * IoU thresholds as the doubles nearest 0.50, 0.55, ..., 0.95 instead
     * of numpy.linspace(.5, .95, 10), whose ninth value is
     * 0.8999999999999999 (so an IoU just below 0.9 passes it).
     */
    int exact_iou;
    /*
     * Treat labels whose ignore column is set as ignored (neither TP nor
     * FN; detections on them neither TP nor FP). pycocotools overwrites a
     * file's ignore flag with iscrowd, so by default only crowd regions
     * and the area ranges decide.
     */
    int use_ignore;
    /*
     * pycocotools' treatment of annotation id 0, bit for bit: evaluateImg
     * records a match as the matched label's id and tests that for truth,
     * so a detection matched to a regular label whose annotation id is 0
     * counts as a false positive (and is ignored when its own area is
     * outside the area range), while the label is still taken and missed.
     * The default counts the true positive. Only labels imported from
     * COCO JSON know their ids (dg_import_coco_gt warns when one is 0).
     */
    int pycocotools_id0;
    /* Worker threads; 0 means one per online CPU, at most 16. */
    int n_threads;
    /* What is compared (dg_coco_iou_type); 0 is boxes. */
    int iou_type;
    /* Boundary IoU's dilation ratio; 0 means DG_COCO_DILATION_RATIO. */
    double dilation_ratio;
    /*
     * Keypoints: the sigma of each keypoint (n_kpt_sigmas of them, every
     * class); NULL means COCO's 17 person sigmas (pycocotools'
     * kpt_oks_sigmas). Objects with another number of keypoints need
     * sigmas of their own.
     */
    const double *kpt_sigmas;
    int n_kpt_sigmas;
    /*
     * Per class (the project's class index; n_classes entries, or NULL):
     * sigmas of that class's keypoints, class_sigmas[c] NULL for the
     * sigmas above.
     */
    const double *const *class_sigmas;
    const int *n_class_sigmas;
} dg_coco_opts;

/* The defaults: every switch off, n_threads 0. */
void dg_coco_opts_init(dg_coco_opts *o);

/* Timings of one evaluation, in seconds. */
typedef struct dg_coco_timing {
    double load_s;       /* loading boxes from the project file */
    double prepare_s;    /* ordering, ranks, truncation to 100 per image */
    double tiles_s;      /* mask, boundary or keypoint IoUs (not boxes') */
    double match_s;      /* matching, 4 area ranges x 10 IoU thresholds */
    double accumulate_s; /* PR curves */
    double summarize_s;
    double total_s;
} dg_coco_timing;

/*
 * What an evaluation produces. Category k (0 <= k < n_cats) is the k-th
 * class in ascending class id (the COCO category id), as in pycocotools'
 * sorted catIds; cat_class[k] is its class index in the project. Arrays
 * are C-ordered as in COCOeval.eval:
 *
 *     precision[T][R][K][A][M], scores[T][R][K][A][M], recall[T][K][A][M]
 *
 * with -1 where category k has no ground truth in area range a (after
 * crowd regions are left out). Use dg_coco_index() and
 * dg_coco_recall_index() to find an entry.
 */
typedef struct dg_coco_result {
    int iou_type;                  /* dg_coco_iou_type */
    int n_stats;                   /* 12, or 10 for keypoints */
    double stats[DG_COCO_N_STATS]; /* -1 where undefined, as pycocotools */
    double iou[DG_COCO_N_IOU];     /* the thresholds used */
    double rec[DG_COCO_N_REC];     /* numpy.linspace(0, 1, 101) */
    int n_area, n_max_dets;        /* A and M: 4 and 3, keypoints 3 and 1 */
    int max_dets[DG_COCO_N_MAXDET];            /* 1, 10, 100 / 20 */
    double area_rng[DG_COCO_N_AREA][2];        /* inclusive, in pixels^2 */
    const char *area_lbl[DG_COCO_N_AREA];      /* "all", "small", ... */
    uint32_t n_cats;
    uint32_t *cat_class;
    double *precision;
    double *scores;
    double *recall;
    /*
     * Per category: AP (mean of precision[:, :, k, all, maxDets] over
     * entries > -1, maxDets 100 or for keypoints 20), AP at IoU 0.5 and
     * 0.75, and AR with those detections (mean of recall[:, k, all,
     * maxDets]); NaN where the category has no ground truth.
     */
    double *ap, *ap50, *ap75, *ar100;
    uint64_t n_gt;  /* labels, crowd included */
    uint64_t n_det; /* detections evaluated (100 per image and category) */
    uint64_t n_det_dropped; /* beyond the 100 best of an image and category */
    dg_coco_timing timing;
    char device[256]; /* "reference" or "OpenCL: <platform> / <device>" */
} dg_coco_result;

/*
 * Evaluates inference set name of p against its labels with COCO
 * semantics and fills *out (caller-owned; release with
 * dg_coco_result_release()). opts NULL means the defaults. Loads the
 * labels and the inference set if they are not loaded yet. On failure
 * *out is left empty (safe to release). DG_ENOTFOUND when there is no such set,
 * DG_ERANGE when a count does not fit the matcher's 32-bit indices.
 */
dg_status dg_coco_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_coco_opts *opts, dg_coco_result *out);

/* Frees what dg_coco_evaluate() allocated in r and zeroes it. Accepts an
 * empty r. */
void dg_coco_result_release(dg_coco_result *r);

/* Index of precision/scores[t][ri][k][a][m] (A = r->n_area, M =
 * r->n_max_dets). */
static inline size_t dg_coco_index(const dg_coco_result *r, int t, int ri,
                                   uint32_t k, int a, int m)
{
    return ((((size_t)t * DG_COCO_N_REC + (size_t)ri) * r->n_cats + k) *
                (size_t)r->n_area + (size_t)a) * (size_t)r->n_max_dets +
           (size_t)m;
}

/* Index of recall[t][k][a][m]. */
static inline size_t dg_coco_recall_index(const dg_coco_result *r, int t,
                                          uint32_t k, int a, int m)
{
    return (((size_t)t * r->n_cats + k) * (size_t)r->n_area + (size_t)a) *
               (size_t)r->n_max_dets + (size_t)m;
}

/*
 * The summarize() line of stat i (0 <= i < 12) of a box or mask
 * evaluation without its value, e.g.
 * " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]";
 * NULL for another i. Static storage.
 */
const char *dg_coco_stat_label(int i);

/* A short name of stat i: "AP", "AP50", ..., "ARl"; NULL for another i. */
const char *dg_coco_stat_name(int i);

/* The same for stat i (0 <= i < r->n_stats) of r's iou_type: keypoints
 * have their own ten ("AP", "AP50", "AP75", "APm", "APl", "AR", ...). */
const char *dg_coco_result_stat_label(const dg_coco_result *r, int i);
const char *dg_coco_result_stat_name(const dg_coco_result *r, int i);

#ifdef __cplusplus
}
#endif
#endif
