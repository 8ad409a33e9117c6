/*
 * detgrid embeddings: a 2-D projection (PCA on the device or the reference
 * path) of frame or crop embeddings coloured by per-frame metrics or by
 * confusion type, k-means clusters, failure patterns ranked worst first,
 * a cluster saved as a scenario segment, plots as SVG or PNG.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "explain.h"

static const char *const usage[] = {
    "detgrid embeddings <project.h5> [--inferences <name>] [--model <m>] "
    "[--crops] [--projection pca|layout] "
    "[--color precision|recall|f1|confusion] "
    "[--only tp|fp|fn|misclassified] [--conf <c>] [--iou <t>] "
    "[--plot out.png|svg|pdf] [--clusters <k>] "
    "[--choose-k bic|silhouette|elbow] [--k-max <n>] [--patterns] "
    "[--save-segment <name> [--cluster <i>]] [--json]",
    NULL};

enum { COL_PRECISION, COL_RECALL, COL_F1, COL_CONFUSION };

/* Frame categories when frames are coloured by confusion. */
static const char *const frame_cats[4] = {"no errors", "false positives only",
                                          "misses only",
                                          "false positives and misses"};
static const char *const crop_cats[4] = {"tp", "fp", "fn", "misclassified"};

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static cJSON *cluster_json(dg_project *p, const dg_pattern_cluster *c,
                           int rank, int frames)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rank", rank);
    cJSON_AddNumberToObject(o, "cluster", c->id);
    cJSON_AddNumberToObject(o, "size", (double)c->size);
    cJSON_AddNumberToObject(o, "tp", (double)c->counts.tp);
    cJSON_AddNumberToObject(o, "fp", (double)c->counts.fp);
    cJSON_AddNumberToObject(o, "fn", (double)c->counts.fn);
    cli_prf_json(o, c->prf);
    if (frames)
        cJSON_AddItemToObject(o, "f1_deficit", cli_num(c->deficit));
    else {
        cJSON_AddItemToObject(o, "fp_share", cli_num(c->fp_share));
        cJSON_AddItemToObject(o, "fn_share", cli_num(c->fn_share));
    }
    cJSON_AddItemToObject(o, "z", cli_num(c->z));
    cJSON_AddItemToObject(o, "p", cli_num(c->p));
    cJSON_AddItemToObject(o, "q", cli_num(c->q));
    cli_explain_json(cJSON_AddObjectToObject(o, "explain"), p, &c->explain);
    return o;
}

/* What the output steps need. */
typedef struct view {
    dg_project *p;
    const char *name, *model, *only;
    int crops, col, layout;
    double conf, thr;
    const dg_embeddings_result *res;
    long chosen;         /* the cluster highlighted, or -1 */
    const double *value; /* per point: its frame's precision, recall or F1 */
    const uint8_t *cat;  /* per point: its category (frame_cats, crop_cats) */
    const uint8_t *hi;   /* per point: in the chosen cluster, or NULL */
} view;

/* The note on the chosen cluster under the legend ("" without). */
static void plot_note(const view *v, char *note, size_t cap)
{
    const dg_embeddings_result *res = v->res;
    const dg_pattern_cluster *q = NULL;
    uint32_t k = res->k;
    int rank = 0;
    note[0] = 0;
    if (!res->clusters)
        return;
    for (uint32_t c = 0; c < k; c++)
        if (res->clusters[c].id == (uint32_t)v->chosen)
            q = &res->clusters[c], rank = (int)c + 1;
    if (q && !v->crops)
        snprintf(note, cap,
                 "selected: cluster %u\nrank %d/%u, %llu frames\n"
                 "F1 %.3f (all %.3f)\nz %.1f",
                 q->id, rank, k, (unsigned long long)q->size, q->prf.f1,
                 q->prf.f1 + q->deficit, q->z);
    else if (q)
        snprintf(note, cap,
                 "selected: cluster %u\nrank %d/%u, %llu crops\n"
                 "FP %.0f%%, FN %.0f%%\nz %.1f",
                 q->id, rank, k, (unsigned long long)q->size,
                 isnan(q->fp_share) ? 0 : 100 * q->fp_share,
                 isnan(q->fn_share) ? 0 : 100 * q->fn_share, q->z);
}

