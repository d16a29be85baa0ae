/* catalog.c -- see catalog.h. The schema and every statement live here,
 * written once for both backends (catalog_backend.h). */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "catalog_impl.h"
#include "status.h"

#define CATALOG_SQLITE_FILE "catalog.sqlite"
#define CATALOG_LOCK_FILE ".pipeline.lock"

/* Migrations, in order: the schema at version N is migrations 1..N. A
 * migration is never edited once released; a change is a new one. */
static const char *const catalog_v1[] = {
    "CREATE TABLE nz_runs (id BIGINT PRIMARY KEY, started TEXT NOT NULL, ended TEXT, "
    "status TEXT NOT NULL, snapshot TEXT, host TEXT NOT NULL, pid BIGINT NOT NULL, summary TEXT)",
    "CREATE INDEX nz_runs_status ON nz_runs (status)",
    "CREATE TABLE nz_rejects (run_id BIGINT NOT NULL REFERENCES nz_runs (id), "
    "stage TEXT NOT NULL, uri TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE INDEX nz_rejects_run ON nz_rejects (run_id)", NULL};
/* 2: the sources a run saw, and the changes a run stages until its
 * snapshot is published (catalog_sources.c) */
static const char *const catalog_v2[] = {
    "CREATE TABLE nz_sources (uri TEXT PRIMARY KEY, size BIGINT, mtime BIGINT, sha256 TEXT, "
    "etag TEXT, last_modified TEXT, doc_id TEXT NOT NULL, chunk_ids TEXT NOT NULL, "
    "first_seen BIGINT NOT NULL, last_changed BIGINT NOT NULL, last_seen BIGINT NOT NULL)",
    "CREATE INDEX nz_sources_changed ON nz_sources (last_changed)",
    "CREATE TABLE nz_pending (run_id BIGINT NOT NULL REFERENCES nz_runs (id), op TEXT NOT NULL, "
    "uri TEXT NOT NULL, size BIGINT, mtime BIGINT, sha256 TEXT, etag TEXT, last_modified TEXT, "
    "doc_id TEXT)",
    "CREATE INDEX nz_pending_run ON nz_pending (run_id)", NULL};
/* 3: distributed runs (catalog_work.h): a plan's batches of sources, the
 * lease on each and the shard it produced, and the shared rate budget
 * (lib/ratebudget.h). Portable SQL: SQLite creates them too, though only
 * PostgreSQL runs plan, work and finish. */
static const char *const catalog_v3[] = {
    "CREATE TABLE nz_plans (run_id BIGINT PRIMARY KEY REFERENCES nz_runs (id), "
    "created TEXT NOT NULL, store TEXT NOT NULL, batch_size BIGINT NOT NULL, "
    "items BIGINT NOT NULL, batches BIGINT NOT NULL, base TEXT, options TEXT)",
    "CREATE TABLE nz_batches (run_id BIGINT NOT NULL REFERENCES nz_plans (run_id), "
    "batch BIGINT NOT NULL, state TEXT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, "
    "attempts BIGINT NOT NULL DEFAULT 0, shard TEXT, shard_bytes BIGINT, done_by TEXT, "
    "PRIMARY KEY (run_id, batch))",
    "CREATE INDEX nz_batches_state ON nz_batches (run_id, state)",
    "CREATE TABLE nz_items (run_id BIGINT NOT NULL, batch BIGINT NOT NULL, ord BIGINT NOT NULL, "
    "source TEXT NOT NULL, PRIMARY KEY (run_id, batch, ord))",
    "CREATE TABLE nz_ratebudget (name TEXT PRIMARY KEY, req DOUBLE PRECISION NOT NULL, "
    "tok DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL, granted INTEGER)",
    NULL};
static const char *const *const catalog_migrations[] = {catalog_v1, catalog_v2, catalog_v3};
#define CATALOG_VERSION ((int)(sizeof catalog_migrations / sizeof *catalog_migrations))
_Static_assert(sizeof catalog_migrations / sizeof *catalog_migrations == CATALOG_SCHEMA_VERSION,
               "CATALOG_SCHEMA_VERSION is the number of migrations");

