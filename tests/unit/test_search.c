/* test_search.c -- unit tests of the index library's named statuses and of
 * the manifest: query_parse and query_run (the statuses nz-serve maps to
 * HTTP and nz-index to exit codes), embedder_query, ingest_record, and
 * MANIFEST.json written by manifest_write and read back by manifest_read. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "embedder.h"
#include "ingest.h"
#include "manifest.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"

#define S_DIM 8

/* The request body last parsed: a text query borrows its string. */
static json_t *parsed_body;

static void parse_done(void) {
    json_decref(parsed_body);
    parsed_body = NULL;
}

static int parse_text(const char *json, query_req *q) {
    char err[256];
    parse_done();
    parsed_body = json_loads(json, 0, NULL);
    return query_parse(parsed_body, q, err, sizeof err);
}

UNIT_TEST(query_parse_refuses_with_einval_and_frees_the_vector) {
    query_req q;
    /* the vector is allocated before "exact" is checked: no leak (ASan) */
    CHECK(parse_text("{\"vector\":[1,2,3],\"exact\":1}", &q) == NZ_EINVAL);
    CHECK(q.vector == NULL);
    CHECK(parse_text("{\"vector\":[1,2,3],\"k\":0}", &q) == NZ_EINVAL && q.vector == NULL);
    CHECK(parse_text("{\"vector\":[1,2,3],\"filter\":{\"x\":1}}", &q) == NZ_EINVAL);
    CHECK(parse_text("{\"query\":\"a\",\"vector\":[1]}", &q) == NZ_EINVAL);
    CHECK(parse_text("[1]", &q) == NZ_EINVAL);
    CHECK(parse_text("{\"vector\":[1,2,3],\"exact\":true,\"k\":3}", &q) == NZ_OK);
    CHECK(q.vector_dim == 3 && q.exact == 1 && q.k == 3);
    query_free(&q);
    parse_done();
}

UNIT_TEST(embedder_query_names_its_failures) {
    float v[S_DIM];
    char err[256];
    CHECK(embedder_query("hash", "nz-hash-v1", S_DIM, "kata kunci", v, err, sizeof err) == NZ_OK);
    CHECK(embedder_query("hash", "nz-hash-v1", S_DIM, "  ", v, err, sizeof err) == NZ_EINVAL);
    CHECK(embedder_query("hash", "other", S_DIM, "kata", v, err, sizeof err) == NZ_EINVAL);
    CHECK(embedder_query("nosuch", "m", S_DIM, "kata", v, err, sizeof err) == NZ_EUNAVAILABLE);
}

/* A small flat snapshot in dir, rows from the unit vectors e_0..e_{n-1}. */
static int build_small(const char *dir, int n, const char *provider, const char *model) {
    char err[256];
    index_builder *b = builder_open(dir, err, sizeof err);
    if (!b) return -1;
    int rc = NZ_OK;
    for (int r = 0; r < n && rc == NZ_OK; r++) {
        float v[S_DIM] = {0};
        v[r % S_DIM] = 1;
        v[(r + 1) % S_DIM] = 0.5f;
        char id[16];
        snprintf(id, sizeof id, "c%d", r);
        builder_meta m = {.page = r};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = "d";
        rc = builder_add(b, v, S_DIM, &m, err, sizeof err);
    }
    manifest_build mb = {
        .snapshot = "snap-test", .created = 7, .tool = "t", .provider = provider, .model = model};
    if (rc == NZ_OK) rc = builder_finish(b, &mb, err, sizeof err);
    builder_free(b);
    return rc;
}

UNIT_TEST(query_run_returns_named_statuses) {
    const char *dir = unit_tmpdir();
    char err[256];
    CHECK(build_small(dir, 5, "nosuch", "m") == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL);
    json_t *ans = NULL;
    query_req q;
    CHECK(parse_text("{\"vector\":[1,0,0]}", &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &ans, err, sizeof err) == NZ_EINVAL && !ans); /* wrong dim */
    query_free(&q);
    CHECK(parse_text("{\"vector\":[0,0,0,0,0,0,0,0]}", &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &ans, err, sizeof err) == NZ_EINVAL && !ans); /* all zeros */
    query_free(&q);
    CHECK(parse_text("{\"query\":\"kata\"}", &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &ans, err, sizeof err) == NZ_EUNAVAILABLE && !ans);
    query_free(&q);
    CHECK(parse_text("{\"vector\":[0,0,1,0,0,0,0,0],\"k\":2}", &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &ans, err, sizeof err) == NZ_OK && ans);
    json_t *res = json_object_get(ans, "results");
    CHECK(json_array_size(res) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(res, 0), "chunk_id")), "c2");
    json_decref(ans);
    query_free(&q);
    parse_done();
    snapshot_close(s);
}

