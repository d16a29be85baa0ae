/* textclean.h -- make extracted text clean to index.
 *
 * textclean_chars() rewrites a UTF-8 string in place-friendly form:
 *  - ligatures and presentation forms become their letters through
 *    utf8proc's compatibility decomposition (U+FB01 "ﬁ" -> "fi"), limited
 *    to the presentation-form blocks so that other compatibility
 *    characters (superscripts, the ellipsis) keep their meaning;
 *  - soft hyphens and zero-width characters are removed;
 *  - control characters become spaces (newline and tab are kept);
 *  - invalid bytes become U+FFFD.
 * textclean_collapse() folds runs of white space into one space.
 */
#ifndef NZ_TEXTCLEAN_H
#define NZ_TEXTCLEAN_H

#include <stddef.h>

/* malloc'd cleaned copy; *outlen its length. NULL when out of memory. */
char *textclean_chars(const char *s, size_t len, size_t *outlen);

/* Collapse white space runs (including newlines) to one space, in place;
 * trims both ends. Returns the new length. */
size_t textclean_collapse(char *s, size_t len);

#endif
