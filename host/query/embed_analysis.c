/*
 * The analysis behind `detgrid embeddings` (dg_embeddings_evaluate in
 * include/detgrid/embeddings.h): the points to project, frames or crops,
 * their projection, and the clusters ranked by how much worse the model
 * does there; every stage on one engine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_impl.h"
#include "query.h"

void dg_embeddings_opts_init(dg_embeddings_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->conf = DG_DEFAULT_CONF;
    o->only = -1;
    o->k = -1;
    o->seed = 1;
}

void dg_embeddings_result_release(dg_embeddings_result *res)
{
    if (!res)
        return;
    free(res->frame_counts);
    free(res->crop);
    free(res->point);
    free(res->xy);
    free(res->assign);
    free(res->dist);
    free(res->clusters);
    memset(res, 0, sizeof(*res));
}

static dg_status oom(dg_ctx *ctx)
{
    return dg__fail(ctx, DG_ENOMEM, "out of memory");
}

/* Every frame's counts and every crop at (conf, IoU). */
static dg_status load_outcomes(dg_ctx *ctx, dg_project *p, dg_results *r,
                               const dg_embeddings_opts *o,
                               dg_embeddings_result *out)
{
    dg_status st;
    uint32_t F = out->n_frames;
    out->frame_counts = calloc(F ? F : 1, sizeof(*out->frame_counts));
    if (!out->frame_counts)
        return oom(ctx);
    if ((st = dg_results_frame_counts(ctx, r, p, o->conf, o->iou_idx, -1,
                                      out->frame_counts)) < 0 ||
        (st = dg_results_crops(ctx, r, p, o->conf, o->iou_idx, &out->crop,
                               &out->n_crop)) < 0)
        return st;
    return DG_OK;
}

/*
 * The frames to project: those of r's restriction (frames with any crop
 * or, for empty frames, the restriction's frames) that hold a crop of
 * opts.only when it is set.
 */
static dg_status select_frames(dg_ctx *ctx, dg_project *p, dg_results *r,
                               const dg_embeddings_opts *o,
                               dg_embeddings_result *out, const float ***rows)
{
    uint32_t F = out->n_frames;
    const float *fe;
    uint64_t nr;
    dg_results_info info;
    dg__results_info(r, &info);
    const uint8_t *keep = info.frame_mask;
    dg_status st = dg_project_get_embeddings(ctx, p, o->model, DG_EMBED_FRAMES,
                                             NULL, &fe, &nr, &out->dim);
    if (st < 0)
        return st;
    uint8_t *has = NULL;
    if (o->only >= 0) {
        has = calloc(F ? F : 1, 1);
        if (!has)
            return oom(ctx);
        for (uint64_t i = 0; i < out->n_crop; i++)
            if (out->crop[i].outcome == (uint8_t)o->only)
                has[out->crop[i].frame] = 1;
    }
    *rows = malloc((F ? F : 1) * sizeof(**rows));
    out->point = malloc((F ? F : 1) * sizeof(*out->point));
    if (!*rows || !out->point) {
        free(has);
        return oom(ctx);
    }
    for (uint32_t f = 0; f < F; f++) {
        if ((keep && !keep[f]) || (has && !has[f]))
            continue;
        (*rows)[out->n] = fe + (size_t)f * out->dim;
        out->point[out->n++] = f;
    }
    free(has);
    return DG_OK;
}

/* The crops to project: labels and detections, of opts.only when set. */
static dg_status select_crops(dg_ctx *ctx, dg_project *p, dg_results *r,
                              const dg_embeddings_opts *o,
                              dg_embeddings_result *out, const float ***rows)
{
    const float *le, *de;
    uint64_t nr;
    dg_results_info info;
    dg__results_info(r, &info);
    const char *set = dg_project_inference_name(p, (uint32_t)info.inf_index);
    dg_status st;
    if ((st = dg_project_get_embeddings(ctx, p, o->model, DG_EMBED_LABELS,
                                        NULL, &le, &nr, &out->dim)) < 0 ||
        (st = dg_project_get_embeddings(ctx, p, o->model,
                                        DG_EMBED_INFERENCES, set, &de, &nr,
                                        &out->dim)) < 0)
        return st;
    uint64_t nc = out->n_crop;
    *rows = malloc((nc ? nc : 1) * sizeof(**rows));
    out->point = malloc((nc ? nc : 1) * sizeof(*out->point));
    if (!*rows || !out->point)
        return oom(ctx);
    for (uint64_t i = 0; i < nc; i++) {
        const dg_crop *c = &out->crop[i];
        if (o->only >= 0 && c->outcome != (uint8_t)o->only)
            continue;
        if (c->outcome > DG_CROP_MISCLASSIFIED)
            continue;
        (*rows)[out->n] = (c->kind ? de : le) + (size_t)c->index * out->dim;
        out->point[out->n++] = i;
    }
    return DG_OK;
}

