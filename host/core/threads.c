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
