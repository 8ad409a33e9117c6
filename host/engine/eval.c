/*
 * eval: the heavy step, in named steps. In memory (the default):
 *
 *   load    the labels' and the detections' columns, whole (the store
 *           inflates their chunks on every core);
 *   order   the sort results keep (class, descending score, record), and
 *           each detection's sorted position;
 *   match   one engine stage over every frame: class-wise and
 *           class-agnostic matching at every threshold from one IoU tile
 *           a frame, each outcome written straight to its sorted position
 *           in the T x N tables the store keeps (no permutation after);
 *   adopt   the tables go to the store.
 *
 * The device (if any) is set up while the columns load. With a memory
 * budget (dg_ctx_set_memory_budget) or over MPI ranks, the keys are sorted
 * first and the frames go in chunks, the next one read while this one
 * matches; each chunk's outcomes go, run-length encoded, to the store's
 * pending outcomes (or to rank 0, mpi.c) instead of T x N tables, and
 * dg_project_save writes them (docs/SCALE.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "mpi.h"
#include "ref.h"

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

/* ---- the chunk reader (streamed eval) ----------------------------------- */

typedef struct chunk {
    uint32_t lo, hi;
    dg_boxset gt, dt;
    dg_status st;
    char err[DG_ERR_CAP];
} chunk;

typedef struct reader {
    dg_project *p;
    int which;
    unsigned threads;
    chunk *c;
    pthread_t th;
    int running;
} reader;

