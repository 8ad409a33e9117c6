/*
 * Slice discovery over frame metadata (include/detgrid/slices.h,
 * docs/SLICES.md): conditions from every metadata column, conjunctions of
 * up to three on different columns with enough frames, each tested
 * against the rest of the frames on a ratio metric over frames
 * (stats.c), Benjamini-Hochberg over every test, then the significant
 * ones ranked and kept while each still fails on frames no slice above it
 * holds.
 *
 * Frames are held as bitsets over the universe (the frames of the
 * results' restriction, ascending), so a conjunction is an AND of words
 * and its sums a walk over its set bits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/slices.h"
#include "query.h"

#define MAX_COND 3

static const char *const metric_names[] = {"f1", "precision", "recall"};
static const char *const rank_names[] = {"p", "effect-support"};

const char *dg_slice_metric_name(dg_slice_metric m)
{
    return (unsigned)m < 3 ? metric_names[m] : NULL;
}

const char *dg_slice_rank_name(dg_slice_rank r)
{
    return (unsigned)r < 2 ? rank_names[r] : NULL;
}

int dg_slice_metric_parse(const char *s)
{
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, metric_names[i]))
            return i;
    return -1;
}

int dg_slice_rank_parse(const char *s)
{
    for (int i = 0; s && i < 2; i++)
        if (!strcmp(s, rank_names[i]))
            return i;
    return -1;
}

void dg_slices_opts_init(dg_slices_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->conf = DG_DEFAULT_CONF;
    o->max_conditions = 2;
    o->bins = 4;
    o->max_values = 10;
    o->alpha = 0.05;
    o->limit = 20;
}

void dg_slices_result_release(dg_slices_result *res)
{
    if (!res)
        return;
    for (uint32_t i = 0; i < res->n_slices; i++) {
        dg_slice *s = &res->slices[i];
        for (uint32_t c = 0; c < s->n_conditions; c++) {
            free(s->where[c]);
            free(s->column[c]);
        }
        free(s->name);
        free(s->frames);
    }
    free(res->slices);
    for (uint32_t i = 0; i < res->n_conditions; i++) {
        free(res->conditions[i].column);
        free(res->conditions[i].where);
    }
    free(res->conditions);
    memset(res, 0, sizeof(*res));
}

/* ---- the search's state --------------------------------------------------- */

typedef struct cond {
    uint32_t col;    /* index among the searched columns */
    uint32_t rec;    /* its entry in the result's conditions */
    uint64_t *bits;  /* over the universe */
    uint32_t n;
} cond;

/* A slice tested. */
typedef struct cand {
    uint32_t c[MAX_COND];
    uint32_t nc;
    uint32_t n;
    double z, p, logp, q, effect, value, value_rest, score;
} cand;

typedef struct search {
    dg_ctx *ctx;
    const dg_slices_opts *o;
    uint32_t N;             /* universe frames */
    const uint32_t *uni;    /* N: their project indices */
    size_t words;
    const dg_frame_counts *fc; /* per project frame */
    dg__ratio total;
    cond *cond;
    uint32_t n_cond;
    cand *cand;
    uint64_t n_cand, cap_cand;
    uint64_t *scratch[MAX_COND]; /* one bitset per depth */
} search;

static uint32_t popcount_all(const uint64_t *b, size_t words)
{
    uint32_t n = 0;
    for (size_t w = 0; w < words; w++)
        n += (uint32_t)__builtin_popcountll(b[w]);
    return n;
}

/* Sums of the ratio (and counts) over the frames of bitset b. */
static void sums_of(const search *s, const uint64_t *b, dg__ratio *r,
                    dg_counts *cnt)
{
    memset(r, 0, sizeof(*r));
    if (cnt)
        memset(cnt, 0, sizeof(*cnt));
    for (size_t w = 0; w < s->words; w++) {
        uint64_t x = b[w];
        while (x) {
            uint32_t u = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
            x &= x - 1;
            const dg_frame_counts *c = &s->fc[s->uni[u]];
            dg__ratio_add(r, (int)s->o->metric, c);
            if (cnt) {
                cnt->tp += c->tp;
                cnt->fp += c->fp;
                cnt->fn += c->fn;
                cnt->n_gt += c->n_gt;
                cnt->n_det += c->n_det;
            }
        }
    }
}

