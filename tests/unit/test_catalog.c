/* test_catalog.c -- the run catalog (pipeline/catalog.h) on SQLite, and on
 * PostgreSQL when NZ_TEST_DATABASE_URL names a scratch database (the e2e
 * script tests/e2e/catalog_pg.sh starts a real server and sets it). Each
 * test starts from an empty catalog. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "status.h"
#include "unit.h"

static const char *catalog_test_url(void) {
    const char *u = getenv("NZ_TEST_DATABASE_URL");
    return u && *u ? u : NULL;
}

/* A fresh root, and on PostgreSQL an empty schema. */
static const char *catalog_test_root(void) {
    const char *root = unit_tmpdir();
    const char *url = catalog_test_url();
    if (url) {
        PGconn *pg = PQconnectdb(url);
        PQclear(PQexec(
            pg, "DROP TABLE IF EXISTS nz_items, nz_batches, nz_plans, nz_ratebudget, nz_pending, "
                "nz_sources, nz_rejects, nz_runs, nz_schema"));
        PQfinish(pg);
    }
    return root;
}

static catalog *catalog_test_open(const char *root) {
    char err[512];
    catalog *c = catalog_open(catalog_test_url(), root, err, sizeof err);
    if (!c) fprintf(stderr, "catalog_open: %s\n", err);
    return c;
}

UNIT_TEST(catalog_creates_its_schema_once) {
    const char *root = catalog_test_root();
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    CHECK(catalog_schema_version(c) == CATALOG_SCHEMA_VERSION);
    CHECK_STR(catalog_kind(c), catalog_test_url() ? "postgresql" : "sqlite");
    catalog_close(c);
    c = catalog_test_open(root); /* again: migrations are idempotent */
    CHECK(c != NULL);
    CHECK(catalog_schema_version(c) == CATALOG_SCHEMA_VERSION);
    catalog_close(c);
}

UNIT_TEST(catalog_records_a_run_from_start_to_end) {
    const char *root = catalog_test_root();
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    char holder[256], err[512];
    long long id = 0;
    int crashed = -1;
    CHECK(catalog_lock(c, holder, sizeof holder, err, sizeof err) == NZ_OK);
    CHECK(catalog_run_begin(c, &id, &crashed, err, sizeof err) == NZ_OK);
    CHECK(id == 1 && crashed == 0);
    json_t *runs = catalog_runs(c, 10, err, sizeof err);
    CHECK(runs && json_array_size(runs) == 1);
    json_t *r = json_array_get(runs, 0);
    CHECK_STR(json_string_value(json_object_get(r, "status")), "running");
    CHECK(json_is_null(json_object_get(r, "ended")));
    CHECK(json_integer_value(json_object_get(r, "pid")) > 0);
    json_decref(runs);
    json_t *sum = json_pack("{s:s,s:i}", "status", "published", "exit", 0);
    CHECK(catalog_run_finish(c, id, "published", "snap-1", sum, err, sizeof err) == NZ_OK);
    json_decref(sum);
    runs = catalog_runs(c, 10, err, sizeof err);
    r = json_array_get(runs, 0);
    CHECK_STR(json_string_value(json_object_get(r, "status")), "published");
    CHECK_STR(json_string_value(json_object_get(r, "snapshot")), "snap-1");
    CHECK(json_is_string(json_object_get(r, "ended")));
    CHECK(json_integer_value(json_object_get(json_object_get(r, "summary"), "exit")) == 0);
    json_decref(runs);
    catalog_close(c);
}

