/* nz-serve -- the read-only HTTP query server.
 *
 * Serves INDEX_PATH/current on PORT (http.h for the API). The main thread
 * owns the signals, which every other thread blocks: once a second (or at
 * once on SIGHUP) it checks whether `current` moved and swaps the new
 * snapshot in after verifying it (holder.h); on SIGTERM or SIGINT it stops
 * accepting, lets the requests in flight finish (at most --drain-timeout
 * seconds, under the 30 s Fly allows) and exits 0.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "config.h"
#include "assist.h"
#include "follow.h"
#include "holder.h"
#include "http.h"
#include "log.h"
#include "nz.h"
#include "status.h"
#include "stats.h"

#define SERVE_MAX_CONNECTIONS 1024
#define SERVE_IDLE_TIMEOUT 10    /* seconds */
#define SERVE_REQUEST_TIMEOUT 30 /* seconds */

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: nz-serve [options]\n"
        "\n"
        "Serve the current index snapshot over HTTP (read-only).\n"
        "\n"
        "      --index-path DIR     snapshot root   (env INDEX_PATH, default ./data/index)\n"
        "  -p, --port N             TCP port, 0 for any free one (env PORT, default 8000)\n"
        "      --threads N          worker threads (default: the cores it may run on)\n"
        "      --port-file FILE     write the bound port to FILE once listening\n"
        "      --drain-timeout S    seconds to finish requests on SIGTERM (default 25)\n"
        "      --follow s3://B/P    pull the latest snapshot from object storage now and\n"
        "                           every --follow-interval seconds (default 60), and serve\n"
        "                           it (env SNAPSHOT_STORE; keys: AWS_* variables)\n"
        "Bounds (a request over one gets a JSON error; a connection over one is closed):\n"
        "      --max-body N         POST body bytes, else 413 (default 1048576)\n"
        "      --max-k N            most results a query may ask for (default 100)\n"
        "      --max-ef N           largest search breadth \"ef\" (default 1000)\n"
        "      --max-depth N        deepest JSON nesting of a request (default 8)\n"
        "      --exact-max-rows N   \"exact\":true only on snapshots up to N rows (default 50000)\n"
        "      --allow-exact        \"exact\":true on any snapshot\n"
        "      --max-connections N  open connections in all (default 1024)\n"
        "      --max-connections-per-ip N  from one address (default 0: no limit; behind\n"
        "                           a proxy every client has the proxy's address)\n"
        "      --idle-timeout S     close a connection silent for S seconds (default 10)\n"
        "      --request-timeout S  close a connection whose request is not received and\n"
        "                           answered within S seconds, however slowly its bytes\n"
        "                           come (default 30)\n"
        "CORS (off by default) and logs:\n"
        "      --cors-origin ORIGIN allow browser calls from ORIGIN (https://host[:port]);\n"
        "                           repeatable\n"
        "      --log-queries        put the query text in the access log\n"
        "      --no-access-log      no JSON line per request\n"
        "  -h, --help               show this help\n"
        "      --version            show the version\n"
        "\n"
        "  GET /health   GET /performance   GET /metrics   POST /v1/query\n"
        "  GET /v1/query?q=TEXT&k=N&ef=N&mode=M\n"
        "SIGHUP reloads the index now; SIGTERM drains and exits 0.\n");
}

typedef struct serve_opts {
    const char *port_file; /* or NULL */
    const char *follow;    /* s3://BUCKET/PREFIX, or NULL */
    long threads, drain, port, follow_interval;
    http_config http;
} serve_opts;

/* Write the bound port for whoever started us on port 0. */
static void serve_port_file(const char *path, unsigned port) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%u\n", port);
    if (atomic_write_file(path, buf, (size_t)n) < 0)
        log_error("--port-file %s: %s", path, strerror(errno));
}

/* Wait for signals: SIGHUP (or each second's tick) checks for a new
 * snapshot; SIGTERM or SIGINT returns. */
static void serve_wait(const sigset_t *set) {
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("%s: draining %ld request(s) in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     http_in_flight());
            return;
        }
        holder_check(sig == SIGHUP);
    }
}

/* Stop accepting, then give the requests in flight up to drain seconds. */
static void serve_drain(http_server *d, long drain) {
    http_quiesce(d);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (http_in_flight() > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= drain) {
            log_warn("drain timeout: %ld request(s) cut off", http_in_flight());
            break;
        }
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
    }
    http_stop(d);
}

