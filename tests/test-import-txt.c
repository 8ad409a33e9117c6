/*
 * The folder-of-text-files importers (cartucho, padilla, yolo, voc-xml):
 * what they store, every error with its exact message, warnings, and that
 * a failed import leaves the project as it was. Fixtures are written to a
 * temporary folder; the Cartucho sample is read from DG_SHARED_DATA when
 * it is there.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_impl.h"
#include "detgrid/detgrid.h"

#define CHECK_STR_EQ(got, want) do { const char *g_ = (got), *w_ = (want); \
    check_count++; if (!g_ || strcmp(g_, w_)) { check_failures++; \
    fprintf(stderr, "%s:%d: got \"%s\"\n%*sexpected \"%s\"\n", __FILE__, \
            __LINE__, g_ ? g_ : "(null)", (int)strlen(__FILE__) + 9, "", \
            w_); } } while (0)

static char root[256];

/* root/rel, in one of a few rotating buffers. */
static const char *at(const char *rel)
{
    static char buf[16][512];
    static int k;
    char *b = buf[k++ % 16];
    snprintf(b, sizeof(buf[0]), "%s/%s", root, rel);
    return b;
}

/* Writes data to root/rel, making its folder. */
static void put(const char *rel, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", at(rel));
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        mkdir(path, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fwrite(data, 1, len, f);
    fclose(f);
}

/* root/rel that stays valid (options keep the pointer). */
static char *kept[128];
static int n_kept;
static const char *keep(const char *rel)
{
    char *s = strdup(at(rel));
    if (n_kept < 128)
        kept[n_kept++] = s;
    return s;
}

static void puts_(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static void mkdir_(const char *rel)
{
    mkdir(at(rel), 0755);
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

/* An import into a fresh project; the project is kept in *out when asked. */
static dg_status run(dg_ctx *ctx, const dg_txt_opts *o, const char *gt,
                     const char *dt, dg_project **out)
{
    dg_project *p;
    const char *dts[1] = {dt}, *names[1] = {"d"};
    if (dg_project_create(ctx, &p) < 0)
        return DG_ENOMEM;
    dg_status st = dg_import_txt(ctx, p, gt, dt ? 1 : 0, dts, names, 0, o);
    if (st < 0) {
        /* A failed import leaves the project empty. */
        CHECK_EQ_INT(p->n_classes, 0);
        CHECK_EQ_INT(p->n_frames, 0);
        CHECK_EQ_INT(p->labels.n, 0);
        CHECK_EQ_INT(p->n_inf, 0);
    }
    if (out && st == DG_OK)
        *out = p;
    else
        dg_project_free(p);
    return st;
}

/* Expects an import to fail with st and exactly msg (paths relative to
 * root are written as "@/"). */
static void expect_fail(dg_ctx *ctx, const dg_txt_opts *o, const char *gt,
                        const char *dt, dg_status want, const char *msg,
                        int line)
{
    char full[2048], *d = full;
    for (const char *s = msg; *s && d < full + sizeof(full) - 300; s++) {
        if (s[0] == '@' && s[1] == '/') {
            d += sprintf(d, "%s", root);
            continue;
        }
        *d++ = *s;
    }
    *d = 0;
    dg_status st = run(ctx, o, gt, dt, NULL);
    check_count++;
    if (st != want || strcmp(dg_ctx_last_error(ctx), full)) {
        check_failures++;
        fprintf(stderr, "%s:%d: got %s \"%s\"\n    expected %s \"%s\"\n",
                __FILE__, line, dg_status_name(st), dg_ctx_last_error(ctx),
                dg_status_name(want), full);
    }
    dg_ctx_take_warnings(ctx);
}
#define EXPECT_FAIL(o, gt, dt, st, msg) \
    expect_fail(ctx, o, gt, dt, st, msg, __LINE__)

static dg_txt_opts opts(dg_txt_format f)
{
    dg_txt_opts o;
    dg_txt_opts_init(&o, f);
    return o;
}

/* Label or detection i of a box set, as x, y, w, h. */
static void check_box(const dg_boxset *b, uint64_t i, uint32_t frame,
                      uint32_t cls, double x, double y, double w, double h,
                      int line)
{
    check_count++;
    if (i >= b->n || b->frame[i] != frame || b->cls[i] != cls ||
        fabs(b->x[i] - x) > 1e-9 || fabs(b->y[i] - y) > 1e-9 ||
        fabs(b->w[i] - w) > 1e-9 || fabs(b->h[i] - h) > 1e-9) {
        check_failures++;
        if (i >= b->n)
            fprintf(stderr, "%s:%d: box %llu of %llu missing\n", __FILE__,
                    line, (unsigned long long)i, (unsigned long long)b->n);
        else
            fprintf(stderr, "%s:%d: box %llu is frame %u class %u "
                    "(%g, %g, %g, %g), expected frame %u class %u "
                    "(%g, %g, %g, %g)\n", __FILE__, line,
                    (unsigned long long)i, b->frame[i], b->cls[i], b->x[i],
                    b->y[i], b->w[i], b->h[i], frame, cls, x, y, w, h);
    }
}
#define CHECK_BOX(b, i, f, c, x, y, w, h) \
    check_box(b, i, f, c, x, y, w, h, __LINE__)

/* ---- formats and options ----------------------------------------------------- */

static void test_formats(void)
{
    CHECK_EQ_INT(dg_txt_format_parse("cartucho"), DG_TXT_CARTUCHO);
    CHECK_EQ_INT(dg_txt_format_parse("voc-txt"), DG_TXT_CARTUCHO);
    CHECK_EQ_INT(dg_txt_format_parse("padilla"), DG_TXT_PADILLA);
    CHECK_EQ_INT(dg_txt_format_parse("rafaelpadilla"), DG_TXT_PADILLA);
    CHECK_EQ_INT(dg_txt_format_parse("yolo"), DG_TXT_YOLO);
    CHECK_EQ_INT(dg_txt_format_parse("voc-xml"), DG_TXT_VOC_XML);
    CHECK_EQ_INT(dg_txt_format_parse("coco"), -1);
    CHECK_EQ_INT(dg_txt_format_parse(NULL), -1);
    CHECK(!strcmp(dg_txt_format_name(DG_TXT_YOLO), "yolo"));
    dg_txt_opts o;
    CHECK_EQ_INT(dg_txt_opts_init(&o, DG_TXT_YOLO), DG_OK);
    CHECK_EQ_INT(o.box, DG_TXT_BOX_CXCYWH);
    CHECK_EQ_INT(o.relative, 1);
    CHECK_EQ_INT(o.conf_leading, 0);
    CHECK_EQ_INT(o.unlabeled_frames, 1);
    CHECK_EQ_INT(dg_txt_opts_init(&o, DG_TXT_PADILLA), DG_OK);
    CHECK_EQ_INT(o.box, DG_TXT_BOX_XYWH);
    CHECK_EQ_INT(o.conf_leading, 1);
    CHECK_EQ_INT(o.unlabeled_frames, 0);
    CHECK_EQ_INT(dg_txt_opts_init(&o, DG_TXT_CARTUCHO), DG_OK);
    CHECK_EQ_INT(o.box, DG_TXT_BOX_XYXY);
    CHECK_EQ_INT(o.relative, 0);
    CHECK_EQ_INT(dg_txt_opts_init(&o, (dg_txt_format)9), DG_EINVAL);
}

/* ---- cartucho ------------------------------------------------------------------- */

static void test_cartucho(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_CARTUCHO);
    dg_project *p = NULL;

    puts_("c/gt/a.txt", "cat 10 20 30 40\ndog 0 0 5 5 difficult\n");
    puts_("c/gt/b.txt", "");
    puts_("c/gt/c.txt", "\xEF\xBB\xBF" "cat 1.5 2.5 3.5 4.5\r\n\r\n  \n");
    puts_("c/gt/notes.md", "not a label file");
    puts_("c/gt/._a.txt", "macOS metadata");
    mkdir_("c/gt/sub.txt");
    puts_("c/dt/a.txt", "cat 0.9 10 20 30 40\nbird 0.5 1 1 2 2\n");
    puts_("c/dt/c.txt", "dog\t0.25  0 0 1 1"); /* tabs, no newline */
    /* NULL options: the cartucho defaults. */
    CHECK_EQ_INT(run(ctx, NULL, at("c/gt"), at("c/dt"), &p), DG_OK);
    if (!p)
        return;
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx), "");
    /* Classes: the sorted union of ground truth and detections. */
    CHECK_EQ_INT(p->n_classes, 3);
    CHECK_STR_EQ(dg_project_class_name(p, 0), "bird");
    CHECK_STR_EQ(dg_project_class_name(p, 1), "cat");
    CHECK_STR_EQ(dg_project_class_name(p, 2), "dog");
    CHECK_EQ_INT(dg_project_class_id(p, 0), 1);
    CHECK_EQ_INT(dg_project_class_id(p, 2), 3);
    /* Frames: the ground-truth files, sorted; an empty file is a frame. */
    CHECK_EQ_INT(p->n_frames, 3);
    CHECK_STR_EQ(dg_project_frame_id(p, 0), "a");
    CHECK_STR_EQ(dg_project_frame_id(p, 1), "b");
    CHECK_STR_EQ(dg_project_frame_id(p, 2), "c");
    CHECK_EQ_INT(p->frame_num[0], -1);
    CHECK(isnan(p->frame_w[0]));
    /* Labels: corners to x, y, w, h; difficult to ignore. */
    const dg_boxset *l = &p->labels;
    CHECK_EQ_INT(l->n, 3);
    CHECK_BOX(l, 0, 0, 1, 10, 20, 20, 20);
    CHECK_BOX(l, 1, 0, 2, 0, 0, 5, 5);
    CHECK_BOX(l, 2, 2, 1, 1.5, 2.5, 2, 2);
    CHECK_EQ_INT(l->ignore[0], 0);
    CHECK_EQ_INT(l->ignore[1], 1);
    CHECK_EQ_INT(l->iscrowd[1], 0);
    CHECK_EQ_DBL(l->area[0], 400);
    CHECK_EQ_INT(l->frame_off[1], 2);
    CHECK_EQ_INT(l->frame_off[2], 2);
    /* Detections; a frame without a detection file has none. */
    CHECK_EQ_INT(p->n_inf, 1);
    const dg_boxset *d = &p->inf[0].boxes;
    CHECK_EQ_INT(d->n, 3);
    CHECK_BOX(d, 0, 0, 1, 10, 20, 20, 20);
    CHECK_BOX(d, 1, 0, 0, 1, 1, 1, 1);
    CHECK_BOX(d, 2, 2, 2, 0, 0, 1, 1);
    CHECK_EQ_DBL(d->score[0], 0.9);
    CHECK_EQ_DBL(d->score[2], 0.25);

    /* Saved and reopened, it evaluates the same. */
    dg_voc_result r1, r2;
    CHECK_EQ_INT(dg_voc_evaluate(ctx, p, "d", NULL, &r1), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, p, at("c/p.h5")), DG_OK);
    dg_project_free(p);
    p = NULL;
    CHECK_EQ_INT(dg_project_open(ctx, at("c/p.h5"), &p), DG_OK);
    if (p) {
        CHECK_EQ_INT(dg_voc_evaluate(ctx, p, "d", NULL, &r2), DG_OK);
        CHECK_EQ_DBL(r1.map, r2.map);
        CHECK_EQ_INT(r2.classes[1].tp, 1);
        CHECK_EQ_INT(r2.classes[2].n_difficult, 1);
        CHECK_EQ_DBL(r1.map, 0.5); /* cat 1 of 2, dog: ignored-only, bird - */
        dg_voc_result_release(&r2);
        /* Adding another inference set to it. */
        const char *dts[2] = {at("c/dt"), at("c/dt")};
        const char *nm[2] = {"e", "f"};
        CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 2, dts, nm, 0, &o), DG_OK);
        CHECK_EQ_INT(p->n_inf, 3);
        CHECK_EQ_INT(dg_project_inference_size(p, 2), 3);
        /* A name that exists, without and with replace. */
        CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o),
                     DG_EEXIST);
        CHECK_STR_EQ(dg_ctx_last_error(ctx),
                     "inference set 'e' already exists");
        puts_("c/dt2/a.txt", "cat 0.5 10 20 30 40\n");
        dts[0] = at("c/dt2");
        CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 1, &o), DG_OK);
        CHECK_EQ_INT(dg_project_inference_size(p, 1), 1);
        CHECK_EQ_INT(p->n_inf, 3);
        dg_project_free(p);
    }
    dg_voc_result_release(&r1);
}

