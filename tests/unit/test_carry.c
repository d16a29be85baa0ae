/* test_carry.c -- unit tests of an incremental build: the doc_id set and
 * its --drop-docs file, rows carried from a base snapshot byte for byte
 * (vector, int8 code and record), the embedding check, a corrupt base,
 * and build labels in the manifest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder.h"
#include "carry.h"
#include "docset.h"
#include "manifest.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"

/* Large enough rows that the base spans several 1 MiB read blocks. */
#define C_DIM 2048
#define C_N 300
#define C_DOCS 30 /* rows 10 * d .. 10 * d + 9 are doc "d<d>" */

static void c_vector(int r, float *v) {
    unsigned long long x = 0x9e3779b97f4a7c15ull * (unsigned long long)(r + 1);
    for (int d = 0; d < C_DIM; d++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[d] = (float)((double)(x >> 11) / 9007199254740992.0 * 2 - 1);
    }
}

static const graph_params c_graph = {
    .degree = 8, .build_ef = 16, .alpha = 1.2f, .seed = 1, .threads = 1};

static int c_finish(index_builder *b, const char *dir, const json_t *labels) {
    char err[256];
    manifest_build mb = {.snapshot = strrchr(dir, '/') + 1,
                         .created = 1,
                         .tool = "test",
                         .provider = "test",
                         .model = "m1",
                         .labels = labels};
    int rc = builder_finish(b, &mb, err, sizeof err);
    builder_free(b);
    return rc;
}

/* The base: C_N rows in C_DOCS documents, a graph, labels. */
static int c_build_base(const char *dir, const json_t *labels) {
    char err[256];
    if (mkdir(dir, 0755) < 0) return -1;
    index_builder *b = builder_open(dir, err, sizeof err);
    if (!b || builder_set_graph(b, &c_graph, NULL, NULL) < 0) return -1;
    static float v[C_DIM];
    for (int r = 0; r < C_N; r++) {
        char id[32], doc[32], text[64];
        snprintf(id, sizeof id, "c%d", r);
        snprintf(doc, sizeof doc, "d%d", r / 10);
        snprintf(text, sizeof text, "text of chunk %d", r);
        builder_meta m = {.page = r % 7};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = doc;
        m.f[NZI_F_URI] = "file:///x";
        m.f[NZI_F_TEXT] = text;
        m.f[NZI_F_LANG] = r % 2 ? "en" : "id";
        c_vector(r, v);
        if (builder_add(b, v, C_DIM, &m, err, sizeof err) < 0) return -1;
    }
    return c_finish(b, dir, labels);
}

/* The bytes of row r's record. */
static const unsigned char *c_record(const snapshot *s, uint64_t r, uint64_t *len) {
    *len = s->offsets[r + 1] - s->offsets[r];
    return s->blob + s->offsets[r];
}

/* A fresh base under a new tmpdir, opened and verified, and a builder for
 * the new snapshot (new_dir, with a graph when graph is set); NULL on failure. */
static index_builder *c_start(char *new_dir, size_t len, snapshot **base, int graph) {
    char base_dir[4200], err[256];
    const char *tmp = unit_tmpdir();
    snprintf(base_dir, sizeof base_dir, "%s/base", tmp);
    snprintf(new_dir, len, "%s/new", tmp);
    if (c_build_base(base_dir, NULL) != 0 || carry_open(base_dir, base, err, sizeof err) < 0 ||
        mkdir(new_dir, 0755) < 0)
        return NULL;
    index_builder *b = builder_open(new_dir, err, sizeof err);
    if (b && graph && builder_set_graph(b, &c_graph, NULL, NULL) < 0) {
        builder_free(b);
        return NULL;
    }
    return b;
}

