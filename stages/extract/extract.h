/* extract.h -- one input's bytes to one docs.jsonl record.
 *
 * The dispatcher: sniff the type (sniff.h), unwrap gzip (gunzip.h, then
 * sniff again), hand the bytes to the PDF, HTML, XML or text extractor, and
 * build the record of DESIGN.md around the blocks: doc_id (hash of the
 * canonical URI), uri, title, mime, lang, sha256 and size of the raw
 * bytes, mtime, plus what the format knows (author, created, pages,
 * charset, encoding). A pure function of its input: it runs in a worker
 * process (pool.h) and never touches shared state.
 */
#ifndef NZ_EXTRACT_H
#define NZ_EXTRACT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "pdfdoc.h"

typedef struct extract_opts {
    long max_bytes; /* raw and decompressed size cap */
    long max_pages;
} extract_opts;

#define EXTRACT_DEFAULT_MAX_BYTES (256L << 20)
#define EXTRACT_DEFAULT_MAX_PAGES 10000L

typedef struct extract_source {
    const char *name; /* as given, for a fallback title */
    const char *uri;  /* canonical */
    const unsigned char *data;
    size_t len;
    time_t mtime;
    const char *content_type; /* HTTP Content-Type, or NULL */
    const char *sha256;       /* hex SHA-256 of data when the caller has it, or NULL */
    const char *etag;         /* a URL's ETag and Last-Modified, or NULL */
    const char *last_modified;
} extract_source;

/* The record of one source, or NULL with the reason in err (unsupported or
 * malformed input, a bound passed, out of memory): the source is rejected. */
json_t *extract_document(const extract_source *src, const extract_opts *o, char *err,
                         size_t errlen);

/* The record around the blocks: doc_id, uri, title (null until finished),
 * mime, lang ("und" until finished), sha256, bytes, mtime, a URL's etag
 * and last_modified when known, then `extras`. NULL when out of memory. */
json_t *extract_record(const extract_source *src, const char *mime, const json_t *extras);
/* SHA-256 of a source's raw bytes (before gunzip), as the record's
 * "sha256" says it: 64 lower-case hex digits into out. NZ_OK or NZ_ENOMEM. */
int extract_sha256_hex(const unsigned char *data, size_t len, char out[65]);
/* A time as the record's "mtime" says it: YYYY-MM-DDTHH:MM:SSZ (UTC). */
void extract_time_string(time_t t, char out[32]);

/* Settle title (given, else the first heading, else the file name) and lang
 * (given, else guessed from the text), and attach blocks (stolen). NZ_OK
 * or NZ_ENOMEM. */
int extract_record_finish(json_t *doc, json_t *blocks, const char *title, const char *lang,
                          const char *name);

/* A long PDF read by several workers: each reads pages [first, last) of
 * the open document (src->data's, see pdfdoc_open) and returns a payload
 * (the packed lines; part 0 also the record shell); extract_pdf_assemble
 * lays the parts out, in order, into one record. extract_pdf_part:
 * NZ_OK, or pdfdoc_pages's status or NZ_ENOMEM with err;
 * extract_pdf_assemble: the record, or NULL with err (a malformed part,
 * no text, out of memory). */
int extract_pdf_part(const extract_source *src, pdfdoc *doc, int first, int last, int with_record,
                     char **payload, size_t *len, char *err, size_t errlen);
json_t *extract_pdf_assemble(char *const *payloads, const size_t *lens, int nparts,
                             const char *name, char *err, size_t errlen);

#endif
