/*
 * Choosing k for k-means (dg_embed_choose_k): every candidate k is fitted
 * on one evenly spaced sample through the engine (k-means++ on the host,
 * Lloyd's steps on the device or the reference, identical bytes), and the
 * criterion is computed here, on the host, from those fits in a fixed
 * order, so that both paths choose the same k.
 *
 * Why the BIC is the default: on frames that fall into many
 * well-separated groups the elbow stops at 2 or 3 (each extra cluster
 * removes only a small share of the inertia when there are many groups),
 * merging a failing group into a large one. The silhouette and the BIC
 * find the groups; the silhouette merges groups that lie close together,
 * the BIC cuts groups that are not round into parts, and the merge of
 * split failures (dg__patterns_merge) puts such parts back together where
 * they fail, so BIC then merge found the planted failure more often
 * (docs/EMBEDDINGS.md, tools/dev/patterns_eval.py).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_impl.h"


const char *dg_choose_k_name(dg_choose_k c)
{
    switch (c) {
    case DG_CHOOSE_K_BIC:
        return "bic";
    case DG_CHOOSE_K_SILHOUETTE:
        return "silhouette";
    case DG_CHOOSE_K_ELBOW:
        return "elbow";
    }
    return NULL;
}

int dg_choose_k_parse(const char *s)
{
    for (int c = 0; c <= DG_CHOOSE_K_ELBOW; c++)
        if (s && !strcmp(s, dg_choose_k_name((dg_choose_k)c)))
            return c;
    return -1;
}

/*
 * Euclidean distances between the m packed points, m x m, symmetric
 * (dg__embed_sqdist against a double copy of each row).
 */
static double *pair_dist(dg_ctx *ctx, const float *x, uint32_t m, uint32_t d)
{
    double *dm = dg__alloc(ctx, (size_t)m * m, sizeof(double));
    double *xi = dg__alloc(ctx, d, sizeof(double));
    if (!dm || !xi) {
        free(dm);
        free(xi);
        return NULL;
    }
    for (uint32_t i = 0; i < m; i++) {
        for (uint32_t t = 0; t < d; t++)
            xi[t] = x[(size_t)i * d + t];
        dm[(size_t)i * m + i] = 0;
        for (uint32_t j = i + 1; j < m; j++)
            dm[(size_t)i * m + j] = dm[(size_t)j * m + i] =
                sqrt(dg__embed_sqdist(x + (size_t)j * d, xi, d));
    }
    free(xi);
    return dm;
}

/*
 * Mean silhouette of the assignment asg (k clusters) of m points with
 * distances dm: s(i) = (b - a) / max(a, b), a the mean distance to the
 * other members of i's cluster, b the smallest mean distance to the
 * members of another non-empty cluster; s(i) = 0 for a point alone in its
 * cluster. sum (k entries) is scratch.
 */
static double silhouette(const double *dm, const uint32_t *asg, uint32_t m,
                         uint32_t k, const uint64_t *size, double *sum)
{
    double total = 0;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t own = asg[i];
        if (size[own] < 2)
            continue;
        memset(sum, 0, k * sizeof(double));
        const double *row = dm + (size_t)i * m;
        for (uint32_t j = 0; j < m; j++)
            sum[asg[j]] += row[j];
        double a = sum[own] / (double)(size[own] - 1), b = INFINITY;
        for (uint32_t c = 0; c < k; c++)
            if (c != own && size[c] > 0 && sum[c] / (double)size[c] < b)
                b = sum[c] / (double)size[c];
        double mx = a > b ? a : b;
        if (isfinite(b) && mx > 0)
            total += (b - a) / mx;
    }
    return total / (double)m;
}

/*
 * BIC of k spherical Gaussians with one shared variance s^2 per dimension,
 * fitted by k-means (inertia w, cluster sizes): the maximised
 * log-likelihood sum_j n_j log(n_j / m) - m d / 2 log(2 pi s^2) - w /
 * (2 s^2), s^2 = w / (d (m - k)), less p / 2 log m for p = (k - 1) + k d
 * + 1 parameters.
 */
