/* query.c -- see query.h. */
#include "query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embedder.h"
#include "fuse.h"
#include "hybrid.h"
#include "jsonout.h"
#include "kernels.h"
#include "lex_search.h"
#include "status.h"
#include "utf8.h"
#include "vecb64.h"

static double query_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const query_limits query_default_limits = QUERY_LIMITS_DEFAULT;

/* The contents of the top-level "vector" string in a request body, when
 * query_scan found it plain (no escape): text NULL when not. */
typedef struct query_span {
    const char *text;
    size_t len;
} query_span;

static int query_filter_string(json_t *f, const char *key, const char **out, char *err,
                               size_t errlen) {
    json_t *v = json_object_get(f, key);
    if (!v || json_is_null(v)) return NZ_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 4096) {
        snprintf(err, errlen, "filter.%s must be a non-empty string", key);
        return NZ_EINVAL;
    }
    *out = json_string_value(v);
    return NZ_OK;
}

/* "mode" and "weight". NZ_OK or NZ_EINVAL. */
static int query_parse_mode(const json_t *body, query_req *q, char *err, size_t errlen) {
    static const char *const modes[] = {"dense", "lexical", "hybrid"};
    json_t *mode = json_object_get(body, "mode"), *w = json_object_get(body, "weight");
    q->weight = FUSE_DEFAULT_WEIGHT;
    for (int i = 0; mode && json_is_string(mode) && i < 3; i++)
        if (!strcmp(json_string_value(mode), modes[i])) q->mode = QUERY_MODE_DENSE + i;
    if (mode && !q->mode) {
        snprintf(err, errlen, "\"mode\" must be \"dense\", \"lexical\" or \"hybrid\"");
        return NZ_EINVAL;
    }
    if (w && (!json_is_number(w) || !(json_number_value(w) >= 0 && json_number_value(w) <= 1))) {
        snprintf(err, errlen, "\"weight\" must be a number from 0 to 1");
        return NZ_EINVAL;
    }
    if (w) q->weight = json_number_value(w);
    return NZ_OK;
}

static int query_parse_filter(json_t *f, search_filter *out, char *err, size_t errlen) {
    if (!f || json_is_null(f)) return NZ_OK;
    if (!json_is_object(f)) {
        snprintf(err, errlen, "\"filter\" must be an object");
        return NZ_EINVAL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(f, key, val) {
        if (strcmp(key, "doc_id") && strcmp(key, "uri_prefix") && strcmp(key, "lang")) {
            snprintf(err, errlen, "unknown filter \"%.64s\" (doc_id, uri_prefix, lang)", key);
            return NZ_EINVAL;
        }
    }
    if (query_filter_string(f, "doc_id", &out->doc_id, err, errlen) < 0 ||
        query_filter_string(f, "uri_prefix", &out->uri_prefix, err, errlen) < 0 ||
        query_filter_string(f, "lang", &out->lang, err, errlen) < 0)
        return NZ_EINVAL;
    return NZ_OK;
}

/* "k" or "ef": absent leaves *out alone; else an integer in 1..max, where
 * bound names the limit in the message. */
static int query_parse_count(const json_t *body, const char *key, size_t max, const char *bound,
                             size_t *out, char *err, size_t errlen) {
    json_t *v = json_object_get(body, key);
    if (!v) return NZ_OK;
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "\"%s\" must be an integer from 1 to %zu (%s)", key, max, bound);
        return NZ_EINVAL;
    }
    json_int_t n = json_integer_value(v);
    if (n < 1 || (unsigned long long)n > max) {
        snprintf(err, errlen, "\"%s\" is %lld: it must be from 1 to %zu (%s)", key, (long long)n,
                 max, bound);
        return NZ_EINVAL;
    }
    *out = (size_t)n;
    return NZ_OK;
}

/* "vector" as base64 of little-endian float32 (text, len bytes) into
 * q->vector. */
