/*
 * detgrid eval: the heavy step. Matches every inference set (or the named
 * ones) at every IoU threshold of the grid and stores the results in the
 * project file atomically.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid eval <project.h5> [--inferences <name>|all]... "
    "[--iou-thresholds <spec>] [--device <dev>] [--memory-budget <MB>] "
    "[--json]",
    "mpirun -np <N> detgrid eval <project.h5> ...   (shards frames over N ranks)",
    NULL};

int cmd_eval(int argc, const char **argv)
{
    strlist infs = {{0}, 0};
    const char *spec = NULL, *device = NULL, *out = NULL;
    int json = 0, quiet = 0;
    double budget_mb = 0;
    int rank = 0, nranks = 1;
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &infs, "<name>",
         "inference set to evaluate, repeatable (default: all)", 0},
        {OPT_STR, 0, "iou-thresholds", &spec, "<spec>",
         "start:stop:step or a list (default 0.05:0.95:0.05)", 0},
        {OPT_STR, 'd', "device", &device, "<dev>",
         "auto|gpu|cpu|ref[:P.D|:name] (default $DETGRID_DEVICE or auto)", 0},
        {OPT_STR, 'o', "output", &out, "<file>",
         "write the project here instead of in place", 0},
        {OPT_DBL, 0, "memory-budget", &budget_mb, "<MB>",
         "bound the memory of match outcomes (docs/SCALE.md; default: none)",
         0},
        {OPT_FLAG, 0, "json", &json, NULL, "timings and devices as JSON on stdout",
         0},
        {OPT_FLAG, 'q', "quiet", &quiet, NULL, "no summary on stderr", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!(budget_mb >= 0) || budget_mb > 1e9)
        cli_usage_error(usage, opts, "--memory-budget must be 0 to 1e9 MB");
    dg_ctx *ctx = cli_ctx(device);
    dg_ctx_set_memory_budget(ctx, (uint64_t)(budget_mb * 1048576.0));
    if (dg_mpi_launched()) {
        /* Under mpirun or srun: every rank runs this command; rank 0
         * reports and stores. */
        dg_status mst = dg_mpi_init(ctx, NULL, NULL, &rank, &nranks);
        if (mst < 0) {
            cli_fail(ctx, mst);
            dg_ctx_free(ctx);
            return EXIT_ERROR;
        }
        if (rank) {
            quiet = 1;
            json = 0;
        }
    }
    double iou[DG_MAX_IOU_THRESHOLDS];
    int n_iou = spec ? dg_parse_iou_thresholds(ctx, spec, iou,
                                               DG_MAX_IOU_THRESHOLDS)
                     : dg_default_iou_thresholds(iou, DG_MAX_IOU_THRESHOLDS);
    if (n_iou < 0) {
        cli_fail(ctx, (dg_status)n_iou);
        dg_ctx_free(ctx);
        dg_mpi_finalize();
        return EXIT_USAGE;
    }
    const char *dest = out ? out : pos[0];
    /* Rank 0 alone writes: it holds the lock from before the read to the
     * save, so that no other writer's update is lost. */
    if (!rank)
        cli_lock(ctx, dest);
    dg_project *p = cli_open(ctx, pos[0]);
    dg_project_info info;
    dg_project_get_info(p, &info);
    int rc = EXIT_OK;
    const char *names[256];
    int nn = 0;
    if (!infs.n || (infs.n == 1 && !strcmp(infs.v[0], "all"))) {
        for (uint32_t i = 0; i < info.n_inferences && nn < 256; i++)
            names[nn++] = dg_project_inference_name(p, i);
        if (!nn) {
            rc = cli_error("'%s' has no inference sets to evaluate", pos[0]);
            goto done;
        }
    } else {
        for (int i = 0; i < infs.n; i++) {
            if (dg_project_inference_index(p, infs.v[i]) < 0) {
                rc = cli_error("'%s': no inference set '%s'", pos[0], infs.v[i]);
                goto done;
            }
            names[nn++] = infs.v[i];
        }
    }
    cli_progress(ctx);
    cJSON *j = json ? cJSON_CreateArray() : NULL;
    for (int i = 0; i < nn; i++) {
        dg_status st = dg_eval(ctx, p, names[i], iou, n_iou);
        cli_flush_warnings(ctx);
        if (st < 0) {
            /* Under MPI every rank has the failing rank's message. */
            rc = rank ? EXIT_ERROR : cli_fail(ctx, st);
            cJSON_Delete(j);
            goto done;
        }
        dg_eval_stats s;
        dg_eval_get_stats(ctx, &s);
        uint64_t nd = dg_project_inference_size(
            p, (uint32_t)dg_project_inference_index(p, names[i]));
        if (!quiet)
            fprintf(stderr,
                    "evaluated '%s': %llu detections x %d IoU thresholds in "
                    "%.3f s on %s (load %.3f, match %.3f, accumulate %.3f)%s\n",
                    names[i], (unsigned long long)nd, n_iou, s.total_s,
                    s.device, s.load_s, s.match_s, s.accumulate_s,
                    nranks > 1 ? " on rank 0 of an MPI run" : "");
        if (j) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "inferences", names[i]);
            cJSON_AddNumberToObject(o, "detections", (double)nd);
            cJSON_AddNumberToObject(o, "iou_thresholds", n_iou);
            cJSON_AddStringToObject(o, "device", s.device);
            cJSON_AddItemToObject(o, "load_s", cli_num(s.load_s));
            cJSON_AddItemToObject(o, "match_s", cli_num(s.match_s));
            cJSON_AddItemToObject(o, "accumulate_s", cli_num(s.accumulate_s));
            cJSON_AddItemToObject(o, "total_s", cli_num(s.total_s));
            cJSON_AddNumberToObject(o, "ranks", nranks);
            cJSON_AddItemToArray(j, o);
        }
    }
    double t0 = cli_now();
    /* Rank 0 alone writes; the others learn how that went. */
    dg_status st = rank ? DG_OK : dg_project_save(ctx, p, dest);
    st = dg_mpi_agree(ctx, st);
    cli_flush_warnings(ctx);
    if (st < 0) {
        rc = rank ? EXIT_ERROR : cli_fail(ctx, st);
        cJSON_Delete(j);
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "stored results in '%s' (%.3f s)\n", dest,
                cli_now() - t0);
    if (j) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "evaluations", j);
        cJSON_AddItemToObject(o, "store_s", cli_num(cli_now() - t0));
        cli_print_json(o, 0);
    }
done:
    dg_project_free(p);
    dg_ctx_free(ctx);
    dg_mpi_finalize();
    return rc;
}
