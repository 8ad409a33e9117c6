/*
 * COCO import: exact statuses and messages for bad input, the project left
 * as it was after every failure, and the mapping (class order, frame order,
 * per-frame order, crowd and area columns) on hand-checked fixtures in
 * tests/data/import/ and on the 100-image val2014 sample.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "json.h"
#include "store_impl.h"
#include "detgrid/import.h"

static dg_ctx *ctx;
static char tmpdir[512];

/* Writes text to tmpdir/name and returns the path (a static buffer). */
static const char *write_tmp(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *data(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/import/%s", DG_TEST_DATA, name);
    return path;
}

/* Reports which case failed, since the CHECKs inside helpers share lines. */
static void note_case(int before, const char *what)
{
    if (check_failures != before)
        fprintf(stderr, "    in case: %s\n", what);
}

static void check_empty(const dg_project *p)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    CHECK_EQ_INT(info.n_classes, 0);
    CHECK_EQ_INT(info.n_frames, 0);
    CHECK_EQ_INT(info.n_labels, 0);
    CHECK_EQ_INT(info.n_inferences, 0);
}

/* The importers' strict mode: today's refusals of what pycocotools takes. */
static dg_coco_import_opts strict;

/* Imports text as gt.json and expects st with want in the message. */
static void gt_fails_o(const char *text, const dg_coco_import_opts *o,
                       dg_status st, const char *want)
{
    int before = check_failures;
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    const char *path = write_tmp("gt.json", text);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, path, o), st);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), want);
    check_empty(p);
    dg_project_free(p);
    dg_ctx_take_warnings(ctx);
    note_case(before, text);
}

static void gt_fails(const char *text, dg_status st, const char *want)
{
    gt_fails_o(text, NULL, st, want);
}

/* A project from tests/data/import/gt-small.json. */
static dg_project *small_project(void)
{
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, data("gt-small.json"), NULL), DG_OK);
    dg_ctx_take_warnings(ctx);
    return p;
}

/* Imports text as dt.json into the small project and expects st. */
static void dt_fails_o(const char *text, const dg_coco_import_opts *o,
                       dg_status st, const char *want)
{
    int before = check_failures;
    dg_project *p = small_project();
    const char *path = write_tmp("dt.json", text);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, path, "det", 0, o), st);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), want);
    CHECK_EQ_INT(p->n_inf, 0);
    dg_project_free(p);
    note_case(before, text);
}

static void dt_fails(const char *text, dg_status st, const char *want)
{
    dt_fails_o(text, NULL, st, want);
}

#define CATS "\"categories\": [{\"id\": 1, \"name\": \"a\"}, " \
             "{\"id\": 2, \"name\": \"b\"}]"
#define IMGS "\"images\": [{\"id\": 5, \"width\": 10, \"height\": 10}]"
/* A valid file with one annotation whose fields are the argument. */
#define GT_ANN(fields) "{" CATS ", " IMGS ", \"annotations\": [" \
    "{\"image_id\": 5, \"category_id\": 1, \"bbox\": [1, 2, 3, 4]}, {" \
    fields "}]}"

static void test_gt_errors(void)
{
    char missing[1024];
    snprintf(missing, sizeof(missing), "%s/nonexistent.json", tmpdir);
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, missing, NULL), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                       "nonexistent.json': cannot open: No such file or "
                       "directory");
    check_empty(p);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, tmpdir, NULL), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "': cannot read: Is a "
                       "directory");
    check_empty(p);
    dg_project_free(p);

    /* Files that are not JSON, or not the right JSON. */
    gt_fails("", DG_EFORMAT, "gt.json': not valid JSON: file is empty");
    gt_fails("{\"images\": [1, 2,}", DG_EFORMAT,
             "gt.json': not valid JSON near byte 17 (line 1)");
    gt_fails("{\n\"images\": [],\n\"x\": tru\n}", DG_EFORMAT,
             "not valid JSON near byte 21 (line 3)");
    gt_fails("{} trailing", DG_EFORMAT, "not valid JSON near byte 3 (line 1)");
    gt_fails("[1, 2]", DG_EFORMAT,
             "gt.json': top level is an array: this looks like a COCO "
             "results file (a list of detections), not an instances file");
    gt_fails("7", DG_EFORMAT,
             "gt.json': top level is not an object (got number)");
    gt_fails("{" CATS "}", DG_EFORMAT, "gt.json': field 'images': missing");
    gt_fails("{" CATS ", \"images\": {}}", DG_EFORMAT,
             "gt.json': field 'images': not an array (got object)");
    gt_fails("{" CATS ", \"images\": []}", DG_EFORMAT,
             "gt.json': field 'images': no images");
    gt_fails("{" IMGS "}", DG_EFORMAT,
             "gt.json': field 'categories': missing");
    gt_fails("{\"categories\": [], " IMGS "}", DG_EFORMAT,
             "gt.json': field 'categories': no categories");
    gt_fails("{" CATS ", " IMGS ", \"annotations\": 3}", DG_EFORMAT,
             "gt.json': field 'annotations': not an array (got number)");

    /* Categories. */
    gt_fails("{\"categories\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 2, "
             "\"name\": \"b\"}, {\"id\": 1, \"name\": \"c\"}], " IMGS "}",
             DG_EFORMAT, "gt.json': categories[2]: field 'id': duplicate "
             "category 1 (also categories[0])");
    gt_fails_o("{\"categories\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": "
               "2, \"name\": \"b\"}, {\"id\": 3, \"name\": \"b\"}, {\"id\": "
               "4, \"name\": \"a\"}], " IMGS "}", &strict,
               DG_EFORMAT, "gt.json': categories[2]: field 'name': "
               "duplicate name 'b' (also categories[1])");
    gt_fails_o("{\"categories\": [{\"id\": 1}], " IMGS "}", &strict,
               DG_EFORMAT, "gt.json': categories[0]: field 'name': missing");
    gt_fails("{\"categories\": [{\"id\": 1, \"name\": 5}], " IMGS "}",
             DG_EFORMAT, "gt.json': categories[0]: field 'name': not a "
             "string (got number)");
    gt_fails("{\"categories\": [{\"id\": \"1\", \"name\": \"a\"}], " IMGS "}",
             DG_EFORMAT, "gt.json': categories[0]: field 'id': not a number "
             "(got string)");
    gt_fails_o("{\"categories\": [{\"id\": 1, \"name\": \"\"}], " IMGS "}",
               &strict, DG_EFORMAT,
               "gt.json': categories[0]: field 'name': empty");
    gt_fails("{\"categories\": [7], " IMGS "}", DG_EFORMAT,
             "gt.json': categories[0]: not an object (got number)");

    /* Images. */
    gt_fails("{" CATS ", \"images\": [{\"id\": 5}, {\"id\": 6}, {\"id\": 5}]}",
             DG_EFORMAT, "gt.json': images[2]: field 'id': duplicate image 5 "
             "(also images[0])");
    gt_fails("{" CATS ", \"images\": [{\"id\": \"a\"}, {\"id\": \"b\"}, "
             "{\"id\": \"a\"}]}",
             DG_EFORMAT, "gt.json': images[2]: field 'id': duplicate image "
             "'a' (also images[0])");
    gt_fails("{" CATS ", \"images\": [{\"id\": \"a\"}, {\"id\": 6}]}",
             DG_EFORMAT, "gt.json': images[1]: field 'id': a number, but "
             "images[0] has a string id: image ids must all be numbers or "
             "all be strings");
    gt_fails("{" CATS ", \"images\": [{\"id\": \"\"}]}",
             DG_EFORMAT, "gt.json': images[0]: field 'id': empty");
    gt_fails_o("{" CATS ", \"images\": [{\"id\": \"5\"}]}", &strict,
               DG_EFORMAT, "gt.json': images[0]: field 'id': not a number "
               "(got string)");
    gt_fails("{" CATS ", \"images\": [{\"id\": 1.5}]}", DG_EFORMAT,
             "gt.json': images[0]: field 'id': not an integer (1.5)");
    gt_fails("{" CATS ", \"images\": [{\"id\": -4}]}", DG_EFORMAT,
             "gt.json': images[0]: field 'id': negative (-4)");
    gt_fails("{" CATS ", \"images\": [{\"id\": 1e17}]}", DG_EFORMAT,
             "gt.json': images[0]: field 'id': out of range (1e+17)");
    gt_fails("{" CATS ", \"images\": [{\"file_name\": \"a.jpg\"}]}",
             DG_EFORMAT, "gt.json': images[0]: field 'id': missing");
    gt_fails("{" CATS ", \"images\": [{\"id\": 1, \"width\": -640}]}",
             DG_EFORMAT, "gt.json': images[0]: field 'width': negative (-640)");
    gt_fails("{" CATS ", \"images\": [{\"id\": 1, \"height\": \"480\"}]}",
             DG_EFORMAT, "gt.json': images[0]: field 'height': not a number "
             "(got string)");

    /* Annotations. */
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 91, "
                    "\"bbox\": [0, 0, 1, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'category_id': "
             "unknown category 91");
    gt_fails(GT_ANN("\"image_id\": 6, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 1, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'image_id': "
             "unknown image 6");
    gt_fails(GT_ANN("\"category_id\": 1, \"bbox\": [0, 0, 1, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'image_id': "
             "missing");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': has 3 "
             "values, expected 4");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 1, 1, 5]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': has 5 "
             "values, expected 4");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": \"0,0,1,1\""),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': not an "
             "array of 4 numbers (got string)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, null, 1, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': y is not "
             "a number (got null)");
    /* JSON has no NaN; a number too large for a double reads as inf. */
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [1e400, 0, 1, 1]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': x is not "
             "a finite number (inf)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 1, -1e400]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': height is "
             "not a finite number (-inf)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, -3, 4]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': width is "
             "negative (-3)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, -0.25]"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'bbox': height is "
             "negative (-0.25)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, 4], \"area\": -1"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'area': negative "
             "(-1)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, 4], \"area\": 1e999"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'area': not a "
             "finite number (inf)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, 4], \"iscrowd\": 2"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'iscrowd': not 0 "
             "or 1 (2)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, 4], \"ignore\": \"yes\""),
             DG_EFORMAT, "gt.json': annotations[1]: field 'ignore': not 0 "
             "or 1 (got string)");
    gt_fails(GT_ANN("\"image_id\": 5, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3, 4], \"id\": 0.5"),
             DG_EFORMAT, "gt.json': annotations[1]: field 'id': not an "
             "integer (0.5)");
    gt_fails("{" CATS ", " IMGS ", \"annotations\": [[5, 1]]}", DG_EFORMAT,
             "gt.json': annotations[0]: not an object (got array)");

    /* Only an empty project takes ground truth. */
    p = small_project();
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, data("gt-small.json"), NULL), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "already has classes or "
                       "frames");
    CHECK_EQ_INT(p->n_classes, 3);
    CHECK_EQ_INT(p->n_frames, 3);
    dg_project_free(p);

    /* A failed import leaves the project usable: the next one succeeds. */
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, write_tmp("gt.json",
        GT_ANN("\"image_id\": 5, \"category_id\": 9, \"bbox\": [0,0,1,1]")), NULL),
        DG_EFORMAT);
    check_empty(p);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, data("gt-small.json"), NULL), DG_OK);
    CHECK_EQ_INT(p->n_labels, 5);
    dg_project_free(p);
    dg_ctx_take_warnings(ctx);
}

