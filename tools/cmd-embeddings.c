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

static const char *const usage[] = {
    "detgrid embeddings <project.h5> [--inferences <name>] [--model <m>] "
    "[--crops] [--projection pca|layout] "
    "[--color precision|recall|f1|confusion] "
    "[--only tp|fp|fn|misclassified] [--conf <c>] [--iou <t>] "
    "[--plot out.svg|out.png] [--clusters <k>] [--patterns] "
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
    cJSON *dc = cJSON_AddArrayToObject(o, "dominant_error_classes");
    for (int i = 0; i < 3; i++) {
        if (c->top_class[i] == UINT32_MAX)
            break;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "class",
                                dg_project_class_name(p, c->top_class[i]));
        cJSON_AddNumberToObject(e, "errors", (double)c->top_count[i]);
        cJSON_AddItemToArray(dc, e);
    }
    cJSON *rf = cJSON_AddArrayToObject(o, "representative_frames");
    for (int i = 0; i < 5; i++) {
        if (c->rep_frame[i] == UINT32_MAX)
            break;
        cJSON_AddItemToArray(
            rf, cJSON_CreateString(dg_project_frame_id(p, c->rep_frame[i])));
    }
    return o;
}

int cmd_embeddings(int argc, const char **argv)
{
    const char *inf = NULL, *model = NULL, *color = NULL, *only = NULL,
               *plot = NULL, *save = NULL, *segment = NULL, *device = NULL,
               *proj = NULL;
    double conf = NAN, iou = NAN;
    long k_opt = -1, cluster_opt = -1, seed = 1;
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
         "write the scatter plot (.svg or .png)", 0},
        {OPT_INT, 'k', "clusters", &k_opt, "<k>",
         "k-means with k clusters (0: chosen by the elbow, the default for "
         "frames; crops: classes + 2, at most 24)",
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
    int col = crops_mode ? COL_CONFUSION : COL_F1;
    if (color) {
        if (!strcmp(color, "precision"))
            col = COL_PRECISION;
        else if (!strcmp(color, "recall"))
            col = COL_RECALL;
        else if (!strcmp(color, "f1"))
            col = COL_F1;
        else if (!strcmp(color, "confusion"))
            col = COL_CONFUSION;
        else
            cli_usage_error(usage, opts, "--color: '%s' is not precision, "
                            "recall, f1 or confusion", color);
        if (crops_mode && col != COL_CONFUSION)
            cli_usage_error(usage, opts, "--crops are coloured by confusion "
                            "type only");
    }
    int only_kind = -1;
    if (only) {
        for (int i = 0; i < 4; i++)
            if (!strcmp(only, crop_cats[i]))
                only_kind = i;
        if (only_kind < 0)
            cli_usage_error(usage, opts, "--only: '%s' is not tp, fp, fn or "
                            "misclassified", only);
    }
    int layout = 0;
    if (proj && !strcmp(proj, "layout"))
        layout = 1;
    else if (proj && strcmp(proj, "pca"))
        cli_usage_error(usage, opts, "--projection is pca or layout");
    if (plot && !has_suffix(plot, ".svg") && !has_suffix(plot, ".png"))
        cli_usage_error(usage, opts, "--plot: the file must end in .svg or "
                        ".png");
    if (k_opt < -1 || k_opt > 1000)
        cli_usage_error(usage, opts, "--clusters must be 0 .. 1000");
    if (cluster_opt >= 0 && k_opt < 0 && !patterns && !save)
        cli_usage_error(usage, opts, "--cluster needs --clusters, --patterns "
                        "or --save-segment");
    if (seed < 0)
        cli_usage_error(usage, opts, "--seed must be >= 0");
    int want_clusters = k_opt >= 0 || patterns || save;

    dg_ctx *ctx = cli_ctx(device);
    dg_project *p = NULL;
    dg_results *r = NULL;
    int rc = EXIT_ERROR, t;
    dg_status st;
    dg_crop *crops = NULL;
    uint64_t n_crops = 0, n = 0;
    const float **rows = NULL;
    uint64_t *pt = NULL; /* point -> frame (frames) or crop index */
    dg_frame_counts *fc = NULL;
    double *xy = NULL, *dist = NULL, *value = NULL;
    uint32_t *assign = NULL, k = 0;
    uint8_t *cat = NULL, *hi = NULL;
    dg_pattern_cluster *pc = NULL;
    const char *name = cli_open_inferences(ctx, pos[0], inf, &conf, &iou, &p);
    if (!name)
        goto done;
    if ((rc = cli_load_segment_results(ctx, p, name, iou, segment, &r,
                                       &t)) != EXIT_OK)
        goto done;
    rc = EXIT_ERROR;
    double thr = dg_results_iou(r, t);
    if (!model) {
        uint32_t nm = dg_project_n_embedding_models(p);
        if (nm == 0) {
            cli_error("'%s' holds no embeddings (see 'detgrid import "
                      "embeddings --help')", pos[0]);
            goto done;
        }
        if (nm > 1) {
            cli_error("'%s' holds embeddings of %u models; pick one with "
                      "--model", pos[0], nm);
            goto done;
        }
        model = dg_project_embedding_model(p, 0);
    }
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint32_t F = info.n_frames;
    const float *fe = NULL, *le = NULL, *de = NULL;
    uint64_t nr;
    uint32_t dim = 0;
    fc = calloc(F ? F : 1, sizeof(*fc));
    if (!fc) {
        cli_error("out of memory");
        goto done;
    }
    if ((st = dg_results_frame_counts(ctx, r, p, conf, t, -1, fc)) < 0 ||
        (st = dg_results_crops(ctx, r, p, conf, t, &crops, &n_crops)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    /* Which frames the results' restriction keeps: frames with any crop
     * or, for empty frames, the segment's frames. */
    uint8_t *keep = NULL;
    if (segment && strcmp(segment, "all")) {
        int64_t si = dg_project_segment_index(p, segment);
        const uint32_t *sf;
        uint32_t sn;
        keep = calloc(F ? F : 1, 1);
        if (!keep || si < 0 ||
            dg_project_segment_frames(ctx, p, (uint32_t)si, &sf, &sn) < 0) {
            free(keep);
            cli_error("cannot read segment '%s'", segment);
            goto done;
        }
        for (uint32_t i = 0; i < sn; i++)
            if (sf[i] < F)
                keep[sf[i]] = 1;
    }
    if (!crops_mode) {
        if ((st = dg_project_get_embeddings(ctx, p, model, DG_EMBED_FRAMES,
                                            NULL, &fe, &nr, &dim)) < 0) {
            free(keep);
            rc = cli_fail(ctx, st);
            goto done;
        }
        uint8_t *has = NULL;
        if (only_kind >= 0) {
            has = calloc(F ? F : 1, 1);
            if (!has) {
                free(keep);
                cli_error("out of memory");
                goto done;
            }
            for (uint64_t i = 0; i < n_crops; i++)
                if (crops[i].outcome == (uint8_t)only_kind)
                    has[crops[i].frame] = 1;
        }
        rows = malloc((F ? F : 1) * sizeof(*rows));
        pt = malloc((F ? F : 1) * sizeof(*pt));
        if (!rows || !pt) {
            free(has);
            free(keep);
            cli_error("out of memory");
            goto done;
        }
        for (uint32_t f = 0; f < F; f++) {
            if ((keep && !keep[f]) || (has && !has[f]))
                continue;
            rows[n] = fe + (size_t)f * dim;
            pt[n++] = f;
        }
        free(has);
    } else {
        if ((st = dg_project_get_embeddings(ctx, p, model, DG_EMBED_LABELS,
                                            NULL, &le, &nr, &dim)) < 0 ||
            (st = dg_project_get_embeddings(ctx, p, model,
                                            DG_EMBED_INFERENCES, name, &de,
                                            &nr, &dim)) < 0) {
            free(keep);
            rc = cli_fail(ctx, st);
            goto done;
        }
        rows = malloc((n_crops ? n_crops : 1) * sizeof(*rows));
        pt = malloc((n_crops ? n_crops : 1) * sizeof(*pt));
        if (!rows || !pt) {
            free(keep);
            cli_error("out of memory");
            goto done;
        }
        for (uint64_t i = 0; i < n_crops; i++) {
            const dg_crop *c = &crops[i];
            if (only_kind >= 0 && c->outcome != (uint8_t)only_kind)
                continue;
            if (c->outcome > DG_CROP_MISCLASSIFIED)
                continue;
            rows[n] = (c->kind ? de : le) + (size_t)c->index * dim;
            pt[n++] = i;
        }
    }
    free(keep);
    if (n == 0) {
        cli_error("no %s to project%s", crops_mode ? "crops" : "frames",
                  only ? " (see --only)" : "");
        goto done;
    }
    xy = malloc(n * 2 * sizeof(double));
    if (!xy) {
        cli_error("out of memory");
        goto done;
    }
    dg_embed_points pts = {n, dim, rows};
    double var[2], t0 = dg__cli_now();
    dg_layout_opts lo = {0, 0, (uint64_t)seed};
    if ((st = dg_embed_pca(ctx, &pts, 0, xy, var, NULL)) < 0 ||
        (layout && (st = dg_embed_layout(ctx, &pts, &lo, xy)) < 0)) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    double t_pca = dg__cli_now() - t0, t_km = 0;
    cli_flush_warnings(ctx);
    if (want_clusters) {
        dg_kmeans_opts ko = {(uint32_t)(k_opt > 0 ? k_opt : 0),
                             (uint64_t)seed, 0, 0};
        /* Crops gather around their classes, so the elbow stops early:
         * by default crops get a cluster per class and two, up to 24. */
        if (crops_mode && k_opt < 0)
            ko.k = info.n_classes + 2 < 24 ? info.n_classes + 2 : 24;
        if (ko.k > n)
            ko.k = (uint32_t)n;
        assign = malloc(n * sizeof(uint32_t));
        dist = malloc(n * sizeof(double));
        if (!assign || !dist) {
            cli_error("out of memory");
            goto done;
        }
        t0 = dg__cli_now();
        if ((st = dg_embed_kmeans(ctx, &pts, &ko, assign, dist, NULL, NULL,
                                  &k)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        t_km = dg__cli_now() - t0;
        if (!crops_mode) {
            uint32_t *fa = malloc((F ? F : 1) * sizeof(uint32_t));
            double *fd = malloc((F ? F : 1) * sizeof(double));
            if (!fa || !fd) {
                free(fa);
                free(fd);
                cli_error("out of memory");
                goto done;
            }
            for (uint32_t f = 0; f < F; f++)
                fa[f] = UINT32_MAX, fd[f] = INFINITY;
            for (uint64_t i = 0; i < n; i++)
                fa[pt[i]] = assign[i], fd[pt[i]] = dist[i];
            st = dg_patterns_frames(ctx, r, p, conf, t, fa, fd, k, &pc);
            free(fa);
            free(fd);
        } else {
            dg_crop *sel = malloc(n * sizeof(*sel));
            if (!sel) {
                cli_error("out of memory");
                goto done;
            }
            for (uint64_t i = 0; i < n; i++)
                sel[i] = crops[pt[i]];
            st = dg_patterns_crops(ctx, sel, n, assign, dist, k,
                                   info.n_classes, &pc);
            free(sel);
        }
        if (st < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
    }
    long chosen = -1;
    if (pc) {
        chosen = cluster_opt >= 0 ? cluster_opt : (long)pc[0].id;
        if (chosen >= (long)k) {
            cli_error("--cluster %ld: there are %u clusters", chosen, k);
            goto done;
        }
    }

    /* Colours. */
    value = malloc(n * sizeof(double));
    cat = malloc(n);
    if (!value || !cat) {
        cli_error("out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (crops_mode) {
            cat[i] = crops[pt[i]].outcome;
            continue;
        }
        const dg_frame_counts *c = &fc[pt[i]];
        dg_counts cc = {c->tp, c->fp, c->fn, c->n_gt, c->n_det};
        dg_prf m = dg_counts_prf(&cc);
        value[i] = col == COL_PRECISION ? m.precision
                   : col == COL_RECALL  ? m.recall
                                        : m.f1;
        cat[i] = (uint8_t)((c->fp ? 1 : 0) + (c->fn ? 2 : 0));
    }
    if (chosen >= 0) {
        hi = calloc(n, 1);
        if (!hi) {
            cli_error("out of memory");
            goto done;
        }
        for (uint64_t i = 0; i < n; i++)
            hi[i] = assign[i] == (uint32_t)chosen;
    }

    if (save) {
        uint32_t *sf = malloc((F ? F : 1) * sizeof(uint32_t));
        uint8_t *in = calloc(F ? F : 1, 1);
        uint32_t sn = 0;
        if (!sf || !in) {
            free(sf);
            free(in);
            cli_error("out of memory");
            goto done;
        }
        for (uint64_t i = 0; i < n; i++)
            if (assign[i] == (uint32_t)chosen)
                in[crops_mode ? crops[pt[i]].frame : pt[i]] = 1;
        for (uint32_t f = 0; f < F; f++)
            if (in[f])
                sf[sn++] = f;
        free(in);
        st = dg_project_add_segment(ctx, p, save, DG_SEGMENT_SCENARIO, sf,
                                    sn);
        free(sf);
        if (st >= 0)
            st = dg_project_save(ctx, p, pos[0]);
        if (st < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        fprintf(stderr, "saved cluster %ld (%u frames) as scenario segment "
                "'%s'\n", chosen, sn, save);
    }

    char title[512];
    const char *what = crops_mode ? "crops by confusion type"
                       : col == COL_PRECISION ? "frames by precision"
                       : col == COL_RECALL    ? "frames by recall"
                       : col == COL_F1        ? "frames by F1"
                                              : "frames by error type";
    snprintf(title, sizeof(title),
             "%s: %s%s%s at conf >= %g, IoU >= %g (%s, %s)", name, what,
             only ? ", only " : "", only ? only : "", conf, thr, model,
             layout ? "kNN layout" : "PCA");
    if (plot) {
        char names[4][96];
        const char *cn[4];
        uint64_t cnt[4] = {0, 0, 0, 0};
        for (uint64_t i = 0; i < n; i++)
            if (cat[i] < 4)
                cnt[cat[i]]++;
        for (int i = 0; i < 4; i++) {
            snprintf(names[i], sizeof(names[i]), "%s (%llu)",
                     crops_mode ? crop_cats[i] : frame_cats[i],
                     (unsigned long long)cnt[i]);
            cn[i] = names[i];
        }
        char xl[64], yl[64], vn[32];
        snprintf(xl, sizeof(xl), "PC1 (variance %.3g)", var[0]);
        snprintf(yl, sizeof(yl), "PC2 (variance %.3g)", var[1]);
        if (layout) {
            snprintf(xl, sizeof(xl), "layout x");
            snprintf(yl, sizeof(yl), "layout y");
        }
        snprintf(vn, sizeof(vn), "%s per frame",
                 col == COL_PRECISION ? "precision"
                 : col == COL_RECALL  ? "recall"
                                      : "F1");
        char note[256] = "";
        if (pc) {
            const dg_pattern_cluster *q = NULL;
            int rank = 0;
            for (uint32_t c = 0; c < k; c++)
                if (pc[c].id == (uint32_t)chosen)
                    q = &pc[c], rank = (int)c + 1;
            if (q && !crops_mode)
                snprintf(note, sizeof(note),
                         "selected: cluster %u\nrank %d/%u, %llu frames\n"
                         "F1 %.3f (all %.3f)\nz %.1f",
                         q->id, rank, k, (unsigned long long)q->size,
                         q->prf.f1, q->prf.f1 + q->deficit, q->z);
            else if (q)
                snprintf(note, sizeof(note),
                         "selected: cluster %u\nrank %d/%u, %llu crops\n"
                         "FP %.0f%%, FN %.0f%%\nz %.1f",
                         q->id, rank, k, (unsigned long long)q->size,
                         isnan(q->fp_share) ? 0 : 100 * q->fp_share,
                         isnan(q->fn_share) ? 0 : 100 * q->fn_share, q->z);
        }
        dg_plot pl = {title, xl, yl, n, NULL, NULL, NULL, vn, NULL, cn, 4,
                      hi, 0, 0, note[0] ? note : NULL};
        double *px = malloc(n * sizeof(double)), *py = malloc(n * sizeof(double));
        if (!px || !py) {
            free(px);
            free(py);
            cli_error("out of memory");
            goto done;
        }
        for (uint64_t i = 0; i < n; i++)
            px[i] = xy[2 * i], py[i] = xy[2 * i + 1];
        pl.x = px;
        pl.y = py;
        if (col == COL_CONFUSION)
            pl.category = cat;
        else
            pl.value = value;
        int wrc;
        if (has_suffix(plot, ".png")) {
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
        if (wrc != EXIT_OK) {
            rc = wrc;
            goto done;
        }
    }

    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "inferences", name);
        cJSON_AddStringToObject(j, "model", model);
        cJSON_AddStringToObject(j, "points_of", crops_mode ? "crops" : "frames");
        cJSON_AddItemToObject(j, "conf", cli_num(conf));
        cJSON_AddItemToObject(j, "iou", cli_num(thr));
        cJSON_AddNumberToObject(j, "dim", dim);
        cJSON *pj = cJSON_AddObjectToObject(j, "projection");
        cJSON_AddStringToObject(pj, "method", layout ? "layout" : "pca");
        cJSON *va = cJSON_AddArrayToObject(pj, "variance");
        cJSON_AddItemToArray(va, cli_num(var[0]));
        cJSON_AddItemToArray(va, cli_num(var[1]));
        cJSON *tj = cJSON_AddObjectToObject(j, "seconds");
        cJSON_AddItemToObject(tj, "projection", cli_num(t_pca));
        cJSON_AddItemToObject(tj, "clustering", cli_num(t_km));
        cJSON *arr = cJSON_AddArrayToObject(j, "points");
        for (uint64_t i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            if (crops_mode) {
                const dg_crop *c = &crops[pt[i]];
                cJSON_AddStringToObject(o, "kind",
                                        c->kind ? "detection" : "label");
                cJSON_AddNumberToObject(o, "index", (double)c->index);
                cJSON_AddNumberToObject(o, "frame", c->frame);
                cJSON_AddStringToObject(o, "frame_id",
                                        dg_project_frame_id(p, c->frame));
                cJSON_AddStringToObject(o, "class",
                                        dg_project_class_name(p, c->cls));
                cJSON_AddStringToObject(
                    o, "outcome", dg_crop_outcome_name((dg_crop_outcome)c->outcome));
                cJSON_AddItemToObject(o, "score", cli_num(c->score));
            } else {
                uint32_t f = (uint32_t)pt[i];
                const dg_frame_counts *c = &fc[f];
                dg_counts cc = {c->tp, c->fp, c->fn, c->n_gt, c->n_det};
                cJSON_AddNumberToObject(o, "frame", f);
                cJSON_AddStringToObject(o, "frame_id",
                                        dg_project_frame_id(p, f));
                cJSON_AddNumberToObject(o, "tp", c->tp);
                cJSON_AddNumberToObject(o, "fp", c->fp);
                cJSON_AddNumberToObject(o, "fn", c->fn);
                cli_prf_json(o, dg_counts_prf(&cc));
            }
            cJSON_AddItemToObject(o, "x", cli_num(xy[2 * i]));
            cJSON_AddItemToObject(o, "y", cli_num(xy[2 * i + 1]));
            if (assign)
                cJSON_AddNumberToObject(o, "cluster", assign[i]);
            cJSON_AddItemToArray(arr, o);
        }
        if (pc) {
            cJSON_AddNumberToObject(j, "k", k);
            cJSON *ca = cJSON_AddArrayToObject(j, "clusters");
            for (uint32_t c = 0; c < k; c++)
                cJSON_AddItemToArray(ca,
                                     cluster_json(p, &pc[c], (int)c + 1,
                                                  !crops_mode));
        }
        cli_print_json(j, compact);
    } else {
        printf("%s: %llu %s, model '%s' (dimension %u), conf >= %g, IoU >= "
               "%g\n",
               name, (unsigned long long)n, crops_mode ? "crops" : "frames",
               model, dim, conf, thr);
        printf("%s variance %.4g, %.4g; %.3f s",
               layout ? "kNN layout from PCA of" : "PCA:", var[0], var[1],
               t_pca);
        if (pc)
            printf("; k-means: k = %u, %.3f s", k, t_km);
        printf("\n");
        if (pc) {
            printf("\n%4s %7s %8s %8s %8s %8s %9s %9s %8s  %s\n", "rank",
                   "cluster", "size", "TP", "FP", "FN", "F1",
                   crops_mode ? "FP/FN %" : "deficit", "z",
                   "dominant error classes; representative frames");
            for (uint32_t c = 0; c < k; c++) {
                const dg_pattern_cluster *q = &pc[c];
                char share[32];
                if (crops_mode)
                    snprintf(share, sizeof(share), "%.0f/%.0f",
                             isnan(q->fp_share) ? 0 : 100 * q->fp_share,
                             isnan(q->fn_share) ? 0 : 100 * q->fn_share);
                else
                    snprintf(share, sizeof(share), "%+.4f", q->deficit);
                printf("%4u %7u %8llu %8llu %8llu %8llu %9.4f %9s %8.2f  ",
                       c + 1, q->id, (unsigned long long)q->size,
                       (unsigned long long)q->counts.tp,
                       (unsigned long long)q->counts.fp,
                       (unsigned long long)q->counts.fn, q->prf.f1, share,
                       q->z);
                for (int i = 0; i < 3 && q->top_class[i] != UINT32_MAX; i++)
                    printf("%s%s", i ? ", " : "",
                           dg_project_class_name(p, q->top_class[i]));
                printf(";");
                for (int i = 0; i < 5 && q->rep_frame[i] != UINT32_MAX; i++)
                    printf(" %s", dg_project_frame_id(p, q->rep_frame[i]));
                printf("\n");
            }
        }
        if (plot)
            printf("\nwrote '%s'\n", plot);
    }
    rc = EXIT_OK;
done:
    cli_flush_warnings(ctx);
    free(pc);
    free(hi);
    free(cat);
    free(value);
    free(dist);
    free(assign);
    free(xy);
    free(pt);
    free(rows);
    free(fc);
    free(crops);
    dg_results_free(r);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
