/*
 * detgrid import embeddings: frame and crop embeddings from .npy files into
 * a project (docs/EMBEDDINGS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid import embeddings <project.h5> --model <m> [--frames <f.npy>] "
    "[--labels <l.npy>] [--inferences <set>=<s.npy>]...",
    NULL};

/* Reads path and stores it as model's matrix of that kind. */
static int take(dg_ctx *ctx, dg_project *p, const char *model,
                dg_embed_kind kind, const char *set, const char *path)
{
    float *data;
    uint64_t rows, cols;
    dg_status st = dg_npy_read(ctx, path, &data, &rows, &cols);
    if (st < 0)
        return cli_fail(ctx, st);
    st = dg_project_take_embeddings(ctx, p, model, kind, set, data, rows,
                                    (uint32_t)cols);
    if (st < 0) {
        cli_error("'%s': %s", path, dg_ctx_last_error(ctx));
        return EXIT_ERROR;
    }
    fprintf(stderr, "imported '%s': %llu x %llu\n", path,
            (unsigned long long)rows, (unsigned long long)cols);
    return EXIT_OK;
}

int cmd_import_embeddings(int argc, const char **argv)
{
    const char *model = NULL, *frames = NULL, *labels = NULL;
    strlist sets = {{0}, 0};
    cli_opt opts[] = {
        {OPT_STR, 'm', "model", &model, "<m>", "embedding model name", 0},
        {OPT_STR, 0, "frames", &frames, "<f.npy>",
         "frame embeddings, frames x D", 0},
        {OPT_STR, 0, "labels", &labels, "<l.npy>",
         "label crop embeddings, labels x D (label record order)", 0},
        {OPT_MULTI, 0, "inferences", &sets, "<set>=<s.npy>",
         "detection crop embeddings of an inference set, detections x D "
         "(record order); repeatable",
         0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!model)
        cli_usage_error(usage, opts, "need --model");
    if (!frames && !labels && !sets.n)
        cli_usage_error(usage, opts, "need --frames, --labels or --inferences");
    for (int i = 0; i < sets.n; i++)
        if (!strchr(sets.v[i], '=') || sets.v[i][0] == '=')
            cli_usage_error(usage, opts, "--inferences takes <set>=<file.npy>");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    int rc = EXIT_ERROR;
    cli_note_input(frames);
    cli_note_input(labels);
    for (int i = 0; i < sets.n; i++)
        cli_note_input(strchr(sets.v[i], '=') + 1);
    cli_lock(ctx, pos[0]);
    dg_status st = dg_project_open(ctx, pos[0], &p);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    if (frames && (rc = take(ctx, p, model, DG_EMBED_FRAMES, NULL, frames)) !=
                      EXIT_OK)
        goto done;
    if (labels && (rc = take(ctx, p, model, DG_EMBED_LABELS, NULL, labels)) !=
                      EXIT_OK)
        goto done;
    for (int i = 0; i < sets.n; i++) {
        char set[512];
        const char *eq = strchr(sets.v[i], '=');
        snprintf(set, sizeof(set), "%.*s", (int)(eq - sets.v[i]), sets.v[i]);
        if ((rc = take(ctx, p, model, DG_EMBED_INFERENCES, set, eq + 1)) !=
            EXIT_OK)
            goto done;
    }
    rc = cli_save(ctx, p, pos[0], pos[0]);
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
