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
    "[--iou-type <type>] [--iou-thresholds <spec>] [--device <dev>] "
    "[--memory-budget <MB>] [--threads <n>] [-v] [--json]",
    "mpirun -np <N> detgrid eval <project.h5> ...   (shards frames over N ranks)",
    NULL};

/* eval -v: one line a stage, then the device's share. */
static void print_profile(const dg_eval_stats *s)
{
    fprintf(stderr, "  stage profile (%u host threads):\n", s->threads);
    fprintf(stderr, "  %-9s %8.3f s  (read the columns)\n", "load",
            s->load_s);
    fprintf(stderr, "  %-9s %8.3f s  (class, score: the results' order)\n",
            "order", s->order_s);
    fprintf(stderr, "  %-9s %8.3f s  (IoU, both matchers, outcomes at their "
            "sorted positions%s)\n", "match", s->match_s,
            s->bytes_up || s->kernel_s > 0 ? ", transfers included" : "");
    if (s->tiles_s > 0)
        fprintf(stderr, "    %-7s %8.3f s  (mask, boundary or keypoint IoUs, "
                "within match)\n", "tiles", s->tiles_s);
    if (s->bytes_up || s->bytes_down || s->kernel_s > 0) {
        double n = s->detections ? (double)s->detections : 1;
        fprintf(stderr, "    %-7s %8.3f s  %10.1f MB  %6.1f bytes/detection\n",
                "upload", s->upload_s, s->bytes_up / 1e6, s->bytes_up / n);
        fprintf(stderr, "    %-7s %8.3f s\n", "kernels", s->kernel_s);
        fprintf(stderr, "    %-7s %8.3f s  %10.1f MB  %6.1f bytes/detection\n",
                "download", s->download_s, s->bytes_down / 1e6,
                s->bytes_down / n);
    }
}

