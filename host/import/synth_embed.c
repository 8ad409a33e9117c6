/*
 * Synthetic embeddings with structure, and a planted failure pattern, for
 * a synthetic project in memory (before eval). Frames fall into scenes; a
 * frame's vector is its scene's centre plus noise, a crop's its class's
 * centre plus a little of its scene's plus noise. The pattern: in one scene
 * the detector misses one class entirely ("miss"), or sees three confident
 * false positives of one class in every frame, all crops of one recurring
 * object ("fp"); or, in every scene, every third object of the most
 * common class looks different (its crop is drawn around a centre of its
 * own) and the detector misses it ("look"): a failure only the crops show.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix(r->s);
}

static double unif(rng *r)
{
    return (double)(next(r) >> 11) / 9007199254740992.0;
}

/* Roughly standard normal: the sum of four 16-bit uniforms, rescaled
 * (variance 4/12 * 3 = 1). Cheap enough for 10^8 values. */
static float gauss(rng *r)
{
    uint64_t v = next(r);
    double s = (double)(v & 0xffff) + (double)((v >> 16) & 0xffff) +
               (double)((v >> 32) & 0xffff) + (double)(v >> 48);
    return (float)((s / 65536.0 - 2.0) * 1.7320508075688772);
}

/* dim random centres, N(0, 1) per coordinate. */
static float *centres(dg_ctx *ctx, uint32_t n, uint32_t dim, uint64_t seed)
{
    float *c = dg__alloc(ctx, n ? n : 1, (size_t)dim * sizeof(float));
    if (!c)
        return NULL;
    rng r = {seed};
    for (uint64_t i = 0; i < (uint64_t)n * dim; i++)
        c[i] = gauss(&r);
    return c;
}

/* A numeric "scene" column, unless the project has one. */
static dg_status add_scene_meta(dg_ctx *ctx, dg_project *p,
                                const uint32_t *scene)
{
    uint32_t F = dg__project_n_frames(p);
    for (uint32_t i = 0; i < dg__project_n_meta(p); i++)
        if (!strcmp(dg__project_meta(p, i)->name, "scene"))
            return DG_OK;
    double *num = dg__alloc(ctx, F ? F : 1, sizeof(double));
    if (!num)
        return DG_ENOMEM;
    for (uint32_t f = 0; f < F; f++)
        num[f] = scene[f];
    return dg__project_set_meta(ctx, p, "scene", 1, num, NULL);
}

/*
 * "look": 1 for the labels of class pc that look different, every third
 * of the class's labels in record order (the first, the fourth, ...).
 */
static uint8_t *odd_looks(dg_ctx *ctx, const dg_boxset *lb, uint32_t pc)
{
    uint8_t *odd = dg__calloc(ctx, lb->n ? lb->n : 1, 1);
    if (!odd)
        return NULL;
    uint64_t seen = 0;
    for (uint64_t q = 0; q < lb->n; q++)
        if (lb->cls[q] == pc && !lb->iscrowd[q])
            odd[q] = seen++ % 3 == 0;
    return odd;
}

/* "look": 1 when detection q (frame f, class pc) overlaps an odd-looking
 * label of its frame at IoU >= 0.3: it is that object's, and is dropped. */
static int on_odd(const dg_boxset *o, uint64_t q, const dg_boxset *lb,
                  const uint8_t *odd, uint32_t f)
{
    for (uint64_t m = lb->frame_off[f]; m < lb->frame_off[f + 1]; m++)
        if (odd[m] && dg__iou(o->x[q], o->y[q], o->w[q], o->h[q], lb->x[m],
                              lb->y[m], lb->w[m], lb->h[m], 0) >= 0.3)
            return 1;
    return 0;
}

