/*
 * Pascal VOC protocols: per-class ranking, VOC matching, 11-point and
 * all-point AP. include/detgrid/voc.h states the semantics; docs/VOC.md
 * shows which published numbers they reproduce.
 *
 * The arithmetic follows the reference tools operation by operation
 * (Cartucho's voc_ap, rafaelpadilla's 11-point loop, the devkit's IoU), so
 * the results agree with theirs to the last bit or close to it, not just
 * to the printed digits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/voc.h"
#include "store.h"

void dg_voc_opts_init(dg_voc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->protocol = DG_VOC12;
    o->iou = 0.5;
    o->plus1 = 1;
    o->exact_recall_points = 0;
}

int dg_voc_protocol_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "voc07"))
        return DG_VOC07;
    if (!strcmp(name, "voc12"))
        return DG_VOC12;
    return -1;
}

const char *dg_voc_protocol_name(dg_voc_protocol protocol)
{
    return protocol == DG_VOC07 ? "voc07" : "voc12";
}

/* ---- AP ---------------------------------------------------------------- */

/*
 * All-point AP, as Cartucho's voc_ap (itself the VOC2012 devkit's
 * VOCap.m): recall framed by 0 and 1, precision by 0 and 0, the precision
 * made non-increasing from the right, then the sum of recall steps times
 * the precision at the step's right end, left to right.
 */
static double ap_all_point(const double *rec, const double *prec, uint64_t n,
                           double *mpre)
{
    /* mpre has n + 2 slots; mrec is read through rec_at. */
#define REC_AT(i) ((i) == 0 ? 0.0 : (i) == n + 1 ? 1.0 : rec[(i) - 1])
    mpre[0] = 0.0;
    for (uint64_t i = 0; i < n; i++)
        mpre[i + 1] = prec[i];
    mpre[n + 1] = 0.0;
    for (uint64_t i = n + 1; i-- > 0;) {
        if (mpre[i + 1] > mpre[i])
            mpre[i] = mpre[i + 1];
    }
    double ap = 0.0;
    for (uint64_t i = 1; i <= n + 1; i++) {
        if (REC_AT(i) != REC_AT(i - 1))
            ap += (REC_AT(i) - REC_AT(i - 1)) * mpre[i];
    }
#undef REC_AT
    return ap;
}

/*
 * 11-point AP, as rafaelpadilla's calculate_ap_11_point_interp: for each
 * recall point from 1 down to 0, the highest precision at recall >= it,
 * summed in that order and divided by 11.
 */
static double ap_11_point(const double *rec, const double *prec, uint64_t n,
                          int exact)
{
    double sum = 0.0;
    for (int i = 10; i >= 0; i--) {
        /* numpy.linspace(0, 1, 11) is i * 0.1 with its last value set to
         * exactly 1; np.arange(0, 1.1, 0.1) in the devkit port is the same. */
        double r = exact ? (double)i / 10.0 : (i == 10 ? 1.0 : i * 0.1);
        double pmax = 0.0;
        /* rec is non-decreasing: the points with rec >= r are a suffix. */
        for (uint64_t k = n; k-- > 0 && rec[k] >= r;) {
            if (prec[k] > pmax)
                pmax = prec[k];
        }
        sum += pmax;
    }
    return sum / 11.0;
}

double dg_voc_ap(dg_voc_protocol protocol, int exact_recall_points,
                 const double *recall, const double *precision, uint64_t n)
{
    if (protocol == DG_VOC07)
        return ap_11_point(recall, precision, n, exact_recall_points);
    double *mpre = malloc(((size_t)n + 2) * sizeof(*mpre));
    if (!mpre)
        return NAN;
    double ap = ap_all_point(recall, precision, n, mpre);
    free(mpre);
    return ap;
}

/* ---- matching ---------------------------------------------------------- */

/*
 * IoU of two x, y, w, h boxes as the devkit computes it from corners.
 * plus1: widths are x2 - x1 + 1 (pixel-inclusive); an intersection that is
 * not positive in both directions gives 0.
 */