/* The scatter plot, as SVG or PNG by the file's name. */
static int write_plot(dg_ctx *ctx, const view *v, const char *plot)
{
    const dg_embeddings_result *res = v->res;
    uint64_t n = res->n;
    dg_status st;
    char title[512];
    const char *what = v->crops ? "crops by confusion type"
                       : v->col == COL_PRECISION ? "frames by precision"
                       : v->col == COL_RECALL    ? "frames by recall"
                       : v->col == COL_F1        ? "frames by F1"
                                                 : "frames by error type";
    snprintf(title, sizeof(title),
             "%s: %s%s%s at conf >= %g, IoU >= %g (%s, %s)", v->name, what,
             v->only ? ", only " : "", v->only ? v->only : "", v->conf,
             v->thr, v->model, v->layout ? "kNN layout" : "PCA");
    char names[4][96];
    const char *cn[4];
    uint64_t cnt[4] = {0, 0, 0, 0};
    for (uint64_t i = 0; i < n; i++)
        if (v->cat[i] < 4)
            cnt[v->cat[i]]++;
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof(names[i]), "%s (%llu)",
                 v->crops ? crop_cats[i] : frame_cats[i],
                 (unsigned long long)cnt[i]);
        cn[i] = names[i];
    }
    char xl[64], yl[64], vn[32];
    snprintf(xl, sizeof(xl), "PC1 (variance %.3g)", res->var[0]);
    snprintf(yl, sizeof(yl), "PC2 (variance %.3g)", res->var[1]);
    if (v->layout) {
        snprintf(xl, sizeof(xl), "layout x");
        snprintf(yl, sizeof(yl), "layout y");
    }
    snprintf(vn, sizeof(vn), "%s per frame",
             v->col == COL_PRECISION ? "precision"
             : v->col == COL_RECALL  ? "recall"
                                     : "F1");
    char note[256];
    plot_note(v, note, sizeof(note));
    dg_plot pl = {title, xl, yl, n, NULL, NULL, NULL, vn, NULL, cn, 4,
                  v->hi, 0, 0, note[0] ? note : NULL};
    double *px = malloc(n * sizeof(double)), *py = malloc(n * sizeof(double));
    if (!px || !py) {
        free(px);
        free(py);
        return cli_error("out of memory");
    }
    for (uint64_t i = 0; i < n; i++)
        px[i] = res->xy[2 * i], py[i] = res->xy[2 * i + 1];
    pl.x = px;
    pl.y = py;
    if (v->col == COL_CONFUSION)
        pl.category = v->cat;
    else
        pl.value = v->value;
    int wrc;
    if (dg_chart_supported()) {
        /* cairo: anti-aliased text, deflated PNG, SVG or PDF */
        st = dg_plot_write(ctx, &pl, plot);
        wrc = st < 0 ? cli_fail(ctx, st) : EXIT_OK;
    } else if (has_suffix(plot, ".png")) {
        unsigned char *img;
        size_t len;
        st = dg_plot_png(ctx, &pl, &img, &len);
        wrc = st < 0 ? cli_fail(ctx, st)
                     : cli_write_file(plot, (const char *)img, len);
        if (st >= 0)
            free(img);
    } else {
        char *svg;
        size_t len;
        st = dg_plot_svg(ctx, &pl, &svg, &len);
        wrc = st < 0 ? cli_fail(ctx, st) : cli_write_file(plot, svg, len);
        if (st >= 0)
            free(svg);
    }
    free(px);
    free(py);
    return wrc;
}

