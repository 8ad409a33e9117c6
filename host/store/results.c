/*
 * Results: the object queries read, its storage under /results/<name>,
 * and lazy loading so that a query reads only the rows it needs. The
 * engine computes the tables (host/engine/) and hands them over with
 * dg__results_adopt.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

struct dg_results *dg__results_new(dg_ctx *ctx)
{
    struct dg_results *r = dg__calloc(ctx, 1, sizeof(*r));
    if (!r)
        return NULL;
    r->refs = 1;
    r->src = -1;
    r->inf_index = -1;
    r->order_loaded = r->matched_loaded = 1;
    memset(r->row_loaded, 1, sizeof(r->row_loaded));
    memset(r->agn_row_loaded, 1, sizeof(r->agn_row_loaded));
    r->label_class_loaded = 1;
    return r;
}

void dg__results_destroy(struct dg_results *r)
{
    if (!r || --r->refs > 0)
        return;
    free(r->class_off);
    free(r->order);
    free(r->score);
    free(r->status);
    free(r->matched);
    free(r->gt_count);
    free(r->agnostic);
    free(r->label_class);
    free(r->det_frame);
    free(r->frame_mask);
    free(r->mask_gt_count);
    dg__pending_free(r->pending);
    free(r->kpt_sig_off);
    free(r->kpt_sig);
    free(r);
}

static const char *const roots[DG_N_IOU_TYPES] = {
    "results", "results_segm", "results_boundary", "results_keypoints"};

const char *dg__results_root(int t)
{
    return t >= 0 && t < DG_N_IOU_TYPES ? roots[t] : NULL;
}


/*
 * The message for reads of results whose tables a bounded-memory eval has
 * not yet written (they exist in its pending store only).
 */
static dg_status not_saved(dg_ctx *ctx)
{
    return dg__fail(ctx, DG_ESTALE,
                    "results of a bounded-memory eval can be read once the "
                    "project is saved");
}

static dg_status load_order(dg_ctx *ctx, struct dg_results *r)
{
    if (r->order_loaded)
        return DG_OK;
    char path[700];
    snprintf(path, sizeof(path), "%s/order", r->src_group);
    dg_status st = dg__h5_read_1d(ctx, (hid_t)r->src, path, H5T_NATIVE_UINT32,
                                  H5T_INTEGER, r->order, r->n_det, 0, r->n_det);
    /* Queries index the inference set with these: check them once. */
    for (uint64_t k = 0; st >= 0 && k < r->n_det; k++)
        if (r->order[k] >= r->n_det)
            st = dg__fail(ctx, DG_EFORMAT,
                          "'%s': %s record %llu: %u is not a detection index "
                          "(%llu detections)",
                          dg__h5_fname((hid_t)r->src), path,
                          (unsigned long long)k, r->order[k],
                          (unsigned long long)r->n_det);
    if (st >= 0)
        r->order_loaded = 1;
    return st;
}

/*
 * The T x N label-index table `matched` changes little from one IoU
 * threshold to the next, and is only ever read whole, so it is stored with
 * each row XORed with the row before it (dataset attribute encoding =
 * "xor-previous-row"): the rows become mostly zeros, which deflate
 * compresses fast and small. A dataset without the attribute is plain, so
 * h5py-written or older files still read. `agnostic` stays plain because a
 * confusion query reads a single row of it; the reader still honours the
 * attribute there.
 */
#define XOR_ENCODING "xor-previous-row"

/* Undoes the encoding in place over rows [0, rows). */
static void unxor_rows(int32_t *a, int rows, uint64_t n)
{
    for (int t = 1; t < rows; t++)
        for (uint64_t k = 0; k < n; k++)
            a[(size_t)t * n + k] = (int32_t)((uint32_t)a[(size_t)t * n + k] ^
                                             (uint32_t)a[(size_t)(t - 1) * n + k]);
}

/* 1 if dataset name of r's group carries the XOR row encoding. */
static int xor_encoded(const struct dg_results *r, const char *name)
{
    char path[700], enc[64] = "";
    snprintf(path, sizeof(path), "%s/%s", r->src_group, name);
    hid_t ds = H5Dopen2((hid_t)r->src, path, H5P_DEFAULT);
    if (ds < 0)
        return 0;
    dg__h5_attr_read_str(NULL, ds, "encoding", enc, sizeof(enc));
    H5Dclose(ds);
    return !strcmp(enc, XOR_ENCODING);
}