static int query_parse_b64(const char *text, size_t len, query_req *q, char *err, size_t errlen) {
    const size_t max_len = 4 * ((QUERY_MAX_DIM * 4 + 2) / 3);
    if (len > max_len) {
        snprintf(err, errlen, "\"vector\" base64 is %zu bytes, above %zu (%d float32 values)", len,
                 max_len, QUERY_MAX_DIM);
        return NZ_EINVAL;
    }
    long n = vecb64_decode(text, len, 0, &q->vector);
    switch (n) {
    case NZ_ENOMEM: snprintf(err, errlen, "out of memory"); return NZ_ENOMEM;
    case NZ_ENONFINITE:
        snprintf(err, errlen, "\"vector\" holds a NaN or infinite value");
        return NZ_EINVAL;
    case 0: snprintf(err, errlen, "\"vector\" must not be empty"); return NZ_EINVAL;
    default:
        if (n < 0) {
            snprintf(err, errlen,
                     "\"vector\" string is not base64 of little-endian float32 values");
            return NZ_EINVAL;
        }
    }
    q->vector_dim = (size_t)n;
    return NZ_OK;
}

/* "vector": a JSON array of numbers, or a base64 string, into q->vector;
 * lifted: the string's bytes when query_scan took them out of the body. */
static int query_parse_vector(json_t *vec, const query_span *lifted, query_req *q, char *err,
                              size_t errlen) {
    if (json_is_string(vec) && lifted && lifted->text)
        return query_parse_b64(lifted->text, lifted->len, q, err, errlen);
    if (json_is_string(vec))
        return query_parse_b64(json_string_value(vec), json_string_length(vec), q, err, errlen);
    size_t n = json_array_size(vec);
    if (!json_is_array(vec) || n == 0) {
        snprintf(err, errlen, "\"vector\" must be a non-empty array of numbers or a base64 string");
        return NZ_EINVAL;
    }
    if (n > QUERY_MAX_DIM) {
        snprintf(err, errlen, "\"vector\" has %zu values, above %d", n, QUERY_MAX_DIM);
        return NZ_EINVAL;
    }
    if (!(q->vector = malloc(n * sizeof *q->vector))) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    q->vector_dim = n;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(vec, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || fabs(d) > 3.4e38) {
            snprintf(err, errlen, "\"vector\"[%zu] is not a finite number", i);
            return NZ_EINVAL;
        }
        q->vector[i] = (float)d;
    }
    return NZ_OK;
}

static int query_parse_text(json_t *text, query_req *q, char *err, size_t errlen) {
    if (!json_is_string(text) || json_string_length(text) == 0) {
        snprintf(err, errlen, "\"query\" must be a non-empty string");
        return NZ_EINVAL;
    }
    if (json_string_length(text) > QUERY_MAX_TEXT) {
        snprintf(err, errlen, "\"query\" is longer than %d bytes", QUERY_MAX_TEXT);
        return NZ_EINVAL;
    }
    q->text = json_string_value(text);
    return NZ_OK;
}

/* query_parse's work on a q whose owned fields are set (NULL or owned);
 * the caller frees q on failure. */
static int query_parse_fields(const json_t *body, const query_span *lifted, query_req *q, char *err,
                              size_t errlen) {
    if (!json_is_object(body)) {
        snprintf(err, errlen, "request body must be a JSON object");
        return NZ_EINVAL;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        if (strcmp(key, "query") && strcmp(key, "vector") && strcmp(key, "k") &&
            strcmp(key, "filter") && strcmp(key, "ef") && strcmp(key, "exact") &&
            strcmp(key, "mode") && strcmp(key, "weight")) {
            snprintf(err, errlen,
                     "unknown field \"%.64s\" (query, vector, k, filter, ef, exact, mode, weight)",
                     key);
            return NZ_EINVAL;
        }
    }
    json_t *text = json_object_get(body, "query"), *vec = json_object_get(body, "vector");
    if ((text != NULL) == (vec != NULL)) {
        snprintf(err, errlen, "give exactly one of \"query\" (text) or \"vector\"");
        return NZ_EINVAL;
    }
    int rc = text ? query_parse_text(text, q, err, errlen)
                  : query_parse_vector(vec, lifted, q, err, errlen);
    if (rc < 0) return rc;
    size_t max_k = q->lim->max_k < SEARCH_MAX_K ? q->lim->max_k : SEARCH_MAX_K;
    if ((rc = query_parse_count(body, "k", max_k, "max_k", &q->k, err, errlen)) < 0 ||
        (rc = query_parse_count(body, "ef", q->lim->max_ef, "max_ef", &q->ef, err, errlen)) < 0)
        return rc;
    json_t *exact = json_object_get(body, "exact");
    if (exact) {
        if (!json_is_boolean(exact)) {
            snprintf(err, errlen, "\"exact\" must be true or false");
            return NZ_EINVAL;
        }
        q->exact = json_is_true(exact);
    }
    if ((rc = query_parse_mode(body, q, err, errlen)) < 0) return rc;
    return query_parse_filter(json_object_get(body, "filter"), &q->filter, err, errlen);
}

