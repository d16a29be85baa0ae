/* test_fuse.c -- reciprocal rank fusion (fuse.h): scores, weights, ranks
 * kept per list, ties. */
#include <string.h>

#include "fuse.h"
#include "unit.h"

UNIT_TEST(fuse_rrf_scores_ranks_and_weights) {
    topk_hit dense[] = {{0.9f, 7}, {0.8f, 3}, {0.7f, 5}};
    topk_hit lex[] = {{12.0f, 3}, {9.0f, 8}};
    fuse_hit out[5];
    size_t n = fuse_rrf(dense, 3, lex, 2, 0.5, 10, out);
    CHECK(n == 4);
    /* row 3: 1/62 + 1/61, found by both */
    CHECK(out[0].id == 3 && out[0].rank[FUSE_DENSE] == 2 && out[0].rank[FUSE_LEXICAL] == 1);
    CHECK(out[0].score == (float)(1.0 / 62 + 1.0 / 61));
    /* rows 7 (dense 1) and 8 (lexical 2) and 5 (dense 3) */
    CHECK(out[1].id == 7 && out[1].rank[FUSE_LEXICAL] == 0);
    CHECK(out[2].id == 8 && out[2].rank[FUSE_DENSE] == 0 && out[2].rank[FUSE_LEXICAL] == 2);
    CHECK(out[3].id == 5);
    /* k cuts */
    CHECK(fuse_rrf(dense, 3, lex, 2, 0.5, 2, out) == 2);
    /* weight 1: the lexical order first, dense-only rows after at 0 */
    n = fuse_rrf(dense, 3, lex, 2, 1.0, 10, out);
    CHECK(n == 4 && out[0].id == 3 && out[1].id == 8 && out[2].score == 0);
    /* weight 0: the dense order */
    n = fuse_rrf(dense, 3, lex, 2, 0.0, 10, out);
    CHECK(out[0].id == 7 && out[1].id == 3 && out[2].id == 5);
}

UNIT_TEST(fuse_ties_break_on_best_rank_then_row) {
    topk_hit dense[] = {{0.9f, 4}, {0.8f, 9}};
    topk_hit lex[] = {{3.0f, 2}, {2.0f, 1}};
    fuse_hit out[4];
    size_t n = fuse_rrf(dense, 2, lex, 2, 0.5, 4, out);
    CHECK(n == 4);
    /* 4 and 2 both score 1/61: the lower row first; then 9 and 1 */
    CHECK(out[0].id == 2 && out[1].id == 4 && out[2].id == 1 && out[3].id == 9);
    n = fuse_single(lex, 2, FUSE_LEXICAL, out);
    CHECK(n == 2 && out[1].rank[FUSE_LEXICAL] == 2 && out[1].score == 2.0f);
}
