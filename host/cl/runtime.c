/*
 * The OpenCL runtime: platforms and devices, the choice among them, the
 * context and queue, the program (built once per context, kept in a binary
 * cache on disk across processes) and the device buffers kept between
 * calls. Everything is created on first use and freed by dg__cl_release().
 *
 * Environment:
 *   DETGRID_KERNEL_DIR       load kernels/<stage>.cl from this directory
 *                            instead of the copies embedded at build time
 *   DETGRID_CL_BUILD_OPTIONS extra options for clBuildProgram
 *   DETGRID_CACHE_DIR        binary cache directory (else
 *                            $XDG_CACHE_HOME/detgrid, else
 *                            $HOME/.cache/detgrid)
 *   DETGRID_FAULT            comma-separated simulated faults for tests:
 *                            cl-none (no platform), cl-build (the build
 *                            fails), cl-oom (the first buffer allocation
 *                            fails)
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cl/dg_cl.h"
#include "detgrid/device.h"

/* The stages, in program order: match.cl uses dg_iou() from iou.cl. */
static const struct {
    const char *file;
    const char *embedded;
} stages[] = {
    {"iou.cl", dg_cl_src_iou},
    {"match.cl", dg_cl_src_match},
    {"accum.cl", dg_cl_src_accum},
    {"confusion.cl", dg_cl_src_confusion}, /* uses dg_iou() too */
};
#define N_STAGES (sizeof(stages) / sizeof(stages[0]))

/* ---- faults and environment ---------------------------------------------- */

/* Copies src into dst of cap bytes, truncating. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int dg__cl_fault(const char *fault)
{
    const char *env = getenv("DETGRID_FAULT");
    size_t n = strlen(fault);
    if (!env)
        return 0;
    for (const char *p = env; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, fault, n))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* ---- platforms and devices ----------------------------------------------- */

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    int pi, di;
    cl_device_type type;
    int fp64, available;
    char platform_name[256], name[256];
} cand;

static void info_str(cl_device_id d, cl_device_info what, char *buf,
                     size_t cap)
{
    size_t got = 0;
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, cap - 1, buf, &got) != CL_SUCCESS) {
        /* Too long for buf: take the start. */
        char *tmp = NULL;
        if (clGetDeviceInfo(d, what, 0, NULL, &got) == CL_SUCCESS &&
            (tmp = malloc(got + 1)) &&
            clGetDeviceInfo(d, what, got, tmp, NULL) == CL_SUCCESS) {
            tmp[got] = 0;
            snprintf(buf, cap, "%s", tmp);
        } else {
            buf[0] = 0;
        }
        free(tmp);
        return;
    }
    buf[got < cap ? got : cap - 1] = 0;
}

static void platform_str(cl_platform_id p, cl_platform_info what, char *buf,
                         size_t cap)
{
    size_t got = 0;
    buf[0] = 0;
    if (clGetPlatformInfo(p, what, cap - 1, buf, &got) != CL_SUCCESS) {
        char *tmp = NULL;
        if (clGetPlatformInfo(p, what, 0, NULL, &got) == CL_SUCCESS &&
            (tmp = malloc(got + 1)) &&
            clGetPlatformInfo(p, what, got, tmp, NULL) == CL_SUCCESS) {
            tmp[got] = 0;
            snprintf(buf, cap, "%s", tmp);
        } else {
            buf[0] = 0;
        }
        free(tmp);
        return;
    }
    buf[got < cap ? got : cap - 1] = 0;
}

static int device_fp64(cl_device_id d)
{
    cl_device_fp_config cfg = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof(cfg), &cfg,
                        NULL) == CL_SUCCESS &&
        cfg)
        return 1;
    /* OpenCL 1.1 devices may report fp64 only as an extension. */
    size_t n = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &n) != CL_SUCCESS)
        return 0;
    char *ext = malloc(n + 1);
    int has = 0;
    if (ext && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, n, ext, NULL) ==
                   CL_SUCCESS) {
        ext[n] = 0;
        has = strstr(ext, "cl_khr_fp64") != NULL;
    }
    free(ext);
    return has;
}