static void test_gt_small(void)
{
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, data("gt-small.json"), NULL), DG_OK);
    const char *w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "gt-small.json': images[2]: field 'width': "
                       "missing, stored as unknown (1 image in all)");
    CHECK_STR_CONTAINS(w, "gt-small.json': annotations[3]: field 'bbox': "
                       "zero width or height (1 annotation in all)");
    CHECK_STR_CONTAINS(w, "gt-small.json': annotations[4]: field 'id': "
                       "duplicate annotation id 4, first in annotations[3] "
                       "(1 annotation in all)");

    dg_project_info info;
    dg_project_get_info(p, &info);
    CHECK_EQ_INT(info.n_classes, 3);
    CHECK_EQ_INT(info.n_frames, 3);
    CHECK_EQ_INT(info.n_labels, 5);
    CHECK_EQ_INT(p->labels_loaded, 1);
    CHECK_EQ_INT(p->meta_dirty, 1);

    /* Classes in file order, with their ids. */
    CHECK(strcmp(dg_project_class_name(p, 0), "cat") == 0);
    CHECK(strcmp(dg_project_class_name(p, 1), "person") == 0);
    CHECK(strcmp(dg_project_class_name(p, 2), "dog") == 0);
    CHECK_EQ_INT(dg_project_class_id(p, 0), 3);
    CHECK_EQ_INT(dg_project_class_id(p, 1), 1);
    CHECK_EQ_INT(dg_project_class_id(p, 2), 7);

    /* Frames by image id; the id string is the decimal image id. */
    CHECK(strcmp(dg_project_frame_id(p, 0), "10") == 0);
    CHECK(strcmp(dg_project_frame_id(p, 1), "20") == 0);
    CHECK(strcmp(dg_project_frame_id(p, 2), "30") == 0);
    CHECK_EQ_INT(p->frame_num[0], 10);
    CHECK_EQ_INT(p->frame_num[1], 20);
    CHECK_EQ_INT(p->frame_num[2], 30);
    CHECK_EQ_DBL(p->frame_w[0], 320);
    CHECK_EQ_DBL(p->frame_h[0], 240);
    CHECK_EQ_DBL(p->frame_w[1], NAN);
    CHECK_EQ_DBL(p->frame_h[1], NAN);
    CHECK_EQ_DBL(p->frame_w[2], 640);

    /*
     * Labels by frame, file order within a frame:
     * image 10: annotations 1, 3; image 20: none; image 30: 0, 2, 4.
     */
    const dg_boxset *b = &p->labels;
    CHECK_EQ_INT(b->n, 5);
    CHECK(b->frame_off != NULL);
    static const uint64_t off[] = { 0, 2, 2, 5 };
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(b->frame_off[i], off[i]);
    static const uint32_t frame[] = { 0, 0, 2, 2, 2 };
    static const uint32_t cls[] = { 0, 1, 1, 2, 0 };
    static const double x[] = { 0, 5, 10, 1.5, 100 };
    static const double h[] = { 5, 10, 40, 4.75, 25 };
    static const double area[] = { 25, 0, 1000.5, 12, 1250 };
    static const uint8_t crowd[] = { 0, 0, 0, 1, 0 };
    static const uint8_t ign[] = { 0, 1, 0, 0, 0 };
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(b->frame[i], frame[i]);
        CHECK_EQ_INT(b->cls[i], cls[i]);
        CHECK_EQ_DBL(b->x[i], x[i]);
        CHECK_EQ_DBL(b->h[i], h[i]);
        CHECK_EQ_DBL(b->area[i], area[i]);
        CHECK_EQ_INT(b->iscrowd[i], crowd[i]);
        CHECK_EQ_INT(b->ignore[i], ign[i]);
    }
    CHECK_EQ_DBL(b->y[3], 2.5);
    CHECK_EQ_DBL(b->w[3], 3.25);
    dg_project_free(p);

    /* No annotations at all is legal, with a warning. */
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, write_tmp("gt.json",
                 "{" CATS ", " IMGS "}"), NULL), DG_OK);
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx), "gt.json': field "
                       "'annotations': missing, so the project has no labels");
    CHECK_EQ_INT(p->n_labels, 0);
    CHECK_EQ_INT(p->n_frames, 1);
    CHECK(p->labels.frame_off != NULL);
    CHECK_EQ_INT(p->labels.frame_off[1], 0);
    dg_project_free(p);
}

static void test_dt_errors(void)
{
    dt_fails("{\"image_id\": 10}", DG_EFORMAT, "dt.json': top level is an "
             "object without an 'annotations' array");
    dt_fails("42", DG_EFORMAT, "dt.json': top level is not an array "
             "(got number)");
    dt_fails_o("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, "
               "1], \"score\": 1.5}]", &strict, DG_EFORMAT,
               "dt.json': [0]: field 'score': out of range [0, 1] (1.5)");
    dt_fails_o("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, "
               "1], \"score\": -0.5}]", &strict, DG_EFORMAT,
               "dt.json': [0]: field 'score': out of range [0, 1] (-0.5)");
    dt_fails_o("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, "
               "1], \"score\": 1.0000001}]", &strict, DG_EFORMAT,
               "dt.json': [0]: field 'score': out of range [0, 1] (1.0000001)");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": 0.5}, {\"image_id\": 10, \"category_id\": 1, "
             "\"bbox\": [0, 0, 1, 1]}]", DG_EFORMAT,
             "dt.json': [1]: field 'score': missing");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": \"0.5\"}]", DG_EFORMAT,
             "dt.json': [0]: field 'score': not a number (got string)");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": 1e400}]", DG_EFORMAT,
             "dt.json': [0]: field 'score': not a finite number (inf)");
    dt_fails("[{\"image_id\": 99, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": 0.5}]", DG_EFORMAT,
             "dt.json': [0]: field 'image_id': unknown image 99");
    dt_fails_o("[{\"image_id\": 10, \"category_id\": 2, \"bbox\": [0, 0, 1, "
               "1], \"score\": 0.5}]", &strict, DG_EFORMAT,
               "dt.json': [0]: field 'category_id': unknown category 2");
    /* NaN and Infinity, as Python's json writes them: read, and refused
     * where a finite number is needed. */
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": NaN}]", DG_EFORMAT,
             "dt.json': [0]: field 'score': not a finite number (nan)");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": -Infinity}]", DG_EFORMAT,
             "dt.json': [0]: field 'score': not a finite number (-inf)");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, "
             "Infinity, 1, 1], \"score\": 0.5}]", DG_EFORMAT,
             "dt.json': [0]: field 'bbox': y is not a finite number (inf)");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
             "\"score\": Nan}]", DG_EFORMAT,
             "dt.json': not valid JSON near byte 67 (line 1)");
    dt_fails("[{\"image_id\": \"10\", \"category_id\": 1, \"bbox\": [0, 0, 1, "
             "1], \"score\": 0.5}]", DG_EFORMAT,
             "dt.json': [0]: field 'image_id': unknown image '10'");
    dt_fails("{\"images\": [], \"categories\": [], \"annotations\": []}",
             DG_EFORMAT, "dt.json': this is a COCO instances file (ground "
             "truth: it has 'images' and 'categories', and its annotations "
             "no scores), not a results file");
    dt_fails("[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, -2], "
             "\"score\": 0.5}]", DG_EFORMAT,
             "dt.json': [0]: field 'bbox': height is negative (-2)");
    dt_fails("{\"annotations\": [{\"image_id\": 10, \"category_id\": 1, "
             "\"bbox\": [0, 0, 1], \"score\": 0.5}]}", DG_EFORMAT,
             "dt.json': annotations[0]: field 'bbox': has 3 values, "
             "expected 4");
    dt_fails("[null]", DG_EFORMAT, "dt.json': [0]: not an object (got null)");
    dt_fails("[{\"image_id\": 10, ", DG_EFORMAT,
             "dt.json': not valid JSON near byte 18 (line 1)");

    /* Detections need frames to attach to. */
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-small.json"), "d", 0, NULL),
                 DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "dt-small.json': the project "
                       "has no frames; import ground truth first");
    dg_project_free(p);

    p = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-small.json"), "", 0, NULL),
                 DG_EINVAL);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-small.json"), "a/b", 0, NULL),
                 DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "invalid inference set name");
    CHECK_EQ_INT(p->n_inf, 0);
    dg_project_free(p);
}

