/*
 * Percentile bootstrap of precision, recall and F1 over frames.
 *
 * The per-(frame, class) counts (frames.c) go to the resampling stage
 * through the engine (the device's bootstrap_sums or its reference twin:
 * engine.h chooses), which returns integer sums per resample, set and
 * class. Everything after that happens here, on the host, whichever path
 * ran: the sums become precision, recall and F1 per class and
 * micro-averaged, differences for paired runs, and the percentiles of
 * each. Device and reference therefore give identical intervals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

double dg__quantile_sorted(const double *v, uint64_t m, double q)
{
    /* numpy's "linear" method, including its two-sided lerp. */
    double virt = (double)(m - 1) * q;
    if (!(virt < (double)(m - 1)))
        return v[m - 1];
    if (virt <= 0)
        return v[0];
    double lo = floor(virt);
    double g = virt - lo;
    uint64_t i = (uint64_t)lo;
    double a = v[i], b = v[i + 1], d = b - a;
    return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static dg_prf prf_of(uint64_t tp, uint64_t fp, uint64_t gt)
{
    dg_counts c = {tp, fp, gt >= tp ? gt - tp : 0, gt, tp + fp};
    return dg_counts_prf(&c);
}

static double prf_get(const dg_prf *m, int k)
{
    return k == 0 ? m->precision : k == 1 ? m->recall : m->f1;
}

static void prf_set(dg_prf *m, int k, double v)
{
    if (k == 0)
        m->precision = v;
    else if (k == 1)
        m->recall = v;
    else
        m->f1 = v;
}

/*
 * The shared driver: S tables over the same universe. Groups of output:
 * g = s for each set, and g = 2 for B - A when S == 2. out[g * (C + 1) + c]
 * for class c, c = C for micro.
 */
