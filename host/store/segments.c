/*
 * Segments: named sets of frames kept in /segments of the project file
 * (docs/FORMAT.md), and the labels' class and counted columns that
 * restrictions read without loading a box. The queries over segments
 * (restriction, per-segment counts, AP) are in host/query/segments.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

typedef struct dg_segment {
    char *name;
    dg_segment_kind kind;
    dg_segment_targets t;
    uint32_t *frames; /* ascending unique; NULL until loaded */
    uint32_t n;
    uint32_t n_meta;
    char **key, **val;
} dg_segment;

struct dg_segments {
    uint32_t n; /* including "all" at index 0 */
    dg_segment *s;
    /*
     * Frames of segments read from the file load on first use, all at
     * once: frames_loaded is 0 until then. dirty: something changed since
     * open, so save writes the group instead of copying it.
     */
    int frames_loaded;
    int dirty;
    uint32_t all_n; /* n_frames when "all"'s list was built */
    /*
     * The labels' class and counted flag (neither crowd nor ignored) read
     * from the file's columns, kept for later restrictions; NULL until the
     * first one, and unused while the labels are loaded in memory.
     */
    uint32_t *label_cls;
    uint8_t *label_counted;
    uint8_t *loaded_counted; /* for loaded labels, recomputed per call */
};

#define TARGET_COLS 6
static const char *const target_col[TARGET_COLS] = {
    "min_precision", "min_recall", "min_f1", "min_ap", "conf", "iou"};

static double *target_ptr(dg_segment_targets *t, int k)
{
    switch (k) {
    case 0: return &t->precision;
    case 1: return &t->recall;
    case 2: return &t->f1;
    case 3: return &t->ap;
    case 4: return &t->conf;
    default: return &t->iou;
    }
}

static void targets_unset(dg_segment_targets *t)
{
    t->precision = t->recall = t->f1 = t->ap = t->conf = t->iou = NAN;
}

static const char *ptag(const dg_project *p)
{
    return p->path ? p->path : "(new project)";
}

static void segment_release(dg_segment *s)
{
    free(s->name);
    free(s->frames);
    for (uint32_t j = 0; j < s->n_meta; j++) {
        free(s->key[j]);
        free(s->val[j]);
    }
    free(s->key);
    free(s->val);
}

void dg__segments_free(dg_project *p)
{
    struct dg_segments *g = p->segs;
    if (!g)
        return;
    for (uint32_t i = 0; i < g->n; i++)
        segment_release(&g->s[i]);
    free(g->s);
    free(g->label_cls);
    free(g->loaded_counted);
    free(g->label_counted);
    free(g);
    p->segs = NULL;
}

/* p->segs with "all" in place; NULL with a message when memory runs out. */
static struct dg_segments *segs_get(dg_ctx *ctx, dg_project *p)
{
    if (p->segs)
        return p->segs;
    struct dg_segments *g = dg__calloc(ctx, 1, sizeof(*g));
    if (!g)
        return NULL;
    g->s = dg__calloc(ctx, 1, sizeof(*g->s));
    if (!g->s) {
        free(g);
        return NULL;
    }
    g->s[0].name = dg__strdup(ctx, DG_SEGMENT_ALL);
    if (!g->s[0].name) {
        free(g->s);
        free(g);
        return NULL;
    }
    g->s[0].kind = DG_SEGMENT_SPLIT;
    targets_unset(&g->s[0].t);
    g->n = 1;
    g->frames_loaded = 1;
    p->segs = g;
    return g;
}

const char *dg_segment_kind_name(dg_segment_kind kind)
{
    switch (kind) {
    case DG_SEGMENT_SPLIT: return "split";
    case DG_SEGMENT_REGRESSION: return "regression";
    case DG_SEGMENT_SCENARIO: return "scenario";
    }
    return "?";
}

int dg_segment_kind_parse(const char *s)
{
    if (!strcmp(s, "split"))
        return DG_SEGMENT_SPLIT;
    if (!strcmp(s, "regression") || !strcmp(s, "regression-test"))
        return DG_SEGMENT_REGRESSION;
    if (!strcmp(s, "scenario"))
        return DG_SEGMENT_SCENARIO;
    return -1;
}

/* ---- reading ------------------------------------------------------------ */

