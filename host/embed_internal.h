/*
 * Internals of the embeddings' projection and clustering: the data-parallel
 * steps, each with a plain-C reference (host/ref/embed_ref.c) and an OpenCL
 * twin (host/cl/embed.c, kernels/embed.cl) that computes the same bytes.
 * Points travel packed: m rows of d float32, row-major.
 */
#ifndef DG_EMBED_INTERNAL_H
#define DG_EMBED_INTERNAL_H

#include "dg_internal.h"

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

/* The layout (host/embed_layout.c). Neighbours per point at most: */
#define DG_EMBED_KNN_MAX 32
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
typedef struct dg_embed_cl dg_embed_cl;
/* Starts a session on ctx's device; DG_ENODEV/DG_ECL on failure. */
dg_status dg__embed_cl_open(dg_ctx *ctx, dg_embed_cl **out);
void dg__embed_cl_close(dg_embed_cl *e);
dg_status dg__embed_cl_cov(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                           uint32_t m, uint32_t d, const double *mean,
                           double *cov);
dg_status dg__embed_cl_project(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                               uint32_t m, uint32_t d, const double *mean,
                               const double *comp, double *xy);
dg_status dg__embed_cl_assign(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, const double *cent_t,
                              uint32_t k, uint32_t *assign, double *dist);
dg_status dg__embed_cl_update(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                              uint32_t m, uint32_t d, uint32_t k,
                              const uint32_t *off, const uint32_t *idx,
                              double *cent);

dg_status dg__embed_cl_rproj(dg_ctx *ctx, dg_embed_cl *e, const float *x,
                             uint32_t m, uint32_t d, const double *rmat,
                             uint32_t q, double *out);
dg_status dg__embed_cl_knn(dg_ctx *ctx, dg_embed_cl *e, const double *z,
                           uint32_t n, uint32_t q, uint32_t k, uint32_t *nbr);
/* iters steps of the layout on the device: y (n x 2) in and out. */
dg_status dg__embed_cl_layout(dg_ctx *ctx, dg_embed_cl *e, double *y,
                              uint32_t n, const uint32_t *nbr, uint32_t k,
                              uint32_t n_neg, uint64_t seed, uint32_t iters,
                              const double *lr);

/*
 * Which path the analysis functions take: 0 reference, 1 device, -1 as
 * ctx's device choice (GPU or CPU: the device; auto: a GPU if present).
 * Tests set it to compare the two.
 */
void dg__embed_force_path(int path);
/* The path the last dg_embed_pca / dg_embed_kmeans used: "reference" or
 * the device's description. */
const char *dg__embed_last_path(void);

#endif
