/*
 * The TIDE error taxonomy (include/detgrid/tide.h, docs/ERRORS.md),
 * following tidecv 1.0.1 (quantify.py, errors/main_errors.py, ap.py) rule
 * for rule, so that counts are the same and dAP values agree to the last
 * bit where Python adds floats left to right (before 3.12).
 *
 * Per frame, as TIDEExample and TIDERun._eval_image:
 *   - detections with score >= conf, stably sorted by descending score
 *     over all classes, the first max_dets kept;
 *   - labels split into regular ones and ignore regions (crowd or ignore);
 *   - matching: each detection in turn takes the first regular label of
 *     its class, not yet taken, of highest IoU, if that IoU >= fg;
 *   - a detection left unmatched whose crowd IoU (intersection over its
 *     own area) with an ignore region of its class is > fg is ignored: not
 *     in the AP, but classified like the false positives;
 *   - no regular label in the frame: every unmatched detection is Bkg;
 *   - else, in this order: Loc if bg <= the highest same-class IoU (taken
 *     labels included) <= fg; Cls if the highest other-class IoU >= fg;
 *     Dupe if the highest IoU with a taken same-class label >= fg; Bkg if
 *     the highest IoU with any label <= bg; else Both. "Highest" is
 *     numpy's argmax: the first label on ties;
 *   - a Loc or Cls error on a label not taken marks that label usable and
 *     bids for it with its score (the first highest bid wins);
 *   - labels not taken are false negatives; Miss unless usable.
 *
 * AP is tidecv's: per class, points sorted by descending score (stable in
 * insertion order), precision made non-increasing from the right, sampled
 * at recall k/100 (k = 0..100) by searchsorted, averaged, times 100; 0 for
 * a class without labels; the mean over classes that have points or
 * labels, in insertion order. Fixing type T rebuilds the points as
 * TIDERun.fix_errors does: every detection's error first, in error order
 * (fixed when of type T: a Cls/Loc winner becomes a true positive of the
 * label's / its own class, others vanish), then the true positives; a
 * fixed Miss removes its label. The insertion order decides ties and the
 * order in which class APs are summed, so both are reproduced.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/tide.h"
#include "store.h"

static const char *const type_names[DG_TIDE_N] = {"Cls", "Loc", "Both",
                                                  "Dupe", "Bkg", "Miss"};

const char *dg_tide_type_name(dg_tide_type t)
{
    return (unsigned)t < DG_TIDE_N ? type_names[t] : NULL;
}

/* One evaluated detection, in tidecv's iteration order ("seq"). */
typedef struct {
    uint64_t rec;    /* detection record */
    uint64_t gt;     /* Cls/Loc: the label record it points at; after the
                        pass, for Cls, that label's class */
    double score;
    uint32_t cls;
    int8_t used;     /* 1 true positive, 0 false positive, -1 ignored */
    int8_t err;      /* error type or -1 */
    uint8_t fix_ok;  /* Cls/Loc: this one's fix becomes a true positive */
} tdet;

/* One AP data point. */
typedef struct {
    double score;
    uint64_t seq;
    uint32_t cls;
    uint8_t tp, grp;
} point;

static int by_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->grp != y->grp)
        return x->grp < y->grp ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct {
    uint32_t K;
    tdet *d;
    uint64_t nd;
    uint64_t *n_gt;      /* regular labels per class */
    uint64_t *n_fn;      /* unmatched regular labels per class */
    uint64_t *n_miss;    /* Miss errors per class */
    uint32_t *order;     /* classes in tidecv's insertion order */
    uint32_t n_order;
    uint8_t *seen;       /* K */
    /* scratch for scenarios */
    point *pts;
    double *prec, *rec;
    uint64_t *gt_pos;    /* K */
    uint32_t *sc_order;  /* K */
    uint8_t *sc_seen;    /* K */
    uint8_t *has_tp;     /* K */
    uint64_t *cls_off;   /* K + 1 */
    uint64_t *fill;      /* K */
    uint64_t *base;      /* seq by class, descending score, seq */
    point *moved, *merge;
} tstate;

