/*
 * The OpenCL runtime around the kernels: device listing and selection, the
 * binary cache (a second context loads what the first built; a corrupt
 * file is rebuilt; an unusable directory is no error), kernels loaded from
 * DETGRID_KERNEL_DIR, extra build options, and the simulated faults of
 * DETGRID_FAULT (each returns its status with a message).
 *
 * Exit 0 on success, 1 on failure, 77 when no OpenCL device exists.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cl_internal.h"
#include "detgrid/device.h"
#include "ref.h"
#include "store.h"

#ifndef DG_TEST_DATA
#define DG_TEST_DATA "tests/data"
#endif

static char tmpdir[256];

/* ---- a small chunk: two frames, two classes --------------------------------- */

typedef struct {
    dg_boxset gt, dt;
    uint32_t gframe[6], gcls[6], dframe[8], dcls[8];
    double gx[6], gy[6], gw[6], gh[6], ga[6];
    uint8_t gc[6], gi[6];
    double dx[8], dy[8], dw[8], dh[8], ds[8];
    uint64_t goff[3], doff[3];
} small;

static void small_init(small *s)
{
    static const double g[6][4] = {{0, 0, 10, 10}, {20, 0, 10, 10},
                                   {0, 0, 30, 30}, {5, 5, 10, 10},
                                   {40, 40, 5, 5}, {0, 0, 4, 4}};
    static const double d[8][5] = {
        {0, 0, 10, 10, 0.9}, {1, 1, 10, 10, 0.8}, {21, 0, 9, 10, 0.8},
        {0, 0, 30, 29, 0.3}, {5, 5, 10, 10, 0.6}, {6, 5, 10, 10, 0.6},
        {40, 41, 5, 5, 0.1}, {0, 0, 2, 4, 0.5}};
    memset(s, 0, sizeof(*s));
    for (int j = 0; j < 6; j++) {
        s->gframe[j] = j < 3 ? 0 : 1;
        s->gcls[j] = j % 2;
        s->gx[j] = g[j][0];
        s->gy[j] = g[j][1];
        s->gw[j] = g[j][2];
        s->gh[j] = g[j][3];
        s->ga[j] = g[j][2] * g[j][3];
        s->gc[j] = j == 2;
        s->gi[j] = j == 4;
    }
    for (int i = 0; i < 8; i++) {
        s->dframe[i] = i < 4 ? 0 : 1;
        s->dcls[i] = i % 2;
        s->dx[i] = d[i][0];
        s->dy[i] = d[i][1];
        s->dw[i] = d[i][2];
        s->dh[i] = d[i][3];
        s->ds[i] = d[i][4];
    }
    s->goff[0] = 0, s->goff[1] = 3, s->goff[2] = 6;
    s->doff[0] = 0, s->doff[1] = 4, s->doff[2] = 8;
    s->gt = (dg_boxset){6, 6, s->gframe, s->gcls, s->gx, s->gy, s->gw, s->gh,
                        NULL, s->ga, s->gc, s->gi, s->goff};
    s->dt = (dg_boxset){8, 8, s->dframe, s->dcls, s->dx, s->dy, s->dw, s->dh,
                        s->ds, NULL, NULL, NULL, s->doff};
}

static const double thr[3] = {0.5, 0.75, 0.95};

/* Matches the small chunk on ctx and compares with the reference. */
static dg_status run_small(dg_ctx *ctx)
{
    small s;
    small_init(&s);
    dg_match_input in = {2, 2, &s.gt, &s.dt, 3, thr, NULL, NULL};
    uint8_t st1[24], st2[24];
    int32_t m1[24], m2[24], a1[24], a2[24];
    dg_match_output o1 = {st1, m1, a1, NULL, 0}, o2 = {st2, m2, a2, NULL, 0};
    dg_status st = dg__cl_match_frames(ctx, &in, &o2, NULL);
    if (st != DG_OK)
        return st;
    CHECK_EQ_INT(dg__match_frames_ref(ctx, &in, &o1), DG_OK);
    CHECK(!memcmp(st1, st2, sizeof(st1)));
    CHECK(!memcmp(m1, m2, sizeof(m1)));
    CHECK(!memcmp(a1, a2, sizeof(a1)));
    return DG_OK;
}

