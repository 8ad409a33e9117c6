/*
 * Shared by `scenarios` and `check`: one inference set on one segment,
 * micro-averaged precision, recall and F1 at the segment's thresholds,
 * against its targets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static void add_why(sc_result *r, const char *what, double v, double target,
                    const char *bound)
{
    size_t len = strlen(r->why);
    char a[32];
    if (isnan(v))
        snprintf(a, sizeof(a), "undefined");
    else
        snprintf(a, sizeof(a), "%.4f", v);
    snprintf(r->why + len, sizeof(r->why) - len, "%s%s%s %s < %g",
             len ? ", " : "", what, bound, a, target);
}

/*
 * Without intervals, the counts of every segment come from one pass
 * (dg_results_segment_counts), kept for the next segment at the same
 * inference set and thresholds.
 */
static struct {
    const char *name;
    double conf;
    int t;
    dg_counts *c; /* per segment */
    uint32_t n;
} cache;

static dg_status cached_counts(dg_ctx *ctx, dg_project *p, dg_results *r,
                               const char *name, double conf, int t,
                               uint32_t seg, dg_counts *out)
{
    uint32_t ns = dg_project_n_segments(p);
    if (!cache.c || cache.name != name || cache.conf != conf ||
        cache.t != t || cache.n != ns) {
        free(cache.c);
        cache.c = calloc(ns, sizeof(*cache.c));
        cache.name = NULL;
        if (!cache.c)
            return DG_ENOMEM;
        dg_status st = dg_results_segment_counts(ctx, r, p, conf, t, cache.c);
        if (st < 0)
            return st;
        cache.name = name;
        cache.conf = conf;
        cache.t = t;
        cache.n = ns;
    }
    *out = cache.c[seg];
    return DG_OK;
}

void sc_release(void)
{
    free(cache.c);
    memset(&cache, 0, sizeof(cache));
}

int sc_eval(dg_ctx *ctx, dg_project *p, const char *name, uint32_t seg,
            double conf, double iou, const dg_bootstrap_opts *bo, int strict,
            sc_result *out)
{
    dg_project_info in;
    dg_project_get_info(p, &in);
    memset(out, 0, sizeof(*out));
    out->inferences = name;
    out->segment = seg;
    dg_project_segment_targets(p, seg, &out->t);
    out->conf = !isnan(conf)          ? conf
                : !isnan(out->t.conf) ? out->t.conf
                                      : in.default_conf;
    out->iou = !isnan(iou)          ? iou
               : !isnan(out->t.iou) ? out->t.iou
                                    : in.default_iou;
    dg_results *r;
    dg_status st = dg_results_load(ctx, p, name, &r);
    if (st < 0)
        return cli_fail(ctx, st);
    int t = dg_results_find_iou(ctx, r, out->iou);
    st = t < 0 ? (dg_status)t : dg_results_check_conf(ctx, r, out->conf);
    if (st < 0) {
        dg_results_free(r);
        /* Name where the threshold came from: one segment's own IoU
         * must not fail the whole check anonymously. */
        if (t < 0 && isnan(iou) && !isnan(out->t.iou))
            return cli_error("segment '%s' (IoU %g, its own): inference set "
                             "'%s': %s", dg_project_segment_name(p, seg),
                             out->iou, name, dg_ctx_last_error(ctx));
        return cli_fail(ctx, st);
    }
    out->ap = NAN;
    if (!isnan(out->t.ap)) {
        /* AP needs the class-wise sweeps on the segment's frames. */
        if ((st = dg_results_restrict_segment(
                 ctx, r, p, dg_project_segment_name(p, seg))) < 0 ||
            (st = dg_results_ap(ctx, r, t, NULL, &out->ap)) < 0) {
            dg_results_free(r);
            return cli_fail(ctx, st);
        }
    }
    if (!bo) {
        st = cached_counts(ctx, p, r, name, out->conf, t, seg, &out->micro);
        dg_results_free(r);
        if (st < 0)
            return st == DG_ENOMEM ? cli_error("out of memory")
                                   : cli_fail(ctx, st);
        out->prf = dg_counts_prf(&out->micro);
        goto judge;
    }
    uint32_t nc = dg_results_n_classes(r);
    dg_counts *c = calloc(nc ? nc : 1, sizeof(*c));
    if (!c) {
        dg_results_free(r);
        return cli_error("out of memory");
    }
    if ((st = dg_results_restrict_segment(ctx, r, p,
                                          dg_project_segment_name(p, seg))) <
            0 ||
        (st = dg_results_counts(ctx, r, out->conf, t, c)) < 0) {
        free(c);
        dg_results_free(r);
        return cli_fail(ctx, st);
    }
    for (uint32_t k = 0; k < nc; k++) {
        out->micro.tp += c[k].tp;
        out->micro.fp += c[k].fp;
        out->micro.fn += c[k].fn;
        out->micro.n_gt += c[k].n_gt;
        out->micro.n_det += c[k].n_det;
    }
    free(c);
    out->prf = dg_counts_prf(&out->micro);
    if (bo) {
        if ((st = dg_results_bootstrap(ctx, r, p, out->conf, t, bo, NULL,
                                       &out->ci)) < 0) {
            dg_results_free(r);
            return cli_fail(ctx, st);
        }
        out->has_ci = 1;
    }
    dg_results_free(r);
judge:
    out->strict = strict && out->has_ci;
    double target[4] = {out->t.precision, out->t.recall, out->t.f1,
                        out->t.ap};
    dg_prf judged = out->strict ? out->ci.lo : out->prf;
    /* AP has no interval: it is judged on its value, strict or not. */
    double got[4] = {judged.precision, judged.recall, judged.f1, out->ap};
    static const char *const what[4] = {"precision", "recall", "F1", "AP"};
    out->pass = 1;
    for (int k = 0; k < 4; k++) {
        if (isnan(target[k]))
            continue;
        out->has_targets = 1;
        /* An undefined figure (no detections, no ground truth) fails. */
        if (!(got[k] >= target[k])) {
            out->pass = 0;
            add_why(out, what[k], got[k], target[k],
                    out->strict && k < 3 ? " lower bound" : "");
        }
    }
    return EXIT_OK;
}