UNIT_TEST(catalog_refuses_a_second_writer_and_names_the_holder) {
    const char *root = catalog_test_root();
    catalog *a = catalog_test_open(root), *b = catalog_test_open(root);
    CHECK(a && b);
    char holder[256], err[512];
    long long id;
    int crashed;
    CHECK(catalog_lock(a, holder, sizeof holder, err, sizeof err) == NZ_OK);
    CHECK(catalog_run_begin(a, &id, &crashed, err, sizeof err) == NZ_OK);
    CHECK(catalog_lock(b, holder, sizeof holder, err, sizeof err) == NZ_EBUSY);
    CHECK(strstr(holder, "run 1, pid ") != NULL);
    CHECK(strstr(err, holder) != NULL);
    catalog_close(a); /* the holder goes: the lock goes with it */
    CHECK(catalog_lock(b, holder, sizeof holder, err, sizeof err) == NZ_OK);
    catalog_close(b);
}

UNIT_TEST(catalog_marks_a_dead_run_crashed) {
    const char *root = catalog_test_root();
    catalog *a = catalog_test_open(root);
    CHECK(a != NULL);
    char holder[256], err[512];
    long long id1, id2;
    int crashed;
    CHECK(catalog_lock(a, holder, sizeof holder, err, sizeof err) == NZ_OK);
    CHECK(catalog_run_begin(a, &id1, &crashed, err, sizeof err) == NZ_OK);
    catalog_close(a); /* dies without finishing */
    catalog *b = catalog_test_open(root);
    CHECK(b != NULL);
    CHECK(catalog_lock(b, holder, sizeof holder, err, sizeof err) == NZ_OK);
    CHECK(catalog_run_begin(b, &id2, &crashed, err, sizeof err) == NZ_OK);
    CHECK(crashed == 1 && id2 == id1 + 1);
    json_t *runs = catalog_runs(b, 1, err, sizeof err); /* --last 1: the newest */
    CHECK(runs && json_array_size(runs) == 1);
    CHECK(json_integer_value(json_object_get(json_array_get(runs, 0), "id")) == id2);
    json_decref(runs);
    runs = catalog_runs(b, 10, err, sizeof err);
    CHECK(json_array_size(runs) == 2);
    json_t *old = json_array_get(runs, 1);
    CHECK_STR(json_string_value(json_object_get(old, "status")), "crashed");
    CHECK(json_is_string(json_object_get(old, "ended")));
    json_decref(runs);
    catalog_close(b);
}

UNIT_TEST(catalog_keeps_rejects_byte_for_byte) {
    const char *root = catalog_test_root();
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    char holder[256], err[512];
    long long id;
    int crashed;
    CHECK(catalog_lock(c, holder, sizeof holder, err, sizeof err) == NZ_OK);
    CHECK(catalog_run_begin(c, &id, &crashed, err, sizeof err) == NZ_OK);
    const char *uri = "file:///tmp/it's \"quoted\"; DROP TABLE nz_runs; --.pdf";
    const char *why = "unsupported binary content $1 ?1 é 中";
    CHECK(catalog_reject(c, id, "extract", uri, why, err, sizeof err) == NZ_OK);
    CHECK(catalog_reject(c, id, "embed", "file:///a", "empty text", err, sizeof err) == NZ_OK);
    json_t *rj = catalog_rejects(c, id, err, sizeof err);
    CHECK(rj && json_array_size(rj) == 2);
    json_t *r = json_array_get(rj, 1); /* ordered by uri */
    CHECK_STR(json_string_value(json_object_get(r, "uri")), uri);
    CHECK_STR(json_string_value(json_object_get(r, "reason")), why);
    CHECK_STR(json_string_value(json_object_get(r, "stage")), "extract");
    CHECK(json_integer_value(json_object_get(r, "run")) == id);
    json_decref(rj);
    json_t *runs = catalog_runs(c, 10, err, sizeof err); /* the table survived */
    CHECK(runs && json_array_size(runs) == 1);
    json_decref(runs);
    catalog_close(c);
}

