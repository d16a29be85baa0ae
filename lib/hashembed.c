/* hashembed.c -- see hashembed.h for the algorithm. */
#include "hashembed.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static uint64_t hashembed_fnv1a(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hashembed_mix(uint64_t z) { /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int hashembed_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int hashembed_is_word_cp(utf8proc_int32_t cp) {
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: return 1;
    default: return 0;
    }
}

long hashembed(const char *text, size_t len, float *out, size_t dim) {
    memset(out, 0, dim * sizeof *out);
    if (dim == 0 || len > (size_t)PTRDIFF_MAX) return -1;
    utf8proc_uint8_t *norm = NULL;
    uint64_t *feats = NULL;
    double *acc = NULL;
    long rc = -1;
    utf8proc_ssize_t nlen =
        utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &norm,
                     UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                         UTF8PROC_STRIPMARK);
    if (nlen < 0) goto err;

    /* At most one unigram and one bigram per word, and a word takes >= 1 byte. */
    size_t cap = 2 * (size_t)nlen + 2, nfeat = 0;
    feats = malloc(cap * sizeof *feats);
    if (!feats) goto err;

    uint64_t prev = 0; /* hash state of the previous word, "w1" */
    int have_prev = 0;
    utf8proc_ssize_t i = 0;
    while (i < nlen) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(norm + i, nlen - i, &cp);
        if (n <= 0) goto err;
        if (!hashembed_is_word_cp(cp)) {
            i += n;
            continue;
        }
        utf8proc_ssize_t start = i;
        while (i < nlen) {
            n = utf8proc_iterate(norm + i, nlen - i, &cp);
            if (n <= 0) goto err;
            if (!hashembed_is_word_cp(cp)) break;
            i += n;
        }
        const unsigned char *w = norm + start;
        size_t wlen = (size_t)(i - start);
        uint64_t uni = hashembed_fnv1a(w, wlen, 0xcbf29ce484222325ULL);
        feats[nfeat++] = hashembed_mix(uni);
        if (have_prev) {
            uint64_t bi = hashembed_fnv1a((const unsigned char *)" ", 1, prev);
            bi = hashembed_fnv1a(w, wlen, bi);
            feats[nfeat++] = hashembed_mix(bi ^ 0x9e3779b97f4a7c15ULL);
        }
        prev = uni;
        have_prev = 1;
    }
    if (nfeat == 0) {
        rc = 0;
        goto err; /* no words: zero vector, not an error of memory */
    }
    qsort(feats, nfeat, sizeof *feats, hashembed_cmp_u64);

    acc = calloc(dim, sizeof *acc);
    if (!acc) goto err;
    long distinct = 0;
    for (size_t a = 0; a < nfeat;) {
        size_t b = a;
        while (b < nfeat && feats[b] == feats[a]) b++;
        uint64_t h = feats[a];
        double w = sqrt((double)(b - a));
        acc[(h & 0x7fffffffffffffffULL) % dim] += (h >> 63) ? -w : w;
        distinct++;
        a = b;
    }
    double norm2 = 0;
    for (size_t d = 0; d < dim; d++) norm2 += acc[d] * acc[d];
    if (norm2 > 0) {
        double inv = 1.0 / sqrt(norm2);
        for (size_t d = 0; d < dim; d++) out[d] = (float)(acc[d] * inv);
    }
    rc = norm2 > 0 ? distinct : 0; /* every feature cancelled: no signal */
err:
    free(norm);
    free(feats);
    free(acc);
    return rc;
}
