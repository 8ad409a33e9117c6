/*
 * The contracts of the heavy stages: what each consumes and produces. The
 * engine (host/engine/) calls a stage through its interface; the stage runs
 * on the OpenCL device (host/cl/) or on its plain-C twin (host/ref/), and
 * both give the same bytes. The two backends depend on core alone, so their
 * shared types live here.
 */
#ifndef DG_STAGES_H
#define DG_STAGES_H

#include <stdint.h>

/* ---- matching ------------------------------------------------------------- */

/* Per-detection outcome at one IoU threshold. */
enum { DG_FP = 0, DG_TP = 1, DG_IGN = 2 };

/*
 * What matching consumes: labels and detections of the same frames (both
 * sorted by frame, frame_off relative to frame_lo), and the thresholds.
 *
 * The IoU of a (detection, ground truth) pair comes from the boxes
 * (dg__iou: pycocotools' bbIou, crowd ground truths over the detection's
 * area), unless iou_tile is set: then an earlier stage (mask IoU, boundary
 * IoU, OKS) has computed every pair of every frame, and the matchers take
 * the values as they are. Frame f (0 .. n_frames - 1) with n_d detections
 * and n_g ground truths has its tile at iou_tile + tile_off[f], n_d x n_g
 * doubles row-major: the IoU of its i-th detection and j-th ground truth
 * (each in input order within the frame) at tile_off[f] + i * n_g + j.
 * tile_off has n_frames + 1 entries, ascending, tile_off[f + 1] >=
 * tile_off[f] + n_d * n_g; tile_off[n_frames] doubles are read in all.
 * The producing stage applies the crowd rule (a crowd region's IoU is
 * whatever that stage defines, intersection over the detection's area for
 * masks as for boxes); the matchers only ever compare the values. A NaN
 * value behaves as a NaN box IoU does (see the matchers' rules in ref.h).
 */
typedef struct dg_match_input {
    uint32_t n_frames;  /* frames in this chunk */
    uint32_t n_classes;
    const struct dg_boxset *gt;
    const struct dg_boxset *dt;
    int n_iou;
    const double *iou;
    const double *iou_tile;  /* NULL: from the boxes */
    const uint64_t *tile_off;
} dg_match_input;

/*
 * What matching produces, per detection d of the chunk (d an index into
 * dt, frame_off[0] <= d < frame_off[n_frames]) and threshold t, in rows of
 * dt->n cells: status[t * dt->n + c] in {DG_FP, DG_TP, DG_IGN} and
 * matched[t * dt->n + c], the index into gt of the ground truth taken plus
 * label_base, or -1; with agnostic set, the class-agnostic matching's
 * agnostic[t * dt->n + c] (a label index plus label_base, or one of
 * DG_AGN_*). The cell c is d, or pos[d] when pos is set: then the chunk is
 * the whole of dt (frame_off[0] == 0, frame_off[n_frames] == dt->n) and pos
 * a permutation of [0, dt->n), so that outcomes land straight at their
 * sorted position. Cells of detections outside the chunk are left alone.
 */
typedef struct dg_match_output {
    uint8_t *status;
    int32_t *matched;
    int32_t *agnostic;     /* NULL: class-wise matching only */
    const uint32_t *pos;   /* NULL: cell d */
    int64_t label_base;
} dg_match_output;

/*
 * What a device stage moved between host and device and how long its
 * parts took (the reference path moves nothing). Times are the device's
 * own (profiling events) where it gives them, else host clocks around the
 * waits; a launcher adds to the totals.
 */
typedef struct dg_stage_profile {
    uint64_t bytes_up, bytes_down;
    double upload_s, kernel_s, download_s;
    uint32_t launches;
} dg_stage_profile;

/*
 * Class-agnostic matching (the confusion matrix's methodology), per
 * detection and threshold: the index into in->gt of the ground truth taken
 * (any class), or one of these.
 */
enum { DG_AGN_BACKGROUND = -1, DG_AGN_IGNORED = -2 };

/* ---- IoU tiles of shapes: mask IoU and OKS ------------------------------- */

/*
 * The pairs to score, by group: group q pairs the detections
 * dl[doff[q] .. doff[q+1]) with the ground truths gl[goff[q] .. goff[q+1])
 * (indices into the object arrays of the input); its tile, nd x ng values
 * detection-major (out[tile_off[q] + i * ng + j]), starts at tile_off[q]
 * of the output, and tile_off[n_groups] is the output's length.
 */
