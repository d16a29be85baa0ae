/* route.c -- see route.h. */
#include "route.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "health.h"
#include "holder.h"
#include "jsonl.h"
#include "nz.h"
#include "status.h"
#include "utf8.h"

#define ROUTE_LOG_QUERY_MAX 1024 /* bytes of query text kept for the access log */

typedef void (*route_fn)(const route_config *, const route_request *, route_response *);

static void route_header_add(route_response *resp, const char *name, const char *value) {
    if (resp->nheaders < ROUTE_MAX_HEADERS)
        resp->headers[resp->nheaders++] = (route_header){name, value};
}

/* The body of len bytes and its Content-Type; body is owned (NULL: a
 * static 500). */
static void route_body_len(route_response *resp, int status, const char *ctype, char *body,
                           size_t len) {
    static const char oom[] = "{\"error\":\"out of memory\"}\n";
    free(resp->body);
    resp->status = status;
    resp->body = body;
    resp->body_len = len;
    if (!body) {
        resp->status = 500;
        resp->body = strdup(oom); /* NULL here too: an empty 500 */
        resp->body_len = resp->body ? strlen(resp->body) : 0;
        ctype = "application/json; charset=utf-8";
    }
    route_header_add(resp, "Content-Type", ctype);
}

/* route_body_len for a NUL-terminated body. */
static void route_body(route_response *resp, int status, const char *ctype, char *body) {
    route_body_len(resp, status, ctype, body, body ? strlen(body) : 0);
}

/* obj's JSON text and a newline (obj stolen); malloc'd, NULL when out of
 * memory. */
static char *route_json_text(json_t *obj) {
    char *s = obj ? json_dumps(obj, JSONL_DUMP_FLAGS) : NULL;
    json_decref(obj);
    buf line = BUF_INIT; /* the JSON and a newline */
    if (s) {
        buf_adds(&line, s);
        buf_addc(&line, '\n');
    }
    free(s);
    char *body = s && !buf_failed(&line) ? buf_detach(&line, NULL) : NULL;
    buf_free(&line);
    return body;
}

static void route_json(route_response *resp, int status, json_t *obj /* stolen */) {
    route_body(resp, status, "application/json; charset=utf-8", route_json_text(obj));
}

static void route_error(route_response *resp, int status, const char *msg) {
    route_json(resp, status, json_pack("{s:o}", "error", utf8_json_string(msg, strlen(msg))));
}

/* The HTTP status for a library status (status.h): the caller's fault is
 * a 400, a provider that failed a 503, anything else ours, a 500. */
static int route_status(int rc) {
    switch (rc) {
    case NZ_OK: return 200;
    case NZ_EINVAL:
    case NZ_ELIMIT:
    case NZ_EDIM:
    case NZ_ENONFINITE: return 400;
    case NZ_EUNAVAILABLE: return 503;
    default: return 500;
    }
}

static const char *route_cors_origin(const route_config *cfg, const route_request *req);

/* /health's body for a snapshot (NULL: none), a database status and a
 * refusal (name "" when none); malloc'd, or NULL when out of memory. */
static char *route_health_text(const snapshot *s, const char *db, const char *name,
                               const char *reason) {
    json_t *o;
    if (s)
        o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:I,s:i,s:s,s:s}}", "status", "ok", "version",
                      NZ_VERSION, "services", "index", "loaded", "database", db, "index",
                      "snapshot", s->name, "count", (json_int_t)s->count, "dim", (int)s->dim,
                      "provider", s->provider, "model", s->model);
    else
        o = json_pack("{s:s,s:s,s:{s:s,s:s},s:n}", "status", "degraded", "version", NZ_VERSION,
                      "services", "index", "missing", "database", db, "index");
    if (o && *name)
        json_object_set_new(o, "refused",
                            json_pack("{s:o,s:o}", "snapshot", utf8_json_string(name, strlen(name)),
                                      "reason", utf8_json_string(reason, strlen(reason))));
    return route_json_text(o);
}

/* /health's state as one number: holder_generation (read first, so a
 * change while the answer is made shows as a new key next time) and the
 * database status. Never 0. */
static unsigned long long route_health_key(const route_config *cfg, const char **db) {
    static const char *const states[] = {"not_configured", "ok", "rejecting", "unreachable"};
    unsigned long long gen = holder_generation();
    *db = health_database(cfg->database_url);
    unsigned code = 4; /* "unknown" */
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(*db, states[i]) == 0) code = i;
    return (gen + 1) << 3 | code;
}

/* The last /health answer this thread made: its key, status and the
 * snapshot for the access log (no heap: nothing to free at thread exit). */
static _Thread_local struct {
    unsigned long long key;
    int status;
    char snapshot[sizeof((route_response *)0)->snapshot];
} route_health_mine;

