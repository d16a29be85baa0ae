/* lex_terms.h -- text to lexical terms: the one tokeniser of the BM25 index
 * (lex_write.c) and of its queries (lex_search.c), so both sides agree.
 *
 * The text is normalised with utf8proc: NFKC, then case folding (so "ＫＩＴＡＳ",
 * "Kitas" and "kitas" are one term). It is then cut into spans: a span is
 * a run of letters, digits and combining marks, which may go on through a
 * connector ('-', '/', '.', '_', U+2010, U+2011) that has a letter or digit
 * on both sides. A span's pieces are its runs of letters and its runs of
 * digits, split at connectors and at letter/digit changes:
 *
 *   "PMK-81/2024"  ->  pmk-81/2024  pmk  81  2024
 *   "E33G"         ->  e33g  e  33  g
 *   "e-KTP"        ->  e-ktp  e  ktp
 *   "perpajakan"   ->  perpajakan (stemmed: pajak)
 *   "berkas-berkas" -> berkas
 *
 * A span of one piece is one term; a span of several is the whole span
 * (a code, kept whole and never stemmed) and then each piece. A word
 * reduplicated ("berkas-berkas", "dasar-dasar": two equal letter pieces,
 * Indonesian's plural) is the word alone, as Sastrawi reads it: neither
 * a rare whole term nor its piece counted twice. A piece of
 * letters only goes through the stemmer asked for (stem.h); digits never
 * do. A term is at most LEX_MAX_TERM bytes: a longer span gives only its
 * pieces, a longer piece is dropped.
 */
#ifndef NZ_LEX_TERMS_H
#define NZ_LEX_TERMS_H

#include <stddef.h>

#define LEX_MAX_TERM 64
#define LEX_MAX_TEXT (16u << 20) /* bytes of text tokenised per call */

/* Languages with a stemmer; also the bits of a stemming mask. */
enum { LEX_LANG_OTHER = 0, LEX_LANG_ID = 1, LEX_LANG_EN = 2 };
#define LEX_STEM_ALL (LEX_LANG_ID | LEX_LANG_EN)

/* The stemmer language of a chunk's lang field ("id", "ID", "id-ID",
 * "en_US", ...): LEX_LANG_ID, LEX_LANG_EN or LEX_LANG_OTHER. */
int lex_lang(const char *lang, size_t len);

/* A --stem list ("id,en", "id", "en", "none") as a mask, or -1. */
int lex_stem_parse(const char *list);

/* Called once per term, in text order (a term may repeat). A non-zero
 * return stops the walk and becomes lex_terms's return. */
typedef int (*lex_term_fn)(const char *term, size_t len, void *ctx);

/* Tokenise text[0..len) (invalid UTF-8 is repaired first), stemming
 * letter pieces with stemmer (LEX_LANG_OTHER: none). NZ_OK, fn's non-zero
 * return, NZ_ENOMEM, or NZ_ELIMIT (len > LEX_MAX_TEXT). */
int lex_terms(const char *text, size_t len, int stemmer, lex_term_fn fn, void *ctx);

/* lex_terms once for each of stemmers[0..n), in that order, from one
 * normalisation of the text (a query's terms under every stemmer). */
int lex_terms_each(const char *text, size_t len, const int *stemmers, int n, lex_term_fn fn,
                   void *ctx);

#endif
