/*
 * The tests behind the pattern finders (query.h): a two-sample test of a
 * ratio metric over frames, and the Benjamini-Hochberg adjustment.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

void dg__ratio_add(dg__ratio *s, int metric, const dg_frame_counts *c)
{
    double tp = c->tp, fp = c->fp, fn = c->fn, a, b;
    if (metric == DG__RATIO_PRECISION)
        a = tp, b = tp + fp;
    else if (metric == DG__RATIO_RECALL)
        a = tp, b = tp + fn;
    else
        a = 2 * tp, b = 2 * tp + fp + fn;
    if (b <= 0)
        return;
    s->n += 1;
    s->a += a;
    s->b += b;
    s->aa += a * a;
    s->ab += a * b;
    s->bb += b * b;
}

dg__ratio dg__ratio_minus(const dg__ratio *t, const dg__ratio *s)
{
    dg__ratio d = {t->n - s->n, t->a - s->a, t->b - s->b,
                   t->aa - s->aa, t->ab - s->ab, t->bb - s->bb};
    return d;
}

double dg__ratio_value(const dg__ratio *s)
{
    return s->b > 0 ? s->a / s->b : NAN;
}

/* The linearised variance of a / b over the frames of s. */
static double ratio_var(const dg__ratio *s, double r)
{
    double ss = s->aa - 2 * r * s->ab + r * r * s->bb;
    if (ss < 0)
        ss = 0; /* rounding of a sum that is exactly >= 0 */
    return s->n / (s->n - 1) * ss / (s->b * s->b);
}

double dg__normal_sf(double z)
{
    return 0.5 * erfc(z / 1.4142135623730951);
}

/*
 * The continued fraction of the regularised incomplete beta function
 * I_x(a, b), evaluated by the modified Lentz method; converges quickly
 * for x < (a + 1) / (a + b + 2).
 */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double m2 = 2.0 * m;
        /* The even step, then the odd one. */
        double e = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
        d = 1 + e * d;
        d = fabs(d) < tiny ? 1 / tiny : 1 / d;
        c = 1 + e / c;
        if (fabs(c) < tiny)
            c = tiny;
        h *= d * c;
        e = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
        d = 1 + e * d;
        d = fabs(d) < tiny ? 1 / tiny : 1 / d;
        c = 1 + e / c;
        if (fabs(c) < tiny)
            c = tiny;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < 1e-15)
            break;
    }
    return h;
}

double dg__inc_beta_log(double a, double b, double x)
{
    if (x <= 0)
        return -INFINITY;
    if (x >= 1)
        return 0;
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
                    b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return lfront + log(beta_cf(a, b, x) / a);
    return log1p(-exp(lfront) * beta_cf(b, a, 1 - x) / b);
}

double dg__student_logsf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return t > 0 ? -INFINITY : 0;
    /* P(T >= |t|) = I_x(df / 2, 1 / 2) / 2, x = df / (df + t^2). */
    double lt = log(0.5) + dg__inc_beta_log(0.5 * df, 0.5, df / (df + t * t));
    return t >= 0 ? lt : log1p(-exp(lt));
}

void dg__ratio_test(const dg__ratio *s, const dg__ratio *t, double *z,
                    double *p, double *logp)
{
    double lp = 0;
    *z = NAN;
    if (s->n >= 2 && t->n >= 2 && s->b > 0 && t->b > 0) {
        double rs = s->a / s->b, rt = t->a / t->b;
        double vs = ratio_var(s, rs), vt = ratio_var(t, rt), v = vs + vt;
        if (!(v > 0)) {
            *z = rt > rs ? INFINITY : 0;
            lp = rt > rs ? -INFINITY : log(0.5);
        } else {
            *z = (rt - rs) / sqrt(v);
            /* Welch-Satterthwaite degrees of freedom. */
            double df = v * v / (vs * vs / (s->n - 1) + vt * vt / (t->n - 1));
            lp = dg__student_logsf(*z, df);
        }
    }
    *p = exp(lp);
    if (logp)
        *logp = lp;
}

typedef struct {
    double p;
    uint64_t i;
} pidx;

static int by_p(const void *a, const void *b)
{
    const pidx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

dg_status dg__bh_adjust(dg_ctx *ctx, const double *p, uint64_t n, double *q)
{
    if (!n)
        return DG_OK;
    pidx *v = dg__alloc(ctx, n, sizeof(pidx));
    if (!v)
        return DG_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        v[i].p = isnan(p[i]) ? 1 : p[i];
        v[i].i = i;
    }
    qsort(v, n, sizeof(pidx), by_p);
    double run = 1;
    for (uint64_t j = n; j-- > 0;) {
        double x = v[j].p * (double)n / (double)(j + 1);
        if (x < run)
            run = x;
        q[v[j].i] = run;
    }
    free(v);
    return DG_OK;
}
