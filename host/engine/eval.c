/*
 * eval: streams frames in chunks from the project, matches each chunk on the
 * OpenCL device or the reference path while a reader thread loads the next
 * chunk, then sorts and accumulates the per-class tables. Each chunk is
 * matched twice: class-wise (metrics) and class-agnostically (the confusion
 * matrix), on the same path.
 *
 * With a memory budget (dg_ctx_set_memory_budget) or over MPI ranks, the
 * keys are sorted first and each chunk's outcomes go, run-length encoded,
 * to the pending store of host/shard.c (or to rank 0, host/mpi.c) instead
 * of T x N tables; dg_project_save writes them (docs/SCALE.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "pending.h"

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

/* ---- bounded memory -------------------------------------------------- */

void dg_ctx_set_memory_budget(dg_ctx *ctx, uint64_t bytes)
{
    ctx->mem_budget = bytes;
}

/*
 * One column of inference set which, whole: from the set in memory (*col
 * points into it, *owned 0), else read from the file (malloc'd, *owned 1).
 */
static dg_status key_column(dg_ctx *ctx, dg_project *p, int which,
                            const char *name, uint64_t n, void **col,
                            int *owned)
{
    dg_infset *s = &p->inf[which];
    int is_cls = !strcmp(name, "class");
    *owned = 0;
    if (s->loaded) {
        *col = is_cls ? (void *)s->boxes.cls : (void *)s->boxes.score;
        return DG_OK;
    }
    char path[600];
    *col = dg__alloc(ctx, n ? n : 1, is_cls ? 4 : 8);
    if (!*col)
        return DG_ENOMEM;
    *owned = 1;
    snprintf(path, sizeof(path), "/inferences/%s/%s", s->name, name);
    return dg__h5_read_1d(ctx, (hid_t)p->file, path,
                          is_cls ? H5T_NATIVE_UINT32 : H5T_NATIVE_DOUBLE,
                          is_cls ? H5T_INTEGER : H5T_FLOAT, *col, n, 0, n);
}

/*
 * r->class_off, r->order and r->score exactly as dg__results_sort computes
 * them (class ascending, score descending, record ascending), from the
 * class and score columns alone and in less memory: a stable counting sort
 * by class first, then a stable radix sort of each class's scores, whose
 * scratch is sized by the largest class. Peak: about 20 bytes a detection
 * plus 24 a detection of the largest class, against 48 for the whole-set
 * radix sort.
 */
