/* http.c -- see http.h.
 *
 * The request path does, past what libmicrohttpd itself does, as little
 * as a hello-world does: no lock or atomic shared between the worker
 * threads (the in-flight count and stats are per thread, the access log
 * goes to the thread's own batch, log.h), and for an answer the route marks
 * `reuse` (/health) the response libmicrohttpd sends is the one this
 * thread made for it before, headers and all (http_kept), so such a
 * request allocates nothing but its own small state. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsonout.h"
#include "log.h"
#include "nz.h"
#include "status.h"

#define HTTP_SWEEP_MS 250 /* how often the sweeper looks for overdue requests, flushes the log */
#define HTTP_SLOTS 16     /* in-flight counters, one a thread (or shared, past 16) */

/* One connection, for the request deadline (http.h). */
typedef struct http_conn {
    int fd;
    long long since; /* ns: the connection's start or its previous answer (atomic) */
    int cut;         /* shut down by the sweeper */
    struct http_conn *prev, *next;
} http_conn;

struct http_server {
    const http_config *cfg;
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t lock; /* conns and stopping */
    pthread_cond_t wake;
    http_conn *conns;
    int stopping, sweeper_started;
    pthread_t sweeper;
    pthread_key_t kept_key; /* this thread's http_kept */
    int keyed;              /* kept_key was made */
};

/* The response a thread made for the route's last `reuse` answer, with
 * every header; freed with the thread (http_kept_free). */
typedef struct http_kept {
    unsigned long long key; /* route_response.reuse */
    struct MHD_Response *resp;
} http_kept;

/* One request: the body as it comes, then what the access log needs. */
typedef struct http_request {
    long long start; /* ns */
    buf body;        /* capped at max_body */
    int too_large;
    int status; /* 0 until an answer is queued */
    stats_route route;
    long results;
    char snapshot[96];
    char *query;
    const char *method;
} http_request;

/* Requests in flight, counted per thread on cache lines of their own
 * (a request may end on another slot than it began: only the sum counts). */
static struct { long n; } __attribute__((aligned(64))) http_inflight[HTTP_SLOTS];
static unsigned http_next_slot;
static _Thread_local int http_slot = -1;

static void http_inflight_add(long d) {
    if (http_slot < 0)
        http_slot = (int)(__atomic_fetch_add(&http_next_slot, 1, __ATOMIC_RELAXED) % HTTP_SLOTS);
    __atomic_add_fetch(&http_inflight[http_slot].n, d, __ATOMIC_RELEASE);
}

long http_in_flight(void) {
    long n = 0;
    for (int i = 0; i < HTTP_SLOTS; i++)
        n += __atomic_load_n(&http_inflight[i].n, __ATOMIC_ACQUIRE);
    return n;
}

static long long http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The method for the log: a known one, never the client's arbitrary bytes. */
static const char *http_method_name(const char *m) {
    static const char *const known[] = {"GET",     "HEAD",  "POST",    "PUT",  "DELETE",
                                        "OPTIONS", "PATCH", "CONNECT", "TRACE"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(m, known[i]) == 0) return known[i];
    return "other";
}

static enum MHD_Result http_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value) {
    NZ_UNUSED(kind);
    route_request *req = cls;
    if (req->nargs == ROUTE_MAX_ARGS) {
        req->too_many_args = 1;
        return MHD_NO;
    }
    req->args[req->nargs++] = (route_arg){key, value};
    return MHD_YES;
}

static void http_kept_free(void *p) {
    http_kept *k = p;
    if (k->resp) MHD_destroy_response(k->resp);
    free(k);
}

/* Keep mr as this thread's response for key (replacing the one kept):
 * 1, or 0 when it cannot be kept (the caller then destroys it). */
static int http_keep(http_server *srv, http_kept *k, unsigned long long key,
                     struct MHD_Response *mr) {
    if (!srv->keyed) return 0;
    if (!k) {
        if (!(k = calloc(1, sizeof *k))) return 0;
        if (pthread_setspecific(srv->kept_key, k) != 0) {
            free(k);
            return 0;
        }
    }
    if (k->resp) MHD_destroy_response(k->resp);
    k->resp = mr;
    k->key = key;
    return 1;
}

/* The response for resp (its body taken), every header added; NULL when
 * out of memory. */
static struct MHD_Response *http_response(route_response *resp) {
    struct MHD_Response *mr =
        resp->body
            ? MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE)
            : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!mr) return NULL;
    resp->body = NULL; /* the response owns it now */
    for (size_t i = 0; i < resp->nheaders; i++)
        if (MHD_add_response_header(mr, resp->headers[i].name, resp->headers[i].value) != MHD_YES) {
            MHD_destroy_response(mr); /* never an answer without its security headers */
            return NULL;
        }
    return mr;
}

