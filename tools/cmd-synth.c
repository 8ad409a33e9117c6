/*
 * detgrid synth: synthetic projects and COCO JSON, deterministic for a seed,
 * optionally with planted label mistakes listed in a JSON file.
 */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/image.h"

static const char *const usage[] = {
    "detgrid synth -o <project.h5> [<options>]",
    "detgrid synth --coco-gt <gt.json> [--coco-dt-prefix <prefix>] [<options>]",
    NULL};

static cJSON *box_json(const double *b)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(a, cli_num(b[i]));
    return a;
}

/*
 * The planted mistakes as JSON (docs/ERRORS.md): per mistake its kind, the
 * frame (id, index, COCO image id), the label (record index and COCO
 * annotation id; null for a missing label), classes and boxes.
 */
static int write_planted(dg_ctx *ctx, const dg_synth_opts *o,
                         const char *path)
{
    dg_synth_plant *pl;
    uint64_t n;
    dg_status st = dg_synth_planted(ctx, o, &pl, &n);
    if (st < 0)
        return cli_fail(ctx, st);
    uint64_t count[DG_PLANT_N_KINDS] = {0};
    char name[64];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON *rates = cJSON_AddObjectToObject(j, "rates");
    cJSON_AddItemToObject(rates, "missing", cli_num(o->plant_missing));
    cJSON_AddItemToObject(rates, "wrong-class", cli_num(o->plant_wrong_class));
    cJSON_AddItemToObject(rates, "bad-box", cli_num(o->plant_bad_box));
    cJSON_AddItemToObject(rates, "spurious", cli_num(o->plant_spurious));
    cJSON *counts = cJSON_AddObjectToObject(j, "counts");
    cJSON *arr = cJSON_AddArrayToObject(j, "planted");
    for (uint64_t i = 0; i < n; i++) {
        const dg_synth_plant *p = &pl[i];
        count[p->kind]++;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", dg_plant_kind_name(p->kind));
        dg_synth_frame_id(p->frame, name, sizeof(name));
        cJSON_AddStringToObject(e, "frame", name);
        cJSON_AddNumberToObject(e, "frame_index", p->frame);
        cJSON_AddNumberToObject(e, "image_id", (double)p->frame + 1);
        if (p->label >= 0) {
            cJSON_AddNumberToObject(e, "label", (double)p->label);
            cJSON_AddNumberToObject(e, "annotation_id", (double)p->label + 1);
        } else {
            cJSON_AddNullToObject(e, "label");
            cJSON_AddNullToObject(e, "annotation_id");
        }
        dg_synth_class_name(p->cls, name, sizeof(name));
        cJSON_AddStringToObject(e, "class", name);
        cJSON_AddNumberToObject(e, "class_index", p->cls);
        dg_synth_class_name(p->true_cls, name, sizeof(name));
        cJSON_AddStringToObject(e, "true_class", name);
        cJSON_AddNumberToObject(e, "true_class_index", p->true_cls);
        cJSON_AddItemToObject(e, "box", box_json(p->box));
        cJSON_AddItemToObject(e, "true_box", box_json(p->true_box));
        cJSON_AddItemToObject(e, "iou", cli_num(p->iou));
        cJSON_AddItemToArray(arr, e);
    }
    for (int k = 0; k < DG_PLANT_N_KINDS; k++)
        cJSON_AddNumberToObject(counts, dg_plant_kind_name((dg_plant_kind)k),
                                (double)count[k]);
    free(pl);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return cli_error("out of memory");
    size_t len = strlen(text);
    int rc = cli_write_file(path, text, len);
    free(text);
    if (rc == EXIT_OK)
        fprintf(stderr,
                "wrote '%s': %llu missing, %llu wrong-class, %llu bad-box, "
                "%llu spurious\n",
                path, (unsigned long long)count[DG_PLANT_MISSING],
                (unsigned long long)count[DG_PLANT_WRONG_CLASS],
                (unsigned long long)count[DG_PLANT_BAD_BOX],
                (unsigned long long)count[DG_PLANT_SPURIOUS]);
    return rc;
}

/* Attaches synthetic embeddings (host/import/synth_embed.c) and says what was
 * planted. */
static dg_status cli_synth_embeddings(dg_ctx *ctx, dg_project *p,
                                      const dg_synth_embeddings_opts *eo)
{
    uint32_t ps, pc;
    dg_status st = dg_synth_embeddings(ctx, p, eo, &ps, &pc, NULL);
    if (st >= 0 && eo->plant == 3)
        fprintf(stderr, "planted pattern 'look': every third label of class "
                "'%s' looks different and is missed\n",
                dg_project_class_name(p, pc));
    else if (st >= 0 && ps != UINT32_MAX)
        fprintf(stderr, "planted pattern '%s': scene %u (frame meta column "
                "'scene'), class '%s'\n",
                eo->plant == 1 ? "miss" : "fp", ps,
                dg_project_class_name(p, pc));
    return st;
}

