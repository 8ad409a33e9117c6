/*
 * eval: streams frames in chunks from the project, matches each chunk on the
 * OpenCL device or the reference path while a reader thread loads the next
 * chunk, then sorts and accumulates the per-class tables. Each chunk is
 * matched twice: class-wise (metrics) and class-agnostically (the confusion
 * matrix), on the same path.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dg_internal.h"

int dg_default_iou_thresholds(double *out, int cap)
{
    int n = 0;
    for (int k = 1; k <= 19 && n < cap; k++)
        out[n++] = (double)(5 * k) / 100.0; /* nearest double to k/20 */
    return n;
}

/* The double nearest to the decimal v rounded to 9 places. */
static double decimal9(double v)
{
    return round(v * 1e9) / 1e9;
}

static int parse_num(const char *s, const char *end, double *v)
{
    char buf[64];
    size_t n = (size_t)(end - s);
    if (!n || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    *v = strtod(buf, &e);
    return *e || !isfinite(*v) ? -1 : 0;
}

int dg_parse_iou_thresholds(dg_ctx *ctx, const char *spec, double *out,
                            int cap)
{
    int n = 0;
    const char *c1 = strchr(spec, ':');
    if (c1) {
        const char *c2 = strchr(c1 + 1, ':');
        double a, b, s;
        if (!c2 || parse_num(spec, c1, &a) || parse_num(c1 + 1, c2, &b) ||
            parse_num(c2 + 1, c2 + strlen(c2), &s))
            return dg__fail(ctx, DG_EINVAL,
                            "bad IoU thresholds '%s' (expected start:stop:step "
                            "such as 0.05:0.95:0.05, or a list 0.5,0.75)",
                            spec);
        if (!(s > 0) || b < a)
            return dg__fail(ctx, DG_EINVAL,
                            "bad IoU thresholds '%s': step must be positive "
                            "and stop >= start",
                            spec);
        double steps = (b - a) / s;
        if (steps > 1e6)
            return dg__fail(ctx, DG_ERANGE,
                            "too many IoU thresholds in '%s' (at most %d)",
                            spec, cap);
        long m = (long)floor(steps + 1e-9);
        for (long k = 0; k <= m; k++) {
            if (n >= cap)
                return dg__fail(ctx, DG_ERANGE,
                                "too many IoU thresholds in '%s' (at most %d)",
                                spec, cap);
            out[n++] = decimal9(a + (double)k * s);
        }
    } else {
        const char *p = spec;
        while (*p) {
            const char *e = strchr(p, ',');
            if (!e)
                e = p + strlen(p);
            double v;
            if (parse_num(p, e, &v))
                return dg__fail(ctx, DG_EINVAL,
                                "bad IoU threshold '%.*s' in '%s'",
                                (int)(e - p), p, spec);
            if (n >= cap)
                return dg__fail(ctx, DG_ERANGE,
                                "too many IoU thresholds in '%s' (at most %d)",
                                spec, cap);
            out[n++] = decimal9(v);
            p = *e ? e + 1 : e;
        }
    }
    if (!n)
        return dg__fail(ctx, DG_EINVAL, "no IoU thresholds in '%s'", spec);
    for (int i = 0; i < n; i++) {
        if (!(out[i] > 0 && out[i] <= 1))
            return dg__fail(ctx, DG_ERANGE,
                            "IoU threshold %g is outside (0, 1]", out[i]);
        if (i && !(out[i] > out[i - 1]))
            return dg__fail(ctx, DG_EINVAL,
                            "IoU thresholds must ascend without repeats "
                            "(%g after %g)",
                            out[i], out[i - 1]);
    }
    return n;
}

void dg_eval_get_stats(const dg_ctx *ctx, dg_eval_stats *out)
{
    *out = ctx->stats;
}

/* ---- the chunk reader ------------------------------------------------- */

typedef struct chunk {
    uint32_t lo, hi;
    dg_boxset gt, dt;
    dg_status st;
    char err[sizeof(((dg_ctx *)0)->err)];
} chunk;

typedef struct reader {
    dg_project *p;
    int which;
    chunk *c;
    pthread_t th;
    int running;
} reader;

static void *read_chunk(void *arg)
{
    reader *rd = arg;
    chunk *c = rd->c;
    dg_ctx local;
    memset(&local, 0, sizeof(local));
    c->st = dg__project_read_range(&local, rd->p, -1, c->lo, c->hi, &c->gt);
    if (c->st >= 0)
        c->st = dg__project_read_range(&local, rd->p, rd->which, c->lo, c->hi,
                                       &c->dt);
    if (c->st < 0)
        memcpy(c->err, local.err, sizeof(c->err));
    return NULL;
}

static void reader_start(reader *rd, chunk *c, uint32_t lo, uint32_t hi)
{
    memset(c, 0, sizeof(*c));
    dg__boxset_init(&c->gt);
    dg__boxset_init(&c->dt);
    c->lo = lo;
    c->hi = hi;
    rd->c = c;
    rd->running = pthread_create(&rd->th, NULL, read_chunk, rd) == 0;
    if (!rd->running)
        read_chunk(rd); /* no thread: read in line */
}

static void reader_join(reader *rd)
{
    if (rd->running)
        pthread_join(rd->th, NULL);
    rd->running = 0;
}

static void chunk_release(chunk *c)
{
    dg__boxset_release(&c->gt);
    dg__boxset_release(&c->dt);
}

/* ---- work beside the main thread ---------------------------------------- */

/*
 * On the reference path the class-agnostic matching of a chunk runs on a
 * second thread while the main thread does the class-wise matching, and its
 * permutation into sorted order beside the class-wise accumulation: the
 * two read the same inputs and write different outputs.
 */
typedef struct side {
    pthread_t th;
    int running;
    const dg_match_input *in; /* set: match this chunk into out */
    int32_t *out;
    struct dg_results *r;     /* else: permute agn into r->agnostic */
    const int32_t *agn;
    dg_status st;
    dg_ctx local;
} side;

static void *side_run(void *arg)
{
    side *s = arg;
    memset(&s->local, 0, sizeof(s->local));
    s->st = s->in ? dg__match_agnostic_ref(&s->local, s->in, s->out)
                  : dg__accumulate_agnostic(&s->local, s->r, s->agn);
    return NULL;
}

static void side_start(side *s)
{
    s->running = pthread_create(&s->th, NULL, side_run, s) == 0;
    if (!s->running)
        side_run(s); /* no thread: run in line */
}

/* Waits for s; on its failure moves its message to ctx (unless NULL). */
static dg_status side_join(dg_ctx *ctx, side *s)
{
    if (s->running)
        pthread_join(s->th, NULL);
    s->running = 0;
    if (s->st < 0 && ctx)
        memcpy(ctx->err, s->local.err, sizeof(ctx->err));
    free(s->local.warnings);
    s->local.warnings = NULL;
    return s->st;
}

/* ---- eval --------------------------------------------------------------- */

static uint64_t chunk_target(void)
{
    const char *e = getenv("DETGRID_CHUNK_DETS");
    if (e && atoll(e) > 0)
        return (uint64_t)atoll(e);
    return 1u << 17;
}

dg_status dg_eval(dg_ctx *ctx, dg_project *p, const char *name,
                  const double *iou, int n_iou)
{
    double t_start = dg__now(), t_load = 0, t_match = 0, t_acc = 0;
    int64_t which = dg_project_inference_index(p, name);
    dg_status st = DG_OK;
    uint64_t *goff = NULL, *doff = NULL;
    uint8_t *status = NULL, *cst = NULL;
    int32_t *matched = NULL, *cma = NULL, *agn = NULL, *cag = NULL;
    side *sd = NULL;
    uint32_t *bounds = NULL;
    struct dg_results *r = NULL;
    dg_boxset all;
    chunk cur, next;
    reader rd = {0};
    int have_next = 0;
    dg__boxset_init(&all);
    memset(&cur, 0, sizeof(cur));
    memset(&next, 0, sizeof(next));

    if (which < 0)
        return dg__fail(ctx, DG_ENOTFOUND, "'%s': no inference set '%s'",
                        p->path ? p->path : "(project)", name);
    if (n_iou < 1 || n_iou > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(ctx, DG_EINVAL, "need 1 to %d IoU thresholds",
                        DG_MAX_IOU_THRESHOLDS);
    for (int t = 0; t < n_iou; t++)
        if (!(iou[t] > 0 && iou[t] <= 1) || (t && !(iou[t] > iou[t - 1])))
            return dg__fail(ctx, DG_EINVAL,
                            "IoU thresholds must ascend within (0, 1]");

    /* Which path: a GPU when auto finds one; else the reference, which
     * the benchmark shows faster than PoCL on a CPU. */
    int use_cl = 0;
    dg_device_kind saved_kind = ctx->device_kind;
    if (ctx->device_kind == DG_DEVICE_GPU || ctx->device_kind == DG_DEVICE_CPU)
        use_cl = 1;
    else if (ctx->device_kind == DG_DEVICE_AUTO && dg__cl_have_gpu(ctx)) {
        use_cl = 1;
        ctx->device_kind = DG_DEVICE_GPU;
    }

    r = dg__results_new(ctx);
    if (!r)
        return DG_ENOMEM;
    r->n_iou = n_iou;
    memcpy(r->iou, iou, (size_t)n_iou * sizeof(double));
    r->n_classes = p->n_classes;
    if ((st = dg__project_fingerprint(ctx, p, (int)which, &r->fingerprint)) <
            0 ||
        (st = dg__project_fingerprint(ctx, p, -1, &r->labels_fingerprint)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, -1, &goff)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, (int)which, &doff)) < 0)
        goto out;

    uint32_t nf = p->n_frames;
    uint64_t n_det = doff[nf];
    uint64_t target = chunk_target();
    if (n_det > INT32_MAX || goff[nf] > INT32_MAX) {
        st = dg__fail(ctx, DG_ERANGE, "too many boxes for one eval (%llu)",
                      (unsigned long long)n_det);
        goto out;
    }
    /* Chunk boundaries: whole frames, about target detections each. */
    bounds = dg__alloc(ctx, (size_t)nf + 2, sizeof(*bounds));
    if (!bounds) {
        st = DG_ENOMEM;
        goto out;
    }
    uint32_t nb = 0, max_fr = 0;
    uint64_t max_dt = 0;
    bounds[nb++] = 0;
    for (uint32_t f = 0; f < nf;) {
        uint32_t g = f + 1;
        while (g < nf && doff[g + 1] - doff[f] + goff[g + 1] - goff[f] <= target)
            g++;
        bounds[nb++] = g;
        if (doff[g] - doff[f] > max_dt)
            max_dt = doff[g] - doff[f];
        if (g - f > max_fr)
            max_fr = g - f;
        f = g;
    }
    size_t out_n = (size_t)n_iou * n_det;
    status = dg__alloc(ctx, out_n ? out_n : 1, 1);
    matched = dg__alloc(ctx, out_n ? out_n : 1, 4);
    cst = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 1);
    cma = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 4);
    agn = dg__alloc(ctx, out_n ? out_n : 1, 4);
    sd = dg__calloc(ctx, 1, sizeof(*sd));
    cag = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 4);
    r->gt_count = dg__calloc(ctx, p->n_classes ? p->n_classes : 1, 8);
    r->label_class = dg__alloc(ctx, goff[nf] ? goff[nf] : 1, 4);
    r->version = 2;
    if (!status || !matched || !cst || !cma || !agn || !cag || !sd ||
        !r->gt_count || !r->label_class ||
        (st = dg__boxset_reserve(ctx, &all, DG_BOXES_DETS, n_det ? n_det : 1)) <
            0) {
        st = DG_ENOMEM;
        goto out;
    }

    rd.p = p;
    rd.which = (int)which;
    if (nb > 1) {
        reader_start(&rd, &next, bounds[0], bounds[1]);
        have_next = 1;
    }
    for (uint32_t b = 0; b + 1 < nb; b++) {
        double t0 = dg__now();
        reader_join(&rd);
        have_next = 0;
        t_load += dg__now() - t0;
        cur = next;
        memset(&next, 0, sizeof(next));
        if (cur.st < 0) {
            memcpy(ctx->err, cur.err, sizeof(ctx->err));
            st = cur.st;
            goto out;
        }
        if (b + 2 < nb) {
            reader_start(&rd, &next, bounds[b + 1], bounds[b + 2]);
            have_next = 1;
        }
        t0 = dg__now();
        uint64_t dbase = doff[cur.lo], gbase = goff[cur.lo];
        uint64_t ndc = cur.dt.n;
        dg_match_input in = {cur.hi - cur.lo, p->n_classes, &cur.gt, &cur.dt,
                             n_iou, iou};
        dg_match_output mo = {cst, cma};
        int agn_beside = !use_cl;
        if (agn_beside) {
            memset(sd, 0, sizeof(*sd));
            sd->in = &in;
            sd->out = cag;
            side_start(sd);
        }
        if (use_cl) {
            st = dg__cl_match(ctx, &in, &mo);
            if (st == DG_ENODEV || st == DG_ECL || st == DG_ENOMEM) {
                dg__warn(ctx,
                         "warning: OpenCL path failed, falling back to the "
                         "reference path: %s",
                         ctx->err);
                use_cl = 0;
                st = DG_OK;
            } else if (st < 0) {
                goto out;
            }
        }
        if (!use_cl)
            st = dg__match_ref(ctx, &in, &mo);
        if (agn_beside) {
            /* Joined even when the class-wise matching failed: it reads
             * the chunk. */
            dg_status st2 = side_join(st < 0 ? NULL : ctx, sd);
            if (st >= 0)
                st = st2;
        }
        if (st < 0)
            goto out;
        if (use_cl && !agn_beside) {
            st = dg__cl_match_agnostic(ctx, &in, cag);
            if (st == DG_ENODEV || st == DG_ECL || st == DG_ENOMEM) {
                dg__warn(ctx,
                         "warning: OpenCL class-agnostic matching failed, "
                         "falling back to the reference path: %s",
                         ctx->err);
                use_cl = 0;
                st = DG_OK;
            } else if (st < 0) {
                goto out;
            }
        }
        if (!use_cl && !agn_beside &&
            (st = dg__match_agnostic_ref(ctx, &in, cag)) < 0)
            goto out;
        for (int t = 0; t < n_iou; t++) {
            memcpy(status + (size_t)t * n_det + dbase, cst + (size_t)t * ndc,
                   ndc);
            int32_t *dst = matched + (size_t)t * n_det + dbase;
            const int32_t *src = cma + (size_t)t * ndc;
            for (uint64_t k = 0; k < ndc; k++)
                dst[k] = src[k] < 0 ? -1 : src[k] + (int32_t)gbase;
            dst = agn + (size_t)t * n_det + dbase;
            src = cag + (size_t)t * ndc;
            for (uint64_t k = 0; k < ndc; k++)
                dst[k] = src[k] < 0 ? src[k] : src[k] + (int32_t)gbase;
        }
        for (uint64_t k = 0; k < cur.gt.n; k++)
            r->label_class[gbase + k] = cur.gt.cls[k];
        for (uint64_t k = 0; k < cur.gt.n; k++)
            if (!cur.gt.iscrowd[k] && !cur.gt.ignore[k])
                r->gt_count[cur.gt.cls[k]]++;
        memcpy(all.cls + dbase, cur.dt.cls, ndc * 4);
        memcpy(all.score + dbase, cur.dt.score, ndc * 8);
        r->n_gt_total += cur.gt.n;
        chunk_release(&cur);
        t_match += dg__now() - t0;
        dg__progress(ctx, "match", bounds[b + 1], nf);
    }
    all.n = n_det;

    double t0 = dg__now();
    if ((st = dg__results_sort(ctx, r, &all)) < 0)
        goto out;
    /* The agnostic permutation beside the class-wise accumulation. */
    memset(sd, 0, sizeof(*sd));
    sd->r = r;
    sd->agn = agn;
    side_start(sd);
    if (use_cl) {
        st = dg__cl_accumulate(ctx, r, status, matched);
        if (st == DG_ENODEV || st == DG_ECL || st == DG_ENOMEM) {
            dg__warn(ctx,
                     "warning: OpenCL accumulation failed, using the "
                     "reference path: %s",
                     ctx->err);
            free(r->status);
            free(r->matched);
            r->status = NULL;
            r->matched = NULL;
            use_cl = 0;
            st = DG_OK;
        }
    }
    if (!use_cl && st >= 0)
        st = dg__accumulate_ref(ctx, r, status, matched);
    dg_status st_agn = side_join(st < 0 ? NULL : ctx, sd);
    if (st >= 0)
        st = st_agn;
    if (st < 0)
        goto out;
    t_acc = dg__now() - t0;

    const char *desc = use_cl ? dg__cl_device_desc(ctx) : NULL;
    snprintf(r->device, sizeof(r->device), "%s", desc ? desc : "reference");
    dg_infset *s = &p->inf[which];
    dg__results_destroy(s->results);
    s->results = r;
    r->inf_index = which;
    s->results_dirty = 1;
    r = NULL;

    ctx->stats.load_s = t_load;
    ctx->stats.match_s = t_match;
    ctx->stats.accumulate_s = t_acc;
    ctx->stats.total_s = dg__now() - t_start;
    snprintf(ctx->stats.device, sizeof(ctx->stats.device), "%s",
             desc ? desc : "reference");
out:
    if (have_next) {
        reader_join(&rd);
        chunk_release(&next);
    }
    chunk_release(&cur);
    ctx->device_kind = saved_kind;
    dg__results_destroy(r);
    dg__boxset_release(&all);
    free(goff);
    free(doff);
    free(status);
    free(matched);
    free(cst);
    free(cma);
    free(agn);
    free(cag);
    free(sd);
    free(bounds);
    return st;
}