/* Marks dataset name of g as XOR row encoded. */
static dg_status mark_xor(dg_ctx *ctx, hid_t g, const char *name)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0)
        return dg__fail(ctx, DG_EIO, "cannot reopen dataset '%s'", name);
    dg_status st = dg__h5_attr_write_str(ctx, ds, "encoding", XOR_ENCODING);
    H5Dclose(ds);
    return st;
}

static dg_status load_matched(dg_ctx *ctx, struct dg_results *r)
{
    if (!r->matched)
        return not_saved(ctx);
    if (r->matched_loaded)
        return DG_OK;
    char path[700];
    snprintf(path, sizeof(path), "%s/matched", r->src_group);
    dg_status st = dg__h5_read_2d(ctx, (hid_t)r->src, path, H5T_NATIVE_INT32,
                                  r->matched, (uint64_t)r->n_iou, r->n_det);
    if (st >= 0) {
        if (xor_encoded(r, "matched"))
            unxor_rows(r->matched, r->n_iou, r->n_det);
        r->matched_loaded = 1;
    }
    return st;
}

dg_status dg__results_order(dg_ctx *ctx, struct dg_results *r,
                            const uint32_t **order)
{
    dg_status st = load_order(ctx, r);
    *order = st < 0 ? NULL : r->order;
    return st;
}

dg_status dg__results_matched(dg_ctx *ctx, struct dg_results *r,
                              const int32_t **matched)
{
    dg_status st = load_matched(ctx, r);
    *matched = st < 0 ? NULL : r->matched;
    return st;
}

void dg__results_info(const struct dg_results *r, dg_results_info *out)
{
    out->version = r->version;
    out->n_iou = r->n_iou;
    out->iou = r->iou;
    out->n_classes = r->n_classes;
    out->n_det = r->n_det;
    out->n_gt_total = r->n_gt_total;
    out->class_off = r->class_off;
    out->score = r->score;
    out->gt_count = r->gt_count;
    out->inf_index = r->inf_index;
    out->frame_mask = r->frame_mask;
    out->mask_gt_count = r->mask_gt_count;
    out->iou_type = r->iou_type;
}

void dg__results_set_restriction(struct dg_results *r, uint8_t *frame_mask,
                                 uint64_t *mask_gt_count)
{
    free(r->frame_mask);
    free(r->mask_gt_count);
    r->frame_mask = frame_mask;
    r->mask_gt_count = mask_gt_count;
}

void dg__results_tables_release(dg_results_tables *t)
{
    free(t->class_off);
    free(t->order);
    free(t->score);
    free(t->gt_count);
    free(t->label_class);
    free(t->status);
    free(t->matched);
    free(t->agnostic);
    dg__pending_free(t->pending);
    free(t->shape.kpt_sig_off);
    free(t->shape.kpt_sig);
    memset(t, 0, sizeof(*t));
}

dg_status dg__results_adopt(dg_ctx *ctx, dg_project *p, dg_results_tables *t)
{
    if (t->inf_index < 0 || (uint64_t)t->inf_index >= p->n_inf) {
        dg__results_tables_release(t);
        return dg__fail(ctx, DG_EINVAL,
                        "dg__results_adopt: no inference set %lld",
                        (long long)t->inf_index);
    }
    struct dg_results *r = dg__results_new(ctx);
    if (!r) {
        dg__results_tables_release(t);
        return DG_ENOMEM;
    }
    r->version = 2;
    r->n_iou = t->n_iou;
    memcpy(r->iou, t->iou, sizeof(r->iou));
    r->n_classes = t->n_classes;
    r->n_det = t->n_det;
    r->n_gt_total = t->n_gt_total;
    r->fingerprint = t->fingerprint;
    r->labels_fingerprint = t->labels_fingerprint;
    r->inf_index = t->inf_index;
    memcpy(r->device, t->device, sizeof(r->device));
    r->class_off = t->class_off;
    r->order = t->order;
    r->score = t->score;
    r->gt_count = t->gt_count;
    r->label_class = t->label_class;
    r->status = t->status;
    r->matched = t->matched;
    r->agnostic = t->agnostic;
    r->pending = t->pending;
    r->iou_type = t->shape.iou_type;
    r->dilation_ratio = t->shape.dilation_ratio;
    r->kpt_sig_off = t->shape.kpt_sig_off;
    r->kpt_sig = t->shape.kpt_sig;
    memset(t, 0, sizeof(*t));
    dg_infset *s = &p->inf[r->inf_index];
    struct dg_results **slot = dg__infset_results(s, r->iou_type);
    dg__results_destroy(*slot);
    *slot = r;
    *dg__infset_dirty(s, r->iou_type) = 1;
    return DG_OK;
}

