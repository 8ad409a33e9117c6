/*
 * The embeddings' analyses on an engine the caller opened, so that one
 * analysis (dg_embeddings_evaluate) runs all its stages on one engine.
 * Same contracts as the public dg_embed_pca, dg_embed_layout and
 * dg_embed_kmeans, which open an engine each and call these. For
 * host/query/embed_*.c only.
 */
#ifndef DG_EMBED_IMPL_H
#define DG_EMBED_IMPL_H

#include "detgrid/embeddings.h"
#include "engine.h"

dg_status dg__embed_pca_on(dg_ctx *ctx, dg_engine *eng,
                           const dg_embed_points *pts, uint64_t max_fit,
                           double *xy, double *var, double *comp);
dg_status dg__embed_layout_on(dg_ctx *ctx, dg_engine *eng,
                              const dg_embed_points *pts,
                              const dg_embed_layout_opts *o, double *xy);
dg_status dg__embed_kmeans_on(dg_ctx *ctx, dg_engine *eng,
                              const dg_embed_points *pts,
                              const dg_embed_kmeans_opts *o, uint32_t *assign,
                              double *dist, double *centroids,
                              double *inertia, uint32_t *k_used,
                              dg_k_choice *choice);
/*
 * dg_embed_choose_k on eng (embed_choose.c); cent_out (or NULL; room for
 * k_max x dim) gets the chosen clustering's centres on the sample.
 */
dg_status dg__embed_choose_k_on(dg_ctx *ctx, dg_engine *eng,
                                const dg_embed_points *pts,
                                const dg_embed_kmeans_opts *o, dg_k_choice *out,
                                double *cent_out);

/* ---- shared by embed_pca.c and embed_choose.c ---- */

/* k-means++ starts when dg_embed_kmeans_opts.starts is 0. */
#define DG__KMEANS_STARTS 4
/* The starts (and the candidates of a choice of k) compete on a sample
 * of at most this many evenly spaced points, with at most this many
 * Lloyd iterations each. */
#define DG__KMEANS_SAMPLE 1000
#define DG__KMEANS_SAMPLE_ITER 20

/*
 * Squared Euclidean distance of float row x and double row c, summed in
 * eight lanes (dimension t into lane t mod 8, each lane ascending, the
 * lanes added pairwise) and the remainder after them: a fixed order, so
 * the same everywhere, that the compiler can vectorise. Host-side code
 * only (seeding, the silhouette); the engine's stages have their own.
 */
static inline double dg__embed_sqdist(const float *x, const double *c,
                                      uint32_t d)
{
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    uint32_t t = 0;
    for (; t + 8 <= d; t += 8)
        for (int j = 0; j < 8; j++) {
            double e = (double)x[t + j] - c[t + j];
            l[j] += e * e;
        }
    double s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; t < d; t++) {
        double e = (double)x[t] - c[t];
        s += e * e;
    }
    return s;
}

/* DG_EINVAL / DG_ERANGE for points dg_embed_* cannot take. */
dg_status dg__embed_check_points(dg_ctx *ctx, const dg_embed_points *pts);
/* ceil(n / max_fit): fit on every stride-th point. */
uint64_t dg__embed_fit_stride(uint64_t n, uint64_t max_fit);
/* Copies points first, first + stride, ... (count of them) into dst. */
void dg__embed_pack(const dg_embed_points *pts, uint64_t first,
                    uint64_t stride, uint64_t count, float *dst);
/* Seeded k-means++ centres (k x d) from the m packed points x. */
dg_status dg__embed_seed_pp(dg_ctx *ctx, const float *x, uint32_t m,
                            uint32_t d, uint32_t k, uint64_t seed,
                            double *cent);
/*
 * Lloyd iterations on the m packed points, from the centres in cent (k x
 * d, updated); the sample's inertia and assignment (either may be NULL).
 */
dg_status dg__embed_lloyd(dg_ctx *ctx, dg_engine *e, const float *x,
                          uint32_t m, uint32_t d, uint32_t k,
                          uint32_t max_iter, double *cent, double *inertia,
                          uint32_t *asg_out);
/* The seed of k-means++ start i: seed itself for i = 0. */
uint64_t dg__embed_start_seed(uint64_t seed, uint32_t i);
/*
 * The best of `starts` k-means++ starts (start i seeded with
 * dg__embed_start_seed(seed, i)), each followed by Lloyd iterations: the
 * one of least sample inertia (the earliest on a tie) leaves its centres
 * in cent, its inertia and its assignment (either may be NULL). With pre,
 * start i takes the first k of the pre_k centres at pre + i * pre_k * d
 * instead of seeding anew: k-means++ picks one centre after another, so
 * the first k of a seeding are a seeding of k (with as many candidates
 * per pick as pre_k asks for), and choosing k seeds once for all k.
 */
dg_status dg__embed_fit_best(dg_ctx *ctx, dg_engine *e, const float *x,
                             uint32_t m, uint32_t d, uint32_t k,
                             uint64_t seed, uint32_t starts,
                             const double *pre, uint32_t pre_k,
                             uint32_t max_iter, double *cent,
                             double *inertia, uint32_t *asg);

#endif
