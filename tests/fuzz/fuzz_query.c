/* fuzz_query.c -- libFuzzer target: nz-serve's request parsing and handling.
 *
 * Each input is used twice:
 *   1. as a /v1/query body: query_parse_bytes, then query_run on a real
 *      snapshot (tight limits on odd inputs, the defaults on even ones);
 *   2. as an HTTP request without the socket: "METHOD TARGET" on the first
 *      line, "Name: value" header lines (Origin, Access-Control-Request-
 *      Method) up to an empty line, then the body. The target's parameters
 *      are split and URL-decoded as libmicrohttpd does (MHD_http_unescape),
 *      and route_handle answers it.
 * Every answer is checked: a known status, the security headers, and a body
 * that is one JSON object (a JSON "error" on errors) except /metrics and 204.
 *
 * LLVMFuzzerInitialize builds the snapshot once with the index builder
 * (64 rows of 32 dimensions from the hash embedder, with a graph) in a
 * mkdtemp folder, publishes it, and loads it with holder_check, as
 * nz-serve does.
 */
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder.h"
#include "hashembed.h"
#include "holder.h"
#include "log.h"
#include "publish.h"
#include "route.h"
#include "status.h"

#define FQ_ROWS 64
#define FQ_DIM 32

static route_config fq_cfg = {.lim = QUERY_LIMITS_DEFAULT,
                              .max_body = 4096,
                              .origins = {"https://app.example"},
                              .norigins = 1,
                              .log_queries = 1};
static const query_limits fq_tight = {
    .max_k = 5, .max_ef = 16, .max_depth = 3, .exact_max_rows = 10, .allow_exact = 0};

static void fq_die(const char *what, const char *err) {
    fprintf(stderr, "fuzz_query init: %s: %s\n", what, err);
    exit(1);
}

static char fq_root[] = "/tmp/nz-fuzz-query.XXXXXX";
static char fq_snapdir[sizeof fq_root + 64];

/* Build, publish and load a small snapshot under root. */
static void fq_snapshot(const char *root) {
    static const char *const words[] = {"visa",  "tax",  "permit",  "arrival", "stay",  "work",
                                        "pajak", "izin", "tinggal", "NPWP",    "KITAS", "bank"};
    char err[512];
    index_root ir = {.lock_fd = -1};
    char *name = NULL, *tmp = NULL;
    if (root_lock(&ir, root, err, sizeof err) < 0 ||
        root_begin(&ir, &name, &tmp, err, sizeof err) < 0)
        fq_die("root", err);
    index_builder *b = builder_open(tmp, err, sizeof err);
    graph_params gp = {.degree = 8, .build_ef = 32, .alpha = 1.2f, .seed = 1, .threads = 1};
    if (!b || builder_set_graph(b, &gp, NULL, NULL) < 0) fq_die("builder", err);
    for (int i = 0; i < FQ_ROWS; i++) {
        char text[128], id[32], doc[32], uri[64];
        snprintf(text, sizeof text, "%s %s %s", words[i % 12], words[(i / 12) % 12],
                 words[(i * 7) % 12]);
        snprintf(id, sizeof id, "c%02d", i);
        snprintf(doc, sizeof doc, "d%d", i / 4);
        snprintf(uri, sizeof uri, "file:///docs/%s/%d.md", i % 2 ? "en" : "id", i / 4);
        float v[FQ_DIM];
        if (hashembed(text, strlen(text), v, FQ_DIM) <= 0) fq_die("hashembed", text);
        builder_meta m = {.page = i % 3};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = doc;
        m.f[NZI_F_URI] = uri;
        m.f[NZI_F_TITLE] = "Title";
        m.f[NZI_F_HEADING] = words[i % 12];
        m.f[NZI_F_LANG] = i % 2 ? "en" : "id";
        m.f[NZI_F_TEXT] = text;
        if (builder_add(b, v, FQ_DIM, &m, err, sizeof err) < 0) fq_die("builder_add", err);
    }
    manifest_build mb = {.snapshot = name,
                         .created = 1,
                         .tool = "fuzz_query",
                         .provider = "hash",
                         .model = HASHEMBED_MODEL,
                         .records = FQ_ROWS};
    if (builder_finish(b, &mb, err, sizeof err) < 0) fq_die("builder_finish", err);
    builder_free(b);
    if (root_publish(&ir, name, tmp, err, sizeof err) < 0) fq_die("publish", err);
    snprintf(fq_snapdir, sizeof fq_snapdir, "%s/%s", root, name);
    root_unlock(&ir);
    free(name);
    free(tmp);
    holder_init(root);
    if (holder_check(1) != 1) fq_die("holder_check", "the snapshot was not loaded");
}