cJSON *sc_targets_json(const dg_segment_targets *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "precision", cli_num(t->precision));
    cJSON_AddItemToObject(o, "recall", cli_num(t->recall));
    cJSON_AddItemToObject(o, "f1", cli_num(t->f1));
    cJSON_AddItemToObject(o, "ap", cli_num(t->ap));
    return o;
}

void sc_json(const sc_result *r, cJSON *o)
{
    cJSON_AddStringToObject(o, "inferences", r->inferences);
    cJSON_AddItemToObject(o, "conf", cli_num(r->conf));
    cJSON_AddItemToObject(o, "iou", cli_num(r->iou));
    cJSON_AddNumberToObject(o, "tp", (double)r->micro.tp);
    cJSON_AddNumberToObject(o, "fp", (double)r->micro.fp);
    cJSON_AddNumberToObject(o, "fn", (double)r->micro.fn);
    cJSON_AddNumberToObject(o, "n_gt", (double)r->micro.n_gt);
    cli_prf_json(o, r->prf);
    cJSON_AddItemToObject(o, "ap", cli_num(r->ap));
    if (r->has_ci) {
        cli_prf_json(cJSON_AddObjectToObject(o, "lo"), r->ci.lo);
        cli_prf_json(cJSON_AddObjectToObject(o, "hi"), r->ci.hi);
    }
    cJSON_AddBoolToObject(o, "strict", r->strict);
    cJSON_AddBoolToObject(o, "has_targets", r->has_targets);
    cJSON_AddBoolToObject(o, "pass", r->pass);
    if (r->why[0])
        cJSON_AddStringToObject(o, "failed", r->why);
    else
        cJSON_AddNullToObject(o, "failed");
}

void sc_fmt_targets(char *buf, size_t cap, const dg_segment_targets *t)
{
    size_t len = 0;
    double v[4] = {t->precision, t->recall, t->f1, t->ap};
    static const char *const nm[4] = {"P", "R", "F1", "AP"};
    buf[0] = 0;
    for (int k = 0; k < 4 && len < cap; k++)
        if (!isnan(v[k]))
            len += (size_t)snprintf(buf + len, cap - len, "%s%s>=%g",
                                    len ? " " : "", nm[k], v[k]);
    if (!len)
        snprintf(buf, cap, "no targets");
}