static dg_ctx *new_ctx(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) != DG_OK)
        exit(2);
    const char *dev = getenv("DETGRID_DEVICE");
    if (!dev || !strncmp(dev, "ref", 3))
        dev = "auto";
    dg_ctx_set_device(ctx, dev);
    return ctx;
}

/* ---- files ---------------------------------------------------------------- */

static int copy_file(const char *from, const char *to, const char *extra)
{
    FILE *in = fopen(from, "rb"), *out = NULL;
    char buf[8192];
    size_t n;
    int ok = 0;
    if (!in)
        return 0;
    out = fopen(to, "wb");
    if (!out)
        goto done;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            goto done;
    if (extra && fputs(extra, out) < 0)
        goto done;
    ok = 1;
done:
    if (out && fclose(out) != 0)
        ok = 0;
    fclose(in);
    return ok;
}

static int write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0) && ok;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Copies kernels/ to dir, appending extra to the file named in `which`. */
static int copy_kernels(const char *dir, const char *which,
                        const char *extra)
{
    static const char *names[] = {"iou.cl", "frame.cl", "frames.cl",
                                  "bootstrap.cl", "embed.cl"};
    char from[1024], to[1024];
    mkdir(dir, 0755);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(from, sizeof(from), "%s/../../kernels/%s", DG_TEST_DATA,
                 names[i]);
        snprintf(to, sizeof(to), "%s/%s", dir, names[i]);
        if (!copy_file(from, to,
                       which && !strcmp(which, names[i]) ? extra : NULL))
            return 0;
    }
    return 1;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_listing(void)
{
    dg_device_desc *d = NULL;
    int n = -1, fp64 = 0;
    CHECK_EQ_INT(dg_devices_list(NULL, &d, &n), DG_OK);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        printf("device %d.%d: %s / %s (%s, driver %s, %s, fp64 %d, %u CUs, "
               "%llu MiB, max alloc %llu MiB)\n",
               d[i].platform, d[i].device, d[i].platform_name, d[i].name,
               d[i].version, d[i].driver,
               d[i].is_gpu ? "GPU" : d[i].is_cpu ? "CPU" : "other",
               d[i].has_fp64, d[i].compute_units,
               (unsigned long long)(d[i].global_mem >> 20),
               (unsigned long long)(d[i].max_alloc >> 20));
        CHECK(d[i].name[0] != 0);
        CHECK(d[i].global_mem > 0);
        CHECK(d[i].max_alloc > 0);
        fp64 |= d[i].has_fp64;
    }
    CHECK(fp64);
    free(d);

    /* No platform is no error, just no devices. */
    setenv("DETGRID_FAULT", "cl-none", 1);
    d = (dg_device_desc *)1;
    n = -1;
    CHECK_EQ_INT(dg_devices_list(NULL, &d, &n), DG_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(d == NULL);
    unsetenv("DETGRID_FAULT");
}

