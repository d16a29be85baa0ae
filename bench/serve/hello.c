/* hello.c -- the anchor of bench/serve: a libmicrohttpd hello-world.
 *
 * It answers every request with a fixed 200 "Hello, world!\n", from one
 * response object made at start, on the same daemon configuration as
 * nz-serve's serve/http.c (internal polling thread with a thread pool of
 * --threads, epoll/poll chosen by MHD_USE_AUTO, an inter-thread channel,
 * nz-serve's default idle timeout (10 s), connection limit (1024) and
 * memory limit per connection), so the /health figure of
 * nz-serve is measured against what libmicrohttpd itself does on this
 * machine. Runs until SIGTERM or SIGINT. --answer-bytes N answers N bytes
 * instead (made once at start), as large as a /v1/query answer: the floor
 * libmicrohttpd and loopback TCP set for the one-connection query rows.
 * --spin-us N keeps the worker busy N microseconds before each answer, as
 * long as nz-serve's work on a query takes: the client then waits (and its
 * CPU idles) as long as it does against nz-serve, and the floor includes
 * what that wait costs on this machine (a long-idle CPU wakes slower: on a
 * VM the host deschedules a vCPU halted past its halt-polling window).
 *
 *   nz-hello [--port N] [--threads N] [--port-file F] [--answer-bytes N] [--spin-us N]
 */
#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "config.h"

static const char hello_body[] = "Hello, world!\n";

typedef struct hello_opts {
    long port, threads, answer_bytes, spin_us;
    const char *port_file;
} hello_opts;

/* What the handler needs: the one response, the busy time before it. */
typedef struct hello_ctx {
    struct MHD_Response *resp;
    long long spin_ns;
} hello_ctx;

static long long hello_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static enum MHD_Result hello_handler(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *upload,
                                     size_t *upload_size, void **con_cls) {
    (void)url, (void)method, (void)version, (void)upload;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) { /* a body: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    const hello_ctx *h = cls;
    if (h->spin_ns) /* busy, as nz-serve is on a query */
        for (long long t0 = hello_now(); hello_now() - t0 < h->spin_ns;) continue;
    return MHD_queue_response(c, MHD_HTTP_OK, h->resp);
}

/* Serve until SIGTERM or SIGINT; the exit code. */
static int hello_run(const hello_opts *o) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    char *big = o->answer_bytes ? malloc((size_t)o->answer_bytes) : NULL;
    if (big) memset(big, 'x', (size_t)o->answer_bytes);
    struct MHD_Response *resp =
        o->answer_bytes ? (big ? MHD_create_response_from_buffer((size_t)o->answer_bytes, big,
                                                                 MHD_RESPMEM_MUST_FREE)
                               : NULL)
                        : MHD_create_response_from_buffer(sizeof hello_body - 1, (void *)hello_body,
                                                          MHD_RESPMEM_PERSISTENT);
    if (!resp) free(big);
    if (!resp || MHD_add_response_header(resp, "Content-Type", "text/plain") != MHD_YES) {
        fprintf(stderr, "nz-hello: out of memory\n");
        return 1;
    }
    hello_ctx ctx = {resp, o->spin_us * 1000LL};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)o->port, NULL, NULL, hello_handler, &ctx, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)o->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "nz-hello: cannot listen on port %ld\n", o->port);
        MHD_destroy_response(resp);
        return 1;
    }
    int rc = 0;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char line[16];
    int n = snprintf(line, sizeof line, "%u\n", info ? (unsigned)info->port : (unsigned)o->port);
    if (o->port_file && atomic_write_file(o->port_file, line, (size_t)n) < 0) {
        fprintf(stderr, "nz-hello: cannot write %s\n", o->port_file);
        rc = 1;
    }
    int sig;
    if (rc == 0) sigwait(&set, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return rc;
}

int main(int argc, char **argv) {
    hello_opts o = {.port = 0, .threads = sysconf(_SC_NPROCESSORS_ONLN), .port_file = NULL};
    static const struct option longopts[] = {
        {"port", required_argument, 0, 'p'},      {"threads", required_argument, 0, 't'},
        {"port-file", required_argument, 0, 'f'}, {"answer-bytes", required_argument, 0, 'a'},
        {"spin-us", required_argument, 0, 's'},   {0, 0, 0, 0}};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'p') bad = config_parse_long("--port", optarg, 0, 65535, &o.port) != 0;
        else if (c == 't') bad = config_parse_long("--threads", optarg, 1, 1024, &o.threads) != 0;
        else if (c == 'f') o.port_file = optarg;
        else if (c == 'a')
            bad = config_parse_long("--answer-bytes", optarg, 0, 1 << 24, &o.answer_bytes) != 0;
        else if (c == 's')
            bad = config_parse_long("--spin-us", optarg, 0, 1000000, &o.spin_us) != 0;
        else bad = 1;
    }
    if (bad || optind != argc) {
        fprintf(stderr,
                "usage: nz-hello [--port N] [--threads N] [--port-file F] [--answer-bytes N] "
                "[--spin-us N]\n");
        return 2;
    }
    return hello_run(&o);
}
