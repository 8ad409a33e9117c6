/*
 * detgrid report: one self-contained, interactive HTML file (the Model
 * Metrics view) over the stored results of one or two inference sets.
 *
 * The page computes everything it shows from exported per-detection data
 * (docs/REPORT.md describes the payload): the sorted scores as float64, the
 * class-wise outcome at every stored IoU threshold as two bit planes, and
 * the class-agnostic match as a frame-relative label code (row 0 in full,
 * later rows as lists of changes). So any slider position gives exactly
 * what `detgrid metrics` and `detgrid confusion` give there. The library
 * computes those arrays (detgrid/report.h); this file encodes them and
 * assembles the page, whose sources live in tools/report/ and are embedded
 * at build time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/label_errors.h"
#include "detgrid/report.h"
#include "report_extra.h"

extern const char dg_report_report_html[];
extern const char dg_report_report_css[];
extern const char dg_report_report_js[];

static const char *const usage[] = {
    "detgrid report <project.h5> [-i <name> [-i <name>]] -o <report.html>",
    NULL};

/* ---- output buffer and blobs ------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 1 << 16;
        while (c < b->n + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static cJSON *u64_array(const uint64_t *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static int host_is_little_endian(void)
{
    uint16_t x = 1;
    uint8_t b;
    memcpy(&b, &x, 1);
    return b == 1;
}

/* ---- export ------------------------------------------------------------- */

/* Labels: frame offsets, classes, flags (1 crowd, 2 ignored) and boxes. */
static int export_labels(dg_ctx *ctx, dg_project *p, report_blobs *B, cJSON *j)
{
    dg_report_labels g;
    dg_status st;
    if ((st = dg_report_export_labels(ctx, p, &g)) < 0)
        return cli_fail(ctx, st);
    uint64_t n = g.n;
    uint64_t *tmp = malloc(n * sizeof(*tmp) + 8);
    if (!tmp) {
        dg_report_labels_release(&g);
        return cli_error("out of memory");
    }
    cJSON *o = cJSON_AddObjectToObject(j, "labels");
    cJSON_AddNumberToObject(o, "n", (double)n);
    uint32_t *fo = malloc((g.n_frames + 1) * sizeof(*fo));
    if (!fo) {
        B->oom = 1;
    } else {
        for (uint32_t f = 0; f <= g.n_frames; f++)
            fo[f] = (uint32_t)g.frame_off[f];
        cJSON_AddItemToObject(o, "frame_off",
                              report_blob_add(B, fo, g.n_frames + 1, "u32"));
        free(fo);
    }
    for (uint64_t i = 0; i < n; i++)
        tmp[i] = g.cls[i];
    cJSON_AddItemToObject(o, "cls", report_blob_uint(B, tmp, n, g.n_classes));
    cJSON_AddItemToObject(o, "flags", report_blob_add(B, g.flags, n, "u8"));
    cJSON_AddItemToObject(
        o, "box", report_blob_boxes(B, g.x, g.y, g.w, g.h, NULL, n));
    free(tmp);
    dg_report_labels_release(&g);
    return EXIT_OK;
}

