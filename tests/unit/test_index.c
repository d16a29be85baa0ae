/* test_index.c -- unit tests of the index: kernels, top-k, snapshot files,
 * publishing, exact search and filters. The brute-force ranking computed
 * here in double precision is the oracle. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "kernels.h"
#include "publish.h"
#include "flat.h"
#include "search.h"
#include "snapshot.h"
#include "status.h"
#include "topk.h"
#include "unit.h"

static unsigned long long rng_state = 42;
static float rnd(void) { /* xorshift: the same data on every run */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1);
}

UNIT_TEST(kernel_dot_matches_double) {
    for (size_t n = 1; n < 70; n += 3) {
        float a[70], b[70];
        double ref = 0;
        for (size_t i = 0; i < n; i++) {
            a[i] = rnd();
            b[i] = rnd();
            ref += (double)a[i] * b[i];
        }
        CHECK(fabs(kern_dot(a, b, n) - ref) < 1e-5);
    }
    float v[4] = {3, 0, 4, 0};
    CHECK(fabs(kern_normalise(v, 4) - 5.0) < 1e-9);
    CHECK(fabs(v[0] - 0.6f) < 1e-7 && fabs(v[2] - 0.8f) < 1e-7);
}

/* kern_normalise sums in float (eight lanes): within 1e-6 of a double
 * normalisation, element by element, at every length up to past dim 1536;
 * squares past float's range or below its floor take the double path. */
UNIT_TEST(kernel_normalise_float_matches_double) {
    static float v[1601];
    static double ref[1601];
    for (size_t n = 1; n <= 1601; n += n < 40 ? 1 : 97) {
        double ss = 0;
        for (size_t i = 0; i < n; i++) {
            v[i] = rnd() * 3;
            ss += (double)v[i] * v[i];
        }
        for (size_t i = 0; i < n; i++) ref[i] = v[i] / sqrt(ss);
        double norm = kern_normalise(v, n);
        CHECK(fabs(norm - sqrt(ss)) <= 1e-6 * sqrt(ss));
        for (size_t i = 0; i < n; i++) CHECK(fabs(v[i] - ref[i]) < 1e-6);
    }
    float big[3] = {3e30f, 0, 4e30f}, tiny[3] = {3e-25f, 0, 4e-25f}, zero[2] = {0, 0};
    CHECK(fabs(kern_normalise(big, 3) / 5e30 - 1) < 1e-6);
    CHECK(fabs(big[0] - 0.6f) < 1e-6 && fabs(big[2] - 0.8f) < 1e-6);
    CHECK(fabs(kern_normalise(tiny, 3) / 5e-25 - 1) < 1e-6);
    CHECK(fabs(tiny[0] - 0.6f) < 1e-6 && fabs(tiny[2] - 0.8f) < 1e-6);
    CHECK(kern_normalise(zero, 2) == 0 && zero[0] == 0 && zero[1] == 0);
}

UNIT_TEST(topk_keeps_best_with_deterministic_ties) {
    topk t;
    CHECK(topk_init(&t, 3) == 0);
    float s[] = {0.1f, 0.9f, 0.5f, 0.9f, 0.3f, 0.7f};
    for (uint32_t i = 0; i < 6; i++) topk_push(&t, s[i], i);
    CHECK(topk_sorted(&t) == 3);
    CHECK(t.h[0].id == 1 && t.h[1].id == 3 && t.h[2].id == 5);
    topk_free(&t);
}

#define T_N 500
#define T_DIM 24

/* Build a snapshot of T_N random rows under root; returns 0. */
static int build_random(const char *root, int keep) {
    char err[256];
    index_root ir;
    char *name, *tmp;
    if (root_lock(&ir, root, err, sizeof err) < 0) return -1;
    if (root_begin(&ir, &name, &tmp, err, sizeof err) < 0) return -1;
    index_builder *b = builder_open(tmp, err, sizeof err);
    if (!b) return -1;
    rng_state = 7;
    for (int r = 0; r < T_N; r++) {
        float v[T_DIM];
        for (int d = 0; d < T_DIM; d++) v[d] = rnd();
        char id[32], doc[32], uri[64];
        snprintf(id, sizeof id, "c%d", r);
        snprintf(doc, sizeof doc, "d%d", r / 10);
        snprintf(uri, sizeof uri, "file:///%s/%d", r % 2 ? "odd" : "even", r);
        builder_meta m = {.page = r};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = doc;
        m.f[NZI_F_URI] = uri;
        m.f[NZI_F_LANG] = r % 3 ? "en" : "id";
        m.f[NZI_F_TEXT] = "text";
        if (builder_add(b, v, T_DIM, &m, err, sizeof err) < 0) return -1;
    }
    float zero[T_DIM] = {0};
    builder_meta m0 = {0};
    if (builder_add(b, zero, T_DIM, &m0, err, sizeof err) != NZ_EINVAL) return -1; /* refused */
    float shorter[T_DIM - 1] = {1};
    if (builder_add(b, shorter, T_DIM - 1, &m0, err, sizeof err) != NZ_EINVAL) return -1;
    manifest_build mb = {
        .snapshot = name, .created = 1, .tool = "test", .provider = "test", .model = "random"};
    int rc = builder_finish(b, &mb, err, sizeof err);
    builder_free(b);
    if (rc == 0) rc = root_publish(&ir, name, tmp, err, sizeof err);
    if (rc == 0) rc = root_prune(&ir, keep, NULL, err, sizeof err);
    root_unlock(&ir);
    free(name);
    free(tmp);
    return rc;
}