/* One point of --json. */
static cJSON *point_json(const view *v, uint64_t i)
{
    const dg_embeddings_result *res = v->res;
    dg_project *p = v->p;
    cJSON *o = cJSON_CreateObject();
    if (v->crops) {
        const dg_crop *c = &res->crop[res->point[i]];
        cJSON_AddStringToObject(o, "kind", c->kind ? "detection" : "label");
        cJSON_AddNumberToObject(o, "index", (double)c->index);
        cJSON_AddNumberToObject(o, "frame", c->frame);
        cJSON_AddStringToObject(o, "frame_id",
                                dg_project_frame_id(p, c->frame));
        cJSON_AddStringToObject(o, "class", dg_project_class_name(p, c->cls));
        cJSON_AddStringToObject(
            o, "outcome", dg_crop_outcome_name((dg_crop_outcome)c->outcome));
        cJSON_AddItemToObject(o, "score", cli_num(c->score));
    } else {
        uint32_t f = (uint32_t)res->point[i];
        const dg_frame_counts *c = &res->frame_counts[f];
        dg_counts cc = {c->tp, c->fp, c->fn, c->n_gt, c->n_det};
        cJSON_AddNumberToObject(o, "frame", f);
        cJSON_AddStringToObject(o, "frame_id", dg_project_frame_id(p, f));
        cJSON_AddNumberToObject(o, "tp", c->tp);
        cJSON_AddNumberToObject(o, "fp", c->fp);
        cJSON_AddNumberToObject(o, "fn", c->fn);
        cli_prf_json(o, dg_counts_prf(&cc));
    }
    cJSON_AddItemToObject(o, "x", cli_num(res->xy[2 * i]));
    cJSON_AddItemToObject(o, "y", cli_num(res->xy[2 * i + 1]));
    if (res->assign)
        cJSON_AddNumberToObject(o, "cluster", res->assign[i]);
    return o;
}

static void print_json(const view *v, int compact)
{
    const dg_embeddings_result *res = v->res;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "inferences", v->name);
    cJSON_AddStringToObject(j, "model", v->model);
    cJSON_AddStringToObject(j, "points_of", v->crops ? "crops" : "frames");
    cJSON_AddItemToObject(j, "conf", cli_num(v->conf));
    cJSON_AddItemToObject(j, "iou", cli_num(v->thr));
    cJSON_AddNumberToObject(j, "dim", res->dim);
    cJSON *pj = cJSON_AddObjectToObject(j, "projection");
    cJSON_AddStringToObject(pj, "method", v->layout ? "layout" : "pca");
    cJSON *va = cJSON_AddArrayToObject(pj, "variance");
    cJSON_AddItemToArray(va, cli_num(res->var[0]));
    cJSON_AddItemToArray(va, cli_num(res->var[1]));
    cJSON *tj = cJSON_AddObjectToObject(j, "seconds");
    cJSON_AddItemToObject(tj, "projection", cli_num(res->seconds_projection));
    cJSON_AddItemToObject(tj, "clustering", cli_num(res->seconds_clustering));
    cJSON *arr = cJSON_AddArrayToObject(j, "points");
    for (uint64_t i = 0; i < res->n; i++)
        cJSON_AddItemToArray(arr, point_json(v, i));
    if (res->clusters) {
        cJSON_AddNumberToObject(j, "k", res->k);
        cJSON_AddNumberToObject(j, "k_fit", res->k_fit);
        if (res->k_chosen) {
            const dg_k_choice *kc = &res->k_choice;
            cJSON *kj = cJSON_AddObjectToObject(j, "k_choice");
            cJSON_AddStringToObject(kj, "method",
                                    dg_choose_k_name(kc->method));
            cJSON_AddNumberToObject(kj, "sample", (double)kc->sample);
            cJSON *sc = cJSON_AddArrayToObject(kj, "scores");
            for (uint32_t k = 1; k <= kc->k_max + 1 && k <= DG_K_CHOICE_MAX + 1;
                 k++) {
                if (isnan(kc->score[k]))
                    continue;
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "k", k);
                cJSON_AddItemToObject(e, "score", cli_num(kc->score[k]));
                cJSON_AddItemToArray(sc, e);
            }
        }
        cJSON *ca = cJSON_AddArrayToObject(j, "clusters");
        for (uint32_t c = 0; c < res->k; c++)
            cJSON_AddItemToArray(ca, cluster_json(v->p, &res->clusters[c],
                                                  (int)c + 1, !v->crops));
    }
    cli_print_json(j, compact);
}