static void test_dt_small(void)
{
    dg_project *p = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-small.json"), "det", 0, NULL),
                 DG_OK);
    CHECK(strcmp(dg_ctx_take_warnings(ctx), "") == 0);
    CHECK_EQ_INT(p->n_inf, 1);
    CHECK(strcmp(dg_project_inference_name(p, 0), "det") == 0);
    CHECK_EQ_INT(dg_project_inference_size(p, 0), 5);
    dg_infset *s = &p->inf[0];
    CHECK_EQ_INT(s->loaded, 1);
    CHECK_EQ_INT(s->dirty, 1);
    CHECK(s->results == NULL);
    /* The fingerprint is hashed on first use, then kept; replacing the
     * boxes forgets it. */
    CHECK_EQ_INT(s->fp_known, 0);
    uint64_t fp = 0;
    CHECK_EQ_INT(dg__project_fingerprint(ctx, p, 0, &fp), DG_OK);
    CHECK(fp == dg__boxset_fingerprint(&s->boxes));
    CHECK_EQ_INT(s->fp_known, 1);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-small.json"), "det", 1,
                                   NULL), DG_OK);
    s = &p->inf[0];
    CHECK_EQ_INT(s->fp_known, 0);
    uint64_t fp2 = 0;
    CHECK_EQ_INT(dg__project_fingerprint(ctx, p, 0, &fp2), DG_OK);
    CHECK(fp2 == fp);

    /*
     * By frame, file order within a frame (pycocotools breaks score ties
     * by this order): image 10: records 1, 3; image 30: records 0, 2, 4.
     */
    const dg_boxset *b = &s->boxes;
    CHECK(b->score != NULL);
    CHECK(b->area == NULL);
    static const uint64_t off[] = { 0, 2, 2, 5 };
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(b->frame_off[i], off[i]);
    static const uint32_t frame[] = { 0, 0, 2, 2, 2 };
    static const uint32_t cls[] = { 0, 2, 1, 1, 0 };
    static const double x[] = { 0, 1, 10, 11, 0 };
    static const double score[] = { 0.5, 0.25, 0.9, 0.9, 0 };
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(b->frame[i], frame[i]);
        CHECK_EQ_INT(b->cls[i], cls[i]);
        CHECK_EQ_DBL(b->x[i], x[i]);
        CHECK_EQ_DBL(b->score[i], score[i]);
    }

    /* The name is taken. */
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-wrapped.json"), "det", 0, NULL),
                 DG_EEXIST);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "inference set 'det' already "
                       "exists");
    CHECK_EQ_INT(p->inf[0].n, 5);

    /* A failed replace keeps the old boxes. */
    const char *bad = write_tmp("dt.json", "[{\"image_id\": 10, "
                                "\"category_id\": 1, \"bbox\": [0, 0, 1, 1], "
                                "\"score\": 2}]");
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, bad, "det", 1, &strict),
                 DG_EFORMAT);
    CHECK_EQ_INT(p->n_inf, 1);
    CHECK_EQ_INT(p->inf[0].n, 5);
    CHECK_EQ_INT(p->inf[0].boxes.n, 5);
    CHECK_EQ_DBL(p->inf[0].boxes.score[0], 0.5);

    /*
     * Replace with the wrapped form; results computed for the old boxes
     * go away, though a handle the caller holds stays valid.
     */
    struct dg_results *held = dg__results_new(ctx);
    CHECK(held != NULL);
    held->refs++;
    p->inf[0].results = held;
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, data("dt-wrapped.json"), "det", 1, NULL),
                 DG_OK);
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx), "dt-wrapped.json': "
                       "annotations[0]: field 'bbox': zero width or height "
                       "(1 detection in all)");
    CHECK_EQ_INT(p->n_inf, 1);
    s = &p->inf[0];
    CHECK(s->results == NULL);
    CHECK_EQ_INT(s->results_dirty, 1);
    CHECK_EQ_INT(held->refs, 1);
    dg__results_destroy(held);
    CHECK_EQ_INT(s->n, 2);
    CHECK_EQ_INT(s->boxes.n, 2);
    CHECK_EQ_INT(s->boxes.frame_off[1], 1);
    CHECK_EQ_INT(s->boxes.frame_off[2], 2);
    CHECK_EQ_INT(s->boxes.frame_off[3], 2);
    CHECK_EQ_INT(s->boxes.frame[0], 0);
    CHECK_EQ_INT(s->boxes.cls[0], 1);
    CHECK_EQ_DBL(s->boxes.score[0], 0.125);
    CHECK_EQ_INT(s->boxes.frame[1], 1);
    CHECK_EQ_INT(s->boxes.cls[1], 2);
    CHECK_EQ_DBL(s->boxes.score[1], 1);

    /* An empty list is a legal, empty inference set. */
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json", " [ ]\n"),
                                   "none", 0, NULL), DG_OK);
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx), "dt.json': no detections");
    CHECK_EQ_INT(p->n_inf, 2);
    CHECK_EQ_INT(p->inf[1].n, 0);
    CHECK_EQ_INT(p->inf[1].loaded, 1);
    CHECK(p->inf[1].boxes.frame_off != NULL);
    CHECK_EQ_INT(p->inf[1].boxes.frame_off[3], 0);
    dg_project_free(p);
}

static void test_coco_sample(void)
{
    char gt[1024], dt[1024];
    snprintf(gt, sizeof(gt), "%s/coco_val2014_100_fakebbox/"
             "instances_val2014_100.json", DG_SHARED_DATA);
    snprintf(dt, sizeof(dt), "%s/coco_val2014_100_fakebbox/"
             "instances_val2014_fakebbox100_results.json", DG_SHARED_DATA);
    if (access(gt, R_OK) != 0 || access(dt, R_OK) != 0) {
        printf("note: %s not found, skipping the val2014 sample\n", gt);
        return;
    }
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    double t0 = dg__now();
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, gt, NULL), DG_OK);
    double t1 = dg__now();
    CHECK(strcmp(dg_ctx_take_warnings(ctx), "") == 0);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, dt, "fakebbox", 0, NULL), DG_OK);
    double t2 = dg__now();
    CHECK(strcmp(dg_ctx_take_warnings(ctx), "") == 0);
    printf("val2014 sample: gt %.1f ms, dt %.1f ms\n", (t1 - t0) * 1e3,
           (t2 - t1) * 1e3);

    CHECK_EQ_INT(p->n_frames, 100);
    CHECK_EQ_INT(p->n_classes, 80);
    CHECK_EQ_INT(p->n_labels, 839);
    uint64_t crowd = 0;
    for (uint64_t i = 0; i < p->labels.n; i++)
        crowd += p->labels.iscrowd[i];
    CHECK_EQ_INT(crowd, 9);
    CHECK_EQ_INT(p->n_inf, 1);
    CHECK_EQ_INT(p->inf[0].n, 734);

    /* The lowest image ids are 42, 73, 74; the highest is 1292. */
    CHECK(strcmp(dg_project_frame_id(p, 0), "42") == 0);
    CHECK(strcmp(dg_project_frame_id(p, 2), "74") == 0);
    CHECK(strcmp(dg_project_frame_id(p, 99), "1292") == 0);
    for (uint32_t i = 1; i < p->n_frames; i++)
        CHECK(p->frame_num[i - 1] < p->frame_num[i]);
    CHECK(strcmp(dg_project_class_name(p, 0), "person") == 0);
    CHECK_EQ_INT(dg_project_class_id(p, 79), 90);
    CHECK_EQ_INT(p->labels.frame_off[100], 839);
    CHECK_EQ_INT(p->inf[0].boxes.frame_off[100], 734);
    /* The first detection of image 42 in the file. */
    CHECK_EQ_INT(p->inf[0].boxes.frame[0], 0);
    CHECK_EQ_DBL(p->inf[0].boxes.x[0], 258.15);
    CHECK_EQ_DBL(p->inf[0].boxes.score[0], 0.236);
    dg_project_free(p);
}

/*
 * A results file over 1 MiB, which the importer reads on several threads
 * where there are several CPUs: n records, record `bad` (if < n) with
 * score 2, records zero1 and zero2 with zero width, and a string holding
 * "}, {" in every seventh record, so that a cut may land inside it.
 * wrap: inside {"annotations": ...}, which is read on one thread.
 */
