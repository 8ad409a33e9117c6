/*
 * detgrid._detgrid: the CPython extension under the detgrid package, over
 * the public C API (include/detgrid/) only. It is thin on purpose: it
 * moves arrays in and out (the buffer protocol both ways, so NumPy arrays
 * come in without a copy once contiguous and results go out as buffers
 * NumPy wraps without one), turns a failing status into the exception of
 * detgrid._errors for it with the library's message, and releases the GIL
 * around every call that may take long. What the user sees (COCO,
 * COCOeval, Project, evaluate) is written in Python beside it.
 *
 * Threads: a Project owns its context and a mutex; every call on it (or
 * on results, COCO results and examples taken from it) holds the mutex
 * with the GIL released, so two threads may use two projects at once and
 * one project from two threads in turn.
 *
 * Built with the stable ABI of Python 3.11 (Py_LIMITED_API), so one
 * module serves every later CPython.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detgrid/detgrid.h"

/* ---- errors ------------------------------------------------------------- */

/* detgrid._errors.BY_STATUS: status code -> exception class. */
static PyObject *error_map;

static PyObject *raise_status(dg_status st, const char *msg)
{
    PyObject *key = PyLong_FromLong((long)st);
    PyObject *cls = key && error_map ? PyDict_GetItem(error_map, key) : NULL;
    Py_XDECREF(key);
    if (!cls)
        cls = PyExc_RuntimeError;
    if (!msg || !*msg)
        msg = dg_strerror(st);
    PyErr_SetString(cls, msg);
    return NULL;
}

static PyObject *raise_ctx(dg_ctx *ctx, dg_status st)
{
    return raise_status(st, ctx ? dg_ctx_last_error(ctx) : NULL);
}

/*
 * The message of the last call this thread made on a shared context,
 * copied while it held the project's mutex (LOCKED): once the mutex is
 * released another thread may overwrite the context's message.
 */
static _Thread_local char locked_err[4096];

static void keep_message(dg_ctx *ctx)
{
    snprintf(locked_err, sizeof(locked_err), "%s", dg_ctx_last_error(ctx));
}

/* The exception of st with the message kept by LOCKED. */
static PyObject *raise_locked(dg_status st)
{
    return raise_status(st, locked_err);
}

/* ---- buffers out: memory NumPy wraps without a copy --------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *owner; /* keeps the memory alive, or NULL when owned here */
    void *data;
    Py_ssize_t len;
} BufferObject;

static PyTypeObject *Buffer_Type;

static void Buffer_dealloc(PyObject *o)
{
    BufferObject *b = (BufferObject *)o;
    PyTypeObject *tp = Py_TYPE(o);
    if (b->owner)
        Py_DECREF(b->owner);
    else
        free(b->data);
    PyObject_Free(o);
    Py_DECREF(tp);
}

static int Buffer_getbuffer(PyObject *o, Py_buffer *view, int flags)
{
    BufferObject *b = (BufferObject *)o;
    return PyBuffer_FillInfo(view, o, b->data, b->len, 0, flags);
}

static void Buffer_releasebuffer(PyObject *o, Py_buffer *view)
{
    (void)o;
    (void)view;
}

static PyType_Slot Buffer_slots[] = {
    {Py_tp_dealloc, Buffer_dealloc},
    {Py_bf_getbuffer, Buffer_getbuffer},
    {Py_bf_releasebuffer, Buffer_releasebuffer},
    {Py_tp_doc, "Memory of a detgrid result (numpy.frombuffer wraps it)."},
    {0, NULL}};

static PyType_Spec Buffer_spec = {"detgrid._detgrid.Buffer",
                                  sizeof(BufferObject), 0,
                                  Py_TPFLAGS_DEFAULT, Buffer_slots};

/*
 * A buffer over len bytes at data: owned by owner (a new reference is
 * taken) or, with owner NULL, malloc'd memory freed with the buffer. On
 * failure, memory owned here is freed.
 */
static PyObject *buffer_new(PyObject *owner, void *data, size_t len)
{
    BufferObject *b = PyObject_New(BufferObject, Buffer_Type);
    if (!b) {
        if (!owner)
            free(data);
        return NULL;
    }
    b->owner = owner;
    Py_XINCREF(owner);
    b->data = data;
    b->len = (Py_ssize_t)len;
    return (PyObject *)b;
}

/* A buffer holding a copy of len bytes. */
static PyObject *buffer_copy(const void *data, size_t len)
{
    void *m = malloc(len ? len : 1);
    if (!m)
        return PyErr_NoMemory();
    if (len)
        memcpy(m, data, len);
    return buffer_new(NULL, m, len);
}

/* ---- buffers in --------------------------------------------------------- */

/*
 * The memory of a C-contiguous buffer of n items of itemsize bytes (n < 0:
 * any count, returned in *count); obj None gives NULL when optional. The
 * Python side converts with numpy.ascontiguousarray first.
 */
typedef struct inbuf {
    Py_buffer view;
    int held;
} inbuf;

static int get_in(PyObject *obj, inbuf *b, Py_ssize_t itemsize,
                  Py_ssize_t n, const char *what, int optional,
                  Py_ssize_t *count)
{
    b->held = 0;
    if (obj == Py_None) {
        if (optional) {
            if (count)
                *count = 0;
            return 0;
        }
        PyErr_Format(PyExc_TypeError, "%s: an array is required", what);
        return -1;
    }
    if (PyObject_GetBuffer(obj, &b->view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    b->held = 1;
    if (b->view.len % itemsize ||
        (n >= 0 && b->view.len / itemsize != n)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd "
                     "bytes, got %zd bytes", what, n, itemsize,
                     b->view.len);
        PyBuffer_Release(&b->view);
        b->held = 0;
        return -1;
    }
    if (count)
        *count = b->view.len / itemsize;
    return 0;
}

static void put_in(inbuf *b)
{
    if (b->held)
        PyBuffer_Release(&b->view);
    b->held = 0;
}

static const void *in_ptr(const inbuf *b)
{
    return b->held ? b->view.buf : NULL;
}

/* None, or the exception of st. */
static PyObject *none_or_raise(dg_status st)
{
    if (st < 0)
        return raise_locked(st);
    Py_RETURN_NONE;
}

/* After a library call that was to fill mem (malloc'd, len bytes): a
 * buffer owning it, or, when st is an error, the exception (mem freed). */
static PyObject *filled(dg_status st, void *mem, size_t len)
{
    if (st < 0) {
        free(mem);
        return raise_locked(st);
    }
    return buffer_new(NULL, mem, len);
}

/* ---- small conversions -------------------------------------------------- */

/* A double as a Python float (NaN stays NaN; the Python side maps it). */
static PyObject *num(double v)
{
    return PyFloat_FromDouble(v);
}

static PyObject *str_or_none(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_FromString(s);
}

/* A list of the strings f(obj, i) for i < n. */
static PyObject *str_list(const void *obj, uint32_t n,
                          const char *(*f)(const dg_project *, uint32_t))
{
    PyObject *l = PyList_New(n);
    if (!l)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        PyObject *s = PyUnicode_FromString(f(obj, i));
        if (!s) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SetItem(l, i, s);
    }
    return l;
}

/* ---- device discovery ahead of time ---------------------------------- */

/*
 * Loading the OpenCL platforms (dg_devices_auto_gpu, which the engine's
 * "auto" choice needs once per process) takes tens of milliseconds on one
 * thread where a GPU could be (none without a GPU device node).
 * warm_devices() starts it on a thread of its own while the caller reads
 * files, which is single-threaded too; every library call waits for it
 * first (warm_wait, in LOCKED), so nothing else touches OpenCL while the
 * platforms load, and so does a fork (pthread_atfork), so a child never
 * inherits a half-loaded OpenCL.
 */
static pthread_t warm_th;
static int warm_state; /* 0 not started, 1 running, 2 done */
static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;

static void *warm_main(void *arg)
{
    (void)arg;
    (void)dg_devices_auto_gpu();
    return NULL;
}

static void warm_wait(void)
{
    pthread_mutex_lock(&warm_lock);
    if (warm_state == 1) {
        pthread_join(warm_th, NULL);
        warm_state = 2;
    }
    pthread_mutex_unlock(&warm_lock);
}

static PyObject *mod_warm_devices(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    static int atfork;
    pthread_mutex_lock(&warm_lock);
    if (!atfork)
        atfork = pthread_atfork(warm_wait, NULL, NULL) == 0 ? 1 : -1;
    if (warm_state == 0)
        warm_state = atfork > 0 &&
                             pthread_create(&warm_th, NULL, warm_main,
                                            NULL) == 0
                         ? 1
                         : 2;
    pthread_mutex_unlock(&warm_lock);
    Py_RETURN_NONE;
}

/* ---- Project ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    dg_ctx *ctx;
    dg_project *p;
    pthread_mutex_t lock;
    int lock_ok;
} ProjectObject;

static PyTypeObject *Project_Type;

/* Holding the project's mutex with the GIL released: the library call. */
#define LOCKED_WAIT(self, stmt, wait)                                        \
    do {                                                                     \
        Py_BEGIN_ALLOW_THREADS if (wait) warm_wait();                        \
        pthread_mutex_lock(&(self)->lock);                                   \
        stmt;                                                                \
        keep_message((self)->ctx);                                           \
        pthread_mutex_unlock(&(self)->lock);                                 \
        Py_END_ALLOW_THREADS                                                 \
    } while (0)
#define LOCKED(self, stmt) LOCKED_WAIT(self, stmt, 1)
/* For calls of the import and store layers, which never touch OpenCL: they
 * run while the platforms load (warm_devices). */
#define LOCKED_IO(self, stmt) LOCKED_WAIT(self, stmt, 0)

static int project_ready(ProjectObject *self)
{
    if (!self->p) {
        PyErr_SetString(PyExc_ValueError, "the project is closed");
        return 0;
    }
    return 1;
}

static int Project_init(PyObject *o, PyObject *args, PyObject *kw)
{
    ProjectObject *self = (ProjectObject *)o;
    static char *kwlist[] = {"path", NULL};
    PyObject *path = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &path))
        return -1;
    if (self->p) {
        PyErr_SetString(PyExc_RuntimeError, "project already initialised");
        return -1;
    }
    if (!self->lock_ok) {
        if (pthread_mutex_init(&self->lock, NULL)) {
            PyErr_SetString(PyExc_RuntimeError, "cannot make a mutex");
            return -1;
        }
        self->lock_ok = 1;
    }
    dg_status st = dg_ctx_new(&self->ctx);
    if (st < 0) {
        raise_status(st, NULL);
        return -1;
    }
    if (path == Py_None) {
        st = dg_project_create(self->ctx, &self->p);
    } else {
        PyObject *b;
        if (!PyUnicode_FSConverter(path, &b))
            return -1;
        const char *s = PyBytes_AsString(b);
        dg_ctx *ctx = self->ctx;
        dg_project **pp = &self->p;
        if (s) {
            Py_BEGIN_ALLOW_THREADS
            st = dg_project_open(ctx, s, pp);
            Py_END_ALLOW_THREADS
        }
        Py_DECREF(b);
        if (!s)
            return -1;
    }
    if (st < 0) {
        raise_ctx(self->ctx, st); /* not shared yet */
        return -1;
    }
    return 0;
}

