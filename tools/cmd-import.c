/*
 * detgrid import coco: COCO instances and results JSON into a project.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid import coco --gt <instances.json> [--images <folder>] "
    "[--dt <results.json> [--name <name>]]... [--split <name>=<ids>]... "
    "-o <project.h5> [--force] [--strict]",
    "detgrid import coco --dt <results.json> [--name <name>]... "
    "-o <existing.h5> [--replace] [--strict]",
    "detgrid import cartucho|padilla|yolo|voc-xml ... (see 'detgrid import "
    "<format> --help')",
    "detgrid import embeddings <project.h5> --model <m> --frames <f.npy> ... "
    "(see 'detgrid import embeddings --help')",
    "detgrid import meta <project.h5> <file.csv>",
    "detgrid import images <project.h5> <folder>",
    NULL};

/* Inference set name from a results path: its base name less ".json". */
static void name_from_path(const char *path, char *out, size_t cap)
{
    char *dup = strdup(path);
    const char *b = dup ? basename(dup) : path;
    snprintf(out, cap, "%s", b);
    size_t n = strlen(out);
    if (n > 5 && !strcmp(out + n - 5, ".json"))
        out[n - 5] = 0;
    free(dup);
}

int cmd_import(int argc, const char **argv)
{
    const char *gt = NULL, *out = NULL;
    strlist dts = {{0}, 0}, names = {{0}, 0}, splits = {{0}, 0};
    int force = 0, replace = 0, strict = 0;
    const char *images = NULL;
    cli_opt opts[] = {
        {OPT_STR, 0, "gt", &gt, "<file>", "COCO instances (creates a project)", 0},
        {OPT_MULTI, 0, "dt", &dts, "<file>", "COCO results, repeatable", 0},
        {OPT_MULTI, 0, "name", &names, "<name>",
         "inference set name for the --dt at the same position (default: file "
         "name)",
         0},
        {OPT_STR, 'o', "output", &out, "<project.h5>", "project file", 0},
        {OPT_FLAG, 'f', "force", &force, NULL,
         "with --gt: overwrite an existing project file", 0},
        {OPT_FLAG, 0, "replace", &replace, NULL,
         "replace inference sets of the same name", 0},
        {OPT_STR, 0, "images", &images, "<folder>",
         "the folder of the images' file_name (the project's default for "
         "pictures)", 0},
        {OPT_MULTI, 0, "split", &splits, "<name>=<file>",
         "a split segment of the COCO image ids in <file> (repeatable)", 0},
        {OPT_FLAG, 0, "strict", &strict, NULL,
         "refuse what is otherwise accepted with a warning (string image "
         "ids, unknown categories, scores outside [0, 1], repeated or "
         "missing category names)", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    if (argc >= 2 && !strcmp(argv[1], "embeddings"))
        return cmd_import_embeddings(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "meta"))
        return cmd_import_meta(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "images"))
        return cmd_import_images(argc - 1, argv + 1);
    if (argc >= 2 && argv[1][0] != '-' && strcmp(argv[1], "coco"))
        return cmd_import_txt(argc, argv, argv[1]);
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1 || strcmp(pos[0], "coco"))
        cli_usage_error(usage, opts, "the format comes first: coco, cartucho, "
                        "voc-txt, padilla, rafaelpadilla, yolo or voc-xml");
    if (!out)
        cli_usage_error(usage, opts, "need -o <project.h5>");
    if (!gt && !dts.n && !splits.n && !images)
        cli_usage_error(usage, opts, "need --gt or --dt");
    if (names.n > dts.n)
        cli_usage_error(usage, opts, "more --name than --dt options");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    dg_status st;
    int rc = EXIT_OK;
    dg_coco_import_opts io;
    dg_coco_import_opts_init(&io);
    io.strict = strict;
    cli_note_input(gt);
    for (int i = 0; i < dts.n; i++)
        cli_note_input(dts.v[i]);
    for (int i = 0; i < splits.n; i++) {
        const char *eq = strchr(splits.v[i], '=');
        cli_note_input(eq ? eq + 1 : NULL);
    }
    if ((rc = cli_check_output(out)) != EXIT_OK)
        goto done;
    /* Held from the check that out exists (or the read of it) to the
     * save. */
    cli_lock(ctx, out);
    if (gt) {
        if (!force && access(out, F_OK) == 0) {
            rc = cli_error("'%s' exists (use --force to overwrite, or leave "
                           "out --gt to add inference sets to it)",
                           out);
            goto done;
        }
        if ((st = dg_project_create(ctx, &p)) < 0 ||
            (st = dg_import_coco_gt(ctx, p, gt, &io)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
    } else {
        if ((st = dg_project_open(ctx, out, &p)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
    }
    cli_flush_warnings(ctx);
    for (int i = 0; i < dts.n; i++) {
        char name[256];
        if (i < names.n)
            snprintf(name, sizeof(name), "%s", names.v[i]);
        else
            name_from_path(dts.v[i], name, sizeof(name));
        if ((st = dg_import_coco_dt(ctx, p, dts.v[i], name, replace,
                                    &io)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        cli_flush_warnings(ctx);
        fprintf(stderr, "imported '%s' as inference set '%s' (%llu detections)\n",
                dts.v[i], name,
                (unsigned long long)dg_project_inference_size(
                    p, (uint32_t)dg_project_inference_index(p, name)));
    }
    for (int i = 0; i < splits.n; i++)
        if ((rc = cli_add_split_segment(ctx, p, splits.v[i])) != EXIT_OK)
            goto done;
    if (images) {
        char abs[4096];
        if (!realpath(images, abs)) {
            rc = cli_error("'%s': %s", images, strerror(errno));
            goto done;
        }
        if ((st = dg_project_set_images_dir(ctx, p, abs)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
    }
    if ((rc = cli_save(ctx, p, out, gt ? NULL : out)) != EXIT_OK)
        goto done;
    dg_project_info in;
    dg_project_get_info(p, &in);
    fprintf(stderr, "wrote '%s': %u classes, %u frames, %llu labels, %u "
            "inference set%s\n",
            out, in.n_classes, in.n_frames, (unsigned long long)in.n_labels,
            in.n_inferences, in.n_inferences == 1 ? "" : "s");
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