static double bic(double w, uint32_t m, uint32_t d, uint32_t k,
                  const uint64_t *size)
{
    if (m <= k)
        return -INFINITY;
    if (w <= 0)
        return INFINITY;
    double s2 = w / ((double)d * (double)(m - k));
    double ll = 0;
    for (uint32_t c = 0; c < k; c++)
        if (size[c])
            ll += (double)size[c] * log((double)size[c] / (double)m);
    ll -= 0.5 * (double)m * (double)d * log(6.283185307179586 * s2);
    ll -= 0.5 * w / s2;
    double p = (double)(k - 1) + (double)k * d + 1;
    return ll - 0.5 * p * log((double)m);
}

/*
 * The silhouette's choice among score[2 .. k_max]: the largest k that is
 * a local maximum (no lower than its neighbours) and scores at least 90 %
 * of the highest. When the data group at two levels (scenes within kinds
 * of scenes) the silhouette of both levels is about the same, and the
 * finer one keeps a failing scene apart from its neighbours.
 */
static uint32_t finest_peak(const double *score, uint32_t k_max)
{
    double top = -INFINITY;
    for (uint32_t k = 2; k <= k_max; k++)
        if (score[k] > top)
            top = score[k];
    uint32_t pick = 2;
    for (uint32_t k = 2; k <= k_max; k++) {
        int peak = (k == 2 || score[k] >= score[k - 1]) &&
                   (k == k_max || score[k] >= score[k + 1]);
        if (peak && score[k] >= (top > 0 ? 0.9 * top : top))
            pick = k;
    }
    return pick;
}

