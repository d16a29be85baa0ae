/* lex_write.c -- see lex_write.h. */
#include "lex_write.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lex_format.h"
#include "lex_terms.h"
#include "status.h"

#define LEXW_MAX_TERMS (UINT32_MAX / 2)

typedef struct lexw_term {
    uint32_t str_off, str_len;
    uint32_t df, last_doc; /* last_doc valid once df > 0 */
    buf post;              /* varint (gap, tf) pairs */
} lexw_term;

struct lex_writer {
    lex_params p;
    buf strings;      /* every term's bytes, in first-seen order */
    lexw_term *terms; /* by term id */
    size_t nterms, terms_cap;
    uint32_t *slots; /* hash table of term id + 1; 0 empty */
    size_t nslots;
    uint32_t *doclen; /* per row */
    size_t ndocs, doclen_cap;
    uint64_t total_len, postings;
    uint32_t *row; /* this row's term ids, then sorted */
    size_t nrow, row_cap;
    int err;
};

lex_writer *lexw_new(const lex_params *p) {
    lex_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->p = p ? *p : (lex_params){LEX_K1_DEFAULT, LEX_B_DEFAULT, LEX_STEM_ALL};
    buf_init(&w->strings, UINT32_MAX);
    w->nslots = 1u << 12;
    if (!(w->slots = calloc(w->nslots, sizeof *w->slots))) {
        free(w);
        return NULL;
    }
    return w;
}

void lexw_free(lex_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->nterms; i++) buf_free(&w->terms[i].post);
    free(w->terms);
    buf_free(&w->strings);
    free(w->slots);
    free(w->doclen);
    free(w->row);
    free(w);
}

uint64_t lexw_terms(const lex_writer *w) { return w->nterms; }
uint64_t lexw_postings(const lex_writer *w) { return w->postings; }
const lex_params *lexw_params(const lex_writer *w) { return &w->p; }

static uint32_t lexw_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Double the hash table. NZ_OK or NZ_ENOMEM. */
static int lexw_rehash(lex_writer *w) {
    size_t n = w->nslots * 2;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s) return NZ_ENOMEM;
    for (size_t i = 0; i < w->nterms; i++) {
        const lexw_term *t = &w->terms[i];
        size_t at = lexw_hash(w->strings.s + t->str_off, t->str_len) & (n - 1);
        while (s[at]) at = (at + 1) & (n - 1);
        s[at] = (uint32_t)i + 1;
    }
    free(w->slots);
    w->slots = s;
    w->nslots = n;
    return NZ_OK;
}

/* The id of term s[0..n), added when new; -1 on failure (w->err set). */
static long lexw_term_id(lex_writer *w, const char *s, size_t n) {
    size_t mask = w->nslots - 1, at = lexw_hash(s, n) & mask;
    for (; w->slots[at]; at = (at + 1) & mask) {
        const lexw_term *t = &w->terms[w->slots[at] - 1];
        if (t->str_len == n && !memcmp(w->strings.s + t->str_off, s, n)) return w->slots[at] - 1;
    }
    if (w->nterms >= LEXW_MAX_TERMS) return w->err = NZ_ELIMIT, -1;
    if (w->nterms == w->terms_cap) {
        size_t cap = w->terms_cap ? w->terms_cap * 2 : 1024;
        lexw_term *nt = realloc(w->terms, cap * sizeof *nt);
        if (!nt) return w->err = NZ_ENOMEM, -1;
        w->terms = nt;
        w->terms_cap = cap;
    }
    size_t off = w->strings.len;
    if (buf_add(&w->strings, s, n) < 0) return w->err = buf_failed(&w->strings), -1;
    lexw_term *t = &w->terms[w->nterms];
    *t = (lexw_term){.str_off = (uint32_t)off, .str_len = (uint32_t)n};
    buf_init(&t->post, 0);
    w->slots[at] = (uint32_t)++w->nterms;
    if (w->nterms * 2 > w->nslots && lexw_rehash(w) < 0) return w->err = NZ_ENOMEM, -1;
    return (long)(w->nterms - 1);
}

static int lexw_on_term(const char *s, size_t n, void *ctx) {
    lex_writer *w = ctx;
    long id = lexw_term_id(w, s, n);
    if (id < 0) return w->err;
    if (w->nrow == w->row_cap) {
        size_t cap = w->row_cap ? w->row_cap * 2 : 256;
        uint32_t *nr = realloc(w->row, cap * sizeof *nr);
        if (!nr) return NZ_ENOMEM;
        w->row = nr;
        w->row_cap = cap;
    }
    w->row[w->nrow++] = (uint32_t)id;
    return 0;
}

