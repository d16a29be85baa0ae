/* beam.h -- the two small structures a graph search runs on, shared by the
 * build (graph_build.c) and the query side (graph_search.c).
 *
 * beam:    the best `cap` candidates seen so far, sorted by distance
 *          (ties on the lower id, so every search is deterministic), each
 *          marked once it has been expanded. `cursor` is the first
 *          position that may hold an unexpanded candidate, so finding the
 *          next one to expand is amortised O(1).
 * visited: an open-addressing set of node ids (Fibonacci hashing, linear
 *          probing), sized to the search rather than to the index, so a
 *          query on a billion-row index costs no billion-entry array and a
 *          thread needs no per-index state. It doubles when half full.
 */
#ifndef NZ_BEAM_H
#define NZ_BEAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BEAM_NONE UINT32_MAX

typedef struct beam_item {
    float d;
    uint32_t id;
    uint32_t expanded;
} beam_item;

typedef struct beam {
    beam_item *v;
    size_t n, cap, cursor;
} beam;

static inline int beam_init(beam *b, size_t cap) {
    b->v = malloc((cap + 1) * sizeof *b->v);
    b->n = b->cursor = 0;
    b->cap = cap;
    return b->v ? 0 : -1;
}
static inline void beam_free(beam *b) {
    free(b->v);
    b->v = NULL;
}
static inline void beam_reset(beam *b) { b->n = b->cursor = 0; }

static inline int beam_less(float da, uint32_t ia, float db, uint32_t ib) {
    return da < db || (da == db && ia < ib);
}

/* Would a candidate at distance d enter? */
static inline int beam_accepts(const beam *b, float d) {
    return b->n < b->cap || d < b->v[b->n - 1].d;
}

static inline void beam_insert(beam *b, float d, uint32_t id) {
    size_t n = b->n;
    if (b->cap == 0) return;
    if (n >= b->cap) { /* full: the last one goes, if the new one beats it */
        n = b->cap - 1;
        if (!beam_less(d, id, b->v[n].d, b->v[n].id)) return;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (beam_less(b->v[mid].d, b->v[mid].id, d, id)) lo = mid + 1;
        else hi = mid;
    }
    memmove(b->v + lo + 1, b->v + lo, (n - lo) * sizeof *b->v);
    b->v[lo] = (beam_item){d, id, 0};
    b->n = n + 1;
    if (lo < b->cursor) b->cursor = lo;
}

/* The next unexpanded candidate, marked expanded; -1 when none is left. */
static inline long beam_next(beam *b) {
    while (b->cursor < b->n && b->v[b->cursor].expanded) b->cursor++;
    if (b->cursor == b->n) return -1;
    b->v[b->cursor].expanded = 1;
    return (long)b->cursor++;
}

typedef struct visited {
    uint32_t *slot;
    size_t cap, n; /* cap: a power of two */
} visited;

static inline int visited_init(visited *s, size_t cap) {
    size_t c = 64;
    while (c < cap) c *= 2;
    s->slot = malloc(c * sizeof *s->slot);
    s->cap = c;
    s->n = 0;
    if (!s->slot) return -1;
    memset(s->slot, 0xff, c * sizeof *s->slot);
    return 0;
}
static inline void visited_free(visited *s) {
    free(s->slot);
    s->slot = NULL;
}
static inline void visited_reset(visited *s) {
    if (s->n) memset(s->slot, 0xff, s->cap * sizeof *s->slot);
    s->n = 0;
}
static inline size_t visited_hash(uint32_t id, size_t cap) {
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}
/* Add id; 1 when it was new, 0 when already there, -1 when out of memory. */
static inline int visited_add(visited *s, uint32_t id) {
    if (2 * (s->n + 1) > s->cap) {
        visited bigger;
        if (visited_init(&bigger, s->cap * 2) < 0) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i] != BEAM_NONE) {
                size_t h = visited_hash(s->slot[i], bigger.cap);
                while (bigger.slot[h] != BEAM_NONE) h = (h + 1) & (bigger.cap - 1);
                bigger.slot[h] = s->slot[i];
            }
        bigger.n = s->n;
        free(s->slot);
        *s = bigger;
    }
    size_t h = visited_hash(id, s->cap);
    while (s->slot[h] != BEAM_NONE) {
        if (s->slot[h] == id) return 0;
        h = (h + 1) & (s->cap - 1);
    }
    s->slot[h] = id;
    s->n++;
    return 1;
}

#endif
