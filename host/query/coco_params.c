/*
 * The COCO protocol with changed params (dg_coco_params): pycocotools'
 * evaluate(), accumulate() and summarize() for any iouThrs, recThrs,
 * maxDets, areaRng, areaRngLbl, catIds, imgIds and useCats, bit for bit.
 * The fast path of coco.c keeps the default sizes (10 x 101 x 4 x 3) in
 * its data layout; this one takes any, written plainly:
 *
 *   1. Resolve the params as evaluate() does: maxDets sorted, imgIds and
 *      (with useCats) catIds sorted and made unique; images map to frames
 *      by image id (frame_num), categories to classes by class id.
 *   2. Groups: per image in order, per category in order (one category of
 *      every listed class without useCats), the detections in input order
 *      (without useCats: list order, then input order) stably sorted by
 *      descending score and cut to maxDets[-1]; the labels likewise in
 *      input order. Those are evaluateImg's dt and gt lists.
 *   3. Match each group once per area range with the engine's matcher (the
 *      device or the reference, evaluateImg's rules: see eval.h), one
 *      "frame" per group, labels outside the range marked ignored; an
 *      unmatched detection outside the range is ignored too.
 *   4. Accumulate per category: its detections over the images in order,
 *      stably sorted by descending score (accumulate()'s mergesort; the
 *      first maxDets[m] of each image are a subsequence of it), and per
 *      (area range, maxDets, threshold) the curve literally as
 *      accumulate() computes it, for any recall thresholds.
 *   5. Summarize with summarize()'s lookups (coco.h lists them).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coco_impl.h"

#define NONE UINT32_MAX

/* pycocotools' Params defaults for an iou type: setDetParams (bbox,
 * segm; faster-coco-eval's boundary too) and setKpParams (keypoints). */
typedef struct type_defaults {
    uint32_t A, M;
    double rng[NA][2];
    int64_t md[NM];
    const char *lbl[NA];
} type_defaults;

static const type_defaults det_defaults = {
    4, 3, {{0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}},
    {1, 10, 100}, {"all", "small", "medium", "large"}};
static const type_defaults kp_defaults = {
    3, 1, {{0.0, 1e10}, {1024.0, 9216.0}, {9216.0, 1e10}, {0.0, 0.0}},
    {20, 0, 0}, {"all", "medium", "large", NULL}};

static const type_defaults *defaults_for(const dg_coco_opts *o)
{
    return o->iou_type == DG_COCO_KEYPOINTS ? &kp_defaults : &det_defaults;
}

/* np.spacing(1): the distance from 1.0 to the next double. */
#define EPS_1 2.220446049250313080847263336181640625e-16

typedef struct gp_state {
    dg_ctx *ctx;
    dg_project *p;
    const dg_boxset *gt, *dt;
    int use_ignore, use_cats, n_threads, iou_type;
    /* Masks and keypoints of the labels and the set (NULL: none). */
    const dg_shapes *gsh, *dsh;
    /* Per box of w and g: its index in the set and in the labels. */
    uint32_t *w_src, *g_src;
    /* With masks or keypoints: the IoUs of each group, as coco_state's
     * (coco_impl.h), NULL for boxes. */
    double *tile;
    uint64_t *tile_off;
    uint32_t T, R, A, M, K;
    int64_t keep;          /* maxDets[-1] */
    /* Class c's positions in the category list: pos[pos_off[c] ..]. */
    uint32_t *pos_off, *pos;
    uint32_t I;
    uint32_t *img_frame;   /* I: frames in evaluation order */
    /* Groups: dets w[gdoff[q] ..) in rank order, labels g[ggoff[q] ..). */
    uint32_t n_grp, grp_cap;
    uint64_t *gdoff, *ggoff;
    uint32_t *grp_k;
    dg_boxset w, g;
    uint8_t *ign;          /* A x g.n: ignored in area range a */
    uint8_t *st;           /* A x T x w.n: DG_TP, DG_FP or DG_IGN */
    uint64_t *npig;        /* K x A */
    uint32_t *kq_off, *kq; /* the groups of category k */
    dg_engine *engine;
    /* workers */
    atomic_uint next;
    atomic_int failed;
    pthread_mutex_t lock;
    dg_status wst;
    char err[DG_ERR_CAP];
    dg_coco_result *out;
} gp_state;

static void gp_fail(gp_state *s, dg_status st, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    if (s->wst >= 0) {
        s->wst = st;
        snprintf(s->err, sizeof(s->err), "%s", msg);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->failed, 1);
}

static uint64_t off_of(const dg_boxset *b, uint32_t f)
{
    return b->frame_off ? b->frame_off[f] : 0;
}

dg_status dg__coco_result_params(dg_ctx *ctx, dg_coco_result *r, uint32_t T,
                                 uint32_t R, int A, int M)
{
    r->n_iou = T;
    r->n_rec = R;
    r->n_area = A;
    r->n_max_dets = M;
    r->iou = dg__alloc(ctx, T ? T : 1, sizeof(*r->iou));
    r->rec = dg__alloc(ctx, R ? R : 1, sizeof(*r->rec));
    r->max_dets = dg__alloc(ctx, M ? (size_t)M : 1, sizeof(*r->max_dets));
    r->area_rng = dg__alloc(ctx, A ? (size_t)A : 1, sizeof(*r->area_rng));
    if (!r->iou || !r->rec || !r->max_dets || !r->area_rng)
        return DG_ENOMEM;
    return DG_OK;
}

dg_status dg__coco_result_labels(dg_ctx *ctx, dg_coco_result *r,
                                 const char *const *lbl, uint32_t n_lbl)
{
    /* One block: n_area pointers, then the strings they point to. */
    uint32_t A = r->n_area > 0 ? (uint32_t)r->n_area : 0;
    size_t bytes = (size_t)(A ? A : 1) * sizeof(char *);
    for (uint32_t a = 0; a < A && a < n_lbl; a++)
        bytes += lbl[a] ? strlen(lbl[a]) + 1 : 0;
    char *blk = dg__alloc(ctx, bytes, 1);
    if (!blk)
        return DG_ENOMEM;
    const char **ptr = (const char **)(void *)blk;
    char *str = blk + (size_t)(A ? A : 1) * sizeof(char *);
    for (uint32_t a = 0; a < A; a++) {
        ptr[a] = NULL;
        if (a < n_lbl && lbl[a]) {
            size_t len = strlen(lbl[a]) + 1;
            memcpy(str, lbl[a], len);
            ptr[a] = str;
            str += len;
        }
    }
    r->area_lbl = ptr;
    return DG_OK;
}

/* ---- step 1: the params ------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted unique copy of v[0..n) into *out (malloc'd), its length in *m. */
static dg_status sorted_unique(dg_ctx *ctx, const int64_t *v, uint32_t n,
                               int64_t **out, uint32_t *m)
{
    int64_t *u = dg__alloc(ctx, n ? n : 1, sizeof(*u));
    if (!u)
        return DG_ENOMEM;
    if (n)
        memcpy(u, v, (size_t)n * sizeof(*u));
    qsort(u, n, sizeof(*u), cmp_i64);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (i == 0 || u[i] != u[k - 1])
            u[k++] = u[i];
    *out = u;
    *m = k;
    return DG_OK;
}

