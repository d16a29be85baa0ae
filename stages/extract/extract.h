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
} extract_source;

json_t *extract_document(const extract_source *src, const extract_opts *o, char *err,
                         size_t errlen);

#endif
