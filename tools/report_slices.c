/*
 * detgrid report: the failing metadata slices of each inference set, as
 * `detgrid slices` finds and explains them at the project's default
 * thresholds (dg_slices_evaluate, docs/SLICES.md), or why there are none.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detgrid/slices.h"
#include "explain.h"
#include "report_extra.h"

int report_nearest_iou(dg_results *r, double iou)
{
    int t = 0;
    for (int k = 1; k < dg_results_n_iou(r); k++)
        if (fabs(dg_results_iou(r, k) - iou) < fabs(dg_results_iou(r, t) - iou))
            t = k;
    return t;
}

static cJSON *slice_json(report_blobs *B, dg_project *p, const dg_slice *s,
                         uint32_t rank, uint64_t frames_max)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rank", rank);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON *w = cJSON_AddArrayToObject(o, "where");
    for (uint32_t i = 0; i < s->n_conditions; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(s->where[i]));
    cJSON_AddNumberToObject(o, "n_frames", s->n_frames);
    uint64_t *v = malloc((size_t)s->n_frames * sizeof(*v) + 8);
    if (!v) {
        B->oom = 1;
        return o;
    }
    for (uint32_t i = 0; i < s->n_frames; i++)
        v[i] = s->frames[i];
    cJSON_AddItemToObject(o, "frames",
                          report_blob_uint(B, v, s->n_frames, frames_max));
    free(v);
    cJSON_AddNumberToObject(o, "tp", (double)s->counts.tp);
    cJSON_AddNumberToObject(o, "fp", (double)s->counts.fp);
    cJSON_AddNumberToObject(o, "fn", (double)s->counts.fn);
    cli_slice_test_json(o, s);
    cli_explain_json(cJSON_AddObjectToObject(o, "explain"), p, &s->explain);
    char text[512];
    cli_explain_text(text, sizeof(text), p, &s->explain);
    cJSON_AddStringToObject(o, "explain_text", text);
    return o;
}

/* Set name's slices at the defaults into a new object; NULL with a
 * warning printed when the search fails. */
static cJSON *set_slices(dg_ctx *ctx, dg_project *p, const char *name,
                         report_blobs *B)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    dg_results *r = NULL;
    dg_slices_result res;
    memset(&res, 0, sizeof(res));
    cJSON *o = NULL;
    dg_status st = dg_results_load(ctx, p, name, &r);
    int t = 0;
    if (st >= 0) {
        dg_slices_opts so;
        dg_slices_opts_init(&so);
        so.conf = info.default_conf;
        so.iou_idx = t = report_nearest_iou(r, info.default_iou);
        st = dg_slices_evaluate(ctx, r, p, &so, &res);
    }
    if (st < 0) {
        fprintf(stderr, "warning: no slices for '%s': %s\n", name,
                dg_ctx_last_error(ctx));
        goto out;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "set", name);
    cJSON_AddItemToObject(o, "conf", cli_num(info.default_conf));
    cJSON_AddItemToObject(o, "iou", cli_num(dg_results_iou(r, t)));
    cJSON_AddStringToObject(o, "metric", dg_slice_metric_name(res.metric));
    cJSON_AddItemToObject(o, "alpha", cli_num(res.alpha));
    cJSON_AddNumberToObject(o, "min_support", res.min_support);
    cJSON_AddNumberToObject(o, "max_conditions", res.max_conditions);
    cJSON_AddNumberToObject(o, "frames", res.n_frames);
    cJSON_AddItemToObject(o, "value", cli_num(res.value));
    cJSON_AddNumberToObject(o, "columns", res.n_columns);
    cJSON_AddNumberToObject(o, "conditions", res.n_conditions);
    cJSON_AddNumberToObject(o, "tested", (double)res.n_tested);
    cJSON_AddNumberToObject(o, "significant", (double)res.n_significant);
    cJSON *a = cJSON_AddArrayToObject(o, "list");
    uint64_t fmax = info.n_frames ? info.n_frames - 1 : 0;
    for (uint32_t i = 0; i < res.n_slices; i++)
        cJSON_AddItemToArray(a, slice_json(B, p, &res.slices[i], i + 1, fmax));
out:
    dg_slices_result_release(&res);
    dg_results_free(r);
    return o;
}

int report_slices(dg_ctx *ctx, dg_project *p, const char *const *names,
                  int nn, report_blobs *B, cJSON *j)
{
    cJSON *o = cJSON_AddObjectToObject(j, "slices");
    cJSON *sets = cJSON_AddArrayToObject(o, "sets");
    uint32_t nm = dg_project_n_meta(p);
    if (!nm) {
        cJSON_AddStringToObject(
            o, "reason",
            "the project has no frame metadata columns: add them with "
            "`detgrid import meta` (CSV), import COCO with its image fields, "
            "or `detgrid synth --metadata`");
        return EXIT_OK;
    }
    cJSON_AddNullToObject(o, "reason");
    for (int i = 0; i < nn; i++) {
        cJSON *s = set_slices(ctx, p, names[i], B);
        if (!s) {
            cJSON_DeleteItemFromObject(o, "reason");
            cJSON_AddStringToObject(o, "reason", dg_ctx_last_error(ctx));
            break;
        }
        cJSON_AddItemToArray(sets, s);
    }
    return B->oom ? cli_error("out of memory") : EXIT_OK;
}
