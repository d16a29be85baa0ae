/* catalog_sources.c -- the sources half of the catalog (catalog.h): what
 * each source was when a run last saw it, and the changes a run stages
 * until its snapshot is published. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_impl.h"
#include "status.h"

/* A number as a parameter: NULL when unknown (negative). */
static const char *catalog_num(char *buf, size_t len, long long v) {
    if (v < 0) return NULL;
    snprintf(buf, len, "%lld", v);
    return buf;
}

json_t *catalog_sources(catalog *c, long long changed_since, char *err, size_t errlen) {
    static const char *const names[] = {"uri",        "size",          "mtime",     "sha256",
                                        "etag",       "last_modified", "doc_id",    "chunk_ids",
                                        "first_seen", "last_changed",  "last_seen", NULL};
    char since[32];
    snprintf(since, sizeof since, "%lld", changed_since > 0 ? changed_since : 0);
    const char *p[] = {since};
    return catalog_select(c,
                          "SELECT uri, size, mtime, sha256, etag, last_modified, doc_id, "
                          "chunk_ids, first_seen, last_changed, last_seen FROM nz_sources "
                          "WHERE last_changed > $1 ORDER BY uri",
                          1, p, names, err, errlen);
}

int catalog_stage_rows(catalog *c, long long run_id, const catalog_change *ch, size_t n, char *err,
                       size_t errlen) {
    static const char *const ops[] = {
        [CATALOG_PUT] = "put", [CATALOG_SEEN] = "seen", [CATALOG_DELETE] = "delete"};
    char id[32], size[32], mtime[32];
    snprintf(id, sizeof id, "%lld", run_id);
    int rc = NZ_OK;
    for (size_t i = 0; rc == NZ_OK && i < n; i++) {
        const catalog_source *s = &ch[i].src;
        const char *p[] = {id,
                           ops[ch[i].op],
                           s->uri,
                           catalog_num(size, sizeof size, s->size),
                           catalog_num(mtime, sizeof mtime, s->mtime),
                           s->sha256,
                           s->etag,
                           s->last_modified,
                           s->doc_id};
        rc = catalog_exec(c,
                          "INSERT INTO nz_pending (run_id, op, uri, size, mtime, sha256, etag, "
                          "last_modified, doc_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                          9, p, NULL, NULL, err, errlen);
    }
    return rc;
}

int catalog_stage(catalog *c, long long run_id, const catalog_change *ch, size_t n, char *err,
                  size_t errlen) {
    int rc = catalog_begin_write(c, err, errlen);
    if (rc == NZ_OK) rc = catalog_stage_rows(c, run_id, ch, n, err, errlen);
    return catalog_end(c, rc, err, errlen);
}

/* One staged change, applied. */
static int catalog_apply_one(catalog *c, const char *run, json_t *row, catalog_chunk_ids_fn fn,
                             void *ctx, char *err, size_t errlen) {
    const char *op = json_string_value(json_object_get(row, "op"));
    const char *uri = json_string_value(json_object_get(row, "uri"));
    char size[32], mtime[32];
    const char *psize = NULL, *pmtime = NULL;
    json_t *js = json_object_get(row, "size"), *jm = json_object_get(row, "mtime");
    if (json_is_integer(js)) psize = catalog_num(size, sizeof size, json_integer_value(js));
    if (json_is_integer(jm)) pmtime = catalog_num(mtime, sizeof mtime, json_integer_value(jm));
    if (!op || !uri) {
        snprintf(err, errlen, "a staged change has no op or uri");
        return NZ_ECORRUPT;
    }
    if (strcmp(op, "delete") == 0) {
        const char *p[] = {uri};
        return catalog_exec(c, "DELETE FROM nz_sources WHERE uri = $1", 1, p, NULL, NULL, err,
                            errlen);
    }
    if (strcmp(op, "seen") == 0) {
        const char *p[] = {uri, run, pmtime};
        return catalog_exec(c,
                            "UPDATE nz_sources SET last_seen = $2, mtime = COALESCE($3, mtime) "
                            "WHERE uri = $1",
                            3, p, NULL, NULL, err, errlen);
    }
    const char *doc_id = json_string_value(json_object_get(row, "doc_id"));
    char *chunk_ids = fn(ctx, doc_id ? doc_id : "");
    if (!chunk_ids) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    const char *p[] = {uri,
                       psize,
                       pmtime,
                       json_string_value(json_object_get(row, "sha256")),
                       json_string_value(json_object_get(row, "etag")),
                       json_string_value(json_object_get(row, "last_modified")),
                       doc_id ? doc_id : "",
                       chunk_ids,
                       run};
    int rc = catalog_exec(
        c,
        "INSERT INTO nz_sources (uri, size, mtime, sha256, etag, last_modified, doc_id, "
        "chunk_ids, first_seen, last_changed, last_seen) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) "
        "ON CONFLICT (uri) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
        "sha256 = excluded.sha256, etag = excluded.etag, last_modified = excluded.last_modified, "
        "doc_id = excluded.doc_id, chunk_ids = excluded.chunk_ids, "
        "last_changed = excluded.last_changed, last_seen = excluded.last_seen",
        9, p, NULL, NULL, err, errlen);
    free(chunk_ids);
    return rc;
}

int catalog_apply(catalog *c, long long run_id, catalog_chunk_ids_fn fn, void *ctx,
                  const char *status, const char *snapshot, const json_t *summary, char *err,
                  size_t errlen) {
    static const char *const names[] = {"op",   "uri",           "size",   "mtime", "sha256",
                                        "etag", "last_modified", "doc_id", NULL};
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *p[] = {run};
    json_t *rows = NULL;
    int rc = catalog_begin_write(c, err, errlen);
    if (rc < 0) return rc;
    rows = catalog_select(c,
                          "SELECT op, uri, size, mtime, sha256, etag, last_modified, doc_id "
                          "FROM nz_pending WHERE run_id = $1",
                          1, p, names, err, errlen);
    if (!rows) rc = NZ_EIO;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (rc != NZ_OK) break;
        rc = catalog_apply_one(c, run, row, fn, ctx, err, errlen);
    }
    if (rc == NZ_OK)
        rc = catalog_exec(c, "DELETE FROM nz_pending WHERE run_id = $1", 1, p, NULL, NULL, err,
                          errlen);
    if (rc == NZ_OK) rc = catalog_run_finish(c, run_id, status, snapshot, summary, err, errlen);
    json_decref(rows);
    return catalog_end(c, rc, err, errlen);
}