static void test_cartucho_errors(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_CARTUCHO);
    mkdir_("e");
    mkdir_("e/empty");
    EXPECT_FAIL(&o, at("e/nope"), NULL, DG_EIO,
                "'@/e/nope': cannot open folder: No such file or directory");
    EXPECT_FAIL(&o, at("e/empty"), NULL, DG_EFORMAT,
                "'@/e/empty': no .txt files");

    static const struct {
        const char *text, *msg;
    } gt_cases[] = {
        {"cat 10 x 30 40\n",
         "line 1: field 'top': not a number ('x')"},
        {"cat 30 20 10 40\n",
         "line 1: field 'right': less than left (10 < 30)"},
        {"cat 10 20 30 19.5\n",
         "line 1: field 'bottom': less than top (19.5 < 20)"},
        {"cat nan 20 30 40\n",
         "line 1: field 'left': not a finite number ('nan')"},
        {"cat 1 2 3 -Infinity\n",
         "line 1: field 'bottom': not a finite number ('-Infinity')"},
        {"cat 1e400 20 30 40\n",
         "line 1: field 'left': not a finite number ('1e400')"},
        {"cat 0x10 20 30 40\n",
         "line 1: field 'left': not a number ('0x10')"},
        {"cat 1. 2 3e 4\n",
         "line 1: field 'right': not a number ('3e')"},
        {"cat 1 2 3\n",
         "line 1: has 4 fields, expected 5 or 6: <class> <left> <top> "
         "<right> <bottom> [difficult]"},
        {"\n\ncat\n",
         "line 3: has 1 field, expected 5 or 6: <class> <left> <top> "
         "<right> <bottom> [difficult]"},
        {"potted plant 1 2 3 4\n",
         "line 1: field 'difficult': expected 'difficult' or nothing, got "
         "'4' (class names cannot contain spaces)"},
        {"a b c 1 2 3 4\n",
         "line 1: has 7 fields, expected 5 or 6: <class> <left> <top> "
         "<right> <bottom> [difficult] (class names cannot contain spaces)"},
        {"cat 1 2 3 4 hard\n",
         "line 1: field 'difficult': expected 'difficult' or nothing, got "
         "'hard' (class names cannot contain spaces)"},
    };
    for (size_t i = 0; i < sizeof(gt_cases) / sizeof(*gt_cases); i++) {
        char dir[64], file[80], msg[512];
        snprintf(dir, sizeof(dir), "e/g%zu", i);
        snprintf(file, sizeof(file), "%s/x.txt", dir);
        puts_(file, gt_cases[i].text);
        snprintf(msg, sizeof(msg), "'@/%s': %s", file, gt_cases[i].msg);
        EXPECT_FAIL(&o, at(dir), NULL, DG_EFORMAT, msg);
    }
    /* A NUL byte, and the line it is on. */
    put("e/nul/x.txt", "cat 1 2 3 4\ncat 1\0 2 3 4\n", 25);
    EXPECT_FAIL(&o, at("e/nul"), NULL, DG_EFORMAT,
                "'@/e/nul/x.txt': line 2: NUL byte");

    /* Detections. */
    puts_("e/gt/a.txt", "cat 1 2 3 4\n");
    static const struct {
        const char *text, *msg;
    } dt_cases[] = {
        {"cat 1.5 1 2 3 4\n",
         "line 1: field 'confidence': out of range [0, 1] (1.5)"},
        {"cat -0.25 1 2 3 4\n",
         "line 1: field 'confidence': out of range [0, 1] (-0.25)"},
        {"cat 1.0000000000000002 1 2 3 4\n",
         "line 1: field 'confidence': out of range [0, 1] "
         "(1.0000000000000002)"},
        {"cat high 1 2 3 4\n",
         "line 1: field 'confidence': not a number ('high')"},
        {"cat 0.5 1 2 3 4 difficult\n",
         "line 1: has 7 fields, expected 6: <class> <confidence> <left> "
         "<top> <right> <bottom> (class names cannot contain spaces)"},
        {"cat 0.5 1 2 3\n",
         "line 1: has 5 fields, expected 6: <class> <confidence> <left> "
         "<top> <right> <bottom>"},
        {"cat 0.5 5 2 3 4\n",
         "line 1: field 'right': less than left (3 < 5)"},
    };
    for (size_t i = 0; i < sizeof(dt_cases) / sizeof(*dt_cases); i++) {
        char dir[64], file[80], msg[512];
        snprintf(dir, sizeof(dir), "e/d%zu", i);
        snprintf(file, sizeof(file), "%s/a.txt", dir);
        puts_(file, dt_cases[i].text);
        snprintf(msg, sizeof(msg), "'@/%s': %s", file, dt_cases[i].msg);
        EXPECT_FAIL(&o, at("e/gt"), at(dir), DG_EFORMAT, msg);
    }
    /* A detection file without a ground-truth file. */
    puts_("e/dz/a.txt", "cat 0.5 1 2 3 4\n");
    puts_("e/dz/zzz.txt", "cat 0.5 1 2 3 4\n");
    EXPECT_FAIL(&o, at("e/gt"), at("e/dz"), DG_EFORMAT,
                "'@/e/dz/zzz.txt': no ground-truth file 'zzz.txt' in "
                "'@/e/gt' (a frame without labels needs an empty file)");
    /* ... unless such frames are wanted: then it is a frame without labels,
     * in file-name order. */
    dg_txt_opts u = o;
    u.unlabeled_frames = 1;
    dg_project *p = NULL;
    CHECK_EQ_INT(run(ctx, &u, at("e/gt"), at("e/dz"), &p), DG_OK);
    if (p) {
        CHECK_EQ_INT(p->n_frames, 2);
        CHECK_STR_EQ(dg_project_frame_id(p, 1), "zzz");
        CHECK_EQ_INT(p->inf[0].boxes.frame[1], 1);
        dg_project_free(p);
    }
    EXPECT_FAIL(&o, at("e/gt"), at("e/nodt"), DG_EIO,
                "'@/e/nodt': cannot open folder: No such file or directory");

    /* Arguments. */
    dg_project *q;
    const char *dts[2] = {at("e/d0"), at("e/d1")};
    const char *bad[2] = {"a/b", "x"}, *twice[2] = {"x", "x"};
    dg_project_create(ctx, &q);
    CHECK_EQ_INT(dg_import_txt(ctx, q, at("e/gt"), 1, dts, bad, 0, &o),
                 DG_EINVAL);
    CHECK_STR_EQ(dg_ctx_last_error(ctx), "invalid inference set name 'a/b' "
                 "(must be non-empty, without '/' or control characters)");
    CHECK_EQ_INT(dg_import_txt(ctx, q, at("e/gt"), 2, dts, twice, 0, &o),
                 DG_EINVAL);
    CHECK_STR_EQ(dg_ctx_last_error(ctx), "inference set 'x' given twice");
    CHECK_EQ_INT(dg_import_txt(ctx, q, NULL, 1, dts, bad + 1, 0, &o),
                 DG_EINVAL);
    char want[700];
    snprintf(want, sizeof(want), "'%s': the project has no frames; import "
             "ground truth first", at("e/d0"));
    CHECK_STR_EQ(dg_ctx_last_error(ctx), want);
    CHECK_EQ_INT(dg_import_txt(ctx, q, NULL, 0, NULL, NULL, 0, &o), DG_EINVAL);
    CHECK_EQ_INT(dg_import_txt(ctx, q, at("e/gt"), 0, NULL, NULL, 0, &o),
                 DG_OK);
    CHECK_EQ_INT(dg_import_txt(ctx, q, at("e/gt"), 0, NULL, NULL, 0, &o),
                 DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "cannot import ground truth "
                       "into a project that already has classes or frames");
    dg_project_free(q);
}

