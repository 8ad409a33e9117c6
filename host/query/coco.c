/*
 * The COCO protocol: pycocotools' COCOeval (iouType 'bbox', default Params)
 * reproduced bit for bit, and fast.
 *
 * The steps and what each takes from pycocotools:
 *
 *   1. Order. Images are frames in ascending image id (frame_num), as
 *      params.imgIds is sorted; categories are classes in ascending class
 *      id. Each category's detections are stably sorted by descending
 *      score over the images in that order, which is the order of
 *      accumulate()'s mergesort over the concatenated per-image lists.
 *   2. Rank. A detection's rank is its place among the detections of its
 *      image and category by descending score, input order breaking ties
 *      (evaluateImg's mergesort); only ranks below 100 (maxDets[-1]) are
 *      matched, ranks below 1 and 10 form the maxDets 1 and 10 lists.
 *   3. Match, per (image, category) group with detections: crowd
 *      regions and labels whose area is outside the range are tried last
 *      and make a detection that takes them ignored, exactly as
 *      evaluateImg's gtIg. An unmatched detection whose own w*h is outside
 *      the range is ignored too. Each detection keeps two 10-bit masks per
 *      area range: TP and FP at each IoU threshold. On the reference
 *      path one pass over each group computes its IoUs once and runs the
 *      greedy loop for the four area ranges on them (match_group_areas,
 *      the rules of the reference matcher). When the engine runs on an
 *      OpenCL device, or with a NaN score, the engine's matcher runs once
 *      per area range on labels whose ignore column says "area outside
 *      the range", handed one "frame" per group, boxes in input order: it
 *      matches class-wise per frame, so this changes no outcome.
 *   4. Accumulate. For each (category, area range, maxDets, threshold) the
 *      curve needs only its true positives: recall steps at each of them,
 *      and the precision envelope over a suffix is attained at one of them
 *      (see struct curve). So a forward pass over the category's list per
 *      area range counts, and a backward one fills the 101 entries of all
 *      30 (maxDets, threshold) curves, storing nothing per detection.
 *   5. Summarize: the mean of the entries > -1, flattened in C order, with
 *      numpy's pairwise summation (dg__np_sum).
 *
 * Matching and accumulation run on worker threads; every result is
 * independent of the thread count.
 *
 * The files: coco_prepare.c (steps 1 and 2), coco_match.c (3),
 * coco_accumulate.c (4, with numpy's arithmetic and the curves), this one
 * (5, the driver and the API); coco_impl.h holds what they share.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coco_impl.h"

void dg_coco_opts_init(dg_coco_opts *o)
{
    memset(o, 0, sizeof(*o));
}

/* ---- threads ------------------------------------------------------------ */

