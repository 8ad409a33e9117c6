/*
 * OpenCL devices: what `detgrid devices` lists and what dg_ctx_set_device()
 * selects among ("cpu:0.0" names platform 0, device 0 of this list).
 *
 *     dg_device_desc *d;
 *     int n;
 *     if (dg_devices_list(ctx, &d, &n) == 0) {
 *         for (int i = 0; i < n; i++)
 *             printf("%d.%d %s\n", d[i].platform, d[i].device, d[i].name);
 *         free(d);
 *     }
 *
 * Eval needs double precision (cl_khr_fp64); a device without it is listed
 * with has_fp64 = 0 and is never chosen.
 */
#ifndef DETGRID_DEVICE_H
#define DETGRID_DEVICE_H

#include <stdint.h>

#include "detgrid/context.h"
#include "detgrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_device_desc {
    int platform, device;    /* indices, as in "P.D" selectors */
    char platform_name[128]; /* CL_PLATFORM_NAME, truncated */
    char name[128];          /* CL_DEVICE_NAME, truncated */
    char version[128];       /* CL_DEVICE_VERSION */
    char driver[128];        /* CL_DRIVER_VERSION */
    int is_gpu, is_cpu;
    int has_fp64;            /* usable by eval only if set */
    int available;           /* available and has a compiler */
    uint64_t global_mem;     /* bytes */
    uint64_t max_alloc;      /* largest single buffer, bytes */
    uint32_t compute_units;
} dg_device_desc;

/*
 * Lists every OpenCL device of every platform, in platform then device
 * order. *out is a malloc'd array of *n entries for the caller to free();
 * NULL when *n is 0. No OpenCL platform at all is not an error: *n is 0.
 * Fails with DG_EINVAL on NULL arguments, DG_ENOMEM, or DG_ECL when the
 * platform query itself fails. ctx may be NULL (no message is kept).
 */
dg_status dg_devices_list(dg_ctx *ctx, dg_device_desc **out, int *n);

/*
 * Whether the "auto" device choice finds a GPU (1) or takes the reference
 * path (0), the answer kept for the process. On Linux a machine with no
 * GPU device node (/dev/nvidia*, /dev/kfd, /dev/dri/renderD* or card*,
 * /dev/dxg, ...) answers 0 at once, without loading any OpenCL platform;
 * elsewhere the platforms are listed, which takes tens of milliseconds
 * (PoCL's compiler is loaded), so a program may call this on a thread of
 * its own while it reads its input. 0 in a build without OpenCL.
 */
int dg_devices_auto_gpu(void);

#ifdef __cplusplus
}
#endif
#endif
