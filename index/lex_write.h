/* lex_write.h -- build lexical.bin (lex_format.h) from a snapshot's rows.
 *
 * The builder hands each row's text and lang to lexw_add as the row is
 * written; the writer tokenises it (lex_terms.h, stemming by the row's
 * language when the mask says so) and appends one posting per distinct
 * term to that term's list, already in the file's encoding (a varint gap
 * and tf; rows arrive in order, so gaps are never negative). At finish,
 * once the mean length is known, each list is cut into blocks of
 * LEX_BLOCK postings and each block's max score part is computed; the
 * lists themselves are written as they are. Memory: the encoded postings
 * (about 2-3 bytes each), the term strings and a hash table of terms.
 */
#ifndef NZ_LEX_WRITE_H
#define NZ_LEX_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"

typedef struct lex_params {
    float k1, b; /* BM25: 1.2 and 0.75 by default */
    int stem;    /* languages whose rows are stemmed (LEX_LANG_ID | LEX_LANG_EN) */
} lex_params;

#define LEX_K1_DEFAULT 1.2f
#define LEX_B_DEFAULT 0.75f

typedef struct lex_writer lex_writer;

/* A writer for p (NULL: the defaults, both languages stemmed), or NULL
 * when out of memory. */
lex_writer *lexw_new(const lex_params *p);
void lexw_free(lex_writer *w);

/* The next row's text and lang. NZ_OK; NZ_ENOMEM; NZ_ELIMIT (the text is
 * longer than LEX_MAX_TEXT, or too many terms or postings for the format). */
int lexw_add(lex_writer *w, const char *text, size_t len, const char *lang, size_t lang_len);

/* The file's bytes after its header, in order, through emit (a non-zero
 * return stops the writing and is returned); *h gets the header to write
 * in front (magic, count, offsets). NZ_OK, emit's return, NZ_ENOMEM, or
 * NZ_ELIMIT (more blocks than the format counts). */
typedef int (*lexw_emit_fn)(const void *data, size_t len, void *ctx);
int lexw_finish(lex_writer *w, lexw_emit_fn emit, void *ctx, nzi_header *h);

/* Terms and postings written (for the manifest). */
uint64_t lexw_terms(const lex_writer *w);
uint64_t lexw_postings(const lex_writer *w);
const lex_params *lexw_params(const lex_writer *w);

#endif