UNIT_TEST(catalog_refuses_a_newer_schema) {
    const char *root = catalog_test_root();
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    catalog_close(c);
    const char *url = catalog_test_url();
    if (url) {
        PGconn *pg = PQconnectdb(url);
        PQclear(PQexec(pg, "UPDATE nz_schema SET version = 99"));
        PQfinish(pg);
    } else {
        char path[4200];
        snprintf(path, sizeof path, "%s/catalog.sqlite", root);
        sqlite3 *db;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "UPDATE nz_schema SET version = 99", NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
    }
    char err[512];
    CHECK(catalog_open(url, root, err, sizeof err) == NULL);
    CHECK(strstr(err, "version 99, newer than this program") != NULL);
}

static char *catalog_test_chunks(void *ctx, const char *doc_id) {
    (void)ctx;
    char *s = NULL;
    if (asprintf(&s, "[\"%s-c1\",\"%s-c2\"]", doc_id, doc_id) < 0) return NULL;
    return s;
}

/* A run that began, with the lock held. */
static long long catalog_test_run(catalog *c) {
    char holder[256], err[512];
    long long id = -1;
    int crashed;
    if (catalog_lock(c, holder, sizeof holder, err, sizeof err) != NZ_OK ||
        catalog_run_begin(c, &id, &crashed, err, sizeof err) != NZ_OK)
        return -1;
    return id;
}

UNIT_TEST(catalog_sources_are_staged_then_applied) {
    const char *root = catalog_test_root();
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    char err[512];
    long long r1 = catalog_test_run(c);
    CHECK(r1 == 1);
    catalog_change ch[] = {
        {CATALOG_PUT, {"file:///a.md", "aa", NULL, NULL, "doc-a", 10, 100}},
        {CATALOG_PUT,
         {"https://x/b", NULL, "\"e1\"", "Mon, 01 Dec 2026 00:00:00 GMT", "doc-b", 20, -1}},
    };
    CHECK(catalog_stage(c, r1, ch, 2, err, sizeof err) == NZ_OK);
    json_t *src = catalog_sources(c, 0, err, sizeof err);
    CHECK(src && json_array_size(src) == 0); /* staged: not visible yet */
    json_decref(src);
    long long *ids = NULL;
    size_t n = 0;
    CHECK(catalog_staged_runs(c, &ids, &n, err, sizeof err) == NZ_OK && n == 1 && ids[0] == r1);
    free(ids);
    CHECK(catalog_apply(c, r1, catalog_test_chunks, NULL, "published", "snap-1", NULL, err,
                        sizeof err) == NZ_OK);
    src = catalog_sources(c, 0, err, sizeof err);
    CHECK(src && json_array_size(src) == 2);
    json_t *a = json_array_get(src, 0), *b = json_array_get(src, 1);
    CHECK_STR(json_string_value(json_object_get(a, "uri")), "file:///a.md");
    CHECK(json_integer_value(json_object_get(a, "size")) == 10);
    CHECK(json_integer_value(json_object_get(a, "mtime")) == 100);
    CHECK_STR(json_string_value(json_object_get(a, "sha256")), "aa");
    CHECK(json_array_size(json_object_get(a, "chunk_ids")) == 2);
    CHECK_STR(json_string_value(json_array_get(json_object_get(a, "chunk_ids"), 0)), "doc-a-c1");
    CHECK(json_integer_value(json_object_get(a, "first_seen")) == r1);
    CHECK_STR(json_string_value(json_object_get(b, "etag")), "\"e1\"");
    CHECK(json_is_null(json_object_get(b, "mtime")));
    json_decref(src);
    CHECK(catalog_staged_runs(c, &ids, &n, err, sizeof err) == NZ_OK && n == 0);
    free(ids);
    catalog_close(c);

    /* run 2: a is unchanged (touched), b changed, a new c; then run 3 drops b */
    c = catalog_test_open(root);
    long long r2 = catalog_test_run(c);
    CHECK(r2 == 2);
    catalog_change ch2[] = {
        {CATALOG_SEEN, {"file:///a.md", NULL, NULL, NULL, NULL, -1, 200}},
        {CATALOG_PUT, {"https://x/b", NULL, "\"e2\"", NULL, "doc-b", 21, -1}},
        {CATALOG_PUT, {"file:///c.md", "cc", NULL, NULL, "doc-c", 5, 50}},
    };
    CHECK(catalog_stage(c, r2, ch2, 3, err, sizeof err) == NZ_OK);
    CHECK(catalog_apply(c, r2, catalog_test_chunks, NULL, "published", "snap-2", NULL, err,
                        sizeof err) == NZ_OK);
    src = catalog_sources(c, r1, err, sizeof err); /* --changed-since 1 */
    CHECK(src && json_array_size(src) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(src, 0), "uri")), "file:///c.md");
    CHECK_STR(json_string_value(json_object_get(json_array_get(src, 1), "etag")), "\"e2\"");
    json_decref(src);
    src = catalog_sources(c, 0, err, sizeof err);
    a = json_array_get(src, 0);
    CHECK(json_integer_value(json_object_get(a, "mtime")) == 200);
    CHECK(json_integer_value(json_object_get(a, "last_seen")) == r2);
    CHECK(json_integer_value(json_object_get(a, "last_changed")) == r1);
    CHECK(json_integer_value(json_object_get(json_array_get(src, 2), "first_seen")) == r1); /* b */
    json_decref(src);
    catalog_close(c);

    c = catalog_test_open(root);
    long long r3 = catalog_test_run(c);
    catalog_change ch3[] = {{CATALOG_DELETE, {"https://x/b", NULL, NULL, NULL, NULL, -1, -1}}};
    CHECK(catalog_stage(c, r3, ch3, 1, err, sizeof err) == NZ_OK);
    CHECK(catalog_discard(c, r3, err, sizeof err) == NZ_OK); /* it published nothing */
    src = catalog_sources(c, 0, err, sizeof err);
    CHECK(json_array_size(src) == 3);
    json_decref(src);
    CHECK(catalog_stage(c, r3, ch3, 1, err, sizeof err) == NZ_OK);
    CHECK(catalog_apply(c, r3, catalog_test_chunks, NULL, "published", "snap-3", NULL, err,
                        sizeof err) == NZ_OK);
    src = catalog_sources(c, 0, err, sizeof err);
    CHECK(json_array_size(src) == 2);
    json_decref(src);
    json_t *runs = catalog_runs(c, 1, err, sizeof err);
    CHECK_STR(json_string_value(json_object_get(json_array_get(runs, 0), "snapshot")), "snap-3");
    json_decref(runs);
    catalog_close(c);
}

