/* flat.c -- the exact index: a scan of every row with a per-thread top-k
 * heap, merged at the end. Rows are read straight from the mmap. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "search.h"

int search_filter_active(const search_filter *f) {
    return f && (f->doc_id || f->uri_prefix || f->lang);
}

static int flat_field_eq(const snapshot_chunk *c, int field, const char *want) {
    size_t n = strlen(want);
    return c->len[field] == n && memcmp(c->f[field], want, n) == 0;
}

int search_filter_match(const snapshot *s, uint64_t row, const search_filter *f) {
    if (!search_filter_active(f)) return 1;
    snapshot_chunk c;
    if (snapshot_chunk_get(s, row, &c) < 0) return 0;
    if (f->doc_id && !flat_field_eq(&c, NZI_F_DOC_ID, f->doc_id)) return 0;
    if (f->lang && !flat_field_eq(&c, NZI_F_LANG, f->lang)) return 0;
    if (f->uri_prefix) {
        size_t n = strlen(f->uri_prefix);
        if (c.len[NZI_F_URI] < n || memcmp(c.f[NZI_F_URI], f->uri_prefix, n) != 0) return 0;
    }
    return 1;
}

long flat_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits) {
    const search_filter *f = search_filter_active(p->filter) ? p->filter : NULL;
    int threads = p->threads > 1 && s->count >= 4096 ? p->threads : 1;
    topk *heaps = calloc((size_t)threads, sizeof *heaps);
    long n = -1;
    if (!heaps) return -1;
    for (int t = 0; t < threads; t++)
        if (topk_init(&heaps[t], p->k) < 0) goto out;
    long long r;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (r = 0; r < (long long)s->count; r++) {
        topk *mine = &heaps[omp_get_thread_num()];
        if (f && !search_filter_match(s, (uint64_t)r, f)) continue;
        float sc = kern_dot(q, snapshot_vector(s, (uint64_t)r), s->dim);
        if (topk_accepts(mine, sc)) topk_push(mine, sc, (uint32_t)r);
    }
    for (int t = 1; t < threads; t++) topk_merge(&heaps[0], &heaps[t]);
    n = (long)topk_sorted(&heaps[0]);
    memcpy(hits, heaps[0].h, (size_t)n * sizeof *hits);
out:
    for (int t = 0; t < threads; t++) topk_free(&heaps[t]);
    free(heaps);
    return n;
}

long index_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits) {
    if (s->adj && !p->exact) return graph_search(s, q, p, hits);
    return flat_search(s, q, p, hits);
}