static void project_close(ProjectObject *self)
{
    if (self->lock_ok)
        pthread_mutex_lock(&self->lock);
    dg_project_free(self->p);
    self->p = NULL;
    if (self->lock_ok)
        pthread_mutex_unlock(&self->lock);
}

static void Project_dealloc(PyObject *o)
{
    ProjectObject *self = (ProjectObject *)o;
    PyTypeObject *tp = Py_TYPE(o);
    project_close(self);
    dg_ctx_free(self->ctx);
    if (self->lock_ok)
        pthread_mutex_destroy(&self->lock);
    PyObject_Free(o);
    Py_DECREF(tp);
}

static PyObject *Project_close(PyObject *o, PyObject *unused)
{
    (void)unused;
    ProjectObject *self = (ProjectObject *)o;
    Py_BEGIN_ALLOW_THREADS
    project_close(self);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Project_info(PyObject *o, PyObject *unused)
{
    (void)unused;
    ProjectObject *self = (ProjectObject *)o;
    if (!project_ready(self))
        return NULL;
    dg_project_info in;
    dg_project_get_info(self->p, &in);
    PyObject *d = Py_BuildValue(
        "{s:i,s:I,s:I,s:K,s:I,s:d,s:d}", "format_version", in.format_version,
        "classes", in.n_classes, "frames", in.n_frames, "labels",
        (unsigned long long)in.n_labels, "inferences", in.n_inferences,
        "default_conf", in.default_conf, "default_iou", in.default_iou);
    /* the frame metadata columns and the pictures' folder, as info --json */
    uint32_t nm = dg_project_n_meta(self->p);
    PyObject *meta = d ? PyList_New(nm) : NULL;
    for (uint32_t i = 0; meta && i < nm; i++) {
        PyObject *c = Py_BuildValue(
            "{s:s,s:s}", "name", dg_project_meta_name(self->p, i), "type",
            dg_project_meta_is_num(self->p, i) ? "number" : "text");
        if (!c || PyList_SetItem(meta, (Py_ssize_t)i, c) < 0) {
            Py_CLEAR(meta);
            break;
        }
    }
    const char *dir = dg_project_images_dir(self->p);
    PyObject *img = dir ? PyUnicode_FromString(dir) : Py_NewRef(Py_None);
    if (!meta || !img || PyDict_SetItemString(d, "metadata", meta) < 0 ||
        PyDict_SetItemString(d, "images_dir", img) < 0)
        Py_CLEAR(d);
    Py_XDECREF(meta);
    Py_XDECREF(img);
    return d;
}

static const char *class_name_at(const dg_project *p, uint32_t i)
{
    return dg_project_class_name(p, i);
}

static const char *frame_id_at(const dg_project *p, uint32_t i)
{
    return dg_project_frame_id(p, i);
}

static const char *inference_name_at(const dg_project *p, uint32_t i)
{
    return dg_project_inference_name(p, i);
}

static const char *segment_name_at(const dg_project *p, uint32_t i)
{
    return dg_project_segment_name(p, i);
}

/* names(what): "classes", "frames", "inferences" or "segments". */
static PyObject *Project_names(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *what;
    if (!PyArg_ParseTuple(args, "s", &what) || !project_ready(self))
        return NULL;
    dg_project_info in;
    dg_project_get_info(self->p, &in);
    if (!strcmp(what, "classes"))
        return str_list(self->p, in.n_classes, class_name_at);
    if (!strcmp(what, "frames"))
        return str_list(self->p, in.n_frames, frame_id_at);
    if (!strcmp(what, "inferences"))
        return str_list(self->p, in.n_inferences, inference_name_at);
    if (!strcmp(what, "segments"))
        return str_list(self->p, dg_project_n_segments(self->p),
                        segment_name_at);
    PyErr_Format(PyExc_ValueError, "names: unknown list '%s'", what);
    return NULL;
}

/* ids(what): "classes" (class ids) or "frames" (image ids, -1: none) as
 * an int64 buffer. */
static PyObject *Project_ids(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *what;
    if (!PyArg_ParseTuple(args, "s", &what) || !project_ready(self))
        return NULL;
    dg_project_info in;
    dg_project_get_info(self->p, &in);
    int classes = !strcmp(what, "classes");
    if (!classes && strcmp(what, "frames")) {
        PyErr_Format(PyExc_ValueError, "ids: unknown list '%s'", what);
        return NULL;
    }
    uint32_t n = classes ? in.n_classes : in.n_frames;
    int64_t *v = malloc((n ? n : 1) * sizeof(*v));
    if (!v)
        return PyErr_NoMemory();
    for (uint32_t i = 0; i < n; i++)
        v[i] = classes ? dg_project_class_id(self->p, i)
                       : dg_project_frame_num(self->p, i);
    return buffer_new(NULL, v, (size_t)n * sizeof(*v));
}

static PyObject *Project_inference_size(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name) || !project_ready(self))
        return NULL;
    int64_t i = dg_project_inference_index(self->p, name);
    if (i < 0)
        return raise_status(DG_ENOTFOUND, "no such inference set");
    return PyLong_FromUnsignedLongLong(
        dg_project_inference_size(self->p, (uint32_t)i));
}

/* segments(): [(name, kind, n_frames or None, meta dict, targets)]. */
static PyObject *Project_segments(PyObject *o, PyObject *unused)
{
    (void)unused;
    ProjectObject *self = (ProjectObject *)o;
    if (!project_ready(self))
        return NULL;
    uint32_t n = dg_project_n_segments(self->p);
    PyObject *l = PyList_New(n);
    if (!l)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t *fr;
        uint32_t nf = 0;
        dg_status st;
        LOCKED_IO(self, st = dg_project_segment_frames(self->ctx, self->p, i,
                                                    &fr, &nf));
        dg_segment_targets t;
        dg_project_segment_targets(self->p, i, &t);
        PyObject *meta = PyDict_New();
        if (!meta) {
            Py_DECREF(l);
            return NULL;
        }
        for (uint32_t j = 0; j < dg_project_segment_n_meta(self->p, i); j++) {
            PyObject *v = PyUnicode_FromString(
                dg_project_segment_meta_value(self->p, i, j));
            if (!v || PyDict_SetItemString(
                          meta, dg_project_segment_meta_key(self->p, i, j),
                          v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(meta);
                Py_DECREF(l);
                return NULL;
            }
            Py_DECREF(v);
        }
        PyObject *frames = NULL;
        if (st >= 0)
            frames = buffer_copy(fr, (size_t)nf * sizeof(*fr));
        else {
            frames = Py_None;
            Py_INCREF(frames);
        }
        PyObject *it = Py_BuildValue(
            "(ssNN(dddddd))", dg_project_segment_name(self->p, i),
            dg_segment_kind_name(dg_project_segment_kind(self->p, i)), frames,
            meta, t.precision, t.recall, t.f1, t.ap, t.conf, t.iou);
        if (!it) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SetItem(l, i, it);
    }
    return l;
}

static PyObject *Project_set_device(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *spec = NULL;
    int fallback = 1;
    if (!PyArg_ParseTuple(args, "|zp", &spec, &fallback))
        return NULL;
    dg_status st;
    LOCKED(self, st = dg_ctx_set_device(self->ctx, spec));
    if (st < 0)
        return raise_locked(st);
    dg_ctx_set_fallback(self->ctx, fallback);
    Py_RETURN_NONE;
}

static PyObject *Project_set_threads(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    unsigned n;
    if (!PyArg_ParseTuple(args, "I", &n))
        return NULL;
    LOCKED(self, dg_ctx_set_threads(self->ctx, n));
    Py_RETURN_NONE;
}

/* set_iou_type(t): the IoU type (DG_COCO_*) every query reads from. */
static PyObject *Project_set_iou_type(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    int t;
    dg_status st;
    if (!PyArg_ParseTuple(args, "i", &t) || !project_ready(self))
        return NULL;
    LOCKED(self, st = dg_project_set_iou_type(self->ctx, self->p, t));
    if (st < 0)
        return raise_locked(st);
    Py_RETURN_NONE;
}

static PyObject *Project_take_warnings(PyObject *o, PyObject *unused)
{
    (void)unused;
    ProjectObject *self = (ProjectObject *)o;
    PyObject *r;
    pthread_mutex_lock(&self->lock);
    r = PyUnicode_FromString(dg_ctx_take_warnings(self->ctx));
    pthread_mutex_unlock(&self->lock);
    return r;
}

static PyObject *Project_import_coco(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    PyObject *path;
    const char *name = NULL;
    int replace = 0, masks = 1;
    if (!PyArg_ParseTuple(args, "O&|zpp", PyUnicode_FSConverter, &path,
                          &name, &replace, &masks))
        return NULL;
    if (!project_ready(self)) {
        Py_DECREF(path);
        return NULL;
    }
    const char *s = PyBytes_AsString(path);
    dg_status st = DG_OK;
    dg_coco_import_opts io;
    dg_coco_import_opts_init(&io);
    io.skip_masks = !masks;
    if (s)
        LOCKED_IO(self, st = name ? dg_import_coco_dt(self->ctx, self->p, s,
                                                   name, replace, NULL)
                               : dg_import_coco_gt(self->ctx, self->p, s,
                                                   &io));
    Py_DECREF(path);
    if (!s)
        return NULL;
    return none_or_raise(st);
}

/* The category names of import_arrays_gt: a list of str, or None. */
static int names_in(PyObject *l, uint32_t n, const char ***out)
{
    *out = NULL;
    if (l == Py_None)
        return 0;
    if (!PyList_Check(l) || PyList_Size(l) != (Py_ssize_t)n) {
        PyErr_SetString(PyExc_ValueError, "category names: a list of one "
                                          "string per category id");
        return -1;
    }
    const char **v = malloc((n ? n : 1) * sizeof(*v));
    if (!v) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        PyObject *s = PyList_GetItem(l, i);
        v[i] = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, NULL)
                                       : NULL;
        if (!v[i]) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "category names[%u]: not a "
                             "string", i);
            free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
}

/*
 * import_arrays(source, name, replace, image_id, category_id, bbox, score,
 * area, iscrowd, ignore, img_ids, img_w, img_h, cat_ids, cat_names):
 * name None imports ground truth (the images and categories given),
 * else detections as that set.
 */