static char *big_dt(size_t n, size_t bad, size_t zero1, size_t zero2,
                    int wrap)
{
    size_t cap = n * 160 + 64, len = 0;
    char *b = malloc(cap);
    static const int img[3] = { 10, 20, 30 }, cat[3] = { 1, 3, 7 };
    if (!b)
        exit(2);
    len += (size_t)snprintf(b + len, cap - len, "%s",
                            wrap ? "{\"annotations\": [\n" : "[\n");
    for (size_t i = 0; i < n; i++) {
        double w = i == zero1 || i == zero2 ? 0 : 3 + (double)(i % 5);
        double sc = i == bad ? 2 : (double)(i % 1000) / 1000.0;
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"image_id\": %d, \"category_id\": %d, \"bbox\": [%zu.5, %zu, "
            "%g, 4], \"score\": %g%s}",
            i ? (i % 3 ? ", " : ",\n ") : "", img[i % 3], cat[(i / 3) % 3],
            i % 100, i % 37, w, sc,
            i % 7 ? "" : ", \"note\": \"}, {\\\"x\\\": 1}, {\"");
    }
    len += (size_t)snprintf(b + len, cap - len, "%s", wrap ? "]}\n" : "]\n");
    return b;
}

static void test_dt_large(void)
{
    const size_t n = 16000;
    char *text = big_dt(n, n, 7001, 11998, 0);
    CHECK(strlen(text) > (1u << 20));
    dg_project *p = small_project(), *q = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json", text), "det",
                                   0, NULL), DG_OK);
    CHECK(strstr(dg_ctx_take_warnings(ctx),
                 "dt.json': [7001]: field 'bbox': zero width or height "
                 "(2 detections in all)") != NULL);
    free(text);
    text = big_dt(n, n, 7001, 11998, 1);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, q, write_tmp("dt.json", text), "det",
                                   0, NULL), DG_OK);
    CHECK(strstr(dg_ctx_take_warnings(ctx),
                 "dt.json': annotations[7001]: field 'bbox': zero width or "
                 "height (2 detections in all)") != NULL);
    free(text);
    /* The same boxes, in the same order, either way. */
    const dg_boxset *a = &p->inf[0].boxes, *b = &q->inf[0].boxes;
    CHECK_EQ_INT(a->n, n);
    CHECK_EQ_INT(b->n, n);
    int same = a->n == b->n;
    for (uint64_t i = 0; same && i < a->n; i++)
        same = a->frame[i] == b->frame[i] && a->cls[i] == b->cls[i] &&
               a->x[i] == b->x[i] && a->y[i] == b->y[i] &&
               a->w[i] == b->w[i] && a->h[i] == b->h[i] &&
               a->score[i] == b->score[i];
    CHECK(same);
    dg_project_free(p);
    dg_project_free(q);

    /* Errors name the record, wherever it is. */
    text = big_dt(n, 9876, n, n, 0);
    dt_fails_o(text, &strict, DG_EFORMAT, "dt.json': [9876]: field 'score': "
               "out of range [0, 1] (2)");
    /* Warnings too, whichever thread read the record. */
    p = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json", text), "det",
                                   0, NULL), DG_OK);
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx),
                       "dt.json': [9876]: field 'score': outside [0, 1] (2), "
                       "kept: confidences apply to the raw scores (1 "
                       "detection in all)");
    CHECK_EQ_INT(p->inf[0].boxes.n, n);
    dg_project_free(p);
    free(text);
    text = big_dt(n, 3, n, n, 0);
    dt_fails_o(text, &strict, DG_EFORMAT, "dt.json': [3]: field 'score': "
               "out of range [0, 1] (2)");
    /* A syntax error late in the file comes before the record's problem. */
    size_t len = strlen(text);
    text[len - 3] = ',';
    dt_fails(text, DG_EFORMAT, "not valid JSON near byte");
    free(text);
}

/*
 * The parallel reader reads the common record itself (part_fast in
 * host/import/coco.c, over dg__json_flat_object) and leaves every other
 * one to the parser. Files built from records of both kinds, cut into
 * 2, 3 and 7 parts by the test hook (which also reads the file with
 * several preads), must give what the sequential reader gives: the same
 * status, message and warnings, and the same columns bit for bit (-0.0
 * included).
 */
static const char *const fast_recs[] = {
    /* read by the fast reader */
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1.5,2,3,4],\"score\":0.5}",
    "{ \"score\" : 0.25 ,\t\"bbox\" : [ 0 , -0.0 , 1e1 , 2E-1 ] ,\n"
    "\"category_id\" : 3 , \"image_id\" : 20 }",
    "{\"image_id\":30,\"category_id\":7,\"bbox\":[0.1,0.2,0.3,0.7],"
    "\"score\":1,\"id\":5,\"area\":0.21,\"iscrowd\":0,\"note\":\"x } , {\","
    "\"flag\":true,\"off\":false,\"none\":null,\"list\":[1,2.5,-3e-2],"
    "\"empty\":[]}",
    "{\"image_id\":10,\"category_id\":3,\"bbox\":[123456789012345678901234.5,"
    "0.1000000000000000055511151231257827,3.0e0,4E+0],"
    "\"score\":0.30000000000000004}",
    "{\"image_id\":20,\"category_id\":7,\"bbox\":[-1e-30,1e22,1e23,4.9e-324],"
    "\"score\":1e-30}",
    "{\"image_id\":30,\"category_id\":1,\"bbox\":[9007199254740993,"
    "-9007199254740993,12345678901234567,0.5],\"score\":0}",
    /* left to the parser (and read the same) */
    "{\"image_id\":10.0,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5}",
    "{\"image_id\":1e1,\"category_id\":3e0,\"bbox\":[1,2,3,4],\"score\":0.5}",
    "{\"image_id\":20,\"category_id\":99,\"bbox\":[1,2,3,4],\"score\":0.5}",
    "{\"image_id\":20,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":1.5}",
    "{\"image_id\":20,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":-0.0}",
    "{\"image_id\":30,\"category_id\":1,\"bbox\":[1,2,0,4],\"score\":0.5}",
    "{\"image_id\":30,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5,"
    "\"note\":\"caf\xc3\xa9\"}",
    "{\"image_id\":30,\"category_id\":7,\"bbox\":[1,2,3,4],\"score\":0.5,"
    "\"segmentation\":[]}",
    "{\"image_id\":30,\"category_id\":7,\"bbox\":[1,2,3,4],\"score\":0.5,"
    "\"keypoints\":null}",
    "{\"image_id\":10,\"category_id\":3,\"bbox\":[1,2,3,4],\"score\":0.5,"
    "\"extra\":{\"a\":[[1]]}}",
    "{\"image_id\":10,\"category_id\":3,\"bbox\":[1,2,3,4],\"score\":0.5,"
    "\"list\":[1,\"two\"]}",
};
#define N_FAST_OK 6

/* Records that send the whole file to the sequential reader, or fail. */
static const char *const fast_odd[] = {
    "{\"image_id\":\"10\",\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4],\"sc\\u006fre\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.1,"
    "\"score\":0.2}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,NaN,3,4],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":Infinity}",
    "{\"image_id\":11,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":null,\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,-4],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5,}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,01],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4.],\"score\":0.5}",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5",
    "{\"image_id\":10,\"category_id\":1,\"bbox\":[1e999,2,3,4],\"score\":0.5}",
    "{\"image_id\":99999999999999999999,\"category_id\":1,\"bbox\":[1,2,3,4],"
    "\"score\":0.5}",
};

/* n records, record i fast_recs[(i * 7) % n_recs], with odd (if not
 * NULL) as record at. */
static char *fast_file(size_t n, const char *odd, size_t at)
{
    size_t n_recs = sizeof(fast_recs) / sizeof(fast_recs[0]);
    size_t cap = n * 400 + 64, len = 0;
    char *b = malloc(cap);
    if (!b)
        exit(2);
    len += (size_t)snprintf(b, cap, "[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s%s", i ? ",\n" : "",
                                odd && i == at ? odd
                                               : fast_recs[(i * 7) % n_recs]);
    snprintf(b + len, cap - len, "]\n");
    return b;
}