int cmd_eval(int argc, const char **argv)
{
    strlist infs = {{0}, 0};
    const char *spec = NULL, *device = NULL, *out = NULL, *iou_type = NULL;
    strlist sigmas = {{0}, 0};
    double dilation = DG_COCO_DILATION_RATIO;
    int json = 0, quiet = 0, verbose = 0;
    long threads = 0;
    double budget_mb = 0;
    int rank = 0, nranks = 1;
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &infs, "<name>",
         "inference set to evaluate, repeatable (default: all)", 0},
        {OPT_STR, 0, "iou-type", &iou_type, "<type>",
         "compare bbox (default), segm (masks), boundary or keypoints (OKS); "
         "each type's results are stored beside the others", 0},
        CLI_OPT_DILATION(dilation),
        CLI_OPT_KPT_SIGMAS(sigmas),
        {OPT_STR, 0, "iou-thresholds", &spec, "<spec>",
         "start:stop:step or a list (default 0.05:0.95:0.05)", 0},
        {OPT_STR, 'd', "device", &device, "<dev>",
         "auto|gpu|cpu|ref[:P.D|:name] (default $DETGRID_DEVICE or auto)", 0},
        {OPT_STR, 'o', "output", &out, "<file>",
         "write the project here instead of in place", 0},
        {OPT_DBL, 0, "memory-budget", &budget_mb, "<MB>",
         "bound the memory of match outcomes (docs/SCALE.md; default: none)",
         0},
        {OPT_INT, 0, "threads", &threads, "<n>",
         "host threads (reference path, sort, store; default: one per CPU)",
         0},
        {OPT_FLAG, 0, "json", &json, NULL,
         "timings, stage profile and devices as JSON on stdout", 0},
        {OPT_FLAG, 'v', "verbose", &verbose, NULL,
         "the stage profile on stderr (times, bytes to and from the device)",
         0},
        {OPT_FLAG, 'q', "quiet", &quiet, NULL, "no summary on stderr", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!(budget_mb >= 0) || budget_mb > 1e9)
        cli_usage_error(usage, opts, "--memory-budget must be 0 to 1e9 MB");
    if (threads < 0 || threads > 1024)
        cli_usage_error(usage, opts, "--threads must be 0 to 1024");
    if (!(dilation > 0 && dilation <= 1))
        cli_usage_error(usage, opts, "--dilation-ratio must be in (0, 1]");
    cli_sigmas cs;
    char err[200];
    if (cli_sigmas_parse(&sigmas, &cs, err, sizeof(err)) < 0)
        cli_usage_error(usage, opts, "%s", err);
    dg_eval_opts eo;
    dg_eval_opts_init(&eo);
    if ((eo.iou_type = cli_iou_type(iou_type)) < 0) {
        cli_sigmas_release(&cs);
        return EXIT_ERROR;
    }
    eo.dilation_ratio = dilation;
    dg_ctx *ctx = cli_ctx(device);
    dg_ctx_set_threads(ctx, (unsigned)threads);
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
            verbose = 0;
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
    if ((rc = cli_sigmas_resolve(p, &cs)) != EXIT_OK)
        goto done;
    eo.kpt_sigmas = cs.all;
    eo.n_kpt_sigmas = cs.n_all;
    eo.class_sigmas = cs.class_sig;
    eo.n_class_sigmas = cs.n_class;
    if (!infs.n || (infs.n == 1 && !strcmp(infs.v[0], "all"))) {
        for (uint32_t i = 0; i < info.n_inferences && nn < 256; i++)
            names[nn++] = dg_project_inference_name(p, i);
        if (!nn) {
            rc = cli_error("'%s' has no inference sets to evaluate", pos[0]);
            goto done;
        }
    } else {
        for (int i = 0; i < infs.n; i++) {
            if ((rc = cli_find(p, DG_NAME_INFERENCES, infs.v[i], NULL)) !=
                EXIT_OK)
                goto done;
            names[nn++] = infs.v[i];
        }
    }
    cJSON *j = json ? cJSON_CreateArray() : NULL;
    for (int i = 0; i < nn; i++) {
        dg_status st = dg_eval_with(ctx, p, names[i], iou, n_iou, &eo);
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
        char tn[32] = "";
        if (eo.iou_type)
            snprintf(tn, sizeof(tn), " (%s)",
                     dg_coco_iou_type_name(eo.iou_type));
        if (!quiet)
            fprintf(stderr,
                    "evaluated '%s'%s: %llu detections x %d IoU thresholds in "
                    "%.3f s on %s (load %.3f, order %.3f, match %.3f)%s\n",
                    names[i], tn, (unsigned long long)nd, n_iou, s.total_s,
                    s.device, s.load_s, s.order_s, s.match_s,
                    nranks > 1 ? " on rank 0 of an MPI run" : "");
        if (verbose)
            print_profile(&s);
        if (j) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "inferences", names[i]);
            if (eo.iou_type)
                cJSON_AddStringToObject(o, "iou_type",
                                        dg_coco_iou_type_name(eo.iou_type));
            cJSON_AddNumberToObject(o, "detections", (double)nd);
            cJSON_AddNumberToObject(o, "iou_thresholds", n_iou);
            cJSON_AddStringToObject(o, "device", s.device);
            cJSON_AddNumberToObject(o, "threads", s.threads);
            cJSON_AddItemToObject(o, "load_s", cli_num(s.load_s));
            cJSON_AddItemToObject(o, "order_s", cli_num(s.order_s));
            cJSON_AddItemToObject(o, "match_s", cli_num(s.match_s));
            if (eo.iou_type)
                cJSON_AddItemToObject(o, "tiles_s", cli_num(s.tiles_s));
            cJSON_AddItemToObject(o, "accumulate_s", cli_num(s.accumulate_s));
            cJSON_AddItemToObject(o, "total_s", cli_num(s.total_s));
            cJSON *d = cJSON_CreateObject();
            cJSON_AddItemToObject(d, "upload_s", cli_num(s.upload_s));
            cJSON_AddItemToObject(d, "kernel_s", cli_num(s.kernel_s));
            cJSON_AddItemToObject(d, "download_s", cli_num(s.download_s));
            cJSON_AddNumberToObject(d, "bytes_up", (double)s.bytes_up);
            cJSON_AddNumberToObject(d, "bytes_down", (double)s.bytes_down);
            cJSON_AddItemToObject(o, "device_profile", d);
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
    if (verbose)
        fprintf(stderr, "  %-9s %8.3f s  (atomic save: compress, write, "
                "sync, rename)\n", "store", cli_now() - t0);
    if (j) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "evaluations", j);
        cJSON_AddItemToObject(o, "store_s", cli_num(cli_now() - t0));
        cli_print_json(o, 0);
    }
done:
    cli_sigmas_release(&cs);
    dg_project_free(p);
    dg_ctx_free(ctx);
    dg_mpi_finalize();
    return rc;
}
