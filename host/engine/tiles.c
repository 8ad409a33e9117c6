/*
 * eval's IoU tiles of masks, boundaries and keypoints (dg_eval_opts), one
 * chunk of frames at a time, so that memory follows the chunk and not the
 * set: for each frame every detection against every label of it (every
 * class: the class-agnostic matching reads them too), row-major, as
 * dg_match_input.iou_tile takes them. The values are the engine's mask
 * IoU and OKS stages' (stages.h), on the device or on the reference path
 * on every core, the same bytes either way; boundaries (the masks less
 * their erosion) are found on the CPU.
 *
 *   segm      pycocotools' rleIou (crowd labels: over the detection's
 *             pixels); a detection without a mask is its box's polygon at
 *             the image's size, as pycocotools' loadRes draws it;
 *   boundary  faster-coco-eval's: the least of mask IoU and boundary IoU,
 *             mask IoU alone for crowd labels;
 *   keypoints pycocotools' computeOks with the sigmas of the label's
 *             class; a detection and a label whose classes have different
 *             numbers of keypoints score 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"

/* pycocotools' Params.kpt_oks_sigmas: these over 10, computed as numpy
 * does (np.array([...]) / 10.0). */
static const double coco_sigmas_x10[17] = {
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89};

dg_status dg__kpt_sigmas(dg_ctx *ctx, uint32_t n_classes, const double *all,
                         int n_all, const double *const *class_sigmas,
                         const int *n_class_sigmas, uint64_t **off_out,
                         double **sig_out)
{
    double def[17];
    uint32_t C = n_classes;
    if (!all) {
        for (int i = 0; i < 17; i++)
            def[i] = coco_sigmas_x10[i] / 10.0;
        all = def;
        n_all = 17;
    }
    uint64_t *off = dg__alloc(ctx, (size_t)C + 1, sizeof(*off));
    if (!off)
        return DG_ENOMEM;
    off[0] = 0;
    for (uint32_t c = 0; c < C; c++) {
        int own = class_sigmas && class_sigmas[c];
        off[c + 1] = off[c] + (uint64_t)(own ? n_class_sigmas[c] : n_all);
    }
    double *sig = dg__alloc(ctx, off[C] ? off[C] : 1, sizeof(*sig));
    if (!sig) {
        free(off);
        return DG_ENOMEM;
    }
    for (uint32_t c = 0; c < C; c++) {
        int own = class_sigmas && class_sigmas[c];
        memcpy(sig + off[c], own ? class_sigmas[c] : all,
               (off[c + 1] - off[c]) * sizeof(*sig));
    }
    *off_out = off;
    *sig_out = sig;
    return DG_OK;
}

/* ---- masks of a chunk ------------------------------------------------------ */

typedef struct mlist {
    uint64_t n;
    uint64_t *off;
    dg_runs runs;
    uint32_t *h, *w, *bb;
} mlist;

static void mlist_release(mlist *l)
{
    free(l->off);
    dg__runs_release(&l->runs);
    free(l->h);
    free(l->w);
    free(l->bb);
    memset(l, 0, sizeof(*l));
}

static dg_status mlist_init(dg_ctx *ctx, mlist *l, uint64_t n)
{
    memset(l, 0, sizeof(*l));
    l->n = n;
    l->off = dg__calloc(ctx, n + 1, sizeof(*l->off));
    l->h = dg__calloc(ctx, n ? n : 1, sizeof(*l->h));
    l->w = dg__calloc(ctx, n ? n : 1, sizeof(*l->w));
    l->bb = dg__calloc(ctx, n ? n : 1, 4 * sizeof(*l->bb));
    return l->off && l->h && l->w && l->bb ? DG_OK : DG_ENOMEM;
}

static void mlist_end(mlist *l, uint64_t k, uint32_t h, uint32_t w)
{
    l->off[k + 1] = l->runs.n;
    l->h[k] = h;
    l->w[k] = w;
    dg__rle_bbox(l->runs.v + l->off[k], l->off[k + 1] - l->off[k], h, w,
                 l->bb + 4 * k);
}

