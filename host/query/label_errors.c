/*
 * Likely labelling mistakes (include/detgrid/label_errors.h, docs/ERRORS.md).
 *
 * One pass over the frames. Per frame: the IoU of every detection with
 * every label (dg__iou, crowd IoU for crowd regions), eval's class-wise
 * greedy matching at t on that matrix (the rules of host/ref/match_ref.c,
 * so TP, FP and FN are those of `detgrid metrics`), then the candidates of
 * each kind. Spurious candidates are scored after the pass, when the
 * recall of every class and size is known. Each list is sorted by score
 * (ties: frame, label, detection) and cut to the limit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/label_errors.h"
#include "store.h"

static const char *const kind_names[DG_LE_N_KINDS] = {
    "missing", "wrong-class", "spurious", "low-conf-agreement", "bad-box"};

const char *dg_label_error_kind_name(dg_label_error_kind k)
{
    return (unsigned)k < DG_LE_N_KINDS ? kind_names[k] : NULL;
}

int dg_label_error_kind_parse(const char *name)
{
    for (int k = 0; name && k < DG_LE_N_KINDS; k++)
        if (!strcmp(name, kind_names[k]))
            return k;
    return -1;
}

typedef struct {
    dg_label_error *v;
    uint64_t n, cap;
} elist;

static int elist_push(elist *l, const dg_label_error *e)
{
    if (l->n == l->cap) {
        uint64_t cap = l->cap ? 2 * l->cap : 256;
        dg_label_error *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *e;
    return 0;
}

/* COCO's size buckets by area: small < 32^2 <= medium < 96^2 <= large. */
static int size_bucket(double area)
{
    return area < 1024 ? 0 : area < 9216 ? 1 : 2;
}

/* A detection of the frame in matching order. */
typedef struct {
    uint32_t cls;
    uint32_t local;
    double score;
} mdet;

static int by_class_score(const void *a, const void *b)
{
    const mdet *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->local < y->local ? -1 : x->local > y->local;
}

static int by_score_desc(const void *a, const void *b)
{
    const dg_label_error *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->frame != y->frame)
        return x->frame < y->frame ? -1 : 1;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->det < y->det ? -1 : x->det > y->det;
}

/* Per-frame scratch, grown as needed. */
typedef struct {
    size_t cap_d, cap_g, cap_iou;
    uint64_t *di;     /* detection record of each frame detection */
    mdet *ord;        /* matching order */
    uint8_t *status;  /* DG_FP, DG_TP, DG_IGN per frame detection */
    int64_t *dmatch;  /* local label matched, or -1 */
    double *maxany;   /* highest IoU with any label */
    uint8_t *cand;    /* missing candidate, then folded flag */
    uint32_t *support;
    int64_t *gmatch;  /* local detection matched, or -1 */
    uint8_t *taken;
    double *iou;      /* n_d x n_g */
} scratch;

static int scratch_fit(scratch *s, size_t nd, size_t ng)
{
    if (nd > s->cap_d) {
        size_t c = nd + nd / 2 + 16;
        if (dg__grow((void **)&s->di, c, sizeof(*s->di)) ||
            dg__grow((void **)&s->ord, c, sizeof(*s->ord)) ||
            dg__grow((void **)&s->status, c, 1) ||
            dg__grow((void **)&s->dmatch, c, sizeof(*s->dmatch)) ||
            dg__grow((void **)&s->maxany, c, sizeof(double)) ||
            dg__grow((void **)&s->cand, c, 1) ||
            dg__grow((void **)&s->support, c, sizeof(*s->support)))
            return -1;
        s->cap_d = c;
    }
    if (ng > s->cap_g) {
        size_t c = ng + ng / 2 + 16;
        if (dg__grow((void **)&s->gmatch, c, sizeof(*s->gmatch)) ||
            dg__grow((void **)&s->taken, c, 1))
            return -1;
        s->cap_g = c;
    }
    if (nd * ng > s->cap_iou) {
        size_t c = nd * ng + nd * ng / 2 + 64;
        if (dg__grow((void **)&s->iou, c, sizeof(double)))
            return -1;
        s->cap_iou = c;
    }
    return 0;
}