static void print_text(const view *v, const char *plot)
{
    const dg_embeddings_result *res = v->res;
    const dg_pattern_cluster *pc = res->clusters;
    uint32_t k = res->k;
    dg_project *p = v->p;
    printf("%s: %llu %s, model '%s' (dimension %u), conf >= %g, IoU >= "
           "%g\n",
           v->name, (unsigned long long)res->n, v->crops ? "crops" : "frames",
           v->model, res->dim, v->conf, v->thr);
    printf("%s variance %.4g, %.4g; %.3f s",
           v->layout ? "kNN layout from PCA of" : "PCA:", res->var[0],
           res->var[1], res->seconds_projection);
    if (pc && res->k_chosen)
        printf("; k-means: k = %u (by %s)", res->k_fit,
               dg_choose_k_name(res->k_choice.method));
    else if (pc)
        printf("; k-means: k = %u", res->k_fit);
    if (pc && res->k_fit > k)
        printf(", %u merged", res->k_fit - k);
    if (pc)
        printf(", %.3f s", res->seconds_clustering);
    printf("\n");
    if (pc) {
        printf("\n%4s %7s %8s %8s %8s %8s %9s %9s %8s %9s\n", "rank",
               "cluster", "size", "TP", "FP", "FN", "F1",
               v->crops ? "FP/FN %" : "deficit", "z", "q");
        for (uint32_t c = 0; c < k; c++) {
            const dg_pattern_cluster *q = &pc[c];
            char share[32], ex[512];
            if (v->crops)
                snprintf(share, sizeof(share), "%.0f/%.0f",
                         isnan(q->fp_share) ? 0 : 100 * q->fp_share,
                         isnan(q->fn_share) ? 0 : 100 * q->fn_share);
            else
                snprintf(share, sizeof(share), "%+.4f", q->deficit);
            printf("%4u %7u %8llu %8llu %8llu %8llu %9.4f %9s %8.2f %9.2g\n",
                   c + 1, q->id, (unsigned long long)q->size,
                   (unsigned long long)q->counts.tp,
                   (unsigned long long)q->counts.fp,
                   (unsigned long long)q->counts.fn, q->prf.f1, share, q->z,
                   q->q);
            cli_explain_text(ex, sizeof(ex), p, &q->explain);
            printf("%12s %s\n%12s", "", ex, "");
            for (int i = 0; i < DG_EXPLAIN_FRAMES; i++)
                if (q->explain.rep_frame[i] != UINT32_MAX)
                    printf(" %s",
                           dg_project_frame_id(p, q->explain.rep_frame[i]));
            printf("\n");
        }
    }
    if (plot)
        printf("\nwrote '%s'\n", plot);
}

/* Colours (values and categories) and the highlight of each point. */
static int colour_points(const view *v, double *value, uint8_t *cat,
                         uint8_t **hi)
{
    const dg_embeddings_result *res = v->res;
    for (uint64_t i = 0; i < res->n; i++) {
        if (v->crops) {
            cat[i] = res->crop[res->point[i]].outcome;
            continue;
        }
        const dg_frame_counts *c = &res->frame_counts[res->point[i]];
        dg_counts cc = {c->tp, c->fp, c->fn, c->n_gt, c->n_det};
        dg_prf m = dg_counts_prf(&cc);
        value[i] = v->col == COL_PRECISION ? m.precision
                   : v->col == COL_RECALL  ? m.recall
                                           : m.f1;
        cat[i] = (uint8_t)((c->fp ? 1 : 0) + (c->fn ? 2 : 0));
    }
    if (v->chosen >= 0) {
        *hi = calloc(res->n, 1);
        if (!*hi)
            return cli_error("out of memory");
        for (uint64_t i = 0; i < res->n; i++)
            (*hi)[i] = res->assign[i] == (uint32_t)v->chosen;
    }
    return EXIT_OK;
}

/* Saves the chosen cluster's frames as scenario segment save. */
static int save_cluster(dg_ctx *ctx, dg_project *p, const char *path,
                        const dg_embeddings_result *res, long chosen,
                        const char *save)
{
    uint32_t *sf, sn = 0;
    dg_status st = dg_embeddings_cluster_frames(ctx, res, (uint32_t)chosen,
                                                &sf, &sn);
    if (st >= 0) {
        st = dg_project_add_segment(ctx, p, save, DG_SEGMENT_SCENARIO, sf,
                                    sn);
        free(sf);
    }
    if (st < 0)
        return cli_fail(ctx, st);
    int rc = cli_save(ctx, p, path, path);
    if (rc != EXIT_OK)
        return rc;
    fprintf(stderr, "saved cluster %ld (%u frames) as scenario segment "
            "'%s'\n", chosen, sn, save);
    return EXIT_OK;
}

/* The colouring --color names (the default without it); -1 if unknown. */
static int colour_of(const char *color, int crops)
{
    if (!color)
        return crops ? COL_CONFUSION : COL_F1;
    if (!strcmp(color, "precision"))
        return COL_PRECISION;
    if (!strcmp(color, "recall"))
        return COL_RECALL;
    if (!strcmp(color, "f1"))
        return COL_F1;
    if (!strcmp(color, "confusion"))
        return COL_CONFUSION;
    return -1;
}

