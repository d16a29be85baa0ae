/* fuse.h -- reciprocal rank fusion of the dense and the lexical lists.
 *
 * RRF (Cormack, Clarke and Buettcher 2009) scores a row by its ranks
 * alone, so a cosine and a BM25 score never have to be put on one scale:
 *
 *   score = 2 (1 - w) / (60 + rank_dense) + 2 w / (60 + rank_lexical)
 *
 * ranks from 1, a term dropped for a list that did not find the row. w is
 * the request's "weight", the lexical list's share: 0.5 weighs both 1,
 * plain RRF; 1 ranks by the lexical list alone (dense-only rows follow at
 * score 0), 0 by the dense one. The default, FUSE_DEFAULT_WEIGHT, leans
 * on BM25: with the offline `hash` embedder (word unigrams and bigrams
 * without IDF) as the dense side, plain RRF lost to BM25 alone on
 * bench/quality, and 0.9 was the best share on the English set and held
 * on the Indonesian one (docs/DESIGN.md, "Hybrid"). Ties
 * break on the better of the two ranks, then the lower row. Every fused
 * hit keeps its rank in each list (0: not found there), for the answer's
 * "found_by".
 */
#ifndef NZ_FUSE_H
#define NZ_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "topk.h"

#define FUSE_RRF_K 60
#define FUSE_DEFAULT_WEIGHT 0.9
enum { FUSE_DENSE, FUSE_LEXICAL, FUSE_LISTS };

typedef struct fuse_hit {
    uint32_t id;
    float score;
    uint32_t rank[FUSE_LISTS]; /* 1-based; 0 when the list did not find it */
} fuse_hit;

/* Fuse dense[0..nd) and lex[0..nl) (each best first) into out, which has
 * room for nd + nl hits; keeps the best k. Returns the count. */
size_t fuse_rrf(const topk_hit *dense, size_t nd, const topk_hit *lex, size_t nl, double weight,
                size_t k, fuse_hit *out);

/* One list as it is (its own scores), ranks noted for list. The count. */
size_t fuse_single(const topk_hit *h, size_t n, int list, fuse_hit *out);

#endif