/*
 * Merges the clusters that are one failure split by k-means
 * (dg__patterns_merge): relabels the points, and gives the points of a
 * merged cluster their squared distance to its new centroid.
 */
static dg_status merge(dg_ctx *ctx, const dg_embed_points *pts,
                       const uint32_t *frame_cl, const uint32_t *crop_cl,
                       double *cent, dg_embeddings_result *out)
{
    uint32_t k = out->k, F = out->n_frames, dim = out->dim, k2;
    uint32_t *map = malloc((k ? k : 1) * sizeof(uint32_t));
    uint32_t *cnt = calloc(k ? k : 1, sizeof(uint32_t));
    if (!map || !cnt) {
        free(map);
        free(cnt);
        return oom(ctx);
    }
    dg_status st = dg__patterns_merge(ctx, out->crop, out->n_crop, crop_cl,
                                      frame_cl, F, k, cent, dim, map, &k2);
    if (st >= 0 && k2 < k) {
        for (uint32_t c = 0; c < k; c++)
            cnt[map[c]]++;
        for (uint64_t i = 0; i < out->n; i++) {
            uint32_t c = map[out->assign[i]];
            out->assign[i] = c;
            if (cnt[c] > 1)
                out->dist[i] = dg__embed_sqdist(pts->row[i],
                                                cent + (size_t)c * dim, dim);
        }
        out->k = k2;
    }
    free(cnt);
    free(map);
    return st;
}

/* k-means on the points, split failures merged, the clusters ranked. */
static dg_status cluster(dg_ctx *ctx, dg_engine *eng, dg_project *p,
                         dg_results *r, const dg_embeddings_opts *o,
                         const dg_embed_points *pts, dg_embeddings_result *out)
{
    uint32_t F = out->n_frames, n_classes = dg__project_n_classes(p);
    uint64_t n = out->n, nc = out->n_crop;
    dg_embed_kmeans_opts ko;
    dg_embed_kmeans_opts_init(&ko);
    ko.k = (uint32_t)(o->k > 0 ? o->k : 0);
    ko.seed = o->seed;
    ko.choose = o->choose;
    ko.k_max = o->k_max;
    if (o->crops && o->k < 0)
        ko.k = n_classes + 2 < 24 ? n_classes + 2 : 24;
    if (ko.k > n)
        ko.k = (uint32_t)n;
    uint32_t room = ko.k ? ko.k : DG_K_CHOICE_MAX;
    out->assign = malloc(n * sizeof(uint32_t));
    out->dist = malloc(n * sizeof(double));
    double *cent = malloc((size_t)room * out->dim * sizeof(double));
    /* Every frame's or every crop's cluster (UINT32_MAX: not a point). */
    uint32_t *fa = malloc((F ? F : 1) * sizeof(uint32_t));
    double *fd = malloc((F ? F : 1) * sizeof(double));
    uint32_t *ca = malloc((nc ? nc : 1) * sizeof(uint32_t));
    double *cd = malloc((nc ? nc : 1) * sizeof(double));
    dg_status st = DG_OK;
    if (!out->assign || !out->dist || !cent || !fa || !fd || !ca || !cd) {
        st = oom(ctx);
        goto out;
    }
    double t0 = dg__now();
    out->k_chosen = ko.k == 0;
    if ((st = dg__embed_kmeans_on(ctx, eng, pts, &ko, out->assign,
                                  out->dist, cent, NULL, &out->k,
                                  &out->k_choice)) < 0)
        goto out;
    out->k_fit = out->k;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t f = 0; f < F; f++)
            fa[f] = UINT32_MAX, fd[f] = INFINITY;
        for (uint64_t i = 0; i < nc; i++)
            ca[i] = UINT32_MAX, cd[i] = INFINITY;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t q = out->point[i];
            if (o->crops)
                ca[q] = out->assign[i], cd[q] = out->dist[i];
            else
                fa[q] = out->assign[i], fd[q] = out->dist[i];
        }
        if (!o->crops)
            for (uint64_t i = 0; i < nc; i++)
                ca[i] = fa[out->crop[i].frame];
        if (pass == 0 &&
            (st = merge(ctx, pts, o->crops ? NULL : fa, ca, cent, out)) < 0)
            goto out;
    }
    out->seconds_clustering = dg__now() - t0;
    if (!o->crops)
        st = dg_patterns_frames(ctx, r, p, o->conf, o->iou_idx, fa, fd,
                                out->k, &out->clusters);
    else
        st = dg_patterns_crops(ctx, r, p, o->conf, o->iou_idx, out->crop, nc,
                               ca, cd, out->k, &out->clusters);
