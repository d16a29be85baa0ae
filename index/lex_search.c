/* lex_search.c -- see lex_search.h. */
#include "lex_search.h"

#include <stdlib.h>
#include <string.h>

#include "lex_read.h"
#include "lex_terms.h"
#include "status.h"

/* The query's distinct terms found in the index, in query order. */
typedef struct lex_query {
    const lex_index *x;
    const nzi_lex_term *t[LEX_MAX_QUERY_TERMS];
    float idf[LEX_MAX_QUERY_TERMS];
    int n;
} lex_query;

static int lex_query_add(const char *s, size_t n, void *ctx) {
    lex_query *q = ctx;
    const nzi_lex_term *t = lex_lookup(q->x, s, n);
    if (!t) return 0;
    for (int i = 0; i < q->n; i++)
        if (q->t[i] == t) return 0;
    if (q->n == LEX_MAX_QUERY_TERMS) return 0; /* the rest are dropped */
    q->idf[q->n] = lex_idf(q->x->ndocs, t->df);
    q->t[q->n++] = t;
    return 0;
}

/* Tokenise text into q by the rule in lex_search.h. NZ_OK or NZ_ENOMEM. */
static int lex_query_build(lex_query *q, const snapshot *s, const char *text,
                           const search_filter *f) {
    q->x = &s->lex;
    q->n = 0;
    size_t len = strlen(text);
    int rc;
    if (f && f->lang) {
        int l = lex_lang(f->lang, strlen(f->lang));
        return lex_terms(text, len, (q->x->stem & l) ? l : LEX_LANG_OTHER, lex_query_add, q);
    }
    int stemmers[3], n = 0;
    stemmers[n++] = LEX_LANG_OTHER;
    if (q->x->stem & LEX_LANG_ID) stemmers[n++] = LEX_LANG_ID;
    if (q->x->stem & LEX_LANG_EN) stemmers[n++] = LEX_LANG_EN;
    return (rc = lex_terms_each(text, len, stemmers, n, lex_query_add, q)) < 0 ? rc : NZ_OK;
}

/* Term i's score in a document of length normalisation norm (lex_norm):
 * lex_search computes norm once a row, the oracle once a posting, alike. */
static inline float lex_score(const lex_query *q, int i, float norm, uint32_t tf) {
    return q->idf[i] * lex_tf_part(tf, norm, q->x->k1);
}
static inline float lex_doc_norm(const lex_index *x, uint32_t d) {
    return lex_norm(x->doclen[d], x->avgdl, x->k1, x->b);
}

/* Bounds are compared with this slack, so float rounding in their sums
 * never prunes a row the oracle keeps. */
static inline int lex_below(double bound, float theta) { return bound * (1 + 1e-5) + 1e-6 < theta; }

/* The search's state. Cursors sit in bound order (lowest first): c[j] is
 * query term qi[j], so the loops over the essential ones run on adjacent
 * memory. */
typedef struct lex_run {
    lex_query q;
    lex_cursor *c; /* q.n cursors (a kilobyte each) */
    int qi[LEX_MAX_QUERY_TERMS];
    float idf[LEX_MAX_QUERY_TERMS]; /* q.idf by position */
    double ub[LEX_MAX_QUERY_TERMS], prefix[LEX_MAX_QUERY_TERMS];
    float part[LEX_MAX_QUERY_TERMS]; /* the row's term scores, by query term (0: absent) */
    float theta;                     /* the score a row must reach; -1: none yet */
    int ne;                          /* c[0..ne) are non-essential */
    uint32_t bound_end;              /* rows d..bound_end can reach theta_checked */
    float theta_checked;
} lex_run;

static lex_run *lex_run_new(const snapshot *s, const char *text, const search_params *p, long *rc) {
    lex_run *r = malloc(sizeof *r);
    if (!r) return *rc = NZ_ENOMEM, NULL;
    r->c = NULL;
    if ((*rc = lex_query_build(&r->q, s, text, p->filter)) < 0 ||
        !(r->c = malloc((size_t)(r->q.n ? r->q.n : 1) * sizeof *r->c))) {
        if (*rc >= 0) *rc = NZ_ENOMEM;
        free(r);
        return NULL;
    }
    return r;
}

