/*
 * detgrid segment: named sets of frames (splits, regression tests,
 * scenarios) with targets, thresholds and metadata, kept in the project
 * file (docs/SEGMENTS.md).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {
    "detgrid segment create <project.h5> <name> [--frames <file>] "
    "[--coco-ids <file>] [--where <expr>]... [--kind <k>] [--min-* <x>] "
    "[--meta <k>=<v>]",
    "detgrid segment create <project.h5> --split train=0.8,val=0.1,test=0.1 "
    "[--seed <n>] [--where <expr>]...",
    "detgrid segment list <project.h5> [--json]",
    "detgrid segment show <project.h5> <name> [--frames-list] [--json]",
    "detgrid segment add|remove <project.h5> <name> (--frames <file> | "
    "--coco-ids <file> | --where <expr>)...",
    "detgrid segment set <project.h5> <name> [--kind <k>] [--min-* <x>|none] "
    "[--conf <c>] [--iou <t>] [--meta <k>=<v>] [--unset-meta <k>]",
    "detgrid segment rename <project.h5> <old> <new>",
    "detgrid segment delete <project.h5> <name>",
    NULL};

typedef struct seg_opts {
    const char *frames_file, *coco_file, *split, *kind, *out;
    strlist where, meta, unset_meta;
    const char *tgt[6]; /* min-precision, min-recall, min-f1, min-ap, conf, iou */
    long seed;
    int json, compact, list_frames;
} seg_opts;

/* ---- frame selection ------------------------------------------------------ */

typedef struct idx_entry {
    const char *id;
    uint32_t f;
} idx_entry;

static int idx_cmp(const void *a, const void *b)
{
    return strcmp(((const idx_entry *)a)->id, ((const idx_entry *)b)->id);
}

