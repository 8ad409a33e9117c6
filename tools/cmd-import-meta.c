/*
 * detgrid import meta: frame metadata columns from CSV; detgrid import
 * images: the project's default image folder.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/image.h"

static const char *const usage_meta[] = {
    "detgrid import meta <project.h5> <file.csv>", NULL};
static const char *const usage_images[] = {
    "detgrid import images <project.h5> <folder>", NULL};

int cmd_import_meta(int argc, const char **argv)
{
    cli_opt opts[] = {{OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[2];
    if (cli_parse(argc, argv, opts, usage_meta, pos, 2) != 2)
        cli_usage_error(usage_meta, opts, "need a project file and a CSV file");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    uint32_t before = dg_project_n_meta(p);
    dg_status st = dg_import_meta_csv(ctx, p, pos[1]);
    int rc = EXIT_OK;
    cli_flush_warnings(ctx);
    if (st < 0 || (st = dg_project_save(ctx, p, pos[0])) < 0)
        rc = cli_fail(ctx, st);
    else
        fprintf(stderr, "wrote '%s': %u frame metadata columns (%u new)\n",
                pos[0], dg_project_n_meta(p), dg_project_n_meta(p) - before);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}

/* Records folder as the project's default image folder, as an absolute
 * path, after checking how many frames have a picture there. */
int cmd_import_images(int argc, const char **argv)
{
    int clear = 0;
    cli_opt opts[] = {{OPT_FLAG, 0, "clear", &clear, NULL,
                       "forget the default folder", 0},
                      {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[2];
    int npos = cli_parse(argc, argv, opts, usage_images, pos, 2);
    if (npos != 2 - clear)
        cli_usage_error(usage_images, opts,
                        clear ? "--clear takes only the project file"
                              : "need a project file and a folder");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    int rc = EXIT_OK;
    dg_status st;
    char dir[4096];
    struct stat sb;
    if (clear) {
        st = dg_project_set_images_dir(ctx, p, NULL);
    } else if (stat(pos[1], &sb) != 0 || !S_ISDIR(sb.st_mode) ||
               !realpath(pos[1], dir)) {
        rc = cli_error("'%s': not a folder", pos[1]);
        goto out;
    } else {
        dg_project_info in;
        dg_project_get_info(p, &in);
        uint32_t found = 0;
        char path[8192];
        for (uint32_t f = 0; f < in.n_frames; f++)
            found += dg_project_frame_image(ctx, p, dir, f, path,
                                            sizeof(path)) == DG_OK;
        fprintf(stderr, "'%s': pictures of %u of %u frames\n", dir, found,
                in.n_frames);
        st = dg_project_set_images_dir(ctx, p, dir);
    }
    if (st < 0 || (st = dg_project_save(ctx, p, pos[0])) < 0)
        rc = cli_fail(ctx, st);
out:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
