/* jsonl.h -- streaming JSON Lines reader and writer (jansson).
 *
 * The reader pulls one line at a time from a FILE through its own buffer
 * and parses it with jansson; it never holds more than one line. Lines are
 * bounded: a line longer than max_line is skipped to its end and reported as
 * an error naming its line number, so a hostile input cannot exhaust memory.
 * Blank lines are skipped. Each record must be a JSON object; the object is
 * returned whole, so unknown fields pass through any stage that edits it
 * and writes it back.
 *
 * Errors are per line: jsonl_next() returns JSONL_BAD and the caller decides
 * (every nz stage rejects the record, goes on, and exits 3 at the end).
 * A read error of the stream itself is JSONL_IOERR and is fatal.
 *
 * Status codes: the reader keeps its own names, JSONL_EOF (0) and
 * JSONL_OK (1) for the two successes, and for its failures the status.h
 * code of the same meaning: JSONL_BAD is NZ_EINVAL (this line is refused)
 * and JSONL_IOERR is NZ_EIO (the stream failed: a read error, or no
 * memory for the line). The line buffer is a buf (buf.h) capped at
 * max_line: the cap it reports (NZ_ELIMIT) is what makes a line too long.
 */
#ifndef NZ_JSONL_H
#define NZ_JSONL_H

#include <jansson.h>
#include <stdio.h>

#include "status.h"

#define JSONL_DEFAULT_MAX_LINE ((size_t)1 << 30) /* 1 GiB: a 256 MiB doc, escaped */

typedef struct jsonl_reader jsonl_reader;

enum { JSONL_EOF = 0, JSONL_OK = 1, JSONL_BAD = NZ_EINVAL, JSONL_IOERR = NZ_EIO };

/* `name` labels errors ("-" for stdin). Returns NULL when out of memory. */
jsonl_reader *jsonl_open(FILE *fp, const char *name, size_t max_line);
void jsonl_close(jsonl_reader *r);

/* JSONL_OK with *out a new reference, JSONL_EOF, JSONL_BAD (message in
 * jsonl_error, line in jsonl_lineno) or JSONL_IOERR. */
int jsonl_next(jsonl_reader *r, json_t **out);
const char *jsonl_error(const jsonl_reader *r);
size_t jsonl_lineno(const jsonl_reader *r);
const char *jsonl_name(const jsonl_reader *r);

/* Flags for every JSON nuzantara prints: compact, keys in insertion
 * order, reals with at most 10 significant digits (0.004, not
 * 0.0040000000000000001). */
#define JSONL_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

/* Write `obj` as one compact line. NZ_OK, or NZ_EIO on a write error. */
int jsonl_write(FILE *fp, const json_t *obj);

/* The read loop every stage shares. Streams each record of each named
 * input (stdin when there are none; "-" is stdin too) to fn, which takes
 * ownership of rec. A bad line or an input that cannot be opened is
 * rejected (log_reject) and counted in *rejected; the rest go on. fn
 * returns 0 to go on or a negative status to stop with a fatal error.
 * Returns NZ_OK, or on a fatal error: fn's status, NZ_EIO (a read error
 * of a stream, logged) or NZ_ENOMEM (logged). */
typedef int (*jsonl_record_fn)(void *ctx, json_t *rec, const char *name, size_t lineno);
int jsonl_each(int nfiles, char *const *files, size_t max_line, jsonl_record_fn fn, void *ctx,
               long *rejected);
/* The same loop over one stream already open (stdin, a pipe, a buffer
 * through fmemopen), `name` labelling its rejections. Same returns. */
int jsonl_each_fp(FILE *in, const char *name, size_t max_line, jsonl_record_fn fn, void *ctx,
                  long *rejected);

/* Field helpers for records: NULL / default when absent or of another type. */
const char *jsonl_str(const json_t *obj, const char *key);
long long jsonl_int(const json_t *obj, const char *key, long long dflt);

#endif
