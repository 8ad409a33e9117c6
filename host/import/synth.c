/*
 * Synthetic datasets and detectors (include/detgrid/synth.h).
 *
 * Everything is drawn from xoshiro256** streams seeded per (seed, stream,
 * frame), so frame f's ground truth depends only on the seed, the dataset
 * options and f, and inference set k's detections on frame f only on that
 * ground truth and set k's own stream. Two consequences: the COCO export
 * regenerates the data frame by frame instead of holding it, and adding a
 * "model-c" or changing the detector leaves the labels and the other sets
 * untouched.
 *
 * The dataset model, per frame:
 *   - count: 0 with probability 0.01 (COCO has ~1% empty images), else
 *     1 + Poisson(lambda' * G) with G ~ Exp(1), a gamma-Poisson mixture
 *     whose spread matches COCO's (sd about equal to the mean) better than
 *     a plain Poisson; the mean is objects_per_frame;
 *   - class: a Zipf-like law (weight 1/(k+1), class 0 "person" boosted
 *     1.8x), and 35% of a frame's objects share one "focus" class drawn from
 *     the same law, so frames hold groups (people, cars, books) while the
 *     marginal frequencies stay Zipf-like;
 *   - size: small/medium/large with COCO's 41/34/25 split, log-uniform area
 *     within each bucket, class-dependent aspect ratio (people tall);
 *   - with probability crowd_rate, one crowd region (iscrowd=1), 8-50% of
 *     the frame, listed after the frame's regular objects.
 * Every coordinate is a multiple of 0.01 px, as in COCO's files.
 *
 * The detector, per ground truth: missed with miss_rate scaled by size
 * (small objects 1.7x, large 0.35x), by a per-class skill and by a hidden
 * per-object hardness shared between models (so their misses correlate);
 * otherwise a box jittered by ~jitter * size (more for small and hard
 * objects, 8% of boxes 3x worse), perhaps of a neighbouring class, with a
 * logistic score rising with its IoU; perhaps a duplicate (worse box,
 * lower score). Per frame: Poisson(background_fp) false positives (half
 * near-misses beside an object, half anywhere), Poisson(low_score_fp) junk
 * with log-uniform scores in [0.001, 0.1], and a few detections inside each
 * crowd region. Boxes are clipped to the frame. Set k is slightly worse and
 * more confident than set k-1, with its own per-class skills, so per-class
 * comparisons go both ways.
 *
 * Planted label mistakes (the plant_* options) come from a stream of their
 * own, seeded per (seed, frame), and change only the labels written: the
 * detectors are generated from the true objects as before. With every
 * plant_* rate zero that stream is never drawn from, so the output is the
 * same, byte for byte, as without the feature. Per regular object one
 * uniform draw picks at most one of missing, wrong class or bad box; then
 * Poisson(n_objects * plant_spurious) spurious labels are placed by
 * rejection where they overlap no object (IoU < 0.1; 30 tries, else that
 * one is not planted). A bad box shifts the object's box along one axis or
 * scales it about its centre towards a target IoU drawn in [0.2, 0.45] and
 * keeps the result if, after clipping and snapping, its IoU with the
 * object is in [0.15, 0.5) (16 tries, else the label is left correct).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "detgrid/scale.h"
#include "detgrid/synth.h"

/* ---- random numbers --------------------------------------------------- */

typedef struct {
    uint64_t s[4];
} rng_t;

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix64(mix64(mix64(a) ^ b) ^ c);
}

