/*
 * Embeddings in the project file: /embeddings/<model>/frames, /labels and
 * /inferences/<set>, each rows x dim float32. Opening lists them (shapes
 * only); a matrix is read on first use and kept once. Saving writes the
 * matrices that changed and copies the others from the source file, as
 * project.c does for boxes. docs/EMBEDDINGS.md documents the layout.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

typedef struct embed_mat {
    dg_embed_kind kind;
    char *set;      /* inference set name, or NULL */
    uint64_t rows;
    float *data;    /* NULL until loaded or taken */
    int dirty;      /* to be written (not in the source file as is) */
    int dropped;    /* left out of the file being saved */
} embed_mat;

typedef struct embed_model {
    char *name;
    uint32_t dim;
    uint32_t n_mat;
    embed_mat *mat;
} embed_model;

struct dg_embed_store {
    uint32_t n;
    embed_model *m;
};

static const char *ptag(const dg_project *p)
{
    return p->path ? p->path : "(new project)";
}

static const char *kind_word(dg_embed_kind k)
{
    return k == DG_EMBED_FRAMES ? "frames"
           : k == DG_EMBED_LABELS ? "labels"
                                  : "inferences";
}

static void mat_path(char *buf, size_t cap, const char *model,
                     const embed_mat *m)
{
    if (m->kind == DG_EMBED_INFERENCES)
        snprintf(buf, cap, "/embeddings/%s/inferences/%s", model, m->set);
    else
        snprintf(buf, cap, "/embeddings/%s/%s", model, kind_word(m->kind));
}

void dg__embeddings_free(dg_project *p)
{
    struct dg_embed_store *s = p->emb;
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++) {
        for (uint32_t j = 0; j < s->m[i].n_mat; j++) {
            free(s->m[i].mat[j].set);
            free(s->m[i].mat[j].data);
        }
        free(s->m[i].mat);
        free(s->m[i].name);
    }
    free(s->m);
    free(s);
    p->emb = NULL;
}

static embed_model *find_model(const dg_project *p, const char *model)
{
    if (!p->emb || !model)
        return NULL;
    for (uint32_t i = 0; i < p->emb->n; i++)
        if (!strcmp(p->emb->m[i].name, model))
            return &p->emb->m[i];
    return NULL;
}

static embed_mat *find_mat(embed_model *m, dg_embed_kind kind,
                           const char *set)
{
    if (!m)
        return NULL;
    for (uint32_t j = 0; j < m->n_mat; j++) {
        embed_mat *e = &m->mat[j];
        if (e->kind != kind)
            continue;
        if (kind != DG_EMBED_INFERENCES || (set && !strcmp(e->set, set)))
            return e;
    }
    return NULL;
}

static dg_status ensure_store(dg_ctx *ctx, dg_project *p)
{
    if (!p->emb && !(p->emb = dg__calloc(ctx, 1, sizeof(*p->emb))))
        return DG_ENOMEM;
    return DG_OK;
}

static embed_model *add_model(dg_ctx *ctx, dg_project *p, const char *name,
                              uint32_t dim)
{
    if (ensure_store(ctx, p) < 0)
        return NULL;
    struct dg_embed_store *s = p->emb;
    embed_model *nm = realloc(s->m, (s->n + 1) * sizeof(*nm));
    if (!nm) {
        dg__fail(ctx, DG_ENOMEM, "out of memory");
        return NULL;
    }
    s->m = nm;
    embed_model *m = &s->m[s->n];
    memset(m, 0, sizeof(*m));
    if (!(m->name = dg__strdup(ctx, name)))
        return NULL;
    m->dim = dim;
    s->n++;
    return m;
}

static embed_mat *add_mat(dg_ctx *ctx, embed_model *m, dg_embed_kind kind,
                          const char *set)
{
    embed_mat *nm = realloc(m->mat, (m->n_mat + 1) * sizeof(*nm));
    if (!nm) {
        dg__fail(ctx, DG_ENOMEM, "out of memory");
        return NULL;
    }
    m->mat = nm;
    embed_mat *e = &m->mat[m->n_mat];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    if (set && !(e->set = dg__strdup(ctx, set)))
        return NULL;
    m->n_mat++;
    return e;
}

/* ---- public queries --------------------------------------------------- */

uint32_t dg_project_n_embedding_models(const dg_project *p)
{
    return p->emb ? p->emb->n : 0;
}

