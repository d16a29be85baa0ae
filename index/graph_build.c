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

/* The row nearest the mean of all rows: the entry point. With a mask, only
 * rows whose mask byte is set may be chosen (at least one must be). Serial
 * sums in double, so the answer does not depend on the thread count. */
static int graph_medoid(const graph_codes *c, const unsigned char *mask, uint32_t *entry) {
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
    uint64_t best = UINT64_MAX;
    for (uint64_t r = 0; r < c->n; r++)
        if ((!mask || mask[r]) && (best == UINT64_MAX || score[r] > score[best])) best = r;
    if (best == UINT64_MAX) best = 0;
    *entry = (uint32_t)best;
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

/* A seeded Fisher-Yates shuffle of rows[0, n). */
static void graph_shuffle(uint32_t *rows, size_t n, uint64_t seed) {
    uint64_t st = seed;
    for (size_t i = n ? n - 1 : 0; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&st) % (i + 1));
        uint32_t t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
}

typedef struct edge {
    uint32_t to, from;
} edge;

static int edge_cmp(const void *a, const void *b) {
    const edge *x = a, *y = b;
    if (x->to != y->to) return x->to < y->to ? -1 : 1;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* The threads of one build and their scratch. */
typedef struct graph_workers {
    int threads, ok;
    graph_scratch *scr;
} graph_workers;

static int workers_open(graph_workers *w, const graph_params *p) {
    w->threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    w->ok = 0;
    if (!(w->scr = calloc((size_t)w->threads, sizeof *w->scr))) return NZ_ENOMEM;
    for (; w->ok < w->threads; w->ok++)
        if (scratch_init(&w->scr[w->ok], p) < 0) {
            scratch_free(&w->scr[w->ok]);
            return NZ_ENOMEM;
        }
    return NZ_OK;
}

static void workers_close(graph_workers *w) {
    for (int t = 0; t < w->ok; t++) scratch_free(&w->scr[t]);
    free(w->scr);
    w->scr = NULL;
}

/* One round's reverse edges into target t (its current degree *dt): append
 * them, or re-prune the full list with them. NZ_OK or NZ_ENOMEM. */
static int graph_take_edges(const graph_codes *c, const graph_params *p, uint32_t *adj, uint32_t t,
                            uint32_t *dt, const edge *e0, const edge *e1, graph_scratch *s) {
    const uint32_t R = p->degree;
    uint32_t *lst = adj + (size_t)t * R;
    if (*dt + (size_t)(e1 - e0) <= R) {
        for (const edge *e = e0; e < e1; e++) {
            int dup = 0;
            for (uint32_t k = 0; k < *dt && !dup; k++) dup = lst[k] == e->from;
            if (!dup) lst[(*dt)++] = e->from;
        }
        return NZ_OK;
    }
    s->ncands = 0;
    for (uint32_t k = 0; k < *dt; k++)
        if (scratch_push(s, graph_dist(c, t, lst[k]), lst[k]) < 0) return NZ_ENOMEM;
    for (const edge *e = e0; e < e1; e++)
        if (scratch_push(s, graph_dist(c, t, e->from), e->from) < 0) return NZ_ENOMEM;
    graph_prune(c, t, s->cands, s->ncands, p, lst);
    uint32_t d = 0;
    while (d < R && lst[d] != GRAPH_EMPTY) d++;
    *dt = d;
    return NZ_OK;
}

/* Insert rows[0, n), in that order, into the graph adj (whose other rows'
 * lists stand as they are) in batch-synchronous rounds of 1, 2, 4, ...
 * rows, at most 2% of the index each; see graph.h. NZ_OK, NZ_ESTOPPED or
 * NZ_ENOMEM. */
static int graph_insert_rows(const graph_codes *c, const graph_params *p, graph_workers *w,
                             uint32_t *adj, const uint32_t *rows, size_t n, uint32_t entry,
                             volatile sig_atomic_t *stop, progress *prog) {
    const uint32_t R = p->degree;
    size_t max_batch = (size_t)(GRAPH_MAX_BATCH_FRACTION * (double)c->n);
    if (max_batch < 1) max_batch = 1;
    size_t cap = max_batch < n ? max_batch : (n ? n : 1);
    uint32_t *newout = NULL, *deg = NULL;
    edge *edges = NULL;
    size_t *group = NULL;
    int rc = NZ_ENOMEM, failed = 0;
    if (!(deg = malloc(c->n * sizeof *deg)) || !(newout = malloc(cap * R * sizeof *newout)) ||
        !(edges = malloc(cap * R * sizeof *edges)) ||
        !(group = malloc((cap * R + 1) * sizeof *group)))
        goto fail;
    for (uint64_t r = 0; r < c->n; r++) {
        uint32_t d = 0;
        while (d < R && adj[r * R + d] != GRAPH_EMPTY) d++;
        deg[r] = d;
    }
    size_t done = 0, bs = 1;
    while (done < n) {
        rc = NZ_ESTOPPED;
        if (stop && *stop) goto fail;
        rc = NZ_ENOMEM;
        size_t b = bs < n - done ? bs : n - done;
        /* (1) search and prune, against the graph as the round found it */
        long long i;
#pragma omp parallel for num_threads(w->threads) schedule(dynamic, 4)
        for (i = 0; i < (long long)b; i++) {
            graph_scratch *s = &w->scr[omp_get_thread_num()];
            uint32_t q = rows[done + (size_t)i];
            if (graph_insert_search(c, adj, R, entry, q, s) < 0) {
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
            uint32_t q = rows[done + k];
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
#pragma omp parallel for num_threads(w->threads) schedule(dynamic, 16)
        for (g = 0; g < (long long)ng; g++) {
            uint32_t t = edges[group[g]].to;
            if (graph_take_edges(c, p, adj, t, &deg[t], edges + group[g], edges + group[g + 1],
                                 &w->scr[omp_get_thread_num()]) < 0) {
#pragma omp atomic write
                failed = 1;
            }
        }
        if (failed) goto fail;
        done += b;
        if (prog) progress_add(prog, b);
        if (bs < max_batch) bs = bs * 2 < max_batch ? bs * 2 : max_batch;
    }
    rc = NZ_OK;
fail:
    free(deg);
    free(newout);
    free(edges);
    free(group);
    return rc;
}

static int graph_fail(int rc, char *err, size_t errlen) {
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory building the graph");
    return rc;
}

int graph_build(const graph_codes *c, const graph_params *p, uint32_t *adj, uint32_t *entry,
                volatile sig_atomic_t *stop, progress *prog, char *err, size_t errlen) {
    const uint64_t n = c->n;
    graph_workers w = {0};
    uint32_t *order = NULL;
    int rc = NZ_ENOMEM;
    if (workers_open(&w, p) < 0 || !(order = malloc(n * sizeof *order))) goto fail;
    for (uint64_t i = 0; i < n * p->degree; i++) adj[i] = GRAPH_EMPTY;
    if (graph_medoid(c, NULL, entry) < 0) goto fail;
    /* insertion order: the medoid, then a seeded shuffle of the rest */
    for (uint64_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    order[*entry] = 0;
    order[0] = *entry;
    graph_shuffle(order + 1, n - 1, p->seed);
    rc = graph_insert_rows(c, p, &w, adj, order + 1, n - 1, *entry, stop, prog);
fail:
    workers_close(&w);
    free(order);
    return graph_fail(rc, err, errlen);
}

/* Carried row r (base row b) gets its base list remapped; when an edge led
 * to a row not carried, FreshDiskANN's repair: the remaining edges and the
 * lost rows' carried out-neighbours are candidates, pruned to the degree.
 * Returns 1 if repaired, 0 if kept, NZ_ENOMEM. */
static int graph_repair_row(const graph_codes *c, const graph_params *p, const graph_base *base,
                            uint64_t b, uint32_t *adj, graph_scratch *s) {
    const uint32_t R = p->degree, *map = base->map, *ol = base->adj + b * R;
    const uint32_t r = map[b];
    uint32_t *nl = adj + (size_t)r * R, k = 0;
    int lost = 0;
    for (uint32_t j = 0; j < R && ol[j] != GRAPH_EMPTY; j++) {
        if (map[ol[j]] == GRAPH_EMPTY) lost = 1;
        else nl[k++] = map[ol[j]];
    }
    for (uint32_t j = k; j < R; j++) nl[j] = GRAPH_EMPTY;
    if (!lost) return 0;
    s->ncands = 0;
    for (uint32_t j = 0; j < R && ol[j] != GRAPH_EMPTY; j++) {
        if (map[ol[j]] != GRAPH_EMPTY) {
            if (scratch_push(s, graph_dist(c, r, map[ol[j]]), map[ol[j]]) < 0) return NZ_ENOMEM;
            continue;
        }
        const uint32_t *dl = base->adj + (size_t)ol[j] * R;
        for (uint32_t i = 0; i < R && dl[i] != GRAPH_EMPTY; i++) {
            uint32_t x = map[dl[i]];
            if (x != GRAPH_EMPTY && x != r && scratch_push(s, graph_dist(c, r, x), x) < 0)
                return NZ_ENOMEM;
        }
    }
    graph_prune(c, r, s->cands, s->ncands, p, nl);
    return 1;
}

/* Every carried row's list, from the base's (read only): kept or repaired. */
static int graph_repair(const graph_codes *c, const graph_params *p, const graph_base *base,
                        graph_workers *w, uint32_t *adj, graph_stats *st) {
    int failed = 0;
    uint64_t repaired = 0;
    long long b;
#pragma omp parallel for num_threads(w->threads) schedule(dynamic, 64) reduction(+ : repaired)
    for (b = 0; b < (long long)base->count; b++) {
        if (base->map[b] == GRAPH_EMPTY) continue;
        int r = graph_repair_row(c, p, base, (uint64_t)b, adj, &w->scr[omp_get_thread_num()]);
        if (r < 0) {
#pragma omp atomic write
            failed = 1;
        } else {
            repaired += (uint64_t)r;
        }
    }
    st->repaired = repaired;
    return failed ? NZ_ENOMEM : NZ_OK;
}

int graph_update(const graph_codes *c, const graph_params *p, const graph_base *base, uint32_t *adj,
                 uint32_t *entry, graph_stats *st, volatile sig_atomic_t *stop, progress *prog,
                 char *err, size_t errlen) {
    const uint64_t n = c->n;
    graph_workers w = {0};
    unsigned char *carried = NULL;
    uint32_t *rows = NULL;
    int rc = NZ_ENOMEM;
    memset(st, 0, sizeof *st);
    if (base->degree != p->degree) {
        snprintf(err, errlen, "the base graph's degree %u is not %u", base->degree, p->degree);
        return NZ_EINVAL;
    }
    if (!(carried = calloc(n ? n : 1, 1))) goto fail;
    for (uint64_t b = 0; b < base->count; b++) {
        if (base->map[b] == GRAPH_EMPTY) continue;
        if (base->map[b] >= n || carried[base->map[b]]) {
            snprintf(err, errlen, "carried row map out of range or not one-to-one");
            rc = NZ_EINVAL;
            goto fail;
        }
        carried[base->map[b]] = 1;
        st->kept++;
    }
    if (st->kept == 0) { /* nothing to keep: the full build */
        free(carried);
        memset(st, 0, sizeof *st);
        return graph_build(c, p, adj, entry, stop, prog, err, errlen);
    }
    if (workers_open(&w, p) < 0 || !(rows = malloc((n - st->kept + 1) * sizeof *rows))) goto fail;
    for (uint64_t i = 0; i < n * p->degree; i++) adj[i] = GRAPH_EMPTY;
    if ((rc = graph_repair(c, p, base, &w, adj, st)) < 0) goto fail;
    st->kept -= st->repaired;
    rc = NZ_ENOMEM;
    if (base->entry < base->count && base->map[base->entry] != GRAPH_EMPTY)
        *entry = base->map[base->entry];
    else if (graph_medoid(c, carried, entry) < 0) goto fail;
    for (uint64_t r = 0; r < n; r++)
        if (!carried[r]) rows[st->inserted++] = (uint32_t)r;
    graph_shuffle(rows, st->inserted, p->seed);
    rc = graph_insert_rows(c, p, &w, adj, rows, st->inserted, *entry, stop, prog);
fail:
    workers_close(&w);
    free(carried);
    free(rows);
    return graph_fail(rc, err, errlen);
}
