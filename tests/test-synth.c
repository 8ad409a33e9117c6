/*
 * The synthetic generator: determinism, the COCO preset's sizes and
 * proportions, box invariants, ties, crowd regions, and a COCO JSON export
 * that holds exactly the project's data (checked with cJSON and through the
 * COCO importer).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "store_impl.h"
#include "detgrid/detgrid.h"

static dg_ctx *ctx;

static dg_project *synth(const dg_synth_opts *o)
{
    dg_project *p = NULL;
    dg_status st = dg_synth_project(ctx, o, &p);
    if (st < 0)
        fprintf(stderr, "dg_synth_project: %s\n", dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    return p;
}

#define COL_EQ(a, b, col, size)                                               \
    (((a)->col == NULL) == ((b)->col == NULL) &&                              \
     (!(a)->col || !(a)->n || !memcmp((a)->col, (b)->col, (a)->n * (size))))

/* Same boxes, bit for bit, in the same order. */
static int same_boxes(const dg_boxset *a, const dg_boxset *b)
{
    return a->n == b->n && COL_EQ(a, b, frame, 4) && COL_EQ(a, b, cls, 4) &&
           COL_EQ(a, b, x, 8) && COL_EQ(a, b, y, 8) && COL_EQ(a, b, w, 8) &&
           COL_EQ(a, b, h, 8) && COL_EQ(a, b, score, 8) &&
           COL_EQ(a, b, area, 8) && COL_EQ(a, b, iscrowd, 1) &&
           COL_EQ(a, b, ignore, 1);
}

/*
 * Invariants of labels (dets = 0) or an inference set: sorted by frame with
 * a matching frame_off, valid classes, finite boxes of positive size inside
 * the frame, scores in (0, 1], area = w * h.
 */
static void check_set(const dg_project *p, const dg_boxset *b, int dets)
{
    uint64_t bad = 0, first = UINT64_MAX;
    CHECK(b->frame_off != NULL);
    if (!b->frame_off)
        return;
    CHECK_EQ_INT(b->frame_off[0], 0);
    CHECK_EQ_INT(b->frame_off[p->n_frames], b->n);
    for (uint32_t f = 0; f < p->n_frames; f++) {
        if (b->frame_off[f] > b->frame_off[f + 1]) {
            bad++;
            continue;
        }
        for (uint64_t i = b->frame_off[f]; i < b->frame_off[f + 1]; i++)
            if (b->frame[i] != f)
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(dets ? b->score != NULL : b->area != NULL, 1);
    bad = 0;
    for (uint64_t i = 0; i < b->n; i++) {
        double W = p->frame_w[b->frame[i]], H = p->frame_h[b->frame[i]];
        double x = b->x[i], y = b->y[i], w = b->w[i], h = b->h[i];
        int ok = b->cls[i] < p->n_classes && isfinite(x) && isfinite(y) &&
                 isfinite(w) && isfinite(h) && w > 0 && h > 0 && x >= 0 &&
                 y >= 0 && x + w <= W + 1e-9 && y + h <= H + 1e-9;
        if (dets)
            ok = ok && b->score[i] > 0 && b->score[i] <= 1;
        else
            ok = ok && b->area[i] == w * h && b->iscrowd[i] <= 1 &&
                 b->ignore[i] == 0;
        if (!ok) {
            bad++;
            if (first == UINT64_MAX)
                first = i;
        }
    }
    if (bad)
        fprintf(stderr, "first bad box %" PRIu64 ": frame %u class %u "
                "[%.17g %.17g %.17g %.17g]\n", first, b->frame[first],
                b->cls[first], b->x[first], b->y[first], b->w[first],
                b->h[first]);
    CHECK_EQ_INT(bad, 0);
}

static uint64_t n_crowd(const dg_boxset *b)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < b->n; i++)
        n += b->iscrowd[i];
    return n;
}

