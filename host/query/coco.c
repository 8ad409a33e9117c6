/*
 * The COCO protocol: pycocotools' COCOeval (iouType 'bbox', default Params)
 * reproduced bit for bit, and fast.
 *
 * The steps and what each takes from pycocotools:
 *
 *   1. Order. Images are frames in ascending image id (frame_num), as
 *      params.imgIds is sorted; categories are classes in ascending class
 *      id. Each category's detections are stably sorted by descending
 *      score over the images in that order, which is the order of
 *      accumulate()'s mergesort over the concatenated per-image lists.
 *   2. Rank. A detection's rank is its place among the detections of its
 *      image and category by descending score, input order breaking ties
 *      (evaluateImg's mergesort); only ranks below 100 (maxDets[-1]) are
 *      matched, ranks below 1 and 10 form the maxDets 1 and 10 lists.
 *   3. Match, per (image, category) group with detections: crowd
 *      regions and labels whose area is outside the range are tried last
 *      and make a detection that takes them ignored, exactly as
 *      evaluateImg's gtIg. An unmatched detection whose own w*h is outside
 *      the range is ignored too. Each detection keeps two 10-bit masks per
 *      area range: TP and FP at each IoU threshold. On the CPU one pass
 *      over each group computes its IoUs once and runs the greedy loop
 *      for the four area ranges on them (match_group_areas, the rules of
 *      dg__match_ref). On an OpenCL device, or with a NaN score, the
 *      project's matcher (dg__cl_match, dg__match_ref) runs once per area
 *      range on labels whose ignore column says "area outside the range",
 *      handed one "frame" per group, boxes in input order: it matches
 *      class-wise per frame, so this changes no outcome.
 *   4. Accumulate. For each (category, area range, maxDets, threshold) the
 *      curve needs only its true positives: recall steps at each of them,
 *      and the precision envelope over a suffix is attained at one of them
 *      (see struct curve). So a forward pass over the category's list per
 *      area range counts, and a backward one fills the 101 entries of all
 *      30 (maxDets, threshold) curves, storing nothing per detection.
 *   5. Summarize: the mean of the entries > -1, flattened in C order, with
 *      numpy's pairwise summation (dg__np_sum).
 *
 * Matching and accumulation run on worker threads; every result is
 * independent of the thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coco_internal.h"
#include "dg_internal.h"

#define NT DG_COCO_N_IOU
#define NR DG_COCO_N_REC
#define NA DG_COCO_N_AREA
#define NM DG_COCO_N_MAXDET
#define MAX_THREADS 16

/* pycocotools' Params.areaRng: 0 ** 2, 1e5 ** 2, 32 ** 2, 96 ** 2. */
static const double area_rng[NA][2] = {
    {0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}};
static const int max_dets[NM] = {1, 10, 100};

/* ---- numpy, bit for bit --------------------------------------------- */

double dg__np_linspace(double start, double stop, int num, int i)
{
    if (num > 1 && i == num - 1)
        return stop;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

/*
 * numpy's pairwise_sum for float64 (numpy/_core/src/umath/loops_utils.h):
 * below 8 elements a plain loop; up to 128, eight strided accumulators
 * combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) and then the tail;
 * beyond, halves split at a multiple of 8. The order of every addition
 * matters, so it is kept exactly.
 */
static double pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + (size_t)j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) +
                     ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double dg__np_sum(const double *a, size_t n)
{
    /* np.add.reduce starts from the identity and adds the block. */
    double out = 0.0;
    out += pairwise(a, n);
    return out;
}

double dg__np_mean(const double *a, size_t n)
{
    return dg__np_sum(a, n) / (double)n;
}

