/* topk.h -- the k best (score, id) pairs of a stream, in a bounded min-heap.
 *
 * The heap's root is the worst kept score, so a candidate is tested against
 * it in O(1) and inserted in O(log k). Ties on score break on the lower id,
 * which makes every search result deterministic.
 */
#ifndef NZ_TOPK_H
#define NZ_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct topk_hit {
    float score;
    uint32_t id;
} topk_hit;

typedef struct topk {
    topk_hit *h;
    size_t n, k;
} topk;

int topk_init(topk *t, size_t k); /* -1 when out of memory */
void topk_free(topk *t);
void topk_push(topk *t, float score, uint32_t id);
/* Would this score enter the heap? */
static inline int topk_accepts(const topk *t, float score) {
    return t->n < t->k || score > t->h[0].score;
}
/* Merge src into dst. */
void topk_merge(topk *dst, const topk *src);
/* Sort the kept hits best first (destroys the heap order); returns count. */
size_t topk_sorted(topk *t);

#endif