static dg_status run(dg_ctx *ctx, dg_fcc *t, uint32_t S,
                     const dg_bootstrap_opts *o, dg_prf_ci *out)
{
    dg_status st = DG_OK;
    uint32_t n = t[0].n, C = t[0].n_classes;
    uint32_t G = S == 2 ? 3 : 1, B = o && o->resamples ? o->resamples : 1000;
    double level = o && o->level > 0 ? o->level : 0.95;
    uint64_t seed = o ? o->seed : 0;
    uint64_t *off = NULL, *sums = NULL, *point = NULL;
    dg_engine *eng = NULL;
    uint32_t *cls = NULL, *cnt = NULL;
    double *vals = NULL;
    uint64_t *nval = NULL;
    size_t K = (size_t)C + 1; /* classes and micro */

    if (!(level > 0 && level < 1))
        return dg__fail(ctx, DG_EINVAL, "confidence level %g is not in (0, 1)",
                        level);
    /* Points: the sums over every universe frame once. */
    point = dg__calloc(ctx, (size_t)S * K * 3, sizeof(uint64_t));
    if (!point)
        return DG_ENOMEM;
    for (uint32_t s = 0; s < S; s++)
        for (uint64_t q = 0; q < t[s].off[n]; q++)
            for (int k = 0; k < 3; k++) {
                point[((size_t)s * K + t[s].cls[q]) * 3 + k] += t[s].cnt[3 * q + k];
                point[((size_t)s * K + C) * 3 + k] += t[s].cnt[3 * q + k];
            }
    for (uint32_t g = 0; g < G; g++)
        for (size_t c = 0; c < K; c++) {
            dg_prf_ci *r = &out[g * K + c];
            if (g < S) {
                const uint64_t *pc = point + ((size_t)g * K + c) * 3;
                r->point = prf_of(pc[0], pc[1], pc[2]);
            } else {
                for (int k = 0; k < 3; k++)
                    prf_set(&r->point, k,
                            prf_get(&out[K + c].point, k) -
                                prf_get(&out[c].point, k));
            }
            r->lo = r->hi = (dg_prf){NAN, NAN, NAN};
        }
    if (n == 0)
        goto out;

    /* Concatenate the tables: offsets absolute into cls / cnt. */
    uint64_t tot = 0;
    for (uint32_t s = 0; s < S; s++)
        tot += t[s].off[n];
    off = dg__alloc(ctx, (size_t)S * (n + 1), sizeof(uint64_t));
    cls = dg__alloc(ctx, tot ? tot : 1, sizeof(uint32_t));
    cnt = dg__alloc(ctx, tot ? 3 * tot : 1, sizeof(uint32_t));
    if (!off || !cls || !cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    uint64_t base = 0;
    for (uint32_t s = 0; s < S; s++) {
        for (uint32_t u = 0; u <= n; u++)
            off[(size_t)s * (n + 1) + u] = base + t[s].off[u];
        memcpy(cls + base, t[s].cls, t[s].off[n] * sizeof(uint32_t));
        memcpy(cnt + 3 * base, t[s].cnt, 3 * t[s].off[n] * sizeof(uint32_t));
        base += t[s].off[n];
    }
    dg_boot_input in = {n, C, S, seed, off, cls, cnt};

    /* Resamples per engine call: sums of at most 32 MiB. */
    size_t row = (size_t)S * C * 3;
    /* row is 0 for a project without classes: one pass does it all. */
    uint64_t per = row ? ((uint64_t)32 << 20) / (row * sizeof(uint64_t)) : B;
    if (per < 1)
        per = 1;
    if (per > B)
        per = B;
    sums = dg__alloc(ctx, per * row, sizeof(uint64_t));
    vals = dg__alloc(ctx, (size_t)G * K * 3 * B, sizeof(double));
    nval = dg__calloc(ctx, (size_t)G * K * 3, sizeof(uint64_t));
    if (!sums || !vals || !nval) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__engine_open(ctx, &eng)) < 0)
        goto out;
    dg_prf *m = dg__alloc(ctx, (size_t)S * K, sizeof(dg_prf));
    if (!m) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t b0 = 0; b0 < B; b0 += per) {
        uint32_t nb = (uint32_t)(B - b0 < per ? B - b0 : per);
        if ((st = dg__engine_bootstrap_sums(eng, ctx, &in, (uint32_t)b0, nb,
                                            sums)) < 0) {
            free(m);
            goto out;
        }
        for (uint32_t bi = 0; bi < nb; bi++) {
            for (uint32_t s = 0; s < S; s++) {
                const uint64_t *sr = sums + (size_t)bi * row + (size_t)s * C * 3;
                uint64_t mt = 0, mf = 0, mg = 0;
                for (uint32_t c = 0; c < C; c++) {
                    m[(size_t)s * K + c] = prf_of(sr[3 * c], sr[3 * c + 1],
                                                  sr[3 * c + 2]);
                    mt += sr[3 * c];
                    mf += sr[3 * c + 1];
                    mg += sr[3 * c + 2];
                }
                m[(size_t)s * K + C] = prf_of(mt, mf, mg);
            }
            for (uint32_t g = 0; g < G; g++)
                for (size_t c = 0; c < K; c++)
                    for (int k = 0; k < 3; k++) {
                        double v = g < S ? prf_get(&m[g * K + c], k)
                                         : prf_get(&m[K + c], k) -
                                               prf_get(&m[c], k);
                        if (isnan(v))
                            continue;
                        size_t cell = (g * K + c) * 3 + (size_t)k;
                        vals[cell * B + nval[cell]++] = v;
                    }
        }
    }
    free(m);
    double qlo = (1 - level) / 2, qhi = (1 + level) / 2;
    for (uint32_t g = 0; g < G; g++)
        for (size_t c = 0; c < K; c++)
            for (int k = 0; k < 3; k++) {
                size_t cell = (g * K + c) * 3 + (size_t)k;
                if (!nval[cell])
                    continue;
                double *v = vals + cell * B;
                qsort(v, nval[cell], sizeof(double), cmp_dbl);
                prf_set(&out[g * K + c].lo, k,
                        dg__quantile_sorted(v, nval[cell], qlo));
                prf_set(&out[g * K + c].hi, k,
                        dg__quantile_sorted(v, nval[cell], qhi));
            }
out:
    dg__engine_close(eng);
    free(point);
    free(off);
    free(cls);
    free(cnt);
    free(sums);
    free(vals);
    free(nval);
    return st;
}