static PyObject *Project_import_arrays(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *source, *name;
    int replace;
    PyObject *a[11], *names;
    if (!PyArg_ParseTuple(args, "szpOOOOOOOOOOOO", &source, &name, &replace,
                          &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6],
                          &a[7], &a[8], &a[9], &a[10], &names))
        return NULL;
    if (!project_ready(self))
        return NULL;
    inbuf b[11];
    memset(b, 0, sizeof(b));
    Py_ssize_t n, n_img = 0, n_cat = 0;
    const char **cn = NULL;
    PyObject *ret = NULL;
    if (get_in(a[0], &b[0], 8, -1, "image_id", 0, &n) < 0 ||
        get_in(a[1], &b[1], 8, n, "category_id", 0, NULL) < 0 ||
        get_in(a[2], &b[2], 8, 4 * n, "bbox", 0, NULL) < 0 ||
        get_in(a[3], &b[3], 8, n, "score", !!(name == NULL), NULL) < 0 ||
        get_in(a[4], &b[4], 8, n, "area", 1, NULL) < 0 ||
        get_in(a[5], &b[5], 1, n, "iscrowd", 1, NULL) < 0 ||
        get_in(a[6], &b[6], 1, n, "ignore", 1, NULL) < 0 ||
        get_in(a[7], &b[7], 8, -1, "image ids", name != NULL, &n_img) < 0 ||
        get_in(a[8], &b[8], 8, n_img, "image widths", 1, NULL) < 0 ||
        get_in(a[9], &b[9], 8, n_img, "image heights", 1, NULL) < 0 ||
        get_in(a[10], &b[10], 8, -1, "category ids", name != NULL,
               &n_cat) < 0)
        goto out;
    if (n_img > UINT32_MAX || n_cat > UINT32_MAX) {
        raise_status(DG_ERANGE, "too many images or categories");
        goto out;
    }
    if (!name && names_in(names, (uint32_t)n_cat, &cn) < 0)
        goto out;
    dg_array_boxes bx = {(uint64_t)n, in_ptr(&b[0]), in_ptr(&b[1]),
                         in_ptr(&b[2]), in_ptr(&b[3]), in_ptr(&b[4]),
                         in_ptr(&b[5]), in_ptr(&b[6])};
    dg_array_images im = {(uint32_t)n_img, in_ptr(&b[7]), in_ptr(&b[8]),
                          in_ptr(&b[9])};
    dg_array_categories ca = {(uint32_t)n_cat, in_ptr(&b[10]), cn};
    dg_status st;
    LOCKED_IO(self, st = name ? dg_import_arrays_dt(self->ctx, self->p, source,
                                                 &bx, name, replace)
                           : dg_import_arrays_gt(self->ctx, self->p, source,
                                                 &im, &ca, &bx));
    if (st < 0)
        raise_locked(st);
    else
        ret = Py_NewRef(Py_None);
out:
    free(cn);
    for (int i = 0; i < 11; i++)
        put_in(&b[i]);
    return ret;
}

static PyObject *Project_remove_inferences(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name) || !project_ready(self))
        return NULL;
    dg_status st;
    LOCKED_IO(self,
              st = dg_project_remove_inferences(self->ctx, self->p, name));
    return none_or_raise(st);
}

static PyObject *Project_save(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    PyObject *path;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path))
        return NULL;
    const char *s = PyBytes_AsString(path);
    dg_status st = DG_OK;
    if (s && project_ready(self))
        LOCKED_IO(self, st = dg_project_save(self->ctx, self->p, s));
    else
        s = NULL;
    Py_DECREF(path);
    if (!s)
        return NULL;
    return none_or_raise(st);
}

static PyObject *Project_set_defaults(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    double conf, iou;
    if (!PyArg_ParseTuple(args, "dd", &conf, &iou) || !project_ready(self))
        return NULL;
    dg_status st;
    LOCKED_IO(self,
              st = dg_project_set_defaults(self->ctx, self->p, conf, iou));
    return none_or_raise(st);
}

/* eval(name, iou buffer or None, memory_budget, iou_type): the timings. */
static PyObject *Project_eval(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    PyObject *iou_obj;
    unsigned long long budget = 0;
    int iou_type = DG_COCO_BBOX;
    if (!PyArg_ParseTuple(args, "sO|Ki", &name, &iou_obj, &budget,
                          &iou_type) ||
        !project_ready(self))
        return NULL;
    dg_eval_opts eo;
    dg_eval_opts_init(&eo);
    eo.iou_type = iou_type;
    double dflt[DG_MAX_IOU_THRESHOLDS];
    inbuf ib;
    Py_ssize_t n;
    if (get_in(iou_obj, &ib, 8, -1, "iou", 1, &n) < 0)
        return NULL;
    const double *iou = in_ptr(&ib);
    if (!iou)
        n = dg_default_iou_thresholds(dflt, DG_MAX_IOU_THRESHOLDS);
    if (n > DG_MAX_IOU_THRESHOLDS) {
        put_in(&ib);
        return raise_status(DG_ERANGE, "too many IoU thresholds");
    }
    dg_status st;
    dg_eval_stats es;
    LOCKED(self, {
        dg_ctx_set_memory_budget(self->ctx, budget);
        st = dg_eval_with(self->ctx, self->p, name, iou ? iou : dflt, (int)n,
                          &eo);
        dg_eval_get_stats(self->ctx, &es);
    });
    put_in(&ib);
    if (st < 0)
        return raise_locked(st);
    return Py_BuildValue("{s:d,s:d,s:d,s:d,s:s}", "load_s", es.load_s,
                         "match_s", es.match_s, "accumulate_s",
                         es.accumulate_s, "total_s", es.total_s, "device",
                         es.device);
}

/* ---- COCO --------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    dg_coco_result r;
} CocoObject;

static PyTypeObject *Coco_Type;

static void Coco_dealloc(PyObject *o)
{
    CocoObject *c = (CocoObject *)o;
    PyTypeObject *tp = Py_TYPE(o);
    dg_coco_result_release(&c->r);
    PyObject_Free(o);
    Py_DECREF(tp);
}

/* The result's fields: sizes, stats, parameters and the arrays as
 * buffers owned by this object. */
static PyObject *Coco_fields(PyObject *o, PyObject *unused)
{
    (void)unused;
    CocoObject *c = (CocoObject *)o;
    const dg_coco_result *r = &c->r;
    size_t K = r->n_cats;
    size_t np_ = (size_t)r->n_iou * r->n_rec * K * (size_t)r->n_area *
                 (size_t)r->n_max_dets;
    size_t nr = (size_t)r->n_iou * K * (size_t)r->n_area *
                (size_t)r->n_max_dets;
    PyObject *stats = PyTuple_New(DG_COCO_N_STATS);
    if (!stats)
        return NULL;
    for (int i = 0; i < DG_COCO_N_STATS; i++)
        PyTuple_SetItem(stats, i, num(r->stats[i]));
    return Py_BuildValue(
        "{s:N,s:I,s:I,s:i,s:i,s:I,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,"
        "s:N,s:N,s:N,s:N,s:K,s:K,s:K,s:s,"
        "s:{s:d,s:d,s:d,s:d,s:d,s:d}}",
        "stats", stats, "T", r->n_iou, "R", r->n_rec, "A", r->n_area, "M",
        r->n_max_dets, "K", r->n_cats,
        "iou", buffer_new(o, r->iou, r->n_iou * sizeof(double)),
        "rec", buffer_new(o, r->rec, r->n_rec * sizeof(double)),
        "max_dets", buffer_new(o, r->max_dets, (size_t)r->n_max_dets *
                                                   sizeof(int)),
        "area_rng", buffer_new(o, r->area_rng, (size_t)r->n_area *
                                                   sizeof(*r->area_rng)),
        "cat_ids", buffer_new(o, r->cat_ids, K * sizeof(int64_t)),
        "cat_class", buffer_new(o, r->cat_class, K * sizeof(uint32_t)),
        "precision", buffer_new(o, r->precision, np_ * sizeof(double)),
        "scores", buffer_new(o, r->scores, np_ * sizeof(double)),
        "recall", buffer_new(o, r->recall, nr * sizeof(double)),
        "ap", buffer_new(o, r->ap, K * sizeof(double)),
        "ap50", buffer_new(o, r->ap50, K * sizeof(double)),
        "ap75", buffer_new(o, r->ap75, K * sizeof(double)),
        "ar100", buffer_new(o, r->ar100, K * sizeof(double)),
        "n_gt", (unsigned long long)r->n_gt, "n_det",
        (unsigned long long)r->n_det, "n_det_dropped",
        (unsigned long long)r->n_det_dropped, "device", r->device, "timing",
        "load_s", r->timing.load_s, "prepare_s", r->timing.prepare_s,
        "match_s", r->timing.match_s, "accumulate_s", r->timing.accumulate_s,
        "summarize_s", r->timing.summarize_s, "total_s", r->timing.total_s);
}

static PyMethodDef Coco_methods[] = {
    {"fields", Coco_fields, METH_NOARGS, "the result's fields"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Coco_slots[] = {{Py_tp_dealloc, Coco_dealloc},
                                   {Py_tp_methods, Coco_methods},
                                   {0, NULL}};

static PyType_Spec Coco_spec = {"detgrid._detgrid.CocoResult",
                                sizeof(CocoObject), 0, Py_TPFLAGS_DEFAULT,
                                Coco_slots};

/* The params dict of coco(): every key optional. */
typedef struct coco_in {
    inbuf b[6];
    const char **lbl;
    dg_coco_params pa;
} coco_in;

static int coco_params_in(PyObject *d, coco_in *ci)
{
    static const char *const key[6] = {"iou_thrs", "rec_thrs", "max_dets",
                                       "area_rng", "cat_ids", "img_ids"};
    Py_ssize_t n[6] = {0};
    memset(ci, 0, sizeof(*ci));
    dg_coco_params_init(&ci->pa);
    for (int i = 0; i < 6; i++) {
        PyObject *v = PyDict_GetItemString(d, key[i]);
        if (v && get_in(v, &ci->b[i], 8, -1, key[i], 1, &n[i]) < 0)
            return -1;
        if (n[i] > UINT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: too long", key[i]);
            return -1;
        }
    }
    ci->pa.iou_thrs = in_ptr(&ci->b[0]);
    ci->pa.n_iou = (uint32_t)n[0];
    ci->pa.rec_thrs = in_ptr(&ci->b[1]);
    ci->pa.n_rec = (uint32_t)n[1];
    ci->pa.max_dets = in_ptr(&ci->b[2]);
    ci->pa.n_max_dets = (uint32_t)n[2];
    ci->pa.area_rng = in_ptr(&ci->b[3]);
    ci->pa.n_area = (uint32_t)(n[3] / 2);
    ci->pa.cat_ids = in_ptr(&ci->b[4]);
    ci->pa.n_cat_ids = (uint32_t)n[4];
    ci->pa.img_ids = in_ptr(&ci->b[5]);
    ci->pa.n_img_ids = (uint32_t)n[5];
    if (n[3] % 2) {
        PyErr_SetString(PyExc_ValueError, "area_rng: pairs of numbers");
        return -1;
    }
    PyObject *lbl = PyDict_GetItemString(d, "area_lbl");
    if (lbl && lbl != Py_None) {
        Py_ssize_t m = PyList_Check(lbl) ? PyList_Size(lbl) : -1;
        if (m < 0 || m > UINT32_MAX) {
            PyErr_SetString(PyExc_TypeError, "area_lbl: a list of strings");
            return -1;
        }
        ci->lbl = malloc((size_t)(m ? m : 1) * sizeof(*ci->lbl));
        if (!ci->lbl) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *s = PyList_GetItem(lbl, i);
            /* A label that is not a string matches nothing. */
            ci->lbl[i] = PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, NULL)
                                            : NULL;
            if (PyErr_Occurred())
                return -1;
        }
        ci->pa.area_lbl = ci->lbl;
        ci->pa.n_area_lbl = (uint32_t)m;
    }
    PyObject *uc = PyDict_GetItemString(d, "use_cats");
    if (uc) {
        int v = PyObject_IsTrue(uc);
        if (v < 0)
            return -1;
        ci->pa.use_cats = v;
    }
    return 0;
}