static cJSON *label_errors_json(dg_ctx *ctx, dg_project *p, const char *name,
                                uint64_t limit)
{
    dg_label_errors_result le;
    dg_label_errors_opts o;
    dg_label_errors_opts_init(&o);
    o.limit = limit;
    if (dg_label_errors_evaluate(ctx, p, name, &o, &le) < 0) {
        fprintf(stderr, "warning: no label-error lists for '%s': %s\n", name,
                dg_ctx_last_error(ctx));
        return cJSON_CreateNull();
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "iou", cli_num(le.iou));
    cJSON_AddItemToObject(j, "bg_iou", cli_num(le.bg_iou));
    cJSON_AddItemToObject(j, "conf", cli_num(le.conf));
    cJSON *kinds = cJSON_AddArrayToObject(j, "kinds");
    char why[512];
    for (int k = 0; k < DG_LE_N_KINDS; k++) {
        cJSON *kk = cJSON_CreateObject();
        cJSON_AddStringToObject(kk, "kind", dg_label_error_kind_name(k));
        cJSON_AddNumberToObject(kk, "candidates", (double)le.n_candidates[k]);
        cJSON *l = cJSON_AddArrayToObject(kk, "list");
        for (uint64_t i = 0; i < le.n[k]; i++) {
            const dg_label_error *e = &le.list[k][i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddItemToObject(x, "score", cli_num(e->score));
            cJSON_AddNumberToObject(x, "frame", e->frame);
            cJSON_AddNumberToObject(x, "label_cls",
                                    e->label >= 0 ? (double)e->label_cls : -1);
            cJSON_AddNumberToObject(x, "det_cls",
                                    e->det >= 0 ? (double)e->det_cls : -1);
            if (e->label >= 0)
                cJSON_AddItemToObject(
                    x, "label_box",
                    cJSON_CreateDoubleArray(e->label_box, 4));
            if (e->det >= 0)
                cJSON_AddItemToObject(x, "det_box",
                                      cJSON_CreateDoubleArray(e->det_box, 4));
            cJSON_AddItemToObject(x, "conf", cli_num(e->conf));
            cJSON_AddItemToObject(x, "iou", cli_num(e->iou));
            dg_label_error_describe(p, e, why, sizeof(why));
            cJSON_AddStringToObject(x, "why", why);
            cJSON_AddItemToArray(l, x);
        }
        cJSON_AddItemToArray(kinds, kk);
    }
    dg_label_errors_result_release(&le);
    return j;
}

/*
 * One inference set: thresholds, class offsets, ground-truth counts, the
 * sorted scores, the status bit planes, the agnostic codes, the frame and
 * box of every sorted detection.
 */
static int export_set(dg_ctx *ctx, dg_project *p, const char *name,
                      report_blobs *B, cJSON *sets, uint64_t le_limit)
{
    dg_report_set rs;
    dg_status st;
    if ((st = dg_report_export_set(ctx, p, name, &rs)) < 0)
        return cli_fail(ctx, st);
    dg_project_info info;
    dg_project_get_info(p, &info);
    uint64_t n = rs.n_det;
    uint32_t K = rs.n_classes;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddItemToArray(sets, s);
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddNumberToObject(s, "n_det", (double)n);
    cJSON_AddStringToObject(s, "device", rs.device);
    cJSON_AddItemToObject(s, "iou", cJSON_CreateDoubleArray(rs.iou, rs.n_iou));
    cJSON_AddItemToObject(s, "class_off", u64_array(rs.class_off, K + 1));
    cJSON_AddItemToObject(s, "gt_count", u64_array(rs.gt_count, K));
    cJSON_AddItemToObject(s, "score", report_blob_add(B, rs.score, n, "f64"));

    /* Frame of each sorted position, and the boxes in sorted order. */
    uint64_t *tmp = malloc(n * sizeof(*tmp) + 8);
    if (!tmp) {
        dg_report_set_release(&rs);
        return cli_error("out of memory");
    }
    for (uint64_t j = 0; j < n; j++)
        tmp[j] = rs.det_frame[j];
    cJSON_AddItemToObject(
        s, "det_frame",
        report_blob_uint(B, tmp, n, info.n_frames ? info.n_frames - 1 : 0));
    free(tmp);
    cJSON_AddItemToObject(
        s, "det_box",
        report_blob_boxes(B, rs.x, rs.y, rs.w, rs.h, rs.record, n));
    cJSON_AddItemToObject(
        s, "status",
        report_blob_add(B, rs.status, 2 * rs.plane_bytes * (size_t)rs.n_iou,
                        "u8"));

    if (rs.has_agnostic) {
        const char *ty = rs.code_size == 1 ? "u8"
                         : rs.code_size == 2 ? "u16" : "u32";
        cJSON *a = cJSON_AddObjectToObject(s, "agnostic");
        cJSON *cn = cJSON_AddArrayToObject(a, "n_changes");
        cJSON_AddItemToObject(a, "row0",
                              report_blob_add(B, rs.agn_row0, n, ty));
        for (int t = 0; t < rs.n_iou; t++)
            cJSON_AddItemToArray(
                cn, cJSON_CreateNumber((double)rs.agn_n_changes[t]));
        cJSON_AddItemToObject(
            a, "chg_pos",
            report_blob_add(B, rs.agn_chg_pos, rs.n_changes, "u32"));
        cJSON_AddItemToObject(
            a, "chg_val",
            report_blob_add(B, rs.agn_chg_val, rs.n_changes, ty));
    } else {
        cJSON_AddNullToObject(s, "agnostic");
    }
    if (le_limit)
        cJSON_AddItemToObject(s, "label_errors",
                              label_errors_json(ctx, p, name, le_limit));
    else
        cJSON_AddNullToObject(s, "label_errors");
    dg_report_set_release(&rs);
    return EXIT_OK;
}

/* ---- page assembly ------------------------------------------------------ */

/*
 * Appends the template from *pos up to marker (which must follow), and
 * moves *pos past the marker.
 */
static int copy_to(sbuf *o, const char **pos, const char *marker)
{
    const char *m = strstr(*pos, marker);
    if (!m)
        return -1;
    sb_put(o, *pos, (size_t)(m - *pos));
    *pos = m + strlen(marker);
    return 0;
}

/* Appends s with every "</" written "<\/" (valid inside JSON strings and
 * harmless in script), so no data can close the script element. */
static void put_script_safe(sbuf *o, const char *s)
{
    const char *q;
    while ((q = strstr(s, "</"))) {
        sb_put(o, s, (size_t)(q - s));
        sb_str(o, "<\\/");
        s = q + 2;
    }
    sb_str(o, s);
}

static void put_html_text(sbuf *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            sb_str(o, "&lt;");
            break;
        case '>':
            sb_str(o, "&gt;");
            break;
        case '&':
            sb_str(o, "&amp;");
            break;
        default:
            sb_put(o, s, 1);
        }
    }
}

