/* tokens.h -- cl100k_base token counts and ids (bpe.h), the unit
 * text-embedding-3-* limits and bills by: the counts chunk sizing uses,
 * and nz-tokens's work, which prints them for people and for tests.
 */
#ifndef NZ_TOKENS_H
#define NZ_TOKENS_H

#include <stddef.h>

/* Tokens of text[0..len) (valid UTF-8), or bpe_count's status. */
long tokens_count(const char *text, size_t len);

typedef struct tokens_options {
    int count_only; /* print counts, not ids */
    int jsonl;      /* stdin holds one JSON string a line */
    int ntexts;     /* texts from the command line; none: stdin */
    char *const *texts;
} tokens_options;

/* Print one JSON array of token ids (or the count) a text: each of
 * o->texts, else each line of stdin (jsonl), else all of stdin as one
 * text. Returns the exit code (nz.h): NZ_EXIT_OK, NZ_EXIT_REJECTED when
 * some text was refused (not UTF-8, not a JSON string, out of memory),
 * NZ_EXIT_FAIL when the tokenizer cannot be built. */
int tokens_run(const tokens_options *o);

#endif