static void test_selection(void)
{
    dg_device_desc *d = NULL;
    int n = 0, any_gpu = 0, pick = -1;
    char spec[300];
    dg_ctx *ctx = new_ctx();

    CHECK_EQ_INT(dg_devices_list(ctx, &d, &n), DG_OK);
    for (int i = 0; i < n; i++) {
        any_gpu |= d[i].is_gpu;
        if (pick < 0 && d[i].has_fp64 && d[i].available)
            pick = i;
    }
    if (pick >= 0) {
        /* By index. */
        snprintf(spec, sizeof(spec), "auto:%d.%d", d[pick].platform,
                 d[pick].device);
        CHECK_EQ_INT(dg_ctx_set_device(ctx, spec), DG_OK);
        CHECK_EQ_INT(run_small(ctx), DG_OK);
        CHECK(DG_CL(ctx) && !strcmp(DG_CL(ctx)->device_name, d[pick].name));

        /* By a name substring in another case. */
        char sub[8] = {0};
        for (int i = 0; i < 4 && d[pick].name[i]; i++) {
            char ch = d[pick].name[i];
            sub[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32
                            : ch >= 'A' && ch <= 'Z' ? ch + 32
                                                     : ch);
        }
        snprintf(spec, sizeof(spec), "%s:%s",
                 d[pick].is_gpu ? "gpu" : d[pick].is_cpu ? "cpu" : "auto",
                 sub);
        CHECK_EQ_INT(dg_ctx_set_device(ctx, spec), DG_OK);
        CHECK_EQ_INT(run_small(ctx), DG_OK);
        printf("selected by '%s': %s\n", spec, dg__cl_device_desc(ctx));
    }

    /* A name nothing has, an index nothing has. */
    CHECK_EQ_INT(dg_ctx_set_device(ctx, "auto:no-such-device-xyz"), DG_OK);
    CHECK_EQ_INT(run_small(ctx), DG_ENODEV);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "no-such-device-xyz");
    CHECK_EQ_INT(dg_ctx_set_device(ctx, "auto:97.3"), DG_OK);
    CHECK_EQ_INT(run_small(ctx), DG_ENODEV);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "97.3");
    if (!any_gpu) {
        CHECK_EQ_INT(dg_ctx_set_device(ctx, "gpu"), DG_OK);
        CHECK_EQ_INT(run_small(ctx), DG_ENODEV);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "GPU");
        CHECK_EQ_INT(dg__cl_have_gpu(ctx), 0);
    }
    /* The reference path uses no OpenCL at all. */
    CHECK_EQ_INT(dg_ctx_set_device(ctx, "ref"), DG_OK);
    CHECK_EQ_INT(run_small(ctx), DG_ENODEV);
    free(d);
    dg_ctx_free(ctx);
}

