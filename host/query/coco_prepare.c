/*
 * COCO steps 1 and 2 (see coco.c): order, ranks, truncation, and the
 * matcher's input grouped by (image, category).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "coco_impl.h"

typedef struct skey {
    uint64_t key;
    uint32_t idx;
} skey;

/* Stable sort by key: insertion sort when short, else LSD radix sort on
 * bytes, skipping bytes that are the same everywhere. */
static void sort_keys(skey *a, skey *tmp, size_t n)
{
    if (n < 48) {
        for (size_t i = 1; i < n; i++) {
            skey v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1].key > v.key) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    skey *src = a, *dst = tmp;
    uint64_t diff = 0; /* the bits that are not the same everywhere */
    for (size_t i = 1; i < n; i++)
        diff |= a[i].key ^ a[0].key;
    for (int shift = 0; shift < 64; shift += 8) {
        if (!((diff >> shift) & 0xff))
            continue;
        size_t cnt[256] = {0};
        for (size_t i = 0; i < n; i++)
            cnt[(src[i].key >> shift) & 0xff]++;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i].key >> shift) & 0xff]++] = src[i];
        skey *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

typedef struct sort_job {
    coco_state *s;
    skey *keys, *tmp;
    atomic_uint next;
} sort_job;

static void sort_worker(void *arg, int tid)
{
    sort_job *j = arg;
    coco_state *s = j->s;
    (void)tid;
    for (;;) {
        unsigned k = atomic_fetch_add(&j->next, 1);
        if (k >= s->K)
            break;
        uint64_t a = s->class_off[k], b = s->class_off[k + 1];
        sort_keys(j->keys + a, j->tmp + a, (size_t)(b - a));
    }
}

static int cmp_u64_pair(const void *x, const void *y)
{
    const uint64_t *a = x, *b = y;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Sorts class indices (or frame indices) by a signed key, index breaking
 * ties; out[i] is the i-th. */
static dg_status order_by_key(dg_ctx *ctx, const int64_t *key, uint32_t n,
                              uint32_t *out)
{
    int sorted = 1;
    for (uint32_t i = 1; i < n && sorted; i++)
        sorted = key[i - 1] <= key[i];
    if (sorted) {
        for (uint32_t i = 0; i < n; i++)
            out[i] = i;
        return DG_OK;
    }
    uint64_t *pairs = dg__alloc(ctx, (size_t)n * 2, sizeof(*pairs));
    if (!pairs)
        return DG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        pairs[2 * i] = (uint64_t)key[i] ^ (UINT64_C(1) << 63);
        pairs[2 * i + 1] = i;
    }
    qsort(pairs, n, 2 * sizeof(*pairs), cmp_u64_pair);
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint32_t)pairs[2 * i + 1];
    free(pairs);
    return DG_OK;
}

/* prepare()'s grouping of the kept detections by (frame, category). */
typedef struct build_job {
    coco_state *s;
    const dg_boxset *dt;
    skey *keys, *tmp;
    const uint8_t *rank; /* per detection of dt */
    uint32_t *newidx;    /* dt index -> w index, UINT32_MAX if dropped */
    uint64_t *wo;        /* F + 1: kept detections, then offsets into w */
    uint32_t *qo;        /* F + 1: groups, then offsets */
    int phase;
    atomic_uint next;
} build_job;

#define BUILD_BLOCK 64