/* Frame lists of every segment read from the file, at once. */
static dg_status load_frames(dg_ctx *ctx, dg_project *p)
{
    struct dg_segments *g = p->segs;
    if (!g || g->frames_loaded)
        return DG_OK;
    hid_t file = (hid_t)p->file;
    uint32_t ns = g->n - 1;
    uint64_t *off = dg__alloc(ctx, (size_t)ns + 1, 8);
    uint32_t *all = NULL;
    uint64_t total = 0;
    dg_status st;
    if (!off)
        return DG_ENOMEM;
    if ((st = dg__h5_read_1d(ctx, file, "/segments/frame_offsets",
                             H5T_NATIVE_UINT64, H5T_INTEGER, off,
                             (uint64_t)ns + 1, 0, (uint64_t)ns + 1)) < 0 ||
        (st = dg__h5_len(ctx, file, "/segments/frames", &total)) < 0)
        goto out;
    if (off[0] != 0 || off[ns] != total) {
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': /segments/frame_offsets does not span "
                      "/segments/frames (%llu entries)",
                      ptag(p), (unsigned long long)total);
        goto out;
    }
    all = dg__alloc(ctx, total ? total : 1, 4);
    if (!all) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__h5_read_1d(ctx, file, "/segments/frames", H5T_NATIVE_UINT32,
                             H5T_INTEGER, all, total, 0, total)) < 0)
        goto out;
    for (uint32_t i = 0; i < ns; i++) {
        if (off[i + 1] < off[i]) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /segments/frame_offsets record %u: offsets "
                          "decrease",
                          ptag(p), i + 1);
            goto out;
        }
        for (uint64_t k = off[i]; k < off[i + 1]; k++) {
            if (all[k] >= p->n_frames ||
                (k > off[i] && all[k] <= all[k - 1])) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': /segments/frames record %llu (segment "
                              "'%s'): %u is %s",
                              ptag(p), (unsigned long long)k,
                              g->s[i + 1].name, all[k],
                              all[k] >= p->n_frames
                                  ? "not a frame index"
                                  : "not above the previous one (frames "
                                    "must ascend)");
                goto out;
            }
        }
    }
    for (uint32_t i = 0; i < ns; i++) {
        dg_segment *s = &g->s[i + 1];
        uint64_t n = off[i + 1] - off[i];
        s->frames = dg__alloc(ctx, n ? n : 1, 4);
        if (!s->frames) {
            for (uint32_t j = 0; j < i; j++) {
                free(g->s[j + 1].frames);
                g->s[j + 1].frames = NULL;
            }
            st = DG_ENOMEM;
            goto out;
        }
        memcpy(s->frames, all + off[i], n * 4);
        s->n = (uint32_t)n;
    }
    g->frames_loaded = 1;
out:
    free(all);
    free(off);
    return st;
}

