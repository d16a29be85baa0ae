/* test_hybrid.c -- hybrid mode's lists (hybrid.h): the dense list is the
 * graph's hits and the lexical candidates, each at its exact cosine; ties
 * on the lower row; the filter holds for every row that enters; and what
 * hybrid_search fuses. */
#include <string.h>

#include "builder.h"
#include "hybrid.h"
#include "kernels.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"

#define HT_DIM 4

/* Eight rows: vectors by row, langs id for even rows and en for odd ones,
 * rows 2 and 3 the same vector (a tie), texts naming a code only some hold. */
static snapshot *ht_build(void) {
    static const float vec[8][HT_DIM] = {{1, 0, 0, 0},       {0.9f, 0.1f, 0, 0}, {0.5f, 0.5f, 0, 0},
                                         {0.5f, 0.5f, 0, 0}, {0, 1, 0, 0},       {0, 0, 1, 0},
                                         {0.2f, 0, 0, 1},    {0, 0, 0, 1}};
    static const char *text[8] = {"visa kerja",         "izin tinggal", "kantor imigrasi KITAS",
                                  "KITAS pemegang",     "paspor",       "KITAS E33G",
                                  "pekerja jarak jauh", "KITAS lapor"};
    const char *dir = unit_tmpdir();
    char err[256], id[16];
    index_builder *b = builder_open(dir, err, sizeof err);
    if (!b) return NULL;
    int rc = NZ_OK;
    for (int r = 0; r < 8 && rc == NZ_OK; r++) {
        snprintf(id, sizeof id, "c%d", r);
        builder_meta m = {.page = 1};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = "d";
        m.f[NZI_F_URI] = r % 2 ? "en/x" : "id/x";
        m.f[NZI_F_LANG] = r % 2 ? "en" : "id";
        m.f[NZI_F_TEXT] = text[r];
        rc = builder_add(b, vec[r], HT_DIM, &m, err, sizeof err);
    }
    const char *name = strrchr(dir, '/');
    manifest_build mb = {
        .snapshot = name + 1, .created = 7, .tool = "t", .provider = "hash", .model = "m"};
    if (rc == NZ_OK) rc = builder_finish(b, &mb, err, sizeof err);
    builder_free(b);
    return rc == NZ_OK ? snapshot_open(dir, err, sizeof err) : NULL;
}

static float ht_cos(const snapshot *s, const float *q, uint32_t row) {
    return kern_dot(q, snapshot_vector(s, row), s->dim);
}

UNIT_TEST(hybrid_dense_gives_a_row_the_graph_missed_its_exact_rank) {
    snapshot *s = ht_build();
    CHECK(s != NULL);
    float q[HT_DIM] = {0.8f, 0, 0, 0.6f}; /* unit length */
    /* the "graph" found rows 0 and 7 only; BM25 found 6, 0 and 4 */
    topk_hit graph[] = {{ht_cos(s, q, 0), 0}, {ht_cos(s, q, 7), 7}};
    topk_hit lex[] = {{5.0f, 6}, {4.0f, 0}, {3.0f, 4}};
    topk_hit out[5];
    long n = hybrid_dense(s, q, NULL, graph, 2, lex, 3, out);
    CHECK(n == 4); /* row 0 once */
    /* row 6 (cosine 0.75) ranks by its cosine: between the graph's 0 (0.8)
     * and 7 (0.6), not after them */
    CHECK(out[0].id == 0 && out[1].id == 6 && out[2].id == 7 && out[3].id == 4);
    CHECK(out[1].score == ht_cos(s, q, 6) && out[1].score > 0.74f && out[1].score < 0.75f);
    CHECK(out[3].score == ht_cos(s, q, 4) && out[3].score == 0.0f);
    for (long i = 1; i < n; i++) CHECK(out[i - 1].score >= out[i].score);
    snapshot_close(s);
}

