/* graph.h -- the approximate nearest-neighbour graph: a Vamana graph
 * (DiskANN, Subramanya et al. 2019) built in batch-synchronous rounds
 * (ParlayANN, Manohar et al. 2024), walked on int8 codes.
 *
 * Why Vamana and not HNSW: one flat layer with a fixed out-degree is one
 * array, count x degree u32, that mmaps as is and is read in place; HNSW's
 * upper layers are variable-sized lists per node that need a side table
 * and a second walk, for no recall gain at these sizes (the medoid entry
 * and alpha-pruned long edges do the upper layers' job). And Vamana's
 * insertion is a search then a prune, which runs in deterministic rounds:
 *
 *   order  = a permutation of the rows from the seed (medoid first);
 *   rounds = batches of 1, 2, 4, ... rows, at most 2% of the index each;
 *   round  = (1) every row of the batch, in parallel, searches the graph
 *            as it stood when the round began and prunes what it visited
 *            to its out-edges (alpha-RNG rule); (2) the batch's edges are
 *            committed; (3) their reverse edges are grouped by target in
 *            sorted order and each target, in parallel, appends them or
 *            re-prunes its list when full.
 *
 * Nothing in a round reads what another thread of the same round writes,
 * and distances come from the exact int8 kernel, so the graph -- and the
 * snapshot -- is the same byte for byte whatever the thread count or CPU.
 *
 * Distances: rows are unit vectors, quantised per row (kernels.h); the
 * distance is 1 - cosine ~= 1 - sa * sb * dot_i8(a, b).
 */
#ifndef NZ_GRAPH_H
#define NZ_GRAPH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "progress.h"

#define GRAPH_DEFAULT_DEGREE 32
#define GRAPH_DEFAULT_BUILD_EF 80
#define GRAPH_DEFAULT_ALPHA 1.1f /* 1.2 gave lower recall at every ef on bench/ann data */
#define GRAPH_DEFAULT_SEED 1

typedef struct graph_params {
    uint32_t degree;   /* out-edges per row (R) */
    uint32_t build_ef; /* search breadth while inserting (L) */
    float alpha;       /* pruning slack: > 1 keeps long edges */
    uint64_t seed;     /* insertion order */
    int threads;       /* OpenMP threads; <= 0: OpenMP's default */
} graph_params;

/* codes.bin rows: row i is codes + i * stride, dim int8s, then its float
 * scale at scale_off (format.h). */
typedef struct graph_codes {
    const int8_t *codes;
    size_t stride;
    size_t scale_off;
    uint64_t n;
    uint32_t dim;
} graph_codes;

static inline const int8_t *graph_code(const graph_codes *c, uint64_t i) {
    return c->codes + i * c->stride;
}
static inline float graph_scale(const graph_codes *c, uint64_t i) {
    return nzi_code_scale(graph_code(c, i), c->scale_off);
}

/* Build into adj (n x degree, filled; unused slots GRAPH_EMPTY) and set
 * *entry. Checks *stop between rounds (SIGTERM). Returns NZ_OK;
 * NZ_ESTOPPED when *stop was set; NZ_ENOMEM (err set). */
int graph_build(const graph_codes *c, const graph_params *p, uint32_t *adj, uint32_t *entry,
                volatile sig_atomic_t *stop, progress *prog, char *err, size_t errlen);

#endif
