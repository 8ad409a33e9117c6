/*
 * The segment and metadata paths, and the save itself: the fuzz bytes are a
 * program of edits on a small evaluated project (segments added, renamed,
 * deleted, their frames, kinds, targets and metadata changed; frame
 * metadata columns, inference sets and embedding models added), every
 * name and value taken raw from the input (any bytes: invalid UTF-8,
 * control characters, "all", "/", empty), interleaved with saves, some of
 * them failing on purpose (DETGRID_FAULT: a full disk or an I/O error
 * after a fuzzed number of bytes).
 *
 * Checked besides the sanitizers and fz_check:
 *  - what the library accepts as a name is a name (dg__name_problem);
 *  - a failed save leaves the file byte for byte as it was and no
 *    temporary file, and the project saves fine afterwards;
 *  - a saved project reopens with the same segments (names, kinds,
 *    frames, metadata) and frame metadata columns, and every query and
 *    the report's payload run on it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "store.h"

typedef fz_bytes reader;

static unsigned byte(reader *r)
{
    return fz_u8(r);
}

/* A string of up to 24 raw bytes (a NUL ends it early, as in C). */
static void str(reader *r, char *buf)
{
    unsigned len = byte(r) % 25;
    for (unsigned i = 0; i < len; i++)
        buf[i] = (char)byte(r);
    buf[len] = 0;
}