/*
 * Every device of every platform, in platform and device index order. No
 * platform (or DETGRID_FAULT=cl-none) gives zero devices, not an error.
 */
static dg_status list_devices(dg_ctx *ctx, cand **out, int *n_out)
{
    dg_status st = DG_OK;
    cl_uint n_plat = 0;
    cl_platform_id *plats = NULL;
    cand *c = NULL;
    int n = 0, cap = 0;

    *out = NULL;
    *n_out = 0;
    if (dg__cl_fault("cl-none"))
        return DG_OK;
    cl_int err = clGetPlatformIDs(0, NULL, &n_plat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ ||
        (err == CL_SUCCESS && n_plat == 0))
        return DG_OK;
    DG_CL_TRY_ERR(ctx, err, "clGetPlatformIDs");
    plats = dg__alloc(ctx, n_plat, sizeof(*plats));
    if (!plats)
        return DG_ENOMEM;
    DG_CL_TRY(ctx, clGetPlatformIDs(n_plat, plats, NULL));
    for (cl_uint p = 0; p < n_plat; p++) {
        cl_uint n_dev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_dev);
        if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && !n_dev))
            continue;
        if (err != CL_SUCCESS)
            continue; /* a broken platform must not hide the others */
        cl_device_id *devs = dg__alloc(ctx, n_dev, sizeof(*devs));
        if (!devs) {
            st = DG_ENOMEM;
            goto out;
        }
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, n_dev, devs, NULL) !=
            CL_SUCCESS) {
            free(devs);
            continue;
        }
        for (cl_uint d = 0; d < n_dev; d++) {
            if (n == cap) {
                int ncap = cap ? cap * 2 : 8;
                cand *nc = realloc(c, (size_t)ncap * sizeof(*c));
                if (!nc) {
                    free(devs);
                    st = dg__fail(ctx, DG_ENOMEM, "out of memory");
                    goto out;
                }
                c = nc;
                cap = ncap;
            }
            cand *e = &c[n++];
            memset(e, 0, sizeof(*e));
            e->platform = plats[p];
            e->device = devs[d];
            e->pi = (int)p;
            e->di = (int)d;
            clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof(e->type), &e->type,
                            NULL);
            cl_bool avail = CL_FALSE, comp = CL_FALSE;
            clGetDeviceInfo(devs[d], CL_DEVICE_AVAILABLE, sizeof(avail),
                            &avail, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_COMPILER_AVAILABLE, sizeof(comp),
                            &comp, NULL);
            e->available = avail && comp;
            e->fp64 = device_fp64(devs[d]);
            platform_str(plats[p], CL_PLATFORM_NAME, e->platform_name,
                         sizeof(e->platform_name));
            info_str(devs[d], CL_DEVICE_NAME, e->name, sizeof(e->name));
        }
        free(devs);
    }
out:
    free(plats);
    if (st < 0) {
        free(c);
        return st;
    }
    *out = c;
    *n_out = n;
    return DG_OK;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 1;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* "P.D" with decimal indices. */
static int parse_index(const char *s, int *p, int *d)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return 0;
    long a = strtol(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return 0;
    long b = strtol(end + 1, &end, 10);
    if (*end || a > 1 << 20 || b > 1 << 20)
        return 0;
    *p = (int)a;
    *d = (int)b;
    return 1;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

static const char *kind_name(dg_device_kind k)
{
    switch (k) {
    case DG_DEVICE_GPU:
        return "GPU";
    case DG_DEVICE_CPU:
        return "CPU";
    default:
        return "";
    }
}

/* What was seen, for messages: "0.0 'PoCL / cpu' (CPU), ...". */
static void describe(const cand *c, int n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 1 < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%d.%d '%s / %s' (%s%s%s)",
                         i ? ", " : "", c[i].pi, c[i].di, c[i].platform_name,
                         c[i].name, type_name(c[i].type),
                         c[i].fp64 ? "" : ", no fp64",
                         c[i].available ? "" : ", unavailable");
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (!n)
        snprintf(buf, cap, "no OpenCL platform or device");
}