/* Marks the frames listed by id (one per line) in file path. */
static int mark_frame_ids(dg_project *p, const char *path, uint8_t *mark)
{
    size_t len;
    char *text = cli_read_all(path, &len);
    if (!text)
        return EXIT_ERROR;
    dg_project_info in;
    dg_project_get_info(p, &in);
    idx_entry *idx = malloc((in.n_frames ? in.n_frames : 1) * sizeof(*idx));
    if (!idx) {
        free(text);
        return cli_error("out of memory");
    }
    for (uint32_t f = 0; f < in.n_frames; f++) {
        idx[f].id = dg_project_frame_id(p, f);
        idx[f].f = f;
    }
    qsort(idx, in.n_frames, sizeof(*idx), idx_cmp);
    int rc = EXIT_OK;
    char *line = text;
    for (unsigned long ln = 1; line && *line; ln++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char *a = line, *b = line + strlen(line);
        while (*a == ' ' || *a == '\t')
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            *--b = 0;
        if (*a && *a != '#') {
            idx_entry key = {a, 0};
            idx_entry *e = bsearch(&key, idx, in.n_frames, sizeof(*idx),
                                   idx_cmp);
            if (!e) {
                rc = cli_error("%s:%lu: no frame with id '%s'", path, ln, a);
                break;
            }
            mark[e->f] = 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(idx);
    free(text);
    return rc;
}

/*
 * The selected frames, ascending, malloc'd: the union of --frames and
 * --coco-ids (every frame when neither is given), intersected with each
 * --where.
 */
static int select_frames(dg_ctx *ctx, dg_project *p, const seg_opts *o,
                         uint32_t **out, uint32_t *n)
{
    dg_project_info in;
    dg_project_get_info(p, &in);
    uint8_t *mark = calloc(in.n_frames ? in.n_frames : 1, 1);
    if (!mark)
        return cli_error("out of memory");
    int rc = EXIT_OK;
    if (!o->frames_file && !o->coco_file)
        memset(mark, 1, in.n_frames);
    if (o->frames_file && (rc = mark_frame_ids(p, o->frames_file, mark)))
        goto out;
    if (o->coco_file && (rc = cli_mark_coco_ids(p, o->coco_file, mark)))
        goto out;
    for (int w = 0; w < o->where.n; w++) {
        uint32_t *sel, ns;
        dg_status st = dg_project_frames_where(ctx, p, o->where.v[w], &sel,
                                               &ns);
        if (st < 0) {
            rc = cli_fail(ctx, st);
            goto out;
        }
        uint8_t *keep = calloc(in.n_frames ? in.n_frames : 1, 1);
        if (!keep) {
            free(sel);
            rc = cli_error("out of memory");
            goto out;
        }
        for (uint32_t k = 0; k < ns; k++)
            keep[sel[k]] = 1;
        for (uint32_t f = 0; f < in.n_frames; f++)
            mark[f] &= keep[f];
        free(keep);
        free(sel);
    }
    *out = malloc((in.n_frames ? in.n_frames : 1) * sizeof(uint32_t));
    if (!*out) {
        rc = cli_error("out of memory");
        goto out;
    }
    *n = 0;
    for (uint32_t f = 0; f < in.n_frames; f++)
        if (mark[f])
            (*out)[(*n)++] = f;
out:
    free(mark);
    return rc;
}

static int has_selection(const seg_opts *o)
{
    return o->frames_file || o->coco_file || o->where.n;
}

/* ---- targets, metadata ---------------------------------------------------- */

static const char *const tgt_name[6] = {"min-precision", "min-recall",
                                        "min-f1", "min-ap", "conf", "iou"};

static double *tgt_field(dg_segment_targets *t, int k)
{
    double *f[6] = {&t->precision, &t->recall, &t->f1, &t->ap, &t->conf,
                    &t->iou};
    return f[k];
}

/* Applies --min-* / --conf / --iou / --kind / --meta / --unset-meta. */
static int apply_settings(dg_ctx *ctx, dg_project *p, uint32_t i,
                          const seg_opts *o)
{
    dg_status st;
    dg_segment_targets t;
    dg_project_segment_targets(p, i, &t);
    int changed = 0;
    for (int k = 0; k < 6; k++) {
        if (!o->tgt[k])
            continue;
        double v = NAN;
        char *end;
        if (strcmp(o->tgt[k], "none")) {
            v = strtod(o->tgt[k], &end);
            if (*end || end == o->tgt[k] || isnan(v))
                return cli_error("--%s: '%s' is not a number or 'none'",
                                 tgt_name[k], o->tgt[k]);
        }
        *tgt_field(&t, k) = v;
        changed = 1;
    }
    if (changed && (st = dg_project_set_segment_targets(ctx, p, i, &t)) < 0)
        return cli_fail(ctx, st);
    if (o->tgt[5] && !isnan(t.iou)) {
        /* Queries read the segment's IoU from the stored results: it must
         * be one of their thresholds (sets not evaluated yet aside). */
        dg_project_info in;
        dg_project_get_info(p, &in);
        for (uint32_t k = 0; k < in.n_inferences; k++) {
            dg_results *r;
            const char *set = dg_project_inference_name(p, k);
            if (dg_results_load(ctx, p, set, &r) < 0)
                continue;
            int ti = dg_results_find_iou(ctx, r, t.iou);
            dg_results_free(r);
            if (ti < 0)
                return cli_error("--iou %g: inference set '%s': %s", t.iou,
                                 set, dg_ctx_last_error(ctx));
        }
    }
    if (o->kind) {
        int kd = dg_segment_kind_parse(o->kind);
        if (kd < 0)
            return cli_error("unknown segment kind '%s' (split, regression, "
                             "scenario)",
                             o->kind);
        if ((st = dg_project_set_segment_kind(ctx, p, i,
                                              (dg_segment_kind)kd)) < 0)
            return cli_fail(ctx, st);
    }
    for (int m = 0; m < o->meta.n; m++) {
        const char *eq = strchr(o->meta.v[m], '=');
        if (!eq || eq == o->meta.v[m])
            return cli_error("--meta wants key=value, not '%s'", o->meta.v[m]);
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - o->meta.v[m]),
                 o->meta.v[m]);
        if ((st = dg_project_set_segment_meta(ctx, p, i, key, eq + 1)) < 0)
            return cli_fail(ctx, st);
    }
    for (int m = 0; m < o->unset_meta.n; m++)
        if ((st = dg_project_set_segment_meta(ctx, p, i, o->unset_meta.v[m],
                                              NULL)) < 0)
            return cli_fail(ctx, st);
    return EXIT_OK;
}

