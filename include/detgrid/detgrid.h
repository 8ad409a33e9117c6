/*
 * detgrid: object-detection evaluation on OpenCL devices, with a plain-C
 * reference path that computes the same bytes.
 *
 * A complete program: evaluate inference set "model-a" of a project and
 * print per-class counts, precision, recall and F1 at confidence 0.37 and
 * IoU 0.55. The build copies the lines between the two markers below into
 * example.c, compiles it against this header and runs it as a test that
 * compares what it prints with `detgrid metrics --json`
 * (tests/test_example.py), so it stays true.
 *
 * ---- example.c ----
 *     #include <stdio.h>
 *     #include <stdlib.h>
 *
 *     #include "detgrid/detgrid.h"
 *
 *     int main(int argc, char **argv)
 *     {
 *         const char *path = argc > 1 ? argv[1] : "project.h5";
 *         const char *set = argc > 2 ? argv[2] : "model-a";
 *         dg_ctx *ctx = NULL;
 *         dg_project *p = NULL;
 *         dg_results *r = NULL;
 *         dg_counts *c = NULL;
 *         double iou[DG_MAX_IOU_THRESHOLDS];
 *         int n_iou = dg_default_iou_thresholds(iou, DG_MAX_IOU_THRESHOLDS);
 *         int t = -1;
 *
 *         dg_status st = dg_ctx_new(&ctx);
 *         if (st < 0) {
 *             fprintf(stderr, "example: %s\n", dg_strerror(st));
 *             return 2;
 *         }
 *         // The heavy step: IoU and matching at every threshold of the
 *         // grid, on the context's device. Queries after it are lookups.
 *         if ((st = dg_project_open(ctx, path, &p)) < 0 ||
 *             (st = dg_eval(ctx, p, set, iou, n_iou)) < 0 ||
 *             (st = dg_results_load(ctx, p, set, &r)) < 0)
 *             goto out;
 *         t = dg_results_find_iou(ctx, r, 0.55); // an index or a status
 *         if (t < 0) {
 *             st = (dg_status)t;
 *             goto out;
 *         }
 *         uint32_t n = dg_results_n_classes(r);
 *         if (!(c = malloc(n * sizeof(*c)))) {
 *             st = DG_ENOMEM;
 *             goto out;
 *         }
 *         if ((st = dg_results_counts(ctx, r, 0.37, t, c)) < 0)
 *             goto out;
 *         printf("class tp fp fn precision recall f1\n");
 *         for (uint32_t k = 0; k < n; k++) {
 *             dg_prf m = dg_counts_prf(&c[k]); // NaN where undefined
 *             printf("%s %llu %llu %llu %.4f %.4f %.4f\n",
 *                    dg_project_class_name(p, k),
 *                    (unsigned long long)c[k].tp,
 *                    (unsigned long long)c[k].fp,
 *                    (unsigned long long)c[k].fn, m.precision, m.recall,
 *                    m.f1);
 *         }
 *     out:
 *         if (st < 0)
 *             fprintf(stderr, "example: %s\n", dg_ctx_last_error(ctx));
 *         free(c);
 *         dg_results_free(r);
 *         dg_project_free(p);
 *         dg_ctx_free(ctx);
 *         return st < 0 ? 2 : 0;
 *     }
 * ---- end of example.c ----
 *
 * Conventions of the whole API (every header in include/detgrid/):
 *
 *   - Every function that can fail returns a dg_status: 0 (DG_OK) or a
 *     negative error; a few return a count or an index, or a negative
 *     status (dg_results_find_iou). The message, naming the file, record
 *     and field where that applies, is in dg_ctx_last_error(). The
 *     library never prints and never exits.
 *   - Arguments go: the context, the objects the call works on (results
 *     before the project they come from), the inputs, the options, the
 *     outputs.
 *   - An analysis is dg_<x>_evaluate(ctx, ..., const dg_<x>_opts *opts,
 *     dg_<x>_result *out). dg_<x>_opts_init() fills the options with the
 *     defaults, and opts NULL means the same defaults. The caller owns
 *     *out and frees what it holds with dg_<x>_result_release(), which
 *     accepts an empty result; on failure *out is left empty.
 *   - Lifetimes in git's words: _init fills a caller-owned struct,
 *     _release frees what it holds; opaque handles come from _new (or
 *     _open, _load, _create) and go to _free, which accepts NULL.
 *   - Strings and arrays returned by an object are owned by it; malloc'd
 *     outputs are documented as such and freed with free().
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
#include "detgrid/tide.h"
#include "detgrid/label_errors.h"
#include "detgrid/frames.h"
#include "detgrid/bootstrap.h"
#include "detgrid/embeddings.h"
#include "detgrid/explain.h"
#include "detgrid/slices.h"
#include "detgrid/report.h"
#include "detgrid/image.h"

#define DG_VERSION_STRING "0.1.0"

#endif
