/* test_search.c -- unit tests of the index library's named statuses and of
 * the manifest: query_parse and query_run (the statuses nz-serve maps to
 * HTTP and nz-index to exit codes; query_limits, base64 vectors, the depth
 * scan), embedder_query, ingest_record, MANIFEST.json written by
 * manifest_write and read back by manifest_read, and the snapshot holder
 * nz-serve swaps them with (holder_expect, holder_refused). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "embedder.h"
#include "holder.h"
#include "jsonl.h"
#include "ingest.h"
#include "manifest.h"
#include "publish.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"
#include "vecb64.h"

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
    return query_parse(parsed_body, NULL, q, err, sizeof err);
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
    /* named after its folder (a staging .tmp-NAME counts as NAME), as verify checks */
    const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    if (!strncmp(name, NZI_TMP_PREFIX, strlen(NZI_TMP_PREFIX))) name += strlen(NZI_TMP_PREFIX);
    manifest_build mb = {
        .snapshot = name, .created = 7, .tool = "t", .provider = provider, .model = model};
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

/* parse body bytes; the message in parse_err */
static char parse_err[512];
static int parse_bytes(const char *body, const query_limits *lim, query_req *q) {
    return query_parse_bytes(body, strlen(body), lim, q, parse_err, sizeof parse_err);
}

UNIT_TEST(query_parse_bytes_checks_depth_first_and_owns_the_json) {
    query_req q;
    const query_limits lim = QUERY_LIMITS_DEFAULT;
    /* 9 levels: refused by the scan, before jansson recurses */
    CHECK(parse_bytes("{\"vector\":[[[[[[[[1]]]]]]]]}", &lim, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "8") && strstr(parse_err, "max_depth") && !q.json && !q.vector);
    /* 8 levels parse, and are then refused as a bad vector */
    CHECK(parse_bytes("{\"vector\":[[[[[[[1]]]]]]]}", &lim, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "vector") && !q.json);
    /* brackets and escaped quotes inside strings do not nest */
    CHECK(parse_bytes("{\"query\":\"\\\"[[[[[[[[[[{{{{{{{{{{\"}", &lim, &q) == NZ_OK);
    CHECK(q.json && q.text && q.text[0] == '"' && q.k == 10 && q.lim == &lim);
    query_free(&q);
    query_free(&q); /* twice is safe */
    CHECK(!q.json);
    CHECK(query_parse_bytes("", 0, NULL, &q, parse_err, sizeof parse_err) == NZ_EINVAL);
    CHECK(strstr(parse_err, "empty") != NULL);
    CHECK(parse_bytes("{\"query\":", NULL, &q) == NZ_EINVAL && strstr(parse_err, "invalid JSON"));
    CHECK(parse_bytes("{\"k\":1,\"k\":2,\"query\":\"a\"}", NULL, &q) == NZ_EINVAL); /* dup */
    /* every refusal after the vector is allocated frees it and the JSON (ASan checks) */
    static const char *late[] = {"{\"vector\":[1,2,3],\"exact\":\"yes\"}",
                                 "{\"vector\":[1,2,3],\"filter\":{\"x\":\"y\"}}",
                                 "{\"vector\":[1,2,3],\"filter\":[]}",
                                 "{\"vector\":[1,2,3],\"k\":0}",
                                 "{\"vector\":[1,2,3],\"ef\":1.5}",
                                 "{\"vector\":\"AACAPwAAAEA=\",\"exact\":1}",
                                 "{\"vector\":[1,2,\"x\"]}",
                                 "{\"query\":\"a\",\"mode\":\"x\"}"};
    for (size_t i = 0; i < sizeof late / sizeof *late; i++) {
        CHECK(parse_bytes(late[i], NULL, &q) == NZ_EINVAL);
        CHECK(!q.vector && !q.json);
    }
}