/* Adding detections to an existing project: frames and classes are fixed. */
static void test_add_detections(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_CARTUCHO);
    dg_project *p = NULL;
    puts_("a/gt/f1.txt", "cat 1 2 3 4\n");
    puts_("a/gt/f2.txt", "dog 1 2 3 4\n");
    CHECK_EQ_INT(run(ctx, &o, at("a/gt"), NULL, &p), DG_OK);
    if (!p)
        return;
    CHECK_EQ_INT(p->n_inf, 0);
    const char *dts[1], *nm[1] = {"m"};

    puts_("a/d1/q.txt", "cat 0.5 1 2 3 4\n");
    dts[0] = at("a/d1");
    CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o), DG_EFORMAT);
    CHECK_STR_EQ(dg_ctx_last_error(ctx) + 1 + strlen(root),
                 "/a/d1/q.txt': the project has no frame 'q'");

    puts_("a/d2/f1.txt", "cat 0.5 1 2 3 4\nhorse 0.5 1 2 3 4\n"
                         "horse 0.4 1 2 3 4\n");
    dts[0] = at("a/d2");
    CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o), DG_EFORMAT);
    CHECK_STR_EQ(dg_ctx_last_error(ctx) + 1 + strlen(root),
                 "/a/d2/f1.txt': line 2: field 'class': unknown class 'horse' "
                 "(the project has no such class)");
    CHECK_EQ_INT(p->n_inf, 0);
    o.drop_unknown_classes = 1;
    CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o), DG_OK);
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx) + 1 + strlen(root),
                 "/a/d2/f1.txt': line 2: field 'class': unknown class "
                 "'horse', detection dropped (2 detections in all)\n");
    CHECK_EQ_INT(dg_project_inference_size(p, 0), 1);

    /* A names file cannot change the project's classes. */
    o.names_path = keep("a/names.txt");
    nm[0] = "n";
    CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o), DG_EINVAL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "a class names file is only "
                       "used with ground truth");
    /* An empty detection folder: an empty set, with a warning. */
    o.names_path = NULL;
    mkdir_("a/d3");
    dts[0] = at("a/d3");
    CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &o), DG_OK);
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx) + 1 + strlen(root),
                 "/a/d3': no detections\n");
    CHECK_EQ_INT(p->n_inf, 2);
    dg_project_free(p);
}