static void coco_params_out(coco_in *ci)
{
    for (int i = 0; i < 6; i++)
        put_in(&ci->b[i]);
    free(ci->lbl);
}

/* coco(name, exact_iou, use_ignore, n_threads, params dict or None). */
static PyObject *Project_coco(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    int exact_iou = 0, use_ignore = 0, n_threads = 0;
    PyObject *params = Py_None;
    if (!PyArg_ParseTuple(args, "s|ppiO", &name, &exact_iou, &use_ignore,
                          &n_threads, &params) ||
        !project_ready(self))
        return NULL;
    coco_in ci;
    memset(&ci, 0, sizeof(ci));
    if (params != Py_None &&
        (!PyDict_Check(params) || coco_params_in(params, &ci) < 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "params: a dict");
        coco_params_out(&ci);
        return NULL;
    }
    CocoObject *c = PyObject_New(CocoObject, Coco_Type);
    if (!c) {
        coco_params_out(&ci);
        return NULL;
    }
    memset(&c->r, 0, sizeof(c->r));
    dg_coco_opts opts;
    dg_coco_opts_init(&opts);
    opts.exact_iou = exact_iou;
    opts.use_ignore = use_ignore;
    opts.n_threads = n_threads;
    opts.params = params != Py_None ? &ci.pa : NULL;
    /* The iou type ("bbox", "segm", "boundary", "keypoints") and the
     * keypoints' sigmas, beside the params. */
    PyObject *it = params != Py_None ? PyDict_GetItemString(params, "iou_type")
                                     : NULL;
    if (it && it != Py_None) {
        const char *tn =
            PyUnicode_Check(it) ? PyUnicode_AsUTF8AndSize(it, NULL) : NULL;
        opts.iou_type = tn ? dg_coco_iou_type_parse(tn) : -1;
        if (opts.iou_type < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "iouType: bbox, segm, "
                                "boundary or keypoints");
            coco_params_out(&ci);
            Py_DECREF(c);
            return NULL;
        }
    }
    /* A list of floats (the keypoints' sigmas). */
    double sig[DG_COCO_MAX_SIGMAS];
    PyObject *so = params != Py_None ? PyDict_GetItemString(params,
                                                            "kpt_sigmas")
                                     : NULL;
    if (so && so != Py_None) {
        Py_ssize_t m = PyList_Check(so) ? PyList_Size(so) : -1;
        if (m < 1 || m > DG_COCO_MAX_SIGMAS) {
            PyErr_SetString(PyExc_ValueError, "kpt_oks_sigmas: 1 to 240 "
                            "numbers");
            coco_params_out(&ci);
            Py_DECREF(c);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < m; i++)
            sig[i] = PyFloat_AsDouble(PyList_GetItem(so, i));
        if (PyErr_Occurred()) {
            coco_params_out(&ci);
            Py_DECREF(c);
            return NULL;
        }
        opts.kpt_sigmas = sig;
        opts.n_kpt_sigmas = (int)m;
    }
    dg_status st;
    LOCKED(self, st = dg_coco_evaluate(self->ctx, self->p, name, &opts,
                                       &c->r));
    coco_params_out(&ci);
    if (st < 0) {
        Py_DECREF(c);
        return raise_locked(st);
    }
    return (PyObject *)c;
}

/* ---- Results ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    ProjectObject *proj;
    dg_results *r;
} ResultsObject;

static PyTypeObject *Results_Type;

static void Results_dealloc(PyObject *o)
{
    ResultsObject *r = (ResultsObject *)o;
    PyTypeObject *tp = Py_TYPE(o);
    if (r->proj) {
        pthread_mutex_lock(&r->proj->lock);
        dg_results_free(r->r);
        pthread_mutex_unlock(&r->proj->lock);
        Py_DECREF((PyObject *)r->proj);
    }
    PyObject_Free(o);
    Py_DECREF(tp);
}

static PyObject *Project_results(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name) || !project_ready(self))
        return NULL;
    dg_results *r = NULL;
    dg_status st;
    LOCKED_IO(self, st = dg_results_load(self->ctx, self->p, name, &r));
    if (st < 0)
        return raise_locked(st);
    ResultsObject *ro = PyObject_New(ResultsObject, Results_Type);
    if (!ro) {
        LOCKED(self, dg_results_free(r));
        return NULL;
    }
    ro->proj = self;
    Py_INCREF((PyObject *)self);
    ro->r = r;
    return (PyObject *)ro;
}

#define RES_LOCKED(ro, stmt) LOCKED((ro)->proj, stmt)

static int results_ready(ResultsObject *ro)
{
    return project_ready(ro->proj);
}

static PyObject *Results_info(PyObject *o, PyObject *unused)
{
    (void)unused;
    ResultsObject *ro = (ResultsObject *)o;
    int n = dg_results_n_iou(ro->r);
    PyObject *iou = PyList_New(n);
    if (!iou)
        return NULL;
    for (int i = 0; i < n; i++)
        PyList_SetItem(iou, i, num(dg_results_iou(ro->r, i)));
    return Py_BuildValue("{s:N,s:I,s:K,s:s,s:i}", "iou", iou, "classes",
                         dg_results_n_classes(ro->r), "detections",
                         (unsigned long long)dg_results_n_det(ro->r),
                         "device", dg_results_device(ro->r), "confusion",
                         dg_results_has_confusion(ro->r));
}

/* find_iou(t): the index of a stored threshold. */
static PyObject *Results_find_iou(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double t;
    if (!PyArg_ParseTuple(args, "d", &t))
        return NULL;
    int i;
    RES_LOCKED(ro, i = dg_results_find_iou(ro->proj->ctx, ro->r, t));
    if (i < 0)
        return raise_locked((dg_status)i);
    return PyLong_FromLong(i);
}

/* counts(conf, t): K x 5 uint64 (tp, fp, fn, n_gt, n_det). */
static PyObject *Results_counts(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double conf;
    int t;
    if (!PyArg_ParseTuple(args, "di", &conf, &t) || !results_ready(ro))
        return NULL;
    uint32_t K = dg_results_n_classes(ro->r);
    dg_counts *c = malloc((K ? K : 1) * sizeof(*c));
    if (!c)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_results_counts(ro->proj->ctx, ro->r, conf, t, c));
    return filled(st, c, (size_t)K * sizeof(*c));
}

/* sweep(cls, t): n points of (conf double, tp, fp, fn uint64). */
static PyObject *Results_sweep(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    unsigned cls;
    int t;
    if (!PyArg_ParseTuple(args, "Ii", &cls, &t) || !results_ready(ro))
        return NULL;
    dg_sweep_point *pts = NULL;
    uint64_t n = 0;
    dg_status st;
    RES_LOCKED(ro, st = dg_results_sweep(ro->proj->ctx, ro->r, cls, t, &pts,
                                         &n));
    return filled(st, pts, (size_t)n * sizeof(*pts));
}

/* sweep_micro(t): (every class pooled: the sweep points buffer, n_gt). */
static PyObject *Results_sweep_micro(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    int t;
    if (!PyArg_ParseTuple(args, "i", &t) || !results_ready(ro))
        return NULL;
    dg_sweep_point *pts = NULL;
    uint64_t n = 0, n_gt = 0;
    dg_status st;
    RES_LOCKED(ro, st = dg_results_sweep_micro(ro->proj->ctx, ro->r, t, &pts,
                                               &n, &n_gt));
    PyObject *b = filled(st, pts, (size_t)n * sizeof(*pts));
    return b ? Py_BuildValue("(NK)", b, (unsigned long long)n_gt) : NULL;
}

/* score_range(): the least and greatest score (NaN, NaN: none). */
static PyObject *Results_score_range(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    (void)args;
    if (!results_ready(ro))
        return NULL;
    double lo, hi;
    dg_results_score_range(ro->r, &lo, &hi);
    return Py_BuildValue("(dd)", lo, hi);
}

/* confusion(conf, t): ((K+1)^2 uint64 buffer, n_ignored). */
static PyObject *Results_confusion(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double conf;
    int t;
    if (!PyArg_ParseTuple(args, "di", &conf, &t) || !results_ready(ro))
        return NULL;
    size_t K1 = (size_t)dg_results_n_classes(ro->r) + 1;
    uint64_t *m = calloc(K1 * K1, sizeof(*m)), ign = 0;
    if (!m)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_confusion_matrix(ro->proj->ctx, ro->r, conf, t, m,
                                            &ign));
    if (st < 0) {
        free(m);
        return raise_locked(st);
    }
    return Py_BuildValue("(NK)", buffer_new(NULL, m, K1 * K1 * sizeof(*m)),
                         (unsigned long long)ign);
}

static PyObject *box4(const double *b)
{
    return Py_BuildValue("(dddd)", b[0], b[1], b[2], b[3]);
}

/* examples(conf, t, gt_class, pred_class, sort, ascending, offset,
 * limit): (total, [(frame, frame_id, gt_class, gt_index, gt_box,
 * pred_class, det_index, det_box, score, iou, area)]). */