/* The thresholds the fast path uses for opts (numpy's or exact). */
static double default_iou(const dg_coco_opts *o, int t)
{
    return o && o->exact_iou ? (double)(50 + 5 * t) / 100.0
                             : dg__np_linspace(0.5, 0.95, NT, t);
}

typedef struct id_idx {
    int64_t id;
    uint32_t idx;
} id_idx;

static int cmp_id_idx(const void *a, const void *b)
{
    const id_idx *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The first entry of the sorted v[0..n) whose id is not below id. */
static size_t lower_bound(const id_idx *v, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The frames by ascending image id (index on ties): what the fast path
 * evaluates, and what img_ids are looked up in. */
static dg_status frames_by_id(dg_ctx *ctx, const dg_project *p, id_idx **out)
{
    uint32_t F = dg__project_n_frames(p);
    id_idx *v = dg__alloc(ctx, F ? F : 1, sizeof(*v));
    if (!v)
        return DG_ENOMEM;
    for (uint32_t f = 0; f < F; f++) {
        v[f].id = dg_project_frame_num(p, f);
        v[f].idx = f;
    }
    qsort(v, F, sizeof(*v), cmp_id_idx);
    *out = v;
    return DG_OK;
}

/* The project's class ids, sorted and made unique. */
static dg_status class_ids(dg_ctx *ctx, const dg_project *p, int64_t **out,
                           uint32_t *n)
{
    uint32_t C = dg__project_n_classes(p);
    int64_t *v = dg__alloc(ctx, C ? C : 1, sizeof(*v));
    if (!v)
        return DG_ENOMEM;
    for (uint32_t c = 0; c < C; c++)
        v[c] = dg_project_class_id(p, c);
    dg_status st = sorted_unique(ctx, v, C, out, n);
    free(v);
    return st;
}

/* Whether the sorted unique ids equal the sorted unique list given. */
static dg_status same_set(dg_ctx *ctx, const int64_t *all, uint32_t n_all,
                          const int64_t *given, uint32_t n_given, int *same)
{
    int64_t *u;
    uint32_t m;
    dg_status st = sorted_unique(ctx, given, n_given, &u, &m);
    if (st < 0)
        return st;
    *same = m == n_all && (!m || !memcmp(u, all, (size_t)m * sizeof(*u)));
    free(u);
    return DG_OK;
}

dg_status dg__coco_params_default(dg_ctx *ctx, dg_project *p,
                                  const dg_coco_opts *opts, int *dflt)
{
    const dg_coco_params *pa = opts->params;
    const type_defaults *dd = defaults_for(opts);
    dg_status st = DG_OK;
    *dflt = 0;
    if (!pa->use_cats)
        return DG_OK;
    if (pa->iou_thrs) {
        if (pa->n_iou != NT)
            return DG_OK;
        for (int t = 0; t < NT; t++)
            if (pa->iou_thrs[t] != default_iou(opts, t))
                return DG_OK;
    }
    if (pa->rec_thrs) {
        if (pa->n_rec != NR)
            return DG_OK;
        for (int r = 0; r < NR; r++)
            if (pa->rec_thrs[r] != dg__np_linspace(0.0, 1.0, NR, r))
                return DG_OK;
    }
    if (pa->max_dets) {
        int64_t md[NM];
        if (pa->n_max_dets != dd->M)
            return DG_OK;
        memcpy(md, pa->max_dets, dd->M * sizeof(*md));
        qsort(md, dd->M, sizeof(*md), cmp_i64);
        for (uint32_t m = 0; m < dd->M; m++)
            if (md[m] != dd->md[m])
                return DG_OK;
    }
    if (pa->area_rng) {
        if (pa->n_area != dd->A)
            return DG_OK;
        for (uint32_t a = 0; a < dd->A; a++)
            if (pa->area_rng[2 * a] != dd->rng[a][0] ||
                pa->area_rng[2 * a + 1] != dd->rng[a][1])
                return DG_OK;
    }
    if (pa->area_lbl) {
        if (pa->n_area_lbl != dd->A)
            return DG_OK;
        for (uint32_t a = 0; a < dd->A; a++)
            if (!pa->area_lbl[a] || strcmp(pa->area_lbl[a], dd->lbl[a]))
                return DG_OK;
    }
    int same = 1;
    if (pa->cat_ids) {
        int64_t *ids;
        uint32_t n;
        if ((st = class_ids(ctx, p, &ids, &n)) < 0)
            return st;
        /* Classes sharing an id would be one category here. */
        st = n == dg__project_n_classes(p)
                 ? same_set(ctx, ids, n, pa->cat_ids, pa->n_cat_ids, &same)
                 : DG_OK;
        same = same && n == dg__project_n_classes(p);
        free(ids);
        if (st < 0 || !same)
            return st;
    }
    if (pa->img_ids) {
        uint32_t F = dg__project_n_frames(p);
        id_idx *fr;
        int64_t *ids = dg__alloc(ctx, F ? F : 1, sizeof(*ids));
        if (!ids || (st = frames_by_id(ctx, p, &fr)) < 0) {
            free(ids);
            return ids ? st : DG_ENOMEM;
        }
        for (uint32_t i = 0; i < F; i++) {
            ids[i] = fr[i].id;
            /* A frame without an image id, or a repeated one, is not
             * the fast path's "every image". */
            if (ids[i] < 0 || (i && ids[i] == ids[i - 1]))
                same = 0;
        }
        if (same)
            st = same_set(ctx, ids, F, pa->img_ids, pa->n_img_ids, &same);
        free(ids);
        free(fr);
        if (st < 0 || !same)
            return st;
    }
    *dflt = 1;
    return DG_OK;
}

static dg_status resolve_thresholds(gp_state *s, const dg_coco_opts *o)
{
    dg_ctx *ctx = s->ctx;
    const dg_coco_params *pa = o->params;
    dg_coco_result *r = s->out;
    uint32_t T = pa->iou_thrs ? pa->n_iou : NT;
    uint32_t R = pa->rec_thrs ? pa->n_rec : NR;
    const type_defaults *dd = defaults_for(o);
    uint32_t A = pa->area_rng ? pa->n_area : dd->A;
    uint32_t M = pa->max_dets ? pa->n_max_dets : dd->M;
    dg_status st;
    if (T > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(ctx, DG_ERANGE, "coco: %" PRIu32 " IoU thresholds; "
                        "at most %d", T, DG_MAX_IOU_THRESHOLDS);
    if (A > INT_MAX / 2 || M > INT_MAX / 2)
        return dg__fail(ctx, DG_ERANGE, "coco: too many area ranges or "
                        "maxDets");
    if (M == 0)
        return dg__fail(ctx, DG_EINVAL, "coco: params: maxDets is empty "
                        "(pycocotools needs maxDets[-1])");
    if ((st = dg__coco_result_params(ctx, r, T, R, (int)A, (int)M)) < 0 ||
        (st = dg__coco_result_labels(
             ctx, r, pa->area_lbl ? pa->area_lbl : dd->lbl,
             pa->area_lbl ? pa->n_area_lbl : dd->A)) < 0)
        return st;
    r->iou_type = o->iou_type;
    r->n_stats = o->iou_type == DG_COCO_KEYPOINTS ? 10 : DG_COCO_N_STATS;
    for (uint32_t t = 0; t < T; t++) {
        r->iou[t] = pa->iou_thrs ? pa->iou_thrs[t] : default_iou(o, (int)t);
        if (isnan(r->iou[t]))
            return dg__fail(ctx, DG_EINVAL, "coco: params: iouThrs[%" PRIu32
                            "] is not a number", t);
    }
    for (uint32_t i = 0; i < R; i++)
        r->rec[i] = pa->rec_thrs ? pa->rec_thrs[i]
                                 : dg__np_linspace(0.0, 1.0, NR, (int)i);
    for (uint32_t a = 0; a < A; a++) {
        r->area_rng[a][0] = pa->area_rng ? pa->area_rng[2 * a]
                                         : dd->rng[a][0];
        r->area_rng[a][1] = pa->area_rng ? pa->area_rng[2 * a + 1]
                                         : dd->rng[a][1];
    }
    int64_t *md = dg__alloc(ctx, M, sizeof(*md));
    if (!md)
        return DG_ENOMEM;
    for (uint32_t m = 0; m < M; m++)
        md[m] = pa->max_dets ? pa->max_dets[m] : dd->md[m];
    qsort(md, M, sizeof(*md), cmp_i64);
    for (uint32_t m = 0; m < M; m++) {
        if (md[m] < 0 || md[m] > INT_MAX) {
            int64_t v = md[m];
            free(md);
            return dg__fail(ctx, DG_EINVAL, "coco: params: maxDets value %"
                            PRId64 " is not in [0, %d]", v, INT_MAX);
        }
        r->max_dets[m] = (int)md[m];
    }
    free(md);
    s->T = T;
    s->R = R;
    s->A = A;
    s->M = M;
    s->keep = r->max_dets[M - 1];
    return DG_OK;
}

/*
 * Categories: with use_cats the sorted unique list, each class at the
 * position of its id; without, the list as given (or every class id,
 * sorted), each class at every position of its id, in one category.
 */
static dg_status resolve_categories(gp_state *s, const dg_coco_params *pa)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    dg_coco_result *r = s->out;
    uint32_t C = dg__project_n_classes(p);
    int64_t *list = NULL;
    uint32_t n = 0;
    id_idx *byid = NULL;
    dg_status st;
    if (!pa->cat_ids)
        st = class_ids(ctx, p, &list, &n);
    else if (s->use_cats)
        st = sorted_unique(ctx, pa->cat_ids, pa->n_cat_ids, &list, &n);
    else if ((list = dg__alloc(ctx, pa->n_cat_ids ? pa->n_cat_ids : 1,
                               sizeof(*list)))) {
        n = pa->n_cat_ids;
        if (n)
            memcpy(list, pa->cat_ids, (size_t)n * sizeof(*list));
        st = DG_OK;
    } else {
        st = DG_ENOMEM;
    }
    if (st < 0)
        return st;
    s->K = s->use_cats ? n : 1;
    r->n_cats = s->K;
    r->cat_class = dg__alloc(ctx, s->K ? s->K : 1, sizeof(*r->cat_class));
    r->cat_ids = dg__alloc(ctx, s->K ? s->K : 1, sizeof(*r->cat_ids));
    s->pos_off = dg__calloc(ctx, (size_t)C + 1, sizeof(*s->pos_off));
    byid = dg__alloc(ctx, n ? n : 1, sizeof(*byid));
    if (!r->cat_class || !r->cat_ids || !s->pos_off || !byid) {
        st = DG_ENOMEM;
        goto out;
    }
    if (!s->use_cats) {
        r->cat_class[0] = NONE;
        r->cat_ids[0] = -1;
    }
    for (uint32_t j = 0; j < n; j++) {
        byid[j].id = list[j];
        byid[j].idx = j;
        if (s->use_cats) {
            r->cat_ids[j] = list[j];
            r->cat_class[j] = NONE;
        }
    }
    qsort(byid, n, sizeof(*byid), cmp_id_idx);
    /* Two passes over the classes: count their positions, then list them
     * (ascending, as byid holds them). */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t c = 0; c < C; c++) {
            int64_t id = dg_project_class_id(p, c);
            uint32_t o = pass ? s->pos_off[c] : 0;
            size_t i = lower_bound(byid, n, id);
            for (; i < n && byid[i].id == id; i++) {
                if (pass) {
                    s->pos[o++] = byid[i].idx;
                    if (s->use_cats && r->cat_class[byid[i].idx] == NONE)
                        r->cat_class[byid[i].idx] = c;
                } else {
                    s->pos_off[c + 1]++;
                }
            }
        }
        if (!pass) {
            for (uint32_t c = 0; c < C; c++)
                s->pos_off[c + 1] += s->pos_off[c];
            s->pos = dg__alloc(ctx, s->pos_off[C] ? s->pos_off[C] : 1,
                               sizeof(*s->pos));
            if (!s->pos) {
                st = DG_ENOMEM;
                goto out;
            }
        }
    }
out:
    free(list);
    free(byid);
    return st;
}

