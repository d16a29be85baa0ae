/* fuse.c -- see fuse.h. */
#include "fuse.h"

#include <stdlib.h>

static int fuse_by_id(const void *a, const void *b) {
    const fuse_hit *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static uint32_t fuse_best_rank(const fuse_hit *h) {
    uint32_t r = UINT32_MAX;
    for (int l = 0; l < FUSE_LISTS; l++)
        if (h->rank[l] && h->rank[l] < r) r = h->rank[l];
    return r;
}

static int fuse_by_score(const void *a, const void *b) {
    const fuse_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    uint32_t rx = fuse_best_rank(x), ry = fuse_best_rank(y);
    if (rx != ry) return rx > ry ? 1 : -1;
    return fuse_by_id(a, b);
}

size_t fuse_single(const topk_hit *h, size_t n, int list, fuse_hit *out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = (fuse_hit){.id = h[i].id, .score = h[i].score};
        out[i].rank[list] = (uint32_t)(i + 1);
    }
    return n;
}

size_t fuse_rrf(const topk_hit *dense, size_t nd, const topk_hit *lex, size_t nl, double weight,
                size_t k, fuse_hit *out) {
    fuse_single(dense, nd, FUSE_DENSE, out);
    fuse_single(lex, nl, FUSE_LEXICAL, out + nd);
    qsort(out, nd + nl, sizeof *out, fuse_by_id);
    size_t n = 0;
    for (size_t i = 0; i < nd + nl; i++) { /* a row in both lists: one hit, both ranks */
        if (n && out[n - 1].id == out[i].id) {
            for (int l = 0; l < FUSE_LISTS; l++)
                if (out[i].rank[l]) out[n - 1].rank[l] = out[i].rank[l];
        } else {
            out[n++] = out[i];
        }
    }
    const double w[FUSE_LISTS] = {2 * (1 - weight), 2 * weight};
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int l = 0; l < FUSE_LISTS; l++)
            if (out[i].rank[l]) s += w[l] / (FUSE_RRF_K + out[i].rank[l]);
        out[i].score = (float)s;
    }
    qsort(out, n, sizeof *out, fuse_by_score);
    return n < k ? n : k;
}