static void build_worker(void *arg, int tid)
{
    build_job *j = arg;
    coco_state *s = j->s;
    const dg_boxset *dt = j->dt;
    uint32_t F = dg__project_n_frames(s->p);
    (void)tid;
    for (;;) {
        uint32_t f0 = atomic_fetch_add(&j->next, 1) * BUILD_BLOCK;
        if (f0 >= F)
            break;
        uint32_t f1 = F - f0 > BUILD_BLOCK ? f0 + BUILD_BLOCK : F;
        for (uint32_t f = f0; f < f1; f++) {
            uint64_t base = dt->frame_off[f];
            skey *fk = j->keys + base;
            if (j->phase == 0) {
                size_t nf = 0;
                for (uint64_t d = base; d < dt->frame_off[f + 1]; d++) {
                    if (j->rank[d] >= s->max_dets[s->nm - 1]) {
                        j->newidx[d] = UINT32_MAX;
                        continue;
                    }
                    fk[nf].key = s->class_rank[dt->cls[d]];
                    fk[nf++].idx = (uint32_t)d;
                }
                sort_keys(fk, j->tmp + base, nf);
                uint32_t groups = 0;
                for (size_t i = 0; i < nf; i++)
                    groups += i == 0 || fk[i].key != fk[i - 1].key;
                j->wo[f + 1] = nf;
                j->qo[f + 1] = groups;
                continue;
            }
            size_t nf = (size_t)(j->wo[f + 1] - j->wo[f]);
            uint64_t o = j->wo[f];
            uint32_t q = j->qo[f];
            dg_boxset *w = &s->w;
            for (size_t i = 0; i < nf; i++, o++) {
                uint32_t d = fk[i].idx, k = (uint32_t)fk[i].key;
                if (i == 0 || k != fk[i - 1].key) {
                    s->pf_doff[q] = o;
                    s->pf_k[q++] = k;
                }
                j->newidx[d] = (uint32_t)o;
                s->w_src[o] = d;
                s->rank[o] = j->rank[d];
                w->frame[o] = f;
                w->cls[o] = dt->cls[d];
                w->x[o] = dt->x[d];
                w->y[o] = dt->y[d];
                w->w[o] = dt->w[d];
                w->h[o] = dt->h[d];
                w->score[o] = dt->score[d];
            }
        }
    }
}

/* The scratch of dg__coco_prepare, passed between its steps. */
typedef struct prep {
    uint32_t *img;    /* F: frames by ascending image id */
    skey *keys, *tmp; /* n: per category, accumulation order */
    uint8_t *rank;    /* n: per detection of dt */
    uint32_t *newidx; /* n: dt index -> w index, UINT32_MAX if dropped */
} prep;

/* Categories by ascending id; images by ascending image id. */
static dg_status order_categories_images(coco_state *s, prep *pr)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    uint32_t K = s->K, F = dg__project_n_frames(p);
    dg_status st = DG_OK;
    uint32_t *cat = dg__alloc(ctx, K ? K : 1, sizeof(*cat));
    int64_t *key = dg__alloc(ctx, (K > F ? K : F) + 1, sizeof(*key));
    pr->img = dg__alloc(ctx, F ? F : 1, sizeof(*pr->img));
    s->out->cat_class = dg__alloc(ctx, K ? K : 1, sizeof(uint32_t));
    s->class_rank = dg__alloc(ctx, K ? K : 1, sizeof(uint32_t));
    s->class_off = dg__calloc(ctx, (size_t)K + 1, sizeof(uint64_t));
    if (!cat || !pr->img || !key || !s->out->cat_class || !s->class_rank ||
        !s->class_off) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < K; i++)
        key[i] = dg_project_class_id(p, i);
    if ((st = order_by_key(ctx, key, K, cat)) < 0)
        goto out;
    for (uint32_t k = 0; k < K; k++) {
        s->out->cat_class[k] = cat[k];
        s->class_rank[cat[k]] = k;
    }
    for (uint32_t f = 0; f < F; f++)
        key[f] = dg_project_frame_num(p, f);
    st = order_by_key(ctx, key, F, pr->img);
out:
    free(cat);
    free(key);
    return st;
}

/* Each category's detections over the images in order, then stably by
 * descending score; s->class_off delimits the categories. */
static dg_status sort_by_score(coco_state *s, const dg_boxset *dt, prep *pr)
{
    dg_ctx *ctx = s->ctx;
    uint32_t K = s->K, F = dg__project_n_frames(s->p);
    uint64_t n = dt->n;
    pr->keys = dg__alloc(ctx, n ? n : 1, sizeof(*pr->keys));
    pr->tmp = dg__alloc(ctx, n ? n : 1, sizeof(*pr->tmp));
    uint64_t *next = dg__alloc(ctx, (size_t)K + 1, sizeof(*next));
    if (!pr->keys || !pr->tmp || !next) {
        free(next);
        return DG_ENOMEM;
    }
    for (uint64_t d = 0; d < n; d++)
        s->class_off[s->class_rank[dt->cls[d]] + 1]++;
    for (uint32_t k = 0; k < K; k++)
        s->class_off[k + 1] += s->class_off[k];
    memcpy(next, s->class_off, ((size_t)K + 1) * sizeof(*next));
    for (uint32_t i = 0; i < F; i++) {
        uint32_t f = pr->img[i];
        for (uint64_t d = dt->frame_off[f]; d < dt->frame_off[f + 1]; d++) {
            skey *e = &pr->keys[next[s->class_rank[dt->cls[d]]]++];
            e->key = dg__score_key(dt->score[d]);
            e->idx = (uint32_t)d;
        }
    }
    free(next);
    sort_job sj;
    sj.s = s;
    sj.keys = pr->keys;
    sj.tmp = pr->tmp;
    atomic_init(&sj.next, 0);
    dg__coco_run_parallel(K > 1 ? s->n_threads : 1, sort_worker, &sj);
    return DG_OK;
}