UNIT_TEST(manifest_written_once_and_read_back) {
    const char *dir = unit_tmpdir();
    char err[256], path[4096];
    CHECK(build_small(dir, 3, "hash", "nz-hash-v1") == NZ_OK);
    manifest_info mi;
    json_t *m = manifest_read(dir, &mi, err, sizeof err);
    CHECK(m != NULL);
    CHECK(mi.dim == S_DIM && mi.count == 3);
    CHECK_STR(mi.kind, "flat");
    CHECK_STR(mi.provider, "hash");
    CHECK(mi.created == 7);
    /* the keys, in the order snapshots have always had them ("lexical" since issue 14) */
    static const char *keys[] = {"format", "format_version", "snapshot", "created", "created_unix",
                                 "metric", "embedding",      "index",    "lexical", "build",
                                 "dim",    "count",          "files"};
    const char *key;
    json_t *val;
    size_t i = 0;
    json_object_foreach(m, key, val) {
        CHECK(i < sizeof keys / sizeof *keys);
        CHECK_STR(key, keys[i]);
        i++;
    }
    CHECK(i == sizeof keys / sizeof *keys);
    CHECK(json_array_size(json_object_get(m, "files")) == 3); /* with lexical.bin */
    json_decref(m);
    /* one trailing newline */
    snprintf(path, sizeof path, "%s/%s", dir, NZI_MANIFEST);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, -2, SEEK_END);
    int a = fgetc(f), b = fgetc(f);
    fclose(f);
    CHECK(a == '}' && b == '\n');
    /* an unknown kind is refused by the reader */
    manifest_build mb = {.snapshot = "x", .tool = "t", .provider = "p", .model = "m"};
    manifest_index ix = {
        .dim = 4, .count = 1, .nfiles = 2, .files = {{NZI_VECTORS, 80, 1}, {NZI_CHUNKS, 80, 2}}};
    json_t *packed = manifest_pack(&mb, &ix);
    CHECK(packed != NULL);
    json_object_set_new(json_object_get(packed, "index"), "kind", json_string("hnsw"));
    int wrc = json_dump_file(packed, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(packed);
    CHECK(wrc == 0);
    CHECK(manifest_read(dir, &mi, err, sizeof err) == NULL);
    CHECK(strstr(err, "unknown to this build") != NULL);
}

UNIT_TEST(ingest_record_rejects_with_einval) {
    const char *dir = unit_tmpdir();
    char err[256];
    ingest in = {0};
    CHECK((in.b = builder_open(dir, err, sizeof err)) != NULL);
    json_t *rec = json_pack("{s:s,s:s}", "model", "nz-hash-v1", "chunk_id", "c");
    CHECK(ingest_record(&in, rec, err, sizeof err) == NZ_EINVAL); /* no embedding */
    json_decref(rec);
    rec = json_pack("{s:s,s:s,s:s,s:s}", "embedding", "!!", "model", "nz-hash-v1", "chunk_id", "c",
                    "doc_id", "d");
    CHECK(ingest_record(&in, rec, err, sizeof err) == NZ_EINVAL); /* not base64 */
    CHECK(strstr(err, "base64") != NULL);
    json_decref(rec);
    /* "AACAPwAAAEA=" is float32 {1, 2} */
    rec = json_pack("{s:s,s:s,s:s,s:s}", "embedding", "AACAPwAAAEA=", "model", "nz-hash-v1",
                    "chunk_id", "c", "doc_id", "d");
    CHECK(ingest_record(&in, rec, err, sizeof err) == NZ_OK);
    CHECK_STR(in.provider, "hash");
    json_decref(rec);
    rec = json_pack("{s:s,s:s,s:s,s:s}", "embedding", "AACAPwAAAEA=", "model", "other", "chunk_id",
                    "c", "doc_id", "d");
    CHECK(ingest_record(&in, rec, err, sizeof err) == NZ_EINVAL); /* another model */
    json_decref(rec);
    CHECK(builder_count(in.b) == 1);
    builder_free(in.b);
}