/* "label 12 (frame '397133', class 'person')" for messages. */
static void who(const dg_shape_chunk *c, const dg_boxset *b, uint64_t k,
                char *buf, size_t cap)
{
    char *const *fid = dg__project_frame_ids(c->p);
    char *const *cn = dg__project_class_names(c->p);
    int lab = b == c->gt;
    snprintf(buf, cap, "%s %llu (frame '%s', class '%s')",
             lab ? "label" : "detection",
             (unsigned long long)(k + (lab ? c->gbase : c->dbase)),
             fid ? fid[b->frame[k]] : "?", cn ? cn[b->cls[k]] : "?");
}

static const char *type_name(int t)
{
    return t == DG_COCO_KEYPOINTS ? "keypoints"
           : t == DG_COCO_BOUNDARY ? "boundary"
                                   : "segm";
}

/* The masks of the chunk's labels (each must have one) or detections
 * (one without is its box's polygon at its image's size). */
static dg_status chunk_masks(dg_ctx *ctx, const dg_shape_chunk *c,
                             const dg_boxset *b, const dg_shapes *sh,
                             uint64_t base, mlist *l)
{
    dg_status st = mlist_init(ctx, l, b->n);
    char what[300];
    if (st < 0)
        return st;
    for (uint64_t k = 0; k < b->n; k++) {
        uint64_t i = base + k;
        if (sh && dg__shapes_has_mask(sh, i)) {
            uint64_t a = sh->off[i], e = sh->off[i + 1];
            if (dg__runs_reserve(&l->runs, e - a))
                return dg__fail(ctx, DG_ENOMEM, "out of memory copying "
                                "masks");
            if (e > a)
                memcpy(l->runs.v + l->runs.n, sh->runs.v + a, (e - a) * 4);
            l->runs.n += e - a;
            mlist_end(l, k, sh->mh[i], sh->mw[i]);
            continue;
        }
        if (b == c->gt) {
            who(c, b, k, what, sizeof(what));
            return dg__fail(ctx, DG_EINVAL, "eval --iou-type %s: %s has no "
                            "segmentation", type_name(c->iou_type), what);
        }
        double iw, ih;
        dg__project_frame_size(c->p, b->frame[k], &iw, &ih);
        if (!(iw >= 1 && ih >= 1 && iw * ih < 2147483648.0)) {
            who(c, b, k, what, sizeof(what));
            return dg__fail(ctx, DG_EINVAL, "eval --iou-type %s: %s has no "
                            "segmentation, and its frame no size to draw "
                            "its box at", type_name(c->iou_type), what);
        }
        /* loadRes: the box's polygon. */
        int rc = dg__rle_from_box(b->x[k], b->y[k], b->w[k], b->h[k],
                                  (uint32_t)ih, (uint32_t)iw, &l->runs);
        if (rc == -2) {
            who(c, b, k, what, sizeof(what));
            return dg__fail(ctx, DG_EINVAL, "eval: %s: its box is too far "
                            "out to draw as a mask", what);
        }
        if (rc < 0)
            return dg__fail(ctx, DG_ENOMEM, "out of memory drawing boxes");
        mlist_end(l, k, (uint32_t)ih, (uint32_t)iw);
    }
    return DG_OK;
}

/* ---- boundaries, in blocks on every core ------------------------------------ */

#define BND_BLOCK 64

typedef struct bnd_job {
    const mlist *in;
    double ratio;
    dg_runs *part; /* per block */
    uint64_t *len; /* per object */
    atomic_int failed;
} bnd_job;

static void bnd_task(void *arg, uint64_t b, unsigned worker)
{
    bnd_job *j = arg;
    const mlist *in = j->in;
    (void)worker;
    uint64_t lo = b * BND_BLOCK, hi = lo + BND_BLOCK < in->n ? lo + BND_BLOCK
                                                             : in->n;
    for (uint64_t k = lo; k < hi && !atomic_load(&j->failed); k++) {
        uint64_t before = j->part[b].n;
        if (dg__rle_boundary(in->runs.v + in->off[k],
                             in->off[k + 1] - in->off[k], in->h[k], in->w[k],
                             j->ratio, &j->part[b]))
            atomic_store(&j->failed, 1);
        j->len[k] = j->part[b].n - before;
    }
}