static void see(tstate *S, uint32_t c)
{
    if (!S->seen[c]) {
        S->seen[c] = 1;
        S->order[S->n_order++] = c;
    }
}

/* tidecv's APDataObject.get_ap over sorted points, in percent. */
static double class_ap(const point *p, uint64_t n, uint64_t num_gt,
                       double *prec, double *rec)
{
    if (num_gt == 0)
        return 0;
    uint64_t nt = 0, nf = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (p[i].tp)
            nt++;
        else
            nf++;
        prec[i] = (double)nt / (double)(nt + nf);
        rec[i] = (double)nt / (double)num_gt;
    }
    for (uint64_t i = n; i-- > 1;)
        if (prec[i] > prec[i - 1])
            prec[i - 1] = prec[i];
    double sum = 0;
    uint64_t idx = 0;
    for (int k = 0; k <= 100; k++) {
        double x = (double)k / 100.0;
        while (idx < n && rec[idx] < x)
            idx++;
        sum += idx < n ? prec[idx] : 0.0;
    }
    return sum / 101.0 * 100.0;
}

enum { SC_ORIG, SC_FIX, SC_FP, SC_FN };

/*
 * Whether detection d is a point of the scenario, and as what: its class,
 * true positive or not, and its group (0: pushed in the error loop, 1:
 * added back as a true positive). Scores are the detection's (SC_FP
 * replaces them: 1 for true positives, 0 for the rest).
 */
static int select_point(const tdet *d, int mode, int T, uint32_t *cls,
                        uint8_t *tp, uint8_t *grp)
{
    *cls = d->cls;
    if (mode == SC_ORIG) {
        *tp = d->used == 1;
        *grp = 0;
        return d->used >= 0;
    }
    if (d->err < 0) {
        *tp = 1;
        *grp = 1;
        return d->used == 1;
    }
    *grp = 0;
    if (mode == SC_FIX && d->err == T) {
        if (!((T == DG_TIDE_CLS || T == DG_TIDE_LOC) && d->fix_ok))
            return 0;
        *tp = 1;
        if (T == DG_TIDE_CLS)
            *cls = (uint32_t)d->gt; /* holds the label's class now */
        return 1;
    }
    *tp = 0;
    return d->used >= 0;
}

/*
 * The scenario's points in the order tidecv's stable sort leaves them:
 * class, descending score, group, insertion (seq) order; class offsets in
 * S->cls_off. Built from S->base (every detection by class, descending
 * score, seq) without sorting again: within each run of equal scores group
 * 0 goes first; points that change class (fixed Cls errors, few) are
 * sorted apart and merged in; SC_FP's 0/1 scores are a counting sort.
 */
