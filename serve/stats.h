/* stats.h -- request accounting for /performance and /metrics.
 *
 * Every finished request records its route, status and latency. Counters
 * are per route and status class; latencies go into a fixed Prometheus
 * histogram (cumulative since start) and into a ring of the most recent
 * STATS_RING samples, from which p50/p90/p99 are computed exactly. QPS is
 * the number of queries in the last 60 one-second slots. The counters are
 * kept in per-thread shards, each under its own lock (a request on one
 * thread never waits for, or moves the cache lines of, another's), and
 * added up when read; the queries' ring and slots take one more lock, a
 * few nanoseconds against a query's microseconds.
 */
#ifndef NZ_STATS_H
#define NZ_STATS_H

#include <jansson.h>

typedef enum {
    ROUTE_QUERY,
    ROUTE_HEALTH,
    ROUTE_PERFORMANCE,
    ROUTE_METRICS,
    ROUTE_OTHER,
    ROUTE_COUNT
} stats_route;

void stats_init(void);
/* "query", "health", "performance", "metrics" or "other" (logs, labels). */
const char *stats_route_name(stats_route route);
void stats_record(stats_route route, int status, double ms);

/* Snapshot facts that /performance and /metrics add (may be NULL/0). */
typedef struct stats_index_info {
    const char *snapshot;
    unsigned long long count;
    double age_seconds; /* -1 when no index */
    unsigned long long reloads, reload_failures;
} stats_index_info;

json_t *stats_performance(const stats_index_info *ix);
char *stats_prometheus(const stats_index_info *ix); /* malloc'd text */

#endif
