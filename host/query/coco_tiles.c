/*
 * COCO step 3a (see coco.c): the IoUs of masks, boundaries or keypoints,
 * one tile per (image, category) group, that matching then reads instead
 * of box IoUs. The tiles come from the engine (mask IoU and OKS stages,
 * stages.h), on its device, or on the reference path in parallel chunks.
 *
 *   segm      pycocotools' rleIou of the masks (crowd regions: over the
 *             detection's pixels);
 *   boundary  faster-coco-eval's: the least of mask IoU and the IoU of the
 *             masks' boundaries (dg__rle_boundary), mask IoU alone for
 *             crowd regions;
 *   keypoints pycocotools' computeOks.
 *
 * A detection without a mask is scored by its box's polygon, as
 * pycocotools' loadRes gives one; a label without one is an error, as in
 * pycocotools.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coco_impl.h"

/* pycocotools' Params.kpt_oks_sigmas: these over 10, computed as numpy
 * does (np.array([...]) / 10.0). */
static const double coco_sigmas_x10[17] = {
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89};

/*
 * Masks laid out for the mask IoU stage, object k of a list: copies, or
 * (borrowed) the arrays of a project's shapes with boxes of their own.
 */
typedef struct mask_list {
    uint64_t n;
    uint64_t *off;
    dg_runs runs;
    uint32_t *h, *w, *bb;
    int borrowed; /* off, runs, h and w are the shapes' */
} mask_list;

static void mask_list_release(mask_list *l)
{
    if (!l->borrowed) {
        free(l->off);
        dg__runs_release(&l->runs);
        free(l->h);
        free(l->w);
    }
    free(l->bb);
    memset(l, 0, sizeof(*l));
}

static dg_status mask_list_init(dg_ctx *ctx, mask_list *l, uint64_t n);

/* The boxes of the masks a list names, on worker threads. */
typedef struct bb_job {
    const dg_shapes *sh;
    const uint32_t *list;
    uint64_t n;
    uint32_t *bb;
    atomic_uint next;
} bb_job;

static void bb_worker(void *arg, int tid)
{
    bb_job *j = arg;
    const dg_shapes *sh = j->sh;
    (void)tid;
    for (;;) {
        uint64_t lo = (uint64_t)atomic_fetch_add(&j->next, 1) * 4096;
        if (lo >= j->n)
            return;
        uint64_t hi = lo + 4096 < j->n ? lo + 4096 : j->n;
        for (uint64_t k = lo; k < hi; k++) {
            uint32_t i = j->list[k];
            dg__rle_bbox(sh->runs.v + sh->off[i], sh->off[i + 1] - sh->off[i],
                         sh->mh[i], sh->mw[i], j->bb + 4 * (size_t)i);
        }
    }
}

/*
 * The masks of sh as they are (entry k object k), when every entry that
 * list[0 .. n) names has one: no copy. 1 when done, 0 when one lacks a
 * mask, < 0 on failure.
 */
static int borrow_masks(coco_state *s, const dg_shapes *sh,
                        const uint32_t *list, uint64_t n, mask_list *l)
{
    memset(l, 0, sizeof(*l));
    if (!sh || !sh->off) {
        /* Nothing to match: an empty list will do. */
        if (n)
            return 0;
        dg_status st = mask_list_init(s->ctx, l, 0);
        return st < 0 ? st : 1;
    }
    for (uint64_t k = 0; k < n; k++)
        if (!dg__shapes_has_mask(sh, list[k]))
            return 0;
    l->n = sh->n;
    l->borrowed = 1;
    l->off = sh->off;
    l->runs = sh->runs;
    l->h = sh->mh;
    l->w = sh->mw;
    l->bb = dg__calloc(s->ctx, sh->n ? sh->n : 1, 4 * sizeof(*l->bb));
    if (!l->bb)
        return DG_ENOMEM;
    bb_job j;
    j.sh = sh;
    j.list = list;
    j.n = n;
    j.bb = l->bb;
    atomic_init(&j.next, 0);
    dg__coco_run_parallel(n > 4096 ? s->n_threads : 1, bb_worker, &j);
    return 1;
}

static dg_status mask_list_init(dg_ctx *ctx, mask_list *l, uint64_t n)
{
    memset(l, 0, sizeof(*l));
    l->n = n;
    l->off = dg__calloc(ctx, n + 1, sizeof(*l->off));
    l->h = dg__calloc(ctx, n ? n : 1, sizeof(*l->h));
    l->w = dg__calloc(ctx, n ? n : 1, sizeof(*l->w));
    l->bb = dg__calloc(ctx, n ? n : 1, 4 * sizeof(*l->bb));
    return l->off && l->h && l->w && l->bb ? DG_OK : DG_ENOMEM;
}

