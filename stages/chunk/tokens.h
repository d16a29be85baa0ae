/* tokens.h -- token counts for chunk sizing.
 *
 * The walking skeleton estimates: one token per ~4 bytes of Latin text,
 * with a floor of one token per word and per punctuation mark, which
 * over-counts rather than under-counts for Indonesian. The exact
 * cl100k_base encoder replaces this behind the same interface.
 */
#ifndef NZ_TOKENS_H
#define NZ_TOKENS_H

#include <stddef.h>

long tokens_count(const char *text, size_t len);

#endif
