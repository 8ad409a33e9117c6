/*
 * Writing files safely: the writer lock that serialises the updates of a
 * project file, and the atomic write that dg_project_save and every other
 * output of detgrid go through (docs/ROBUSTNESS.md, "No data loss").
 *
 * A project is updated by reading it, changing it in memory and saving it.
 * Two such updates at once would lose one of them, so a writer takes the
 * project's lock first and holds it until its save is done:
 *
 *     dg_lock *lk;
 *     if (dg_lock_take(ctx, "p.h5", -1, &lk) < 0) ...   // waits, bounded
 *     dg_project_open(ctx, "p.h5", &p);
 *     ... change p ...
 *     dg_project_save(ctx, p, "p.h5");                  // under lk
 *     dg_project_free(p);
 *     dg_lock_release(lk);
 *
 * A program that saves without taking the lock first is still safe: the
 * save takes the lock itself and refuses (DG_ECONFLICT) when the file is no
 * longer the one the project was opened from, instead of overwriting the
 * other writer's update. Readers need no lock: a save replaces the file
 * with one rename, so a reader sees the old file or the new one.
 */
#ifndef DETGRID_FILES_H
#define DETGRID_FILES_H

#include <stddef.h>

#include "detgrid/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_lock dg_lock;

/*
 * Takes the writer lock of the file at path (which need not exist yet): an
 * exclusive advisory lock (fcntl, open-file-description locks where the
 * kernel has them) on "<real path>.lock", where the real path follows
 * symbolic links, so every name of one file shares one lock. fcntl locks
 * work across containers that share a volume and, with a lock manager, on
 * NFS. Waits up to timeout_s seconds (0: a single try; negative: the
 * default, $DETGRID_LOCK_TIMEOUT or 30). DG_EBUSY when another writer
 * holds it, with a message naming the holder (pid, host, command, since
 * when); DG_EIO when the lock file cannot be made or locked (a read-only
 * directory, a file system without locks). Taking a lock this process
 * already holds returns the same lock with one more reference. While a
 * process holds the lock of a file, dg_project_save and dg_write_file to
 * that file run under it.
 */
dg_status dg_lock_take(dg_ctx *ctx, const char *path, double timeout_s,
                       dg_lock **out);

/* Drops one reference; the last removes the lock file. Accepts NULL. */
void dg_lock_release(dg_lock *lock);

/*
 * Writes len bytes to path as dg_project_save writes a project: under the
 * file's lock, into a new temporary file beside the real target (created
 * exclusively, never through a symbolic link), every write checked,
 * fsynced and renamed over the target, which keeps its mode and owner.
 * Symbolic links are written through; a file with several hard links is
 * rewritten in place once the complete copy is safe on disk, so every
 * link sees the new content. A target that is not a regular file (a pipe,
 * /dev/null) is written straight. On failure (DG_EIO: a full disk, an I/O
 * error, naming the path and the reason) the target is unchanged and the
 * temporary file removed.
 */
dg_status dg_write_file(dg_ctx *ctx, const char *path, const void *data,
                        size_t len);

/*
 * 1 when a and b are one existing file (the same device and inode, after
 * symbolic links), else 0.
 */
int dg_same_file(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