static double voc_iou(double dx, double dy, double dw, double dh, double gx,
                      double gy, double gw, double gh, int plus1)
{
    double one = plus1 ? 1.0 : 0.0;
    double dx2 = dx + dw, dy2 = dy + dh, gx2 = gx + gw, gy2 = gy + gh;
    double ix1 = dx > gx ? dx : gx, iy1 = dy > gy ? dy : gy;
    double ix2 = dx2 < gx2 ? dx2 : gx2, iy2 = dy2 < gy2 ? dy2 : gy2;
    double iw = ix2 - ix1 + one;
    double ih = iy2 - iy1 + one;
    if (!(iw > 0 && ih > 0))
        return 0.0;
    double ua = (dx2 - dx + one) * (dy2 - dy + one) +
                (gx2 - gx + one) * (gy2 - gy + one) - iw * ih;
    return iw * ih / ua;
}

typedef struct ranked {
    double score;
    uint64_t index; /* into the inference set: frame order, then file order */
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void dg_voc_result_release(dg_voc_result *r)
{
    if (!r)
        return;
    for (uint32_t k = 0; k < r->n_classes && r->classes; k++) {
        free(r->classes[k].score);
        free(r->classes[k].precision);
        free(r->classes[k].recall);
    }
    free(r->classes);
    memset(r, 0, sizeof(*r));
    r->map = NAN;
}

/* One class: rank, match, curve, AP. */
static dg_status eval_class(dg_ctx *ctx, const dg_boxset *gt,
                            const dg_boxset *dt, uint32_t k,
                            const dg_voc_opts *o, ranked *rank,
                            uint64_t n_rank, uint8_t *used,
                            dg_voc_class *c)
{
    uint64_t tp = 0, fp = 0, np = 0;
    qsort(rank, n_rank, sizeof(*rank), by_score_desc);
    c->n_det = n_rank;
    c->score = dg__alloc(ctx, n_rank, sizeof(double));
    c->precision = dg__alloc(ctx, n_rank, sizeof(double));
    c->recall = dg__alloc(ctx, n_rank, sizeof(double));
    if (!c->score || !c->precision || !c->recall)
        return DG_ENOMEM;

    for (uint64_t r = 0; r < n_rank; r++) {
        uint64_t d = rank[r].index;
        uint32_t f = dt->frame[d];
        double best = -1.0;
        uint64_t match = UINT64_MAX;
        for (uint64_t g = gt->frame_off[f]; g < gt->frame_off[f + 1]; g++) {
            if (gt->cls[g] != k)
                continue;
            double v = voc_iou(dt->x[d], dt->y[d], dt->w[d], dt->h[d],
                               gt->x[g], gt->y[g], gt->w[g], gt->h[g],
                               o->plus1);
            /* Only overlapping boxes are candidates, the first of equal
             * IoU wins (Cartucho's "ov > ovmax", the devkit's argmax). */
            if (v > 0 && v > best) {
                best = v;
                match = g;
            }
        }
        if (match != UINT64_MAX && best >= o->iou) {
            int difficult = (gt->ignore && gt->ignore[match]) ||
                            (gt->iscrowd && gt->iscrowd[match]);
            if (difficult) {
                c->n_ignored++;
                continue;
            }
            if (!used[match]) {
                used[match] = 1;
                tp++;
            } else {
                fp++;
            }
        } else {
            fp++;
        }
        c->score[np] = rank[r].score;
        c->precision[np] = (double)tp / (double)(tp + fp);
        c->recall[np] = c->n_gt ? (double)tp / (double)c->n_gt : NAN;
        np++;
    }
    c->n_points = np;
    c->tp = tp;
    c->fp = fp;
    c->ap = c->n_gt ? dg_voc_ap(o->protocol, o->exact_recall_points,
                                c->recall, c->precision, np)
                    : NAN;
    if (c->n_gt && isnan(c->ap))
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    return DG_OK;
}

dg_status dg_voc_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                          const dg_voc_opts *opts, dg_voc_result *out)
{
    dg_voc_opts def;
    dg_status st;
    ranked *rank = NULL;
    uint64_t *cls_off = NULL, *fill = NULL;
    uint8_t *used = NULL;

    memset(out, 0, sizeof(*out));
    out->map = NAN;
    if (!p || !name)
        return dg__fail(ctx, DG_EINVAL, "voc: no project or no name");
    if (!opts) {
        dg_voc_opts_init(&def);
        opts = &def;
    }
    if (opts->protocol != DG_VOC07 && opts->protocol != DG_VOC12)
        return dg__fail(ctx, DG_EINVAL, "voc: unknown protocol %d",
                        (int)opts->protocol);
    if (!(opts->iou > 0 && opts->iou <= 1))
        return dg__fail(ctx, DG_EINVAL, "voc: IoU threshold %g is not in "
                        "(0, 1]", opts->iou);
    uint32_t idx;
    if ((st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &idx)) < 0)
        return st;
    const dg_boxset *gt, *dt;
    if ((st = dg__project_labels(ctx, p, &gt)) < 0 ||
        (st = dg__project_inferences(ctx, p, (uint32_t)idx, &dt)) < 0)
        return st;

    uint32_t nc = dg__project_n_classes(p);
    out->opts = *opts;
    out->n_classes = nc;
    out->classes = dg__calloc(ctx, nc, sizeof(*out->classes));
    /* Detections bucketed by class, in inference-set order. */
    cls_off = dg__calloc(ctx, (size_t)nc + 1, sizeof(*cls_off));
    fill = dg__calloc(ctx, (size_t)nc + 1, sizeof(*fill));
    rank = dg__alloc(ctx, dt->n, sizeof(*rank));
    used = dg__calloc(ctx, gt->n, 1);
    if (!out->classes || !cls_off || !fill || !rank || !used) {
        st = DG_ENOMEM;
        goto out;
    }
    if (!gt->frame_off || !dt->frame_off) {
        st = dg__fail(ctx, DG_EINVAL, "voc: boxes are not sorted by frame");
        goto out;
    }
    for (uint64_t g = 0; g < gt->n; g++) {
        if (gt->cls[g] >= nc) {
            st = dg__fail(ctx, DG_EFORMAT, "label %llu: class %u out of range",
                          (unsigned long long)g, gt->cls[g]);
            goto out;
        }
        int difficult = (gt->ignore && gt->ignore[g]) ||
                        (gt->iscrowd && gt->iscrowd[g]);
        if (difficult)
            out->classes[gt->cls[g]].n_difficult++;
        else
            out->classes[gt->cls[g]].n_gt++;
    }
    for (uint64_t d = 0; d < dt->n; d++) {
        if (dt->cls[d] >= nc) {
            st = dg__fail(ctx, DG_EFORMAT, "inference set '%s': detection "
                          "%llu: class %u out of range", name,
                          (unsigned long long)d, dt->cls[d]);
            goto out;
        }
        cls_off[dt->cls[d] + 1]++;
    }
    for (uint32_t k = 0; k < nc; k++)
        cls_off[k + 1] += cls_off[k];
    memcpy(fill, cls_off, ((size_t)nc + 1) * sizeof(*fill));
    for (uint64_t d = 0; d < dt->n; d++) {
        ranked *rk = &rank[fill[dt->cls[d]]++];
        rk->score = dt->score ? dt->score[d] : 0.0;
        rk->index = d;
    }

    double sum = 0.0;
    for (uint32_t k = 0; k < nc; k++) {
        dg_voc_class *c = &out->classes[k];
        if ((st = eval_class(ctx, gt, dt, k, opts, rank + cls_off[k],
                             cls_off[k + 1] - cls_off[k], used, c)) < 0)
            goto out;
        if (c->n_gt) {
            sum += c->ap;
            out->n_map_classes++;
        }
        dg__progress(ctx, "voc", k + 1, nc);
    }
    out->map = out->n_map_classes ? sum / out->n_map_classes : NAN;
    st = DG_OK;
out:
    if (st < 0)
        dg_voc_result_release(out);
    free(used);
    free(rank);
    free(fill);
    free(cls_off);
    return st;
}
