/*
 * Safe writing of files (include/detgrid/files.h, store.h "safe files"):
 * where a write really goes (symbolic links followed), exclusive temporary
 * files with unguessable names, checked writes, the commit (fsync, rename
 * or an in-place copy for hard links, directory fsync), and the removal of
 * the temporary files of dead writers. The writer lock is in lock.c.
 *
 * Why a temporary file can be proven dead: a writer creates its temporary
 * file only while it holds the target's lock, and removes it before it
 * lets the lock go; the kernel drops the lock of a writer that dies. So a
 * temporary file of the target that someone else sees while holding the
 * lock belongs to a writer that died. The name carries a check code
 * computed from the target's name, the random part and the user id, so a
 * file that merely looks alike is never taken for one of ours.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

#include "store_impl.h"

#define TMP_TAG ".detgrid-"
#define TMP_SUFFIX ".tmp"
#define SAVED_SUFFIX ".saved"

/* ---- paths -------------------------------------------------------------- */

static char *join(const char *dir, const char *base)
{
    size_t a = strlen(dir), b = strlen(base);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, base, b + 1);
    if (a == 1 && dir[0] == '/')
        memmove(s + 1, s + 2, b + 1);
    return s;
}

/* The directory part of path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

dg_status dg__resolve_target(dg_ctx *ctx, const char *path, char **real,
                             int *is_link)
{
    char *cur = strdup(path);
    *real = NULL;
    *is_link = 0;
    if (!cur)
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    if (!*path || path[strlen(path) - 1] == '/') {
        free(cur);
        return dg__fail(ctx, DG_EINVAL, "cannot write '%s': not a file name",
                        path);
    }
    /* Follow symbolic links by hand, so that a dangling one names the file
     * to create (as cp and shells' > do). */
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
            break;
        *is_link = 1;
        char buf[PATH_MAX];
        ssize_t n = readlink(cur, buf, sizeof(buf) - 1);
        if (n < 0 || hops >= 40) {
            int e = n < 0 ? errno : ELOOP;
            free(cur);
            return dg__fail(ctx, DG_EIO, "cannot write '%s': %s", path,
                            strerror(e));
        }
        buf[n] = 0;
        char *next;
        if (buf[0] == '/') {
            next = strdup(buf);
        } else {
            char *d = dir_of(cur);
            next = d ? join(d, buf) : NULL;
            free(d);
        }
        free(cur);
        if (!(cur = next))
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    char *d = dir_of(cur);
    char *rd = d ? realpath(d, NULL) : NULL;
    int e = errno;
    if (!d) {
        free(cur);
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    }
    if (!rd) {
        dg_status st = dg__fail(ctx, DG_EIO, "cannot write '%s': directory "
                                "'%s': %s", path, d, strerror(e));
        free(d);
        free(cur);
        return st;
    }
    struct stat ds;
    if (stat(rd, &ds) < 0 || !S_ISDIR(ds.st_mode)) {
        dg_status st = dg__fail(ctx, DG_EIO, "cannot write '%s': '%s' is not "
                                "a directory", path, d);
        free(rd);
        free(d);
        free(cur);
        return st;
    }
    *real = join(rd, base_of(cur));
    free(rd);
    free(d);
    free(cur);
    return *real ? DG_OK : dg__fail(ctx, DG_ENOMEM, "out of memory");
}

int dg_same_file(const char *a, const char *b)
{
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 &&
           x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static void id_from_stat(const struct stat *st, dg_file_id *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
                   st->st_mtim.tv_nsec;
    id->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
                   st->st_ctim.tv_nsec;
}

int dg__file_id_fd(int fd, dg_file_id *id)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    id_from_stat(&st, id);
    return 0;
}

int dg__file_id_path(const char *path, dg_file_id *id)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    id_from_stat(&st, id);
    return 0;
}

int dg__file_id_eq(const dg_file_id *a, const dg_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* ---- randomness and names ---------------------------------------------- */

static uint64_t random64(void)
{
    uint64_t v = 0;
    /* A test hook: every name the same, to show a taken name is never
     * opened (tests/test_saves.py). */
    if (dg__fault("tmpname"))
        return 0x2a;
#if defined(__linux__)
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
#endif
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, &v, sizeof(v));
        close(fd);
        if (n == (ssize_t)sizeof(v))
            return v;
    }
    /* Last resort: unique enough in one process; O_EXCL keeps it safe. */
    static uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
        ((uint64_t)getpid() << 16) ^ ++counter * 0x9e3779b97f4a7c15ULL;
    return v;
}

