/* test_integrity.c -- every byte of a snapshot is accounted for.
 *
 * A small vamana snapshot (all four binary files) is built once per test;
 * then each byte of MANIFEST.json is flipped, one at a time, and 200
 * random bytes of every other file the manifest lists: every single flip
 * must fail snapshot_open or snapshot_verify, the path nz-serve takes
 * before it serves a snapshot. The file is restored after each flip and
 * the snapshot verifies again at the end. Also: what verify checks beyond
 * checksums (names, counts, the entry node), and a manifest from before
 * the self-check (format_version 1) read unsealed while a sealed one that
 * lost its key is refused.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "builder.h"
#include "manifest.h"
#include "publish.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"

#define I_N 120
#define I_DIM 12
#define I_FLIPS 200 /* random flips in each binary file */

static unsigned long long i_rng = 99;
static unsigned long long i_next(void) { /* xorshift: the same flips on every run */
    i_rng ^= i_rng << 13;
    i_rng ^= i_rng >> 7;
    i_rng ^= i_rng << 17;
    return i_rng;
}

/* A vamana snapshot of I_N rows published under root. 0, or -1. */
static int i_build(const char *root) {
    char err[256], *name = NULL, *tmp = NULL;
    index_root ir;
    int rc = -1;
    if (root_lock(&ir, root, err, sizeof err) < 0) return -1;
    index_builder *b = NULL;
    graph_params gp = {.degree = 8, .build_ef = 24, .alpha = 1.2f, .seed = 3, .threads = 1};
    if (root_begin(&ir, &name, &tmp, err, sizeof err) < 0 ||
        !(b = builder_open(tmp, err, sizeof err)) || builder_set_graph(b, &gp, NULL, NULL) < 0)
        goto fail;
    for (int r = 0; r < I_N; r++) {
        float v[I_DIM];
        for (int d = 0; d < I_DIM; d++) v[d] = (float)(i_next() % 2001) / 1000.0f - 1.0f;
        char id[32];
        snprintf(id, sizeof id, "c%d", r);
        builder_meta m = {.page = r};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = "d";
        m.f[NZI_F_TEXT] = "some text";
        if (builder_add(b, v, I_DIM, &m, err, sizeof err) < 0) goto fail;
    }
    manifest_build mb = {
        .snapshot = name, .created = 1, .tool = "test", .provider = "test", .model = "random"};
    if (builder_finish(b, &mb, err, sizeof err) < 0) goto fail;
    if (root_publish(&ir, name, tmp, err, sizeof err) < 0) goto fail;
    rc = 0;
fail:
    if (rc < 0) fprintf(stderr, "# i_build: %s\n", err);
    builder_free(b);
    root_unlock(&ir);
    free(name);
    free(tmp);
    return rc;
}

/* 1 when the snapshot under root opens and verifies. */
static int i_good(const char *root) {
    char err[512];
    snapshot *s = snapshot_open(root, err, sizeof err);
    int ok = s && snapshot_verify(s, err, sizeof err) == NZ_OK;
    snapshot_close(s);
    return ok;
}

/* XOR the byte at off of path with mask, in place. 0, or -1. */
static int i_xor(const char *path, long off, unsigned char mask) {
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    int c = fseek(f, off, SEEK_SET) == 0 ? fgetc(f) : EOF;
    int rc = c == EOF || fseek(f, off, SEEK_SET) != 0 || fputc(c ^ mask, f) == EOF ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

/* Flip each byte at the offsets given (all of them when n is 0, with two
 * masks each), checking the snapshot fails every time. The count missed. */
static long i_flips(const char *root, const char *path, long size, int n) {
    long missed = 0, tries = n ? n : size * 2;
    for (long t = 0; t < tries; t++) {
        long off = n ? (long)(i_next() % (unsigned long long)size) : t / 2;
        unsigned char mask = n ? (unsigned char)(i_next() % 255 + 1) : t % 2 ? 0x20 : 0x01;
        if (i_xor(path, off, mask) < 0) return -1;
        if (i_good(root)) {
            fprintf(stderr, "# missed: %s byte %ld ^ 0x%02x\n", path, off, mask);
            missed++;
        }
        if (i_xor(path, off, mask) < 0) return -1;
    }
    return missed;
}

UNIT_TEST(every_flipped_byte_of_a_snapshot_is_caught) {
    const char *root = unit_tmpdir();
    CHECK(i_build(root) == 0);
    CHECK(i_good(root));
    char err[512], path[4200];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    json_t *files = json_deep_copy(json_object_get(s->manifest, "files"));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->dir);
    snapshot_close(s);
    CHECK(json_array_size(files) == 5); /* vectors, chunks, codes, graph, lexical */
    snprintf(path, sizeof path, "%s/%s", dir, NZI_MANIFEST);
    long msize = 0;
    FILE *f = fopen(path, "rb");
    CHECK(f && fseek(f, 0, SEEK_END) == 0 && (msize = ftell(f)) > 0);
    fclose(f);
    CHECK(i_flips(root, path, msize, 0) == 0);
    size_t i;
    json_t *e;
    json_array_foreach(files, i, e) {
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(e, "name")));
        long size = (long)json_integer_value(json_object_get(e, "size"));
        CHECK(i_flips(root, path, size, I_FLIPS) == 0);
    }
    json_decref(files);
    CHECK(i_good(root)); /* every flip was undone */
}