static dg_status boundaries(dg_ctx *ctx, const mlist *in, double ratio,
                            mlist *out)
{
    dg_status st;
    uint64_t nb = (in->n + BND_BLOCK - 1) / BND_BLOCK;
    bnd_job j;
    memset(&j, 0, sizeof(j));
    j.in = in;
    j.ratio = ratio;
    atomic_init(&j.failed, 0);
    j.part = dg__calloc(ctx, nb ? nb : 1, sizeof(*j.part));
    j.len = dg__calloc(ctx, in->n ? in->n : 1, sizeof(*j.len));
    if (!j.part || !j.len) {
        st = DG_ENOMEM;
        goto out;
    }
    dg__parallel(ctx, nb, 0, bnd_task, &j);
    if (atomic_load(&j.failed) || (st = mlist_init(ctx, out, in->n)) < 0) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory finding boundaries");
        goto out;
    }
    for (uint64_t b = 0; b < nb; b++) {
        if (dg__runs_reserve(&out->runs, j.part[b].n)) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory finding boundaries");
            goto out;
        }
        uint64_t at = 0;
        for (uint64_t k = b * BND_BLOCK; k < in->n && k < (b + 1) * BND_BLOCK;
             k++) {
            if (j.len[k])
                memcpy(out->runs.v + out->runs.n, j.part[b].v + at,
                       j.len[k] * 4);
            out->runs.n += j.len[k];
            at += j.len[k];
            mlist_end(out, k, in->h[k], in->w[k]);
        }
    }
    st = DG_OK;
out:
    for (uint64_t b = 0; j.part && b < nb; b++)
        dg__runs_release(&j.part[b]);
    free(j.part);
    free(j.len);
    return st;
}

/* ---- the stages, in groups of frames on every core ------------------------- */

#define FRAMES_A_TASK 32

typedef struct stage_job {
    dg_engine *eng;
    const dg_mask_iou_input *mi;
    const dg_oks_input *oi;
    double *out;
    atomic_int st;
    char err[DG_ERR_CAP];
    atomic_flag err_taken;
} stage_job;

static void stage_task(void *arg, uint64_t k, unsigned worker)
{
    stage_job *j = arg;
    const dg_tile_pairs *p = j->mi ? &j->mi->pairs : &j->oi->pairs;
    uint32_t lo = (uint32_t)k * FRAMES_A_TASK, n = FRAMES_A_TASK;
    dg_ctx *w = dg__ctx_worker();
    dg_status st;
    (void)worker;
    if (n > p->n_groups - lo)
        n = p->n_groups - lo;
    if (!w) {
        atomic_store(&j->st, DG_ENOMEM);
        return;
    }
    dg_tile_pairs sub = {n, p->doff + lo, p->goff + lo, p->tile_off + lo,
                         p->dl, p->gl};
    if (j->mi) {
        dg_mask_iou_input in = *j->mi;
        in.pairs = sub;
        st = dg__engine_mask_iou(j->eng, w, &in, j->out);
    } else {
        dg_oks_input in = *j->oi;
        in.pairs = sub;
        st = dg__engine_oks(j->eng, w, &in, j->out);
    }
    if (st < 0 && !atomic_flag_test_and_set(&j->err_taken)) {
        snprintf(j->err, sizeof(j->err), "%s", dg_ctx_last_error(w));
        atomic_store(&j->st, st);
    }
    dg_ctx_free(w);
}

/* One stage over every group: one call on a device (it batches by
 * itself), else tasks of frames on every core. */
static dg_status run_stage(dg_engine *e, dg_ctx *ctx,
                           const dg_mask_iou_input *mi,
                           const dg_oks_input *oi, double *out)
{
    const dg_tile_pairs *p = mi ? &mi->pairs : &oi->pairs;
    if (dg__engine_on_device(e))
        return mi ? dg__engine_mask_iou(e, ctx, mi, out)
                  : dg__engine_oks(e, ctx, oi, out);
    stage_job j;
    memset(&j, 0, sizeof(j));
    j.eng = e;
    j.mi = mi;
    j.oi = oi;
    j.out = out;
    atomic_init(&j.st, DG_OK);
    atomic_flag_clear(&j.err_taken);
    uint64_t nt = (p->n_groups + FRAMES_A_TASK - 1) / FRAMES_A_TASK;
    dg__parallel(ctx, nt, 0, stage_task, &j);
    dg_status st = atomic_load(&j.st);
    return st < 0 ? dg__fail(ctx, st, "%s", j.err[0] ? j.err : "out of memory")
                  : DG_OK;
}