static void test_cache(void)
{
    char dir[512], path[4160];
    snprintf(dir, sizeof(dir), "%s/cache/nested", tmpdir);
    setenv("DETGRID_CACHE_DIR", dir, 1);

    /* First context builds and writes the cache (creating the dirs). */
    dg_ctx *a = new_ctx();
    double t0 = dg__now();
    CHECK_EQ_INT(dg__cl_ensure_match(a), DG_OK);
    double t_build = dg__now() - t0;
    CHECK_EQ_INT(DG_CL(a)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_BUILT);
    snprintf(path, sizeof(path), "%s", DG_CL(a)->progs[DG_CL_PROG_MATCH].cache_path);
    CHECK(file_size(path) > 32);
    CHECK_EQ_INT(run_small(a), DG_OK);

    /* Second context loads it. */
    dg_ctx *b = new_ctx();
    t0 = dg__now();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    double t_cached = dg__now() - t0;
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_CACHED);
    CHECK_EQ_INT(run_small(b), DG_OK);
    printf("program: built in %.3f s, from cache in %.3f s\n", t_build,
           t_cached);
    /* The embeddings program goes through the same cache. */
    cl_program pe = NULL;
    CHECK_EQ_INT(dg__cl_program(a, DG_CL_PROG_EMBED, &pe), DG_OK);
    CHECK_EQ_INT(DG_CL(a)->progs[DG_CL_PROG_EMBED].source,
                 DG_CL_PROGRAM_BUILT);
    CHECK_EQ_INT(dg__cl_program(b, DG_CL_PROG_EMBED, &pe), DG_OK);
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_EMBED].source,
                 DG_CL_PROGRAM_CACHED);
    CHECK(strcmp(DG_CL(b)->progs[DG_CL_PROG_EMBED].cache_path, path) != 0);
    dg_ctx_free(b);

    /* A corrupt file (garbage, then a valid header with a bad body) is
     * ignored and replaced. */
    static const char garbage[] = "not a binary at all";
    CHECK(write_file(path, garbage, sizeof(garbage)));
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_BUILT);
    CHECK_EQ_INT(run_small(b), DG_OK);
    dg_ctx_free(b);
    long good = file_size(path);
    CHECK(good > 32);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, good / 2, SEEK_SET);
        fputc('X', f);
        fputc('Y', f);
        fclose(f);
    }
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_BUILT);
    dg_ctx_free(b);
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_CACHED);
    dg_ctx_free(b);

    /* Other build options are another key. */
    setenv("DETGRID_CL_BUILD_OPTIONS", "-DDG_TEST_OPTION=1", 1);
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK_EQ_INT(DG_CL(b)->progs[DG_CL_PROG_MATCH].source, DG_CL_PROGRAM_BUILT);
    CHECK(strcmp(DG_CL(b)->progs[DG_CL_PROG_MATCH].cache_path, path) != 0);
    CHECK_EQ_INT(run_small(b), DG_OK);
    dg_ctx_free(b);
    unsetenv("DETGRID_CL_BUILD_OPTIONS");

    /* A cache directory that cannot exist is silently not used. */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/a-file", tmpdir);
    CHECK(write_file(bad, "x", 1));
    snprintf(bad, sizeof(bad), "%s/a-file/cache", tmpdir);
    setenv("DETGRID_CACHE_DIR", bad, 1);
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK_EQ_INT(run_small(b), DG_OK);
    dg_ctx_free(b);

    /* XDG_CACHE_HOME is the fallback. */
    unsetenv("DETGRID_CACHE_DIR");
    char xdg[600];
    snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
    setenv("XDG_CACHE_HOME", xdg, 1);
    b = new_ctx();
    CHECK_EQ_INT(dg__cl_ensure_match(b), DG_OK);
    CHECK(!strncmp(DG_CL(b)->progs[DG_CL_PROG_MATCH].cache_path, xdg, strlen(xdg)));
    CHECK(file_size(DG_CL(b)->progs[DG_CL_PROG_MATCH].cache_path) > 32);
    dg_ctx_free(b);
    dg_ctx_free(a);
    setenv("DETGRID_CACHE_DIR", dir, 1);
}

static void test_faults(void)
{
    dg_ctx *ctx = new_ctx();

    setenv("DETGRID_FAULT", "cl-none", 1);
    CHECK_EQ_INT(run_small(ctx), DG_ENODEV);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "no OpenCL platform");
    CHECK_EQ_INT(dg__cl_have_gpu(ctx), 0);
    CHECK(DG_CL(ctx) == NULL);

    setenv("DETGRID_FAULT", "cl-build", 1);
    CHECK_EQ_INT(run_small(ctx), DG_ECL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "build log");
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "simulated build failure");
    CHECK(DG_CL(ctx) == NULL);

    /* The first allocation fails, later ones work. */
    setenv("DETGRID_FAULT", "cl-build-not,cl-oom", 1);
    CHECK_EQ_INT(run_small(ctx), DG_ECL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx),
                       "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    unsetenv("DETGRID_FAULT");
    CHECK_EQ_INT(run_small(ctx), DG_OK);

    dg_ctx_free(ctx);
}