static void lex_run_free(lex_run *r) {
    if (r) free(r->c);
    free(r);
}

/* Move the terms whose bounds add up below theta to the non-essential
 * ones, whose postings are scored only when probed. */
static void lex_run_essential(lex_run *r) {
    while (r->ne < r->q.n && lex_below(r->prefix[r->ne], r->theta)) {
        lex_cursor_score(&r->c[r->ne], r->idf[r->ne], 0);
        r->ne++;
    }
}

/* Sort the terms by bound, sum the bounds, open the cursors, and start
 * theta at the seed: with no filter and k <= LEX_SEED_K, the largest
 * idf * kth of the query's terms (lex_format.h), which LEX_SEED_K rows
 * reach; a row's score, a float sum of non-negative parts, is at least
 * each part, so the k-th best is at least the seed. */
static void lex_run_start(lex_run *r, const search_params *p) {
    int n = r->q.n;
    double ub[LEX_MAX_QUERY_TERMS];
    float seed = -1;
    for (int i = 0; i < n; i++) {
        ub[i] = (double)r->q.idf[i] * r->q.t[i]->max;
        int j = i;
        while (j > 0 && ub[r->qi[j - 1]] > ub[i]) {
            r->qi[j] = r->qi[j - 1];
            j--;
        }
        r->qi[j] = i;
        float kth = r->q.idf[i] * r->q.t[i]->kth;
        if (kth > seed) seed = kth;
    }
    double sum = 0;
    for (int j = 0; j < n; j++) {
        int i = r->qi[j];
        r->ub[j] = ub[i];
        r->idf[j] = r->q.idf[i];
        r->prefix[j] = sum += ub[i];
        lex_cursor_init(&r->c[j], r->q.x, r->q.t[i]);
    }
    r->theta = seed > 0 && p->k <= LEX_SEED_K && !search_filter_active(p->filter) ? seed : -1;
    r->ne = 0;
    lex_run_essential(r);
    for (int j = r->ne; j < n; j++) lex_cursor_score(&r->c[j], r->idf[j], 1);
    r->bound_end = 0;
    r->theta_checked = -1;
}

/* Score d: the essential terms (those at d are moved on by the caller),
 * then the non-essential ones probed from the highest bound down while
 * the row can still reach theta, each through its block max first.
 * 1 when d is scored in full (r->part). */
static int lex_score_doc(lex_run *r, uint32_t d) {
    int n = r->q.n, ne = r->ne;
    float theta = r->theta;
    double acc = 0;
    memset(r->part, 0, (size_t)n * sizeof *r->part);
    for (int j = ne; j < n; j++)
        if (r->c[j].doc == d) acc += r->part[r->qi[j]] = lex_cursor_part(&r->c[j]);
    for (int j = ne - 1; j >= 0; j--) {
        lex_cursor *c = &r->c[j];
        double rest = j ? r->prefix[j - 1] : 0;
        if (lex_below(acc + r->ub[j] + rest, theta)) return 0;
        float bm = lex_cursor_block_max(c, d);
        if (bm < 0 || lex_below(acc + (double)r->idf[j] * bm + rest, theta)) continue;
        if (lex_cursor_seek(c, d) != d) continue;
        acc += r->part[r->qi[j]] = lex_cursor_part(c);
    }
    return !lex_below(acc, theta);
}

/* Block-max skipping (as block-max WAND does): every term's block that
 * would hold d, essential or not, bounds what the term adds to the rows
 * from d to the first of those blocks' ends. When the bounds add up below
 * theta, returns the row after that end (LEX_END past the last); else d,
 * and the range is remembered, so the rows up to its end are not checked
 * again until theta rises. */
static uint32_t lex_block_skip(lex_run *r, uint32_t d) {
    if (r->theta < 0 || (d <= r->bound_end && r->theta == r->theta_checked)) return d;
    double bound = 0;
    uint32_t end = LEX_END;
    for (int j = 0; j < r->q.n; j++) {
        lex_cursor *c = &r->c[j];
        float bm = lex_cursor_block_max(c, d);
        if (bm < 0) continue;
        bound += (double)r->idf[j] * bm;
        uint32_t last = c->x->blocks[c->blk].last_doc;
        if (last < end) end = last;
    }
    if (!lex_below(bound, r->theta)) {
        r->bound_end = end;
        r->theta_checked = r->theta;
        return d;
    }
    return end == LEX_END ? LEX_END : end + 1;
}