static void query_init(query_req *q, const query_limits *lim) {
    memset(q, 0, sizeof *q);
    q->k = 10;
    q->lim = lim ? lim : &query_default_limits;
}

int query_parse(const json_t *body, const query_limits *lim, query_req *q, char *err,
                size_t errlen) {
    query_init(q, lim);
    int rc = query_parse_fields(body, NULL, q, err, errlen);
    if (rc < 0) query_free(q);
    return rc;
}

/* Index of the '"' closing the string whose contents start at p[i], or len
 * when it is not closed; *plain = 0 when it holds an escape or a control
 * byte (jansson then decodes it). */
static size_t query_string_end(const char *p, size_t len, size_t i, int *plain) {
    *plain = 1;
    for (; i < len && (i += jsonout_plain_len(p + i, len - i)) < len && p[i] != '"'; i++) {
        if (p[i] == '\\') {
            *plain = 0;
            i++;
        } else if ((unsigned char)p[i] < 0x20) {
            *plain = 0;
        }
    }
    return i < len ? i : len;
}

static int query_is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* After the top-level key "vector" (p[i] just past its closing quote):
 * when its value is a plain string, its contents into *out, returning the
 * index of its closing quote; else i - 1, the key's. */
static size_t query_scan_vector(const char *p, size_t len, size_t i, query_span *out) {
    size_t key_end = i - 1;
    while (i < len && query_is_space(p[i])) i++;
    if (i >= len || p[i++] != ':') return key_end;
    while (i < len && query_is_space(p[i])) i++;
    if (i >= len || p[i] != '"') return key_end;
    int plain;
    size_t end = query_string_end(p, len, i + 1, &plain);
    if (end >= len || !plain) return key_end;
    *out = (query_span){p + i + 1, end - i - 1};
    return end;
}

/* One pass over a body's bytes before jansson sees them: NZ_EINVAL when it
 * nests more than max levels of [] and {} (brackets inside strings do not
 * count), and in *vec where the top-level "vector" string lies, so that a
 * base64 vector is decoded straight from the body rather than lexed by
 * jansson a byte at a time and copied (that costs more than the search).
 * Malformed text is left to the parser. */
static int query_scan(const char *p, size_t len, size_t max, query_span *vec, char *err,
                      size_t errlen) {
    size_t depth = 0;
    int object = 0, key = 0; /* the top level is an object; a key may come next */
    *vec = (query_span){NULL, 0};
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '"') {
            int plain;
            size_t end = query_string_end(p, len, i + 1, &plain);
            if (key && !vec->text && plain && end - i - 1 == 6 && !memcmp(p + i + 1, "vector", 6))
                end = query_scan_vector(p, len, end + 1, vec);
            key = 0;
            i = end;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                snprintf(err, errlen, "JSON nested deeper than %zu levels (max_depth)", max);
                return NZ_EINVAL;
            }
            if (depth == 1) object = c == '{';
            key = depth == 1 && object;
        } else if (c == ']' || c == '}') {
            depth -= depth > 0;
            key = 0;
        } else if (c == ',') {
            key = depth == 1 && object;
        } else if (!query_is_space(c)) {
            key = 0;
        }
    }
    return NZ_OK;
}

/* The body with the contents of vec's string taken out ("vector":""),
 * for jansson; malloc'd, NULL when out of memory. */
static char *query_without(const char *body, size_t len, const query_span *vec, size_t *outlen) {
    size_t head = (size_t)(vec->text - body);
    *outlen = len - vec->len;
    char *t = malloc(*outlen + 1);
    if (!t) return NULL;
    memcpy(t, body, head);
    memcpy(t + head, vec->text + vec->len, len - head - vec->len);
    t[*outlen] = '\0';
    return t;
}