static uint64_t build_points(tstate *S, int mode, int T)
{
    uint32_t K = S->K;
    point *pts = S->pts;
    uint64_t np = 0;
    uint32_t cls;
    uint8_t tp, grp;

    if (mode == SC_FP) {
        /* True positives (score 1) by seq, then the rest (score 0). */
        memset(S->cls_off, 0, (K + 1) * sizeof(uint64_t));
        for (uint64_t s = 0; s < S->nd; s++)
            if (select_point(&S->d[s], mode, T, &cls, &tp, &grp))
                S->cls_off[cls + 1]++;
        for (uint32_t c = 0; c < K; c++)
            S->cls_off[c + 1] += S->cls_off[c];
        memcpy(S->fill, S->cls_off, K * sizeof(uint64_t));
        for (int pass = 1; pass >= 0; pass--)
            for (uint64_t s = 0; s < S->nd; s++)
                if (select_point(&S->d[s], mode, T, &cls, &tp, &grp) &&
                    tp == pass)
                    pts[S->fill[cls]++] = (point){pass ? 1.0 : 0.0, s, cls,
                                                  tp, grp};
        return S->cls_off[K];
    }

    uint64_t n_moved = 0;
    point *moved = S->moved;
    for (uint64_t a = 0; a < S->nd;) {
        const tdet *da = &S->d[S->base[a]];
        uint64_t b = a + 1;
        while (b < S->nd && S->d[S->base[b]].cls == da->cls &&
               S->d[S->base[b]].score == da->score)
            b++;
        for (int g = 0; g < 2; g++)
            for (uint64_t i = a; i < b; i++) {
                uint64_t s = S->base[i];
                if (!select_point(&S->d[s], mode, T, &cls, &tp, &grp) ||
                    grp != g)
                    continue;
                point q = {S->d[s].score, s, cls, tp, grp};
                if (cls != S->d[s].cls)
                    moved[n_moved++] = q;
                else
                    pts[np++] = q;
            }
        a = b;
    }
    if (n_moved) {
        /* Merge the moved points in: both parts are in by_point order. */
        qsort(moved, n_moved, sizeof(*moved), by_point);
        point *m = S->merge;
        uint64_t i = 0, j = 0, k = 0;
        while (i < np || j < n_moved)
            m[k++] = j == n_moved || (i < np &&
                                      by_point(&pts[i], &moved[j]) < 0)
                         ? pts[i++]
                         : moved[j++];
        memcpy(pts, m, k * sizeof(*pts));
        np = k;
    }
    memset(S->cls_off, 0, (K + 1) * sizeof(uint64_t));
    for (uint64_t i = 0; i < np; i++)
        S->cls_off[pts[i].cls + 1]++;
    for (uint32_t c = 0; c < K; c++)
        S->cls_off[c + 1] += S->cls_off[c];
    return np;
}

/*
 * mAP of one scenario: SC_ORIG (the run's own AP data), SC_FIX (errors of
 * type T fixed), SC_FP (FalsePositiveError's transform) or SC_FN (perfect
 * recall). per_class, when not NULL, gets each class's AP (NaN when the
 * class is not in the mean).
 */
static double scenario(tstate *S, int mode, int T, double *per_class)
{
    uint32_t K = S->K;
    uint32_t cls;
    uint8_t tp, grp;

    memcpy(S->gt_pos, S->n_gt, K * sizeof(uint64_t));
    if (mode == SC_FIX && T == DG_TIDE_MISS)
        for (uint32_t c = 0; c < K; c++)
            S->gt_pos[c] -= S->n_miss[c];
    if (mode == SC_FN)
        for (uint32_t c = 0; c < K; c++)
            S->gt_pos[c] -= S->n_fn[c];

    /*
     * The order in which classes enter the AP data: the run's own, or for
     * a rebuilt one (fix_errors) the classes of the error points in error
     * order, then those with true positives, then the rest, each in the
     * run's order.
     */
    uint32_t n_ord = 0;
    if (mode == SC_ORIG) {
        memcpy(S->sc_order, S->order, S->n_order * sizeof(uint32_t));
        n_ord = S->n_order;
    } else {
        memset(S->sc_seen, 0, K);
        for (uint64_t s = 0; s < S->nd; s++)
            if (select_point(&S->d[s], mode, T, &cls, &tp, &grp) &&
                grp == 0 && !S->sc_seen[cls]) {
                S->sc_seen[cls] = 1;
                S->sc_order[n_ord++] = cls;
            }
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t i = 0; i < S->n_order; i++) {
                uint32_t c = S->order[i];
                if (!S->sc_seen[c] && (pass || S->has_tp[c])) {
                    S->sc_seen[c] = 1;
                    S->sc_order[n_ord++] = c;
                }
            }
    }

    const point *pts = S->pts;
    build_points(S, mode, T);
    if (per_class)
        for (uint32_t c = 0; c < K; c++)
            per_class[c] = NAN;
    double sum = 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < n_ord; i++) {
        uint32_t c = S->sc_order[i];
        uint64_t a = S->cls_off[c], b = S->cls_off[c + 1];
        if (a == b && S->gt_pos[c] == 0)
            continue; /* is_empty() */
        double ap = class_ap(pts + a, b - a, S->gt_pos[c], S->prec, S->rec);
        if (per_class)
            per_class[c] = ap;
        sum += ap;
        n++;
    }
    return n ? sum / (double)n : NAN;
}

