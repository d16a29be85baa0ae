/* known.h -- what an earlier run knew of its sources (nz-extract --known).
 *
 * An incremental run (nz-pipeline run, issue 11) hands nz-extract what its
 * run catalog holds, one JSON line a source:
 *
 *     {"uri":"file:///…","size":N,"mtime":N,"sha256":"hex","etag":"…","last_modified":"…"}
 *
 * `uri` is exactly the uri nz-extract writes in docs.jsonl; every other
 * field may be missing or null. `mtime` is whole seconds since the epoch,
 * or the docs.jsonl form "YYYY-MM-DDTHH:MM:SSZ", so a known file can be
 * made from docs.jsonl with jq. Unknown fields are ignored.
 *
 * The file is bounded (KNOWN_MAX_BYTES, KNOWN_MAX_LINE) and checked whole
 * before the run starts: a line that is not such an object, a bad field,
 * or a uri given twice refuses the file with the line's number, because a
 * wrong catalog would silently skip documents that changed. ETag and
 * Last-Modified are sent back as HTTP headers, so control characters in
 * them are refused too.
 *
 * The table is open addressing with linear probing on a 64-bit FNV-1a
 * hash of the uri, kept at most half full: one probe or two per lookup.
 * It is built once in the parent and only read afterwards (the forked
 * workers share it).
 */
#ifndef NZ_KNOWN_H
#define NZ_KNOWN_H

#include <stddef.h>
#include <time.h>

#define KNOWN_MAX_BYTES (1L << 30) /* the whole file */
#define KNOWN_MAX_LINE (64 * 1024) /* one source */
#define KNOWN_ETAG_MAX 255         /* as fetch.h keeps them */
#define KNOWN_LAST_MODIFIED_MAX 63

typedef struct known_source {
    char *uri;       /* NULL: an empty slot */
    long long size;  /* -1: not known */
    long long mtime; /* seconds since the epoch; valid when has_mtime */
    int has_mtime;
    char sha256[65];     /* 64 lower-case hex digits, or "" */
    char *etag;          /* NULL when not known */
    char *last_modified; /* NULL when not known */
} known_source;

typedef struct known_table {
    known_source *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} known_table;

/* Load the file `path` into an empty (zeroed) table. NZ_OK; else,
 * with the reason (the path, and the line number) in err and the table left empty:
 * NZ_EIO (cannot open or read; errno's words), NZ_ELIMIT (the file is over
 * KNOWN_MAX_BYTES), NZ_EINVAL (a malformed or too long line, a duplicate
 * uri) or NZ_ENOMEM. */
int known_load(known_table *t, const char *path, char *err, size_t errlen);

/* Add one record, a JSON object as above (checked the same way).
 * NZ_OK; NZ_EINVAL with err; NZ_ENOMEM. */
int known_add_json(known_table *t, const char *json, size_t len, char *err, size_t errlen);

/* The entry of `uri`, or NULL (also for an empty table). */
const known_source *known_get(const known_table *t, const char *uri);

void known_free(known_table *t);

#endif
