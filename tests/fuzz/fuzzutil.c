#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"

static char dir[256];

static void rm_dir(void)
{
    if (dir[0]) {
        fz_clean();
        rmdir(dir);
    }
}

const char *fz_dir(void)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/dgfuzz.XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(rm_dir);
    }
    return dir;
}

const char *fz_path(const char *rel)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, 512, "%s/%s", fz_dir(), rel);
    return b;
}

const char *fz_write(const char *rel, const void *data, size_t n)
{
    const char *p = fz_path(rel);
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", p);
    for (char *s = tmp + strlen(fz_dir()) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        mkdir(tmp, 0700);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(p);
        abort();
    }
    return p;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (ftw->level > 0)
        remove(p);
    return 0;
}

void fz_clean(void)
{
    nftw(fz_dir(), rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

dg_ctx *fz_ctx(void)
{
    dg_ctx *ctx = NULL;
    if (dg_ctx_new(&ctx) < 0 || dg_ctx_set_device(ctx, "ref") < 0)
        abort();
    return ctx;
}

void fz_check(dg_ctx *ctx, dg_status st, const char *what)
{
    /* FZ_VERBOSE=1 shows what each input reached (for corpus work). */
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "%s: %s %s\n", what, dg_status_name(st),
                st < 0 ? dg_ctx_last_error(ctx) : "");
    if (st < 0 && !dg_ctx_last_error(ctx)[0]) {
        fprintf(stderr, "%s failed with %s and no message\n", what,
                dg_status_name(st));
        abort();
    }
}

int fz_split(const uint8_t *data, size_t n, const char *sep,
             const uint8_t **part, size_t *len, int max)
{
    size_t sl = strlen(sep);
    int k = 0;
    const uint8_t *p = data, *end = data + n;
    while (k < max - 1) {
        const uint8_t *q = sl && (size_t)(end - p) >= sl
                               ? memmem(p, (size_t)(end - p), sep, sl)
                               : NULL;
        if (!q)
            break;
        part[k] = p;
        len[k++] = (size_t)(q - p);
        p = q + sl;
    }
    part[k] = p;
    len[k++] = (size_t)(end - p);
    return k;
}

/*
 * The report's payload (dg_report_export_*), every array read, written out
 * the way `detgrid report` writes its page (dg_write_file) and read back.
 */
static void fz_report(dg_ctx *ctx, dg_project *p)
{
    uint64_t h = 1469598103934665603ULL;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ULL)
/* A double by its bits: a cast of a negative or huge one is undefined. */
#define MIXD(v)                                                               \
    do {                                                                      \
        double d_ = (v);                                                      \
        uint64_t u_;                                                          \
        memcpy(&u_, &d_, sizeof(u_));                                         \
        MIX(u_);                                                              \
    } while (0)
    dg_report_labels l = {0};
    dg_status st = dg_report_export_labels(ctx, p, &l);
    fz_check(ctx, st, "dg_report_export_labels");
    if (st >= 0) {
        for (uint32_t f = 0; f <= l.n_frames; f++)
            MIX(l.frame_off[f]);
        for (uint64_t i = 0; i < l.n; i++) {
            MIX(l.cls[i]);
            MIX(l.flags[i]);
            MIXD(l.x[i] + l.y[i] + l.w[i] + l.h[i]);
        }
        dg_report_labels_release(&l);
    }
    dg_project_info info;
    dg_project_get_info(p, &info);
    for (uint32_t i = 0; i < info.n_inferences; i++) {
        dg_report_set s = {0};
        st = dg_report_export_set(ctx, p, dg_project_inference_name(p, i), &s);
        fz_check(ctx, st, "dg_report_export_set");
        if (st < 0)
            continue;
        for (uint64_t j = 0; j < s.n_det; j++) {
            MIXD(s.score[j]);
            MIX(s.record[j]);
            MIXD(s.x[s.record[j]] + s.w[s.record[j]]);
            MIX(s.det_frame[j]);
        }
        for (size_t b = 0; b < 2 * (size_t)s.n_iou * s.plane_bytes; b++)
            MIX(s.status[b]);
        for (uint64_t j = 0; s.has_agnostic && j < s.n_det * s.code_size; j++)
            MIX(s.agn_row0[j]);
        for (uint64_t c = 0; s.has_agnostic && c < s.n_changes; c++)
            MIX(s.agn_chg_pos[c]);
        dg_report_set_release(&s);
    }
#undef MIXD
#undef MIX
    char page[64];
    snprintf(page, sizeof(page), "<html>%016llx</html>\n",
             (unsigned long long)h);
    const char *out = fz_path("report.html");
    st = dg_write_file(ctx, out, page, strlen(page));
    fz_check(ctx, st, "dg_write_file");
    char back[64] = "";
    FILE *f = st >= 0 ? fopen(out, "rb") : NULL;
    if (f) {
        size_t n = fread(back, 1, sizeof(back) - 1, f);
        back[n] = 0;
        fclose(f);
    }
    if (st >= 0 && strcmp(back, page)) {
        fprintf(stderr, "dg_write_file: read back '%s', wrote '%s'\n", back,
                page);
        abort();
    }
}

void fz_queries(dg_ctx *ctx, dg_project *p)
{
    dg_project_info info;
    fz_report(ctx, p);
    dg_project_get_info(p, &info);
    for (uint32_t i = 0; i < info.n_inferences; i++) {
        const char *name = dg_project_inference_name(p, i);
        dg_results *r = NULL;
        dg_status st = dg_results_load(ctx, p, name, &r);
        fz_check(ctx, st, "dg_results_load");
        if (st < 0)
            continue;
        uint32_t nc = dg_results_n_classes(r);
        int ni = dg_results_n_iou(r);
        dg_counts *c = calloc(nc ? nc : 1, sizeof(*c));
        uint64_t *cm = calloc((size_t)(nc + 1) * (nc + 1), sizeof(*cm));
        static const double confs[] = {0.0, 0.5, 1.0, -1.0, NAN};
        for (int t = 0; t < ni && t < 3; t++) {
            for (size_t k = 0; k < sizeof(confs) / sizeof(confs[0]); k++) {
                st = dg_results_counts(ctx, r, confs[k], t, c);
                fz_check(ctx, st, "dg_results_counts");
            }
            for (uint32_t k = 0; k < nc && k < 4; k++) {
                dg_sweep_point *sw = NULL;
                uint64_t n = 0;
                st = dg_results_sweep(ctx, r, k, t, &sw, &n);
                fz_check(ctx, st, "dg_results_sweep");
                free(sw);
            }
            if (dg_results_has_confusion(r)) {
                uint64_t ign = 0;
                st = dg_confusion_matrix(ctx, r, 0.0, t, cm, &ign);
                fz_check(ctx, st, "dg_confusion_matrix");
                for (int gc = -1; gc < (int)nc && gc < 2; gc++) {
                    for (int pc = -1; pc < (int)nc && pc < 2; pc++) {
                        if (gc < 0 && pc < 0)
                            continue;
                        dg_examples_query q = {0};
                        q.iou_idx = t;
                        q.gt_class = gc;
                        q.pred_class = pc;
                        q.sort = (dg_example_sort)((gc + pc + 2) % 3);
                        q.limit = 5;
                        dg_examples *e = NULL;
                        st = dg_examples_new(ctx, r, p, &q, &e);
                        fz_check(ctx, st, "dg_examples_new");
                        if (st >= 0) {
                            dg_example ex;
                            while (dg_examples_next(e, &ex))
                                ;
                            dg_examples_free(e);
                        }
                    }
                }
            }
        }
        free(cm);
        free(c);
        dg_results_free(r);
    }
}
