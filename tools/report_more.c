/*
 * detgrid report: the parts computed once at export, beside the
 * per-detection payload: each set's COCO numbers (dg_coco_evaluate, as
 * `detgrid coco`), the paired bootstrap of B - A at the project's default
 * thresholds (as `detgrid compare`), and the thumbnails of the frames the
 * page is most likely to show (label errors, the worst frames), within a
 * budget.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detgrid/bootstrap.h"
#include "detgrid/coco.h"
#include "detgrid/frames.h"
#include "detgrid/image.h"
#include "report_extra.h"

/* ---- COCO --------------------------------------------------------------- */

cJSON *report_coco_json(dg_ctx *ctx, dg_project *p, const char *name)
{
    /* the IoU type of the results the report shows (--iou-type) */
    dg_coco_opts co;
    dg_coco_opts_init(&co);
    co.iou_type = dg_project_iou_type(p);
    dg_coco_result r;
    dg_status st = dg_coco_evaluate(ctx, p, name, &co, &r);
    if (st < 0) {
        fprintf(stderr, "warning: no COCO figures for '%s': %s\n", name,
                dg_ctx_last_error(ctx));
        return cJSON_CreateNull();
    }
    dg_project_info info;
    dg_project_get_info(p, &info);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "iou_type", dg_coco_iou_type_name(r.iou_type));
    cJSON *s = cJSON_AddArrayToObject(o, "stats");
    cJSON *lab = cJSON_AddArrayToObject(o, "labels");
    cJSON *nm = cJSON_AddArrayToObject(o, "names");
    for (int i = 0; i < r.n_stats; i++) {
        cJSON_AddItemToArray(s, cli_num(r.stats[i]));
        cJSON_AddItemToArray(
            lab, cJSON_CreateString(dg_coco_result_stat_label(&r, i)));
        cJSON_AddItemToArray(
            nm, cJSON_CreateString(dg_coco_result_stat_name(&r, i)));
    }
    /* Per class (by class index; null for classes without ground truth or
     * not among the categories). */
    const char *keys[3] = {"ap", "ap50", "ap75"};
    const double *src[3] = {r.ap, r.ap50, r.ap75};
    for (int q = 0; q < 3; q++) {
        double *v = malloc((info.n_classes + 1) * sizeof(*v));
        if (!v)
            break;
        for (uint32_t c = 0; c < info.n_classes; c++)
            v[c] = NAN;
        for (uint32_t k = 0; k < r.n_cats; k++)
            v[r.cat_class[k]] = src[q][k];
        cJSON *a = cJSON_AddArrayToObject(o, keys[q]);
        for (uint32_t c = 0; c < info.n_classes; c++)
            cJSON_AddItemToArray(a, cli_num(v[c]));
        free(v);
    }
    dg_coco_result_release(&r);
    return o;
}

/* ---- B - A ------------------------------------------------------------- */

static cJSON *ci_json(const dg_prf_paired_ci *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(o, "diff");
    cli_prf_json(d, x->diff.point);
    cli_ci_json(o, x);
    return o;
}

cJSON *report_compare_json(dg_ctx *ctx, dg_project *p, const char *a,
                           const char *b)
{
    dg_results *r[2] = {NULL, NULL};
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t C = info.n_classes;
    dg_prf_paired_ci *pc = calloc(C + 1, sizeof(*pc));
    cJSON *o = NULL;
    dg_status st;
    if (!pc || (st = dg_results_load(ctx, p, a, &r[0])) < 0 ||
        (st = dg_results_load(ctx, p, b, &r[1])) < 0)
        goto out;
    int ta = report_nearest_iou(r[0], info.default_iou);
    int tb = report_nearest_iou(r[1], info.default_iou);
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.seed = 1; /* `detgrid compare`'s default */
    if ((st = dg_results_bootstrap_paired(ctx, r[0], r[1], p,
                                          info.default_conf, ta,
                                          info.default_conf, tb, &bo, pc,
                                          pc + C)) < 0)
        goto out;
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "conf", cli_num(info.default_conf));
    cJSON_AddItemToObject(o, "iou", cli_num(dg_results_iou(r[0], ta)));
    cJSON_AddNumberToObject(o, "resamples", 1000);
    cJSON_AddNumberToObject(o, "seed", 1);
    cJSON_AddNumberToObject(o, "level", 0.95);
    cJSON_AddItemToObject(o, "overall", ci_json(&pc[C]));
    cJSON *cl = cJSON_AddArrayToObject(o, "classes");
    for (uint32_t c = 0; c < C; c++)
        cJSON_AddItemToArray(cl, ci_json(&pc[c]));
