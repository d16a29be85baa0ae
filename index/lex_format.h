/* lex_format.h -- lexical.bin, the BM25 index of a snapshot (format.h has
 * the common header; docs/DESIGN.md has the layout byte by byte).
 *
 *   header (64)       magic NZILEX02, count = documents (the snapshot's
 *                     rows), flags = the stemming mask (lex_terms.h),
 *                     table_off = the meta below, data_off/data_len = the
 *                     postings section
 *   meta (64)         nzi_lex_meta
 *   doc lengths       u32 [count]: terms in each row's text
 *   terms             nzi_lex_term [nterms], sorted by their bytes
 *   blocks            nzi_lex_block [nblocks + 1], each term's blocks in
 *                     term order; the last one a sentinel whose post_off
 *                     is the postings section's length
 *   strings           the terms' bytes, in term order
 *   postings          per block of LEX_BLOCK postings (the last block of
 *                     a term may be shorter): pairs of varints (gap, tf),
 *                     gap = doc - previous doc - 1, the previous doc of a
 *                     term's first posting being -1, so a block's first gap
 *                     is counted from the previous block's last_doc
 *
 * Each section starts on a 64-byte boundary. A block's max is the largest
 * lex_tf_part() of its postings and a term's max the largest of its
 * blocks'; times the term's IDF they bound any score the block (the term)
 * can add, which is what lets block-max MaxScore (lex_search.h) skip.
 * A term's kth is the LEX_SEED_K-th largest lex_tf_part of its postings
 * (0 when it has fewer): LEX_SEED_K rows score at least idf * kth, so a
 * search of k <= LEX_SEED_K starts with that threshold instead of none.
 * Files written before kth have 0 there (the field was reserved): read
 * alike, they only start without it.
 */
#ifndef NZ_LEX_FORMAT_H
#define NZ_LEX_FORMAT_H

#include <math.h>
#include <stdint.h>

/* The magic's number is the terms' version: it moves whenever lex_terms.h
 * or a stemmer makes other terms of the same text, since a query's terms
 * must be made as the rows' were. 01: issue 14's first tokeniser; 02:
 * reduplicated words folded, the Indonesian stemmer's two-vowel roots. */
#define NZI_MAGIC_LEXICAL "NZILEX02"
#define NZI_MAGIC_LEXICAL_OLD "NZILEX01"
#define NZI_LEXICAL "lexical.bin"
#define LEX_BLOCK 128
#define LEX_SEED_K 20 /* up to k = 20; hybrid asks its lexical list for k (10 by default) */

typedef struct nzi_lex_meta {
    uint32_t nterms;
    uint32_t block;     /* LEX_BLOCK */
    uint64_t nblocks;   /* without the sentinel */
    uint64_t total_len; /* the sum of the document lengths */
    float k1, b;        /* BM25's parameters, fixed at build */
    uint64_t doclen_off, terms_off, blocks_off, strings_off;
} nzi_lex_meta;

_Static_assert(sizeof(nzi_lex_meta) == 64, "nzi_lex_meta must be 64 bytes");

typedef struct nzi_lex_term {
    uint32_t str_off, str_len; /* in the strings section */
    uint32_t df;               /* documents holding the term */
    uint32_t block_first;      /* its first block; it has ceil(df / LEX_BLOCK) */
    float max;                 /* the largest lex_tf_part of its postings */
    float kth;                 /* the LEX_SEED_K-th largest, or 0 (above) */
} nzi_lex_term;

_Static_assert(sizeof(nzi_lex_term) == 24, "nzi_lex_term must be 24 bytes");

typedef struct nzi_lex_block {
    uint32_t last_doc; /* the block's last (largest) document */
    float max;         /* the largest lex_tf_part in the block */
    uint64_t post_off; /* where the block starts in the postings section */
} nzi_lex_block;

_Static_assert(sizeof(nzi_lex_block) == 16, "nzi_lex_block must be 16 bytes");

/* One LEB128 varint at p (before end) into *v: the byte after it, or NULL
 * when it runs past end or past 64 bits. */
static inline const unsigned char *lex_varint_get(const unsigned char *p, const unsigned char *end,
                                                  uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        unsigned char c = *p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return p;
        }
    }
    return NULL;
}

/* BM25's length normalisation of a document of dl terms. Build and search
 * compute it with these very float operations, so a stored max bounds the
 * searched scores exactly. */
static inline float lex_norm(uint32_t dl, float avgdl, float k1, float b) {
    return k1 * (1.0f - b + b * ((float)dl / avgdl));
}
/* The term-frequency part of a BM25 term score. */
static inline float lex_tf_part(uint32_t tf, float norm, float k1) {
    return (float)tf * (k1 + 1.0f) / ((float)tf + norm);
}
/* IDF as Lucene's BM25 has it: never negative. */
static inline float lex_idf(uint64_t n, uint32_t df) {
    return (float)log(1.0 + ((double)n - df + 0.5) / (df + 0.5));
}
/* Keep the LEX_SEED_K largest of the parts added to best (all 0 at first;
 * best[0] the least of them), for a term's kth. */
static inline void lex_kth_add(float best[LEX_SEED_K], float s) {
    if (s <= best[0]) return;
    int i = 1;
    for (; i < LEX_SEED_K && best[i] < s; i++) best[i - 1] = best[i];
    best[i - 1] = s;
}
/* The mean document length; 1 for an index of empty texts. */
static inline float lex_avgdl(uint64_t total, uint64_t n) {
    return total && n ? (float)((double)total / (double)n) : 1.0f;
}

#endif
