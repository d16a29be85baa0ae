/* tokens.h -- token counts for chunk sizing: exact cl100k_base counts, the
 * unit text-embedding-3-* limits and bills by (bpe.h). */
#ifndef NZ_TOKENS_H
#define NZ_TOKENS_H

#include <stddef.h>

/* Tokens of text[0..len) (valid UTF-8), or -1. */
long tokens_count(const char *text, size_t len);

#endif