typedef struct {
    double score;
    uint64_t rec;
} sdet;

static int by_score(const void *a, const void *b)
{
    const sdet *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec; /* stable */
}

/* First index of the largest of v[0..n-1] (numpy.argmax); n > 0. */
static size_t argmax(const double *v, size_t n)
{
    size_t m = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[m])
            m = j;
    return m;
}

/* The per-frame pass's scratch, grown as needed, and the per-label state. */
typedef struct {
    sdet *fd;            /* the frame's detections kept, by score */
    uint64_t *rg, *ri;   /* its regular labels and ignore regions */
    double *iou, *row;   /* nd x ng IoUs; one masked row */
    size_t cap_d, cap_g, cap_iou;
    uint8_t *g_used;     /* per label: taken by a true positive */
    uint8_t *g_usable;   /* per label: a Cls/Loc error points at it */
    double *g_best;      /* per label: the highest bid */
    int64_t *g_best_seq; /* per label: the detection (seq) bidding it */
} tpass;

void dg_tide_opts_init(dg_tide_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->conf = -INFINITY;
    o->fg_iou = 0.5;
    o->bg_iou = 0.1;
    o->max_dets = 100;
}

/* The options with their defaults filled in, checked. */
static dg_status tide_options(dg_ctx *ctx, const dg_tide_opts *opts,
                              dg_tide_opts *o)
{
    if (opts)
        *o = *opts;
    else
        dg_tide_opts_init(o);
    if (o->fg_iou == 0)
        o->fg_iou = 0.5;
    if (o->bg_iou == 0)
        o->bg_iou = 0.1;
    if (o->max_dets == 0)
        o->max_dets = 100;
    if (o->max_dets < 0)
        o->max_dets = -1;
    if (!(o->fg_iou > 0 && o->fg_iou <= 1))
        return dg__fail(ctx, DG_EINVAL, "errors: foreground IoU %g not in "
                        "(0, 1]", o->fg_iou);
    if (!(o->bg_iou > 0 && o->bg_iou <= o->fg_iou))
        return dg__fail(ctx, DG_EINVAL, "errors: background IoU %g not in "
                        "(0, %g]", o->bg_iou, o->fg_iou);
    if (isnan(o->conf) || o->conf == INFINITY)
        return dg__fail(ctx, DG_EINVAL, "errors: confidence %g is not a "
                        "finite number or -inf", o->conf);
    return DG_OK;
}