static int same_bits(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Imports text in parts (the hook) and whole; the same either way. */
static void fast_same(const char *text, const char *what)
{
    static const char *const hooks[] = { "64,2", "64,3", "64,7" };
    int before = check_failures;
    const char *path = write_tmp("dt.json", text);
    dg_project *s = small_project();
    dg_status st = dg_import_coco_dt(ctx, s, path, "det", 0, NULL);
    char *msg = strdup(st < 0 ? dg_ctx_last_error(ctx) : "");
    char *warn = strdup(dg_ctx_take_warnings(ctx));
    for (int h = 0; h < 3; h++) {
        dg_project *p = small_project();
        setenv("DETGRID_JSON_PAR", hooks[h], 1);
        dg_status pt = dg_import_coco_dt(ctx, p, path, "det", 0, NULL);
        unsetenv("DETGRID_JSON_PAR");
        CHECK_EQ_INT(pt, st);
        if (st < 0)
            CHECK(strcmp(dg_ctx_last_error(ctx), msg) == 0);
        CHECK(strcmp(dg_ctx_take_warnings(ctx), warn) == 0);
        if (st >= 0 && pt >= 0) {
            const dg_boxset *a = &p->inf[0].boxes, *b = &s->inf[0].boxes;
            CHECK_EQ_INT(a->n, b->n);
            if (a->n == b->n) {
                size_t n = (size_t)a->n;
                CHECK(same_bits(a->frame, b->frame, n * 4));
                CHECK(same_bits(a->cls, b->cls, n * 4));
                CHECK(same_bits(a->x, b->x, n * 8));
                CHECK(same_bits(a->y, b->y, n * 8));
                CHECK(same_bits(a->w, b->w, n * 8));
                CHECK(same_bits(a->h, b->h, n * 8));
                CHECK(same_bits(a->score, b->score, n * 8));
            }
        }
        dg_project_free(p);
    }
    dg_project_free(s);
    free(msg);
    free(warn);
    note_case(before, what);
}

static void test_dt_fast_reader(void)
{
    size_t n_recs = sizeof(fast_recs) / sizeof(fast_recs[0]);
    /* Every record alone, then all of them mixed. */
    for (size_t r = 0; r < n_recs; r++) {
        char *one = malloc(strlen(fast_recs[r]) + 8);
        if (!one)
            exit(2);
        sprintf(one, "[%s]", fast_recs[r]);
        fast_same(one, fast_recs[r]);
        free(one);
    }
    char *text = fast_file(3000, NULL, 0);
    fast_same(text, "mixed records");
    /* The values themselves, as a check of both readers: -0.0 keeps its
     * sign, and the long numbers round as strtod rounds them. */
    dg_project *p = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json", text), "det",
                                   0, NULL), DG_OK);
    dg_ctx_take_warnings(ctx);
    const dg_boxset *b = &p->inf[0].boxes;
    int neg0 = 0, big = 0, tiny = 0;
    for (uint64_t i = 0; i < b->n; i++) {
        neg0 += b->y[i] == 0 && signbit(b->y[i]);
        big += b->x[i] == 123456789012345678901234.5 &&
               b->y[i] == 0.1000000000000000055511151231257827 &&
               b->score[i] == 0.30000000000000004;
        tiny += b->h[i] == 4.9e-324 && b->score[i] == 1e-30;
    }
    CHECK(neg0 > 0);
    CHECK(big > 0);
    CHECK(tiny > 0);
    dg_project_free(p);
    free(text);
    for (size_t k = 0; k < sizeof(fast_odd) / sizeof(fast_odd[0]); k++) {
        text = fast_file(3000, fast_odd[k], 1234 + 97 * k);
        fast_same(text, fast_odd[k]);
        free(text);
    }
}

/* dg__json_flat_object itself: which objects it reads, where they end,
 * and the values it gives. */
static void test_flat_object(void)
{
    static const char *const names[] = { "image_id", "category_id", "bbox",
                                         "score", "segmentation",
                                         "keypoints" };
    static const uint8_t lens[] = { 8, 11, 4, 5, 12, 9 };
    dg_jfield f[6];
    for (int r = 0; r < N_FAST_OK; r++) {
        size_t n = strlen(fast_recs[r]);
        CHECK_EQ_INT(dg__json_flat_object(fast_recs[r], 0, names, lens, 6, f),
                     n);
        CHECK_EQ_INT(f[0].type, DG_JSON_NUMBER);
        CHECK(f[0].is_int);
        CHECK_EQ_INT(f[2].type, DG_JSON_ARRAY);
        CHECK_EQ_INT(f[2].n, 4);
        CHECK_EQ_INT(f[4].type, -1);
    }
    /* Record 1: whitespace everywhere, exponents, -0.0. */
    CHECK_EQ_INT(dg__json_flat_object(fast_recs[1], 0, names, lens, 6, f),
                 strlen(fast_recs[1]));
    CHECK_EQ_INT(f[0].iv, 20);
    CHECK_EQ_INT(f[1].iv, 3);
    CHECK(f[2].v[1] == 0 && signbit(f[2].v[1]));
    CHECK_EQ_DBL(f[2].v[2], 10.0);
    CHECK_EQ_DBL(f[2].v[3], 0.2);
    CHECK_EQ_DBL(f[3].v[0], 0.25);
    CHECK_EQ_INT(f[3].len, 4);
    CHECK(strncmp(fast_recs[1] + f[3].off, "0.25", 4) == 0);
    /* Integers past 2^53: exact as integers, rounded as doubles. */
    CHECK_EQ_INT(dg__json_flat_object(fast_recs[5], 0, names, lens, 6, f),
                 strlen(fast_recs[5]));
    CHECK_EQ_DBL(f[2].v[0], 9007199254740992.0);
    CHECK_EQ_DBL(f[2].v[2], 12345678901234568.0);
    /* Not flat, or repeating a name: left to the parser. */
    static const char *const refused[] = {
        "{\"a\":{\"b\":1}}", "{\"a\":[[1]]}", "{\"a\":[1,\"x\"]}",
        "{\"a\":\"caf\xc3\xa9\"}", "{\"a\":\"x\\ny\"}",
        "{\"sc\\u006fre\":1}", "{\"score\":1,\"score\":2}",
        "{\"a\":NaN}", "{\"a\":-Infinity}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":1e}", "{\"a\":1,}", "{\"a\":[1,]}",
        "{\"a\" 1}", "{\"a\":tru}", "{\"a\":1", "[1]", "{a:1}",
    };
    for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
        int before = check_failures;
        CHECK_EQ_INT(dg__json_flat_object(refused[k], 0, names, lens, 6, f),
                     0);
        note_case(before, refused[k]);
    }
    /* Accepted, with what the fields hold. */
    const char *ok = "{} ";
    CHECK_EQ_INT(dg__json_flat_object(ok, 0, names, lens, 6, f), 2);
    CHECK_EQ_INT(f[3].type, -1);
    ok = "{\"score\":\"high\",\"bbox\":[],\"image_id\":-0,"
         "\"category_id\":true,\"keypoints\":null}";
    CHECK_EQ_INT(dg__json_flat_object(ok, 0, names, lens, 6, f), strlen(ok));
    CHECK_EQ_INT(f[3].type, DG_JSON_STRING);
    CHECK_EQ_INT(f[3].len, 4);
    CHECK(strncmp(ok + f[3].off, "high", 4) == 0);
    CHECK_EQ_INT(f[2].type, DG_JSON_ARRAY);
    CHECK_EQ_INT(f[2].n, 0);
    CHECK(f[0].is_int && f[0].iv == 0 && signbit(f[0].v[0]));
    CHECK_EQ_INT(f[1].type, DG_JSON_TRUE);
    CHECK_EQ_INT(f[5].type, DG_JSON_NULL);
}

/*
 * Numbers as the JSON reader converts them (Clinger's path, the exact
 * integer path for 17 to 19 digits, strtod beyond) against strtod itself,
 * bit for bit: random decimals of 1 to 21 digits with the point anywhere
 * and exponents, and decimals printed next to the midpoints between
 * neighbouring doubles, where rounding is hardest.
 */
static uint64_t lcg_state = 88172645463325252ULL;
static uint64_t lcg(void)
{
    lcg_state ^= lcg_state << 13;
    lcg_state ^= lcg_state >> 7;
    lcg_state ^= lcg_state << 17;
    return lcg_state;
}

static int same_number(const char *text)
{
    double want = strtod(text, NULL);
    double got = dg__json_number_text(text, strlen(text));
    if (memcmp(&want, &got, sizeof(want)) == 0)
        return 1;
    fprintf(stderr, "    %s: %.17g, strtod %.17g\n", text, got, want);
    return 0;
}