/* Rebuilds inference set i with the planted pattern applied. */
static dg_status plant(dg_ctx *ctx, dg_project *p, uint32_t i,
                       const uint32_t *scene, uint32_t ps, uint32_t pc,
                       int kind, uint64_t seed, const uint8_t *odd)
{
    const dg_boxset *lb = NULL;
    dg_status st;
    const dg_boxset *o;
    if ((st = dg__project_inferences(ctx, p, i, &o)) < 0 ||
        (kind == 3 && (st = dg__project_labels(ctx, p, &lb)) < 0))
        return st;
    uint32_t F = dg__project_n_frames(p);
    uint64_t extra = 0;
    for (uint32_t f = 0; f < F; f++)
        extra += kind == 2 && scene[f] == ps ? 3 : 0;
    dg_boxset b;
    dg__boxset_init(&b);
    if ((st = dg__boxset_reserve(ctx, &b, DG_BOXES_DETS, o->n + extra)) < 0)
        return st;
    rng r = {seed ^ 0x5eedf00dULL ^ ((uint64_t)i << 32)};
    for (uint32_t f = 0; f < F; f++) {
        for (uint64_t q = o->frame_off[f]; q < o->frame_off[f + 1]; q++) {
            if (kind == 1 && scene[f] == ps && o->cls[q] == pc)
                continue;
            if (kind == 3 && o->cls[q] == pc && on_odd(o, q, lb, odd, f))
                continue;
            dg__boxset_push(&b, f, o->cls[q], o->x[q], o->y[q], o->w[q],
                            o->h[q], o->score[q], 0, 0, 0);
        }
        if (kind == 2 && scene[f] == ps) {
            double fw, fh;
            dg__project_frame_size(p, f, &fw, &fh);
            fw = isfinite(fw) ? fw : 640;
            fh = isfinite(fh) ? fh : 480;
            for (int j = 0; j < 3; j++) {
                double w = 16 + 24 * unif(&r), h = 16 + 24 * unif(&r);
                double x = unif(&r) * (fw - w), y = unif(&r) * (fh - h);
                dg__boxset_push(&b, f, pc, x, y, w, h, 0.85 + 0.1 * unif(&r),
                                0, 0, 0);
            }
        }
    }
    if ((st = dg__boxset_sort_by_frame(ctx, &b, F)) < 0) {
        dg__boxset_release(&b);
        return st;
    }
    dg__project_take_inferences(p, i, &b);
    dg__boxset_release(&b);
    return DG_OK;
}

/*
 * rows x dim: centre_a[ia[r]] + w_b * centre_b[ib[r]] + noise * N(0,1);
 * planted rows (planted[r] 1) around fpc instead: a recurring false
 * positive (0.3 noise), or an odd look (lookc: scene and noise as others).
 */
static float *crops(dg_ctx *ctx, uint64_t rows, uint32_t dim,
                    const uint32_t *cls, const uint32_t *frame,
                    const uint32_t *scene, const float *cc, const float *sc,
                    const uint8_t *planted, const float *fpc, int look,
                    uint64_t seed)
{
    float *m = dg__alloc(ctx, rows ? rows : 1, (size_t)dim * sizeof(float));
    if (!m)
        return NULL;
    rng r = {seed};
    for (uint64_t q = 0; q < rows; q++) {
        float *o = m + q * dim;
        if (planted && planted[q] && !look) {
            for (uint32_t t = 0; t < dim; t++)
                o[t] = fpc[t] + 0.3f * gauss(&r);
            continue;
        }
        const float *a =
            planted && planted[q] ? fpc : cc + (size_t)cls[q] * dim;
        const float *s = sc + (size_t)scene[frame[q]] * dim;
        for (uint32_t t = 0; t < dim; t++)
            o[t] = a[t] + 0.3f * s[t] + 0.5f * gauss(&r);
    }
    return m;
}

void dg_synth_embeddings_opts_init(dg_synth_embeddings_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->dim = 64;
    o->scenes = 8;
    o->model = "synth";
}

