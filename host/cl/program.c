/*
 * Programs: one build-and-cache for every kernel file. A program is one or
 * more files of kernels/ (embedded at build time, or read from
 * DETGRID_KERNEL_DIR), behind a prelude of the defines the kernels share
 * with the host and a #line per file so build logs name the right file.
 * Each is built once per context, on first use, and its binary is cached
 * on disk keyed by source, options, platform, device and driver (as
 * CLBlast's BinaryCache), so later processes skip the compiler.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_internal.h"

/*
 * The programs, each with its files in order, each file behind its own
 * defines: frame.cl goes in twice, once with its scratch in local memory
 * and once in global memory (its banner says why), between iou.cl, whose
 * helpers it uses, and frames.cl, whose kernels use it.
 */
#define MAX_FILES 4

static const char frame_local[] = "#define DG_AS __local\n"
                                  "#define DG_FN(x) x##_local\n";
static const char frame_global[] = "#undef DG_AS\n#undef DG_FN\n"
                                   "#define DG_AS __global\n"
                                   "#define DG_FN(x) x##_global\n";

static const struct {
    const char *name;
    int n;
    const char *file[MAX_FILES];
    const char *embedded[MAX_FILES];
    const char *pre[MAX_FILES];
} progs[DG_CL_N_PROGS] = {
    [DG_CL_PROG_MATCH] = {"matching",
                          4,
                          {"iou.cl", "frame.cl", "frame.cl", "frames.cl"},
                          {dg_cl_src_iou, dg_cl_src_frame, dg_cl_src_frame,
                           dg_cl_src_frames},
                          {"", frame_local, frame_global, ""}},
    [DG_CL_PROG_BOOTSTRAP] = {"bootstrap",
                              1,
                              {"bootstrap.cl"},
                              {dg_cl_src_bootstrap},
                              {""}},
    [DG_CL_PROG_EMBED] = {"embeddings", 1, {"embed.cl"}, {dg_cl_src_embed},
                          {""}},
    [DG_CL_PROG_SHAPES] = {"shapes", 1, {"shapes.cl"}, {dg_cl_src_shapes},
                           {""}},
};

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