dg_status dg__segments_open(dg_ctx *ctx, dg_project *p)
{
    hid_t file = (hid_t)p->file;
    if (file < 0 || !dg__h5_exists(file, "/segments"))
        return DG_OK;
    dg_status st;
    uint64_t n = 0, nm = 0;
    char **names = NULL, **mk = NULL, **mv = NULL;
    uint8_t *kind = NULL, *bad = NULL, *bad_k = NULL, *bad_v = NULL;
    uint32_t *ms = NULL;
    double *tc[TARGET_COLS] = {0};
    struct dg_segments *g = segs_get(ctx, p);
    if (!g)
        return DG_ENOMEM;
    if ((st = dg__h5_len(ctx, file, "/segments/name", &n)) < 0)
        return st;
    if (n >= UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT, "'%s': too many segments", ptag(p));
    kind = dg__alloc(ctx, n ? n : 1, 1);
    dg_segment *ns = realloc(g->s, ((size_t)n + 1) * sizeof(*ns));
    if (!kind || !ns) {
        free(kind);
        if (ns)
            g->s = ns;
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    g->s = ns;
    memset(g->s + 1, 0, (size_t)n * sizeof(*ns));
    if (!(bad = dg__alloc(ctx, n ? n : 1, 1))) {
        st = DG_ENOMEM;
        goto out;
    }
    if ((st = dg__h5_read_strings_repair(ctx, file, "/segments/name", n,
                                         &names, bad)) < 0 ||
        (st = dg__h5_read_1d(ctx, file, "/segments/kind", H5T_NATIVE_UINT8,
                             H5T_INTEGER, kind, n, 0, n)) < 0)
        goto out;
    for (int k = 0; k < TARGET_COLS; k++) {
        char path[64];
        snprintf(path, sizeof(path), "/segments/%s", target_col[k]);
        if (!dg__h5_exists(file, path))
            continue;
        if (!(tc[k] = dg__alloc(ctx, n ? n : 1, 8))) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg__h5_read_1d(ctx, file, path, H5T_NATIVE_DOUBLE,
                                 H5T_FLOAT, tc[k], n, 0, n)) < 0)
            goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        dg_segment *s = &g->s[i + 1];
        s->name = names[i];
        names[i] = NULL;
        g->n = (uint32_t)i + 2;
        targets_unset(&s->t);
        if (bad[i])
            g->dirty = 1; /* the next save writes the escaped name */
        if (bad[i])
            dg__warn(ctx, "'%s': /segments/name record %llu is not valid "
                     "UTF-8; shown as '%s' (rename or delete it: 'detgrid "
                     "segment rename|delete')", ptag(p), (unsigned long long)i,
                     s->name);
        if (!s->name[0] || !strcmp(s->name, DG_SEGMENT_ALL)) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /segments/name record %llu: '%s' is not a "
                          "valid segment name",
                          ptag(p), (unsigned long long)i, s->name);
            goto out;
        }
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(g->s[j + 1].name, s->name)) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': /segments/name record %llu: duplicate "
                              "segment name '%s'",
                              ptag(p), (unsigned long long)i, s->name);
                goto out;
            }
        if (kind[i] > DG_SEGMENT_SCENARIO) {
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': /segments/kind record %llu: %u is not a "
                          "segment kind (0 split, 1 regression, 2 scenario)",
                          ptag(p), (unsigned long long)i, kind[i]);
            goto out;
        }
        s->kind = (dg_segment_kind)kind[i];
        for (int k = 0; k < TARGET_COLS; k++) {
            if (!tc[k])
                continue;
            double v = tc[k][i];
            int ok = isnan(v) || (k == 5 ? v > 0 && v <= 1 : v >= 0 && v <= 1);
            if (!ok) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': /segments/%s record %llu: %g is out of "
                              "range",
                              ptag(p), target_col[k], (unsigned long long)i,
                              v);
                goto out;
            }
            *target_ptr(&s->t, k) = v;
        }
    }
    if (dg__h5_exists(file, "/segments/meta_segment")) {
        if ((st = dg__h5_len(ctx, file, "/segments/meta_segment", &nm)) < 0)
            goto out;
        ms = dg__alloc(ctx, nm ? nm : 1, 4);
        if (!ms) {
            st = DG_ENOMEM;
            goto out;
        }
        bad_k = dg__alloc(ctx, nm ? nm : 1, 1);
        bad_v = dg__alloc(ctx, nm ? nm : 1, 1);
        if (!bad_k || !bad_v) {
            st = DG_ENOMEM;
            goto out;
        }
        if ((st = dg__h5_read_1d(ctx, file, "/segments/meta_segment",
                                 H5T_NATIVE_UINT32, H5T_INTEGER, ms, nm, 0,
                                 nm)) < 0 ||
            (st = dg__h5_read_strings_repair(ctx, file, "/segments/meta_key",
                                             nm, &mk, bad_k)) < 0 ||
            (st = dg__h5_read_strings_repair(ctx, file,
                                             "/segments/meta_value", nm, &mv,
                                             bad_v)) < 0)
            goto out;
        for (uint64_t j = 0; j < nm; j++) {
            if (ms[j] >= n) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': /segments/meta_segment record %llu: %u "
                              "is not a segment (%llu segments)",
                              ptag(p), (unsigned long long)j, ms[j],
                              (unsigned long long)n);
                goto out;
            }
            dg_segment *s = &g->s[ms[j] + 1];
            if (bad_k[j] || bad_v[j])
                g->dirty = 1;
            if (bad_k[j] || bad_v[j])
                dg__warn(ctx, "'%s': segment '%s': metadata record %llu is not "
                         "valid UTF-8; shown as '%s' = '%s' (set or unset it: "
                         "'detgrid segment set --meta|--unset-meta')",
                         ptag(p), s->name, (unsigned long long)j, mk[j], mv[j]);
            char **k2 = realloc(s->key, (s->n_meta + 1) * sizeof(char *));
            if (k2)
                s->key = k2;
            char **v2 = realloc(s->val, (s->n_meta + 1) * sizeof(char *));
            if (v2)
                s->val = v2;
            if (!k2 || !v2) {
                st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                goto out;
            }
            s->key[s->n_meta] = mk[j];
            s->val[s->n_meta] = mv[j];
            mk[j] = mv[j] = NULL;
            s->n_meta++;
        }
    }
    g->frames_loaded = n == 0;