static void scratch_release(scratch *s)
{
    free(s->di);
    free(s->ord);
    free(s->status);
    free(s->dmatch);
    free(s->maxany);
    free(s->cand);
    free(s->support);
    free(s->gmatch);
    free(s->taken);
    free(s->iou);
    memset(s, 0, sizeof(*s));
}

static void set_box(double *v, const dg_boxset *b, uint64_t i)
{
    v[0] = b->x[i];
    v[1] = b->y[i];
    v[2] = b->w[i];
    v[3] = b->h[i];
}

static void entry_init(dg_label_error *e, dg_label_error_kind kind,
                       uint32_t frame)
{
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->frame = frame;
    e->label = -1;
    e->det = -1;
    e->conf = NAN;
    e->iou = NAN;
}

static void entry_label(dg_label_error *e, const dg_boxset *gt, uint64_t g)
{
    e->label = (int64_t)g;
    e->label_cls = gt->cls[g];
    set_box(e->label_box, gt, g);
}

static void entry_det(dg_label_error *e, const dg_boxset *dt, uint64_t d)
{
    e->det = (int64_t)d;
    e->det_cls = dt->cls[d];
    set_box(e->det_box, dt, d);
    e->conf = dt->score[d];
}

/* A spurious candidate waiting for the recall table. */
typedef struct {
    uint64_t label;
    double near; /* highest IoU of any detection */
} spur;

/* The state of one search: the lists, the frame scratch, the recall table. */
typedef struct {
    const dg_boxset *gt, *dt;
    unsigned kinds;
    double conf;
    double t, b;   /* IoU threshold and background IoU */
    double thr;    /* t as eval compares it */
    elist L[DG_LE_N_KINDS];
    scratch s;
    spur *sp;
    uint64_t n_sp, cap_sp;
    uint64_t *rc_tp, *rc_n; /* per class and size bucket: TP, labels */
    dg_label_errors_result *out;
} lestate;

void dg_label_errors_opts_init(dg_label_errors_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->bg_iou = 0.1;
}

/* The options with their defaults filled in, checked. */
static dg_status le_options(dg_ctx *ctx, const dg_project *p,
                            const dg_label_errors_opts *opts,
                            dg_label_errors_opts *o)
{
    if (opts)
        *o = *opts;
    else
        dg_label_errors_opts_init(o);
    if (o->iou == 0) {
        dg_project_info info;
        dg_project_get_info(p, &info);
        o->iou = info.default_iou;
    }
    if (o->bg_iou == 0)
        o->bg_iou = 0.1;
    if (!(o->iou > 0 && o->iou <= 1))
        return dg__fail(ctx, DG_EINVAL, "label errors: IoU %g not in (0, 1]",
                        o->iou);
    if (!(o->bg_iou > 0 && o->bg_iou < o->iou))
        return dg__fail(ctx, DG_EINVAL,
                        "label errors: background IoU %g not in (0, %g)",
                        o->bg_iou, o->iou);
    if (!isfinite(o->conf))
        return dg__fail(ctx, DG_EINVAL, "label errors: confidence %g is not "
                        "a finite number", o->conf);
    return DG_OK;
}

/*
 * The frame's detections with score >= conf into s.di (returns how many),
 * the IoU of every one with every label of any class, and each one's
 * highest.
 */