/* ---- random split ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*
 * --split a=0.8,b=0.2: shuffles the selected frames (Fisher-Yates driven
 * by splitmix64 from --seed) and cuts the shuffled list at round(N *
 * cumulative fraction); each part, sorted, becomes a segment.
 */
static int create_split(dg_ctx *ctx, dg_project *p, const seg_opts *o,
                        uint32_t *frames, uint32_t n)
{
    char spec[1024];
    snprintf(spec, sizeof(spec), "%s", o->split);
    char *names[32];
    double frac[32], cum = 0;
    int np = 0;
    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        char *end;
        if (np == 32)
            return cli_error("--split: at most 32 parts");
        if (!eq || eq == tok)
            return cli_error("--split wants name=fraction,..., not '%s'", tok);
        *eq = 0;
        frac[np] = strtod(eq + 1, &end);
        if (*end || end == eq + 1 || !(frac[np] >= 0 && frac[np] <= 1))
            return cli_error("--split: '%s' is not a fraction in [0, 1]",
                             eq + 1);
        names[np++] = tok;
        cum += frac[np - 1];
    }
    if (!np)
        return cli_error("--split: no parts");
    if (cum > 1 + 1e-9)
        return cli_error("--split: fractions add up to %g, more than 1", cum);
    uint64_t state = (uint64_t)o->seed;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(splitmix64(&state) % i);
        uint32_t t = frames[i - 1];
        frames[i - 1] = frames[j];
        frames[j] = t;
    }
    dg_status st;
    int kind = o->kind ? dg_segment_kind_parse(o->kind) : DG_SEGMENT_SPLIT;
    if (kind < 0)
        return cli_error("unknown segment kind '%s'", o->kind);
    double c = 0;
    uint32_t lo = 0;
    for (int k = 0; k < np; k++) {
        c += frac[k];
        double b = floor((double)n * (c > 1 ? 1 : c) + 0.5);
        uint32_t hi = k == np - 1 && cum > 1 - 1e-9 ? n : (uint32_t)b;
        if (hi < lo)
            hi = lo;
        if ((st = dg_project_add_segment(ctx, p, names[k],
                                         (dg_segment_kind)kind, frames + lo,
                                         hi - lo)) < 0)
            return cli_fail(ctx, st);
        int64_t i = dg_project_segment_index(p, names[k]);
        int rc = apply_settings(ctx, p, (uint32_t)i, o);
        if (rc)
            return rc;
        printf("created segment '%s' (%s): %u frames\n", names[k],
               dg_segment_kind_name((dg_segment_kind)kind), hi - lo);
        lo = hi;
    }
    return EXIT_OK;
}

/* ---- output ---------------------------------------------------------------- */