static void test_numbers(void)
{
    char b[64];
    int bad = 0;
    long n = 0;
    for (int i = 0; i < 400000 && bad < 5; i++, n++) {
        int nd = 1 + (int)(lcg() % 21), len = 0;
        if (lcg() & 1)
            b[len++] = '-';
        int point = (int)(lcg() % (unsigned)(nd + 1));
        int lead0 = point == 0;
        if (lead0)
            b[len++] = '0';
        for (int d = 0; d < nd; d++) {
            if (d == point && !lead0)
                b[len++] = '.';
            if (d == 0 && point == 0)
                b[len++] = '.';
            b[len++] = (char)('0' + (d == 0 && point != 0 ? 1 + lcg() % 9
                                                           : lcg() % 10));
        }
        if (lcg() % 3 == 0)
            len += snprintf(b + len, sizeof(b) - (size_t)len, "e%d",
                            (int)(lcg() % 61) - 30);
        b[len] = 0;
        if (b[len - 1] == '.')
            continue;
        bad += !same_number(b);
    }
    /* Midpoints: 17 to 19 significant digits around the halfway point of
     * a double and the next, from 1e-12 to 1e30. */
    for (int i = 0; i < 200000 && bad < 5; i++) {
        double d = ldexp(1.0 + (double)(lcg() >> 11) / 9007199254740992.0,
                         (int)(lcg() % 140) - 40);
        long double mid = ((long double)d + nextafter(d, INFINITY)) / 2;
        for (int prec = 15; prec <= 18; prec++, n++) {
            snprintf(b, sizeof(b), "%.*Le", prec, mid);
            bad += !same_number(b);
        }
        snprintf(b, sizeof(b), "%.17g", d);
        bad += !same_number(b);
        n++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(n > 1000000);
}

/*
 * skip_masks: the ground truth's segmentation left unread. The labels
 * (boxes, areas, crowd flags, frames, classes) are what a full import
 * gives, keypoints are still read, and no mask is made; a segmentation
 * that a full import refuses is not looked at.
 */
static void test_gt_skip_masks(void)
{
    static const char gt[] =
        "{\"images\": [{\"id\": 1, \"width\": 40, \"height\": 30}],"
        " \"categories\": [{\"id\": 1, \"name\": \"a\"}],"
        " \"annotations\": ["
        "{\"id\": 1, \"image_id\": 1, \"category_id\": 1, \"bbox\": [2, 3, 10,"
        " 8], \"area\": 61.5, \"segmentation\": [[2, 3, 12, 3, 12, 11, 2, 11]]},"
        "{\"id\": 2, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 40,"
        " 30], \"iscrowd\": 1, \"segmentation\": {\"size\": [30, 40],"
        " \"counts\": [0, 1200]}},"
        "{\"id\": 3, \"image_id\": 1, \"category_id\": 1, \"bbox\": [5, 5, 4,"
        " 4], \"keypoints\": [6, 6, 2, 7, 7, 1], \"num_keypoints\": 2}]}";
    dg_coco_import_opts skip;
    dg_coco_import_opts_init(&skip);
    CHECK_EQ_INT(skip.skip_masks, 0);
    skip.skip_masks = 1;
    dg_project *full, *boxes;
    CHECK_EQ_INT(dg_project_create(ctx, &full), DG_OK);
    CHECK_EQ_INT(dg_project_create(ctx, &boxes), DG_OK);
    const char *path = write_tmp("gt.json", gt);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, full, path, NULL), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, boxes, path, &skip), DG_OK);
    dg_ctx_take_warnings(ctx);
    const dg_boxset *a = &full->labels, *b = &boxes->labels;
    CHECK_EQ_INT(b->n, 3);
    CHECK_EQ_INT(a->n, b->n);
    if (a->n == b->n) {
        size_t n = (size_t)a->n;
        CHECK(same_bits(a->frame, b->frame, n * 4));
        CHECK(same_bits(a->cls, b->cls, n * 4));
        CHECK(same_bits(a->x, b->x, n * 8) && same_bits(a->y, b->y, n * 8) &&
              same_bits(a->w, b->w, n * 8) && same_bits(a->h, b->h, n * 8));
        CHECK(same_bits(a->area, b->area, n * 8));
        CHECK(same_bits(a->iscrowd, b->iscrowd, n));
    }
    const dg_shapes *sf = full->label_shapes, *sb = boxes->label_shapes;
    CHECK(sf != NULL && sf->off != NULL);
    int full_masks = 0, box_masks = 0, box_kp = 0;
    for (uint64_t i = 0; sf && i < sf->n; i++)
        full_masks += dg__shapes_has_mask(sf, i);
    for (uint64_t i = 0; sb && i < sb->n; i++) {
        box_masks += sb->off && dg__shapes_has_mask(sb, i);
        box_kp += dg__shapes_has_kp(sb, i);
    }
    CHECK_EQ_INT(full_masks, 2);
    CHECK_EQ_INT(box_masks, 0);
    CHECK_EQ_INT(box_kp, 1);
    dg_project_free(full);
    dg_project_free(boxes);

    /* A polygon of three numbers: refused when read, unread when not. */
    static const char bad[] =
        "{\"images\": [{\"id\": 1, \"width\": 40, \"height\": 30}],"
        " \"categories\": [{\"id\": 1, \"name\": \"a\"}],"
        " \"annotations\": [{\"id\": 1, \"image_id\": 1, \"category_id\": 1,"
        " \"bbox\": [2, 3, 10, 8], \"segmentation\": [[2, 3, 12]]}]}";
    path = write_tmp("gt.json", bad);
    CHECK_EQ_INT(dg_project_create(ctx, &full), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, full, path, NULL), DG_EFORMAT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                       "annotations[0]: field 'segmentation'");
    dg_project_free(full);
    CHECK_EQ_INT(dg_project_create(ctx, &boxes), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, boxes, path, &skip), DG_OK);
    CHECK_EQ_INT(boxes->labels.n, 1);
    dg_project_free(boxes);

    /* Unread is not unchecked: the JSON of a segmentation is parsed all
     * the same (polygons by their own loop, anything else as any value),
     * and its errors are the full import's, byte for byte. */
    static const char *const broken[] = {
        "[[2, 3, 12, 01]]", "[[2, 3, 12,]]", "[[2, 3 12]]", "[[2, 3], 5]",
        "{\"size\": [30, 40], \"counts\": [0 1200]}", "[[2, 3], [4, 5]",
        "[[2, 3, \"x\"]]", "[[2, 3, NaN]]",
    };
    for (size_t k = 0; k < sizeof(broken) / sizeof(broken[0]); k++) {
        char text[600];
        int before = check_failures;
        snprintf(text, sizeof(text),
                 "{\"images\": [{\"id\": 1, \"width\": 40, \"height\": 30}],"
                 " \"categories\": [{\"id\": 1, \"name\": \"a\"}],"
                 " \"annotations\": [{\"id\": 1, \"image_id\": 1,"
                 " \"category_id\": 1, \"bbox\": [2, 3, 10, 8],"
                 " \"segmentation\": %s}]}", broken[k]);
        path = write_tmp("gt.json", text);
        CHECK_EQ_INT(dg_project_create(ctx, &full), DG_OK);
        dg_status a_st = dg_import_coco_gt(ctx, full, path, NULL);
        char *msg = strdup(dg_ctx_last_error(ctx));
        dg_project_free(full);
        CHECK_EQ_INT(dg_project_create(ctx, &boxes), DG_OK);
        dg_status b_st = dg_import_coco_gt(ctx, boxes, path, &skip);
        dg_project_free(boxes);
        if (strstr(msg, "not valid JSON")) {
            CHECK_EQ_INT(b_st, a_st);
            CHECK(strcmp(dg_ctx_last_error(ctx), msg) == 0);
        } else {
            /* A valid value the full import refuses: unread, accepted. */
            CHECK(a_st < 0);
            CHECK_EQ_INT(b_st, DG_OK);
        }
        free(msg);
        note_case(before, broken[k]);
    }
    /* Near the nesting limit (1000), a segmentation deep in 'info' fails
     * or passes as in the full parse. */
    for (int k = 993; k <= 999; k++) {
        size_t cap = 4096, n = 0;
        char *text = malloc(cap), *msg;
        if (!text)
            exit(2);
        n += (size_t)snprintf(text + n, cap - n, "{\"info\": ");
        for (int d = 0; d < k; d++)
            text[n++] = '[';
        n += (size_t)snprintf(text + n, cap - n,
                              "{\"segmentation\": [[1, 2]]}");
        for (int d = 0; d < k; d++)
            text[n++] = ']';
        snprintf(text + n, cap - n,
                 ", \"images\": [{\"id\": 1}], \"categories\": [{\"id\":"
                 " 1, \"name\": \"a\"}], \"annotations\": []}");
        path = write_tmp("gt.json", text);
        free(text);
        CHECK_EQ_INT(dg_project_create(ctx, &full), DG_OK);
        dg_status a_st = dg_import_coco_gt(ctx, full, path, NULL);
        msg = strdup(a_st < 0 ? dg_ctx_last_error(ctx) : "");
        dg_project_free(full);
        CHECK_EQ_INT(dg_project_create(ctx, &boxes), DG_OK);
        dg_status b_st = dg_import_coco_gt(ctx, boxes, path, &skip);
        dg_project_free(boxes);
        CHECK_EQ_INT(b_st, a_st);
        if (a_st < 0)
            CHECK(strcmp(dg_ctx_last_error(ctx), msg) == 0);
        free(msg);
    }
    dg_ctx_take_warnings(ctx);
}

/* ---- arrays (dg_import_arrays_gt / _dt) --------------------------------- */