/* Route the request and queue its answer. */
static enum MHD_Result http_answer(http_server *srv, struct MHD_Connection *c, http_request *r,
                                   const char *url, const char *method) {
    http_kept *k = srv->keyed ? pthread_getspecific(srv->kept_key) : NULL;
    route_request req = {.method = method,
                         .path = url,
                         .body = buf_str(&r->body),
                         .body_len = r->body.len,
                         .body_too_large = r->too_large,
                         .have = k ? k->key : 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, http_arg, &req);
    if (srv->cfg->route.norigins) { /* CORS on: the route compares them */
        req.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        if (req.origin && strcmp(method, "OPTIONS") == 0)
            req.request_method =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
    }
    route_response resp;
    route_handle(&srv->cfg->route, &req, &resp);
    r->route = resp.route;
    r->results = resp.results;
    memcpy(r->snapshot, resp.snapshot, sizeof r->snapshot);
    r->query = resp.query;
    resp.query = NULL;
    struct MHD_Response *mr = NULL;
    int kept = 0;
    if (resp.reuse && k && resp.reuse == k->key && !resp.body) {
        mr = k->resp;
        kept = 1;
    } else if ((mr = http_response(&resp)) != NULL && resp.reuse) {
        kept = http_keep(srv, k, resp.reuse, mr);
    }
    enum MHD_Result ret = mr ? MHD_queue_response(c, (unsigned)resp.status, mr) : MHD_NO;
    if (ret == MHD_YES) r->status = resp.status;
    if (mr && !kept) MHD_destroy_response(mr);
    route_response_free(&resp);
    return ret;
}

/* The declared Content-Length (0 when none or unreadable); above max (or
 * out of range): answer 413 at once, before reading the body
 * (libmicrohttpd then closes the connection). */
static unsigned long long http_declared_length(struct MHD_Connection *c, size_t max,
                                               int *too_large) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    *too_large = 0;
    if (!cl) return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    *too_large = end != cl && (errno == ERANGE || n > max);
    return end != cl && !*too_large ? n : 0;
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls) {
    NZ_UNUSED(version);
    http_server *srv = cls;
    http_request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->start = http_now();
        r->route = ROUTE_OTHER;
        r->results = -1;
        r->method = http_method_name(method);
        buf_init(&r->body, srv->cfg->route.max_body);
        http_inflight_add(1);
        *con_cls = r;
        unsigned long long n = http_declared_length(c, srv->cfg->route.max_body, &r->too_large);
        if (!r->too_large) {
            if (n) buf_grow(&r->body, (size_t)n); /* one allocation; a failure shows when adding */
            return MHD_YES;
        }
        return http_answer(srv, c, r, url, method);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) return MHD_YES;
        int rc = buf_add(&r->body, upload_data, n);
        if (rc == NZ_ELIMIT) r->too_large = 1; /* read the rest, answer 413 at the end */
        return rc == NZ_ENOMEM ? MHD_NO : MHD_YES;
    }
    return http_answer(srv, c, r, url, method);
}

/* x in decimal, by hand, at p (room for 20 digits); the end. */
static char *http_log_uint(char *p, unsigned long long x) {
    char t[20];
    size_t n = 0;
    do t[n++] = (char)('0' + x % 10);
    while (x /= 10);
    while (n) *p++ = t[--n];
    return p;
}

static char *http_log_text(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* One JSON line a request, written by hand into this thread's log batch
 * (log.h): no jansson object, no printf, no allocation, no write(2) of
 * its own. The fixed fields are made in one stack buffer, then added. */
static void http_access_log(const http_request *r, long long ns) {
    buf *b = log_line_begin(LOG_INFO, "request");
    if (!b) return;
    char line[256], *p = line; /* method and route: fixed names, nothing to escape */
    p = http_log_text(p, ",\"method\":\"");
    p = http_log_text(p, r->method);
    p = http_log_text(p, "\",\"route\":\"");
    p = http_log_text(p, stats_route_name(r->route));
    p = http_log_text(p, "\",\"status\":");
    p = http_log_uint(p, (unsigned)r->status);
    p = http_log_text(p, ",\"latency_ms\":"); /* milliseconds to the microsecond */
    unsigned long long us = ns > 0 ? (unsigned long long)ns / 1000 : 0;
    p = http_log_uint(p, us / 1000);
    *p++ = '.';
    *p++ = (char)('0' + us / 100 % 10);
    *p++ = (char)('0' + us / 10 % 10);
    *p++ = (char)('0' + us % 10);
    if (r->results >= 0) {
        p = http_log_text(p, ",\"results\":");
        p = http_log_uint(p, (unsigned long long)r->results);
    }
    buf_add(b, line, (size_t)(p - line));
    if (r->snapshot[0]) {
        buf_adds(b, ",\"snapshot\":");
        jsonout_str(b, r->snapshot, strlen(r->snapshot));
    }
    if (r->query) {
        buf_adds(b, ",\"query\":");
        jsonout_str(b, r->query, strlen(r->query));
    }
    log_line_end(b);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
    NZ_UNUSED(toe);
    http_server *srv = cls;
    http_request *r = *con_cls;
    if (!r) return;
    long long now = http_now(), ns = now - r->start;
    if (r->status) stats_record(r->route, r->status, (double)ns / 1e6);
    if (srv->cfg->access_log) http_access_log(r, ns); /* status 0: no answer was sent */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_conn *hc = ci ? ci->socket_context : NULL;
    if (hc) __atomic_store_n(&hc->since, now, __ATOMIC_RELAXED); /* the next deadline's start */
    buf_free(&r->body);
    free(r->query);
    free(r);
    *con_cls = NULL;
    http_inflight_add(-1);
}

/* Track connections for the sweeper. libmicrohttpd reports CLOSED before it
 * closes the socket, and both sides hold the lock, so the sweeper never
 * shuts down a descriptor that was closed and reused. */
static void http_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
    http_server *srv = cls;
    http_conn *hc = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(hc = calloc(1, sizeof *hc))) return; /* untracked: idle timeout only */
        hc->fd = ci->connect_fd;
        hc->since = http_now();
        pthread_mutex_lock(&srv->lock);
        hc->next = srv->conns;
        if (srv->conns) srv->conns->prev = hc;
        srv->conns = hc;
        pthread_mutex_unlock(&srv->lock);
        *socket_context = hc;
    } else if (hc) {
        pthread_mutex_lock(&srv->lock);
        if (hc->prev) hc->prev->next = hc->next;
        else srv->conns = hc->next;
        if (hc->next) hc->next->prev = hc->prev;
        pthread_mutex_unlock(&srv->lock);
        free(hc);
        *socket_context = NULL;
    }
}

