/*
 * COCO importers from bytes. The input is "<instances JSON>" alone, or
 * "<instances JSON>@@DT@@<results JSON>": the instances go through
 * dg_import_coco_gt (a fixed small instances file stands in when they are
 * rejected, so results JSON is fuzzed on its own too), the results through
 * dg_import_coco_dt; what imports is evaluated on the reference path and
 * queried.
 *
 * Results files are read twice: by the parallel reader (which large files
 * take; the DETGRID_JSON_PAR hook makes small ones take it too, cut into
 * 2 to 16 parts) and by the sequential one. Both must succeed with the
 * same boxes, masks, keypoints and warnings or fail with the same message.
 * What imports is also evaluated as masks, boundaries and keypoints
 * (dg_coco_evaluate; refusing is fine, crashing is not).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "fuzzutil.h"
#include "json.h"
#include "detgrid/coco.h"
#include "detgrid/import.h"

static void same_boxes(const dg_boxset *a, const dg_boxset *b)
{
    int same = a->n == b->n;
#define COLUMN(c) (same = same && !memcmp(a->c, b->c, a->n * sizeof(*a->c)))
    COLUMN(frame);
    COLUMN(cls);
    COLUMN(x);
    COLUMN(y);
    COLUMN(w);
    COLUMN(h);
    COLUMN(score);
#undef COLUMN
    if (!same) {
        fprintf(stderr, "parallel and sequential readers differ\n");
        abort();
    }
}

static void same_shapes(const dg_shapes *a, const dg_shapes *b)
{
    int same = (a == NULL) == (b == NULL);
    if (same && a) {
        same = a->n == b->n && (a->off == NULL) == (b->off == NULL) &&
               (a->kp_off == NULL) == (b->kp_off == NULL) &&
               (a->area == NULL) == (b->area == NULL);
        if (same && a->off)
            same = !memcmp(a->off, b->off, (a->n + 1) * 8) &&
                   !memcmp(a->runs.v, b->runs.v, a->off[a->n] * 4) &&
                   !memcmp(a->mh, b->mh, a->n * 4) &&
                   !memcmp(a->mw, b->mw, a->n * 4);
        if (same && a->kp_off)
            same = !memcmp(a->kp_off, b->kp_off, (a->n + 1) * 8) &&
                   !memcmp(a->kp, b->kp, a->kp_off[a->n] * 8);
        if (same && a->area)
            same = !memcmp(a->area, b->area, a->n * 8);
    }
    if (!same) {
        fprintf(stderr, "parallel and sequential readers differ in shapes\n");
        abort();
    }
}

static const char fixed_gt[] =
    "{\"images\":[{\"id\":1,\"width\":100,\"height\":80},{\"id\":7}],"
    "\"categories\":[{\"id\":1,\"name\":\"a\"},{\"id\":3,\"name\":\"b\"}],"
    "\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,"
    "\"bbox\":[1,2,30,40],\"area\":1200,\"iscrowd\":0},"
    "{\"id\":2,\"image_id\":7,\"category_id\":3,\"bbox\":[5,5,10,10],"
    "\"iscrowd\":1}]}";

/*
 * The input's first line, when the flat-object reader takes it as a
 * number, must convert to what strtod gives, bit for bit (Clinger's path,
 * the exact 128-bit path and strtod all meet here).
 */
static void same_number(const uint8_t *data, size_t size)
{
    static const char *const name[] = { "a" };
    static const uint8_t len[] = { 1 };
    char buf[96];
    size_t n = 0;
    while (n < size && n < 60 && data[n] != '\n')
        n++;
    snprintf(buf, sizeof(buf), "{\"a\":%.*s}", (int)n, (const char *)data);
    dg_jfield f;
    if (!dg__json_flat_object(buf, 0, name, len, 1, &f) ||
        f.type != DG_JSON_NUMBER)
        return;
    char text[96];
    snprintf(text, sizeof(text), "%.*s", (int)f.len, buf + f.off);
    double want = strtod(text, NULL);
    if (memcmp(&want, &f.v[0], sizeof(want)) != 0) {
        fprintf(stderr, "number '%s': %.17g, strtod %.17g\n", text, f.v[0],
                want);
        abort();
    }
}

/*
 * The ground truth without its masks (skip_masks: segmentation parsed but
 * kept as null): where the full import succeeds, the same labels; where
 * it fails on the JSON itself, the same message; where it fails at all,
 * the one without masks may succeed only for a segmentation it left
 * unread, and a failure without masks is a failure with them.
 */