/*
 * Reads row t of the T x n_det dataset name of r's group into dst, as
 * memtype; 0 on success.
 */
static int read_rows(struct dg_results *r, const char *name, hid_t memtype,
                     int t, int rows, void *dst)
{
    /* No context here: chunks inflate on one thread per processor. */
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", r->src_group, name);
    hid_t ds = H5Dopen2((hid_t)r->src, path, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    int ok = 0;
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2 &&
        H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
        dims[0] == (hsize_t)r->n_iou && dims[1] == r->n_det) {
        int fast = dg__h5_read_rows(NULL, ds, memtype, (uint64_t)t,
                                    (uint64_t)rows, 0, r->n_det, dst);
        if (fast != 0) {
            H5Sclose(sp);
            H5Dclose(ds);
            return fast > 0 ? 0 : -1;
        }
        hsize_t start[2] = {(hsize_t)t, 0};
        hsize_t count[2] = {(hsize_t)rows, r->n_det};
        hid_t ms = H5Screate_simple(2, count, NULL);
        ok = H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count,
                                 NULL) >= 0 &&
             H5Dread(ds, memtype, ms, sp, H5P_DEFAULT, dst) >= 0;
        H5Sclose(ms);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return ok ? 0 : -1;
}

dg_status dg__results_status_row(dg_ctx *ctx, struct dg_results *r, int t,
                                 const uint8_t **out)
{
    *out = NULL;
    if (!r->status)
        return not_saved(ctx);
    if (t < 0 || t >= r->n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range", t);
    uint8_t *row = r->status + (size_t)t * r->n_det;
    if (!r->row_loaded[t] && r->n_det) {
        if (read_rows(r, "status", H5T_NATIVE_UINT8, t, 1, row) < 0)
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': cannot read '%s/status' row %d",
                            dg__h5_fname((hid_t)r->src), r->src_group, t);
        for (uint64_t k = 0; k < r->n_det; k++)
            if (row[k] > DG_IGN)
                return dg__fail(ctx, DG_EFORMAT,
                                "'%s': '%s/status' row %d record %llu: "
                                "invalid status %u",
                                dg__h5_fname((hid_t)r->src), r->src_group, t,
                                (unsigned long long)k, row[k]);
        r->row_loaded[t] = 1;
    }
    *out = row;
    return DG_OK;
}

/* The message for confusion queries on results without agnostic rows. */
static dg_status no_agnostic(dg_ctx *ctx, const struct dg_results *r)
{
    const char *name = strrchr(r->src_group, '/');
    return dg__fail(ctx, DG_ESTALE,
                    "'%s': the results for '%s' were computed by an older "
                    "detgrid (results version %d) without class-agnostic "
                    "matching; run 'detgrid eval' again for confusion "
                    "matrices and examples",
                    r->src >= 0 ? dg__h5_fname((hid_t)r->src) : "(project)",
                    name ? name + 1 : "?", r->version);
}

dg_status dg__results_agnostic_row(dg_ctx *ctx, struct dg_results *r, int t,
                                   const int32_t **out)
{
    *out = NULL;
    if (t < 0 || t >= r->n_iou)
        return dg__fail(ctx, DG_EINVAL, "IoU index %d out of range", t);
    if (r->pending && !r->agnostic)
        return not_saved(ctx);
    if (r->version < 2 || !r->agnostic)
        return no_agnostic(ctx, r);
    int32_t *row = r->agnostic + (size_t)t * r->n_det;
    if (r->agn_row_loaded[t] || !r->n_det) {
        *out = row;
        return DG_OK;
    }
    /* XOR-encoded rows decode from row 0 up to t. */
    int xr = r->src >= 0 && xor_encoded(r, "agnostic");
    int first = xr ? 0 : t;
    if (r->src < 0 ||
        read_rows(r, "agnostic", H5T_NATIVE_INT32, first, t - first + 1,
                  r->agnostic + (size_t)first * r->n_det) < 0)
        return dg__fail(ctx, DG_EFORMAT,
                        "'%s': cannot read '%s/agnostic' row %d",
                        r->src >= 0 ? dg__h5_fname((hid_t)r->src) : "?",
                        r->src_group, t);
    if (xr)
        unxor_rows(r->agnostic, t + 1, r->n_det);
    for (int u = first; u <= t; u++) {
        const int32_t *ru = r->agnostic + (size_t)u * r->n_det;
        for (uint64_t k = 0; k < r->n_det; k++)
            if (ru[k] < DG_AGN_IGNORED ||
                (ru[k] >= 0 && (uint64_t)ru[k] >= r->n_gt_total)) {
                for (int v = first; v <= t; v++)
                    r->agn_row_loaded[v] = 0;
                return dg__fail(ctx, DG_EFORMAT,
                                "'%s': '%s/agnostic' row %d record %llu: "
                                "invalid value %d",
                                dg__h5_fname((hid_t)r->src), r->src_group, u,
                                (unsigned long long)k, (int)ru[k]);
            }
        r->agn_row_loaded[u] = 1;
    }
    *out = row;
    return DG_OK;
}

