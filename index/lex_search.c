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
    if ((rc = lex_terms(text, len, LEX_LANG_OTHER, lex_query_add, q)) < 0) return rc;
    if ((q->x->stem & LEX_LANG_ID) &&
        (rc = lex_terms(text, len, LEX_LANG_ID, lex_query_add, q)) < 0)
        return rc;
    if ((q->x->stem & LEX_LANG_EN) &&
        (rc = lex_terms(text, len, LEX_LANG_EN, lex_query_add, q)) < 0)
        return rc;
    return NZ_OK;
}

/* Term i's score in document d. */
static float lex_score(const lex_query *q, int i, uint32_t d, uint32_t tf) {
    const lex_index *x = q->x;
    return q->idf[i] * lex_tf_part(tf, lex_norm(x->doclen[d], x->avgdl, x->k1, x->b), x->k1);
}

/* The scores of d's terms, added in query order. */
static float lex_total(const float *part, const unsigned char *has, int n) {
    float s = 0;
    for (int i = 0; i < n; i++)
        if (has[i]) s += part[i];
    return s;
}

/* Bounds are compared with this slack, so float rounding in their sums
 * never prunes a row the oracle keeps. */
static int lex_below(double bound, float theta) { return bound * (1 + 1e-5) + 1e-6 < theta; }

typedef struct lex_run {
    lex_query q;
    lex_cursor *c;                  /* q.n cursors (a kilobyte each) */
    int order[LEX_MAX_QUERY_TERMS]; /* query terms by bound, lowest first */
    double ub[LEX_MAX_QUERY_TERMS], prefix[LEX_MAX_QUERY_TERMS];
    float part[LEX_MAX_QUERY_TERMS];
    unsigned char has[LEX_MAX_QUERY_TERMS];
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

/* Sort the terms by bound and sum the bounds. */
static void lex_run_order(lex_run *r) {
    int n = r->q.n;
    for (int i = 0; i < n; i++) {
        r->ub[i] = (double)r->q.idf[i] * r->q.t[i]->max;
        int j = i;
        while (j > 0 && r->ub[r->order[j - 1]] > r->ub[i]) {
            r->order[j] = r->order[j - 1];
            j--;
        }
        r->order[j] = i;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) r->prefix[i] = sum += r->ub[r->order[i]];
}

/* Score d from the essential terms (order[ne..n), those at d are moved on),
 * then probe the non-essential ones from the highest bound down while the
 * row can still reach theta. 1 when d is scored in full. */
static int lex_score_doc(lex_run *r, int ne, uint32_t d, float theta) {
    int n = r->q.n;
    double acc = 0;
    memset(r->has, 0, (size_t)n);
    for (int j = ne; j < n; j++) {
        int i = r->order[j];
        lex_cursor *c = &r->c[i];
        if (c->doc != d) continue;
        r->part[i] = lex_score(&r->q, i, d, lex_cursor_tf(c));
        r->has[i] = 1;
        acc += r->part[i];
    }
    for (int j = ne - 1; j >= 0; j--) {
        int i = r->order[j];
        lex_cursor *c = &r->c[i];
        double rest = j ? r->prefix[j - 1] : 0;
        if (lex_below(acc + r->ub[i] + rest, theta)) return 0;
        float bm = lex_cursor_block_max(c, d);
        if (bm < 0 || lex_below(acc + (double)r->q.idf[i] * bm + rest, theta)) continue;
        if (lex_cursor_seek(c, d) != d) continue;
        r->part[i] = lex_score(&r->q, i, d, lex_cursor_tf(c));
        r->has[i] = 1;
        acc += r->part[i];
    }
    return !lex_below(acc, theta);
}

/* Block-max skipping over the essential terms (as block-max WAND does):
 * for the rows from d to the end of the first current block to end, no
 * essential term adds more than its block's max. When those maxima and
 * the non-essential bounds together stay below theta, returns the row
 * after that block end (LEX_END past the last); else d. */
static uint32_t lex_block_skip(lex_run *r, int ne, uint32_t d, float theta) {
    if (theta < 0) return d;
    double bound = ne ? r->prefix[ne - 1] : 0;
    uint32_t end = LEX_END;
    for (int j = ne; j < r->q.n; j++) {
        int i = r->order[j];
        lex_cursor *c = &r->c[i];
        float bm = lex_cursor_block_max(c, d);
        if (bm < 0) continue;
        bound += (double)r->q.idf[i] * bm;
        uint32_t last = c->x->blocks[c->blk].last_doc;
        if (last < end) end = last;
    }
    if (!lex_below(bound, theta)) return d;
    return end == LEX_END ? LEX_END : end + 1;
}

long lex_search(const snapshot *s, const char *text, const search_params *p, topk_hit *hits) {
    if (!s->lex_map) return NZ_EINVAL;
    long rc;
    lex_run *r = lex_run_new(s, text, p, &rc);
    topk top = {0};
    if (!r) return rc;
    rc = NZ_ENOMEM;
    if (topk_init(&top, p->k) < 0) goto fail;
    int n = r->q.n, ne = 0;
    for (int i = 0; i < n; i++) lex_cursor_init(&r->c[i], r->q.x, r->q.t[i]);
    lex_run_order(r);
    float theta = -1;
    while (ne < n) {
        uint32_t d = LEX_END;
        for (int j = ne; j < n; j++)
            if (r->c[r->order[j]].doc < d) d = r->c[r->order[j]].doc;
        if (d == LEX_END) break;
        uint32_t skip_to = lex_block_skip(r, ne, d, theta);
        if (skip_to != d) { /* no row before skip_to can reach theta */
            for (int j = ne; j < n; j++) lex_cursor_seek(&r->c[r->order[j]], skip_to);
            continue;
        }
        if (search_filter_match(s, d, p->filter) && lex_score_doc(r, ne, d, theta)) {
            float total = lex_total(r->part, r->has, n);
            topk_push(&top, total, d);
            if (top.n == top.k) theta = top.h[0].score;
            while (ne < n && lex_below(r->prefix[ne], theta)) ne++;
        }
        for (int j = ne; j < n; j++)
            if (r->c[r->order[j]].doc == d) lex_cursor_seek(&r->c[r->order[j]], d + 1);
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
            acc[d] += lex_score(&r->q, i, d, lex_cursor_tf(c));
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