size_t dg__np_searchsorted_left(const double *a, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* np.spacing(1): the distance from 1.0 to the next double. */
#define NP_SPACING_1 2.220446049250313080847263336181640625e-16

/* ---- one PR curve ------------------------------------------------------ */

int dg__coco_curve_ref(const uint8_t *tp, const uint8_t *fp,
                       const double *score, size_t nd, uint64_t npig,
                       const double *rec, double *q, double *ss,
                       double *recall)
{
    double *tps = malloc((nd ? nd : 1) * sizeof(double));
    double *fps = malloc((nd ? nd : 1) * sizeof(double));
    double *rc = malloc((nd ? nd : 1) * sizeof(double));
    double *pr = malloc((nd ? nd : 1) * sizeof(double));
    if (!tps || !fps || !rc || !pr) {
        free(tps);
        free(fps);
        free(rc);
        free(pr);
        return -1;
    }
    /* tp_sum = np.cumsum(tps).astype(float), likewise fp_sum. */
    uint64_t ct = 0, cf = 0;
    for (size_t i = 0; i < nd; i++) {
        ct += tp[i] != 0;
        cf += fp[i] != 0;
        tps[i] = (double)ct;
        fps[i] = (double)cf;
    }
    for (size_t i = 0; i < nd; i++) {
        rc[i] = tps[i] / (double)npig;
        pr[i] = tps[i] / (fps[i] + tps[i] + NP_SPACING_1);
    }
    *recall = nd ? rc[nd - 1] : 0.0;
    for (int r = 0; r < NR; r++)
        q[r] = ss[r] = 0.0;
    for (size_t i = nd - 1; nd && i > 0; i--)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    /* q[ri] = pr[inds[ri]] until an index runs past the end. */
    for (int r = 0; r < NR; r++) {
        size_t pi = dg__np_searchsorted_left(rc, nd, rec[r]);
        if (pi >= nd)
            break;
        q[r] = pr[pi];
        ss[r] = score[pi];
    }
    free(tps);
    free(fps);
    free(rc);
    free(pr);
    return 0;
}

/*
 * The fast curve. Between two true positives the count of true positives
 * stays and false positives can only grow, so precision (tp / (fp + tp +
 * eps), rounding being monotonic) can only fall; before the first one it
 * is 0. So the envelope at position i, the maximum of precision over
 * positions >= i, is max(pr[i], pr at every true positive after i). For a
 * recall threshold r > 0, searchsorted gives the first position whose
 * recall reaches r: recall steps only at a true positive, so that is the
 * c-th true positive, c the least count with c / npig >= r (the same
 * division numpy does). For r <= 0 it is position 0, where the envelope
 * is the maximum over all true positives.
 *
 * So a curve is built walking the list backwards, knowing the totals from
 * a forward pass: at the c-th true positive (counting from the front) the
 * false positives before it are the total less those passed, its precision
 * joins the running maximum, and the thresholds r in ((c-1)/npig, c/npig]
 * take that maximum and its score. Nothing is stored per detection.
 */
typedef struct curve {
    uint64_t tp_left; /* true positives at or before the position */
    double run;       /* the envelope over the true positives passed */
    int ri;           /* the highest recall threshold not yet filled */
} curve;

static void curve_begin(curve *c, uint64_t n_tp, uint64_t npig,
                        const double *rec, double *q, double *ss)
{
    for (int r = 0; r < NR; r++)
        q[r] = ss[r] = 0.0;
    c->tp_left = n_tp;
    c->run = 0.0;
    /* Thresholds beyond the final recall stay 0 (the try/except). */
    double top = (double)n_tp / (double)npig;
    int ri = NR - 1;
    while (ri >= 0 && top < rec[ri])
        ri--;
    c->ri = ri;
}

/* The next true positive from the end, with fp false positives before
 * it. */
static inline void curve_tp(curve *c, uint64_t fp, double score, double npig,
                            const double *rec, double *q, double *ss)
{
    double tp = (double)c->tp_left;
    double pr = tp / ((double)fp + tp + NP_SPACING_1);
    if (pr > c->run)
        c->run = pr;
    double below = (double)(c->tp_left - 1) / npig;
    while (c->ri >= 0 && rec[c->ri] > 0.0 && rec[c->ri] > below) {
        q[c->ri] = c->run;
        ss[c->ri] = score;
        c->ri--;
    }
    c->tp_left--;
}

/* Thresholds <= 0 point at position 0: the whole envelope, the first
 * detection's score; nothing at all without detections. */
static void curve_end(const curve *c, size_t nd, double first_score,
                      const double *rec, double *q, double *ss)
{
    if (!nd)
        return;
    for (int r = c->ri; r >= 0; r--)
        if (!(rec[r] > 0.0)) {
            q[r] = c->run;
            ss[r] = first_score;
        }
}

void dg__coco_curve_fast(const uint8_t *tp, const uint8_t *fp,
                         const double *score, size_t nd, uint64_t npig,
                         const double *rec, double *q, double *ss,
                         double *recall)
{
    uint64_t n_tp = 0, n_fp = 0;
    for (size_t i = 0; i < nd; i++) {
        n_tp += tp[i] != 0;
        n_fp += fp[i] != 0;
    }
    curve c;
    curve_begin(&c, n_tp, npig, rec, q, ss);
    for (size_t i = nd; i-- > 0;) {
        if (fp[i])
            n_fp--; /* now the false positives before i */
        else if (tp[i])
            curve_tp(&c, n_fp, score[i], (double)npig, rec, q, ss);
    }
    curve_end(&c, nd, nd ? score[0] : 0.0, rec, q, ss);
    *recall = nd ? (double)n_tp / (double)npig : 0.0;
}

/* ---- small helpers ------------------------------------------------------ */

static int n_threads_for(const dg_coco_opts *o)
{
    long n = o && o->n_threads > 0 ? o->n_threads
                                   : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* An order-preserving map from doubles to unsigned keys, reversed, so
 * that ascending keys are descending scores. -0.0 and 0.0 are equal. */
static uint64_t desc_key(double s)
{
    uint64_t b;
    if (s == 0)
        s = 0;
    memcpy(&b, &s, sizeof(b));
    b = (b >> 63) ? ~b : b | (UINT64_C(1) << 63);
    return ~b;
}

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

static unsigned lowest_bit(uint32_t m)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(m);
#else
    unsigned i = 0;
    while (!(m & 1u)) {
        m >>= 1;
        i++;
    }
    return i;
#endif
}

/* Runs fn(arg, tid) on n threads (the caller is tid 0). Work is handed out
 * through counters in arg, so threads that fail to start cost only time. */
typedef void (*work_fn)(void *arg, int tid);
typedef struct thr_arg {
    work_fn fn;
    void *arg;
    int tid;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    a->fn(a->arg, a->tid);
    return NULL;
}

static void run_parallel(int n, work_fn fn, void *arg)
{
    pthread_t th[MAX_THREADS];
    thr_arg ta[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < n; i++) {
        ta[i].fn = fn;
        ta[i].arg = arg;
        ta[i].tid = i;
        started[i] = pthread_create(&th[i], NULL, thr_main, &ta[i]) == 0;
    }
    fn(arg, 0);
    for (int i = 1; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

/* ---- the evaluation's state --------------------------------------------- */

typedef struct chunk {
    uint32_t lo, hi;     /* frames */
    uint64_t *goff, *doff; /* hi - lo + 1, relative to the chunk */
} chunk;

typedef struct coco_state {
    dg_ctx *ctx;
    dg_project *p;
    const dg_boxset *gt;  /* the project's labels */
    /*
     * The matcher's input: "frames" are the n_pf (image, category) groups
     * with detections; w holds the detections evaluated (rank < 100) and
     * g the labels of those groups, both grouped, input order within a
     * group; pf_doff, pf_goff (n_pf + 1) delimit the groups.
     */
    dg_boxset w, g;
    uint32_t n_pf;
    uint64_t *pf_doff, *pf_goff;
    uint32_t *pf_k;       /* n_pf: the group's category */
    uint32_t *pf_first;   /* F + 1: the groups of frame f start here */
    uint32_t K;
    uint32_t *class_rank; /* class index -> k */
    uint64_t *class_off;  /* K + 1, into order */
    uint32_t *order;      /* per category, accumulation order (w indices) */
    uint8_t *rank;        /* per detection of w, saturating at 255 */
    /* In accumulation order (position i of category k's list is
     * class_off[k] + i): score and rank; pos maps w indices there. */
    uint32_t *pos;
    double *acc_score;
    uint8_t *acc_rank;
    uint8_t *ign;         /* NA x g.n: area outside the range (or ignore) */
    uint64_t *npig;       /* K x NA */
    uint32_t *mask;       /* NA x n_w: TP bits, FP bits << 16 */
    double iou[NT];
    double rec[NR];
    int n_threads;

    /* matching */
    chunk *chunks;
    uint32_t n_chunks;
    uint64_t max_chunk_dets;
    int use_cl;

    /* shared by workers */
    atomic_uint next_job;
    atomic_int failed;
    pthread_mutex_t lock;
    dg_status st;
    char err[sizeof(((dg_ctx *)0)->err)];

    dg_coco_result *out;
} coco_state;

static void worker_fail(coco_state *s, dg_status st, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    if (s->st >= 0) {
        s->st = st;
        snprintf(s->err, sizeof(s->err), "%s", msg);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->failed, 1);
}

/* ---- step 1 and 2: order, ranks, truncation ----------------------------- */

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
    uint32_t F = s->p->n_frames;
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
                    if (j->rank[d] >= max_dets[NM - 1]) {
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

static dg_status prepare(coco_state *s, const dg_boxset *dt)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    uint32_t K = s->K, F = p->n_frames;
    uint64_t n = dt->n;
    dg_status st = DG_OK;
    uint32_t *cat = NULL, *img = NULL, *stamp = NULL, *cnt = NULL;
    int64_t *key = NULL;
    skey *keys = NULL, *tmp = NULL;
    uint64_t *next = NULL;
    uint32_t *newidx = NULL;
    uint8_t *rank = NULL;

    /* Categories by ascending id; images by ascending image id. */
    cat = dg__alloc(ctx, K ? K : 1, sizeof(*cat));
    img = dg__alloc(ctx, F ? F : 1, sizeof(*img));
    key = dg__alloc(ctx, (K > F ? K : F) + 1, sizeof(*key));
    s->out->cat_class = dg__alloc(ctx, K ? K : 1, sizeof(uint32_t));
    s->class_rank = dg__alloc(ctx, K ? K : 1, sizeof(uint32_t));
    s->class_off = dg__calloc(ctx, (size_t)K + 1, sizeof(uint64_t));
    if (!cat || !img || !key || !s->out->cat_class || !s->class_rank ||
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
        key[f] = p->frame_num ? p->frame_num[f] : -1;
    if ((st = order_by_key(ctx, key, F, img)) < 0)
        goto out;

    /* Each category's detections over the images in order, then stably
     * by descending score. */
    keys = dg__alloc(ctx, n ? n : 1, sizeof(*keys));
    tmp = dg__alloc(ctx, n ? n : 1, sizeof(*tmp));
    next = dg__alloc(ctx, (size_t)K + 1, sizeof(*next));
    if (!keys || !tmp || !next) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t d = 0; d < n; d++)
        s->class_off[s->class_rank[dt->cls[d]] + 1]++;
    for (uint32_t k = 0; k < K; k++)
        s->class_off[k + 1] += s->class_off[k];
    memcpy(next, s->class_off, ((size_t)K + 1) * sizeof(*next));
    for (uint32_t i = 0; i < F; i++) {
        uint32_t f = img[i];
        for (uint64_t d = dt->frame_off[f]; d < dt->frame_off[f + 1]; d++) {
            skey *e = &keys[next[s->class_rank[dt->cls[d]]]++];
            e->key = desc_key(dt->score[d]);
            e->idx = (uint32_t)d;
        }
    }
    sort_job sj;
    sj.s = s;
    sj.keys = keys;
    sj.tmp = tmp;
    atomic_init(&sj.next, 0);
    run_parallel(K > 1 ? s->n_threads : 1, sort_worker, &sj);

    /* Ranks within (image, category): the order above restricted to one
     * image is descending score, input order on ties. */
    s->order = dg__alloc(ctx, n ? n : 1, sizeof(*s->order));
    rank = dg__alloc(ctx, n ? n : 1, 1);
    stamp = dg__calloc(ctx, F ? F : 1, sizeof(*stamp));
    cnt = dg__alloc(ctx, F ? F : 1, sizeof(*cnt));
    if (!s->order || !rank || !stamp || !cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    uint64_t dropped = 0;
    for (uint32_t k = 0; k < K; k++) {
        for (uint64_t i = s->class_off[k]; i < s->class_off[k + 1]; i++) {
            uint32_t d = keys[i].idx, f = dt->frame[d];
            s->order[i] = d;
            if (stamp[f] != k + 1) {
                stamp[f] = k + 1;
                cnt[f] = 0;
            }
            uint32_t r = cnt[f]++;
            rank[d] = r > 255 ? 255 : (uint8_t)r;
            dropped += r >= (uint32_t)max_dets[NM - 1];
        }
    }
    s->out->n_det_dropped = dropped;
    s->out->n_det = n - dropped;

    /*
     * The detections evaluated, grouped by (frame, category), input order
     * within a group: a stable sort of each frame's detections by
     * category.
     */
    uint64_t m = n - dropped;
    newidx = dg__alloc(ctx, n ? n : 1, sizeof(*newidx));
    s->rank = dg__alloc(ctx, m ? m : 1, 1);
    s->pf_doff = dg__alloc(ctx, m + 1, sizeof(uint64_t));
    s->pf_k = dg__alloc(ctx, m ? m : 1, sizeof(uint32_t));
    s->pf_first = dg__alloc(ctx, (size_t)F + 1, sizeof(uint32_t));
    if (!newidx || !s->rank || !s->pf_doff || !s->pf_k || !s->pf_first) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__boxset_reserve(ctx, &s->w, DG_BOXES_DETS, m ? m : 1)) < 0)
        goto out;
    /* In parallel over frames: each frame's kept detections sorted by
     * category (in keys and tmp, at the frame's place), then, offsets
     * known, copied into w. keys is free again: order has its indices. */
    build_job bj;
    bj.s = s;
    bj.dt = dt;
    bj.keys = keys;
    bj.tmp = tmp;
    bj.rank = rank;
    bj.newidx = newidx;
    bj.wo = dg__calloc(ctx, (size_t)F + 1, sizeof(*bj.wo));
    bj.qo = dg__calloc(ctx, (size_t)F + 1, sizeof(*bj.qo));
    if (!bj.wo || !bj.qo) {
        free(bj.wo);
        free(bj.qo);
        st = DG_ENOMEM;
        goto out;
    }
    int nt_b = F > 256 ? s->n_threads : 1;
    bj.phase = 0;
    atomic_init(&bj.next, 0);
    run_parallel(nt_b, build_worker, &bj);
    for (uint32_t f = 0; f < F; f++) {
        bj.wo[f + 1] += bj.wo[f];
        bj.qo[f + 1] += bj.qo[f];
    }
    memcpy(s->pf_first, bj.qo, ((size_t)F + 1) * sizeof(*bj.qo));
    s->n_pf = bj.qo[F];
    s->w.n = bj.wo[F];
    bj.phase = 1;
    atomic_store(&bj.next, 0);
    run_parallel(nt_b, build_worker, &bj);
    s->pf_doff[s->n_pf] = s->w.n;
    free(bj.wo);
    free(bj.qo);

    /* The accumulation order in w's indices, dropped ones left out. */
    uint64_t o = 0;
    for (uint32_t k = 0; k < K; k++) {
        uint64_t a = s->class_off[k], b = s->class_off[k + 1];
        s->class_off[k] = o;
        for (uint64_t i = a; i < b; i++)
            if (newidx[s->order[i]] != UINT32_MAX)
                s->order[o++] = newidx[s->order[i]];
    }
    s->class_off[K] = o;

    /* The accumulation reads straight through these. */
    s->pos = dg__alloc(ctx, m ? m : 1, sizeof(*s->pos));
    s->acc_score = dg__alloc(ctx, m ? m : 1, sizeof(*s->acc_score));
    s->acc_rank = dg__alloc(ctx, m ? m : 1, 1);
    if (!s->pos || !s->acc_score || !s->acc_rank) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < o; i++) {
        uint32_t d = s->order[i];
        s->pos[d] = (uint32_t)i;
        s->acc_score[i] = s->w.score[d];
        s->acc_rank[i] = s->rank[d];
    }
out:
    free(cat);
    free(img);
    free(key);
    free(keys);
    free(tmp);
    free(next);
    free(stamp);
    free(cnt);
    free(newidx);
    free(rank);
    return st;
}

/*
 * The labels of the matcher's groups, grouped likewise (labels of an
 * image and category without detections are not needed to match), with
 * their ignore column per area range; and npig, the labels of each
 * category and area range that are neither crowd nor out of range (nor,
 * with use_ignore, ignored), counted over all labels.
 */
static dg_status prepare_labels(coco_state *s, int use_ignore)
{
    dg_ctx *ctx = s->ctx;
    const dg_boxset *gt = s->gt;
    uint64_t G = gt->n;
    uint32_t F = s->p->n_frames;
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
            uint32_t k = s->class_rank[gt->cls[j]];
            for (int a = 0; a < NA; a++) {
                int ig = base || area < area_rng[a][0] ||
                         area > area_rng[a][1];
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
    if (!s->ign) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__boxset_reserve(ctx, &s->g, DG_BOXES_LABELS,
                                 G2 ? G2 : 1)) < 0)
        goto out;
    s->g.n = G2;
    for (uint64_t j = 0; j < G; j++) {
        if (grp[j] == UINT32_MAX)
            continue;
        uint64_t o = fill[grp[j]]++;
        s->g.frame[o] = gt->frame[j];
        s->g.cls[o] = gt->cls[j];
        s->g.x[o] = gt->x[j];
        s->g.y[o] = gt->y[j];
        s->g.w[o] = gt->w[j];
        s->g.h[o] = gt->h[j];
        s->g.area[o] = gt->area ? gt->area[j] : gt->w[j] * gt->h[j];
        s->g.iscrowd[o] = gt->iscrowd[j];
        s->g.ignore[o] = gt->ignore ? gt->ignore[j] : 0;
        for (int a = 0; a < NA; a++)
            s->ign[(size_t)a * G2 + o] = ign_all[(size_t)a * G + j];
    }
out:
    free(grp);
    free(fill);
    free(ign_all);
    return st;
}