/* Attaches synthetic metadata (host/import/synth_meta.c) and says what
 * was planted. */
static dg_status cli_synth_metadata(dg_ctx *ctx, dg_project *p,
                                    const dg_synth_metadata_opts *mo)
{
    dg_synth_slice sl;
    dg_status st = dg_synth_metadata(ctx, p, mo, &sl);
    if (st >= 0 && sl.n_frames)
        fprintf(stderr, "planted slice: %s and %s (%u frames)\n",
                sl.where[0], sl.where[1], sl.n_frames);
    return st;
}

/* The summary of a written project; how says how it was written. */
static void print_written(dg_project *p, const char *out, const char *how)
{
    dg_project_info in;
    dg_project_get_info(p, &in);
    uint64_t nd = 0;
    for (uint32_t i = 0; i < in.n_inferences; i++)
        nd += dg_project_inference_size(p, i);
    fprintf(stderr,
            "wrote '%s'%s: %u classes, %u frames, %llu labels, %u inference "
            "set%s, %llu detections\n",
            out, how, in.n_classes, in.n_frames,
            (unsigned long long)in.n_labels, in.n_inferences,
            in.n_inferences == 1 ? "" : "s", (unsigned long long)nd);
}

/*
 * Writes the project to out: streamed, without its boxes in memory (with
 * stream, or from 100000 frames on, when no embeddings are asked for), or
 * built in memory with the embeddings eo asks for.
 */
static int write_project(dg_ctx *ctx, const dg_synth_opts *o,
                         const dg_synth_embeddings_opts *eo,
                         const dg_synth_metadata_opts *mo, const char *out,
                         int stream)
{
    dg_project *p;
    dg_status st;
    if (!eo->dim && !mo && (stream || o->n_frames >= 100000)) {
        if ((st = dg_synth_write(ctx, o, out)) < 0 ||
            (st = dg_project_open(ctx, out, &p)) < 0)
            return cli_fail(ctx, st);
        print_written(p, out, " (streamed)");
        dg_project_free(p);
        return EXIT_OK;
    }
    if ((st = dg_synth_project(ctx, o, &p)) < 0)
        return cli_fail(ctx, st);
    /* Metadata first: its plant rebuilds the detections, which the
     * embeddings then describe. */
    int rc = EXIT_OK;
    if ((mo && (st = cli_synth_metadata(ctx, p, mo)) < 0) ||
        (eo->dim && (st = cli_synth_embeddings(ctx, p, eo)) < 0))
        rc = cli_fail(ctx, st);
    else if ((rc = cli_save(ctx, p, out, NULL)) == EXIT_OK)
        print_written(p, out, "");
    dg_project_free(p);
    return rc;
}

/*
 * Paints every frame's ground truth into folder (dg_project_paint_frames)
 * and makes it the project's default image folder.
 */
static int write_images(dg_ctx *ctx, const char *out, const char *folder)
{
    dg_project *p;
    dg_status st;
    char abs[4096];
    cli_progress(ctx);
    if ((st = dg_project_open(ctx, out, &p)) < 0)
        return cli_fail(ctx, st);
    if ((st = dg_project_paint_frames(ctx, p, folder)) >= 0) {
        if (!realpath(folder, abs))
            snprintf(abs, sizeof(abs), "%s", folder);
        if ((st = dg_project_set_images_dir(ctx, p, abs)) >= 0)
            st = dg_project_save(ctx, p, out);
    }
    if (st >= 0)
        fprintf(stderr, "painted the frames into '%s'\n", abs);
    dg_project_free(p);
    return st < 0 ? cli_fail(ctx, st) : EXIT_OK;
}