static void test_defaults(void)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    CHECK_EQ_INT(o.seed, 1);
    CHECK_EQ_INT(o.n_frames, 200);
    CHECK_EQ_INT(o.n_classes, 10);
    CHECK_EQ_INT(o.n_inferences, 1);
    CHECK_EQ_DBL(o.objects_per_frame, 7.3);
    CHECK_EQ_INT(o.frame_width, 640);
    CHECK_EQ_INT(o.frame_height, 480);
    CHECK_EQ_INT(o.max_dets_per_frame, 0);

    dg_synth_opts_coco(&o, 2.0);
    CHECK_EQ_INT(o.n_frames, 10000);
    CHECK_EQ_INT(o.n_classes, 80);
    CHECK_EQ_INT(o.max_dets_per_frame, 100);

    /* NULL opts mean the defaults, and so do the zero-means-default
     * fields left at zero. */
    dg_project *a = synth(NULL);
    dg_synth_opts_init(&o);
    o.n_frames = 0;
    o.n_classes = 0;
    o.objects_per_frame = 0;
    o.n_inferences = 0;
    o.frame_width = 0;
    o.frame_height = 0;
    dg_project *b = synth(&o);
    if (!a || !b)
        goto out;
    CHECK_EQ_INT(a->n_frames, 200);
    CHECK_EQ_INT(a->n_classes, 10);
    CHECK_EQ_INT(a->n_inf, 1);
    CHECK(same_boxes(&a->labels, &b->labels));
    CHECK(same_boxes(&a->inf[0].boxes, &b->inf[0].boxes));
    CHECK(!strcmp(dg_project_class_name(a, 0), "person"));
    CHECK_EQ_INT(dg_project_class_id(a, 0), 1);
    CHECK_EQ_INT(dg_project_class_id(a, 9), 10);
    CHECK(!strcmp(dg_project_frame_id(a, 0), "frame-000001"));
    CHECK_EQ_INT(a->frame_num[199], 200);
    CHECK_EQ_DBL(a->frame_w[0], 640);
    CHECK_EQ_DBL(a->frame_h[0], 480);
    CHECK(!strcmp(dg_project_inference_name(a, 0), "model-a"));
    CHECK_EQ_INT(a->n_labels, a->labels.n);
    CHECK_EQ_INT(a->labels_loaded, 1);
    CHECK_EQ_INT(a->inf[0].n, a->inf[0].boxes.n);
    uint64_t fp = 0;
    CHECK_EQ_INT(dg__project_fingerprint(ctx, a, 0, &fp), DG_OK);
    CHECK(fp == dg__boxset_fingerprint(&a->inf[0].boxes));
    check_set(a, &a->labels, 0);
    check_set(a, &a->inf[0].boxes, 1);
out:
    dg_project_free(a);
    dg_project_free(b);
}

static void test_determinism(void)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.seed = 42;
    o.n_frames = 300;
    o.n_classes = 20;
    o.n_inferences = 2;
    o.crowd_rate = 0.1;
    dg_project *a = synth(&o), *b = synth(&o), *c = NULL, *d = NULL, *e = NULL;
    if (!a || !b)
        goto out;
    CHECK(same_boxes(&a->labels, &b->labels));
    CHECK(same_boxes(&a->inf[0].boxes, &b->inf[0].boxes));
    CHECK(same_boxes(&a->inf[1].boxes, &b->inf[1].boxes));
    CHECK(!same_boxes(&a->inf[0].boxes, &a->inf[1].boxes));
    CHECK(!strcmp(dg_project_inference_name(a, 1), "model-b"));

    o.seed = 43;
    c = synth(&o);
    if (!c)
        goto out;
    CHECK(!same_boxes(&a->labels, &c->labels));
    CHECK(!same_boxes(&a->inf[0].boxes, &c->inf[0].boxes));

    /* Streams are independent: one set fewer, or another detector, leaves
     * the labels and the remaining sets as they were. */
    o.seed = 42;
    o.n_inferences = 1;
    d = synth(&o);
    o.n_inferences = 2;
    o.miss_rate = 0.4;
    o.low_score_fp = 9;
    e = synth(&o);
    if (!d || !e)
        goto out;
    CHECK(same_boxes(&a->labels, &d->labels));
    CHECK(same_boxes(&a->inf[0].boxes, &d->inf[0].boxes));
    CHECK(same_boxes(&a->labels, &e->labels));
    CHECK(!same_boxes(&a->inf[0].boxes, &e->inf[0].boxes));
