/* tokens.c -- see tokens.h. */
#include "tokens.h"

#include "bpe.h"

long tokens_count(const char *text, size_t len) { return bpe_count(text, len); }