/* ---- step 3: matching --------------------------------------------------- */

static dg_status make_chunks(coco_state *s, uint64_t target)
{
    dg_ctx *ctx = s->ctx;
    uint32_t F = s->n_pf;
    const uint64_t *goff = s->pf_goff, *doff = s->pf_doff;
    s->chunks = dg__calloc(ctx, (size_t)F + 1, sizeof(*s->chunks));
    if (!s->chunks)
        return DG_ENOMEM;
    s->n_chunks = 0;
    s->max_chunk_dets = 0;
    for (uint32_t f = 0; f < F;) {
        uint32_t g = f + 1;
        while (g < F && doff[g + 1] - doff[f] + goff[g + 1] - goff[f] <= target)
            g++;
        chunk *c = &s->chunks[s->n_chunks++];
        c->lo = f;
        c->hi = g;
        c->goff = dg__alloc(ctx, (size_t)(g - f) + 1, sizeof(uint64_t));
        c->doff = dg__alloc(ctx, (size_t)(g - f) + 1, sizeof(uint64_t));
        if (!c->goff || !c->doff)
            return DG_ENOMEM;
        for (uint32_t i = f; i <= g; i++) {
            c->goff[i - f] = goff[i] - goff[f];
            c->doff[i - f] = doff[i] - doff[f];
        }
        if (doff[g] - doff[f] > s->max_chunk_dets)
            s->max_chunk_dets = doff[g] - doff[f];
        f = g;
    }
    return DG_OK;
}

