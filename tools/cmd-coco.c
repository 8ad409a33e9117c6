/*
 * detgrid coco: the COCO protocol (pycocotools' COCOeval: bbox, segm,
 * keypoints; faster-coco-eval's boundary), either in one shot from COCO
 * JSON files, with nothing written, or on an inference set of a project
 * file.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid coco --gt <instances.json> --dt <results.json> "
    "[--iou-type <type>] [--json] [--per-class] [--curves <file.json>] "
    "[--strict]",
    "detgrid coco <project.h5> [--inferences <name>] [--iou-type <type>] "
    "[--json] [--per-class] [--curves <file.json>]",
    NULL};

/* The shortest "%.Ng" that reads back as v (JSON has no NaN: null). */
static const char *num(char *buf, size_t cap, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "null");
        return buf;
    }
    if (v == 0 || v == -1 || v == 1) {
        snprintf(buf, cap, "%d", (int)v);
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static cJSON *raw_num(double v)
{
    char b[40];
    return cJSON_CreateRaw(num(b, sizeof(b), v));
}

/* A growing text buffer; on allocation failure it stops growing and
 * remembers it. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_num(sbuf *b, double v)
{
    char t[40];
    puts_(b, num(t, sizeof(t), v));
}

static void put_str(sbuf *b, const char *s)
{
    puts_(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char t[8];
        if (c == '"' || c == '\\') {
            t[0] = '\\';
            t[1] = (char)c;
            put(b, t, 2);
        } else if (c < 0x20) {
            snprintf(t, sizeof(t), "\\u%04x", c);
            puts_(b, t);
        } else {
            put(b, (const char *)s, 1);
        }
    }
    puts_(b, "\"");
}

/* Nested lists of a C-ordered array with dims[0..nd-1]. */
static void put_nd(sbuf *b, const double *a, const size_t *dims, int nd)
{
    size_t stride = 1;
    for (int i = 1; i < nd; i++)
        stride *= dims[i];
    puts_(b, "[");
    for (size_t i = 0; i < dims[0]; i++) {
        if (i)
            puts_(b, ",");
        if (nd == 1)
            put_num(b, a[i]);
        else
            put_nd(b, a + i * stride, dims + 1, nd - 1);
    }
    puts_(b, "]");
    if (nd >= 4)
        puts_(b, "\n");
}

static int write_curves(const char *path, dg_project *p,
                        const dg_coco_result *r)
{
    sbuf b = {0};
    puts_(&b, "{\"iou_type\":");
    put_str(&b, dg_coco_iou_type_name(r->iou_type));
    puts_(&b, ",\n\"iou_thresholds\":");
    size_t d1[1] = {DG_COCO_N_IOU};
    put_nd(&b, r->iou, d1, 1);
    puts_(&b, ",\n\"rec_thresholds\":");
    d1[0] = DG_COCO_N_REC;
    put_nd(&b, r->rec, d1, 1);
    puts_(&b, ",\n\"max_dets\":[");
    for (int m = 0; m < r->n_max_dets; m++) {
        char t[16];
        snprintf(t, sizeof(t), "%s%d", m ? "," : "", r->max_dets[m]);
        puts_(&b, t);
    }
    puts_(&b, "],\n\"area_ranges\":[");
    for (int a = 0; a < r->n_area; a++) {
        puts_(&b, a ? ",[" : "[");
        put_num(&b, r->area_rng[a][0]);
        puts_(&b, ",");
        put_num(&b, r->area_rng[a][1]);
        puts_(&b, "]");
    }
    puts_(&b, "],\n\"area_labels\":[");
    for (int a = 0; a < r->n_area; a++) {
        if (a)
            puts_(&b, ",");
        put_str(&b, r->area_lbl[a]);
    }
    puts_(&b, "],\n\"category_ids\":[");
    for (uint32_t k = 0; k < r->n_cats; k++) {
        char t[32];
        snprintf(t, sizeof(t), "%s%lld", k ? "," : "",
                 (long long)dg_project_class_id(p, r->cat_class[k]));
        puts_(&b, t);
    }
    puts_(&b, "],\n\"names\":[");
    for (uint32_t k = 0; k < r->n_cats; k++) {
        if (k)
            puts_(&b, ",");
        put_str(&b, dg_project_class_name(p, r->cat_class[k]));
    }
    size_t dp[5] = {DG_COCO_N_IOU, DG_COCO_N_REC, r->n_cats,
                    (size_t)r->n_area, (size_t)r->n_max_dets};
    size_t dr[4] = {DG_COCO_N_IOU, r->n_cats, (size_t)r->n_area,
                    (size_t)r->n_max_dets};
    /* A dimension of 0 still needs its brackets; put_nd handles it. */
    puts_(&b, "],\n\"precision\":");
    put_nd(&b, r->precision, dp, 5);
    puts_(&b, ",\n\"scores\":");
    put_nd(&b, r->scores, dp, 5);
    puts_(&b, ",\n\"recall\":");
    put_nd(&b, r->recall, dr, 4);
    puts_(&b, "}\n");
    int rc = b.oom ? cli_error("out of memory writing '%s'", path)
                   : cli_write_file(path, b.s, b.n);
    free(b.s);
    return rc;
}

static void fmt3(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%7s", "-");
    else
        snprintf(buf, cap, "%7.3f", v);
}

static void print_report(dg_project *p, const dg_coco_result *r,
                         int per_class, int json, int compact)
{
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON *st = cJSON_AddArrayToObject(j, "stats");
        cJSON *nm = cJSON_AddArrayToObject(j, "names");
        for (int i = 0; i < r->n_stats; i++) {
            cJSON_AddItemToArray(st, raw_num(r->stats[i]));
            cJSON_AddItemToArray(
                nm, cJSON_CreateString(dg_coco_result_stat_name(r, i)));
        }
        cJSON *pc = cJSON_AddArrayToObject(j, "per_class");
        for (uint32_t k = 0; k < r->n_cats; k++) {
            uint32_t c = r->cat_class[k];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", dg_project_class_name(p, c));
            cJSON_AddItemToObject(o, "id",
                                  raw_num((double)dg_project_class_id(p, c)));
            cJSON_AddItemToObject(o, "ap", raw_num(r->ap[k]));
            cJSON_AddItemToObject(o, "ap50", raw_num(r->ap50[k]));
            cJSON_AddItemToObject(o, "ap75", raw_num(r->ap75[k]));
            cJSON_AddItemToObject(o, "ar100", raw_num(r->ar100[k]));
            cJSON_AddItemToArray(pc, o);
        }
        cli_print_json(j, compact);
        return;
    }
    for (int i = 0; i < r->n_stats; i++)
        printf("%s = %0.3f\n", dg_coco_result_stat_label(r, i), r->stats[i]);
    if (!per_class)
        return;
    size_t w = 5;
    for (uint32_t k = 0; k < r->n_cats; k++) {
        size_t l = strlen(dg_project_class_name(p, r->cat_class[k]));
        if (l > w)
            w = l;
    }
    if (w > 40)
        w = 40;
    printf("\n%8s  %-*s %7s %7s %7s %7s\n", "id", (int)w, "class", "AP",
           "AP50", "AP75",
           r->iou_type == DG_COCO_KEYPOINTS ? "AR20" : "AR100");
    for (uint32_t k = 0; k < r->n_cats; k++) {
        uint32_t c = r->cat_class[k];
        char a[16], b[16], d[16], e[16];
        fmt3(a, sizeof(a), r->ap[k]);
        fmt3(b, sizeof(b), r->ap50[k]);
        fmt3(d, sizeof(d), r->ap75[k]);
        fmt3(e, sizeof(e), r->ar100[k]);
        printf("%8lld  %-*.*s %s %s %s %s\n",
               (long long)dg_project_class_id(p, c), (int)w, (int)w,
               dg_project_class_name(p, c), a, b, d, e);
    }
}