/* Images: the sorted unique ids looked up among the frames, or every
 * frame by ascending image id. */
static dg_status resolve_images(gp_state *s, const dg_coco_params *pa)
{
    dg_ctx *ctx = s->ctx;
    uint32_t F = dg__project_n_frames(s->p);
    id_idx *fr;
    dg_status st = frames_by_id(ctx, s->p, &fr);
    if (st < 0)
        return st;
    if (!pa->img_ids) {
        s->I = F;
        s->img_frame = dg__alloc(ctx, F ? F : 1, sizeof(*s->img_frame));
        if (!s->img_frame) {
            free(fr);
            return DG_ENOMEM;
        }
        for (uint32_t i = 0; i < F; i++)
            s->img_frame[i] = fr[i].idx;
        free(fr);
        return DG_OK;
    }
    int64_t *ids;
    uint32_t n;
    if ((st = sorted_unique(ctx, pa->img_ids, pa->n_img_ids, &ids, &n)) < 0) {
        free(fr);
        return st;
    }
    s->img_frame = dg__alloc(ctx, n ? n : 1, sizeof(*s->img_frame));
    if (!s->img_frame) {
        free(fr);
        free(ids);
        return DG_ENOMEM;
    }
    s->I = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t lo = lower_bound(fr, F, ids[i]);
        /* An id the project lacks is an image without boxes. */
        if (lo < F && fr[lo].id == ids[i])
            s->img_frame[s->I++] = fr[lo].idx;
    }
    free(fr);
    free(ids);
    return DG_OK;
}

/* ---- step 2: the groups ------------------------------------------------- */

typedef struct entry {
    uint32_t key;   /* position in the category list */
    uint32_t seq;   /* order of appearance */
    uint64_t idx;   /* box record */
    double score;
} entry;