static void mask_list_end(mask_list *l, uint64_t k, uint32_t h, uint32_t w)
{
    l->off[k + 1] = l->runs.n;
    l->h[k] = h;
    l->w[k] = w;
    dg__rle_bbox(l->runs.v + l->off[k], l->off[k + 1] - l->off[k], h, w,
                 l->bb + 4 * k);
}

static dg_mask_objs mask_objs(const mask_list *l)
{
    dg_mask_objs o = {l->off, l->runs.v, l->h, l->w, l->bb};
    return o;
}

/* "label 12 (image '397133', category 'person')" for messages. */
static void who(const coco_state *s, const dg_boxset *b, uint64_t i,
                const char *what, char *buf, size_t cap)
{
    char *const *fid = dg__project_frame_ids(s->p);
    char *const *cn = dg__project_class_names(s->p);
    snprintf(buf, cap, "%s %llu (image '%s', category '%s')", what,
             (unsigned long long)i, fid ? fid[b->frame[i]] : "?",
             cn ? cn[b->cls[i]] : "?");
}

/* The masks of the labels matched: the labels' own (every label matched
 * must have one, as in pycocotools). */
static dg_status label_masks(coco_state *s, mask_list *l,
                             const uint32_t **list)
{
    const dg_shapes *sh = s->gsh;
    int b = borrow_masks(s, sh, s->g_src, s->g.n, l);
    if (b < 0)
        return b;
    *list = s->g_src;
    if (b)
        return DG_OK;
    uint64_t k = 0;
    while (k + 1 < s->g.n && sh && dg__shapes_has_mask(sh, s->g_src[k]))
        k++;
    char what[300];
    who(s, s->gt, s->g_src[k], "label", what, sizeof(what));
    return dg__fail(s->ctx, DG_EINVAL, "coco: --iou-type %s: %s has no "
                    "segmentation", dg_coco_iou_type_name(s->iou_type), what);
}

/*
 * The masks of the detections matched: the set's own when they all have
 * one (*list = s->w_src), else copies in the order of s->w (*list
 * identity), a detection without one its box's polygon at the image's
 * size.
 */
static dg_status detection_masks(coco_state *s, mask_list *l,
                                 const uint32_t **list, const uint32_t *iota)
{
    dg_ctx *ctx = s->ctx;
    const dg_shapes *sh = s->dsh;
    const dg_boxset *w = &s->w;
    uint64_t n = w->n;
    dg_status st;
    int b = borrow_masks(s, sh, s->w_src, n, l);
    if (b < 0)
        return b;
    if (b) {
        *list = s->w_src;
        return DG_OK;
    }
    *list = iota;
    if ((st = mask_list_init(ctx, l, n)) < 0)
        return st;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t d = s->w_src[k];
        if (sh && dg__shapes_has_mask(sh, d)) {
            uint64_t a = sh->off[d], e = sh->off[d + 1];
            if (dg__runs_reserve(&l->runs, e - a))
                return dg__fail(ctx, DG_ENOMEM, "out of memory copying "
                                "masks");
            if (e > a)
                memcpy(l->runs.v + l->runs.n, sh->runs.v + a, (e - a) * 4);
            l->runs.n += e - a;
            mask_list_end(l, k, sh->mh[d], sh->mw[d]);
            continue;
        }
        double iw, ih;
        dg__project_frame_size(s->p, w->frame[k], &iw, &ih);
        if (!(iw >= 1 && ih >= 1 && iw * ih < 2147483648.0)) {
            char b[300];
            who(s, w, k, "detection", b, sizeof(b));
            return dg__fail(ctx, DG_EINVAL, "coco: --iou-type %s: %s has no "
                            "segmentation, and its image no size to draw its "
                            "box at", dg_coco_iou_type_name(s->iou_type), b);
        }
        /* loadRes: [[x1, y1, x1, y2, x2, y2, x2, y1]]. */
        double x1 = w->x[k], y1 = w->y[k];
        double x2 = x1 + w->w[k], y2 = y1 + w->h[k];
        double xy[8] = {x1, y1, x1, y2, x2, y2, x2, y1};
        int bad = 0;
        for (int i = 0; i < 8; i++)
            bad |= !(fabs(xy[i]) <= DG_RLE_MAX_COORD);
        int rc = bad ? -2
                     : dg__rle_from_poly(xy, 4, (uint32_t)ih, (uint32_t)iw,
                                         &l->runs);
        if (rc == -2) {
            char b[300];
            who(s, w, k, "detection", b, sizeof(b));
            return dg__fail(ctx, DG_EINVAL, "coco: %s: its box is too far "
                            "out to draw as a mask", b);
        }
        if (rc < 0)
            return dg__fail(ctx, DG_ENOMEM, "out of memory drawing boxes");
        mask_list_end(l, k, (uint32_t)ih, (uint32_t)iw);
    }
    return DG_OK;
}