/* Ranks within (image, category): the order above restricted to one
 * image is descending score, input order on ties. */
static dg_status rank_detections(coco_state *s, const dg_boxset *dt,
                                 prep *pr)
{
    dg_ctx *ctx = s->ctx;
    uint32_t K = s->K, F = dg__project_n_frames(s->p);
    uint64_t n = dt->n;
    s->order = dg__alloc(ctx, n ? n : 1, sizeof(*s->order));
    pr->rank = dg__alloc(ctx, n ? n : 1, 1);
    uint32_t *stamp = dg__calloc(ctx, F ? F : 1, sizeof(*stamp));
    uint32_t *cnt = dg__alloc(ctx, F ? F : 1, sizeof(*cnt));
    if (!s->order || !pr->rank || !stamp || !cnt) {
        free(stamp);
        free(cnt);
        return DG_ENOMEM;
    }
    uint64_t dropped = 0;
    for (uint32_t k = 0; k < K; k++) {
        for (uint64_t i = s->class_off[k]; i < s->class_off[k + 1]; i++) {
            uint32_t d = pr->keys[i].idx, f = dt->frame[d];
            s->order[i] = d;
            if (stamp[f] != k + 1) {
                stamp[f] = k + 1;
                cnt[f] = 0;
            }
            uint32_t r = cnt[f]++;
            pr->rank[d] = r > 255 ? 255 : (uint8_t)r;
            dropped += r >= (uint32_t)s->max_dets[s->nm - 1];
        }
    }
    free(stamp);
    free(cnt);
    s->out->n_det_dropped = dropped;
    s->out->n_det = n - dropped;
    return DG_OK;
}

/*
 * The detections evaluated, grouped by (frame, category), input order
 * within a group: a stable sort of each frame's detections by category.
 */
static dg_status group_detections(coco_state *s, const dg_boxset *dt,
                                  prep *pr)
{
    dg_ctx *ctx = s->ctx;
    uint32_t F = dg__project_n_frames(s->p);
    uint64_t n = dt->n, m = s->out->n_det;
    dg_status st;
    pr->newidx = dg__alloc(ctx, n ? n : 1, sizeof(*pr->newidx));
    s->rank = dg__alloc(ctx, m ? m : 1, 1);
    s->w_src = dg__alloc(ctx, m ? m : 1, sizeof(uint32_t));
    s->pf_doff = dg__alloc(ctx, m + 1, sizeof(uint64_t));
    s->pf_k = dg__alloc(ctx, m ? m : 1, sizeof(uint32_t));
    s->pf_first = dg__alloc(ctx, (size_t)F + 1, sizeof(uint32_t));
    if (!pr->newidx || !s->rank || !s->w_src || !s->pf_doff || !s->pf_k ||
        !s->pf_first)
        return DG_ENOMEM;
    if ((st = dg__boxset_reserve(ctx, &s->w, DG_BOXES_DETS, m ? m : 1)) < 0)
        return st;
    /* In parallel over frames: each frame's kept detections sorted by
     * category (in keys and tmp, at the frame's place), then, offsets
     * known, copied into w. keys is free again: order has its indices. */
    build_job bj;
    bj.s = s;
    bj.dt = dt;
    bj.keys = pr->keys;
    bj.tmp = pr->tmp;
    bj.rank = pr->rank;
    bj.newidx = pr->newidx;
    bj.wo = dg__calloc(ctx, (size_t)F + 1, sizeof(*bj.wo));
    bj.qo = dg__calloc(ctx, (size_t)F + 1, sizeof(*bj.qo));
    if (!bj.wo || !bj.qo) {
        free(bj.wo);
        free(bj.qo);
        return DG_ENOMEM;
    }
    int nt_b = F > 256 ? s->n_threads : 1;
    bj.phase = 0;
    atomic_init(&bj.next, 0);
    dg__coco_run_parallel(nt_b, build_worker, &bj);
    for (uint32_t f = 0; f < F; f++) {
        bj.wo[f + 1] += bj.wo[f];
        bj.qo[f + 1] += bj.qo[f];
    }
    memcpy(s->pf_first, bj.qo, ((size_t)F + 1) * sizeof(*bj.qo));
    s->n_pf = bj.qo[F];
    s->w.n = bj.wo[F];
    bj.phase = 1;
    atomic_store(&bj.next, 0);
    dg__coco_run_parallel(nt_b, build_worker, &bj);
    s->pf_doff[s->n_pf] = s->w.n;
    free(bj.wo);
    free(bj.qo);
    return DG_OK;
}