/* The same records as JSON files and as arrays give the same project. */
static void test_arrays_same(void)
{
    static const int64_t img_id[4] = {9, 3, 42, 7};
    static const double img_w[4] = {640, 320, 100, NAN};
    static const double img_h[4] = {480, 240, 100, NAN};
    static const int64_t cat_id[3] = {5, 1, 90};
    static const char *const cat_name[3] = {"car", "person", "dog"};
    static const int64_t g_img[6] = {3, 9, 9, 42, 3, 7};
    static const int64_t g_cat[6] = {1, 5, 1, 90, 5, 1};
    static const double g_bb[24] = {10, 10, 30, 40,  0, 0, 50, 50,
                                    5, 5, 20, 20,    1, 1, 8, 8,
                                    100, 100, 60, 60, 2, 3, 0, 4};
    static const double g_area[6] = {1200, 2500, 400, 64, 9000, 0};
    static const uint8_t g_crowd[6] = {0, 0, 1, 0, 0, 0};
    static const int64_t d_img[7] = {3, 3, 9, 9, 42, 7, 9};
    static const int64_t d_cat[7] = {1, 5, 5, 1, 90, 1, 1};
    static const double d_bb[28] = {11, 10, 30, 40,  100, 98, 60, 60,
                                    0, 1, 50, 49,    6, 5, 20, 20,
                                    1, 1, 8, 7,      2, 3, 1, 4,
                                    300, 300, 10, 10};
    static const double d_score[7] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4};
    const char *gt_json =
        "{\"categories\": [{\"id\": 5, \"name\": \"car\"}, {\"id\": 1, "
        "\"name\": \"person\"}, {\"id\": 90, \"name\": \"dog\"}], "
        "\"images\": [{\"id\": 9, \"width\": 640, \"height\": 480}, "
        "{\"id\": 3, \"width\": 320, \"height\": 240}, {\"id\": 42, "
        "\"width\": 100, \"height\": 100}, {\"id\": 7}], \"annotations\": ["
        "{\"image_id\": 3, \"category_id\": 1, \"bbox\": [10, 10, 30, 40], "
        "\"area\": 1200}, {\"image_id\": 9, \"category_id\": 5, \"bbox\": "
        "[0, 0, 50, 50], \"area\": 2500}, {\"image_id\": 9, \"category_id\": "
        "1, \"bbox\": [5, 5, 20, 20], \"area\": 400, \"iscrowd\": 1}, "
        "{\"image_id\": 42, \"category_id\": 90, \"bbox\": [1, 1, 8, 8], "
        "\"area\": 64}, {\"image_id\": 3, \"category_id\": 5, \"bbox\": "
        "[100, 100, 60, 60], \"area\": 9000}, {\"image_id\": 7, "
        "\"category_id\": 1, \"bbox\": [2, 3, 0, 4], \"area\": 0}]}";
    const char *dt_json =
        "[{\"image_id\": 3, \"category_id\": 1, \"bbox\": [11, 10, 30, 40], "
        "\"score\": 0.9}, {\"image_id\": 3, \"category_id\": 5, \"bbox\": "
        "[100, 98, 60, 60], \"score\": 0.8}, {\"image_id\": 9, "
        "\"category_id\": 5, \"bbox\": [0, 1, 50, 49], \"score\": 0.7}, "
        "{\"image_id\": 9, \"category_id\": 1, \"bbox\": [6, 5, 20, 20], "
        "\"score\": 0.6}, {\"image_id\": 42, \"category_id\": 90, \"bbox\": "
        "[1, 1, 8, 7], \"score\": 0.5}, {\"image_id\": 7, \"category_id\": 1, "
        "\"bbox\": [2, 3, 1, 4], \"score\": 0.5}, {\"image_id\": 9, "
        "\"category_id\": 1, \"bbox\": [300, 300, 10, 10], \"score\": 0.4}]";
    dg_project *pj, *pa;
    CHECK_EQ_INT(dg_project_create(ctx, &pj), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, pj, write_tmp("gt.json", gt_json),
                                   NULL),
                 DG_OK);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, pj, write_tmp("dt.json", dt_json),
                                   "m", 0, NULL), DG_OK);
    dg_ctx_take_warnings(ctx);

    dg_array_images im = {4, img_id, img_w, img_h};
    dg_array_categories ca = {3, cat_id, cat_name};
    dg_array_boxes gb = {6, g_img, g_cat, g_bb, NULL, g_area, g_crowd, NULL};
    dg_array_boxes db = {7, d_img, d_cat, d_bb, d_score, NULL, NULL, NULL};
    CHECK_EQ_INT(dg_project_create(ctx, &pa), DG_OK);
    CHECK_EQ_INT(dg_import_arrays_gt(ctx, pa, "targets", &im, &ca, &gb),
                 DG_OK);
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx),
                       "'targets': annotations[5]: field 'bbox': zero width "
                       "or height "
                       "(1 label in all)");
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, pa, "preds", &db, "m", 0), DG_OK);
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, pa, "preds", &db, "m", 0),
                 DG_EEXIST);
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, pa, "preds", &db, "m", 1), DG_OK);

    dg_project_info a, b;
    dg_project_get_info(pj, &a);
    dg_project_get_info(pa, &b);
    CHECK_EQ_INT(b.n_classes, a.n_classes);
    CHECK_EQ_INT(b.n_frames, a.n_frames);
    CHECK_EQ_INT(b.n_labels, a.n_labels);
    CHECK_EQ_INT(b.n_inferences, 1);
    for (uint32_t c = 0; c < a.n_classes; c++) {
        CHECK(!strcmp(dg_project_class_name(pa, c),
                      dg_project_class_name(pj, c)));
        CHECK_EQ_INT(dg_project_class_id(pa, c), dg_project_class_id(pj, c));
    }
    for (uint32_t f = 0; f < a.n_frames; f++) {
        CHECK(!strcmp(dg_project_frame_id(pa, f), dg_project_frame_id(pj, f)));
        CHECK_EQ_INT(dg_project_frame_num(pa, f), dg_project_frame_num(pj, f));
    }
    CHECK_EQ_INT(dg_project_frame_num(pa, 0), 3);
    CHECK_EQ_INT(dg_project_inference_size(pa, 0), 7);
    /* Every box in the same place: the COCO evaluation agrees, entry for
     * entry, and so does eval's grid. */
    dg_coco_result rj, ra;
    CHECK_EQ_INT(dg_coco_evaluate(ctx, pj, "m", NULL, &rj), DG_OK);
    CHECK_EQ_INT(dg_coco_evaluate(ctx, pa, "m", NULL, &ra), DG_OK);
    CHECK(memcmp(rj.stats, ra.stats, sizeof(rj.stats)) == 0);
    size_t np = (size_t)rj.n_iou * rj.n_rec * rj.n_cats * rj.n_area *
                rj.n_max_dets;
    CHECK(memcmp(rj.precision, ra.precision, np * sizeof(double)) == 0);
    CHECK(rj.stats[DG_COCO_AP] > 0);
    dg_coco_result_release(&rj);
    dg_coco_result_release(&ra);
    double iou[2] = {0.5, 0.75};
    dg_results *xj, *xa;
    dg_counts cj[3], cb[3];
    CHECK_EQ_INT(dg_eval(ctx, pj, "m", iou, 2), DG_OK);
    CHECK_EQ_INT(dg_eval(ctx, pa, "m", iou, 2), DG_OK);
    CHECK_EQ_INT(dg_results_load(ctx, pj, "m", &xj), DG_OK);
    CHECK_EQ_INT(dg_results_load(ctx, pa, "m", &xa), DG_OK);
    CHECK_EQ_INT(dg_results_counts(ctx, xj, 0.0, 0, cj), DG_OK);
    CHECK_EQ_INT(dg_results_counts(ctx, xa, 0.0, 0, cb), DG_OK);
    CHECK(memcmp(cj, cb, sizeof(cj)) == 0);
    CHECK_EQ_INT(cb[1].tp, 1); /* person: the crowd region is ignored */
    dg_results_free(xj);
    dg_results_free(xa);
    dg_project_free(pj);
    dg_project_free(pa);
}

/* Arrays that break a rule: the message names source, record and field,
 * and the project stays as it was. */
static void test_arrays_errors(void)
{
    int64_t img_id[2] = {1, 2}, cat_id[2] = {1, 2};
    const char *names[2] = {"a", "b"};
    int64_t gi[2] = {1, 2}, gc[2] = {1, 2};
    double bb[8] = {0, 0, 10, 10, 5, 5, 10, 10};
    double area[2] = {100, 100}, score[2] = {0.5, 0.25};
    uint8_t crowd[2] = {0, 0};
    dg_array_images im = {2, img_id, NULL, NULL};
    dg_array_categories ca = {2, cat_id, names};
    dg_array_boxes g = {2, gi, gc, bb, NULL, area, crowd, NULL};
    dg_array_boxes d = {2, gi, gc, bb, score, NULL, NULL, NULL};
    static const struct {
        int what; /* field to spoil */
        const char *want;
    } cases[] = {
        {0, "'t': annotations[1]: field 'image_id': unknown image 77"},
        {1, "'t': annotations[1]: field 'category_id': unknown category 77"},
        {2, "'t': annotations[1]: field 'bbox': width is negative (-1.5)"},
        {3, "'t': annotations[1]: field 'bbox': y is not a finite number (inf)"},
        {4, "'t': annotations[1]: field 'area': negative (-1)"},
        {5, "'t': annotations[1]: field 'iscrowd': not 0 or 1 (2)"},
        {6, "'t': images[1]: field 'id': duplicate image 1 (also images[0])"},
        {7, "'t': categories[1]: field 'name': duplicate name 'a'"},
        {8, "'t': categories[1]: field 'id': duplicate category 1"},
        {9, "'t': images[0]: field 'id': negative (-3)"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int before = check_failures;
        int w = cases[c].what;
        gi[1] = w == 0 ? 77 : 2;
        gc[1] = w == 1 ? 77 : 2;
        bb[6] = w == 2 ? -1.5 : 10;
        bb[5] = w == 3 ? INFINITY : 5;
        area[1] = w == 4 ? -1 : 100;
        crowd[1] = w == 5 ? 2 : 0;
        img_id[1] = w == 6 ? 1 : 2;
        names[1] = w == 7 ? "a" : "b";
        cat_id[1] = w == 8 ? 1 : 2;
        img_id[0] = w == 9 ? -3 : 1;
        dg_project *p;
        CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
        CHECK_EQ_INT(dg_import_arrays_gt(ctx, p, "t", &im, &ca, &g),
                     DG_EFORMAT);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), cases[c].want);
        check_empty(p);
        dg_project_free(p);
        note_case(before, cases[c].want);
    }
    img_id[0] = 1;
    img_id[1] = 2;
    names[1] = "b";
    cat_id[1] = 2;
    gi[1] = 2;
    gc[1] = 2;
    bb[5] = 5;
    bb[6] = 10;
    area[1] = 100;
    crowd[1] = 0;
    /* Detections: finite scores; the set is not added. */
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, p, "p", &d, "m", 0), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "no frames");
    CHECK_EQ_INT(dg_import_arrays_gt(ctx, p, "t", &im, &ca, &g), DG_OK);
    CHECK_EQ_INT(dg_import_arrays_gt(ctx, p, "t", &im, &ca, &g), DG_EINVAL);
    /* As from a file: a score outside [0, 1] is kept and a detection of
     * an unknown category skipped, each with a warning. */
    score[1] = 1.5;
    gc[0] = 9;
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, p, "p", &d, "w", 0), DG_OK);
    const char *w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "'p': [1]: field 'score': outside [0, 1] (1.5), "
                          "kept: confidences apply to the raw scores "
                          "(1 detection in all)");
    CHECK_STR_CONTAINS(w, "'p': [0]: field 'category_id': unknown category "
                          "9, detection skipped (1 detection in all)");
    CHECK_EQ_INT(dg_project_inference_size(p, 0), 1);
    CHECK_EQ_INT(dg_project_remove_inferences(ctx, p, "w"), DG_OK);
    gc[0] = 1;
    score[1] = NAN;
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, p, "p", &d, "m", 0), DG_EFORMAT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                       "field 'score': not a finite number (nan)");
    dg_array_boxes nocol = d;
    nocol.score = NULL;
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, p, "p", &nocol, "m", 0),
                 DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "missing a column");
    CHECK_EQ_INT(dg_import_arrays_dt(ctx, p, "p", &d, "", 0), DG_EINVAL);
    dg_project_info info;
    dg_project_get_info(p, &info);
    CHECK_EQ_INT(info.n_inferences, 0);
    CHECK_EQ_INT(info.n_labels, 2);
    dg_project_free(p);
}