/* The project's only embedding model; NULL, with a message, if it has
 * none or several. */
static const char *only_model(const dg_project *p, const char *path)
{
    uint32_t nm = dg_project_n_embedding_models(p);
    if (nm == 0) {
        cli_error("'%s' holds no embeddings (see 'detgrid import "
                  "embeddings --help')", path);
        return NULL;
    }
    if (nm > 1) {
        cli_error("'%s' holds embeddings of %u models; pick one with "
                  "--model", path, nm);
        return NULL;
    }
    return dg_project_embedding_model(p, 0);
}

int cmd_embeddings(int argc, const char **argv)
{
    const char *inf = NULL, *model = NULL, *color = NULL, *only = NULL,
               *plot = NULL, *save = NULL, *segment = NULL, *device = NULL,
               *proj = NULL, *choose = NULL;
    double conf = NAN, iou = NAN;
    long k_opt = -1, cluster_opt = -1, seed = 1, k_max = 0;
    int crops_mode = 0, patterns = 0, json = 0, compact = 0;
    cli_opt opts[] = {
        CLI_OPT_INFERENCES(inf),
        {OPT_STR, 'm', "model", &model, "<m>",
         "embedding model (default: the only one)", 0},
        {OPT_FLAG, 0, "crops", &crops_mode, NULL,
         "crops of labels and detections instead of frames", 0},
        {OPT_STR, 0, "color", &color, "<what>",
         "precision, recall or f1 per frame (default f1), or confusion "
         "(crops: the default)",
         0},
        {OPT_STR, 0, "only", &only, "<kind>",
         "only crops (frames: frames with any) of kind tp, fp, fn or "
         "misclassified",
         0},
        CLI_OPT_STORED_CONF(conf),
        CLI_OPT_STORED_IOU(iou),
        CLI_OPT_SEGMENT(segment),
        {OPT_STR, 0, "projection", &proj, "pca|layout",
         "PCA (default) or a neighbourhood-preserving layout (kNN graph, "
         "at most 20000 points)",
         0},
        {OPT_STR, 0, "plot", &plot, "<file>",
         "write the scatter plot (.png, .svg or .pdf)", 0},
        {OPT_INT, 'k', "clusters", &k_opt, "<k>",
         "k-means with k clusters (0: chosen, the default for frames; "
         "crops: classes + 2, at most 24)",
         0},
        {OPT_STR, 0, "choose-k", &choose, "<criterion>",
         "how k is chosen: bic (default), silhouette or elbow", 0},
        {OPT_INT, 0, "k-max", &k_max, "<n>",
         "the largest k considered when choosing (default 30, at most 64)",
         0},
        {OPT_FLAG, 0, "patterns", &patterns, NULL,
         "rank clusters by how much worse the model does there", 0},
        {OPT_STR, 0, "save-segment", &save, "<name>",
         "save a cluster's frames as a scenario segment", 0},
        {OPT_INT, 0, "cluster", &cluster_opt, "<i>",
         "the cluster to save or highlight (default: the worst)", 0},
        {OPT_INT, 's', "seed", &seed, "<n>", "k-means seed (default 1)", 0},
        {OPT_STR, 0, "device", &device, "<dev>",
         "auto, gpu, cpu or ref (default: DETGRID_DEVICE, auto)", 0},
        CLI_OPT_JSON(json),
        CLI_OPT_COMPACT(compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    int col = colour_of(color, crops_mode);
    if (col < 0)
        cli_usage_error(usage, opts, "--color: '%s' is not precision, "
                        "recall, f1 or confusion", color);
    if (crops_mode && col != COL_CONFUSION)
        cli_usage_error(usage, opts, "--crops are coloured by confusion "
                        "type only");
    int only_kind = -1;
    for (int i = 0; only && i < 4; i++)
        if (!strcmp(only, crop_cats[i]))
            only_kind = i;
    if (only && only_kind < 0)
        cli_usage_error(usage, opts, "--only: '%s' is not tp, fp, fn or "
                        "misclassified", only);
    int layout = 0;
    if (proj && !strcmp(proj, "layout"))
        layout = 1;
    else if (proj && strcmp(proj, "pca"))
        cli_usage_error(usage, opts, "--projection is pca or layout");
    if (plot && !has_suffix(plot, ".svg") && !has_suffix(plot, ".png") &&
        !(has_suffix(plot, ".pdf") && dg_chart_supported()))
        cli_usage_error(usage, opts, "--plot: the file must end in .png, "
                        ".svg or .pdf");
    if (k_opt < -1 || k_opt > 1000)
        cli_usage_error(usage, opts, "--clusters must be 0 .. 1000");
    if (cluster_opt >= 0 && k_opt < 0 && !patterns && !save)
        cli_usage_error(usage, opts, "--cluster needs --clusters, --patterns "
                        "or --save-segment");
    if (seed < 0)
        cli_usage_error(usage, opts, "--seed must be >= 0");
    int choose_k = choose ? dg_choose_k_parse(choose) : 0;
    if (choose_k < 0)
        cli_usage_error(usage, opts, "--choose-k: '%s' is not bic, "
                        "silhouette or elbow", choose);
    if (k_max < 0 || k_max > DG_K_CHOICE_MAX)
        cli_usage_error(usage, opts, "--k-max must be 2 .. %d",
                        DG_K_CHOICE_MAX);
    if (k_max == 1)
        cli_usage_error(usage, opts, "--k-max must be 2 .. %d",
                        DG_K_CHOICE_MAX);
    dg_ctx *ctx = cli_ctx(device);
    dg_project *p = NULL;
    dg_results *r = NULL;
    int rc = EXIT_ERROR, t;
    dg_status st;
    dg_embeddings_result res;
    double *value = NULL;
    uint8_t *cat = NULL, *hi = NULL;
    memset(&res, 0, sizeof(res));
    /* --save updates the project: locked before it is read. */
    if (save)
        cli_lock(ctx, pos[0]);
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto done;
    if ((rc = cli_load_segment_results(ctx, p, name, conf, iou, segment,
                                       &r, &t)) != EXIT_OK)
        goto done;
    rc = EXIT_ERROR;
    if (!model && !(model = only_model(p, pos[0])))
        goto done;
    dg_embeddings_opts eo;
    dg_embeddings_opts_init(&eo);
    eo.model = model;
    eo.crops = crops_mode;
    eo.conf = conf;
    eo.iou_idx = t;
    eo.only = only_kind;
    eo.layout = layout;
    eo.cluster = k_opt >= 0 || patterns || save;
    eo.k = (int32_t)k_opt;
    eo.choose = (dg_choose_k)choose_k;
    eo.k_max = (uint32_t)k_max;
    eo.seed = (uint64_t)seed;
    if ((st = dg_embeddings_evaluate(ctx, r, p, &eo, &res)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    cli_flush_warnings(ctx);
    if (res.n == 0) {
        cli_error("no %s to project%s", crops_mode ? "crops" : "frames",
                  only ? " (see --only)" : "");
        goto done;
    }
    view v = {.p = p, .name = name, .model = model, .only = only,
              .crops = crops_mode, .col = col, .layout = layout,
              .conf = conf, .thr = dg_results_iou(r, t), .res = &res,
              .chosen = -1};
    if (res.clusters) {
        v.chosen = cluster_opt >= 0 ? cluster_opt : (long)res.clusters[0].id;
        if (v.chosen >= (long)res.k) {
            cli_error("--cluster %ld: there are %u clusters", v.chosen,
                      res.k);
            goto done;
        }
    }
    value = malloc(res.n * sizeof(double));
    cat = malloc(res.n);
    if (!value || !cat) {
        cli_error("out of memory");
        goto done;
    }
    v.value = value;
    v.cat = cat;
    if ((rc = colour_points(&v, value, cat, &hi)) != EXIT_OK)
        goto done;
    v.hi = hi;
    rc = EXIT_ERROR;
    if (save && (rc = save_cluster(ctx, p, pos[0], &res, v.chosen, save)) !=
                    EXIT_OK)
        goto done;
    if (plot && (rc = write_plot(ctx, &v, plot)) != EXIT_OK)
        goto done;
    if (json)
        print_json(&v, compact);
    else
        print_text(&v, plot);
    rc = EXIT_OK;
done:
    cli_flush_warnings(ctx);
    dg_embeddings_result_release(&res);
    free(hi);
    free(cat);
    free(value);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
