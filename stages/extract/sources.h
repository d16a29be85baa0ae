/* sources.h -- expand command-line sources into an ordered list of inputs.
 *
 * A source is a file, a directory (walked recursively, entries in byte
 * order of their names, so output order never depends on the filesystem),
 * or "-" for standard input. --from FILE adds one source a line. Dot files
 * and dot directories inside a walk are skipped (.git, editor droppings).
 * Symlinks are followed; a directory already on the current path (a
 * symlink loop) is reported, not entered. Anything that is not a regular
 * file (FIFO, socket, device) is listed too and rejected by the reader with
 * a clear error, because the user named it.
 */
#ifndef NZ_SOURCES_H
#define NZ_SOURCES_H

#include <stddef.h>

typedef struct source_list {
    char **items;
    char **errors; /* parallel: NULL, or why the item cannot be read */
    size_t n, cap;
} source_list;

/* Append one item as is (error: why it cannot be read, or NULL). NZ_OK or
 * NZ_ENOMEM. */
int sources_push(source_list *l, const char *item, const char *error);
/* Add one source (walking it when a directory; http(s) URLs as they are).
 * NZ_OK, or NZ_ENOMEM: a source that cannot be read is listed with why. */
int sources_add(source_list *l, const char *src);
/* Add every non-empty, non-# line of a file. NZ_OK; NZ_EIO if it cannot
 * be read (errno tells why); NZ_ENOMEM. */
int sources_add_from(source_list *l, const char *listfile);
/* Keep the items whose keep[i] is non-zero, in order; free the others. */
void sources_keep(source_list *l, const unsigned char *keep);
void sources_free(source_list *l);

#endif