int cmd_coco(int argc, const char **argv)
{
    const char *gt = NULL, *dt = NULL, *inf = NULL, *curves = NULL,
               *device = NULL, *iou_type = "bbox";
    strlist sigmas = {{0}, 0};
    double dilation = DG_COCO_DILATION_RATIO;
    int json = 0, compact = 0, per_class = 0, exact_iou = 0, use_ignore = 0,
        verbose = 0, strict = 0, id0 = 0;
    long threads = 0;
    cli_opt opts[] = {
        {OPT_STR, 0, "gt", &gt, "<file>",
         "COCO instances JSON (one shot, with --dt)", 0},
        {OPT_STR, 0, "dt", &dt, "<file>", "COCO results JSON (with --gt)", 0},
        {OPT_STR, 'i', "inferences", &inf, "<name>",
         "with a project: the inference set (default: the only one)", 0},
        {OPT_STR, 0, "iou-type", &iou_type, "<type>",
         "bbox (default), segm, boundary or keypoints", 0},
        CLI_OPT_DILATION(dilation),
        CLI_OPT_KPT_SIGMAS(sigmas),
        {OPT_FLAG, 0, "json", &json, NULL,
         "stats, their names and per-class AP as JSON on stdout", 0},
        {OPT_FLAG, 0, "compact", &compact, NULL, "with --json: one line", 0},
        {OPT_FLAG, 0, "per-class", &per_class, NULL,
         "a per-class table after the summary", 0},
        {OPT_STR, 0, "curves", &curves, "<file.json>",
         "write precision, scores and recall arrays (as COCOeval.eval)", 0},
        {OPT_FLAG, 0, "exact-iou", &exact_iou, NULL,
         "IoU thresholds 0.50, 0.55, ... exactly (pycocotools: linspace)", 0},
        {OPT_FLAG, 0, "use-ignore", &use_ignore, NULL,
         "honour the labels' ignore flag (pycocotools: only iscrowd)", 0},
        {OPT_FLAG, 0, "pycocotools-id0", &id0, NULL,
         "count a detection matched to annotation id 0 as a false positive, "
         "as pycocotools does (default: a true positive)", 0},
        {OPT_FLAG, 0, "strict", &strict, NULL,
         "with --gt/--dt: refuse what is otherwise accepted with a warning "
         "(see 'detgrid import --help')", 0},
        {OPT_STR, 'd', "device", &device, "<dev>",
         "auto|gpu|cpu|ref[:P.D|:name] (auto: a GPU if present, else ref)", 0},
        {OPT_INT, 0, "threads", &threads, "<n>",
         "worker threads (default: one per CPU)", 0},
        {OPT_FLAG, 'v', "verbose", &verbose, NULL, "timings on stderr", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos == 1 && (gt || dt))
        cli_usage_error(usage, opts, "give a project file or --gt and --dt, "
                        "not both");
    if (npos == 0 && (!gt || !dt))
        cli_usage_error(usage, opts, "need --gt and --dt, or a project file");
    if (npos == 0 && inf)
        cli_usage_error(usage, opts, "--inferences needs a project file");
    if (npos == 1 && strict)
        cli_usage_error(usage, opts, "--strict applies to --gt and --dt "
                        "(a project was checked when it was imported)");
    if (threads < 0 || threads > 1024)
        cli_usage_error(usage, opts, "--threads out of range");
    int type = dg_coco_iou_type_parse(iou_type);
    if (type < 0)
        cli_usage_error(usage, opts, "--iou-type must be bbox, segm, "
                        "boundary or keypoints");
    if (!(dilation > 0 && dilation <= 1))
        cli_usage_error(usage, opts, "--dilation-ratio must be in (0, 1]");
    cli_sigmas cs;
    char err[200];
    if (cli_sigmas_parse(&sigmas, &cs, err, sizeof(err)) < 0)
        cli_usage_error(usage, opts, "%s", err);

#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /*
     * A one-shot run allocates and frees arrays of tens of MB in turn (the
     * results file, its records, the sorted copies). Served from the heap
     * and not given back, freed pages are reused instead of being mapped
     * and faulted in afresh: a third fewer page faults, some 5 % of the CPU
     * time at COCO scale. Not for masks: their runs grow by hundreds of MB,
     * and growing them in place (mremap) is worth more than that.
     */
    if (type == DG_COCO_BBOX) {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
#endif
    double t0 = cli_now(), t_gt = 0, t_dt = 0;
    dg_ctx *ctx = cli_ctx(device);
    dg_project *p = NULL;
    dg_status st;
    int rc = EXIT_OK;
    const char *name = "dt";
    dg_coco_import_opts io;
    dg_coco_import_opts_init(&io);
    io.strict = strict;
    /* Box and keypoint evaluations never look at the ground truth's
     * masks: its polygons are not rasterized. */
    io.skip_masks = type == DG_COCO_BBOX || type == DG_COCO_KEYPOINTS;
    if (npos == 0) {
        cli_note_input(gt);
        cli_note_input(dt);
        if ((st = dg_project_create(ctx, &p)) < 0 ||
            (st = dg_import_coco_gt(ctx, p, gt, &io)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        cli_flush_warnings(ctx);
        t_gt = cli_now() - t0;
        if ((st = dg_import_coco_dt(ctx, p, dt, name, 0, &io)) < 0) {
            rc = cli_fail(ctx, st);
            goto done;
        }
        cli_flush_warnings(ctx);
        t_dt = cli_now() - t0 - t_gt;
    } else {
        if (!(name = cli_open_inferences(ctx, pos[0], inf, NULL, NULL, &p))) {
            rc = EXIT_ERROR;
            goto done;
        }
    }

    dg_coco_opts o;
    dg_coco_opts_init(&o);
    o.exact_iou = exact_iou;
    o.use_ignore = use_ignore;
    o.pycocotools_id0 = id0;
    o.n_threads = (int)threads;
    o.iou_type = type;
    o.dilation_ratio = dilation;
    if ((rc = cli_sigmas_resolve(p, &cs)) != EXIT_OK)
        goto done;
    o.kpt_sigmas = cs.all;
    o.n_kpt_sigmas = cs.n_all;
    o.class_sigmas = cs.class_sig;
    o.n_class_sigmas = cs.n_class;
    dg_coco_result r;
    st = dg_coco_evaluate(ctx, p, name, &o, &r);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto done;
    }
    cli_flush_warnings(ctx);
    print_report(p, &r, per_class, json, compact);
    if (curves)
        rc = write_curves(curves, p, &r);
    if (verbose) {
        const dg_coco_timing *tm = &r.timing;
        if (npos == 0)
            fprintf(stderr, "import: ground truth %.3f s, detections %.3f s\n",
                    t_gt, t_dt);
        fprintf(stderr,
                "coco: %llu detections (%llu beyond %d per image and "
                "category), %llu labels on %s: %.3f s (load %.3f, prepare "
                "%.3f, %s IoU %.3f, match %.3f, accumulate %.3f, summarize "
                "%.3f)\n",
                (unsigned long long)r.n_det,
                (unsigned long long)r.n_det_dropped,
                r.max_dets[r.n_max_dets - 1], (unsigned long long)r.n_gt,
                r.device, tm->total_s, tm->load_s, tm->prepare_s,
                dg_coco_iou_type_name(r.iou_type), tm->tiles_s, tm->match_s,
                tm->accumulate_s, tm->summarize_s);
        fprintf(stderr, "total: %.3f s\n", cli_now() - t0);
    }
    dg_coco_result_release(&r);
done:
    cli_sigmas_release(&cs);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