static size_t frame_pairs(lestate *E, uint64_t g0, size_t ng, uint64_t d0,
                          uint64_t d1)
{
    const dg_boxset *gt = E->gt, *dt = E->dt;
    scratch *s = &E->s;
    size_t nd = 0;
    for (uint64_t d = d0; d < d1; d++)
        if (dt->score[d] >= E->conf)
            s->di[nd++] = d;

    /* All pairs, any class. */
    for (size_t i = 0; i < nd; i++) {
        uint64_t d = s->di[i];
        double best = 0;
        for (size_t j = 0; j < ng; j++) {
            uint64_t g = g0 + j;
            double v = dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d],
                               gt->x[g], gt->y[g], gt->w[g], gt->h[g],
                               gt->iscrowd[g]);
            s->iou[i * ng + j] = v;
            if (v > best)
                best = v;
        }
        s->maxany[i] = best;
        s->status[i] = DG_FP;
        s->dmatch[i] = -1;
        s->ord[i].cls = dt->cls[d];
        s->ord[i].score = dt->score[d];
        s->ord[i].local = (uint32_t)i;
    }
    return nd;
}

/*
 * eval's matching: per class, detections by score; ground truths regular
 * first, then ignored, each in record order; the last of the highest IoU
 * >= thr among those not taken (crowd regions may be taken again); no
 * ignored one once a regular one is held.
 */
static void frame_match(lestate *E, uint64_t g0, size_t ng, size_t nd)
{
    const dg_boxset *gt = E->gt;
    scratch *s = &E->s;
    /* The scratch arrays are NULL while empty: no memset or qsort on
     * NULL, even of nothing (UBSan). */
    if (ng)
        memset(s->taken, 0, ng);
    for (size_t j = 0; j < ng; j++)
        s->gmatch[j] = -1;
    if (nd > 1)
        qsort(s->ord, nd, sizeof(*s->ord), by_class_score);
    for (size_t k = 0; k < nd; k++) {
        uint32_t i = s->ord[k].local, c = s->ord[k].cls;
        double best = E->thr;
        int64_t m = -1;
        for (int pass = 0; pass < 2 && !(pass == 1 && m >= 0); pass++)
            for (size_t j = 0; j < ng; j++) {
                uint64_t g = g0 + j;
                int ig = gt->iscrowd[g] || gt->ignore[g];
                if (gt->cls[g] != c || ig != pass)
                    continue;
                if (s->taken[j] && !gt->iscrowd[g])
                    continue;
                double v = s->iou[(size_t)i * ng + j];
                if (v < best)
                    continue;
                best = v;
                m = (int64_t)j;
            }
        if (m < 0)
            continue;
        uint64_t g = g0 + (uint64_t)m;
        s->taken[m] = 1;
        s->dmatch[i] = m;
        if (gt->iscrowd[g] || gt->ignore[g]) {
            s->status[i] = DG_IGN;
        } else {
            s->status[i] = DG_TP;
            s->gmatch[m] = (int64_t)i;
        }
    }
    for (size_t i = 0; i < nd; i++) {
        if (s->status[i] == DG_TP)
            E->out->tp++;
        else if (s->status[i] == DG_FP)
            E->out->fp++;
    }
}

/*
 * Missing labels: false positives whose IoU with every label of any class
 * is below b. The most confident stands for those that overlap it at IoU
 * >= t (its duplicates, whatever their class). -1 when memory runs out.
 */
static int frame_missing(lestate *E, uint32_t f, size_t nd)
{
    const dg_boxset *dt = E->dt;
    scratch *s = &E->s;
    for (size_t k = 0; k < nd; k++) {
        s->cand[k] = s->status[k] == DG_FP && s->maxany[k] < E->b;
        s->support[k] = 1;
    }
    /* ord is by class then score; walk by score over classes. */
    for (;;) {
        int64_t top = -1;
        for (size_t k = 0; k < nd; k++)
            if (s->cand[k] == 1 &&
                (top < 0 ||
                 dt->score[s->di[k]] > dt->score[s->di[(size_t)top]]))
                top = (int64_t)k;
        if (top < 0)
            break;
        uint64_t dtop = s->di[top];
        s->cand[top] = 2; /* kept */
        for (size_t k = 0; k < nd; k++) {
            uint64_t d = s->di[k];
            if (s->cand[k] != 1)
                continue;
            if (dg__iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d], dt->x[dtop],
                        dt->y[dtop], dt->w[dtop], dt->h[dtop], 0) >= E->t) {
                s->cand[k] = 3; /* folded */
                s->support[top]++;
            }
        }
    }
    for (size_t k = 0; k < nd; k++) {
        if (s->cand[k] != 2)
            continue;
        dg_label_error e;
        entry_init(&e, DG_LE_MISSING, f);
        entry_det(&e, dt, s->di[k]);
        e.iou = s->maxany[k];
        e.aux = s->support[k];
        e.score = e.conf * (1 - s->maxany[k]);
        if (elist_push(&E->L[DG_LE_MISSING], &e) < 0)
            return -1;
    }
    return 0;
}

