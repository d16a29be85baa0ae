/* search.h -- k-nearest-neighbour search over a snapshot: the one interface
 * for every index kind (hnswlib's pattern, where the filter functor and
 * searchKnn live in the interface header and each index implements them).
 *
 * Implementations, each with its own header, never calling upward:
 *   flat.h          the exact scan of every row; also the test oracle that
 *                   approximate indexes are measured against
 *   graph_search.h  the Vamana graph walk; it falls back to the exact scan
 *                   (the one documented direction), never the other way
 * index_search() (search.c) picks by the snapshot's kind; callers use it.
 *
 * Queries must be L2-normalised; scores are cosine similarities. Filters
 * (doc_id, uri_prefix, lang) are evaluated per row during the scan, so a
 * filtered search returns the true top k among matching rows.
 */
#ifndef NZ_SEARCH_H
#define NZ_SEARCH_H

#include <stddef.h>

#include "snapshot.h"
#include "topk.h"

#define SEARCH_MAX_K 1000

typedef struct search_filter {
    const char *doc_id;     /* exact match, or NULL */
    const char *uri_prefix; /* or NULL */
    const char *lang;       /* or NULL */
} search_filter;

typedef struct search_params {
    size_t k;
    size_t ef;                   /* search breadth for graph indexes; unused by the flat scan */
    const search_filter *filter; /* NULL: every row */
    int threads;                 /* OpenMP threads for a scan; <= 1 runs serial */
    int exact;                   /* scan every row even when a graph exists */
} search_params;

/* 1 when f restricts anything (a NULL or empty filter passes every row). */
int search_filter_active(const search_filter *f);
/* 1 when the row passes the filter (a corrupt row never passes). */
int search_filter_match(const snapshot *s, uint64_t row, const search_filter *f);

/* The search the snapshot's index kind provides; p->exact forces a scan.
 * Writes up to p->k hits, best first, into hits; returns the count, or
 * NZ_ENOMEM. */
long index_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits);

#endif