static void test_kernel_dir(void)
{
    char dir[600];
    dg_ctx *ctx;

    /* Sources from disk, changed (a comment) so they are a new key. */
    snprintf(dir, sizeof(dir), "%s/kernels-ok", tmpdir);
    CHECK(copy_kernels(dir, "frames.cl", "\n/* loaded from disk */\n"));
    setenv("DETGRID_KERNEL_DIR", dir, 1);
    ctx = new_ctx();
    CHECK_EQ_INT(run_small(ctx), DG_OK);
    CHECK(DG_CL(ctx) && DG_CL(ctx)->progs[DG_CL_PROG_MATCH].from_dir);
    CHECK(DG_CL(ctx) &&
          DG_CL(ctx)->progs[DG_CL_PROG_MATCH].source == DG_CL_PROGRAM_BUILT);
    /* Every program has the disk mode, through the one loader. */
    cl_program pr = NULL;
    CHECK_EQ_INT(dg__cl_program(ctx, DG_CL_PROG_EMBED, &pr), DG_OK);
    CHECK(pr != NULL && DG_CL(ctx)->progs[DG_CL_PROG_EMBED].from_dir);
    CHECK_EQ_INT(dg__cl_program(ctx, DG_CL_PROG_BOOTSTRAP, &pr), DG_OK);
    CHECK(DG_CL(ctx)->progs[DG_CL_PROG_BOOTSTRAP].from_dir);
    dg_ctx_free(ctx);

    /* A broken bootstrap.cl fails that program only, naming the file. */
    snprintf(dir, sizeof(dir), "%s/kernels-bad-boot", tmpdir);
    CHECK(copy_kernels(dir, "bootstrap.cl", "\nnot OpenCL either;\n"));
    setenv("DETGRID_KERNEL_DIR", dir, 1);
    ctx = new_ctx();
    CHECK_EQ_INT(run_small(ctx), DG_OK);
    CHECK_EQ_INT(dg__cl_program(ctx, DG_CL_PROG_BOOTSTRAP, &pr), DG_ECL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "bootstrap program");
    dg_ctx_free(ctx);

    /* A broken kernel: DG_ECL, with the log naming the file. */
    snprintf(dir, sizeof(dir), "%s/kernels-bad", tmpdir);
    CHECK(copy_kernels(dir, "frame.cl", "\nthis is not OpenCL C;\n"));
    setenv("DETGRID_KERNEL_DIR", dir, 1);
    ctx = new_ctx();
    CHECK_EQ_INT(run_small(ctx), DG_ECL);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "build log");
    /* Logs name the file (PoCL) or quote the line (NVIDIA). */
    CHECK(strstr(dg_ctx_last_error(ctx), "frame.cl") ||
          strstr(dg_ctx_last_error(ctx), "not OpenCL C"));
    printf("a failed build reads:\n%s\n", dg_ctx_last_error(ctx));
    dg_ctx_free(ctx);

    /* A directory without the files: DG_EIO naming the path. */
    snprintf(dir, sizeof(dir), "%s/no-such-dir", tmpdir);
    setenv("DETGRID_KERNEL_DIR", dir, 1);
    ctx = new_ctx();
    CHECK_EQ_INT(run_small(ctx), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "no-such-dir/iou.cl");
    dg_ctx_free(ctx);
    unsetenv("DETGRID_KERNEL_DIR");
}

/* Removes what the test wrote under tmpdir (two levels are enough). */
static void cleanup(void)
{
    char cmd[600];
    if (!tmpdir[0] || strncmp(tmpdir, "/tmp/", 5) != 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
    unsetenv("DETGRID_FAULT");
    unsetenv("DETGRID_KERNEL_DIR");
    unsetenv("DETGRID_CL_BUILD_OPTIONS");

    dg_ctx *probe = new_ctx();
    dg_status st = dg__cl_ensure_match(probe);
    if (st == DG_ENODEV) {
        printf("SKIP: no OpenCL device (%s)\n", dg_ctx_last_error(probe));
        dg_ctx_free(probe);
        return 77;
    }
    if (st != DG_OK) {
        fprintf(stderr, "cannot set up OpenCL: %s\n",
                dg_ctx_last_error(probe));
        dg_ctx_free(probe);
        return 1;
    }
    printf("device: %s\n", dg__cl_device_desc(probe));
    dg_ctx_free(probe);

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/detgrid-cl-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_listing();
    test_selection();
    test_cache();
    test_faults();
    test_kernel_dir();
    cleanup();
    return check_done("test-cl-runtime");
}