static dg_status mask_tiles(dg_engine *e, dg_ctx *ctx, const dg_shape_chunk *c,
                            const dg_tile_pairs *pairs, double *tile)
{
    mlist dm, gm, db, gb;
    double *bt = NULL;
    dg_status st;
    memset(&dm, 0, sizeof(dm));
    memset(&gm, 0, sizeof(gm));
    memset(&db, 0, sizeof(db));
    memset(&gb, 0, sizeof(gb));
    if ((st = chunk_masks(ctx, c, c->gt, c->gsh, c->gbase, &gm)) < 0 ||
        (st = chunk_masks(ctx, c, c->dt, c->dsh, c->dbase, &dm)) < 0)
        goto out;
    dg_mask_objs dmo = {dm.off, dm.runs.v, dm.h, dm.w, dm.bb};
    dg_mask_objs gmo = {gm.off, gm.runs.v, gm.h, gm.w, gm.bb};
    dg_mask_iou_input in = {*pairs, dmo, gmo, c->gt->iscrowd};
    if ((st = run_stage(e, ctx, &in, NULL, tile)) < 0 ||
        c->iou_type != DG_COCO_BOUNDARY)
        goto out;
    uint64_t total = pairs->tile_off[pairs->n_groups];
    if ((st = boundaries(ctx, &gm, c->ratio, &gb)) < 0 ||
        (st = boundaries(ctx, &dm, c->ratio, &db)) < 0)
        goto out;
    if (!(bt = dg__alloc(ctx, total ? total : 1, sizeof(double)))) {
        st = DG_ENOMEM;
        goto out;
    }
    dg_mask_objs dbo = {db.off, db.runs.v, db.h, db.w, db.bb};
    dg_mask_objs gbo = {gb.off, gb.runs.v, gb.h, gb.w, gb.bb};
    dg_mask_iou_input bin = {*pairs, dbo, gbo, c->gt->iscrowd};
    if ((st = run_stage(e, ctx, &bin, NULL, bt)) < 0)
        goto out;
    for (uint32_t f = 0; f < c->n_frames; f++) {
        uint64_t g0 = c->gt->frame_off[f];
        uint64_t nd = c->dt->frame_off[f + 1] - c->dt->frame_off[f];
        uint64_t ng = c->gt->frame_off[f + 1] - g0;
        double *t = tile + pairs->tile_off[f];
        const double *b = bt + pairs->tile_off[f];
        for (uint64_t i = 0; i < nd; i++)
            for (uint64_t k = 0; k < ng; k++)
                if (!c->gt->iscrowd[g0 + k])
                    t[i * ng + k] = fmin(t[i * ng + k], b[i * ng + k]);
    }
out:
    free(bt);
    mlist_release(&dm);
    mlist_release(&gm);
    mlist_release(&db);
    mlist_release(&gb);
    return st;
}

/* ---- keypoints --------------------------------------------------------------- */

/* Keypoint values of the chunk's objects, copied: *off (n + 1), *kp. */
static dg_status chunk_kp(dg_ctx *ctx, const dg_shape_chunk *c,
                          const dg_boxset *b, const dg_shapes *sh,
                          uint64_t base, uint64_t **off, double **kp)
{
    char what[300];
    *off = dg__alloc(ctx, b->n + 1, sizeof(**off));
    if (!*off)
        return DG_ENOMEM;
    (*off)[0] = 0;
    for (uint64_t k = 0; k < b->n; k++) {
        uint64_t i = base + k;
        uint64_t nk = sh && sh->kp_off ? sh->kp_off[i + 1] - sh->kp_off[i] : 0;
        uint64_t want = 3 * (c->sig_off[b->cls[k] + 1] - c->sig_off[b->cls[k]]);
        if (nk != want && (b == c->dt || nk)) {
            who(c, b, k, what, sizeof(what));
            return dg__fail(ctx, DG_EINVAL, "eval --iou-type keypoints: %s "
                            "has %llu keypoints, the sigmas of its class are "
                            "for %llu", what, (unsigned long long)(nk / 3),
                            (unsigned long long)(want / 3));
        }
        (*off)[k + 1] = (*off)[k] + nk;
    }
    uint64_t n = (*off)[b->n];
    if (!(*kp = dg__alloc(ctx, n ? n : 1, sizeof(double))))
        return DG_ENOMEM;
    for (uint64_t k = 0; k < b->n; k++)
        if ((*off)[k + 1] > (*off)[k])
            memcpy(*kp + (*off)[k], sh->kp + sh->kp_off[base + k],
                   ((*off)[k + 1] - (*off)[k]) * sizeof(double));
    return DG_OK;
}