static void must_be_name(const char *s, int allow_empty, const char *what)
{
    if (dg__name_problem(s, allow_empty)) {
        fprintf(stderr, "%s accepted '%s' (%s)\n", what, s,
                dg__name_problem(s, allow_empty));
        abort();
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    *n = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len >= 0 && (b = malloc((size_t)len + 1)) &&
        fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = b ? (size_t)len : 0;
    return b;
}

static int temporaries_left(void)
{
    DIR *d = opendir(fz_dir());
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".detgrid-") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Segments and frame metadata of a and b are the same. */
static void same(dg_ctx *ctx, dg_project *a, dg_project *b)
{
    uint32_t n = dg_project_n_segments(a);
    if (n != dg_project_n_segments(b)) {
        fprintf(stderr, "segments: %u saved, %u read back\n", n,
                dg_project_n_segments(b));
        abort();
    }
    for (uint32_t i = 1; i < n; i++) {
        const uint32_t *fa, *fb;
        uint32_t na, nb;
        const char *name = dg_project_segment_name(a, i);
        if (strcmp(name, dg_project_segment_name(b, i)) ||
            dg_project_segment_kind(a, i) != dg_project_segment_kind(b, i) ||
            dg_project_segment_n_meta(a, i) != dg_project_segment_n_meta(b, i) ||
            dg_project_segment_frames(ctx, a, i, &fa, &na) < 0 ||
            dg_project_segment_frames(ctx, b, i, &fb, &nb) < 0 || na != nb ||
            (na && memcmp(fa, fb, na * sizeof(*fa)))) {
            fprintf(stderr, "segment %u ('%s') differs when read back\n", i,
                    name);
            abort();
        }
        for (uint32_t m = 0; m < dg_project_segment_n_meta(a, i); m++)
            if (strcmp(dg_project_segment_meta_key(a, i, m),
                       dg_project_segment_meta_key(b, i, m)) ||
                strcmp(dg_project_segment_meta_value(a, i, m),
                       dg_project_segment_meta_value(b, i, m))) {
                fprintf(stderr, "segment '%s': metadata %u differs\n", name, m);
                abort();
            }
    }
    if (dg__project_n_meta(a) != dg__project_n_meta(b)) {
        fprintf(stderr, "frame metadata columns differ\n");
        abort();
    }
}

static const char *base_path(void)
{
    static const char *path;
    if (!path) {
        dg_ctx *ctx = fz_ctx();
        dg_synth_opts o;
        dg_synth_opts_init(&o);
        o.n_frames = 12;
        o.n_classes = 3;
        dg_project *p = NULL;
        double iou[2] = {0.5, 0.75};
        path = strdup(fz_path("base.h5"));
        if (dg_synth_project(ctx, &o, &p) < 0 ||
            dg_eval(ctx, p, "model-a", iou, 2) < 0 ||
            dg_project_save(ctx, p, path) < 0)
            abort();
        dg_project_free(p);
        dg_ctx_free(ctx);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *base = base_path();
    size_t bn;
    char *bb = slurp(base, &bn);
    const char *path = fz_write("p.h5", bb, bn);
    free(bb);
    dg_ctx *ctx = fz_ctx();
    dg_project *p = NULL;
    dg_status st = dg_project_open(ctx, path, &p);
    fz_check(ctx, st, "dg_project_open");
    if (st < 0)
        abort();
    reader r = {data, size};
    char a[32], b[32];
    uint32_t frames[16];
    for (int step = 0; step < 24 && r.n; step++) {
        unsigned op = byte(&r) % 10;
        uint32_t nseg = dg_project_n_segments(p);
        uint32_t seg = nseg ? byte(&r) % (nseg + 1) : 0;
        switch (op) {
        case 0: { /* add a segment */
            str(&r, a);
            unsigned nf = byte(&r) % 16;
            for (unsigned k = 0; k < nf; k++)
                frames[k] = byte(&r) % 14; /* 12 and 13: no such frame */
            st = dg_project_add_segment(ctx, p, a,
                                        (dg_segment_kind)(byte(&r) % 4),
                                        frames, nf);
            fz_check(ctx, st, "dg_project_add_segment");
            if (st >= 0)
                must_be_name(a, 0, "dg_project_add_segment");
            break;
        }
        case 1:
            str(&r, a);
            st = dg_project_rename_segment(ctx, p, seg, a);
            fz_check(ctx, st, "dg_project_rename_segment");
            if (st >= 0)
                must_be_name(a, 0, "dg_project_rename_segment");
            break;
        case 2:
            st = dg_project_delete_segment(ctx, p, seg);
            fz_check(ctx, st, "dg_project_delete_segment");
            break;
        case 3:
            str(&r, a);
            str(&r, b);
            {
                int set = byte(&r) & 1; /* else the key is unset */
                st = dg_project_set_segment_meta(ctx, p, seg, a,
                                                 set ? b : NULL);
                fz_check(ctx, st, "dg_project_set_segment_meta");
                if (st >= 0 && set) {
                    must_be_name(a, 0, "dg_project_set_segment_meta key");
                    must_be_name(b, 1, "dg_project_set_segment_meta value");
                }
            }
            break;
        case 4: {
            unsigned nf = byte(&r) % 16;
            for (unsigned k = 0; k < nf; k++)
                frames[k] = byte(&r) % 14;
            st = dg_project_segment_edit_frames(ctx, p, seg, frames, nf,
                                                byte(&r) & 1);
            fz_check(ctx, st, "dg_project_segment_edit_frames");
            break;
        }
        case 5: {
            static const double v[] = {0, 0.5, 1, -0.1, 1.5, NAN, 0.75};
            dg_segment_targets t;
            dg_project_segment_targets(p, seg, &t);
            t.precision = v[byte(&r) % 7];
            t.iou = v[byte(&r) % 7];
            t.conf = v[byte(&r) % 7];
            st = dg_project_set_segment_targets(ctx, p, seg, &t);
            fz_check(ctx, st, "dg_project_set_segment_targets");
            break;
        }
        case 6: { /* a frame metadata column of strings */
            str(&r, a);
            uint32_t nf = dg__project_n_frames(p);
            char **col = calloc(nf, sizeof(char *));
            for (uint32_t f = 0; col && f < nf; f++) {
                str(&r, b);
                col[f] = strdup(b);
            }
            if (!col)
                abort();
            st = dg__project_set_meta(ctx, p, a, 0, NULL, col);
            fz_check(ctx, st, "dg__project_set_meta");
            if (st >= 0) {
                must_be_name(a, 0, "dg__project_set_meta");
                const dg_meta_col *m =
                    dg__project_meta(p, dg__project_n_meta(p) - 1);
                for (uint32_t f = 0; m && f < nf; f++)
                    must_be_name(m->str[f], 1, "dg__project_set_meta value");
            }
            break;
        }
        case 7: { /* an inference set or an embedding model */
            str(&r, a);
            uint32_t idx;
            if (byte(&r) & 1) {
                st = dg__project_add_inferences(ctx, p, a, &idx);
                fz_check(ctx, st, "dg__project_add_inferences");
                if (st >= 0)
                    must_be_name(a, 0, "dg__project_add_inferences");
            } else {
                uint32_t nf = dg__project_n_frames(p);
                float *m = calloc((size_t)nf * 2, sizeof(float));
                if (!m)
                    abort();
                st = dg_project_take_embeddings(ctx, p, a, DG_EMBED_FRAMES,
                                                NULL, m, nf, 2);
                fz_check(ctx, st, "dg_project_take_embeddings");
                if (st >= 0)
                    must_be_name(a, 0, "dg_project_take_embeddings");
            }
            break;
        }
        case 8: { /* a save that fails: nothing changes, nothing is left */
            static const char *const kinds[] = {"enospc", "eio"};
            char fault[32];
            size_t n0, n1;
            snprintf(fault, sizeof(fault), "%s%u", kinds[byte(&r) & 1],
                     byte(&r) * 256);
            char *before = slurp(path, &n0);
            setenv("DETGRID_FAULT", fault, 1);
            st = dg_project_save(ctx, p, path);
            unsetenv("DETGRID_FAULT");
            fz_check(ctx, st, "dg_project_save (failing)");
            char *after = slurp(path, &n1);
            if (st < 0 && (!before || !after || n0 != n1 ||
                           memcmp(before, after, n0))) {
                fprintf(stderr, "a failed save (%s) changed the file\n",
                        fault);
                abort();
            }
            free(before);
            free(after);
            if (temporaries_left()) {
                fprintf(stderr, "a save (%s) left a temporary file\n", fault);
                abort();
            }
            break;
        }
        default: /* a save, and the file read back */
            st = dg_project_save(ctx, p, path);
            fz_check(ctx, st, "dg_project_save");
            if (st >= 0) {
                dg_project *q = NULL;
                st = dg_project_open(ctx, path, &q);
                fz_check(ctx, st, "dg_project_open (saved)");
                if (st < 0) {
                    fprintf(stderr, "a saved project does not open: %s\n",
                            dg_ctx_last_error(ctx));
                    abort();
                }
                same(ctx, p, q);
                dg_project_free(q);
            }
            break;
        }
    }
    st = dg_project_save(ctx, p, path);
    fz_check(ctx, st, "dg_project_save (last)");
    if (st >= 0) {
        dg_project *q = NULL;
        if (dg_project_open(ctx, path, &q) < 0)
            abort();
        same(ctx, p, q);
        fz_queries(ctx, q);
        dg_project_free(q);
    }
    dg_project_free(p);
    dg_ctx_free(ctx);
    return 0;
}