/* The check code of a temporary name: FNV-1a over base, random, uid. */
static uint32_t name_check(const char *base, uint64_t rnd)
{
    uint32_t h = 2166136261u;
    char buf[64];
    snprintf(buf, sizeof(buf), "|%016llx|%lu|detgrid",
             (unsigned long long)rnd, (unsigned long)geteuid());
    for (const char *s = base; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    for (const char *s = buf; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & 0xffff;
}

/* "<dir>/<base>.detgrid-<12 hex random><4 hex check><suffix>", malloc'd. */
static char *side_name(const char *real, const char *suffix)
{
    char *d = dir_of(real);
    const char *base = base_of(real);
    uint64_t rnd = random64() & 0xffffffffffffULL;
    char tail[64];
    snprintf(tail, sizeof(tail), TMP_TAG "%012llx%04x%s",
             (unsigned long long)rnd, (unsigned)name_check(base, rnd), suffix);
    size_t bl = strlen(base);
    char *name = malloc(bl + strlen(tail) + 1);
    char *full = NULL;
    if (d && name) {
        memcpy(name, base, bl);
        strcpy(name + bl, tail);
        full = join(d, name);
    }
    free(name);
    free(d);
    return full;
}

/* 1 when entry is a name side_name made for base with suffix. */
static int is_side_name(const char *entry, const char *base,
                        const char *suffix)
{
    size_t bl = strlen(base), tl = strlen(TMP_TAG), sl = strlen(suffix);
    if (strlen(entry) != bl + tl + 16 + sl || strncmp(entry, base, bl) ||
        strncmp(entry + bl, TMP_TAG, tl) ||
        strcmp(entry + bl + tl + 16, suffix))
        return 0;
    const char *hex = entry + bl + tl;
    for (int i = 0; i < 16; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') ||
              (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    char r[13], c[5];
    memcpy(r, hex, 12);
    r[12] = 0;
    memcpy(c, hex + 12, 4);
    c[4] = 0;
    uint64_t rnd = strtoull(r, NULL, 16);
    return strtoul(c, NULL, 16) == name_check(base, rnd);
}

/*
 * Removes the temporary files of real's dead writers: those side_name
 * made for real that are regular files of this user. Called with real's
 * lock held and before this writer made its own (see the top of this
 * file).
 */
static void remove_dead_tmps(const char *real)
{
    char *d = dir_of(real);
    DIR *dir = d ? opendir(d) : NULL;
    const char *base = base_of(real);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (!is_side_name(e->d_name, base, TMP_SUFFIX))
            continue;
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode) && st.st_uid == geteuid())
            unlinkat(dirfd(dir), e->d_name, 0);
    }
    if (dir)
        closedir(dir);
    free(d);
}

int dg__saved_copy(const char *path, char *out, size_t cap)
{
    char *real = realpath(path, NULL);
    if (!real)
        return 0;
    char *d = dir_of(real);
    DIR *dir = d ? opendir(d) : NULL;
    struct dirent *e;
    int found = 0;
    while (dir && !found && (e = readdir(dir)))
        if (is_side_name(e->d_name, base_of(real), SAVED_SUFFIX)) {
            snprintf(out, cap, "%s/%s", d, e->d_name);
            found = 1;
        }
    if (dir)
        closedir(dir);
    free(d);
    free(real);
    return found;
}

/* ---- temporary files ------------------------------------------------------- */

/* The fault DETGRID_FAULT injects into the next write of n bytes after
 * `written` bytes: 0 for none, else the errno to fail with. */
static int write_fault(uint64_t written, size_t n)
{
    long at;
    if (dg__fault("enospc"))
        return ENOSPC;
    if (dg__fault_num("enospc", &at) && written + n > (uint64_t)at)
        return ENOSPC;
    if (dg__fault("eio"))
        return EIO;
    if (dg__fault_num("eio", &at) && written + n > (uint64_t)at)
        return EIO;
    return 0;
}

/* Latches error e (the first one counts); fault names the DETGRID_FAULT
 * item that caused it, or is NULL for a real one. */
static void latch(dg_tmpfile *t, int e, const char *fault)
{
    if (!t->err) {
        t->err = e ? e : EIO;
        t->fault = fault;
    }
}

int dg__tmp_pwrite(dg_tmpfile *t, const void *buf, size_t n, uint64_t off)
{
    if (t->err)
        return -1;
    int f = write_fault(t->written, n);
    if (f) {
        latch(t, f, f == ENOSPC ? "enospc" : "eio");
        return -1;
    }
    const char *p = buf;
    while (n) {
        ssize_t w = t->direct ? write(t->fd, p, n)
                              : pwrite(t->fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            latch(t, w < 0 ? errno : ENOSPC, NULL);
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
        t->written += (uint64_t)w;
    }
    return 0;
}

/* How the target is named in messages: the path given, and the real file
 * when a symbolic link led there. */
static void shown_name(const dg_tmpfile *t, char *buf, size_t cap)
{
    if (t->through_link)
        snprintf(buf, cap, "'%s' (real path '%s')", t->path, t->real);
    else
        snprintf(buf, cap, "'%s'", t->path);
}

dg_status dg__tmp_fail(dg_ctx *ctx, dg_tmpfile *t)
{
    char who[8400];
    shown_name(t, who, sizeof(who));
    return dg__fail(ctx, DG_EIO, "cannot write %s: %s%s%s%s; %s", who,
                    strerror(t->err), t->fault ? " (simulated: DETGRID_FAULT=" : "",
                    t->fault ? t->fault : "", t->fault ? ")" : "",
                    t->direct ? "it may hold part of the output"
                    : t->existed ? "it is unchanged" : "nothing was written");
}

dg_status dg__tmp_write(dg_ctx *ctx, dg_tmpfile *t, const void *data,
                        size_t len)
{
    if (len && dg__tmp_pwrite(t, data, len, t->written) < 0)
        return dg__tmp_fail(ctx, t);
    return DG_OK;
}

dg_status dg__tmp_open(dg_ctx *ctx, const char *path, int regular_only,
                       dg_tmpfile *t)
{
    dg_status st;
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    if (!(t->path = strdup(path)))
        return dg__fail(ctx, DG_ENOMEM, "out of memory");
    if ((st = dg__resolve_target(ctx, path, &t->real, &t->through_link)) < 0)
        goto fail;
    struct stat ts;
    if (stat(t->real, &ts) == 0) {
        t->existed = 1;
        if (S_ISDIR(ts.st_mode)) {
            st = dg__fail(ctx, DG_EIO, "cannot write '%s': it is a directory",
                          path);
            goto fail;
        }
        if (!S_ISREG(ts.st_mode)) {
            if (regular_only) {
                st = dg__fail(ctx, DG_EIO, "cannot write '%s': not a regular "
                              "file", path);
                goto fail;
            }
            /* A pipe or a device (/dev/null, /dev/stdout): written
             * straight, as there is nothing to replace. */
            t->direct = 1;
            t->fd = open(t->real, O_WRONLY | O_CLOEXEC);
            if (t->fd < 0) {
                int e = errno;
                st = dg__fail(ctx, DG_EIO, "cannot write '%s': %s", path,
                              strerror(e));
                goto fail;
            }
            return DG_OK;
        }
    }
    if ((st = dg__lock_target(ctx, t->real, path, -1, &t->lock)) < 0)
        goto fail;
    /* The file as it is under the lock: its mode, owner and links. */
    t->existed = stat(t->real, &ts) == 0 && S_ISREG(ts.st_mode);
    if (t->existed) {
        t->mode = ts.st_mode & 07777;
        t->uid = ts.st_uid;
        t->gid = ts.st_gid;
        t->inplace = ts.st_nlink > 1;
    }
    /* First, so that on a full disk their room is ours. */
    remove_dead_tmps(t->real);
    long ms;
    if (dg__fault_num("slowsave", &ms) && ms > 0) {
        /* A test hook: a writer that holds the lock for a while. */
        struct timespec nap = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&nap, NULL);
    }
    for (int tries = 0; t->fd < 0; tries++) {
        free(t->tmp);
        if (!(t->tmp = side_name(t->real, TMP_SUFFIX))) {
            st = dg__fail(ctx, DG_ENOMEM, "out of memory");
            goto fail;
        }
        /* Exclusive and never through a link: whatever is planted under
         * this name, it is not written. */
        t->fd = open(t->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     t->existed ? 0600 : 0666);
        if (t->fd < 0 && (errno != EEXIST || tries >= 16)) {
            int e = errno;
            st = dg__fail(ctx, DG_EIO, "cannot write '%s': cannot create a "
                          "temporary file in its directory: %s", path,
                          strerror(e));
            free(t->tmp);
            t->tmp = NULL;
            goto fail;
        }
    }
    if (t->existed) {
        /* Keep the owner (when allowed: root, or a group of ours) and then
         * the mode, which chown may have cleared of setuid bits. */
        if (fchown(t->fd, t->uid, t->gid) < 0)
            (void)fchown(t->fd, (uid_t)-1, t->gid);
        if (fchmod(t->fd, t->mode) < 0) {
            int e = errno;
            st = dg__fail(ctx, DG_EIO, "cannot write '%s': cannot set the "
                          "mode of its temporary file: %s", path, strerror(e));
            goto fail;
        }
    }
    return DG_OK;
fail:
    dg__tmp_abort(t);
    return st;
}

/* Copies the complete file at src over the target's own inode, for a
 * target with several hard links. */
static int copy_in_place(dg_tmpfile *t, int src, uint64_t size,
                         int *touched)
{
    *touched = 0;
    int fd = open(t->real, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = 0;
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    /* Reserve the room first: a full disk then fails here, before one byte
     * of the target changed. */
    if (size && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size) < 0 &&
        (errno == ENOSPC || errno == EDQUOT)) {
        e = errno;
        close(fd);
        return e;
    }
#endif
    char *buf = malloc(1 << 20);
    uint64_t off = 0;
    if (!buf)
        e = ENOMEM;
    while (!e && off < size) {
        size_t want = size - off < (1u << 20) ? (size_t)(size - off) : 1u << 20;
        ssize_t r = pread(src, buf, want, (off_t)off);
        if (r <= 0) {
            e = r < 0 ? errno : EIO;
            break;
        }
        int f = write_fault(t->written, (size_t)r);
        *touched = 1;
        ssize_t w = f ? -1 : pwrite(fd, buf, (size_t)r, (off_t)off);
        if (w != r) {
            e = f ? f : w < 0 ? errno : ENOSPC;
            break;
        }
        off += (uint64_t)r;
        t->written += (uint64_t)r;
    }
    free(buf);
    if (!e && ftruncate(fd, (off_t)size) < 0)
        e = errno;
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    return e;
}

static int sync_dir(const char *real)
{
    char *d = dir_of(real);
    int e = 0;
    int dfd = d ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd < 0)
        e = d ? errno : ENOMEM;
    else if (fsync(dfd) < 0 && errno != EINVAL && errno != EROFS)
        e = errno;
    if (dfd >= 0)
        close(dfd);
    free(d);
    return e;
}

