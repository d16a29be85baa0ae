/* query.c -- see query.h. */
#include "query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embedder.h"
#include "fuse.h"
#include "kernels.h"
#include "lex_search.h"
#include "status.h"
#include "utf8.h"

static double query_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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
    q->weight = 0.5;
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

int query_parse(const json_t *body, query_req *q, char *err, size_t errlen) {
    memset(q, 0, sizeof *q);
    q->k = 10;
    int rc = NZ_EINVAL;
    if (!json_is_object(body)) {
        snprintf(err, errlen, "request body must be a JSON object");
        goto fail;
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
            goto fail;
        }
    }
    json_t *text = json_object_get(body, "query"), *vec = json_object_get(body, "vector");
    if ((text != NULL) == (vec != NULL)) {
        snprintf(err, errlen, "give exactly one of \"query\" (text) or \"vector\"");
        goto fail;
    }
    if (text) {
        if (!json_is_string(text) || json_string_length(text) == 0) {
            snprintf(err, errlen, "\"query\" must be a non-empty string");
            goto fail;
        }
        if (json_string_length(text) > QUERY_MAX_TEXT) {
            snprintf(err, errlen, "\"query\" is longer than %d bytes", QUERY_MAX_TEXT);
            goto fail;
        }
        q->text = json_string_value(text);
    } else {
        size_t n = json_array_size(vec);
        if (!json_is_array(vec) || n == 0 || n > 65536) {
            snprintf(err, errlen, "\"vector\" must be a non-empty array of numbers");
            goto fail;
        }
        q->vector = malloc(n * sizeof *q->vector);
        if (!q->vector) {
            snprintf(err, errlen, "out of memory");
            rc = NZ_ENOMEM;
            goto fail;
        }
        q->vector_dim = n;
        for (size_t i = 0; i < n; i++) {
            json_t *x = json_array_get(vec, i);
            double d = json_number_value(x);
            if (!json_is_number(x) || !isfinite(d) || fabs(d) > 3.4e38) {
                snprintf(err, errlen, "\"vector\"[%zu] is not a finite number", i);
                goto fail;
            }
            q->vector[i] = (float)d;
        }
    }
    json_t *k = json_object_get(body, "k");
    if (k) {
        if (!json_is_integer(k) || json_integer_value(k) < 1 ||
            json_integer_value(k) > SEARCH_MAX_K) {
            snprintf(err, errlen, "\"k\" must be an integer from 1 to %d", SEARCH_MAX_K);
            goto fail;
        }
        q->k = (size_t)json_integer_value(k);
    }
    json_t *exact = json_object_get(body, "exact");
    if (exact) {
        if (!json_is_boolean(exact)) {
            snprintf(err, errlen, "\"exact\" must be true or false");
            goto fail;
        }
        q->exact = json_is_true(exact);
    }
    json_t *ef = json_object_get(body, "ef");
    if (ef) {
        if (!json_is_integer(ef) || json_integer_value(ef) < 1 || json_integer_value(ef) > 10000) {
            snprintf(err, errlen, "\"ef\" must be an integer from 1 to 10000");
            goto fail;
        }
        q->ef = (size_t)json_integer_value(ef);
    }
    if (query_parse_mode(body, q, err, errlen) < 0) goto fail;
    json_t *f = json_object_get(body, "filter");
    if (f && !json_is_null(f)) {
        if (!json_is_object(f)) {
            snprintf(err, errlen, "\"filter\" must be an object");
            goto fail;
        }
        json_object_foreach(f, key, val) {
            if (strcmp(key, "doc_id") && strcmp(key, "uri_prefix") && strcmp(key, "lang")) {
                snprintf(err, errlen, "unknown filter \"%.64s\" (doc_id, uri_prefix, lang)", key);
                goto fail;
            }
        }
        if (query_filter_string(f, "doc_id", &q->filter.doc_id, err, errlen) < 0 ||
            query_filter_string(f, "uri_prefix", &q->filter.uri_prefix, err, errlen) < 0 ||
            query_filter_string(f, "lang", &q->filter.lang, err, errlen) < 0)
            goto fail;
    }
    return NZ_OK;