int query_parse_bytes(const char *body, size_t len, const query_limits *lim, query_req *q,
                      char *err, size_t errlen) {
    query_init(q, lim);
    char *text = NULL;
    int rc = NZ_EINVAL;
    query_span vec;
    if (len == 0) {
        snprintf(err, errlen, "empty request body: send a JSON object");
        goto fail;
    }
    if ((rc = query_scan(body, len, q->lim->max_depth, &vec, err, errlen)) < 0) goto fail;
    size_t tlen = len;
    if (vec.text && !(text = query_without(body, len, &vec, &tlen))) {
        snprintf(err, errlen, "out of memory");
        rc = NZ_ENOMEM;
        goto fail;
    }
    json_error_t je;
    if (!(q->json = json_loadb(text ? text : body, tlen, JSON_REJECT_DUPLICATES, &je))) {
        snprintf(err, errlen, "invalid JSON: %s", je.text);
        rc = NZ_EINVAL;
        goto fail;
    }
    if ((rc = query_parse_fields(q->json, &vec, q, err, errlen)) < 0) goto fail;
    free(text);
    return NZ_OK;
fail:
    free(text);
    query_free(q);
    return rc;
}

void query_free(query_req *q) {
    free(q->vector);
    q->vector = NULL;
    q->vector_dim = 0;
    json_decref(q->json);
    q->json = NULL;
}

static const char *const query_modes[] = {"default", "dense", "lexical", "hybrid"};

/* A hit's record fields, in the answer's order (after them: page, lang,
 * text, score, found_by); key: the JSON text before the value, for
 * query_hit_text. */
static const struct {
    const char *name, *key;
    int field;
} query_fields[] = {{"chunk_id", "{\"chunk_id\":", NZI_F_CHUNK_ID},
                    {"doc_id", ",\"doc_id\":", NZI_F_DOC_ID},
                    {"uri", ",\"uri\":", NZI_F_URI},
                    {"title", ",\"title\":", NZI_F_TITLE},
                    {"heading", ",\"heading\":", NZI_F_HEADING}};

/* round to 6 places so answers are stable across kernels */
static double query_score(const fuse_hit *h) { return round((double)h->score * 1e6) / 1e6; }

/* {"dense": RANK, "lexical": RANK}: the lists that found the hit. */
static json_t *query_found_by(const fuse_hit *h) {
    json_t *o = json_object();
    if (o && h->rank[FUSE_DENSE])
        json_object_set_new(o, "dense", json_integer(h->rank[FUSE_DENSE]));
    if (o && h->rank[FUSE_LEXICAL])
        json_object_set_new(o, "lexical", json_integer(h->rank[FUSE_LEXICAL]));
    return o;
}

static json_t *query_hit_json(const snapshot *s, const fuse_hit *h) {
    snapshot_chunk c;
    if (snapshot_chunk_get(s, h->id, &c) < 0) return NULL;
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t i = 0; i < sizeof query_fields / sizeof *query_fields; i++)
        json_object_set_new(
            o, query_fields[i].name,
            utf8_json_string(c.f[query_fields[i].field], c.len[query_fields[i].field]));
    json_object_set_new(o, "page", json_integer(c.page));
    json_object_set_new(o, "lang", utf8_json_string(c.f[NZI_F_LANG], c.len[NZI_F_LANG]));
    json_object_set_new(o, "text", utf8_json_string(c.f[NZI_F_TEXT], c.len[NZI_F_TEXT]));
    json_object_set_new(o, "score", json_real(query_score(h)));
    json_object_set_new(o, "found_by", query_found_by(h));
    return o;
}

/* query_hit_json's object as its JSON text, appended to out; NZ_ECORRUPT
 * when the record cannot be read, else out's status. */
static int query_hit_text(const snapshot *s, const fuse_hit *h, buf *out) {
    snapshot_chunk c;
    if (snapshot_chunk_get(s, h->id, &c) < 0) return NZ_ECORRUPT;
    for (size_t i = 0; i < sizeof query_fields / sizeof *query_fields; i++) {
        buf_adds(out, query_fields[i].key);
        jsonout_str(out, c.f[query_fields[i].field], c.len[query_fields[i].field]);
    }
    buf_adds(out, ",\"page\":");
    jsonout_int(out, c.page);
    buf_adds(out, ",\"lang\":");
    jsonout_str(out, c.f[NZI_F_LANG], c.len[NZI_F_LANG]);
    buf_adds(out, ",\"text\":");
    jsonout_str(out, c.f[NZI_F_TEXT], c.len[NZI_F_TEXT]);
    buf_adds(out, ",\"score\":");
    jsonout_real(out, query_score(h));
    buf_adds(out, ",\"found_by\":{");
    if (h->rank[FUSE_DENSE]) {
        buf_adds(out, "\"dense\":");
        jsonout_int(out, h->rank[FUSE_DENSE]);
    }
    if (h->rank[FUSE_LEXICAL]) {
        buf_adds(out, h->rank[FUSE_DENSE] ? ",\"lexical\":" : "\"lexical\":");
        jsonout_int(out, h->rank[FUSE_LEXICAL]);
    }
    buf_add(out, "}}", 2);
    return buf_failed(out);
}

