/* lex_read.c -- see lex_read.h. */
#include "lex_read.h"

#include <stdio.h>
#include <string.h>

#include "status.h"

/* [off, off + len) inside a file of size bytes. */
static int lex_in(uint64_t off, uint64_t len, uint64_t size) {
    return off <= size && len <= size - off;
}

int lex_open(lex_index *x, const void *map, size_t size, uint64_t count, char *err, size_t errlen) {
    const nzi_header *h = map;
    const char *base = map;
    memset(x, 0, sizeof *x);
    if (h->count != count || h->table_off != sizeof *h ||
        !lex_in(h->table_off, sizeof(nzi_lex_meta), size) || h->data_off % NZI_ALIGN) {
        snprintf(err, errlen, "%s: header disagrees with the manifest", NZI_LEXICAL);
        return NZ_ECORRUPT;
    }
    const nzi_lex_meta *m = (const nzi_lex_meta *)(base + h->table_off);
    if (m->block != LEX_BLOCK || m->nblocks >= UINT32_MAX || !(m->k1 >= 0 && m->k1 <= 100) ||
        !(m->b >= 0 && m->b <= 1) || m->doclen_off % NZI_ALIGN || m->terms_off % NZI_ALIGN ||
        m->blocks_off % NZI_ALIGN || !lex_in(m->doclen_off, count * 4, size) ||
        !lex_in(m->terms_off, (uint64_t)m->nterms * sizeof(nzi_lex_term), size) ||
        !lex_in(m->blocks_off, (m->nblocks + 1) * sizeof(nzi_lex_block), size) ||
        m->strings_off > h->data_off || !lex_in(h->data_off, h->data_len, size)) {
        snprintf(err, errlen, "%s: a section lies outside the file", NZI_LEXICAL);
        return NZ_ECORRUPT;
    }
    x->ndocs = count;
    x->nterms = m->nterms;
    x->nblocks = m->nblocks;
    x->stem = (int)h->flags;
    x->k1 = m->k1;
    x->b = m->b;
    x->avgdl = lex_avgdl(m->total_len, count);
    x->doclen = (const uint32_t *)(base + m->doclen_off);
    x->terms = (const nzi_lex_term *)(base + m->terms_off);
    x->blocks = (const nzi_lex_block *)(base + m->blocks_off);
    x->strings = base + m->strings_off;
    x->strings_len = h->data_off - m->strings_off;
    x->post = (const unsigned char *)base + h->data_off;
    x->post_len = h->data_len;
    return NZ_OK;
}

static uint32_t lex_nblocks(const nzi_lex_term *t) {
    return (uint32_t)((t->df + (uint64_t)LEX_BLOCK - 1) / LEX_BLOCK);
}

/* Term t's bytes, or NULL when they lie outside the strings section. */
static const char *lex_term_str(const lex_index *x, const nzi_lex_term *t) {
    return lex_in(t->str_off, t->str_len, x->strings_len) ? x->strings + t->str_off : NULL;
}

static int lex_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

const nzi_lex_term *lex_lookup(const lex_index *x, const char *s, size_t n) {
    uint32_t lo = 0, hi = x->nterms;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const nzi_lex_term *t = &x->terms[mid];
        const char *ts = lex_term_str(x, t);
        if (!ts) return NULL;
        int c = lex_cmp(ts, t->str_len, s, n);
        if (c == 0) return t;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

void lex_cursor_init(lex_cursor *c, const lex_index *x, const nzi_lex_term *t) {
    c->x = x;
    c->t = t;
    c->blk = t->block_first;
    uint64_t end = (uint64_t)t->block_first + lex_nblocks(t);
    c->blk_end = end <= x->nblocks ? (uint32_t)end : t->block_first; /* corrupt: empty */
    c->decoded = LEX_END;
    c->n = c->i = 0;
    c->idf = 0;
    c->eager = 0;
    c->scored = LEX_END;
    lex_cursor_seek_block(c, 0);
}

/* sc for the decoded block. */
static void lex_score_block(lex_cursor *c) {
    const lex_index *x = c->x;
    float idf = c->idf, avgdl = x->avgdl, k1 = x->k1, b = x->b;
    for (uint32_t i = 0; i < c->n; i++)
        c->sc[i] = idf * lex_tf_part(c->tfs[i], lex_norm(x->doclen[c->docs[i]], avgdl, k1, b), k1);
    c->scored = c->decoded;
}

void lex_cursor_score(lex_cursor *c, float idf, int eager) {
    c->idf = idf;
    c->eager = eager;
    if (eager && c->decoded != LEX_END && c->scored != c->decoded) lex_score_block(c);
}

/* Decode block b into docs/tfs. 0, or -1 when it is malformed. Postings
 * of one-byte gap and tf (most of them) take the short path. */
static int lex_decode(lex_cursor *c, uint32_t b) {
    const lex_index *x = c->x;
    const nzi_lex_block *bl = &x->blocks[b];
    uint64_t from = bl->post_off, to = bl[1].post_off;
    if (from > to || to > x->post_len) return -1;
    uint32_t k = b - c->t->block_first;
    uint32_t n = k + 1 < lex_nblocks(c->t) ? LEX_BLOCK : c->t->df - k * LEX_BLOCK;
    const unsigned char *p = x->post + from, *end = x->post + to;
    uint64_t doc = b == c->t->block_first ? (uint64_t)-1 : (uint64_t)bl[-1].last_doc;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gap, tf;
        if (end - p >= 2 && !((p[0] | p[1]) & 0x80)) {
            gap = p[0];
            tf = p[1];
            p += 2;
        } else if (!(p = lex_varint_get(p, end, &gap)) || !(p = lex_varint_get(p, end, &tf))) {
            return -1;
        }
        doc += gap + 1;
        if (doc >= x->ndocs || tf == 0 || tf > UINT32_MAX) return -1;
        c->docs[i] = (uint32_t)doc;
        c->tfs[i] = (uint32_t)tf;
    }
    if (doc != bl->last_doc) return -1;
    c->n = n;
    c->i = 0;
    c->decoded = b;
    if (c->eager) lex_score_block(c);
    return 0;
}

