/*
 * ref: the plain-C twins of the device stages, written to be obviously
 * right (one kernel file, one twin: kernels/x.cl <-> host/cl/x.c <->
 * host/ref/x_ref.c). Used when no device is chosen or the device fails,
 * and as the oracle the device must equal byte for byte. Depends on core.
 */
#ifndef DG_REF_H
#define DG_REF_H

#include "core.h"

/* ---- matching (match_ref.c, confusion_ref.c) ------------------------------- */

/* Class-wise greedy matching of one chunk, pycocotools' rules. */
dg_status dg__match_ref(dg_ctx *ctx, const dg_match_input *in,
                        dg_match_output *out);

/*
 * The class-agnostic reference. Per frame, detections of every class go in
 * descending score (equal scores in input order); at threshold t each takes,
 * among the frame's regular ground truths (neither crowd nor ignored) of any
 * class not yet taken, the one with the highest IoU >= min(t, 1 - 1e-10);
 * on equal IoU one of the detection's class wins, then the lower index. A
 * NaN IoU never matches. A detection that takes nothing is DG_AGN_IGNORED
 * when some crowd or ignored ground truth of the frame (any class) has IoU
 * >= that threshold with it (crowd: intersection over detection area),
 * else DG_AGN_BACKGROUND. Writes agn[t * in->dt->n + d] for the chunk's
 * detections d; other cells are left alone.
 */
dg_status dg__match_agnostic_ref(dg_ctx *ctx, const dg_match_input *in,
                                 int32_t *agn);

/*
 * The two above are the oracles: one group or frame at a time, every
 * ground truth scanned, IoUs from the boxes, outcomes at cell d, label
 * indices into gt. The engine's reference path is this one (frames_ref.c):
 * both matchings of the chunk at once, sharing each frame's IoU tile, on
 * ctx's threads, with the whole contract of dg_match_output (stages.h):
 * an IoU tile from an earlier stage, sorted positions, label_base, and
 * every cell of the chunk's detections written. Its bytes are the
 * oracles' (tests/test-frames.c).
 *
 * It scans, per detection, only its candidates: the ground truths whose
 * IoU is >= the lowest threshold. The others change no match: the
 * class-wise rules only ever pass over an IoU below the best so far,
 * which starts at the threshold, and the one other thing such a ground
 * truth could do, end the scan when it is the first ignored one after a
 * regular one is held, the next ignored candidate does as well (every
 * ground truth after the first ignored one is ignored too). That holds
 * while the best is a number; a NaN IoU makes every later IoU compare as
 * not below it, so a detection with a NaN IoU in its group keeps every
 * ground truth of its group. The agnostic rules never take an IoU below
 * the threshold, NaN included.
 *
 * Matching order is ascending (dg__match_key(score), index): descending
 * score and input order on ties, as the oracles' comparator, and a total
 * order when a score is NaN (NaN first).
 */
dg_status dg__match_frames_ref(dg_ctx *ctx, const dg_match_input *in,
                               const dg_match_output *out);

/* ---- shapes: mask IoU and OKS tiles (shape_ref.c) -------------------------------- */

/* One pair of dg_mask_iou_input (stages.h): detection d, ground truth g. */
double dg__mask_iou_pair_ref(const dg_mask_iou_input *in, uint32_t d,
                             uint32_t g);
/* Every tile of in into out (in->pairs.tile_off[n_groups] values). */
dg_status dg__mask_iou_ref(dg_ctx *ctx, const dg_mask_iou_input *in,
                           double *out);
/*
 * exp(x) to within a few parts in 2^80 before its one rounding (so
 * correctly rounded but for about one x in 2^27; subnormal results, x <
 * -708.4, round twice), in IEEE double operations alone: kernels/shapes.cl
 * does the same ones.
 */
double dg__oks_exp(double x);
/* One pair of dg_oks_input (stages.h). */
double dg__oks_pair_ref(const dg_oks_input *in, uint32_t d, uint32_t g);
/* Every tile of in into out. */
dg_status dg__oks_ref(dg_ctx *ctx, const dg_oks_input *in, double *out);

/* ---- bootstrap (bootstrap_ref.c) ------------------------------------------------ */

/* The sums of resamples b0 .. b0 + nb - 1 (stages.h: dg_boot_input). */
dg_status dg__bootstrap_sums_ref(dg_ctx *ctx, const dg_boot_input *in,
                                 uint32_t b0, uint32_t nb, uint64_t *sums);

/* ---- embeddings (embed_ref.c) ---------------------------------------------------- */

/* cov[i * d + j] for i <= j (the rest is left alone): the sum over rows r
 * ascending of (x[r][i] - mean[i]) * (x[r][j] - mean[j]). */
void dg__embed_cov_ref(const float *x, uint32_t m, uint32_t d,
                       const double *mean, double *cov);
/* xy[2r + c]: the sum over t ascending of (x[r][t] - mean[t]) * comp[c][t]. */
void dg__embed_project_ref(const float *x, uint32_t m, uint32_t d,
                           const double *mean, const double *comp,
                           double *xy);
/* Nearest of the k centroids (cent_t transposed: cent_t[t * k + c]) by
 * squared distance summed over t ascending, the lowest index on ties. */
void dg__embed_assign_ref(const float *x, uint32_t m, uint32_t d,
                          const double *cent_t, uint32_t k, uint32_t *assign,
                          double *dist);
/* cent[c * d + t] = mean of x[idx[q]][t] over q in off[c] .. off[c+1]
 * (summed in q order); empty clusters keep their entries. */
void dg__embed_update_ref(const float *x, uint32_t d, uint32_t k,
                          const uint32_t *off, const uint32_t *idx,
                          double *cent);

/* The layout (host/query/embed_layout.c); at most DG_EMBED_KNN_MAX
 * neighbours a point (stages.h). */
/* out[r * q + c]: the sum over t ascending of x[r][t] * rmat[c][t]. */
void dg__embed_rproj_ref(const float *x, uint32_t m, uint32_t d,
                         const double *rmat, uint32_t q, double *out);
/* nbr[i * k + a]: the a-th nearest other point of i in z (n x q), by
 * squared distance summed over c ascending, ties to the lower index; i
 * itself pads when there are fewer than k others. */
void dg__embed_knn_ref(const double *z, uint32_t n, uint32_t q, uint32_t k,
                       uint32_t *nbr);
/* The s-th repulsion partner of point i at iteration it. */
uint32_t dg__embed_layout_pick(uint64_t seed, uint32_t it, uint32_t i,
                               uint32_t s, uint32_t n);
/* One step of every point from the old positions y (n x 2) to ynew. */
void dg__embed_layout_ref(const double *y, uint32_t n, const uint32_t *nbr,
                          uint32_t k, uint32_t n_neg, uint64_t seed,
                          uint32_t it, double lr, double *ynew);

/* A device session: program and buffers for one analysis. */

#endif