static int lexw_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int lexw_varint(buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    return buf_add(b, tmp, n);
}

int lexw_add(lex_writer *w, const char *text, size_t len, const char *lang, size_t lang_len) {
    if (w->err) return w->err;
    if (w->ndocs >= UINT32_MAX - 1) return NZ_ELIMIT;
    if (w->ndocs == w->doclen_cap) {
        size_t cap = w->doclen_cap ? w->doclen_cap * 2 : 4096;
        uint32_t *nd = realloc(w->doclen, cap * sizeof *nd);
        if (!nd) return NZ_ENOMEM;
        w->doclen = nd;
        w->doclen_cap = cap;
    }
    int l = lex_lang(lang, lang_len);
    w->nrow = 0;
    int rc = lex_terms(text, len, (w->p.stem & l) ? l : LEX_LANG_OTHER, lexw_on_term, w);
    if (rc < 0) return rc;
    if (w->nrow > UINT32_MAX) return NZ_ELIMIT;
    uint32_t doc = (uint32_t)w->ndocs;
    if (w->nrow) qsort(w->row, w->nrow, sizeof *w->row, lexw_cmp_u32);
    for (size_t i = 0; i < w->nrow;) {
        size_t j = i + 1;
        while (j < w->nrow && w->row[j] == w->row[i]) j++;
        lexw_term *t = &w->terms[w->row[i]];
        uint32_t gap = t->df ? doc - t->last_doc - 1 : doc;
        if (lexw_varint(&t->post, gap) < 0 || lexw_varint(&t->post, j - i) < 0)
            return w->err = NZ_ENOMEM;
        t->df++;
        t->last_doc = doc;
        w->postings++;
        i = j;
    }
    w->doclen[w->ndocs++] = (uint32_t)w->nrow;
    w->total_len += w->nrow;
    return NZ_OK;
}

static int lexw_cmp_terms(const void *a, const void *b, void *ctx) {
    const lex_writer *w = ctx;
    const lexw_term *x = &w->terms[*(const uint32_t *)a], *y = &w->terms[*(const uint32_t *)b];
    uint32_t n = x->str_len < y->str_len ? x->str_len : y->str_len;
    int c = memcmp(w->strings.s + x->str_off, w->strings.s + y->str_off, n);
    return c ? c : (x->str_len > y->str_len) - (x->str_len < y->str_len);
}

/* The blocks of term t (its postings starting at post_off): appended to
 * blocks from index *nb; its entry filled. */
static void lexw_blocks(const lex_writer *w, const lexw_term *t, float avgdl, uint64_t post_off,
                        nzi_lex_block *blocks, uint64_t *nb, nzi_lex_term *e) {
    const unsigned char *p = (const unsigned char *)t->post.s, *end = p + t->post.len;
    uint64_t doc = (uint64_t)-1;
    float best[LEX_SEED_K] = {0}; /* the largest parts so far; best[0] the least of them */
    e->block_first = (uint32_t)*nb;
    e->max = 0;
    for (uint32_t i = 0; i < t->df; i++) {
        uint64_t gap = 0, tf = 0;
        if (i % LEX_BLOCK == 0)
            blocks[(*nb)++] = (nzi_lex_block){
                .post_off = post_off + (uint64_t)(p - (const unsigned char *)t->post.s)};
        p = lex_varint_get(p, end, &gap); /* our own encoding: always well formed */
        p = lex_varint_get(p, end, &tf);
        doc += gap + 1;
        float s =
            lex_tf_part((uint32_t)tf, lex_norm(w->doclen[doc], avgdl, w->p.k1, w->p.b), w->p.k1);
        nzi_lex_block *bl = &blocks[*nb - 1];
        bl->last_doc = (uint32_t)doc;
        if (s > bl->max) bl->max = s;
        if (s > e->max) e->max = s;
        lex_kth_add(best, s);
    }
    e->kth = t->df >= LEX_SEED_K ? best[0] : 0;
}