dg_status dg__tmp_commit(dg_ctx *ctx, dg_tmpfile *t, dg_file_id *id)
{
    char who[8400];
    shown_name(t, who, sizeof(who));
    dg_status st = DG_OK;
    if (t->err) {
        st = dg__tmp_fail(ctx, t);
        goto out;
    }
    if (t->direct) {
        int e = close(t->fd) < 0 ? errno : 0;
        t->fd = -1;
        if (e) {
            latch(t, e, NULL);
            st = dg__tmp_fail(ctx, t);
        }
        t->committed = !e;
        goto out;
    }
    if (dg__fault("fsync") || fsync(t->fd) < 0) {
        latch(t, dg__fault("fsync") ? EIO : errno,
              dg__fault("fsync") ? "fsync" : NULL);
        st = dg__tmp_fail(ctx, t);
        goto out;
    }
    if (id)
        dg__file_id_fd(t->fd, id);
    if (t->inplace) {
        uint64_t size = (uint64_t)lseek(t->fd, 0, SEEK_END);
        /* Under a name no cleanup removes, until the target holds it. */
        char *saved = side_name(t->real, SAVED_SUFFIX);
        if (!saved || rename(t->tmp, saved) < 0) {
            int e = saved ? errno : ENOMEM;
            free(saved);
            st = dg__fail(ctx, DG_EIO, "cannot write %s: %s; it is unchanged",
                          who, strerror(e));
            goto out;
        }
        free(t->tmp);
        t->tmp = saved;
        int touched;
        int e = copy_in_place(t, t->fd, size, &touched);
        if (e && !touched) {
            st = dg__fail(ctx, DG_EIO, "cannot write %s: %s; it is unchanged",
                          who, strerror(e));
            goto out;
        }
        if (e) {
            /* The target may be half written: put the complete new version
             * in its place as a file of its own (its other links keep
             * their content). */
            if (rename(t->tmp, t->real) == 0) {
                free(t->tmp);
                t->tmp = NULL;
                t->committed = 1;
                st = dg__fail(ctx, DG_EIO, "cannot write %s in place (it has "
                              "several hard links): %s; it was replaced by a "
                              "new file with the new content, so its other "
                              "links still show the old one", who,
                              strerror(e));
            } else {
                st = dg__fail(ctx, DG_EIO, "cannot write %s in place (it has "
                              "several hard links): %s; it may be damaged: "
                              "the complete new version is '%s'", who,
                              strerror(e), t->tmp);
                free(t->tmp);
                t->tmp = NULL; /* kept for the user */
            }
            goto out;
        }
        unlink(t->tmp);
        free(t->tmp);
        t->tmp = NULL;
        t->committed = 1;
        if (id)
            dg__file_id_path(t->real, id);
    } else {
        int e = close(t->fd) < 0 ? errno : 0;
        t->fd = -1;
        if (e) {
            latch(t, e, NULL);
            st = dg__tmp_fail(ctx, t);
            goto out;
        }
        if (dg__fault("rename") || rename(t->tmp, t->real) < 0) {
            e = dg__fault("rename") ? EIO : errno;
            st = dg__fail(ctx, DG_EIO, "cannot replace %s: rename: %s%s; it "
                          "is unchanged", who, strerror(e),
                          dg__fault("rename")
                              ? " (simulated: DETGRID_FAULT=rename)" : "");
            goto out;
        }
        free(t->tmp);
        t->tmp = NULL;
        t->committed = 1;
    }
    /* Make the rename durable. */
    int e = dg__fault("dirsync") ? EIO : sync_dir(t->real);
    if (e)
        st = dg__fail(ctx, DG_EIO, "wrote %s, but cannot sync its directory: "
                      "%s%s (the change may not survive a crash)", who,
                      strerror(e),
                      dg__fault("dirsync") ? " (simulated: DETGRID_FAULT=dirsync)"
                                           : "");
out:
    return st;
}