const char *dg_project_embedding_model(const dg_project *p, uint32_t i)
{
    return p->emb && i < p->emb->n ? p->emb->m[i].name : NULL;
}

uint32_t dg_project_embedding_dim(const dg_project *p, const char *model)
{
    embed_model *m = find_model(p, model);
    return m ? m->dim : 0;
}

int dg_project_has_embeddings(const dg_project *p, const char *model,
                              dg_embed_kind kind, const char *set)
{
    return find_mat(find_model(p, model), kind, set) != NULL;
}

/* Rows a matrix of that kind must have, or a negative status. */
static dg_status expected_rows(dg_ctx *ctx, dg_project *p, dg_embed_kind kind,
                               const char *set, uint64_t *rows)
{
    if (kind == DG_EMBED_FRAMES) {
        *rows = p->n_frames;
    } else if (kind == DG_EMBED_LABELS) {
        *rows = p->labels_loaded ? p->labels.n : p->n_labels;
    } else if (kind == DG_EMBED_INFERENCES) {
        uint32_t i;
        dg_status st = dg_project_find(ctx, p, DG_NAME_INFERENCES,
                                       set ? set : "(null)", &i);
        if (st < 0)
            return st;
        *rows = dg_project_inference_size(p, i);
    } else {
        return dg__fail(ctx, DG_EINVAL, "unknown embedding kind %d",
                        (int)kind);
    }
    return DG_OK;
}

static const char *what_rows(dg_embed_kind kind)
{
    return kind == DG_EMBED_FRAMES   ? "frames"
           : kind == DG_EMBED_LABELS ? "labels"
                                     : "detections";
}

dg_status dg_project_take_embeddings(dg_ctx *ctx, dg_project *p,
                                     const char *model, dg_embed_kind kind,
                                     const char *set, float *data,
                                     uint64_t rows, uint32_t dim)
{
    dg_status st;
    uint64_t want = 0;
    char what[600];
    if (kind == DG_EMBED_INFERENCES)
        snprintf(what, sizeof(what), "embeddings '%s' of inference set '%s'",
                 model ? model : "", set ? set : "");
    else
        snprintf(what, sizeof(what), "%s embeddings '%s'", kind_word(kind),
                 model ? model : "");
    const char *why = dg__h5_name_problem(model);
    if (why) {
        char shown[600];
        st = dg__fail(ctx, DG_EINVAL,
                      "invalid embedding model name '%s': %s (it must be "
                      "non-empty UTF-8, without '/' or control characters)",
                      dg__name_show(model, shown, sizeof(shown)), why);
        goto fail;
    }
    if ((st = expected_rows(ctx, p, kind, set, &want)) < 0)
        goto fail;
    if (dim == 0) {
        st = dg__fail(ctx, DG_EINVAL, "%s: dimension is 0", what);
        goto fail;
    }
    if (rows != want) {
        st = dg__fail(ctx, DG_EINVAL,
                      "%s: %llu rows, but the project has %llu %s", what,
                      (unsigned long long)rows, (unsigned long long)want,
                      what_rows(kind));
        goto fail;
    }
    embed_model *m = find_model(p, model);
    if (m && m->dim != dim) {
        st = dg__fail(ctx, DG_EINVAL,
                      "%s: dimension %u, but model '%s' has dimension %u", what,
                      dim, model, m->dim);
        goto fail;
    }
    for (uint64_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < dim; c++)
            if (!isfinite(data[r * dim + c])) {
                st = dg__fail(ctx, DG_EINVAL,
                              "%s: row %llu, column %u: %g is not finite",
                              what, (unsigned long long)r, c,
                              (double)data[r * dim + c]);
                goto fail;
            }
    if (!m && !(m = add_model(ctx, p, model, dim))) {
        st = DG_ENOMEM;
        goto fail;
    }
    embed_mat *e = find_mat(m, kind, set);
    if (!e && !(e = add_mat(ctx, m, kind, kind == DG_EMBED_INFERENCES ? set
                                                                      : NULL))) {
        st = DG_ENOMEM;
        goto fail;
    }
    free(e->data);
    e->data = data;
    e->rows = rows;
    e->dirty = 1;
    return DG_OK;
fail:
    free(data);
    return st;
}

/*
 * A dataset HDF5 never wrote (h5py's create_dataset with a shape and no
 * data) reads as fill values and costs no space in the file: a few bytes
 * can claim gigabytes. Unless a filter compresses it, the file must hold
 * every value it claims before we allocate room for them.
 */
