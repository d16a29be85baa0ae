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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "config.h"
#include "follow.h"
#include "holder.h"
#include "http.h"
#include "log.h"
#include "nz.h"
#include "status.h"
#include "stats.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-serve [options]\n"
            "\n"
            "Serve the current index snapshot over HTTP (read-only).\n"
            "\n"
            "      --index-path DIR     snapshot root   (env INDEX_PATH, default ./data/index)\n"
            "  -p, --port N             TCP port, 0 for any free one (env PORT, default 8000)\n"
            "      --threads N          worker threads (default: the number of cores)\n"
            "      --port-file FILE     write the bound port to FILE once listening\n"
            "      --drain-timeout S    seconds to finish requests on SIGTERM (default 25)\n"
            "      --follow s3://B/P    pull the latest snapshot from object storage now and\n"
            "                           every --follow-interval seconds (default 60), and serve\n"
            "                           it (env SNAPSHOT_STORE; keys: AWS_* variables)\n"
            "  -h, --help               show this help\n"
            "      --version            show the version\n"
            "\n"
            "  GET /health   GET /performance   GET /metrics   POST /v1/query\n"
            "SIGHUP reloads the index now; SIGTERM drains and exits 0.\n");
}

typedef struct serve_opts {
    const char *port_file; /* or NULL */
    const char *follow;    /* s3://BUCKET/PREFIX, or NULL */
    long threads, drain, port, follow_interval;
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
static void serve_drain(struct MHD_Daemon *d, long drain) {
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
    holder_init(root);
    /* EMBEDDING_PROVIDER / EMBEDDING_MODEL, when given, name the only embedder to serve */
    int set_p = strcmp(config_source(CFG_EMBEDDING_PROVIDER), "default") != 0;
    int set_m = strcmp(config_source(CFG_EMBEDDING_MODEL), "default") != 0;
    holder_expect(set_p ? config_get(CFG_EMBEDDING_PROVIDER) : NULL,
                  set_m ? config_get(CFG_EMBEDDING_MODEL) : NULL);
    int loaded = holder_check(1);
    if (loaded == NZ_EINVAL) { /* another embedder's snapshot: a deploy mistake, not a wait */
        holder_shutdown();
        return NZ_EXIT_FAIL;
    }
    if (loaded <= 0) log_warn("no valid index at %s yet: serving 503 until one is published", root);

    char err[256];
    if (o->follow &&
        follow_start(o->follow, root, (double)o->follow_interval, err, sizeof err) < 0) {
        log_error("--follow: %s", err);
        holder_shutdown();
        return NZ_EXIT_USAGE;
    }
    http_config hc = {.database_url = config_get(CFG_DATABASE_URL)};
    unsigned bound = 0;
    struct MHD_Daemon *d =
        http_start((unsigned)o->port, (unsigned)o->threads, &hc, &bound, err, sizeof err);
    if (!d) {
        log_error("%s", err);
        follow_stop();
        holder_shutdown();
        return NZ_EXIT_FAIL;
    }
    if (o->port_file) serve_port_file(o->port_file, bound);
    log_fields(LOG_INFO, "listening",
               json_pack("{s:i,s:s,s:i}", "port", (int)bound, "index_path", root, "threads",
                         (int)o->threads));
    serve_wait(&set);
    serve_drain(d, o->drain);
    follow_stop();
    holder_shutdown();
    log_info("stopped");
    return NZ_EXIT_OK;
}

int main(int argc, char **argv) {
    log_init("nz-serve");
    serve_opts o = {.threads = sysconf(_SC_NPROCESSORS_ONLN),
                    .drain = 25,
                    .follow = config_get(CFG_SNAPSHOT_STORE),
                    .follow_interval = FOLLOW_DEFAULT_INTERVAL};
    if (o.threads < 1) o.threads = 1;
    static const struct option longopts[] = {{"index-path", required_argument, 0, 'i'},
                                             {"port", required_argument, 0, 'p'},
                                             {"threads", required_argument, 0, 't'},
                                             {"port-file", required_argument, 0, 'f'},
                                             {"drain-timeout", required_argument, 0, 'd'},
                                             {"follow", required_argument, 0, 'F'},
                                             {"follow-interval", required_argument, 0, 'I'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': config_set(CFG_INDEX_PATH, optarg); break;
        case 'p': config_set(CFG_PORT, optarg); break;
        case 't': bad = config_parse_long("--threads", optarg, 1, 256, &o.threads) < 0; break;
        case 'f': o.port_file = optarg; break;
        case 'd': bad = config_parse_long("--drain-timeout", optarg, 0, 3600, &o.drain) < 0; break;
        case 'F': o.follow = optarg; break;
        case 'I':
            bad = config_parse_long("--follow-interval", optarg, 1, 86400, &o.follow_interval) < 0;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-serve %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (bad) return NZ_EXIT_USAGE;
    if (optind != argc) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (config_long(CFG_PORT, 0, 65535, &o.port) < 0) return NZ_EXIT_USAGE;
    return serve_run(&o);
}
