/*
 * The writer lock of a file (include/detgrid/files.h, dg_lock_take): an
 * exclusive fcntl lock on "<real path>.lock", the locks this process holds
 * (shared by its saves), a bounded wait that names the holder, lock files
 * of other users, and the removal of the lock file by its holder. Why the
 * lock proves a temporary file dead: safefile.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

#define LOCK_MAGIC "detgrid-lock\n"

struct dg_lock {
    char *target;   /* real path of the locked file */
    char *path;     /* the lock file */
    int fd;
    int refs;
    struct dg_lock *next;
};

/* The locks this process holds (a lock is the process's, as fcntl's). */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dg_lock *reg;

static double default_timeout(void)
{
    const char *v = dg__env("DETGRID_LOCK_TIMEOUT");
    if (v) {
        char *end;
        double t = strtod(v, &end);
        if (!*end && t >= 0 && t <= 1e7)
            return t;
    }
    return 30;
}

/* F_OFD_SETLK where the kernel has it (a lock per open file description,
 * so two handles in one process exclude each other too), else F_SETLK. */
static int try_lock(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
#endif
    return fcntl(fd, F_SETLK, &fl);
}

/*
 * A lock file this user cannot open for writing (another user's): 2 when a
 * writer holds it; 1 when nobody does, and it was removed (its maker died;
 * the directory is writable, as saves need anyway); 0 when it cannot tell.
 */
static int foreign_lock(const char *lp)
{
    int fd = open(lp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    int r = -1;
#ifdef F_OFD_GETLK
    r = fcntl(fd, F_OFD_GETLK, &fl);
#endif
    if (r < 0) {
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        r = fcntl(fd, F_GETLK, &fl);
    }
    struct stat a, b;
    int same = fstat(fd, &a) == 0 && stat(lp, &b) == 0 &&
               a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    close(fd);
    if (r < 0 || !same)
        return 0;
    if (fl.l_type != F_UNLCK)
        return 2;
    return unlink(lp) == 0;
}

/* The holder as the lock file describes it: "pid 12 on host h (...)". */
static void describe_holder(int fd, char *buf, size_t cap)
{
    char raw[512];
    ssize_t n = pread(fd, raw, sizeof(raw) - 1, 0);
    size_t ml = strlen(LOCK_MAGIC);
    buf[0] = 0;
    if (n <= (ssize_t)ml || memcmp(raw, LOCK_MAGIC, ml))
        return;
    raw[n] = 0;
    char *info = raw + ml;
    info[strcspn(info, "\n")] = 0;
    for (char *s = info; *s; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
    snprintf(buf, cap, " (%s)", info);
}

static void write_holder(int fd)
{
    char host[256] = "?", cmd[256] = "?", when[64] = "?";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = 0;
    int c = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (c >= 0) {
        ssize_t n = read(c, cmd, sizeof(cmd) - 1);
        close(c);
        if (n > 0) {
            cmd[n] = 0;
            for (ssize_t i = 0; i + 1 < n; i++)
                if (!cmd[i])
                    cmd[i] = ' ';
            for (char *s = cmd; *s; s++)
                if ((unsigned char)*s < 0x20)
                    *s = ' ';
        }
    }
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    char buf[1024];
    int len = snprintf(buf, sizeof(buf), LOCK_MAGIC "pid %ld on %s: %s, "
                       "since %s\n", (long)getpid(), host, cmd, when);
    if (len > (int)sizeof(buf) - 1)
        len = (int)sizeof(buf) - 1;
    /* Only informative: a full disk must not stop the writer here. */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)len, 0) < 0)
        (void)ftruncate(fd, 0);
}

static struct dg_lock *find_held(const char *target)
{
    for (struct dg_lock *l = reg; l; l = l->next)
        if (!strcmp(l->target, target))
            return l;
    return NULL;
}

