/* hybrid.c -- see hybrid.h. */
#include "hybrid.h"

#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "lex_search.h"
#include "status.h"

static int hyb_by_id(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Best first; ties on the lower row (topk.h's order). */
static int hyb_by_score(const void *a, const void *b) {
    const topk_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

long hybrid_dense(const snapshot *s, const float *q, const search_filter *f, const topk_hit *graph,
                  size_t ng, const topk_hit *lex, size_t nl, topk_hit *out) {
    uint32_t *ids = malloc((ng ? ng : 1) * sizeof *ids);
    float *row = malloc(s->dim * sizeof *row);
    long n = NZ_ENOMEM;
    if (!ids || !row) goto fail;
    for (size_t i = 0; i < ng; i++) ids[i] = graph[i].id;
    qsort(ids, ng, sizeof *ids, hyb_by_id);
    memcpy(out, graph, ng * sizeof *out);
    size_t m = ng;
    for (size_t i = 0; i < nl; i++) {
        uint32_t id = lex[i].id;
        if (bsearch(&id, ids, ng, sizeof *ids, hyb_by_id) || !search_filter_match(s, id, f))
            continue;
        snapshot_read_vector(s, id, row); /* a pread, as graph_search.c's re-rank says why */
        out[m++] = (topk_hit){.score = kern_dot(q, row, s->dim), .id = id};
    }
    qsort(out, m, sizeof *out, hyb_by_score);
    n = (long)m;
fail:
    free(ids);
    free(row);
    return n;
}

/* The lexical list, as an assist task (it may run on a helper thread). */
typedef struct hyb_lex {
    const snapshot *s;
    const char *text;
    const search_params *p;
    topk_hit *hits;
    long n; /* the count, or a status */
} hyb_lex;

static void hyb_lex_run(void *arg) {
    hyb_lex *l = arg;
    l->n = l->p->exact ? lex_search_exhaustive(l->s, l->text, l->p, l->hits)
                       : lex_search(l->s, l->text, l->p, l->hits);
}

long hybrid_search(const snapshot *s, const float *q, const char *text, const search_params *p,
                   double weight, assist_pool *side, fuse_hit *out) {
    search_params dp = *p;
    dp.k = p->k * HYBRID_DEPTH < SEARCH_MAX_K ? p->k * HYBRID_DEPTH : SEARCH_MAX_K;
    size_t d = dp.k;
    topk_hit *gh = malloc(d * sizeof *gh), *lh = malloc(d * sizeof *lh);
    topk_hit *dh = malloc(2 * d * sizeof *dh);
    fuse_hit *fused = malloc(3 * d * sizeof *fused);
    long rc = NZ_ENOMEM, ng, nd;
    if (!gh || !lh || !dh || !fused) goto fail;
    hyb_lex lex = {.s = s, .text = text, .p = &dp, .hits = lh};
    assist_task task = {.fn = hyb_lex_run, .arg = &lex};
    assist_submit(side, &task); /* BM25 beside the graph walk */
    ng = index_search(s, q, &dp, gh);
    assist_join(side, &task);
    if ((rc = ng) < 0 || (rc = lex.n) < 0) goto fail;
    if ((rc = nd = hybrid_dense(s, q, p->filter, gh, (size_t)ng, lh, (size_t)lex.n, dh)) < 0)
        goto fail;
    rc = (long)fuse_rrf(dh, (size_t)nd, lh, (size_t)lex.n, weight, p->k, fused);
    memcpy(out, fused, (size_t)rc * sizeof *out);
fail:
    free(gh);
    free(lh);
    free(dh);
    free(fused);
    return rc;
}
