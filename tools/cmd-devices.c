/*
 * detgrid devices: the OpenCL platforms and devices eval can use.
 */
#include <stdlib.h>

#include "cli.h"
#include "cmds.h"

static const char *const usage[] = {"detgrid devices [--json]", NULL};

int cmd_devices(int argc, const char **argv)
{
    int json = 0;
    cli_opt opts[] = {{OPT_FLAG, 0, "json", &json, NULL, "JSON on stdout", 0},
                      {OPT_END, 0, NULL, NULL, NULL, NULL, 0}};
    const char *pos[1];
    if (cli_parse(argc, argv, opts, usage, pos, 0) != 0)
        cli_usage_error(usage, opts, "no positional arguments expected");
    dg_ctx *ctx = cli_ctx(NULL);
    dg_device_desc *d = NULL;
    int n = 0;
    dg_status st = dg_devices_list(ctx, &d, &n);
    if (st < 0) {
        int rc = cli_fail(ctx, st);
        dg_ctx_free(ctx);
        return rc;
    }
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            char sel[32];
            snprintf(sel, sizeof(sel), "%d.%d", d[i].platform, d[i].device);
            cJSON_AddStringToObject(o, "selector", sel);
            cJSON_AddStringToObject(o, "platform", d[i].platform_name);
            cJSON_AddStringToObject(o, "name", d[i].name);
            cJSON_AddStringToObject(o, "type",
                                    d[i].is_gpu ? "gpu" : d[i].is_cpu ? "cpu"
                                                                      : "other");
            cJSON_AddStringToObject(o, "version", d[i].version);
            cJSON_AddStringToObject(o, "driver", d[i].driver);
            cJSON_AddBoolToObject(o, "fp64", d[i].has_fp64);
            cJSON_AddBoolToObject(o, "usable", d[i].has_fp64 && d[i].available);
            cJSON_AddNumberToObject(o, "global_mem", (double)d[i].global_mem);
            cJSON_AddNumberToObject(o, "max_alloc", (double)d[i].max_alloc);
            cJSON_AddNumberToObject(o, "compute_units", d[i].compute_units);
            cJSON_AddItemToArray(a, o);
        }
        cli_print_json(a, 0);
    } else if (!n) {
        printf("no OpenCL devices found; eval uses the reference path "
               "(--device ref)\n");
    } else {
        for (int i = 0; i < n; i++)
            printf("%d.%d  %-4s %s / %s  (%s, driver %s, %u compute units, "
                   "%.1f GiB%s)\n",
                   d[i].platform, d[i].device,
                   d[i].is_gpu ? "gpu" : d[i].is_cpu ? "cpu" : "acc",
                   d[i].platform_name, d[i].name, d[i].version, d[i].driver,
                   d[i].compute_units,
                   (double)d[i].global_mem / (1024.0 * 1024 * 1024),
                   d[i].has_fp64 && d[i].available ? "" : ", not usable: no fp64");
    }
    free(d);
    dg_ctx_free(ctx);
    return EXIT_OK;
}