/* ---- boundaries, on worker threads --------------------------------------- */

typedef struct bnd_job {
    coco_state *s;
    const mask_list *in;
    const uint8_t *used; /* per object: its boundary is needed */
    dg_runs *part;      /* per block */
    uint64_t *len;      /* per object: its boundary's runs */
    uint64_t block;
    uint32_t n_blocks;
    double ratio;
    atomic_uint next;
} bnd_job;

static void bnd_worker(void *arg, int tid)
{
    bnd_job *j = arg;
    const mask_list *in = j->in;
    (void)tid;
    for (;;) {
        if (atomic_load(&j->s->failed))
            return;
        unsigned b = atomic_fetch_add(&j->next, 1);
        if (b >= j->n_blocks)
            return;
        uint64_t lo = b * j->block, hi = lo + j->block;
        if (hi > in->n)
            hi = in->n;
        for (uint64_t k = lo; k < hi; k++) {
            uint64_t before = j->part[b].n;
            if (!j->used[k]) {
                j->len[k] = 0;
                continue;
            }
            if (dg__rle_boundary(in->runs.v + in->off[k],
                                 in->off[k + 1] - in->off[k], in->h[k],
                                 in->w[k], j->ratio, &j->part[b])) {
                dg__coco_worker_fail(j->s, DG_ENOMEM,
                                     "out of memory finding boundaries");
                return;
            }
            j->len[k] = j->part[b].n - before;
        }
    }
}

/* The boundaries of the masks of in that list[0 .. n) names, as a list
 * of their own (the others empty). */
static dg_status boundaries(coco_state *s, const mask_list *in,
                            const uint32_t *list, uint64_t n, double ratio,
                            mask_list *out)
{
    dg_ctx *ctx = s->ctx;
    dg_status st;
    bnd_job j;
    memset(&j, 0, sizeof(j));
    uint8_t *used = dg__calloc(ctx, in->n ? in->n : 1, 1);
    if (!used)
        return DG_ENOMEM;
    for (uint64_t k = 0; k < n; k++)
        used[list[k]] = 1;
    j.used = used;
    j.s = s;
    j.in = in;
    j.ratio = ratio;
    j.block = 64;
    j.n_blocks = (uint32_t)((in->n + j.block - 1) / j.block);
    j.part = dg__calloc(ctx, j.n_blocks ? j.n_blocks : 1, sizeof(*j.part));
    j.len = dg__alloc(ctx, in->n ? in->n : 1, sizeof(*j.len));
    if (!j.part || !j.len) {
        st = DG_ENOMEM;
        goto out;
    }
    atomic_init(&j.next, 0);
    dg__coco_run_parallel(j.n_blocks > 1 ? s->n_threads : 1, bnd_worker, &j);
    if (s->st < 0) {
        st = dg__fail(ctx, s->st, "%s", s->err);
        goto out;
    }
    if ((st = mask_list_init(ctx, out, in->n)) < 0)
        goto out;
    uint64_t total = 0;
    for (uint32_t b = 0; b < j.n_blocks; b++)
        total += j.part[b].n;
    if (dg__runs_reserve(&out->runs, total)) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory finding boundaries");
        goto out;
    }
    for (uint32_t b = 0; b < j.n_blocks; b++) {
        uint64_t lo = b * j.block, hi = lo + j.block, at = 0;
        if (hi > in->n)
            hi = in->n;
        for (uint64_t k = lo; k < hi; k++) {
            if (j.len[k])
                memcpy(out->runs.v + out->runs.n, j.part[b].v + at,
                       j.len[k] * 4);
            out->runs.n += j.len[k];
            at += j.len[k];
            if (used[k])
                mask_list_end(out, k, in->h[k], in->w[k]);
            else
                out->off[k + 1] = out->runs.n, out->h[k] = out->w[k] = 0;
        }
    }
    st = DG_OK;
