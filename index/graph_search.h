/* graph_search.h -- the Vamana graph walk (graph_search.c).
 *
 * Approximate search over a snapshot that has a graph (s->adj != NULL).
 * Very selective filters, and walks that find fewer than k matches, fall
 * back to the exact scan (flat.h); the flat scan never calls back here.
 */
#ifndef NZ_GRAPH_SEARCH_H
#define NZ_GRAPH_SEARCH_H

#include "search.h"

/* Writes up to p->k hits, best first, into hits; returns the count, or
 * NZ_ENOMEM. The snapshot must have a graph. */
long graph_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits);

#endif