/*
 * Pairs of one frame of the same number of keypoints: with classes of
 * different counts a frame becomes a group per count (dl, gl lists) whose
 * values are then put in place, the other pairs 0.
 */
static dg_status oks_tiles(dg_engine *e, dg_ctx *ctx, const dg_shape_chunk *c,
                           const dg_tile_pairs *pairs, double *tile)
{
    const dg_boxset *gt = c->gt, *dt = c->dt;
    uint64_t *dko = NULL, *gko = NULL, *gsig = NULL;
    uint64_t *doff = NULL, *goff = NULL, *toff = NULL;
    uint32_t *dl = NULL, *gl = NULL;
    double *dkp = NULL, *gkp = NULL, *gbox = NULL, *garea = NULL, *tmp = NULL;
    dg_status st;
    if ((st = chunk_kp(ctx, c, dt, c->dsh, c->dbase, &dko, &dkp)) < 0 ||
        (st = chunk_kp(ctx, c, gt, c->gsh, c->gbase, &gko, &gkp)) < 0)
        goto out;
    gbox = dg__alloc(ctx, gt->n ? gt->n : 1, 4 * sizeof(double));
    garea = dg__alloc(ctx, gt->n ? gt->n : 1, sizeof(double));
    gsig = dg__alloc(ctx, gt->n ? gt->n : 1, sizeof(uint64_t));
    if (!gbox || !garea || !gsig) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t k = 0; k < gt->n; k++) {
        gbox[4 * k] = gt->x[k];
        gbox[4 * k + 1] = gt->y[k];
        gbox[4 * k + 2] = gt->w[k];
        gbox[4 * k + 3] = gt->h[k];
        garea[k] = gt->area ? gt->area[k] : gt->w[k] * gt->h[k];
        gsig[k] = c->sig_off[gt->cls[k]];
    }
    /* One count of keypoints for every class: the frames are the groups. */
    uint32_t C = dg__project_n_classes(c->p);
    int one = 1;
    for (uint32_t k = 1; k < C; k++)
        one &= c->sig_off[k + 1] - c->sig_off[k] == c->sig_off[1] - c->sig_off[0];
    dg_oks_input in = {*pairs, dko, gko, dkp, gkp, gbox, garea, gsig, c->sig};
    if (one) {
        st = run_stage(e, ctx, NULL, &in, tile);
        goto out;
    }
    /* Else a group per (frame, count). */
    uint64_t ng_max = 2 * (uint64_t)c->n_frames + dt->n + gt->n + 1;
    doff = dg__alloc(ctx, ng_max, sizeof(*doff));
    goff = dg__alloc(ctx, ng_max, sizeof(*goff));
    toff = dg__alloc(ctx, ng_max, sizeof(*toff));
    dl = dg__alloc(ctx, dt->n ? dt->n : 1, sizeof(*dl));
    gl = dg__alloc(ctx, gt->n ? gt->n : 1, sizeof(*gl));
    if (!doff || !goff || !toff || !dl || !gl) {
        st = DG_ENOMEM;
        goto out;
    }