static dg_status sort_keys(dg_ctx *ctx, struct dg_results *r, dg_project *p,
                           int which, uint64_t n)
{
    uint32_t nc = r->n_classes;
    uint32_t *cls = NULL, *idx = NULL, *idx2 = NULL;
    double *sc = NULL;
    uint64_t *key = NULL, *key2 = NULL, *cnt = NULL;
    int own_cls = 0, own_sc = 0;
    dg_status st;
    if (n > UINT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many detections (%llu)",
                        (unsigned long long)n);
    r->class_off = dg__calloc(ctx, (size_t)nc + 1, 8);
    r->order = dg__alloc(ctx, n ? n : 1, 4);
    if (!r->class_off || !r->order)
        return DG_ENOMEM;
    if ((st = key_column(ctx, p, which, "class", n, (void **)&cls,
                         &own_cls)) < 0)
        goto out;
    for (uint64_t i = 0; i < n; i++) {
        if (cls[i] >= nc) {
            st = dg__fail(ctx, DG_EFORMAT, "detection %llu: class %u out of "
                          "range", (unsigned long long)i, cls[i]);
            goto out;
        }
        r->class_off[cls[i] + 1]++;
    }
    uint64_t m_max = 0;
    for (uint32_t c = 0; c < nc; c++) {
        uint64_t m = r->class_off[c + 1];
        if (m > m_max)
            m_max = m;
        r->class_off[c + 1] += r->class_off[c];
    }
    cnt = dg__alloc(ctx, 65536 > (size_t)nc + 1 ? 65536 : (size_t)nc + 1, 8);
    if (!cnt) {
        st = DG_ENOMEM;
        goto out;
    }
    memcpy(cnt, r->class_off, (size_t)nc * 8);
    for (uint64_t i = 0; i < n; i++)
        r->order[cnt[cls[i]]++] = (uint32_t)i;
    if (own_cls)
        free(cls);
    cls = NULL;
    if ((st = key_column(ctx, p, which, "score", n, (void **)&sc, &own_sc)) <
        0)
        goto out;
    for (uint64_t i = 0; i < n; i++)
        if (!(sc[i] >= 0 && sc[i] <= 1)) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /inferences/%s record %llu: field 'score': "
                          "invalid value %g",
                          p->path ? p->path : "(project)", p->inf[which].name,
                          (unsigned long long)i, sc[i]);
            goto out;
        }
    r->score = dg__alloc(ctx, n ? n : 1, 8);
    key = dg__alloc(ctx, m_max ? m_max : 1, 8);
    key2 = dg__alloc(ctx, m_max ? m_max : 1, 8);
    idx = dg__alloc(ctx, m_max ? m_max : 1, 4);
    idx2 = dg__alloc(ctx, m_max ? m_max : 1, 4);
    if (!r->score || !key || !key2 || !idx || !idx2) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < nc; c++) {
        uint64_t a = r->class_off[c], m = r->class_off[c + 1] - a;
        uint32_t *seg = r->order + a;
        for (uint64_t k = 0; k < m; k++) {
            key[k] = dg__score_key(sc[seg[k]]);
            idx[k] = seg[k];
        }
        /* Stable, so equal scores keep record order (the segment is in
         * record order). */
        dg__radix_sort_keys(&key, &idx, &key2, &idx2, cnt, m);
        for (uint64_t k = 0; k < m; k++) {
            seg[k] = idx[k];
            r->score[a + k] = sc[idx[k]];
        }
    }
    r->n_det = n;
out:
    if (own_cls)
        free(cls);
    if (own_sc)
        free(sc);
    free(key);
    free(key2);
    free(idx);
    free(idx2);
    free(cnt);
    return st;
}

/* Where the scratch file of a pending store goes: beside the project. */
static void scratch_dir(const dg_project *p, char *buf, size_t cap)
{
    const char *e = getenv("DETGRID_SCRATCH_DIR");
    if (e && *e) {
        snprintf(buf, cap, "%s", e);
        return;
    }
    const char *slash = p->path ? strrchr(p->path, '/') : NULL;
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == p->path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - p->path), p->path);
}

