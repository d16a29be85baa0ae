/* test_bpe.c -- unit tests of the tokenizer on pieces of a mebibyte: the
 * heap merge (lib/bpe.c) gives tiktoken's counts on runs no real text
 * has but any input may, which the quadratic reference cannot tokenize
 * in reasonable time. Each run is periodic, and so is its tokenization:
 * js-tiktoken (tests/tokenizer/jstiktoken.cjs) gives exactly these counts
 * for the same runs of 1, 2 and 4 KiB (n/128 for spaces, n/32 for
 * newlines, n/8 for one letter or one punctuation mark, n/3 rounded up for
 * digits, two tokens per "abcdefghij"). Correctness only: no timing. */
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "unit.h"

#define MIB (1u << 20)

/* bpe_count of n copies of the period pat, cut at n bytes. */
static long bpe_run_count(const char *pat, size_t n) {
    size_t k = strlen(pat);
    char *s = malloc(n);
    if (!s) return -1;
    for (size_t i = 0; i < n; i++) s[i] = pat[i % k];
    long c = bpe_count(s, n);
    free(s);
    return c;
}

UNIT_TEST(bpe_mebibyte_runs_count_like_tiktoken) {
    CHECK(bpe_run_count(" ", MIB) == MIB / 128);
    CHECK(bpe_run_count("\n", MIB) == MIB / 32);
    CHECK(bpe_run_count("a", MIB) == MIB / 8);
    CHECK(bpe_run_count("!", MIB) == MIB / 8);
    CHECK(bpe_run_count("7", MIB) == (MIB + 2) / 3);
    /* 104857 periods, then "abcdef": one token */
    CHECK(bpe_run_count("abcdefghij", MIB) == 2 * (MIB / 10) + 1);
}

UNIT_TEST(bpe_mebibyte_word_decodes_to_itself) {
    size_t n = MIB;
    char *s = malloc(n);
    uint32_t *ids = malloc(n * sizeof *ids);
    CHECK(s && ids);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) { /* one long word of pseudo-random letters */
        x = x * 1103515245u + 12345u;
        s[i] = (char)('a' + (x >> 16) % 26);
    }
    long c = bpe_encode(s, n, ids, n);
    CHECK(c > 0 && (size_t)c < n && bpe_count(s, n) == c);
    size_t off = 0;
    for (long i = 0; i < c; i++) {
        size_t len;
        const unsigned char *b = bpe_token_bytes(ids[i], &len);
        CHECK(b && off + len <= n && memcmp(s + off, b, len) == 0);
        off += len;
    }
    CHECK(off == n);
    free(s);
    free(ids);
}