dg_status dg__results_label_class(dg_ctx *ctx, struct dg_results *r,
                                  const uint32_t **out)
{
    *out = NULL;
    if (r->version < 2 || !r->label_class)
        return no_agnostic(ctx, r);
    if (!r->label_class_loaded) {
        char path[700];
        snprintf(path, sizeof(path), "%s/label_class", r->src_group);
        if (r->src < 0)
            return dg__fail(ctx, DG_EFORMAT, "'%s' is not loaded", path);
        dg_status st = dg__h5_read_1d(ctx, (hid_t)r->src, path,
                                      H5T_NATIVE_UINT32, H5T_INTEGER,
                                      r->label_class, r->n_gt_total, 0,
                                      r->n_gt_total);
        if (st < 0)
            return st;
        for (uint64_t j = 0; j < r->n_gt_total; j++)
            if (r->label_class[j] >= r->n_classes)
                return dg__fail(ctx, DG_EFORMAT,
                                "'%s': '%s' record %llu: class %u out of "
                                "range",
                                dg__h5_fname((hid_t)r->src), path,
                                (unsigned long long)j, r->label_class[j]);
        r->label_class_loaded = 1;
    }
    *out = r->label_class;
    return DG_OK;
}

dg_status dg__results_load_agnostic(dg_ctx *ctx, struct dg_results *r)
{
    if (r->version < 2)
        return DG_OK;
    const int32_t *row;
    const uint32_t *lc;
    dg_status st = DG_OK;
    for (int t = 0; t < r->n_iou && st >= 0; t++)
        st = dg__results_agnostic_row(ctx, r, t, &row);
    return st < 0 ? st : dg__results_label_class(ctx, r, &lc);
}

dg_status dg__results_load_all(dg_ctx *ctx, struct dg_results *r)
{
    const uint8_t *row;
    dg_status st = DG_OK;
    for (int t = 0; t < r->n_iou && st >= 0; t++)
        st = dg__results_status_row(ctx, r, t, &row);
    if (st >= 0)
        st = load_order(ctx, r);
    if (st >= 0)
        st = load_matched(ctx, r);
    if (st >= 0)
        st = dg__results_load_agnostic(ctx, r);
    return st;
}

/* What the matching compared, on results of a type other than boxes:
 * attributes iou_type, dilation_ratio (boundary), kpt_sigmas and
 * kpt_sigma_offsets (keypoints). */
static dg_status write_shape(dg_ctx *ctx, hid_t g, const struct dg_results *r)
{
    dg_status st = DG_OK;
    if (!r->iou_type)
        return DG_OK;
    if ((st = dg__h5_attr_write_str(ctx, g, "iou_type",
                                    roots[r->iou_type] + 8)) < 0)
        return st;
    if (r->iou_type == DG_COCO_BOUNDARY)
        st = dg__h5_attr_write(ctx, g, "dilation_ratio", H5T_NATIVE_DOUBLE,
                               H5T_IEEE_F64LE, &r->dilation_ratio, 0);
    if (r->iou_type == DG_COCO_KEYPOINTS && r->kpt_sig_off &&
        (st = dg__h5_attr_write(ctx, g, "kpt_sigma_offsets",
                                H5T_NATIVE_UINT64, H5T_STD_U64LE,
                                r->kpt_sig_off,
                                (uint64_t)r->n_classes + 1)) >= 0 &&
        r->kpt_sig_off[r->n_classes])
        st = dg__h5_attr_write(ctx, g, "kpt_sigmas", H5T_NATIVE_DOUBLE,
                               H5T_IEEE_F64LE, r->kpt_sig,
                               r->kpt_sig_off[r->n_classes]);
    return st;
}