/* The result's arrays and the state of the pass: DG_ENOMEM when any fails. */
static dg_status tide_alloc(dg_ctx *ctx, tstate *S, tpass *P,
                            dg_tide_result *out, uint64_t n_det,
                            uint64_t n_gt)
{
    uint32_t K = S->K;
    out->count = dg__calloc(ctx, (size_t)K * DG_TIDE_N + 1, sizeof(uint64_t));
    out->class_ap = dg__alloc(ctx, (size_t)K + 1, sizeof(double));
    out->det_type = dg__alloc(ctx, n_det + 1, 1);
    out->label_type = dg__alloc(ctx, n_gt + 1, 1);
    S->d = dg__alloc(ctx, n_det + 1, sizeof(tdet));
    S->n_gt = dg__calloc(ctx, K + 1, sizeof(uint64_t));
    S->n_fn = dg__calloc(ctx, K + 1, sizeof(uint64_t));
    S->n_miss = dg__calloc(ctx, K + 1, sizeof(uint64_t));
    S->order = dg__alloc(ctx, K + 1, sizeof(uint32_t));
    S->seen = dg__calloc(ctx, K + 1, 1);
    S->pts = dg__alloc(ctx, n_det + 1, sizeof(point));
    S->prec = dg__alloc(ctx, n_det + 1, sizeof(double));
    S->rec = dg__alloc(ctx, n_det + 1, sizeof(double));
    S->gt_pos = dg__alloc(ctx, K + 1, sizeof(uint64_t));
    S->sc_order = dg__alloc(ctx, K + 1, sizeof(uint32_t));
    S->sc_seen = dg__alloc(ctx, K + 1, 1);
    S->cls_off = dg__alloc(ctx, K + 2, sizeof(uint64_t));
    S->has_tp = dg__calloc(ctx, K + 1, 1);
    S->fill = dg__alloc(ctx, K + 1, sizeof(uint64_t));
    S->base = dg__alloc(ctx, n_det + 1, sizeof(uint64_t));
    S->moved = dg__alloc(ctx, n_det + 1, sizeof(point));
    S->merge = dg__alloc(ctx, n_det + 1, sizeof(point));
    P->g_used = dg__calloc(ctx, n_gt + 1, 1);
    P->g_usable = dg__calloc(ctx, n_gt + 1, 1);
    P->g_best = dg__alloc(ctx, n_gt + 1, sizeof(double));
    P->g_best_seq = dg__alloc(ctx, n_gt + 1, sizeof(int64_t));
    if (!out->count || !out->class_ap || !out->det_type || !out->label_type ||
        !S->d || !S->n_gt || !S->n_fn || !S->n_miss || !S->order ||
        !S->seen || !S->pts || !S->prec || !S->rec || !S->gt_pos ||
        !S->sc_order || !S->sc_seen || !S->cls_off || !S->has_tp ||
        !S->fill || !S->base || !S->moved || !S->merge || !P->g_used ||
        !P->g_usable || !P->g_best || !P->g_best_seq)
        return DG_ENOMEM;
    memset(out->det_type, -1, n_det + 1);
    memset(out->label_type, -1, n_gt + 1);
    for (uint64_t g = 0; g < n_gt; g++) {
        P->g_best[g] = -1;
        P->g_best_seq[g] = -1;
    }
    return DG_OK;
}

static void tide_release(tstate *S, tpass *P)
{
    free(S->d);
    free(S->n_gt);
    free(S->n_fn);
    free(S->n_miss);
    free(S->order);
    free(S->seen);
    free(S->pts);
    free(S->prec);
    free(S->rec);
    free(S->gt_pos);
    free(S->sc_order);
    free(S->sc_seen);
    free(S->cls_off);
    free(S->has_tp);
    free(S->fill);
    free(S->base);
    free(S->moved);
    free(S->merge);
    free(P->fd);
    free(P->rg);
    free(P->ri);
    free(P->iou);
    free(P->row);
    free(P->g_used);
    free(P->g_usable);
    free(P->g_best);
    free(P->g_best_seq);
}

/*
 * The error type of unmatched detection t, whose IoUs with the frame's ng
 * (> 0) regular labels are iv; for Loc and Cls, t->gt gets the label.
 */
static int classify(tdet *t, const double *iv, size_t ng, const uint64_t *rg,
                    const dg_boxset *gt, const uint8_t *g_used, double *row,
                    double pos, double bg)
{
    size_t m;
    for (size_t j = 0; j < ng; j++)
        row[j] = gt->cls[rg[j]] == t->cls ? iv[j] : 0.0;
    m = argmax(row, ng);
    if (bg <= row[m] && row[m] <= pos) {
        t->gt = rg[m];
        return DG_TIDE_LOC;
    }
    for (size_t j = 0; j < ng; j++)
        row[j] = gt->cls[rg[j]] != t->cls ? iv[j] : 0.0;
    m = argmax(row, ng);
    if (row[m] >= pos) {
        t->gt = rg[m];
        return DG_TIDE_CLS;
    }
    for (size_t j = 0; j < ng; j++)
        row[j] = gt->cls[rg[j]] == t->cls && g_used[rg[j]] ? iv[j] : 0.0;
    m = argmax(row, ng);
    if (row[m] >= pos)
        return DG_TIDE_DUPE;
    m = argmax(iv, ng);
    return iv[m] <= bg ? DG_TIDE_BKG : DG_TIDE_BOTH;
}