static dg_status add_cand(search *s, const uint32_t *c, uint32_t nc,
                          const uint64_t *bits, uint32_t n)
{
    if (s->n_cand == s->cap_cand) {
        uint64_t cap = s->cap_cand ? 2 * s->cap_cand : 256;
        cand *v = realloc(s->cand, cap * sizeof(cand));
        if (!v)
            return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
        s->cand = v;
        s->cap_cand = cap;
    }
    cand *k = &s->cand[s->n_cand++];
    memset(k, 0, sizeof(*k));
    memcpy(k->c, c, nc * sizeof(uint32_t));
    k->nc = nc;
    k->n = n;
    dg__ratio in, rest;
    sums_of(s, bits, &in, NULL);
    rest = dg__ratio_minus(&s->total, &in);
    dg__ratio_test(&in, &rest, &k->z, &k->p, &k->logp);
    k->value = dg__ratio_value(&in);
    k->value_rest = dg__ratio_value(&rest);
    k->effect = k->value_rest - k->value;
    k->score = s->o->rank == DG_SLICE_RANK_EFFECT_SUPPORT
                   ? k->effect * (double)n
                   : -k->logp;
    return DG_OK;
}

/*
 * Every conjunction extending the one in scratch[depth - 1] (conditions
 * c[0 .. depth)) by a condition after c[depth - 1] on a later column.
 */
static dg_status extend(search *s, uint32_t *c, uint32_t depth)
{
    if (depth == 0 || depth >= MAX_COND)
        return DG_OK;
    const uint64_t *base = s->scratch[depth - 1];
    uint32_t max = s->o->max_conditions;
    for (uint32_t j = c[depth - 1] + 1; j < s->n_cond; j++) {
        if (s->cond[j].col == s->cond[c[depth - 1]].col)
            continue;
        uint64_t *b = s->scratch[depth];
        for (size_t w = 0; w < s->words; w++)
            b[w] = base[w] & s->cond[j].bits[w];
        uint32_t n = popcount_all(b, s->words);
        if (n < s->o->min_support)
            continue;
        c[depth] = j;
        dg_status st = add_cand(s, c, depth + 1, b, n);
        if (st < 0)
            return st;
        if (depth + 1 < max && (st = extend(s, c, depth + 1)) < 0)
            return st;
    }
    return DG_OK;
}

/* ---- conditions from the columns ------------------------------------------- */

typedef struct strcount {
    const char *v;
    uint32_t n;
} strcount;

static int by_count_then_value(const void *a, const void *b)
{
    const strcount *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->v, y->v);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(((const strcount *)a)->v, ((const strcount *)b)->v);
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Appends a condition of column col named where, holding on the universe
 * frames u with in(u); keeps it when it has enough frames. */
typedef int (*holds_fn)(const dg_meta_col *m, uint32_t f, const void *arg);

static dg_status add_cond(search *s, dg_slices_result *out, uint32_t col,
                          const char *col_name, const char *where,
                          const dg_meta_col *m, holds_fn holds,
                          const void *arg)
{
    uint64_t *bits = dg__calloc(s->ctx, s->words ? s->words : 1, 8);
    if (!bits)
        return DG_ENOMEM;
    uint32_t n = 0;
    for (uint32_t u = 0; u < s->N; u++)
        if (holds(m, s->uni[u], arg)) {
            bits[u / 64] |= 1ULL << (u % 64);
            n++;
        }
    dg_slice_condition *rc = &out->conditions[out->n_conditions];
    rc->column = dg__strdup(s->ctx, col_name);
    rc->where = dg__strdup(s->ctx, where);
    rc->n_frames = n;
    out->n_conditions++;
    if (!rc->column || !rc->where) {
        free(bits);
        return DG_ENOMEM;
    }
    if (n < s->o->min_support) {
        free(bits);
        return DG_OK;
    }
    cond *c = &s->cond[s->n_cond++];
    c->col = col;
    c->rec = out->n_conditions - 1;
    c->bits = bits;
    c->n = n;
    return DG_OK;
}

static int holds_str(const dg_meta_col *m, uint32_t f, const void *arg)
{
    return !strcmp(m->str[f], (const char *)arg);
}