out:
    dg_project_free(a);
    dg_project_free(b);
    dg_project_free(c);
    dg_project_free(d);
    dg_project_free(e);
}

static void test_coco_scale(void)
{
    dg_synth_opts o;
    dg_synth_opts_coco(&o, 1.0);
    double t0 = dg__now();
    dg_project *p = synth(&o);
    double dt = dg__now() - t0;
    if (!p)
        return;
    const dg_boxset *gt = &p->labels, *det = &p->inf[0].boxes;
    printf("coco preset: %u frames, %u classes, %" PRIu64 " labels (%" PRIu64
           " crowd), %" PRIu64 " detections in %.3f s (%.1f M boxes/s)\n",
           p->n_frames, p->n_classes, gt->n, n_crowd(gt), det->n, dt,
           (gt->n + det->n) / dt / 1e6);
    CHECK_EQ_INT(p->n_frames, 5000);
    CHECK_EQ_INT(p->n_classes, 80);
    CHECK(gt->n >= 30000 && gt->n <= 42000);
    CHECK(det->n >= 350000 && det->n <= 450000);
    check_set(p, gt, 0);
    check_set(p, det, 1);

    uint32_t max_per = 0, empty = 0;
    for (uint32_t f = 0; f < p->n_frames; f++) {
        uint64_t n = det->frame_off[f + 1] - det->frame_off[f];
        if (n > max_per)
            max_per = (uint32_t)n;
        empty += gt->frame_off[f + 1] == gt->frame_off[f];
    }
    CHECK(max_per <= 100);
    CHECK(max_per >= 90);
    CHECK(empty >= 5 && empty <= 200); /* COCO: about 1% */

    /* COCO's size mix (41/34/25) and a long tail led by "person". */
    uint64_t small = 0, large = 0, regular = 0, crowd = n_crowd(gt);
    uint64_t *per = calloc(p->n_classes, sizeof(*per));
    for (uint64_t i = 0; i < gt->n; i++) {
        if (gt->iscrowd[i])
            continue;
        regular++;
        small += gt->area[i] < 32 * 32;
        large += gt->area[i] > 96 * 96;
        if (per)
            per[gt->cls[i]]++;
    }
    printf("sizes: %.3f small, %.3f large\n", (double)small / regular,
           (double)large / regular);
    CHECK_NEAR((double)small / regular, 0.41, 0.04);
    CHECK_NEAR((double)large / regular, 0.24, 0.04);
    CHECK(crowd >= 200 && crowd <= 700);
    if (per) {
        uint32_t best = 0;
        for (uint32_t c = 1; c < p->n_classes; c++)
            if (per[c] > per[best])
                best = c;
        CHECK_EQ_INT(best, 0);
        CHECK((double)per[0] / regular > 0.2);
        CHECK(per[p->n_classes - 1] > 0);
        free(per);
    }

    /* Scores: a high-scoring head and the low-score tail COCO keeps. */
    uint64_t hi = 0, tail = 0;
    for (uint64_t i = 0; i < det->n; i++) {
        hi += det->score[i] >= 0.5;
        tail += det->score[i] < 0.1;
    }
    printf("scores: %.1f >= 0.5 and %.1f < 0.1 per frame\n",
           (double)hi / p->n_frames, (double)tail / p->n_frames);
    CHECK(hi > 4 * (uint64_t)p->n_frames && hi < 10 * (uint64_t)p->n_frames);
    CHECK(tail > det->n / 2);
    dg_project_free(p);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_ties(void)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.score_levels = 10;
    dg_project *p = synth(&o);
    if (!p)
        return;
    const dg_boxset *d = &p->inf[0].boxes;
    uint64_t off_level = 0, ties = 0, top = 0;
    double *s = malloc(d->n * sizeof(*s));
    for (uint64_t i = 0; i < d->n; i++) {
        double v = d->score[i] * 10;
        off_level += v != (double)(int)(v + 0.5) ||
                     d->score[i] != (double)(int)(v + 0.5) / 10;
        top += d->score[i] == 1.0;
        if (s)
            s[i] = d->score[i];
    }
    CHECK_EQ_INT(off_level, 0);
    CHECK(top > 0);
    if (s) {
        qsort(s, d->n, sizeof(*s), cmp_dbl);
        for (uint64_t i = 1; i < d->n; i++)
            ties += s[i] == s[i - 1];
        free(s);
    }
    CHECK(ties > d->n / 2);
    check_set(p, d, 1);

    /* Without levels, scores are multiples of 1e-6: a few ties too. */
    dg_project_free(p);
    o.score_levels = 0;
    p = synth(&o);
    if (!p)
        return;
    d = &p->inf[0].boxes;
    uint64_t off_grid = 0;
    for (uint64_t i = 0; i < d->n; i++) {
        double k = d->score[i] * 1e6;
        off_grid += (double)(int64_t)(k + 0.5) / 1e6 != d->score[i];
    }
    CHECK_EQ_INT(off_grid, 0);
    dg_project_free(p);
}