UNIT_TEST(hybrid_dense_ties_break_on_the_lower_row) {
    snapshot *s = ht_build();
    CHECK(s != NULL);
    float q[HT_DIM] = {0.6f, 0.8f, 0, 0};
    /* rows 2 and 3 hold one vector: found in either order, 2 comes first */
    topk_hit graph[] = {{ht_cos(s, q, 4), 4}};
    topk_hit lex[] = {{2.0f, 3}, {1.0f, 2}};
    topk_hit out[3];
    CHECK(hybrid_dense(s, q, NULL, graph, 1, lex, 2, out) == 3);
    CHECK(out[0].score == out[1].score && out[0].id == 2 && out[1].id == 3);
    CHECK(out[2].id == 4); /* 0.8 after 0.99 */
    snapshot_close(s);
}

UNIT_TEST(hybrid_dense_keeps_lexical_rows_outside_the_filter_out) {
    snapshot *s = ht_build();
    CHECK(s != NULL);
    float q[HT_DIM] = {0, 0, 1, 0};
    search_filter f = {.lang = "id"};
    topk_hit graph[] = {{ht_cos(s, q, 0), 0}};
    /* rows 5 and 7 are "en": a list that holds them anyway must not let
     * them in, however close their vectors (row 5 is the query itself) */
    topk_hit lex[] = {{9.0f, 5}, {8.0f, 2}, {7.0f, 7}};
    topk_hit out[4];
    long n = hybrid_dense(s, q, &f, graph, 1, lex, 3, out);
    CHECK(n == 2);
    for (long i = 0; i < n; i++) CHECK(out[i].id % 2 == 0);
    f = (search_filter){.uri_prefix = "en/"};
    topk_hit none[1];
    CHECK(hybrid_dense(s, q, &f, none, 0, lex, 3, out) == 2);
    CHECK(out[0].id == 5 && out[1].id == 7);
    snapshot_close(s);
}

UNIT_TEST(hybrid_search_fuses_rows_with_both_ranks_inside_the_filter) {
    snapshot *s = ht_build();
    CHECK(s != NULL);
    float q[HT_DIM] = {0, 0, 0, 1};
    search_filter f = {.lang = "en"};
    fuse_hit out[10], alone[10];
    assist_pool *side = NULL;
    CHECK(assist_pool_new(1, 2, &side) == NZ_OK);
    for (int exact = 0; exact < 2; exact++) {
        search_params p = {.k = 3, .filter = &f, .exact = exact};
        long n = hybrid_search(s, q, "KITAS", &p, FUSE_DEFAULT_WEIGHT, NULL, out);
        CHECK(n == 3);
        /* BM25 on the helper thread: the very same hits */
        CHECK(hybrid_search(s, q, "KITAS", &p, FUSE_DEFAULT_WEIGHT, side, alone) == n);
        CHECK(memcmp(out, alone, (size_t)n * sizeof *out) == 0);
        /* KITAS is in rows 2, 3, 5 and 7; en: 3, 5, 7. Every one has both
         * ranks, its dense one by exact cosine: 7 (the query), then 3 and 5
         * (0.0 each: the lower row) */
        for (long i = 0; i < n; i++) {
            CHECK(out[i].id % 2 == 1);
            CHECK(out[i].rank[FUSE_DENSE] && out[i].rank[FUSE_LEXICAL]);
        }
        uint32_t dr[8] = {0};
        for (long i = 0; i < n; i++) dr[out[i].id] = out[i].rank[FUSE_DENSE];
        CHECK(dr[7] == 1 && dr[3] < dr[5]);
    }
    /* no lexical hit: the dense list alone, dense ranks only */
    search_params p = {.k = 2};
    long n = hybrid_search(s, q, "nothing here", &p, 0.5, side, out);
    assist_pool_free(side);
    CHECK(n == 2 && out[0].id == 7 && out[0].rank[FUSE_LEXICAL] == 0);
    snapshot_close(s);
}