float lex_cursor_block_max(lex_cursor *c, uint32_t d) {
    while (c->blk < c->blk_end && c->x->blocks[c->blk].last_doc < d) c->blk++;
    return c->blk < c->blk_end ? c->x->blocks[c->blk].max : -1.0f;
}

uint32_t lex_cursor_seek_block(lex_cursor *c, uint32_t d) {
    if (lex_cursor_block_max(c, d) < 0) return c->doc = LEX_END;
    if (c->decoded != c->blk && lex_decode(c, c->blk) < 0) {
        c->blk = c->blk_end;
        return c->doc = LEX_END;
    }
    while (c->docs[c->i] < d) c->i++; /* the block's last doc is >= d */
    return c->doc = c->docs[c->i];
}

uint32_t lex_cursor_next_min(lex_cursor *c, float min) {
    while (c->doc != LEX_END) {
        if (c->decoded == c->blk) {
            if (c->scored != c->decoded) lex_score_block(c);
            uint32_t i = c->i;
            while (i < c->n && c->sc[i] < min) i++;
            if (i < c->n) {
                c->i = i;
                return c->doc = c->docs[i];
            }
            c->blk++; /* this block is done */
        }
        while (c->blk < c->blk_end && c->idf * c->x->blocks[c->blk].max < min) c->blk++;
        if (c->blk == c->blk_end) return c->doc = LEX_END;
        if (lex_decode(c, c->blk) < 0) {
            c->blk = c->blk_end;
            return c->doc = LEX_END;
        }
        c->doc = c->docs[0]; /* scored at the top of the loop */
    }
    return LEX_END;
}

/* One term's blocks: their table and every posting. */
static int lex_verify_term(const lex_index *x, const nzi_lex_term *t, uint64_t *next_block,
                           char *err, size_t errlen) {
    uint64_t nb = lex_nblocks(t);
    if (t->df == 0 || t->df > x->ndocs || t->block_first != *next_block ||
        *next_block + nb > x->nblocks) {
        snprintf(err, errlen, "%s: term %u's blocks are out of order", NZI_LEXICAL,
                 (unsigned)(t - x->terms));
        return NZ_ECORRUPT;
    }
    lex_cursor c;
    lex_cursor_init(&c, x, t);
    float tmax = 0, best[LEX_SEED_K] = {0};
    uint32_t seen = 0;
    for (uint32_t b = t->block_first; b < t->block_first + nb; b++) {
        if (lex_decode(&c, b) < 0) goto bad;
        float bmax = 0;
        for (uint32_t i = 0; i < c.n; i++) {
            float s =
                lex_tf_part(c.tfs[i], lex_norm(x->doclen[c.docs[i]], x->avgdl, x->k1, x->b), x->k1);
            if (s > bmax) bmax = s;
            lex_kth_add(best, s);
        }
        if (bmax > x->blocks[b].max) goto bad;
        if (bmax > tmax) tmax = bmax;
        seen += c.n;
    }
    /* a kth above the true one would prune rows that belong in a top k */
    if (seen != t->df || tmax > t->max || !(t->kth >= 0 && t->kth <= best[0])) goto bad;
    *next_block += nb;
    return NZ_OK;
bad:
    snprintf(err, errlen, "%s: the postings of term %u are corrupt", NZI_LEXICAL,
             (unsigned)(t - x->terms));
    return NZ_ECORRUPT;
}

int lex_verify(const lex_index *x, char *err, size_t errlen) {
    uint64_t next_block = 0;
    for (uint32_t i = 0; i < x->nterms; i++) {
        const nzi_lex_term *t = &x->terms[i];
        const char *s = lex_term_str(x, t);
        const char *p = i ? lex_term_str(x, t - 1) : NULL;
        if (!s || t->str_len == 0 || (i && (!p || lex_cmp(p, t[-1].str_len, s, t->str_len) >= 0))) {
            snprintf(err, errlen, "%s: term %u is out of bounds or out of order", NZI_LEXICAL, i);
            return NZ_ECORRUPT;
        }
        int rc = lex_verify_term(x, t, &next_block, err, errlen);
        if (rc < 0) return rc;
    }
    if (next_block != x->nblocks || x->blocks[x->nblocks].post_off != x->post_len) {
        snprintf(err, errlen, "%s: the block table does not cover the postings", NZI_LEXICAL);
        return NZ_ECORRUPT;
    }
    uint64_t total = 0;
    for (uint64_t d = 0; d < x->ndocs; d++) total += x->doclen[d];
    if (lex_avgdl(total, x->ndocs) != x->avgdl) {
        snprintf(err, errlen, "%s: the document lengths do not add up", NZI_LEXICAL);
        return NZ_ECORRUPT;
    }
    return NZ_OK;
}