void dg_bootstrap_opts_init(dg_bootstrap_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->resamples = 1000;
    o->level = 0.95;
}

static dg_status check_opts(dg_ctx *ctx, const dg_bootstrap_opts *o)
{
    if (o && o->level != 0 && !(o->level > 0 && o->level < 1))
        return dg__fail(ctx, DG_EINVAL, "confidence level %g is not in (0, 1)",
                        o->level);
    return DG_OK;
}

dg_status dg_results_bootstrap(dg_ctx *ctx, dg_results *r, dg_project *p,
                               double conf, int iou_idx,
                               const dg_bootstrap_opts *o,
                               dg_prf_ci *per_class, dg_prf_ci *overall)
{
    if (!r || !p)
        return dg__fail(ctx, DG_EINVAL, "dg_results_bootstrap: NULL argument");
    dg_status st = check_opts(ctx, o);
    if (st < 0)
        return st;
    uint32_t *frames = NULL, n = 0;
    dg_fcc t;
    dg_prf_ci *out = NULL;
    if ((st = dg__results_universe(ctx, r, p, &frames, &n)) < 0)
        return st;
    st = dg__fcc_build(ctx, r, p, conf, iou_idx, frames, n, &t);
    free(frames);
    if (st < 0)
        return st;
    uint32_t C = t.n_classes;
    out = dg__alloc(ctx, (size_t)C + 1, sizeof(*out));
    if (!out)
        st = DG_ENOMEM;
    if (st == DG_OK)
        st = run(ctx, &t, 1, o, out);
    if (st == DG_OK) {
        if (per_class)
            memcpy(per_class, out, (size_t)C * sizeof(*out));
        if (overall)
            *overall = out[C];
    }
    free(out);
    dg__fcc_release(&t);
    return st;
}

dg_status dg_results_bootstrap_paired(dg_ctx *ctx, dg_results *ra,
                                      dg_results *rb, dg_project *p,
                                      double conf_a, int iou_a, double conf_b,
                                      int iou_b, const dg_bootstrap_opts *o,
                                      dg_prf_paired_ci *per_class,
                                      dg_prf_paired_ci *overall)
{
    if (!ra || !rb || !p)
        return dg__fail(ctx, DG_EINVAL,
                        "dg_results_bootstrap_paired: NULL argument");
    dg_status st = check_opts(ctx, o);
    if (st < 0)
        return st;
    dg_results_info ia, ib;
    dg__results_info(ra, &ia);
    dg__results_info(rb, &ib);
    if (ra != rb && (ia.frame_mask || ib.frame_mask) &&
        (!ia.frame_mask || !ib.frame_mask ||
         memcmp(ia.frame_mask, ib.frame_mask, dg__project_n_frames(p))))
        return dg__fail(ctx, DG_EINVAL,
                        "paired bootstrap: the two sets are restricted to "
                        "different frames");
    uint32_t *frames = NULL, n = 0;
    dg_fcc t[2];
    memset(t, 0, sizeof(t));
    dg_prf_ci *out = NULL;
    if ((st = dg__results_universe(ctx, ra, p, &frames, &n)) < 0)
        return st;
    if ((st = dg__fcc_build(ctx, ra, p, conf_a, iou_a, frames, n, &t[0])) <
            0 ||
        (st = dg__fcc_build(ctx, rb, p, conf_b, iou_b, frames, n, &t[1])) < 0)
        goto out;
    uint32_t C = t[0].n_classes;
    size_t K = (size_t)C + 1;
    out = dg__alloc(ctx, 3 * K, sizeof(*out));
    if (!out) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = run(ctx, t, 2, o, out)) < 0)
        goto out;
    for (size_t c = 0; c < K; c++) {
        dg_prf_paired_ci *d = c < C ? (per_class ? &per_class[c] : NULL)
                                    : overall;
        if (!d)
            continue;
        d->a = out[c];
        d->b = out[K + c];
        d->diff = out[2 * K + c];
    }
out:
    free(frames);
    free(out);
    dg__fcc_release(&t[0]);
    dg__fcc_release(&t[1]);
    return st;
}