out:
    free(used);
    for (uint32_t b = 0; j.part && b < j.n_blocks; b++)
        dg__runs_release(&j.part[b]);
    free(j.part);
    free(j.len);
    return st;
}

/* ---- the stages, in chunks of groups -------------------------------------- */

typedef struct tile_job {
    coco_state *s;
    const dg_mask_iou_input *mi;
    const dg_oks_input *oi;
    double *out;
    uint32_t per;       /* groups a chunk */
    uint32_t n_chunks;
    atomic_uint next;
} tile_job;

static void tile_worker(void *arg, int tid)
{
    tile_job *j = arg;
    coco_state *s = j->s;
    dg_ctx *wctx = dg__ctx_worker();
    (void)tid;
    if (!wctx) {
        dg__coco_worker_fail(s, DG_ENOMEM, "out of memory");
        return;
    }
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned c = atomic_fetch_add(&j->next, 1);
        if (c >= j->n_chunks)
            break;
        uint32_t lo = c * j->per, n = j->per;
        const dg_tile_pairs *p = j->mi ? &j->mi->pairs : &j->oi->pairs;
        if (n > p->n_groups - lo)
            n = p->n_groups - lo;
        dg_tile_pairs sub = {n, p->doff + lo, p->goff + lo, p->tile_off + lo,
                             p->dl, p->gl};
        dg_status st;
        if (j->mi) {
            dg_mask_iou_input in = *j->mi;
            in.pairs = sub;
            st = dg__engine_mask_iou(s->engine, wctx, &in, j->out);
        } else {
            dg_oks_input in = *j->oi;
            in.pairs = sub;
            st = dg__engine_oks(s->engine, wctx, &in, j->out);
        }
        if (st < 0) {
            dg__coco_worker_fail(s, st, dg_ctx_last_error(wctx));
            break;
        }
    }
    dg_ctx_free(wctx);
}

/*
 * One stage over every group into out: one call on a device (it batches
 * by itself), else chunks of groups on the worker threads.
 */
static dg_status run_stage(coco_state *s, const dg_mask_iou_input *mi,
                           const dg_oks_input *oi, double *out)
{
    const dg_tile_pairs *p = mi ? &mi->pairs : &oi->pairs;
    if (dg__engine_on_device(s->engine))
        return mi ? dg__engine_mask_iou(s->engine, s->ctx, mi, out)
                  : dg__engine_oks(s->engine, s->ctx, oi, out);
    tile_job j;
    memset(&j, 0, sizeof(j));
    j.s = s;
    j.mi = mi;
    j.oi = oi;
    j.out = out;
    j.per = 64;
    j.n_chunks = (p->n_groups + j.per - 1) / j.per;
    atomic_init(&j.next, 0);
    atomic_store(&s->failed, 0);
    dg__coco_run_parallel(j.n_chunks > 1 ? s->n_threads : 1, tile_worker, &j);
    if (s->st < 0)
        return dg__fail(s->ctx, s->st, "%s", s->err);
    return DG_OK;
}

/* Pairs: every detection of a group with every label of it; dl and gl
 * the identity on the lists of s->w and s->g. */
static dg_status pairs_init(coco_state *s, dg_tile_pairs *p, uint32_t **dl,
                            uint32_t **gl)
{
    dg_ctx *ctx = s->ctx;
    uint64_t nw = s->w.n, ng = s->g.n;
    s->tile_off = dg__alloc(ctx, (size_t)s->n_pf + 1, sizeof(uint64_t));
    *dl = dg__alloc(ctx, nw ? nw : 1, sizeof(uint32_t));
    *gl = dg__alloc(ctx, ng ? ng : 1, sizeof(uint32_t));
    if (!s->tile_off || !*dl || !*gl)
        return DG_ENOMEM;
    s->tile_off[0] = 0;
    for (uint32_t q = 0; q < s->n_pf; q++)
        s->tile_off[q + 1] = s->tile_off[q] +
                             (s->pf_doff[q + 1] - s->pf_doff[q]) *
                                 (s->pf_goff[q + 1] - s->pf_goff[q]);
    for (uint64_t i = 0; i < nw; i++)
        (*dl)[i] = (uint32_t)i;
    for (uint64_t i = 0; i < ng; i++)
        (*gl)[i] = (uint32_t)i;
    uint64_t total = s->tile_off[s->n_pf];
    s->tile = dg__alloc(ctx, total ? total : 1, sizeof(double));
    if (!s->tile)
        return DG_ENOMEM;
    dg_tile_pairs pp = {s->n_pf, s->pf_doff, s->pf_goff, s->tile_off, *dl,
                        *gl};
    *p = pp;
    return DG_OK;
}