/* A regular label left unmatched at the end of its frame. */
static void unmatched_label(tstate *S, tpass *P, const dg_boxset *gt,
                            uint64_t g, dg_tide_result *out)
{
    S->n_fn[gt->cls[g]]++;
    if (P->g_usable[g]) {
        out->fn_fixable++;
    } else {
        S->n_miss[gt->cls[g]]++;
        out->label_type[g] = DG_TIDE_MISS;
        out->count[(size_t)gt->cls[g] * DG_TIDE_N + DG_TIDE_MISS]++;
    }
}

/*
 * The frame's nd detections D against its ng regular labels (IoUs in
 * P->iou) and ni ignore regions: matching on the class-masked IoU, taken
 * labels zeroed; then an unmatched detection whose crowd IoU with an
 * ignore region of its class is > pos is ignored.
 */
static void match_frame(tpass *P, tdet *D, size_t nd, size_t ng, size_t ni,
                        const dg_boxset *gt, const dg_boxset *dt, double pos)
{
    const uint64_t *rg = P->rg, *ri = P->ri;
    const double *iou = P->iou;
    double *row = P->row;
    uint8_t *g_used = P->g_used;
    if (ng) {
        for (size_t i = 0; i < nd; i++) {
            for (size_t j = 0; j < ng; j++)
                row[j] = gt->cls[rg[j]] == D[i].cls && !g_used[rg[j]]
                             ? iou[i * ng + j]
                             : 0.0;
            size_t m = argmax(row, ng);
            if (row[m] >= pos) {
                D[i].used = 1;
                g_used[rg[m]] = 1;
            }
        }
    }
    for (size_t r = 0; r < ni; r++) {
        uint64_t g = ri[r];
        for (size_t i = 0; i < nd; i++) {
            if (D[i].used == 1 || D[i].cls != gt->cls[g])
                continue;
            uint64_t d = D[i].rec;
            if (dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d], gt->x[g],
                        gt->y[g], gt->w[g], gt->h[g], 1) > pos)
                D[i].used = -1;
        }
    }
}

/*
 * Frame f, as TIDERun._eval_image: its detections kept and sorted, its
 * labels split, the matching, the ignore regions, each unmatched
 * detection classified, the labels left over counted. -1 when memory runs
 * out.
 */