/* The holder of the snapshots under root, expecting the embedder the
 * configuration names (EMBEDDING_PROVIDER / EMBEDDING_MODEL, when given).
 * 0; -1 when root's snapshot is another embedder's: a deploy mistake, not
 * a wait. */
static int serve_load(const char *root) {
    holder_init(root);
    int set_p = strcmp(config_source(CFG_EMBEDDING_PROVIDER), "default") != 0;
    int set_m = strcmp(config_source(CFG_EMBEDDING_MODEL), "default") != 0;
    holder_expect(set_p ? config_get(CFG_EMBEDDING_PROVIDER) : NULL,
                  set_m ? config_get(CFG_EMBEDDING_MODEL) : NULL);
    int loaded = holder_check(1);
    if (loaded == NZ_EINVAL) return -1;
    if (loaded <= 0) log_warn("no valid index at %s yet: serving 503 until one is published", root);
    return 0;
}

/* The helpers that run hybrid's lexical lists beside the graph walks
 * (assist.h), one a worker thread, into *side. 0, or -1 after saying why. */
static int serve_side(const serve_opts *o, assist_pool **side) {
    int rc = assist_pool_new(o->threads < 64 ? (int)o->threads : 64, 0, side);
    if (rc < 0) log_error("cannot start the lexical search's helper threads: %s", nz_strerror(rc));
    return rc < 0 ? -1 : 0;
}

/* Serve until SIGTERM; the exit code. */
static int serve_run(const serve_opts *o) {
    /* Signals belong to this thread: block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    stats_init();
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: query embeddings use libcurl */
    const char *root = config_get(CFG_INDEX_PATH);
    http_config http = o->http; /* with the helpers */
    http.route.side = NULL;
    http_server *d = NULL;
    char err[256];
    int exit_code = NZ_EXIT_FAIL;
    if (serve_load(root) < 0 || serve_side(o, &http.route.side) < 0) goto out;
    if (o->follow &&
        follow_start(o->follow, root, (double)o->follow_interval, err, sizeof err) < 0) {
        log_error("--follow: %s", err);
        exit_code = NZ_EXIT_USAGE;
        goto out;
    }
    if (!(d = http_start(&http, err, sizeof err))) {
        log_error("%s", err);
        goto out;
    }
    unsigned bound = http_port(d);
    if (o->port_file) serve_port_file(o->port_file, bound);
    log_fields(LOG_INFO, "listening",
               json_pack("{s:i,s:s,s:i}", "port", (int)bound, "index_path", root, "threads",
                         (int)o->threads));
    serve_wait(&set);
    serve_drain(d, o->drain);
    exit_code = NZ_EXIT_OK;
out:
    follow_stop();
    assist_pool_free(http.route.side);
    holder_shutdown();
    if (exit_code == NZ_EXIT_OK) log_info("stopped");
    return exit_code;
}

/* --cors-origin: one more allowed origin. 0, or -1 after saying why. */
static int serve_add_origin(route_config *rc, const char *origin) {
    if (!route_origin_valid(origin)) {
        log_error("--cors-origin %s: give scheme://host[:port], as a browser sends in Origin",
                  origin);
        return -1;
    }
    if (rc->norigins == ROUTE_MAX_ORIGINS) {
        log_error("--cors-origin: at most %d origins", ROUTE_MAX_ORIGINS);
        return -1;
    }
    rc->origins[rc->norigins++] = origin;
    return 0;
}

/* A bound's flag: a count in [min, max] into *out. */
static int serve_bound(const char *what, long min, long max, unsigned *out) {
    long v;
    if (config_parse_long(what, optarg, min, max, &v) < 0) return -1;
    *out = (unsigned)v;
    return 0;
}

static int serve_size(const char *what, long min, long max, size_t *out) {
    long v;
    if (config_parse_long(what, optarg, min, max, &v) < 0) return -1;
    *out = (size_t)v;
    return 0;
}

