/* delta.c -- see delta.h. */
#include "delta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomicio.h"
#include "jsonl.h"
#include "status.h"

/* Write each object of `rows` (picked through `fields`) as a JSON line. */
static int delta_write_lines(const json_t *rows, const char *const *fields, const char *path,
                             char *err, size_t errlen) {
    out_stream out = {0};
    if (out_open(&out, path) < 0) goto ioerr;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *o = json_object();
        for (const char *const *f = fields; o && *f; f++) {
            json_t *v = json_object_get(row, *f);
            if (v && !json_is_null(v)) json_object_set(o, *f, v);
        }
        int rc = o ? jsonl_write(out.fp, o) : NZ_ENOMEM;
        json_decref(o);
        if (rc < 0) {
            out_abort(&out);
            goto ioerr;
        }
    }
    if (out_finish(&out) < 0) goto ioerr;
    return NZ_OK;
ioerr:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return NZ_EIO;
}

int delta_write_known(const json_t *known, const char *path, char *err, size_t errlen) {
    static const char *const fields[] = {"uri",  "size",          "mtime", "sha256",
                                         "etag", "last_modified", NULL};
    return delta_write_lines(known, fields, path, err, errlen);
}

/* An mtime as seconds since the epoch: docs.jsonl and nz-extract's notes
 * write it as UTC "2026-12-01T02:00:00Z"; the catalog keeps the number.
 * NULL when there is none (or it does not parse). */
static json_t *delta_epoch(const json_t *v) {
    if (json_is_integer(v)) return json_integer(json_integer_value(v));
    const char *s = json_string_value(v);
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end) return NULL;
    return json_integer((json_int_t)timegm(&tm));
}

/* Append a change whose strings live in `o` (kept alive by d->keep). */
static int delta_add(delta *d, catalog_op op, json_t *o) {
    catalog_change *nc = realloc(d->changes, (d->n + 1) * sizeof *nc);
    if (!nc || json_array_append(d->keep, o) < 0) {
        if (nc) d->changes = nc;
        return NZ_ENOMEM;
    }
    d->changes = nc;
    json_t *sz = json_object_get(o, "size"), *mt = json_object_get(o, "mtime");
    d->changes[d->n++] =
        (catalog_change){op,
                         {json_string_value(json_object_get(o, "uri")),
                          json_string_value(json_object_get(o, "sha256")),
                          json_string_value(json_object_get(o, "etag")),
                          json_string_value(json_object_get(o, "last_modified")),
                          json_string_value(json_object_get(o, "doc_id")),
                          json_is_integer(sz) ? (long long)json_integer_value(sz) : -1,
                          json_is_integer(mt) ? (long long)json_integer_value(mt) : -1}};
    return NZ_OK;
}

/* One docs.jsonl record: added or changed. */
static int delta_record(delta *d, json_t *rec, json_t *by_uri, json_t *seen) {
    const char *uri = jsonl_str(rec, "uri");
    if (!uri) return NZ_OK; /* nz-extract never writes one; nz-chunk will refuse it */
    json_t *o = json_pack("{s:s,s:s*,s:s*,s:s*,s:s*,s:O*,s:o*}", "uri", uri, "doc_id",
                          jsonl_str(rec, "doc_id"), "sha256", jsonl_str(rec, "sha256"), "etag",
                          jsonl_str(rec, "etag"), "last_modified", jsonl_str(rec, "last_modified"),
                          "size", json_object_get(rec, "bytes"), "mtime",
                          delta_epoch(json_object_get(rec, "mtime")));
    if (!o) return NZ_ENOMEM;
    int known = json_object_get(by_uri, uri) != NULL;
    int rc = delta_add(d, CATALOG_PUT, o);
    json_decref(o);
    if (rc == NZ_OK && json_object_set(seen, uri, json_true()) < 0) rc = NZ_ENOMEM;
    if (known) d->changed++;
    else d->added++;
    return rc;
}

static int delta_records(delta *d, const char *path, json_t *by_uri, json_t *seen, char *err,
                         size_t errlen) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NZ_EIO;
    }
    jsonl_reader *r = jsonl_open(fp, path, 0);
    int rc = r ? NZ_OK : NZ_ENOMEM;
    json_t *rec;
    int got;
    while (rc == NZ_OK && (got = jsonl_next(r, &rec)) != 0) {
        if (got < 0) {
            snprintf(err, errlen, "%s", jsonl_error(r));
            rc = got;
            break;
        }
        rc = delta_record(d, rec, by_uri, seen);
        json_decref(rec);
    }
    jsonl_close(r);
    fclose(fp);
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    return rc;
}