static int n_threads_for(const dg_coco_opts *o)
{
    long n = o && o->n_threads > 0 ? o->n_threads
                                   : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

typedef struct thr_arg {
    work_fn fn;
    void *arg;
    int tid;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    a->fn(a->arg, a->tid);
    return NULL;
}

void dg__coco_run_parallel(int n, work_fn fn, void *arg)
{
    pthread_t th[MAX_THREADS];
    thr_arg ta[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < n; i++) {
        ta[i].fn = fn;
        ta[i].arg = arg;
        ta[i].tid = i;
        started[i] = pthread_create(&th[i], NULL, thr_main, &ta[i]) == 0;
    }
    fn(arg, 0);
    for (int i = 1; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

void dg__coco_worker_fail(coco_state *s, dg_status st, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    if (s->st >= 0) {
        s->st = st;
        snprintf(s->err, sizeof(s->err), "%s", msg);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->failed, 1);
}

/* ---- step 5: summaries -------------------------------------------------- */

/* Index of threshold v among r->iou, as np.where(v == iouThrs); -1 if none. */
static int iou_index(const dg_coco_result *r, double v)
{
    for (int t = 0; t < NT; t++)
        if (r->iou[t] == v)
            return t;
    return -1;
}

/* Mean of precision[t][:][:][a][m] (t = -1: all) over entries > -1;
 * `none` when there are none. */
static double mean_prec(const dg_coco_result *r, int t_sel, int a, int m,
                        double *buf, double none)
{
    size_t n = 0;
    for (int t = 0; t < NT; t++) {
        if (t_sel >= 0 ? t != t_sel : t_sel == -2)
            continue;
        for (int ri = 0; ri < NR; ri++)
            for (uint32_t k = 0; k < r->n_cats; k++) {
                double v = r->precision[dg_coco_index(r, t, ri, k, a, m)];
                if (v > -1)
                    buf[n++] = v;
            }
    }
    return n ? dg__np_mean(buf, n) : none;
}

static double mean_recall(const dg_coco_result *r, int t_sel, int a, int m,
                          double *buf)
{
    size_t n = 0;
    for (int t = 0; t < NT; t++) {
        if (t_sel >= 0 ? t != t_sel : t_sel == -2)
            continue;
        for (uint32_t k = 0; k < r->n_cats; k++) {
            double v = r->recall[dg_coco_recall_index(r, t, k, a, m)];
            if (v > -1)
                buf[n++] = v;
        }
    }
    return n ? dg__np_mean(buf, n) : -1;
}

static dg_status summarize(dg_ctx *ctx, dg_coco_result *r)
{
    uint32_t K = r->n_cats;
    double *buf = dg__alloc(ctx, (size_t)NT * NR * (K ? K : 1), sizeof(*buf));
    if (!buf)
        return DG_ENOMEM;
    int t50 = iou_index(r, 0.5), t75 = iou_index(r, 0.75);
    /* t = -2 selects nothing: a threshold absent from iouThrs gives -1. */
    int s50 = t50 >= 0 ? t50 : -2, s75 = t75 >= 0 ? t75 : -2;
    double *s = r->stats;
    /* maxDets 100 (or 20: the last), area "all" is index 0. */
    int mlast = r->n_max_dets - 1;
    if (r->iou_type == DG_COCO_KEYPOINTS) {
        /* _summarizeKps: maxDets 20; areas all, medium, large. */
        s[0] = mean_prec(r, -1, 0, mlast, buf, -1);
        s[1] = mean_prec(r, s50, 0, mlast, buf, -1);
        s[2] = mean_prec(r, s75, 0, mlast, buf, -1);
        s[3] = mean_prec(r, -1, 1, mlast, buf, -1);
        s[4] = mean_prec(r, -1, 2, mlast, buf, -1);
        s[5] = mean_recall(r, -1, 0, mlast, buf);
        s[6] = mean_recall(r, s50, 0, mlast, buf);
        s[7] = mean_recall(r, s75, 0, mlast, buf);
        s[8] = mean_recall(r, -1, 1, mlast, buf);
        s[9] = mean_recall(r, -1, 2, mlast, buf);
        s[10] = s[11] = 0;
    } else {
        s[DG_COCO_AP] = mean_prec(r, -1, 0, mlast, buf, -1);
        s[DG_COCO_AP50] = mean_prec(r, s50, 0, mlast, buf, -1);
        s[DG_COCO_AP75] = mean_prec(r, s75, 0, mlast, buf, -1);
        for (int a = 1; a < r->n_area; a++)
            s[DG_COCO_AP_S + a - 1] = mean_prec(r, -1, a, mlast, buf, -1);
        for (int m = 0; m < r->n_max_dets; m++)
            s[DG_COCO_AR1 + m] = mean_recall(r, -1, 0, m, buf);
        for (int a = 1; a < r->n_area; a++)
            s[DG_COCO_AR_S + a - 1] = mean_recall(r, -1, a, mlast, buf);
    }

    for (uint32_t k = 0; k < K; k++) {
        size_t n = 0;
        for (int t = 0; t < NT; t++)
            for (int ri = 0; ri < NR; ri++) {
                double v =
                    r->precision[dg_coco_index(r, t, ri, k, 0, mlast)];
                if (v > -1)
                    buf[n++] = v;
            }
        r->ap[k] = n ? dg__np_mean(buf, n) : NAN;
        int ts[2] = {t50, t75};
        double *dst[2] = {&r->ap50[k], &r->ap75[k]};
        for (int i = 0; i < 2; i++) {
            n = 0;
            for (int ri = 0; ts[i] >= 0 && ri < NR; ri++) {
                double v =
                    r->precision[dg_coco_index(r, ts[i], ri, k, 0, mlast)];
                if (v > -1)
                    buf[n++] = v;
            }
            *dst[i] = n ? dg__np_mean(buf, n) : NAN;
        }
        n = 0;
        for (int t = 0; t < NT; t++) {
            double v = r->recall[dg_coco_recall_index(r, t, k, 0, mlast)];
            if (v > -1)
                buf[n++] = v;
        }
        r->ar100[k] = n ? dg__np_mean(buf, n) : NAN;
    }
    free(buf);
    return DG_OK;
}

/* ---- the API ------------------------------------------------------------ */

void dg_coco_result_release(dg_coco_result *r)
{
    if (!r)
        return;
    free(r->cat_class);
    free(r->precision);
    free(r->scores);
    free(r->recall);
    free(r->ap);
    free(r->ap50);
    free(r->ap75);
    free(r->ar100);
    memset(r, 0, sizeof(*r));
}

const char *dg_coco_stat_label(int i)
{
    static const char *const labels[DG_COCO_N_STATS] = {
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    };
    return i >= 0 && i < DG_COCO_N_STATS ? labels[i] : NULL;
}

const char *dg_coco_stat_name(int i)
{
    static const char *const names[DG_COCO_N_STATS] = {
        "AP", "AP50", "AP75", "APs", "APm", "APl",
        "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
    return i >= 0 && i < DG_COCO_N_STATS ? names[i] : NULL;
}

/* pycocotools' _summarizeKps lines and their names. */
static const char *const kp_labels[10] = {
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ]",
    " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets= 20 ]",
    " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets= 20 ]",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets= 20 ]",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets= 20 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ]",
    " Average Recall     (AR) @[ IoU=0.50      | area=   all | maxDets= 20 ]",
    " Average Recall     (AR) @[ IoU=0.75      | area=   all | maxDets= 20 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets= 20 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets= 20 ]",
};
static const char *const kp_names[10] = {"AP", "AP50", "AP75", "APm", "APl",
                                         "AR", "AR50", "AR75", "ARm", "ARl"};

const char *dg_coco_result_stat_label(const dg_coco_result *r, int i)
{
    if (r && r->iou_type == DG_COCO_KEYPOINTS)
        return i >= 0 && i < 10 ? kp_labels[i] : NULL;
    return dg_coco_stat_label(i);
}

const char *dg_coco_result_stat_name(const dg_coco_result *r, int i)
{
    if (r && r->iou_type == DG_COCO_KEYPOINTS)
        return i >= 0 && i < 10 ? kp_names[i] : NULL;
    return dg_coco_stat_name(i);
}

static const char *const type_names[] = {"bbox", "segm", "boundary",
                                         "keypoints"};

const char *dg_coco_iou_type_name(int t)
{
    return t >= 0 && t < 4 ? type_names[t] : NULL;
}

int dg_coco_iou_type_parse(const char *str)
{
    for (int t = 0; str && t < 4; t++)
        if (!strcmp(str, type_names[t]))
            return t;
    return -1;
}

/*
 * pycocotools' Params for the type: areaRng 0 ** 2, 1e5 ** 2, 32 ** 2,
 * 96 ** 2 and maxDets 1, 10, 100; for keypoints the ranges all, medium,
 * large and maxDets 20.
 */
static void set_params(coco_state *s, int type)
{
    static const double det_rng[4][2] = {
        {0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}};
    static const double kp_rng[3][2] = {
        {0.0, 1e10}, {1024.0, 9216.0}, {9216.0, 1e10}};
    s->iou_type = type;
    if (type == DG_COCO_KEYPOINTS) {
        s->na = 3;
        s->nm = 1;
        memcpy(s->area_rng, kp_rng, sizeof(kp_rng));
        s->max_dets[0] = 20;
    } else {
        s->na = 4;
        s->nm = 3;
        memcpy(s->area_rng, det_rng, sizeof(det_rng));
        s->max_dets[0] = 1;
        s->max_dets[1] = 10;
        s->max_dets[2] = 100;
    }
}

/*
 * The boxes to evaluate, with the checks the steps rely on: *gt_view and
 * *dt_view are views of the labels and set which, with zero offsets where
 * an empty box set has none (in *zero_off) and a zero crowd column where
 * labels have none (no_crowd).
 */
static dg_status load_boxes(coco_state *s, int64_t which, dg_boxset *gt_view,
                            dg_boxset *dt_view, uint64_t **zero_off,
                            uint8_t *no_crowd)
{
    dg_ctx *ctx = s->ctx;
    dg_project *p = s->p;
    const dg_boxset *gt, *dt;
    dg_status st;
    if ((st = dg__project_labels(ctx, p, &gt)) < 0 ||
        (st = dg__project_inferences(ctx, p, (uint32_t)which, &dt)) < 0)
        return st;
    if (dt->n >= UINT32_MAX || gt->n > INT32_MAX)
        return dg__fail(ctx, DG_ERANGE, "coco: too many boxes (%llu "
                        "detections, %llu labels)",
                        (unsigned long long)dt->n, (unsigned long long)gt->n);
    /* An empty box set may come without offsets. */
    *gt_view = *gt;
    *dt_view = *dt;
    if (!gt_view->frame_off || !dt_view->frame_off) {
        *zero_off = dg__calloc(ctx, (size_t)dg__project_n_frames(p) + 1,
                               sizeof(uint64_t));
        if (!*zero_off)
            return DG_ENOMEM;
        if (!gt_view->frame_off)
            gt_view->frame_off = *zero_off;
        if (!dt_view->frame_off)
            dt_view->frame_off = *zero_off;
    }
    *no_crowd = 0;
    if (!gt_view->iscrowd && gt_view->n)
        return dg__fail(ctx, DG_EINVAL,
                        "coco: labels without iscrowd column");
    if (!gt_view->iscrowd)
        gt_view->iscrowd = no_crowd;
    s->gt = gt_view;
    return DG_OK;
}

/* The result's parameters (thresholds: numpy.linspace's doubles, or the
 * exact decimals) and its arrays. */
static dg_status result_init(coco_state *s, const dg_coco_opts *opts)
{
    dg_ctx *ctx = s->ctx;
    dg_coco_result *out = s->out;
    for (int t = 0; t < NT; t++)
        out->iou[t] = opts && opts->exact_iou
                          ? (double)(50 + 5 * t) / 100.0
                          : dg__np_linspace(0.5, 0.95, NT, t);
    for (int i = 0; i < NR; i++)
        out->rec[i] = dg__np_linspace(0.0, 1.0, NR, i);
    memcpy(s->iou, out->iou, sizeof(s->iou));
    memcpy(s->rec, out->rec, sizeof(s->rec));
    static const char *const det_lbl[4] = {"all", "small", "medium", "large"};
    static const char *const kp_lbl[3] = {"all", "medium", "large"};
    out->iou_type = s->iou_type;
    out->n_stats = s->iou_type == DG_COCO_KEYPOINTS ? 10 : DG_COCO_N_STATS;
    out->n_area = s->na;
    out->n_max_dets = s->nm;
    for (int m = 0; m < s->nm; m++)
        out->max_dets[m] = s->max_dets[m];
    for (int a = 0; a < s->na; a++) {
        out->area_rng[a][0] = s->area_rng[a][0];
        out->area_rng[a][1] = s->area_rng[a][1];
        out->area_lbl[a] = s->iou_type == DG_COCO_KEYPOINTS ? kp_lbl[a]
                                                            : det_lbl[a];
    }
    out->n_cats = s->K;
    out->n_gt = s->gt->n;

    size_t np_ = (size_t)NT * NR * s->K * s->na * s->nm;
    size_t nr = (size_t)NT * s->K * s->na * s->nm;
    out->precision = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    out->scores = dg__alloc(ctx, np_ ? np_ : 1, sizeof(double));
    out->recall = dg__alloc(ctx, nr ? nr : 1, sizeof(double));
    out->ap = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    out->ap50 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    out->ap75 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    out->ar100 = dg__alloc(ctx, s->K ? s->K : 1, sizeof(double));
    if (!out->precision || !out->scores || !out->recall || !out->ap ||
        !out->ap50 || !out->ap75 || !out->ar100)
        return DG_ENOMEM;
    /* precision and scores are written whole, category by category. */
    for (size_t i = 0; i < nr; i++)
        out->recall[i] = -1.0;
    return DG_OK;
}

/*
 * The area each detection evaluated has for the area ranges, when its
 * inference set gives areas (masks, keypoints: pycocotools' loadRes),
 * else its box's w * h.
 */
static dg_status det_areas(coco_state *s)
{
    if (!s->dsh || !s->dsh->area)
        return DG_OK;
    uint64_t n = s->w.n;
    s->w_area = dg__alloc(s->ctx, n ? n : 1, sizeof(double));
    if (!s->w_area)
        return DG_ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        s->w_area[i] = s->dsh->area[s->w_src[i]];
    return DG_OK;
}

static void state_release(coco_state *s)
{
    dg__boxset_release(&s->w);
    dg__boxset_release(&s->g);
    free(s->pf_doff);
    free(s->pf_goff);
    free(s->pf_k);
    free(s->pf_first);
    for (uint32_t i = 0; s->chunks && i < s->n_chunks; i++) {
        free(s->chunks[i].goff);
        free(s->chunks[i].doff);
    }
    free(s->chunks);
    free(s->class_rank);
    free(s->class_off);
    free(s->order);
    free(s->rank);
    free(s->w_src);
    free(s->g_src);
    free(s->w_area);
    free(s->tile);
    free(s->tile_off);
    free(s->pos);
    free(s->acc_score);
    free(s->acc_rank);
    free(s->ign);
    free(s->zid);
    free(s->npig);
    free(s->mask);
    if (s->engine)
        dg__engine_close(s->engine);
    pthread_mutex_destroy(&s->lock);
}

dg_status dg_coco_evaluate(dg_ctx *ctx, dg_project *p, const char *name,
                           const dg_coco_opts *opts, dg_coco_result *out)
{
    double t_start = dg__now(), t0;
    coco_state s;
    dg_status st = DG_OK;
    uint64_t *zero_off = NULL;
    dg_boxset gt_view, dt_view;
    uint8_t no_crowd;

    if (!out)
        return dg__fail(ctx, DG_EINVAL, "coco: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!p || !name)
        return dg__fail(ctx, DG_EINVAL, "coco: no project or no name");
    uint32_t which;
    if ((st = dg_project_find(ctx, p, DG_NAME_INFERENCES, name, &which)) < 0)
        return st;

    memset(&s, 0, sizeof(s));
    dg__boxset_init(&s.w);
    dg__boxset_init(&s.g);
    s.ctx = ctx;
    s.p = p;
    s.out = out;
    s.n_threads = n_threads_for(opts);
    s.K = dg__project_n_classes(p);
    int type = opts ? opts->iou_type : DG_COCO_BBOX;
    if (type < DG_COCO_BBOX || type > DG_COCO_KEYPOINTS)
        return dg__fail(ctx, DG_EINVAL, "coco: unknown iou type %d", type);
    set_params(&s, type);
    pthread_mutex_init(&s.lock, NULL);
    atomic_init(&s.next_job, 0);
    atomic_init(&s.failed, 0);

    t0 = dg__now();
    if ((st = load_boxes(&s, which, &gt_view, &dt_view, &zero_off,
                         &no_crowd)) < 0 ||
        (st = dg__project_label_shapes(ctx, p, &s.gsh)) < 0 ||
        (st = dg__project_inference_shapes(ctx, p, (uint32_t)which,
                                           &s.dsh)) < 0)
        goto out;
    out->timing.load_s = dg__now() - t0;
    if ((st = result_init(&s, opts)) < 0)
        goto out;

    /* Progress: the five steps of the header comment. */
    dg__progress(ctx, "coco", 1, 5);
    t0 = dg__now();
    if ((st = dg__coco_prepare(&s, &dt_view)) < 0 ||
        (st = dg__coco_prepare_labels(&s, opts && opts->use_ignore,
                                      opts && opts->pycocotools_id0)) < 0 ||
        (st = det_areas(&s)) < 0)
        goto out;
    out->timing.prepare_s = dg__now() - t0;

    /* The device: as the engine chooses it for ctx. */
    dg__progress(ctx, "coco", 2, 5);
    t0 = dg__now();
    if ((st = dg__engine_open(ctx, &s.engine)) < 0 ||
        (st = dg__coco_tiles(&s, opts)) < 0)
        goto out;
    out->timing.tiles_s = dg__now() - t0;
    if ((st = dg__coco_match(&s)) < 0)
        goto out;
    snprintf(out->device, sizeof(out->device), "%s",
             dg__engine_on_device(s.engine) ? dg__engine_desc(s.engine)
                                            : "reference");
    out->timing.match_s = dg__now() - t0 - out->timing.tiles_s;

    dg__progress(ctx, "coco", 3, 5);
    t0 = dg__now();
    if ((st = dg__coco_accumulate(&s)) < 0)
        goto out;
    out->timing.accumulate_s = dg__now() - t0;
    dg__progress(ctx, "coco", 4, 5);

    t0 = dg__now();
    if ((st = summarize(ctx, out)) < 0)
        goto out;
    out->timing.summarize_s = dg__now() - t0;
    out->timing.total_s = dg__now() - t_start;
    dg__progress(ctx, "coco", 5, 5);
out:
    if (st < 0)
        dg_coco_result_release(out);
    state_release(&s);
    free(zero_off);
    return st;
}
