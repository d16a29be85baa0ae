/* stats.c -- see stats.h. */
#include "stats.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nz.h"

#define STATS_RING 4096
#define STATS_QPS_WINDOW 60

static const char *const stats_route_names[ROUTE_COUNT] = {"query", "health", "performance",
                                                           "metrics", "other"};
static const double stats_bounds_ms[] = {0.1, 0.25, 0.5, 1,   2.5,  5,    10,   25,
                                         50,  100,  250, 500, 1000, 2500, 5000, 10000};
#define STATS_NBOUNDS (sizeof stats_bounds_ms / sizeof *stats_bounds_ms)

const char *stats_route_name(stats_route route) {
    return route < ROUTE_COUNT ? stats_route_names[route] : "other";
}

/* The counters, in shards: a thread takes the next shard at its first
 * request and keeps it, so the server's threads (fewer than
 * STATS_SHARDS) each count under a lock and on cache lines of their own;
 * readers add the shards up. */
#define STATS_SHARDS 16
typedef struct {
    pthread_mutex_t lock;
    unsigned long long requests[ROUTE_COUNT][6]; /* by status class 0..5 (1xx..5xx) */
    unsigned long long hist[ROUTE_COUNT][STATS_NBOUNDS + 1];
    double sum_ms[ROUTE_COUNT];
} __attribute__((aligned(64))) stats_shard;

static stats_shard stats_shards[STATS_SHARDS] = {
    [0 ... STATS_SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};
static unsigned stats_next_shard;
static _Thread_local stats_shard *stats_mine;

/* What only queries add (their latency ring and per-second counts), and
 * the start, under one lock: a query takes far longer than the lock. */
static struct {
    pthread_mutex_t lock;
    double start_mono;
    time_t start_wall;
    double ring[STATS_RING]; /* query latencies */
    size_t ring_n, ring_pos;
    long qps_sec[STATS_QPS_WINDOW];
    unsigned long long qps_count[STATS_QPS_WINDOW];
} stats = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double stats_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stats_init(void) {
    stats.start_mono = stats_mono();
    stats.start_wall = time(NULL);
}

static void stats_query(double ms) {
    long sec = (long)stats_mono();
    pthread_mutex_lock(&stats.lock);
    stats.ring[stats.ring_pos] = ms;
    stats.ring_pos = (stats.ring_pos + 1) % STATS_RING;
    if (stats.ring_n < STATS_RING) stats.ring_n++;
    size_t slot = (size_t)sec % STATS_QPS_WINDOW;
    if (stats.qps_sec[slot] != sec) {
        stats.qps_sec[slot] = sec;
        stats.qps_count[slot] = 0;
    }
    stats.qps_count[slot]++;
    pthread_mutex_unlock(&stats.lock);
}

void stats_record(stats_route route, int status, double ms) {
    int cls = status / 100;
    if (cls < 0 || cls > 5) cls = 0;
    stats_shard *sh = stats_mine;
    if (!sh) {
        unsigned i = __atomic_fetch_add(&stats_next_shard, 1, __ATOMIC_RELAXED) % STATS_SHARDS;
        sh = stats_mine = &stats_shards[i];
    }
    size_t b = 0;
    while (b < STATS_NBOUNDS && ms > stats_bounds_ms[b]) b++;
    pthread_mutex_lock(&sh->lock);
    sh->requests[route][cls]++;
    sh->hist[route][b]++;
    sh->sum_ms[route] += ms;
    pthread_mutex_unlock(&sh->lock);
    if (route == ROUTE_QUERY) stats_query(ms);
}

static int stats_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double stats_round3(double x) { return round(x * 1000) / 1000; }

static double stats_pct(const double *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return stats_round3(sorted[i < n ? i : n - 1]);
}

static void stats_memory(unsigned long long *rss, unsigned long long *peak) {
    *rss = *peak = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long long size, res;
        if (fscanf(f, "%llu %llu", &size, &res) == 2)
            *rss = res * (unsigned long long)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) *peak = (unsigned long long)ru.ru_maxrss * 1024ULL;
}

/* Copy what both outputs need under the lock. */
typedef struct {
    unsigned long long requests[ROUTE_COUNT][6];
    unsigned long long hist[ROUTE_COUNT][STATS_NBOUNDS + 1];
    double sum_ms[ROUTE_COUNT];
    double lat[STATS_RING];
    size_t nlat;
    double qps, uptime;
} stats_view;

static void stats_take(stats_view *v) {
    double now = stats_mono();
    long sec = (long)now;
    memset(v->requests, 0, sizeof v->requests);
    memset(v->hist, 0, sizeof v->hist);
    memset(v->sum_ms, 0, sizeof v->sum_ms);
    for (int i = 0; i < STATS_SHARDS; i++) {
        stats_shard *sh = &stats_shards[i];
        pthread_mutex_lock(&sh->lock);
        for (int r = 0; r < ROUTE_COUNT; r++) {
            for (int c = 0; c < 6; c++) v->requests[r][c] += sh->requests[r][c];
            for (size_t b = 0; b <= STATS_NBOUNDS; b++) v->hist[r][b] += sh->hist[r][b];
            v->sum_ms[r] += sh->sum_ms[r];
        }
        pthread_mutex_unlock(&sh->lock);
    }
    pthread_mutex_lock(&stats.lock);
    v->nlat = stats.ring_n;
    memcpy(v->lat, stats.ring, v->nlat * sizeof *v->lat);
    unsigned long long recent = 0;
    for (int i = 0; i < STATS_QPS_WINDOW; i++)
        if (stats.qps_sec[i] > sec - STATS_QPS_WINDOW && stats.qps_sec[i] < sec)
            recent += stats.qps_count[i];
    pthread_mutex_unlock(&stats.lock);
    v->uptime = now - stats.start_mono;
    double window = v->uptime < STATS_QPS_WINDOW - 1 ? v->uptime : STATS_QPS_WINDOW - 1;
    v->qps = window >= 1 ? (double)recent / window : 0;
    qsort(v->lat, v->nlat, sizeof *v->lat, stats_cmp_double);
}