static dg_status write_group(dg_ctx *ctx, int64_t loc, const char *name,
                             struct dg_results *r, int pending)
{
    dg_status st;
    const uint8_t *row;
    if (!pending)
        for (int t = 0; t < r->n_iou; t++)
            if ((st = dg__results_status_row(ctx, r, t, &row)) < 0)
                return st;
    if (!pending && ((st = load_order(ctx, r)) < 0 ||
                     (st = load_matched(ctx, r)) < 0 ||
                     (st = dg__results_load_agnostic(ctx, r)) < 0))
        return st;
    hid_t g = H5Gcreate2((hid_t)loc, name, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EIO, "cannot create results group '%s'", name);
    uint64_t n = r->n_det, nt = (uint64_t)r->n_iou;
    int32_t ver = r->version >= 2 ? 2 : 1;
    if ((st = dg__h5_attr_write(ctx, g, "results_version", H5T_NATIVE_INT32,
                                H5T_STD_I32LE, &ver, 0)) < 0 ||
        (st = dg__h5_attr_write(ctx, g, "iou_thresholds", H5T_NATIVE_DOUBLE,
                                H5T_IEEE_F64LE, r->iou, nt)) < 0 ||
        (st = dg__h5_attr_write(ctx, g, "fingerprint", H5T_NATIVE_UINT64,
                                H5T_STD_U64LE, &r->fingerprint, 0)) < 0 ||
        (st = dg__h5_attr_write(ctx, g, "labels_fingerprint",
                                H5T_NATIVE_UINT64, H5T_STD_U64LE,
                                &r->labels_fingerprint, 0)) < 0 ||
        (st = dg__h5_attr_write(ctx, g, "n_gt", H5T_NATIVE_UINT64,
                                H5T_STD_U64LE, &r->n_gt_total, 0)) < 0 ||
        (st = dg__h5_attr_write_str(ctx, g, "device", r->device)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "class_offsets", H5T_NATIVE_UINT64,
                              H5T_STD_U64LE, r->class_off,
                              (uint64_t)r->n_classes + 1, 0)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "gt_count", H5T_NATIVE_UINT64,
                              H5T_STD_U64LE, r->gt_count, r->n_classes, 0)) < 0 ||
        (st = dg__h5_write_1d(ctx, g, "score", H5T_NATIVE_DOUBLE,
                              H5T_IEEE_F64LE, r->score, n, 0)) < 0 ||
        (st = write_shape(ctx, g, r)) < 0)
        goto out;
    if (pending) {
        /* status, matched and agnostic, block by block. */
        if ((st = dg__h5_write_1d(ctx, g, "order", H5T_NATIVE_UINT32,
                                  H5T_STD_U32LE, r->order, n, 1)) < 0 ||
            (st = dg__pending_write(ctx, r->pending, (int64_t)g)) < 0 ||
            (st = dg__h5_write_1d(ctx, g, "label_class", H5T_NATIVE_UINT32,
                                  H5T_STD_U32LE, r->label_class,
                                  r->n_gt_total, 1)) < 0)
            goto out;
        goto out;
    }
    /*
     * The compressed datasets' chunks go to the workers as one list. The
     * matched table is stored XOR-encoded (above); agnostic is not: a
     * confusion query reads one row of it.
     */
    dg_h5_table tab[] = {
        {"order", H5T_NATIVE_UINT32, H5T_STD_U32LE, r->order, 1, {n, 0}, 0},
        {"status", H5T_NATIVE_UINT8, H5T_STD_U8LE, r->status, 2, {nt, n}, 0},
        {"matched", H5T_NATIVE_INT32, H5T_STD_I32LE, r->matched, 2, {nt, n},
         1},
        {"agnostic", H5T_NATIVE_INT32, H5T_STD_I32LE, r->agnostic, 2,
         {nt, n}, 0},
        {"label_class", H5T_NATIVE_UINT32, H5T_STD_U32LE, r->label_class, 1,
         {r->n_gt_total, 0}, 0}};
    if ((st = dg__h5_write_tables(ctx, g, tab, ver >= 2 ? 5 : 3)) < 0 ||
        (st = mark_xor(ctx, g, "matched")) < 0)
        goto out;
out:
    H5Gclose(g);
    return st;
}