static int holds_num(const dg_meta_col *m, uint32_t f, const void *arg)
{
    return m->num[f] == *(const double *)arg;
}

/* lo <= v < hi (either bound infinite). */
static int holds_range(const dg_meta_col *m, uint32_t f, const void *arg)
{
    const double *r = arg;
    double v = m->num[f];
    return v >= r[0] && v < r[1];
}

/* Grows the room for conditions to hold `more`. */
static dg_status room(search *s, dg_slices_result *out, uint32_t more)
{
    uint32_t need = out->n_conditions + more;
    dg_slice_condition *rc =
        realloc(out->conditions, (need ? need : 1) * sizeof(*rc));
    if (!rc)
        return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
    out->conditions = rc;
    cond *c = realloc(s->cond, (s->n_cond + more + 1) * sizeof(*c));
    if (!c)
        return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
    s->cond = c;
    return DG_OK;
}

static dg_status string_conditions(search *s, dg_slices_result *out,
                                   uint32_t col, const dg_meta_col *m)
{
    strcount *v = dg__alloc(s->ctx, s->N ? s->N : 1, sizeof(strcount));
    if (!v)
        return DG_ENOMEM;
    uint32_t n = 0;
    for (uint32_t u = 0; u < s->N; u++)
        if (m->str[s->uni[u]][0])
            v[n++].v = m->str[s->uni[u]];
    qsort(v, n, sizeof(strcount), by_string);
    uint32_t nd = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (nd && !strcmp(v[nd - 1].v, v[i].v)) {
            v[nd - 1].n++;
            continue;
        }
        v[nd].v = v[i].v;
        v[nd++].n = 1;
    }
    qsort(v, nd, sizeof(strcount), by_count_then_value);
    dg_status st = room(s, out, nd);
    for (uint32_t i = 0; i < nd && st >= 0; i++) {
        size_t len = strlen(m->name) + strlen(v[i].v) + 2;
        char *where = dg__alloc(s->ctx, len, 1);
        if (!where) {
            st = DG_ENOMEM;
            break;
        }
        snprintf(where, len, "%s=%s", m->name, v[i].v);
        st = add_cond(s, out, col, m->name, where, m, holds_str, v[i].v);
        free(where);
    }
    free(v);
    return st;
}

static dg_status numeric_conditions(search *s, dg_slices_result *out,
                                    uint32_t col, const dg_meta_col *m)
{
    double *v = dg__alloc(s->ctx, s->N ? s->N : 1, sizeof(double));
    if (!v)
        return DG_ENOMEM;
    uint32_t n = 0, nd = 0;
    for (uint32_t u = 0; u < s->N; u++)
        if (!isnan(m->num[s->uni[u]]))
            v[n++] = m->num[s->uni[u]];
    qsort(v, n, sizeof(double), by_double);
    for (uint32_t i = 0; i < n; i++)
        nd += i == 0 || v[i] != v[i - 1];
    dg_status st = DG_OK;
    char where[256], a[40], b[40];
    if (nd <= s->o->max_values) {
        /* One condition per value. */
        if ((st = room(s, out, nd)) < 0)
            goto out;
        for (uint32_t i = 0; i < n && st >= 0; i++) {
            if (i > 0 && v[i] == v[i - 1])
                continue;
            dg__fmt_double(a, sizeof(a), v[i]);
            snprintf(where, sizeof(where), "%s=%s", m->name, a);
            st = add_cond(s, out, col, m->name, where, m, holds_num, &v[i]);
        }
        goto out;
    }
    /* Ranges between order statistics: edge i is the value at position
     * floor(i n / bins) of the sorted values (a value of the data, so the
     * condition reads back exactly); equal edges are merged. */
    double edge[64];
    uint32_t ne = 0;
    for (uint32_t i = 1; i < s->o->bins; i++) {
        double e = v[(uint64_t)i * n / s->o->bins];
        if (e > v[0] && (ne == 0 || e > edge[ne - 1]))
            edge[ne++] = e;
    }
    if ((st = room(s, out, ne + 1)) < 0)
        goto out;
    for (uint32_t i = 0; i <= ne && st >= 0; i++) {
        double r[2] = {i ? edge[i - 1] : -INFINITY,
                       i < ne ? edge[i] : INFINITY};
        dg__fmt_double(a, sizeof(a), r[0]);
        dg__fmt_double(b, sizeof(b), r[1]);
        if (i == 0)
            snprintf(where, sizeof(where), "%s<%s", m->name, b);
        else if (i == ne)
            snprintf(where, sizeof(where), "%s>=%s", m->name, a);
        else
            snprintf(where, sizeof(where), "%s<=%s<%s", a, m->name, b);
        st = add_cond(s, out, col, m->name, where, m, holds_range, r);
    }
out:
    free(v);
    return st;
}

