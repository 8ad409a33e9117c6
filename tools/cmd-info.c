/*
 * detgrid info: what a project file holds.
 */
#include <stdlib.h>

#include "cli.h"
#include "cmds.h"
#include "detgrid/image.h"

static const char *const usage[] = {"detgrid info <project.h5> [--json]", NULL};

int cmd_info(int argc, const char **argv)
{
    int json = 0;
    cli_opt opts[] = {{OPT_FLAG, 0, "json", &json, NULL, "JSON on stdout", 0},
                      {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 1) != 1)
        cli_usage_error(usage, opts, "need a project file");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_project *p = cli_open(ctx, pos[0]);
    dg_project_info in;
    dg_project_get_info(p, &in);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "file", pos[0]);
    cJSON_AddNumberToObject(j, "format_version", in.format_version);
    cJSON_AddNumberToObject(j, "classes", in.n_classes);
    cJSON_AddNumberToObject(j, "frames", in.n_frames);
    cJSON_AddNumberToObject(j, "labels", (double)in.n_labels);
    cJSON_AddItemToObject(j, "default_conf", cli_num(in.default_conf));
    cJSON_AddItemToObject(j, "default_iou", cli_num(in.default_iou));
    cJSON *cl = cJSON_AddArrayToObject(j, "class_names");
    for (uint32_t i = 0; i < in.n_classes; i++)
        cJSON_AddItemToArray(cl, cJSON_CreateString(dg_project_class_name(p, i)));
    cJSON *meta = cJSON_AddArrayToObject(j, "metadata");
    for (uint32_t i = 0; i < dg_project_n_meta(p); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", dg_project_meta_name(p, i));
        cJSON_AddStringToObject(o, "type",
                                dg_project_meta_is_num(p, i) ? "number"
                                                             : "text");
        cJSON_AddItemToArray(meta, o);
    }
    if (dg_project_images_dir(p))
        cJSON_AddStringToObject(j, "images_dir", dg_project_images_dir(p));
    else
        cJSON_AddNullToObject(j, "images_dir");
    cJSON *sets = cJSON_AddArrayToObject(j, "inferences");
    for (uint32_t i = 0; i < in.n_inferences; i++) {
        const char *name = dg_project_inference_name(p, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddNumberToObject(o, "detections",
                                (double)dg_project_inference_size(p, i));
        dg_results *r;
        if (dg_results_load(ctx, p, name, &r) == DG_OK) {
            cJSON *t = cJSON_AddArrayToObject(o, "iou_thresholds");
            for (int k = 0; k < dg_results_n_iou(r); k++)
                cJSON_AddItemToArray(t, cli_num(dg_results_iou(r, k)));
            cJSON_AddStringToObject(o, "evaluated_on", dg_results_device(r));
            dg_results_free(r);
        } else {
            cJSON_AddNullToObject(o, "iou_thresholds");
            cJSON_AddStringToObject(o, "results", dg_ctx_last_error(ctx));
        }
        /* Results of masks or keypoints (eval --iou-type) beside the
         * boxes': every stored type. */
        unsigned types = dg_project_result_types(p, i);
        if (types & ~1u) {
            cJSON *ty = cJSON_AddArrayToObject(o, "iou_types");
            for (int t = 0; t < DG_N_IOU_TYPES; t++)
                if (types >> t & 1)
                    cJSON_AddItemToArray(
                        ty, cJSON_CreateString(dg_coco_iou_type_name(t)));
        }
        cJSON_AddItemToArray(sets, o);
    }
    cJSON *segs = cJSON_AddArrayToObject(j, "segments");
    for (uint32_t i = 0; i < dg_project_n_segments(p); i++) {
        const uint32_t *sf;
        uint32_t sn = 0;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", dg_project_segment_name(p, i));
        cJSON_AddStringToObject(
            o, "kind", dg_segment_kind_name(dg_project_segment_kind(p, i)));
        if (dg_project_segment_frames(ctx, p, i, &sf, &sn) == DG_OK)
            cJSON_AddNumberToObject(o, "frames", sn);
        else
            cJSON_AddNullToObject(o, "frames");
        cJSON_AddItemToArray(segs, o);
    }
    if (json) {
        cli_print_json(j, 0);
    } else {
        printf("%s: detgrid project, format %d\n", pos[0], in.format_version);
        printf("  %u classes, %u frames, %llu labels\n", in.n_classes,
               in.n_frames, (unsigned long long)in.n_labels);
        printf("  defaults: confidence %g, IoU %g\n", in.default_conf,
               in.default_iou);
        cJSON *o;
        if (cJSON_GetArraySize(meta)) {
            printf("  frame metadata:");
            cJSON_ArrayForEach(o, meta)
                printf(" %s (%s)", cJSON_GetObjectItem(o, "name")->valuestring,
                       cJSON_GetObjectItem(o, "type")->valuestring);
            printf("\n");
        }
        if (dg_project_images_dir(p))
            printf("  images: %s\n", dg_project_images_dir(p));
        cJSON_ArrayForEach(o, sets) {
            cJSON *t = cJSON_GetObjectItem(o, "iou_thresholds");
            printf("  inference set '%s': %.0f detections, ",
                   cJSON_GetObjectItem(o, "name")->valuestring,
                   cJSON_GetObjectItem(o, "detections")->valuedouble);
            if (cJSON_IsArray(t))
                printf("evaluated at %d IoU thresholds on %s\n",
                       cJSON_GetArraySize(t),
                       cJSON_GetObjectItem(o, "evaluated_on")->valuestring);
            else
                printf("not evaluated\n");
            cJSON *ty = cJSON_GetObjectItem(o, "iou_types"), *x;
            if (ty) {
                printf("    results of IoU types:");
                cJSON_ArrayForEach(x, ty)
                    printf(" %s", x->valuestring);
                printf(" (--iou-type)\n");
            }
        }
        cJSON_ArrayForEach(o, segs) {
            cJSON *fr = cJSON_GetObjectItem(o, "frames");
            printf("  segment '%s' (%s): %.0f frames\n",
                   cJSON_GetObjectItem(o, "name")->valuestring,
                   cJSON_GetObjectItem(o, "kind")->valuestring,
                   cJSON_IsNumber(fr) ? fr->valuedouble : 0);
        }
        cJSON_Delete(j);
    }
    dg_project_free(p);
    dg_ctx_free(ctx);
    return EXIT_OK;
}
