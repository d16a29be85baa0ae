/* openai.c -- see openai.h. */
#include "openai.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vecb64.h"
#include "status.h"

const char *const openai_cause_names[CAUSE_COUNT] = {"rate_limit", "server", "timeout",
                                                     "connection", "malformed"};

char *openai_endpoint(const char *base) {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    char *out = NULL;
    int v1 = n >= 3 && !strncmp(base + n - 3, "/v1", 3);
    if (asprintf(&out, "%.*s%s", (int)n, base, v1 ? "/embeddings" : "/v1/embeddings") < 0)
        return NULL;
    return out;
}

int openai_sends_dimensions(const char *model) { return !strncmp(model, "text-embedding-3", 16); }

char *openai_request(const char *model, uint32_t dim, const char *const *texts, const size_t *lens,
                     size_t n) {
    json_t *in = json_array();
    for (size_t i = 0; i < n && in; i++) json_array_append_new(in, json_stringn(texts[i], lens[i]));
    json_t *req =
        json_pack("{s:s,s:o,s:s}", "model", model, "input", in, "encoding_format", "base64");
    if (!req) return NULL;
    if (openai_sends_dimensions(model)) json_object_set_new(req, "dimensions", json_integer(dim));
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return s;
}

double openai_retry_after(const char *v) {
    if (!v || !*v) return -1;
    char *end;
    double s = strtod(v, &end);
    if (end != v && (*end == '\0' || *end == ' ')) return s < 0 ? -1 : s;
    time_t t = curl_getdate(v, NULL);
    if (t < 0) return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d;
}

/* Copy a server message with any occurrence of the secret masked. */
static void openai_masked(char *msg, size_t msglen, const char *prefix, const char *text,
                          const char *secret) {
    snprintf(msg, msglen, "%s%s", prefix, text ? text : "");
    if (!secret || strlen(secret) < 4) return;
    char *hit;
    while ((hit = strstr(msg, secret))) memset(hit, '*', strlen(secret));
}

/* The payloads of "embedding":"<base64>" pulled out of a reply before
 * jansson sees it: the structure is still parsed by jansson, but with each
 * payload replaced by "#k", and the k-th payload is decoded straight from
 * the reply. jansson reads strings a byte at a time (about 15 ns a byte);
 * a reply of 2,048 vectors is 16 MiB of base64. A quote cannot occur
 * inside a JSON string unescaped, so the pattern cannot match inside one;
 * a payload with any backslash (an escaped "\/") makes the caller fall
 * back to parsing the reply whole. */
typedef struct openai_payloads {
    char *skeleton;
    size_t len;
    const char **p;
    size_t *plen, n;
} openai_payloads;

/* NZ_OK; NZ_EINVAL when a payload cannot be cut out (the caller parses
 * the reply whole), NZ_ENOMEM. */
static int openai_cut(const char *body, size_t len, openai_payloads *out) {
    static const char pat[] = "\"embedding\":\"";
    const size_t pl = sizeof pat - 1;
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    out->skeleton = malloc(len + 1);
    if (!out->skeleton) return NZ_ENOMEM;
    size_t o = 0, i = 0;
    while (i < len) {
        const char *hit = memmem(body + i, len - i, pat, pl);
        size_t upto = hit ? (size_t)(hit - body) + pl : len;
        memcpy(out->skeleton + o, body + i, upto - i);
        o += upto - i;
        i = upto;
        if (!hit) break;
        const char *q = memchr(body + i, '"', len - i);
        if (!q || memchr(body + i, '\\', (size_t)(q - (body + i)))) return NZ_EINVAL;
        if (q - (body + i) < 24) return NZ_EINVAL; /* "#k" is never longer than what it replaces */
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            const char **np = realloc(out->p, cap * sizeof *np);
            if (np) out->p = np;
            size_t *nl = realloc(out->plen, cap * sizeof *nl);
            if (nl) out->plen = nl;
            if (!np || !nl) return NZ_ENOMEM;
        }
        out->p[out->n] = body + i;
        out->plen[out->n] = (size_t)(q - (body + i));
        o += (size_t)snprintf(out->skeleton + o, 24, "#%zu",
                              out->n); /* never longer than the payload+quote */
        out->n++;
        i = (size_t)(q - body);
    }
    out->skeleton[o] = '\0';
    out->len = o;
    return NZ_OK;
}

static void openai_payloads_free(openai_payloads *p) {
    free(p->skeleton);
    free(p->p);
    free(p->plen);
}

static int openai_is_quota(const char *code, const char *type) {
    return (code && !strcmp(code, "insufficient_quota")) ||
           (type && !strcmp(type, "insufficient_quota"));
}

/* The verdict on a reply that is not 200: retried or not, by its status,
 * whether it is a 429 insufficient_quota, and x-should-retry. */
static openai_verdict openai_error_verdict(const openai_reply *r, int quota, openai_cause *cause) {
    openai_verdict v = OPENAI_FATAL;
    if (r->status == 429 && !quota) {
        v = OPENAI_RETRY;
        *cause = CAUSE_RATE_LIMIT;
    } else if (r->status == 408 || r->status == 409 || r->status >= 500) {
        v = OPENAI_RETRY;
        *cause = CAUSE_SERVER;
    }
    if (r->should_retry) {
        if (!strcasecmp(r->should_retry, "true")) {
            v = OPENAI_RETRY;
            *cause = r->status == 429 ? CAUSE_RATE_LIMIT : CAUSE_SERVER;
        } else if (!strcasecmp(r->should_retry, "false")) {
            v = OPENAI_FATAL;
        }
    }
    return v;
}