int cmd_synth(int argc, const char **argv)
{
    const char *out = NULL, *coco_gt = NULL, *coco_dt = NULL, *planted = NULL;
    const char *images = NULL;
    long seed = 1, frames = -1, classes = -1, sets = -1, levels = -1,
         maxdets = -1;
    long emb_dim = 0, emb_scenes = 0;
    int stream = 0, force = 0, meta = 0, plant_slice = 0;
    const char *emb_plant = NULL;
    double scale = NAN, objects = NAN, crowd = NAN, miss = NAN, jitter = NAN,
           confuse = NAN, dup = NAN, bgfp = NAN, junk = NAN, pmiss = NAN,
           pwrong = NAN, pbox = NAN, pspur = NAN;
    cli_opt opts[] = {
        {OPT_STR, 'o', "output", &out, "<project.h5>", "write a project file", 0},
        {OPT_FLAG, 'f', "force", &force, NULL,
         "overwrite an existing project file at -o", 0},
        {OPT_STR, 0, "coco-gt", &coco_gt, "<file>", "write COCO instances JSON", 0},
        {OPT_STR, 0, "coco-dt-prefix", &coco_dt, "<prefix>",
         "write COCO results JSON to <prefix>-<set>.json", 0},
        {OPT_INT, 's', "seed", &seed, "<n>", "random seed (default 1)", 0},
        {OPT_DBL, 0, "coco-scale", &scale, "<x>",
         "COCO val2017-like preset times x (5000x frames, 80 classes)", 0},
        {OPT_INT, 0, "frames", &frames, "<n>", "frames (default 200)", 0},
        {OPT_INT, 0, "classes", &classes, "<n>", "classes (default 10)", 0},
        {OPT_INT, 0, "inferences", &sets, "<n>",
         "inference sets model-a, model-b, ... (default 1)", 0},
        {OPT_DBL, 0, "objects", &objects, "<mean>", "objects per frame", 0},
        {OPT_DBL, 0, "crowd-rate", &crowd, "<p>", "frames with a crowd region", 0},
        {OPT_DBL, 0, "miss-rate", &miss, "<p>", "objects the detector misses", 0},
        {OPT_DBL, 0, "jitter", &jitter, "<f>", "localization noise (box fraction)", 0},
        {OPT_DBL, 0, "confuse-rate", &confuse, "<p>", "detections of the wrong class", 0},
        {OPT_DBL, 0, "duplicate-rate", &dup, "<p>", "duplicate detections", 0},
        {OPT_DBL, 0, "background-fp", &bgfp, "<mean>", "background false positives per frame", 0},
        {OPT_DBL, 0, "low-score-fp", &junk, "<mean>", "low-score detections per frame", 0},
        {OPT_INT, 0, "score-levels", &levels, "<n>", "round scores to n levels (ties)", 0},
        {OPT_INT, 0, "max-dets", &maxdets, "<n>",
         "keep the n best detections per frame (0: all; COCO preset 100)", 0},
        {OPT_DBL, 0, "plant-missing", &pmiss, "<p>",
         "drop the labels of a fraction p of objects", 0},
        {OPT_DBL, 0, "plant-wrong-class", &pwrong, "<p>",
         "label a fraction p of objects with another class", 0},
        {OPT_DBL, 0, "plant-bad-box", &pbox, "<p>",
         "shift or scale the label boxes of a fraction p of objects", 0},
        {OPT_DBL, 0, "plant-spurious", &pspur, "<r>",
         "add r spurious labels per object where nothing is", 0},
        {OPT_STR, 0, "planted", &planted, "<file.json>",
         "list the planted label mistakes in a JSON file", 0},
        {OPT_INT, 0, "embeddings", &emb_dim, "<d>",
         "attach d-dimensional frame and crop embeddings (model 'synth')", 0},
        {OPT_INT, 0, "scenes", &emb_scenes, "<s>",
         "with --embeddings: frames fall into s scenes (default 8)", 0},
        {OPT_STR, 0, "plant-pattern", &emb_plant, "miss|fp|look",
         "with --embeddings: in one scene, miss one class entirely or add "
         "recurring false positives; or miss every third object of the "
         "commonest class, which looks different (look)",
         0},
        {OPT_FLAG, 0, "metadata", &meta, NULL,
         "attach six frame metadata columns (weather, time, camera, "
         "location, speed, brightness)",
         0},
        {OPT_FLAG, 0, "plant-slice", &plant_slice, NULL,
         "with --metadata: detections vanish in the frames of two "
         "conditions together (neither alone)",
         0},
        {OPT_STR, 0, "images", &images, "<folder>",
         "with -o: paint each frame's ground truth as <frame id>.jpg there "
         "(the project's default image folder)", 0},
        {OPT_FLAG, 0, "stream", &stream, NULL,
         "write -o frame by frame without holding the boxes (default from "
         "100000 frames on; docs/SCALE.md)", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 0) != 0)
        cli_usage_error(usage, opts, "no positional arguments expected");
    if (images && !out)
        cli_usage_error(usage, opts, "--images needs -o");
    if (!out && !coco_gt && !coco_dt && !planted)
        cli_usage_error(usage, opts,
                        "need -o, --coco-gt, --coco-dt-prefix or --planted");
    dg_synth_opts o;
    if (!isnan(scale)) {
        /* 5000 frames a unit: at most the 2e9 frames --frames allows. */
        if (!(scale > 0 && scale <= 400000))
            cli_usage_error(usage, opts, "--coco-scale must be in (0, 400000]");
        dg_synth_opts_coco(&o, scale);
    } else {
        dg_synth_opts_init(&o);
    }
    if (seed < 0)
        cli_usage_error(usage, opts, "--seed must be >= 0");
    o.seed = (uint64_t)seed;
    /* Every count and mean is bounded, so that no option asks for more
     * memory or time than a real dataset would. */
#define SETU(v, field, lo, hi)                                                \
    if (v >= 0) {                                                             \
        if (v < lo || v > hi)                                                 \
            cli_usage_error(usage, opts, "--%s must be in [%ld, %ld]",        \
                            #field, (long)lo, (long)hi);                      \
        o.field = (uint32_t)v;                                                \
    }
    SETU(frames, n_frames, 1, 2000000000L);
    SETU(classes, n_classes, 1, 1000000L);
    SETU(sets, n_inferences, 1, 1000L);
    SETU(levels, score_levels, 0, 2000000000L);
    SETU(maxdets, max_dets_per_frame, 0, 2000000000L);
#define SETD(v, field, hi)                                                    \
    if (!isnan(v)) {                                                          \
        if (!(v >= 0 && v <= hi))                                             \
            cli_usage_error(usage, opts, "value for " #field                  \
                            " must be in [0, %g]", (double)hi);               \
        o.field = v;                                                          \
    }
    SETD(objects, objects_per_frame, 10000);
    SETD(crowd, crowd_rate, 1);
    SETD(miss, miss_rate, 1);
    SETD(jitter, jitter, 100);
    SETD(confuse, confuse_rate, 1);
    SETD(dup, duplicate_rate, 1);
    SETD(bgfp, background_fp, 10000);
    SETD(junk, low_score_fp, 10000);
    SETD(pmiss, plant_missing, 1);
    SETD(pwrong, plant_wrong_class, 1);
    SETD(pbox, plant_bad_box, 1);
    SETD(pspur, plant_spurious, 100);
    dg_synth_embeddings_opts eo;
    dg_synth_embeddings_opts_init(&eo);
    eo.seed = o.seed;
    if (emb_dim < 0 || emb_dim > 4096 || emb_scenes < 0 || emb_scenes > 100000)
        cli_usage_error(usage, opts, "--embeddings or --scenes out of range");
    if ((emb_scenes || emb_plant) && !emb_dim)
        cli_usage_error(usage, opts, "--scenes and --plant-pattern need "
                        "--embeddings");
    if (emb_plant && strcmp(emb_plant, "miss") && strcmp(emb_plant, "fp") &&
        strcmp(emb_plant, "look"))
        cli_usage_error(usage, opts, "--plant-pattern is miss, fp or look");
    if (plant_slice && !meta)
        cli_usage_error(usage, opts, "--plant-slice needs --metadata");
    eo.dim = (uint32_t)emb_dim;
    eo.scenes = (uint32_t)emb_scenes;
    eo.plant = !emb_plant                  ? 0
               : !strcmp(emb_plant, "miss") ? 1
               : !strcmp(emb_plant, "fp")   ? 2
                                            : 3;
    if (stream && (emb_dim > 0 || meta))
        cli_usage_error(usage, opts, "--stream cannot attach --embeddings "
                        "or --metadata");
    if (force && !out)
        cli_usage_error(usage, opts, "--force goes with -o");
    dg_ctx *ctx = cli_ctx(NULL);
    int rc = EXIT_OK;
    dg_status st;
    if (out) {
        /* As import: an existing project is not replaced without --force;
         * the lock is held from that check to the save. */
        cli_lock(ctx, out);
        if (!force && access(out, F_OK) == 0) {
            rc = cli_error("'%s' exists (use --force to overwrite it)", out);
            goto done;
        }
    }
    if (planted && (rc = write_planted(ctx, &o, planted)) != EXIT_OK)
        goto done;
    if (coco_gt || coco_dt) {
        if ((st = dg_synth_coco_json(ctx, &o, coco_gt, coco_dt)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
    }
    dg_synth_metadata_opts mo;
    dg_synth_metadata_opts_init(&mo);
    mo.seed = o.seed;
    mo.plant = plant_slice;
    if (out)
        rc = write_project(ctx, &o, &eo, meta ? &mo : NULL, out, stream);
    if (rc == EXIT_OK && images)
        rc = write_images(ctx, out, images);
done:
    dg_ctx_free(ctx);
    return rc;
}
