/* hashembed.h -- the `hash` embedding provider: offline, deterministic, lexical.
 *
 * Signed feature hashing ("the hashing trick") of normalised word unigrams
 * and bigrams:
 *   1. normalise with utf8proc: NFKC, case fold, strip combining marks, so
 *      "Ａkta", "AKTA" and "akta" are one word;
 *   2. words are maximal runs of letters and digits (Unicode categories);
 *   3. every unigram "w" and bigram "w1 w2" is hashed with FNV-1a 64 and a
 *      splitmix64 finaliser; the hash picks a dimension (h mod dim) and a
 *      sign (top bit), so collisions cancel in expectation;
 *   4. each distinct feature adds sign * sqrt(tf): a sublinear weight;
 *   5. the vector is L2-normalised, so inner product is cosine.
 * Only integer arithmetic, IEEE sqrt (correctly rounded everywhere) and a
 * fixed summation order are used, so every platform gives the same bits.
 * Queries go through the same function, so it doubles as a lexical search.
 */
#ifndef NZ_HASHEMBED_H
#define NZ_HASHEMBED_H

#include <stddef.h>

#define HASHEMBED_MODEL "nz-hash-v1"

/* Fill out[0..dim) with the embedding of text. Returns the number of
 * features (>0) on success, 0 when the text has no words (out is all zero),
 * -1 when the text is not valid UTF-8 or memory ran out. */
long hashembed(const char *text, size_t len, float *out, size_t dim);

#endif