out:
    if (names)
        dg__strings_free(names, n);
    if (mk)
        dg__strings_free(mk, nm);
    if (mv)
        dg__strings_free(mv, nm);
    free(ms);
    free(kind);
    free(bad);
    free(bad_k);
    free(bad_v);
    for (int k = 0; k < TARGET_COLS; k++)
        free(tc[k]);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

dg_status dg__segments_save(dg_ctx *ctx, dg_project *p, int64_t src,
                            int64_t f)
{
    struct dg_segments *g = p->segs;
    dg_status st = DG_OK;
    if (!g || g->n <= 1)
        return DG_OK;
    if (!g->dirty && src >= 0 && dg__h5_exists((hid_t)src, "/segments")) {
        if (H5Ocopy((hid_t)src, "/segments", (hid_t)f, "/segments",
                    H5P_DEFAULT, H5P_DEFAULT) < 0)
            return dg__fail(ctx, DG_EIO, "cannot copy '/segments' from '%s'",
                            dg__h5_fname((hid_t)src));
        return DG_OK;
    }
    if ((st = load_frames(ctx, p)) < 0)
        return st;
    uint32_t ns = g->n - 1;
    uint64_t total = 0, nm = 0;
    for (uint32_t i = 1; i < g->n; i++) {
        total += g->s[i].n;
        nm += g->s[i].n_meta;
    }
    char **names = dg__alloc(ctx, ns, sizeof(char *));
    uint8_t *kind = dg__alloc(ctx, ns, 1);
    double *col = dg__alloc(ctx, ns, 8);
    uint64_t *off = dg__alloc(ctx, (size_t)ns + 1, 8);
    uint32_t *frames = dg__alloc(ctx, total ? total : 1, 4);
    uint32_t *ms = dg__alloc(ctx, nm ? nm : 1, 4);
    char **mk = dg__alloc(ctx, nm ? nm : 1, sizeof(char *));
    char **mv = dg__alloc(ctx, nm ? nm : 1, sizeof(char *));
    hid_t grp = H5I_INVALID_HID;
    if (!names || !kind || !col || !off || !frames || !ms || !mk || !mv) {
        st = DG_ENOMEM;
        goto out;
    }
    off[0] = 0;
    uint64_t m = 0;
    for (uint32_t i = 0; i < ns; i++) {
        dg_segment *s = &g->s[i + 1];
        names[i] = s->name;
        kind[i] = (uint8_t)s->kind;
        memcpy(frames + off[i], s->frames, (size_t)s->n * 4);
        off[i + 1] = off[i] + s->n;
        for (uint32_t j = 0; j < s->n_meta; j++, m++) {
            ms[m] = i;
            mk[m] = s->key[j];
            mv[m] = s->val[j];
        }
    }
    grp = H5Gcreate2((hid_t)f, "segments", H5P_DEFAULT, H5P_DEFAULT,
                     H5P_DEFAULT);
    if (grp < 0) {
        st = dg__fail(ctx, DG_EIO, "cannot create group 'segments'");
        goto out;
    }
    int32_t ver = 1;
    if ((st = dg__h5_attr_write(ctx, grp, "version", H5T_NATIVE_INT32,
                                H5T_STD_I32LE, &ver, 0)) < 0 ||
        (st = dg__h5_write_strings(ctx, grp, "name", names, ns)) < 0 ||
        (st = dg__h5_write_1d(ctx, grp, "kind", H5T_NATIVE_UINT8,
                              H5T_STD_U8LE, kind, ns, 0)) < 0 ||
        (st = dg__h5_write_1d(ctx, grp, "frame_offsets", H5T_NATIVE_UINT64,
                              H5T_STD_U64LE, off, (uint64_t)ns + 1, 0)) < 0 ||
        (st = dg__h5_write_1d(ctx, grp, "frames", H5T_NATIVE_UINT32,
                              H5T_STD_U32LE, frames, total, 1)) < 0)
        goto out;
    for (int k = 0; k < TARGET_COLS; k++) {
        for (uint32_t i = 0; i < ns; i++)
            col[i] = *target_ptr(&g->s[i + 1].t, k);
        if ((st = dg__h5_write_1d(ctx, grp, target_col[k], H5T_NATIVE_DOUBLE,
                                  H5T_IEEE_F64LE, col, ns, 0)) < 0)
            goto out;
    }
    if (nm &&
        ((st = dg__h5_write_1d(ctx, grp, "meta_segment", H5T_NATIVE_UINT32,
                               H5T_STD_U32LE, ms, nm, 0)) < 0 ||
         (st = dg__h5_write_strings(ctx, grp, "meta_key", mk, nm)) < 0 ||
         (st = dg__h5_write_strings(ctx, grp, "meta_value", mv, nm)) < 0))
        goto out;
out:
    if (grp >= 0)
        H5Gclose(grp);
    free(names);
    free(kind);
    free(col);
    free(off);
    free(frames);
    free(ms);
    free(mk);
    free(mv);
    return st;
}