static int lexw_pad(lexw_emit_fn emit, void *ctx, uint64_t *pos) {
    static const char zero[NZI_ALIGN];
    size_t pad = (size_t)(nzi_align_up(*pos) - *pos);
    *pos += pad;
    return pad ? emit(zero, pad, ctx) : 0;
}

/* Emit one section at *pos, padded to the next boundary. */
static int lexw_section(lexw_emit_fn emit, void *ctx, const void *data, uint64_t len,
                        uint64_t *pos) {
    int rc = len ? emit(data, (size_t)len, ctx) : 0;
    *pos += len;
    return rc ? rc : lexw_pad(emit, ctx, pos);
}

int lexw_finish(lex_writer *w, lexw_emit_fn emit, void *ctx, nzi_header *h) {
    uint32_t *order = malloc((w->nterms + 1) * sizeof *order);
    nzi_lex_term *te = calloc(w->nterms + 1, sizeof *te);
    uint64_t nblocks = 0, nb = 0, post_len = 0;
    for (size_t i = 0; i < w->nterms; i++) nblocks += (w->terms[i].df + LEX_BLOCK - 1) / LEX_BLOCK;
    nzi_lex_block *blocks = calloc(nblocks + 1, sizeof *blocks);
    int rc = NZ_ELIMIT;
    if (nblocks >= UINT32_MAX) goto fail; /* block_first is a u32 */
    rc = NZ_ENOMEM;
    if (!order || !te || !blocks) goto fail;
    for (size_t i = 0; i < w->nterms; i++) order[i] = (uint32_t)i;
    qsort_r(order, w->nterms, sizeof *order, lexw_cmp_terms, w);
    float avgdl = lex_avgdl(w->total_len, w->ndocs);
    uint32_t soff = 0;
    for (size_t i = 0; i < w->nterms; i++) {
        const lexw_term *t = &w->terms[order[i]];
        te[i] = (nzi_lex_term){.str_off = soff, .str_len = t->str_len, .df = t->df};
        lexw_blocks(w, t, avgdl, post_len, blocks, &nb, &te[i]);
        soff += t->str_len;
        post_len += t->post.len;
    }
    blocks[nblocks] = (nzi_lex_block){.post_off = post_len};
    nzi_lex_meta m = {.nterms = (uint32_t)w->nterms,
                      .block = LEX_BLOCK,
                      .nblocks = nblocks,
                      .total_len = w->total_len,
                      .k1 = w->p.k1,
                      .b = w->p.b};
    uint64_t pos = sizeof(nzi_header) + sizeof m;
    m.doclen_off = pos;
    pos = nzi_align_up(pos + w->ndocs * 4);
    m.terms_off = pos;
    pos = nzi_align_up(pos + w->nterms * sizeof *te);
    m.blocks_off = pos;
    pos = nzi_align_up(pos + (nblocks + 1) * sizeof *blocks);
    m.strings_off = pos;
    pos = nzi_align_up(pos + soff);
    *h = (nzi_header){.version = NZI_FORMAT_VERSION,
                      .header_size = sizeof(nzi_header),
                      .count = w->ndocs,
                      .flags = (uint32_t)w->p.stem,
                      .data_off = pos,
                      .data_len = post_len,
                      .table_off = sizeof(nzi_header)};
    memcpy(h->magic, NZI_MAGIC_LEXICAL, 8);
    pos = sizeof(nzi_header) + sizeof m;
    if ((rc = emit(&m, sizeof m, ctx)) ||
        (rc = lexw_section(emit, ctx, w->doclen, w->ndocs * 4, &pos)) ||
        (rc = lexw_section(emit, ctx, te, w->nterms * sizeof *te, &pos)) ||
        (rc = lexw_section(emit, ctx, blocks, (nblocks + 1) * sizeof *blocks, &pos)))
        goto fail;
    for (size_t i = 0; i < w->nterms; i++) {
        const lexw_term *t = &w->terms[order[i]];
        if ((rc = emit(w->strings.s + t->str_off, t->str_len, ctx))) goto fail;
        pos += t->str_len;
    }
    if ((rc = lexw_pad(emit, ctx, &pos))) goto fail;
    for (size_t i = 0; i < w->nterms; i++) {
        const lexw_term *t = &w->terms[order[i]];
        if (t->post.len && (rc = emit(t->post.s, t->post.len, ctx))) goto fail;
    }
    rc = NZ_OK;
fail:
    free(order);
    free(te);
    free(blocks);
    return rc;
}