enum { STREAM_GT = 1, STREAM_SKILL = 2, STREAM_DET = 16 };
/* Above every STREAM_DET + k (k < 1000) and STREAM_SKILL + (k << 8). */
#define STREAM_PLANT 0x504c414e54ULL

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream, uint64_t frame)
{
    uint64_t h = hash3(seed, stream, frame);
    for (int i = 0; i < 4; i++) {
        h += 0x9e3779b97f4a7c15ULL;
        r->s[i] = mix64(h);
    }
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** by Blackman and Vigna. */
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static inline double unif(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1], safe for log(). */
static inline double unif_pos(rng_t *r)
{
    return (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* Uniform in [lo, hi). */
static inline double unif_in(rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * unif(r);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply, bias < 2^-32). */
static inline uint32_t below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/*
 * Roughly standard normal: the sum of four uniforms (Irwin-Hall), scaled
 * to unit variance. Plain arithmetic, and tails end at 3.46 sd, which keeps
 * a jittered box from landing absurdly far from its object.
 */
static inline double gauss(rng_t *r)
{
    uint64_t x = rng_next(r);
    double s = (double)(x & 0xffff) + (double)((x >> 16) & 0xffff) +
               (double)((x >> 32) & 0xffff) + (double)(x >> 48);
    return (s * (1.0 / 65536.0) - 2.0) * 1.7320508075688772;
}

/* Poisson(mu) by Knuth's product method, in pieces of at most 30 so
 * exp(-mu) never underflows. Cost is O(mu), like the boxes it sizes. */
static uint32_t poisson(rng_t *r, double mu)
{
    uint32_t k = 0;
    while (mu > 0) {
        double piece = mu > 30 ? 30 : mu;
        double lim = exp(-piece), p = unif_pos(r);
        while (p > lim) {
            k++;
            p *= unif_pos(r);
        }
        mu -= piece;
    }
    return k;
}

/* ---- the model -------------------------------------------------------- */

/* COCO's 80 categories, roughly by how often they occur in val2017. */
static const char *const class_names[] = {
    "person", "car", "chair", "book", "bottle", "cup", "dining table",
    "bowl", "traffic light", "handbag", "umbrella", "bird", "boat", "truck",
    "bench", "sheep", "banana", "kite", "motorcycle", "backpack",
    "potted plant", "cow", "wine glass", "carrot", "donut", "knife",
    "broccoli", "bicycle", "skis", "vase", "horse", "tie", "cell phone",
    "orange", "cake", "sports ball", "clock", "suitcase", "spoon",
    "surfboard", "bus", "tv", "couch", "pizza", "remote", "train", "zebra",
    "sink", "laptop", "giraffe", "elephant", "dog", "cat", "airplane", "bed",
    "fork", "oven", "keyboard", "toilet", "mouse", "tennis racket", "apple",
    "sandwich", "skateboard", "frisbee", "baseball glove", "teddy bear",
    "refrigerator", "baseball bat", "fire hydrant", "stop sign", "hot dog",
    "microwave", "snowboard", "scissors", "parking meter", "bear",
    "toothbrush", "hair drier", "toaster",
};
#define N_NAMED (sizeof(class_names) / sizeof(class_names[0]))
_Static_assert(N_NAMED == 80, "COCO has 80 categories");

enum { SIZE_SMALL = 0, SIZE_MEDIUM = 1, SIZE_LARGE = 2 };

/* Miss-rate multipliers by size; their COCO-weighted mean is about 1. */
static const double size_miss[3] = {1.7, 0.75, 0.35};
/* Localization-noise multipliers by size. */
static const double size_jit[3] = {1.4, 1.0, 0.8};

typedef struct {
    double miss, jitter, confuse, dup, bg, low, zoff;
    double *skill; /* per class, multiplies miss */
} detector;

typedef struct {
    dg_synth_opts o; /* resolved: no zero-means-default fields left */
    uint32_t n_frames, n_classes, n_inf;
    double lambda;
    double W, H;
    int64_t KW, KH; /* frame size in hundredths of a pixel */
    double *cdf;    /* n_classes, cumulative class weights ending at 1 */
    double *logar;  /* n_classes, mean log aspect ratio (w / h) */
    double area_lo[3], area_log[3]; /* per size bucket: lo, log(hi / lo) */
    detector *det;  /* n_inf */
} model;

/* One box of a frame, before it goes to a boxset or a file. */
typedef struct {
    double x, y, w, h, score, area;
    double hard; /* ground truth: hidden hardness in [0, 1), low is hard */
    uint32_t cls;
    uint8_t crowd, size;
} sbox;

typedef struct {
    sbox *b;
    size_t n, cap;
} sbuf;

static sbox *sbuf_add(sbuf *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        sbox *b = realloc(s->b, cap * sizeof(*b));
        if (!b)
            return NULL;
        s->b = b;
        s->cap = cap;
    }
    sbox *b = &s->b[s->n++];
    memset(b, 0, sizeof(*b));
    return b;
}

static void model_release(model *m)
{
    if (m->det) {
        for (uint32_t k = 0; k < m->n_inf; k++)
            free(m->det[k].skill);
    }
    free(m->det);
    free(m->cdf);
    free(m->logar);
    memset(m, 0, sizeof(*m));
}

static int bad_rate(double v)
{
    return !(v >= 0 && v <= 1);
}

static int bad_mean(double v)
{
    return !(v >= 0 && v <= 10000);
}

static dg_status model_init(dg_ctx *ctx, const dg_synth_opts *opts, model *m)
{
    memset(m, 0, sizeof(*m));
    if (opts)
        m->o = *opts;
    else
        dg_synth_opts_init(&m->o);
    dg_synth_opts *o = &m->o;

    if (!o->n_frames)
        o->n_frames = 200;
    if (!o->n_classes)
        o->n_classes = 10;
    if (!o->n_inferences)
        o->n_inferences = 1;
    if (o->objects_per_frame == 0)
        o->objects_per_frame = 7.3;
    if (!o->frame_width)
        o->frame_width = 640;
    if (!o->frame_height)
        o->frame_height = 480;

    if (o->n_frames == UINT32_MAX)
        return dg__fail(ctx, DG_EINVAL, "synth: too many frames (%u)",
                        o->n_frames);
    if (o->n_classes > 10000)
        return dg__fail(ctx, DG_EINVAL, "synth: too many classes (%u)",
                        o->n_classes);
    if (o->n_inferences > 1000)
        return dg__fail(ctx, DG_EINVAL,
                        "synth: too many inference sets (%u)",
                        o->n_inferences);
    if (o->frame_width < 1 || o->frame_width > 1000000 ||
        o->frame_height < 1 || o->frame_height > 1000000)
        return dg__fail(ctx, DG_EINVAL,
                        "synth: frame size %dx%d out of range", o->frame_width,
                        o->frame_height);
    if (bad_mean(o->objects_per_frame))
        return dg__fail(ctx, DG_EINVAL,
                        "synth: objects_per_frame %g not in [0, 10000]",
                        o->objects_per_frame);
    if (bad_mean(o->background_fp) || bad_mean(o->low_score_fp))
        return dg__fail(ctx, DG_EINVAL,
                        "synth: background_fp %g or low_score_fp %g not in "
                        "[0, 10000]", o->background_fp, o->low_score_fp);
    if (bad_rate(o->plant_missing) || bad_rate(o->plant_wrong_class) ||
        bad_rate(o->plant_bad_box) ||
        !(o->plant_missing + o->plant_wrong_class + o->plant_bad_box <= 1))
        return dg__fail(ctx, DG_EINVAL,
                        "synth: plant_missing, plant_wrong_class and "
                        "plant_bad_box must be in [0, 1] and sum to at most 1");
    if (!(o->plant_spurious >= 0 && o->plant_spurious <= 100))
        return dg__fail(ctx, DG_EINVAL,
                        "synth: plant_spurious %g not in [0, 100]",
                        o->plant_spurious);
    if (bad_rate(o->crowd_rate) || bad_rate(o->miss_rate) ||
        bad_rate(o->confuse_rate) || bad_rate(o->duplicate_rate))
        return dg__fail(ctx, DG_EINVAL,
                        "synth: crowd, miss, confuse and duplicate rates must "
                        "be in [0, 1]");
    if (!(o->jitter >= 0 && o->jitter <= 2))
        return dg__fail(ctx, DG_EINVAL, "synth: jitter %g not in [0, 2]",
                        o->jitter);

    m->n_frames = o->n_frames;
    m->n_classes = o->n_classes;
    m->n_inf = o->n_inferences;
    m->lambda = o->objects_per_frame;
    m->W = o->frame_width;
    m->H = o->frame_height;
    m->KW = (int64_t)o->frame_width * 100;
    m->KH = (int64_t)o->frame_height * 100;

    /*
     * COCO's size buckets (area < 32^2, < 96^2, above) drawn with its
     * 41/34/25 split, log-uniform inside each; the largest objects cover
     * 80% of the frame.
     */
    static const double bucket[4] = {12, 1024, 9216, 0};
    double amax = 0.8 * m->W * m->H;
    for (int s = 0; s < 3; s++) {
        double lo = bucket[s], hi = s < 2 ? bucket[s + 1] : amax;
        if (hi > amax)
            hi = amax;
        if (lo > hi)
            lo = hi;
        m->area_lo[s] = lo;
        m->area_log[s] = log(hi / lo);
    }

    uint32_t K = m->n_classes;
    m->cdf = dg__alloc(ctx, K, sizeof(double));
    m->logar = dg__alloc(ctx, K, sizeof(double));
    m->det = dg__calloc(ctx, m->n_inf, sizeof(detector));
    if (!m->cdf || !m->logar || !m->det)
        goto oom;

    double sum = 0;
    for (uint32_t c = 0; c < K; c++) {
        sum += (c == 0 ? 1.8 : 1.0) / (c + 1.0);
        m->cdf[c] = sum;
        /* Fixed per class, independent of the seed: a car is always wide. */
        double u = (double)(mix64(c * 7919ULL + 17) >> 11) * 0x1.0p-53;
        m->logar[c] = c == 0 ? -0.9 : -0.6 + 1.2 * u;
    }
    for (uint32_t c = 0; c < K; c++)
        m->cdf[c] /= sum;
    m->cdf[K - 1] = 1.0;

    for (uint32_t k = 0; k < m->n_inf; k++) {
        detector *d = &m->det[k];
        double q = k;
        d->miss = o->miss_rate * (1 + 0.15 * q);
        d->jitter = o->jitter * (1 + 0.12 * q);
        d->confuse = o->confuse_rate * (1 + 0.2 * q);
        d->dup = o->duplicate_rate * (1 + 0.3 * q);
        d->bg = o->background_fp * (1 + 0.25 * q);
        d->low = o->low_score_fp;
        d->zoff = 0.25 * q;
        if (d->confuse > 1)
            d->confuse = 1;
        if (d->dup > 1)
            d->dup = 1;
        d->skill = dg__alloc(ctx, K, sizeof(double));
        if (!d->skill)
            goto oom;
        for (uint32_t c = 0; c < K; c++) {
            uint64_t h = hash3(o->seed, STREAM_SKILL + ((uint64_t)k << 8), c);
            d->skill[c] = 0.6 + 0.8 * ((double)(h >> 11) * 0x1.0p-53);
        }
    }
    return DG_OK;
oom:
    model_release(m);
    return DG_ENOMEM;
}

static uint32_t draw_class(const model *m, rng_t *r)
{
    double u = unif(r);
    uint32_t lo = 0, hi = m->n_classes - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* A class next to c in frequency order: what a confused detector says. */
static uint32_t neighbour(const model *m, rng_t *r, uint32_t c)
{
    uint32_t K = m->n_classes;
    if (K < 2)
        return c;
    uint32_t off = 1 + below(r, K > 2 ? 2 : 1);
    return rng_next(r) >> 63 ? (c + off) % K : (c + K - off) % K;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Hundredths of a pixel, rounded; v >= 0. */
static int64_t hundredths(double v)
{
    return (int64_t)(v * 100.0 + 0.5);
}

/*
 * Sets b's box to the rectangle (x1, y1)-(x2, y2), clipped to the frame and
 * snapped to 0.01 px, at least 0.01 px wide and high.
 */
static void set_box(const model *m, sbox *b, double x1, double y1, double x2,
                    double y2)
{
    x1 = x1 < 0 ? 0 : x1 > m->W ? m->W : x1;
    x2 = x2 < 0 ? 0 : x2 > m->W ? m->W : x2;
    y1 = y1 < 0 ? 0 : y1 > m->H ? m->H : y1;
    y2 = y2 < 0 ? 0 : y2 > m->H ? m->H : y2;
    int64_t kx1 = hundredths(x1), kx2 = hundredths(x2);
    int64_t ky1 = hundredths(y1), ky2 = hundredths(y2);
    if (kx2 <= kx1) {
        kx1 = clamp64(kx1, 0, m->KW - 1);
        kx2 = kx1 + 1;
    }
    if (ky2 <= ky1) {
        ky1 = clamp64(ky1, 0, m->KH - 1);
        ky2 = ky1 + 1;
    }
    b->x = (double)kx1 / 100.0;
    b->y = (double)ky1 / 100.0;
    b->w = (double)(kx2 - kx1) / 100.0;
    b->h = (double)(ky2 - ky1) / 100.0;
}

/* Places a w x h box (pixels) uniformly inside the frame. */
static void place_box(const model *m, rng_t *r, sbox *b, double w, double h)
{
    int64_t kw = clamp64(hundredths(w), 1, m->KW);
    int64_t kh = clamp64(hundredths(h), 1, m->KH);
    int64_t kx = below(r, (uint32_t)(m->KW - kw + 1));
    int64_t ky = below(r, (uint32_t)(m->KH - kh + 1));
    b->x = (double)kx / 100.0;
    b->y = (double)ky / 100.0;
    b->w = (double)kw / 100.0;
    b->h = (double)kh / 100.0;
}

/* An object-like box of class cls anywhere in the frame; sets b->size. */
static void random_object(const model *m, rng_t *r, sbox *b, uint32_t cls)
{
    double u = unif(r);
    int s = u < 0.41 ? SIZE_SMALL : u < 0.75 ? SIZE_MEDIUM : SIZE_LARGE;
    double area = m->area_lo[s] * exp(unif(r) * m->area_log[s]);
    b->size = (uint8_t)s;
    double la = m->logar[cls] + 0.45 * gauss(r);
    la = la < -1.6 ? -1.6 : la > 1.6 ? 1.6 : la;
    double w = sqrt(area * exp(la));
    double h = area / w;
    place_box(m, r, b, w, h);
    b->cls = cls;
}

/* Frame f's ground truth into gt (emptied first). */
static int gen_gt(const model *m, uint32_t f, sbuf *gt)
{
    rng_t r;
    rng_seed(&r, m->o.seed, STREAM_GT, f);
    gt->n = 0;

    uint32_t n = 0;
    double rest = m->lambda / 0.99 - 1;
    if (rest <= 0)
        n = poisson(&r, m->lambda); /* too sparse for the COCO shape */
    else if (unif(&r) >= 0.01)
        n = 1 + poisson(&r, -rest * log(unif_pos(&r)));
    uint32_t focus = draw_class(m, &r);
    for (uint32_t i = 0; i < n; i++) {
        sbox *b = sbuf_add(gt);
        if (!b)
            return -1;
        uint32_t cls = unif(&r) < 0.35 ? focus : draw_class(m, &r);
        random_object(m, &r, b, cls);
        b->area = b->w * b->h;
        b->hard = unif(&r);
    }
    if (m->o.crowd_rate > 0 && unif(&r) < m->o.crowd_rate) {
        sbox *b = sbuf_add(gt);
        if (!b)
            return -1;
        double frac = unif_in(&r, 0.08, 0.5);
        double ar = exp(0.4 + 0.4 * gauss(&r));
        double area = frac * m->W * m->H;
        double w = sqrt(area * ar);
        place_box(m, &r, b, w > m->W ? m->W : w, area / w);
        b->cls = unif(&r) < 0.7 ? 0 : draw_class(m, &r);
        b->area = b->w * b->h;
        b->crowd = 1;
        b->size = SIZE_LARGE;
    }
    return 0;
}

/* A copy of g's box with localization noise sigma (fraction of its size). */
static void jitter_box(const model *m, rng_t *r, sbox *d, const sbox *g,
                       double sigma)
{
    double cx = g->x + g->w * (0.5 + sigma * gauss(r));
    double cy = g->y + g->h * (0.5 + sigma * gauss(r));
    double sw = 1 + sigma * gauss(r), sh = 1 + sigma * gauss(r);
    double w = g->w * (sw < 0.3 ? 0.3 : sw);
    double h = g->h * (sh < 0.3 ? 0.3 : sh);
    set_box(m, d, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
}

static double logistic(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static double iou_of(const sbox *d, const sbox *g)
{
    return dg__iou(d->x, d->y, d->w, d->h, g->x, g->y, g->w, g->h, 0);
}

typedef struct {
    double score;
    uint32_t idx;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Keeps the cap best detections of dt (score descending, earlier first on
 * ties) in their generation order, as a submission truncated to its top
 * cap per image would hold them.
 */
static int apply_cap(sbuf *dt, uint32_t cap, ranked **scratch, size_t *scap)
{
    if (!cap || dt->n <= cap)
        return 0;
    if (*scap < dt->n) {
        ranked *s = realloc(*scratch, dt->n * sizeof(*s));
        if (!s)
            return -1;
        *scratch = s;
        *scap = dt->n;
    }
    ranked *rk = *scratch;
    for (size_t i = 0; i < dt->n; i++) {
        rk[i].score = dt->b[i].score;
        rk[i].idx = (uint32_t)i;
    }
    qsort(rk, dt->n, sizeof(*rk), by_score_desc);
    /* Mark the kept ones through their hardness field, unused for dets. */
    for (size_t i = 0; i < dt->n; i++)
        dt->b[i].hard = 0;
    for (size_t i = 0; i < cap; i++)
        dt->b[rk[i].idx].hard = 1;
    size_t n = 0;
    for (size_t i = 0; i < dt->n; i++)
        if (dt->b[i].hard)
            dt->b[n++] = dt->b[i];
    dt->n = n;
    return 0;
}

/* The stored score: rounded to 1e-6 (float-like), or to score_levels. */
static double final_score(const model *m, double s)
{
    uint32_t L = m->o.score_levels;
    if (L) {
        double q = floor(s * L);
        if (q > L - 1)
            q = L - 1;
        if (q < 0)
            q = 0;
        return (q + 1) / L;
    }
    int64_t k = (int64_t)(s * 1e6 + 0.5);
    k = clamp64(k, 1, 1000000);
    return (double)k / 1e6;
}

typedef struct {
    ranked *rk;
    size_t rk_cap;
} scratch_t;

/* Inference set k's detections on frame f, given its ground truth. */
static int gen_dets(const model *m, uint32_t k, uint32_t f, const sbuf *gt,
                    sbuf *dt, scratch_t *sc)
{
    const detector *d = &m->det[k];
    rng_t r;
    rng_seed(&r, m->o.seed, STREAM_DET + (uint64_t)k, f);
    dt->n = 0;
    uint32_t n_regular = 0;

    for (size_t i = 0; i < gt->n; i++) {
        const sbox *g = &gt->b[i];
        if (g->crowd) {
            /* Individuals inside a crowd region: they match the crowd and
             * are ignored by COCO's rules. */
            uint32_t n_in = 1 + poisson(&r, 2.5);
            for (uint32_t j = 0; j < n_in; j++) {
                sbox *b = sbuf_add(dt);
                if (!b)
                    return -1;
                double w = g->w * unif_in(&r, 0.08, 0.25);
                double h = g->h * unif_in(&r, 0.3, 0.9);
                double x = g->x + (g->w - w) * unif(&r);
                double y = g->y + (g->h - h) * unif(&r);
                set_box(m, b, x, y, x + w, y + h);
                b->cls = g->cls;
                b->score = logistic(0.2 + 0.9 * gauss(&r) + d->zoff);
            }
            continue;
        }
        n_regular++;
        double pm = d->miss * size_miss[g->size] * d->skill[g->cls];
        double u = unif(&r) < 0.5 ? g->hard : unif(&r);
        if (u < pm)
            continue;
        double sigma = d->jitter * size_jit[g->size] * (1.4 - 0.8 * g->hard);
        if (unif(&r) < 0.08)
            sigma *= 3;
        sbox *b = sbuf_add(dt);
        if (!b)
            return -1;
        jitter_box(m, &r, b, g, sigma);
        double iou = iou_of(b, g);
        b->cls = g->cls;
        double z = 5.0 * (iou - 0.6) + 1.2 * (g->hard - 0.5) +
                   0.7 * gauss(&r) + d->zoff + 1.6;
        if (g->size == SIZE_SMALL)
            z -= 0.5;
        if (d->confuse > 0 && unif(&r) < d->confuse) {
            b->cls = neighbour(m, &r, g->cls);
            z -= 1.5;
        }
        b->score = logistic(z);
        if (d->dup > 0 && unif(&r) < d->dup) {
            uint32_t cls = b->cls;
            sbox *b2 = sbuf_add(dt);
            if (!b2)
                return -1;
            jitter_box(m, &r, b2, g, 2.5 * sigma + 0.02);
            b2->cls = cls;
            b2->score = logistic(z - 1.5 - 1.5 * unif(&r));
        }
    }

    uint32_t n_bg = poisson(&r, d->bg);
    for (uint32_t j = 0; j < n_bg; j++) {
        sbox *b = sbuf_add(dt);
        if (!b)
            return -1;
        if (n_regular && unif(&r) < 0.5) {
            /* A near miss: beside an object, overlapping it a little. */
            const sbox *g;
            do
                g = &gt->b[below(&r, (uint32_t)gt->n)];
            while (g->crowd);
            double ang = unif(&r);
            double dx = ang < 0.5 ? unif_in(&r, 0.5, 1.0) : unif_in(&r, -0.3, 0.3);
            double dy = ang < 0.5 ? unif_in(&r, -0.3, 0.3) : unif_in(&r, 0.5, 1.0);
            if (rng_next(&r) >> 63)
                dx = -dx;
            if (rng_next(&r) >> 63)
                dy = -dy;
            double cx = g->x + g->w * (0.5 + dx), cy = g->y + g->h * (0.5 + dy);
            double w = g->w * unif_in(&r, 0.6, 1.4);
            double h = g->h * unif_in(&r, 0.6, 1.4);
            set_box(m, b, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
            b->cls = unif(&r) < 0.7 ? g->cls : neighbour(m, &r, g->cls);
            b->score = logistic(-1.2 + 3.0 * iou_of(b, g) +
                                0.8 * gauss(&r) + d->zoff);
        } else {
            random_object(m, &r, b, draw_class(m, &r));
            b->score = logistic(-2.2 + 0.9 * gauss(&r) + d->zoff);
        }
    }

    /* The low-score tail a submission keeps: boxes around objects with the
     * wrong class or shape, and boxes on nothing. */
    uint32_t n_low = poisson(&r, d->low);
    for (uint32_t j = 0; j < n_low; j++) {
        sbox *b = sbuf_add(dt);
        if (!b)
            return -1;
        uint32_t cls = draw_class(m, &r);
        if (n_regular && unif(&r) < 0.6) {
            const sbox *g;
            do
                g = &gt->b[below(&r, (uint32_t)gt->n)];
            while (g->crowd);
            jitter_box(m, &r, b, g, 0.35);
            b->cls = cls;
        } else {
            random_object(m, &r, b, cls);
        }
        b->score = 0.001 * exp(unif(&r) * 4.605170185988092); /* ln 100 */
    }

    for (size_t i = 0; i < dt->n; i++)
        dt->b[i].score = final_score(m, dt->b[i].score);
    return apply_cap(dt, m->o.max_dets_per_frame, &sc->rk, &sc->rk_cap);
}

/* ---- planted label mistakes ------------------------------------------- */

typedef struct {
    dg_synth_plant *v;
    uint64_t n, cap;
} plant_log;

static int log_add(plant_log *lg, const dg_synth_plant *pl)
{
    if (lg->n == lg->cap) {
        uint64_t cap = lg->cap ? 2 * lg->cap : 256;
        dg_synth_plant *v = realloc(lg->v, cap * sizeof(*v));
        if (!v)
            return -1;
        lg->v = v;
        lg->cap = cap;
    }
    lg->v[lg->n++] = *pl;
    return 0;
}

static int planting(const model *m)
{
    const dg_synth_opts *o = &m->o;
    return o->plant_missing > 0 || o->plant_wrong_class > 0 ||
           o->plant_bad_box > 0 || o->plant_spurious > 0;
}

static void box4(double *v, const sbox *b)
{
    v[0] = b->x;
    v[1] = b->y;
    v[2] = b->w;
    v[3] = b->h;
}

/*
 * A copy of g's box moved or resized so that its IoU with g is in
 * [0.15, 0.5), into *b; 0 if 16 tries found none.
 */
static int bad_box(const model *m, rng_t *r, const sbox *g, sbox *b)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        double T = unif_in(r, 0.2, 0.45);
        double x1 = g->x, y1 = g->y, x2 = g->x + g->w, y2 = g->y + g->h;
        if (unif(r) < 0.5) {
            /* Shifting by s of the size along one axis gives
             * IoU (1 - s) / (1 + s). */
            double sh = (1 - T) / (1 + T);
            double sign = rng_next(r) >> 63 ? 1.0 : -1.0;
            if (unif(r) < 0.5) {
                x1 += sign * sh * g->w;
                x2 += sign * sh * g->w;
            } else {
                y1 += sign * sh * g->h;
                y2 += sign * sh * g->h;
            }
        } else {
            /* Scaling by k about the centre gives IoU k^2 or 1 / k^2. */
            double k = unif(r) < 0.5 ? sqrt(1 / T) : sqrt(T);
            double cx = g->x + g->w / 2, cy = g->y + g->h / 2;
            x1 = cx - g->w * k / 2;
            x2 = cx + g->w * k / 2;
            y1 = cy - g->h * k / 2;
            y2 = cy + g->h * k / 2;
        }
        sbox t = *g;
        set_box(m, &t, x1, y1, x2, y2);
        double v = iou_of(&t, g);
        if (v >= 0.15 && v < 0.5) {
            *b = t;
            return 1;
        }
    }
    return 0;
}

/*
 * The labels of frame f: its true objects gt with mistakes planted, into
 * lab (emptied first). Returns gt itself when nothing is to be planted (no
 * random number is drawn then), lab otherwise, NULL when out of memory.
 * With lg, each mistake is recorded there, label indices counted from
 * label0.
 */
static const sbuf *plant_labels(const model *m, uint32_t f, const sbuf *gt,
                                sbuf *lab, plant_log *lg, uint64_t label0)
{
    if (!planting(m))
        return gt;
    const dg_synth_opts *o = &m->o;
    rng_t r;
    rng_seed(&r, o->seed, STREAM_PLANT, f);
    lab->n = 0;
    uint32_t n_regular = 0;
    dg_synth_plant pl;

    for (size_t i = 0; i < gt->n; i++) {
        const sbox *g = &gt->b[i];
        sbox *b = sbuf_add(lab);
        if (!b)
            return NULL;
        *b = *g;
        if (g->crowd)
            continue;
        n_regular++;
        memset(&pl, 0, sizeof(pl));
        pl.frame = f;
        pl.cls = pl.true_cls = g->cls;
        box4(pl.box, g);
        box4(pl.true_box, g);
        pl.iou = 1;
        double u = unif(&r);
        if (u < o->plant_missing) {
            lab->n--;
            pl.kind = DG_PLANT_MISSING;
            pl.label = -1;
        } else if ((u -= o->plant_missing) < o->plant_wrong_class) {
            if (m->n_classes < 2)
                continue;
            uint32_t c = below(&r, m->n_classes - 1);
            b->cls = c >= g->cls ? c + 1 : c;
            pl.kind = DG_PLANT_WRONG_CLASS;
            pl.label = (int64_t)(label0 + lab->n - 1);
            pl.cls = b->cls;
        } else if ((u -= o->plant_wrong_class) < o->plant_bad_box) {
            if (!bad_box(m, &r, g, b))
                continue;
            b->area = b->w * b->h;
            pl.kind = DG_PLANT_BAD_BOX;
            pl.label = (int64_t)(label0 + lab->n - 1);
            box4(pl.box, b);
            pl.iou = iou_of(b, g);
        } else {
            continue;
        }
        if (lg && log_add(lg, &pl) < 0)
            return NULL;
    }

    uint32_t n_sp = o->plant_spurious > 0 && n_regular
                        ? poisson(&r, o->plant_spurious * n_regular)
                        : 0;
    for (uint32_t j = 0; j < n_sp; j++) {
        sbox t;
        int ok = 0;
        for (int attempt = 0; attempt < 30 && !ok; attempt++) {
            memset(&t, 0, sizeof(t));
            random_object(m, &r, &t, draw_class(m, &r));
            ok = 1;
            for (size_t i = 0; i < gt->n && ok; i++)
                if (iou_of(&t, &gt->b[i]) >= 0.1)
                    ok = 0;
        }
        if (!ok)
            continue;
        sbox *b = sbuf_add(lab);
        if (!b)
            return NULL;
        t.area = t.w * t.h;
        *b = t;
        memset(&pl, 0, sizeof(pl));
        pl.kind = DG_PLANT_SPURIOUS;
        pl.frame = f;
        pl.label = (int64_t)(label0 + lab->n - 1);
        pl.cls = pl.true_cls = t.cls;
        box4(pl.box, &t);
        box4(pl.true_box, &t);
        pl.iou = 1;
        if (lg && log_add(lg, &pl) < 0)
            return NULL;
    }
    return lab;
}

static void class_name(uint32_t c, char *buf, size_t size)
{
    if (c < N_NAMED)
        snprintf(buf, size, "%s", class_names[c]);
    else
        snprintf(buf, size, "class-%03u", c);
}

static void frame_name(uint32_t f, char *buf, size_t size)
{
    snprintf(buf, size, "frame-%06u", f + 1);
}

static void inference_name(uint32_t k, char *buf, size_t size)
{
    if (k < 26)
        snprintf(buf, size, "model-%c", 'a' + (int)k);
    else
        snprintf(buf, size, "model-%u", k + 1);
}

/* ---- public: options -------------------------------------------------- */

void dg_synth_opts_init(dg_synth_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->n_frames = 200;
    o->n_classes = 10;
    o->objects_per_frame = 7.3;
    o->crowd_rate = 0.01;
    o->n_inferences = 1;
    o->miss_rate = 0.15;
    o->jitter = 0.08;
    o->confuse_rate = 0.05;
    o->duplicate_rate = 0.05;
    o->background_fp = 1.0;
    o->low_score_fp = 2.0;
    o->score_levels = 0;
    o->frame_width = 640;
    o->frame_height = 480;
    o->max_dets_per_frame = 0;
}

void dg_synth_opts_coco(dg_synth_opts *o, double scale)
{
    dg_synth_opts_init(o);
    if (!(scale > 0))
        scale = 1;
    double nf = 5000.0 * scale + 0.5;
    if (nf < 1)
        nf = 1;
    if (nf > 4294967294.0)
        nf = 4294967294.0;
    o->n_frames = (uint32_t)nf;
    o->n_classes = 80;
    /* val2017: 36,781 boxes on 5,000 images, ~1% of them crowd regions. */
    o->objects_per_frame = 7.27;
    o->crowd_rate = 0.09;
    /*
     * A detector near Faster R-CNN R50-FPN: at scale 1 pycocotools gives
     * model-a AP 0.367, AP50 0.596, AP75 0.412, AP small/medium/large
     * 0.216/0.422/0.548 (that model's published figures: 37.9, 58.8,
     * 41.0, 22.4/41.1/49.1), and model-b AP 0.313.
     */
    o->miss_rate = 0.3;
    o->jitter = 0.065;
    o->confuse_rate = 0.08;
    o->duplicate_rate = 0.08;
    o->background_fp = 4.0;
    o->low_score_fp = 71.0;
    o->max_dets_per_frame = 100;
}

/* ---- public: project -------------------------------------------------- */

/* Room for need more boxes, growing geometrically whatever need is. */
static dg_status room(dg_ctx *ctx, dg_boxset *b, int kind, uint64_t need)
{
    if (b->n + need <= b->cap && b->frame)
        return DG_OK;
    uint64_t more = need > b->cap / 2 ? need : b->cap / 2;
    return dg__boxset_reserve(ctx, b, kind, more);
}

/* The scratch buffers of frame generation. */
typedef struct frame_gen {
    const model *m;
    sbuf gt, dt, lab;
    scratch_t sc;
} frame_gen;

static void frame_gen_release(frame_gen *g)
{
    free(g->gt.b);
    free(g->dt.b);
    free(g->lab.b);
    free(g->sc.rk);
}

/*
 * Appends frame f's labels to labels and set k's detections to dts[k],
 * and reports progress every 4096 frames and at the last.
 */
static dg_status frame_boxes(dg_ctx *ctx, frame_gen *g, uint32_t f,
                             dg_boxset *labels, dg_boxset *dts)
{
    const model *m = g->m;
    dg_status st;
    if (gen_gt(m, f, &g->gt) < 0)
        goto oom;
    const sbuf *L = plant_labels(m, f, &g->gt, &g->lab, NULL, 0);
    if (!L)
        goto oom;
    if ((st = room(ctx, labels, DG_BOXES_LABELS, L->n)) < 0)
        return st;
    for (size_t i = 0; i < L->n; i++) {
        const sbox *b = &L->b[i];
        dg__boxset_push(labels, f, b->cls, b->x, b->y, b->w, b->h, 0, b->area,
                        b->crowd, 0);
    }
    for (uint32_t k = 0; k < m->n_inf; k++) {
        dg_boxset *bs = &dts[k];
        if (gen_dets(m, k, f, &g->gt, &g->dt, &g->sc) < 0)
            goto oom;
        if ((st = room(ctx, bs, DG_BOXES_DETS, g->dt.n)) < 0)
            return st;
        for (size_t i = 0; i < g->dt.n; i++) {
            const sbox *b = &g->dt.b[i];
            dg__boxset_push(bs, f, b->cls, b->x, b->y, b->w, b->h, b->score,
                            0, 0, 0);
        }
    }
    if ((f & 4095) == 4095)
        dg__progress(ctx, "synth", f + 1, m->n_frames);
    if (f + 1 == m->n_frames)
        dg__progress(ctx, "synth", m->n_frames, m->n_frames);
    return DG_OK;
oom:
    return dg__fail(ctx, DG_ENOMEM, "synth: out of memory");
}

/* A project with the model's classes and frames, and no boxes. */
static dg_status model_project(dg_ctx *ctx, const model *m, dg_project **out)
{
    dg_project *p = NULL;
    char name[64];
    dg_status st = dg_project_create(ctx, &p);
    for (uint32_t c = 0; c < m->n_classes && st >= 0; c++) {
        class_name(c, name, sizeof(name));
        st = dg__project_add_class(ctx, p, name, (int64_t)c + 1);
    }
    for (uint32_t f = 0; f < m->n_frames && st >= 0; f++) {
        frame_name(f, name, sizeof(name));
        st = dg__project_add_frame(ctx, p, name, (int64_t)f + 1, m->W, m->H);
    }
    if (st < 0) {
        dg_project_free(p);
        return st;
    }
    *out = p;
    return DG_OK;
}

/* Reserves the expected sizes up front; room() grows beyond them. */
static dg_status reserve_expected(dg_ctx *ctx, const model *m,
                                  dg_boxset *labels, dg_boxset *dts)
{
    const dg_synth_opts *o = &m->o;
    double est_gt = m->n_frames * (m->lambda + o->crowd_rate) * 1.05 + 64;
    dg_status st = dg__boxset_reserve(ctx, labels, DG_BOXES_LABELS,
                                      (uint64_t)est_gt);
    if (st < 0)
        return st;
    for (uint32_t k = 0; k < m->n_inf; k++) {
        const detector *d = &m->det[k];
        double per = m->lambda * (1 + d->dup) + d->bg + d->low +
                     3.5 * o->crowd_rate;
        if (o->max_dets_per_frame && per > o->max_dets_per_frame)
            per = o->max_dets_per_frame;
        st = dg__boxset_reserve(ctx, &dts[k], DG_BOXES_DETS,
                                (uint64_t)(m->n_frames * per * 1.05 + 64));
        if (st < 0)
            return st;
    }
    return DG_OK;
}

dg_status dg_synth_project(dg_ctx *ctx, const dg_synth_opts *opts,
                           dg_project **out)
{
    model m;
    dg_project *p = NULL;
    frame_gen g = {0};
    dg_boxset labels, *dts = NULL;
    char name[64];
    dg_status st;

    if (!out)
        return dg__fail(ctx, DG_EINVAL, "synth: out is NULL");
    *out = NULL;
    st = model_init(ctx, opts, &m);
    if (st < 0)
        return st;
    g.m = &m;
    dg__boxset_init(&labels);
    if ((st = model_project(ctx, &m, &p)) < 0)
        goto out;
    dts = dg__calloc(ctx, m.n_inf, sizeof(*dts));
    if (!dts) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = reserve_expected(ctx, &m, &labels, dts)) < 0)
        goto out;
    for (uint32_t f = 0; f < m.n_frames; f++)
        if ((st = frame_boxes(ctx, &g, f, &labels, dts)) < 0)
            goto out;

    /* Already in frame order, so these only build frame_off. */
    if ((st = dg__boxset_sort_by_frame(ctx, &labels, m.n_frames)) < 0)
        goto out;
    for (uint32_t k = 0; k < m.n_inf; k++)
        if ((st = dg__boxset_sort_by_frame(ctx, &dts[k], m.n_frames)) < 0)
            goto out;
    for (uint32_t k = 0; k < m.n_inf; k++) {
        uint32_t idx;
        inference_name(k, name, sizeof(name));
        if ((st = dg__project_add_inferences(ctx, p, name, &idx)) < 0)
            goto out;
        dg__project_take_inferences(p, idx, &dts[k]); /* old ones freed below */
    }
    dg__project_take_labels(p, &labels);
    *out = p;
    p = NULL;
    st = DG_OK;
out:
    dg_project_free(p);
    dg__boxset_release(&labels);
    for (uint32_t k = 0; dts && k < m.n_inf; k++)
        dg__boxset_release(&dts[k]);
    free(dts);
    frame_gen_release(&g);
    model_release(&m);
    return st;
}

/* ---- public: COCO JSON ------------------------------------------------ */

/*
 * A number exactly as stored. Values that are multiples of 1e-6 (all
 * coordinates and, without score_levels, all scores) print as that short
 * decimal, which strtod maps back to the same double because both are the
 * double nearest the same rational. Anything else takes %.17g.
 */
static char *put_num(char *p, double v)
{
    if (v >= 0 && v < 1e9) {
        int64_t k = (int64_t)(v * 1e6 + 0.5);
        if ((double)k / 1e6 == v) {
            int64_t ip = k / 1000000, fp = k % 1000000;
            p += sprintf(p, "%lld", (long long)ip);
            if (fp) {
                char frac[8];
                int len = 6;
                snprintf(frac, sizeof(frac), "%06lld", (long long)fp);
                while (frac[len - 1] == '0')
                    len--;
                *p++ = '.';
                memcpy(p, frac, (size_t)len);
                p += len;
            }
            *p = 0;
            return p;
        }
    }
    return p + sprintf(p, "%.17g", v);
}

typedef struct {
    FILE *fp;
    dg_tmpfile t;
} out_file;

/* The output file, written as every output of detgrid is (store.h, "safe
 * files"): a temporary file renamed into place. */
static dg_status out_open(dg_ctx *ctx, const char *path, out_file *o)
{
    dg_status st = dg__tmp_open(ctx, path, 0, &o->t);
    if (st < 0)
        return st;
    if (!(o->fp = dg__tmp_stream(&o->t))) {
        dg__tmp_abort(&o->t);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    return DG_OK;
}

/* Finishes the file: every write checked, fsync, rename over the path.
 * On failure, or when ok is 0, removes the temporary file instead. */
static dg_status out_close(dg_ctx *ctx, out_file *o, int ok)
{
    dg_status st = dg__tmp_close_stream(ctx, &o->t, o->fp);
    o->fp = NULL;
    if (ok && st >= 0)
        st = dg__tmp_commit(ctx, &o->t, NULL);
    dg__tmp_abort(&o->t);
    return ok ? st : DG_OK;
}

static char *put_box(char *p, const sbox *b)
{
    *p++ = '[';
    p = put_num(p, b->x);
    *p++ = ',';
    p = put_num(p, b->y);
    *p++ = ',';
    p = put_num(p, b->w);
    *p++ = ',';
    p = put_num(p, b->h);
    *p++ = ']';
    *p = 0;
    return p;
}

static dg_status write_gt(dg_ctx *ctx, const model *m, const char *path)
{
    out_file o;
    sbuf gt = {0}, lab = {0};
    char line[512], name[64];
    dg_status st = out_open(ctx, path, &o);
    if (st < 0)
        return st;
    FILE *fp = o.fp;

    fputs("{\"info\":{\"description\":\"detgrid synthetic dataset\","
          "\"version\":\"1.0\"},\"licenses\":[],\n\"images\":[\n", fp);
    for (uint32_t f = 0; f < m->n_frames; f++) {
        frame_name(f, name, sizeof(name));
        fprintf(fp, "%s{\"id\":%lu,\"file_name\":\"%s\",\"width\":%d,"
                "\"height\":%d}", f ? ",\n" : "", (unsigned long)f + 1, name,
                m->o.frame_width, m->o.frame_height);
    }
    fputs("],\n\"annotations\":[\n", fp);
    uint64_t id = 0;
    for (uint32_t f = 0; f < m->n_frames; f++) {
        if ((f & 4095) == 0)
            dg__progress(ctx, "synth: ground truth", f, m->n_frames);
        const sbuf *L = gen_gt(m, f, &gt) < 0
                            ? NULL
                            : plant_labels(m, f, &gt, &lab, NULL, 0);
        if (!L) {
            st = dg__fail(ctx, DG_ENOMEM, "synth: out of memory");
            goto out;
        }
        for (size_t i = 0; i < L->n; i++) {
            const sbox *b = &L->b[i];
            char *p = line;
            p += sprintf(p, "%s{\"id\":%llu,\"image_id\":%lu,"
                         "\"category_id\":%lu,\"bbox\":", id ? ",\n" : "",
                         (unsigned long long)id + 1, (unsigned long)f + 1,
                         (unsigned long)b->cls + 1);
            p = put_box(p, b);
            p += sprintf(p, ",\"area\":");
            p = put_num(p, b->area);
            p += sprintf(p, ",\"iscrowd\":%d}", b->crowd);
            fwrite(line, 1, (size_t)(p - line), fp);
            id++;
        }
    }
    fputs("],\n\"categories\":[\n", fp);
    for (uint32_t c = 0; c < m->n_classes; c++) {
        class_name(c, name, sizeof(name));
        fprintf(fp, "%s{\"id\":%lu,\"name\":\"%s\",\"supercategory\":\"%s\"}",
                c ? ",\n" : "", (unsigned long)c + 1, name,
                c < N_NAMED ? "object" : "synthetic");
    }
    fputs("]}\n", fp);
    dg__progress(ctx, "synth: ground truth", m->n_frames, m->n_frames);
out:
    free(gt.b);
    free(lab.b);
    dg_status st2 = out_close(ctx, &o, st == DG_OK);
    return st < 0 ? st : st2;
}

static dg_status write_dt(dg_ctx *ctx, const model *m, uint32_t k,
                          const char *path)
{
    out_file o;
    sbuf gt = {0}, dt = {0};
    scratch_t sc = {0};
    char line[512];
    dg_status st = out_open(ctx, path, &o);
    if (st < 0)
        return st;
    FILE *fp = o.fp;
    int first = 1;

    fputs("[", fp);
    for (uint32_t f = 0; f < m->n_frames; f++) {
        if ((f & 4095) == 0)
            dg__progress(ctx, "synth: detections", f, m->n_frames);
        if (gen_gt(m, f, &gt) < 0 || gen_dets(m, k, f, &gt, &dt, &sc) < 0) {
            st = dg__fail(ctx, DG_ENOMEM, "synth: out of memory");
            goto out;
        }
        for (size_t i = 0; i < dt.n; i++) {
            const sbox *b = &dt.b[i];
            char *p = line;
            p += sprintf(p, "%s{\"image_id\":%lu,\"category_id\":%lu,"
                         "\"bbox\":", first ? "\n" : ",\n",
                         (unsigned long)f + 1, (unsigned long)b->cls + 1);
            p = put_box(p, b);
            p += sprintf(p, ",\"score\":");
            p = put_num(p, b->score);
            *p++ = '}';
            fwrite(line, 1, (size_t)(p - line), fp);
            first = 0;
        }
    }
    fputs("\n]\n", fp);
    dg__progress(ctx, "synth: detections", m->n_frames, m->n_frames);
out:
    free(gt.b);
    free(dt.b);
    free(sc.rk);
    dg_status st2 = out_close(ctx, &o, st == DG_OK);
    return st < 0 ? st : st2;
}

dg_status dg_synth_coco_json(dg_ctx *ctx, const dg_synth_opts *opts,
                             const char *gt_path, const char *dt_prefix)
{
    model m;
    dg_status st = model_init(ctx, opts, &m);
    if (st < 0)
        return st;
    if (gt_path)
        st = write_gt(ctx, &m, gt_path);
    for (uint32_t k = 0; st == DG_OK && dt_prefix && k < m.n_inf; k++) {
        char name[64];
        inference_name(k, name, sizeof(name));
        size_t len = strlen(dt_prefix) + strlen(name) + 8;
        char *path = dg__alloc(ctx, len, 1);
        if (!path) {
            st = DG_ENOMEM;
            break;
        }
        snprintf(path, len, "%s-%s.json", dt_prefix, name);
        st = write_dt(ctx, &m, k, path);
        free(path);
    }
    model_release(&m);
    return st;
}

/* ---- public: planted mistakes ----------------------------------------- */

const char *dg_plant_kind_name(dg_plant_kind k)
{
    switch (k) {
    case DG_PLANT_MISSING:
        return "missing";
    case DG_PLANT_WRONG_CLASS:
        return "wrong-class";
    case DG_PLANT_BAD_BOX:
        return "bad-box";
    case DG_PLANT_SPURIOUS:
        return "spurious";
    default:
        return NULL;
    }
}

void dg_synth_frame_id(uint32_t f, char *buf, size_t size)
{
    frame_name(f, buf, size);
}

void dg_synth_class_name(uint32_t c, char *buf, size_t size)
{
    class_name(c, buf, size);
}

dg_status dg_synth_planted(dg_ctx *ctx, const dg_synth_opts *opts,
                           dg_synth_plant **out, uint64_t *n)
{
    model m;
    sbuf gt = {0}, lab = {0};
    plant_log lg = {0};
    dg_status st = DG_OK;

    if (!out || !n)
        return dg__fail(ctx, DG_EINVAL, "synth: out is NULL");
    *out = NULL;
    *n = 0;
    if ((st = model_init(ctx, opts, &m)) < 0)
        return st;
    uint64_t label0 = 0;
    for (uint32_t f = 0; f < m.n_frames; f++) {
        const sbuf *L = gen_gt(&m, f, &gt) < 0
                            ? NULL
                            : plant_labels(&m, f, &gt, &lab, &lg, label0);
        if (!L) {
            st = dg__fail(ctx, DG_ENOMEM, "synth: out of memory");
            break;
        }
        label0 += L->n;
    }
    if (st == DG_OK && lg.n) {
        *out = lg.v;
        *n = lg.n;
        lg.v = NULL;
    }
    free(lg.v);
    free(gt.b);
    free(lab.b);
    model_release(&m);
    return st;
}

/* ---- public: streaming project writer ------------------------------------ */

/*
 * dg_synth_write (include/detgrid/scale.h) writes the file that
 * dg_synth_project + dg_project_save would write, without holding the
 * boxes: the store's streaming writer asks for them frame by frame.
 */
static dg_status stream_frame(void *arg, dg_ctx *ctx, uint32_t f,
                              dg_boxset *gt, dg_boxset *dt)
{
    return frame_boxes(ctx, arg, f, gt, dt);
}

dg_status dg_synth_write(dg_ctx *ctx, const dg_synth_opts *opts,
                         const char *path)
{
    model m;
    dg_project *p = NULL;
    frame_gen g = {0};
    char (*nb)[64] = NULL, **names = NULL;
    dg_status st;

    st = model_init(ctx, opts, &m);
    if (st < 0)
        return st;
    g.m = &m;
    if ((st = model_project(ctx, &m, &p)) < 0)
        goto out;
    nb = dg__calloc(ctx, m.n_inf, sizeof(*nb));
    names = dg__calloc(ctx, m.n_inf, sizeof(*names));
    if (!nb || !names) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t k = 0; k < m.n_inf; k++) {
        inference_name(k, nb[k], sizeof(nb[k]));
        names[k] = nb[k];
    }
    st = dg__project_stream_write(ctx, p, path, m.n_inf, names, stream_frame,
                                  &g);
out:
    free(names);
    free(nb);
    dg_project_free(p);
    frame_gen_release(&g);
    model_release(&m);
    return st;
}