/* Views of groups [c->lo, c->hi) for area range a: no copies. */
static void chunk_views(const coco_state *s, const chunk *c, int a,
                        dg_boxset *g, dg_boxset *d)
{
    const dg_boxset *gt = &s->g, *w = &s->w;
    uint64_t g0 = s->pf_goff[c->lo], g1 = s->pf_goff[c->hi];
    uint64_t d0 = s->pf_doff[c->lo], d1 = s->pf_doff[c->hi];
    memset(g, 0, sizeof(*g));
    memset(d, 0, sizeof(*d));
    g->n = g->cap = g1 - g0;
    g->frame = gt->frame + g0;
    g->cls = gt->cls + g0;
    g->x = gt->x + g0;
    g->y = gt->y + g0;
    g->w = gt->w + g0;
    g->h = gt->h + g0;
    g->area = gt->area ? gt->area + g0 : NULL;
    g->iscrowd = gt->iscrowd + g0;
    g->ignore = s->ign + (size_t)a * gt->n + g0;
    g->frame_off = c->goff;
    d->n = d->cap = d1 - d0;
    d->frame = w->frame + d0;
    d->cls = w->cls + d0;
    d->x = w->x + d0;
    d->y = w->y + d0;
    d->w = w->w + d0;
    d->h = w->h + d0;
    d->score = w->score + d0;
    d->frame_off = c->doff;
}

/* Status rows of a chunk into the TP/FP masks of area range a. */
static void to_masks(coco_state *s, const chunk *c, int a,
                     const uint8_t *status)
{
    const dg_boxset *w = &s->w;
    uint64_t d0 = s->pf_doff[c->lo], nd = s->pf_doff[c->hi] - d0;
    uint32_t *mask = s->mask + (size_t)a * w->n;
    const uint32_t *pos = s->pos + d0;
    double lo = area_rng[a][0], hi = area_rng[a][1];
    for (uint64_t i = 0; i < nd; i++) {
        uint32_t tp = 0, fp = 0;
        for (int t = 0; t < NT; t++) {
            uint8_t v = status[(size_t)t * nd + i];
            tp |= (uint32_t)(v == DG_TP) << t;
            fp |= (uint32_t)(v == DG_FP) << t;
        }
        double da = w->w[d0 + i] * w->h[d0 + i];
        if (da < lo || da > hi)
            fp = 0; /* an unmatched detection outside the range is ignored */
        mask[pos[i]] = tp | fp << 16;
    }
}

typedef struct match_job {
    coco_state *s;
    uint8_t *status[MAX_THREADS];
    int32_t *matched[MAX_THREADS];
} match_job;

static void match_worker(void *arg, int tid)
{
    match_job *j = arg;
    coco_state *s = j->s;
    dg_ctx local;
    memset(&local, 0, sizeof(local));
    local.device_kind = DG_DEVICE_REF;
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned job = atomic_fetch_add(&s->next_job, 1);
        if (job >= s->n_chunks * NA)
            break;
        const chunk *c = &s->chunks[job / NA];
        int a = (int)(job % NA);
        dg_boxset g, d;
        chunk_views(s, c, a, &g, &d);
        dg_match_input in = {c->hi - c->lo, s->p->n_classes, &g, &d, NT,
                             s->iou};
        dg_match_output mo = {j->status[tid], j->matched[tid]};
        dg_status st = dg__match_ref(&local, &in, &mo);
        if (st < 0) {
            worker_fail(s, st, local.err);
            break;
        }
        to_masks(s, c, a, j->status[tid]);
    }
    free(local.warnings);
}

/*
 * The matcher of the reference path, all four area ranges at once: per
 * (image, category) group the IoU matrix is computed once, and the greedy
 * loop of dg__match_ref runs per area range and threshold on it, with the
 * same rules (evaluateImg's): labels regular first, then ignored (crowd,
 * or ignored in that range), each part in input order; detections by
 * descending score, input order on ties, which within a group is the
 * order of their ranks; each detection takes the last of the best IoUs >=
 * min(t, 1 - 1e-10) among the labels not yet taken (a crowd region may be
 * taken again), never an ignored label once it holds a regular one. Used
 * unless a score is NaN (whose order only dg__match_ref's sort defines).
 */
typedef struct match_scratch {
    double *iou;        /* nd x ng: the candidates' IoUs */
    uint32_t *cc;       /* nd x ng: the candidates (labels of the group) */
    uint8_t *reg;       /* ng: regular in the range at hand (neither
                           crowd nor ignored) */
    uint8_t *taken;     /* ng */
    uint16_t *ord;      /* nd: group positions by rank */
    uint32_t *coff;     /* nd + 1: a detection's candidates */
    size_t cap_m, cap_g, cap_d;
} match_scratch;