static dg_status check_storage(dg_ctx *ctx, hid_t file, const char *path,
                               uint64_t rows, uint32_t dim)
{
    dg_status st = DG_OK;
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds < 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a dataset",
                        dg__h5_fname(file), path);
    hid_t ty = H5Dget_type(ds), dcpl = H5Dget_create_plist(ds);
    size_t esize = ty >= 0 ? H5Tget_size(ty) : 0;
    int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    uint64_t have = H5Dget_storage_size(ds);
    if (rows && filters == 0 && esize &&
        (dim > UINT64_MAX / rows / esize || have < rows * dim * esize))
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' claims %llu x %u values, but the "
                      "file holds %llu bytes of them (never written?)",
                      dg__h5_fname(file), path, (unsigned long long)rows, dim,
                      (unsigned long long)have);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ty >= 0)
        H5Tclose(ty);
    H5Dclose(ds);
    return st;
}

dg_status dg_project_get_embeddings(dg_ctx *ctx, dg_project *p,
                                    const char *model, dg_embed_kind kind,
                                    const char *set, const float **data,
                                    uint64_t *rows, uint32_t *dim)
{
    embed_model *m = find_model(p, model);
    if (!m)
        return dg__fail(ctx, DG_ENOTFOUND, "%s: no embeddings of model '%s'",
                        ptag(p), model ? model : "(null)");
    embed_mat *e = find_mat(m, kind, set);
    if (!e) {
        if (kind == DG_EMBED_INFERENCES)
            return dg__fail(ctx, DG_ENOTFOUND,
                            "%s: model '%s' has no embeddings of inference "
                            "set '%s'",
                            ptag(p), model, set ? set : "(null)");
        return dg__fail(ctx, DG_ENOTFOUND,
                        "%s: model '%s' has no %s embeddings", ptag(p), model,
                        kind_word(kind));
    }
    uint64_t want = 0;
    dg_status st = expected_rows(ctx, p, kind, set, &want);
    if (st < 0)
        return st;
    if (e->rows != want)
        return dg__fail(ctx, DG_EFORMAT,
                        "%s: %s embeddings of model '%s' have %llu rows, but "
                        "the project has %llu %s",
                        ptag(p), kind_word(kind), model,
                        (unsigned long long)e->rows, (unsigned long long)want,
                        what_rows(kind));
    if (!e->data) {
        char path[1400];
        mat_path(path, sizeof(path), m->name, e);
        if (p->file < 0)
            return dg__fail(ctx, DG_EIO, "%s: '%s' is not loaded", ptag(p),
                            path);
        if ((st = check_storage(ctx, (hid_t)p->file, path, e->rows,
                                m->dim)) < 0)
            return st;
        /* No rows, no values: (0, D) needs no room, whatever D is. */
        float *d = e->rows ? dg__alloc(ctx, e->rows,
                                       (size_t)m->dim * sizeof(float))
                           : dg__alloc(ctx, 1, sizeof(float));
        if (!d)
            return DG_ENOMEM;
        st = dg__h5_read_2d(ctx, (hid_t)p->file, path, H5T_NATIVE_FLOAT, d,
                            e->rows, m->dim);
        /* docs/EMBEDDINGS.md: values must be finite (as on import). */
        for (uint64_t i = 0; st >= 0 && i < e->rows * m->dim; i++)
            if (!isfinite(d[i]))
                st = dg__fail(ctx, DG_EFORMAT,
                              "'%s': dataset '%s': row %llu, column %llu: %g "
                              "is not a finite float32",
                              dg__h5_fname((hid_t)p->file), path,
                              (unsigned long long)(i / m->dim),
                              (unsigned long long)(i % m->dim), (double)d[i]);
        if (st < 0) {
            free(d);
            return st;
        }
        e->data = d;
    }
    *data = e->data;
    *rows = e->rows;
    *dim = m->dim;
    return DG_OK;
}

/* ---- file ------------------------------------------------------------- */

/* The shape of a 2-D dataset; DG_EFORMAT naming it otherwise. */
static dg_status shape_2d(dg_ctx *ctx, hid_t file, const char *path,
                          uint64_t *rows, uint64_t *cols)
{
    dg_status st = DG_OK;
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds < 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a dataset",
                        dg__h5_fname(file), path);
    hid_t sp = H5Dget_space(ds);
    hid_t ty = H5Dget_type(ds);
    hsize_t d[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(sp) != 2)
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' is not 2-D (rows x dimension)",
                      dg__h5_fname(file), path);
    else if (H5Tget_class(ty) != H5T_FLOAT)
        st = dg__fail(ctx, DG_EFORMAT,
                      "'%s': dataset '%s' is not floating point",
                      dg__h5_fname(file), path);
    else {
        H5Sget_simple_extent_dims(sp, d, NULL);
        *rows = d[0];
        *cols = d[1];
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}


