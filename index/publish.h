/* publish.h -- the writer's side of an index root (INDEX_PATH).
 *
 *   INDEX_PATH/
 *     .lock                     flock(2): one writer at a time
 *     current -> snap-<time>    the live snapshot (a relative symlink)
 *     snap-<time>/              immutable snapshots, newest last by name
 *     .tmp-snap-<time>/         a build in progress (or a crashed one)
 *
 * A build creates .tmp-<name>, fills and fsyncs it, renames it to <name>
 * (atomic), then points `current` at it by renaming a fresh symlink over
 * the old one (atomic), fsyncing the root after each step. A crash at any
 * point leaves the old `current` intact and serving; the next writer
 * removes stale .tmp- directories. Readers take no lock at all.
 * Snapshot names are UTC times to the nanosecond, so names sort by age.
 *
 * The int functions return NZ_OK, or with err set NZ_EIO (a file system
 * call failed, errno in err), NZ_ENOMEM, or for root_lock NZ_EBUSY
 * (another writer holds the lock) (status.h).
 */
#ifndef NZ_PUBLISH_H
#define NZ_PUBLISH_H

#include <jansson.h>
#include <stddef.h>

typedef struct index_root {
    char *root;
    int lock_fd;
} index_root;

/* mkdir -p the root and take its writer lock without waiting. */
int root_lock(index_root *r, const char *root, char *err, size_t errlen);
void root_unlock(index_root *r);

/* Make a fresh build directory; *name and *tmpdir are malloc'd. */
int root_begin(index_root *r, char **name, char **tmpdir, char *err, size_t errlen);
/* Rename tmpdir to name and swap `current` to it (root_point). */
int root_publish(index_root *r, const char *name, const char *tmpdir, char *err, size_t errlen);
/* Swap `current` to the snapshot `name` already in the root: a fresh
 * symlink .current.tmp.PID renamed over it, then the root fsynced. */
int root_point(index_root *r, const char *name, char *err, size_t errlen);
/* Remove a build directory and its files (after a failed build). */
void root_discard(const char *tmpdir);
/* Keep the newest `keep` snapshots (never the current one's removal) and
 * remove what crashed writers left: build directories (.tmp-) and new
 * `current` links (.current.tmp.PID). Adds removed names to `removed`. */
int root_prune(index_root *r, int keep, json_t *removed, char *err, size_t errlen);

/* Name of the snapshot `current` points at, malloc'd, or NULL. */
char *root_current(const char *root);

#endif
