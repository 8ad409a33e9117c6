/*
 * detgrid report: the payload's blobs and its optional parts (segments
 * with their targets; embeddings when the project holds them; the slices
 * are in report_slices.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detgrid/embeddings.h"
#include "detgrid/segments.h"
#include "report_extra.h"

#ifdef DG_HAVE_ZLIB
#include <zlib.h>
#endif

/* Arrays at least this large are deflated (when zlib is there). */
#define DEFLATE_MIN 4096

char *report_b64(const uint8_t *d, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
    if (!o)
        return NULL;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *q++ = a[v >> 18];
        *q++ = a[(v >> 12) & 63];
        *q++ = a[(v >> 6) & 63];
        *q++ = a[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        *q++ = a[v >> 18];
        *q++ = a[(v >> 12) & 63];
        *q++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
        *q++ = '=';
    }
    *q = 0;
    return o;
}

static size_t type_size(const char *type)
{
    if (!strcmp(type, "f64"))
        return 8;
    if (!strcmp(type, "f32") || !strcmp(type, "u32") || !strcmp(type, "i32"))
        return 4;
    if (!strcmp(type, "u16"))
        return 2;
    return 1;
}

/*
 * Byte-shuffles (as HDF5's shuffle filter: all first bytes, then all
 * second bytes, ...) and deflates (zlib format) len bytes into a malloc'd
 * buffer; NULL when that does not pay or zlib is absent.
 */
static uint8_t *pack(const uint8_t *d, size_t len, size_t es, size_t *out_len,
                     int *shuffled)
{
#ifdef DG_HAVE_ZLIB
    if (len < DEFLATE_MIN || len > 0x7fffffffu)
        return NULL;
    uint8_t *sh = NULL;
    const uint8_t *src = d;
    if (es > 1) {
        size_t n = len / es;
        sh = malloc(len);
        if (!sh)
            return NULL;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < es; k++)
                sh[k * n + i] = d[i * es + k];
        src = sh;
    }
    uLongf cap = compressBound((uLong)len);
    uint8_t *z = malloc(cap);
    if (!z || compress2(z, &cap, src, (uLong)len, 6) != Z_OK ||
        cap >= len) {
        free(z);
        free(sh);
        return NULL;
    }
    free(sh);
    *out_len = cap;
    *shuffled = es > 1;
    return z;
#else
    (void)d;
    (void)len;
    (void)es;
    (void)out_len;
    (void)shuffled;
    return NULL;
#endif
}

cJSON *report_blob_add(report_blobs *B, const void *data, size_t n,
                       const char *type)
{
    static const uint8_t none = 0;
    size_t es = type_size(type), zlen = 0;
    int shuffled = 0;
    uint8_t *z = n ? pack(data, n * es, es, &zlen, &shuffled) : NULL;
    char *s = z ? report_b64(z, zlen) : report_b64(n ? data : &none, n * es);
    free(z);
    char **ns = realloc(B->s, (B->n + 1) * sizeof(*ns));
    if (ns)
        B->s = ns;
    if (!s || !ns) {
        free(s);
        B->oom = 1;
        return cJSON_CreateNull();
    }
    B->s[B->n] = s;
    B->bytes += strlen(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "blob", (double)B->n);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "n", (double)n);
    if (zlen) {
        cJSON_AddNumberToObject(o, "z", 1);
        cJSON_AddNumberToObject(o, "shuffle", shuffled);
    }
    B->n++;
    return o;
}

cJSON *report_blob_uint(report_blobs *B, const uint64_t *v, size_t n,
                        uint64_t max)
{
    size_t es = max < 256 ? 1 : max < 65536 ? 2 : 4;
    uint8_t *d = malloc(n * es + 1);
    if (!d) {
        B->oom = 1;
        return cJSON_CreateNull();
    }
    for (size_t i = 0; i < n; i++) {
        if (es == 1) {
            d[i] = (uint8_t)v[i];
        } else if (es == 2) {
            uint16_t x = (uint16_t)v[i];
            memcpy(d + 2 * i, &x, 2);
        } else {
            uint32_t x = (uint32_t)v[i];
            memcpy(d + 4 * i, &x, 4);
        }
    }
    cJSON *o =
        report_blob_add(B, d, n, es == 1 ? "u8" : es == 2 ? "u16" : "u32");
    free(d);
    return o;
}

/* 1 when v * scale is an integer of at most 2e9 whose quotient by scale
 * gives back v exactly. */
static int decimal_exact(double v, double scale)
{
    double q = nearbyint(v * scale);
    return fabs(q) <= 2e9 && q / scale == v;
}

/* The scores' integers (see report_blob_scores) into w; 0 when they are
 * none of the forms, else 1 (decimal, *scale set) or 2 (float32 bits). */