/*
 * An unmatched label g (local j). Wrong class: the most confident false
 * positive of another class with IoU >= t. Bad box: the most confident
 * false positive of its class with IoU in [b, t). Otherwise a spurious
 * candidate. -1 when memory runs out.
 */
static int unmatched_label(lestate *E, uint32_t f, uint64_t g, size_t j,
                           size_t ng, size_t nd)
{
    const dg_boxset *gt = E->gt, *dt = E->dt;
    scratch *s = &E->s;
    uint32_t c = gt->cls[g];
    int64_t wc = -1, bb = -1;
    double wc_s = -1, bb_c = -1, bb_iou = 0, near = 0;
    dg_label_error e;
    for (size_t i = 0; i < nd; i++) {
        double v = s->iou[i * ng + j];
        if (v > near)
            near = v;
        if (s->status[i] != DG_FP)
            continue;
        double cf = dt->score[s->di[i]];
        if (dt->cls[s->di[i]] != c) {
            if (v >= E->thr && cf > wc_s) {
                wc_s = cf;
                wc = (int64_t)i;
            }
        } else if (v >= E->b && (cf > bb_c || (cf == bb_c && v > bb_iou))) {
            bb_c = cf;
            bb_iou = v;
            bb = (int64_t)i;
        }
    }
    if (wc >= 0) {
        if (!(E->kinds & (1u << DG_LE_WRONG_CLASS)))
            return 0;
        entry_init(&e, DG_LE_WRONG_CLASS, f);
        entry_label(&e, gt, g);
        entry_det(&e, dt, s->di[wc]);
        e.iou = s->iou[(size_t)wc * ng + j];
        e.score = wc_s;
        return elist_push(&E->L[DG_LE_WRONG_CLASS], &e);
    }
    if (bb >= 0) {
        if (!(E->kinds & (1u << DG_LE_BAD_BOX)))
            return 0;
        entry_init(&e, DG_LE_BAD_BOX, f);
        entry_label(&e, gt, g);
        entry_det(&e, dt, s->di[bb]);
        e.iou = bb_iou;
        e.score = bb_c;
        return elist_push(&E->L[DG_LE_BAD_BOX], &e);
    }
    if (E->kinds & (1u << DG_LE_SPURIOUS)) {
        if (E->n_sp == E->cap_sp) {
            E->cap_sp = E->cap_sp ? 2 * E->cap_sp : 256;
            if (dg__grow((void **)&E->sp, E->cap_sp, sizeof(*E->sp)) < 0)
                return -1;
        }
        E->sp[E->n_sp].label = g;
        E->sp[E->n_sp].near = near;
        E->n_sp++;
    }
    return 0;
}

/*
 * Per regular label of the frame: the recall table, low-confidence
 * agreements for matched ones, the rest for unmatched ones. -1 when memory
 * runs out.
 */