/* With one essential term left, the least score it must add to a row for
 * the row to reach theta: a little below what lex_below asks, so a
 * posting passed over never is one lex_score_doc would keep. */
static float lex_min_part(const lex_run *r) {
    double rest = r->ne ? r->prefix[r->ne - 1] : 0;
    double m = ((double)r->theta - 1e-6) / (1 + 1e-5) - rest;
    return (float)(m - 1e-4 * (m < 0 ? -m : m) - 1e-6);
}

/* The lowest row an essential cursor is at (LEX_END when all are done). */
static inline uint32_t lex_next_doc(const lex_run *r) {
    uint32_t d = LEX_END;
    for (int j = r->ne; j < r->q.n; j++)
        if (r->c[j].doc < d) d = r->c[j].doc;
    return d;
}

long lex_search(const snapshot *s, const char *text, const search_params *p, topk_hit *hits) {
    if (!s->lex_map) return NZ_EINVAL;
    long rc;
    lex_run *r = lex_run_new(s, text, p, &rc);
    topk top = {0};
    if (!r) return rc;
    rc = NZ_ENOMEM;
    if (topk_init(&top, p->k) < 0) goto fail;
    int n = r->q.n;
    lex_run_start(r, p);
    for (uint32_t d; r->ne < n;) {
        if (r->ne == n - 1 && r->theta >= 0) /* the postings that cannot reach theta alone */
            lex_cursor_next_min(&r->c[r->ne], lex_min_part(r));
        if ((d = lex_next_doc(r)) == LEX_END) break;
        uint32_t skip_to = lex_block_skip(r, d);
        if (skip_to != d) { /* no row before skip_to can reach theta */
            for (int j = r->ne; j < n; j++) lex_cursor_seek(&r->c[j], skip_to);
            continue;
        }
        if (search_filter_match(s, d, p->filter) && lex_score_doc(r, d)) {
            float total = 0;
            for (int i = 0; i < n; i++) total += r->part[i]; /* in query order */
            topk_push(&top, total, d);
            if (top.n == top.k && top.h[0].score > r->theta) r->theta = top.h[0].score;
            lex_run_essential(r);
        }
        for (int j = r->ne; j < n; j++)
            if (r->c[j].doc == d) lex_cursor_next(&r->c[j]);
    }
    rc = (long)topk_sorted(&top);
    memcpy(hits, top.h, (size_t)rc * sizeof *hits);
fail:
    topk_free(&top);
    lex_run_free(r);
    return rc;
}

long lex_search_exhaustive(const snapshot *s, const char *text, const search_params *p,
                           topk_hit *hits) {
    if (!s->lex_map) return NZ_EINVAL;
    long rc;
    lex_run *r = lex_run_new(s, text, p, &rc);
    float *acc = NULL;
    unsigned char *seen = NULL;
    topk top = {0};
    if (!r) return rc;
    rc = NZ_ENOMEM;
    acc = calloc(s->count, sizeof *acc);
    seen = calloc(s->count, 1);
    if (!acc || !seen || topk_init(&top, p->k) < 0) goto fail;
    for (int i = 0; i < r->q.n; i++) {
        lex_cursor *c = &r->c[i];
        lex_cursor_init(c, r->q.x, r->q.t[i]);
        for (uint32_t d = c->doc; d != LEX_END; d = lex_cursor_seek(c, d + 1)) {
            acc[d] += lex_score(&r->q, i, lex_doc_norm(r->q.x, d), lex_cursor_tf(c));
            seen[d] = 1;
        }
    }
    for (uint64_t d = 0; d < s->count; d++)
        if (seen[d] && search_filter_match(s, d, p->filter) && topk_accepts(&top, acc[d]))
            topk_push(&top, acc[d], (uint32_t)d);
    rc = (long)topk_sorted(&top);
    memcpy(hits, top.h, (size_t)rc * sizeof *hits);
fail:
    topk_free(&top);
    free(acc);
    free(seen);
    lex_run_free(r);
    return rc;
}