static int by_key(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int by_score(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef struct entries {
    entry *v;
    size_t n, cap;
} entries;

/* The boxes [lo, hi) of b as (position, order) entries, sorted by
 * position then order. */
static dg_status frame_entries(gp_state *s, const dg_boxset *b, uint64_t lo,
                               uint64_t hi, entries *e)
{
    e->n = 0;
    for (uint64_t i = lo; i < hi; i++) {
        uint32_t c = b->cls[i];
        for (uint32_t q = s->pos_off[c]; q < s->pos_off[c + 1]; q++) {
            if (e->n == e->cap) {
                size_t cap = e->cap ? 2 * e->cap : 256;
                if (dg__grow((void **)&e->v, cap, sizeof(*e->v)) < 0)
                    return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
                e->cap = cap;
            }
            entry *x = &e->v[e->n];
            x->key = s->use_cats ? s->pos[q] : 0;
            /* Without categories the list position orders the boxes. */
            x->seq = (uint32_t)e->n;
            x->idx = i;
            x->score = b->score ? b->score[i] : 0.0;
            if (!s->use_cats)
                x->seq = s->pos[q];
            e->n++;
        }
    }
    if (!s->use_cats) {
        /* Order by list position, then input order: a stable sort by the
         * position, which seq holds for now. */
        for (size_t i = 0; i < e->n; i++)
            e->v[i].key = e->v[i].seq;
        for (size_t i = 0; i < e->n; i++)
            e->v[i].seq = (uint32_t)i;
        if (e->n > 1)
            qsort(e->v, e->n, sizeof(*e->v), by_key);
        for (size_t i = 0; i < e->n; i++) {
            e->v[i].key = 0;
            e->v[i].seq = (uint32_t)i;
        }
        return DG_OK;
    }
    if (e->n > 1)
        qsort(e->v, e->n, sizeof(*e->v), by_key);
    return DG_OK;
}

static dg_status add_group(gp_state *s, uint32_t k)
{
    if (s->n_grp == s->grp_cap) {
        size_t cap = 2 * (size_t)s->grp_cap + 1024;
        if (cap >= UINT32_MAX ||
            dg__grow((void **)&s->gdoff, cap, sizeof(*s->gdoff)) < 0 ||
            dg__grow((void **)&s->ggoff, cap, sizeof(*s->ggoff)) < 0 ||
            dg__grow((void **)&s->grp_k, cap, sizeof(*s->grp_k)) < 0)
            return dg__fail(s->ctx, DG_ENOMEM, "out of memory");
        s->grp_cap = (uint32_t)cap;
    }
    s->grp_k[s->n_grp] = k;
    s->gdoff[s->n_grp] = s->w.n;
    s->ggoff[s->n_grp] = s->g.n;
    s->n_grp++;
    return DG_OK;
}

/* Label j ignored whatever the area range: its ignore flag (with
 * use_ignore), or for keypoints none marked (as coco_prepare.c). */
static int label_ignored_always(const gp_state *s, uint64_t j)
{
    const dg_boxset *gt = s->gt;
    if (s->use_ignore && gt->ignore && gt->ignore[j])
        return 1;
    return s->iou_type == DG_COCO_KEYPOINTS &&
           !(s->gsh && s->gsh->num_kp && s->gsh->num_kp[j] > 0);
}

static int label_ignored(const gp_state *s, uint64_t j, uint32_t a)
{
    const dg_boxset *gt = s->gt;
    double area = gt->area ? gt->area[j] : gt->w[j] * gt->h[j];
    const double(*rng)[2] = s->out->area_rng;
    return label_ignored_always(s, j) || area < rng[a][0] ||
           area > rng[a][1];
}

static dg_status build_groups(gp_state *s)
{
    dg_ctx *ctx = s->ctx;
    const dg_boxset *gt = s->gt, *dt = s->dt;
    dg_status st = DG_OK;
    entries de = {0}, ge = {0};
    uint64_t nd_all = 0, ng_all = 0, dropped = 0, kept = 0, n_gt = 0;
    /* Room: every box once per position of its class. */
    for (uint32_t i = 0; i < s->I; i++) {
        uint32_t f = s->img_frame[i];
        for (uint64_t d = off_of(dt, f); d < off_of(dt, f + 1); d++)
            nd_all += s->pos_off[dt->cls[d] + 1] - s->pos_off[dt->cls[d]];
        for (uint64_t j = off_of(gt, f); j < off_of(gt, f + 1); j++)
            ng_all += s->pos_off[gt->cls[j] + 1] - s->pos_off[gt->cls[j]];
    }
    s->npig = dg__calloc(ctx, (size_t)(s->K ? s->K : 1) * (s->A ? s->A : 1),
                         sizeof(*s->npig));
    if (!s->npig)
        return DG_ENOMEM;
    if ((st = dg__boxset_reserve(ctx, &s->w, DG_BOXES_DETS,
                                 nd_all ? nd_all : 1)) < 0 ||
        (st = dg__boxset_reserve(ctx, &s->g, DG_BOXES_LABELS,
                                 ng_all ? ng_all : 1)) < 0)
        return st;
    s->w_src = dg__alloc(ctx, nd_all ? nd_all : 1, sizeof(*s->w_src));
    s->g_src = dg__alloc(ctx, ng_all ? ng_all : 1, sizeof(*s->g_src));
    if (!s->w_src || !s->g_src)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < s->I && st >= 0; i++) {
        uint32_t f = s->img_frame[i];
        if ((st = frame_entries(s, dt, off_of(dt, f), off_of(dt, f + 1),
                                &de)) < 0 ||
            (st = frame_entries(s, gt, off_of(gt, f), off_of(gt, f + 1),
                                &ge)) < 0)
            break;
        for (size_t j = 0; j < ge.n; j++) {
            uint64_t l = ge.v[j].idx;
            n_gt++;
            if (gt->iscrowd && gt->iscrowd[l])
                continue;
            for (uint32_t a = 0; a < s->A; a++)
                s->npig[(size_t)ge.v[j].key * s->A + a] +=
                    !label_ignored(s, l, a);
        }
        /* Runs of one category among the detections are the groups; the
         * labels' runs of the same category join them. */
        size_t gi = 0;
        for (size_t a = 0; a < de.n;) {
            size_t b = a;
            while (b < de.n && de.v[b].key == de.v[a].key)
                b++;
            uint32_t k = de.v[a].key;
            if ((st = add_group(s, k)) < 0)
                break;
            qsort(de.v + a, b - a, sizeof(*de.v), by_score);
            size_t n_keep = b - a;
            if ((int64_t)n_keep > s->keep) {
                dropped += n_keep - (size_t)s->keep;
                n_keep = (size_t)s->keep;
            }
            kept += n_keep;
            for (size_t x = a; x < a + n_keep; x++) {
                uint64_t d = de.v[x].idx;
                s->w_src[s->w.n] = (uint32_t)d;
                dg__boxset_push(&s->w, s->n_grp - 1, 0, dt->x[d], dt->y[d],
                                dt->w[d], dt->h[d], dt->score[d], 0.0, 0, 0);
            }
            while (gi < ge.n && ge.v[gi].key < k)
                gi++;
            for (; gi < ge.n && ge.v[gi].key == k; gi++) {
                uint64_t l = ge.v[gi].idx;
                s->g_src[s->g.n] = (uint32_t)l;
                dg__boxset_push(&s->g, s->n_grp - 1, 0, gt->x[l], gt->y[l],
                                gt->w[l], gt->h[l], 0.0,
                                gt->area ? gt->area[l]
                                         : gt->w[l] * gt->h[l],
                                gt->iscrowd ? gt->iscrowd[l] : 0,
                                gt->ignore ? gt->ignore[l] : 0);
            }
            a = b;
        }
    }
    free(de.v);
    free(ge.v);
    if (st < 0)
        return st;
    if ((st = add_group(s, 0)) < 0) /* the closing offsets */
        return st;
    s->n_grp--;
    s->out->n_det = kept;
    s->out->n_det_dropped = dropped;
    s->out->n_gt = n_gt;
    /* Each label's ignore flag per area range. */
    uint64_t G = s->g.n;
    s->ign = dg__alloc(ctx, (size_t)(s->A ? s->A : 1) * (G ? G : 1), 1);
    if (!s->ign)
        return DG_ENOMEM;
    for (uint32_t a = 0; a < s->A; a++) {
        const double *rng = s->out->area_rng[a];
        for (uint64_t j = 0; j < G; j++)
            s->ign[(size_t)a * G + j] =
                (uint8_t)(label_ignored_always(s, s->g_src[j]) ||
                          s->g.area[j] < rng[0] || s->g.area[j] > rng[1]);
    }
    return DG_OK;
}

/* ---- step 3: matching --------------------------------------------------- */

/*
 * Masks, boundaries, keypoints: each group's IoUs, by coco_tiles.c on a
 * coco_state that sees the groups as the fast path's (image, category)
 * groups, boxes with their own frames and classes.
 */
static dg_status group_tiles(gp_state *s, const dg_coco_opts *opts)
{
    if (s->iou_type == DG_COCO_BBOX)
        return DG_OK;
    dg_ctx *ctx = s->ctx;
    uint64_t nw = s->w.n, ng = s->g.n;
    if (s->iou_type == DG_COCO_KEYPOINTS && !s->use_cats) {
        /*
         * pycocotools' computeOks looks its boxes up by (image, category)
         * even without useCats, under category -1, and finds none: every
         * IoU list is empty, so nothing matches: -inf never does.
         */
        s->tile_off = dg__alloc(ctx, (size_t)s->n_grp + 1, sizeof(uint64_t));
        if (!s->tile_off)
            return DG_ENOMEM;
        s->tile_off[0] = 0;
        for (uint32_t q = 0; q < s->n_grp; q++)
            s->tile_off[q + 1] = s->tile_off[q] +
                                 (s->gdoff[q + 1] - s->gdoff[q]) *
                                     (s->ggoff[q + 1] - s->ggoff[q]);
        uint64_t total = s->tile_off[s->n_grp];
        s->tile = dg__alloc(ctx, total ? total : 1, sizeof(double));
        if (!s->tile)
            return DG_ENOMEM;
        for (uint64_t i = 0; i < total; i++)
            s->tile[i] = -INFINITY;
        return DG_OK;
    }
    uint32_t *wf = dg__alloc(ctx, nw ? nw : 1, sizeof(*wf));
    uint32_t *wc = dg__alloc(ctx, nw ? nw : 1, sizeof(*wc));
    uint32_t *gf = dg__alloc(ctx, ng ? ng : 1, sizeof(*gf));
    uint32_t *gc = dg__alloc(ctx, ng ? ng : 1, sizeof(*gc));
    dg_status st = DG_ENOMEM;
    if (!wf || !wc || !gf || !gc)
        goto out;
    for (uint64_t i = 0; i < nw; i++) {
        wf[i] = s->dt->frame[s->w_src[i]];
        wc[i] = s->dt->cls[s->w_src[i]];
    }
    for (uint64_t i = 0; i < ng; i++) {
        gf[i] = s->gt->frame[s->g_src[i]];
        gc[i] = s->gt->cls[s->g_src[i]];
    }
    coco_state c;
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    c.p = s->p;
    c.gt = s->gt;
    c.iou_type = s->iou_type;
    c.gsh = s->gsh;
    c.dsh = s->dsh;
    c.w = s->w;
    c.w.frame = wf;
    c.w.cls = wc;
    c.g = s->g;
    c.g.frame = gf;
    c.g.cls = gc;
    c.n_pf = s->n_grp;
    c.pf_doff = s->gdoff;
    c.pf_goff = s->ggoff;
    c.w_src = s->w_src;
    c.g_src = s->g_src;
    c.n_threads = s->n_threads;
    c.engine = s->engine;
    pthread_mutex_init(&c.lock, NULL);
    atomic_init(&c.next_job, 0);
    atomic_init(&c.failed, 0);
    st = dg__coco_tiles(&c, opts);
    pthread_mutex_destroy(&c.lock);
    s->tile = c.tile;
    s->tile_off = c.tile_off;
out:
    free(wf);
    free(wc);
    free(gf);
    free(gc);
    return st;
}

/* Views of groups [q0, q1) for area range a (offsets into goff/doff,
 * chunk-relative, are the caller's). */
static void views(const gp_state *s, uint32_t q0, uint32_t q1, uint32_t a,
                  uint64_t *goff, uint64_t *doff, dg_boxset *g, dg_boxset *d)
{
    uint64_t g0 = s->ggoff[q0], d0 = s->gdoff[q0];
    for (uint32_t q = q0; q <= q1; q++) {
        goff[q - q0] = s->ggoff[q] - g0;
        doff[q - q0] = s->gdoff[q] - d0;
    }
    memset(g, 0, sizeof(*g));
    memset(d, 0, sizeof(*d));
    g->n = g->cap = s->ggoff[q1] - g0;
    g->frame = s->g.frame + g0;
    g->cls = s->g.cls + g0;
    g->x = s->g.x + g0;
    g->y = s->g.y + g0;
    g->w = s->g.w + g0;
    g->h = s->g.h + g0;
    g->area = s->g.area + g0;
    g->iscrowd = s->g.iscrowd + g0;
    g->ignore = s->ign + (size_t)a * s->g.n + g0;
    g->frame_off = goff;
    d->n = d->cap = s->gdoff[q1] - d0;
    d->frame = s->w.frame + d0;
    d->cls = s->w.cls + d0;
    d->x = s->w.x + d0;
    d->y = s->w.y + d0;
    d->w = s->w.w + d0;
    d->h = s->w.h + d0;
    d->score = s->w.score + d0;
    d->frame_off = doff;
}

typedef struct match_chunk {
    uint32_t q0, q1;
} match_chunk;

typedef struct match_job {
    gp_state *s;
    match_chunk *chunks;
    uint32_t n_chunks;
    uint64_t max_d, max_g;
    uint32_t max_q;
} match_job;

/* Matches chunk c in every area range; ctx is the thread's. */
static dg_status match_chunk_all(gp_state *s, dg_ctx *ctx,
                                 const match_chunk *c, uint8_t *status,
                                 int32_t *matched, uint64_t *goff,
                                 uint64_t *doff)
{
    uint64_t d0 = s->gdoff[c->q0], nd = s->gdoff[c->q1] - d0, n_w = s->w.n;
    for (uint32_t a = 0; a < s->A; a++) {
        dg_boxset g, d;
        views(s, c->q0, c->q1, a, goff, doff, &g, &d);
        dg_match_input in = {c->q1 - c->q0, 1, &g, &d, (int)s->T,
                             s->out->iou, s->tile,
                             s->tile ? s->tile_off + c->q0 : NULL};
        dg_match_output mo = {status, matched, NULL, NULL, 0};
        dg_status st = dg__engine_match(s->engine, ctx, &in, &mo);
        if (st < 0)
            return st;
        const double *rng = s->out->area_rng[a];
        for (uint32_t t = 0; t < s->T; t++) {
            uint8_t *dst = s->st + ((size_t)a * s->T + t) * n_w + d0;
            const uint8_t *src = status + (size_t)t * nd;
            for (uint64_t i = 0; i < nd; i++) {
                uint8_t v = src[i];
                /* Masks and keypoints: loadRes's area, as coco.c. */
                double da = s->dsh && s->dsh->area
                                ? s->dsh->area[s->w_src[d0 + i]]
                                : d.w[i] * d.h[i];
                /* An unmatched detection outside the range is ignored. */
                if (v == DG_FP && (da < rng[0] || da > rng[1]))
                    v = DG_IGN;
                dst[i] = v;
            }
        }
    }
    return DG_OK;
}

static void match_worker(void *arg, int tid)
{
    match_job *j = arg;
    gp_state *s = j->s;
    dg_ctx *w = tid ? dg__ctx_worker() : NULL;
    dg_ctx *ctx = tid ? w : s->ctx;
    size_t cap = (size_t)(s->T ? s->T : 1) * (j->max_d ? j->max_d : 1);
    uint8_t *status = malloc(cap);
    int32_t *matched = malloc(cap * sizeof(*matched));
    uint64_t *goff = malloc(((size_t)j->max_q + 1) * sizeof(*goff));
    uint64_t *doff = malloc(((size_t)j->max_q + 1) * sizeof(*doff));
    if ((tid && !w) || !status || !matched || !goff || !doff) {
        gp_fail(s, DG_ENOMEM, "out of memory matching");
        goto out;
    }
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned c = atomic_fetch_add(&s->next, 1);
        if (c >= j->n_chunks)
            break;
        dg_status st = match_chunk_all(s, ctx, &j->chunks[c], status,
                                       matched, goff, doff);
        if (st < 0) {
            gp_fail(s, st, dg_ctx_last_error(ctx));
            break;
        }
    }
out:
    free(status);
    free(matched);
    free(goff);
    free(doff);
    dg_ctx_free(w);
}

