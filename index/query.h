/* query.h -- one query, from its request bytes to its JSON answer.
 *
 * Shared by `nz-index query` and nz-serve's /v1/query, so both take the
 * same request and give the same results. The request is a JSON object:
 *
 *   {"query":"text"}            a text query, embedded with the snapshot's
 *                               own provider and model (at most 64 KiB);
 *   {"vector":[0.1,-0.2,...]}   a query vector as a JSON array of numbers,
 *   {"vector":"zczMPc3MTL4..."} or as a base64 string of little-endian
 *                               float32 values (lib/vecb64.h: the OpenAI
 *                               API's `encoding_format: "base64"`), which
 *                               skips the cost of 1536 decimal numbers;
 *                               at most QUERY_MAX_DIM values, every one
 *                               finite, and exactly the snapshot's dim;
 *   "k"      results, 1..max_k (default 10);
 *   "ef"     graph search breadth, 1..max_ef (default: the index's);
 *   "exact"  true: scan every row instead of walking the graph; refused on
 *            snapshots of more than exact_max_rows rows unless allow_exact;
 *   "filter" {"doc_id","uri_prefix","lang"}, each a non-empty string;
 *   "mode"   "dense", "lexical" or "hybrid": hybrid by default for text and
 *            dense for vectors (dense too on a snapshot without a lexical
 *            index); lexical and hybrid need text. "exact" there also
 *            scores every posting instead of skipping by MaxScore;
 *   "weight" 0..1, the lexical list's share in hybrid (fuse.h).
 *
 * answered by {"results":[{"chunk_id","doc_id","uri","title","heading",
 * "page","lang","text","score","found_by":{"dense":RANK,"lexical":RANK}}],
 * "mode":...,"took_ms":...}: score is the cosine (dense), BM25 (lexical) or
 * RRF score (hybrid), and found_by names the lists that found the row and
 * its rank in each. Unknown fields are
 * refused, so a misspelt "filter" never silently widens a search.
 *
 * Every bound is a query_limits field, so a server can tighten them and
 * a command-line tool relax them; each violation is NZ_EINVAL with a
 * message naming the bound and its value. The nesting depth is checked on
 * the raw bytes BEFORE jansson parses them (jansson's own limit is 2048
 * levels, each a recursion). The parse has one cleanup path: on any error
 * nothing is left allocated (the vector, the parsed JSON), which is what
 * tests/e2e/serve_leak.sh checks over HTTP.
 */
#ifndef NZ_QUERY_H
#define NZ_QUERY_H

#include <jansson.h>

#include "assist.h"
#include "buf.h"

#include "search.h"
#include "snapshot.h"

#define QUERY_MAX_TEXT (64 * 1024)
#define QUERY_MAX_DIM 65536 /* a "vector"'s values, as an array or as base64 */

typedef struct query_limits {
    size_t max_k;          /* "k" above it: 400 (default 100) */
    size_t max_ef;         /* "ef" above it: 400 (default 1000) */
    size_t max_depth;      /* JSON nesting above it: 400 (default 8) */
    size_t exact_max_rows; /* "exact": true refused (400) when the snapshot has more
                              rows (default 50000) ... */
    int allow_exact;       /* ... unless this is 1 (nz-serve --allow-exact; nz-index query) */
} query_limits;
#define QUERY_LIMITS_DEFAULT \
    { .max_k = 100, .max_ef = 1000, .max_depth = 8, .exact_max_rows = 50000, .allow_exact = 0 }

typedef struct query_req {
    const char *text; /* borrowed from the request JSON */
    float *vector;    /* owned; NULL for text queries */
    size_t vector_dim;
    size_t k, ef;
    int exact;
    search_filter filter;    /* strings borrowed from the request JSON */
    const query_limits *lim; /* the caller's (it must outlive q), or the defaults */
    json_t *json;            /* owned: the body query_parse_bytes parsed; else NULL */
    int mode;                /* QUERY_MODE_*; QUERY_MODE_DEFAULT: by the request's kind */
    double weight;           /* hybrid: the lexical list's share, 0..1 */
    assist_pool *side;       /* the caller's helper threads for hybrid's lexical list
                                (assist.h), set after parsing; NULL: on the calling thread */
} query_req;

enum { QUERY_MODE_DEFAULT, QUERY_MODE_DENSE, QUERY_MODE_LEXICAL, QUERY_MODE_HYBRID };

/* Bytes of a request body -> validated request: checks nesting depth BEFORE
 * parsing, json_loadb with JSON_REJECT_DUPLICATES, then query_parse. q owns
 * the parsed JSON (q->json) and query_free releases everything. lim NULL:
 * QUERY_LIMITS_DEFAULT. Returns NZ_OK; NZ_EINVAL with a message in err when
 * the request is refused (the caller's fault: empty, too deep, not JSON, a
 * bad field or a bound passed); NZ_ENOMEM. On failure nothing is left to
 * free (query_free is still safe). */
int query_parse_bytes(const char *body, size_t len, const query_limits *lim, query_req *q,
                      char *err, size_t errlen);

/* Validate a request object; q borrows strings from body, which must
 * outlive it, and keeps the pointer lim (NULL: QUERY_LIMITS_DEFAULT).
 * NZ_OK; NZ_EINVAL with a message when the request is refused; NZ_ENOMEM.
 * On failure nothing is left to free (query_free is still safe). */
int query_parse(const json_t *body, const query_limits *lim, query_req *q, char *err,
                size_t errlen);

/* Release what q owns; q may then be parsed again. Safe twice. */
void query_free(query_req *q);

/* Embed (text) or check (vector), normalise, search, format: *answer gets
 * the answer object. Applies q->lim's exact_max_rows / allow_exact, which
 * need the snapshot's row count. Returns NZ_OK, or with err set:
 *   NZ_EINVAL        the request cannot be answered as asked (a vector of
 *                    the wrong dimension or all zeros, "exact" on too many
 *                    rows, a text that cannot be embedded, lexical or
 *                    hybrid on a vector or on a snapshot without a lexical
 *                    index): the caller's fault;
 *   NZ_EUNAVAILABLE  the embedding provider failed: trying later may work;
 *   NZ_ENOMEM        out of memory;
 *   NZ_ECORRUPT      a result's record in the snapshot is corrupt.
 * Callers map these to their own answers (nz-serve: HTTP 400/503/500;
 * nz-index: exit codes). */
int query_run(const snapshot *s, const query_req *q, int threads, json_t **answer, char *err,
              size_t errlen);

/* query_run's answer as JSON text and a newline, appended to out: the
 * bytes json_dumps(JSONL_DUMP_FLAGS) writes for query_run's object, made
 * without building it (jsonout.h; nz-serve's hot path). *nresults: the
 * results in it. Returns query_run's statuses; NZ_ELIMIT when out's cap
 * was reached (out's content is then to be dropped). */
int query_answer(const snapshot *s, const query_req *q, int threads, buf *out, long *nresults,
                 char *err, size_t errlen);

#endif