void catalog_now(char out[32]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int catalog_exec(catalog *c, const char *sql, int nparams, const char *const *params,
                 catalog_row_fn fn, void *ctx, char *err, size_t errlen) {
    return c->be->exec(c->db, sql, nparams, params, fn, ctx, NULL, err, errlen);
}

int catalog_begin_write(catalog *c, char *err, size_t errlen) {
    int rc = catalog_exec(c, c->be->begin_write_sql, 0, NULL, NULL, NULL, err, errlen);
    if (rc == NZ_OK && c->be->serialize_sql)
        rc = catalog_exec(c, c->be->serialize_sql, 0, NULL, NULL, NULL, err, errlen);
    return rc;
}

int catalog_end(catalog *c, int rc, char *err, size_t errlen) {
    char e2[256];
    if (rc == NZ_OK) return catalog_exec(c, "COMMIT", 0, NULL, NULL, NULL, err, errlen);
    catalog_exec(c, "ROLLBACK", 0, NULL, NULL, NULL, e2, sizeof e2);
    return rc;
}

int catalog_first_long(void *ctx, int ncols, const char *const *vals) {
    *(long long *)ctx = ncols > 0 && vals[0] ? atoll(vals[0]) : -1;
    return 1;
}

static int catalog_migrate(catalog *c, char *err, size_t errlen) {
    long long version = -1;
    int rc = catalog_begin_write(c, err, errlen);
    if (rc < 0) return rc;
    rc = catalog_exec(c, "CREATE TABLE IF NOT EXISTS nz_schema (version INTEGER NOT NULL)", 0, NULL,
                      NULL, NULL, err, errlen);
    if (rc == NZ_OK)
        rc = catalog_exec(c, "SELECT version FROM nz_schema", 0, NULL, catalog_first_long, &version,
                          err, errlen);
    if (rc == NZ_OK && version < 0) {
        version = 0;
        rc = catalog_exec(c, "INSERT INTO nz_schema (version) VALUES (0)", 0, NULL, NULL, NULL, err,
                          errlen);
    }
    if (rc == NZ_OK && version > CATALOG_VERSION) {
        snprintf(err, errlen,
                 "the catalog's schema is version %lld, newer than this program's %d: upgrade "
                 "nz-pipeline",
                 version, CATALOG_VERSION);
        rc = NZ_EINVAL;
    }
    for (int v = (int)version; rc == NZ_OK && v < CATALOG_VERSION; v++) {
        for (const char *const *sql = catalog_migrations[v]; rc == NZ_OK && *sql; sql++)
            rc = catalog_exec(c, *sql, 0, NULL, NULL, NULL, err, errlen);
        char next[16];
        snprintf(next, sizeof next, "%d", v + 1);
        const char *p[] = {next};
        if (rc == NZ_OK)
            rc =
                catalog_exec(c, "UPDATE nz_schema SET version = $1", 1, p, NULL, NULL, err, errlen);
    }
    return catalog_end(c, rc, err, errlen);
}

catalog *catalog_open(const char *database_url, const char *index_root, char *err, size_t errlen) {
    catalog *c = calloc(1, sizeof *c);
    char *path = NULL, *lock = NULL;
    if (!c) goto oom;
    if (gethostname(c->host, sizeof c->host) < 0) snprintf(c->host, sizeof c->host, "unknown");
    c->host[sizeof c->host - 1] = '\0';
    if (database_url && *database_url) {
        c->be = &catalog_pg_backend;
        c->db = catalog_pg_open(database_url, err, errlen);
    } else {
        c->be = &catalog_sqlite_backend;
        if (mkdir_p(index_root, 0755) < 0) {
            snprintf(err, errlen, "cannot create %s: %m", index_root);
            goto fail;
        }
        if (asprintf(&path, "%s/%s", index_root, CATALOG_SQLITE_FILE) < 0) path = NULL;
        if (asprintf(&lock, "%s/%s", index_root, CATALOG_LOCK_FILE) < 0) lock = NULL;
        if (!path || !lock) goto oom;
        c->db = catalog_sqlite_open(path, lock, err, errlen);
    }
    if (!c->db || catalog_migrate(c, err, errlen) < 0) goto fail;
    free(path);
    free(lock);
    return c;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(path);
    free(lock);
    catalog_close(c);
    return NULL;
}

void catalog_close(catalog *c) {
    if (!c) return;
    if (c->db) c->be->close(c->db);
    free(c);
}

const char *catalog_kind(const catalog *c) { return c->be->kind; }

int catalog_schema_version(catalog *c) {
    long long v = -1;
    char err[256];
    if (catalog_exec(c, "SELECT version FROM nz_schema", 0, NULL, catalog_first_long, &v, err,
                     sizeof err) < 0)
        return -1;
    return (int)v;
}

/* "run 7, pid 123 on host, since T" for the run holding the lock. */
static int catalog_holder_row(void *ctx, int ncols, const char *const *vals) {
    char **out = ctx;
    if (ncols >= 4 &&
        asprintf(out, "run %s, pid %s on %s, since %s", vals[0] ? vals[0] : "?",
                 vals[2] ? vals[2] : "?", vals[1] ? vals[1] : "?", vals[3] ? vals[3] : "?") < 0)
        *out = NULL;
    return 1;
}

int catalog_lock(catalog *c, char *holder, size_t holderlen, char *err, size_t errlen) {
    int rc = c->be->try_lock(c->db, err, errlen);
    if (rc != NZ_EBUSY) return rc;
    char *who = NULL, e2[256];
    catalog_exec(c,
                 "SELECT id, host, pid, started FROM nz_runs WHERE status = 'running' "
                 "ORDER BY id DESC LIMIT 1",
                 0, NULL, catalog_holder_row, &who, e2, sizeof e2);
    snprintf(holder, holderlen, "%s", who ? who : "another nz-pipeline run (starting)");
    free(who);
    snprintf(err, errlen, "another run holds the catalog's writer lock: %s", holder);
    return NZ_EBUSY;
}

int catalog_run_begin(catalog *c, long long *run_id, int *crashed, char *err, size_t errlen) {
    char now[32], id[32], pid[32];
    long long left = 0, next = 0;
    catalog_now(now);
    int rc = catalog_begin_write(c, err, errlen);
    if (rc < 0) return rc;
    const char *p_now[] = {now};
    rc = catalog_exec(c, "SELECT count(*) FROM nz_runs WHERE status = 'running'", 0, NULL,
                      catalog_first_long, &left, err, errlen);
    if (rc == NZ_OK && left > 0)
        rc = catalog_exec(c,
                          "UPDATE nz_runs SET status = 'crashed', ended = $1 "
                          "WHERE status = 'running'",
                          1, p_now, NULL, NULL, err, errlen);
    if (rc == NZ_OK)
        rc = catalog_exec(c, "SELECT COALESCE(MAX(id), 0) + 1 FROM nz_runs", 0, NULL,
                          catalog_first_long, &next, err, errlen);
    snprintf(id, sizeof id, "%lld", next);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *p_run[] = {id, now, c->host, pid};
    if (rc == NZ_OK)
        rc = catalog_exec(c,
                          "INSERT INTO nz_runs (id, started, status, host, pid) "
                          "VALUES ($1, $2, 'running', $3, $4)",
                          4, p_run, NULL, NULL, err, errlen);
    rc = catalog_end(c, rc, err, errlen);
    if (rc == NZ_OK) {
        *run_id = next;
        *crashed = (int)left;
    }
    return rc;
}

int catalog_run_finish(catalog *c, long long run_id, const char *status, const char *snapshot,
                       const json_t *summary, char *err, size_t errlen) {
    char now[32], id[32];
    catalog_now(now);
    snprintf(id, sizeof id, "%lld", run_id);
    char *text = summary ? json_dumps(summary, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (summary && !text) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    const char *p[] = {id, now, status, snapshot, text};
    int rc = catalog_exec(c,
                          "UPDATE nz_runs SET ended = $2, status = $3, snapshot = $4, summary = $5 "
                          "WHERE id = $1",
                          5, p, NULL, NULL, err, errlen);
    free(text);
    return rc;
}

int catalog_reject(catalog *c, long long run_id, const char *stage, const char *uri,
                   const char *reason, char *err, size_t errlen) {
    char id[32];
    snprintf(id, sizeof id, "%lld", run_id);
    const char *p[] = {id, stage, uri, reason};
    return catalog_exec(
        c, "INSERT INTO nz_rejects (run_id, stage, uri, reason) VALUES ($1, $2, $3, $4)", 4, p,
        NULL, NULL, err, errlen);
}

static int catalog_is_number(const char *column) {
    static const char *const numbers[] = {
        "id",         "pid",          "run",       "size",       "mtime",
        "first_seen", "last_changed", "last_seen", "batch",      "bytes",
        "attempts",   "items",        "batches",   "batch_size", NULL};
    for (const char *const *n = numbers; *n; n++)
        if (strcmp(*n, column) == 0) return 1;
    return 0;
}

int catalog_row_json(void *ctx, int ncols, const char *const *vals) {
    catalog_rows *r = ctx;
    json_t *o = json_object();
    if (!o) goto fail;
    for (int i = 0; i < ncols && r->names[i]; i++) {
        const char *name = r->names[i];
        json_t *v;
        if (!vals[i]) v = json_null();
        else if (catalog_is_number(name)) v = json_integer(atoll(vals[i]));
        else if (!strcmp(name, "summary") || !strcmp(name, "chunk_ids"))
            v = json_loads(vals[i], 0, NULL);
        else v = json_string(vals[i]);
        if (json_object_set_new(o, name, v ? v : json_null()) < 0) goto fail;
    }
    if (json_array_append_new(r->arr, o) == 0) return 0;
    o = NULL;
fail:
    json_decref(o);
    r->failed = 1;
    return 1;
}

json_t *catalog_select(catalog *c, const char *sql, int nparams, const char *const *params,
                       const char *const *names, char *err, size_t errlen) {
    catalog_rows r = {.arr = json_array(), .names = names};
    if (!r.arr) goto oom;
    if (catalog_exec(c, sql, nparams, params, catalog_row_json, &r, err, errlen) < 0) goto fail;
    if (r.failed) goto oom;
    return r.arr;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(r.arr);
    return NULL;
}

json_t *catalog_runs(catalog *c, int last, char *err, size_t errlen) {
    static const char *const names[] = {"id",   "started", "ended",   "status", "snapshot",
                                        "host", "pid",     "summary", NULL};
    char n[16];
    snprintf(n, sizeof n, "%d", last);
    const char *p[] = {n};
    return catalog_select(c,
                          "SELECT id, started, ended, status, snapshot, host, pid, summary "
                          "FROM nz_runs ORDER BY id DESC LIMIT $1",
                          1, p, names, err, errlen);
}

static int catalog_first_text(void *ctx, int ncols, const char *const *vals) {
    char **out = ctx;
    if (ncols > 0 && vals[0]) *out = strdup(vals[0]);
    return 1;
}

char *catalog_run_snapshot(catalog *c, long long run_id) {
    char id[32], err[256], *snap = NULL;
    snprintf(id, sizeof id, "%lld", run_id);
    const char *p[] = {id};
    catalog_exec(c, "SELECT snapshot FROM nz_runs WHERE id = $1", 1, p, catalog_first_text, &snap,
                 err, sizeof err);
    return snap;
}

json_t *catalog_rejects(catalog *c, long long run_id, char *err, size_t errlen) {
    static const char *const names[] = {"run", "stage", "uri", "reason", NULL};
    char id[32];
    snprintf(id, sizeof id, "%lld", run_id);
    const char *p[] = {id};
    if (run_id > 0)
        return catalog_select(c,
                              "SELECT run_id, stage, uri, reason FROM nz_rejects "
                              "WHERE run_id = $1 ORDER BY uri, stage",
                              1, p, names, err, errlen);
    return catalog_select(
        c, "SELECT run_id, stage, uri, reason FROM nz_rejects ORDER BY run_id, uri, stage", 0, NULL,
        names, err, errlen);
}
