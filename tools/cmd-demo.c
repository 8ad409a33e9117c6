/*
 * detgrid demo: the whole flow on a synthetic project the tool makes
 * itself (deterministic): synth, eval on the chosen device, metrics; the
 * project stays (in a new temporary directory unless -o says where) for
 * the commands it suggests next.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid demo [-o <project.h5> [--force]] [--device <dev>] [--seed <n>]",
    NULL};

int cmd_demo(int argc, const char **argv)
{
    const char *out = NULL, *device = NULL;
    long seed = 1;
    int force = 0;
    cli_opt opts[] = {
        {OPT_STR, 'o', "output", &out, "<project.h5>",
         "write the project here (default: demo.h5 in a new temporary "
         "directory)", 0},
        {OPT_FLAG, 'f', "force", &force, NULL,
         "overwrite an existing file at -o", 0},
        {OPT_STR, 'd', "device", &device, "<dev>", "auto|gpu|cpu|ref", 0},
        {OPT_INT, 's', "seed", &seed, "<n>", "random seed (default 1)", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 0) != 0)
        cli_usage_error(usage, opts, "no positional arguments expected");
    if (force && !out)
        cli_usage_error(usage, opts, "--force goes with -o");
    dg_ctx *ctx = cli_ctx(device);
    if (out) {
        /* Held from the check that out exists to the last save. */
        cli_lock(ctx, out);
        if (!force && access(out, F_OK) == 0) {
            dg_ctx_free(ctx);
            return cli_error("'%s' exists (use --force to overwrite it)", out);
        }
    }
    char tmpdir[600], path[700];
    const char *base = getenv("TMPDIR");
    int rc = EXIT_OK;
    dg_project *p = NULL;
    dg_status st;
    if (!out) {
        snprintf(tmpdir, sizeof(tmpdir), "%s/detgrid-demo-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            dg_ctx_free(ctx);
            return cli_error("cannot create a temporary directory in '%s'",
                             base && *base ? base : "/tmp");
        }
        snprintf(path, sizeof(path), "%s/demo.h5", tmpdir);
        out = path;
    }
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.seed = (uint64_t)seed;
    o.n_frames = 500;
    o.n_classes = 12;
    o.n_inferences = 2;
    fprintf(stderr, "generating a synthetic project: %u frames, %u classes, "
            "%u inference sets (seed %ld)\n",
            o.n_frames, o.n_classes, o.n_inferences, seed);
    if ((st = dg_synth_project(ctx, &o, &p)) < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    if ((rc = cli_save(ctx, p, out, NULL)) != EXIT_OK)
        goto done;
    double iou[DG_MAX_IOU_THRESHOLDS];
    int n = dg_default_iou_thresholds(iou, DG_MAX_IOU_THRESHOLDS);
    dg_project_info in;
    dg_project_get_info(p, &in);
    for (uint32_t i = 0; i < in.n_inferences; i++) {
        const char *name = dg_project_inference_name(p, i);
        if ((st = dg_eval(ctx, p, name, iou, n)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        cli_flush_warnings(ctx);
        dg_eval_stats s;
        dg_eval_get_stats(ctx, &s);
        fprintf(stderr, "evaluated '%s' at %d IoU thresholds in %.3f s on %s\n",
                name, n, s.total_s, s.device);
    }
    if ((rc = cli_save(ctx, p, out, out)) != EXIT_OK)
        goto done;
    fprintf(stderr, "wrote the project to '%s'\n", out);
    printf("\n");
    rc = cli_metrics_report(ctx, p, dg_project_inference_name(p, 0), NULL,
                            in.default_conf, in.default_iou, 0, 0);
    if (rc == EXIT_OK)
        printf("\nnext: detgrid metrics %s --inferences model-b --conf 0.5 "
               "--iou 0.75\n      detgrid sweep %s --inferences model-a "
               "--best\n      detgrid report %s -o demo.html\n",
               out, out, out);
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