static int kind_fits(dg_device_kind kind, cl_device_type t)
{
    if (kind == DG_DEVICE_GPU)
        return (t & CL_DEVICE_TYPE_GPU) != 0;
    if (kind == DG_DEVICE_CPU)
        return (t & CL_DEVICE_TYPE_CPU) != 0;
    return 1;
}

/*
 * Picks the device for kind and sel: "" is the first that fits, "P.D" an
 * index pair, anything else a case-insensitive substring of the platform or
 * device name. AUTO prefers a GPU, then a CPU, then anything else. Devices
 * without fp64 or without a compiler do not fit.
 */
static dg_status select_device(dg_ctx *ctx, dg_device_kind kind,
                               const char *sel, cand *chosen)
{
    cand *c = NULL;
    int n = 0, p, d, pick = -1;
    char seen[2048];
    dg_status st = list_devices(ctx, &c, &n);
    if (st < 0)
        return st;
    describe(c, n, seen, sizeof(seen));
    if (!n) {
        st = dg__fail(ctx, DG_ENODEV, "no OpenCL platform found%s",
                      dg__cl_fault("cl-none")
                          ? " (simulated: DETGRID_FAULT=cl-none)"
                          : "");
        goto out;
    }
    if (parse_index(sel, &p, &d)) {
        for (int i = 0; i < n; i++)
            if (c[i].pi == p && c[i].di == d)
                pick = i;
        if (pick < 0) {
            st = dg__fail(ctx, DG_ENODEV, "no OpenCL device %d.%d (seen: %s)",
                          p, d, seen);
            goto out;
        }
        if (!kind_fits(kind, c[pick].type)) {
            st = dg__fail(ctx, DG_ENODEV,
                          "OpenCL device %d.%d '%s' is a %s, not a %s", p, d,
                          c[pick].name, type_name(c[pick].type),
                          kind_name(kind));
            goto out;
        }
        if (!c[pick].fp64 || !c[pick].available) {
            st = dg__fail(ctx, DG_ENODEV,
                          "OpenCL device %d.%d '%s' is unusable: %s", p, d,
                          c[pick].name,
                          !c[pick].fp64 ? "no double precision (cl_khr_fp64)"
                                        : "unavailable or without a compiler");
            goto out;
        }
    } else {
        static const cl_device_type auto_order[] = {
            CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_ALL};
        for (size_t pass = 0; pass < 3 && pick < 0; pass++) {
            for (int i = 0; i < n && pick < 0; i++) {
                if (!kind_fits(kind, c[i].type) || !c[i].fp64 ||
                    !c[i].available)
                    continue;
                if (kind == DG_DEVICE_AUTO && !(c[i].type & auto_order[pass]))
                    continue;
                if (!contains_nocase(c[i].platform_name, sel) &&
                    !contains_nocase(c[i].name, sel))
                    continue;
                pick = i;
            }
            if (kind != DG_DEVICE_AUTO)
                break;
        }
        if (pick < 0) {
            char what[300] = "";
            if (*sel)
                snprintf(what, sizeof(what), " matching '%s'", sel);
            st = dg__fail(ctx, DG_ENODEV,
                          "no usable OpenCL %s%sdevice%s (double precision "
                          "is required; seen: %s)",
                          kind_name(kind), kind == DG_DEVICE_AUTO ? "" : " ",
                          what, seen);
            goto out;
        }
        if (ctx && kind == DG_DEVICE_AUTO &&
            !(c[pick].type & CL_DEVICE_TYPE_GPU))
            dg__warn(ctx, "warning: no OpenCL GPU found; using %s device '%s'",
                     type_name(c[pick].type), c[pick].name);
    }
    *chosen = c[pick];
out:
    free(c);
    return st;
}

/* ---- sources ------------------------------------------------------------- */