#define NSIG(cls) (c->sig_off[(cls) + 1] - c->sig_off[cls])
    uint32_t q = 0;
    uint64_t nd_at = 0, ng_at = 0;
    doff[0] = goff[0] = toff[0] = 0;
    for (uint32_t f = 0; f < c->n_frames; f++) {
        uint64_t d0 = dt->frame_off[f], d1 = dt->frame_off[f + 1];
        uint64_t g0 = gt->frame_off[f], g1 = gt->frame_off[f + 1];
        for (uint64_t i = d0; i < d1; i++) {
            /* A count is grouped at the first detection that has it. */
            uint64_t v = NSIG(dt->cls[i]), first = i;
            for (uint64_t k = d0; k < i && first == i; k++)
                if (NSIG(dt->cls[k]) == v)
                    first = k;
            if (first != i)
                continue;
            for (uint64_t k = i; k < d1; k++)
                if (NSIG(dt->cls[k]) == v)
                    dl[nd_at++] = (uint32_t)k;
            for (uint64_t k = g0; k < g1; k++)
                if (NSIG(gt->cls[k]) == v)
                    gl[ng_at++] = (uint32_t)k;
            doff[q + 1] = nd_at;
            goff[q + 1] = ng_at;
            toff[q + 1] = toff[q] + (doff[q + 1] - doff[q]) *
                                        (goff[q + 1] - goff[q]);
            q++;
        }
    }
#undef NSIG
    if (!(tmp = dg__alloc(ctx, toff[q] ? toff[q] : 1, sizeof(double)))) {
        st = DG_ENOMEM;
        goto out;
    }
    in.pairs.n_groups = q;
    in.pairs.doff = doff;
    in.pairs.goff = goff;
    in.pairs.tile_off = toff;
    in.pairs.dl = dl;
    in.pairs.gl = gl;
    if ((st = run_stage(e, ctx, NULL, &in, tmp)) < 0)
        goto out;
    memset(tile, 0, pairs->tile_off[c->n_frames] * sizeof(double));
    uint32_t f = 0;
    for (uint32_t g = 0; g < q; g++) {
        if (doff[g + 1] == doff[g])
            continue;
        while (dt->frame_off[f + 1] <= dl[doff[g]])
            f++;
        uint64_t d0 = dt->frame_off[f], g0 = gt->frame_off[f];
        uint64_t ng = gt->frame_off[f + 1] - g0, gn = goff[g + 1] - goff[g];
        double *t = tile + pairs->tile_off[f];
        for (uint64_t i = doff[g]; i < doff[g + 1]; i++)
            for (uint64_t k = 0; k < gn; k++)
                t[(dl[i] - d0) * ng + (gl[goff[g] + k] - g0)] =
                    tmp[toff[g] + (i - doff[g]) * gn + k];
    }
out:
    free(dko);
    free(gko);
    free(dkp);
    free(gkp);
    free(gbox);
    free(garea);
    free(gsig);
    free(doff);
    free(goff);
    free(toff);
    free(dl);
    free(gl);
    free(tmp);
    return st;
}

dg_status dg__shape_tiles(dg_engine *e, dg_ctx *ctx, const dg_shape_chunk *c,
                          uint64_t *tile_off, double **tile, uint64_t *cap)
{
    const dg_boxset *gt = c->gt, *dt = c->dt;
    uint32_t nf = c->n_frames;
    uint32_t *dl = NULL, *gl = NULL;
    dg_status st = DG_OK;
    tile_off[0] = 0;
    for (uint32_t f = 0; f < nf; f++)
        tile_off[f + 1] = tile_off[f] +
                          (dt->frame_off[f + 1] - dt->frame_off[f]) *
                              (gt->frame_off[f + 1] - gt->frame_off[f]);
    uint64_t total = tile_off[nf];
    if (total > *cap || !*tile) {
        free(*tile);
        *cap = 0;
        if (!(*tile = dg__alloc(ctx, total ? total : 1, sizeof(double))))
            return DG_ENOMEM;
        *cap = total;
    }
    dl = dg__alloc(ctx, dt->n ? dt->n : 1, sizeof(*dl));
    gl = dg__alloc(ctx, gt->n ? gt->n : 1, sizeof(*gl));
    if (!dl || !gl) {
        st = DG_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < dt->n; i++)
        dl[i] = (uint32_t)i;
    for (uint64_t i = 0; i < gt->n; i++)
        gl[i] = (uint32_t)i;
    dg_tile_pairs pairs = {nf, dt->frame_off, gt->frame_off, tile_off, dl, gl};
    st = c->iou_type == DG_COCO_KEYPOINTS
             ? oks_tiles(e, ctx, c, &pairs, *tile)
             : mask_tiles(e, ctx, c, &pairs, *tile);
out:
    free(dl);
    free(gl);
    return st;
}