/* ---- ranking and reporting ---------------------------------------------- */

static int by_score(const void *a, const void *b)
{
    const cand *x = *(const cand *const *)a, *y = *(const cand *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->nc != y->nc)
        return x->nc < y->nc ? -1 : 1;
    for (uint32_t i = 0; i < x->nc; i++)
        if (x->c[i] != y->c[i])
            return x->c[i] < y->c[i] ? -1 : 1;
    return 0;
}

/* The bitset of candidate k into b. */
static void bits_of(const search *s, const cand *k, uint64_t *b)
{
    memcpy(b, s->cond[k->c[0]].bits, s->words * 8);
    for (uint32_t i = 1; i < k->nc; i++)
        for (size_t w = 0; w < s->words; w++)
            b[w] &= s->cond[k->c[i]].bits[w];
}

/* Of frames[0 .. n) (ascending), the most errors first, then the lower
 * index, into rep. */
static void worst_frames(const dg_frame_counts *fc, const uint32_t *frames,
                         uint32_t n, uint32_t *rep)
{
    int64_t best[DG_EXPLAIN_FRAMES];
    for (int i = 0; i < DG_EXPLAIN_FRAMES; i++)
        rep[i] = UINT32_MAX, best[i] = -1;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t f = frames[j];
        int64_t e = (int64_t)fc[f].fp + fc[f].fn;
        for (int i = 0; i < DG_EXPLAIN_FRAMES; i++)
            if (e > best[i]) {
                for (int t = DG_EXPLAIN_FRAMES - 1; t > i; t--)
                    rep[t] = rep[t - 1], best[t] = best[t - 1];
                rep[i] = f, best[i] = e;
                break;
            }
    }
}

/* Fills reported slice d from candidate k (frames in b). */
static dg_status report(search *s, const dg_slices_result *out,
                        const cand *k, const uint64_t *b, dg_slice *d)
{
    size_t len = 1;
    for (uint32_t i = 0; i < k->nc; i++) {
        const dg_slice_condition *rc = &out->conditions[s->cond[k->c[i]].rec];
        d->where[i] = dg__strdup(s->ctx, rc->where);
        d->column[i] = dg__strdup(s->ctx, rc->column);
        d->n_conditions = i + 1;
        if (!d->where[i] || !d->column[i])
            return DG_ENOMEM;
        len += strlen(rc->where) + 5;
    }
    if (!(d->name = dg__alloc(s->ctx, len, 1)))
        return DG_ENOMEM;
    d->name[0] = 0;
    for (uint32_t i = 0; i < k->nc; i++) {
        if (i)
            strcat(d->name, " and ");
        strcat(d->name, d->where[i]);
    }
    d->n_frames = k->n;
    if (!(d->frames = dg__alloc(s->ctx, k->n ? k->n : 1, sizeof(uint32_t))))
        return DG_ENOMEM;
    uint32_t n = 0;
    for (size_t w = 0; w < s->words; w++) {
        uint64_t x = b[w];
        while (x) {
            uint32_t u = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
            x &= x - 1;
            d->frames[n++] = s->uni[u];
        }
    }
    dg__ratio in;
    sums_of(s, b, &in, &d->counts);
    d->prf = dg_counts_prf(&d->counts);
    dg_counts rest = out->counts;
    rest.tp -= d->counts.tp;
    rest.fp -= d->counts.fp;
    rest.fn -= d->counts.fn;
    rest.n_gt -= d->counts.n_gt;
    rest.n_det -= d->counts.n_det;
    d->rest = dg_counts_prf(&rest);
    d->value = k->value;
    d->value_rest = k->value_rest;
    d->effect = k->effect;
    d->z = k->z;
    d->p = k->p;
    d->q = k->q;
    d->score = k->score;
    return DG_OK;
}