static int frame_labels(lestate *E, uint32_t f, uint64_t g0, size_t ng,
                        size_t nd)
{
    const dg_boxset *gt = E->gt, *dt = E->dt;
    scratch *s = &E->s;
    for (size_t j = 0; j < ng; j++) {
        uint64_t g = g0 + j;
        if (gt->iscrowd[g] || gt->ignore[g])
            continue;
        uint32_t c = gt->cls[g];
        double area = gt->area ? gt->area[g] : gt->w[g] * gt->h[g];
        size_t cell = (size_t)c * 3 + (size_t)size_bucket(area);
        E->rc_n[cell]++;
        if (s->gmatch[j] >= 0) {
            size_t i = (size_t)s->gmatch[j];
            E->rc_tp[cell]++;
            if (!(E->kinds & (1u << DG_LE_LOW_CONF_AGREEMENT)))
                continue;
            dg_label_error e;
            entry_init(&e, DG_LE_LOW_CONF_AGREEMENT, f);
            entry_label(&e, gt, g);
            entry_det(&e, dt, s->di[i]);
            e.iou = s->iou[i * ng + j];
            e.score = 1 - e.conf;
            if (elist_push(&E->L[DG_LE_LOW_CONF_AGREEMENT], &e) < 0)
                return -1;
            continue;
        }
        E->out->fn++;
        if (unmatched_label(E, f, g, j, ng, nd) < 0)
            return -1;
    }
    return 0;
}

/* Frame f: pairs, matching, candidates. -1 when memory runs out. */
static int le_frame(lestate *E, uint32_t f)
{
    const dg_boxset *gt = E->gt, *dt = E->dt;
    uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
    uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
    size_t ng = (size_t)(g1 - g0);
    if (scratch_fit(&E->s, (size_t)(d1 - d0), ng) < 0)
        return -1;
    size_t nd = frame_pairs(E, g0, ng, d0, d1);
    frame_match(E, g0, ng, nd);
    if ((E->kinds & (1u << DG_LE_MISSING)) && frame_missing(E, f, nd) < 0)
        return -1;
    return frame_labels(E, f, g0, ng, nd);
}

/*
 * Spurious labels: the recall of the label's class and size (Laplace
 * smoothed) says how rarely the model misses such an object; the highest
 * IoU of any detection says how empty the region is. -1 when memory runs
 * out.
 */
static int score_spurious(lestate *E)
{
    const dg_boxset *gt = E->gt;
    for (uint64_t k = 0; k < E->n_sp; k++) {
        uint64_t g = E->sp[k].label;
        double area = gt->area ? gt->area[g] : gt->w[g] * gt->h[g];
        size_t cell = (size_t)gt->cls[g] * 3 + (size_t)size_bucket(area);
        double r =
            (double)(E->rc_tp[cell] + 1) / (double)(E->rc_n[cell] + 2);
        dg_label_error e;
        entry_init(&e, DG_LE_SPURIOUS, gt->frame[g]);
        entry_label(&e, gt, g);
        e.iou = E->sp[k].near;
        e.aux = r;
        e.score = r * (1 - E->sp[k].near);
        if (elist_push(&E->L[DG_LE_SPURIOUS], &e) < 0)
            return -1;
    }
    return 0;
}

/* Each list sorted by score, cut to limit and handed to out. */
static void finish_lists(lestate *E, uint64_t limit)
{
    dg_label_errors_result *out = E->out;
    for (int k = 0; k < DG_LE_N_KINDS; k++) {
        elist *l = &E->L[k];
        out->n_candidates[k] = l->n;
        if (l->n > 1)
            qsort(l->v, l->n, sizeof(*l->v), by_score_desc);
        if (limit && l->n > limit)
            l->n = limit;
        if (!l->n) {
            free(l->v);
            l->v = NULL;
        }
        out->list[k] = l->v;
        out->n[k] = l->n;
        l->v = NULL;
    }
}