dg_status dg__embed_choose_k_on(dg_ctx *ctx, dg_engine *eng,
                                const dg_embed_points *pts,
                                const dg_embed_kmeans_opts *o, dg_k_choice *out,
                                double *cent_out)
{
    dg_status st = dg__embed_check_points(ctx, pts);
    if (st < 0)
        return st;
    if ((unsigned)o->choose > DG_CHOOSE_K_ELBOW)
        return dg__fail(ctx, DG_EINVAL, "k-means: unknown criterion %d",
                        (int)o->choose);
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < DG_K_CHOICE_MAX + 2; i++)
        out->score[i] = NAN;
    out->method = o->choose;
    uint32_t d = pts->dim;
    uint32_t k_max = o->k_max ? o->k_max : 30;
    if (k_max > DG_K_CHOICE_MAX)
        k_max = DG_K_CHOICE_MAX;
    uint64_t stride = dg__embed_fit_stride(pts->n, DG__KMEANS_SAMPLE);
    uint32_t m = (uint32_t)((pts->n + stride - 1) / stride);
    out->sample = m;
    /* The elbow looks one candidate further; every criterion needs a
     * sample larger than its largest k. */
    if (k_max + 2 > m)
        k_max = m >= 4 ? m - 2 : 1;
    out->k_max = k_max;
    if (k_max < 2) {
        out->k = pts->n >= 2 ? 2 : 1;
        return DG_OK;
    }
    int elbow = o->choose == DG_CHOOSE_K_ELBOW;
    uint32_t k_top = elbow ? k_max + 1 : k_max;
    float *x = dg__alloc(ctx, m, (size_t)d * sizeof(float));
    double *cent = dg__alloc(ctx, (size_t)k_top * d, sizeof(double));
    uint32_t *asg = dg__alloc(ctx, m, sizeof(uint32_t));
    uint64_t *size = dg__alloc(ctx, k_top, sizeof(uint64_t));
    double *sum = dg__alloc(ctx, k_top, sizeof(double));
    double *dm = NULL, *all = NULL, *pre = NULL;
    if (!x || !cent || !asg || !size || !sum) {
        st = DG_ENOMEM;
        goto out;
    }
    dg__embed_pack(pts, 0, stride, m, x);
    if (o->choose == DG_CHOOSE_K_SILHOUETTE &&
        (!(dm = pair_dist(ctx, x, m, d)) ||
         !(all = dg__alloc(ctx, (size_t)(k_max - 1) * k_max,
                           (size_t)d * sizeof(double))))) {
        st = DG_ENOMEM;
        goto out;
    }
    /* Each start's seeding of k_top centres once; candidate k takes the
     * first k of them. */
    uint32_t starts = o->starts ? o->starts : DG__KMEANS_STARTS;
    if (!(pre = dg__alloc(ctx, (size_t)starts * k_top,
                          (size_t)d * sizeof(double)))) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < starts; i++)
        if ((st = dg__embed_seed_pp(ctx, x, m, d, k_top,
                                    dg__embed_start_seed(o->seed, i),
                                    pre + (size_t)i * k_top * d)) < 0)
            goto out;
    double best = -INFINITY, prev = 0;
    out->k = 2;
    for (uint32_t k = elbow ? 1 : 2; k <= k_top; k++) {
        double w;
        if ((st = dg__embed_fit_best(ctx, eng, x, m, d, k, o->seed, starts,
                                     pre, k_top, DG__KMEANS_SAMPLE_ITER, cent, &w,
                                     asg)) < 0)
            goto out;
        memset(size, 0, k * sizeof(uint64_t));
        for (uint32_t i = 0; i < m; i++)
            size[asg[i]]++;
        if (elbow) {
            /* The smallest k after which one more cluster lowers the
             * inertia by less than 15 %; k itself when it reaches 0. */
            if (k >= 2)
                out->score[k] = prev > 0 ? w / prev : 0;
            if (k >= 3 && w > 0.85 * prev) {
                out->k = k - 1; /* its centres were kept last time */
                break;
            }
            if (k <= k_max && cent_out)
                memcpy(cent_out, cent, (size_t)k * d * sizeof(double));
            out->k = k < k_max ? k : k_max;
            if (w == 0 && k >= 2)
                break;
            prev = w;
            continue;
        }
        double s = o->choose == DG_CHOOSE_K_SILHOUETTE
                       ? silhouette(dm, asg, m, k, size, sum)
                       : bic(w, m, d, k, size);
        out->score[k] = s;
        if (o->choose == DG_CHOOSE_K_SILHOUETTE) {
            /* Every candidate's centres, for the choice after the loop. */
            memcpy(all + (size_t)(k - 2) * k_max * d, cent,
                   (size_t)k * d * sizeof(double));
        } else if (s > best) {
            best = s;
            out->k = k;
            if (cent_out)
                memcpy(cent_out, cent, (size_t)k * d * sizeof(double));
        }
    }
    if (o->choose == DG_CHOOSE_K_SILHOUETTE) {
        out->k = finest_peak(out->score, k_max);
        if (cent_out)
            memcpy(cent_out, all + (size_t)(out->k - 2) * k_max * d,
                   (size_t)out->k * d * sizeof(double));
    }
out:
    free(pre);
    free(all);
    free(dm);
    free(sum);
    free(size);
    free(asg);
    free(cent);
    free(x);
    return st;
}

dg_status dg_embed_choose_k(dg_ctx *ctx, const dg_embed_points *pts,
                            const dg_embed_kmeans_opts *o, dg_k_choice *out)
{
    dg_embed_kmeans_opts def;
    if (!o) {
        dg_embed_kmeans_opts_init(&def);
        o = &def;
    }
    dg_status st = dg__embed_check_points(ctx, pts);
    if (st < 0)
        return st;
    dg_engine *eng;
    if ((st = dg__engine_open(ctx, &eng)) < 0)
        return st;
    st = dg__embed_choose_k_on(ctx, eng, pts, o, out, NULL);
    dg__engine_close(eng);
    return st;
}