/* A names file with the named formats: classes fixed, in its order. */
static void test_names_fixed(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_CARTUCHO);
    dg_project *p = NULL;
    puts_("n/names.txt", "zebra\ncat\n\n");
    puts_("n/gt/a.txt", "cat 1 1 1 5\n"); /* zero width: a warning */
    puts_("n/dt/a.txt", "cat 0.5 1 2 3 4\nhorse 0.5 1 2 3 4\n");
    o.names_path = keep("n/names.txt");
    EXPECT_FAIL(&o, at("n/gt"), at("n/dt"), DG_EFORMAT,
                "'@/n/dt/a.txt': line 2: field 'class': unknown class "
                "'horse' (not in '@/n/names.txt')");
    o.drop_unknown_classes = 1;
    CHECK_EQ_INT(run(ctx, &o, at("n/gt"), at("n/dt"), &p), DG_OK);
    const char *w = dg_ctx_take_warnings(ctx);
    CHECK_STR_CONTAINS(w, "/n/gt/a.txt': line 1: field 'right': zero width "
                       "or height (1 box in all)\n");
    CHECK_STR_CONTAINS(w, "/n/dt/a.txt': line 2: field 'class': unknown "
                       "class 'horse', detection dropped (1 detection in "
                       "all)\n");
    if (p) {
        CHECK_EQ_INT(p->n_classes, 2);
        CHECK_STR_EQ(dg_project_class_name(p, 0), "zebra");
        CHECK_EQ_INT(dg_project_class_id(p, 0), 0);
        CHECK_EQ_INT(dg_project_class_id(p, 1), 1);
        CHECK_EQ_INT(p->labels.cls[0], 1);
        dg_project_free(p);
    }
    /* Ground truth with a class outside the names file is an error. */
    puts_("n/gt2/a.txt", "dog 1 1 2 5\n");
    EXPECT_FAIL(&o, at("n/gt2"), NULL, DG_EFORMAT,
                "'@/n/gt2/a.txt': line 1: field 'class': unknown class "
                "'dog' (not in '@/n/names.txt')");
    /* Names file errors. */
    puts_("n/bad1.txt", "a\n\nb\n");
    o.names_path = keep("n/bad1.txt");
    EXPECT_FAIL(&o, at("n/gt"), NULL, DG_EFORMAT,
                "'@/n/bad1.txt': line 2: empty class name");
    puts_("n/bad2.txt", "a\nb\n a \n");
    o.names_path = keep("n/bad2.txt");
    EXPECT_FAIL(&o, at("n/gt"), NULL, DG_EFORMAT,
                "'@/n/bad2.txt': line 3: duplicate class name 'a' (also "
                "line 1)");
    puts_("n/bad3.txt", "\n\n");
    o.names_path = keep("n/bad3.txt");
    EXPECT_FAIL(&o, at("n/gt"), NULL, DG_EFORMAT,
                "'@/n/bad3.txt': no class names");
    o.names_path = keep("n/none.txt");
    EXPECT_FAIL(&o, at("n/gt"), NULL, DG_EIO,
                "'@/n/none.txt': cannot open: No such file or directory");
}