/* Registers the matrix at path (shape checked against the model). */
static dg_status open_mat(dg_ctx *ctx, hid_t file, embed_model *m,
                          const char *path, dg_embed_kind kind,
                          const char *set)
{
    uint64_t rows = 0, cols = 0;
    dg_status st = shape_2d(ctx, file, path, &rows, &cols);
    if (st < 0)
        return st;
    if (m->dim == 0)
        m->dim = (uint32_t)cols;
    if (cols != m->dim || cols == 0 || cols > UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT,
                        "'%s': dataset '%s' has %llu columns, but model '%s' "
                        "has dimension %u",
                        dg__h5_fname(file), path, (unsigned long long)cols,
                        m->name, m->dim);
    embed_mat *e = add_mat(ctx, m, kind, set);
    if (!e)
        return DG_ENOMEM;
    e->rows = rows;
    return DG_OK;
}

dg_status dg__embeddings_open(dg_ctx *ctx, dg_project *p)
{
    hid_t file = (hid_t)p->file;
    char **models = NULL, **sets = NULL;
    dg_status st = DG_OK;
    if (file < 0 || !dg__h5_exists(file, "/embeddings"))
        return DG_OK;
    if ((st = dg__h5_list_group(ctx, file, "/embeddings", &models)) < 0)
        goto out;
    for (size_t i = 0; models[i]; i++) {
        char gp[700], path[1400];
        snprintf(gp, sizeof(gp), "/embeddings/%s", models[i]);
        hid_t g = H5Gopen2(file, gp, H5P_DEFAULT);
        if (g < 0) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a group",
                          dg__h5_fname(file), gp);
            goto out;
        }
        int32_t dim = 0;
        st = dg__h5_attr_read(ctx, g, "dim", H5T_NATIVE_INT32, &dim, 1);
        H5Gclose(g);
        if (st < 0 && st != DG_ENOTFOUND)
            goto out;
        st = DG_OK;
        if (dim < 0) {
            st = dg__fail(ctx, DG_EFORMAT, "'%s': '%s': attribute 'dim' is %d",
                          dg__h5_fname(file), gp, dim);
            goto out;
        }
        embed_model *m = add_model(ctx, p, models[i], (uint32_t)dim);
        if (!m) {
            st = DG_ENOMEM;
            goto out;
        }
        static const dg_embed_kind kinds[2] = {DG_EMBED_FRAMES,
                                               DG_EMBED_LABELS};
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof(path), "%s/%s", gp, kind_word(kinds[k]));
            if (dg__h5_exists(file, path) &&
                (st = open_mat(ctx, file, m, path, kinds[k], NULL)) < 0)
                goto out;
        }
        snprintf(path, sizeof(path), "%s/inferences", gp);
        if (dg__h5_exists(file, path)) {
            if ((st = dg__h5_list_group(ctx, file, path, &sets)) < 0)
                goto out;
            for (size_t j = 0; sets[j]; j++) {
                char sp[2200];
                snprintf(sp, sizeof(sp), "%s/%s", path, sets[j]);
                if ((st = open_mat(ctx, file, m, sp, DG_EMBED_INFERENCES,
                                   sets[j])) < 0)
                    goto out;
            }
            dg__h5_list_free(sets);
            sets = NULL;
        }
    }
out:
    dg__h5_list_free(sets);
    dg__h5_list_free(models);
    return st;
}

/* Writes rows x dim float32 in chunks of about 1 MiB, uncompressed:
 * embeddings barely compress and deflate would dominate the save. */
static dg_status write_mat(dg_ctx *ctx, hid_t g, const char *name,
                           const float *data, uint64_t rows, uint32_t dim)
{
    dg_status st = DG_OK;
    hsize_t dims[2] = {rows, dim};
    hsize_t chunk[2] = {(1u << 18) / dim, dim};
    if (chunk[0] < 1)
        chunk[0] = 1;
    if (chunk[0] > rows)
        chunk[0] = rows ? rows : 1;
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = H5I_INVALID_HID;
    if (sp < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 2, chunk) < 0)
        goto fail;
    ds = H5Dcreate2(g, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl,
                    H5P_DEFAULT);
    if (ds < 0)
        goto fail;
    if (rows && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         data) < 0)
        goto fail;
    goto out;
