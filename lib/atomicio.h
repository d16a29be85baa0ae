/* atomicio.h -- atomic file replacement: temp file, fsync, rename, fsync dir.
 *
 * Every file nuzantara writes goes through here, so a crash at any moment
 * leaves either the old file or the complete new one, never a torn one.
 * The temp file lives in the destination directory (same filesystem, so
 * rename(2) is atomic) and is named ".NAME.tmp.XXXXXX"; atomic_abort()
 * removes it. Also: fsync of directories, and mkdir -p.
 */
#ifndef NZ_ATOMICIO_H
#define NZ_ATOMICIO_H

#include <stddef.h>
#include <stdio.h>

typedef struct atomic_file {
    FILE *fp;
    char *path; /* final destination */
    char *tmp;  /* temp file in the same directory */
} atomic_file;

/* Open a temp file for `path`. 0 on success, -1 with errno set. */
int atomic_open(atomic_file *af, const char *path);
/* Flush, fsync, rename over path, fsync the directory. Closes af. */
int atomic_commit(atomic_file *af);
/* Close and delete the temp file. Safe to call on a zeroed/committed af. */
void atomic_abort(atomic_file *af);

/* Whole-buffer convenience. */
int atomic_write_file(const char *path, const void *data, size_t len);

int fsync_path(const char *path);   /* fsync a file or directory by name */
int fsync_parent(const char *path); /* fsync the directory holding path */
int mkdir_p(const char *path, unsigned mode);

/* Output for stage binaries: stdout, or an atomic file when path != NULL
 * and not "-". An existing device or FIFO is written in place instead
 * (renaming over /dev/null would replace it). out_finish commits (or
 * checks stdout flushed); 0 on success. */
typedef struct out_stream {
    FILE *fp;
    atomic_file af;
    int is_file, is_device;
} out_stream;
int out_open(out_stream *o, const char *path);
int out_finish(out_stream *o);
void out_abort(out_stream *o);

#endif