static dg_status match_all(gp_state *s)
{
    dg_ctx *ctx = s->ctx;
    uint64_t n_w = s->w.n;
    s->st = dg__alloc(ctx, (size_t)(s->A ? s->A : 1) * (s->T ? s->T : 1) *
                               (n_w ? n_w : 1), 1);
    if (!s->st)
        return DG_ENOMEM;
    if (!s->A || !s->T || !n_w)
        return DG_OK;
    /* On a device one chunk of everything (it batches by itself); on the
     * reference path chunks of about 4096 detections over the threads. */
    int on_device = dg__engine_on_device(s->engine);
    uint64_t target = on_device ? UINT64_MAX : 4096;
    match_job j;
    memset(&j, 0, sizeof(j));
    j.s = s;
    j.chunks = dg__alloc(ctx, (size_t)s->n_grp + 1, sizeof(*j.chunks));
    if (!j.chunks)
        return DG_ENOMEM;
    for (uint32_t q = 0; q < s->n_grp;) {
        uint32_t r = q + 1;
        while (r < s->n_grp && s->gdoff[r + 1] - s->gdoff[q] <= target)
            r++;
        match_chunk *c = &j.chunks[j.n_chunks++];
        c->q0 = q;
        c->q1 = r;
        if (s->gdoff[r] - s->gdoff[q] > j.max_d)
            j.max_d = s->gdoff[r] - s->gdoff[q];
        if (r - q > j.max_q)
            j.max_q = r - q;
        q = r;
    }
    atomic_store(&s->next, 0);
    int nt = on_device ? 1 : s->n_threads;
    if ((uint32_t)nt > j.n_chunks)
        nt = (int)j.n_chunks;
    dg__coco_run_parallel(nt, match_worker, &j);
    free(j.chunks);
    if (s->wst < 0)
        return dg__fail(ctx, s->wst, "%s", s->err);
    return DG_OK;
}