/* Rewrite the current manifest with edit applied, sealed; then open and
 * verify must fail with err holding want. */
static int i_refused(const char *root, const char *key, json_t *val, const char *want) {
    char err[512];
    snapshot *s = snapshot_open(root, err, sizeof err);
    if (!s) return 0;
    json_t *m = json_deep_copy(s->manifest);
    char *dir = strdup(s->dir);
    snapshot_close(s);
    json_t *obj = m;
    char k[64];
    snprintf(k, sizeof k, "%s", key);
    char *dot = strchr(k, '.');
    if (dot) { /* one level down: "embedding.model" */
        *dot = '\0';
        obj = json_object_get(m, k);
    }
    json_object_del(m, MANIFEST_SELF_KEY);
    json_object_set_new(obj, dot ? dot + 1 : k, val);
    int ok = manifest_save(dir, m, err, sizeof err) == NZ_OK;
    json_decref(m);
    free(dir);
    if (!ok) return 0;
    s = snapshot_open(root, err, sizeof err);
    int refused = !s || snapshot_verify(s, err, sizeof err) < 0;
    snapshot_close(s);
    if (!refused || !strstr(err, want)) fprintf(stderr, "# %s: %s\n", key, err);
    return refused && strstr(err, want) != NULL;
}

UNIT_TEST(verify_checks_what_the_manifest_means) {
    const char *root = unit_tmpdir();
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "snapshot", json_string("snap-elsewhere"), "its folder is"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "embedding.model", json_string(""), "provider or model"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "embedding.provider", json_string(""), "provider or model"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "index.entry", json_integer(I_N), "entry"));
    CHECK(i_build(root) == 0);
    char err[512];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    uint32_t other = (s->entry + 1) % I_N; /* in range, but not graph.bin's */
    snapshot_close(s);
    CHECK(i_refused(root, "index.entry", json_integer(other), "entry"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "index.seed", json_integer(4), "seed"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "count", json_integer(I_N - 1), "disagrees"));
    CHECK(i_build(root) == 0);
    CHECK(i_refused(root, "dim", json_integer(I_DIM + 1), "disagrees"));
    CHECK(i_build(root) == 0);
    CHECK(i_good(root));
}

/* Write m (less its self_crc32, with format_version ver) as path. 0 or -1. */
static int i_write_unsealed(json_t *m, const char *path, int ver) {
    json_t *c = json_deep_copy(m);
    if (!c) return -1;
    json_object_del(c, MANIFEST_SELF_KEY);
    json_object_set_new(c, "format_version", json_integer(ver));
    int rc = json_dump_file(c, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(c);
    return rc;
}

UNIT_TEST(an_unsealed_manifest_is_read_only_as_format_version_1) {
    const char *root = unit_tmpdir();
    CHECK(i_build(root) == 0);
    char err[512], path[4200];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    CHECK(json_integer_value(json_object_get(s->manifest, "format_version")) ==
          MANIFEST_FORMAT_VERSION);
    json_t *m = json_deep_copy(s->manifest);
    snprintf(path, sizeof path, "%s/%s", s->dir, NZI_MANIFEST);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->dir);
    snapshot_close(s);
    /* as the previous release wrote it: format_version 1, no key: read,
     * flagged, and the snapshot still verifies (an upgraded server serves it) */
    CHECK(i_write_unsealed(m, path, MANIFEST_UNSEALED_VERSION) == 0);
    manifest_info mi;
    json_t *r = manifest_read(dir, &mi, err, sizeof err);
    CHECK(r != NULL && mi.unsealed == 1);
    json_decref(r);
    CHECK((s = snapshot_open(root, err, sizeof err)) != NULL);
    CHECK(snapshot_verify(s, err, sizeof err) == NZ_OK);
    snapshot_close(s);
    /* a format_version 2 manifest that lost its key is damaged, not old */
    CHECK(i_write_unsealed(m, path, MANIFEST_FORMAT_VERSION) == 0);
    json_decref(m);
    CHECK(snapshot_open(root, err, sizeof err) == NULL);
    CHECK(strstr(err, "no self_crc32") && strstr(err, "damaged"));
    /* the check itself: what the writer seals passes, anything else not */
    const char *t = "{\n  \"a\": 1,\n  \"self_crc32\": ";
    buf b = BUF_INIT;
    buf_adds(&b, t);
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)t, (uInt)(strlen(t) - 14));
    buf_printf(&b, "%lu\n}\n", crc);
    CHECK(!buf_failed(&b));
    CHECK(manifest_check_seal(b.s, b.len, err, sizeof err) == NZ_OK);
    CHECK(manifest_check_seal(b.s, b.len - 1, err, sizeof err) == NZ_ECORRUPT);
    CHECK(manifest_check_seal(b.s, 0, err, sizeof err) == NZ_ECORRUPT);
    b.s[b.len - 4] = b.s[b.len - 4] == '9' ? '8' : '9'; /* the last digit */
    CHECK(manifest_check_seal(b.s, b.len, err, sizeof err) == NZ_ECORRUPT);
    CHECK(strstr(err, "damaged") != NULL);
    buf_free(&b);
}
