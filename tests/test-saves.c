/*
 * Saves through the library (include/detgrid/files.h): a save never
 * overwrites another writer's update (DG_ECONFLICT), the writer lock is
 * the process's and shared by its saves, another process's lock is named,
 * a failed write leaves the library usable, and dg_write_file writes
 * through links and into devices.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store_impl.h"

static char dir[] = "/tmp/dg-test-saves-XXXXXX";

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static int exists(const char *p)
{
    struct stat s;
    return lstat(p, &s) == 0;
}

/* Files in dir whose name holds part. */
static int count_named(const char *part)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c -- '%s' > %s/.n", dir,
             part, dir);
    if (system(cmd) < 0)
        return -1;
    char np[300];
    path_in(np, sizeof(np), ".n");
    FILE *f = fopen(np, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        fclose(f);
    }
    unlink(np);
    return n;
}

static void conflict(dg_ctx *ctx, const char *p1)
{
    dg_project *a, *b;
    uint32_t f0 = 0, f1 = 1;
    CHECK_EQ_INT(dg_project_open(ctx, p1, &a), DG_OK);
    CHECK_EQ_INT(dg_project_open(ctx, p1, &b), DG_OK);
    CHECK_EQ_INT(dg_project_add_segment(ctx, a, "from-a", DG_SEGMENT_SCENARIO,
                                        &f0, 1), DG_OK);
    CHECK_EQ_INT(dg_project_add_segment(ctx, b, "from-b", DG_SEGMENT_SCENARIO,
                                        &f1, 1), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, a, p1), DG_OK);
    /* b was opened before a's save: saving it would drop "from-a". */
    CHECK_EQ_INT(dg_project_save(ctx, b, p1), DG_ECONFLICT);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "it was changed by another "
                       "writer since it was opened; nothing was saved");
    dg_project_free(b);
    /* a stands for the file it saved: a second save of it is fine. */
    CHECK_EQ_INT(dg_project_add_segment(ctx, a, "again", DG_SEGMENT_SCENARIO,
                                        &f1, 1), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, a, p1), DG_OK);
    dg_project_free(a);
    CHECK_EQ_INT(dg_project_open(ctx, p1, &b), DG_OK);
    CHECK_EQ_INT(dg_project_n_segments(b), 3); /* all, from-a, again */
    CHECK(dg_project_segment_index(b, "from-a") > 0);
    CHECK(dg_project_segment_index(b, "again") > 0);
    dg_project_free(b);
}

static void lock_in_process(dg_ctx *ctx, const char *p1)
{
    char lp[300];
    snprintf(lp, sizeof(lp), "%s.lock", p1);
    dg_lock *l1, *l2;
    CHECK_EQ_INT(dg_lock_take(ctx, p1, 0, &l1), DG_OK);
    CHECK(exists(lp));
    /* The process's own lock: shared, and its saves run under it. */
    CHECK_EQ_INT(dg_lock_take(ctx, p1, 0, &l2), DG_OK);
    CHECK(l1 == l2);
    dg_project *p;
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    CHECK_EQ_INT(dg_project_set_defaults(ctx, p, 0.25, 0.5), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    dg_project_free(p);
    dg_lock_release(l2);
    CHECK(exists(lp));
    dg_lock_release(l1);
    CHECK(!exists(lp));
}

static void lock_elsewhere(dg_ctx *ctx, const char *p1)
{
    int go[2], done[2];
    if (pipe(go) || pipe(done)) {
        CHECK(0);
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        dg_ctx *c;
        dg_lock *l;
        char x = 0;
        if (dg_ctx_new(&c) < 0 || dg_lock_take(c, p1, 0, &l) < 0)
            _exit(1);
        if (write(go[1], &x, 1) != 1 || read(done[0], &x, 1) != 1)
            _exit(1);
        dg_lock_release(l);
        _exit(0);
    }
    char x;
    CHECK_EQ_INT(read(go[0], &x, 1), 1);
    dg_lock *l;
    CHECK_EQ_INT(dg_lock_take(ctx, p1, 0, &l), DG_EBUSY);
    char want[64];
    snprintf(want, sizeof(want), "locked by another writer (pid %ld on ",
             (long)child);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), want);
    /* A save without the lock waits, then gives up, changing nothing. */
    dg_project *p;
    struct stat before, after;
    CHECK_EQ_INT(stat(p1, &before), 0);
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    setenv("DETGRID_LOCK_TIMEOUT", "0.2", 1);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_EBUSY);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "gave up after 0.2 s");
    unsetenv("DETGRID_LOCK_TIMEOUT");
    CHECK_EQ_INT(stat(p1, &after), 0);
    CHECK_EQ_INT(after.st_ino, before.st_ino);
    CHECK_EQ_INT(write(done[1], &x, 1), 1);
    int status = -1;
    waitpid(child, &status, 0);
    CHECK_EQ_INT(status, 0);
    /* Released: the same handle saves now. */
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    dg_project_free(p);
    close(go[0]);
    close(go[1]);
    close(done[0]);
    close(done[1]);
}

/* The last step of the phase "save" reported, and its total. */
typedef struct save_steps {
    unsigned long long done, total;
} save_steps;