/* The mode the request runs in: its own, else hybrid for text (dense on a
 * snapshot built without a lexical index) and dense for a vector. NZ_OK,
 * or NZ_EINVAL when the mode cannot serve the request. */
static int query_mode(const snapshot *s, const query_req *q, int *mode, char *err, size_t errlen) {
    *mode = q->mode;
    if (*mode == QUERY_MODE_DEFAULT)
        *mode = !q->vector && s->lex_map ? QUERY_MODE_HYBRID : QUERY_MODE_DENSE;
    if (*mode == QUERY_MODE_DENSE) return NZ_OK;
    if (q->vector) {
        snprintf(err, errlen, "mode \"%s\" needs a text \"query\", not a \"vector\"",
                 query_modes[*mode]);
        return NZ_EINVAL;
    }
    if (!s->lex_map) {
        snprintf(err, errlen,
                 "snapshot %s has no lexical index (built before nz-index had one): "
                 "rebuild it, or ask for mode \"dense\"",
                 s->name);
        return NZ_EINVAL;
    }
    return NZ_OK;
}

/* The request's vector into v: its own, checked and normalised, or its
 * text embedded. NZ_OK, NZ_EINVAL or NZ_EUNAVAILABLE (err set). */
static int query_vector(const snapshot *s, const query_req *q, float *v, char *err, size_t errlen) {
    if (!q->vector) return embedder_query(s->provider, s->model, s->dim, q->text, v, err, errlen);
    if (q->vector_dim != s->dim) {
        snprintf(err, errlen, "vector has %zu dimensions, the index has %u", q->vector_dim, s->dim);
        return NZ_EINVAL;
    }
    memcpy(v, q->vector, s->dim * sizeof *v);
    if (kern_normalise(v, s->dim) == 0) {
        snprintf(err, errlen, "vector is all zeros");
        return NZ_EINVAL;
    }
    return NZ_OK;
}

/* The lists the mode asks for, depth hits each, fused into out (room for
 * 2 x depth; hybrid.h makes and fuses hybrid's). The count, or a status
 * (err set). */
static long query_lists(const snapshot *s, const query_req *q, int mode, int threads, size_t depth,
                        topk_hit *dh, topk_hit *lh, fuse_hit *out, char *err, size_t errlen) {
    long nd = 0, nl = 0;
    search_params p = {
        .k = depth, .ef = q->ef, .filter = &q->filter, .threads = threads, .exact = q->exact};
    if (mode != QUERY_MODE_LEXICAL) {
        float *v = malloc(s->dim * sizeof *v);
        int rc = v ? query_vector(s, q, v, err, errlen) : NZ_ENOMEM;
        if (rc == NZ_OK)
            nd = mode == QUERY_MODE_HYBRID ? hybrid_search(s, v, q->text, &p, q->weight, q->side, out)
                                           : index_search(s, v, &p, dh);
        free(v);
        if (rc < 0 || mode == QUERY_MODE_HYBRID) return rc < 0 ? rc : nd;
    }
    if (mode != QUERY_MODE_DENSE) /* "exact": score every posting, as the flat scan does */
        nl = q->exact ? lex_search_exhaustive(s, q->text, &p, lh) : lex_search(s, q->text, &p, lh);
    if (nd < 0 || nl < 0) return nd < 0 ? nd : nl;
    if (mode == QUERY_MODE_DENSE) return (long)fuse_single(dh, (size_t)nd, FUSE_DENSE, out);
    return (long)fuse_single(lh, (size_t)nl, FUSE_LEXICAL, out);
}

/* The search of query_run and query_answer: *hits_out (malloc'd) and their
 * count in *n, the mode it ran in; the statuses of query_run but
 * NZ_ECORRUPT. */
