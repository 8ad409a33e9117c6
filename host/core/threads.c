/*
 * Work on every core: one helper that runs n independent tasks on a team
 * of threads (the calling thread one of them), taking the tasks in order
 * from an atomic counter. The reference path, the ordering and the store
 * use it; the team's size comes from the context (dg_ctx_set_threads, or
 * one thread per online processor).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

unsigned dg__threads(const dg_ctx *ctx)
{
    unsigned n = dg__ctx_threads(ctx);
    if (!n)
        n = dg__cpu_count();
    return n > DG_MAX_THREADS ? DG_MAX_THREADS : n;
}

typedef struct team {
    dg_task_fn fn;
    void *arg;
    uint64_t n;
    atomic_uint_fast64_t next;
} team;

typedef struct member {
    team *t;
    unsigned worker;
} member;

static void *run_member(void *p)
{
    member *m = p;
    team *t = m->t;
    for (;;) {
        uint64_t i = atomic_fetch_add(&t->next, 1);
        if (i >= t->n)
            break;
        t->fn(t->arg, i, m->worker);
    }
    return NULL;
}

unsigned dg__team(const dg_ctx *ctx, uint64_t n, unsigned max_workers)
{
    unsigned w = dg__threads(ctx);
    if (max_workers && w > max_workers)
        w = max_workers;
    if ((uint64_t)w > n)
        w = n ? (unsigned)n : 1;
    return w;
}

unsigned dg__parallel(const dg_ctx *ctx, uint64_t n, unsigned max_workers,
                      dg_task_fn fn, void *arg)
{
    unsigned w = dg__team(ctx, n, max_workers);
    team t;
    t.fn = fn;
    t.arg = arg;
    t.n = n;
    atomic_init(&t.next, 0);
    member m[DG_MAX_THREADS];
    pthread_t th[DG_MAX_THREADS];
    unsigned started = 0;
    for (unsigned k = 1; k < w; k++) {
        m[k].t = &t;
        m[k].worker = k;
        if (pthread_create(&th[k], NULL, run_member, &m[k]) != 0)
            break; /* fewer threads: the others take more tasks */
        started = k;
    }
    m[0].t = &t;
    m[0].worker = 0;
    run_member(&m[0]);
    for (unsigned k = 1; k <= started; k++)
        pthread_join(th[k], NULL);
    return w;
}

/* ---- the matchers' fill ----------------------------------------------------- */

typedef struct fill_job {
    const dg_match_output *out;
    uint64_t n_out, a, n;
} fill_job;

static void fill_task(void *arg, uint64_t i, unsigned worker)
{
    const fill_job *fj = arg;
    (void)worker;
    /* Task i: one row of one table (status, matched, agnostic in turn). */
    uint64_t o = i / 3 * fj->n_out + fj->a;
    switch (i % 3) {
    case 0:
        memset(fj->out->status + o, DG_FP, fj->n);
        break;
    case 1:
        memset(fj->out->matched + o, 0xff, fj->n * 4); /* -1 */
        break;
    default:
        if (fj->out->agnostic)
            memset(fj->out->agnostic + o, 0xff, fj->n * 4); /* background */
    }
}

_Static_assert(DG_AGN_BACKGROUND == -1, "the fill writes -1 as all ones");

void dg__match_fill(const dg_ctx *ctx, const dg_match_output *out,
                    uint64_t n_out, int rows, uint64_t a, uint64_t n)
{
    fill_job fj = {out, n_out, a, n};
    if (rows > 0 && n)
        dg__parallel(ctx, (uint64_t)rows * 3, 0, fill_task, &fj);
}