/* The accumulation order in w's indices, dropped ones left out, and what
 * the accumulation reads straight through. */
static dg_status accumulation_order(coco_state *s, const prep *pr)
{
    dg_ctx *ctx = s->ctx;
    uint32_t K = s->K;
    uint64_t m = s->out->n_det;
    uint64_t o = 0;
    for (uint32_t k = 0; k < K; k++) {
        uint64_t a = s->class_off[k], b = s->class_off[k + 1];
        s->class_off[k] = o;
        for (uint64_t i = a; i < b; i++)
            if (pr->newidx[s->order[i]] != UINT32_MAX)
                s->order[o++] = pr->newidx[s->order[i]];
    }
    s->class_off[K] = o;

    s->pos = dg__alloc(ctx, m ? m : 1, sizeof(*s->pos));
    s->acc_score = dg__alloc(ctx, m ? m : 1, sizeof(*s->acc_score));
    s->acc_rank = dg__alloc(ctx, m ? m : 1, 1);
    if (!s->pos || !s->acc_score || !s->acc_rank)
        return DG_ENOMEM;
    for (uint64_t i = 0; i < o; i++) {
        uint32_t d = s->order[i];
        s->pos[d] = (uint32_t)i;
        s->acc_score[i] = s->w.score[d];
        s->acc_rank[i] = s->rank[d];
    }
    return DG_OK;
}

dg_status dg__coco_prepare(coco_state *s, const dg_boxset *dt)
{
    prep pr;
    dg_status st;
    memset(&pr, 0, sizeof(pr));
    if ((st = order_categories_images(s, &pr)) >= 0 &&
        (st = sort_by_score(s, dt, &pr)) >= 0 &&
        (st = rank_detections(s, dt, &pr)) >= 0 &&
        (st = group_detections(s, dt, &pr)) >= 0)
        st = accumulation_order(s, &pr);
    free(pr.img);
    free(pr.keys);
    free(pr.tmp);
    free(pr.newidx);
    free(pr.rank);
    return st;
}

/*
 * s->zid: which labels of s->g had annotation id 0, placed as the loop
 * below places the labels (grp: each label's group, fill: where each
 * group starts). NULL when the project has none.
 */
static dg_status zero_id_marks(coco_state *s, const uint32_t *grp,
                               const uint64_t *fill)
{
    const uint64_t *zid;
    uint64_t nz, G2 = s->pf_goff[s->n_pf];
    dg__project_coco_zero_ids(s->p, &zid, &nz);
    if (!nz)
        return DG_OK;
    s->zid = dg__calloc(s->ctx, G2 ? G2 : 1, 1);
    if (!s->zid)
        return DG_ENOMEM;
    /* Labels fill their group in record order: a label's place is its
     * group's start plus the labels of that group before it. */
    for (uint64_t i = 0; i < nz; i++) {
        uint64_t j = zid[i];
        if (j >= s->gt->n || grp[j] == UINT32_MAX)
            continue;
        uint64_t o = fill[grp[j]];
        for (uint64_t k = s->gt->frame_off[s->gt->frame[j]]; k < j; k++)
            o += grp[k] == grp[j];
        s->zid[o] = 1;
    }
    return DG_OK;
}

/*
 * The labels of the matcher's groups, grouped likewise (labels of an
 * image and category without detections are not needed to match), with
 * their ignore column per area range; and npig, the labels of each
 * category and area range that are neither crowd nor out of range (nor,
 * with use_ignore, ignored), counted over all labels.
 */