static void test_crowd(void)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.n_frames = 1000;
    o.crowd_rate = 0;
    dg_project *p = synth(&o);
    if (p)
        CHECK_EQ_INT(n_crowd(&p->labels), 0);
    dg_project_free(p);

    o.crowd_rate = 0.5;
    p = synth(&o);
    if (!p)
        return;
    uint64_t n = n_crowd(&p->labels);
    CHECK(n >= 400 && n <= 600);
    /* Crowd regions are large, and the detector fires inside them. */
    const dg_boxset *g = &p->labels, *d = &p->inf[0].boxes;
    uint64_t big = 0, inside = 0;
    for (uint64_t i = 0; i < g->n; i++) {
        if (!g->iscrowd[i])
            continue;
        big += g->area[i] > 96 * 96;
        uint32_t f = g->frame[i];
        for (uint64_t j = d->frame_off[f]; j < d->frame_off[f + 1]; j++)
            inside += d->x[j] >= g->x[i] && d->y[j] >= g->y[i] &&
                      d->x[j] + d->w[j] <= g->x[i] + g->w[i] + 1e-9 &&
                      d->y[j] + d->h[j] <= g->y[i] + g->h[i] + 1e-9 &&
                      d->cls[j] == g->cls[i];
    }
    CHECK_EQ_INT(big, n);
    CHECK(inside >= n);
    dg_project_free(p);
}

/* Odd corners: one class, a tiny frame, many sets, one score level. */
static void test_edges(void)
{
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.n_classes = 1;
    o.n_frames = 50;
    o.frame_width = 3;
    o.frame_height = 2;
    o.n_inferences = 28;
    o.score_levels = 1;
    o.crowd_rate = 0.3;
    o.max_dets_per_frame = 4;
    o.confuse_rate = 1;
    dg_project *p = synth(&o);
    if (!p)
        return;
    CHECK_EQ_INT(p->n_inf, 28);
    CHECK(!strcmp(dg_project_inference_name(p, 25), "model-z"));
    CHECK(!strcmp(dg_project_inference_name(p, 26), "model-27"));
    check_set(p, &p->labels, 0);
    for (uint32_t k = 0; k < p->n_inf; k++) {
        const dg_boxset *d = &p->inf[k].boxes;
        check_set(p, d, 1);
        uint64_t not_one = 0, over = 0;
        for (uint64_t i = 0; i < d->n; i++)
            not_one += d->score[i] != 1.0;
        for (uint32_t f = 0; f < p->n_frames; f++)
            over += d->frame_off[f + 1] - d->frame_off[f] > 4;
        CHECK_EQ_INT(not_one, 0);
        CHECK_EQ_INT(over, 0);
    }
    dg_project_free(p);

    /* The mean count follows objects_per_frame, sparse or dense. */
    static const double lambdas[] = {0.5, 3, 20};
    for (int i = 0; i < 3; i++) {
        dg_synth_opts_init(&o);
        o.n_frames = 4000;
        o.crowd_rate = 0;
        o.objects_per_frame = lambdas[i];
        p = synth(&o);
        if (!p)
            return;
        CHECK_NEAR((double)p->labels.n / p->n_frames, lambdas[i],
                   0.05 * lambdas[i] + 0.02);
        dg_project_free(p);
    }
}