/* ---- step 4: accumulation ----------------------------------------------- */

/* np.searchsorted(a, v, side='left'), NaN sorting last as numpy puts it. */
static size_t search_left(const double *a, size_t n, double v)
{
    return isnan(v) ? n : dg__np_searchsorted_left(a, n, v);
}

typedef struct acc_scratch {
    entry *ord;        /* the category's detections, accumulation order */
    uint32_t *sel;     /* positions kept for one maxDets */
    double *rc, *pr;
    size_t cap;
} acc_scratch;

/* One (k, a, m) cell: the curves of every threshold. */
static void acc_cell(gp_state *s, acc_scratch *x, size_t n_sel, uint32_t k,
                     uint32_t a, uint32_t m, uint64_t npig)
{
    dg_coco_result *r = s->out;
    const double *rec = r->rec;
    uint64_t n_w = s->w.n;
    for (uint32_t t = 0; t < s->T; t++) {
        const uint8_t *st = s->st + ((size_t)a * s->T + t) * n_w;
        uint64_t tp = 0, fp = 0;
        for (size_t i = 0; i < n_sel; i++) {
            uint8_t v = st[x->ord[x->sel[i]].idx];
            tp += v == DG_TP;
            fp += v == DG_FP;
            x->rc[i] = (double)tp / (double)npig;
            x->pr[i] = (double)tp / ((double)fp + (double)tp + EPS_1);
        }
        r->recall[dg_coco_recall_index(r, (int)t, k, (int)a, (int)m)] =
            n_sel ? x->rc[n_sel - 1] : 0.0;
        for (size_t i = n_sel; i-- > 1;)
            if (x->pr[i] > x->pr[i - 1])
                x->pr[i - 1] = x->pr[i];
        for (uint32_t ri = 0; ri < s->R; ri++) {
            size_t o = dg_coco_index(r, (int)t, (int)ri, k, (int)a, (int)m);
            r->precision[o] = 0.0;
            r->scores[o] = 0.0;
        }
        /* accumulate()'s loop ends at the first index past the end. */
        for (uint32_t ri = 0; ri < s->R; ri++) {
            size_t pi = search_left(x->rc, n_sel, rec[ri]);
            if (pi >= n_sel)
                break;
            size_t o = dg_coco_index(r, (int)t, (int)ri, k, (int)a, (int)m);
            r->precision[o] = x->pr[pi];
            r->scores[o] = x->ord[x->sel[pi]].score;
        }
    }
}

static int acc_fit(acc_scratch *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    size_t cap = n + n / 2 + 16;
    if (dg__grow((void **)&x->ord, cap, sizeof(*x->ord)) < 0 ||
        dg__grow((void **)&x->sel, cap, sizeof(*x->sel)) < 0 ||
        dg__grow((void **)&x->rc, cap, sizeof(*x->rc)) < 0 ||
        dg__grow((void **)&x->pr, cap, sizeof(*x->pr)) < 0)
        return -1;
    x->cap = cap;
    return 0;
}