dg_status dg_synth_embeddings(dg_ctx *ctx, dg_project *p,
                              const dg_synth_embeddings_opts *o,
                              uint32_t *planted_scene, uint32_t *planted_class,
                              uint32_t **scene_out)
{
    dg_synth_embeddings_opts def;
    if (!o) {
        dg_synth_embeddings_opts_init(&def);
        o = &def;
    }
    dg_status st = DG_OK;
    uint32_t dim = o->dim ? o->dim : 64, S = o->scenes ? o->scenes : 8;
    const char *model = o->model ? o->model : "synth";
    uint32_t F = dg__project_n_frames(p), C = dg__project_n_classes(p);
    uint32_t n_inf = dg__project_n_inferences(p);
    const dg_boxset *lb;
    uint32_t ps = UINT32_MAX, pc = UINT32_MAX;
    uint32_t *scene = dg__alloc(ctx, F ? F : 1, sizeof(uint32_t));
    float *sc = centres(ctx, S, dim, mix(o->seed ^ 0x5ce7e5ULL));
    float *cc = centres(ctx, C ? C : 1, dim, mix(o->seed ^ 0xc1a55ULL));
    float *fpc = centres(ctx, 1, dim, mix(o->seed ^ 0xf9ULL));
    uint64_t *count = dg__calloc(ctx, C ? C : 1, sizeof(uint64_t));
    uint8_t *odd = NULL;
    if (!scene || !sc || !cc || !fpc || !count) {
        st = DG_ENOMEM;
        goto out;
    }
    if (o->plant < 0 || o->plant > 3) {
        st = dg__fail(ctx, DG_EINVAL, "unknown planted pattern %d", o->plant);
        goto out;
    }
    for (uint32_t f = 0; f < F; f++)
        scene[f] = (uint32_t)(mix(o->seed * 0x100000001b3ULL + f) % S);
    if ((st = dg__project_labels(ctx, p, &lb)) < 0)
        goto out;
    if (o->plant && F && C) {
        ps = (uint32_t)(mix(o->seed ^ 0x91a47ULL) % S);
        /* The class with the most labels in the planted scene ("look":
         * in every scene). */
        for (uint64_t q = 0; q < lb->n; q++)
            if ((o->plant == 3 || scene[lb->frame[q]] == ps) &&
                !lb->iscrowd[q])
                count[lb->cls[q]]++;
        pc = 0;
        for (uint32_t k = 1; k < C; k++)
            if (count[k] > count[pc])
                pc = k;
        if (o->plant == 3) {
            ps = UINT32_MAX;
            if (!(odd = odd_looks(ctx, lb, pc))) {
                st = DG_ENOMEM;
                goto out;
            }
        }
        for (uint32_t i = 0; i < n_inf; i++)
            if ((st = plant(ctx, p, i, scene, ps, pc, o->plant, o->seed,
                            odd)) < 0)
                goto out;
    }
    if ((st = add_scene_meta(ctx, p, scene)) < 0)
        goto out;
    /* Frames. */
    float *fm = dg__alloc(ctx, F ? F : 1, (size_t)dim * sizeof(float));
    if (!fm) {
        st = DG_ENOMEM;
        goto out;
    }
    rng r = {mix(o->seed ^ 0xf7a3eULL)};
    for (uint32_t f = 0; f < F; f++)
        for (uint32_t t = 0; t < dim; t++)
            fm[(size_t)f * dim + t] =
                sc[(size_t)scene[f] * dim + t] + 0.35f * gauss(&r);
    if ((st = dg_project_take_embeddings(ctx, p, model, DG_EMBED_FRAMES, NULL,
                                         fm, F, dim)) < 0)
        goto out;
    /* Label crops. */
    float *lm = crops(ctx, lb->n, dim, lb->cls, lb->frame, scene, cc, sc, odd,
                      fpc, 1, mix(o->seed ^ 0x1abe1ULL));
    if (!lm) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg_project_take_embeddings(ctx, p, model, DG_EMBED_LABELS, NULL,
                                         lm, lb->n, dim)) < 0)
        goto out;
    /* Detection crops, per inference set; planted false positives are the
     * last three detections of each frame of the planted scene. */
    for (uint32_t i = 0; i < n_inf; i++) {
        const dg_boxset *b;
        if ((st = dg__project_inferences(ctx, p, i, &b)) < 0)
            goto out;
        uint8_t *fl = NULL;
        if (o->plant == 2) {
            fl = dg__calloc(ctx, b->n ? b->n : 1, 1);
            if (!fl) {
                st = DG_ENOMEM;
                goto out;
            }
            for (uint32_t f = 0; f < F; f++)
                if (scene[f] == ps && b->frame_off[f + 1] - b->frame_off[f] >= 3)
                    for (uint64_t q = b->frame_off[f + 1] - 3;
                         q < b->frame_off[f + 1]; q++)
                        fl[q] = 1;
        }
        float *dm = crops(ctx, b->n, dim, b->cls, b->frame, scene, cc, sc, fl,
                          fpc, 0, mix(o->seed ^ (0xde7ULL + i)));
        free(fl);
        if (!dm) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg_project_take_embeddings(ctx, p, model,
                                             DG_EMBED_INFERENCES,
                                             dg_project_inference_name(p, i),
                                             dm, b->n, dim)) <
            0)
            goto out;
    }
    if (planted_scene)
        *planted_scene = ps;
    if (planted_class)
        *planted_class = pc;
    if (scene_out) {
        *scene_out = scene;
        scene = NULL;
    }
out:
    free(odd);
    free(count);
    free(fpc);
    free(cc);
    free(sc);
    free(scene);
    return st;
}
