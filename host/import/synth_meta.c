/*
 * Synthetic frame metadata with structure, and a failure planted in a
 * conjunction of two conditions, for a synthetic project in memory (before
 * eval; dg_synth_metadata in include/detgrid/synth.h).
 *
 * Six columns, drawn per frame from one stream seeded by (seed, frame):
 *   weather    clear 50 %, cloudy 20 %, rain 15 %, fog 10 %, snow 5 %
 *   time       day 55 %, dusk 15 %, night 30 %
 *   camera     front 40 %, left 20 %, right 20 %, rear 20 %
 *   location   urban 45 %, suburban 25 %, highway 20 %, rural 10 %
 *   speed      km/h, uniform within the location's range: urban 0-50,
 *              suburban 20-70, highway 70-130, rural 30-100
 *   brightness uniform within the time's range: day 0.5-1, dusk
 *              0.25-0.6, night 0.02-0.3
 * The detector knows nothing of them, so without a plant no slice of them
 * differs from the rest but by chance.
 *
 * The plant: the candidate conditions are every categorical value and,
 * per numeric column, its lowest and its highest quarter (below the
 * 25 % quantile, from the 75 % quantile on: order statistics
 * floor(n / 4) and floor(3n / 4) of the frames' values). Among the pairs
 * of conditions on two different columns that hold together on 4-15 % of
 * the frames, while each condition holds on at least twice as many frames
 * as the pair, one is drawn; in its frames each detection is dropped with
 * probability `drop`, so recall falls there and only there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/synth.h"
#include "store.h"

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return (double)(mix(*s) >> 11) / 9007199254740992.0;
}

typedef struct cat_col {
    const char *name;
    int n;
    const char *value[5];
    double share[5];
} cat_col;

static const cat_col cats[4] = {
    {"weather", 5, {"clear", "cloudy", "rain", "fog", "snow"},
     {0.50, 0.20, 0.15, 0.10, 0.05}},
    {"time", 3, {"day", "dusk", "night"}, {0.55, 0.15, 0.30}},
    {"camera", 4, {"front", "left", "right", "rear"},
     {0.40, 0.20, 0.20, 0.20}},
    {"location", 4, {"urban", "suburban", "highway", "rural"},
     {0.45, 0.25, 0.20, 0.10}},
};
enum { C_WEATHER, C_TIME, C_CAMERA, C_LOCATION, N_CAT };
enum { N_NUM = 2, N_COLS = N_CAT + N_NUM };
static const char *const num_name[N_NUM] = {"speed", "brightness"};
/* Ranges of speed by location and of brightness by time. */
static const double speed_lo[4] = {0, 20, 70, 30}, speed_hi[4] = {50, 70, 130, 100};
static const double bright_lo[3] = {0.5, 0.25, 0.02}, bright_hi[3] = {1, 0.6, 0.3};

static int draw_cat(const cat_col *c, double u)
{
    for (int i = 0; i < c->n - 1; i++) {
        if (u < c->share[i])
            return i;
        u -= c->share[i];
    }
    return c->n - 1;
}

