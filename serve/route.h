/* route.h -- nz-serve's requests without the transport: request in, response out.
 *
 * http.c turns what libmicrohttpd received into a route_request and sends
 * the route_response back; the fuzzer (tests/fuzz/fuzz_query.c) calls
 * route_handle the same way with no socket at all. So every decision about
 * a request (which route, which method, which bound, which error, which
 * header) is made here, and the transport only copies bytes.
 *
 *   GET  /health        200 {"status":"ok",...} or 503 {"status":"degraded"};
 *                       "refused":{"snapshot","reason"} when the newest
 *                       candidate snapshot was refused (holder_refused)
 *   GET  /performance   counts, latency percentiles, QPS, memory, index age
 *   GET  /metrics       the same in Prometheus text format
 *   POST /v1/query      a JSON body (index/query.h), at most max_body bytes
 *   GET  /v1/query?q=TEXT&k=N&ef=N&mode=M  the same request from URL parameters
 *   OPTIONS on any of them: 204 with Allow (and a CORS preflight answer
 *                       when the Origin is allowed)
 *
 * Every response carries the security headers (X-Content-Type-Options,
 * X-Frame-Options, Referrer-Policy, Content-Security-Policy) and
 * Cache-Control: no-store; every error is JSON {"error":...} with 400, 404,
 * 405 (with Allow), 413, 500 or 503. CORS is off unless origins are
 * configured; a request whose Origin is one of them gets
 * Access-Control-Allow-Origin (that origin) and Vary: Origin, any other
 * request no CORS header at all.
 *
 * /health is asked far more often than its answer changes (a probe every
 * few seconds, from every proxy), so its answer is made once for each
 * state (the snapshot served and the refusal, holder_generation; the
 * database status) and marked `reuse`: the transport keeps the response
 * it made from it (http.c, per thread) and sends it again while the state
 * holds, and the route then makes no body at all.
 */
#ifndef NZ_ROUTE_H
#define NZ_ROUTE_H

#include <stddef.h>

#include "query.h"
#include "stats.h"

#define ROUTE_MAX_BODY_DEFAULT (1024 * 1024)
#define ROUTE_MAX_ARGS 16 /* URL parameters kept; more is a 400 */
#define ROUTE_MAX_ORIGINS 32
#define ROUTE_MAX_HEADERS 16
#define ROUTE_CORS_MAX_AGE "600"

typedef struct route_config {
    query_limits lim;
    size_t max_body;                        /* POST bodies above it: 413 */
    const char *database_url;               /* for /health's database check; may be NULL */
    const char *origins[ROUTE_MAX_ORIGINS]; /* CORS: allowed origins (none: off) */
    size_t norigins;
    int log_queries; /* copy the query text into the response for the access log */
    assist_pool *side; /* helpers for hybrid's lexical lists (assist.h); NULL: none */
} route_config;

typedef struct route_arg {
    const char *key, *value; /* URL-decoded; value NULL for "?key" */
} route_arg;

typedef struct route_request {
    const char *method, *path;
    route_arg args[ROUTE_MAX_ARGS];
    size_t nargs;
    int too_many_args;
    const char *origin;         /* the Origin header, or NULL */
    const char *request_method; /* Access-Control-Request-Method, or NULL */
    const char *body;           /* POST body, body_len bytes (not NUL-terminated) */
    size_t body_len;
    int body_too_large;      /* more than max_body bytes were sent (the body is cut) */
    unsigned long long have; /* the `reuse` of the answer the transport keeps, 0: none */
} route_request;

typedef struct route_header {
    const char *name, *value; /* static strings, or the config's origin */
} route_header;

typedef struct route_response {
    int status;
    char *body; /* malloc'd, body_len bytes; NULL for 204 */
    size_t body_len;
    route_header headers[ROUTE_MAX_HEADERS];
    size_t nheaders;
    /* for the access log and stats */
    stats_route route;
    long results;      /* results answered by a query, -1 otherwise */
    char snapshot[96]; /* the snapshot that answered, "" when none */
    char *query;       /* the query text (only with log_queries), malloc'd or NULL */
    /* Non-zero when every answer with this value is the same answer (status,
     * headers, body): the transport may keep the first and send it again.
     * When it equals the request's `have`, body is NULL: send the kept one. */
    unsigned long long reuse;
} route_response;

/* 1 when origin is an exact "scheme://host[:port]" usable with
 * --cors-origin (http or https, no path, no trailing slash), else 0. */
int route_origin_valid(const char *origin);

/* Answer one request. Never fails: out of memory becomes a 500 with a
 * static body, so the response is always complete. route_response_free
 * releases it. */
void route_handle(const route_config *cfg, const route_request *req, route_response *resp);
void route_response_free(route_response *resp);

#endif