dg_status dg__results_write(dg_ctx *ctx, int64_t loc, const char *name,
                            struct dg_results *r)
{
    if (!r->pending || r->status)
        return write_group(ctx, loc, name, r, 0);
    dg_status st = write_group(ctx, loc, name, r, 1);
    if (st < 0)
        return st;
    /*
     * From now on the tables are read lazily from the file being saved,
     * like results opened from a file: dg_project_save points src at the
     * saved file (src >= 0 marks r as file-backed; 0 until then). The
     * pending store stays until r goes, should this save fail.
     */
    size_t tot = (size_t)r->n_iou * (r->n_det ? r->n_det : 1);
    r->status = dg__alloc(ctx, tot, 1);
    r->matched = dg__alloc(ctx, tot, 4);
    r->agnostic = dg__alloc(ctx, tot, 4);
    if (!r->status || !r->matched || !r->agnostic) {
        free(r->status);
        free(r->matched);
        free(r->agnostic);
        r->status = NULL;
        r->matched = NULL;
        r->agnostic = NULL;
        return DG_OK; /* stored; this process just cannot query it */
    }
    r->src = 0;
    snprintf(r->src_group, sizeof(r->src_group), "/%s/%s",
             roots[r->iou_type], name);
    memset(r->row_loaded, 0, sizeof(r->row_loaded));
    memset(r->agn_row_loaded, 0, sizeof(r->agn_row_loaded));
    r->matched_loaded = 0;
    return DG_OK;
}

/* The attributes of results group g (gp): thresholds, fingerprints,
 * n_gt, version and device. */
static dg_status read_attrs(dg_ctx *ctx, hid_t f, hid_t g, const char *gp,
                            struct dg_results *r)
{
    dg_status st;
    hid_t a = H5Aopen(g, "iou_thresholds", H5P_DEFAULT);
    hssize_t nt = -1;
    if (a >= 0) {
        hid_t sp = H5Aget_space(a);
        nt = H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        H5Aclose(a);
    }
    if (nt < 1 || nt > DG_MAX_IOU_THRESHOLDS)
        return dg__fail(ctx, DG_EFORMAT,
                        "'%s': %s: attribute 'iou_thresholds' missing or "
                        "with %lld values",
                        dg__h5_fname(f), gp, (long long)nt);
    r->n_iou = (int)nt;
    const char *attr = "iou_thresholds";
    if ((st = dg__h5_attr_read(ctx, g, attr, H5T_NATIVE_DOUBLE, r->iou,
                               (uint64_t)nt)) < 0 ||
        (st = dg__h5_attr_read(ctx, g, attr = "fingerprint", H5T_NATIVE_UINT64,
                               &r->fingerprint, 1)) < 0 ||
        (st = dg__h5_attr_read(ctx, g, attr = "labels_fingerprint",
                               H5T_NATIVE_UINT64, &r->labels_fingerprint,
                               1)) < 0 ||
        (st = dg__h5_attr_read(ctx, g, attr = "n_gt", H5T_NATIVE_UINT64,
                               &r->n_gt_total, 1)) < 0) {
        if (st == DG_ENOTFOUND)
            st = dg__fail(ctx, DG_EFORMAT, "'%s': %s: attribute '%s' is "
                          "missing (run 'detgrid eval' again to rewrite the "
                          "results)", dg__h5_fname(f), gp, attr);
        return st;
    }
    for (int t = 0; t < r->n_iou; t++)
        if (!(r->iou[t] > 0 && r->iou[t] <= 1) ||
            (t && !(r->iou[t] > r->iou[t - 1])))
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s: iou_thresholds must ascend within "
                            "(0, 1]",
                            dg__h5_fname(f), gp);
    int32_t ver = 1; /* absent: version 1 */
    st = dg__h5_attr_read(ctx, g, "results_version", H5T_NATIVE_INT32, &ver,
                          1);
    if (st < 0 && st != DG_ENOTFOUND)
        return st;
    if (ver < 1 || ver > 2)
        return dg__fail(ctx, ver > 2 ? DG_EVERSION : DG_EFORMAT,
                        "'%s': %s: results_version %d is not supported "
                        "(this detgrid reads 1 and 2)%s",
                        dg__h5_fname(f), gp, (int)ver,
                        ver > 2 ? "; upgrade detgrid or run 'detgrid eval' "
                                  "again"
                                : "");
    r->version = ver;
    dg__h5_attr_read_str(ctx, g, "device", r->device, sizeof(r->device));
    return DG_OK;
}

/* class_offsets (so n_classes and n_det, checked against score's length)
 * and gt_count. */