/* Reads a whole file; NULL with errno on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        errno = e ? e : EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* A growable string. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/*
 * The program's source: the DG_* defines the kernels share with the host,
 * then each stage behind a #line so build logs name the right file.
 */
static size_t count_lines(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

/*
 * starts[i] is the line of the whole program where stage i begins, for
 * compilers whose logs ignore #line.
 */
static dg_status assemble_source(dg_ctx *ctx, int *from_dir, char **out,
                                 size_t *starts)
{
    sbuf b = {0};
    char line[256];
    const char *dir = getenv("DETGRID_KERNEL_DIR");

    *from_dir = dir && *dir;
    snprintf(line, sizeof(line),
             "/* detgrid: defines shared with the host */\n"
             "#define DG_FP %d\n#define DG_TP %d\n#define DG_IGN %d\n"
             "#define DG_FLAG_CROWD %d\n#define DG_FLAG_IGNORED %d\n"
             "#define DG_IOU_ON_THE_FLY 0xffffffffffffffffUL\n",
             DG_FP, DG_TP, DG_IGN, DG_CL_FLAG_CROWD, DG_CL_FLAG_IGNORED);
    sb_str(&b, line);
    for (size_t i = 0; i < N_STAGES; i++) {
        snprintf(line, sizeof(line), "#line 1 \"%s\"\n", stages[i].file);
        sb_str(&b, line);
        starts[i] = b.failed ? 0 : count_lines(b.s, b.len) + 1;
        if (*from_dir) {
            char path[4096];
            size_t n = 0;
            snprintf(path, sizeof(path), "%s/%s", dir, stages[i].file);
            char *src = read_file(path, &n);
            if (!src) {
                free(b.s);
                return dg__fail(ctx, DG_EIO,
                                "cannot read kernel '%s' (DETGRID_KERNEL_DIR): "
                                "%s",
                                path, strerror(errno));
            }
            sb_add(&b, src, n);
            free(src);
        } else {
            sb_str(&b, stages[i].embedded);
        }
        sb_str(&b, "\n");
    }
    if (dg__cl_fault("cl-build"))
        sb_str(&b, "#error \"simulated build failure "
                   "(DETGRID_FAULT=cl-build)\"\n");
    if (b.failed) {
        free(b.s);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    *out = b.s;
    return DG_OK;
}

/* ---- binary cache ------------------------------------------------------- */

#define CACHE_MAGIC "DGCLBIN1"

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Each field with its length, so "ab"+"c" and "a"+"bc" differ. */
static uint64_t fnv1a_field(uint64_t h, const char *s)
{
    uint64_t n = strlen(s);
    h = fnv1a(h, &n, sizeof(n));
    return fnv1a(h, s, n);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    struct stat sb;
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

/* The cache directory, or 0 when there is none to use. */
static int cache_dir(char *buf, size_t cap)
{
    const char *d = getenv("DETGRID_CACHE_DIR");
    const char *x = getenv("XDG_CACHE_HOME");
    const char *h = getenv("HOME");
    int w;
    if (d && *d)
        w = snprintf(buf, cap, "%s", d);
    else if (x && *x)
        w = snprintf(buf, cap, "%s/detgrid", x);
    else if (h && *h)
        w = snprintf(buf, cap, "%s/.cache/detgrid", h);
    else
        return 0;
    return w > 0 && (size_t)w < cap;
}

/*
 * Reads a cached binary: magic, key, size, checksum, bytes. Anything that
 * does not add up is treated as a miss.
 */
static unsigned char *cache_load(const char *path, uint64_t key, size_t *len)
{
    size_t n = 0;
    char *raw = read_file(path, &n);
    const size_t head = 8 + 3 * sizeof(uint64_t);
    uint64_t k, sz, sum;
    unsigned char *bin;
    if (!raw)
        return NULL;
    if (n < head || memcmp(raw, CACHE_MAGIC, 8))
        goto bad;
    memcpy(&k, raw + 8, 8);
    memcpy(&sz, raw + 16, 8);
    memcpy(&sum, raw + 24, 8);
    if (k != key || sz == 0 || sz != n - head ||
        fnv1a(0xcbf29ce484222325ULL, raw + head, sz) != sum)
        goto bad;
    bin = malloc(sz);
    if (!bin)
        goto bad;
    memcpy(bin, raw + head, sz);
    free(raw);
    *len = sz;
    return bin;
bad:
    free(raw);
    return NULL;
}

/* Writes a temporary file and renames it into place; errors are ignored. */
static void cache_store(const char *dir, const char *path, uint64_t key,
                        const unsigned char *bin, size_t len)
{
    char tmp[4200];
    uint64_t sz = len, sum = fnv1a(0xcbf29ce484222325ULL, bin, len);
    if (mkdir_p(dir) != 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    int ok = fwrite(CACHE_MAGIC, 1, 8, f) == 8 &&
             fwrite(&key, sizeof(key), 1, f) == 1 &&
             fwrite(&sz, sizeof(sz), 1, f) == 1 &&
             fwrite(&sum, sizeof(sum), 1, f) == 1 &&
             fwrite(bin, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}

/* ---- program ---------------------------------------------------------- */

static dg_status build_log_fail(dg_ctx *ctx, struct dg_cl_state *s,
                                cl_program prog, cl_int err,
                                const size_t *starts)
{
    char layout[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < N_STAGES && len < sizeof(layout); i++) {
        int w = snprintf(layout + len, sizeof(layout) - len, "%s%s at %zu",
                         i ? ", " : "", stages[i].file, starts[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    size_t n = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, s->device, CL_PROGRAM_BUILD_LOG, 0, NULL,
                              &n) == CL_SUCCESS &&
        (log = malloc(n + 1)) &&
        clGetProgramBuildInfo(prog, s->device, CL_PROGRAM_BUILD_LOG, n, log,
                              NULL) == CL_SUCCESS)
        log[n] = 0;
    else if (log)
        log[0] = 0;
    dg_status st = dg__fail(ctx, DG_ECL,
                            "cannot build the OpenCL program for '%s': %s "
                            "(%d); program lines: %s; build log:\n%s",
                            s->device_name, dg__cl_errname(err), (int)err,
                            layout, log && *log ? log : "(empty)");
    free(log);
    return st;
}

static dg_status build_program(dg_ctx *ctx, struct dg_cl_state *s)
{
    dg_status st = DG_OK;
    char *src = NULL, *opts = NULL;
    unsigned char *bin = NULL;
    cl_program prog = NULL;
    cl_int err;
    char dir[4096], pver[256], dver[256];
    size_t starts[N_STAGES] = {0};
    const char *extra = getenv("DETGRID_CL_BUILD_OPTIONS");
    size_t bin_len = 0;

    st = assemble_source(ctx, &s->kernels_from_dir, &src, starts);
    if (st < 0)
        return st;
    /* No fast-math flags: IoU at a threshold must compare as in C. */
    opts = dg__strdup(ctx, extra ? extra : "");
    if (!opts) {
        st = DG_ENOMEM;
        goto out;
    }

    platform_str(s->platform, CL_PLATFORM_VERSION, pver, sizeof(pver));
    info_str(s->device, CL_DEVICE_VERSION, dver, sizeof(dver));
    uint64_t key = 0xcbf29ce484222325ULL;
    key = fnv1a_field(key, "detgrid-cl-cache-1");
    key = fnv1a_field(key, src);
    key = fnv1a_field(key, opts);
    key = fnv1a_field(key, s->platform_name);
    key = fnv1a_field(key, pver);
    key = fnv1a_field(key, s->device_name);
    key = fnv1a_field(key, dver);
    key = fnv1a_field(key, s->driver);

    int have_dir = cache_dir(dir, sizeof(dir));
    s->cache_path[0] = 0;
    if (have_dir)
        snprintf(s->cache_path, sizeof(s->cache_path), "%s/%016llx.bin", dir,
                 (unsigned long long)key);

    if (have_dir && (bin = cache_load(s->cache_path, key, &bin_len))) {
        const unsigned char *bp = bin;
        cl_int bst = CL_SUCCESS;
        prog = clCreateProgramWithBinary(s->context, 1, &s->device, &bin_len,
                                         &bp, &bst, &err);
        if (prog && err == CL_SUCCESS && bst == CL_SUCCESS &&
            clBuildProgram(prog, 1, &s->device, opts, NULL, NULL) ==
                CL_SUCCESS) {
            s->program = prog;
            s->program_source = DG_CL_PROGRAM_CACHED;
            goto out;
        }
        /* A stale or corrupt binary: build from source and overwrite it. */
        if (prog)
            clReleaseProgram(prog);
        prog = NULL;
    }
    free(bin);
    bin = NULL;

    const char *sp = src;
    prog = clCreateProgramWithSource(s->context, 1, &sp, NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &s->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = build_log_fail(ctx, s, prog, err, starts);
        goto out;
    }
    s->program = prog;
    s->program_source = DG_CL_PROGRAM_BUILT;
    prog = NULL;

    if (have_dir &&
        clGetProgramInfo(s->program, CL_PROGRAM_BINARY_SIZES, sizeof(bin_len),
                         &bin_len, NULL) == CL_SUCCESS &&
        bin_len && (bin = malloc(bin_len))) {
        unsigned char *bp = bin;
        if (clGetProgramInfo(s->program, CL_PROGRAM_BINARIES, sizeof(bp), &bp,
                             NULL) == CL_SUCCESS)
            cache_store(dir, s->cache_path, key, bin, bin_len);
    }
out:
    if (prog && prog != s->program)
        clReleaseProgram(prog);
    free(bin);
    free(opts);
    free(src);
    return st;
}

/* ---- state ------------------------------------------------------------- */

static void state_free(struct dg_cl_state *s)
{
    if (!s)
        return;
    for (int i = 0; i < DG_CL_N_BUFS; i++)
        if (s->bufs[i].mem)
            clReleaseMemObject(s->bufs[i].mem);
    if (s->k_agn_greedy)
        clReleaseKernel(s->k_agn_greedy);
    if (s->k_agn_iou)
        clReleaseKernel(s->k_agn_iou);
    if (s->k_accum)
        clReleaseKernel(s->k_accum);
    if (s->k_match)
        clReleaseKernel(s->k_match);
    if (s->k_iou)
        clReleaseKernel(s->k_iou);
    if (s->program)
        clReleaseProgram(s->program);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    if (s->context)
        clReleaseContext(s->context);
    free(s);
}

void dg__cl_release(dg_ctx *ctx)
{
    if (!ctx || !ctx->cl)
        return;
    state_free(ctx->cl);
    ctx->cl = NULL;
}

uint64_t dg__cl_default_batch_bytes(const struct dg_cl_state *s)
{
    /*
     * A quarter of global memory leaves room for other users of the device
     * and for the driver's own copies; 256 MiB is plenty for chunks of tens
     * of thousands of detections and keeps PoCL's host memory modest.
     */
    uint64_t b = s->global_mem / 4;
    if (b > (uint64_t)256 << 20)
        b = (uint64_t)256 << 20;
    if (b < (uint64_t)1 << 20)
        b = (uint64_t)1 << 20;
    return b;
}

void dg__cl_set_batch_bytes(dg_ctx *ctx, uint64_t bytes)
{
    if (ctx && ctx->cl)
        ctx->cl->batch_bytes = bytes;
}

dg_status dg__cl_ensure(dg_ctx *ctx)
{
    dg_status st = DG_OK;
    struct dg_cl_state *s = NULL;
    cand c;
    cl_int err;

    if (ctx->cl) {
        /*
         * dg_ctx_set_device() releases the state; a kind changed behind its
         * back keeps it while the device still fits.
         */
        struct dg_cl_state *o = ctx->cl;
        int fits = ctx->device_kind == o->kind ||
                   ctx->device_kind == DG_DEVICE_AUTO ||
                   (ctx->device_kind == DG_DEVICE_GPU && o->is_gpu) ||
                   (ctx->device_kind == DG_DEVICE_CPU && o->is_cpu);
        if (fits && !strcmp(o->select, ctx->device_select))
            return DG_OK;
        dg__cl_release(ctx);
    }
    if (ctx->device_kind == DG_DEVICE_REF)
        return dg__fail(ctx, DG_ENODEV,
                        "the reference path is selected; OpenCL is not used");
    st = select_device(ctx, ctx->device_kind, ctx->device_select, &c);
    if (st < 0)
        return st;

    s = dg__calloc(ctx, 1, sizeof(*s));
    if (!s)
        return DG_ENOMEM;
    s->kind = ctx->device_kind;
    copy_str(s->select, sizeof(s->select), ctx->device_select);
    s->platform = c.platform;
    s->device = c.device;
    s->is_gpu = (c.type & CL_DEVICE_TYPE_GPU) != 0;
    s->is_cpu = (c.type & CL_DEVICE_TYPE_CPU) != 0;
    copy_str(s->platform_name, sizeof(s->platform_name), c.platform_name);
    copy_str(s->device_name, sizeof(s->device_name), c.name);
    info_str(s->device, CL_DRIVER_VERSION, s->driver, sizeof(s->driver));
    snprintf(s->label, sizeof(s->label), "OpenCL: %s / %s", s->platform_name,
             s->device_name);
    cl_ulong gm = 0, ma = 0;
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_GLOBAL_MEM_SIZE,
                                   sizeof(gm), &gm, NULL));
    DG_CL_TRY(ctx, clGetDeviceInfo(s->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                   sizeof(ma), &ma, NULL));
    s->global_mem = gm;
    s->max_alloc = ma;
    s->fault_oom_armed = dg__cl_fault("cl-oom");

    cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, (cl_context_properties)s->platform, 0};
    s->context = clCreateContext(props, 1, &s->device, NULL, NULL, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateContext");
    s->queue = clCreateCommandQueue(s->context, s->device, 0, &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateCommandQueue");
    st = build_program(ctx, s);
    if (st < 0)
        goto out;
    s->k_iou = clCreateKernel(s->program, "iou_pairwise", &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateKernel(iou_pairwise)");
    s->k_match = clCreateKernel(s->program, "match_greedy", &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateKernel(match_greedy)");
    s->k_accum = clCreateKernel(s->program, "accumulate_permute", &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateKernel(accumulate_permute)");
    s->k_agn_iou = clCreateKernel(s->program, "agnostic_iou", &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateKernel(agnostic_iou)");
    s->k_agn_greedy = clCreateKernel(s->program, "agnostic_greedy", &err);
    DG_CL_TRY_ERR(ctx, err, "clCreateKernel(agnostic_greedy)");
    ctx->cl = s;
    s = NULL;
out:
    state_free(s);
    return st;
}

dg_status dg__cl_buf_reserve(dg_ctx *ctx, int which, size_t bytes)
{
    struct dg_cl_state *s = ctx->cl;
    dg_cl_buf *b = &s->bufs[which];
    dg_status st = DG_OK;
    cl_int err;

    if (bytes == 0)
        bytes = 1; /* zero-sized buffers are invalid */
    if (b->mem && b->cap >= bytes)
        return DG_OK;
    if (bytes > s->max_alloc)
        return dg__fail(ctx, DG_ENOMEM,
                        "a device buffer of %zu bytes exceeds the device's "
                        "maximum allocation of %llu bytes",
                        bytes, (unsigned long long)s->max_alloc);
    if (b->mem) {
        clReleaseMemObject(b->mem);
        b->mem = NULL;
        b->cap = 0;
    }
    /* Grow by half again so chunks of slowly rising size reuse buffers. */
    size_t cap = bytes;
    if (bytes < SIZE_MAX / 3 * 2 && bytes + bytes / 2 <= s->max_alloc)
        cap = bytes + bytes / 2;
    if (s->fault_oom_armed) {
        s->fault_oom_armed = 0;
        st = dg__cl_fail(ctx,
                         "clCreateBuffer (simulated: DETGRID_FAULT=cl-oom)",
                         CL_MEM_OBJECT_ALLOCATION_FAILURE, __FILE__,
                         __LINE__);
        goto out;
    }
    b->mem = clCreateBuffer(s->context, CL_MEM_READ_WRITE, cap, NULL, &err);
    if (err != CL_SUCCESS && cap > bytes) {
        cap = bytes;
        b->mem = clCreateBuffer(s->context, CL_MEM_READ_WRITE, cap, NULL, &err);
    }
    DG_CL_TRY_ERR(ctx, err, "clCreateBuffer");
    b->cap = cap;
out:
    return st;
}

/* ---- public listing -------------------------------------------------------- */

dg_status dg_devices_list(dg_ctx *ctx, dg_device_desc **out, int *n)
{
    cand *c = NULL;
    int nc = 0;
    dg_status st;

    if (!out || !n)
        return dg__fail(ctx, DG_EINVAL, "dg_devices_list: NULL argument");
    *out = NULL;
    *n = 0;
    st = list_devices(ctx, &c, &nc);
    if (st < 0)
        return st;
    if (!nc)
        return DG_OK;
    dg_device_desc *d = dg__calloc(ctx, (size_t)nc, sizeof(*d));
    if (!d) {
        free(c);
        return DG_ENOMEM;
    }
    for (int i = 0; i < nc; i++) {
        cl_ulong gm = 0, ma = 0;
        cl_uint cu = 0;
        d[i].platform = c[i].pi;
        d[i].device = c[i].di;
        copy_str(d[i].platform_name, sizeof(d[i].platform_name),
                 c[i].platform_name);
        copy_str(d[i].name, sizeof(d[i].name), c[i].name);
        info_str(c[i].device, CL_DEVICE_VERSION, d[i].version,
                 sizeof(d[i].version));
        info_str(c[i].device, CL_DRIVER_VERSION, d[i].driver,
                 sizeof(d[i].driver));
        d[i].is_gpu = (c[i].type & CL_DEVICE_TYPE_GPU) != 0;
        d[i].is_cpu = (c[i].type & CL_DEVICE_TYPE_CPU) != 0;
        d[i].has_fp64 = c[i].fp64;
        d[i].available = c[i].available;
        clGetDeviceInfo(c[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(gm),
                        &gm, NULL);
        clGetDeviceInfo(c[i].device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(ma),
                        &ma, NULL);
        clGetDeviceInfo(c[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu),
                        &cu, NULL);
        d[i].global_mem = gm;
        d[i].max_alloc = ma;
        d[i].compute_units = cu;
    }
    free(c);
    *out = d;
    *n = nc;
    return DG_OK;
}

const char *dg__cl_device_desc(dg_ctx *ctx)
{
    return ctx && ctx->cl ? ctx->cl->label : NULL;
}

int dg__cl_have_gpu(dg_ctx *ctx)
{
    cand c;
    /* A quiet probe: no context, and ctx's message is left alone. */
    return select_device(NULL, DG_DEVICE_GPU, ctx ? ctx->device_select : "",
                         &c) == DG_OK;
}

cl_int dg__cl_launch(struct dg_cl_state *s, cl_kernel k, size_t n,
                     size_t rows)
{
    size_t wg = 0, local[2] = {64, 1}, global[2];
    if (clGetKernelWorkGroupInfo(k, s->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof(wg), &wg, NULL) != CL_SUCCESS)
        wg = 1;
    while (local[0] > 1 && local[0] > wg)
        local[0] /= 2;
    global[0] = (n + local[0] - 1) / local[0] * local[0];
    global[1] = rows;
    if (!global[0] || !rows)
        return CL_SUCCESS;
    return clEnqueueNDRangeKernel(s->queue, k, rows > 1 ? 2 : 1, NULL, global,
                                  local, 0, NULL, NULL);
}