/* ---- queries and edits -------------------------------------------------- */

uint32_t dg_project_n_segments(const dg_project *p)
{
    return p->segs ? p->segs->n : 1;
}

const char *dg_project_segment_name(const dg_project *p, uint32_t i)
{
    if (i == 0)
        return DG_SEGMENT_ALL;
    return p->segs && i < p->segs->n ? p->segs->s[i].name : NULL;
}

int64_t dg_project_segment_index(const dg_project *p, const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, DG_SEGMENT_ALL))
        return 0;
    for (uint32_t i = 1; p->segs && i < p->segs->n; i++)
        if (!strcmp(p->segs->s[i].name, name))
            return i;
    return -1;
}

dg_segment_kind dg_project_segment_kind(const dg_project *p, uint32_t i)
{
    return p->segs && i > 0 && i < p->segs->n ? p->segs->s[i].kind
                                              : DG_SEGMENT_SPLIT;
}

dg_status dg_project_segment_frames(dg_ctx *ctx, dg_project *p, uint32_t i,
                                    const uint32_t **frames, uint32_t *n)
{
    if (i >= dg_project_n_segments(p))
        return dg__fail(ctx, DG_ENOTFOUND, "%s: no segment %u", ptag(p), i);
    struct dg_segments *g = segs_get(ctx, p);
    if (!g)
        return DG_ENOMEM;
    dg_status st;
    if (i == 0) {
        dg_segment *s = &g->s[0];
        if (!s->frames || g->all_n != p->n_frames) {
            uint32_t *a = dg__alloc(ctx, p->n_frames ? p->n_frames : 1, 4);
            if (!a)
                return DG_ENOMEM;
            for (uint32_t f = 0; f < p->n_frames; f++)
                a[f] = f;
            free(s->frames);
            s->frames = a;
            s->n = g->all_n = p->n_frames;
        }
    } else if ((st = load_frames(ctx, p)) < 0) {
        return st;
    }
    *frames = g->s[i].frames;
    *n = g->s[i].n;
    return DG_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A sorted unique copy of frames (checked < n_frames) in *out, *n_out. */
static dg_status sorted_unique(dg_ctx *ctx, const dg_project *p,
                               const uint32_t *frames, uint32_t n,
                               uint32_t **out, uint32_t *n_out)
{
    uint32_t *a = dg__alloc(ctx, n ? n : 1, 4);
    if (!a)
        return DG_ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        if (frames[k] >= p->n_frames) {
            free(a);
            return dg__fail(ctx, DG_EINVAL,
                            "%s: frame index %u out of range (%u frames)",
                            ptag(p), frames[k], p->n_frames);
        }
        a[k] = frames[k];
    }
    if (n)
        qsort(a, n, 4, cmp_u32);
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++)
        if (!m || a[k] != a[m - 1])
            a[m++] = a[k];
    *out = a;
    *n_out = m;
    return DG_OK;
}

