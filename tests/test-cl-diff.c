/*
 * Differential test of the device's matching stage (dg__cl_match_frames,
 * kernels/frames.cl) against the reference path (dg__match_frames_ref,
 * which test-frames.c holds to the oracles): status, matched and agnostic
 * tables byte for byte, cells outside the chunk untouched, on every chunk
 * of gen.h (exact IoU ties, mass score ties, NaN and infinite boxes, NaN
 * scores, 5,000 x 500 frames, hundreds of random seeds) and with the
 * device driven every way it can go:
 *
 *   - both data paths: buffers over the host's memory (a device that
 *     shares it, as PoCL does) and slabs through pinned staging and a copy
 *     queue (a GPU's), the second forced on any device;
 *   - budgets small enough for many slabs and one threshold a pass;
 *   - local caps small enough that frames go to the global-memory kernel;
 *   - work-groups of 1 and 16 work-items (and, with
 *     DETGRID_TEST_CL_NETWORK=1 on a CPU device, the GPU's sorting network
 *     in work-groups of 1, 16 and 64);
 *   - sorted positions with a label base, class-wise only, IoU tiles
 *     supplied by an earlier stage.
 *
 * Exit 0 on success, 1 on a difference, 77 when no OpenCL device exists.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen_cl.h"

static dg_ctx *ctx;
static int n_compared;
static double grid[20];
static int unified0; /* what the device says */

/* How the device is driven for one comparison. */
typedef struct mode {
    const char *name;
    int copies;          /* force slabs through staging */
    uint64_t budget;     /* dg__cl_set_batch_bytes */
    uint32_t cap_d, cap_p; /* dg__cl_set_local_caps */
    uint32_t wg;
} mode;

static const mode modes[] = {
    {"default", 0, 0, 0, 0, 0},
    {"copies", 1, 0, 0, 0, 0},
    {"copies-tiny", 1, 1 << 16, 0, 0, 0},
    {"big-kernel", 0, 0, 4, 16, 0},
    {"copies-big-wg16", 1, 1 << 20, 8, 64, 16},
    {"wg16", 0, 1 << 16, 0, 0, 16},
};
#define N_MODES (int)(sizeof(modes) / sizeof(modes[0]))

static void set_mode(const mode *m)
{
    struct dg_cl_state *s = DG_CL(ctx);
    s->unified = m->copies ? 0 : unified0;
    dg__cl_set_batch_bytes(ctx, m->budget);
    dg__cl_set_local_caps(ctx, m->cap_d, m->cap_p);
    dg__cl_set_wg(ctx, m->wg);
}

/*
 * One comparison: in with out's options (pos, label_base, agnostic or not)
 * on the reference path and on the device in mode m.
 */