dg_status dg_label_errors_evaluate(dg_ctx *ctx, dg_project *p,
                                   const char *name,
                                   const dg_label_errors_opts *opts,
                                   dg_label_errors_result *out)
{
    dg_label_errors_opts o;
    lestate E;
    dg_status st = DG_OK;
    double t0 = dg__now();

    memset(&E, 0, sizeof(E));
    if (!out)
        return dg__fail(ctx, DG_EINVAL, "label errors: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!p || !name)
        return dg__fail(ctx, DG_EINVAL, "label errors: no project or name");
    if ((st = le_options(ctx, p, opts, &o)) < 0)
        return st;
    E.kinds = o.kinds ? o.kinds : (1u << DG_LE_N_KINDS) - 1;

    if ((st = dg__project_load_set(ctx, p, name, &E.gt, &E.dt)) < 0)
        return st;
    if (E.gt->n > INT32_MAX || E.dt->n > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE,
                        "label errors: more than 2^31 boxes in a set");
    E.out = out;
    E.conf = o.conf;
    E.t = o.iou;
    E.b = o.bg_iou;
    E.thr = E.t < 1 - 1e-10 ? E.t : 1 - 1e-10; /* as eval */
    uint32_t K = dg__project_n_classes(p);
    E.rc_tp = dg__calloc(ctx, (size_t)K * 3 + 1, sizeof(*E.rc_tp));
    E.rc_n = dg__calloc(ctx, (size_t)K * 3 + 1, sizeof(*E.rc_n));
    if (!E.rc_tp || !E.rc_n) {
        st = DG_ENOMEM;
        goto out;
    }

    uint32_t F = dg__project_n_frames(p);
    for (uint32_t f = 0; f < F; f++)
        if (le_frame(&E, f) < 0)
            goto oom;
    if (score_spurious(&E) < 0)
        goto oom;
    finish_lists(&E, o.limit);
    out->iou = E.t;
    out->bg_iou = E.b;
    out->conf = o.conf;
    out->seconds = dg__now() - t0;
    goto out;
oom:
    st = dg__fail(ctx, DG_ENOMEM, "label errors: out of memory");
out:
    for (int k = 0; k < DG_LE_N_KINDS; k++)
        free(E.L[k].v);
    if (st < 0)
        dg_label_errors_result_release(out);
    scratch_release(&E.s);
    free(E.sp);
    free(E.rc_tp);
    free(E.rc_n);
    return st;
}

void dg_label_errors_result_release(dg_label_errors_result *r)
{
    if (!r)
        return;
    for (int k = 0; k < DG_LE_N_KINDS; k++)
        free(r->list[k]);
    memset(r, 0, sizeof(*r));
}

int dg_label_error_describe(const dg_project *p, const dg_label_error *e,
                            char *buf, size_t cap)
{
    uint32_t nc = dg__project_n_classes(p);
    char *const *names = dg__project_class_names(p);
    const char *lc =
        e->label >= 0 && e->label_cls < nc ? names[e->label_cls] : "?";
    const char *dc = e->det >= 0 && e->det_cls < nc ? names[e->det_cls] : "?";
    switch (e->kind) {
    case DG_LE_MISSING:
        if (e->aux > 1)
            return snprintf(buf, cap,
                            "detection '%s' %.3f overlaps no label (max IoU "
                            "%.2f); %.0f detections there",
                            dc, e->conf, e->iou, e->aux);
        return snprintf(buf, cap,
                        "detection '%s' %.3f overlaps no label (max IoU %.2f)",
                        dc, e->conf, e->iou);
    case DG_LE_WRONG_CLASS:
        return snprintf(buf, cap,
                        "detection '%s' %.3f covers label '%s' (IoU %.2f); no "
                        "'%s' detection matches it",
                        dc, e->conf, lc, e->iou, lc);
    case DG_LE_SPURIOUS:
        return snprintf(buf, cap,
                        "no detection near label '%s' (max IoU %.2f); the "
                        "model finds %.0f%% of such labels",
                        lc, e->iou, 100 * e->aux);
    case DG_LE_LOW_CONF_AGREEMENT:
        return snprintf(buf, cap,
                        "label '%s' is matched only by a %.3f detection "
                        "(IoU %.2f)",
                        lc, e->conf, e->iou);
    case DG_LE_BAD_BOX:
        return snprintf(buf, cap,
                        "detection '%s' %.3f overlaps label '%s' at IoU %.2f "
                        "only",
                        dc, e->conf, lc, e->iou);
    default:
        break;
    }
    if (cap)
        buf[0] = 0;
    return 0;
}
