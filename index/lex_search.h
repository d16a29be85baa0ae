/* lex_search.h -- BM25 top-k over a snapshot's lexical index.
 *
 * The query text goes through the same tokeniser as the rows (lex_terms.h).
 * Its stemming follows the query's language: with filter.lang, that
 * language's stemmer (when the index stemmed it); without, the query is
 * tokenised unstemmed and with each stemmer the index used, and the terms
 * are OR'ed (each distinct term once), so it meets rows of any language.
 *
 * lex_search ranks with block-max MaxScore (Turtle and Flood; Ding and
 * Suel's block maxima): the query's terms sorted by their score bound;
 * the lowest ones whose bounds sum below the k-th best score so far are
 * "non-essential" and only probed, through their block maxima first, for
 * documents an essential term brought up. Rows failing the filter are
 * skipped before any score. The k-th best score a row must beat starts at
 * the terms' kth (lex_format.h) when no filter narrows the rows and k <=
 * LEX_SEED_K, so a search prunes from its first row, and rises as rows are
 * found; rows tied with it are kept (the lower row wins a tie), never
 * pruned. Per query the work is O(terms + postings visited): no array
 * sized by the row count, no allocation beyond one run and its cursors.
 * lex_search_exhaustive scores every posting of
 * every term: the oracle the unit tests hold lex_search to. Both add a
 * row's term scores in query-term order, so their scores agree to the
 * bit, and both break ties on the lower row.
 *
 * Scores are BM25 with the k1 and b the index was built with.
 */
#ifndef NZ_LEX_SEARCH_H
#define NZ_LEX_SEARCH_H

#include "search.h"
#include "snapshot.h"

#define LEX_MAX_QUERY_TERMS 256

/* Up to p->k hits, best first, into hits (p->filter applies; p->ef,
 * p->threads and p->exact are not used). Returns the count (0 when no
 * term of the text is in the index), NZ_EINVAL (the snapshot has no
 * lexical index), or NZ_ENOMEM. */
long lex_search(const snapshot *s, const char *text, const search_params *p, topk_hit *hits);
long lex_search_exhaustive(const snapshot *s, const char *text, const search_params *p,
                           topk_hit *hits);

#endif