/* A project of the ground truth text (which must import). */
static dg_project *gt_ok(const char *text)
{
    dg_project *p;
    CHECK_EQ_INT(dg_project_create(ctx, &p), DG_OK);
    CHECK_EQ_INT(dg_import_coco_gt(ctx, p, write_tmp("gt.json", text), NULL),
                 DG_OK);
    return p;
}

/*
 * What pycocotools takes and detgrid refuses only in strict mode: each
 * imports, with one warning per kind naming the first record and the
 * count (the numbers against pycocotools: tests/test_users.py).
 */
static void test_accepted(void)
{
    dg_project *p;
    const char *w;

    /* Category names: missing or empty ones from the id, repeats made
     * unique with the id. */
    p = gt_ok("{\"categories\": [{\"id\": 4, \"name\": \"car\"}, {\"id\": 9}, "
              "{\"id\": 7, \"name\": \"car\"}, {\"id\": 2, \"name\": \"\"}, "
              "{\"id\": 3, \"name\": null}, {\"id\": 5, \"name\": \"car\"}], "
              IMGS "}");
    w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "gt.json': categories[1]: field 'name': missing, "
                       "so the class is named '9' after its id (3 "
                       "categories in all)");
    CHECK_STR_CONTAINS(w, "gt.json': categories[2]: field 'name': duplicate "
                       "name 'car' (also categories[0]), renamed 'car (id "
                       "7)' (2 categories in all)");
    static const char *const names[] = { "car", "9", "car (id 7)", "2", "3",
                                         "car (id 5)" };
    CHECK_EQ_INT(p->n_classes, 6);
    for (uint32_t i = 0; i < p->n_classes && i < 6; i++)
        CHECK_STR_CONTAINS(p->class_names[i], names[i]);
    CHECK_EQ_INT(strcmp(p->class_names[2], "car (id 7)"), 0);
    dg_project_free(p);

    /* A name that a renamed category takes is made unique in turn. */
    p = gt_ok("{\"categories\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 2, "
              "\"name\": \"a\"}, {\"id\": 3, \"name\": \"a (id 2)\"}], "
              IMGS "}");
    dg_ctx_take_warnings(ctx);
    CHECK_EQ_INT(p->n_classes, 3);
    CHECK_EQ_INT(strcmp(p->class_names[1], "a (id 2)"), 0);
    CHECK_EQ_INT(strcmp(p->class_names[2], "a (id 2) (id 3)"), 0);
    dg_project_free(p);

    /* String image ids: frames in Python's sorted() order, the strings
     * kept as frame ids; annotations and detections find them. */
    p = gt_ok("{" CATS ", \"images\": [{\"id\": \"b.jpg\"}, {\"id\": "
              "\"a.jpg\"}, {\"id\": \"\\u00e9.jpg\"}, {\"id\": \"B.jpg\"}], "
              "\"annotations\": [{\"image_id\": \"a.jpg\", \"category_id\": "
              "2, \"bbox\": [1, 2, 3, 4]}, {\"image_id\": \"\\u00e9.jpg\", "
              "\"category_id\": 1, \"bbox\": [1, 2, 3, 4]}]}");
    w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "gt.json': images[0]: field 'id': a string "
                       "('b.jpg'), kept as the frame id (4 images in all)");
    static const char *const fid[] = { "B.jpg", "a.jpg", "b.jpg",
                                       "\xc3\xa9.jpg" };
    CHECK_EQ_INT(p->n_frames, 4);
    for (uint32_t i = 0; i < p->n_frames && i < 4; i++) {
        CHECK_EQ_INT(strcmp(p->frame_ids[i], fid[i]), 0);
        CHECK_EQ_INT(p->frame_num[i], -1);
    }
    CHECK_EQ_INT(p->labels.n, 2);
    CHECK_EQ_INT(p->labels.frame[0], 1);
    CHECK_EQ_INT(p->labels.frame[1], 3);
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json",
                 "[{\"image_id\": \"b.jpg\", \"category_id\": 1, \"bbox\": [0, "
                 "0, 1, 1], \"score\": 0.5}]"), "det", 0, NULL), DG_OK);
    CHECK_EQ_INT(p->inf[0].boxes.n, 1);
    CHECK_EQ_INT(p->inf[0].boxes.frame[0], 2);
    dt_fails_o("[{\"image_id\": \"b.jpg\", \"category_id\": 1, \"bbox\": [0, "
               "0, 1, 1], \"score\": 0.5}]", &strict, DG_EFORMAT,
               "dt.json': [0]: field 'image_id': not a number (got string)");
    dg_project_free(p);

    /* Detections: unknown categories skipped, any finite score kept. */
    p = small_project();
    CHECK_EQ_INT(dg_import_coco_dt(ctx, p, write_tmp("dt.json",
                 "[{\"image_id\": 10, \"category_id\": 1, \"bbox\": [0, 0, 1, "
                 "1], \"score\": 0.5}, {\"image_id\": 10, \"category_id\": 91, "
                 "\"bbox\": [0, 0, 1, 1], \"score\": 0.5}, {\"image_id\": 20, "
                 "\"category_id\": 3, \"bbox\": [0, 0, 1, 1], \"score\": -2.5}, "
                 "{\"image_id\": 20, \"category_id\": 92, \"bbox\": [0, 0, 1, "
                 "1], \"score\": 7}, {\"image_id\": 30, \"category_id\": 7, "
                 "\"bbox\": [0, 0, 1, 1], \"score\": 250}]"), "det", 0, NULL),
                 DG_OK);
    w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "dt.json': [1]: field 'category_id': unknown "
                       "category 91, detection skipped (2 detections in "
                       "all)");
    CHECK_STR_CONTAINS(w, "dt.json': [2]: field 'score': outside [0, 1] "
                       "(-2.5), kept: confidences apply to the raw scores (2 "
                       "detections in all)");
    const dg_boxset *b = &p->inf[0].boxes;
    CHECK_EQ_INT(b->n, 3);
    CHECK_EQ_DBL(b->score[0], 0.5);
    CHECK_EQ_DBL(b->score[1], -2.5);
    CHECK_EQ_DBL(b->score[2], 250);
    dg_project_free(p);

    /* Annotation id 0: a warning, and the label's place is kept (here the
     * second label of frame 0 once sorted) and saved. */
    p = gt_ok("{" CATS ", \"images\": [{\"id\": 6}, {\"id\": 5}], "
              "\"annotations\": [{\"id\": 3, \"image_id\": 6, \"category_id\": "
              "1, \"bbox\": [1, 2, 3, 4]}, {\"id\": 1, \"image_id\": 5, "
              "\"category_id\": 2, \"bbox\": [1, 2, 3, 4]}, {\"id\": 0, "
              "\"image_id\": 5, \"category_id\": 1, \"bbox\": [1, 2, 3, "
              "4]}]}");
    CHECK_STR_CONTAINS(dg_ctx_take_warnings(ctx), "gt.json': annotations[2]: "
                       "field 'id': annotation id 0: pycocotools counts "
                       "detections matched to it as false positives, detgrid "
                       "as true positives ('detgrid coco --pycocotools-id0' "
                       "gives pycocotools' numbers) (1 annotation in all)");
    CHECK_EQ_INT(p->n_zero_ids, 1);
    CHECK_EQ_INT(p->zero_ids[0], 1);
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s/zero.h5", tmpdir);
    CHECK_EQ_INT(dg_project_save(ctx, p, saved), DG_OK);
    dg_project_free(p);
    CHECK_EQ_INT(dg_project_open(ctx, saved, &p), DG_OK);
    CHECK_EQ_INT(p->n_zero_ids, 1);
    CHECK_EQ_INT(p->zero_ids[0], 1);
    dg_project_free(p);
    remove(saved);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/dg-test-import-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    if (dg_ctx_new(&ctx) < 0)
        return 2;
    dg_coco_import_opts_init(&strict);
    strict.strict = 1;

    test_gt_errors();
    test_gt_small();
    test_dt_errors();
    test_dt_small();
    test_dt_large();
    test_dt_fast_reader();
    test_flat_object();
    test_numbers();
    test_gt_skip_masks();
    test_coco_sample();
    test_arrays_same();
    test_arrays_errors();
    test_accepted();

    dg_ctx_free(ctx);
    char path[1024];
    snprintf(path, sizeof(path), "%s/gt.json", tmpdir);
    remove(path);
    snprintf(path, sizeof(path), "%s/dt.json", tmpdir);
    remove(path);
    rmdir(tmpdir);
    return check_done("test-import");
}
