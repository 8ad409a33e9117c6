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
                              double *inertia, uint32_t *k_used);

#endif