/* The notes: unchanged (SEEN, with the mtime it has now) and gone. */
static int delta_notes(delta *d, const json_t *notes, json_t *by_uri, json_t *seen) {
    size_t i;
    json_t *note;
    json_array_foreach(notes, i, note) {
        const char *uri = json_string_value(json_object_get(note, "uri"));
        json_t *k = uri ? json_object_get(by_uri, uri) : NULL;
        if (!k || json_object_get(seen, uri)) continue;
        int gone = strcmp(json_string_value(json_object_get(note, "msg")), "gone") == 0;
        json_t *o = gone ? json_incref(k)
                         : json_pack("{s:s,s:o*}", "uri", uri, "mtime",
                                     delta_epoch(json_object_get(note, "mtime")));
        int rc = o ? delta_add(d, gone ? CATALOG_DELETE : CATALOG_SEEN, o) : NZ_ENOMEM;
        json_decref(o);
        if (rc < 0 || json_object_set(seen, uri, json_true()) < 0) return NZ_ENOMEM;
        if (gone) d->removed++;
        else d->unchanged++;
    }
    return NZ_OK;
}

int delta_compute(delta *d, const char *docs_path, const json_t *known, const stagelog_result *logs,
                  int keep_missing, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    json_t *by_uri = json_object(), *seen = json_object();
    int rc = NZ_ENOMEM;
    if (!(d->keep = json_array()) || !by_uri || !seen) goto fail;
    size_t i;
    json_t *k;
    json_array_foreach(known, i, k) {
        const char *uri = json_string_value(json_object_get(k, "uri"));
        if (uri && json_object_set(by_uri, uri, k) < 0) goto fail;
    }
    if ((rc = delta_records(d, docs_path, by_uri, seen, err, errlen)) < 0) goto fail;
    if ((rc = delta_notes(d, logs->notes, by_uri, seen)) < 0) goto fail;
    for (i = 0; i < logs->nrejects; i++) { /* a known source that failed keeps its chunks */
        const char *uri = logs->rejects[i].uri;
        d->rejected++;
        if (json_object_get(by_uri, uri) && json_object_set(seen, uri, json_true()) < 0) goto fail;
    }
    json_array_foreach(known, i, k) { /* known, and not seen at all: vanished */
        const char *uri = json_string_value(json_object_get(k, "uri"));
        if (!uri || json_object_get(seen, uri)) continue;
        if (keep_missing) {
            d->kept_missing++;
            continue;
        }
        if ((rc = delta_add(d, CATALOG_DELETE, k)) < 0) goto fail;
        d->removed++;
    }
    rc = NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    json_decref(by_uri);
    json_decref(seen);
    return rc;
}

int delta_write_drops(const delta *d, const json_t *known, const char *path, char *err,
                      size_t errlen) {
    json_t *by_uri = json_object(), *drops = json_array();
    int rc = NZ_ENOMEM;
    if (!by_uri || !drops) goto out;
    size_t i;
    json_t *k;
    json_array_foreach(known, i, k) {
        const char *uri = json_string_value(json_object_get(k, "uri"));
        if (uri && json_object_set(by_uri, uri, k) < 0) goto out;
    }
    for (i = 0; i < d->n; i++) { /* the old doc of a changed or removed source */
        if (d->changes[i].op == CATALOG_SEEN) continue;
        json_t *old = json_object_get(by_uri, d->changes[i].src.uri);
        json_t *id = json_object_get(old, "doc_id");
        if (id && json_array_append_new(drops, json_pack("{s:O}", "doc_id", id)) < 0) goto out;
    }
    out_stream out = {0};
    rc = NZ_EIO;
    if (out_open(&out, path) < 0) goto out;
    json_array_foreach(drops, i, k) {
        if (fprintf(out.fp, "%s\n", json_string_value(json_object_get(k, "doc_id"))) < 0) {
            out_abort(&out);
            goto out;
        }
    }
    if (out_finish(&out) == 0) rc = NZ_OK;
out:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    else if (rc == NZ_EIO) snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    json_decref(by_uri);
    json_decref(drops);
    return rc;
}

int delta_is_empty(const delta *d) {
    for (size_t i = 0; i < d->n; i++)
        if (d->changes[i].op != CATALOG_SEEN) return 0;
    return 1;
}

void delta_free(delta *d) {
    free(d->changes);
    json_decref(d->keep);
    memset(d, 0, sizeof *d);
}
