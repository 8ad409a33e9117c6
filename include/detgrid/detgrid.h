/*
 * detgrid: object-detection evaluation on OpenCL devices, with a plain-C
 * reference path that computes the same bytes.
 *
 *     dg_ctx *ctx; dg_project *p; dg_results *r;
 *     dg_ctx_new(&ctx);
 *     dg_project_open(ctx, "project.h5", &p);
 *     double iou[19]; int n = dg_default_iou_thresholds(iou, 19);
 *     dg_eval(ctx, p, "model-a", iou, n);       // heavy: IoU + matching
 *     dg_project_save(ctx, p, "project.h5");    // atomic
 *     dg_results_load(ctx, p, "model-a", &r);
 *     dg_counts c[80];
 *     dg_results_counts(r, 0.37, dg_results_find_iou(ctx, r, 0.55), c);
 *
 * Every function returns a dg_status (0 ok, negative error) or documents
 * otherwise; the message is in dg_ctx_last_error(). The library never
 * prints and never exits.
 */
#ifndef DETGRID_H
#define DETGRID_H

#include "detgrid/status.h"
#include "detgrid/context.h"
#include "detgrid/project.h"
#include "detgrid/files.h"
#include "detgrid/import.h"
#include "detgrid/import_txt.h"
#include "detgrid/voc.h"
#include "detgrid/synth.h"
#include "detgrid/eval.h"
#include "detgrid/scale.h"
#include "detgrid/metrics.h"
#include "detgrid/segments.h"
#include "detgrid/confusion.h"
#include "detgrid/device.h"
#include "detgrid/coco.h"
#include "detgrid/errors.h"
#include "detgrid/frames.h"
#include "detgrid/bootstrap.h"
#include "detgrid/embeddings.h"
#include "detgrid/report.h"

#define DG_VERSION_STRING "0.1.0"

#endif