typedef struct dg_tile_pairs {
    uint32_t n_groups;
    const uint64_t *doff, *goff, *tile_off;
    const uint32_t *dl, *gl;
} dg_tile_pairs;

/*
 * Masks (core.h: COCO run-length codes): object i's runs are
 * cnts[off[i] .. off[i+1]), its size h[i] x w[i], bb[4i .. 4i+4) its
 * dg__rle_bbox.
 */
typedef struct dg_mask_objs {
    const uint64_t *off;
    const uint32_t *cnts;
    const uint32_t *h, *w;
    const uint32_t *bb;
} dg_mask_objs;

/*
 * Mask IoU as pycocotools' rleIou: 0 where the boxes bb do not overlap;
 * -1 where they do but the sizes differ; else the pixels both have over
 * the pixels either has (over the detection's pixels when the ground
 * truth is a crowd region, crowd[g]), 0 when they share none. Integer
 * counts and one division, so every device gives the same bytes.
 */
typedef struct dg_mask_iou_input {
    dg_tile_pairs pairs;
    dg_mask_objs dt, gt;
    const uint8_t *crowd; /* per ground-truth object */
} dg_mask_iou_input;

/*
 * Object keypoint similarity as pycocotools' computeOks: object i's
 * keypoints are kp[kp_off[i] .. kp_off[i+1]), (x, y, v) triples; a
 * detection has k of them, one per sigma of the ground truth it is paired
 * with, and the ground truth k or none (the caller checks). Ground truth g
 * has box gbox[4g ..] (x, y, w, h), area garea[g] and sigmas sig[gsig[g]
 * ..]. With k1 > 0 of its keypoints visible (v > 0), e_i = (dx^2 + dy^2) /
 * (2 sigma_i)^2 / (area + eps) / 2 over the visible ones, d the offset
 * from the ground truth's keypoint; with none, over all k, d the distance
 * outside the box grown by its size on each side. OKS = sum(exp(-e_i)) /
 * count, the sum in numpy's pairwise order and exp dg__oks_exp (ref.h),
 * so every device gives the same bytes.
 */
#define DG_OKS_MAX_KP 240 /* keypoints an object may have (two summation
                             blocks of numpy's, at most 128 each) */
typedef struct dg_oks_input {
    dg_tile_pairs pairs;
    const uint64_t *dkp_off, *gkp_off;
    const double *dkp, *gkp;
    const double *gbox, *garea;
    const uint64_t *gsig;
    const double *sig;
} dg_oks_input;

/* ---- bootstrap -------------------------------------------------------------- */

/*
 * The resampling stage's input (host/query/bootstrap.c builds it): n_sets
 * sparse tables of per-(frame, class) counts over the same universe of n
 * frames, concatenated. off has n_sets * (n + 1) entries, absolute into
 * cls/cnt; cnt holds three uint32 per entry: tp, fp, n_gt.
 *
 * The stage resamples b0 .. b0 + nb - 1: sums[((b - b0) * n_sets + s) *
 * n_classes * 3 + c * 3 + k] = sum over the draws j < n of resample b of
 * set s's count k (tp, fp, n_gt) of class c in frame
 * dg__boot_draw(seed, b, j, n). Integer sums, so every device agrees.
 */
typedef struct dg_boot_input {
    uint32_t n;          /* universe frames (> 0) */
    uint32_t n_classes;  /* > 0 */
    uint32_t n_sets;     /* 1 or 2 */
    uint64_t seed;
    const uint64_t *off;
    const uint32_t *cls;
    const uint32_t *cnt;
} dg_boot_input;

/* splitmix64's finaliser. */
static inline uint64_t dg__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define DG_BOOT_GAMMA 0x9E3779B97F4A7C15ULL

/*
 * Draw j of resample b: a universe frame index in [0, n), counter-based
 * so that any device computes it alone (kernels/bootstrap.cl agrees).
 */
static inline uint32_t dg__boot_draw(uint64_t seed, uint64_t b, uint64_t j,
                                     uint32_t n)
{
    uint64_t key = dg__mix64(seed + (b + 1) * DG_BOOT_GAMMA);
    return (uint32_t)(dg__mix64(key + (j + 1) * DG_BOOT_GAMMA) % n);
}

/* ---- embeddings ------------------------------------------------------------- */

/* Neighbours a point keeps in the kNN layout. */
#define DG_EMBED_KNN_MAX 32

#endif