UNIT_TEST(snapshot_roundtrip_and_exact_search_matches_oracle) {
    const char *root = unit_tmpdir();
    CHECK(build_random(root, 3) == 0);
    char err[256];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    CHECK(s->count == T_N && s->dim == T_DIM);
    CHECK(snapshot_verify(s, err, sizeof err) == 0);
    snapshot_chunk c;
    CHECK(snapshot_chunk_get(s, 123, &c) == 0);
    CHECK(c.page == 123 && c.len[NZI_F_CHUNK_ID] == 4 &&
          memcmp(c.f[NZI_F_CHUNK_ID], "c123", 4) == 0);
    /* rows are unit length */
    double nn = 0;
    for (int d = 0; d < T_DIM; d++)
        nn += (double)snapshot_vector(s, 5)[d] * snapshot_vector(s, 5)[d];
    CHECK(fabs(nn - 1) < 1e-5);

    for (int q = 0; q < 20; q++) {
        float qv[T_DIM];
        for (int d = 0; d < T_DIM; d++) qv[d] = rnd();
        kern_normalise(qv, T_DIM);
        topk_hit hits[10];
        for (int threads = 1; threads <= 2; threads++) {
            search_params p = {.k = 10, .threads = threads};
            CHECK(flat_search(s, qv, &p, hits) == 10);
            /* oracle: the best score by double-precision brute force */
            double best = -2;
            int best_id = -1;
            for (uint32_t r = 0; r < T_N; r++) {
                double sc = 0;
                for (int d = 0; d < T_DIM; d++) sc += (double)qv[d] * snapshot_vector(s, r)[d];
                if (sc > best) best = sc, best_id = (int)r;
            }
            CHECK(hits[0].id == (uint32_t)best_id);
            for (int i = 1; i < 10; i++) CHECK(hits[i - 1].score >= hits[i].score);
        }
    }
    snapshot_close(s);
}

UNIT_TEST(filters_return_only_matching_rows) {
    const char *root = unit_tmpdir();
    CHECK(build_random(root, 3) == 0);
    char err[256];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    float qv[T_DIM];
    for (int d = 0; d < T_DIM; d++) qv[d] = rnd();
    kern_normalise(qv, T_DIM);
    topk_hit hits[50];
    search_filter f = {.lang = "id", .uri_prefix = "file:///odd/"};
    search_params p = {.k = 50, .filter = &f};
    long n = flat_search(s, qv, &p, hits);
    CHECK(n > 0);
    for (long i = 0; i < n; i++) CHECK(hits[i].id % 3 == 0 && hits[i].id % 2 == 1);
    search_filter fd = {.doc_id = "d7"};
    p.filter = &fd;
    n = flat_search(s, qv, &p, hits);
    CHECK(n == 10);
    for (long i = 0; i < n; i++) CHECK(hits[i].id / 10 == 7);
    search_filter none = {.lang = "fr"};
    p.filter = &none;
    CHECK(flat_search(s, qv, &p, hits) == 0);
    snapshot_close(s);
}

UNIT_TEST(one_flipped_byte_fails_verify) {
    const char *root = unit_tmpdir();
    CHECK(build_random(root, 3) == 0);
    char err[256], path[4200];
    snprintf(path, sizeof path, "%s/current/%s", root, NZI_VECTORS);
    CHECK(unit_flip_byte(path, 1000, 0x10) == 0);
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL); /* opening checks headers only */
    CHECK(snapshot_verify(s, err, sizeof err) < 0);
    CHECK(strstr(err, "CRC32") != NULL);
    snapshot_close(s);
    /* a truncated file fails at open */
    CHECK(truncate(path, 4096) == 0);
    CHECK(snapshot_open(root, err, sizeof err) == NULL);
}

UNIT_TEST(publish_swaps_current_and_prunes) {
    const char *root = unit_tmpdir();
    for (int i = 0; i < 4; i++) CHECK(build_random(root, 2) == 0);
    char *cur = root_current(root);
    CHECK(cur != NULL);
    int snaps = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s", root);
    DIR *d = opendir(path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, NZI_SNAP_PREFIX, 5) == 0) snaps++;
        CHECK(strncmp(e->d_name, NZI_TMP_PREFIX, 5) != 0);
    }
    closedir(d);
    CHECK(snaps == 2);
    /* a second writer is refused while the lock is held */
    index_root a, b;
    char err[256];
    CHECK(root_lock(&a, root, err, sizeof err) == 0);
    CHECK(root_lock(&b, root, err, sizeof err) < 0);
    CHECK(strstr(err, "lock") != NULL);
    root_unlock(&a);
    free(cur);
}