static int scratch_fit(match_scratch *m, size_t nd, size_t ng)
{
    if (nd * ng > m->cap_m) {
        size_t cap = nd * ng * 2;
        free(m->iou);
        free(m->cc);
        m->iou = malloc(cap * sizeof(*m->iou));
        m->cc = malloc(cap * sizeof(*m->cc));
        if (!m->iou || !m->cc) {
            m->cap_m = 0;
            return -1;
        }
        m->cap_m = cap;
    }
    if (ng > m->cap_g) {
        size_t cap = ng * 2;
        free(m->reg);
        free(m->taken);
        m->reg = malloc(cap);
        m->taken = malloc(cap);
        if (!m->reg || !m->taken) {
            m->cap_g = 0;
            return -1;
        }
        m->cap_g = cap;
    }
    if (nd > m->cap_d) {
        free(m->ord);
        free(m->coff);
        m->ord = malloc(nd * sizeof(*m->ord));
        m->coff = malloc((nd + 1) * sizeof(*m->coff));
        if (!m->ord || !m->coff) {
            m->cap_d = 0;
            return -1;
        }
        m->cap_d = nd;
    }
    return 0;
}

static void scratch_free(match_scratch *m)
{
    free(m->iou);
    free(m->cc);
    free(m->reg);
    free(m->taken);
    free(m->ord);
    free(m->coff);
}

static void match_group_areas(coco_state *s, uint32_t q, match_scratch *m)
{
    const dg_boxset *gt = &s->g, *w = &s->w;
    uint64_t d0 = s->pf_doff[q], g0 = s->pf_goff[q];
    size_t nd = (size_t)(s->pf_doff[q + 1] - d0);
    size_t ng = (size_t)(s->pf_goff[q + 1] - g0);
    size_t n_w = w->n, G2 = gt->n;
    double thr[NT], tmin = INFINITY;
    for (int t = 0; t < NT; t++) {
        thr[t] = s->iou[t] < 1 - 1e-10 ? s->iou[t] : 1 - 1e-10;
        if (thr[t] < tmin)
            tmin = thr[t];
    }
    /* Ranks in a group are 0 .. nd-1 (those >= 100 were dropped). */
    for (size_t i = 0; i < nd; i++)
        m->ord[s->rank[d0 + i]] = (uint16_t)i;
    if (!ng) {
        /* Every detection unmatched at every threshold. */
        for (int a = 0; a < NA; a++) {
            double lo = area_rng[a][0], hi = area_rng[a][1];
            uint32_t *mask = s->mask + (size_t)a * n_w;
            for (size_t i = 0; i < nd; i++) {
                uint64_t o = d0 + i;
                double da = w->w[o] * w->h[o];
                mask[s->pos[o]] = (da < lo || da > hi)
                                      ? 0
                                      : ((1u << NT) - 1) << 16;
            }
        }
        return;
    }
    /* Per detection, the labels that can take it at some threshold (IoU
     * not below the lowest), in file order: the others are passed over at
     * every threshold in every range. */
    uint32_t *cc = m->cc;
    double *cv = m->iou;
    size_t nc = 0;
    for (size_t i = 0; i < nd; i++) {
        uint64_t di = d0 + m->ord[i];
        m->coff[i] = (uint32_t)nc;
        for (size_t j = 0; j < ng; j++) {
            uint64_t gj = g0 + j;
            double v = dg__iou(w->x[di], w->y[di], w->w[di], w->h[di],
                               gt->x[gj], gt->y[gj], gt->w[gj], gt->h[gj],
                               gt->iscrowd[gj]);
            if (!(v < tmin)) {
                cc[nc] = (uint32_t)j;
                cv[nc++] = v;
            }
        }
    }
    m->coff[nd] = (uint32_t)nc;
    const uint8_t *crowd = gt->iscrowd + g0;
    uint8_t *reg = m->reg;
    for (int a = 0; a < NA; a++) {
        /* Regular labels are tried first, then ignored ones (crowd, or
         * ignored in this range), each part in file order. */
        const uint8_t *ign = s->ign + (size_t)a * G2 + g0;
        for (size_t j = 0; j < ng; j++)
            reg[j] = !(crowd[j] || ign[j]);
        uint32_t tpm[128], fpm[128]; /* nd <= 100 */
        memset(tpm, 0, nd * sizeof(*tpm));
        memset(fpm, 0, nd * sizeof(*fpm));
        for (int t = 0; t < NT; t++) {
            memset(m->taken, 0, ng);
            for (size_t i = 0; i < nd; i++) {
                double best = thr[t];
                uint32_t mm = UINT32_MAX;
                uint32_t e0 = m->coff[i], e1 = m->coff[i + 1];
                for (uint32_t e = e0; e < e1; e++) {
                    uint32_t j = cc[e];
                    if (!reg[j] || m->taken[j] || cv[e] < best)
                        continue;
                    best = cv[e];
                    mm = j;
                }
                if (mm == UINT32_MAX)
                    for (uint32_t e = e0; e < e1; e++) {
                        uint32_t j = cc[e];
                        if (reg[j] || (m->taken[j] && !crowd[j]) ||
                            cv[e] < best)
                            continue;
                        best = cv[e];
                        mm = j;
                    }
                if (mm == UINT32_MAX) {
                    fpm[i] |= 1u << t;
                } else {
                    m->taken[mm] = 1;
                    if (reg[mm])
                        tpm[i] |= 1u << t;
                }
            }
        }
        double lo = area_rng[a][0], hi = area_rng[a][1];
        uint32_t *mask = s->mask + (size_t)a * n_w;
        for (size_t i = 0; i < nd; i++) {
            uint64_t o = d0 + m->ord[i];
            uint32_t fp = fpm[i];
            double da = w->w[o] * w->h[o];
            if (da < lo || da > hi)
                fp = 0; /* an unmatched detection outside the range */
            mask[s->pos[o]] = tpm[i] | fp << 16;
        }
    }
}

static void match_worker_areas(void *arg, int tid)
{
    match_job *j = arg;
    coco_state *s = j->s;
    match_scratch m;
    memset(&m, 0, sizeof(m));
    (void)tid;
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned job = atomic_fetch_add(&s->next_job, 1);
        if (job >= s->n_chunks)
            break;
        const chunk *c = &s->chunks[job];
        for (uint32_t q = c->lo; q < c->hi; q++) {
            size_t nd = (size_t)(s->pf_doff[q + 1] - s->pf_doff[q]);
            size_t ng = (size_t)(s->pf_goff[q + 1] - s->pf_goff[q]);
            if (scratch_fit(&m, nd, ng) < 0) {
                worker_fail(s, DG_ENOMEM, "out of memory matching");
                goto out;
            }
            match_group_areas(s, q, &m);
        }
    }
out:
    scratch_free(&m);
}

