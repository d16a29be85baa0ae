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
 * An incremental build (graph_update) starts from a base snapshot's graph
 * the FreshDiskANN way (Singh et al. 2021): each carried row keeps its base
 * list, renumbered; a row that pointed at a row not carried (dropped or
 * replaced) takes that row's carried out-neighbours as candidates along
 * with its own remaining edges and is pruned again; then only the new rows
 * go through the same rounds as a full build. The cost follows the rows
 * that changed, not the index.
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

/* A base snapshot's graph, for graph_update: its adjacency (count x
 * degree) and entry, and map[b], the row of c that base row b became, or
 * GRAPH_EMPTY when it was not carried. */
typedef struct graph_base {
    const uint32_t *adj;
    uint64_t count;
    uint32_t degree, entry;
    const uint32_t *map;
} graph_base;

/* How graph_update made the graph: carried rows whose list was kept as it
 * was, carried rows repaired (they had lost an edge), rows inserted. */
typedef struct graph_stats {
    uint64_t kept, repaired, inserted;
} graph_stats;

/* Build into adj (n x degree) from base: carried rows kept or repaired,
 * the rows not carried inserted in rounds in a seeded order. The entry is
 * the base's if carried, else the carried row nearest the mean. With no
 * carried row it is graph_build (st all 0). Deterministic like graph_build.
 * Returns NZ_OK; NZ_ESTOPPED; with err set: NZ_EINVAL (base->degree is not
 * p->degree, or map is not one-to-one into c), NZ_ENOMEM. */
int graph_update(const graph_codes *c, const graph_params *p, const graph_base *base, uint32_t *adj,
                 uint32_t *entry, graph_stats *st, volatile sig_atomic_t *stop, progress *prog,
                 char *err, size_t errlen);

#endif