static int tide_frame(tstate *S, tpass *P, const dg_tide_opts *o,
                      const dg_boxset *gt, const dg_boxset *dt, uint32_t f,
                      dg_tide_result *out)
{
    const double pos = o->fg_iou, bg = o->bg_iou;
    uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
    uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
    size_t nd = 0, ng = 0, ni = 0;
    if ((size_t)(d1 - d0) > P->cap_d) {
        P->cap_d = (size_t)(d1 - d0) * 2 + 16;
        if (dg__grow((void **)&P->fd, P->cap_d, sizeof(*P->fd)) < 0)
            return -1;
    }
    if ((size_t)(g1 - g0) > P->cap_g) {
        P->cap_g = (size_t)(g1 - g0) * 2 + 16;
        if (dg__grow((void **)&P->rg, P->cap_g, sizeof(*P->rg)) < 0 ||
            dg__grow((void **)&P->ri, P->cap_g, sizeof(*P->ri)) < 0 ||
            dg__grow((void **)&P->row, P->cap_g, sizeof(double)) < 0)
            return -1;
    }
    sdet *fd = P->fd;
    uint64_t *rg = P->rg, *ri = P->ri;
    for (uint64_t d = d0; d < d1; d++)
        if (dt->score[d] >= o->conf)
            fd[nd++] = (sdet){dt->score[d], d};
    if (nd > 1) /* fd is NULL for a set without detections */
        qsort(fd, nd, sizeof(*fd), by_score);
    if (o->max_dets >= 0 && nd > (size_t)o->max_dets) {
        out->n_dropped += nd - (size_t)o->max_dets;
        nd = (size_t)o->max_dets;
    }
    for (uint64_t g = g0; g < g1; g++) {
        if (gt->iscrowd[g] || gt->ignore[g]) {
            ri[ni++] = g;
        } else {
            rg[ng++] = g;
            S->n_gt[gt->cls[g]]++;
            see(S, gt->cls[g]);
        }
    }
    out->n_gt += ng;
    out->n_det += nd;
    uint64_t seq0 = S->nd;
    for (size_t i = 0; i < nd; i++) {
        tdet *t = &S->d[S->nd++];
        t->rec = fd[i].rec;
        t->score = fd[i].score;
        t->cls = dt->cls[fd[i].rec];
        t->used = 0;
        t->err = -1;
        t->gt = 0;
        t->fix_ok = 0;
    }
    tdet *D = S->d + seq0;

    if (nd == 0) {
        for (size_t j = 0; j < ng; j++) {
            uint64_t g = rg[j];
            S->n_fn[gt->cls[g]]++;
            S->n_miss[gt->cls[g]]++;
            out->label_type[g] = DG_TIDE_MISS;
            out->count[(size_t)gt->cls[g] * DG_TIDE_N + DG_TIDE_MISS]++;
        }
        return 0;
    }

    if (nd * ng > P->cap_iou) {
        P->cap_iou = nd * ng * 2 + 64;
        if (dg__grow((void **)&P->iou, P->cap_iou, sizeof(double)) < 0)
            return -1;
    }
    double *iou = P->iou, *row = P->row;
    uint8_t *g_used = P->g_used;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d = D[i].rec;
        for (size_t j = 0; j < ng; j++) {
            uint64_t g = rg[j];
            iou[i * ng + j] =
                dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d], gt->x[g],
                        gt->y[g], gt->w[g], gt->h[g], 0);
        }
    }

    match_frame(P, D, nd, ng, ni, gt, dt, pos);

    for (size_t i = 0; i < nd; i++) {
        tdet *t = &D[i];
        if (t->used >= 0)
            see(S, t->cls);
        if (t->used == 1) {
            out->tp++;
            continue;
        }
        if (t->used == 0)
            out->fp++;
        else
            out->ignored++;
        int type = ng == 0 ? DG_TIDE_BKG
                           : classify(t, iou + i * ng, ng, rg, gt, g_used,
                                      row, pos, bg);
        t->err = (int8_t)type;
        out->det_type[t->rec] = (int8_t)type;
        out->count[(size_t)t->cls * DG_TIDE_N + (size_t)type]++;
        if ((type == DG_TIDE_LOC || type == DG_TIDE_CLS) && !g_used[t->gt]) {
            /* BestGTMatch: the first highest score wins the label. */
            P->g_usable[t->gt] = 1;
            if (P->g_best[t->gt] < t->score) {
                P->g_best[t->gt] = t->score;
                P->g_best_seq[t->gt] = (int64_t)(seq0 + i);
            }
        }
    }

    for (size_t j = 0; j < ng; j++)
        if (!g_used[rg[j]])
            unmatched_label(S, P, gt, rg[j], out);
    return 0;
}

/*
 * After the pass: which Cls/Loc errors win their label, now that every bid
 * is in; the totals.
 */