int cmd_report(int argc, const char **argv)
{
    strlist infs = {0};
    const char *out_path = NULL, *title = NULL;
    long le_limit = 100;
    cli_opt opts[] = {
        {OPT_MULTI, 'i', "inferences", &infs, "<name>",
         "inference set (repeat once to compare two; default: the only one)",
         0},
        {OPT_STR, 'o', "output", &out_path, "<report.html>",
         "write the report here ('-': stdout)", 0},
        {OPT_STR, 0, "title", &title, "<text>",
         "page title (default: the project file's name)", 0},
        {OPT_INT, 0, "label-errors", &le_limit, "<n>",
         "entries per label-error list (default 100, 0: no lists)", 0},
        {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    int npos = cli_parse(argc, argv, opts, usage, pos, 1);
    if (npos != 1)
        cli_usage_error(usage, opts, "need a project file");
    if (!out_path)
        cli_usage_error(usage, opts, "need -o <report.html>");
    if (infs.n > 2)
        cli_usage_error(usage, opts, "at most two inference sets");
    if (le_limit < 0)
        cli_usage_error(usage, opts, "--label-errors must be >= 0");
    if (!host_is_little_endian())
        return cli_error("report: this host is not little-endian");

    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    int rc = EXIT_ERROR;
    report_blobs B = {0};
    sbuf o = {0};
    char *js = NULL;
    cJSON *j = cJSON_CreateObject();
    const char *names[2];
    int nn = 0;
    if (infs.n == 0) {
        if (!(names[0] = cli_pick_inferences(p, NULL)))
            goto out;
        nn = 1;
    } else {
        for (int i = 0; i < infs.n; i++) {
            if ((rc = cli_find(p, DG_NAME_INFERENCES, infs.v[i], NULL)) !=
                EXIT_OK)
                goto out;
            names[nn++] = infs.v[i];
        }
        if (nn == 2 && !strcmp(names[0], names[1]))
            cli_usage_error(usage, opts, "the same inference set twice");
    }
    dg_project_info info;
    dg_project_get_info(p, &info);
    const char *base = strrchr(pos[0], '/');
    base = base ? base + 1 : pos[0];
    if (!title)
        title = base;
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "title", title);
    cJSON_AddStringToObject(j, "project", base);
    cJSON_AddStringToObject(j, "writer", "detgrid " DG_VERSION_STRING);
    cJSON_AddItemToObject(j, "default_conf", cli_num(info.default_conf));
    cJSON_AddItemToObject(j, "default_iou", cli_num(info.default_iou));
    cJSON *cls = cJSON_AddArrayToObject(j, "classes");
    for (uint32_t k = 0; k < info.n_classes; k++)
        cJSON_AddItemToArray(cls,
                             cJSON_CreateString(dg_project_class_name(p, k)));
    cJSON *fr = cJSON_AddArrayToObject(j, "frames");
    for (uint32_t f = 0; f < info.n_frames; f++)
        cJSON_AddItemToArray(fr, cJSON_CreateString(dg_project_frame_id(p, f)));
    /* Progress: the labels, each set, segments and embeddings, the page. */
    unsigned long long step = 0, steps = 3 + (unsigned long long)nn;
    cli_step("report", step, steps);
    if ((rc = export_labels(ctx, p, &B, j)) != EXIT_OK)
        goto out;
    cli_step("report", ++step, steps);
    rc = EXIT_ERROR;
    cJSON *sets = cJSON_AddArrayToObject(j, "sets");
    for (int i = 0; i < nn; i++) {
        if ((rc = export_set(ctx, p, names[i], &B, sets,
                             (uint64_t)le_limit)) != EXIT_OK)
            goto out;
        cli_step("report", ++step, steps);
    }
    rc = EXIT_ERROR;
    if (report_extra_project(ctx, p, &B, j) != EXIT_OK)
        goto out;
    cli_step("report", ++step, steps);
    if (B.oom) {
        rc = cli_error("out of memory");
        goto out;
    }
    js = cJSON_PrintUnformatted(j);
    if (!js) {
        rc = cli_error("out of memory");
        goto out;
    }

    const char *tp = dg_report_report_html;
    if (copy_to(&o, &tp, "<!--DG:TITLE-->") < 0)
        goto bad_template;
    put_html_text(&o, title);
    if (copy_to(&o, &tp, "/*DG:CSS*/") < 0)
        goto bad_template;
    sb_str(&o, dg_report_report_css);
    if (copy_to(&o, &tp, "<!--DG:DATA-->") < 0)
        goto bad_template;
    sb_str(&o, "<script id=\"dg-data\" type=\"application/json\">");
    put_script_safe(&o, js);
    sb_str(&o, "</script>\n");
    for (size_t i = 0; i < B.n; i++) {
        char h[96];
        snprintf(h, sizeof(h),
                 "<script id=\"dg-b%zu\" type=\"application/octet-stream\">",
                 i);
        sb_str(&o, h);
        sb_str(&o, B.s[i]);
        sb_str(&o, "</script>\n");
    }
    if (copy_to(&o, &tp, "/*DG:JS*/") < 0)
        goto bad_template;
    put_script_safe(&o, dg_report_report_js);
    sb_str(&o, tp);
    if (o.oom) {
        rc = cli_error("out of memory");
        goto out;
    }
    rc = cli_write_file(out_path, o.p, o.n);
    cli_step("report", ++step, steps);
    if (rc == EXIT_OK && strcmp(out_path, "-"))
        fprintf(stderr, "wrote '%s' (%.1f MB)\n", out_path,
                (double)o.n / 1e6);
    goto out;
bad_template:
    rc = cli_error("report: the embedded page template lacks a marker");
out:
    cJSON_Delete(j);
    free(js);
    free(o.p);
    report_blobs_release(&B);
    cli_flush_warnings(ctx);
    dg_project_free(p);
    dg_ctx_free(ctx);
    return rc;
}