static void route_health(const route_config *cfg, const route_request *req, route_response *resp) {
    const char *db;
    unsigned long long key = route_health_key(cfg, &db);
    int cors = route_cors_origin(cfg, req) != NULL; /* its own headers: not the kept answer */
    if (!cors && key == route_health_mine.key && key == req->have) {
        resp->status = route_health_mine.status;
        memcpy(resp->snapshot, route_health_mine.snapshot, sizeof resp->snapshot);
        resp->reuse = key;
        route_header_add(resp, "Content-Type", "application/json; charset=utf-8");
        return;
    }
    char refused[256] = "", reason[512] = "";
    holder_refused(refused, sizeof refused, reason, sizeof reason);
    held_snapshot *h = holder_acquire();
    const snapshot *s = h ? holder_snapshot(h) : NULL;
    if (s) snprintf(resp->snapshot, sizeof resp->snapshot, "%s", s->name);
    char *body = route_health_text(s, db, refused, reason); /* NULL: out of memory, a 500 */
    holder_release(h);
    route_body(resp, s ? 200 : 503, "application/json; charset=utf-8", body);
    if (!body || cors) return;
    resp->reuse = key;
    route_health_mine.key = key;
    route_health_mine.status = resp->status;
    memcpy(route_health_mine.snapshot, resp->snapshot, sizeof resp->snapshot);
}

static void route_performance(const route_config *cfg, const route_request *req,
                              route_response *resp) {
    NZ_UNUSED(cfg);
    NZ_UNUSED(req);
    stats_index_info info;
    char name[256];
    holder_info(&info, name, sizeof name);
    route_json(resp, 200, stats_performance(&info));
}

static void route_metrics(const route_config *cfg, const route_request *req, route_response *resp) {
    NZ_UNUSED(cfg);
    NZ_UNUSED(req);
    stats_index_info info;
    char name[256];
    holder_info(&info, name, sizeof name);
    route_body(resp, 200, "text/plain; version=0.0.4; charset=utf-8", stats_prometheus(&info));
}

/* A URL parameter's integer: decimal digits only, as JSON would have it. */
static json_t *route_int(const char *key, const char *text, char *err, size_t errlen) {
    char *end = NULL;
    errno = 0;
    long long v =
        text && (isdigit((unsigned char)*text) || *text == '-') ? strtoll(text, &end, 10) : 0;
    if (!end || *end || errno) {
        snprintf(err, errlen, "\"%s\" must be an integer", key);
        return NULL;
    }
    return json_integer((json_int_t)v);
}

/* GET /v1/query's parameters as the JSON object a POST would send:
 * q -> "query", k, ef (integers), mode (string). Unknown or repeated
 * parameters are refused, as unknown JSON fields are. */