/* ---- COCO JSON -------------------------------------------------------- */

static cJSON *load_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open '%s'\n", path);
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cJSON *j = NULL;
    if (buf && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
        buf[n] = 0;
        j = cJSON_Parse(buf);
    }
    free(buf);
    fclose(fp);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int bbox_eq(const cJSON *o, const dg_boxset *b, uint64_t i)
{
    const cJSON *bb = cJSON_GetObjectItemCaseSensitive(o, "bbox");
    if (!cJSON_IsArray(bb) || cJSON_GetArraySize(bb) != 4)
        return 0;
    return cJSON_GetArrayItem(bb, 0)->valuedouble == b->x[i] &&
           cJSON_GetArrayItem(bb, 1)->valuedouble == b->y[i] &&
           cJSON_GetArrayItem(bb, 2)->valuedouble == b->w[i] &&
           cJSON_GetArrayItem(bb, 3)->valuedouble == b->h[i];
}

/* The instances file holds p's frames, classes and labels, in order. */
static void check_gt_json(const dg_project *p, const char *path)
{
    cJSON *j = load_json(path);
    CHECK(j != NULL);
    if (!j)
        return;
    const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(j, "images");
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(j, "annotations");
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(j, "categories");
    CHECK_EQ_INT(cJSON_GetArraySize(imgs), p->n_frames);
    CHECK_EQ_INT(cJSON_GetArraySize(cats), p->n_classes);
    CHECK_EQ_INT(cJSON_GetArraySize(anns), p->labels.n);
    uint64_t bad = 0, i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, imgs) {
        bad += num(it, "id") != (double)p->frame_num[i] ||
               num(it, "width") != p->frame_w[i] ||
               num(it, "height") != p->frame_h[i];
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(it, cats) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
        bad += num(it, "id") != (double)p->class_ids[i] ||
               !cJSON_IsString(nm) || strcmp(nm->valuestring,
                                             p->class_names[i]);
        i++;
    }
    CHECK_EQ_INT(bad, 0);
    const dg_boxset *b = &p->labels;
    i = 0;
    cJSON_ArrayForEach(it, anns) {
        if (i >= b->n)
            break;
        bad += num(it, "id") != (double)(i + 1) ||
               num(it, "image_id") != (double)p->frame_num[b->frame[i]] ||
               num(it, "category_id") != (double)p->class_ids[b->cls[i]] ||
               !bbox_eq(it, b, i) || num(it, "area") != b->area[i] ||
               num(it, "iscrowd") != b->iscrowd[i];
        i++;
    }
    CHECK_EQ_INT(bad, 0);
    cJSON_Delete(j);
}