static dg_status match_all(coco_state *s)
{
    dg_ctx *ctx = s->ctx;
    dg_status st = DG_OK;
    match_job mj;
    memset(&mj, 0, sizeof(mj));
    mj.s = s;
    size_t n_w = s->w.n;
    s->mask = dg__alloc(ctx, (size_t)NA * (n_w ? n_w : 1), sizeof(*s->mask));
    if (!s->mask)
        return DG_ENOMEM;

    if (s->use_cl) {
        /* One chunk of every frame: the device batches by itself. */
        size_t cap = (size_t)NT * (n_w ? n_w : 1);
        uint8_t *status = dg__alloc(ctx, cap, 1);
        int32_t *matched = dg__alloc(ctx, cap, sizeof(*matched));
        chunk all = {0, s->n_pf, s->pf_goff, s->pf_doff};
        if (!status || !matched)
            st = DG_ENOMEM;
        for (int a = 0; a < NA && st >= 0; a++) {
            dg_boxset g, d;
            chunk_views(s, &all, a, &g, &d);
            dg_match_input in = {s->n_pf, s->p->n_classes, &g, &d, NT,
                                 s->iou};
            dg_match_output mo = {status, matched};
            st = dg__cl_match(ctx, &in, &mo);
            if (st >= 0)
                to_masks(s, &all, a, status);
        }
        free(status);
        free(matched);
        if (st == DG_ENODEV || st == DG_ECL || st == DG_ENOMEM) {
            dg__warn(ctx, "warning: OpenCL path failed, falling back to the "
                     "reference path: %s", ctx->err);
            s->use_cl = 0;
            st = DG_OK;
        } else if (st < 0) {
            return st;
        } else {
            return DG_OK;
        }
    }

    /* Scores all comparable: the one-pass matcher. */
    int has_nan = 0;
    for (uint64_t i = 0; i < n_w && !has_nan; i++)
        has_nan = s->w.score[i] != s->w.score[i];
    if (!has_nan) {
        if ((st = make_chunks(s, 1u << 12)) < 0)
            return st;
        atomic_store(&s->next_job, 0);
        int nt = s->n_threads;
        if ((uint64_t)nt > s->n_chunks)
            nt = s->n_chunks ? (int)s->n_chunks : 1;
        run_parallel(nt, match_worker_areas, &mj);
        if (s->st < 0)
            return dg__fail(ctx, s->st, "%s", s->err);
        return DG_OK;
    }

    if ((st = make_chunks(s, 1u << 14)) < 0)
        return st;
    int nt = s->n_threads;
    uint64_t n_jobs = (uint64_t)s->n_chunks * NA;
    if ((uint64_t)nt > n_jobs)
        nt = n_jobs ? (int)n_jobs : 1;
    size_t cap = (size_t)NT * (s->max_chunk_dets ? s->max_chunk_dets : 1);
    for (int i = 0; i < nt; i++) {
        mj.status[i] = dg__alloc(ctx, cap, 1);
        mj.matched[i] = dg__alloc(ctx, cap, sizeof(int32_t));
        if (!mj.status[i] || !mj.matched[i]) {
            st = DG_ENOMEM;
            goto out;
        }
    }
    atomic_store(&s->next_job, 0);
    run_parallel(nt, match_worker, &mj);
    if (s->st < 0) {
        st = dg__fail(ctx, s->st, "%s", s->err);
        goto out;
    }
out:
    for (int i = 0; i < MAX_THREADS; i++) {
        free(mj.status[i]);
        free(mj.matched[i]);
    }
    return st;
}

/* ---- step 4: accumulation ----------------------------------------------- */

typedef struct acc_job {
    coco_state *s;
    atomic_uint next;
} acc_job;

/*
 * Counting the set bits of many 10-bit masks, per bit: spread[x] puts bit t
 * of x at bit 6t, so one addition counts all ten at once in 6-bit lanes,
 * emptied into the counters before 63 additions can overflow them.
 */
static uint64_t spread[1 << NT];
static pthread_once_t spread_once = PTHREAD_ONCE_INIT;

static void spread_init(void)
{
    for (unsigned x = 0; x < (1u << NT); x++) {
        uint64_t v = 0;
        for (int t = 0; t < NT; t++)
            v |= (uint64_t)((x >> t) & 1) << (6 * t);
        spread[x] = v;
    }
}

static inline void lanes_flush(uint64_t *lanes, uint64_t *cnt)
{
    for (int t = 0; t < NT; t++)
        cnt[t] += (*lanes >> (6 * t)) & 63;
    *lanes = 0;
}

/*
 * One category at a time. Per area range, a forward pass over its list
 * counts, for the three maxDets at once (a detection of rank r is in the
 * list of every maxDets above r), detections and true and false positives
 * at each threshold; a backward pass builds the 30 curves.
 */