/* ---- padilla ------------------------------------------------------------------ */

static void test_padilla(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_PADILLA);
    dg_project *p = NULL;
    puts_("p/gt/00001.txt", "object 25 16 38 56\n");
    puts_("p/dt/00001.txt", "object .88 5 67 31 48\n");
    CHECK_EQ_INT(run(ctx, &o, at("p/gt"), at("p/dt"), &p), DG_OK);
    if (p) {
        CHECK_BOX(&p->labels, 0, 0, 0, 25, 16, 38, 56);
        CHECK_BOX(&p->inf[0].boxes, 0, 0, 0, 5, 67, 31, 48);
        CHECK_EQ_DBL(p->inf[0].boxes.score[0], 0.88);
        dg_project_free(p);
        p = NULL;
    }
    puts_("p/gt2/00001.txt", "object 25 16 -38 56\n");
    EXPECT_FAIL(&o, at("p/gt2"), NULL, DG_EFORMAT,
                "'@/p/gt2/00001.txt': line 1: field 'width': negative (-38)");
    puts_("p/gt3/00001.txt", "object 25 16 38 56 difficult\n");
    EXPECT_FAIL(&o, at("p/gt3"), NULL, DG_EFORMAT,
                "'@/p/gt3/00001.txt': line 1: has 6 fields, expected 5: "
                "<class> <left> <top> <width> <height> (class names cannot "
                "contain spaces)");

    /* rafaelpadilla's relative format is YOLO's center layout. */
    o.box = DG_TXT_BOX_CXCYWH;
    o.relative = 1;
    puts_("p/rel/im.txt", "object 0.5 0.25 0.5 0.5\n");
    EXPECT_FAIL(&o, at("p/rel"), NULL, DG_EFORMAT,
                "'@/p/rel/im.txt': line 1: relative coordinates need the "
                "image size of frame 'im', and there is none");
    puts_("p/sizes.json", "{\"images\": [{\"file_name\": \"dir/im.jpg\", "
                          "\"width\": 200, \"height\": 100}]}");
    o.sizes_path = keep("p/sizes.json");
    CHECK_EQ_INT(run(ctx, &o, at("p/rel"), NULL, &p), DG_OK);
    if (p) {
        CHECK_BOX(&p->labels, 0, 0, 0, 50, 0, 100, 50);
        CHECK_EQ_DBL(p->frame_w[0], 200);
        CHECK_EQ_DBL(p->frame_h[0], 100);
        dg_project_free(p);
    }
}

/* ---- yolo ---------------------------------------------------------------------- */