/* The columns searched: opts.columns by name, or every one. */
static dg_status pick_columns(dg_ctx *ctx, const dg_project *p,
                              const dg_slices_opts *o,
                              const dg_meta_col ***cols, uint32_t *n)
{
    uint32_t nm = dg__project_n_meta(p);
    const char *path = dg__project_source(p);
    if (!nm)
        return dg__fail(ctx, DG_EINVAL,
                        "'%s' has no frame metadata columns (/frames/meta; "
                        "docs/SLICES.md)",
                        path ? path : "(new project)");
    uint32_t want = o->columns ? o->n_columns : nm;
    *cols = dg__alloc(ctx, want ? want : 1, sizeof(**cols));
    if (!*cols)
        return DG_ENOMEM;
    *n = 0;
    for (uint32_t i = 0; i < want; i++) {
        const dg_meta_col *m = NULL;
        if (!o->columns) {
            m = dg__project_meta(p, i);
        } else {
            for (uint32_t j = 0; j < nm && !m; j++)
                if (o->columns[i] &&
                    !strcmp(dg__project_meta(p, j)->name, o->columns[i]))
                    m = dg__project_meta(p, j);
            if (!m) {
                const char **v = malloc(nm * sizeof(*v));
                for (uint32_t j = 0; v && j < nm; j++)
                    v[j] = dg__project_meta(p, j)->name;
                char what[600];
                snprintf(what, sizeof(what), "'%s': no frame metadata column",
                         path ? path : "(new project)");
                dg_status st = dg__fail_unknown(
                    ctx, DG_ENOTFOUND, what,
                    o->columns[i] ? o->columns[i] : "(null)", v,
                    v ? nm : 0, "columns");
                free(v);
                free(*cols);
                *cols = NULL;
                return st;
            }
        }
        (*cols)[(*n)++] = m;
    }
    return DG_OK;
}

static dg_status check_opts(dg_ctx *ctx, const dg_slices_opts *in,
                            dg_slices_opts *o, int n_iou)
{
    *o = *in;
    if (!o->max_conditions)
        o->max_conditions = 2;
    if (!o->bins)
        o->bins = 4;
    if (!o->max_values)
        o->max_values = 10;
    if (o->alpha == 0)
        o->alpha = 0.05;
    if (!o->limit)
        o->limit = 20;
    if (o->max_conditions > MAX_COND)
        return dg__fail(ctx, DG_EINVAL, "slices: %u conditions; at most %d",
                        o->max_conditions, MAX_COND);
    if (o->bins < 2 || o->bins > 64)
        return dg__fail(ctx, DG_EINVAL, "slices: %u bins; 2 .. 64", o->bins);
    if (!(o->alpha > 0 && o->alpha < 1))
        return dg__fail(ctx, DG_EINVAL, "slices: alpha %g not in (0, 1)",
                        o->alpha);
    if (!(o->conf >= 0 && o->conf <= 1))
        return dg__fail(ctx, DG_EINVAL, "slices: confidence %g not in "
                        "[0, 1]", o->conf);
    if (!dg_slice_metric_name(o->metric) || !dg_slice_rank_name(o->rank))
        return dg__fail(ctx, DG_EINVAL, "slices: unknown metric or rank");
    if (o->iou_idx < 0 || o->iou_idx >= n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range",
                        o->iou_idx);
    return DG_OK;
}

/*
 * Every conjunction of the columns' conditions with enough frames, tested,
 * and the p-values adjusted together.
 */
