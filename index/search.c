/* search.c -- the search interface (search.h): the row filter, and the
 * dispatch to the index kind's implementation. The implementations (flat.c,
 * graph_search.c) depend on this file, never on each other's callers. */
#include "search.h"

#include <string.h>

#include "flat.h"
#include "graph_search.h"

int search_filter_active(const search_filter *f) {
    return f && (f->doc_id || f->uri_prefix || f->lang);
}

static int search_field_eq(const snapshot_chunk *c, int field, const char *want) {
    size_t n = strlen(want);
    return c->len[field] == n && memcmp(c->f[field], want, n) == 0;
}

int search_filter_match(const snapshot *s, uint64_t row, const search_filter *f) {
    if (!search_filter_active(f)) return 1;
    snapshot_chunk c;
    if (snapshot_chunk_get(s, row, &c) < 0) return 0;
    if (f->doc_id && !search_field_eq(&c, NZI_F_DOC_ID, f->doc_id)) return 0;
    if (f->lang && !search_field_eq(&c, NZI_F_LANG, f->lang)) return 0;
    if (f->uri_prefix) {
        size_t n = strlen(f->uri_prefix);
        if (c.len[NZI_F_URI] < n || memcmp(c.f[NZI_F_URI], f->uri_prefix, n) != 0) return 0;
    }
    return 1;
}

long index_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits) {
    if (s->adj && !p->exact) return graph_search(s, q, p, hits);
    return flat_search(s, q, p, hits);
}