static dg_status mask_tiles(coco_state *s, const dg_tile_pairs *pairs,
                            double ratio)
{
    dg_ctx *ctx = s->ctx;
    mask_list dm, gm, db, gb;
    double *bt = NULL;
    dg_status st;
    const uint32_t *dl, *gl;
    memset(&dm, 0, sizeof(dm));
    memset(&gm, 0, sizeof(gm));
    memset(&db, 0, sizeof(db));
    memset(&gb, 0, sizeof(gb));
    if ((st = label_masks(s, &gm, &gl)) < 0 ||
        (st = detection_masks(s, &dm, &dl, pairs->dl)) < 0)
        goto out;
    dg_tile_pairs p = *pairs;
    p.dl = dl;
    p.gl = gl;
    /* Crowd flags by label object: the labels' own. */
    const uint8_t *crowd = s->gt->iscrowd;
    dg_mask_iou_input in = {p, mask_objs(&dm), mask_objs(&gm), crowd};
    if ((st = run_stage(s, &in, NULL, s->tile)) < 0)
        goto out;
    if (s->iou_type != DG_COCO_BOUNDARY)
        goto out;
    /* Boundary IoU where the label is not a crowd region, and the least
     * of the two. */
    if ((st = boundaries(s, &gm, gl, s->g.n, ratio, &gb)) < 0 ||
        (st = boundaries(s, &dm, dl, s->w.n, ratio, &db)) < 0)
        goto out;
    uint64_t total = s->tile_off[s->n_pf];
    if (!(bt = dg__alloc(ctx, total ? total : 1, sizeof(double)))) {
        st = DG_ENOMEM;
        goto out;
    }
    dg_mask_iou_input bin = {p, mask_objs(&db), mask_objs(&gb), crowd};
    if ((st = run_stage(s, &bin, NULL, bt)) < 0)
        goto out;
    for (uint32_t q = 0; q < s->n_pf; q++) {
        uint64_t nd = s->pf_doff[q + 1] - s->pf_doff[q];
        uint64_t ng = s->pf_goff[q + 1] - s->pf_goff[q];
        const uint8_t *cr = s->g.iscrowd + s->pf_goff[q];
        double *t = s->tile + s->tile_off[q];
        const double *b = bt + s->tile_off[q];
        for (uint64_t i = 0; i < nd; i++)
            for (uint64_t k = 0; k < ng; k++)
                if (!cr[k])
                    t[i * ng + k] = fmin(t[i * ng + k], b[i * ng + k]);
    }
out:
    free(bt);
    mask_list_release(&dm);
    mask_list_release(&gm);
    mask_list_release(&db);
    mask_list_release(&gb);
    return st;
}