/* One option into o: 0, 1 (exit 0 now: help, version), or -1 (usage). */
static int serve_option(int c, serve_opts *o) {
    route_config *rc = &o->http.route;
    switch (c) {
    case 'i': config_set(CFG_INDEX_PATH, optarg); return 0;
    case 'p': config_set(CFG_PORT, optarg); return 0;
    case 't': return config_parse_long("--threads", optarg, 1, 256, &o->threads);
    case 'f': o->port_file = optarg; return 0;
    case 'd': return config_parse_long("--drain-timeout", optarg, 0, 3600, &o->drain);
    case 'F': o->follow = optarg; return 0;
    case 'I': return config_parse_long("--follow-interval", optarg, 1, 86400, &o->follow_interval);
    case 'B': return serve_size("--max-body", 1024, 64L << 20, &rc->max_body);
    case 'K': return serve_size("--max-k", 1, 100000, &rc->lim.max_k);
    case 'E': return serve_size("--max-ef", 1, 100000, &rc->lim.max_ef);
    case 'D': return serve_size("--max-depth", 2, 1000, &rc->lim.max_depth);
    case 'R': return serve_size("--exact-max-rows", 0, LONG_MAX, &rc->lim.exact_max_rows);
    case 'X': rc->lim.allow_exact = 1; return 0;
    case 'C': return serve_bound("--max-connections", 1, 1000000, &o->http.max_connections);
    case 'P': return serve_bound("--max-connections-per-ip", 0, 1000000, &o->http.max_per_ip);
    case 'T': return serve_bound("--idle-timeout", 1, 3600, &o->http.idle_timeout);
    case 'Q': return serve_bound("--request-timeout", 1, 3600, &o->http.request_timeout);
    case 'O': return serve_add_origin(rc, optarg);
    case 'L': rc->log_queries = 1; return 0;
    case 'N': o->http.access_log = 0; return 0;
    case 'h': usage(stdout); return 1;
    case 'V': printf("nz-serve %s\n", NZ_VERSION); return 1;
    default: usage(stderr); return -1;
    }
}

/* Options into o, checked: 0, 1 (done: help, version) or -1 (usage). */
static int serve_parse(int argc, char **argv, serve_opts *o) {
    static const struct option longopts[] = {{"index-path", required_argument, 0, 'i'},
                                             {"port", required_argument, 0, 'p'},
                                             {"threads", required_argument, 0, 't'},
                                             {"port-file", required_argument, 0, 'f'},
                                             {"drain-timeout", required_argument, 0, 'd'},
                                             {"follow", required_argument, 0, 'F'},
                                             {"follow-interval", required_argument, 0, 'I'},
                                             {"max-body", required_argument, 0, 'B'},
                                             {"max-k", required_argument, 0, 'K'},
                                             {"max-ef", required_argument, 0, 'E'},
                                             {"max-depth", required_argument, 0, 'D'},
                                             {"exact-max-rows", required_argument, 0, 'R'},
                                             {"allow-exact", no_argument, 0, 'X'},
                                             {"max-connections", required_argument, 0, 'C'},
                                             {"max-connections-per-ip", required_argument, 0, 'P'},
                                             {"idle-timeout", required_argument, 0, 'T'},
                                             {"request-timeout", required_argument, 0, 'Q'},
                                             {"cors-origin", required_argument, 0, 'O'},
                                             {"log-queries", no_argument, 0, 'L'},
                                             {"no-access-log", no_argument, 0, 'N'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1)
        rc = serve_option(c, o);
    if (rc != 0) return rc;
    if (optind != argc) {
        usage(stderr);
        return -1;
    }
    if (config_long(CFG_PORT, 0, 65535, &o->port) < 0) return -1;
    if (o->http.max_connections < (unsigned)o->threads) {
        log_error("--max-connections %u: at least one a thread (--threads %ld)",
                  o->http.max_connections, o->threads);
        return -1;
    }
    o->http.port = (unsigned)o->port;
    o->http.threads = (unsigned)o->threads;
    o->http.route.database_url = config_get(CFG_DATABASE_URL);
    return 0;
}

int main(int argc, char **argv) {
    log_init("nz-serve");
    serve_opts o = {
        .threads = assist_cpus(),
        .drain = 25,
        .follow = config_get(CFG_SNAPSHOT_STORE),
        .follow_interval = FOLLOW_DEFAULT_INTERVAL,
        .http = {.route = {.lim = QUERY_LIMITS_DEFAULT, .max_body = ROUTE_MAX_BODY_DEFAULT},
                 .max_connections = SERVE_MAX_CONNECTIONS,
                 .idle_timeout = SERVE_IDLE_TIMEOUT,
                 .request_timeout = SERVE_REQUEST_TIMEOUT,
                 .access_log = 1}};
    int rc = serve_parse(argc, argv, &o);
    if (rc != 0) return rc > 0 ? NZ_EXIT_OK : NZ_EXIT_USAGE;
    return serve_run(&o);
}