UNIT_TEST(catalog_migrates_a_version_1_catalog) {
    const char *root = catalog_test_root();
    if (catalog_test_url()) return; /* the schema steps are the same SQL on both */
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog.sqlite", root);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE nz_schema (version INTEGER NOT NULL);"
                       "INSERT INTO nz_schema VALUES (1);"
                       "CREATE TABLE nz_runs (id BIGINT PRIMARY KEY, started TEXT NOT NULL, ended "
                       "TEXT, status TEXT NOT NULL, snapshot TEXT, host TEXT NOT NULL, pid BIGINT "
                       "NOT NULL, summary TEXT);"
                       "INSERT INTO nz_runs VALUES (1, 't', 't', 'published', 's', 'h', 1, NULL);"
                       "CREATE TABLE nz_rejects (run_id BIGINT NOT NULL, stage TEXT NOT NULL, uri "
                       "TEXT NOT NULL, reason TEXT NOT NULL);",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    catalog *c = catalog_test_open(root);
    CHECK(c != NULL);
    CHECK(catalog_schema_version(c) == CATALOG_SCHEMA_VERSION);
    char err[512];
    json_t *runs = catalog_runs(c, 5, err, sizeof err); /* the old rows are kept */
    CHECK(runs && json_array_size(runs) == 1);
    json_decref(runs);
    json_t *src = catalog_sources(c, 0, err, sizeof err);
    CHECK(src && json_array_size(src) == 0);
    json_decref(src);
    catalog_close(c);
}