openai_verdict openai_classify(const openai_reply *r) {
    if (r->status == 200) return OPENAI_OK;
    int quota = 0;
    if (r->status == 429 && r->body_len) { /* an error body is small: parsing it is cheap */
        json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
        json_t *e = json_object_get(j, "error");
        quota = openai_is_quota(json_string_value(json_object_get(e, "code")),
                                json_string_value(json_object_get(e, "type")));
        json_decref(j);
    }
    openai_cause cause;
    return openai_error_verdict(r, quota, &cause);
}

openai_verdict openai_parse(const openai_reply *r, size_t n, uint32_t dim, float *out, long *tokens,
                            openai_cause *cause, double *retry_after, const char *secret, char *msg,
                            size_t msglen) {
    *retry_after = -1;
    *tokens = 0;
    openai_payloads cut = {0};
    json_t *j = NULL;
    if (r->status == 200 && r->body_len && openai_cut(r->body, r->body_len, &cut) == NZ_OK && cut.n)
        j = json_loadb(cut.skeleton, cut.len, 0, NULL);
    else {
        openai_payloads_free(&cut);
        memset(&cut, 0, sizeof cut);
        j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    }
    openai_verdict v;
    if (r->status != 200) {
        json_t *e = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *text = json_string_value(json_object_get(e, "message"));
        char prefix[64];
        snprintf(prefix, sizeof prefix, "HTTP %ld%s%s: ", r->status, code ? " " : "",
                 code ? code : "");
        openai_masked(msg, msglen, prefix, text ? text : "(no message)", secret);
        v = openai_error_verdict(r, openai_is_quota(code, type), cause);
        if (v == OPENAI_RETRY) {
            double ms = r->retry_after_ms ? strtod(r->retry_after_ms, NULL) : -1;
            *retry_after = ms >= 0 ? ms / 1000 : openai_retry_after(r->retry_after);
        }
        json_decref(j);
        return v;
    }
    *cause = CAUSE_MALFORMED;
    json_t *data = json_object_get(j, "data");
    if (!json_is_array(data)) {
        snprintf(msg, msglen, "malformed reply: %s", j ? "no \"data\" array" : "not JSON");
        json_decref(j);
        openai_payloads_free(&cut);
        return OPENAI_RETRY;
    }
    if (json_array_size(data) != n) {
        snprintf(msg, msglen, "malformed reply: %zu embeddings for %zu inputs",
                 json_array_size(data), n);
        json_decref(j);
        openai_payloads_free(&cut);
        return OPENAI_RETRY;
    }
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!seen) {
        json_decref(j);
        openai_payloads_free(&cut);
        snprintf(msg, msglen, "out of memory");
        return OPENAI_FATAL;
    }
    size_t i;
    json_t *d;
    v = OPENAI_OK;
    json_array_foreach(data, i, d) {
        json_t *idx = json_object_get(d, "index"), *emb = json_object_get(d, "embedding");
        json_int_t k = json_integer_value(idx);
        if (!json_is_integer(idx) || k < 0 || (size_t)k >= n || seen[k]) {
            snprintf(msg, msglen, "malformed reply: bad or repeated index at position %zu", i);
            v = OPENAI_RETRY;
            break;
        }
        seen[k] = 1;
        float *dst = out + (size_t)k * dim;
        if (json_is_string(emb)) {
            float *vec;
            const char *b64 = json_string_value(emb);
            size_t b64len = json_string_length(emb);
            if (cut.n && b64[0] == '#') { /* a payload cut out before parsing */
                size_t pi = (size_t)strtoul(b64 + 1, NULL, 10);
                if (pi >= cut.n) {
                    snprintf(msg, msglen, "malformed reply: bad embedding reference");
                    v = OPENAI_RETRY;
                    break;
                }
                b64 = cut.p[pi];
                b64len = cut.plen[pi];
            }
            long got = vecb64_decode(b64, b64len, 0, &vec);
            if (got == (long)dim) memcpy(dst, vec, dim * sizeof *dst);
            free(vec);
            if (got != (long)dim) {
                if (got == NZ_ENONFINITE)
                    snprintf(msg, msglen, "malformed reply: a NaN or infinite value");
                else if (got < 0)
                    snprintf(msg, msglen, "malformed reply: an embedding is not base64 float32");
                else
                    snprintf(msg, msglen, "wrong dimension: got %ld values, expected %u", got, dim);
                v = OPENAI_RETRY;
                break;
            }
        } else if (json_is_array(emb)) { /* float arrays, as Ollama answers */
            if (json_array_size(emb) != dim) {
                snprintf(msg, msglen, "wrong dimension: got %zu values, expected %u",
                         json_array_size(emb), dim);
                v = OPENAI_RETRY;
                break;
            }
            for (uint32_t c = 0; c < dim; c++) {
                json_t *x = json_array_get(emb, c);
                double f = json_number_value(x);
                if (!json_is_number(x) || !isfinite(f)) {
                    snprintf(msg, msglen,
                             "malformed reply: value %u of embedding %lld is not a number", c,
                             (long long)k);
                    v = OPENAI_RETRY;
                    break;
                }
                dst[c] = (float)f;
            }
            if (v != OPENAI_OK) break;
        } else {
            snprintf(msg, msglen, "malformed reply: embedding %lld is neither base64 nor an array",
                     (long long)k);
            v = OPENAI_RETRY;
            break;
        }
    }
    free(seen);
    if (v == OPENAI_OK)
        *tokens =
            (long)json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens"));
    json_decref(j);
    openai_payloads_free(&cut);
    return v;
}