fail:
    st = dg__fail(ctx, DG_EIO, "'%s': cannot write dataset '%s'",
                  dg__h5_fname(g), name);
out:
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return st;
}

static hid_t make_group(dg_ctx *ctx, hid_t loc, const char *name)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        dg__fail(ctx, DG_EIO, "'%s': cannot create group '%s'",
                 dg__h5_fname(loc), name);
    return g;
}

dg_status dg__embeddings_save(dg_ctx *ctx, dg_project *p, int64_t src,
                              int64_t f)
{
    struct dg_embed_store *s = p->emb;
    dg_status st = DG_OK;
    if (!s || !s->n)
        return DG_OK;
    hid_t root = make_group(ctx, (hid_t)f, "embeddings");
    if (root < 0)
        return DG_EIO;
    for (uint32_t i = 0; i < s->n && st >= 0; i++) {
        embed_model *m = &s->m[i];
        hid_t g = make_group(ctx, root, m->name);
        hid_t ig = H5I_INVALID_HID;
        if (g < 0) {
            st = DG_EIO;
            break;
        }
        int32_t dim = (int32_t)m->dim;
        if ((st = dg__h5_attr_write_str(ctx, g, "model", m->name)) < 0 ||
            (st = dg__h5_attr_write(ctx, g, "dim", H5T_NATIVE_INT32,
                                    H5T_STD_I32LE, &dim, 0)) < 0) {
            H5Gclose(g);
            break;
        }
        for (uint32_t j = 0; j < m->n_mat && st >= 0; j++) {
            embed_mat *e = &m->mat[j];
            hid_t loc = g;
            const char *name = kind_word(e->kind);
            if (e->kind == DG_EMBED_INFERENCES) {
                /* Embeddings of a removed inference set go with it, and
                 * those of a set whose boxes were replaced (unless given
                 * anew) no longer describe its detections. */
                int64_t si = dg_project_inference_index(p, e->set);
                if (si < 0) {
                    e->dropped = 1;
                    continue;
                }
                if (p->inf[si].dirty && !e->dirty && src >= 0) {
                    dg__warn(ctx,
                             "embeddings '%s' of inference set '%s' dropped: "
                             "its detections changed",
                             m->name, e->set);
                    e->dropped = 1;
                    continue;
                }
                if (ig < 0 && (ig = make_group(ctx, g, "inferences")) < 0) {
                    st = DG_EIO;
                    break;
                }
                loc = ig;
                name = e->set;
            }
            char path[1400];
            mat_path(path, sizeof(path), m->name, e);
            if (e->data && (e->dirty || src < 0))
                st = write_mat(ctx, loc, name, e->data, e->rows, m->dim);
            else if (src >= 0 && H5Ocopy((hid_t)src, path, loc, name,
                                         H5P_DEFAULT, H5P_DEFAULT) < 0)
                st = dg__fail(ctx, DG_EIO, "cannot copy '%s' from '%s'", path,
                              dg__h5_fname((hid_t)src));
        }
        if (ig >= 0)
            H5Gclose(ig);
        H5Gclose(g);
    }
    H5Gclose(root);
    for (uint32_t i = 0; i < s->n; i++) {
        embed_model *m = &s->m[i];
        uint32_t w = 0;
        for (uint32_t j = 0; j < m->n_mat; j++) {
            embed_mat *e = &m->mat[j];
            if (st >= 0 && e->dropped) {
                free(e->set);
                free(e->data);
                continue;
            }
            e->dropped = 0;
            if (st >= 0)
                e->dirty = 0;
            m->mat[w++] = *e;
        }
        m->n_mat = w;
    }
    return st;
}

dg_status dg__embeddings_load_all(dg_ctx *ctx, dg_project *p)
{
    struct dg_embed_store *s = p->emb;
    for (uint32_t i = 0; s && i < s->n; i++)
        for (uint32_t j = 0; j < s->m[i].n_mat; j++) {
            embed_mat *e = &s->m[i].mat[j];
            const float *d;
            uint64_t r;
            uint32_t dim;
            if (e->data)
                continue;
            dg_status st = dg_project_get_embeddings(ctx, p, s->m[i].name,
                                                     e->kind, e->set, &d, &r,
                                                     &dim);
            if (st < 0)
                return st;
        }
    return DG_OK;
}
