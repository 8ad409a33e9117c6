/*
 * The shape stages on the OpenCL device against their reference twins,
 * byte for byte: mask IoU tiles (kernels/shapes.cl mask_iou_tiles vs
 * dg__mask_iou_ref) and OKS tiles (oks_tiles vs dg__oks_ref), on many
 * seeds and on the adversarial inputs: empty and full masks, masks of
 * another size (-1), crowd regions, groups without pairs, one launch or
 * many; keypoints from 1 to DG_OKS_MAX_KP (both of numpy's summation
 * blocks), none visible, labels without keypoints, zero areas, points so
 * far that exp underflows. Exit 77 when no OpenCL device exists.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cl_internal.h"
#include "gen_cl.h"
#include "ref.h"

/* gen.h's generator (rng_state, rnd). */
static uint32_t rndn(uint32_t n)
{
    return rnd_below(n);
}

static double rndu(void)
{
    return rnd_unit();
}

/* ---- masks ------------------------------------------------------------------ */

typedef struct objs {
    uint64_t n;
    uint64_t *off;
    dg_runs r;
    uint32_t *h, *w, *bb;
} objs;

static void objs_make(objs *o, uint64_t n, uint32_t H, uint32_t W)
{
    memset(o, 0, sizeof(*o));
    o->n = n;
    o->off = calloc(n + 1, 8);
    o->h = calloc(n + 1, 4);
    o->w = calloc(n + 1, 4);
    o->bb = calloc(4 * n + 4, 4);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t h = H, w = W;
        if (rndn(17) == 0)
            h++; /* another size */
        uint64_t np = (uint64_t)h * w;
        uint8_t *px = calloc(np, 1);
        int kind = (int)rndn(6);
        if (kind == 1) {
            memset(px, 1, np);
        } else if (kind >= 2) {
            uint32_t x0 = rndn(w), y0 = rndn(h);
            uint32_t x1 = x0 + 1 + rndn(w - x0), y1 = y0 + 1 + rndn(h - y0);
            for (uint32_t x = x0; x < x1; x++)
                for (uint32_t y = y0; y < y1; y++)
                    px[(size_t)x * h + y] = kind == 5 ? rndu() < 0.5 : 1;
        }
        /* runs */
        uint8_t cur = 0;
        uint32_t len = 0;
        for (uint64_t p = 0; p < np; p++) {
            if (px[p] != cur) {
                dg__runs_reserve(&o->r, 1);
                o->r.v[o->r.n++] = len;
                cur = px[p];
                len = 0;
            }
            len++;
        }
        dg__runs_reserve(&o->r, 1);
        o->r.v[o->r.n++] = len;
        o->off[i + 1] = o->r.n;
        o->h[i] = h;
        o->w[i] = w;
        dg__rle_bbox(o->r.v + o->off[i], o->off[i + 1] - o->off[i], h, w,
                     o->bb + 4 * i);
        free(px);
    }
}

static void objs_free(objs *o)
{
    free(o->off);
    dg__runs_release(&o->r);
    free(o->h);
    free(o->w);
    free(o->bb);
}

/* Random groups over nd detections and ng labels (each object in a group
 * list at most once; some groups without labels or detections). */
typedef struct groups {
    dg_tile_pairs p;
    uint64_t *doff, *goff, *toff;
    uint32_t *dl, *gl;
} groups;

static void groups_make(groups *g, uint32_t n_groups, uint64_t nd,
                        uint64_t ng)
{
    g->doff = calloc(n_groups + 1, 8);
    g->goff = calloc(n_groups + 1, 8);
    g->toff = calloc(n_groups + 1, 8);
    g->dl = calloc(nd + 1, 4);
    g->gl = calloc(ng + 1, 4);
    uint64_t di = 0, gi = 0;
    for (uint32_t q = 0; q < n_groups; q++) {
        uint64_t a = q + 1 == n_groups ? nd - di : rndn((uint32_t)(2 * nd / n_groups + 1));
        uint64_t b = q + 1 == n_groups ? ng - gi : rndn((uint32_t)(2 * ng / n_groups + 1));
        if (di + a > nd)
            a = nd - di;
        if (gi + b > ng)
            b = ng - gi;
        di += a;
        gi += b;
        g->doff[q + 1] = di;
        g->goff[q + 1] = gi;
        g->toff[q + 1] = g->toff[q] + a * b;
    }
    /* Lists: a permutation of the objects. */
    for (uint64_t i = 0; i < nd; i++)
        g->dl[i] = (uint32_t)i;
    for (uint64_t i = 0; i < ng; i++)
        g->gl[i] = (uint32_t)i;
    for (uint64_t i = nd; i > 1; i--) {
        uint64_t j = rnd() % i;
        uint32_t t = g->dl[i - 1];
        g->dl[i - 1] = g->dl[j];
        g->dl[j] = t;
    }
    dg_tile_pairs p = {n_groups, g->doff, g->goff, g->toff, g->dl, g->gl};
    g->p = p;
}

static void groups_free(groups *g)
{
    free(g->doff);
    free(g->goff);
    free(g->toff);
    free(g->dl);
    free(g->gl);
}