void dg__tmp_abort(dg_tmpfile *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    if (t->tmp)
        unlink(t->tmp);
    free(t->tmp);
    t->tmp = NULL;
    dg_lock_release(t->lock);
    t->lock = NULL;
    free(t->real);
    t->real = NULL;
    free(t->path);
    t->path = NULL;
}

#if defined(__GLIBC__)
static ssize_t stream_write(void *cookie, const char *buf, size_t n)
{
    dg_tmpfile *t = cookie;
    if (dg__tmp_pwrite(t, buf, n, t->written) < 0) {
        errno = t->err;
        return -1;
    }
    return (ssize_t)n;
}
#endif

FILE *dg__tmp_stream(dg_tmpfile *t)
{
#if defined(__GLIBC__)
    cookie_io_functions_t io = {NULL, stream_write, NULL, NULL};
    FILE *f = fopencookie(t, "w", io);
#else
    int fd = dup(t->fd);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f && fd >= 0)
        close(fd);
#endif
    if (f)
        setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

dg_status dg__tmp_close_stream(dg_ctx *ctx, dg_tmpfile *t, FILE *f)
{
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad && !t->err) {
        t->err = e ? e : EIO;
    }
    return t->err ? dg__tmp_fail(ctx, t) : DG_OK;
}

dg_status dg_write_file(dg_ctx *ctx, const char *path, const void *data,
                        size_t len)
{
    dg_tmpfile t;
    dg_status st = dg__tmp_open(ctx, path, 0, &t);
    if (st < 0)
        return st;
    if ((st = dg__tmp_write(ctx, &t, data, len)) >= 0)
        st = dg__tmp_commit(ctx, &t, NULL);
    dg__tmp_abort(&t);
    return st;
}
