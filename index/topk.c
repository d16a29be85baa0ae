/* topk.c -- see topk.h. */
#include "topk.h"

#include <stdlib.h>

/* a is worse than b: lower score, or equal score and higher id. */
static int topk_worse(const topk_hit *a, const topk_hit *b) {
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

int topk_init(topk *t, size_t k) {
    t->k = k ? k : 1;
    t->n = 0;
    t->h = malloc(t->k * sizeof *t->h);
    return t->h ? 0 : -1;
}

void topk_free(topk *t) {
    free(t->h);
    t->h = NULL;
    t->n = 0;
}

static void topk_sift_down(topk *t, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && topk_worse(&t->h[l], &t->h[m])) m = l;
        if (r < t->n && topk_worse(&t->h[r], &t->h[m])) m = r;
        if (m == i) return;
        topk_hit tmp = t->h[i];
        t->h[i] = t->h[m];
        t->h[m] = tmp;
        i = m;
    }
}

void topk_push(topk *t, float score, uint32_t id) {
    topk_hit x = {score, id};
    if (t->n < t->k) {
        size_t i = t->n++;
        t->h[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!topk_worse(&t->h[i], &t->h[p])) break;
            topk_hit tmp = t->h[i];
            t->h[i] = t->h[p];
            t->h[p] = tmp;
            i = p;
        }
        return;
    }
    if (!topk_worse(&t->h[0], &x)) return;
    t->h[0] = x;
    topk_sift_down(t, 0);
}

void topk_merge(topk *dst, const topk *src) {
    for (size_t i = 0; i < src->n; i++) topk_push(dst, src->h[i].score, src->h[i].id);
}

static int topk_cmp_best_first(const void *a, const void *b) {
    const topk_hit *x = a, *y = b;
    if (topk_worse(x, y)) return 1;
    if (topk_worse(y, x)) return -1;
    return 0;
}

size_t topk_sorted(topk *t) {
    qsort(t->h, t->n, sizeof *t->h, topk_cmp_best_first);
    return t->n;
}