static void test_yolo(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_YOLO);
    dg_project *p = NULL;
    puts_("y/names.txt", "person\ntraffic light\n");
    puts_("y/sizes.csv", "image,width,height\n"
                         "imgs/a.jpg,640,480\n"
                         "b.png 100 200\n"
                         "# comment\n"
                         "c\t10\t10\n");
    puts_("y/gt/a.txt", "1 0.5 0.5 0.25 0.5\n0 0.1 0.1 0.2 0.2\n");
    puts_("y/gt/classes.txt", "person\ntraffic light\n");
    puts_("y/dt/a.txt", "0 0.5 0.5 0.1 0.1 0.8\n");
    puts_("y/dt/b.txt", "1 0.5 0.5 1 1 0.5\n");

    EXPECT_FAIL(&o, at("y/gt"), at("y/dt"), DG_EINVAL,
                "yolo files hold class indices: a class names file is "
                "required");
    o.names_path = keep("y/names.txt");
    EXPECT_FAIL(&o, at("y/gt"), at("y/dt"), DG_EFORMAT,
                "'@/y/gt/a.txt': line 1: relative coordinates need the image "
                "size of frame 'a', and there is none");
    o.sizes_path = keep("y/sizes.csv");
    CHECK_EQ_INT(run(ctx, &o, at("y/gt"), at("y/dt"), &p), DG_OK);
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx) + 1 + strlen(root),
                 "/y/gt/classes.txt': skipped (a class list, as labelImg "
                 "writes it, not a label file)\n");
    if (p) {
        CHECK_EQ_INT(p->n_classes, 2);
        CHECK_STR_EQ(dg_project_class_name(p, 1), "traffic light");
        CHECK_EQ_INT(dg_project_class_id(p, 0), 0);
        /* b has detections and no label file: a frame without labels. */
        CHECK_EQ_INT(p->n_frames, 2);
        CHECK_STR_EQ(dg_project_frame_id(p, 1), "b");
        CHECK_EQ_DBL(p->frame_w[0], 640);
        CHECK_EQ_DBL(p->frame_h[1], 200);
        CHECK_BOX(&p->labels, 0, 0, 1, 240, 120, 160, 240);
        CHECK_BOX(&p->labels, 1, 0, 0, 0, 0, 128, 96);
        CHECK_BOX(&p->inf[0].boxes, 0, 0, 0, 288, 216, 64, 48);
        CHECK_EQ_DBL(p->inf[0].boxes.score[0], 0.8);
        CHECK_BOX(&p->inf[0].boxes, 1, 1, 1, 0, 0, 100, 200);
        dg_project_free(p);
        p = NULL;
    }
    /* Without unlabeled frames, b is an error. */
    dg_txt_opts strict = o;
    strict.unlabeled_frames = 0;
    EXPECT_FAIL(&strict, at("y/gt"), at("y/dt"), DG_EFORMAT,
                "'@/y/dt/b.txt': no ground-truth file 'b.txt' in '@/y/gt' "
                "(a frame without labels needs an empty file)");
    /* The confidence right after the class. */
    dg_txt_opts lead = o;
    lead.conf_leading = 1;
    puts_("y/dlead/a.txt", "0 0.8 0.5 0.5 0.1 0.1\n");
    CHECK_EQ_INT(run(ctx, &lead, at("y/gt"), at("y/dlead"), &p), DG_OK);
    dg_ctx_take_warnings(ctx);
    if (p) {
        CHECK_BOX(&p->inf[0].boxes, 0, 0, 0, 288, 216, 64, 48);
        CHECK_EQ_DBL(p->inf[0].boxes.score[0], 0.8);
        dg_project_free(p);
        p = NULL;
    }
    puts_("y/dlead2/a.txt", "0 0.5 0.5 0.1 0.1 0.8\n0 1.5 0.5 0.5 0.1 0.1\n");
    EXPECT_FAIL(&lead, at("y/gt"), at("y/dlead2"), DG_EFORMAT,
                "'@/y/dlead2/a.txt': line 2: field 'confidence': out of "
                "range [0, 1] (1.5)");

    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"2 0.5 0.5 0.1 0.1\n",
         "line 1: field 'class': unknown class index 2 ('@/y/names.txt' has "
         "2 classes)"},
        {"1.0 0.5 0.5 0.1 0.1\n",
         "line 1: field 'class': not a class index ('1.0')"},
        {"-1 0.5 0.5 0.1 0.1\n",
         "line 1: field 'class': not a class index ('-1')"},
        {"person 0.5 0.5 0.1 0.1\n",
         "line 1: field 'class': not a class index ('person')"},
        {"0 0.5 0.5 -0.1 0.1\n",
         "line 1: field 'width': negative (-0.1)"},
        {"0 0.5 0.5 0.1\n",
         "line 1: has 4 fields, expected 5: <class-index> <x_center> "
         "<y_center> <width> <height>"},
        {"0 0.5 0.5 0.1 0.1 0.9\n",
         "line 1: has 6 fields, expected 5: <class-index> <x_center> "
         "<y_center> <width> <height>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char dir[64], file[80], msg[512];
        snprintf(dir, sizeof(dir), "y/g%zu", i);
        snprintf(file, sizeof(file), "%s/a.txt", dir);
        puts_(file, cases[i].text);
        snprintf(msg, sizeof(msg), "'@/%s': %s", file, cases[i].msg);
        EXPECT_FAIL(&o, at(dir), NULL, DG_EFORMAT, msg);
    }
    puts_("y/dbad/a.txt", "0 0.5 0.5 0.1 0.1\n");
    EXPECT_FAIL(&o, at("y/gt"), at("y/dbad"), DG_EFORMAT,
                "'@/y/dbad/a.txt': line 1: has 5 fields, expected 6: "
                "<class-index> <x_center> <y_center> <width> <height> "
                "<confidence>");

    /* Values outside [0, 1]: a warning, counted. */
    puts_("y/out/a.txt", "0 1.25 0.5 0.1 0.1\n0 0.5 0.5 0.1 1.5\n");
    CHECK_EQ_INT(run(ctx, &o, at("y/out"), NULL, NULL), DG_OK);
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx) + 1 + strlen(root),
                 "/y/out/a.txt': line 1: field 'x_center': relative value "
                 "outside [0, 1] (1.25) (2 boxes in all)\n");

    /* Sizes files. */
    static const struct {
        const char *text, *msg;
    } sizes[] = {
        {"a.jpg 640\n",
         "'@/y/s.txt': line 1: has 2 fields, expected 3: <image> <width> "
         "<height>"},
        {"a.jpg 0 480\n",
         "'@/y/s.txt': line 1: field 'width': not positive (0)"},
        {"a.jpg 640 -1\n",
         "'@/y/s.txt': line 1: field 'height': not positive (-1)"},
        {"image width height\nw h x\n",
         "'@/y/s.txt': line 2: field 'width': not a number ('h')"},
        {"a.jpg 640 480\nx.png 1 1\na.png 640 480\n",
         "'@/y/s.txt': line 3: field 'image': duplicate image 'a.png' "
         "(also line 1)"},
        {"{\"a.jpg\": [640]}",
         "'@/y/s.txt': 'a.jpg': not [width, height]"},
        {"{\"a.jpg\": {\"width\": 640}}",
         "'@/y/s.txt': 'a.jpg': field 'height': missing or not a finite "
         "number"},
        {"[{\"width\": 640, \"height\": 480}]",
         "'@/y/s.txt': [0]: field 'file_name': missing or not a string"},
        {"{\"images\": [{\"file_name\": \"a\", \"width\": 0, "
         "\"height\": 1}]}",
         "'@/y/s.txt': images[0]: field 'width': not positive (0)"},
        {"{\"a\": [1, 2],}",
         "'@/y/s.txt': not valid JSON near byte 14 (line 1)"},
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        dg_txt_opts s = o;
        puts_("y/s.txt", sizes[i].text);
        s.sizes_path = keep("y/s.txt");
        EXPECT_FAIL(&s, at("y/gt"), NULL, DG_EFORMAT, sizes[i].msg);
    }
    /* JSON forms that work. */
    puts_("y/s.json", "{\"a.jpg\": [640, 480], \"b\": {\"width\": 100, "
                      "\"height\": 200}}");
    dg_txt_opts s = o;
    s.sizes_path = keep("y/s.json");
    CHECK_EQ_INT(run(ctx, &s, at("y/gt"), at("y/dt"), &p), DG_OK);
    dg_ctx_take_warnings(ctx);
    if (p) {
        CHECK_EQ_DBL(p->frame_w[1], 100);
        /* Detections added later: sizes from the project. */
        const char *dts[1] = {at("y/dt")}, *nm[1] = {"again"};
        s.sizes_path = NULL;
        CHECK_EQ_INT(dg_import_txt(ctx, p, NULL, 1, dts, nm, 0, &s), DG_OK);
        CHECK_BOX(&p->inf[1].boxes, 0, 0, 0, 288, 216, 64, 48);
        dg_ctx_take_warnings(ctx);
        dg_project_free(p);
    }
}

