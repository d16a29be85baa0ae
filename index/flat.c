/* flat.c -- the exact index (flat.h): a scan of every row with a
 * per-thread top-k heap, merged at the end. Rows are read straight from the
 * mmap. Knows nothing of the graph. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "flat.h"
#include "status.h"

long flat_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits) {
    const search_filter *f = search_filter_active(p->filter) ? p->filter : NULL;
    int threads = p->threads > 1 && s->count >= 4096 ? p->threads : 1;
    topk *heaps = calloc((size_t)threads, sizeof *heaps);
    long n = NZ_ENOMEM;
    if (!heaps) return NZ_ENOMEM;
    for (int t = 0; t < threads; t++)
        if (topk_init(&heaps[t], p->k) < 0) goto fail;
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
fail:
    for (int t = 0; t < threads; t++) topk_free(&heaps[t]);
    free(heaps);
    return n;
}