UNIT_TEST(docset_adds_finds_and_reads_a_drop_file) {
    docset d = DOCSET_INIT;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "doc-%d", i);
        CHECK(docset_add(&d, key, strlen(key)) == NZ_OK);
    }
    CHECK(docset_add(&d, "doc-5", 5) == NZ_OK && d.n == 1000);
    CHECK(docset_has(&d, "doc-999", 7) && docset_has(&d, "doc-1x", 5)); /* by length */
    CHECK(!docset_has(&d, "doc-1000", 8) && !docset_has(&d, "doc-", 4));
    docset_free(&d);
    CHECK(!docset_has(&d, "doc-1", 5));

    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/drop", unit_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("a1\n\nb2\na1\nc3", f); /* blank line, a repeat, no final newline */
    fclose(f);
    CHECK(docset_read(&d, path, err, sizeof err) == NZ_OK);
    CHECK(d.n == 3 && docset_has(&d, "c3", 2) && !docset_has(&d, "", 0));
    docset_free(&d);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("a1\nb\tx\n", f); /* a control character */
    fclose(f);
    CHECK(docset_read(&d, path, err, sizeof err) == NZ_EINVAL);
    CHECK(strstr(err, "line 2") != NULL);
    docset_free(&d);
    f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < DOCSET_MAX_ID + 1; i++) fputc('x', f); /* too long */
    fclose(f);
    CHECK(docset_read(&d, path, err, sizeof err) == NZ_EINVAL);
    docset_free(&d);
    snprintf(path, sizeof path, "%s/none", unit_tmpdir());
    CHECK(docset_read(&d, path, err, sizeof err) == NZ_EIO);
}

UNIT_TEST(carried_rows_are_byte_identical_and_left_out_docs_gone) {
    char new_dir[4200], err[256];
    snapshot *base = NULL;
    index_builder *b = c_start(new_dir, sizeof new_dir, &base, 1);
    CHECK(b != NULL);
    /* new input: one row of doc d3 (its new version); d1 and d7 dropped */
    static float v[C_DIM];
    c_vector(9999, v);
    builder_meta m = {.page = 1};
    m.f[NZI_F_CHUNK_ID] = "new";
    m.f[NZI_F_DOC_ID] = "d3";
    CHECK(builder_add(b, v, C_DIM, &m, err, sizeof err) == NZ_OK);
    docset drop = DOCSET_INIT, replaced = DOCSET_INIT;
    CHECK(docset_add(&drop, "d1", 2) == 0 && docset_add(&drop, "d7", 2) == 0);
    CHECK(docset_add(&replaced, "d3", 2) == 0);
    CHECK(carry_check(base, "test", "m1", C_DIM, err, sizeof err) == NZ_OK);
    carry_stats st;
    CHECK(carry_rows(b, base, &drop, &replaced, NULL, NULL, NULL, &st, err, sizeof err) == NZ_OK);
    CHECK(st.carried == C_N - 30 && st.dropped == 30);
    CHECK(c_finish(b, new_dir, NULL) == NZ_OK);

    snapshot *s = snapshot_open(new_dir, err, sizeof err);
    CHECK(s != NULL);
    CHECK(snapshot_verify(s, err, sizeof err) == NZ_OK);
    CHECK(s->count == 1 + C_N - 30);
    uint64_t row = 1; /* the new row first, then the carried ones in base order */
    for (uint64_t r = 0; r < C_N; r++) {
        int doc = (int)r / 10;
        if (doc == 1 || doc == 3 || doc == 7) continue;
        CHECK(memcmp(snapshot_vector(s, row), snapshot_vector(base, r), C_DIM * sizeof(float)) ==
              0);
        CHECK(memcmp(snapshot_code(s, row), snapshot_code(base, r), s->code_stride) == 0);
        uint64_t la, lb;
        const unsigned char *ra = c_record(s, row, &la), *rb = c_record(base, r, &lb);
        CHECK(la == lb && memcmp(ra, rb, la) == 0);
        row++;
    }
    CHECK(row == s->count);
    snapshot_chunk c;
    CHECK(snapshot_chunk_get(s, 0, &c) == 0 && c.len[NZI_F_CHUNK_ID] == 3);
    snapshot_close(s);
    docset_free(&drop);
    docset_free(&replaced);
    snapshot_close(base);
}