static void on_progress(void *user, const char *phase, unsigned long long done,
                        unsigned long long total)
{
    save_steps *s = user;
    if (!strcmp(phase, "save")) {
        s->done = done;
        s->total = total;
    }
}

/*
 * The latch of a failed write is seen from any object of the temporary
 * file (HDF5 hands the driver's information back), so a save stops at the
 * first dataset written after the disk filled, not at the commit.
 */
static void failed_write_stops(dg_ctx *ctx, const char *p1)
{
    dg_tmpfile t;
    hid_t f;
    CHECK_EQ_INT(dg__h5_create_tmp(ctx, p1, &t, &f), DG_OK);
    hid_t g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(g >= 0);
    CHECK(dg__h5_tmpfile_of(f) == &t);
    CHECK(dg__h5_tmpfile_of(g) == &t);
    CHECK(!strcmp(dg__h5_fname(g), p1));
    H5Gclose(g);
    dg__h5_abort_tmp(f, &t);
    CHECK_EQ_INT(count_named(".detgrid-"), 0);

    dg_project *p;
    save_steps s = {0, 0};
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    CHECK_EQ_INT(dg_project_set_defaults(ctx, p, 0.2, 0.5), DG_OK);
    dg_ctx_set_progress(ctx, on_progress, &s);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    CHECK(s.total > 3);
    CHECK_EQ_INT(s.done, s.total);
    s.done = s.total = 0;
    setenv("DETGRID_FAULT", "enospc", 1);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_EIO);
    unsetenv("DETGRID_FAULT");
    /* Nothing past the metadata, the first thing written. */
    CHECK_EQ_INT(s.done, 0);
    CHECK(s.total > 3);
    dg_ctx_set_progress(ctx, NULL, NULL);
    dg_project_free(p);
}

static void failed_writes(dg_ctx *ctx, const char *p1)
{
    struct stat before, after;
    CHECK_EQ_INT(stat(p1, &before), 0);
    dg_project *p;
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    CHECK_EQ_INT(dg_project_set_defaults(ctx, p, 0.3, 0.5), DG_OK);
    /* The disk fills in the middle of the HDF5 file, then every write
     * fails: each time an error naming the file, the file as it was, no
     * temporary file, and HDF5 still sound for the next save. */
    static const char *const faults[] = {"enospc", "enospc20000", "eio",
                                         "eio4000", "fsync", "rename"};
    for (size_t k = 0; k < sizeof(faults) / sizeof(faults[0]); k++) {
        setenv("DETGRID_FAULT", faults[k], 1);
        CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_EIO);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), p1);
        CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "it is unchanged");
        CHECK_EQ_INT(stat(p1, &after), 0);
        CHECK_EQ_INT(after.st_ino, before.st_ino);
        CHECK_EQ_INT(after.st_size, before.st_size);
        CHECK_EQ_INT(count_named(".detgrid-"), 0);
    }
    unsetenv("DETGRID_FAULT");
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    dg_project_free(p);
    /* No HDF5 file left open by the failures. */
    CHECK_EQ_INT(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE), 0);
    CHECK_EQ_INT(dg_project_open(ctx, p1, &p), DG_OK);
    dg_project_info in;
    dg_project_get_info(p, &in);
    CHECK_EQ_DBL(in.default_conf, 0.3);
    dg_project_free(p);
}

static void write_file(dg_ctx *ctx)
{
    char real[256], link[256], sub[256];
    path_in(real, sizeof(real), "real.txt");
    path_in(link, sizeof(link), "link.txt");
    path_in(sub, sizeof(sub), "sub");
    CHECK_EQ_INT(symlink("real.txt", link), 0);
    CHECK_EQ_INT(dg_write_file(ctx, link, "hello\n", 6), DG_OK);
    struct stat s;
    CHECK_EQ_INT(lstat(link, &s), 0);
    CHECK(S_ISLNK(s.st_mode));
    CHECK_EQ_INT(stat(real, &s), 0);
    CHECK_EQ_INT(s.st_size, 6);
    CHECK_EQ_INT(dg_write_file(ctx, "/dev/null", "x", 1), DG_OK);
    CHECK_EQ_INT(mkdir(sub, 0755), 0);
    CHECK_EQ_INT(dg_write_file(ctx, sub, "x", 1), DG_EIO);
    CHECK_STR_CONTAINS(dg_ctx_last_error(ctx), "it is a directory");
    CHECK(dg_same_file(link, real));
    CHECK(!dg_same_file(link, sub));
}

int main(void)
{
    dg_ctx *ctx;
    char p1[256];
    if (!mkdtemp(dir))
        return 1;
    CHECK_EQ_INT(dg_ctx_new(&ctx), DG_OK);
    path_in(p1, sizeof(p1), "p.h5");
    dg_synth_opts o;
    dg_synth_opts_init(&o);
    o.n_frames = 50;
    o.n_classes = 3;
    dg_project *p;
    CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_OK);
    CHECK_EQ_INT(dg_project_save(ctx, p, p1), DG_OK);
    dg_project_free(p);

    conflict(ctx, p1);
    lock_in_process(ctx, p1);
    lock_elsewhere(ctx, p1);
    failed_writes(ctx, p1);
    failed_write_stops(ctx, p1);
    write_file(ctx);

    dg_ctx_free(ctx);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return check_done("test-saves");
}
