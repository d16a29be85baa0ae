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
        PQclear(PQexec(pg, "DROP TABLE IF EXISTS nz_rejects, nz_runs, nz_schema"));
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
    CHECK(catalog_schema_version(c) == 1);
    CHECK_STR(catalog_kind(c), catalog_test_url() ? "postgresql" : "sqlite");
    catalog_close(c);
    c = catalog_test_open(root); /* again: migrations are idempotent */
    CHECK(c != NULL);
    CHECK(catalog_schema_version(c) == 1);
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