UNIT_TEST(query_limits_bound_k_and_ef_naming_the_bound) {
    query_req q;
    CHECK(parse_bytes("{\"query\":\"a\",\"k\":101}", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "101") && strstr(parse_err, "100") && strstr(parse_err, "max_k"));
    CHECK(parse_bytes("{\"query\":\"a\",\"k\":100,\"ef\":1000}", NULL, &q) == NZ_OK);
    CHECK(q.k == 100 && q.ef == 1000);
    query_free(&q);
    CHECK(parse_bytes("{\"query\":\"a\",\"ef\":1001}", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "1001") && strstr(parse_err, "max_ef"));
    CHECK(parse_bytes("{\"query\":\"a\",\"k\":\"3\"}", NULL, &q) == NZ_EINVAL);
    const query_limits tight = {.max_k = 5, .max_ef = 16, .max_depth = 2};
    CHECK(parse_bytes("{\"query\":\"a\",\"k\":6}", &tight, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "5") != NULL);
    CHECK(parse_bytes("{\"query\":\"a\",\"ef\":17}", &tight, &q) == NZ_EINVAL);
    CHECK(parse_bytes("{\"query\":\"a\",\"filter\":{\"lang\":\"en\"}}", &tight, &q) == NZ_OK);
    query_free(&q);
    CHECK(parse_bytes("{\"query\":\"a\",\"filter\":{\"lang\":[\"en\"]}}", &tight, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "max_depth") != NULL);
    /* k never passes what the search can return, whatever the limits say */
    const query_limits wide = {.max_k = 1000000, .max_ef = 10, .max_depth = 8};
    CHECK(parse_bytes("{\"query\":\"a\",\"k\":1001}", &wide, &q) == NZ_EINVAL);
}

UNIT_TEST(query_vector_as_base64_little_endian_float32) {
    query_req q;
    const float want[3] = {1.0f, -2.5f, 0.125f};
    char *b64 = vecb64_encode(want, 3), body[256];
    CHECK(b64 != NULL);
    snprintf(body, sizeof body, "{\"vector\":\"%s\",\"k\":2}", b64);
    free(b64);
    CHECK(parse_bytes(body, NULL, &q) == NZ_OK);
    CHECK(q.vector_dim == 3 && memcmp(q.vector, want, sizeof want) == 0 && q.k == 2);
    query_free(&q);
    /* "AACAPwAAAEA=" is float32 {1, 2}, as ingest_record reads it too */
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\"}", NULL, &q) == NZ_OK);
    CHECK(q.vector_dim == 2 && q.vector[0] == 1.0f && q.vector[1] == 2.0f);
    query_free(&q);
    CHECK(parse_bytes("{\"vector\":\"!!!!\"}", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "base64") != NULL);
    CHECK(parse_bytes("{\"vector\":\"AACAPw\"}", NULL, &q) == NZ_EINVAL); /* not padded */
    CHECK(parse_bytes("{\"vector\":\"AACA\"}", NULL, &q) == NZ_EINVAL);   /* 3 bytes */
    CHECK(parse_bytes("{\"vector\":\"\"}", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "empty") != NULL);
    CHECK(parse_bytes("{\"vector\":\"AACAfw==\"}", NULL, &q) == NZ_EINVAL); /* +inf */
    CHECK(strstr(parse_err, "NaN or infinite") && !q.vector);
    CHECK(parse_bytes("{\"vector\":\"AADAfw==\"}", NULL, &q) == NZ_EINVAL); /* NaN */
    /* one value past QUERY_MAX_DIM is refused by its length alone */
    size_t n = 4 * ((QUERY_MAX_DIM * 4 + 2) / 3) + 4;
    char *big = malloc(n + 16);
    CHECK(big != NULL);
    memcpy(big, "{\"vector\":\"", 11);
    memset(big + 11, 'A', n);
    memcpy(big + 11 + n, "\"}", 3);
    int rc = parse_bytes(big, NULL, &q);
    free(big);
    CHECK(rc == NZ_EINVAL && strstr(parse_err, "above"));
}