/* At exit: remove the snapshot, the root's lock and link, and the root. */
static void fq_cleanup(void) {
    char path[sizeof fq_snapdir + 16];
    root_discard(fq_snapdir);
    snprintf(path, sizeof path, "%s/current", fq_root);
    unlink(path);
    snprintf(path, sizeof path, "%s/.lock", fq_root);
    unlink(path);
    rmdir(fq_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("NZ_LOG_LEVEL", "error", 1);
    log_init("fuzz_query");
    if (!mkdtemp(fq_root)) fq_die("mkdtemp", fq_root);
    atexit(fq_cleanup);
    fq_snapshot(fq_root);
    return 0;
}

/* 1. The bytes as a query body, parsed and run. */
static void fq_direct(const uint8_t *data, size_t size) {
    char err[512];
    query_req q;
    const query_limits *lim = size % 2 ? &fq_tight : &fq_cfg.lim;
    if (query_parse_bytes((const char *)data, size, lim, &q, err, sizeof err) == NZ_OK) {
        held_snapshot *h = holder_acquire();
        json_t *ans = NULL;
        if (h && query_run(holder_snapshot(h), &q, 1, &ans, err, sizeof err) == NZ_OK && !ans)
            abort(); /* NZ_OK must give an answer */
        json_decref(ans);
        holder_release(h);
    }
    query_free(&q);
}

static const char *fq_header(const route_response *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* The properties every answer must have. */
static void fq_check(const route_request *req, const route_response *r) {
    static const int known[] = {200, 204, 400, 404, 405, 413, 500, 503};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) ok |= r->status == known[i];
    if (!ok || !fq_header(r, "X-Content-Type-Options") || !fq_header(r, "X-Frame-Options") ||
        !fq_header(r, "Referrer-Policy") || !fq_header(r, "Content-Security-Policy") ||
        !fq_header(r, "Cache-Control"))
        abort();
    if (r->status == 204 || r->route == ROUTE_METRICS) return;
    const char *o = fq_header(r, "Access-Control-Allow-Origin");
    if (o && (!req->origin || strcmp(o, req->origin) != 0)) abort();
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, 0, &je);
    if (!json_is_object(j) || (r->status >= 400 && !json_is_string(json_object_get(j, "error"))))
        abort();
    json_decref(j);
}

/* 2. The bytes as an HTTP request; s is a writable NUL-terminated copy. */
static void fq_http(char *s, size_t size) {
    route_request req = {0};
    char *end = s + size, *line_end = memchr(s, '\n', size);
    if (!line_end) return;
    *line_end = '\0';
    char *sp = strchr(s, ' ');
    if (!sp) return;
    *sp = '\0';
    req.method = s;
    char *target = sp + 1, *qs = strchr(target, '?');
    if (qs) *qs++ = '\0';
    req.path = target;
    for (char *kv = qs, *next; kv && *kv; kv = next) {
        next = strchr(kv, '&');
        if (next) *next++ = '\0';
        char *eq = strchr(kv, '=');
        if (eq) *eq++ = '\0';
        MHD_http_unescape(kv);
        if (eq) MHD_http_unescape(eq);
        if (req.nargs == ROUTE_MAX_ARGS) {
            req.too_many_args = 1;
            break;
        }
        req.args[req.nargs++] = (route_arg){kv, eq};
    }
    char *p = line_end + 1;
    while (p < end) { /* headers up to an empty line */
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        *nl = '\0';
        char *line = p;
        p = nl + 1;
        if (!*line) break;
        char *colon = strstr(line, ": ");
        if (!colon) continue;
        *colon = '\0';
        if (strcmp(line, "Origin") == 0) req.origin = colon + 2;
        if (strcmp(line, "Access-Control-Request-Method") == 0) req.request_method = colon + 2;
    }
    req.body = p < end ? p : "";
    req.body_len = p < end ? (size_t)(end - p) : 0;
    if (req.body_len > fq_cfg.max_body) {
        req.body_len = fq_cfg.max_body; /* as http.c cuts it */
        req.body_too_large = 1;
    }
    route_response r;
    route_handle(&fq_cfg, &req, &r);
    fq_check(&req, &r);
    route_response_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    fq_direct(data, size);
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fq_http(s, size);
    free(s);
    return 0;
}