static PyObject *Results_examples(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    dg_examples_query q;
    int sort, asc;
    unsigned long long off, lim;
    if (!PyArg_ParseTuple(args, "diiiipKK", &q.conf, &q.iou_idx, &q.gt_class,
                          &q.pred_class, &sort, &asc, &off, &lim) ||
        !results_ready(ro))
        return NULL;
    q.sort = (dg_example_sort)sort;
    q.ascending = asc;
    q.offset = off;
    q.limit = lim;
    dg_examples *e = NULL;
    dg_status st;
    dg_example *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    int oom = 0;
    RES_LOCKED(ro, {
        st = dg_examples_new(ro->proj->ctx, ro->r, ro->proj->p, &q, &e);
        if (st >= 0) {
            total = dg_examples_total(e);
            dg_example x;
            while (dg_examples_next(e, &x)) {
                if (n == cap) {
                    size_t nc = cap ? 2 * cap : 64;
                    dg_example *w = realloc(v, nc * sizeof(*v));
                    if (!w) {
                        oom = 1;
                        break;
                    }
                    v = w;
                    cap = nc;
                }
                v[n++] = x;
            }
        }
    });
    PyObject *ret = NULL, *l = NULL;
    if (st < 0) {
        raise_locked(st);
        goto out;
    }
    if (oom) {
        PyErr_NoMemory();
        goto out;
    }
    if (!(l = PyList_New((Py_ssize_t)n)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const dg_example *x = &v[i];
        PyObject *it = Py_BuildValue(
            "(IsiLNiLNdddLid)", x->frame, x->frame_id, x->gt_class,
            (long long)x->gt_index, box4(x->gt_box), x->pred_class,
            (long long)x->det_index, box4(x->det_box), x->score, x->iou,
            x->area, (long long)x->near_index, (int)x->near_class,
            x->near_score);
        if (!it)
            goto out;
        PyList_SetItem(l, (Py_ssize_t)i, it);
    }
    ret = Py_BuildValue("(KO)", (unsigned long long)total, l);
out:
    Py_XDECREF(l);
    free(v);
    if (e)
        RES_LOCKED(ro, dg_examples_free(e));
    return ret;
}

/* frame_counts(conf, t, cls): n_frames x 5 uint32 (tp, fp, fn, n_gt,
 * n_det). */
static PyObject *Results_frame_counts(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double conf;
    int t;
    long long cls;
    if (!PyArg_ParseTuple(args, "diL", &conf, &t, &cls) || !results_ready(ro))
        return NULL;
    dg_project_info in;
    dg_project_get_info(ro->proj->p, &in);
    dg_frame_counts *c = calloc(in.n_frames ? in.n_frames : 1, sizeof(*c));
    if (!c)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_results_frame_counts(ro->proj->ctx, ro->r,
                                                ro->proj->p, conf, t, cls, c));
    return filled(st, c, (size_t)in.n_frames * sizeof(*c));
}

/* restrict(segment name or None). */
static PyObject *Results_restrict(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    const char *seg = NULL;
    if (!PyArg_ParseTuple(args, "z", &seg) || !results_ready(ro))
        return NULL;
    dg_status st;
    RES_LOCKED(ro, st = dg_results_restrict_segment(ro->proj->ctx, ro->r,
                                                    ro->proj->p, seg));
    return none_or_raise(st);
}

/* ap(t): (per-class float64 buffer, mean). */
static PyObject *Results_ap(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    int t;
    if (!PyArg_ParseTuple(args, "i", &t) || !results_ready(ro))
        return NULL;
    uint32_t K = dg_results_n_classes(ro->r);
    double *v = malloc((K ? K : 1) * sizeof(*v)), mean = NAN;
    if (!v)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_results_ap(ro->proj->ctx, ro->r, t, v, &mean));
    if (st < 0) {
        free(v);
        return raise_locked(st);
    }
    return Py_BuildValue("(Nd)", buffer_new(NULL, v, K * sizeof(*v)), mean);
}

/* segment_counts(conf, t): n_segments x 5 uint64. */
static PyObject *Results_segment_counts(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double conf;
    int t;
    if (!PyArg_ParseTuple(args, "di", &conf, &t) || !results_ready(ro))
        return NULL;
    uint32_t n = dg_project_n_segments(ro->proj->p);
    dg_counts *c = calloc(n ? n : 1, sizeof(*c));
    if (!c)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_results_segment_counts(ro->proj->ctx, ro->r,
                                                  ro->proj->p, conf, t, c));
    return filled(st, c, (size_t)n * sizeof(*c));
}

static PyObject *prf_tuple(dg_prf m)
{
    return Py_BuildValue("(ddd)", m.precision, m.recall, m.f1);
}

static PyObject *prf_ci_tuple(const dg_prf_ci *c)
{
    return Py_BuildValue("(NNN)", prf_tuple(c->point), prf_tuple(c->lo),
                         prf_tuple(c->hi));
}

/* bootstrap(conf, t, resamples, seed, level): ([per class
 * ((p, r, f1) point, lo, hi)], overall). */
static PyObject *Results_bootstrap(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    double conf, level;
    int t;
    unsigned resamples;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "diIKd", &conf, &t, &resamples, &seed,
                          &level) ||
        !results_ready(ro))
        return NULL;
    uint32_t K = dg_results_n_classes(ro->r);
    dg_prf_ci *pc = malloc((K ? K : 1) * sizeof(*pc)), all;
    if (!pc)
        return PyErr_NoMemory();
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.resamples = resamples;
    bo.seed = seed;
    bo.level = level;
    dg_status st;
    RES_LOCKED(ro, st = dg_results_bootstrap(ro->proj->ctx, ro->r,
                                             ro->proj->p, conf, t, &bo, pc,
                                             &all));
    PyObject *l = NULL;
    if (st < 0) {
        free(pc);
        return raise_locked(st);
    }
    if ((l = PyList_New(K))) {
        for (uint32_t k = 0; k < K; k++)
            PyList_SetItem(l, k, prf_ci_tuple(&pc[k]));
    }
    free(pc);
    if (!l)
        return NULL;
    return Py_BuildValue("(NN)", l, prf_ci_tuple(&all));
}

static PyObject *paired_tuple(const dg_prf_paired_ci *x)
{
    return Py_BuildValue("(NNN)", prf_ci_tuple(&x->a), prf_ci_tuple(&x->b),
                         prf_ci_tuple(&x->diff));
}

/* Results of another set of the same project, for the paired analyses. */
static ResultsObject *other_results(ResultsObject *ro, PyObject *o)
{
    if (!PyObject_TypeCheck(o, Results_Type) ||
        ((ResultsObject *)o)->proj != ro->proj) {
        PyErr_SetString(PyExc_TypeError, "the other results must come from "
                                         "the same project");
        return NULL;
    }
    return (ResultsObject *)o;
}

/* paired_bootstrap(rb, conf_a, t_a, conf_b, t_b, resamples, seed, level):
 * ([per class (a, b, diff)], overall), each (point, lo, hi). */
static PyObject *Results_paired_bootstrap(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o, *rb;
    PyObject *other;
    double conf_a, conf_b, level;
    int t_a, t_b;
    unsigned resamples;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OdidiIKd", &other, &conf_a, &t_a, &conf_b,
                          &t_b, &resamples, &seed, &level) ||
        !(rb = other_results(ro, other)) || !results_ready(ro))
        return NULL;
    uint32_t K = dg_results_n_classes(ro->r);
    dg_prf_paired_ci *pc = malloc(((size_t)K + 1) * sizeof(*pc));
    if (!pc)
        return PyErr_NoMemory();
    dg_bootstrap_opts bo;
    dg_bootstrap_opts_init(&bo);
    bo.resamples = resamples;
    bo.seed = seed;
    bo.level = level;
    dg_status st;
    RES_LOCKED(ro, st = dg_results_bootstrap_paired(
                       ro->proj->ctx, ro->r, rb->r, ro->proj->p, conf_a, t_a,
                       conf_b, t_b, &bo, pc, pc + K));
    if (st < 0) {
        free(pc);
        return raise_locked(st);
    }
    PyObject *l = PyList_New(K), *ret = NULL;
    for (uint32_t k = 0; l && k < K; k++)
        PyList_SetItem(l, k, paired_tuple(&pc[k]));
    if (l)
        ret = Py_BuildValue("(NN)", l, paired_tuple(&pc[K]));
    free(pc);
    return ret;
}

/* churn(rb, conf_a, t_a, conf_b, t_b, which): (per-class 2 x K uint64
 * buffer, n_a_only, n_b_only, [(label, frame, cls, box, det, score, iou)]
 * or None when which < 0). */
static PyObject *Results_churn(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o, *rb;
    PyObject *other;
    double conf_a, conf_b;
    int t_a, t_b, which;
    if (!PyArg_ParseTuple(args, "Odidii", &other, &conf_a, &t_a, &conf_b,
                          &t_b, &which) ||
        !(rb = other_results(ro, other)) || !results_ready(ro))
        return NULL;
    uint32_t K = dg_results_n_classes(ro->r);
    uint64_t *pc = calloc(2 * (size_t)K + 1, sizeof(*pc)), na = 0, nb = 0;
    dg_churn_item *items = NULL;
    uint64_t ni = 0;
    if (!pc)
        return PyErr_NoMemory();
    dg_status st;
    RES_LOCKED(ro, st = dg_results_churn(ro->proj->ctx, ro->r, rb->r,
                                         ro->proj->p, conf_a, t_a, conf_b,
                                         t_b, which, pc, &na, &nb,
                                         which >= 0 ? &items : NULL, &ni));
    if (st < 0) {
        free(pc);
        return raise_locked(st);
    }
    PyObject *l = Py_None;
    Py_INCREF(l);
    if (which >= 0) {
        Py_DECREF(l);
        l = PyList_New((Py_ssize_t)ni);
        for (uint64_t i = 0; l && i < ni; i++) {
            const dg_churn_item *it = &items[i];
            PyObject *x = Py_BuildValue(
                "(KIINKdd)", (unsigned long long)it->label, it->frame,
                it->cls, box4(it->box), (unsigned long long)it->det,
                it->score, it->iou);
            if (!x) {
                Py_CLEAR(l);
                break;
            }
            PyList_SetItem(l, (Py_ssize_t)i, x);
        }
    }
    free(items);
    if (!l) {
        free(pc);
        return NULL;
    }
    return Py_BuildValue("(NKKN)",
                         buffer_new(NULL, pc, 2 * (size_t)K * sizeof(*pc)),
                         (unsigned long long)na, (unsigned long long)nb, l);
}

/*
 * What a pattern fails at (dg_pattern_explain) as ([(class, errors,
 * chances, errors_all, chances_all, lift, z)], [(type name, count,
 * count_all)] in dg_explain_tide_order's order, (counts of every type),
 * (overall counts), [representative frames]).
 */