json_t *stats_performance(const stats_index_info *ix) {
    stats_view *v = malloc(sizeof *v);
    if (!v) return NULL;
    stats_take(v);
    json_t *routes = json_object();
    unsigned long long total = 0, errors = 0;
    for (int r = 0; r < ROUTE_COUNT; r++) {
        unsigned long long n = 0;
        for (int c = 0; c < 6; c++) n += v->requests[r][c];
        total += n;
        errors += v->requests[r][4] + v->requests[r][5];
        json_object_set_new(routes, stats_route_names[r],
                            json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)n, "2xx",
                                      (json_int_t)v->requests[r][2], "4xx",
                                      (json_int_t)v->requests[r][4], "5xx",
                                      (json_int_t)v->requests[r][5]));
    }
    unsigned long long rss, peak;
    stats_memory(&rss, &peak);
    unsigned long long nq =
        v->requests[ROUTE_QUERY][2] + v->requests[ROUTE_QUERY][4] + v->requests[ROUTE_QUERY][5];
    double mean = nq ? v->sum_ms[ROUTE_QUERY] / (double)nq : 0.0;
    json_t *o = json_pack(
        "{s:I,s:I,s:o,s:{s:I,s:f,s:f,s:f,s:f,s:f},s:f,s:f,s:{s:I,s:I},s:{s:s?,s:I,s:f,s:I,s:I}}",
        "requests", (json_int_t)total, "errors", (json_int_t)errors, "routes", routes,
        "query_latency_ms", "samples", (json_int_t)v->nlat, "p50", stats_pct(v->lat, v->nlat, 0.5),
        "p90", stats_pct(v->lat, v->nlat, 0.9), "p99", stats_pct(v->lat, v->nlat, 0.99), "max",
        v->nlat ? stats_round3(v->lat[v->nlat - 1]) : 0.0, "mean", stats_round3(mean), "qps",
        stats_round3(v->qps), "uptime_seconds", stats_round3(v->uptime), "memory", "rss_bytes",
        (json_int_t)rss, "peak_rss_bytes", (json_int_t)peak, "index", "snapshot", ix->snapshot,
        "count", (json_int_t)ix->count, "age_seconds", ix->age_seconds, "reloads",
        (json_int_t)ix->reloads, "reload_failures", (json_int_t)ix->reload_failures);
    free(v);
    return o;
}

char *stats_prometheus(const stats_index_info *ix) {
    stats_view *v = malloc(sizeof *v);
    if (!v) return NULL;
    stats_take(v);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        free(v);
        return NULL;
    }
    fprintf(f, "# HELP nz_requests_total HTTP requests by route and status class.\n"
               "# TYPE nz_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int c = 1; c < 6; c++)
            if (v->requests[r][c])
                fprintf(f, "nz_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                        stats_route_names[r], c, v->requests[r][c]);
    fprintf(f, "# HELP nz_request_duration_seconds Request latency.\n"
               "# TYPE nz_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        unsigned long long cum = 0;
        for (size_t b = 0; b <= STATS_NBOUNDS; b++) {
            cum += v->hist[r][b];
            if (b < STATS_NBOUNDS)
                fprintf(f, "nz_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                        stats_route_names[r], stats_bounds_ms[b] / 1000, cum);
            else
                fprintf(f, "nz_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                        stats_route_names[r], cum);
        }
        fprintf(f, "nz_request_duration_seconds_sum{route=\"%s\"} %.6f\n", stats_route_names[r],
                v->sum_ms[r] / 1000);
        fprintf(f, "nz_request_duration_seconds_count{route=\"%s\"} %llu\n", stats_route_names[r],
                cum);
    }
    unsigned long long rss, peak;
    stats_memory(&rss, &peak);
    fprintf(f,
            "# HELP nz_query_qps Queries per second over the last minute.\n"
            "# TYPE nz_query_qps gauge\nnz_query_qps %.3f\n"
            "# HELP nz_uptime_seconds Seconds since start.\n"
            "# TYPE nz_uptime_seconds gauge\nnz_uptime_seconds %.3f\n"
            "# HELP nz_memory_rss_bytes Resident memory.\n"
            "# TYPE nz_memory_rss_bytes gauge\nnz_memory_rss_bytes %llu\n"
            "# HELP nz_index_vectors Vectors in the served snapshot.\n"
            "# TYPE nz_index_vectors gauge\nnz_index_vectors %llu\n"
            "# HELP nz_index_age_seconds Age of the served snapshot.\n"
            "# TYPE nz_index_age_seconds gauge\nnz_index_age_seconds %.0f\n"
            "# HELP nz_index_reloads_total Snapshot swaps, and swaps refused.\n"
            "# TYPE nz_index_reloads_total counter\n"
            "nz_index_reloads_total{result=\"ok\"} %llu\n"
            "nz_index_reloads_total{result=\"failed\"} %llu\n"
            "# HELP nz_build_info Version.\n# TYPE nz_build_info gauge\n"
            "nz_build_info{version=\"%s\"} 1\n",
            v->qps, v->uptime, rss, ix->count, ix->age_seconds, ix->reloads, ix->reload_failures,
            NZ_VERSION);
    fclose(f);
    free(v);
    return out;
}
