/* query.h -- one query, from its JSON form to its JSON answer.
 *
 * Shared by `nz-index query` and nz-serve's POST /v1/query, so both take
 * the same request and give the same results:
 *   {"query":"text"} or {"vector":[...]}, optional "k" (1..1000, default
 *   10), "ef" (graph search breadth), "exact" (true: scan every row
 *   instead of walking the graph) and "filter":{"doc_id","uri_prefix","lang"}
 * answering {"results":[{"chunk_id","doc_id","uri","title","heading",
 * "page","text","score"}],"took_ms":...}. Unknown request fields are
 * refused, so a misspelt "filter" never silently widens a search.
 */
#ifndef NZ_QUERY_H
#define NZ_QUERY_H

#include <jansson.h>

#include "search.h"
#include "snapshot.h"

#define QUERY_MAX_TEXT (64 * 1024)

typedef struct query_req {
    const char *text; /* borrowed from the request JSON */
    float *vector;    /* owned; NULL for text queries */
    size_t vector_dim;
    size_t k, ef;
    int exact;
    search_filter filter; /* strings borrowed from the request JSON */
} query_req;

/* Validate a request object. 0, or -1 with a message for a 400. */
int query_parse(const json_t *body, query_req *q, char *err, size_t errlen);
void query_free(query_req *q);

/* Embed (text) or check (vector), normalise, search, format. Returns the
 * answer object, or NULL with err; *status is the HTTP status to use. */
json_t *query_run(const snapshot *s, const query_req *q, int threads, char *err, size_t errlen,
                  int *status);

#endif