out:
    if (!o)
        fprintf(stderr, "warning: no B - A intervals: %s\n",
                dg_ctx_last_error(ctx));
    free(pc);
    dg_results_free(r[0]);
    dg_results_free(r[1]);
    return o ? o : cJSON_CreateNull();
}

/* ---- thumbnails --------------------------------------------------------- */

typedef struct pick {
    uint8_t *chosen; /* per frame */
    uint32_t *list;
    uint32_t n, max;
} pick;

static void pick_add(pick *k, uint32_t f)
{
    if (k->n < k->max && !k->chosen[f]) {
        k->chosen[f] = 1;
        k->list[k->n++] = f;
    }
}

/* F1 of a frame's counts, NaN when undefined (as `detgrid frames`). */
static double frame_f1(const dg_frame_counts *c)
{
    uint32_t den = 2 * c->tp + c->fp + c->fn;
    return den ? 2.0 * c->tp / den : NAN;
}

static const dg_frame_counts *sort_fc;

static int worst_first(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    double u = frame_f1(&sort_fc[a]), v = frame_f1(&sort_fc[b]);
    if (isnan(u) != isnan(v))
        return isnan(u) ? 1 : -1;
    if (u != v && !isnan(u))
        return u < v ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Frames by ascending F1 at the defaults (worst first), per set. */
static int worst_frames(dg_ctx *ctx, dg_project *p, const char *name,
                        uint32_t nf, uint32_t **out)
{
    dg_results *r;
    dg_project_info info;
    dg_project_get_info(p, &info);
    dg_frame_counts *fc = calloc(nf + 1, sizeof(*fc));
    uint32_t *o = malloc((nf + 1) * sizeof(*o));
    dg_status st = DG_ENOMEM;
    if (fc && o && (st = dg_results_load(ctx, p, name, &r)) >= 0) {
        int t = report_nearest_iou(r, info.default_iou);
        st = dg_results_frame_counts(ctx, r, p, info.default_conf, t, -1,
                                     fc);
        dg_results_free(r);
    }
    if (st < 0) {
        free(fc);
        free(o);
        return cli_fail(ctx, st);
    }
    for (uint32_t f = 0; f < nf; f++)
        o[f] = f;
    sort_fc = fc;
    qsort(o, nf, sizeof(*o), worst_first);
    free(fc);
    *out = o;
    return EXIT_OK;
}

int report_thumbnails(dg_ctx *ctx, dg_project *p, const char *dir,
                      const char *const *names, int nn, cJSON *sets,
                      uint32_t max, uint32_t size, report_blobs *B,
                      report_thumbs *T, cJSON *j)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t nf = info.n_frames;
    if (!dir || !max || !nf) {
        cJSON_AddNullToObject(j, "images");
        return EXIT_OK;
    }
    if (!dg_image_supported(DG_IMAGE_JPEG)) {
        fprintf(stderr, "warning: this detgrid was built without libjpeg "
                "(Debian: libjpeg62-turbo-dev): the report has no pictures\n");
        cJSON_AddNullToObject(j, "images");
        return EXIT_OK;
    }
    pick k = {calloc(nf, 1), malloc(((size_t)(max < nf ? max : nf) + 1) *
                                    sizeof(uint32_t)), 0,
              max < nf ? max : nf};
    uint32_t *worst[2] = {NULL, NULL};
    int rc = EXIT_OK;
    if (!k.chosen || !k.list) {
        rc = cli_error("out of memory");
        goto out;
    }
    /* 1. the frames of the label-error lists, best entries first */
    cJSON *s;
    for (int depth = 0; depth < 100000 && k.n < k.max; depth++) {
        int any = 0;
        cJSON_ArrayForEach(s, sets) {
            cJSON *le = cJSON_GetObjectItem(s, "label_errors"), *kd;
            if (!cJSON_IsObject(le))
                continue;
            cJSON_ArrayForEach(kd, cJSON_GetObjectItem(le, "kinds")) {
                cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(kd, "list"),
                                              depth);
                if (!e)
                    continue;
                any = 1;
                pick_add(&k, (uint32_t)cJSON_GetObjectItem(e, "frame")
                                 ->valuedouble);
            }
        }
        if (!any)
            break;
    }
    /* 2. the worst frames of each set, interleaved */
    for (int i = 0; i < nn; i++)
        if ((rc = worst_frames(ctx, p, names[i], nf, &worst[i])) != EXIT_OK)
            goto out;
    for (uint32_t q = 0; q < nf && k.n < k.max; q++)
        for (int i = 0; i < nn; i++)
            pick_add(&k, worst[i][q]);

    /* Each chosen frame's picture as a thumbnail JPEG. */
    uint32_t *fr = malloc(((size_t)k.n + 1) * sizeof(*fr));
    uint16_t *tw = malloc(((size_t)k.n + 1) * sizeof(*tw));
    uint16_t *th = malloc(((size_t)k.n + 1) * sizeof(*th));
    double *sc = malloc(((size_t)k.n + 1) * sizeof(*sc));
    T->s = calloc((size_t)k.n + 1, sizeof(char *));
    if (!fr || !tw || !th || !sc || !T->s) {
        free(fr);
        free(tw);
        free(th);
        free(sc);
        rc = cli_error("out of memory");
        goto out;
    }
    uint32_t missing = 0, done = 0;
    char first_err[600] = "", path[8192];
    size_t bytes = 0;
    for (uint32_t q = 0; q < k.n; q++) {
        uint32_t f = k.list[q];
        dg_image im;
        double scale;
        uint8_t *jpg;
        size_t len;
        dg_status st = dg_project_frame_image(ctx, p, dir, f, path,
                                              sizeof(path));
        if (st >= 0)
            st = dg_image_thumbnail(ctx, path, size, size * 3 / 4, &im,
                                    &scale);
        if (st >= 0) {
            st = dg_image_encode(ctx, &im, DG_IMAGE_JPEG, 70, &jpg, &len);
            if (st >= 0) {
                char *b = report_b64(jpg, len);
                free(jpg);
                if (!b) {
                    dg_image_release(&im);
                    rc = cli_error("out of memory");
                    goto thumbs_out;
                }
                fr[T->n] = f;
                tw[T->n] = (uint16_t)im.w;
                th[T->n] = (uint16_t)im.h;
                sc[T->n] = scale;
                T->s[T->n++] = b;
                bytes += strlen(b);
            }
            dg_image_release(&im);
        }
        if (st < 0) {
            if (!missing++)
                snprintf(first_err, sizeof(first_err), "%s",
                         dg_ctx_last_error(ctx));
        }
        if (++done % 50 == 0 || done == k.n)
            cli_step("report: pictures", done, k.n);
    }
    if (missing)
        fprintf(stderr, "warning: %u of %u frames shown have no readable "
                "picture under '%s' (first: %s); the page shows a "
                "placeholder\n", missing, k.n, dir, first_err);
    cJSON *o = cJSON_AddObjectToObject(j, "images");
    cJSON_AddStringToObject(o, "dir", dir);
    cJSON_AddNumberToObject(o, "n", T->n);
    cJSON_AddNumberToObject(o, "missing", missing);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddItemToObject(o, "frame", report_blob_add(B, fr, T->n, "u32"));
    cJSON_AddItemToObject(o, "w", report_blob_add(B, tw, T->n, "u16"));
    cJSON_AddItemToObject(o, "h", report_blob_add(B, th, T->n, "u16"));
    cJSON_AddItemToObject(o, "scale", report_blob_add(B, sc, T->n, "f64"));
thumbs_out:
    free(fr);
    free(tw);
    free(th);
    free(sc);
out:
    free(k.chosen);
    free(k.list);
    free(worst[0]);
    free(worst[1]);
    return rc;
}

void report_thumbs_release(report_thumbs *T)
{
    for (uint32_t i = 0; i < T->n; i++)
        free(T->s[i]);
    free(T->s);
    memset(T, 0, sizeof(*T));
}
