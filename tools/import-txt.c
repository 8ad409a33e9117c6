/*
 * detgrid import <cartucho|voc-txt|padilla|rafaelpadilla|yolo|voc-xml>:
 * folders of per-image text files (or VOC XML) into a project. The COCO
 * format keeps its own command in cmd-import.c, which hands every other
 * format to cmd_import_txt().
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "import-txt.h"

static const char *const usage[] = {
    "detgrid import <cartucho|voc-txt|padilla|rafaelpadilla|yolo|voc-xml> "
    "--gt-dir <dir> [--dt-dir <dir> [--name <name>]]... -o <project.h5> "
    "[--force] [<format options>]",
    "detgrid import <format> --dt-dir <dir> [--name <name>]... "
    "-o <existing.h5> [--replace] [<format options>]",
    "detgrid import coco ... (see detgrid import coco --help)",
    NULL};

void txt_cli_opts(const char *format, const txt_cli *t, dg_txt_opts *o,
                  const char *const *usage_, const cli_opt *opts)
{
    int f = dg_txt_format_parse(format);
    if (f < 0)
        cli_usage_error(usage_, opts, "unknown format '%s' (expected coco, "
                        "%s)", format, TXT_CLI_FORMATS);
    dg_txt_opts_init(o, (dg_txt_format)f);
    o->names_path = t->names;
    o->sizes_path = t->sizes;
    if (t->box) {
        if (!strcmp(t->box, "xyxy"))
            o->box = DG_TXT_BOX_XYXY;
        else if (!strcmp(t->box, "xywh"))
            o->box = DG_TXT_BOX_XYWH;
        else if (!strcmp(t->box, "cxcywh"))
            o->box = DG_TXT_BOX_CXCYWH;
        else
            cli_usage_error(usage_, opts, "--box must be xyxy, xywh or "
                            "cxcywh, not '%s'", t->box);
    }
    if (t->coords) {
        if (!strcmp(t->coords, "abs"))
            o->relative = 0;
        else if (!strcmp(t->coords, "rel"))
            o->relative = 1;
        else
            cli_usage_error(usage_, opts, "--coords must be abs or rel, not "
                            "'%s'", t->coords);
    }
    if (t->conf_pos) {
        if (!strcmp(t->conf_pos, "leading"))
            o->conf_leading = 1;
        else if (!strcmp(t->conf_pos, "trailing"))
            o->conf_leading = 0;
        else
            cli_usage_error(usage_, opts, "--conf-pos must be leading or "
                            "trailing, not '%s'", t->conf_pos);
    }
    if (t->unlabeled && t->no_unlabeled)
        cli_usage_error(usage_, opts, "--unlabeled-frames and "
                        "--no-unlabeled-frames contradict each other");
    if (t->unlabeled)
        o->unlabeled_frames = 1;
    if (t->no_unlabeled)
        o->unlabeled_frames = 0;
    o->drop_unknown_classes = t->drop_unknown;
    o->strict = t->strict;
    if (o->format == DG_TXT_YOLO && !t->names)
        cli_usage_error(usage_, opts, "yolo needs --names <file> (the class "
                        "names, one per line)");
}

void txt_cli_dir_name(const char *dir, char *out, size_t cap)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    snprintf(out, cap, "%.*s", (int)(n - b), dir + b);
}

int cmd_import_txt(int argc, const char **argv, const char *format)
{
    const char *gt = NULL, *out = NULL;
    strlist dts = {{0}, 0}, names = {{0}, 0};
    int force = 0, replace = 0;
    txt_cli t = {0};
    cli_opt opts[] = {
        {OPT_STR, 0, "gt-dir", &gt, "<dir>",
         "ground-truth files (creates a project)", 0},
        {OPT_MULTI, 0, "dt-dir", &dts, "<dir>",
         "detection files of one model, repeatable", 0},
        {OPT_MULTI, 0, "name", &names, "<name>",
         "inference set name for the --dt-dir at the same position "
         "(default: the folder's name)", 0},
        {OPT_STR, 'o', "output", &out, "<project.h5>", "project file", 0},
        {OPT_FLAG, 'f', "force", &force, NULL,
         "with --gt-dir: overwrite an existing project file", 0},
        {OPT_FLAG, 0, "replace", &replace, NULL,
         "replace inference sets of the same name", 0},
        TXT_CLI_OPTIONS(t),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a format");
    (void)format; /* argv[1]; the parse above finds it again */
    dg_txt_opts o;
    txt_cli_opts(pos[0], &t, &o, usage, opts);
    if (!out)
        cli_usage_error(usage, opts, "need -o <project.h5>");
    if (!gt && !dts.n)
        cli_usage_error(usage, opts, "need --gt-dir or --dt-dir");
    if (names.n > dts.n)
        cli_usage_error(usage, opts, "more --name than --dt-dir options");
    if (force && !gt)
        cli_usage_error(usage, opts, "--force goes with --gt-dir");

    char set_buf[64][256];
    const char *set_names[64];
    for (int i = 0; i < dts.n; i++) {
        if (i < names.n)
            snprintf(set_buf[i], sizeof(set_buf[i]), "%s", names.v[i]);
        else
            txt_cli_dir_name(dts.v[i], set_buf[i], sizeof(set_buf[i]));
        set_names[i] = set_buf[i];
    }

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = NULL;
    dg_status st;
    int rc = EXIT_OK;
    /* Held from the check that out exists (or the read of it) to the
     * save. */
    cli_lock(ctx, out);
    if (gt) {
        if (!force && access(out, F_OK) == 0) {
            rc = cli_error("'%s' exists (use --force to overwrite, or leave "
                           "out --gt-dir to add inference sets to it)", out);
            goto done;
        }
        st = dg_project_create(ctx, &p);
    } else {
        st = dg_project_open(ctx, out, &p);
    }
    if (st < 0 || (st = dg_import_txt(ctx, p, gt, dts.n, dts.v, set_names,
                                      replace, &o)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    cli_flush_warnings(ctx);
    for (int i = 0; i < dts.n; i++)
        fprintf(stderr, "imported '%s' as inference set '%s' (%llu "
                "detections)\n", dts.v[i], set_names[i],
                (unsigned long long)dg_project_inference_size(
                    p, (uint32_t)dg_project_inference_index(p, set_names[i])));
    if ((rc = cli_save(ctx, p, out, gt ? NULL : out)) != EXIT_OK)
        goto done;
    dg_project_info in;
    dg_project_get_info(p, &in);
    fprintf(stderr, "wrote '%s': %u classes, %u frames, %llu labels, %u "
            "inference set%s\n", out, in.n_classes, in.n_frames,
            (unsigned long long)in.n_labels, in.n_inferences,
            in.n_inferences == 1 ? "" : "s");
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
