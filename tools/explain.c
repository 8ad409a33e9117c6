/*
 * Printing explanations of failure patterns (tools/explain.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"

static double share(uint64_t x, const uint64_t *all)
{
    uint64_t t = 0;
    for (int i = 0; i < DG_TIDE_N; i++)
        t += all[i];
    return t ? (double)x / (double)t : NAN;
}

void cli_explain_json(cJSON *o, dg_project *p, const dg_pattern_explain *e)
{
    cJSON *ca = cJSON_AddArrayToObject(o, "classes");
    for (int i = 0; i < DG_EXPLAIN_CLASSES; i++) {
        const dg_class_lift *l = &e->cls[i];
        if (l->cls == UINT32_MAX)
            break;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "class", dg_project_class_name(p, l->cls));
        cJSON_AddNumberToObject(c, "errors", (double)l->errors);
        cJSON_AddNumberToObject(c, "chances", (double)l->chances);
        cJSON_AddItemToObject(c, "rate",
                              cli_num((double)l->errors / (double)l->chances));
        cJSON_AddItemToObject(
            c, "rate_all",
            cli_num((double)l->errors_all / (double)l->chances_all));
        cJSON_AddItemToObject(c, "lift", cli_num(l->lift));
        cJSON_AddItemToObject(c, "z", cli_num(l->z));
        cJSON_AddItemToArray(ca, c);
    }
    cJSON *ta = cJSON_AddArrayToObject(o, "error_types");
    dg_tide_type order[DG_TIDE_N];
    int n = dg_explain_tide_order(e, order);
    for (int i = 0; i < n; i++) {
        dg_tide_type t = order[i];
        cJSON *c = cJSON_CreateObject();
        double sh = share(e->tide[t], e->tide), sa = share(e->tide_all[t],
                                                           e->tide_all);
        cJSON_AddStringToObject(c, "type", dg_tide_type_name(t));
        cJSON_AddNumberToObject(c, "count", (double)e->tide[t]);
        cJSON_AddItemToObject(c, "share", cli_num(sh));
        cJSON_AddItemToObject(c, "share_all", cli_num(sa));
        cJSON_AddItemToObject(c, "lift", cli_num(sa > 0 ? sh / sa : NAN));
        cJSON_AddItemToArray(ta, c);
    }
    cJSON *rf = cJSON_AddArrayToObject(o, "representative_frames");
    for (int i = 0; i < DG_EXPLAIN_FRAMES; i++) {
        if (e->rep_frame[i] == UINT32_MAX)
            break;
        cJSON_AddItemToArray(
            rf, cJSON_CreateString(dg_project_frame_id(p, e->rep_frame[i])));
    }
}

void cli_explain_text(char *buf, size_t cap, dg_project *p,
                      const dg_pattern_explain *e)
{
    size_t len = 0;
    buf[0] = 0;
#define ADD(...)                                                              \
    do {                                                                      \
        if (len < cap)                                                        \
            len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__);      \
    } while (0)
    for (int i = 0; i < DG_EXPLAIN_CLASSES; i++) {
        const dg_class_lift *l = &e->cls[i];
        if (l->cls == UINT32_MAX)
            break;
        ADD("%s%s %.1fx (%llu/%llu)", i ? ", " : "",
            dg_project_class_name(p, l->cls), l->lift,
            (unsigned long long)l->errors, (unsigned long long)l->chances);
    }
    if (e->cls[0].cls == UINT32_MAX)
        ADD("no class over-represented");
    dg_tide_type order[DG_TIDE_N];
    int n = dg_explain_tide_order(e, order);
    for (int i = 0; i < n && i < 2; i++) {
        dg_tide_type t = order[i];
        double sh = share(e->tide[t], e->tide), sa = share(e->tide_all[t],
                                                           e->tide_all);
        ADD("%s%s %.0f%% (%.1fx)", i ? ", " : "; ", dg_tide_type_name(t),
            100 * sh, sa > 0 ? sh / sa : NAN);
    }
#undef ADD
}