static int query_search(const snapshot *s, const query_req *q, int threads, int *mode,
                        fuse_hit **hits_out, long *n, char *err, size_t errlen) {
    topk_hit *dh = NULL, *lh = NULL;
    fuse_hit *hits = NULL;
    int rc = query_mode(s, q, mode, err, errlen);
    if (rc < 0) return rc;
    const query_limits *lim = q->lim ? q->lim : &query_default_limits;
    if (q->exact && !lim->allow_exact && s->count > lim->exact_max_rows) {
        snprintf(err, errlen,
                 "\"exact\": true is refused on %llu rows, above exact_max_rows %zu: "
                 "drop it to walk the graph",
                 (unsigned long long)s->count, lim->exact_max_rows);
        return NZ_EINVAL;
    }
    size_t depth = q->k; /* each list's (hybrid_search asks HYBRID_DEPTH x k of each side itself) */
    rc = NZ_ENOMEM;
    dh = malloc(depth * sizeof *dh);
    lh = malloc(depth * sizeof *lh);
    hits = malloc(2 * depth * sizeof *hits);
    if (!dh || !lh || !hits) goto fail;
    /* NZ_EINVAL: a bad query; NZ_EUNAVAILABLE: the provider failed */
    *n = query_lists(s, q, *mode, threads, depth, dh, lh, hits, err, errlen);
    if (*n < 0) {
        rc = (int)*n;
        goto fail;
    }
    free(dh);
    free(lh);
    *hits_out = hits;
    return NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    free(dh);
    free(lh);
    free(hits);
    return rc;
}

int query_run(const snapshot *s, const query_req *q, int threads, json_t **answer, char *err,
              size_t errlen) {
    double t0 = query_now_ms();
    fuse_hit *hits = NULL;
    json_t *arr = NULL;
    long n;
    int mode;
    *answer = NULL;
    int rc = query_search(s, q, threads, &mode, &hits, &n, err, errlen);
    if (rc < 0) return rc;
    rc = NZ_ENOMEM;
    if (!(arr = json_array())) goto fail;
    for (long i = 0; i < n; i++) {
        json_t *h = query_hit_json(s, &hits[i]);
        if (!h) {
            snprintf(err, errlen, "index record %u is corrupt", hits[i].id);
            rc = NZ_ECORRUPT;
            goto fail;
        }
        json_array_append_new(arr, h);
    }
    *answer = json_pack("{s:o,s:s,s:f}", "results", arr, "mode", query_modes[mode], "took_ms",
                        round((query_now_ms() - t0) * 1000) / 1000);
    arr = NULL;
    rc = *answer ? NZ_OK : NZ_ENOMEM;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    json_decref(arr);
    free(hits);
    return rc;
}

int query_answer(const snapshot *s, const query_req *q, int threads, buf *out, long *nresults,
                 char *err, size_t errlen) {
    double t0 = query_now_ms();
    fuse_hit *hits = NULL;
    long n;
    int mode;
    *nresults = 0;
    int rc = query_search(s, q, threads, &mode, &hits, &n, err, errlen);
    if (rc < 0) return rc;
    uint32_t ids[32]; /* the records' cache misses overlap (prefetch) */
    size_t np = (size_t)n < sizeof ids / sizeof *ids ? (size_t)n : sizeof ids / sizeof *ids;
    for (size_t i = 0; i < np; i++) ids[i] = hits[i].id;
    snapshot_chunk_prefetch(s, ids, np);
    if (buf_grow(out, 2048 * (size_t)n + 64) == NZ_OK) /* one growth, mostly */
        buf_adds(out, "{\"results\":[");
    for (long i = 0; i < n && rc == NZ_OK; i++) {
        if (i) buf_addc(out, ',');
        if ((rc = query_hit_text(s, &hits[i], out)) == NZ_ECORRUPT)
            snprintf(err, errlen, "index record %u is corrupt", hits[i].id);
    }
    if (rc == NZ_OK) {
        buf_adds(out, "],\"mode\":");
        jsonout_str(out, query_modes[mode], strlen(query_modes[mode]));
        buf_adds(out, ",\"took_ms\":");
        jsonout_real(out, round((query_now_ms() - t0) * 1000) / 1000);
        buf_add(out, "}\n", 2);
        rc = buf_failed(out);
    }
    if (rc == NZ_OK) *nresults = n;
    else if (rc != NZ_ECORRUPT) snprintf(err, errlen, "out of memory");
    free(hits);
    return rc;
}
