/* known.c -- see known.h. */
#include "known.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonl.h"
#include "status.h"

static uint64_t known_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of uri: its entry, or the empty slot where it belongs. */
static known_source *known_slot(const known_table *t, const char *uri) {
    size_t mask = t->cap - 1, i = (size_t)known_hash(uri) & mask;
    while (t->slots[i].uri && strcmp(t->slots[i].uri, uri) != 0) i = (i + 1) & mask;
    return &t->slots[i];
}

const known_source *known_get(const known_table *t, const char *uri) {
    if (!t || t->n == 0) return NULL;
    known_source *k = known_slot(t, uri);
    return k->uri ? k : NULL;
}

static void known_entry_free(known_source *k) {
    free(k->uri);
    free(k->etag);
    free(k->last_modified);
}

/* Room for one more entry, the table at most half full. NZ_OK or NZ_ENOMEM. */
static int known_reserve(known_table *t) {
    if ((t->n + 1) * 2 <= t->cap) return NZ_OK;
    size_t cap = t->cap ? t->cap * 2 : 64;
    known_table bigger = {calloc(cap, sizeof(known_source)), cap, t->n};
    if (!bigger.slots) return NZ_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].uri) *known_slot(&bigger, t->slots[i].uri) = t->slots[i];
    free(t->slots);
    *t = bigger;
    return NZ_OK;
}

/* A header value: a string of at most max bytes, no control characters. */
static int known_header_field(const json_t *o, const char *key, size_t max, char **out, char *err,
                              size_t errlen) {
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) return NZ_OK;
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    int bad = !s || n > max;
    for (size_t i = 0; !bad && i < n; i++) bad = (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
    if (bad) {
        snprintf(err, errlen, "\"%s\" must be a string of at most %zu printable bytes", key, max);
        return NZ_EINVAL;
    }
    if (n == 0) return NZ_OK;
    return (*out = strdup(s)) ? NZ_OK : NZ_ENOMEM;
}

/* mtime: whole seconds, or docs.jsonl's "YYYY-MM-DDTHH:MM:SSZ". */
static int known_mtime(const json_t *v, known_source *k, char *err, size_t errlen) {
    if (!v || json_is_null(v)) return NZ_OK;
    if (json_is_integer(v)) {
        k->mtime = json_integer_value(v);
        k->has_mtime = 1;
        return NZ_OK;
    }
    const char *s = json_string_value(v), *end;
    struct tm tm = {0};
    if (s && (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) && *end == '\0') {
        k->mtime = (long long)timegm(&tm);
        k->has_mtime = 1;
        return NZ_OK;
    }
    snprintf(err, errlen, "\"mtime\" must be seconds since the epoch or \"YYYY-MM-DDTHH:MM:SSZ\"");
    return NZ_EINVAL;
}

/* The fields of one record into *k (its strings malloc'd). */
static int known_parse(const json_t *o, known_source *k, char *err, size_t errlen) {
    const json_t *v;
    int rc;
    memset(k, 0, sizeof *k);
    k->size = -1;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "not a JSON object");
        return NZ_EINVAL;
    }
    const char *uri = json_string_value(json_object_get(o, "uri"));
    if (!uri || !*uri || strlen(uri) != json_string_length(json_object_get(o, "uri"))) {
        snprintf(err, errlen, "\"uri\" must be a non-empty string");
        return NZ_EINVAL;
    }
    if ((v = json_object_get(o, "size")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            snprintf(err, errlen, "\"size\" must be an integer >= 0");
            return NZ_EINVAL;
        }
        k->size = json_integer_value(v);
    }
    if ((rc = known_mtime(json_object_get(o, "mtime"), k, err, errlen)) < 0) return rc;
    if ((v = json_object_get(o, "sha256")) && !json_is_null(v)) {
        const char *h = json_string_value(v);
        if (!h || strlen(h) != 64 || strspn(h, "0123456789abcdefABCDEF") != 64) {
            snprintf(err, errlen, "\"sha256\" must be 64 hex digits");
            return NZ_EINVAL;
        }
        for (int i = 0; i < 64; i++) k->sha256[i] = (char)(h[i] | 0x20); /* lower case */
    }
    rc = NZ_ENOMEM;
    if (!(k->uri = strdup(uri))) goto fail;
    if ((rc = known_header_field(o, "etag", KNOWN_ETAG_MAX, &k->etag, err, errlen)) < 0) goto fail;
    if ((rc = known_header_field(o, "last_modified", KNOWN_LAST_MODIFIED_MAX, &k->last_modified,
                                 err, errlen)) < 0)
        goto fail;
    return NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    known_entry_free(k);
    memset(k, 0, sizeof *k);
    return rc;
}

static int known_add(known_table *t, const json_t *o, char *err, size_t errlen) {
    known_source k;
    int rc = known_parse(o, &k, err, errlen);
    if (rc < 0) return rc;
    if (known_get(t, k.uri)) {
        snprintf(err, errlen, "uri given twice: %s", k.uri);
        rc = NZ_EINVAL;
        goto fail;
    }
    if ((rc = known_reserve(t)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    *known_slot(t, k.uri) = k;
    t->n++;
    return NZ_OK;
fail:
    known_entry_free(&k);
    return rc;
}

int known_add_json(known_table *t, const char *json, size_t len, char *err, size_t errlen) {
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    if (!o) {
        snprintf(err, errlen, "invalid JSON: %s", je.text);
        return NZ_EINVAL;
    }
    int rc = known_add(t, o, err, errlen);
    json_decref(o);
    return rc;
}

int known_load(known_table *t, const char *path, char *err, size_t errlen) {
    char why[256] = "";
    struct stat st;
    jsonl_reader *r = NULL;
    json_t *o = NULL;
    int rc = NZ_EIO, st_next;
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    rc = NZ_ELIMIT;
    if (st.st_size > KNOWN_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %ld bytes", path, KNOWN_MAX_BYTES);
        goto fail;
    }
    rc = NZ_ENOMEM;
    if (!(r = jsonl_open(f, path, KNOWN_MAX_LINE))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    while ((st_next = jsonl_next(r, &o)) == JSONL_OK) {
        rc = known_add(t, o, why, sizeof why);
        json_decref(o);
        if (rc < 0) {
            snprintf(err, errlen, "%s: line %zu: %s", path, jsonl_lineno(r), why);
            goto fail;
        }
    }
    rc = st_next == JSONL_EOF ? NZ_OK : st_next;
    if (rc < 0) {
        snprintf(err, errlen, "%s", jsonl_error(r));
        goto fail;
    }
    jsonl_close(r);
    fclose(f);
    return NZ_OK;
fail:
    jsonl_close(r);
    if (f) fclose(f);
    known_free(t);
    return rc;
}

void known_free(known_table *t) {
    for (size_t i = 0; i < t->cap; i++) known_entry_free(&t->slots[i]);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
