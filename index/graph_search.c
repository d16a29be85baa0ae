/* graph_search.c -- query the Vamana graph (graph_search.h): walk on int8,
 * re-rank in float.
 *
 * The query is quantised like the rows (its own scale is a constant factor,
 * so it drops out of the ranking). A beam of `ef` candidates walks the
 * graph from the medoid, reading only the 1-byte codes and the adjacency
 * array; the best candidates are then re-scored exactly in float32 from
 * vectors.bin, read with pread (snapshot.h says why not through the map).
 * So a serving process holds the codes and the graph, a quarter of the
 * float vectors' size, and the float rows stay in the page cache.
 *
 * Filters are evaluated during the walk: every node still guides the
 * search, but only matching nodes become results, and the beam widens by
 * the filter's estimated selectivity (sampled on a fixed stride of rows).
 * Below GRAPH_EXACT_SELECTIVITY the walk would visit most of the index
 * anyway, so the search falls back to an exact scan of the matching rows.
 * A walk that still finds fewer than k matches falls back the same way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beam.h"
#include "graph.h"
#include "kernels.h"
#include "flat.h"
#include "graph_search.h"
#include "status.h"

#define GRAPH_DEFAULT_EF 64
#define GRAPH_FILTER_SAMPLE 1024
#define GRAPH_EXACT_SELECTIVITY 0.02
#define GRAPH_MAX_EF 100000

/* The share of rows a filter lets through, from a fixed sample. */
static double graph_selectivity(const snapshot *s, const search_filter *f) {
    uint64_t step = s->count / GRAPH_FILTER_SAMPLE;
    if (step == 0) step = 1;
    uint64_t seen = 0, hit = 0;
    for (uint64_t r = step / 2; r < s->count && seen < GRAPH_FILTER_SAMPLE; r += step, seen++)
        hit += (uint64_t)search_filter_match(s, r, f);
    return seen ? (double)hit / (double)seen : 1.0;
}

long graph_search(const snapshot *s, const float *q, const search_params *p, topk_hit *hits) {
    const search_filter *f = search_filter_active(p->filter) ? p->filter : NULL;
    size_t ef = p->ef ? p->ef : GRAPH_DEFAULT_EF;
    if (ef < p->k) ef = p->k;
    if (f) {
        double sel = graph_selectivity(s, f);
        if (sel < GRAPH_EXACT_SELECTIVITY) return flat_search(s, q, p, hits);
        double wide = (double)ef / sel;
        ef = wide > GRAPH_MAX_EF ? GRAPH_MAX_EF : (size_t)wide;
    }
    if (ef > s->count) ef = (size_t)s->count;
    const uint32_t R = s->degree, dim = s->dim;
    const uint64_t n = s->count;
    int8_t *qc = malloc(dim);
    float *row = malloc((size_t)dim * sizeof *row);
    beam bm = {0}, res = {0};
    visited vis = {0};
    topk top = {0};
    long out = NZ_ENOMEM;
    if (!qc || !row || beam_init(&bm, ef) < 0 || visited_init(&vis, 2 * ef * R) < 0 ||
        topk_init(&top, p->k) < 0)
        goto fail;
    if (f && beam_init(&res, ef) < 0) goto fail;
    kern_quantise(q, dim, qc);

    uint32_t e = s->entry;
    visited_add(&vis, e);
    float d0 = 1.0f - snapshot_scale(s, e) * (float)kern_dot_i8(qc, snapshot_code(s, e), dim);
    beam_insert(&bm, d0, e);
    if (f && search_filter_match(s, e, f)) beam_insert(&res, d0, e);
    long at;
    while ((at = beam_next(&bm)) >= 0) {
        const uint32_t *nb = s->adj + (size_t)bm.v[at].id * R;
        uint32_t todo[GRAPH_MAX_DEGREE], nt = 0;
        for (uint32_t j = 0; j < R; j++) {
            uint32_t v = nb[j];
            if (v >= n) break; /* GRAPH_EMPTY, or corrupt: never followed */
            int added = visited_add(&vis, v);
            if (added < 0) goto fail;
            if (added) {
                todo[nt++] = v;
                __builtin_prefetch(snapshot_code(s, v));
            }
        }
        for (uint32_t j = 0; j < nt; j++) {
            if (j + 1 < nt) {
                const char *c = (const char *)snapshot_code(s, todo[j + 1]);
                for (size_t o = 64; o < s->code_stride; o += 64) __builtin_prefetch(c + o);
            }
            uint32_t v = todo[j];
            float d =
                1.0f - snapshot_scale(s, v) * (float)kern_dot_i8(qc, snapshot_code(s, v), dim);
            if (beam_accepts(&bm, d)) beam_insert(&bm, d, v);
            if (f && beam_accepts(&res, d) && search_filter_match(s, v, f)) beam_insert(&res, d, v);
        }
    }
    /* re-rank the best candidates exactly */
    const beam *cand = f ? &res : &bm;
    /* int8 order is close to exact: the true top k sit within the first
     * 2k candidates (recall did not move between 2k and all of ef on
     * bench/ann data), and each re-ranked row is a pread. Kept over the
     * map on purpose: reading the rows through snapshot_vector measured
     * p50 -10% dense, -12% hybrid on bench/corpus (106k rows, dim 1536,
     * a process past its first pass), but every fault maps 64 KiB around
     * it (1,000 random rows put 65 MB of vectors.bin in RSS), so a
     * server's RSS would soon hold all the floats the codes spare it. */
    size_t rr = p->k * 2 > 20 ? p->k * 2 : 20;
    if (rr > cand->n) rr = cand->n;
    for (size_t i = 0; i < rr; i++) {
        uint32_t v = cand->v[i].id;
        snapshot_read_vector(s, v, row);
        topk_push(&top, kern_dot(q, row, dim), v);
    }
    out = (long)topk_sorted(&top);
    memcpy(hits, top.h, (size_t)out * sizeof *hits);
    if (f && (size_t)out < p->k && (uint64_t)out < n) out = flat_search(s, q, p, hits);
fail:
    free(qc);
    free(row);
    beam_free(&bm);
    beam_free(&res);
    visited_free(&vis);
    topk_free(&top);
    return out;
}