/* DETGRID_FAULT=rank<k>: rank k fails after its first chunk (tests). */
static int fault_here(int rank)
{
    const char *e = getenv("DETGRID_FAULT");
    return e && !strncmp(e, "rank", 4) && atoi(e + 4) == rank;
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
    uint32_t *bounds = NULL, *pos = NULL;
    struct dg_results *r = NULL;
    dg_pending *pd = NULL;
    dg_bytes enc = {NULL, 0, 0};
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

    /*
     * Sharded over MPI ranks, or within a memory budget: the outcomes go
     * to a pending store (rank 0) or to rank 0 (other ranks) instead of
     * T x N tables, and are written in sorted order at save.
     */
    int mpi_size = ctx->mpi_size > 1 ? ctx->mpi_size : 1;
    int rank = mpi_size > 1 ? ctx->mpi_rank : 0;
    int streamed = ctx->mem_budget > 0 || mpi_size > 1;

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
    r->inf_index = which;
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
    /* This rank's frames. */
    uint32_t flo = 0, fhi = nf;
    if (mpi_size > 1)
        dg__shard_range(doff, goff, nf, rank, mpi_size, &flo, &fhi);
    /* Chunk boundaries: whole frames, about target detections each. */
    bounds = dg__alloc(ctx, (size_t)nf + 2, sizeof(*bounds));
    if (!bounds) {
        st = DG_ENOMEM;
        goto matched_all;
    }
    uint32_t nb = 0, max_fr = 0;
    uint64_t max_dt = 0;
    bounds[nb++] = flo;
    for (uint32_t f = flo; f < fhi;) {
        uint32_t g = f + 1;
        while (g < fhi && doff[g + 1] - doff[f] + goff[g + 1] - goff[f] <= target)
            g++;
        bounds[nb++] = g;
        if (doff[g] - doff[f] > max_dt)
            max_dt = doff[g] - doff[f];
        if (g - f > max_fr)
            max_fr = g - f;
        f = g;
    }
    size_t out_n = (size_t)n_iou * n_det;
    if (!streamed) {
        status = dg__alloc(ctx, out_n ? out_n : 1, 1);
        matched = dg__alloc(ctx, out_n ? out_n : 1, 4);
        agn = dg__alloc(ctx, out_n ? out_n : 1, 4);
        if (!status || !matched || !agn ||
            (st = dg__boxset_reserve(ctx, &all, DG_BOXES_DETS,
                                     n_det ? n_det : 1)) < 0) {
            st = DG_ENOMEM;
            goto matched_all;
        }
    }
    cst = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 1);
    cma = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 4);
    sd = dg__calloc(ctx, 1, sizeof(*sd));
    cag = dg__alloc(ctx, (size_t)n_iou * (max_dt ? max_dt : 1), 4);
    r->gt_count = dg__calloc(ctx, p->n_classes ? p->n_classes : 1, 8);
    r->label_class = dg__alloc(ctx, goff[nf] ? goff[nf] : 1, 4);
    r->version = 2;
    if (!cst || !cma || !cag || !sd || !r->gt_count || !r->label_class) {
        st = DG_ENOMEM;
        goto matched_all;
    }
    if (streamed && rank == 0) {
        /*
         * The sort first, from the keys alone, so that every outcome can
         * go straight to the bucket of its sorted position.
         */
        double t0 = dg__now();
        char dir[4096];
        if ((st = sort_keys(ctx, r, p, (int)which, n_det)) < 0)
            goto matched_all;
        pos = dg__alloc(ctx, n_det ? n_det : 1, 4);
        if (!pos) {
            st = DG_ENOMEM;
            goto matched_all;
        }
        for (uint64_t k = 0; k < n_det; k++)
            pos[r->order[k]] = (uint32_t)k;
        /* Other sets' pending outcomes make room for this one's. */
        for (uint32_t i = 0; i < p->n_inf; i++)
            if (p->inf[i].results && p->inf[i].results->pending &&
                (st = dg__pending_spill(ctx, p->inf[i].results->pending)) < 0)
                goto matched_all;
        scratch_dir(p, dir, sizeof(dir));
        pd = dg__pending_new(ctx, n_iou, n_det, ctx->mem_budget, dir);
        if (!pd) {
            st = DG_ENOMEM;
            goto matched_all;
        }
        t_acc += dg__now() - t0;
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
            goto matched_all;
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
                goto matched_all;
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
            goto matched_all;
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
                goto matched_all;
            }
        }
        if (!use_cl && !agn_beside &&
            (st = dg__match_agnostic_ref(ctx, &in, cag)) < 0)
            goto matched_all;
        if (streamed) {
            /* Rank 0 files the chunk's outcomes by sorted position; other
             * ranks keep them for rank 0. */
            if (rank == 0)
                enc.n = 0;
            if ((st = dg__stream_encode(ctx, &enc, n_iou, ndc, cst, cma, cag,
                                        (int64_t)gbase)) < 0)
                goto matched_all;
            if (rank == 0 &&
                (st = dg__pending_add(ctx, pd, pos, dbase, enc.p, enc.n,
                                      NULL)) < 0)
                goto matched_all;
        } else {
            for (int t = 0; t < n_iou; t++) {
                memcpy(status + (size_t)t * n_det + dbase,
                       cst + (size_t)t * ndc, ndc);
                int32_t *dst = matched + (size_t)t * n_det + dbase;
                const int32_t *src = cma + (size_t)t * ndc;
                for (uint64_t k = 0; k < ndc; k++)
                    dst[k] = src[k] < 0 ? -1 : src[k] + (int32_t)gbase;
                dst = agn + (size_t)t * n_det + dbase;
                src = cag + (size_t)t * ndc;
                for (uint64_t k = 0; k < ndc; k++)
                    dst[k] = src[k] < 0 ? src[k] : src[k] + (int32_t)gbase;
            }
            memcpy(all.cls + dbase, cur.dt.cls, ndc * 4);
            memcpy(all.score + dbase, cur.dt.score, ndc * 8);
        }
        for (uint64_t k = 0; k < cur.gt.n; k++)
            r->label_class[gbase + k] = cur.gt.cls[k];
        for (uint64_t k = 0; k < cur.gt.n; k++)
            if (!cur.gt.iscrowd[k] && !cur.gt.ignore[k])
                r->gt_count[cur.gt.cls[k]]++;
        r->n_gt_total += cur.gt.n;
        chunk_release(&cur);
        t_match += dg__now() - t0;
        dg__progress(ctx, "match", bounds[b + 1], nf);
        if (fault_here(rank)) {
            st = dg__fail(ctx, DG_EIO, "rank %d: simulated failure "
                          "(DETGRID_FAULT=rank%d)", rank, rank);
            goto matched_all;
        }
    }