/* NULL when s can name a segment, else why not. */
static const char *name_problem(const char *s)
{
    const char *why = dg__name_problem(s, 0);
    if (!why && !strcmp(s, DG_SEGMENT_ALL))
        why = "the name of the implicit segment of every frame";
    return why;
}

static dg_status bad_text(dg_ctx *ctx, const char *what, const char *s,
                          const char *why)
{
    char shown[600];
    int seg = !strcmp(what, "segment name");
    return dg__fail(ctx, DG_EINVAL, "invalid %s '%s': %s (names are "
                    "non-empty UTF-8 without control characters%s)", what,
                    dg__name_show(s, shown, sizeof(shown)), why,
                    seg ? ", and not '" DG_SEGMENT_ALL "'" : "");
}

/* Segment i for a change: loaded, not "all"; NULL with a message. */
static dg_segment *editable(dg_ctx *ctx, dg_project *p, uint32_t i)
{
    if (i == 0) {
        dg__fail(ctx, DG_EINVAL, "segment '" DG_SEGMENT_ALL "' cannot be "
                                 "changed");
        return NULL;
    }
    if (i >= dg_project_n_segments(p)) {
        dg__fail(ctx, DG_ENOTFOUND, "%s: no segment %u", ptag(p), i);
        return NULL;
    }
    if (load_frames(ctx, p) < 0)
        return NULL;
    p->segs->dirty = 1;
    return &p->segs->s[i];
}

