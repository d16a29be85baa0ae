/* bpe.h -- the exact cl100k_base tokenizer, the encoding of OpenAI's
 * text-embedding-3-* models, in C.
 *
 * Text is first split by the published pre-tokenizer pattern, run with
 * PCRE2 (UTF, Unicode properties, JIT); each piece that is not itself a
 * token is then byte-pair merged: the adjacent pair with the lowest rank
 * is merged first (leftmost on ties) until no pair is a token. Short
 * pieces use the simple quadratic scan that tiktoken uses; long ones (a
 * 100,000-letter word) a heap of integer keys over a linked list,
 * O(n log n) (a mebibyte-long word in about 0.3 s), so no input can make
 * the tokenizer slow. The ranks and the pattern come from
 * js-tiktoken's cl100k_base (lib/cl100k_base.NOTICE), linked into
 * the binary. Special tokens (<|endoftext|> and the rest) are encoded as
 * ordinary text, as embedding inputs are.
 *
 * Thread-safe: the tables are built once (pthread_once); each call uses
 * its own match data.
 */
#ifndef NZ_BPE_H
#define NZ_BPE_H

#include <stddef.h>
#include <stdint.h>

#define BPE_MODEL_LIMIT 8191 /* text-embedding-3-*: tokens per input */

/* Build the tables (once; later calls answer at once). NZ_OK, or with a
 * message in err: NZ_ECORRUPT (the rank data or the pattern is bad) or
 * NZ_ENOMEM. */
int bpe_init(char *err, size_t errlen);

/* Tokens of text[0..len) (valid UTF-8, NULs allowed), or a status:
 * NZ_EINVAL when the text is not valid UTF-8, NZ_ENOMEM, NZ_ELIMIT when
 * one piece (a run the pattern does not split) is 4 GiB or more, or
 * bpe_init's status when the tables cannot be built. */
long bpe_count(const char *text, size_t len);

/* Encode into out[0..cap); returns the total number of tokens (which may be
 * more than cap: only the first cap are written), or a status as for
 * bpe_count. */
long bpe_encode(const char *text, size_t len, uint32_t *out, size_t cap);

/* Bytes of token id (NULL for an unknown id). */
const unsigned char *bpe_token_bytes(uint32_t id, size_t *len);

#endif