static void *read_chunk(void *arg)
{
    reader *rd = arg;
    chunk *c = rd->c;
    dg_ctx *w = dg__ctx_worker();
    if (!w) {
        c->st = DG_ENOMEM;
        snprintf(c->err, sizeof(c->err), "out of memory");
        return NULL;
    }
    dg_ctx_set_threads(w, rd->threads);
    c->st = dg__project_read_range(w, rd->p, -1, c->lo, c->hi, &c->gt);
    if (c->st >= 0)
        c->st = dg__project_read_range(w, rd->p, rd->which, c->lo, c->hi,
                                       &c->dt);
    if (c->st < 0)
        snprintf(c->err, sizeof(c->err), "%s", dg_ctx_last_error(w));
    dg_ctx_free(w);
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

/* ---- one eval's state ---------------------------------------------------- */

typedef struct eval_run {
    dg_ctx *ctx;
    dg_project *p;
    uint32_t which;
    const double *iou;
    int n_iou;
    int rank, size;   /* MPI (size 1: none) */
    int streamed;     /* outcomes to the pending store or to rank 0 */
    dg_engine *eng;
    double t_start, t_load, t_order, t_match;

    uint32_t nf, flo, fhi; /* frames, and this rank's [flo, fhi) */
    uint64_t *goff, *doff; /* frame offsets of labels and detections */
    uint64_t n_det;
    uint32_t *pos;         /* sorted position of each detection */

    /* In memory: the whole set's columns. */
    dg_boxset gt, dt;

    /* Streamed: chunk boundaries, one chunk's outcomes (chunk order), the
     * encoded stream. */
    uint32_t *bounds, nb;  /* nb chunk boundaries (nb - 1 chunks) */
    uint64_t max_dt;       /* detections of the largest chunk */
    uint8_t *cst;
    int32_t *cma, *cag;
    dg_bytes enc;

    dg_results_tables t; /* what the store gets */
} eval_run;

static void run_release(eval_run *e)
{
    dg__engine_close(e->eng);
    free(e->goff);
    free(e->doff);
    free(e->pos);
    dg__boxset_release(&e->gt);
    dg__boxset_release(&e->dt);
    free(e->bounds);
    free(e->cst);
    free(e->cma);
    free(e->cag);
    free(e->enc.p);
    dg__results_tables_release(&e->t);
}

/* Where the scratch file of a pending store goes: beside the project. */
static void scratch_dir(const dg_project *p, char *buf, size_t cap)
{
    const char *e = dg__env("DETGRID_SCRATCH_DIR");
    if (e) {
        snprintf(buf, cap, "%s", e);
        return;
    }
    const char *path = dg__project_path(p);
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

/* DETGRID_FAULT=rank<k>: rank k fails after its first chunk (tests). */
static int fault_here(int rank)
{
    long k;
    return dg__fault_num("rank", &k) && k == rank;
}

/* ---- the steps ------------------------------------------------------------ */

static dg_status check_args(eval_run *e, const char *name)
{
    dg_status st = dg_project_find(e->ctx, e->p, DG_NAME_INFERENCES, name,
                                   &e->which);
    if (st < 0)
        return st;
    if (e->n_iou < 1 || e->n_iou > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(e->ctx, DG_EINVAL, "need 1 to %d IoU thresholds",
                        DG_MAX_IOU_THRESHOLDS);
    for (int t = 0; t < e->n_iou; t++)
        if (!(e->iou[t] > 0 && e->iou[t] <= 1) ||
            (t && !(e->iou[t] > e->iou[t - 1])))
            return dg__fail(e->ctx, DG_EINVAL,
                            "IoU thresholds must ascend within (0, 1]");
    return DG_OK;
}

/*
 * The plan: fingerprints, frame offsets, this rank's frames, and (streamed)
 * chunk boundaries of whole frames of about DETGRID_CHUNK_DETS boxes each.
 */
static dg_status plan(eval_run *e)
{
    dg_ctx *ctx = e->ctx;
    dg_project *p = e->p;
    dg_results_tables *t = &e->t;
    dg_status st;
    t->n_iou = e->n_iou;
    memcpy(t->iou, e->iou, (size_t)e->n_iou * sizeof(double));
    t->n_classes = dg__project_n_classes(p);
    t->inf_index = e->which;
    if ((st = dg__project_fingerprint(ctx, p, (int)e->which,
                                      &t->fingerprint)) < 0 ||
        (st = dg__project_fingerprint(ctx, p, -1, &t->labels_fingerprint)) <
            0 ||
        (st = dg__project_frame_offsets(ctx, p, -1, &e->goff)) < 0 ||
        (st = dg__project_frame_offsets(ctx, p, (int)e->which, &e->doff)) < 0)
        return st;
    uint32_t nf = e->nf = dg__project_n_frames(p);
    const uint64_t *doff = e->doff, *goff = e->goff;
    e->n_det = doff[nf];
    if (e->n_det > INT32_MAX || goff[nf] > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "too many boxes for one eval (%llu)",
                        (unsigned long long)e->n_det);
    e->flo = 0;
    e->fhi = nf;
    if (e->size > 1)
        dg__shard_range(doff, goff, nf, e->rank, e->size, &e->flo, &e->fhi);
    if (!e->streamed)
        return DG_OK;
    e->bounds = dg__alloc(ctx, (size_t)nf + 2, sizeof(*e->bounds));
    if (!e->bounds)
        return DG_ENOMEM;
    uint64_t target = dg__env_u64("DETGRID_CHUNK_DETS", 1u << 17);
    e->nb = dg__frame_runs(doff, goff, e->flo, e->fhi, target, e->bounds);
    for (uint32_t b = 0; b + 1 < e->nb; b++)
        if (doff[e->bounds[b + 1]] - doff[e->bounds[b]] > e->max_dt)
            e->max_dt = doff[e->bounds[b + 1]] - doff[e->bounds[b]];
    return DG_OK;
}

/* The labels' share of the tables: class of every label, counts. */
static dg_status count_labels(eval_run *e, const dg_boxset *gt, uint64_t base)
{
    for (uint64_t k = 0; k < gt->n; k++)
        e->t.label_class[base + k] = gt->cls[k];
    for (uint64_t k = 0; k < gt->n; k++)
        if (!gt->iscrowd[k] && !gt->ignore[k])
            e->t.gt_count[gt->cls[k]]++;
    e->t.n_gt_total += gt->n;
    return DG_OK;
}

static dg_status alloc_label_tables(eval_run *e)
{
    uint64_t n_lab = e->goff[e->nf];
    uint32_t nc = e->t.n_classes;
    e->t.gt_count = dg__calloc(e->ctx, nc ? nc : 1, 8);
    e->t.label_class = dg__alloc(e->ctx, n_lab ? n_lab : 1, 4);
    return e->t.gt_count && e->t.label_class ? DG_OK : DG_ENOMEM;
}

/* ---- in memory ------------------------------------------------------------- */

/* Every column of the labels and of the set, whole. */
static dg_status load(eval_run *e)
{
    double t0 = dg__now();
    dg_status st = dg__project_read_range(e->ctx, e->p, -1, 0, e->nf, &e->gt);
    if (st >= 0)
        st = dg__project_read_range(e->ctx, e->p, (int)e->which, 0, e->nf,
                                    &e->dt);
    e->t_load += dg__now() - t0;
    return st;
}

/* The sort of the results, and each detection's sorted position. */
static dg_status order(eval_run *e)
{
    double t0 = dg__now();
    dg__progress(e->ctx, "order", 0, 1);
    e->pos = dg__alloc(e->ctx, e->n_det ? e->n_det : 1, 4);
    if (!e->pos)
        return DG_ENOMEM;
    dg_status st = dg__order_dets(e->ctx, &e->t, e->n_det, e->dt.cls,
                                  e->dt.score, e->pos);
    e->t_order += dg__now() - t0;
    dg__progress(e->ctx, "order", 1, 1);
    return st;
}

/* Both matchings of every frame, outcomes at their sorted positions. */
static dg_status match(eval_run *e)
{
    dg_ctx *ctx = e->ctx;
    dg_results_tables *t = &e->t;
    double t0 = dg__now();
    size_t tot = (size_t)e->n_iou * e->n_det;
    t->status = dg__alloc(ctx, tot ? tot : 1, 1);
    t->matched = dg__alloc(ctx, tot ? tot : 1, 4);
    t->agnostic = dg__alloc(ctx, tot ? tot : 1, 4);
    if (!t->status || !t->matched || !t->agnostic)
        return DG_ENOMEM;
    dg_match_input in = {e->nf, t->n_classes, &e->gt, &e->dt, e->n_iou,
                         e->iou, NULL, NULL};
    dg_match_output out = {t->status, t->matched, t->agnostic, e->pos, 0};
    dg_status st = dg__engine_match(e->eng, ctx, &in, &out);
    e->t_match += dg__now() - t0;
    if (st >= 0)
        st = count_labels(e, &e->gt, 0);
    dg__progress(ctx, "match", e->nf, e->nf);
    return st;
}

/* ---- streamed -------------------------------------------------------------- */

/*
 * Rank 0: the sort first, from the keys alone, so that every outcome can
 * go straight to the bucket of its sorted position.
 */
static dg_status order_first(eval_run *e)
{
    dg_ctx *ctx = e->ctx;
    double t0 = dg__now();
    char dir[4096];
    e->pos = dg__alloc(ctx, e->n_det ? e->n_det : 1, 4);
    if (!e->pos)
        return DG_ENOMEM;
    dg__progress(ctx, "order", 0, 1);
    dg_status st = dg__order_columns(ctx, &e->t, e->p, e->which, e->n_det,
                                     e->pos);
    if (st < 0)
        return st;
    dg__progress(ctx, "order", 1, 1);
    /* Other sets' pending outcomes make room for this one's. */
    if ((st = dg__project_spill_pending(ctx, e->p)) < 0)
        return st;
    scratch_dir(e->p, dir, sizeof(dir));
    e->t.pending = dg__pending_new(ctx, e->n_iou, e->n_det,
                                   dg__ctx_mem_budget(ctx), dir);
    if (!e->t.pending)
        return DG_ENOMEM;
    e->t_order += dg__now() - t0;
    return DG_OK;
}

/* Files one chunk's outcomes, encoded: to the pending store (rank 0) or
 * kept for rank 0. */
static dg_status file_chunk(eval_run *e, const chunk *c)
{
    dg_ctx *ctx = e->ctx;
    uint64_t dbase = e->doff[c->lo], gbase = e->goff[c->lo];
    dg_status st;
    if (e->rank == 0)
        e->enc.n = 0;
    if ((st = dg__stream_encode(ctx, &e->enc, e->n_iou, c->dt.n, e->cst,
                                e->cma, e->cag, (int64_t)gbase)) < 0)
        return st;
    if (e->rank == 0 &&
        (st = dg__pending_add(ctx, e->t.pending, e->pos, dbase, e->enc.p,
                              e->enc.n, NULL)) < 0)
        return st;
    return count_labels(e, &c->gt, gbase);
}

/* Every chunk of this rank, the next one read while this one matches. */
static dg_status match_chunks(eval_run *e)
{
    dg_ctx *ctx = e->ctx;
    reader rd = {0};
    chunk cur, next;
    int have_next = 0;
    dg_status st = DG_OK;
    size_t chunk_n = (size_t)e->n_iou * (e->max_dt ? e->max_dt : 1);
    e->cst = dg__alloc(ctx, chunk_n, 1);
    e->cma = dg__alloc(ctx, chunk_n, 4);
    e->cag = dg__alloc(ctx, chunk_n, 4);
    if (!e->cst || !e->cma || !e->cag)
        return DG_ENOMEM;
    memset(&cur, 0, sizeof(cur));
    memset(&next, 0, sizeof(next));
    rd.p = e->p;
    rd.which = (int)e->which;
    rd.threads = dg__threads(ctx);
    if (e->nb > 1) {
        reader_start(&rd, &next, e->bounds[0], e->bounds[1]);
        have_next = 1;
    }
    for (uint32_t b = 0; b + 1 < e->nb; b++) {
        double t0 = dg__now();
        reader_join(&rd);
        have_next = 0;
        e->t_load += dg__now() - t0;
        cur = next;
        memset(&next, 0, sizeof(next));
        if (cur.st < 0) {
            st = dg__fail(ctx, cur.st, "%s", cur.err);
            break;
        }
        if (b + 2 < e->nb) {
            reader_start(&rd, &next, e->bounds[b + 1], e->bounds[b + 2]);
            have_next = 1;
        }
        t0 = dg__now();
        dg_match_input in = {cur.hi - cur.lo, e->t.n_classes, &cur.gt,
                             &cur.dt, e->n_iou, e->iou, NULL, NULL};
        dg_match_output out = {e->cst, e->cma, e->cag, NULL, 0};
        if ((st = dg__engine_match(e->eng, ctx, &in, &out)) < 0 ||
            (st = file_chunk(e, &cur)) < 0)
            break;
        chunk_release(&cur);
        e->t_match += dg__now() - t0;
        dg__progress(ctx, "match", e->bounds[b + 1], e->nf);
        if (fault_here(e->rank)) {
            st = dg__fail(ctx, DG_EIO, "rank %d: simulated failure "
                          "(DETGRID_FAULT=rank%d)", e->rank, e->rank);
            break;
        }
    }
    if (have_next) {
        reader_join(&rd);
        chunk_release(&next);
    }
    chunk_release(&cur);
    return st;
}

/*
 * MPI: every rank's part reaches rank 0 (a failed rank's part is received
 * and dropped, so no sender is left blocked); every rank learns whether
 * every rank succeeded.
 */
static dg_status gather(eval_run *e)
{
    dg_ctx *ctx = e->ctx;
    double t0 = dg__now();
    uint32_t nc = e->t.n_classes;
    dg_status st = DG_OK;
    if (e->rank) {
        st = dg__mpi_send_part(ctx, e->t.label_class + e->goff[e->flo],
                               e->goff[e->fhi] - e->goff[e->flo],
                               e->t.gt_count, nc, &e->enc);
    } else {
        if (dg__fault("gather"))
            st = dg__fail(ctx, DG_EIO, "rank 0: simulated failure while "
                          "gathering (DETGRID_FAULT=gather)");
        for (int src = 1; src < e->size; src++) {
            uint32_t slo, shi;
            dg__shard_range(e->doff, e->goff, e->nf, src, e->size, &slo,
                            &shi);
            dg_status s2 = dg__mpi_recv_part(
                ctx, src, e->t.label_class + e->goff[slo],
                e->goff[shi] - e->goff[slo], e->t.gt_count, nc,
                st < 0 ? NULL : e->t.pending, e->pos, e->doff[slo],
                e->doff[shi] - e->doff[slo]);
            if (st >= 0)
                st = s2;
        }
    }
    st = dg_mpi_agree(ctx, st);
    e->t_load += dg__now() - t0;
    e->t.n_gt_total = e->goff[e->nf];
    return st;
}

/* Streamed: the pending outcomes are the tables once all have arrived. */
static dg_status check_pending(eval_run *e)
{
    uint64_t got = dg__pending_count(e->t.pending);
    if (got != e->n_det)
        return dg__fail(e->ctx, DG_EINVAL,
                        "outcomes of %llu of %llu detections arrived",
                        (unsigned long long)got,
                        (unsigned long long)e->n_det);
    return DG_OK;
}

static void record_stats(eval_run *e)
{
    dg_eval_stats *s = dg__ctx_stats(e->ctx);
    dg_stage_profile pr;
    dg__engine_profile(e->eng, &pr);
    s->load_s = e->t_load;
    s->order_s = e->t_order;
    s->accumulate_s = e->t_order;
    s->match_s = e->t_match;
    s->total_s = dg__now() - e->t_start;
    s->upload_s = pr.upload_s;
    s->kernel_s = pr.kernel_s;
    s->download_s = pr.download_s;
    s->bytes_up = pr.bytes_up;
    s->bytes_down = pr.bytes_down;
    s->threads = dg__threads(e->ctx);
    s->detections = e->n_det;
    snprintf(s->device, sizeof(s->device), "%s", dg__engine_desc(e->eng));
}

dg_status dg_eval(dg_ctx *ctx, dg_project *p, const char *name,
                  const double *iou, int n_iou)
{
    eval_run e;
    dg_status st;
    memset(&e, 0, sizeof(e));
    e.ctx = ctx;
    e.p = p;
    e.iou = iou;
    e.n_iou = n_iou;
    e.t_start = dg__now();
    dg__boxset_init(&e.gt);
    dg__boxset_init(&e.dt);
    memset(dg__ctx_stats(ctx), 0, sizeof(dg_eval_stats));
    if ((st = check_args(&e, name)) < 0)
        return st;
    /*
     * Sharded over MPI ranks, or within a memory budget: the outcomes go
     * to a pending store (rank 0) or to rank 0 (other ranks) instead of
     * T x N tables, and are written in sorted order at save.
     */
    dg__ctx_mpi(ctx, &e.rank, &e.size);
    e.streamed = dg__ctx_mem_budget(ctx) > 0 || e.size > 1;

    if ((st = dg__engine_open(ctx, &e.eng)) < 0)
        goto matched;
    /* The device's programs build while the columns load. */
    dg__engine_prepare(e.eng);
    if ((st = plan(&e)) < 0 || (st = alloc_label_tables(&e)) < 0)
        goto matched;
    if (!e.streamed) {
        if ((st = load(&e)) < 0 || (st = order(&e)) < 0)
            goto matched;
        st = match(&e);
    } else {
        if (e.rank == 0 && (st = order_first(&e)) < 0)
            goto matched;
        st = match_chunks(&e);
    }
matched:
    /* Every rank learns whether every rank matched its frames. */
    if (e.size > 1)
        st = dg_mpi_agree(ctx, st);
    if (st < 0)
        goto out;
    if (e.size > 1) {
        if ((st = gather(&e)) < 0)
            goto out;
        if (e.rank) {
            /* Rank 0 holds and stores the results. */
            record_stats(&e);
            goto out;
        }
    }
    if (e.streamed && (st = check_pending(&e)) < 0)
        goto out;
    snprintf(e.t.device, sizeof(e.t.device), "%s", dg__engine_desc(e.eng));
    e.t.n_det = e.n_det;
    record_stats(&e);
    st = dg__results_adopt(ctx, p, &e.t);
out:
    run_release(&e);
    return st;
}
