/* flat.h -- the exact index: a scan of every row (flat.c).
 *
 * The oracle: tests measure every approximate index against it, and the
 * graph walk falls back to it for very selective filters. It knows nothing
 * of any other index kind.
 */
#ifndef NZ_FLAT_H
#define NZ_FLAT_H

#include "search.h"

/* Exact scan. Writes up to p->k hits, best first, into hits; returns the
 * count, or NZ_ENOMEM. */
long flat_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits);

#endif