static cJSON *segment_json(dg_ctx *ctx, dg_project *p, uint32_t i,
                           int with_frames)
{
    const uint32_t *f;
    uint32_t n = 0;
    dg_status st = dg_project_segment_frames(ctx, p, i, &f, &n);
    if (st < 0) {
        cli_fail(ctx, st);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", dg_project_segment_name(p, i));
    cJSON_AddStringToObject(o, "kind",
                            dg_segment_kind_name(dg_project_segment_kind(p, i)));
    cJSON_AddNumberToObject(o, "frames", n);
    dg_segment_targets t;
    dg_project_segment_targets(p, i, &t);
    cJSON *tg = cJSON_AddObjectToObject(o, "targets");
    cJSON_AddItemToObject(tg, "precision", cli_num(t.precision));
    cJSON_AddItemToObject(tg, "recall", cli_num(t.recall));
    cJSON_AddItemToObject(tg, "f1", cli_num(t.f1));
    cJSON_AddItemToObject(tg, "ap", cli_num(t.ap));
    cJSON_AddItemToObject(o, "conf", cli_num(t.conf));
    cJSON_AddItemToObject(o, "iou", cli_num(t.iou));
    cJSON *m = cJSON_AddObjectToObject(o, "meta");
    for (uint32_t j = 0; j < dg_project_segment_n_meta(p, i); j++)
        cJSON_AddStringToObject(m, dg_project_segment_meta_key(p, i, j),
                                dg_project_segment_meta_value(p, i, j));
    if (with_frames) {
        cJSON *a = cJSON_AddArrayToObject(o, "frame_ids");
        for (uint32_t k = 0; k < n; k++)
            cJSON_AddItemToArray(a,
                                 cJSON_CreateString(dg_project_frame_id(p, f[k])));
    }
    return o;
}

static void fmt_target(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%g", v);
}

static int do_list(dg_ctx *ctx, dg_project *p, const seg_opts *o)
{
    uint32_t ns = dg_project_n_segments(p);
    cJSON *j = cJSON_CreateArray();
    for (uint32_t i = 0; i < ns; i++) {
        cJSON *s = segment_json(ctx, p, i, 0);
        if (!s) {
            cJSON_Delete(j);
            return EXIT_ERROR;
        }
        cJSON_AddItemToArray(j, s);
    }
    if (o->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "segments", j);
        cli_print_json(root, o->compact);
        return EXIT_OK;
    }
    printf("%-24s %-10s %8s %9s %9s %9s %9s %6s %6s\n", "segment", "kind",
           "frames", "min P", "min R", "min F1", "min AP", "conf", "iou");
    for (uint32_t i = 0; i < ns; i++) {
        dg_segment_targets t;
        dg_project_segment_targets(p, i, &t);
        char a[6][32];
        double v[6] = {t.precision, t.recall, t.f1, t.ap, t.conf, t.iou};
        for (int k = 0; k < 6; k++)
            fmt_target(a[k], sizeof(a[k]), v[k]);
        cJSON *s = cJSON_GetArrayItem(j, (int)i);
        printf("%-24s %-10s %8.0f %9s %9s %9s %9s %6s %6s\n",
               dg_project_segment_name(p, i),
               dg_segment_kind_name(dg_project_segment_kind(p, i)),
               cJSON_GetObjectItem(s, "frames")->valuedouble, a[0], a[1], a[2],
               a[3], a[4], a[5]);
    }
    cJSON_Delete(j);
    return EXIT_OK;
}

static int do_show(dg_ctx *ctx, dg_project *p, uint32_t i, const seg_opts *o)
{
    cJSON *s = segment_json(ctx, p, i, o->list_frames);
    if (!s)
        return EXIT_ERROR;
    if (o->json) {
        cli_print_json(s, o->compact);
        return EXIT_OK;
    }
    printf("segment '%s': %s, %.0f frames\n", dg_project_segment_name(p, i),
           cJSON_GetObjectItem(s, "kind")->valuestring,
           cJSON_GetObjectItem(s, "frames")->valuedouble);
    dg_segment_targets t;
    dg_project_segment_targets(p, i, &t);
    double v[6] = {t.precision, t.recall, t.f1, t.ap, t.conf, t.iou};
    for (int k = 0; k < 6; k++) {
        char a[32];
        fmt_target(a, sizeof(a), v[k]);
        printf("  %-14s %s%s\n", tgt_name[k], a,
               isnan(v[k]) && k >= 4 ? " (project default)" : "");
    }
    for (uint32_t m = 0; m < dg_project_segment_n_meta(p, i); m++)
        printf("  meta %s = %s\n", dg_project_segment_meta_key(p, i, m),
               dg_project_segment_meta_value(p, i, m));
    cJSON *ids = cJSON_GetObjectItem(s, "frame_ids");
    cJSON *id;
    if (ids)
        cJSON_ArrayForEach(id, ids) printf("%s\n", id->valuestring);
    cJSON_Delete(s);
    return EXIT_OK;
}