fail:
    query_free(q);
    return rc;
}

void query_free(query_req *q) {
    free(q->vector);
    q->vector = NULL;
}

static const char *const query_modes[] = {"default", "dense", "lexical", "hybrid"};

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
    static const struct {
        const char *name;
        int field;
    } fields[] = {{"chunk_id", NZI_F_CHUNK_ID},
                  {"doc_id", NZI_F_DOC_ID},
                  {"uri", NZI_F_URI},
                  {"title", NZI_F_TITLE},
                  {"heading", NZI_F_HEADING}};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        json_object_set_new(o, fields[i].name,
                            utf8_json_string(c.f[fields[i].field], c.len[fields[i].field]));
    json_object_set_new(o, "page", json_integer(c.page));
    json_object_set_new(o, "lang", utf8_json_string(c.f[NZI_F_LANG], c.len[NZI_F_LANG]));
    json_object_set_new(o, "text", utf8_json_string(c.f[NZI_F_TEXT], c.len[NZI_F_TEXT]));
    /* round to 6 places so answers are stable across kernels */
    json_object_set_new(o, "score", json_real(round((double)h->score * 1e6) / 1e6));
    json_object_set_new(o, "found_by", query_found_by(h));
    return o;
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
 * 2 x depth). The count, or a status (err set). */
static long query_search(const snapshot *s, const query_req *q, int mode, int threads, size_t depth,
                         topk_hit *dh, topk_hit *lh, fuse_hit *out, char *err, size_t errlen) {
    long nd = 0, nl = 0;
    search_params p = {
        .k = depth, .ef = q->ef, .filter = &q->filter, .threads = threads, .exact = q->exact};
    if (mode != QUERY_MODE_LEXICAL) {
        float *v = malloc(s->dim * sizeof *v);
        int rc = v ? query_vector(s, q, v, err, errlen) : NZ_ENOMEM;
        if (rc == NZ_OK) nd = index_search(s, v, &p, dh);
        free(v);
        if (rc < 0) return rc;
    }
    if (mode != QUERY_MODE_DENSE) /* "exact": score every posting, as the flat scan does */
        nl = q->exact ? lex_search_exhaustive(s, q->text, &p, lh) : lex_search(s, q->text, &p, lh);
    if (nd < 0 || nl < 0) return nd < 0 ? nd : nl;
    if (mode == QUERY_MODE_DENSE) return (long)fuse_single(dh, (size_t)nd, FUSE_DENSE, out);
    if (mode == QUERY_MODE_LEXICAL) return (long)fuse_single(lh, (size_t)nl, FUSE_LEXICAL, out);
    return (long)fuse_rrf(dh, (size_t)nd, lh, (size_t)nl, q->weight, q->k, out);
}

int query_run(const snapshot *s, const query_req *q, int threads, json_t **answer, char *err,
              size_t errlen) {
    double t0 = query_now_ms();
    topk_hit *dh = NULL, *lh = NULL;
    fuse_hit *hits = NULL;
    json_t *arr = NULL;
    int mode, rc = query_mode(s, q, &mode, err, errlen);
    *answer = NULL;
    if (rc < 0) return rc;
    size_t depth = q->k; /* each list's; deeper lists fused worse (DESIGN.md) */
    rc = NZ_ENOMEM;
    dh = malloc(depth * sizeof *dh);
    lh = malloc(depth * sizeof *lh);
    hits = malloc(2 * depth * sizeof *hits);
    if (!dh || !lh || !hits) goto fail;
    /* NZ_EINVAL: a bad query; NZ_EUNAVAILABLE: the provider failed */
    long n = query_search(s, q, mode, threads, depth, dh, lh, hits, err, errlen);
    if (n < 0) {
        rc = (int)n;
        goto fail;
    }
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
    free(dh);
    free(lh);
    free(hits);
    return rc;
}