static json_t *route_get_request(const route_request *req, char *err, size_t errlen) {
    json_t *o = json_object();
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (req->too_many_args) {
        snprintf(err, errlen, "too many URL parameters (q, k, ef, mode)");
        goto fail;
    }
    for (size_t i = 0; i < req->nargs; i++) {
        const char *key = req->args[i].key, *val = req->args[i].value ? req->args[i].value : "";
        const char *field = strcmp(key, "q") == 0 ? "query" : key;
        json_t *v = NULL;
        if (strcmp(key, "k") == 0 || strcmp(key, "ef") == 0) {
            if (!(v = route_int(key, val, err, errlen))) goto fail;
        } else if (strcmp(key, "q") == 0 || strcmp(key, "mode") == 0) {
            if (!(v = json_string(val))) {
                snprintf(err, errlen, "\"%s\" is not valid UTF-8", key);
                goto fail;
            }
        } else {
            snprintf(err, errlen, "unknown URL parameter (q, k, ef, mode)");
            goto fail;
        }
        if (json_object_get(o, field)) {
            json_decref(v);
            snprintf(err, errlen, "\"%s\" is given twice", key);
            goto fail;
        }
        json_object_set_new(o, field, v);
    }
    if (!json_object_get(o, "query")) {
        snprintf(err, errlen, "GET /v1/query needs q=TEXT (and optionally k, ef, mode)");
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* Keep (a bounded prefix of) the query text for the access log. */
static void route_keep_query(const route_config *cfg, const query_req *q, route_response *resp) {
    if (!cfg->log_queries || !q->text) return;
    size_t n = strlen(q->text);
    resp->query = utf8_repair(q->text, n < ROUTE_LOG_QUERY_MAX ? n : ROUTE_LOG_QUERY_MAX);
}

static void route_query(const route_config *cfg, const route_request *req, route_response *resp) {
    char err[512];
    query_req q;
    json_t *get = NULL;
    int rc;
    if (strcmp(req->method, "POST") == 0) {
        if (req->body_too_large) {
            snprintf(err, sizeof err, "request body larger than %zu bytes", cfg->max_body);
            route_error(resp, 413, err);
            return;
        }
        if (req->body_len == 0) {
            route_error(resp, 400, "empty request body: send a JSON object");
            return;
        }
        rc = query_parse_bytes(req->body, req->body_len, &cfg->lim, &q, err, sizeof err);
    } else {
        if (!(get = route_get_request(req, err, sizeof err))) {
            route_error(resp, 400, err);
            return;
        }
        rc = query_parse(get, &cfg->lim, &q, err, sizeof err);
    }
    if (rc < 0) {
        json_decref(get);
        route_error(resp, route_status(rc), err);
        return;
    }
    route_keep_query(cfg, &q, resp);
    q.side = cfg->side;
    buf out = BUF_INIT; /* the answer's JSON text, written straight (query_answer) */
    held_snapshot *h = holder_acquire();
    if (!h) {
        rc = NZ_EUNAVAILABLE;
        snprintf(err, sizeof err, "no index loaded");
    } else {
        const snapshot *s = holder_snapshot(h);
        snprintf(resp->snapshot, sizeof resp->snapshot, "%s", s->name);
        rc = query_answer(s, &q, 1, &out, &resp->results, err, sizeof err);
        holder_release(h);
    }
    query_free(&q);
    json_decref(get);
    if (rc < 0) {
        buf_free(&out);
        resp->results = -1;
        route_error(resp, route_status(rc), err);
        return;
    }
    size_t len = 0; /* the answer's length, known: not measured again */
    char *body = buf_detach(&out, &len);
    route_body_len(resp, 200, "application/json; charset=utf-8", body, len);
}

int route_origin_valid(const char *o) {
    const char *host = strncmp(o, "https://", 8) == 0  ? o + 8
                       : strncmp(o, "http://", 7) == 0 ? o + 7
                                                       : NULL;
    if (!host || !*host || strlen(o) > 255) return 0;
    for (const char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p)) return 0;
    return 1;
}

/* The configured origin equal to the request's, or NULL (CORS off, no
 * Origin, or one not allowed). */
static const char *route_cors_origin(const route_config *cfg, const route_request *req) {
    if (!req->origin) return NULL;
    for (size_t i = 0; i < cfg->norigins; i++)
        if (strcmp(cfg->origins[i], req->origin) == 0) return cfg->origins[i];
    return NULL;
}

static const struct route_def {
    const char *path;
    stats_route route;
    int post;                 /* POST accepted (besides GET and HEAD) */
    const char *allow;        /* the Allow header */
    const char *cors_methods; /* Access-Control-Allow-Methods */
    route_fn fn;
} route_defs[] = {
    {"/v1/query", ROUTE_QUERY, 1, "GET, HEAD, POST, OPTIONS", "GET, POST, OPTIONS", route_query},
    {"/health", ROUTE_HEALTH, 0, "GET, HEAD, OPTIONS", "GET, OPTIONS", route_health},
    {"/performance", ROUTE_PERFORMANCE, 0, "GET, HEAD, OPTIONS", "GET, OPTIONS", route_performance},
    {"/metrics", ROUTE_METRICS, 0, "GET, HEAD, OPTIONS", "GET, OPTIONS", route_metrics},
};

void route_handle(const route_config *cfg, const route_request *req, route_response *resp) {
    memset(resp, 0, sizeof *resp);
    resp->route = ROUTE_OTHER;
    resp->results = -1;
    route_header_add(resp, "Cache-Control", "no-store");
    route_header_add(resp, "X-Content-Type-Options", "nosniff");
    route_header_add(resp, "X-Frame-Options", "DENY");
    route_header_add(resp, "Referrer-Policy", "no-referrer");
    route_header_add(resp, "Content-Security-Policy", "default-src 'none'");

    const struct route_def *d = NULL;
    for (size_t i = 0; i < sizeof route_defs / sizeof *route_defs && !d; i++)
        if (strcmp(req->path, route_defs[i].path) == 0) d = &route_defs[i];
    if (!d) {
        route_error(resp, 404, "not found: try POST /v1/query or GET /health");
        return;
    }
    resp->route = d->route;
    const char *origin = route_cors_origin(cfg, req);
    if (origin) {
        route_header_add(resp, "Access-Control-Allow-Origin", origin);
        route_header_add(resp, "Vary", "Origin");
    }
    const char *m = req->method;
    if (strcmp(m, "OPTIONS") == 0) {
        resp->status = 204;
        route_header_add(resp, "Allow", d->allow);
        if (origin && req->request_method) { /* a CORS preflight */
            route_header_add(resp, "Access-Control-Allow-Methods", d->cors_methods);
            route_header_add(resp, "Access-Control-Allow-Headers", "Content-Type");
            route_header_add(resp, "Access-Control-Max-Age", ROUTE_CORS_MAX_AGE);
        }
        return;
    }
    if (strcmp(m, "GET") && strcmp(m, "HEAD") && (!d->post || strcmp(m, "POST"))) {
        route_header_add(resp, "Allow", d->allow);
        route_error(resp, 405, d->post ? "use GET or POST" : "use GET");
        return;
    }
    d->fn(cfg, req, resp);
}

void route_response_free(route_response *resp) {
    free(resp->body);
    free(resp->query);
    resp->body = resp->query = NULL;
}
