/* http.h -- nz-serve's HTTP surface on libmicrohttpd.
 *
 *   GET  /health        200 {"status":"ok",...} or 503 {"status":"degraded"}
 *   GET  /performance   counts, latency percentiles, QPS, memory, index age
 *   GET  /metrics       the same in Prometheus text format
 *   POST /v1/query      see index/query.h
 *
 * Every error is JSON {"error":...} with 400, 404, 405 (with Allow), 413
 * (body over HTTP_MAX_BODY) or 503. Requests run on MHD's thread pool;
 * http tracks how many are in flight so that SIGTERM can drain them.
 */
#ifndef NZ_HTTP_H
#define NZ_HTTP_H

#include <microhttpd.h>

#define HTTP_MAX_BODY (1024 * 1024)

typedef struct http_config {
    const char *database_url; /* for /health's database check; may be NULL */
} http_config;

struct MHD_Daemon *http_start(unsigned port, unsigned threads, const http_config *cfg,
                              unsigned *bound_port, char *err, size_t errlen);
/* Stop accepting; requests already accepted go on. */
void http_quiesce(struct MHD_Daemon *d);
long http_in_flight(void);
void http_stop(struct MHD_Daemon *d);

#endif
