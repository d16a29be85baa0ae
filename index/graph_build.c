/* graph_build.c -- Vamana in batch-synchronous rounds; see graph.h. */
#include "graph.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam.h"
#include "kernels.h"
#include "status.h"

#define GRAPH_MAX_BATCH_FRACTION 0.02

typedef struct cand {
    float d;
    uint32_t id;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static inline float graph_dist(const graph_codes *c, uint64_t a, uint64_t b) {
    return 1.0f - graph_scale(c, a) * graph_scale(c, b) *
                      (float)kern_dot_i8(graph_code(c, a), graph_code(c, b), c->dim);
}

/* Per-thread scratch. */
typedef struct graph_scratch {
    beam bm;
    visited vis;
    cand *cands;
    size_t ncands, cap;
} graph_scratch;

static int scratch_init(graph_scratch *s, const graph_params *p) {
    memset(s, 0, sizeof *s);
    s->cap = (size_t)p->build_ef * (p->degree + 1) + 2 * GRAPH_MAX_DEGREE;
    if (beam_init(&s->bm, p->build_ef) < 0 ||
        visited_init(&s->vis, 4 * (size_t)p->build_ef * p->degree) < 0 ||
        !(s->cands = malloc(s->cap * sizeof *s->cands)))
        return NZ_ENOMEM;
    return 0;
}

static void scratch_free(graph_scratch *s) {
    beam_free(&s->bm);
    visited_free(&s->vis);
    free(s->cands);
}

static int scratch_push(graph_scratch *s, float d, uint32_t id) {
    if (s->ncands == s->cap) {
        size_t cap = s->cap * 2;
        cand *nc = realloc(s->cands, cap * sizeof *nc);
        if (!nc) return NZ_ENOMEM;
        s->cands = nc;
        s->cap = cap;
    }
    s->cands[s->ncands++] = (cand){d, id};
    return 0;
}

/* Search the graph for row q; every expanded node goes into s->cands. */
static int graph_insert_search(const graph_codes *c, const uint32_t *adj, uint32_t degree,
                               uint32_t entry, uint32_t q, graph_scratch *s) {
    beam_reset(&s->bm);
    visited_reset(&s->vis);
    s->ncands = 0;
    if (visited_add(&s->vis, entry) < 0) return NZ_ENOMEM;
    beam_insert(&s->bm, graph_dist(c, q, entry), entry);
    long at;
    while ((at = beam_next(&s->bm)) >= 0) {
        beam_item it = s->bm.v[at];
        if (scratch_push(s, it.d, it.id) < 0) return NZ_ENOMEM;
        const uint32_t *nb = adj + (size_t)it.id * degree;
        for (uint32_t j = 0; j < degree && nb[j] != GRAPH_EMPTY; j++) {
            if (j + 1 < degree && nb[j + 1] != GRAPH_EMPTY)
                __builtin_prefetch(graph_code(c, nb[j + 1]));
            int added = visited_add(&s->vis, nb[j]);
            if (added < 0) return NZ_ENOMEM;
            if (!added) continue;
            float d = graph_dist(c, q, nb[j]);
            if (beam_accepts(&s->bm, d)) beam_insert(&s->bm, d, nb[j]);
        }
    }
    return 0;
}

/* The alpha-RNG prune: walk candidates nearest first and keep one unless a
 * kept node is alpha times nearer to it than p is. cands is sorted here;
 * p itself and duplicates are dropped. Writes up to degree ids to out,
 * padded with GRAPH_EMPTY. */
static void graph_prune(const graph_codes *c, uint32_t p, cand *cands, size_t n,
                        const graph_params *gp, uint32_t *out) {
    qsort(cands, n, sizeof *cands, cand_cmp);
    uint32_t kept = 0;
    for (size_t i = 0; i < n && kept < gp->degree; i++) {
        uint32_t id = cands[i].id;
        if (id == p || (i > 0 && id == cands[i - 1].id)) continue;
        int ok = 1;
        for (uint32_t k = 0; k < kept && ok; k++) {
            if (out[k] == id || gp->alpha * graph_dist(c, out[k], id) <= cands[i].d) ok = 0;
        }
        if (ok) out[kept++] = id;
    }
    for (uint32_t k = kept; k < gp->degree; k++) out[k] = GRAPH_EMPTY;
}

/* The row nearest the mean: the entry point. Serial sums in double, so the
 * answer does not depend on the thread count. */
static int graph_medoid(const graph_codes *c, uint32_t *entry) {
    double *mean = calloc(c->dim, sizeof *mean);
    float *mf = malloc(c->dim * sizeof *mf);
    int8_t *mc = malloc(c->dim);
    float *score = malloc(c->n * sizeof *score);
    int rc = NZ_ENOMEM;
    if (!mean || !mf || !mc || !score) goto fail;
    for (uint64_t i = 0; i < c->n; i++) {
        const int8_t *x = graph_code(c, i);
        for (uint32_t d = 0; d < c->dim; d++) mean[d] += (double)graph_scale(c, i) * x[d];
    }
    for (uint32_t d = 0; d < c->dim; d++) mf[d] = (float)(mean[d] / (double)c->n);
    kern_quantise(mf, c->dim, mc);
    long long i;
#pragma omp parallel for schedule(static)
    for (i = 0; i < (long long)c->n; i++)
        score[i] = graph_scale(c, (uint64_t)i) *
                   (float)kern_dot_i8(mc, graph_code(c, (uint64_t)i), c->dim);
    uint32_t best = 0;
    for (uint64_t r = 1; r < c->n; r++)
        if (score[r] > score[best]) best = (uint32_t)r;
    *entry = best;
    rc = NZ_OK;
fail:
    free(mean);
    free(mf);
    free(mc);
    free(score);
    return rc;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct edge {
    uint32_t to, from;
} edge;

static int edge_cmp(const void *a, const void *b) {
    const edge *x = a, *y = b;
    if (x->to != y->to) return x->to < y->to ? -1 : 1;
    return x->from < y->from ? -1 : x->from > y->from;
}

int graph_build(const graph_codes *c, const graph_params *p, uint32_t *adj, uint32_t *entry,
                volatile sig_atomic_t *stop, progress *prog, char *err, size_t errlen) {
    const uint32_t R = p->degree;
    const uint64_t n = c->n;
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    uint32_t *order = NULL, *newout = NULL, *deg = NULL;
    edge *edges = NULL;
    size_t *group = NULL;
    graph_scratch *scr = calloc((size_t)threads, sizeof *scr);
    int rc = NZ_ENOMEM, scr_ok = 0;
    size_t max_batch = (size_t)(GRAPH_MAX_BATCH_FRACTION * (double)n);
    if (max_batch < 1) max_batch = 1;
    if (!scr) goto fail;
    for (int t = 0; t < threads; t++, scr_ok++)
        if (scratch_init(&scr[t], p) < 0) {
            scratch_free(&scr[t]);
            goto fail;
        }
    if (!(order = malloc(n * sizeof *order)) || !(deg = calloc(n, sizeof *deg)) ||
        !(newout = malloc(max_batch * R * sizeof *newout)) ||
        !(edges = malloc(max_batch * R * sizeof *edges)) ||
        !(group = malloc((max_batch * R + 1) * sizeof *group)))
        goto fail;
    for (uint64_t i = 0; i < n * R; i++) adj[i] = GRAPH_EMPTY;
    if (graph_medoid(c, entry) < 0) goto fail;

    /* insertion order: the medoid, then a seeded shuffle of the rest */
    for (uint64_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    order[*entry] = 0;
    order[0] = *entry;
    uint64_t st = p->seed;
    for (uint64_t i = n - 1; i > 1; i--) {
        uint64_t j = 1 + splitmix64(&st) % i;
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }

    int failed = 0;
    size_t done = 1, bs = 1;
    while (done < n) {
        if (stop && *stop) {
            rc = NZ_ESTOPPED;
            goto fail;
        }
        size_t b = bs < n - done ? bs : n - done;
        /* (1) search and prune, against the graph as the round found it */
        long long i;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
        for (i = 0; i < (long long)b; i++) {
            graph_scratch *s = &scr[omp_get_thread_num()];
            uint32_t q = order[done + (size_t)i];
            if (graph_insert_search(c, adj, R, *entry, q, s) < 0) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            graph_prune(c, q, s->cands, s->ncands, p, newout + (size_t)i * R);
        }
        if (failed) goto fail;
        /* (2) commit; gather reverse edges */
        size_t ne = 0;
        for (size_t k = 0; k < b; k++) {
            uint32_t q = order[done + k];
            const uint32_t *o = newout + k * R;
            memcpy(adj + (size_t)q * R, o, R * sizeof *o);
            uint32_t dq = 0;
            for (; dq < R && o[dq] != GRAPH_EMPTY; dq++) edges[ne++] = (edge){o[dq], q};
            deg[q] = dq;
        }
        qsort(edges, ne, sizeof *edges, edge_cmp);
        size_t ng = 0;
        for (size_t e = 0; e < ne; e++)
            if (e == 0 || edges[e].to != edges[e - 1].to) group[ng++] = e;
        group[ng] = ne;
        /* (3) each target takes its new in-edges */
        long long g;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
        for (g = 0; g < (long long)ng; g++) {
            graph_scratch *s = &scr[omp_get_thread_num()];
            size_t e0 = group[g], e1 = group[g + 1];
            uint32_t t = edges[e0].to;
            uint32_t *lst = adj + (size_t)t * R;
            if (deg[t] + (e1 - e0) <= R) {
                for (size_t e = e0; e < e1; e++) {
                    int dup = 0;
                    for (uint32_t k = 0; k < deg[t] && !dup; k++) dup = lst[k] == edges[e].from;
                    if (!dup) lst[deg[t]++] = edges[e].from;
                }
                continue;
            }
            s->ncands = 0;
            for (uint32_t k = 0; k < deg[t]; k++)
                if (scratch_push(s, graph_dist(c, t, lst[k]), lst[k]) < 0) goto fail_one;
            for (size_t e = e0; e < e1; e++)
                if (scratch_push(s, graph_dist(c, t, edges[e].from), edges[e].from) < 0)
                    goto fail_one;
            graph_prune(c, t, s->cands, s->ncands, p, lst);
            {
                uint32_t dt = 0;
                while (dt < R && lst[dt] != GRAPH_EMPTY) dt++;
                deg[t] = dt;
            }
            continue;
        fail_one:
#pragma omp atomic write
            failed = 1;
        }
        if (failed) goto fail;
        done += b;
        if (prog) progress_add(prog, b);
        if (bs < max_batch) bs = bs * 2 < max_batch ? bs * 2 : max_batch;
    }
    rc = NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory building the graph");
    for (int t = 0; t < scr_ok; t++) scratch_free(&scr[t]);
    free(scr);
    free(order);
    free(deg);
    free(newout);
    free(edges);
    free(group);
    return rc;
}