static size_t count_lines(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

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
    const char *d = dg__env("DETGRID_CACHE_DIR");
    const char *x = dg__env("XDG_CACHE_HOME");
    const char *h = dg__env("HOME");
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


/*
 * Writes a cached binary beside the others: an exclusive temporary file
 * with an unpredictable name in the cache directory, renamed into place.
 * The cache is an optimisation, so errors only mean no cache.
 */
static void cache_store(const char *dir, const char *path, uint64_t key,
                        const unsigned char *bin, size_t len)
{
    char tmp[4200];
    uint64_t sz = len, sum = fnv1a(0xcbf29ce484222325ULL, bin, len);
    if (mkdir_p(dir) != 0)
        return;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    int ok = fwrite(CACHE_MAGIC, 1, 8, f) == 8 &&
             fwrite(&key, sizeof(key), 1, f) == 1 &&
             fwrite(&sz, sizeof(sz), 1, f) == 1 &&
             fwrite(&sum, sizeof(sum), 1, f) == 1 &&
             fwrite(bin, 1, len, f) == len && fflush(f) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

/*
 * The source of program id: the defines shared with the host, then each
 * file behind a #line. starts[i] is the line of the whole program where
 * file i begins, for compilers whose logs ignore #line.
 */
static dg_status assemble_source(dg_ctx *ctx, const struct dg_cl_state *st,
                                 int id, int *from_dir, char **out,
                                 size_t *starts)
{
    sbuf b = {0};
    char line[256];
    const char *dir = dg__env("DETGRID_KERNEL_DIR");

    *from_dir = dir != NULL;
    snprintf(line, sizeof(line),
             "/* detgrid: defines shared with the host */\n"
             "#define DG_FP %d\n#define DG_TP %d\n#define DG_IGN %d\n"
             "#define DG_OKS_MAX_KP %d\n",
             DG_FP, DG_TP, DG_IGN, DG_OKS_MAX_KP);
    sb_str(&b, line);
    /*
     * CPU devices sort a frame on one work-item (kernels/frame.cl): their
     * compilers turn barriers inside loops, the sorting network's, into
     * code that takes a minute to build (PoCL), and they run work-groups of
     * one work-item anyway. DETGRID_CL_SORT_NETWORK=1 keeps the network
     * (tests of a GPU's code on PoCL: test-cl-diff.c).
     */
    if (st->is_cpu && !dg__env("DETGRID_CL_SORT_NETWORK"))
        sb_str(&b, "#define DG_SORT_SERIAL 1\n");
    for (int i = 0; i < progs[id].n; i++) {
        sb_str(&b, progs[id].pre[i]);
        snprintf(line, sizeof(line), "#line 1 \"%s\"\n", progs[id].file[i]);
        sb_str(&b, line);
        starts[i] = b.failed ? 0 : count_lines(b.s, b.len) + 1;
        if (*from_dir) {
            char path[4096];
            size_t n = 0;
            snprintf(path, sizeof(path), "%s/%s", dir, progs[id].file[i]);
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
            sb_str(&b, progs[id].embedded[i]);
        }
        sb_str(&b, "\n");
    }
    if (dg__fault("cl-build"))
        sb_str(&b, "#error \"simulated build failure "
                   "(DETGRID_FAULT=cl-build)\"\n");
    if (b.failed) {
        free(b.s);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    *out = b.s;
    return DG_OK;
}

static dg_status build_log_fail(dg_ctx *ctx, struct dg_cl_state *s, int id,
                                cl_program prog, cl_int err,
                                const size_t *starts)
{
    char layout[256] = "";
    size_t len = 0;
    for (int i = 0; i < progs[id].n && len < sizeof(layout); i++) {
        int w = snprintf(layout + len, sizeof(layout) - len, "%s%s at %zu",
                         i ? ", " : "", progs[id].file[i], starts[i]);
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
                            "cannot build the OpenCL %s program for '%s': %s "
                            "(%d); program lines: %s; build log:\n%s",
                            progs[id].name, s->device_name,
                            dg__cl_errname(err), (int)err, layout,
                            log && *log ? log : "(empty)");
    free(log);
    return st;
}

dg_status dg__cl_build(dg_ctx *ctx, struct dg_cl_state *s, int id)
{
    dg_cl_prog *pg = &s->progs[id];
    dg_status st = DG_OK;
    char *src = NULL;
    unsigned char *bin = NULL;
    cl_program prog = NULL;
    cl_int err;
    char dir[4096];
    size_t starts[MAX_FILES] = {0};
    /* No fast-math flags: IoU at a threshold must compare as in C. */
    const char *extra = dg__env("DETGRID_CL_BUILD_OPTIONS");
    const char *opts = extra ? extra : "";
    size_t bin_len = 0;

    st = assemble_source(ctx, s, id, &pg->from_dir, &src, starts);
    if (st < 0)
        return st;
    uint64_t key = 0xcbf29ce484222325ULL;
    key = fnv1a_field(key, "detgrid-cl-cache-1");
    key = fnv1a_field(key, src);
    key = fnv1a_field(key, opts);
    key = fnv1a_field(key, s->platform_name);
    key = fnv1a_field(key, s->platform_version);
    key = fnv1a_field(key, s->device_name);
    key = fnv1a_field(key, s->device_version);
    key = fnv1a_field(key, s->driver);

    int have_dir = cache_dir(dir, sizeof(dir));
    pg->cache_path[0] = 0;
    if (have_dir)
        snprintf(pg->cache_path, sizeof(pg->cache_path), "%s/%016llx.bin",
                 dir, (unsigned long long)key);

    if (have_dir && (bin = cache_load(pg->cache_path, key, &bin_len))) {
        const unsigned char *bp = bin;
        cl_int bst = CL_SUCCESS;
        prog = clCreateProgramWithBinary(s->context, 1, &s->device, &bin_len,
                                         &bp, &bst, &err);
        if (prog && err == CL_SUCCESS && bst == CL_SUCCESS &&
            clBuildProgram(prog, 1, &s->device, opts, NULL, NULL) ==
                CL_SUCCESS) {
            pg->program = prog;
            pg->source = DG_CL_PROGRAM_CACHED;
            prog = NULL;
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
        st = build_log_fail(ctx, s, id, prog, err, starts);
        goto out;
    }
    pg->program = prog;
    pg->source = DG_CL_PROGRAM_BUILT;
    prog = NULL;

    if (have_dir &&
        clGetProgramInfo(pg->program, CL_PROGRAM_BINARY_SIZES,
                         sizeof(bin_len), &bin_len, NULL) == CL_SUCCESS &&
        bin_len && (bin = malloc(bin_len))) {
        unsigned char *bp = bin;
        if (clGetProgramInfo(pg->program, CL_PROGRAM_BINARIES, sizeof(bp),
                             &bp, NULL) == CL_SUCCESS)
            cache_store(dir, pg->cache_path, key, bin, bin_len);
    }
out:
    if (prog)
        clReleaseProgram(prog);
    free(bin);
    free(src);
    return st;
}

dg_status dg__cl_program(dg_ctx *ctx, int id, cl_program *out)
{
    struct dg_cl_state *s = DG_CL(ctx);
    if (id < 0 || id >= DG_CL_N_PROGS || !s)
        return dg__fail(ctx, DG_EINVAL, "dg__cl_program: bad program %d", id);
    if (!s->progs[id].program) {
        dg_status st = dg__cl_build(ctx, s, id);
        if (st < 0)
            return st;
    }
    *out = s->progs[id].program;
    return DG_OK;
}

dg_status dg__cl_kernel(dg_ctx *ctx, int id, const char *name, cl_kernel *out)
{
    cl_program prog;
    cl_int err;
    dg_status st = dg__cl_program(ctx, id, &prog);
    if (st < 0)
        return st;
    *out = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS) {
        char what[160];
        snprintf(what, sizeof(what), "clCreateKernel(%s)", name);
        return dg__cl_fail(ctx, what, err, __FILE__, __LINE__);
    }
    return DG_OK;
}

void dg__cl_programs_release(struct dg_cl_state *s)
{
    for (int i = 0; i < DG_CL_N_PROGS; i++)
        if (s->progs[i].program) {
            clReleaseProgram(s->progs[i].program);
            s->progs[i].program = NULL;
        }
}