/* create: a seeded split, or one segment of the selected frames. */
static int do_create(dg_ctx *ctx, dg_project *p, const char *name,
                     const seg_opts *o)
{
    uint32_t *frames = NULL, nf = 0;
    dg_status st;
    int rc = select_frames(ctx, p, o, &frames, &nf);
    if (rc)
        goto out;
    if (o->split) {
        rc = create_split(ctx, p, o, frames, nf);
        goto out;
    }
    int kd = dg_segment_kind_parse(o->kind ? o->kind : "scenario");
    if (kd < 0) {
        rc = cli_error("unknown segment kind '%s' (split, regression, "
                       "scenario)",
                       o->kind);
        goto out;
    }
    if ((st = dg_project_add_segment(ctx, p, name, (dg_segment_kind)kd,
                                     frames, nf)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    int64_t i = dg_project_segment_index(p, name);
    if ((rc = apply_settings(ctx, p, (uint32_t)i, o)))
        goto out;
    printf("created segment '%s' (%s): %u frames\n", name,
           dg_segment_kind_name((dg_segment_kind)kd), nf);
out:
    free(frames);
    return rc;
}

/* add (remove = 0) or remove the selected frames of segment i. */
static int do_edit(dg_ctx *ctx, dg_project *p, uint32_t i, const seg_opts *o,
                   int remove)
{
    uint32_t *frames = NULL, nf = 0, n = 0;
    const uint32_t *f;
    dg_status st;
    int rc = select_frames(ctx, p, o, &frames, &nf);
    if (rc == EXIT_OK &&
        ((st = dg_project_segment_edit_frames(ctx, p, i, frames, nf,
                                              remove)) < 0 ||
         (st = dg_project_segment_frames(ctx, p, i, &f, &n)) < 0))
        rc = cli_fail(ctx, st);
    else if (rc == EXIT_OK)
        printf("segment '%s': %u frames\n", dg_project_segment_name(p, i), n);
    free(frames);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------------- */

int cmd_segment(int argc, const char **argv)
{
    seg_opts o;
    memset(&o, 0, sizeof(o));
    cli_opt opts[] = {
        {OPT_STR, 0, "frames", &o.frames_file, "<file>",
         "select frames by id, one per line ('#' comments)", 0},
        {OPT_STR, 0, "coco-ids", &o.coco_file, "<file>",
         "select frames by COCO image id (numbers, or a JSON array)", 0},
        {OPT_MULTI, 0, "where", &o.where, "<expr>",
         "select by frame metadata: col=v, col!=v, col>=x, lo<=col<hi", 0},
        {OPT_STR, 0, "split", &o.split, "<a=f,b=g,...>",
         "create: a seeded random split into several segments", 0},
        {OPT_INT, 0, "seed", &o.seed, "<n>", "seed of --split (default 0)", 0},
        {OPT_STR, 0, "kind", &o.kind, "<kind>",
         "split, regression or scenario (create default: scenario; "
         "--split: split)",
         0},
        {OPT_STR, 0, "min-precision", &o.tgt[0], "<x>", "target precision", 0},
        {OPT_STR, 0, "min-recall", &o.tgt[1], "<x>", "target recall", 0},
        {OPT_STR, 0, "min-f1", &o.tgt[2], "<x>", "target F1", 0},
        {OPT_STR, 0, "min-ap", &o.tgt[3], "<x>",
         "target mean AP (all-point, at the segment's IoU)", 0},
        {OPT_STR, 'c', "conf", &o.tgt[4], "<c>",
         "this segment's confidence threshold (default: project's)", 0},
        {OPT_STR, 't', "iou", &o.tgt[5], "<t>",
         "this segment's IoU threshold, a stored one (default: project's)", 0},
        {OPT_MULTI, 0, "meta", &o.meta, "<k>=<v>", "set free metadata", 0},
        {OPT_MULTI, 0, "unset-meta", &o.unset_meta, "<k>",
         "remove a metadata key", 0},
        {OPT_FLAG, 0, "frames-list", &o.list_frames, NULL,
         "show: list the frame ids", 0},
        {OPT_STR, 'o', "output", &o.out, "<file>",
         "write the project here (default: in place)", 0},
        CLI_OPT_JSON(o.json),
        CLI_OPT_COMPACT(o.compact),
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    if (argc < 2) {
        cli_usage(stderr, usage, opts);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "-h") || !strcmp(verb, "--help")) {
        cli_usage(stdout, usage, opts);
        return EXIT_OK;
    }
    static const char *const verbs[] = {"create", "list", "show", "add",
                                        "remove", "set", "rename", "delete"};
    int v = -1;
    for (int k = 0; k < 8; k++)
        if (!strcmp(verb, verbs[k]))
            v = k;
    if (v < 0)
        cli_usage_error(usage, opts, "unknown segment command '%s'", verb);
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = cli_parse(argc - 1, argv + 1, opts, usage, pos, 3);
    static const int want[8] = {2, 1, 2, 2, 2, 2, 3, 2};
    if (npos != (v == 0 && o.split ? 1 : want[v]))
        cli_usage_error(usage, opts, "segment %s: wrong number of arguments",
                        verb);
    if ((v == 3 || v == 4) && !has_selection(&o))
        cli_usage_error(usage, opts,
                        "segment %s needs --frames, --coco-ids or --where",
                        verb);
    if (o.split && v != 0)
        cli_usage_error(usage, opts, "--split goes with create");

    dg_ctx *ctx = cli_ctx(NULL);
    /* Every verb but list and show updates the project: lock it before
     * reading, so that two updates at once both land. */
    if (v != 1 && v != 2)
        cli_lock(ctx, o.out ? o.out : pos[0]);
    dg_project *p = cli_open(ctx, pos[0]);
    int rc = EXIT_OK, save = 0;
    dg_status st;
    int64_t i = -1;
    if (v != 0 && v != 1) {
        uint32_t k;
        if ((rc = cli_find(p, DG_NAME_SEGMENT, pos[1], &k)) != EXIT_OK)
            goto out;
        i = k;
    }
    switch (v) {
    case 0:
        rc = do_create(ctx, p, pos[1], &o);
        save = 1;
        break;
    case 1:
        rc = do_list(ctx, p, &o);
        break;
    case 2:
        rc = do_show(ctx, p, (uint32_t)i, &o);
        break;
    case 3:
    case 4:
        rc = do_edit(ctx, p, (uint32_t)i, &o, v == 4);
        save = 1;
        break;
    case 5:
        rc = apply_settings(ctx, p, (uint32_t)i, &o);
        save = 1;
        break;
    case 6:
        if ((st = dg_project_rename_segment(ctx, p, (uint32_t)i, pos[2])) < 0)
            rc = cli_fail(ctx, st);
        save = 1;
        break;
    case 7:
        if ((st = dg_project_delete_segment(ctx, p, (uint32_t)i)) < 0)
            rc = cli_fail(ctx, st);
        save = 1;
        break;
    }
    if (rc == EXIT_OK && save)
        rc = cli_save(ctx, p, o.out ? o.out : pos[0], pos[0]);
out:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