dg_status dg_project_add_segment(dg_ctx *ctx, dg_project *p, const char *name,
                                 dg_segment_kind kind, const uint32_t *frames,
                                 uint32_t n)
{
    dg_status st;
    const char *why = name_problem(name);
    if (why)
        return bad_text(ctx, "segment name", name, why);
    if ((int)kind < DG_SEGMENT_SPLIT || kind > DG_SEGMENT_SCENARIO)
        return dg__fail(ctx, DG_EINVAL, "unknown segment kind %d", (int)kind);
    if (dg_project_segment_index(p, name) >= 0)
        return dg__fail(ctx, DG_EEXIST, "%s: segment '%s' exists", ptag(p),
                        name);
    struct dg_segments *g = segs_get(ctx, p);
    if (!g)
        return DG_ENOMEM;
    if ((st = load_frames(ctx, p)) < 0)
        return st;
    uint32_t *a;
    uint32_t m;
    if ((st = sorted_unique(ctx, p, frames, n, &a, &m)) < 0)
        return st;
    dg_segment *ns = realloc(g->s, ((size_t)g->n + 1) * sizeof(*ns));
    char *nm = dg__strdup(ctx, name);
    if (ns)
        g->s = ns;
    if (!ns || !nm) {
        free(a);
        free(nm);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    dg_segment *s = &g->s[g->n++];
    memset(s, 0, sizeof(*s));
    s->name = nm;
    s->kind = kind;
    targets_unset(&s->t);
    s->frames = a;
    s->n = m;
    g->dirty = 1;
    return DG_OK;
}

void dg_project_segment_targets(const dg_project *p, uint32_t i,
                                dg_segment_targets *out)
{
    if (p->segs && i > 0 && i < p->segs->n)
        *out = p->segs->s[i].t;
    else
        targets_unset(out);
}

dg_status dg_project_set_segment_targets(dg_ctx *ctx, dg_project *p,
                                         uint32_t i,
                                         const dg_segment_targets *t)
{
    dg_segment_targets c = *t;
    for (int k = 0; k < TARGET_COLS; k++) {
        double v = *target_ptr(&c, k);
        int ok = isnan(v) || (k == 5 ? v > 0 && v <= 1 : v >= 0 && v <= 1);
        if (!ok)
            return dg__fail(ctx, DG_EINVAL, "%s %g is outside %s",
                            target_col[k], v, k == 5 ? "(0, 1]" : "[0, 1]");
    }
    dg_segment *s = editable(ctx, p, i);
    if (!s)
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    s->t = c;
    return DG_OK;
}

dg_status dg_project_segment_edit_frames(dg_ctx *ctx, dg_project *p,
                                         uint32_t i, const uint32_t *frames,
                                         uint32_t n, int remove)
{
    dg_status st;
    uint32_t *a, m;
    if ((st = sorted_unique(ctx, p, frames, n, &a, &m)) < 0)
        return st;
    dg_segment *s = editable(ctx, p, i);
    if (!s) {
        free(a);
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    }
    /* Merge (or subtract) the two ascending lists. */
    uint32_t *o = dg__alloc(ctx, (size_t)s->n + m + 1, 4);
    if (!o) {
        free(a);
        return DG_ENOMEM;
    }
    uint32_t x = 0, y = 0, k = 0;
    while (x < s->n || y < m) {
        if (y == m || (x < s->n && s->frames[x] < a[y])) {
            o[k++] = s->frames[x++];
        } else if (x == s->n || a[y] < s->frames[x]) {
            if (!remove)
                o[k++] = a[y];
            y++;
        } else {
            if (!remove)
                o[k++] = s->frames[x];
            x++;
            y++;
        }
    }
    free(a);
    free(s->frames);
    s->frames = o;
    s->n = k;
    return DG_OK;
}

dg_status dg_project_rename_segment(dg_ctx *ctx, dg_project *p, uint32_t i,
                                    const char *new_name)
{
    const char *why = name_problem(new_name);
    if (why)
        return bad_text(ctx, "segment name", new_name, why);
    int64_t j = dg_project_segment_index(p, new_name);
    if (j >= 0 && j != i)
        return dg__fail(ctx, DG_EEXIST, "%s: segment '%s' exists", ptag(p),
                        new_name);
    dg_segment *s = editable(ctx, p, i);
    if (!s)
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    char *d = dg__strdup(ctx, new_name);
    if (!d)
        return DG_ENOMEM;
    free(s->name);
    s->name = d;
    return DG_OK;
}

dg_status dg_project_delete_segment(dg_ctx *ctx, dg_project *p, uint32_t i)
{
    dg_segment *s = editable(ctx, p, i);
    if (!s)
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    struct dg_segments *g = p->segs;
    segment_release(s);
    memmove(&g->s[i], &g->s[i + 1], (g->n - i - 1) * sizeof(*s));
    g->n--;
    return DG_OK;
}

dg_status dg_project_set_segment_kind(dg_ctx *ctx, dg_project *p, uint32_t i,
                                      dg_segment_kind kind)
{
    if ((int)kind < DG_SEGMENT_SPLIT || kind > DG_SEGMENT_SCENARIO)
        return dg__fail(ctx, DG_EINVAL, "unknown segment kind %d", (int)kind);
    dg_segment *s = editable(ctx, p, i);
    if (!s)
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    s->kind = kind;
    return DG_OK;
}

uint32_t dg_project_segment_n_meta(const dg_project *p, uint32_t i)
{
    return p->segs && i > 0 && i < p->segs->n ? p->segs->s[i].n_meta : 0;
}

const char *dg_project_segment_meta_key(const dg_project *p, uint32_t i,
                                        uint32_t j)
{
    return j < dg_project_segment_n_meta(p, i) ? p->segs->s[i].key[j] : NULL;
}

const char *dg_project_segment_meta_value(const dg_project *p, uint32_t i,
                                          uint32_t j)
{
    return j < dg_project_segment_n_meta(p, i) ? p->segs->s[i].val[j] : NULL;
}

dg_status dg_project_set_segment_meta(dg_ctx *ctx, dg_project *p, uint32_t i,
                                      const char *key, const char *value)
{
    const char *why = dg__name_problem(key, 0);
    if (why)
        return bad_text(ctx, "metadata key", key, why);
    if (value && (why = dg__name_problem(value, 1)) != NULL) {
        char shown[600];
        return dg__fail(ctx, DG_EINVAL, "metadata '%s': invalid value '%s': "
                        "%s (values are UTF-8 without control characters)",
                        key, dg__name_show(value, shown, sizeof(shown)), why);
    }
    dg_segment *s = editable(ctx, p, i);
    if (!s)
        return i == 0 ? DG_EINVAL : DG_ENOTFOUND;
    uint32_t j = 0;
    while (j < s->n_meta && strcmp(s->key[j], key))
        j++;
    if (!value) {
        if (j < s->n_meta) {
            free(s->key[j]);
            free(s->val[j]);
            memmove(&s->key[j], &s->key[j + 1],
                    (s->n_meta - j - 1) * sizeof(char *));
            memmove(&s->val[j], &s->val[j + 1],
                    (s->n_meta - j - 1) * sizeof(char *));
            s->n_meta--;
        }
        return DG_OK;
    }
    char *v = dg__strdup(ctx, value);
    if (!v)
        return DG_ENOMEM;
    if (j < s->n_meta) {
        free(s->val[j]);
        s->val[j] = v;
        return DG_OK;
    }
    char *k = dg__strdup(ctx, key);
    char **k2 = realloc(s->key, (s->n_meta + 1) * sizeof(char *));
    if (k2)
        s->key = k2;
    char **v2 = realloc(s->val, (s->n_meta + 1) * sizeof(char *));
    if (v2)
        s->val = v2;
    if (!k || !k2 || !v2) {
        free(k);
        free(v);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    s->key[s->n_meta] = k;
    s->val[s->n_meta] = v;
    s->n_meta++;
    return DG_OK;
}

/* ---- restriction -------------------------------------------------------- */

/*
 * Class and "counted" flag (neither crowd nor ignored) of every label, in
 * frame-sorted order, from the loaded labels or from the file's columns
 * (no box is read).
 */
static dg_status read_label_columns(dg_ctx *ctx, dg_project *p,
                                    uint32_t **cls, uint8_t **counted)
{
    uint64_t n = p->labels_loaded ? p->labels.n : p->n_labels;
    uint32_t *c = dg__alloc(ctx, n ? n : 1, 4);
    uint8_t *k = dg__alloc(ctx, n ? n : 1, 1);
    uint8_t *tmp = dg__alloc(ctx, n ? n : 1, 1);
    dg_status st = DG_OK;
    if (!c || !k || !tmp) {
        st = DG_ENOMEM;
        goto out;
    }
    if (p->labels_loaded) {
        memcpy(c, p->labels.cls, n * 4);
        for (uint64_t m = 0; m < n; m++)
            k[m] = !p->labels.iscrowd[m] && !p->labels.ignore[m];
    } else {
        hid_t file = (hid_t)p->file;
        if ((st = dg__h5_read_1d(ctx, file, "/labels/class",
                                 H5T_NATIVE_UINT32, H5T_INTEGER, c, n, 0,
                                 n)) < 0)
            goto out;
        memset(k, 1, n);
        static const char *const flag[2] = {"/labels/iscrowd",
                                            "/labels/ignore"};
        for (int f = 0; f < 2; f++) {
            if (!dg__h5_exists(file, flag[f]))
                continue;
            if ((st = dg__h5_read_1d(ctx, file, flag[f], H5T_NATIVE_UINT8,
                                     H5T_INTEGER, tmp, n, 0, n)) < 0)
                goto out;
            for (uint64_t m = 0; m < n; m++)
                if (tmp[m])
                    k[m] = 0;
        }
        for (uint64_t m = 0; m < n; m++)
            if (c[m] >= p->n_classes) {
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': /labels record %llu: field 'class': %u "
                              "is not a class index",
                              ptag(p), (unsigned long long)m, c[m]);
                goto out;
            }
    }
out:
    free(tmp);
    if (st < 0) {
        free(c);
        free(k);
        return st;
    }
    *cls = c;
    *counted = k;
    return DG_OK;
}

dg_status dg__project_label_columns(dg_ctx *ctx, dg_project *p,
                                    const uint32_t **cls,
                                    const uint8_t **counted)
{
    struct dg_segments *g = segs_get(ctx, p);
    if (!g)
        return DG_ENOMEM;
    if (p->labels_loaded) {
        /* The labels may have changed since the last call: recompute. */
        uint32_t *c = NULL;
        uint8_t *k = NULL;
        dg_status st = read_label_columns(ctx, p, &c, &k);
        if (st < 0)
            return st;
        free(c);
        free(g->loaded_counted);
        g->loaded_counted = k;
        *cls = p->labels.cls;
        *counted = k;
        return DG_OK;
    }
    if (!g->label_cls) {
        dg_status st = read_label_columns(ctx, p, &g->label_cls,
                                          &g->label_counted);
        if (st < 0)
            return st;
    }
    *cls = g->label_cls;
    *counted = g->label_counted;
    return DG_OK;
}

int64_t dg_project_frame_num(const dg_project *p, uint32_t i)
{
    return i < p->n_frames && p->frame_num ? p->frame_num[i] : -1;
}