static dg_status read_classes(dg_ctx *ctx, hid_t f, const char *gp,
                              struct dg_results *r)
{
    dg_status st;
    uint64_t nc1, nd, n_score = 0;
    char p1[700];
    snprintf(p1, sizeof(p1), "%s/class_offsets", gp);
    if ((st = dg__h5_len(ctx, f, p1, &nc1)) < 0)
        return st;
    if (nc1 < 1 || nc1 - 1 > UINT32_MAX)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s is empty",
                        dg__h5_fname(f), p1);
    r->n_classes = (uint32_t)(nc1 - 1);
    r->class_off = dg__alloc(ctx, nc1, 8);
    r->gt_count = dg__alloc(ctx, nc1, 8);
    if (!r->class_off || !r->gt_count)
        return DG_ENOMEM;
    if ((st = dg__h5_read_1d(ctx, f, p1, H5T_NATIVE_UINT64, H5T_INTEGER,
                             r->class_off, nc1, 0, nc1)) < 0)
        return st;
    nd = r->class_off[r->n_classes];
    for (uint32_t c = 0; c < r->n_classes; c++)
        if (r->class_off[c + 1] < r->class_off[c] || r->class_off[0] != 0)
            return dg__fail(ctx, DG_EFORMAT,
                            "'%s': %s must be non-decreasing from 0",
                            dg__h5_fname(f), p1);
    r->n_det = nd;
    /* Check the claimed count against the file before allocating for it. */
    snprintf(p1, sizeof(p1), "%s/score", gp);
    if ((st = dg__h5_len(ctx, f, p1, &n_score)) < 0)
        return st;
    if (n_score != nd)
        return dg__fail(ctx, DG_EFORMAT,
                        "'%s': %s/class_offsets counts %llu detections, but "
                        "%s has %llu values",
                        dg__h5_fname(f), gp, (unsigned long long)nd, p1,
                        (unsigned long long)n_score);
    snprintf(p1, sizeof(p1), "%s/gt_count", gp);
    return dg__h5_read_1d(ctx, f, p1, H5T_NATIVE_UINT64, H5T_INTEGER,
                          r->gt_count, r->n_classes, 0, r->n_classes);
}

/* The scores (descending within each class, finite) and room for the
 * rows read later. */
static dg_status read_scores(dg_ctx *ctx, hid_t f, const char *gp,
                             struct dg_results *r)
{
    dg_status st;
    uint64_t nd = r->n_det;
    size_t nt = (size_t)r->n_iou;
    char p1[700];
    r->score = dg__alloc(ctx, nd ? nd : 1, 8);
    r->order = dg__alloc(ctx, nd ? nd : 1, 4);
    r->status = dg__alloc(ctx, nt * (nd ? nd : 1), 1);
    r->matched = dg__alloc(ctx, nt * (nd ? nd : 1), 4);
    if (!r->score || !r->order || !r->status || !r->matched)
        return DG_ENOMEM;
    snprintf(p1, sizeof(p1), "%s/score", gp);
    if ((st = dg__h5_read_1d(ctx, f, p1, H5T_NATIVE_DOUBLE, H5T_FLOAT,
                             r->score, nd, 0, nd)) < 0)
        return st;
    for (uint32_t c = 0; c < r->n_classes; c++)
        for (uint64_t k = r->class_off[c]; k < r->class_off[c + 1]; k++)
            if (!isfinite(r->score[k]) ||
                (k > r->class_off[c] && r->score[k] > r->score[k - 1]))
                return dg__fail(ctx, DG_EFORMAT,
                                "'%s': %s record %llu: scores must descend "
                                "within a class and be finite",
                                dg__h5_fname(f), p1, (unsigned long long)k);
    return DG_OK;
}

/* Version 2: the shapes of agnostic and label_class now, their values on
 * first use. */
static dg_status check_agnostic(dg_ctx *ctx, hid_t f, const char *gp,
                                struct dg_results *r)
{
    dg_status st;
    uint64_t nl = 0, nd = r->n_det;
    size_t nt = (size_t)r->n_iou;
    hid_t ds = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    char p1[700];
    snprintf(p1, sizeof(p1), "%s/agnostic", gp);
    int ok = dg__h5_exists(f, p1) &&
             (ds = H5Dopen2(f, p1, H5P_DEFAULT)) >= 0 &&
             (sp = H5Dget_space(ds)) >= 0 &&
             H5Sget_simple_extent_ndims(sp) == 2 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
             dims[0] == (hsize_t)nt && dims[1] == nd;
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    if (!ok)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s missing or not %lld x %llu",
                        dg__h5_fname(f), p1, (long long)nt,
                        (unsigned long long)nd);
    snprintf(p1, sizeof(p1), "%s/label_class", gp);
    if ((st = dg__h5_len(ctx, f, p1, &nl)) < 0)
        return st;
    if (nl != r->n_gt_total)
        return dg__fail(ctx, DG_EFORMAT,
                        "'%s': %s has %llu values, n_gt is %llu",
                        dg__h5_fname(f), p1, (unsigned long long)nl,
                        (unsigned long long)r->n_gt_total);
    r->agnostic = dg__alloc(ctx, nt * (nd ? nd : 1), 4);
    r->label_class = dg__alloc(ctx, nl ? nl : 1, 4);
    return r->agnostic && r->label_class ? DG_OK : DG_ENOMEM;
}