dg_status dg__coco_prepare_labels(coco_state *s, int use_ignore, int id0)
{
    dg_ctx *ctx = s->ctx;
    const dg_boxset *gt = s->gt;
    uint64_t G = gt->n;
    uint32_t F = dg__project_n_frames(s->p);
    dg_status st = DG_OK;
    uint32_t *grp = dg__alloc(ctx, G ? G : 1, sizeof(*grp));
    uint64_t *fill = dg__alloc(ctx, (size_t)s->n_pf + 1, sizeof(*fill));
    uint8_t *ign_all = dg__alloc(ctx, (size_t)NA * (G ? G : 1), 1);
    s->pf_goff = dg__calloc(ctx, (size_t)s->n_pf + 1, sizeof(uint64_t));
    s->npig = dg__calloc(ctx, (size_t)NA * (s->K ? s->K : 1),
                         sizeof(*s->npig));
    if (!grp || !fill || !ign_all || !s->pf_goff || !s->npig) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t f = 0; f < F; f++) {
        uint32_t q0 = s->pf_first[f], q1 = s->pf_first[f + 1];
        for (uint64_t j = gt->frame_off[f]; j < gt->frame_off[f + 1]; j++) {
            double area = gt->area ? gt->area[j] : gt->w[j] * gt->h[j];
            int base = use_ignore && gt->ignore && gt->ignore[j];
            /* Keypoints: a label with no keypoints marked is ignored
             * (num_keypoints 0; absent counts as 0, as faster-coco-eval
             * reads it). */
            if (s->iou_type == DG_COCO_KEYPOINTS)
                base |= !(s->gsh && s->gsh->num_kp && s->gsh->num_kp[j] > 0);
            uint32_t k = s->class_rank[gt->cls[j]];
            for (int a = 0; a < s->na; a++) {
                int ig = base || area < s->area_rng[a][0] ||
                         area > s->area_rng[a][1];
                ign_all[(size_t)a * G + j] = (uint8_t)ig;
                if (!ig && !gt->iscrowd[j])
                    s->npig[(size_t)k * NA + a]++;
            }
            /* The group of (f, k), if it has detections: frame f's groups
             * are in ascending k. */
            uint32_t lo = q0, hi = q1;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (s->pf_k[mid] < k)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            grp[j] = lo < q1 && s->pf_k[lo] == k ? lo : UINT32_MAX;
            if (grp[j] != UINT32_MAX)
                s->pf_goff[lo + 1]++;
        }
    }
    for (uint32_t q = 0; q < s->n_pf; q++)
        s->pf_goff[q + 1] += s->pf_goff[q];
    uint64_t G2 = s->pf_goff[s->n_pf];
    memcpy(fill, s->pf_goff, ((size_t)s->n_pf + 1) * sizeof(*fill));
    s->ign = dg__alloc(ctx, (size_t)NA * (G2 ? G2 : 1), 1);
    s->g_src = dg__alloc(ctx, G2 ? G2 : 1, sizeof(*s->g_src));
    if (!s->ign || !s->g_src) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__boxset_reserve(ctx, &s->g, DG_BOXES_LABELS,
                                 G2 ? G2 : 1)) < 0 ||
        (id0 && (st = zero_id_marks(s, grp, fill)) < 0))
        goto out;
    s->g.n = G2;
    for (uint64_t j = 0; j < G; j++) {
        if (grp[j] == UINT32_MAX)
            continue;
        uint64_t o = fill[grp[j]]++;
        s->g_src[o] = (uint32_t)j;
        s->g.frame[o] = gt->frame[j];
        s->g.cls[o] = gt->cls[j];
        s->g.x[o] = gt->x[j];
        s->g.y[o] = gt->y[j];
        s->g.w[o] = gt->w[j];
        s->g.h[o] = gt->h[j];
        s->g.area[o] = gt->area ? gt->area[j] : gt->w[j] * gt->h[j];
        s->g.iscrowd[o] = gt->iscrowd[j];
        s->g.ignore[o] = gt->ignore ? gt->ignore[j] : 0;
        for (int a = 0; a < s->na; a++)
            s->ign[(size_t)a * G2 + o] = ign_all[(size_t)a * G + j];
    }
out:
    free(grp);
    free(fill);
    free(ign_all);
    return st;
}