static void acc_worker(void *arg, int tid)
{
    acc_job *j = arg;
    coco_state *s = j->s;
    dg_coco_result *r = s->out;
    size_t n_w = s->w.n;
    /* One category's entries, [T][R][A][M] as they lie in the arrays, so
     * that they go out as T x R blocks of A x M. */
    const size_t blk = (size_t)NA * NM, per = (size_t)NT * NR * blk;
    double *qs = malloc((size_t)2 * NM * NT * NR * sizeof(*qs));
    double *pk = malloc(2 * per * sizeof(*pk)), *sk = pk ? pk + per : NULL;
    (void)tid;
    if (!qs || !pk) {
        worker_fail(s, DG_ENOMEM, "out of memory accumulating");
        free(qs);
        free(pk);
        return;
    }
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned k = atomic_fetch_add(&j->next, 1);
        if (k >= s->K)
            break;
        size_t lo = (size_t)s->class_off[k], hi = (size_t)s->class_off[k + 1];
        for (size_t i = 0; i < 2 * per; i++)
            pk[i] = -1.0;
        for (int a = 0; a < NA; a++) {
            uint64_t npig = s->npig[(size_t)k * NA + a];
            if (!npig)
                continue; /* no ground truth: the entries stay -1 */
            const uint32_t *mask = s->mask + (size_t)a * n_w;
            uint64_t n_tp[NM][NT], n_fp[NM][NT], ltp[NM] = {0}, lfp[NM] = {0};
            size_t nd[NM] = {0};
            double first[NM] = {0};
            memset(n_tp, 0, sizeof(n_tp));
            memset(n_fp, 0, sizeof(n_fp));
            for (size_t i = lo; i < hi; i++) {
                int m0 = 0;
                while (m0 < NM && s->acc_rank[i] >= max_dets[m0])
                    m0++;
                uint32_t msk = mask[i];
                uint64_t st = spread[msk & ((1u << NT) - 1)];
                uint64_t sf = spread[(msk >> 16) & ((1u << NT) - 1)];
                for (int m = m0; m < NM; m++) {
                    if (!nd[m])
                        first[m] = s->acc_score[i];
                    ltp[m] += st;
                    lfp[m] += sf;
                    if (++nd[m] % 63 == 0) {
                        lanes_flush(&ltp[m], n_tp[m]);
                        lanes_flush(&lfp[m], n_fp[m]);
                    }
                }
            }
            for (int m = 0; m < NM; m++) {
                lanes_flush(&ltp[m], n_tp[m]);
                lanes_flush(&lfp[m], n_fp[m]);
            }
            curve cv[NM][NT];
            double dn = (double)npig;
            for (int m = 0; m < NM; m++)
                for (int t = 0; t < NT; t++) {
                    double *q = qs + ((size_t)m * NT + (size_t)t) * 2 * NR;
                    curve_begin(&cv[m][t], n_tp[m][t], npig, s->rec, q,
                                q + NR);
                }
            /* Backwards, false positives passed so far: n_after plus the
             * lanes of lfp. */
            uint64_t n_after[NM][NT];
            unsigned since[NM] = {0};
            memset(n_after, 0, sizeof(n_after));
            for (size_t i = hi; i-- > lo;) {
                int m0 = 0;
                while (m0 < NM && s->acc_rank[i] >= max_dets[m0])
                    m0++;
                uint32_t msk = mask[i];
                uint64_t sf = spread[(msk >> 16) & ((1u << NT) - 1)];
                double sc = s->acc_score[i];
                for (int m = m0; m < NM; m++) {
                    /* A detection is a TP or an FP at a threshold, not
                     * both, so its own FP bits may count already. */
                    lfp[m] += sf;
                    for (uint32_t b = msk & 0xffffu; b; b &= b - 1) {
                        unsigned t = lowest_bit(b);
                        uint64_t after =
                            n_after[m][t] + ((lfp[m] >> (6 * t)) & 63);
                        double *q = qs + ((size_t)m * NT + t) * 2 * NR;
                        curve_tp(&cv[m][t], n_fp[m][t] - after, sc, dn,
                                 s->rec, q, q + NR);
                    }
                    if (++since[m] == 63) {
                        since[m] = 0;
                        lanes_flush(&lfp[m], n_after[m]);
                    }
                }
            }
            for (int m = 0; m < NM; m++)
                for (int t = 0; t < NT; t++) {
                    double *q = qs + ((size_t)m * NT + (size_t)t) * 2 * NR;
                    curve_end(&cv[m][t], nd[m], first[m], s->rec, q, q + NR);
                    for (int ri = 0; ri < NR; ri++) {
                        size_t x = ((size_t)t * NR + (size_t)ri) * blk +
                                   (size_t)a * NM + (size_t)m;
                        pk[x] = q[ri];
                        sk[x] = q[NR + ri];
                    }
                    r->recall[dg_coco_recall_index(r, t, k, a, m)] =
                        nd[m] ? (double)n_tp[m][t] / dn : 0.0;
                }
        }
        for (int t = 0; t < NT; t++)
            for (int ri = 0; ri < NR; ri++) {
                size_t x = dg_coco_index(r, t, ri, k, 0, 0);
                size_t y = ((size_t)t * NR + (size_t)ri) * blk;
                memcpy(r->precision + x, pk + y, blk * sizeof(double));
                memcpy(r->scores + x, sk + y, blk * sizeof(double));
            }
    }
    free(qs);
    free(pk);
}

/* ---- step 5: summaries -------------------------------------------------- */

/* Index of threshold v among r->iou, as np.where(v == iouThrs); -1 if none. */
static int iou_index(const dg_coco_result *r, double v)
{
    for (int t = 0; t < NT; t++)
        if (r->iou[t] == v)
            return t;
    return -1;
}

/* Mean of precision[t][:][:][a][m] (t = -1: all) over entries > -1;
 * `none` when there are none. */
static double mean_prec(const dg_coco_result *r, int t_sel, int a, int m,
                        double *buf, double none)
{
    size_t n = 0;
    for (int t = 0; t < NT; t++) {
        if (t_sel >= 0 && t != t_sel)
            continue;
        for (int ri = 0; ri < NR; ri++)
            for (uint32_t k = 0; k < r->n_cats; k++) {
                double v = r->precision[dg_coco_index(r, t, ri, k, a, m)];
                if (v > -1)
                    buf[n++] = v;
            }
    }
    return n ? dg__np_mean(buf, n) : none;
}

static double mean_recall(const dg_coco_result *r, int a, int m, double *buf)
{
    size_t n = 0;
    for (int t = 0; t < NT; t++)
        for (uint32_t k = 0; k < r->n_cats; k++) {
            double v = r->recall[dg_coco_recall_index(r, t, k, a, m)];
            if (v > -1)
                buf[n++] = v;
        }
    return n ? dg__np_mean(buf, n) : -1;
}

static dg_status summarize(dg_ctx *ctx, dg_coco_result *r)
{
    uint32_t K = r->n_cats;
    double *buf = dg__alloc(ctx, (size_t)NT * NR * (K ? K : 1), sizeof(*buf));
    if (!buf)
        return DG_ENOMEM;
    int t50 = iou_index(r, 0.5), t75 = iou_index(r, 0.75);
    double *s = r->stats;
    /* t = -2 selects nothing: a threshold absent from iouThrs gives -1. */
    s[DG_COCO_AP] = mean_prec(r, -1, 0, 2, buf, -1);
    s[DG_COCO_AP50] = mean_prec(r, t50 >= 0 ? t50 : -2, 0, 2, buf, -1);
    s[DG_COCO_AP75] = mean_prec(r, t75 >= 0 ? t75 : -2, 0, 2, buf, -1);
    for (int a = 1; a < NA; a++)
        s[DG_COCO_AP_S + a - 1] = mean_prec(r, -1, a, 2, buf, -1);
    for (int m = 0; m < NM; m++)
        s[DG_COCO_AR1 + m] = mean_recall(r, 0, m, buf);
    for (int a = 1; a < NA; a++)
        s[DG_COCO_AR_S + a - 1] = mean_recall(r, a, 2, buf);

    for (uint32_t k = 0; k < K; k++) {
        size_t n = 0;
        for (int t = 0; t < NT; t++)
            for (int ri = 0; ri < NR; ri++) {
                double v = r->precision[dg_coco_index(r, t, ri, k, 0, 2)];
                if (v > -1)
                    buf[n++] = v;
            }
        r->ap[k] = n ? dg__np_mean(buf, n) : NAN;
        int ts[2] = {t50, t75};
        double *dst[2] = {&r->ap50[k], &r->ap75[k]};
        for (int i = 0; i < 2; i++) {
            n = 0;
            for (int ri = 0; ts[i] >= 0 && ri < NR; ri++) {
                double v =
                    r->precision[dg_coco_index(r, ts[i], ri, k, 0, 2)];
                if (v > -1)
                    buf[n++] = v;
            }
            *dst[i] = n ? dg__np_mean(buf, n) : NAN;
        }
        n = 0;
        for (int t = 0; t < NT; t++) {
            double v = r->recall[dg_coco_recall_index(r, t, k, 0, 2)];
            if (v > -1)
                buf[n++] = v;
        }
        r->ar100[k] = n ? dg__np_mean(buf, n) : NAN;
    }
    free(buf);
    return DG_OK;
}

/* ---- the API ------------------------------------------------------------ */

void dg_coco_result_release(dg_coco_result *r)
{
    if (!r)
        return;
    free(r->cat_class);
    free(r->precision);
    free(r->scores);
    free(r->recall);
    free(r->ap);
    free(r->ap50);
    free(r->ap75);
    free(r->ar100);
    memset(r, 0, sizeof(*r));
}

