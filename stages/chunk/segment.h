/* segment.h -- where a text may be cut: sentence ends and item starts.
 *
 * A sentence ends at . ! ? (with closing quotes or brackets after it)
 * followed by white space and a plausible start: a capital, a digit, an
 * opening bracket or quote, or any non-ASCII letter. A full stop after an
 * abbreviation does not end a sentence: English (e.g., i.e., etc., U.S.,
 * Mr., Dr., No.) and Indonesian (dll., dsb., tsb., Tbk., PT., Rp., Jl.,
 * Pasal, Ayat, Kec., Kab., Bpk., Yth.), single letters (initials), and
 * numbers ("1.2.", "Rp4.800.000,00"). Numbered legal items start a unit of
 * their own even without a full stop before them: "(1)", "(a)", "a.", "1."
 * after white space. Cuts are byte offsets; a text is cut into consecutive
 * spans, the white space between them kept with the span before.
 */
#ifndef NZ_SEGMENT_H
#define NZ_SEGMENT_H

#include <stddef.h>

/* Sentence spans: *ends gets the end offset of each span (the last is
 * len); returns the count, or -1 when out of memory. */
long segment_sentences(const char *text, size_t len, size_t **ends);

/* 1 when text[0..len) ends a sentence (trailing space ignored), used by
 * tests of "no sentence split when a split point exists". */
int segment_ends_sentence(const char *text, size_t len);

/* The last white space at or before `limit` in text[from..), or 0 when
 * there is none. */
size_t segment_word_break(const char *text, size_t from, size_t limit);

#endif
