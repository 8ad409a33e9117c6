/*
 * The project file: round trip, atomic saves, lazy results, staleness, and
 * queries on a hand-checked project.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_impl.h"

static char dir[] = "/tmp/dg-test-project-XXXXXX";

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static long file_size(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 ? (long)s.st_size : -1;
}

/* Two frames, classes a and b. Frame 0: a GT at (0,0,10,10) matched by a
 * 0.9 detection, a 0.3 duplicate (FP). Frame 1: b GT missed, an 'a'
 * detection at 0.6 on nothing (FP), and a crowd b region absorbing a 0.8
 * b detection (ignored). */
static dg_project *small_project(dg_ctx *ctx)
{
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, p, "a", 7), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, p, "b", 9), DG_OK);
    CHECK_EQ_INT(dg__project_add_frame(ctx, p, "f0", 100, 640, 480), DG_OK);
    CHECK_EQ_INT(dg__project_add_frame(ctx, p, "f1", 101, 640, 480), DG_OK);
    dg_boxset *g = &p->labels;
    dg__boxset_reserve(ctx, g, DG_BOXES_LABELS, 4);
    dg__boxset_push(g, 0, 0, 0, 0, 10, 10, 0, 100, 0, 0);
    dg__boxset_push(g, 1, 1, 50, 50, 10, 10, 0, 100, 0, 0);
    dg__boxset_push(g, 1, 1, 200, 200, 100, 100, 0, 10000, 1, 0);
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, g, 2), DG_OK);
    p->n_labels = g->n;
    uint32_t i;
    CHECK_EQ_INT(dg__project_add_inferences(ctx, p, "m", &i), DG_OK);
    CHECK_EQ_INT(dg__project_add_inferences(ctx, p, "m", &i), DG_EEXIST);
    CHECK_EQ_INT(dg__project_add_inferences(ctx, p, "a/b", &i), DG_EINVAL);
    dg_boxset *d = &p->inf[0].boxes;
    dg__boxset_reserve(ctx, d, DG_BOXES_DETS, 4);
    dg__boxset_push(d, 1, 0, 300, 0, 10, 10, 0.6, 0, 0, 0);
    dg__boxset_push(d, 0, 0, 0, 0, 10, 10, 0.9, 0, 0, 0);
    dg__boxset_push(d, 0, 0, 1, 1, 10, 10, 0.3, 0, 0, 0);
    dg__boxset_push(d, 1, 1, 210, 210, 10, 10, 0.8, 0, 0, 0);
    CHECK_EQ_INT(dg__boxset_sort_by_frame(ctx, d, 2), DG_OK);
    p->inf[0].n = d->n;
    return p;
}

static void check_counts(dg_ctx *ctx, dg_project *p)
{
    dg_results *r;
    CHECK_EQ_INT(dg_results_load(ctx, p, "m", &r), DG_OK);
    int t = dg_results_find_iou(ctx, r, 0.5);
    CHECK(t >= 0);
    CHECK(dg_results_find_iou(ctx, r, 0.33) < 0);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "0.33 was not evaluated");
    dg_counts c[2];
    CHECK_EQ_INT(dg_results_counts(ctx, r, 0.1, t, c), DG_OK);
    CHECK_EQ_INT(c[0].tp, 1);
    CHECK_EQ_INT(c[0].fp, 2);
    CHECK_EQ_INT(c[0].fn, 0);
    CHECK_EQ_INT(c[1].tp, 0);
    CHECK_EQ_INT(c[1].fp, 0); /* the crowd detection is ignored */
    CHECK_EQ_INT(c[1].fn, 1);
    dg_prf m = dg_counts_prf(&c[1]);
    CHECK(isnan(m.precision));
    CHECK_EQ_DBL(m.recall, 0.0);
    CHECK_EQ_DBL(m.f1, 0.0);
    /* conf exactly at a score includes it. */
    CHECK_EQ_INT(dg_results_counts(ctx, r, 0.6, t, c), DG_OK);
    CHECK_EQ_INT(c[0].fp, 1);
    CHECK_EQ_INT(dg_results_counts(ctx, r, 0.6000001, t, c), DG_OK);
    CHECK_EQ_INT(c[0].fp, 0);
    CHECK_EQ_INT(c[0].tp, 1);
    m = dg_counts_prf(&c[0]);
    CHECK_EQ_DBL(m.precision, 1.0);
    CHECK_EQ_DBL(m.f1, 1.0);
    dg_sweep_point *pts;
    uint64_t n;
    CHECK_EQ_INT(dg_results_sweep(ctx, r, 0, t, &pts, &n), DG_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_DBL(pts[0].conf, 0.9);
    CHECK_EQ_INT(pts[2].fp, 2);
    free(pts);
    dg_results_free(r);
}