static int score_ints(const double *v, size_t n, uint32_t *w, double *scale)
{
    static const double scales[] = {1, 10, 100, 1000, 10000, 100000, 1e6};
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++) {
        size_t i = 0;
        for (; i < n; i++) {
            double q = nearbyint(v[i] * scales[s]);
            if (!(q >= 0 && q <= 4e9 && q / scales[s] == v[i]))
                break;
            w[i] = (uint32_t)q;
        }
        if (i == n) {
            *scale = scales[s];
            return 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        float f = (float)v[i];
        if (!(v[i] >= 0) || (double)f != v[i])
            return 0;
        memcpy(&w[i], &f, 4);
    }
    return 2;
}

cJSON *report_blob_scores(report_blobs *B, const double *score, size_t n,
                          const uint64_t *class_off, uint32_t n_classes)
{
    uint32_t *w = malloc(n * sizeof(*w) + 4);
    double scale = 0;
    int kind = w && n ? score_ints(score, n, w, &scale) : 0;
    /* each class's first in full, then the decrease from the one before */
    for (uint32_t c = 0; kind && c < n_classes; c++)
        for (uint64_t j = class_off[c + 1]; j-- > class_off[c] + 1;) {
            if (w[j] > w[j - 1]) {
                kind = 0; /* not descending: sent as they are */
                break;
            }
            w[j] = w[j - 1] - w[j];
        }
    if (!kind) {
        free(w);
        return report_blob_add(B, score, n, "f64");
    }
    cJSON *o = report_blob_add(B, w, n, "u32");
    free(w);
    if (cJSON_IsObject(o)) {
        cJSON_AddStringToObject(o, "enc", kind == 1 ? "dec" : "f32");
        if (kind == 1)
            cJSON_AddNumberToObject(o, "dscale", scale);
        cJSON_AddNumberToObject(o, "delta", 1);
    }
    return o;
}

cJSON *report_blob_boxes(report_blobs *B, const double *x, const double *y,
                         const double *w, const double *h,
                         const uint32_t *idx, size_t n)
{
    const double *col[4] = {x, y, w, h};
    static const double scales[] = {1, 10, 100, 1000, 10000};
    double scale = 0;
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]) && !scale; s++) {
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            size_t r = idx ? idx[i] : i;
            for (int k = 0; k < 4 && ok; k++)
                ok = decimal_exact(col[k][r], scales[s]);
        }
        if (ok)
            scale = scales[s];
    }
    void *d = malloc(4 * n * 4 + 4);
    if (!d) {
        B->oom = 1;
        return cJSON_CreateNull();
    }
    /* integers of 0 .. 65535 (pixels up to 655.35 at two decimals) go as
     * u16, half the bytes */
    int narrow = scale != 0;
    for (size_t i = 0; i < n && narrow; i++) {
        size_t r = idx ? idx[i] : i;
        for (int k = 0; k < 4 && narrow; k++) {
            double q = nearbyint(col[k][r] * scale);
            narrow = q >= 0 && q <= 65535;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = idx ? idx[i] : i;
        for (int k = 0; k < 4; k++) {
            if (narrow)
                ((uint16_t *)d)[4 * i + k] =
                    (uint16_t)nearbyint(col[k][r] * scale);
            else if (scale)
                ((int32_t *)d)[4 * i + k] =
                    (int32_t)nearbyint(col[k][r] * scale);
            else
                ((float *)d)[4 * i + k] = (float)col[k][r];
        }
    }
    cJSON *o = report_blob_add(B, d, 4 * n,
                               narrow ? "u16" : scale ? "i32" : "f32");
    free(d);
    if (scale && cJSON_IsObject(o))
        cJSON_AddNumberToObject(o, "scale", scale);
    return o;
}

void report_blobs_release(report_blobs *B)
{
    for (size_t i = 0; i < B->n; i++)
        free(B->s[i]);
    free(B->s);
    memset(B, 0, sizeof(*B));
}

static uint64_t frames_max(const dg_project *p)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    return info.n_frames ? info.n_frames - 1 : 0;
}

static cJSON *targets_json(const dg_segment_targets *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "precision", cli_num(t->precision));
    cJSON_AddItemToObject(o, "recall", cli_num(t->recall));
    cJSON_AddItemToObject(o, "f1", cli_num(t->f1));
    cJSON_AddItemToObject(o, "ap", cli_num(t->ap));
    cJSON_AddItemToObject(o, "conf", cli_num(t->conf));
    cJSON_AddItemToObject(o, "iou", cli_num(t->iou));
    return o;
}

/*
 * Segments beyond "all": name, kind, frames (ascending indices; null for
 * "all", every frame) and targets. Null when the project has none.
 */