/* ---- Pascal VOC XML ------------------------------------------------------------ */

static void test_voc_xml(dg_ctx *ctx)
{
    dg_txt_opts o = opts(DG_TXT_VOC_XML);
    dg_project *p = NULL;
    if (!dg_import_have_xml()) {
        mkdir_("x");
        mkdir_("x/gt");
        EXPECT_FAIL(&o, at("x/gt"), NULL, DG_EINVAL,
                    "'@/x/gt': Pascal VOC XML support was not compiled in "
                    "(install expat, e.g. Debian's libexpat1-dev, and "
                    "rebuild)");
        printf("note: built without expat, VOC XML tests skipped\n");
        return;
    }
    puts_("x/gt/im1.xml",
          "<annotation>\n"
          "  <filename>im1.jpg</filename>\n"
          "  <size><width>500</width><height>375</height><depth>3</depth>"
          "</size>\n"
          "  <object>\n"
          "    <name> potted plant </name>\n"
          "    <difficult>1</difficult>\n"
          "    <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>110</xmax>"
          "<ymax>220</ymax></bndbox>\n"
          "  </object>\n"
          "  <object>\n"
          "    <name>person</name>\n"
          "    <bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>3</xmax>"
          "<ymax>4</ymax></bndbox>\n"
          "    <part><name>head</name><bndbox><xmin>9</xmin><ymin>9</ymin>"
          "<xmax>1</xmax><ymax>1</ymax></bndbox></part>\n"
          "  </object>\n"
          "</annotation>\n");
    puts_("x/gt/im2.xml", "<annotation><size><width>0</width></size>"
                          "</annotation>");
    puts_("x/dt/im1.txt", "person 0.5 1.5 2 3 4\n");
    CHECK_EQ_INT(run(ctx, &o, at("x/gt"), at("x/dt"), &p), DG_OK);
    if (p) {
        CHECK_EQ_INT(p->n_frames, 2);
        CHECK_STR_EQ(dg_project_frame_id(p, 0), "im1");
        CHECK_EQ_DBL(p->frame_w[0], 500);
        CHECK_EQ_DBL(p->frame_h[0], 375);
        CHECK(isnan(p->frame_w[1]));
        CHECK_EQ_INT(p->n_classes, 2);
        CHECK_STR_EQ(dg_project_class_name(p, 0), "person");
        CHECK_STR_EQ(dg_project_class_name(p, 1), "potted plant");
        CHECK_EQ_INT(p->labels.n, 2);
        CHECK_BOX(&p->labels, 0, 0, 1, 10, 20, 100, 200);
        CHECK_EQ_INT(p->labels.ignore[0], 1);
        CHECK_BOX(&p->labels, 1, 0, 0, 1.5, 2, 1.5, 2);
        CHECK_EQ_INT(p->labels.ignore[1], 0);
        CHECK_BOX(&p->inf[0].boxes, 0, 0, 0, 1.5, 2, 1.5, 2);
        dg_project_free(p);
    }

    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"<annotation>\n<object>\n<name>a</name>\n</object>\n</annotation>",
         "line 2: field 'bndbox': missing"},
        {"<annotation>\n<object><bndbox/></object></annotation>",
         "line 2: field 'name': missing"},
        {"<annotation><object><name>a</name>\n<bndbox><xmin>1</xmin>"
         "<ymin>1</ymin><ymax>2</ymax></bndbox></object></annotation>",
         "line 2: field 'bndbox/xmax': missing"},
        {"<annotation><object><name>a</name><bndbox>\n<xmin>5</xmin>"
         "<ymin>1</ymin>\n<xmax>1</xmax><ymax>2</ymax></bndbox></object>"
         "</annotation>",
         "line 3: field 'bndbox/xmax': less than xmin (1 < 5)"},
        {"<annotation><object><name>a</name><bndbox><xmin>1</xmin>\n"
         "<ymin>abc</ymin><xmax>1</xmax><ymax>2</ymax></bndbox></object>"
         "</annotation>",
         "line 2: field 'bndbox/ymin': not a number ('abc')"},
        {"<annotation><object><name>a</name>\n<difficult>2</difficult>"
         "</object></annotation>",
         "line 2: field 'difficult': not 0 or 1 ('2')"},
        {"<annotation><object><name>a</name><name>b</name></object>"
         "</annotation>",
         "line 1: field 'name': given twice"},
        {"<annotation><object>\n<name>  </name></object></annotation>",
         "line 2: field 'name': empty"},
        {"<annotation>\n<object></annotation>",
         "line 2: not valid XML: mismatched tag"},
        {"", "line 1: not valid XML: no element found"},
        {"<doc/>", "line 1: root element is <doc>, expected <annotation>"},
        {"<annotation><size><width>-5</width></size></annotation>",
         "line 1: field 'size/width': negative (-5)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char dir[64], file[80], msg[512];
        snprintf(dir, sizeof(dir), "x/g%zu", i);
        snprintf(file, sizeof(file), "%s/a.xml", dir);
        puts_(file, cases[i].text);
        snprintf(msg, sizeof(msg), "'@/%s': %s", file, cases[i].msg);
        EXPECT_FAIL(&o, at(dir), NULL, DG_EFORMAT, msg);
    }
    /* Detections are cartucho lines. */
    puts_("x/dbad/im1.txt", "person 1.5 2 3 4\n");
    EXPECT_FAIL(&o, at("x/gt"), at("x/dbad"), DG_EFORMAT,
                "'@/x/dbad/im1.txt': line 1: has 5 fields, expected 6: "
                "<class> <confidence> <left> <top> <right> <bottom>");
}