static PyObject *explain_tuple(const dg_pattern_explain *e)
{
    PyObject *cls = PyList_New(0), *types = PyList_New(0);
    PyObject *reps = PyList_New(0);
    PyObject *tide = PyTuple_New(DG_TIDE_N), *all = PyTuple_New(DG_TIDE_N);
    int ok = cls && types && reps && tide && all;
    for (int i = 0; ok && i < DG_EXPLAIN_CLASSES; i++) {
        const dg_class_lift *l = &e->cls[i];
        if (l->cls == UINT32_MAX)
            break;
        PyObject *x = Py_BuildValue(
            "(IKKKKdd)", l->cls, (unsigned long long)l->errors,
            (unsigned long long)l->chances, (unsigned long long)l->errors_all,
            (unsigned long long)l->chances_all, l->lift, l->z);
        ok = x && PyList_Append(cls, x) == 0;
        Py_XDECREF(x);
    }
    dg_tide_type order[DG_TIDE_N];
    int n = dg_explain_tide_order(e, order);
    for (int i = 0; ok && i < n; i++) {
        PyObject *x = Py_BuildValue("(sKK)", dg_tide_type_name(order[i]),
                                    (unsigned long long)e->tide[order[i]],
                                    (unsigned long long)e->tide_all[order[i]]);
        ok = x && PyList_Append(types, x) == 0;
        Py_XDECREF(x);
    }
    for (int i = 0; ok && i < DG_TIDE_N; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(e->tide[i]);
        PyObject *y = PyLong_FromUnsignedLongLong(e->tide_all[i]);
        ok = x && y;
        if (x)
            PyTuple_SetItem(tide, i, x);
        if (y)
            PyTuple_SetItem(all, i, y);
    }
    for (int i = 0; ok && i < DG_EXPLAIN_FRAMES; i++) {
        if (e->rep_frame[i] == UINT32_MAX)
            break;
        PyObject *x = PyLong_FromUnsignedLong(e->rep_frame[i]);
        ok = x && PyList_Append(reps, x) == 0;
        Py_XDECREF(x);
    }
    if (ok)
        return Py_BuildValue("(NNNNN)", cls, types, tide, all, reps);
    Py_XDECREF(cls);
    Py_XDECREF(types);
    Py_XDECREF(reps);
    Py_XDECREF(tide);
    Py_XDECREF(all);
    return NULL;
}

/* embeddings(model, crops, conf, t, only, layout, cluster, k, seed): the
 * analysis of `detgrid embeddings` as a dict (points as tuples, clusters
 * as tuples). */
static PyObject *Results_embeddings(PyObject *o, PyObject *args)
{
    ResultsObject *ro = (ResultsObject *)o;
    dg_embeddings_opts eo;
    dg_embeddings_opts_init(&eo);
    int crops, layout, cluster, only, t, k;
    unsigned long long seed;
    double conf;
    const char *model;
    if (!PyArg_ParseTuple(args, "spdiipiiK", &model, &crops, &conf, &t,
                          &only, &layout, &cluster, &k, &seed) ||
        !results_ready(ro))
        return NULL;
    eo.model = model;
    eo.crops = crops;
    eo.conf = conf;
    eo.iou_idx = t;
    eo.only = only;
    eo.layout = layout;
    eo.cluster = cluster;
    eo.k = k;
    eo.seed = seed;
    dg_embeddings_result res;
    memset(&res, 0, sizeof(res));
    dg_status st;
    RES_LOCKED(ro, st = dg_embeddings_evaluate(ro->proj->ctx, ro->r,
                                               ro->proj->p, &eo, &res));
    if (st < 0) {
        dg_embeddings_result_release(&res);
        return raise_locked(st);
    }
    PyObject *pts = PyList_New((Py_ssize_t)res.n), *cl = NULL, *ret = NULL;
    for (uint64_t i = 0; pts && i < res.n; i++) {
        PyObject *x;
        double px = res.xy[2 * i], py = res.xy[2 * i + 1];
        long long a = res.assign ? (long long)res.assign[i] : -1;
        if (crops) {
            const dg_crop *c = &res.crop[res.point[i]];
            x = Py_BuildValue("(iiIIKdddL)", c->kind, c->outcome, c->frame,
                              c->cls, (unsigned long long)c->index, c->score,
                              px, py, a);
        } else {
            uint32_t f = (uint32_t)res.point[i];
            const dg_frame_counts *c = &res.frame_counts[f];
            x = Py_BuildValue("(IIIIIIddL)", f, c->tp, c->fp, c->fn, c->n_gt,
                              c->n_det, px, py, a);
        }
        if (!x) {
            Py_CLEAR(pts);
            break;
        }
        PyList_SetItem(pts, (Py_ssize_t)i, x);
    }
    if (pts && res.clusters && (cl = PyList_New(res.k))) {
        for (uint32_t c = 0; c < res.k; c++) {
            const dg_pattern_cluster *q = &res.clusters[c];
            PyObject *ex = explain_tuple(&q->explain);
            PyObject *x = ex ? Py_BuildValue("(IKKKKNddddddN)", q->id,
                                             (unsigned long long)q->size,
                                             (unsigned long long)q->counts.tp,
                                             (unsigned long long)q->counts.fp,
                                             (unsigned long long)q->counts.fn,
                                             prf_tuple(q->prf), q->deficit,
                                             q->fp_share, q->fn_share, q->z,
                                             q->p, q->q, ex)
                             : NULL;
            if (!x) {
                Py_CLEAR(cl);
                break;
            }
            PyList_SetItem(cl, c, x);
        }
    }
    /* How k was chosen: (method, sample, [(k, score)]) or None. */
    PyObject *kc = NULL;
    if (pts && res.clusters && res.k_chosen) {
        const dg_k_choice *c = &res.k_choice;
        PyObject *sc = PyList_New(0);
        for (uint32_t k = 1; sc && k <= c->k_max + 1 &&
                             k <= DG_K_CHOICE_MAX + 1;
             k++) {
            if (isnan(c->score[k]))
                continue;
            PyObject *e = Py_BuildValue("(Id)", k, c->score[k]);
            if (!e || PyList_Append(sc, e) < 0)
                Py_CLEAR(sc);
            Py_XDECREF(e);
        }
        kc = sc ? Py_BuildValue("(sKN)", dg_choose_k_name(c->method),
                                (unsigned long long)c->sample, sc)
                : NULL;
    } else if (pts) {
        kc = Py_None;
        Py_INCREF(kc);
    }
    if (pts && kc && (!res.clusters || cl))
        ret = Py_BuildValue(
            "{s:I,s:N,s:(dd),s:I,s:I,s:N,s:O,s:d,s:d,s:s}", "dim", res.dim,
            "points", pts, "var", res.var[0], res.var[1], "k", res.k,
            "k_fit", res.k_fit, "k_choice", kc, "clusters",
            cl ? cl : Py_None, "seconds_projection", res.seconds_projection,
            "seconds_clustering", res.seconds_clustering, "device",
            res.device);
    else {
        Py_XDECREF(pts);
        Py_XDECREF(kc);
    }
    Py_XDECREF(cl);
    dg_embeddings_result_release(&res);
    return ret;
}