UNIT_TEST(query_base64_taken_from_the_body_as_jansson_would_read_it) {
    query_req q;
    /* decoded straight from the body (plain), or through jansson (escapes): the same */
    static const char *same[] = {
        "{\"vector\":\"AACAPwAAAEA=\"}",
        "{ \"k\" : 3 ,\n \"vector\" :\t\"AACAPwAAAEA=\" }",
        "{\"vector\":\"AACAPwAAAEA\\u003d\"}",
        "{\"vec\\u0074or\":\"AACAPwAAAEA=\"}",
        "{\"filter\":{\"lang\":\"en\"},\"vector\":\"AACAPwAAAEA=\"}",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        CHECK(parse_bytes(same[i], NULL, &q) == NZ_OK);
        CHECK(q.vector_dim == 2 && q.vector[0] == 1.0f && q.vector[1] == 2.0f);
        query_free(&q);
    }
    /* "\/" is how some encoders write the '/' of base64 */
    const float slash[1] = {0.999f}; /* bytes 77 be 7f 3f */
    char *b64 = vecb64_encode(slash, 1);
    CHECK(b64 && strcmp(b64, "d75/Pw==") == 0);
    free(b64);
    CHECK(parse_bytes("{\"vector\":\"d75\\/Pw==\"}", NULL, &q) == NZ_OK);
    CHECK(q.vector_dim == 1 && q.vector[0] == slash[0]);
    query_free(&q);
    /* only a top-level key is taken: a value or a nested key named so is not */
    CHECK(parse_bytes("{\"query\":\"vector\",\"k\":2}", NULL, &q) == NZ_OK);
    CHECK(q.text && strcmp(q.text, "vector") == 0 && !q.vector);
    query_free(&q);
    CHECK(parse_bytes("[\"vector\",\"AACAPwAAAEA=\"]", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "JSON object") != NULL);
    CHECK(parse_bytes("{\"query\":\"a\",\"filter\":{\"vector\":\"AAAA\"}}", NULL, &q) == NZ_EINVAL);
    CHECK(strstr(parse_err, "unknown filter") != NULL);
    /* what jansson refuses stays refused */
    CHECK(parse_bytes("{\"vector\":\"AACA\tPwAAAEA=\"}", NULL, &q) == NZ_EINVAL); /* raw tab */
    CHECK(strstr(parse_err, "invalid JSON") != NULL);
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\",\"vector\":[1]}", NULL, &q) == NZ_EINVAL);
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\"", NULL, &q) == NZ_EINVAL);
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=} ", NULL, &q) == NZ_EINVAL);
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\"} {}", NULL, &q) == NZ_EINVAL);
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\\", NULL, &q) == NZ_EINVAL); /* ends in \\ */
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\\\"\"}", NULL, &q) == NZ_EINVAL);
    CHECK(!q.vector && !q.json);
}

UNIT_TEST(query_run_answers_base64_as_the_array_and_bounds_exact) {
    const char *dir = unit_tmpdir();
    char err[256];
    CHECK(build_small(dir, 5, "nosuch", "m") == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL);
    const float v[S_DIM] = {0, 0, 1, 0.25f, 0, 0, 0, 0};
    char *b64 = vecb64_encode(v, S_DIM), body[512];
    CHECK(b64 != NULL);
    snprintf(body, sizeof body, "{\"vector\":\"%s\",\"k\":3}", b64);
    free(b64);
    query_req q;
    json_t *a1 = NULL, *a2 = NULL;
    CHECK(parse_bytes(body, NULL, &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &a1, err, sizeof err) == NZ_OK);
    query_free(&q);
    CHECK(parse_bytes("{\"vector\":[0,0,1,0.25,0,0,0,0],\"k\":3}", NULL, &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &a2, err, sizeof err) == NZ_OK);
    query_free(&q);
    CHECK(json_equal(json_object_get(a1, "results"), json_object_get(a2, "results")));
    CHECK(json_array_size(json_object_get(a1, "results")) == 3);
    /* query_answer writes the bytes json_dumps writes for query_run's answer */
    char *want = json_dumps(json_object_get(a1, "results"), JSONL_DUMP_FLAGS);
    buf text = BUF_INIT, prefix = BUF_INIT;
    long nres = 0;
    CHECK(parse_bytes(body, NULL, &q) == NZ_OK);
    CHECK(query_answer(s, &q, 1, &text, &nres, err, sizeof err) == NZ_OK && nres == 3);
    query_free(&q);
    buf_printf(&prefix, "{\"results\":%s,\"mode\":\"dense\",\"took_ms\":", want ? want : "");
    CHECK(want && strncmp(buf_str(&text), buf_str(&prefix), prefix.len) == 0);
    CHECK(text.len > prefix.len + 2 && strcmp(buf_str(&text) + text.len - 2, "}\n") == 0);
    free(want);
    buf_free(&text);
    buf_free(&prefix);
    json_decref(a1);
    json_decref(a2);
    /* the wrong dimension is known only against the snapshot */
    CHECK(parse_bytes("{\"vector\":\"AACAPwAAAEA=\"}", NULL, &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &a1, err, sizeof err) == NZ_EINVAL && !a1);
    CHECK(strstr(err, "2 dimensions") != NULL);
    query_free(&q);
    /* "exact" on more rows than exact_max_rows: refused unless allowed */
    query_limits lim = QUERY_LIMITS_DEFAULT;
    lim.exact_max_rows = 4;
    CHECK(parse_bytes("{\"vector\":[0,0,1,0,0,0,0,0],\"exact\":true}", &lim, &q) == NZ_OK);
    CHECK(query_run(s, &q, 1, &a1, err, sizeof err) == NZ_EINVAL && !a1);
    CHECK(strstr(err, "exact_max_rows 4") && strstr(err, "5 rows"));
    lim.exact_max_rows = 5; /* at the bound: allowed */
    CHECK(query_run(s, &q, 1, &a1, err, sizeof err) == NZ_OK);
    json_decref(a1);
    lim.exact_max_rows = 0;
    lim.allow_exact = 1;
    CHECK(query_run(s, &q, 1, &a1, err, sizeof err) == NZ_OK);
    json_decref(a1);
    query_free(&q);
    snapshot_close(s);
}