static void mask_cases(dg_ctx *ctx)
{
    for (int it = 0; it < 60; it++) {
        uint32_t H = 1 + rndn(40), W = 1 + rndn(40);
        uint64_t nd = rndn(60), ng = rndn(30);
        objs D, G;
        objs_make(&D, nd, H, W);
        objs_make(&G, ng, H, W);
        uint8_t *crowd = calloc(ng + 1, 1);
        for (uint64_t i = 0; i < ng; i++)
            crowd[i] = rndn(4) == 0;
        groups g;
        groups_make(&g, 1 + rndn(8), nd, ng);
        dg_mask_iou_input in = {g.p, {D.off, D.r.v, D.h, D.w, D.bb},
                                {G.off, G.r.v, G.h, G.w, G.bb},
                                it % 5 ? crowd : NULL};
        uint64_t n = g.toff[g.p.n_groups];
        double *a = malloc((n + 1) * 8), *b = malloc((n + 1) * 8);
        memset(a, 0x55, (n + 1) * 8);
        memset(b, 0x77, (n + 1) * 8);
        /* Many launches now and then. */
        dg__cl_set_batch_bytes(ctx, it % 3 == 0 ? 8 * 7 : 0);
        CHECK_EQ_INT(dg__cl_mask_iou(ctx, &in, a), DG_OK);
        CHECK_EQ_INT(dg__mask_iou_ref(NULL, &in, b), DG_OK);
        CHECK(memcmp(a, b, n * 8) == 0);
        int neg = 0;
        for (uint64_t i = 0; i < n; i++)
            neg += b[i] == -1.0;
        (void)neg;
        free(a);
        free(b);
        free(crowd);
        groups_free(&g);
        objs_free(&D);
        objs_free(&G);
    }
    dg__cl_set_batch_bytes(ctx, 0);
}

/* ---- keypoints ------------------------------------------------------------------ */

static void oks_cases(dg_ctx *ctx)
{
    static const uint32_t ks[] = {1, 5, 17, 17, 17, 129, 200, DG_OKS_MAX_KP};
    for (int it = 0; it < 60; it++) {
        uint32_t k = ks[rndn(sizeof(ks) / sizeof(ks[0]))];
        uint64_t nd = rndn(40), ng = rndn(20);
        uint64_t *dko = calloc(nd + 1, 8), *gko = calloc(ng + 1, 8);
        double *dk = calloc(nd * 3 * k + 1, 8), *gk = calloc(ng * 3 * k + 1, 8);
        double *gbox = calloc(4 * ng + 4, 8), *garea = calloc(ng + 1, 8);
        uint64_t *gsig = calloc(ng + 1, 8);
        double *sig = calloc(3 * k + 1, 8);
        for (uint32_t i = 0; i < 3 * k; i++)
            sig[i] = 0.01 + rndu() * 0.2;
        for (uint64_t d = 0; d < nd; d++) {
            for (uint32_t i = 0; i < k; i++) {
                double far = rndn(10) == 0 ? 1e5 : 100;
                dk[(d * k + i) * 3] = rndu() * far;
                dk[(d * k + i) * 3 + 1] = rndu() * far;
                dk[(d * k + i) * 3 + 2] = 1;
            }
            dko[d + 1] = (d + 1) * 3 * k;
        }
        uint64_t at = 0;
        for (uint64_t g = 0; g < ng; g++) {
            int none = rndn(6) == 0; /* a label without keypoints */
            int vis = (int)rndn(3);  /* 0: none visible */
            for (uint32_t i = 0; !none && i < k; i++) {
                gk[at++] = rndu() * 100;
                gk[at++] = rndu() * 100;
                gk[at++] = vis == 0 ? 0 : rndn(3);
            }
            gko[g + 1] = at;
            gbox[4 * g] = rndu() * 60;
            gbox[4 * g + 1] = rndu() * 60;
            gbox[4 * g + 2] = rndu() * 40;
            gbox[4 * g + 3] = rndu() * 40;
            garea[g] = rndn(5) == 0 ? 0.0 : rndu() * 3000;
            gsig[g] = rndn(2 * k + 1);
        }
        groups g;
        groups_make(&g, 1 + rndn(6), nd, ng);
        dg_oks_input in = {g.p, dko, gko, dk, gk, gbox, garea, gsig, sig};
        uint64_t n = g.toff[g.p.n_groups];
        double *a = malloc((n + 1) * 8), *b = malloc((n + 1) * 8);
        memset(a, 0x55, (n + 1) * 8);
        memset(b, 0x77, (n + 1) * 8);
        dg__cl_set_batch_bytes(ctx, it % 4 == 0 ? 8 * 5 : 0);
        CHECK_EQ_INT(dg__cl_oks(ctx, &in, a), DG_OK);
        CHECK_EQ_INT(dg__oks_ref(NULL, &in, b), DG_OK);
        CHECK(memcmp(a, b, n * 8) == 0);
        if (memcmp(a, b, n * 8))
            for (uint64_t i = 0; i < n; i++)
                if (memcmp(a + i, b + i, 8)) {
                    fprintf(stderr, "k %u pair %llu: %.17g vs %.17g\n", k,
                            (unsigned long long)i, a[i], b[i]);
                    break;
                }
        free(a);
        free(b);
        groups_free(&g);
        free(dko);
        free(gko);
        free(dk);
        free(gk);
        free(gbox);
        free(garea);
        free(gsig);
        free(sig);
    }
    dg__cl_set_batch_bytes(ctx, 0);
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) != DG_OK)
        return 2;
    int rc = device_open(ctx, "shape device checks: ");
    if (rc == 0) {
        for (int s = 0; s < 3; s++) {
            rng_state = 1000 + (uint64_t)s;
            mask_cases(ctx);
            oks_cases(ctx);
        }
    }
    dg_ctx_free(ctx);
    if (check_done("test-cl-shapes"))
        return 1;
    return rc;
}