static void tide_resolve(tstate *S, const tpass *P, const dg_boxset *gt,
                         dg_tide_result *out)
{
    for (uint64_t s = 0; s < S->nd; s++) {
        tdet *t = &S->d[s];
        if (t->err == DG_TIDE_CLS || t->err == DG_TIDE_LOC) {
            t->fix_ok = !P->g_used[t->gt] &&
                        P->g_best_seq[t->gt] == (int64_t)s;
            if (t->err == DG_TIDE_CLS)
                t->gt = gt->cls[t->gt]; /* from here on: the class */
        }
    }
    for (uint32_t c = 0; c < S->K; c++) {
        out->fn += S->n_fn[c];
        for (int k = 0; k < DG_TIDE_N; k++)
            out->total[k] += out->count[(size_t)c * DG_TIDE_N + k];
    }
}

/* The AP of the run and what fixing each error type adds. */
static void tide_daps(tstate *S, dg_tide_result *out)
{
    /* Every detection by class, descending score, seq: the order all
     * scenarios start from. */
    for (uint64_t s = 0; s < S->nd; s++) {
        S->pts[s] = (point){S->d[s].score, s, S->d[s].cls, 0, 0};
        if (S->d[s].used == 1)
            S->has_tp[S->d[s].cls] = 1;
    }
    qsort(S->pts, S->nd, sizeof(*S->pts), by_point);
    for (uint64_t i = 0; i < S->nd; i++)
        S->base[i] = S->pts[i].seq;

    out->ap = scenario(S, SC_ORIG, 0, out->class_ap);
    for (int k = 0; k < DG_TIDE_N; k++) {
        double v = scenario(S, SC_FIX, k, NULL) - out->ap;
        out->dap[k] = isnan(v) ? NAN : v > 0 ? v : 0; /* NaN: no classes */
    }
    out->dap_fp = scenario(S, SC_FP, 0, NULL) - out->ap;
    out->dap_fn = scenario(S, SC_FN, 0, NULL) - out->ap;
}

dg_status dg_tide_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_tide_opts *opts, dg_tide_result *out)
{
    dg_tide_opts o;
    tstate S;
    tpass P;
    dg_status st = DG_OK;
    double t0 = dg__now();

    memset(&S, 0, sizeof(S));
    memset(&P, 0, sizeof(P));
    if (!out)
        return dg__fail(ctx, DG_EINVAL, "errors: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!p || !name)
        return dg__fail(ctx, DG_EINVAL, "errors: no project or name");
    if ((st = tide_options(ctx, opts, &o)) < 0)
        return st;

    const dg_boxset *gt, *dt;
    if ((st = dg__project_load_set(ctx, p, name, &gt, &dt)) < 0)
        return st;
    uint32_t K = dg__project_n_classes(p);
    S.K = K;

    out->n_classes = K;
    out->n_det_records = dt->n;
    out->n_label_records = gt->n;
    if ((st = tide_alloc(ctx, &S, &P, out, dt->n, gt->n)) < 0)
        goto out;
    uint32_t F = dg__project_n_frames(p);
    for (uint32_t f = 0; f < F; f++)
        if (tide_frame(&S, &P, &o, gt, dt, f, out) < 0) {
            st = DG_ENOMEM;
            goto out;
        }
    tide_resolve(&S, &P, gt, out);
    tide_daps(&S, out);
    out->conf = o.conf;
    out->fg_iou = o.fg_iou;
    out->bg_iou = o.bg_iou;
    out->max_dets = o.max_dets;
    out->seconds = dg__now() - t0;
out:
    if (st == DG_ENOMEM)
        dg__fail(ctx, st, "errors: out of memory");
    if (st < 0)
        dg_tide_result_release(out);
    tide_release(&S, &P);
    return st;
}

void dg_tide_result_release(dg_tide_result *r)
{
    if (!r)
        return;
    free(r->count);
    free(r->class_ap);
    free(r->det_type);
    free(r->label_type);
    memset(r, 0, sizeof(*r));
}