matched_all:
    /* Every rank learns whether every rank matched its frames. */
    if (mpi_size > 1)
        st = dg_mpi_agree(ctx, st);
    if (st < 0)
        goto out;
    if (mpi_size > 1) {
        double t0 = dg__now();
        if (rank) {
            st = dg__mpi_send_part(ctx, r->label_class + goff[flo],
                                   goff[fhi] - goff[flo], r->gt_count,
                                   p->n_classes, &enc);
        } else {
            const char *fe = getenv("DETGRID_FAULT");
            if (fe && !strcmp(fe, "gather"))
                st = dg__fail(ctx, DG_EIO, "rank 0: simulated failure while "
                              "gathering (DETGRID_FAULT=gather)");
            /* Every rank's part is received, failed or not (a sender
             * must not be left blocked); after a failure, dropped. */
            for (int src = 1; src < mpi_size; src++) {
                uint32_t slo, shi;
                dg__shard_range(doff, goff, nf, src, mpi_size, &slo, &shi);
                dg_status s2 = dg__mpi_recv_part(
                    ctx, src, r->label_class + goff[slo],
                    goff[shi] - goff[slo], r->gt_count, p->n_classes,
                    st < 0 ? NULL : pd, pos, doff[slo], doff[shi] - doff[slo]);
                if (st >= 0)
                    st = s2;
            }
        }
        st = dg_mpi_agree(ctx, st);
        t_load += dg__now() - t0;
        if (st < 0)
            goto out;
        r->n_gt_total = goff[nf];
        if (rank) {
            /* Rank 0 holds and stores the results. */
            ctx->stats.load_s = t_load;
            ctx->stats.match_s = t_match;
            ctx->stats.accumulate_s = 0;
            ctx->stats.total_s = dg__now() - t_start;
            const char *desc = use_cl ? dg__cl_device_desc(ctx) : NULL;
            snprintf(ctx->stats.device, sizeof(ctx->stats.device), "%s",
                     desc ? desc : "reference");
            goto out;
        }
    }
    all.n = n_det;

    double t0 = dg__now();
    if (streamed) {
        if (dg__pending_count(pd) != n_det) {
            st = dg__fail(ctx, DG_EINVAL,
                          "outcomes of %llu of %llu detections arrived",
                          (unsigned long long)dg__pending_count(pd),
                          (unsigned long long)n_det);
            goto out;
        }
        r->pending = pd;
        pd = NULL; /* the tables exist only there until saved */
    } else {
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
    }
    t_acc += dg__now() - t0;

    const char *desc = use_cl ? dg__cl_device_desc(ctx) : NULL;
    snprintf(r->device, sizeof(r->device), "%s", desc ? desc : "reference");
    dg_infset *s = &p->inf[which];
    dg__results_destroy(s->results);
    s->results = r;
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
    dg__pending_free(pd);
    dg__boxset_release(&all);
    free(enc.p);
    free(pos);
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
