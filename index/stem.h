/* stem.h -- the light stemmers of the lexical index, one per language with
 * a stemmer (lex_terms.h calls them on pieces of letters only, already
 * case-folded). Neither uses a dictionary: they only have to send a word
 * and its inflections to one stem, the same at build and at query time.
 *
 *   stem_id.c  Indonesian, after Nazief-Adriani and Sastrawi without their
 *              dictionary: particles (-lah -kah -tah -pun), possessives
 *              (-ku -mu -nya), then up to two prefixes (di- ke- se- ter-
 *              ber- me- pe- per-, with the nasal recoding of meN-/peN-:
 *              menulis -> tulis, memakai -> pakai, menyusun -> susun),
 *              then a derivational suffix (-kan -an).
 *   stem_en.c  English, Porter's step 1 in light form: plurals (-ies -es
 *              -s), -ing and -ed after a vowel, a doubled final consonant
 *              undone, a final -e dropped.
 *
 * Each writes the stem of w[0..n) to out (room for n bytes) and returns
 * its length; a word it does not change is copied.
 */
#ifndef NZ_STEM_H
#define NZ_STEM_H

#include <stddef.h>

size_t stem_id(const char *w, size_t n, char *out);
size_t stem_en(const char *w, size_t n, char *out);

#endif
