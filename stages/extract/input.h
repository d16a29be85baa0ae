/* input.h -- a local source's bytes and name: a file or stdin read whole,
 * bounded, and the file:// URI that names it in docs.jsonl.
 *
 * Reading refuses, with a reason a user can act on, anything that is not
 * a regular file (a directory, FIFO, socket or device: a FIFO is opened
 * without blocking, so one with no writer never hangs the run) and any
 * input over the size cap, checked on the file's size before a byte is
 * read and again while reading (stdin, files that grow). Both the workers
 * and the PDF parts (plan.h) read through here.
 */
#ifndef NZ_INPUT_H
#define NZ_INPUT_H

#include <stddef.h>
#include <time.h>

/* Read `name` ("-": stdin) whole, at most max_bytes. NZ_OK with *data
 * malloc'd (NUL-terminated, not counted in *len) and *mtime the file's
 * (now, for stdin). Else, with the reason in err: NZ_EINVAL (not a
 * regular file), NZ_ELIMIT (over max_bytes), NZ_EIO (cannot open, stat or
 * read; errno's words in err) or NZ_ENOMEM. */
int input_read(const char *name, long max_bytes, unsigned char **data, size_t *len, time_t *mtime,
               char *err, size_t errlen);

/* file://<absolute path>, percent-encoding bytes outside RFC 3986 pchar;
 * malloc'd, or NULL when the path cannot be resolved or out of memory. */
char *input_file_uri(const char *path);
/* The same for a file that does not exist (any more): the real path of its
 * directory and its name. NULL when the directory cannot be resolved. */
char *input_missing_uri(const char *path);

#endif
