/*
 * The device for the differential tests: gen.h's chunks and the OpenCL
 * device DETGRID_DEVICE selects.
 */
#ifndef DG_TEST_GEN_CL_H
#define DG_TEST_GEN_CL_H

#include "cl_internal.h"
#include "gen.h"

/* ---- the device ---------------------------------------------------------- */

/*
 * Selects the device DETGRID_DEVICE names (auto when unset or a reference
 * selection: these tests need OpenCL) and sets it up. 0 when it is ready,
 * its description printed; else what main returns: 2 for a bad selection,
 * 77 when no device exists (after "SKIP: <skip>no OpenCL device (...)"),
 * 1 when setting it up fails.
 */
static inline int device_open(dg_ctx *ctx, const char *skip)
{
    const char *dev = getenv("DETGRID_DEVICE");
    if (!dev || !strncmp(dev, "ref", 3))
        dev = "auto";
    if (dg_ctx_set_device(ctx, dev) != DG_OK) {
        fprintf(stderr, "%s\n", dg_ctx_last_error(ctx));
        return 2;
    }
    dg_status st = dg__cl_ensure(ctx);
    if (st == DG_ENODEV) {
        printf("SKIP: %sno OpenCL device (%s)\n", skip,
               dg_ctx_last_error(ctx));
        return 77;
    }
    if (st != DG_OK) {
        fprintf(stderr, "cannot set up OpenCL: %s\n", dg_ctx_last_error(ctx));
        return 1;
    }
    printf("device: %s\n", dg__cl_device_desc(ctx));
    return 0;
}

#endif
