/* lex_read.h -- lexical.bin mapped (lex_format.h): open, verify, look up a
 * term, and walk its postings a block at a time.
 *
 * lex_open checks what every reader relies on and is O(1): the meta, and
 * that each section lies inside the file. lex_verify is the slow check
 * snapshot_verify runs: terms sorted and in bounds, block tables
 * consistent, every posting decoded (documents in range and increasing,
 * counts matching df) and every stored max at least the score it bounds.
 * A cursor still bounds-checks every byte it decodes, so a file that was
 * never verified ends a list early, never reads out of the map.
 */
#ifndef NZ_LEX_READ_H
#define NZ_LEX_READ_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "lex_format.h"

typedef struct lex_index {
    uint64_t ndocs;
    uint32_t nterms;
    uint64_t nblocks;
    int stem; /* the stemming mask the rows were indexed with */
    float k1, b, avgdl;
    const uint32_t *doclen;
    const nzi_lex_term *terms;
    const nzi_lex_block *blocks; /* nblocks + 1 */
    const char *strings;
    uint64_t strings_len;
    const unsigned char *post;
    uint64_t post_len;
} lex_index;

/* Fill x from a mapped lexical.bin of size bytes whose 64-byte header was
 * already checked (magic, version, size), for a snapshot of count rows.
 * NZ_OK, or NZ_ECORRUPT with err set. */
int lex_open(lex_index *x, const void *map, size_t size, uint64_t count, char *err, size_t errlen);

/* The thorough check above. NZ_OK, or NZ_ECORRUPT with err set. */
int lex_verify(const lex_index *x, char *err, size_t errlen);

/* The term s[0..n), or NULL when the index does not have it. */
const nzi_lex_term *lex_lookup(const lex_index *x, const char *s, size_t n);

#define LEX_END UINT32_MAX

/* A position in one term's postings. */
typedef struct lex_cursor {
    const lex_index *x;
    const nzi_lex_term *t;
    uint32_t blk, blk_end; /* the current block; one past the term's last */
    uint32_t decoded;      /* the block in doc/tf, or LEX_END */
    uint32_t n, i;         /* postings in the decoded block; the current one */
    uint32_t doc;          /* the current document, or LEX_END */
    uint32_t docs[LEX_BLOCK], tfs[LEX_BLOCK];
    float idf;           /* the term's, for lex_cursor_part (lex_cursor_score) */
    int eager;           /* score each block as it is decoded */
    uint32_t scored;     /* the block sc holds, or LEX_END */
    float sc[LEX_BLOCK]; /* idf * lex_tf_part of each posting of block scored */
} lex_cursor;

/* Start c at t's first posting. */
void lex_cursor_init(lex_cursor *c, const lex_index *x, const nzi_lex_term *t);
/* Score c's postings with the term's idf: idf * lex_tf_part(tf,
 * lex_norm(the row's length)). eager: every block as it is decoded (the
 * current one too), in a loop of no branches, for a list walked posting by
 * posting; else one posting when asked, for a list only probed. */
void lex_cursor_score(lex_cursor *c, float idf, int eager);
/* Move to the block that would hold d without decoding it: the bound on
 * what the term adds to d (the block's max), or -1 when the list has no
 * document >= d. */
float lex_cursor_block_max(lex_cursor *c, uint32_t d);
/* lex_cursor_seek past the decoded block: decode the one that would hold d. */
uint32_t lex_cursor_seek_block(lex_cursor *c, uint32_t d);

/* Move to the first posting at or after doc d; returns its document, or
 * LEX_END past the last (or at a corrupt block). The targets of seek and
 * block_max on one cursor never decrease (every caller walks rows upward):
 * that is what lets the current posting answer any d at or below it. */
static inline uint32_t lex_cursor_seek(lex_cursor *c, uint32_t d) {
    if (c->doc >= d) return c->doc; /* LEX_END too */
    if (c->decoded != c->blk || c->docs[c->n - 1] < d) return lex_cursor_seek_block(c, d);
    while (c->docs[c->i] < d) c->i++;
    return c->doc = c->docs[c->i];
}
/* The next posting: lex_cursor_seek(c, c->doc + 1), in a step. */
static inline uint32_t lex_cursor_next(lex_cursor *c) {
    if (c->doc != LEX_END && c->decoded == c->blk && c->i + 1 < c->n)
        return c->doc = c->docs[++c->i];
    return c->doc == LEX_END ? LEX_END : lex_cursor_seek_block(c, c->doc + 1);
}
/* After lex_cursor_score (eager or not): move to the first posting at or after the
 * current one whose sc is at least min, passing over the blocks whose
 * idf * max is below it without decoding them. Its document, or LEX_END. */
uint32_t lex_cursor_next_min(lex_cursor *c, float min);
/* The current posting's tf and, after lex_cursor_score, score (c->doc !=
 * LEX_END). */
static inline uint32_t lex_cursor_tf(const lex_cursor *c) { return c->tfs[c->i]; }
static inline float lex_cursor_part(const lex_cursor *c) {
    if (c->scored == c->decoded) return c->sc[c->i];
    const lex_index *x = c->x;
    return c->idf *
           lex_tf_part(c->tfs[c->i], lex_norm(x->doclen[c->doc], x->avgdl, x->k1, x->b), x->k1);
}

#endif