int catalog_discard(catalog *c, long long run_id, char *err, size_t errlen) {
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *p[] = {run};
    return catalog_exec(c, "DELETE FROM nz_pending WHERE run_id = $1", 1, p, NULL, NULL, err,
                        errlen);
}

typedef struct catalog_ids {
    long long *v;
    size_t n, cap;
    int failed;
} catalog_ids;

static int catalog_push_id(void *ctx, int ncols, const char *const *vals) {
    catalog_ids *ids = ctx;
    if (ncols < 1 || !vals[0]) return 0;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 8;
        long long *nv = realloc(ids->v, cap * sizeof *nv);
        if (!nv) {
            ids->failed = 1;
            return 1;
        }
        ids->v = nv;
        ids->cap = cap;
    }
    ids->v[ids->n++] = atoll(vals[0]);
    return 0;
}

int catalog_staged_runs(catalog *c, long long **ids, size_t *n, char *err, size_t errlen) {
    catalog_ids got = {0};
    int rc = catalog_exec(c,
                          "SELECT DISTINCT run_id FROM nz_pending WHERE run_id NOT IN "
                          "(SELECT id FROM nz_runs WHERE status = 'planned') ORDER BY run_id",
                          0, NULL, catalog_push_id, &got, err, errlen);
    if (rc == NZ_OK && got.failed) {
        snprintf(err, errlen, "out of memory");
        rc = NZ_ENOMEM;
    }
    if (rc < 0) {
        free(got.v);
        return rc;
    }
    *ids = got.v;
    *n = got.n;
    return NZ_OK;
}
