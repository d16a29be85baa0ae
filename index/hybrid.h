/* hybrid.h -- hybrid mode: the dense and the lexical lists, and their fusion.
 *
 * Each side brings its best HYBRID_DEPTH x k rows (k: 2k cost ~15% more
 * time and CPU a query, p50 0.50 against 0.43 ms on bench/corpus with the
 * helper thread, for no quality on bench/quality). The lexical list is
 * BM25's (lex_search.h). The dense list is the graph walk's hits (exact
 * cosines already: the walk re-ranks its candidates on the float vectors)
 * UNION the lexical list's rows, each of those scored by its exact cosine
 * to the query vector (a pread and a dot product a row, kernels.h), sorted
 * by cosine, ties on the lower row. A row the walk missed but BM25 found
 * so gets its place in the dense order instead of none: without it a
 * planted code's page, found first by BM25 and missed by the walk, lost
 * to distractors both lists had found; and every row the fusion weighs
 * has both ranks, so the dense side re-orders BM25's candidates rather
 * than only adding its own. Rows outside the filter never enter: the
 * lexical list honours it already, and the union checks it again (a
 * caller's list is not trusted to).
 *
 * The two lists are then fused by reciprocal rank fusion (fuse.h, k = 60),
 * the request's weight the lexical list's share, and cut to k. Depth k
 * and FUSE_DEFAULT_WEIGHT were chosen on the English Debian Reference
 * headings of bench/quality and held out on the Indonesian ones.
 *
 * The lexical list is made on a helper thread (assist.h) while the caller
 * walks the graph: the walk is the longer of the two (~0.3 ms against
 * BM25's ~0.13 ms at 100k rows), so the query takes about the walk's time
 * instead of the sum. The union and the fusion wait for both. Where no
 * CPU is free the caller makes the lexical list itself, after the walk.
 */
#ifndef NZ_HYBRID_H
#define NZ_HYBRID_H

#include <stddef.h>

#include "assist.h"
#include "fuse.h"
#include "search.h"
#include "snapshot.h"

#define HYBRID_DEPTH 1 /* rows each list brings, per result asked for */

/* The dense list of hybrid mode into out (room for ng + nl): graph[0..ng)
 * (hits with exact cosines, best first) and every row of lex[0..nl) that
 * passes f and is not among them, scored by its exact cosine to q; best
 * first, ties on the lower row. Returns the count, or NZ_ENOMEM. */
long hybrid_dense(const snapshot *s, const float *q, const search_filter *f, const topk_hit *graph,
                  size_t ng, const topk_hit *lex, size_t nl, topk_hit *out);

/* Hybrid search for text whose embedding is q (normalised): up to p->k
 * fused hits, best first, into out (room for p->k). p->filter, p->ef and
 * p->threads apply; p->exact scans every row and scores every posting.
 * weight is the lexical list's share (fuse.h). The lexical list is made
 * on one of side's helpers while this thread walks the graph (assist.h;
 * side NULL: after the walk, on this thread); the hits are the same
 * either way. Returns the count, NZ_EINVAL (the snapshot has no lexical
 * index) or NZ_ENOMEM. */
long hybrid_search(const snapshot *s, const float *q, const char *text, const search_params *p,
                   double weight, assist_pool *side, fuse_hit *out);

#endif