UNIT_TEST(carry_refuses_another_embedding_and_a_corrupt_base) {
    char dir[4200], err[256], path[4300];
    snprintf(dir, sizeof dir, "%s/base", unit_tmpdir());
    CHECK(c_build_base(dir, NULL) == 0);
    snapshot *base = NULL;
    CHECK(carry_open(dir, &base, err, sizeof err) == NZ_OK);
    CHECK(carry_check(base, "test", "m2", C_DIM, err, sizeof err) == NZ_EDIM);
    CHECK(strstr(err, "without --base") != NULL);
    CHECK(carry_check(base, "other", "m1", C_DIM, err, sizeof err) == NZ_EDIM);
    CHECK(carry_check(base, "test", "m1", 16, err, sizeof err) == NZ_EDIM);
    CHECK(carry_check(base, "", "", 0, err, sizeof err) == NZ_OK); /* no input */
    snapshot_close(base);
    snprintf(path, sizeof path, "%s/%s", dir, NZI_CHUNKS);
    CHECK(unit_flip_byte(path, 100, 0x01) == 0);
    CHECK(carry_open(dir, &base, err, sizeof err) == NZ_ECORRUPT && base == NULL);
    CHECK(strstr(err, "does not verify") != NULL);
    snprintf(path, sizeof path, "%s/nothing", dir);
    CHECK(carry_open(path, &base, err, sizeof err) == NZ_EIO);
}

UNIT_TEST(labels_are_checked_and_read_back_from_the_manifest) {
    char dir[4200], err[256];
    json_t *labels = json_object();
    CHECK(labels != NULL);
    CHECK(manifest_label_add(labels, "run=17", err, sizeof err) == NZ_OK);
    CHECK(manifest_label_add(labels, "note_2=a=b ü", err, sizeof err) == NZ_OK);
    CHECK(manifest_label_add(labels, "run=18", err, sizeof err) == NZ_EINVAL); /* twice */
    CHECK(manifest_label_add(labels, "Run=1", err, sizeof err) == NZ_EINVAL);
    CHECK(manifest_label_add(labels, "=1", err, sizeof err) == NZ_EINVAL);
    CHECK(manifest_label_add(labels, "norun", err, sizeof err) == NZ_EINVAL);
    CHECK(manifest_label_add(labels, "bad\xff=x", err, sizeof err) == NZ_EINVAL);
    CHECK(manifest_label_add(labels, "v=\xff", err, sizeof err) == NZ_EINVAL);
    for (int i = 2; i < MANIFEST_MAX_LABELS; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "k%d=v", i);
        CHECK(manifest_label_add(labels, kv, err, sizeof err) == NZ_OK);
    }
    CHECK(manifest_label_add(labels, "one_more=v", err, sizeof err) == NZ_ELIMIT);
    snprintf(dir, sizeof dir, "%s/base", unit_tmpdir());
    CHECK(c_build_base(dir, labels) == 0);
    json_decref(labels);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL && s->labels != NULL);
    CHECK_STR(manifest_label(s->manifest, "run"), "17");
    CHECK_STR(manifest_label(s->manifest, "note_2"), "a=b ü");
    CHECK(manifest_label(s->manifest, "nope") == NULL);
    snapshot_close(s);
}

UNIT_TEST(carry_stops_when_asked) {
    char new_dir[4200], err[256];
    snapshot *base = NULL;
    index_builder *b = c_start(new_dir, sizeof new_dir, &base, 0);
    CHECK(b != NULL);
    volatile sig_atomic_t stop = SIGTERM;
    carry_stats st;
    CHECK(carry_rows(b, base, NULL, NULL, NULL, &stop, NULL, &st, err, sizeof err) == NZ_ESTOPPED);
    CHECK(st.carried == 0 && builder_count(b) == 0);
    stop = 0;
    CHECK(carry_rows(b, base, NULL, NULL, NULL, &stop, NULL, &st, err, sizeof err) == NZ_OK);
    CHECK(st.carried == C_N && st.dropped == 0 && builder_count(b) == C_N);
    builder_free(b);
    snapshot_close(base);
}