static dg_status test_all(search *s, dg_slices_result *out,
                          const dg_meta_col *const *cols, uint32_t n_cols)
{
    dg_status st = DG_OK;
    for (uint32_t i = 0; i < n_cols && st >= 0; i++)
        st = cols[i]->is_num ? numeric_conditions(s, out, i, cols[i])
                             : string_conditions(s, out, i, cols[i]);
    if (st < 0)
        return st;
    for (int d = 0; d < MAX_COND; d++)
        if (!(s->scratch[d] = dg__alloc(s->ctx, s->words ? s->words : 1, 8)))
            return DG_ENOMEM;
    for (uint32_t i = 0; i < s->n_cond; i++) {
        uint32_t c[MAX_COND] = {i, 0, 0};
        memcpy(s->scratch[0], s->cond[i].bits, s->words * 8);
        if ((st = add_cand(s, c, 1, s->scratch[0], s->cond[i].n)) < 0 ||
            (s->o->max_conditions > 1 && (st = extend(s, c, 1)) < 0))
            return st;
    }
    out->n_tested = s->n_cand;
    double *pv = dg__alloc(s->ctx, s->n_cand ? s->n_cand : 1, sizeof(double));
    if (!pv)
        return DG_ENOMEM;
    for (uint64_t i = 0; i < s->n_cand; i++)
        pv[i] = s->cand[i].p;
    st = dg__bh_adjust(s->ctx, pv, s->n_cand, pv);
    for (uint64_t i = 0; i < s->n_cand && st >= 0; i++)
        s->cand[i].q = pv[i];
    free(pv);
    return st;
}

/*
 * The significant slices, ranked, each reported while it still fails on
 * the frames no slice above it holds: those frames against the frames of
 * neither, one-sided, at the level Benjamini-Hochberg applied to single
 * p-values (alpha x significant / tested), with at least min_support of
 * them.
 */
static dg_status pick_reported(search *s, dg_slices_result *out)
{
    const dg_slices_opts *o = s->o;
    dg_status st = DG_OK;
    size_t wb = s->words ? s->words : 1;
    cand **sig = dg__alloc(s->ctx, s->n_cand ? s->n_cand : 1, sizeof(*sig));
    uint64_t *covered = dg__calloc(s->ctx, wb, 8);
    uint64_t *b = dg__alloc(s->ctx, wb, 8), *rb = dg__alloc(s->ctx, wb, 8);
    out->slices = dg__calloc(s->ctx, o->limit, sizeof(dg_slice));
    if (!sig || !covered || !b || !rb || !out->slices) {
        st = DG_ENOMEM;
        goto out;
    }
    uint64_t n_sig = 0;
    for (uint64_t i = 0; i < s->n_cand; i++)
        if (s->cand[i].q <= o->alpha && s->cand[i].z > 0 &&
            !isnan(s->cand[i].score))
            sig[n_sig++] = &s->cand[i];
    out->n_significant = n_sig;
    qsort(sig, n_sig, sizeof(*sig), by_score);
    double level = s->n_cand ? o->alpha * (double)n_sig / (double)s->n_cand
                             : 0;
    for (uint64_t i = 0; i < n_sig && out->n_slices < o->limit; i++) {
        const cand *k = sig[i];
        bits_of(s, k, b);
        if (out->n_slices) {
            dg__ratio res, all_cov;
            for (size_t w = 0; w < s->words; w++)
                rb[w] = b[w] & ~covered[w];
            if (popcount_all(rb, s->words) < o->min_support)
                continue;
            sums_of(s, rb, &res, NULL);
            for (size_t w = 0; w < s->words; w++)
                rb[w] = b[w] | covered[w];
            sums_of(s, rb, &all_cov, NULL);
            dg__ratio other = dg__ratio_minus(&s->total, &all_cov);
            double z, pr;
            dg__ratio_test(&res, &other, &z, &pr, NULL);
            if (!(pr <= level))
                continue;
        }
        if ((st = report(s, out, k, b, &out->slices[out->n_slices++])) < 0)
            goto out;
        for (size_t w = 0; w < s->words; w++)
            covered[w] |= b[w];
    }
out:
    free(rb);
    free(b);
    free(covered);
    free(sig);
    return st;
}