static int export_segments(dg_ctx *ctx, dg_project *p, report_blobs *B,
                           cJSON *j)
{
    uint32_t ns = dg_project_n_segments(p);
    if (ns <= 1) {
        cJSON_AddNullToObject(j, "segments");
        return EXIT_OK;
    }
    cJSON *a = cJSON_AddArrayToObject(j, "segments");
    for (uint32_t i = 0; i < ns; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(a, o);
        cJSON_AddStringToObject(o, "name", dg_project_segment_name(p, i));
        cJSON_AddStringToObject(
            o, "kind", dg_segment_kind_name(dg_project_segment_kind(p, i)));
        if (i == 0) {
            cJSON_AddNullToObject(o, "frames");
        } else {
            const uint32_t *fr;
            uint32_t n;
            dg_status st = dg_project_segment_frames(ctx, p, i, &fr, &n);
            if (st < 0)
                return cli_fail(ctx, st);
            uint64_t *v = malloc((size_t)n * sizeof(*v) + 8);
            if (!v)
                return cli_error("out of memory");
            for (uint32_t k = 0; k < n; k++)
                v[k] = fr[k];
            cJSON_AddItemToObject(
                o, "frames",
                report_blob_uint(B, v, n, frames_max(p)));
            free(v);
        }
        dg_segment_targets t;
        dg_project_segment_targets(p, i, &t);
        cJSON_AddItemToObject(o, "targets", targets_json(&t));
    }
    return EXIT_OK;
}

/*
 * The 2-D PCA projection of the first embedding model with one vector per
 * frame and its k-means clusters ranked worst first at the project's
 * default thresholds for the first set, as `detgrid embeddings --patterns`
 * computes them. Null without such a model.
 */
static int export_embeddings(dg_ctx *ctx, dg_project *p, const char *set,
                             report_blobs *B, cJSON *j)
{
    const char *model = NULL;
    for (uint32_t i = 0; i < dg_project_n_embedding_models(p) && !model; i++)
        if (dg_project_has_embeddings(p, dg_project_embedding_model(p, i),
                                      DG_EMBED_FRAMES, NULL))
            model = dg_project_embedding_model(p, i);
    if (!model) {
        cJSON_AddNullToObject(j, "embeddings");
        return EXIT_OK;
    }
    dg_project_info info;
    dg_project_get_info(p, &info);
    dg_results *r = NULL;
    dg_embeddings_result res;
    memset(&res, 0, sizeof(res));
    float *x = NULL, *y = NULL;
    uint64_t *cl = NULL;
    int rc = EXIT_OK;
    dg_status st = dg_results_load(ctx, p, set, &r);
    if (st < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    int t = report_nearest_iou(r, info.default_iou);
    dg_embeddings_opts eo;
    dg_embeddings_opts_init(&eo);
    eo.model = model;
    eo.conf = info.default_conf;
    eo.iou_idx = t;
    eo.cluster = 1;
    if ((st = dg_embeddings_evaluate(ctx, r, p, &eo, &res)) < 0) {
        rc = cli_fail(ctx, st);
        goto out;
    }
    uint64_t n = res.n;
    x = malloc((size_t)n * sizeof(*x) + 4);
    y = malloc((size_t)n * sizeof(*y) + 4);
    cl = malloc((size_t)n * sizeof(*cl) + 8);
    uint64_t *fr = malloc((size_t)n * sizeof(*fr) + 8);
    if (!x || !y || !cl || !fr) {
        free(fr);
        rc = cli_error("out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        x[i] = (float)res.xy[2 * i];
        y[i] = (float)res.xy[2 * i + 1];
        cl[i] = res.assign ? res.assign[i] : 0;
        fr[i] = res.point[i];
    }
    cJSON *o = cJSON_AddObjectToObject(j, "embeddings");
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "kind", "PCA");
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddItemToObject(o, "x", report_blob_add(B, x, n, "f32"));
    cJSON_AddItemToObject(o, "y", report_blob_add(B, y, n, "f32"));
    cJSON_AddItemToObject(
        o, "frame",
        report_blob_uint(B, fr, n, info.n_frames ? info.n_frames - 1 : 0));
    free(fr);
    /* clusters, worst first: the page rings them on the scatter */
    cJSON_AddItemToObject(o, "cluster",
                          report_blob_uint(B, cl, n, res.k ? res.k - 1 : 0));
    cJSON *ca = cJSON_AddObjectToObject(o, "clusters");
    cJSON_AddStringToObject(ca, "set", set);
    cJSON_AddItemToObject(ca, "conf", cli_num(info.default_conf));
    cJSON_AddItemToObject(ca, "iou", cli_num(dg_results_iou(r, t)));
    cJSON *list = cJSON_AddArrayToObject(ca, "ranked");
    for (uint32_t k = 0; k < res.k; k++) {
        const dg_pattern_cluster *c = &res.clusters[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", c->id);
        cJSON_AddNumberToObject(e, "size", (double)c->size);
        cJSON_AddItemToObject(e, "f1", cli_num(c->prf.f1));
        cJSON_AddItemToObject(e, "z", cli_num(c->z));
        cJSON_AddItemToArray(list, e);
    }
out:
    free(x);
    free(y);
    free(cl);
    dg_embeddings_result_release(&res);
    dg_results_free(r);
    return rc;
}

int report_extra_project(dg_ctx *ctx, dg_project *p, const char *set,
                         report_blobs *B, cJSON *j)
{
    int rc = export_segments(ctx, p, B, j);
    if (rc == EXIT_OK)
        rc = export_embeddings(ctx, p, set, B, j);
    return rc;
}