/* Shut down every connection past its request deadline; write the
 * access log's pending lines (log_flush), so none waits more than a tick. */
static void *http_sweeper(void *arg) {
    http_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += HTTP_SWEEP_MS * 1000000L;
        t.tv_sec += t.tv_nsec / 1000000000L;
        t.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&srv->wake, &srv->lock, &t);
        long long now = http_now(), limit = (long long)srv->cfg->request_timeout * 1000000000LL;
        for (http_conn *hc = srv->conns; hc; hc = hc->next) {
            if (hc->cut || now - __atomic_load_n(&hc->since, __ATOMIC_RELAXED) <= limit) continue;
            hc->cut = 1;
            shutdown(hc->fd, SHUT_RDWR);
            log_info("connection cut off: no complete request in %u s (--request-timeout)",
                     srv->cfg->request_timeout);
        }
        pthread_mutex_unlock(&srv->lock);
        log_flush();
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap) {
    NZ_UNUSED(cls);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n') buf[--n] = '\0';
    log_warn("libmicrohttpd: %s", buf);
}

/* The listening socket, IPv4 any address. SO_REUSEADDR (restart over
 * TIME_WAIT) but never SO_REUSEPORT, so a busy port is an error. */
static int http_listen(unsigned port, unsigned *bound, char *err, size_t errlen) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t alen = sizeof a;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;
        if (e == EADDRINUSE) snprintf(err, errlen, "port %u is already in use", port);
        else snprintf(err, errlen, "cannot listen on port %u: %s", port, strerror(e));
        if (fd >= 0) close(fd);
        return -1;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

http_server *http_start(const http_config *cfg, char *err, size_t errlen) {
    http_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->cfg = cfg;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->wake, &ca);
    pthread_condattr_destroy(&ca);
    srv->keyed = pthread_key_create(&srv->kept_key, http_kept_free) == 0; /* else: none kept */
    int fd = http_listen(cfg->port, &srv->port, err, errlen);
    if (fd < 0) goto fail;
    /* the logger first: libmicrohttpd uses it for what the options after it say */
    srv->d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, http_handler, srv, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, http_notify,
        srv, MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!srv->d) { /* the socket is libmicrohttpd's now; it goes with the exit */
        snprintf(err, errlen, "cannot start the HTTP server on port %u", srv->port);
        goto fail;
    }
    if (pthread_create(&srv->sweeper, NULL, http_sweeper, srv) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        goto fail;
    }
    srv->sweeper_started = 1;
    return srv;
fail:
    http_stop(srv);
    return NULL;
}

unsigned http_port(const http_server *srv) { return srv->port; }

void http_quiesce(http_server *srv) {
    MHD_socket s = MHD_quiesce_daemon(srv->d);
    if (s != MHD_INVALID_SOCKET) close(s);
}

void http_stop(http_server *srv) {
    if (!srv) return;
    if (srv->sweeper_started) {
        pthread_mutex_lock(&srv->lock);
        srv->stopping = 1;
        pthread_cond_signal(&srv->wake);
        pthread_mutex_unlock(&srv->lock);
        pthread_join(srv->sweeper, NULL);
    }
    if (srv->d) MHD_stop_daemon(srv->d); /* its threads' exits free what they kept */
    if (srv->keyed) pthread_key_delete(srv->kept_key);
    log_flush(); /* the last requests' lines */
    pthread_cond_destroy(&srv->wake);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