const char *dg_coco_stat_label(int i)
{
    static const char *const labels[DG_COCO_N_STATS] = {
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    };
    return i >= 0 && i < DG_COCO_N_STATS ? labels[i] : NULL;
}

const char *dg_coco_stat_name(int i)
{
    static const char *const names[DG_COCO_N_STATS] = {
        "AP", "AP50", "AP75", "APs", "APm", "APl",
        "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
    return i >= 0 && i < DG_COCO_N_STATS ? names[i] : NULL;
}

dg_status dg_coco_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_coco_opts *opts, dg_coco_result *out)
{
    double t_start = dg__now(), t0;
    coco_state s;
    dg_status st = DG_OK;
    uint64_t *zero_off = NULL;
    dg_boxset gt_view;

    if (!out)
        return dg__fail(ctx, DG_EINVAL, "coco: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!p || !name)
        return dg__fail(ctx, DG_EINVAL, "coco: no project or no name");
    int64_t which = dg_project_inference_index(p, name);
    if (which < 0)
        return dg__fail(ctx, DG_ENOTFOUND, "'%s': no inference set '%s'",
                        p->path ? p->path : "(project)", name);

    memset(&s, 0, sizeof(s));
    dg__boxset_init(&s.w);
    dg__boxset_init(&s.g);
    s.ctx = ctx;
    s.p = p;
    s.out = out;
    s.n_threads = n_threads_for(opts);
    s.K = p->n_classes;
    pthread_mutex_init(&s.lock, NULL);
    atomic_init(&s.next_job, 0);
    atomic_init(&s.failed, 0);

    t0 = dg__now();
    if ((st = dg__project_load_labels(ctx, p)) < 0 ||
        (st = dg__project_load_inferences(ctx, p, (uint32_t)which)) < 0)
        goto out;
    out->timing.load_s = dg__now() - t0;
    const dg_boxset *dt = &p->inf[which].boxes;
    if (dt->n >= UINT32_MAX || p->labels.n > INT32_MAX) {
        st = dg__fail(ctx, DG_ERANGE, "coco: too many boxes (%llu detections, "
                      "%llu labels)", (unsigned long long)dt->n,
                      (unsigned long long)p->labels.n);
        goto out;
    }
    /* An empty box set may come without offsets. */
    gt_view = p->labels;
    dg_boxset dt_view = *dt;
    if (!gt_view.frame_off || !dt_view.frame_off) {
        zero_off = dg__calloc(ctx, (size_t)p->n_frames + 1, sizeof(uint64_t));
        if (!zero_off) {
            st = DG_ENOMEM;
            goto out;
        }
        if (!gt_view.frame_off)
            gt_view.frame_off = zero_off;
        if (!dt_view.frame_off)
            dt_view.frame_off = zero_off;
    }
    uint8_t no_crowd = 0;
    if (!gt_view.iscrowd && gt_view.n) {
        st = dg__fail(ctx, DG_EINVAL, "coco: labels without iscrowd column");
        goto out;
    }
    if (!gt_view.iscrowd)
        gt_view.iscrowd = &no_crowd;
    s.gt = &gt_view;

    /* Thresholds: numpy.linspace's doubles, or the exact decimals. */
    for (int t = 0; t < NT; t++)
        out->iou[t] = opts && opts->exact_iou
                          ? (double)(50 + 5 * t) / 100.0
                          : dg__np_linspace(0.5, 0.95, NT, t);
    for (int i = 0; i < NR; i++)
        out->rec[i] = dg__np_linspace(0.0, 1.0, NR, i);
    memcpy(s.iou, out->iou, sizeof(s.iou));
    memcpy(s.rec, out->rec, sizeof(s.rec));
    for (int m = 0; m < NM; m++)
        out->max_dets[m] = max_dets[m];
    memcpy(out->area_rng, area_rng, sizeof(area_rng));
    out->n_cats = s.K;
    out->n_gt = gt_view.n;

    size_t np_ = (size_t)NT * NR * s.K * NA * NM;
    size_t nr = (size_t)NT * s.K * NA * NM;
    out->precision = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    out->scores = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    out->recall = dg__alloc(ctx, nr ? nr : 1, sizeof(double));
    out->ap = dg__alloc(ctx, s.K ? s.K : 1, sizeof(double));
    out->ap50 = dg__alloc(ctx, s.K ? s.K : 1, sizeof(double));
    out->ap75 = dg__alloc(ctx, s.K ? s.K : 1, sizeof(double));
    out->ar100 = dg__alloc(ctx, s.K ? s.K : 1, sizeof(double));
    if (!out->precision || !out->scores || !out->recall || !out->ap ||
        !out->ap50 || !out->ap75 || !out->ar100) {
        st = DG_ENOMEM;
        goto out;
    }
    /* precision and scores are written whole, category by category. */
    for (size_t i = 0; i < nr; i++)
        out->recall[i] = -1.0;

    t0 = dg__now();
    if ((st = prepare(&s, &dt_view)) < 0 ||
        (st = prepare_labels(&s, opts && opts->use_ignore)) < 0)
        goto out;
    out->timing.prepare_s = dg__now() - t0;

    /* The device: an OpenCL one only when asked for by kind. */
    t0 = dg__now();
    s.use_cl = ctx && (ctx->device_kind == DG_DEVICE_GPU ||
                       ctx->device_kind == DG_DEVICE_CPU);
    if ((st = match_all(&s)) < 0)
        goto out;
    const char *desc = s.use_cl ? dg__cl_device_desc(ctx) : NULL;
    snprintf(out->device, sizeof(out->device), "%s",
             desc ? desc : "reference");
    out->timing.match_s = dg__now() - t0;

    t0 = dg__now();
    acc_job aj;
    aj.s = &s;
    atomic_init(&aj.next, 0);
    pthread_once(&spread_once, spread_init);
    run_parallel(s.K > 1 ? s.n_threads : 1, acc_worker, &aj);
    if (s.st < 0) {
        st = dg__fail(ctx, s.st, "%s", s.err);
        goto out;
    }
    out->timing.accumulate_s = dg__now() - t0;

    t0 = dg__now();
    if ((st = summarize(ctx, out)) < 0)
        goto out;
    out->timing.summarize_s = dg__now() - t0;
    out->timing.total_s = dg__now() - t_start;
out:
    if (st < 0)
        dg_coco_result_release(out);
    dg__boxset_release(&s.w);
    dg__boxset_release(&s.g);
    free(s.pf_doff);
    free(s.pf_goff);
    free(s.pf_k);
    free(s.pf_first);
    for (uint32_t i = 0; s.chunks && i < s.n_chunks; i++) {
        free(s.chunks[i].goff);
        free(s.chunks[i].doff);
    }
    free(s.chunks);
    free(s.class_rank);
    free(s.class_off);
    free(s.order);
    free(s.rank);
    free(s.pos);
    free(s.acc_score);
    free(s.acc_rank);
    free(s.ign);
    free(s.npig);
    free(s.mask);
    free(zero_off);
    pthread_mutex_destroy(&s.lock);
    return st;
}