static dg_status oks_tiles(coco_state *s, const dg_tile_pairs *pairs,
                           const dg_coco_opts *opts)
{
    dg_ctx *ctx = s->ctx;
    const dg_shapes *gs = s->gsh, *ds = s->dsh;
    double sig_def[17];
    uint64_t G = s->g.n;
    uint32_t C = dg__project_n_classes(s->p);
    dg_status st = DG_OK;
    /* Each class's sigmas, one after another in sig; the default: the
     * options' for every class, else COCO's 17. */
    const double *all = opts ? opts->kpt_sigmas : NULL;
    int n_all = opts ? opts->n_kpt_sigmas : 0;
    if (!all) {
        for (int i = 0; i < 17; i++)
            sig_def[i] = coco_sigmas_x10[i] / 10.0;
        all = sig_def;
        n_all = 17;
    }
    uint64_t *coff = dg__alloc(ctx, (size_t)C + 1, sizeof(*coff));
    double *sig = NULL;
    if (!coff)
        return DG_ENOMEM;
    coff[0] = 0;
    for (uint32_t c = 0; c < C; c++) {
        int own = opts && opts->class_sigmas && opts->class_sigmas[c];
        coff[c + 1] = coff[c] + (uint64_t)(own ? opts->n_class_sigmas[c]
                                               : n_all);
    }
    if (!(sig = dg__alloc(ctx, coff[C] ? coff[C] : 1, sizeof(*sig)))) {
        free(coff);
        return DG_ENOMEM;
    }
    for (uint32_t c = 0; c < C; c++) {
        int own = opts && opts->class_sigmas && opts->class_sigmas[c];
        memcpy(sig + coff[c], own ? opts->class_sigmas[c] : all,
               (coff[c + 1] - coff[c]) * sizeof(*sig));
    }
#define N_SIG(c) (coff[(c) + 1] - coff[c])
    /* Every detection matched has as many keypoints as its class has
     * sigmas; every label as many or none (its box then stands in, as in
     * computeOks). */
    for (uint64_t k = 0; k < s->w.n; k++) {
        uint32_t d = s->w_src[k];
        uint64_t nk = ds && ds->kp_off ? (ds->kp_off[d + 1] - ds->kp_off[d]) / 3
                                        : 0;
        if (nk != N_SIG(s->w.cls[k])) {
            char b[300];
            who(s, &s->w, k, "detection", b, sizeof(b));
            st = dg__fail(ctx, DG_EINVAL, "coco: --iou-type keypoints: %s "
                          "has %llu keypoints, the sigmas are for %llu", b,
                          (unsigned long long)nk,
                          (unsigned long long)N_SIG(s->w.cls[k]));
            free(coff);
            free(sig);
            return st;
        }
    }
    uint64_t *gkp_off = dg__alloc(ctx, G + 1, sizeof(*gkp_off));
    double *gbox = dg__alloc(ctx, G ? G : 1, 4 * sizeof(double));
    uint64_t *gsig = dg__calloc(ctx, G ? G : 1, sizeof(*gsig));
    double *gkp = NULL;
    if (!gkp_off || !gbox || !gsig) {
        st = DG_ENOMEM;
        goto out;
    }
    /* The labels' keypoints in the order of s->g. */
    gkp_off[0] = 0;
    for (uint64_t k = 0; k < G; k++) {
        uint32_t j = s->g_src[k];
        uint64_t nk = gs && gs->kp_off ? gs->kp_off[j + 1] - gs->kp_off[j] : 0;
        if (nk && nk != 3 * N_SIG(s->g.cls[k])) {
            char b[300];
            who(s, s->gt, j, "label", b, sizeof(b));
            st = dg__fail(ctx, DG_EINVAL, "coco: --iou-type keypoints: %s has "
                          "%llu keypoints, the sigmas are for %llu", b,
                          (unsigned long long)(nk / 3),
                          (unsigned long long)N_SIG(s->g.cls[k]));
            goto out;
        }
        gsig[k] = coff[s->g.cls[k]];
        gkp_off[k + 1] = gkp_off[k] + nk;
        gbox[4 * k] = s->g.x[k];
        gbox[4 * k + 1] = s->g.y[k];
        gbox[4 * k + 2] = s->g.w[k];
        gbox[4 * k + 3] = s->g.h[k];
    }
    if (!(gkp = dg__alloc(ctx, gkp_off[G] ? gkp_off[G] : 1, sizeof(double)))) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t k = 0; k < G; k++) {
        uint32_t j = s->g_src[k];
        if (gkp_off[k + 1] > gkp_off[k])
            memcpy(gkp + gkp_off[k], gs->kp + gs->kp_off[j],
                   (gkp_off[k + 1] - gkp_off[k]) * sizeof(double));
    }
    /* Detections: the set's own arrays, through w_src (a set without
     * keypoints has no detection matched: checked above). */
    dg_tile_pairs p = *pairs;
    p.dl = s->w_src;
    dg_oks_input in = {p, ds ? ds->kp_off : NULL, gkp_off,
                       ds ? ds->kp : NULL, gkp, gbox, s->g.area, gsig, sig};
    st = run_stage(s, NULL, &in, s->tile);
#undef N_SIG
out:
    free(gkp_off);
    free(gbox);
    free(gsig);
    free(gkp);
    free(coff);
    free(sig);
    return st;
}

dg_status dg__coco_tiles(coco_state *s, const dg_coco_opts *opts)
{
    if (s->iou_type == DG_COCO_BBOX)
        return DG_OK;
    dg_tile_pairs pairs;
    uint32_t *dl = NULL, *gl = NULL;
    dg_status st = pairs_init(s, &pairs, &dl, &gl);
    if (st >= 0) {
        if (s->iou_type == DG_COCO_KEYPOINTS)
            st = oks_tiles(s, &pairs, opts);
        else
            st = mask_tiles(s, &pairs,
                            opts && opts->dilation_ratio > 0
                                ? opts->dilation_ratio
                                : DG_COCO_DILATION_RATIO);
    }
    free(dl);
    free(gl);
    return st;
}