static PyMethodDef Results_methods[] = {
    {"embeddings", Results_embeddings, METH_VARARGS, NULL},
    {"paired_bootstrap", Results_paired_bootstrap, METH_VARARGS, NULL},
    {"churn", Results_churn, METH_VARARGS, NULL},
    {"info", Results_info, METH_NOARGS, NULL},
    {"find_iou", Results_find_iou, METH_VARARGS, NULL},
    {"counts", Results_counts, METH_VARARGS, NULL},
    {"sweep", Results_sweep, METH_VARARGS, NULL},
    {"sweep_micro", Results_sweep_micro, METH_VARARGS, NULL},
    {"score_range", Results_score_range, METH_NOARGS, NULL},
    {"confusion", Results_confusion, METH_VARARGS, NULL},
    {"examples", Results_examples, METH_VARARGS, NULL},
    {"frame_counts", Results_frame_counts, METH_VARARGS, NULL},
    {"restrict", Results_restrict, METH_VARARGS, NULL},
    {"ap", Results_ap, METH_VARARGS, NULL},
    {"segment_counts", Results_segment_counts, METH_VARARGS, NULL},
    {"bootstrap", Results_bootstrap, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Results_slots[] = {{Py_tp_dealloc, Results_dealloc},
                                      {Py_tp_methods, Results_methods},
                                      {0, NULL}};

static PyType_Spec Results_spec = {"detgrid._detgrid.Results",
                                   sizeof(ResultsObject), 0,
                                   Py_TPFLAGS_DEFAULT, Results_slots};

/* ---- the analyses that read boxes: VOC, TIDE, label errors -------------- */

/* voc(name, protocol, iou, plus1, exact_recall_points): (map,
 * n_map_classes, [(n_gt, n_difficult, n_det, n_ignored, tp, fp, ap,
 * score, precision, recall buffers)]). */
static PyObject *Project_voc(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    dg_voc_opts vo;
    dg_voc_opts_init(&vo);
    int protocol = (int)vo.protocol;
    if (!PyArg_ParseTuple(args, "sidpp", &name, &protocol, &vo.iou,
                          &vo.plus1, &vo.exact_recall_points) ||
        !project_ready(self))
        return NULL;
    vo.protocol = (dg_voc_protocol)protocol;
    dg_voc_result r;
    dg_status st;
    LOCKED(self, st = dg_voc_evaluate(self->ctx, self->p, name, &vo, &r));
    if (st < 0)
        return raise_locked(st);
    PyObject *l = PyList_New(r.n_classes), *ret = NULL;
    for (uint32_t c = 0; l && c < r.n_classes; c++) {
        const dg_voc_class *k = &r.classes[c];
        size_t nb = (size_t)k->n_points * sizeof(double);
        PyObject *it = Py_BuildValue(
            "(KKKKKKdNNN)", (unsigned long long)k->n_gt,
            (unsigned long long)k->n_difficult, (unsigned long long)k->n_det,
            (unsigned long long)k->n_ignored, (unsigned long long)k->tp,
            (unsigned long long)k->fp, k->ap, buffer_copy(k->score, nb),
            buffer_copy(k->precision, nb), buffer_copy(k->recall, nb));
        if (!it) {
            Py_CLEAR(l);
            break;
        }
        PyList_SetItem(l, c, it);
    }
    if (l)
        ret = Py_BuildValue("(dIN)", r.map, r.n_map_classes, l);
    dg_voc_result_release(&r);
    return ret;
}

/* tide(name, conf, fg_iou, bg_iou, max_dets): a dict of the result. */
static PyObject *Project_tide(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    dg_tide_opts to;
    dg_tide_opts_init(&to);
    long long md = to.max_dets;
    if (!PyArg_ParseTuple(args, "sdddL", &name, &to.conf, &to.fg_iou,
                          &to.bg_iou, &md) ||
        !project_ready(self))
        return NULL;
    to.max_dets = md;
    dg_tide_result r;
    dg_status st;
    LOCKED(self, st = dg_tide_evaluate(self->ctx, self->p, name, &to, &r));
    if (st < 0)
        return raise_locked(st);
    PyObject *ret = Py_BuildValue(
        "{s:d,s:d,s:d,s:L,s:I,s:N,s:N,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d,"
        "s:N,s:d,s:d,s:N,s:N,s:N,s:d}",
        "conf", r.conf, "fg_iou", r.fg_iou, "bg_iou", r.bg_iou, "max_dets",
        (long long)r.max_dets, "n_classes", r.n_classes, "count",
        buffer_copy(r.count,
                    (size_t)r.n_classes * DG_TIDE_N * sizeof(*r.count)),
        "total", buffer_copy(r.total, sizeof(r.total)), "tp",
        (unsigned long long)r.tp, "fp", (unsigned long long)r.fp, "ignored",
        (unsigned long long)r.ignored, "fn", (unsigned long long)r.fn,
        "fn_fixable", (unsigned long long)r.fn_fixable, "n_gt",
        (unsigned long long)r.n_gt, "n_det", (unsigned long long)r.n_det,
        "n_dropped", (unsigned long long)r.n_dropped, "ap", r.ap, "dap",
        buffer_copy(r.dap, sizeof(r.dap)), "dap_fp", r.dap_fp, "dap_fn",
        r.dap_fn, "class_ap",
        buffer_copy(r.class_ap, (size_t)r.n_classes * sizeof(double)),
        "det_type", buffer_copy(r.det_type, (size_t)r.n_det_records),
        "label_type", buffer_copy(r.label_type, (size_t)r.n_label_records),
        "seconds", r.seconds);
    dg_tide_result_release(&r);
    return ret;
}

/* label_errors(name, iou, bg_iou, conf, limit, kinds): a dict with the
 * lists of entries (tuples) and their descriptions. */
static PyObject *Project_label_errors(PyObject *o, PyObject *args)
{
    ProjectObject *self = (ProjectObject *)o;
    const char *name;
    dg_label_errors_opts lo;
    dg_label_errors_opts_init(&lo);
    unsigned long long limit = 0;
    if (!PyArg_ParseTuple(args, "sdddKI", &name, &lo.iou, &lo.bg_iou,
                          &lo.conf, &limit, &lo.kinds) ||
        !project_ready(self))
        return NULL;
    lo.limit = limit;
    dg_label_errors_result r;
    dg_status st;
    LOCKED(self, st = dg_label_errors_evaluate(self->ctx, self->p, name, &lo,
                                               &r));
    if (st < 0)
        return raise_locked(st);
    PyObject *lists = PyList_New(DG_LE_N_KINDS), *ret = NULL;
    PyObject *cand = PyList_New(DG_LE_N_KINDS);
    for (int k = 0; lists && cand && k < DG_LE_N_KINDS; k++) {
        PyObject *l = PyList_New((Py_ssize_t)r.n[k]);
        if (!l)
            goto fail;
        PyList_SetItem(lists, k, l);
        PyList_SetItem(cand, k,
                       PyLong_FromUnsignedLongLong(r.n_candidates[k]));
        for (uint64_t i = 0; i < r.n[k]; i++) {
            const dg_label_error *e = &r.list[k][i];
            char why[512];
            dg_label_error_describe(self->p, e, why, sizeof(why));
            PyObject *it = Py_BuildValue(
                "(dILLIINNddds)", e->score, e->frame, (long long)e->label,
                (long long)e->det, e->label_cls, e->det_cls,
                box4(e->label_box), box4(e->det_box), e->conf, e->iou,
                e->aux, why);
            if (!it)
                goto fail;
            PyList_SetItem(l, (Py_ssize_t)i, it);
        }
    }
    if (lists && cand)
        ret = Py_BuildValue("{s:d,s:d,s:d,s:K,s:K,s:K,s:O,s:O,s:d}", "iou",
                            r.iou, "bg_iou", r.bg_iou, "conf", r.conf, "tp",
                            (unsigned long long)r.tp, "fp",
                            (unsigned long long)r.fp, "fn",
                            (unsigned long long)r.fn, "candidates", cand,
                            "lists", lists, "seconds", r.seconds);
fail:
    Py_XDECREF(lists);
    Py_XDECREF(cand);
    dg_label_errors_result_release(&r);
    return ret;
}

/* embedding_models(): the models the project holds. */
static PyObject *Project_embedding_models(PyObject *o, PyObject *unused)
{
    (void)unused;
    ProjectObject *self = (ProjectObject *)o;
    if (!project_ready(self))
        return NULL;
    uint32_t n = dg_project_n_embedding_models(self->p);
    PyObject *l = PyList_New(n);
    for (uint32_t i = 0; l && i < n; i++)
        PyList_SetItem(l, i,
                       PyUnicode_FromString(
                           dg_project_embedding_model(self->p, i)));
    return l;
}

static PyMethodDef Project_methods[] = {
    {"embedding_models", Project_embedding_models, METH_NOARGS, NULL},
    {"close", Project_close, METH_NOARGS, NULL},
    {"info", Project_info, METH_NOARGS, NULL},
    {"names", Project_names, METH_VARARGS, NULL},
    {"ids", Project_ids, METH_VARARGS, NULL},
    {"inference_size", Project_inference_size, METH_VARARGS, NULL},
    {"segments", Project_segments, METH_NOARGS, NULL},
    {"set_device", Project_set_device, METH_VARARGS, NULL},
    {"set_threads", Project_set_threads, METH_VARARGS, NULL},
    {"set_iou_type", Project_set_iou_type, METH_VARARGS, NULL},
    {"take_warnings", Project_take_warnings, METH_NOARGS, NULL},
    {"import_coco", Project_import_coco, METH_VARARGS, NULL},
    {"import_arrays", Project_import_arrays, METH_VARARGS, NULL},
    {"remove_inferences", Project_remove_inferences, METH_VARARGS, NULL},
    {"save", Project_save, METH_VARARGS, NULL},
    {"set_defaults", Project_set_defaults, METH_VARARGS, NULL},
    {"eval", Project_eval, METH_VARARGS, NULL},
    {"coco", Project_coco, METH_VARARGS, NULL},
    {"results", Project_results, METH_VARARGS, NULL},
    {"voc", Project_voc, METH_VARARGS, NULL},
    {"tide", Project_tide, METH_VARARGS, NULL},
    {"label_errors", Project_label_errors, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Project_slots[] = {
    {Py_tp_init, Project_init},
    {Py_tp_dealloc, Project_dealloc},
    {Py_tp_methods, Project_methods},
    {Py_tp_doc, "A detgrid project (the low-level handle; see "
                "detgrid.Project)."},
    {0, NULL}};

static PyType_Spec Project_spec = {
    "detgrid._detgrid.Project", sizeof(ProjectObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, Project_slots};

/* ---- records: COCO's lists of dicts into columns ------------------------ */

typedef struct rec_cols {
    int64_t *image_id, *category_id;
    double *bbox, *score, *area;
    uint8_t *iscrowd, *ignore;
    int has_area, has_ignore;
} rec_cols;

static void rec_cols_free(rec_cols *c)
{
    free(c->image_id);
    free(c->category_id);
    free(c->bbox);
    free(c->score);
    free(c->area);
    free(c->iscrowd);
    free(c->ignore);
}

/* "'<source>': [i]: field 'f': <problem>" as a FormatError. */
static int rec_error(const char *src, Py_ssize_t i, const char *field,
                     const char *what, PyObject *v)
{
    char msg[512];
    PyObject *tn = v ? PyType_GetName(Py_TYPE(v)) : NULL;
    const char *t = tn ? PyUnicode_AsUTF8AndSize(tn, NULL) : NULL;
    PyErr_Clear();
    if (field)
        snprintf(msg, sizeof(msg), "'%s': [%zd]: field '%s': %s%s%s%s", src,
                 i, field, what, t ? " (got " : "", t ? t : "", t ? ")" : "");
    else
        snprintf(msg, sizeof(msg), "'%s': [%zd]: %s%s%s%s", src, i, what,
                 t ? " (got " : "", t ? t : "", t ? ")" : "");
    Py_XDECREF(tn);
    raise_status(DG_EFORMAT, msg);
    return -1;
}

/* A number as a double: int, float or anything with __float__ (NumPy). */
static int rec_num(PyObject *v, double *out)
{
    if (!v || PyUnicode_Check(v) || PyBytes_Check(v) || v == Py_None)
        return -1;
    double d = PyFloat_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    *out = d;
    return 0;
}

/* An integer id: an int, or a float with no fractional part below 2^53. */
static int rec_int(const char *src, Py_ssize_t i, const char *field,
                   PyObject *v, int64_t *out)
{
    if (!v)
        return rec_error(src, i, field, "missing", NULL);
    if (PyLong_Check(v) || (!PyFloat_Check(v) && PyIndex_Check(v))) {
        PyObject *ix = PyNumber_Index(v);
        long long x = ix ? PyLong_AsLongLong(ix) : -1;
        Py_XDECREF(ix);
        if (x == -1 && PyErr_Occurred())
            return rec_error(src, i, field, "out of range", NULL);
        *out = x;
        return 0;
    }
    double d;
    if (rec_num(v, &d) < 0)
        return rec_error(src, i, field, "not a number", v);
    if (!(fabs(d) <= 9007199254740992.0) || d != floor(d))
        return rec_error(src, i, field, "not an integer", NULL);
    *out = (int64_t)d;
    return 0;
}

static int rec_flag(const char *src, Py_ssize_t i, const char *field,
                    PyObject *v, uint8_t *out)
{
    double d;
    if (!v || v == Py_None) {
        *out = 0;
        return 0;
    }
    if (rec_num(v, &d) < 0 || !(d == 0 || d == 1))
        return rec_error(src, i, field, "not 0 or 1", v);
    *out = (uint8_t)d;
    return 0;
}

static int rec_one(const char *src, Py_ssize_t i, PyObject *d, int dets,
                   rec_cols *c)
{
    if (!PyDict_Check(d))
        return rec_error(src, i, NULL, "not an object", d);
    if (rec_int(src, i, "image_id", PyDict_GetItemString(d, "image_id"),
                &c->image_id[i]) < 0 ||
        rec_int(src, i, "category_id", PyDict_GetItemString(d, "category_id"),
                &c->category_id[i]) < 0)
        return -1;
    PyObject *bb = PyDict_GetItemString(d, "bbox");
    if (!bb)
        return rec_error(src, i, "bbox", "missing", NULL);
    if (!PySequence_Check(bb) || PyUnicode_Check(bb))
        return rec_error(src, i, "bbox", "not an array of 4 numbers", bb);
    if (PySequence_Size(bb) != 4) {
        char w[64];
        snprintf(w, sizeof(w), "has %zd values, expected 4 [x, y, width, "
                 "height]", PySequence_Size(bb));
        return rec_error(src, i, "bbox", w, NULL);
    }
    static const char *const part[4] = {"x", "y", "width", "height"};
    for (int k = 0; k < 4; k++) {
        PyObject *v = PySequence_GetItem(bb, k);
        int bad = rec_num(v, &c->bbox[4 * i + k]) < 0;
        if (bad) {
            char w[64];
            snprintf(w, sizeof(w), "%s is not a number", part[k]);
            rec_error(src, i, "bbox", w, v);
        }
        Py_XDECREF(v);
        if (bad)
            return -1;
    }
    if (dets) {
        PyObject *v = PyDict_GetItemString(d, "score");
        if (!v)
            return rec_error(src, i, "score", "missing", NULL);
        if (rec_num(v, &c->score[i]) < 0)
            return rec_error(src, i, "score", "not a number", v);
        return 0;
    }
    PyObject *a = PyDict_GetItemString(d, "area");
    c->area[i] = c->bbox[4 * i + 2] * c->bbox[4 * i + 3];
    if (a && a != Py_None) {
        if (rec_num(a, &c->area[i]) < 0)
            return rec_error(src, i, "area", "not a number", a);
        c->has_area = 1;
    }
    PyObject *ig = PyDict_GetItemString(d, "ignore");
    c->has_ignore |= ig != NULL;
    return rec_flag(src, i, "iscrowd", PyDict_GetItemString(d, "iscrowd"),
                    &c->iscrowd[i]) < 0 ||
                   rec_flag(src, i, "ignore", ig, &c->ignore[i]) < 0
               ? -1
               : 0;
}

/*
 * records(list, source, dets): the columns of COCO annotations (dets 0:
 * image_id, category_id, bbox, area, iscrowd, ignore) or results (dets 1:
 * image_id, category_id, bbox, score) as a dict of buffers; a malformed
 * record is a FormatError naming source, record and field. Values are
 * checked further by the import (dg_import_arrays_*).
 */
static PyObject *mod_records(PyObject *m, PyObject *args)
{
    (void)m;
    PyObject *seq;
    const char *src;
    int dets;
    if (!PyArg_ParseTuple(args, "Osp", &seq, &src, &dets))
        return NULL;
    PyObject *list = PySequence_List(seq);
    if (!list)
        return NULL;
    Py_ssize_t n = PyList_Size(list);
    size_t cap = (size_t)(n ? n : 1);
    rec_cols c;
    memset(&c, 0, sizeof(c));
    c.image_id = malloc(cap * sizeof(int64_t));
    c.category_id = malloc(cap * sizeof(int64_t));
    c.bbox = malloc(4 * cap * sizeof(double));
    if (dets) {
        c.score = malloc(cap * sizeof(double));
    } else {
        c.area = malloc(cap * sizeof(double));
        c.iscrowd = malloc(cap);
        c.ignore = malloc(cap);
    }
    PyObject *ret = NULL;
    if (!c.image_id || !c.category_id || !c.bbox ||
        (dets ? !c.score : (!c.area || !c.iscrowd || !c.ignore))) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (rec_one(src, i, PyList_GetItem(list, i), dets, &c) < 0)
            goto out;
    size_t un = (size_t)n;
    if (dets)
        ret = Py_BuildValue(
            "{s:N,s:N,s:N,s:N}", "image_id",
            buffer_new(NULL, c.image_id, un * 8), "category_id",
            buffer_new(NULL, c.category_id, un * 8), "bbox",
            buffer_new(NULL, c.bbox, un * 32), "score",
            buffer_new(NULL, c.score, un * 8));
    else
        ret = Py_BuildValue(
            "{s:N,s:N,s:N,s:N,s:N,s:N}", "image_id",
            buffer_new(NULL, c.image_id, un * 8), "category_id",
            buffer_new(NULL, c.category_id, un * 8), "bbox",
            buffer_new(NULL, c.bbox, un * 32), "area",
            buffer_new(NULL, c.area, un * 8), "iscrowd",
            buffer_new(NULL, c.iscrowd, un), "ignore",
            buffer_new(NULL, c.ignore, un));
    memset(&c, 0, sizeof(c)); /* the buffers own the columns now */
out:
    rec_cols_free(&c);
    Py_DECREF(list);
    return ret;
}

/* ---- the module --------------------------------------------------------- */

/* status_names(): {code: "EFORMAT", ...}, for detgrid._errors. */
static PyObject *mod_status_names(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
#define X(name, code, msg)                                                   \
    do {                                                                     \
        PyObject *k = PyLong_FromLong(code);                                 \
        PyObject *v = PyUnicode_FromString(#name);                           \
        if (!k || !v || PyDict_SetItem(d, k, v) < 0) {                       \
            Py_XDECREF(k);                                                   \
            Py_XDECREF(v);                                                   \
            Py_DECREF(d);                                                    \
            return NULL;                                                     \
        }                                                                    \
        Py_DECREF(k);                                                        \
        Py_DECREF(v);                                                        \
    } while (0);
    DG_STATUS_MAP(X)
#undef X
    return d;
}

/* set_errors(dict): the status -> exception class map. */
static PyObject *mod_set_errors(PyObject *m, PyObject *args)
{
    (void)m;
    PyObject *d;
    if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &d))
        return NULL;
    Py_XDECREF(error_map);
    error_map = Py_NewRef(d);
    Py_RETURN_NONE;
}

/* coco_stat_label(i): summarize()'s line of stat i without its value. */
static PyObject *mod_coco_stat_label(PyObject *m, PyObject *args)
{
    (void)m;
    int i;
    if (!PyArg_ParseTuple(args, "i", &i))
        return NULL;
    return str_or_none(dg_coco_stat_label(i));
}

/* parse_iou(spec): dg_parse_iou_thresholds ("0.05:0.95:0.05", "0.5,0.75");
 * spec None: the default grid. */
static PyObject *mod_parse_iou(PyObject *m, PyObject *args)
{
    (void)m;
    const char *spec = NULL;
    if (!PyArg_ParseTuple(args, "z", &spec))
        return NULL;
    double v[DG_MAX_IOU_THRESHOLDS];
    dg_ctx *ctx;
    dg_status st = dg_ctx_new(&ctx);
    if (st < 0)
        return raise_status(st, NULL);
    int n = spec ? dg_parse_iou_thresholds(ctx, spec, v, DG_MAX_IOU_THRESHOLDS)
                 : dg_default_iou_thresholds(v, DG_MAX_IOU_THRESHOLDS);
    PyObject *l = NULL;
    if (n < 0)
        raise_ctx(ctx, (dg_status)n);
    else if ((l = PyList_New(n)))
        for (int i = 0; i < n; i++)
            PyList_SetItem(l, i, num(v[i]));
    dg_ctx_free(ctx);
    return l;
}

/* devices(): the OpenCL devices (dg_devices_list) as tuples; the GIL is
 * released while the platforms load. */
static PyObject *mod_devices(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    dg_device_desc *d = NULL;
    int n = 0;
    dg_status st;
    Py_BEGIN_ALLOW_THREADS
    warm_wait();
    st = dg_devices_list(NULL, &d, &n);
    Py_END_ALLOW_THREADS
    if (st < 0)
        return raise_status(st, NULL);
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *x = Py_BuildValue(
            "(iisssssiiiiKKI)", d[i].platform, d[i].device,
            d[i].platform_name, d[i].name, d[i].is_gpu ? "gpu" : d[i].is_cpu
                                                                  ? "cpu"
                                                                  : "other",
            d[i].version, d[i].driver, d[i].has_fp64, d[i].available,
            d[i].is_gpu, d[i].is_cpu, (unsigned long long)d[i].global_mem,
            (unsigned long long)d[i].max_alloc, d[i].compute_units);
        if (!x) {
            Py_CLEAR(l);
            break;
        }
        PyList_SetItem(l, i, x);
    }
    free(d);
    return l;
}

/* enum_names(kind): the library's names of "tide" types, "label_errors"
 * kinds, "coco_stats", "crop_outcomes" or "voc" protocols. */
static PyObject *mod_enum_names(PyObject *m, PyObject *args)
{
    (void)m;
    const char *kind;
    if (!PyArg_ParseTuple(args, "s", &kind))
        return NULL;
    PyObject *l = PyList_New(0);
    for (int i = 0; l; i++) {
        const char *s = !strcmp(kind, "tide")
                            ? (i < DG_TIDE_N ? dg_tide_type_name(i) : NULL)
                        : !strcmp(kind, "label_errors")
                            ? dg_label_error_kind_name(i)
                        : !strcmp(kind, "coco_stats") ? dg_coco_stat_name(i)
                        : !strcmp(kind, "crop_outcomes")
                            ? (i <= DG_CROP_IGNORED ? dg_crop_outcome_name(i)
                                                    : NULL)
                        : !strcmp(kind, "voc")
                            ? (i <= DG_VOC12 ? dg_voc_protocol_name(i) : NULL)
                            : NULL;
        if (!s)
            break;
        PyObject *x = PyUnicode_FromString(s);
        if (!x || PyList_Append(l, x) < 0) {
            Py_XDECREF(x);
            Py_CLEAR(l);
            break;
        }
        Py_DECREF(x);
    }
    return l;
}

static PyMethodDef module_methods[] = {
    {"devices", mod_devices, METH_NOARGS, NULL},
    {"warm_devices", mod_warm_devices, METH_NOARGS, NULL},
    {"parse_iou", mod_parse_iou, METH_VARARGS, NULL},
    {"enum_names", mod_enum_names, METH_VARARGS, NULL},
    {"status_names", mod_status_names, METH_NOARGS, NULL},
    {"set_errors", mod_set_errors, METH_VARARGS, NULL},
    {"coco_stat_label", mod_coco_stat_label, METH_VARARGS, NULL},
    {"records", mod_records, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_detgrid",
    "The C core of the detgrid package (over libdetgrid's public API).", -1,
    module_methods, NULL, NULL, NULL, NULL};

static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **out,
                    const char *name)
{
    *out = (PyTypeObject *)PyType_FromSpec(spec);
    if (!*out)
        return -1;
    Py_INCREF((PyObject *)*out);
    if (PyModule_AddObject(m, name, (PyObject *)*out) < 0) {
        Py_DECREF((PyObject *)*out);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__detgrid(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (add_type(m, &Buffer_spec, &Buffer_Type, "Buffer") < 0 ||
        add_type(m, &Project_spec, &Project_Type, "Project") < 0 ||
        add_type(m, &Coco_spec, &Coco_Type, "CocoResult") < 0 ||
        add_type(m, &Results_spec, &Results_Type, "Results") < 0 ||
        PyModule_AddStringConstant(m, "version", DG_VERSION_STRING) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