static void acc_worker(void *arg, int tid)
{
    gp_state *s = arg;
    const int *md = s->out->max_dets;
    acc_scratch x;
    memset(&x, 0, sizeof(x));
    (void)tid;
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned k = atomic_fetch_add(&s->next, 1);
        if (k >= s->K)
            break;
        /* The category's detections over its groups (image order), each
         * group's in rank order; seq is the rank for now. */
        size_t n = 0;
        for (uint32_t i = s->kq_off[k]; i < s->kq_off[k + 1]; i++) {
            uint32_t q = s->kq[i];
            n += (size_t)(s->gdoff[q + 1] - s->gdoff[q]);
        }
        if (acc_fit(&x, n) < 0) {
            gp_fail(s, DG_ENOMEM, "out of memory accumulating");
            break;
        }
        n = 0;
        for (uint32_t i = s->kq_off[k]; i < s->kq_off[k + 1]; i++) {
            uint32_t q = s->kq[i];
            for (uint64_t d = s->gdoff[q]; d < s->gdoff[q + 1]; d++) {
                x.ord[n].key = (uint32_t)(d - s->gdoff[q]);
                x.ord[n].seq = (uint32_t)n;
                x.ord[n].idx = d;
                x.ord[n].score = s->w.score[d];
                n++;
            }
        }
        if (n > 1) /* none: x.ord may be NULL */
            qsort(x.ord, n, sizeof(*x.ord), by_score);
        for (uint32_t a = 0; a < s->A; a++) {
            uint64_t npig = s->npig[(size_t)k * s->A + a];
            if (!npig)
                continue; /* no ground truth: the entries stay -1 */
            for (uint32_t m = 0; m < s->M; m++) {
                size_t n_sel = 0;
                for (size_t i = 0; i < n; i++)
                    if ((int64_t)x.ord[i].key < md[m])
                        x.sel[n_sel++] = (uint32_t)i;
                acc_cell(s, &x, n_sel, k, a, m, npig);
            }
        }
    }
    free(x.ord);
    free(x.sel);
    free(x.rc);
    free(x.pr);
}

static dg_status accumulate(gp_state *s)
{
    dg_ctx *ctx = s->ctx;
    dg_coco_result *r = s->out;
    size_t np_ = (size_t)s->T * s->R * s->K * s->A * s->M;
    size_t nr = (size_t)s->T * s->K * s->A * s->M;
    r->precision = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    r->scores = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    r->recall = dg__alloc(ctx, nr ? nr : 1, sizeof(double));
    s->kq_off = dg__calloc(ctx, (size_t)s->K + 1, sizeof(*s->kq_off));
    s->kq = dg__alloc(ctx, s->n_grp ? s->n_grp : 1, sizeof(*s->kq));
    if (!r->precision || !r->scores || !r->recall || !s->kq_off || !s->kq)
        return DG_ENOMEM;
    for (size_t i = 0; i < np_; i++)
        r->precision[i] = r->scores[i] = -1.0;
    for (size_t i = 0; i < nr; i++)
        r->recall[i] = -1.0;
    for (uint32_t q = 0; q < s->n_grp; q++)
        s->kq_off[s->grp_k[q] + 1]++;
    for (uint32_t k = 0; k < s->K; k++)
        s->kq_off[k + 1] += s->kq_off[k];
    uint32_t *fill = dg__alloc(ctx, (size_t)s->K + 1, sizeof(*fill));
    if (!fill)
        return DG_ENOMEM;
    memcpy(fill, s->kq_off, ((size_t)s->K + 1) * sizeof(*fill));
    for (uint32_t q = 0; q < s->n_grp; q++)
        s->kq[fill[s->grp_k[q]]++] = q;
    free(fill);
    atomic_store(&s->next, 0);
    dg__coco_run_parallel(s->K > 1 ? s->n_threads : 1, acc_worker, s);
    if (s->wst < 0)
        return dg__fail(ctx, s->wst, "%s", s->err);
    return DG_OK;
}

/* ---- step 5: summaries -------------------------------------------------- */

/* Indices i < n of lbl equal to want (area labels) into out; the count. */
static uint32_t find_labels(const char *const *lbl, uint32_t n,
                            const char *want, uint32_t *out)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        if (lbl[i] && !strcmp(lbl[i], want))
            out[c++] = i;
    return c;
}

/*
 * One line of summarize(): the mean of the entries > -1 of precision (ap)
 * or recall at IoU thr (NaN: every threshold), the area ranges labelled
 * area and maxDets md, the two lookups broadcast against each other as
 * numpy's indexing does; -1 when there are none, NaN where pycocotools
 * raises IndexError.
 */
static double summarize_one(const gp_state *s, const char *const *lbl,
                            uint32_t n_lbl, int ap, double thr,
                            const char *area, int64_t md, double *buf,
                            uint32_t *ai, uint32_t *mi)
{
    const dg_coco_result *r = s->out;
    uint32_t na = find_labels(lbl, n_lbl, area, ai), nm = 0;
    for (uint32_t m = 0; m < s->M; m++)
        if (r->max_dets[m] == md)
            mi[nm++] = m;
    for (uint32_t i = 0; i < na; i++)
        if (ai[i] >= s->A)
            return NAN;
    uint32_t np_ = na == nm ? na : na == 1 ? nm : nm == 1 ? na : UINT32_MAX;
    if (np_ == UINT32_MAX)
        return NAN; /* shapes that do not broadcast */
    size_t n = 0;
    for (uint32_t t = 0; t < s->T; t++) {
        if (!isnan(thr) && r->iou[t] != thr)
            continue;
        uint32_t R = ap ? s->R : 1;
        for (uint32_t ri = 0; ri < R; ri++)
            for (uint32_t k = 0; k < s->K; k++)
                for (uint32_t i = 0; i < np_; i++) {
                    int a = (int)ai[na == 1 ? 0 : i];
                    int m = (int)mi[nm == 1 ? 0 : i];
                    double v =
                        ap ? r->precision[dg_coco_index(r, (int)t, (int)ri, k,
                                                        a, m)]
                           : r->recall[dg_coco_recall_index(r, (int)t, k, a,
                                                            m)];
                    if (v > -1)
                        buf[n++] = v;
                }
    }
    return n ? dg__np_mean(buf, n) : -1.0;
}

