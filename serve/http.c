/* http.c -- see http.h. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "health.h"
#include "holder.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "query.h"
#include "stats.h"
#include "status.h"

typedef struct http_request {
    double start;
    buf body; /* capped at HTTP_MAX_BODY */
    int too_large;
    int status;
    stats_route route;
} http_request;

static long http_inflight;
static const http_config *http_cfg;

static double http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long http_in_flight(void) { return __atomic_load_n(&http_inflight, __ATOMIC_SEQ_CST); }

static enum MHD_Result http_send(struct MHD_Connection *c, http_request *r, int status,
                                 const char *ctype, char *body /* owned */, const char *allow) {
    r->status = status;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (allow) MHD_add_response_header(resp, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_json(struct MHD_Connection *c, http_request *r, int status,
                                 json_t *obj /* stolen */, const char *allow) {
    char *s = obj ? json_dumps(obj, JSONL_DUMP_FLAGS) : NULL;
    json_decref(obj);
    buf line = BUF_INIT; /* the JSON and a newline */
    buf_adds(&line, s ? s : "{\"error\":\"out of memory\"}");
    buf_addc(&line, '\n');
    free(s);
    char *body = buf_failed(&line) ? NULL : buf_detach(&line, NULL);
    buf_free(&line);
    if (!body) return MHD_NO;
    return http_send(c, r, status, "application/json; charset=utf-8", body, allow);
}

static enum MHD_Result http_error(struct MHD_Connection *c, http_request *r, int status,
                                  const char *msg, const char *allow) {
    return http_json(c, r, status, json_pack("{s:s}", "error", msg), allow);
}

static enum MHD_Result http_health(struct MHD_Connection *c, http_request *r) {
    held_snapshot *h = holder_acquire();
    json_t *o;
    int status;
    const char *db = health_database(http_cfg->database_url);
    if (h) {
        const snapshot *s = holder_snapshot(h);
        o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:I,s:i,s:s,s:s}}", "status", "ok", "version",
                      NZ_VERSION, "services", "index", "loaded", "database", db, "index",
                      "snapshot", s->name, "count", (json_int_t)s->count, "dim", (int)s->dim,
                      "provider", s->provider, "model", s->model);
        status = 200;
        holder_release(h);
    } else {
        o = json_pack("{s:s,s:s,s:{s:s,s:s},s:n}", "status", "degraded", "version", NZ_VERSION,
                      "services", "index", "missing", "database", db, "index");
        status = 503;
    }
    return http_json(c, r, status, o, NULL);
}

static enum MHD_Result http_performance(struct MHD_Connection *c, http_request *r) {
    stats_index_info info;
    char name[256];
    holder_info(&info, name, sizeof name);
    return http_json(c, r, 200, stats_performance(&info), NULL);
}

static enum MHD_Result http_metrics(struct MHD_Connection *c, http_request *r) {
    stats_index_info info;
    char name[256];
    holder_info(&info, name, sizeof name);
    char *text = stats_prometheus(&info);
    if (!text) return http_error(c, r, 500, "out of memory", NULL);
    return http_send(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", text, NULL);
}

/* The HTTP status for a library status (status.h): the caller's fault is
 * a 400, a provider that failed a 503, anything else ours, a 500. */
static int http_status(int rc) {
    switch (rc) {
    case NZ_OK: return 200;
    case NZ_EINVAL: return 400;
    case NZ_EUNAVAILABLE: return 503;
    default: return 500;
    }
}

static enum MHD_Result http_query(struct MHD_Connection *c, http_request *r) {
    if (r->too_large) return http_error(c, r, 413, "request body larger than 1 MiB", NULL);
    if (r->body.len == 0)
        return http_error(c, r, 400, "empty request body: send a JSON object", NULL);
    json_error_t je;
    json_t *body = json_loadb(buf_str(&r->body), r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s", je.text);
        return http_error(c, r, 400, msg, NULL);
    }
    char err[512];
    query_req q;
    int rc = query_parse(body, NULL, &q, err, sizeof err);
    if (rc < 0) {
        json_decref(body);
        return http_error(c, r, http_status(rc), err, NULL);
    }
    held_snapshot *h = holder_acquire();
    if (!h) {
        query_free(&q);
        json_decref(body);
        return http_error(c, r, 503, "no index loaded", NULL);
    }
    json_t *ans;
    rc = query_run(holder_snapshot(h), &q, 1, &ans, err, sizeof err);
    holder_release(h);
    query_free(&q);
    json_decref(body);
    if (rc < 0) return http_error(c, r, http_status(rc), err, NULL);
    return http_json(c, r, 200, ans, NULL);
}

static enum MHD_Result http_route(struct MHD_Connection *c, http_request *r, const char *url,
                                  const char *method) {
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/v1/query") == 0) {
        r->route = ROUTE_QUERY;
        if (strcmp(method, "POST") != 0) return http_error(c, r, 405, "use POST", "POST");
        return http_query(c, r);
    }
    static const struct {
        const char *path;
        stats_route route;
        enum MHD_Result (*fn)(struct MHD_Connection *, http_request *);
    } gets[] = {{"/health", ROUTE_HEALTH, http_health},
                {"/performance", ROUTE_PERFORMANCE, http_performance},
                {"/metrics", ROUTE_METRICS, http_metrics}};
    for (size_t i = 0; i < sizeof gets / sizeof *gets; i++) {
        if (strcmp(url, gets[i].path) != 0) continue;
        r->route = gets[i].route;
        if (!get) return http_error(c, r, 405, "use GET", "GET, HEAD");
        return gets[i].fn(c, r);
    }
    r->route = ROUTE_OTHER;
    return http_error(c, r, 404, "not found: try POST /v1/query or GET /health", NULL);
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls) {
    NZ_UNUSED(cls);
    NZ_UNUSED(version);
    http_request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->start = http_now();
        r->status = 500;
        r->route = ROUTE_OTHER;
        buf_init(&r->body, HTTP_MAX_BODY);
        __atomic_add_fetch(&http_inflight, 1, __ATOMIC_SEQ_CST);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) return MHD_YES;
        int rc = buf_add(&r->body, upload_data, n);
        if (rc == NZ_ELIMIT) r->too_large = 1; /* keep reading, answer 413 at the end */
        return rc == NZ_ENOMEM ? MHD_NO : MHD_YES;
    }
    return http_route(c, r, url, method);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
    NZ_UNUSED(cls);
    NZ_UNUSED(c);
    NZ_UNUSED(toe);
    http_request *r = *con_cls;
    if (!r) return;
    stats_record(r->route, r->status, (http_now() - r->start) * 1000);
    buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    __atomic_sub_fetch(&http_inflight, 1, __ATOMIC_SEQ_CST);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap) {
    NZ_UNUSED(cls);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n') buf[--n] = '\0';
    log_warn("libmicrohttpd: %s", buf);
}

struct MHD_Daemon *http_start(unsigned port, unsigned threads, const http_config *cfg,
                              unsigned *bound_port, char *err, size_t errlen) {
    http_cfg = cfg;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, http_handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log,
        NULL, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, http_completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on port %u (in use, or not permitted)", port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return d;
}

void http_quiesce(struct MHD_Daemon *d) {
    MHD_socket s = MHD_quiesce_daemon(d);
    if (s != MHD_INVALID_SOCKET) close(s);
}

void http_stop(struct MHD_Daemon *d) { MHD_stop_daemon(d); }
