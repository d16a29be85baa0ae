/* test_route.c -- serve/route.c without a socket: routes, methods, headers,
 * CORS and the GET /v1/query parameters (no snapshot loaded: 503s). */
#include <string.h>

#include "route.h"
#include "unit.h"

static const char *hdr(const route_response *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static int has_security_headers(const route_response *r) {
    return hdr(r, "X-Content-Type-Options") && hdr(r, "X-Frame-Options") &&
           hdr(r, "Referrer-Policy") && hdr(r, "Content-Security-Policy") &&
           hdr(r, "Cache-Control");
}

static route_config cfg(void) {
    route_config c = {.lim = QUERY_LIMITS_DEFAULT, .max_body = 4096, .norigins = 1};
    c.origins[0] = "https://app.example";
    return c;
}

UNIT_TEST(route_statuses_and_headers) {
    route_config c = cfg();
    static const struct {
        const char *method, *path;
        int status;
    } cases[] = {{"GET", "/nothing", 404},    {"POST", "/health", 405}, {"PUT", "/v1/query", 405},
                 {"OPTIONS", "/health", 204}, {"GET", "/metrics", 200}, {"GET", "/v1/query", 400},
                 {"POST", "/v1/query", 400}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        route_request req = {.method = cases[i].method, .path = cases[i].path};
        route_response r;
        route_handle(&c, &req, &r);
        CHECK(r.status == cases[i].status);
        CHECK(has_security_headers(&r));
        CHECK(!hdr(&r, "Access-Control-Allow-Origin"));
        CHECK(r.status == 204 || (r.body && r.body_len > 0));
        if (r.status == 405) CHECK(hdr(&r, "Allow") != NULL);
        route_response_free(&r);
    }
}

UNIT_TEST(route_cors) {
    route_config c = cfg();
    route_request req = {.method = "OPTIONS",
                         .path = "/v1/query",
                         .origin = "https://app.example",
                         .request_method = "POST"};
    route_response r;
    route_handle(&c, &req, &r);
    CHECK(r.status == 204);
    CHECK_STR(hdr(&r, "Access-Control-Allow-Origin"), "https://app.example");
    CHECK_STR(hdr(&r, "Vary"), "Origin");
    CHECK_STR(hdr(&r, "Access-Control-Allow-Methods"), "GET, POST, OPTIONS");
    CHECK_STR(hdr(&r, "Access-Control-Allow-Headers"), "Content-Type");
    route_response_free(&r);
    req.origin = "https://app.example.evil";
    route_handle(&c, &req, &r);
    CHECK(r.status == 204 && !hdr(&r, "Access-Control-Allow-Origin") && !hdr(&r, "Vary"));
    CHECK_STR(hdr(&r, "Allow"), "GET, HEAD, POST, OPTIONS");
    route_response_free(&r);
    CHECK(route_origin_valid("https://app.example"));
    CHECK(route_origin_valid("http://localhost:3000"));
    CHECK(!route_origin_valid("https://app.example/"));
    CHECK(!route_origin_valid("app.example"));
    CHECK(!route_origin_valid("https://"));
}

UNIT_TEST(route_get_query_parameters) {
    route_config c = cfg();
    static const struct {
        const char *k1, *v1, *k2, *v2;
        int status;
    } cases[] = {{"q", "visa", "k", "3", 503}, /* valid: no snapshot loaded */
                 {"q", "visa", "k", "3x", 400},    {"q", "visa", "k", "", 400},
                 {"q", "visa", "k", "1000", 400}, /* over max_k */
                 {"q", "visa", "q", "pajak", 400}, {"q", "visa", "limit", "3", 400},
                 {"k", "3", "ef", "10", 400},      {"q", "\xff", "k", "3", 400}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        route_request req = {.method = "GET", .path = "/v1/query", .nargs = 2};
        req.args[0] = (route_arg){cases[i].k1, cases[i].v1};
        req.args[1] = (route_arg){cases[i].k2, cases[i].v2};
        route_response r;
        route_handle(&c, &req, &r);
        CHECK(r.status == cases[i].status);
        CHECK(r.route == ROUTE_QUERY && r.results == -1);
        route_response_free(&r);
    }
}

UNIT_TEST(route_body_bounds) {
    route_config c = cfg();
    route_request req = {
        .method = "POST", .path = "/v1/query", .body = "{}", .body_len = 2, .body_too_large = 1};
    route_response r;
    route_handle(&c, &req, &r);
    CHECK(r.status == 413 && strstr(r.body, "4096"));
    route_response_free(&r);
    req.body_too_large = 0;
    req.body = "{\"query\":\"a\",\"filter\":[[[[[[[[[[1]]]]]]]]]]}";
    req.body_len = strlen(req.body);
    route_handle(&c, &req, &r);
    CHECK(r.status == 400);
    route_response_free(&r);
}

/* /health marks its answer `reuse`; asked with that mark in `have`, it
 * makes no body (the transport sends the one it kept); an allowed Origin
 * gets its own headers, so that answer is never marked. */
UNIT_TEST(route_health_reuse) {
    route_config c = cfg();
    route_request req = {.method = "GET", .path = "/health"};
    route_response a, b, o;
    route_handle(&c, &req, &a);
    CHECK(a.status == 503 && a.body && a.reuse != 0 && has_security_headers(&a));
    req.have = a.reuse;
    route_handle(&c, &req, &b);
    CHECK(b.status == a.status && !b.body && b.reuse == a.reuse && has_security_headers(&b));
    req.have = a.reuse + 1; /* the transport keeps another answer: a body again */
    route_response d;
    route_handle(&c, &req, &d);
    CHECK(d.body && strcmp(d.body, a.body) == 0 && d.reuse == a.reuse);
    req.have = a.reuse;
    req.origin = "https://app.example";
    route_handle(&c, &req, &o);
    CHECK(o.body && o.reuse == 0 && hdr(&o, "Access-Control-Allow-Origin"));
    route_response_free(&a);
    route_response_free(&b);
    route_response_free(&d);
    route_response_free(&o);
}