/* A results file holds inference set k's detections, in order. */
static void check_dt_json(const dg_project *p, uint32_t k, const char *path)
{
    cJSON *j = load_json(path);
    CHECK(j != NULL);
    if (!j)
        return;
    const dg_boxset *b = &p->inf[k].boxes;
    CHECK(cJSON_IsArray(j));
    CHECK_EQ_INT(cJSON_GetArraySize(j), b->n);
    uint64_t bad = 0, i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j) {
        if (i >= b->n)
            break;
        bad += num(it, "image_id") != (double)p->frame_num[b->frame[i]] ||
               num(it, "category_id") != (double)p->class_ids[b->cls[i]] ||
               !bbox_eq(it, b, i) || num(it, "score") != b->score[i];
        i++;
    }
    CHECK_EQ_INT(bad, 0);
    cJSON_Delete(j);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_json(void)
{
    char dir[] = "/tmp/dg-test-synth-XXXXXX";
    char gt[256], prefix[256], dta[256], dtb[256];
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp failed");
        return;
    }
    snprintf(gt, sizeof(gt), "%s/instances.json", dir);
    snprintf(prefix, sizeof(prefix), "%s/results", dir);
    snprintf(dta, sizeof(dta), "%s/results-model-a.json", dir);
    snprintf(dtb, sizeof(dtb), "%s/results-model-b.json", dir);

    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.seed = 7;
    o.n_frames = 400;
    o.n_classes = 85; /* past COCO's 80 names */
    o.n_inferences = 2;
    o.crowd_rate = 0.2;
    o.max_dets_per_frame = 20;
    o.low_score_fp = 12;
    dg_project *p = synth(&o), *q = NULL;
    if (!p)
        goto out;
    CHECK(!strcmp(dg_project_class_name(p, 84), "class-084"));
    dg_status st = dg_synth_coco_json(ctx, &o, gt, prefix);
    if (st < 0)
        fprintf(stderr, "dg_synth_coco_json: %s\n", dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    CHECK_EQ_INT(dir_entries(dir), 3); /* no temporary files left */
    check_gt_json(p, gt);
    check_dt_json(p, 0, dta);
    check_dt_json(p, 1, dtb);

    /* Through the importer: the same project, box for box. */
    CHECK_EQ_INT(dg_project_create(ctx, &q), DG_OK);
    if (!q)
        goto out;
    st = dg_import_coco_gt(ctx, q, gt, NULL);
    if (st == DG_OK)
        st = dg_import_coco_dt(ctx, q, dta, "model-a", 0, NULL);
    if (st == DG_OK)
        st = dg_import_coco_dt(ctx, q, dtb, "model-b", 0, NULL);
    if (st < 0)
        fprintf(stderr, "import: %s\n", dg_ctx_last_error(ctx));
    CHECK_EQ_INT(st, DG_OK);
    if (st == DG_OK) {
        CHECK_EQ_INT(q->n_frames, p->n_frames);
        CHECK_EQ_INT(q->n_classes, p->n_classes);
        CHECK_EQ_INT(q->n_inf, 2);
        for (uint32_t f = 0; f < p->n_frames && f < q->n_frames; f++)
            if (q->frame_num[f] != p->frame_num[f])
                CHECK_EQ_INT(q->frame_num[f], p->frame_num[f]);
        for (uint32_t c = 0; c < p->n_classes && c < q->n_classes; c++)
            if (strcmp(q->class_names[c], p->class_names[c]))
                CHECK(!strcmp(q->class_names[c], p->class_names[c]));
        CHECK(same_boxes(&q->labels, &p->labels));
        CHECK(same_boxes(&q->inf[0].boxes, &p->inf[0].boxes));
        CHECK(same_boxes(&q->inf[1].boxes, &p->inf[1].boxes));
    }

    /* Only the ground truth; an existing file is replaced whole. */
    CHECK_EQ_INT(dg_synth_coco_json(ctx, &o, gt, NULL), DG_OK);
    check_gt_json(p, gt);
    CHECK_EQ_INT(dir_entries(dir), 3);
out:
    dg_project_free(p);
    dg_project_free(q);
    remove(gt);
    remove(dta);
    remove(dtb);
    rmdir(dir);
}

static void test_errors(void)
{
    dg_synth_opts o;
    dg_project *p = (dg_project *)&o;
    dg_synth_opts_init(&o);
    o.miss_rate = 1.5;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_EINVAL);
    CHECK(p == NULL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "rate");
    dg_synth_opts_init(&o);
    o.background_fp = NAN;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_EINVAL);
    dg_synth_opts_init(&o);
    o.frame_width = -3;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "-3x480");
    dg_synth_opts_init(&o);
    o.n_frames = 20;
    CHECK_EQ_INT(dg_synth_coco_json(ctx, &o, "/nonexistent-dg-dir/gt.json",
                                    NULL),
                 DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "/nonexistent-dg-dir/gt.json");
    CHECK_EQ_INT(dg_synth_coco_json(ctx, &o, NULL, "/nonexistent-dg-dir/dt"),
                 DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                       "/nonexistent-dg-dir/dt-model-a.json");
    CHECK_EQ_INT(dg_synth_coco_json(ctx, &o, NULL, NULL), DG_OK);
}

int main(void)
{
    if (dg_ctx_new(&ctx) < 0)
        return 1;
    test_defaults();
    test_determinism();
    test_coco_scale();
    test_ties();
    test_crowd();
    test_edges();
    test_json();
    test_errors();
    dg_ctx_free(ctx);
    return check_done("test-synth");
}