int main(void)
{
    dg_ctx *ctx;
    char p1[256], p2[256];
    if (!mkdtemp(dir))
        return 1;
    CHECK_EQ_INT(dg_ctx_new(&ctx), DG_OK);
    path_in(p1, sizeof(p1), "p.h5");
    path_in(p2, sizeof(p2), "q.h5");

    /* A repeated class name is refused by the save, in one sort. */
    dg_project *dup;
    CHECK_EQ_INT(dg_project_create(ctx, &dup), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, dup, "a", 7), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, dup, "b", 8), DG_OK);
    CHECK_EQ_INT(dg__project_add_class(ctx, dup, "a", 9), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, dup, p1), DG_EFORMAT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "/classes/name record 2: "
                       "duplicate class name 'a' (also record 0)");
    CHECK_EQ_INT(file_size(p1), -1);
    dg_project_free(dup);

    dg_project *p = small_project(ctx);
    double iou[19];
    int n = dg_default_iou_thresholds(iou, 19);
    CHECK_EQ_INT(n, 19);
    CHECK_EQ_DBL(iou[11], 0.6); /* the decimal, not linspace's */
    dg_results *r0;
    CHECK_EQ_INT(dg_results_load(ctx, p, "m", &r0), DG_ESTALE);
    CHECK_EQ_INT(dg_eval(ctx, p, "m", iou, n), DG_OK);
    check_counts(ctx, p); /* in memory */
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    check_counts(ctx, p); /* lazily from the saved file */
    dg_project_free(p);

    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    dg_project_info in;
    dg_project_get_info(p, &in);
    CHECK_EQ_INT(in.n_classes, 2);
    CHECK_EQ_INT(in.n_frames, 2);
    CHECK_EQ_INT(in.n_labels, 3);
    CHECK_EQ_INT(dg_project_class_id(p, 1), 9);
    CHECK_EQ_INT(dg_project_class_index(p, "b"), 1);
    CHECK_EQ_DBL(in.default_conf, 0.1);
    check_counts(ctx, p);

    /* A save that fails at the rename leaves the old file untouched. */
    long before = file_size(p1);
    CHECK_EQ_INT(dg_project_set_defaults(ctx, p, 0.25, 0.75), DG_OK);
    setenv("DETGRID_FAULT", "rename", 1);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "simulated");
    unsetenv("DETGRID_FAULT");
    CHECK_EQ_INT(file_size(p1), before);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", p1, (long)getpid());
    CHECK(access(tmp, F_OK) != 0); /* no temporary left behind */
    /* Saving in place keeps results readable (copied, not rewritten). */
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    check_counts(ctx, p);
    dg_project_free(p);
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    dg_project_get_info(p, &in);
    CHECK_EQ_DBL(in.default_conf, 0.25);
    check_counts(ctx, p);

    /* Changing the detections makes stored results stale. */
    CHECK_EQ_INT(dg__project_load_inferences(ctx, p, 0), DG_OK);
    p->inf[0].boxes.score[0] = 0.95;
    p->inf[0].dirty = 1;
    CHECK_EQ_INT(dg_project_save(ctx, p, p2), DG_OK);
    dg_project_free(p);
    CHECK_EQ_INT(dg_project_open(ctx, p2, &p), DG_OK);
    CHECK_EQ_INT(dg_results_load(ctx, p, "m", &r0), DG_ESTALE);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "eval");
    dg_project_free(p);

    /* Not a project, missing file, newer version. */
    CHECK_EQ_INT(dg_project_open(ctx, "/nonexistent/x.h5", &p), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "No such file");
    FILE *f = fopen(p2, "w");
    fputs("not hdf5", f);
    fclose(f);
    CHECK_EQ_INT(dg_project_open(ctx, p2, &p), DG_EFORMAT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "not an HDF5 file");

    /* IoU threshold parsing. */
    double t[101];
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "0.5:0.95:0.05", t, 101), 10);
    CHECK_EQ_DBL(t[2], 0.6);
    CHECK_EQ_DBL(t[9], 0.95);
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "0.5,0.75", t, 101), 2);
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "0.75,0.5", t, 101), DG_EINVAL);
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "0,0.5", t, 101), DG_ERANGE);
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "x", t, 101), DG_EINVAL);
    CHECK_EQ_INT(dg_parse_iou_thresholds(ctx, "0.01:1:0.001", t, 101),
                 DG_ERANGE);

    unlink(p1);
    unlink(p2);
    rmdir(dir);
    dg_ctx_free(ctx);
    return check_done("test-project");
}