out:
    free(cd);
    free(ca);
    free(fd);
    free(fa);
    free(cent);
    return st;
}

dg_status dg_embeddings_evaluate(dg_ctx *ctx, dg_results *r, dg_project *p,
                                 const dg_embeddings_opts *opts,
                                 dg_embeddings_result *out)
{
    dg_status st;
    dg_engine *eng = NULL;
    const float **rows = NULL;
    dg_embeddings_opts def;

    if (!out)
        return dg__fail(ctx, DG_EINVAL, "embeddings: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!p || !r)
        return dg__fail(ctx, DG_EINVAL, "embeddings: no project or results");
    if (!opts) {
        dg_embeddings_opts_init(&def);
        opts = &def;
    }
    if (!opts->model)
        return dg__fail(ctx, DG_EINVAL, "embeddings: no model");
    out->n_frames = dg__project_n_frames(p);
    out->crops = opts->crops != 0;
    /* Progress: the points, the projection (and layout), the clusters. */
    uint64_t steps = 2 + (opts->layout != 0) + (opts->cluster != 0), step = 0;
    dg__progress(ctx, "embeddings", step, steps);
    if ((st = load_outcomes(ctx, p, r, opts, out)) < 0 ||
        (st = opts->crops ? select_crops(ctx, p, r, opts, out, &rows)
                          : select_frames(ctx, p, r, opts, out, &rows)) < 0 ||
        out->n == 0)
        goto done;
    out->xy = malloc(out->n * 2 * sizeof(double));
    if (!out->xy) {
        st = oom(ctx);
        goto done;
    }
    dg_embed_points pts = {out->n, out->dim, rows};
    dg_embed_layout_opts lo;
    dg_embed_layout_opts_init(&lo);
    lo.seed = opts->seed;
    double t0 = dg__now();
    dg__progress(ctx, "embeddings", ++step, steps);
    if ((st = dg__engine_open(ctx, &eng)) < 0 ||
        (st = dg__embed_pca_on(ctx, eng, &pts, 0, out->xy, out->var,
                               NULL)) < 0)
        goto done;
    dg__progress(ctx, "embeddings", ++step, steps);
    if (opts->layout) {
        if ((st = dg__embed_layout_on(ctx, eng, &pts, &lo, out->xy)) < 0)
            goto done;
        dg__progress(ctx, "embeddings", ++step, steps);
    }
    out->seconds_projection = dg__now() - t0;
    if (opts->cluster) {
        if ((st = cluster(ctx, eng, p, r, opts, &pts, out)) < 0)
            goto done;
        dg__progress(ctx, "embeddings", ++step, steps);
    }
    snprintf(out->device, sizeof(out->device), "%s",
             dg__engine_on_device(eng) ? dg__engine_desc(eng) : "reference");
done:
    if (eng)
        dg__engine_close(eng);
    free(rows);
    return st;
}

dg_status dg_embeddings_cluster_frames(dg_ctx *ctx,
                                       const dg_embeddings_result *res,
                                       uint32_t c, uint32_t **frames,
                                       uint32_t *n)
{
    uint32_t F = res->n_frames;
    *frames = NULL;
    *n = 0;
    if (!res->assign || c >= res->k)
        return dg__fail(ctx, DG_EINVAL, "embeddings: no cluster %u", c);
    uint32_t *sf = malloc((F ? F : 1) * sizeof(uint32_t));
    uint8_t *in = calloc(F ? F : 1, 1);
    if (!sf || !in) {
        free(sf);
        free(in);
        return oom(ctx);
    }
    for (uint64_t i = 0; i < res->n; i++)
        if (res->assign[i] == c)
            in[res->crops ? res->crop[res->point[i]].frame
                          : (uint32_t)res->point[i]] = 1;
    for (uint32_t f = 0; f < F; f++)
        if (in[f])
            sf[(*n)++] = f;
    free(in);
    *frames = sf;
    return DG_OK;
}