/* Publish a small snapshot of the embedder under root; its name in name. */
static int publish_small(const char *root, const char *provider, const char *model, char *name,
                         size_t namelen) {
    char err[256], *nm = NULL, *tmp = NULL;
    index_root ir;
    if (root_lock(&ir, root, err, sizeof err) < 0) return -1;
    int rc = root_begin(&ir, &nm, &tmp, err, sizeof err);
    if (rc == NZ_OK) rc = build_small(tmp, 4, provider, model);
    if (rc == NZ_OK) rc = root_publish(&ir, nm, tmp, err, sizeof err);
    if (rc == NZ_OK) snprintf(name, namelen, "%s", nm);
    root_unlock(&ir);
    free(nm);
    free(tmp);
    return rc;
}

UNIT_TEST(holder_refuses_another_embedder_and_keeps_the_newest_refusal) {
    const char *root = unit_tmpdir();
    char a[128], b[128], c[128], name[128], why[512], path[4096];
    CHECK(publish_small(root, "hash", "nz-hash-v1", a, sizeof a) == NZ_OK);
    holder_init(root);
    holder_expect("openai", "text-embedding-3-large");
    CHECK(holder_check(1) == NZ_EINVAL && holder_acquire() == NULL);
    CHECK(holder_refused(name, sizeof name, why, sizeof why) == 1);
    CHECK_STR(name, a);
    CHECK(strstr(why, "hash/nz-hash-v1") && strstr(why, "EMBEDDING_PROVIDER=openai") &&
          strstr(why, "EMBEDDING_MODEL=text-embedding-3-large"));
    CHECK(holder_check(0) == 0); /* not retried until current moves or force */
    holder_expect("hash", "");   /* the provider alone: any of its models */
    CHECK(holder_check(1) == 1 && holder_refused(name, sizeof name, why, sizeof why) == 0);
    /* a newer snapshot with a flipped byte: refused, the old one keeps serving */
    CHECK(publish_small(root, "hash", "nz-hash-v1", b, sizeof b) == NZ_OK);
    snprintf(path, sizeof path, "%s/%s/%s", root, b, NZI_VECTORS);
    CHECK(unit_flip_byte(path, -1, 0x40) == 0);
    CHECK(holder_check(0) == NZ_ECORRUPT);
    CHECK(holder_refused(name, sizeof name, why, sizeof why) == 1);
    CHECK_STR(name, b);
    CHECK(strncmp(why, "corrupt: " NZI_VECTORS ": CRC32", 20) == 0); /* no INDEX_PATH */
    held_snapshot *h = holder_acquire();
    CHECK(h && strcmp(holder_snapshot(h)->name, a) == 0);
    holder_release(h);
    /* another model of the right provider is refused too */
    holder_expect("hash", "nz-hash-v1");
    CHECK(publish_small(root, "hash", "nz-hash-v2", c, sizeof c) == NZ_OK);
    CHECK(holder_check(0) == NZ_EINVAL);
    CHECK(holder_refused(name, sizeof name, why, sizeof why) == 1 && strcmp(name, c) == 0);
    CHECK(strstr(why, "hash/nz-hash-v2") && strstr(why, "EMBEDDING_PROVIDER=hash"));
    /* a newer good snapshot clears the refusal */
    CHECK(publish_small(root, "hash", "nz-hash-v1", c, sizeof c) == NZ_OK);
    CHECK(holder_check(0) == 1 && holder_refused(name, sizeof name, why, sizeof why) == 0);
    h = holder_acquire();
    CHECK(h && strcmp(holder_snapshot(h)->name, c) == 0);
    holder_release(h);
    holder_shutdown();
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
    static const char *keys[] = {
        "format", "format_version", "snapshot", "created", "created_unix", "metric", "embedding",
        "index",  "lexical",        "build",    "dim",     "count",        "files",  "self_crc32"};
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
    int wrc = manifest_save(dir, packed, err, sizeof err);
    json_decref(packed);
    CHECK(wrc == NZ_OK);
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