/* The explanations of the reported slices. */
static dg_status explain_all(dg_ctx *ctx, dg_project *p, dg_results *r,
                             const dg_slices_opts *o,
                             const dg_frame_counts *fc,
                             dg_slices_result *out)
{
    if (!out->n_slices)
        return DG_OK;
    dg_crop *crops = NULL;
    uint64_t n_crops = 0;
    dg__explainer ex;
    uint32_t F = dg__project_n_frames(p);
    uint8_t *in = dg__calloc(ctx, F ? F : 1, 1);
    if (!in)
        return DG_ENOMEM;
    dg_status st = dg_results_crops(ctx, r, p, o->conf, o->iou_idx, &crops,
                                    &n_crops);
    if (st >= 0 && (st = dg__explainer_init(ctx, p, r, o->conf, o->iou_idx,
                                            crops, n_crops, &ex)) >= 0) {
        for (uint32_t i = 0; i < out->n_slices; i++) {
            dg_slice *d = &out->slices[i];
            for (uint32_t j = 0; j < d->n_frames; j++)
                in[d->frames[j]] = 1;
            dg__explain_group(&ex, NULL, in, &d->explain);
            for (uint32_t j = 0; j < d->n_frames; j++)
                in[d->frames[j]] = 0;
            worst_frames(fc, d->frames, d->n_frames, d->explain.rep_frame);
        }
        dg__explainer_release(&ex);
    }
    free(crops);
    free(in);
    return st;
}

dg_status dg_slices_evaluate(dg_ctx *ctx, dg_results *r, dg_project *p,
                             const dg_slices_opts *opts,
                             dg_slices_result *out)
{
    if (!out)
        return dg__fail(ctx, DG_EINVAL, "slices: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!p || !r)
        return dg__fail(ctx, DG_EINVAL, "slices: no project or results");
    dg_slices_opts defaults;
    dg_slices_opts_init(&defaults);
    if (!opts)
        opts = &defaults;
    double t0 = dg__now();
    dg_results_info ri;
    dg__results_info(r, &ri);
    dg_slices_opts o;
    dg_status st = check_opts(ctx, opts, &o, ri.n_iou);
    if (st < 0)
        return st;
    search s;
    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    s.o = &o;
    const dg_meta_col **cols = NULL;
    uint32_t n_cols = 0, *uni = NULL, F = dg__project_n_frames(p);
    dg_frame_counts *fc = NULL;
    if ((st = pick_columns(ctx, p, &o, &cols, &n_cols)) < 0 ||
        (st = dg__results_universe(ctx, r, p, &uni, &s.N)) < 0)
        goto done;
    s.uni = uni;
    s.words = (s.N + 63) / 64;
    if (!o.min_support) {
        uint32_t pct = (s.N + 99) / 100;
        o.min_support = pct > 30 ? pct : 30;
    }
    if (!(fc = dg__calloc(ctx, F ? F : 1, sizeof(*fc)))) {
        st = DG_ENOMEM;
        goto done;
    }
    if ((st = dg_results_frame_counts(ctx, r, p, o.conf, o.iou_idx, -1,
                                      fc)) < 0)
        goto done;
    s.fc = fc;
    out->metric = o.metric;
    out->rank = o.rank;
    out->alpha = o.alpha;
    out->min_support = o.min_support;
    out->max_conditions = o.max_conditions;
    out->n_frames = s.N;
    out->n_columns = n_cols;
    for (uint32_t u = 0; u < s.N; u++) {
        const dg_frame_counts *c = &fc[uni[u]];
        dg__ratio_add(&s.total, (int)o.metric, c);
        out->counts.tp += c->tp;
        out->counts.fp += c->fp;
        out->counts.fn += c->fn;
        out->counts.n_gt += c->n_gt;
        out->counts.n_det += c->n_det;
    }
    out->prf = dg_counts_prf(&out->counts);
    out->value = dg__ratio_value(&s.total);
    dg__progress(ctx, "slices", 1, 3);
    if ((st = test_all(&s, out, cols, n_cols)) < 0 ||
        (st = pick_reported(&s, out)) < 0)
        goto done;
    dg__progress(ctx, "slices", 2, 3);
    if ((st = explain_all(ctx, p, r, &o, fc, out)) < 0)
        goto done;
    dg__progress(ctx, "slices", 3, 3);
    out->seconds = dg__now() - t0;
done:
    if (st < 0)
        dg_slices_result_release(out);
    for (int d = 0; d < MAX_COND; d++)
        free(s.scratch[d]);
    for (uint32_t i = 0; i < s.n_cond; i++)
        free(s.cond[i].bits);
    free(s.cond);
    free(s.cand);
    free(fc);
    free(uni);
    free(cols);
    return st;
}