dg_status dg__lock_target(dg_ctx *ctx, const char *real, const char *shown,
                          double timeout_s, dg_lock **out)
{
    *out = NULL;
    if (timeout_s < 0)
        timeout_s = default_timeout();
    pthread_mutex_lock(&reg_mu);
    struct dg_lock *held = find_held(real);
    if (held) {
        held->refs++;
        pthread_mutex_unlock(&reg_mu);
        *out = held;
        return DG_OK;
    }
    pthread_mutex_unlock(&reg_mu);

    size_t rl = strlen(real);
    char *lp = malloc(rl + 6);
    if (!lp)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    memcpy(lp, real, rl);
    memcpy(lp + rl, ".lock", 6);
    /* The lock file gets the target's permissions, so that whoever may
     * write the target may lock it. */
    struct stat ts;
    int have_target = stat(real, &ts) == 0;
    mode_t mode = have_target ? (ts.st_mode & 0666) | 0600 : 0666;
    double deadline = dg__now() + timeout_s, nap = 0.005;
    dg_status st = DG_OK;
    int fd = -1, foreign = 0;
    for (;;) {
        if (fd < 0) {
            fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
            foreign = 0;
            if (fd < 0 && errno == EACCES) {
                /* Another user's lock file: removed if its writer died,
                 * else waited for like any held lock. */
                int r = foreign_lock(lp);
                if (r == 1)
                    continue;
                if (r == 2 &&
                    (fd = open(lp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
                    foreign = 1;
                else
                    errno = EACCES;
            }
            if (fd < 0) {
                int e = errno;
                st = dg__fail(ctx, DG_EIO, "cannot lock '%s': cannot open "
                              "'%s': %s%s", shown, lp, strerror(e),
                              e == ELOOP ? " (a symbolic link, not a detgrid "
                                           "lock file)" : "");
                break;
            }
            struct stat ls;
            char head[sizeof(LOCK_MAGIC)];
            size_t ml = strlen(LOCK_MAGIC);
            ssize_t n = fstat(fd, &ls) == 0 ? pread(fd, head, ml, 0) : -1;
            /* A lock file made here gets the target's permissions whatever
             * the umask, so that whoever may write the target may lock it
             * (a project shared by a group); a new target's, the umask's. */
            if (n == 0 && have_target && ls.st_uid == geteuid() &&
                (ls.st_mode & 0777) != mode)
                (void)fchmod(fd, mode);
            if (n < 0 || !S_ISREG(ls.st_mode) ||
                (n > 0 && ((size_t)n < ml || memcmp(head, LOCK_MAGIC, ml)))) {
                st = dg__fail(ctx, DG_EIO, "cannot lock '%s': '%s' exists "
                              "and is not a detgrid lock file (move it away)",
                              shown, lp);
                break;
            }
        }
        if (!foreign && try_lock(fd) == 0) {
            /* The lock file may have been removed (by the holder that just
             * released it) between our open and our lock: then ours is an
             * orphan, and the lock must be taken again on the new file. */
            struct stat a, b;
            if (fstat(fd, &a) == 0 && stat(lp, &b) == 0 &&
                a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                break;
            close(fd);
            fd = -1;
            continue;
        }
        int e = foreign ? EAGAIN : errno;
        if (e != EAGAIN && e != EACCES && e != EINTR) {
            st = dg__fail(ctx, DG_EIO, "cannot lock '%s': %s (does the file "
                          "system of '%s' support fcntl locks?)", shown,
                          strerror(e), lp);
            break;
        }
        double now = dg__now();
        if (now >= deadline) {
            char who[600];
            describe_holder(fd, who, sizeof(who));
            if (timeout_s > 0)
                st = dg__fail(ctx, DG_EBUSY, "'%s' is locked by another "
                              "writer%s; gave up after %g s (wait longer with "
                              "DETGRID_LOCK_TIMEOUT=<seconds>)", shown, who,
                              timeout_s);
            else
                st = dg__fail(ctx, DG_EBUSY, "'%s' is locked by another "
                              "writer%s", shown, who);
            break;
        }
        struct timespec ts2;
        double s = nap < deadline - now ? nap : deadline - now;
        ts2.tv_sec = (time_t)s;
        ts2.tv_nsec = (long)((s - (double)ts2.tv_sec) * 1e9);
        nanosleep(&ts2, NULL);
        if (nap < 0.2)
            nap *= 2;
        /* Open again each round: the holder removes the file it locked. */
        close(fd);
        fd = -1;
    }
    if (st < 0) {
        if (fd >= 0)
            close(fd);
        free(lp);
        return st;
    }
    write_holder(fd);
    struct dg_lock *l = calloc(1, sizeof(*l));
    char *t = strdup(real);
    if (!l || !t) {
        free(l);
        free(t);
        unlink(lp);
        close(fd);
        free(lp);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    l->target = t;
    l->path = lp;
    l->fd = fd;
    l->refs = 1;
    pthread_mutex_lock(&reg_mu);
    l->next = reg;
    reg = l;
    pthread_mutex_unlock(&reg_mu);
    *out = l;
    return DG_OK;
}

dg_status dg_lock_take(dg_ctx *ctx, const char *path, double timeout_s,
                       dg_lock **out)
{
    char *real;
    int link;
    *out = NULL;
    dg_status st = dg__resolve_target(ctx, path, &real, &link);
    if (st < 0)
        return st;
    st = dg__lock_target(ctx, real, path, timeout_s, out);
    free(real);
    return st;
}

void dg_lock_release(dg_lock *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&reg_mu);
    if (--l->refs > 0) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    for (struct dg_lock **pp = &reg; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    pthread_mutex_unlock(&reg_mu);
    /* Remove the file while still holding it (see dg__lock_target). */
    struct stat a, b;
    if (fstat(l->fd, &a) == 0 && stat(l->path, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        unlink(l->path);
    close(l->fd);
    free(l->path);
    free(l->target);
    free(l);
}