/* Rounds v to two decimals (as a sensor log would write it). */
static double round2(double v)
{
    return round(v * 100) / 100;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A candidate condition: frames where it holds. */
typedef struct cond {
    int col;          /* 0 .. N_COLS - 1 */
    char where[64];   /* as `segment --where` takes it */
    uint8_t *in;      /* n_frames flags */
    uint32_t n;
} cond;

/*
 * 1 when conditions x and y are on different columns, hold together on
 * 4-15 % of the F frames, and each alone on at least twice as many.
 */
static int pair_ok(const cond *x, const cond *y, uint32_t F)
{
    if (x->col == y->col)
        return 0;
    uint32_t both = 0;
    for (uint32_t f = 0; f < F; f++)
        both += x->in[f] & y->in[f];
    return (uint64_t)both * 25 >= F && (uint64_t)both * 20 <= (uint64_t)F * 3 &&
           x->n >= 2 * both && y->n >= 2 * both;
}

void dg_synth_metadata_opts_init(dg_synth_metadata_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->drop = 0.6;
}

dg_status dg_synth_metadata(dg_ctx *ctx, dg_project *p,
                            const dg_synth_metadata_opts *opts,
                            dg_synth_slice *planted)
{
    dg_synth_metadata_opts defaults;
    dg_synth_metadata_opts_init(&defaults);
    const dg_synth_metadata_opts *o = opts ? opts : &defaults;
    dg_status st = DG_OK;
    uint32_t F = dg__project_n_frames(p);
    double drop = o->drop > 0 ? o->drop : 0.6;
    if (planted)
        memset(planted, 0, sizeof(*planted));
    if (!(drop <= 1))
        return dg__fail(ctx, DG_EINVAL, "synth: drop %g not in (0, 1]",
                        o->drop);
    int *cv = dg__alloc(ctx, (size_t)(F ? F : 1) * N_CAT, sizeof(int));
    double *nv[N_NUM] = {NULL, NULL};
    char **sv[N_CAT] = {NULL, NULL, NULL, NULL};
    cond *cand = NULL;
    uint32_t n_cand = 0;
    if (!cv) {
        st = DG_ENOMEM;
        goto out;
    }
    for (int j = 0; j < N_NUM; j++)
        if (!(nv[j] = dg__alloc(ctx, F ? F : 1, sizeof(double)))) {
            st = DG_ENOMEM;
            goto out;
        }
    for (uint32_t f = 0; f < F; f++) {
        uint64_t s = mix(o->seed * 0x100000001b3ULL ^ mix(f + 0x6d657461ULL));
        for (int c = 0; c < N_CAT; c++)
            cv[(size_t)f * N_CAT + c] = draw_cat(&cats[c], unif(&s));
        int loc = cv[(size_t)f * N_CAT + C_LOCATION];
        int tim = cv[(size_t)f * N_CAT + C_TIME];
        nv[0][f] = round2(speed_lo[loc] +
                          (speed_hi[loc] - speed_lo[loc]) * unif(&s));
        nv[1][f] = round2(bright_lo[tim] +
                          (bright_hi[tim] - bright_lo[tim]) * unif(&s));
    }
    /* The columns, handed to the project (which owns them then). */
    for (int c = 0; c < N_CAT; c++) {
        if (!(sv[c] = dg__calloc(ctx, F ? F : 1, sizeof(char *)))) {
            st = DG_ENOMEM;
            goto out;
        }
        for (uint32_t f = 0; f < F; f++) {
            const char *v = cats[c].value[cv[(size_t)f * N_CAT + c]];
            if (!(sv[c][f] = malloc(strlen(v) + 1))) {
                st = DG_ENOMEM;
                goto out;
            }
            memcpy(sv[c][f], v, strlen(v) + 1);
        }
    }
    /* The plant's candidates, before the columns move into the project. */
    if (o->plant && F) {
        uint32_t cap = 2 * N_NUM;
        for (int c = 0; c < N_CAT; c++)
            cap += (uint32_t)cats[c].n;
        if (!(cand = dg__calloc(ctx, cap, sizeof(cond)))) {
            st = DG_ENOMEM;
            goto out;
        }
        for (int c = 0; c < N_CAT; c++)
            for (int v = 0; v < cats[c].n; v++) {
                cond *k = &cand[n_cand++];
                k->col = c;
                snprintf(k->where, sizeof(k->where), "%s=%s", cats[c].name,
                         cats[c].value[v]);
                if (!(k->in = dg__calloc(ctx, F, 1))) {
                    st = DG_ENOMEM;
                    goto out;
                }
                for (uint32_t f = 0; f < F; f++)
                    if (cv[(size_t)f * N_CAT + c] == v)
                        k->in[f] = 1, k->n++;
            }
        double *sorted = dg__alloc(ctx, F, sizeof(double));
        if (!sorted) {
            st = DG_ENOMEM;
            goto out;
        }
        for (int j = 0; j < N_NUM; j++) {
            memcpy(sorted, nv[j], F * sizeof(double));
            qsort(sorted, F, sizeof(double), cmp_dbl);
            double q1 = sorted[F / 4], q3 = sorted[(3 * (uint64_t)F) / 4];
            for (int side = 0; side < 2; side++) {
                cond *k = &cand[n_cand++];
                k->col = N_CAT + j;
                char num[40];
                dg__fmt_double(num, sizeof(num), side == 0 ? q1 : q3);
                snprintf(k->where, sizeof(k->where), "%s%s%s", num_name[j],
                         side == 0 ? "<" : ">=", num);
                if (!(k->in = dg__calloc(ctx, F, 1))) {
                    free(sorted);
                    st = DG_ENOMEM;
                    goto out;
                }
                for (uint32_t f = 0; f < F; f++)
                    if (side == 0 ? nv[j][f] < q1 : nv[j][f] >= q3)
                        k->in[f] = 1, k->n++;
            }
        }
        free(sorted);
    }
    for (int c = 0; c < N_CAT; c++) {
        st = dg__project_set_meta(ctx, p, cats[c].name, 0, NULL, sv[c]);
        sv[c] = NULL;
        if (st < 0)
            goto out;
    }
    for (int j = 0; j < N_NUM; j++) {
        st = dg__project_set_meta(ctx, p, num_name[j], 1, nv[j], NULL);
        nv[j] = NULL;
        if (st < 0)
            goto out;
    }
    if (!o->plant || !F)
        goto out;
    /* The valid pairs, in a fixed order; the seed draws one. */
    uint32_t n_pair = 0, a = 0, b = 0;
    for (uint32_t i = 0; i < n_cand; i++)
        for (uint32_t j = i + 1; j < n_cand; j++)
            n_pair += pair_ok(&cand[i], &cand[j], F);
    if (!n_pair) {
        st = dg__fail(ctx, DG_EINVAL,
                      "synth: no pair of metadata conditions holds on "
                      "4-15 %% of %u frames",
                      F);
        goto out;
    }
    uint32_t pick = (uint32_t)(mix(o->seed ^ 0x51ceULL) % n_pair);
    for (uint32_t i = 0, seen = 0; i < n_cand; i++)
        for (uint32_t j = i + 1; j < n_cand; j++)
            if (pair_ok(&cand[i], &cand[j], F) && seen++ == pick)
                a = i, b = j;
    const cond *ca = &cand[a], *cb = &cand[b];
    uint8_t *in = dg__alloc(ctx, F, 1);
    if (!in) {
        st = DG_ENOMEM;
        goto out;
    }
    uint32_t n_in = 0;
    for (uint32_t f = 0; f < F; f++)
        n_in += in[f] = ca->in[f] & cb->in[f];
    uint32_t n_inf = dg__project_n_inferences(p);
    for (uint32_t i = 0; i < n_inf && st >= 0; i++) {
        const dg_boxset *b;
        if ((st = dg__project_inferences(ctx, p, i, &b)) < 0)
            break;
        dg_boxset nb;
        dg__boxset_init(&nb);
        if ((st = dg__boxset_reserve(ctx, &nb, DG_BOXES_DETS, b->n)) < 0)
            break;
        uint64_t s = mix(o->seed ^ 0xd0bULL ^ ((uint64_t)i << 40));
        for (uint32_t f = 0; f < F; f++)
            for (uint64_t q = b->frame_off[f]; q < b->frame_off[f + 1]; q++) {
                if (in[f] && unif(&s) < drop)
                    continue;
                dg__boxset_push(&nb, f, b->cls[q], b->x[q], b->y[q], b->w[q],
                                b->h[q], b->score[q], 0, 0, 0);
            }
        if ((st = dg__boxset_sort_by_frame(ctx, &nb, F)) >= 0)
            dg__project_take_inferences(p, i, &nb);
        dg__boxset_release(&nb);
    }
    free(in);
    if (st >= 0 && planted) {
        snprintf(planted->where[0], sizeof(planted->where[0]), "%s",
                 ca->where);
        snprintf(planted->where[1], sizeof(planted->where[1]), "%s",
                 cb->where);
        planted->n_frames = n_in;
    }
out:
    if (cand)
        for (uint32_t i = 0; i < n_cand; i++)
            free(cand[i].in);
    free(cand);
    for (int c = 0; c < N_CAT; c++)
        if (sv[c]) {
            for (uint32_t f = 0; f < F; f++)
                free(sv[c][f]);
            free(sv[c]);
        }
    for (int j = 0; j < N_NUM; j++)
        free(nv[j]);
    free(cv);
    return st;
}
