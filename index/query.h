/* query.h -- one query, from its JSON form to its JSON answer.
 *
 * Shared by `nz-index query` and nz-serve's POST /v1/query, so both take
 * the same request and give the same results:
 *   {"query":"text"} or {"vector":[...]}, optional "k" (1..1000, default
 *   10), "ef" (graph search breadth), "exact" (true: scan every row
 *   instead of walking the graph, and score every posting instead of
 *   skipping by MaxScore) and "filter":{"doc_id","uri_prefix","lang"}
 * and "mode" ("dense", "lexical" or "hybrid"; hybrid by default for text
 * and dense for vectors, lexical and hybrid needing text) with "weight"
 * (0..1, the lexical list's share in hybrid; fuse.h), answering
 * {"results":[{"chunk_id","doc_id","uri","title","heading","page","text",
 * "score","found_by":{"dense":RANK,"lexical":RANK}}],"mode":...,
 * "took_ms":...}: score is the cosine (dense), BM25 (lexical) or RRF
 * score (hybrid), and found_by names the lists that found the row and
 * its rank in each. Unknown request fields are
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
    int mode;             /* QUERY_MODE_*; QUERY_MODE_DEFAULT: by the request's kind */
    double weight;        /* hybrid: the lexical list's share, 0..1 */
} query_req;

enum { QUERY_MODE_DEFAULT, QUERY_MODE_DENSE, QUERY_MODE_LEXICAL, QUERY_MODE_HYBRID };

/* Validate a request object. NZ_OK; NZ_EINVAL with a message when the
 * request is refused (the caller's fault); NZ_ENOMEM. On failure nothing
 * is left to free. */
int query_parse(const json_t *body, query_req *q, char *err, size_t errlen);
void query_free(query_req *q);

/* Embed (text) or check (vector), normalise, search, format: *answer gets
 * the answer object. Returns NZ_OK, or with err set:
 *   NZ_EINVAL        the request cannot be answered as asked (a vector of
 *                    the wrong dimension or all zeros, a text that cannot
 *                    be embedded, lexical or hybrid on a vector or on a
 *                    snapshot without a lexical index): the caller's fault;
 *   NZ_EUNAVAILABLE  the embedding provider failed: trying later may work;
 *   NZ_ENOMEM        out of memory;
 *   NZ_ECORRUPT      a result's record in the snapshot is corrupt.
 * Callers map these to their own answers (nz-serve: HTTP 400/503/500;
 * nz-index: exit codes). */
int query_run(const snapshot *s, const query_req *q, int threads, json_t **answer, char *err,
              size_t errlen);

#endif