/* ---- the Cartucho sample ------------------------------------------------------- */

static void test_cartucho_sample(dg_ctx *ctx)
{
    char gt[512], dt[512];
    struct stat sb;
    snprintf(gt, sizeof(gt), "%s/cartucho_map_sample/ground-truth",
             DG_SHARED_DATA);
    snprintf(dt, sizeof(dt), "%s/cartucho_map_sample/detection-results",
             DG_SHARED_DATA);
    if (stat(gt, &sb) < 0) {
        printf("note: %s not found, Cartucho sample skipped\n", gt);
        return;
    }
    dg_txt_opts o = opts(DG_TXT_CARTUCHO);
    dg_project *p = NULL;
    CHECK_EQ_INT(run(ctx, &o, gt, dt, &p), DG_OK);
    CHECK_STR_EQ(dg_ctx_take_warnings(ctx), "");
    if (!p)
        return;
    CHECK_EQ_INT(p->n_classes, 38);
    CHECK_EQ_INT(p->n_frames, 85);
    CHECK_EQ_INT(p->labels.n, 686);
    CHECK_EQ_INT(p->inf[0].boxes.n, 494);
    CHECK_STR_EQ(dg_project_frame_id(p, 0), "2007_000027");
    /* 2007_000332 has an empty detection file. */
    uint32_t f = 0;
    while (f < p->n_frames && strcmp(p->frame_ids[f], "2007_000332"))
        f++;
    CHECK(f < p->n_frames);
    if (f < p->n_frames)
        CHECK_EQ_INT(p->inf[0].boxes.frame_off[f + 1] -
                     p->inf[0].boxes.frame_off[f], 0);
    /* The first box of the first file: "pictureframe 176 206 225 266". */
    int64_t k = dg_project_class_index(p, "pictureframe");
    CHECK_BOX(&p->labels, 0, 0, (uint32_t)k, 176, 206, 49, 60);
    /* The COCO-style eval works on it too. */
    double iou[1] = {0.5};
    CHECK_EQ_INT(dg_ctx_set_device(ctx, "ref"), DG_OK);
    CHECK_EQ_INT(dg_eval(ctx, p, "d", iou, 1), DG_OK);
    dg_results *r;
    CHECK_EQ_INT(dg_results_load(ctx, p, "d", &r), DG_OK);
    dg_counts c[38];
    CHECK_EQ_INT(dg_results_counts(ctx, r, 0.0, 0, c), DG_OK);
    /* bed: 7 TP, 1 FP either way (a class without duplicates). */
    int64_t bed = dg_project_class_index(p, "bed");
    CHECK_EQ_INT(c[bed].tp, 7);
    CHECK_EQ_INT(c[bed].fp, 1);
    dg_results_free(r);
    dg_project_free(p);
}

int main(void)
{
    dg_ctx *ctx;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof(root), "%s/dg-import-txt-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    if (dg_ctx_new(&ctx) < 0)
        return 1;
    test_formats();
    test_cartucho(ctx);
    test_cartucho_errors(ctx);
    test_add_detections(ctx);
    test_names_fixed(ctx);
    test_padilla(ctx);
    test_yolo(ctx);
    test_voc_xml(ctx);
    test_cartucho_sample(ctx);
    dg_ctx_free(ctx);
    for (int i = 0; i < n_kept; i++)
        free(kept[i]);
    if (!check_failures)
        rm_rf(root);
    else
        fprintf(stderr, "fixtures kept in %s\n", root);
    return check_done("test-import-txt");
}
