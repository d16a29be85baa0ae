/* docset.h -- a set of doc_ids: the documents a build drops from its base.
 *
 * An open-addressing hash table (FNV-1a, linear probing, at most half
 * full) of copied strings. It holds doc_ids, not rows: its memory is the
 * number of documents, never the number of vectors. Strings are compared
 * as bytes with a length, so a doc_id read from a snapshot record (not
 * NUL-terminated) can be looked up as it lies in the mapping.
 *
 * docset_read() fills a set from a --drop-docs file: one doc_id a line,
 * blank lines ignored, each line bounded (DOCSET_MAX_ID bytes, valid
 * UTF-8, no control characters) and the file bounded (DOCSET_MAX_LINES).
 */
#ifndef NZ_DOCSET_H
#define NZ_DOCSET_H

#include <stddef.h>

#define DOCSET_MAX_ID 1024
#define DOCSET_MAX_LINES 1000000L

typedef struct docset {
    char **slot; /* NULL: empty */
    size_t cap;  /* a power of two, or 0 */
    size_t n;
} docset;

#define DOCSET_INIT \
    { NULL, 0, 0 }

/* Add a copy of s[0..len). NZ_OK (also when it was there); NZ_ENOMEM. */
int docset_add(docset *d, const char *s, size_t len);
int docset_has(const docset *d, const char *s, size_t len); /* 1 or 0 */
void docset_free(docset *d);

/* Add every doc_id of the file at path. NZ_OK; with err set: NZ_EIO (the
 * file cannot be read), NZ_EINVAL (a malformed line), NZ_ELIMIT (too many
 * lines), NZ_ENOMEM. */
int docset_read(docset *d, const char *path, char *err, size_t errlen);

#endif