/* write_shape's attributes (results of type t, group g at gp). */
static dg_status read_shape(dg_ctx *ctx, hid_t f, hid_t g, const char *gp,
                            int t, struct dg_results *r)
{
    char got[32];
    r->iou_type = t;
    if (dg__h5_attr_read_str(ctx, g, "iou_type", got, sizeof(got)) < 0 ||
        strcmp(got, roots[t] + 8))
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s: attribute 'iou_type' "
                        "missing or not '%s'", dg__h5_fname(f), gp,
                        roots[t] + 8);
    if (t == DG_COCO_BOUNDARY)
        return dg__h5_attr_read(ctx, g, "dilation_ratio", H5T_NATIVE_DOUBLE,
                                &r->dilation_ratio, 1) < 0
                   ? dg__fail(ctx, DG_EFORMAT, "'%s': %s: attribute "
                              "'dilation_ratio' missing", dg__h5_fname(f), gp)
                   : DG_OK;
    if (t != DG_COCO_KEYPOINTS || !H5Aexists(g, "kpt_sigma_offsets"))
        return DG_OK;
    uint32_t C = r->n_classes;
    r->kpt_sig_off = dg__alloc(ctx, (size_t)C + 1, sizeof(uint64_t));
    if (!r->kpt_sig_off)
        return DG_ENOMEM;
    dg_status st = dg__h5_attr_read(ctx, g, "kpt_sigma_offsets",
                                    H5T_NATIVE_UINT64, r->kpt_sig_off,
                                    (uint64_t)C + 1);
    if (st < 0)
        return st;
    uint64_t n = r->kpt_sig_off[C];
    for (uint32_t c = 0; c < C; c++)
        if (r->kpt_sig_off[c] > r->kpt_sig_off[c + 1])
            n = UINT64_MAX;
    if (r->kpt_sig_off[0] || n > 240 * (uint64_t)C)
        return dg__fail(ctx, DG_EFORMAT, "'%s': %s: kpt_sigma_offsets do not "
                        "ascend from 0", dg__h5_fname(f), gp);
    if (!(r->kpt_sig = dg__alloc(ctx, n ? n : 1, sizeof(double))))
        return DG_ENOMEM;
    return n ? dg__h5_attr_read(ctx, g, "kpt_sigmas", H5T_NATIVE_DOUBLE,
                                r->kpt_sig, n)
             : DG_OK;
}

dg_status dg__results_read(dg_ctx *ctx, int64_t file, const char *name,
                           int type, struct dg_results **out)
{
    hid_t f = (hid_t)file;
    char gp[600];
    snprintf(gp, sizeof(gp), "/%s/%s", roots[type], name);
    if (!dg__h5_exists(f, gp))
        return DG_ENOTFOUND;
    hid_t g = H5Gopen2(f, gp, H5P_DEFAULT);
    if (g < 0)
        return dg__fail(ctx, DG_EFORMAT, "'%s': '%s' is not a group",
                        dg__h5_fname(f), gp);
    dg_status st = DG_OK;
    struct dg_results *r = dg__results_new(ctx);
    if (!r) {
        H5Gclose(g);
        return DG_ENOMEM;
    }
    if ((st = read_attrs(ctx, f, g, gp, r)) < 0 ||
        (st = read_classes(ctx, f, gp, r)) < 0 ||
        (st = read_scores(ctx, f, gp, r)) < 0 ||
        (r->version >= 2 && (st = check_agnostic(ctx, f, gp, r)) < 0) ||
        (type && (st = read_shape(ctx, f, g, gp, type, r)) < 0)) {
        H5Gclose(g);
        dg__results_destroy(r);
        return st;
    }
    r->src = file;
    snprintf(r->src_group, sizeof(r->src_group), "%s", gp);
    memset(r->row_loaded, 0, sizeof(r->row_loaded));
    memset(r->agn_row_loaded, 0, sizeof(r->agn_row_loaded));
    r->label_class_loaded = 0;
    r->order_loaded = r->matched_loaded = 0;
    H5Gclose(g);
    *out = r;
    return DG_OK;
}