static dg_status summarize_params(gp_state *s, const dg_coco_params *pa)
{
    dg_ctx *ctx = s->ctx;
    dg_coco_result *r = s->out;
    int kp = s->iou_type == DG_COCO_KEYPOINTS;
    const type_defaults *dd = kp ? &kp_defaults : &det_defaults;
    const char *const *lbl = pa->area_lbl ? pa->area_lbl : dd->lbl;
    uint32_t n_lbl = pa->area_lbl ? pa->n_area_lbl : dd->A;
    size_t big = (size_t)(s->T ? s->T : 1) * (s->R ? s->R : 1) *
                 (s->K ? s->K : 1) * (s->A ? s->A : 1) * (s->M ? s->M : 1);
    double *buf = dg__alloc(ctx, big, sizeof(*buf));
    uint32_t *ai = dg__alloc(ctx, n_lbl ? n_lbl : 1, sizeof(*ai));
    uint32_t *mi = dg__alloc(ctx, s->M, sizeof(*mi));
    r->ap = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    r->ap50 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    r->ap75 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    r->ar100 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    if (!buf || !ai || !mi || !r->ap || !r->ap50 || !r->ap75 || !r->ar100) {
        free(buf);
        free(ai);
        free(mi);
        return DG_ENOMEM;
    }
    /* _summarizeDets: (ap, iouThr, areaRng, maxDets index; -1: 100). */
    static const struct {
        int ap;
        double thr;
        int area;
        int m;
    } line[DG_COCO_N_STATS] = {
        {1, NAN, 0, -1}, {1, 0.5, 0, 2}, {1, 0.75, 0, 2}, {1, NAN, 1, 2},
        {1, NAN, 2, 2},  {1, NAN, 3, 2}, {0, NAN, 0, 0},  {0, NAN, 0, 1},
        {0, NAN, 0, 2},  {0, NAN, 1, 2}, {0, NAN, 2, 2},  {0, NAN, 3, 2}};
    /* _summarizeKps: maxDets 20 throughout; areas all, medium, large. */
    static const struct {
        int ap;
        double thr;
        const char *area;
    } kp_line[10] = {
        {1, NAN, "all"},    {1, 0.5, "all"}, {1, 0.75, "all"},
        {1, NAN, "medium"}, {1, NAN, "large"}, {0, NAN, "all"},
        {0, 0.5, "all"},    {0, 0.75, "all"}, {0, NAN, "medium"},
        {0, NAN, "large"}};
    for (int i = 0; kp && i < DG_COCO_N_STATS; i++)
        r->stats[i] = i < 10 ? summarize_one(s, lbl, n_lbl, kp_line[i].ap,
                                             kp_line[i].thr, kp_line[i].area,
                                             20, buf, ai, mi)
                             : 0.0;
    for (int i = 0; !kp && i < DG_COCO_N_STATS; i++) {
        if (line[i].m >= (int)s->M) {
            r->stats[i] = NAN; /* maxDets[2] of a shorter list */
            continue;
        }
        int64_t md = line[i].m < 0 ? 100 : r->max_dets[line[i].m];
        r->stats[i] = summarize_one(s, lbl, n_lbl, line[i].ap, line[i].thr,
                                    det_defaults.lbl[line[i].area], md, buf,
                                    ai,
                                    mi);
    }
    /* Per category, at the first area range and the last maxDets. */
    int t50 = -1, t75 = -1;
    for (uint32_t t = s->T; t-- > 0;) {
        if (r->iou[t] == 0.5)
            t50 = (int)t;
        if (r->iou[t] == 0.75)
            t75 = (int)t;
    }
    int m = (int)s->M - 1;
    for (uint32_t k = 0; k < s->K; k++) {
        double *dst[3] = {&r->ap[k], &r->ap50[k], &r->ap75[k]};
        int sel[3] = {-1, t50, t75};
        for (int j = 0; j < 3; j++) {
            size_t n = 0;
            for (uint32_t t = 0; s->A && t < s->T; t++) {
                if (sel[j] >= 0 ? (int)t != sel[j] : j > 0)
                    continue;
                for (uint32_t ri = 0; ri < s->R; ri++) {
                    double v = r->precision[dg_coco_index(r, (int)t, (int)ri,
                                                          k, 0, m)];
                    if (v > -1)
                        buf[n++] = v;
                }
            }
            *dst[j] = n ? dg__np_mean(buf, n) : NAN;
        }
        size_t n = 0;
        for (uint32_t t = 0; s->A && t < s->T; t++) {
            double v = r->recall[dg_coco_recall_index(r, (int)t, k, 0, m)];
            if (v > -1)
                buf[n++] = v;
        }
        r->ar100[k] = n ? dg__np_mean(buf, n) : NAN;
    }
    free(buf);
    free(ai);
    free(mi);
    return DG_OK;
}

/* ---- the driver --------------------------------------------------------- */

static void gp_release(gp_state *s)
{
    free(s->pos_off);
    free(s->pos);
    free(s->img_frame);
    free(s->gdoff);
    free(s->ggoff);
    free(s->grp_k);
    dg__boxset_release(&s->w);
    dg__boxset_release(&s->g);
    free(s->ign);
    free(s->st);
    free(s->npig);
    free(s->kq_off);
    free(s->kq);
    free(s->w_src);
    free(s->g_src);
    free(s->tile);
    free(s->tile_off);
    if (s->engine)
        dg__engine_close(s->engine);
    pthread_mutex_destroy(&s->lock);
}

dg_status dg__coco_evaluate_params(dg_ctx *ctx, dg_project *p, uint32_t which,
                                   const dg_coco_opts *opts,
                                   dg_coco_result *out)
{
    double t_start = dg__now(), t0;
    const dg_coco_params *pa = opts->params;
    gp_state s;
    dg_status st;
    memset(&s, 0, sizeof(s));
    dg__boxset_init(&s.w);
    dg__boxset_init(&s.g);
    pthread_mutex_init(&s.lock, NULL);
    atomic_init(&s.next, 0);
    atomic_init(&s.failed, 0);
    s.ctx = ctx;
    s.p = p;
    s.out = out;
    s.use_cats = pa->use_cats != 0;
    s.use_ignore = opts->use_ignore;
    s.iou_type = opts->iou_type;
    s.n_threads = opts->n_threads > 0 ? opts->n_threads
                                      : (int)dg__cpu_count();
    if (s.n_threads > MAX_THREADS)
        s.n_threads = MAX_THREADS;

    t0 = dg__now();
    if ((st = dg__project_labels(ctx, p, &s.gt)) < 0 ||
        (st = dg__project_inferences(ctx, p, which, &s.dt)) < 0 ||
        (st = dg__project_label_shapes(ctx, p, &s.gsh)) < 0 ||
        (st = dg__project_inference_shapes(ctx, p, which, &s.dsh)) < 0)
        goto out;
    out->timing.load_s = dg__now() - t0;
    for (uint64_t d = 0; d < s.dt->n; d++)
        if (isnan(s.dt->score[d])) {
            st = dg__fail(ctx, DG_EINVAL, "coco: detection %" PRIu64
                          " has a NaN score, which has no order",
                          d);
            goto out;
        }
    if (s.dt->n >= UINT32_MAX || s.gt->n >= UINT32_MAX) {
        st = dg__fail(ctx, DG_ERANGE, "coco: too many boxes");
        goto out;
    }

    t0 = dg__now();
    if ((st = resolve_thresholds(&s, opts)) < 0 ||
        (st = resolve_categories(&s, pa)) < 0 ||
        (st = resolve_images(&s, pa)) < 0 || (st = build_groups(&s)) < 0)
        goto out;
    out->timing.prepare_s = dg__now() - t0;

    t0 = dg__now();
    if ((st = dg__engine_open(ctx, &s.engine)) < 0 ||
        (st = group_tiles(&s, opts)) < 0 || (st = match_all(&s)) < 0)
        goto out;
    snprintf(out->device, sizeof(out->device), "%s",
             dg__engine_on_device(s.engine) ? dg__engine_desc(s.engine)
                                            : "reference");
    out->timing.match_s = dg__now() - t0;

    t0 = dg__now();
    if ((st = accumulate(&s)) < 0)
        goto out;
    out->timing.accumulate_s = dg__now() - t0;
    t0 = dg__now();
    if ((st = summarize_params(&s, pa)) < 0)
        goto out;
    out->timing.summarize_s = dg__now() - t0;
    out->timing.total_s = dg__now() - t_start;
out:
    if (st < 0)
        dg_coco_result_release(out);
    gp_release(&s);
    return st;
}