static void same_without_masks(dg_ctx *ctx, const char *gt, dg_status st,
                               dg_project *full)
{
    char *msg = strdup(st < 0 ? dg_ctx_last_error(ctx) : "");
    dg_project *q = NULL;
    dg_coco_import_opts io;
    dg_coco_import_opts_init(&io);
    io.skip_masks = 1;
    if (!msg || dg_project_create(ctx, &q) < 0)
        abort();
    dg_status sq = dg_import_coco_gt(ctx, q, gt, &io);
    fz_check(ctx, sq, "dg_import_coco_gt without masks");
    int bad = (sq < 0 && st >= 0) ||
              (st < 0 && strstr(msg, "not valid JSON") &&
               (sq >= 0 || strcmp(msg, dg_ctx_last_error(ctx))));
    if (!bad && st >= 0 && sq >= 0) {
        const dg_boxset *a, *b;
        if (dg__project_labels(ctx, full, &a) < 0 ||
            dg__project_labels(ctx, q, &b) < 0)
            abort();
        bad = a->n != b->n ||
              (a->n && (memcmp(a->x, b->x, a->n * 8) ||
                        memcmp(a->y, b->y, a->n * 8) ||
                        memcmp(a->w, b->w, a->n * 8) ||
                        memcmp(a->h, b->h, a->n * 8) ||
                        memcmp(a->area, b->area, a->n * 8) ||
                        memcmp(a->frame, b->frame, a->n * 4) ||
                        memcmp(a->cls, b->cls, a->n * 4) ||
                        memcmp(a->iscrowd, b->iscrowd, a->n)));
    }
    if (bad) {
        fprintf(stderr, "with masks: %d '%s'\nwithout: %d '%s'\n", st, msg,
                sq, sq < 0 ? dg_ctx_last_error(ctx) : "");
        abort();
    }
    (void)dg_ctx_take_warnings(ctx);
    free(msg);
    dg_project_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    same_number(data, size);
    const uint8_t *part[2];
    size_t len[2];
    int n = fz_split(data, size, "@@DT@@", part, len, 2);
    dg_ctx *ctx = fz_ctx();
    dg_project *p = NULL;
    if (dg_project_create(ctx, &p) < 0)
        abort();
    const char *gt = fz_write("gt.json", part[0], len[0]);
    dg_status st = dg_import_coco_gt(ctx, p, gt, NULL);
    fz_check(ctx, st, "dg_import_coco_gt");
    same_without_masks(ctx, gt, st, p);
    if (st < 0) {
        if (n < 2)
            goto out;
        dg_project_free(p);
        p = NULL;
        if (dg_project_create(ctx, &p) < 0 ||
            dg_import_coco_gt(ctx, p, fz_write("gt.json", fixed_gt,
                                               sizeof(fixed_gt) - 1), NULL) < 0)
            abort();
    }
    if (n == 2) {
        const char *dt = fz_write("dt.json", part[1], len[1]);
        char hook[32];
        snprintf(hook, sizeof(hook), "16,%d", 2 + (int)(len[1] % 15));
        (void)dg_ctx_take_warnings(ctx); /* the instances' */
        setenv("DETGRID_JSON_PAR", hook, 1);
        st = dg_import_coco_dt(ctx, p, dt, "m", 0, NULL);
        unsetenv("DETGRID_JSON_PAR");
        fz_check(ctx, st, "dg_import_coco_dt");
        char *msg = strdup(st < 0 ? dg_ctx_last_error(ctx) : "");
        char *warn = strdup(dg_ctx_take_warnings(ctx));
        dg_status st2 = dg_import_coco_dt(ctx, p, dt, "s", 0, NULL);
        if ((st < 0) != (st2 < 0) ||
            (st < 0 && strcmp(msg, dg_ctx_last_error(ctx))) ||
            strcmp(warn, dg_ctx_take_warnings(ctx))) {
            fprintf(stderr, "parallel: %d '%s' '%s'\nsequential: %d '%s'\n",
                    st, msg, warn, st2, dg_ctx_last_error(ctx));
            abort();
        }
        free(msg);
        free(warn);
        if (st >= 0) {
            int64_t a = dg_project_inference_index(p, "m");
            int64_t b = dg_project_inference_index(p, "s");
            const dg_boxset *ba, *bb;
            if (a < 0 || b < 0 ||
                dg__project_inferences(ctx, p, (uint32_t)a, &ba) < 0 ||
                dg__project_inferences(ctx, p, (uint32_t)b, &bb) < 0)
                abort();
            same_boxes(ba, bb);
            const dg_shapes *sa, *sb;
            if (dg__project_inference_shapes(ctx, p, (uint32_t)a, &sa) < 0 ||
                dg__project_inference_shapes(ctx, p, (uint32_t)b, &sb) < 0)
                abort();
            same_shapes(sa, sb);
            for (int t = DG_COCO_SEGM; t <= DG_COCO_KEYPOINTS; t++) {
                dg_coco_opts o;
                memset(&o, 0, sizeof(o));
                o.iou_type = t;
                o.n_threads = 1;
                dg_coco_result r;
                st = dg_coco_evaluate(ctx, p, "m", &o, &r);
                fz_check(ctx, st, "dg_coco_evaluate");
                if (st >= 0)
                    dg_coco_result_release(&r);
            }
            /* The same file again as a second set, replacing nothing. */
            st = dg_import_coco_dt(ctx, p, dt, "m", 0, NULL);
            if (st != DG_EEXIST)
                abort();
            double iou[] = {0.5, 0.75};
            st = dg_eval(ctx, p, "m", iou, 2);
            fz_check(ctx, st, "dg_eval");
            if (st >= 0)
                fz_queries(ctx, p);
        }
    }
out:
    dg_project_free(p);
    dg_ctx_free(ctx);
    return 0;
}