static void compare_one(const char *label, const dg_match_input *in,
                        const uint32_t *pos, int64_t lbase, int agn,
                        const mode *m)
{
    size_t n = (size_t)in->n_iou * in->dt->n;
    tables r, d;
    tables_init(&r, n, 0xab);
    tables_init(&d, n, 0xab);
    dg_match_output o1 = {r.s, r.m, agn ? r.a : NULL, pos, lbase};
    dg_match_output o2 = {d.s, d.m, agn ? d.a : NULL, pos, lbase};
    CHECK_EQ_INT(dg__match_frames_ref(ctx, in, &o1), DG_OK);
    set_mode(m);
    dg_stage_profile prof;
    memset(&prof, 0, sizeof(prof));
    dg_status st = dg__cl_match_frames(ctx, in, &o2, &prof);
    set_mode(&modes[0]);
    if (st != DG_OK)
        fprintf(stderr, "%s [%s]: %s\n", label, m->name,
                dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    int ok = tables_same(&r, &d);
    CHECK(ok);
    if (!ok)
        tables_first_diff(label, m->name, &r, &d, in->dt->n);
    /* Copies move bytes and say so; a shared memory moves none. */
    if (st == DG_OK && m->copies && in->dt->frame_off[in->n_frames] >
                                        in->dt->frame_off[0])
        CHECK(prof.bytes_up > 0 && prof.bytes_down > 0);
    tables_free(&r);
    tables_free(&d);
    n_compared++;
}

/* c in every mode; with the whole set, the rest of the contract too. */
static void compare(const char *label, chunk *c, const double *iou,
                    int n_iou, int all_modes)
{
    dg_match_input in = {c->n_frames, c->n_classes, &c->gt, &c->dt, n_iou,
                         iou, NULL, NULL};
    for (int k = 0; k < (all_modes ? N_MODES : 1); k++)
        compare_one(label, &in, NULL, 0, 1, &modes[k]);
    if (!all_modes)
        return;
    compare_one(label, &in, NULL, 0, 0, &modes[1]); /* class-wise only */
    uint32_t nf = c->n_frames;
    uint64_t nd = c->dt.n;
    if (!nf || c->dt.frame_off[0] != 0 || c->dt.frame_off[nf] != nd)
        return;
    /* Sorted positions (a random permutation) and a label base. */
    uint32_t *pos = random_perm(nd);
    compare_one(label, &in, pos, 7777, 1, &modes[0]);
    compare_one(label, &in, pos, 7777, 1, &modes[2]);
    /* IoU tiles from an earlier stage: values on a coarse grid, NaNs. */
    uint64_t *toff = xrealloc(NULL, ((size_t)nf + 1) * 8);
    toff[0] = 3;
    for (uint32_t f = 0; f < nf; f++)
        toff[f + 1] = toff[f] +
                      (c->dt.frame_off[f + 1] - c->dt.frame_off[f]) *
                          (c->gt.frame_off[f + 1] - c->gt.frame_off[f]);
    double *tile = xrealloc(NULL, toff[nf] * 8 + 8);
    for (uint64_t k = 0; k < toff[nf]; k++) {
        uint32_t v = rnd_below(24);
        tile[k] = v == 23 ? NAN : v / 20.0;
    }
    in.iou_tile = tile;
    in.tile_off = toff;
    compare_one(label, &in, pos, 0, 1, &modes[0]);
    compare_one(label, &in, NULL, 0, 1, &modes[4]);
    free(tile);
    free(toff);
    free(pos);
}

int main(void)
{
    double t_start = dg__now();
    grid_init(grid);
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    int rc = device_open(ctx, "");
    if (rc) {
        dg_ctx_free(ctx);
        return rc;
    }
    if (dg__cl_ensure_match(ctx) != DG_OK) {
        fprintf(stderr, "cannot build the matching program: %s\n",
                dg_ctx_last_error(ctx));
        dg_ctx_free(ctx);
        return 1;
    }
    unified0 = DG_CL(ctx)->unified;
    printf("memory shared with the host: %s; local memory %llu bytes\n",
           unified0 ? "yes" : "no",
           (unsigned long long)DG_CL(ctx)->local_mem);

    chunk c;
    char label[64];
    exact_chunk(&c, grid);
    compare("exact", &c, grid, 20, 1);
    for (int i = 0; i < 20; i += 3) {
        snprintf(label, sizeof(label), "exact@%d", i);
        compare(label, &c, &grid[i], 1, 0);
    }
    chunk_free(&c);
    equal_scores_chunk(&c);
    compare("equal-scores", &c, grid, 20, 1);
    chunk_free(&c);
    mass_ties_chunk(&c);
    compare("mass-ties", &c, grid, 20, 1);
    chunk_free(&c);
    ties_chunk(&c);
    compare("ties", &c, grid, 20, 1);
    chunk_free(&c);
    sparse_chunk(&c);
    compare("sparse-300-classes", &c, grid, 20, 1);
    chunk_free(&c);
    odd_chunk(&c);
    compare("odd", &c, grid, 20, 1);
    chunk_free(&c);
    for (uint64_t seed = 1; seed <= 8; seed++) {
        nan_chunk(&c, seed);
        if (seed % 2 == 0) /* NaN scores: an order only the key defines */
            for (uint64_t k = 0; k < c.dt.n; k += 5)
                c.dt.score[k] = NAN;
        snprintf(label, sizeof(label), "nan %llu", (unsigned long long)seed);
        compare(label, &c, grid, 20, seed <= 4);
        chunk_free(&c);
    }
    chunk_init(&c, 0, 1);
    compare("no-frames", &c, grid, 20, 0);
    chunk_free(&c);
    chunk_init(&c, 5, 1);
    for (int f = 0; f < 5; f++)
        next_frame(&c);
    compare("empty-frames", &c, grid, 20, 1);
    chunk_free(&c);

    double t_big = dg__now();
    cw_big_frame_chunk(&c);
    compare("big-frame", &c, grid, 20, 0);
    chunk_free(&c);
    agn_big_frame_chunk(&c);
    compare("agn-big-frame", &c, grid, 20, 0);
    chunk_free(&c);
    huge_frame_chunk(&c);
    compare("5000x500", &c, grid, 19, 0);
    compare_one("5000x500", &(dg_match_input){c.n_frames, c.n_classes, &c.gt,
                                              &c.dt, 19, grid, NULL, NULL},
                NULL, 0, 1, &modes[2]);
    chunk_free(&c);
    t_big = dg__now() - t_big;

    int seeds = 0;
    for (uint64_t seed = 1; seed <= 240; seed++, seeds++) {
        const double *iou;
        int n_iou = seed_case(&c, seed, grid, &iou);
        snprintf(label, sizeof(label), "seed %llu", (unsigned long long)seed);
        compare(label, &c, iou, n_iou, n_iou == 20 && seed % 8 == 1);
        chunk_free(&c);
        if (check_failures > 20)
            break;
    }
    /* The modes ran what they are for. */
    set_mode(&modes[2]);
    sparse_chunk(&c);
    dg_match_input in = {c.n_frames, c.n_classes, &c.gt, &c.dt, 20, grid,
                         NULL, NULL};
    tables t;
    tables_init(&t, 20 * c.dt.n, 0xab);
    dg_match_output o = {t.s, t.m, t.a, NULL, 0};
    CHECK_EQ_INT(dg__cl_match_frames(ctx, &in, &o, NULL), DG_OK);
    CHECK(DG_CL(ctx)->last_slabs > 1);
    CHECK(DG_CL(ctx)->last_passes > 1);
    set_mode(&modes[3]);
    CHECK_EQ_INT(dg__cl_match_frames(ctx, &in, &o, NULL), DG_OK);
    CHECK(DG_CL(ctx)->last_big_frames > 0);
    set_mode(&modes[0]);
    tables_free(&t);
    chunk_free(&c);

    /*
     * A GPU's sort, the bitonic network over the work-group, is built on
     * CPU devices only on request (it takes PoCL a minute: program.c):
     * DETGRID_TEST_CL_NETWORK=1 runs the chunks again with it, work-groups
     * of 1, 16 and 64 (tools/dev/gpu-check.sh runs it on the GPU anyway).
     */
    if (getenv("DETGRID_TEST_CL_NETWORK") && DG_CL(ctx)->is_cpu) {
        setenv("DETGRID_CL_SORT_NETWORK", "1", 1);
        dg__cl_release(ctx);
        CHECK_EQ_INT(dg__cl_ensure_match(ctx), DG_OK);
        unified0 = DG_CL(ctx)->unified;
        static const mode net[] = {{"network-wg1", 0, 0, 0, 0, 1},
                                   {"network-wg16", 1, 1 << 20, 8, 64, 16},
                                   {"network-wg64", 0, 0, 0, 0, 64}};
        void (*make[])(chunk *) = {equal_scores_chunk, mass_ties_chunk,
                                   ties_chunk, sparse_chunk, odd_chunk,
                                   huge_frame_chunk};
        for (size_t k = 0; k < sizeof(make) / sizeof(make[0]); k++) {
            make[k](&c);
            dg_match_input in = {c.n_frames, c.n_classes, &c.gt, &c.dt, 19,
                                 grid, NULL, NULL};
            for (int m = 0; m < 3; m++)
                compare_one("network", &in, NULL, 0, 1, &net[m]);
            chunk_free(&c);
        }
        for (uint64_t seed = 1; seed <= 60; seed++) {
            const double *iou;
            int n_iou = seed_case(&c, seed, grid, &iou);
            dg_match_input in = {c.n_frames, c.n_classes, &c.gt, &c.dt, n_iou,
                                 iou, NULL, NULL};
            compare_one("network seed", &in, NULL, 0, 1, &net[seed % 3]);
            chunk_free(&c);
        }
        unsetenv("DETGRID_CL_SORT_NETWORK");
    }

    printf("%d comparisons (%d random seeds), big frames %.2f s, total "
           "%.2f s\n",
           n_compared, seeds, t_big, dg__now() - t_start);
    dg_ctx_free(ctx);
    return check_done("test-cl-diff");
}
