/* jsonout.c -- see jsonout.h. */
#include "jsonout.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define JSONOUT_ONES 0x0101010101010101ULL
#define JSONOUT_HIGH 0x8080808080808080ULL

/* Nonzero when one of w's 8 bytes is zero. */
static uint64_t jsonout_zero_byte(uint64_t w) { return (w - JSONOUT_ONES) & ~w & JSONOUT_HIGH; }

/* Nonzero when one of w's 8 bytes needs a look of its own: below 0x20,
 * '"', '\\', or 0x80 and above (ascii_only: all but the last are ASCII). */
static uint64_t jsonout_special(uint64_t w) {
    return ((w - 0x20 * JSONOUT_ONES) & ~w & JSONOUT_HIGH) | (w & JSONOUT_HIGH) |
           jsonout_zero_byte(w ^ ('"' * JSONOUT_ONES)) |
           jsonout_zero_byte(w ^ ('\\' * JSONOUT_ONES));
}

size_t jsonout_plain_len(const char *s, size_t len) {
    size_t i = 0;
#if defined(__SSE2__)
    /* 16 bytes at a time: a signed compare below 0x20 also catches 0x80 and
     * above (negative as signed bytes) */
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  bslash = _mm_set1_epi8('\\');
    for (; len - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i bad =
            _mm_or_si128(_mm_cmplt_epi8(v, space),
                         _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        int m = _mm_movemask_epi8(bad);
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    for (uint64_t w; len - i >= 8; i += 8) { /* 8 bytes at a time */
        memcpy(&w, s + i, 8);
        if (jsonout_special(w)) break;
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        i++;
    }
    return i;
}

/* Escape s[0..len) as a quoted string into b. ascii_only: stop at the
 * first byte that is NUL or above 0x7F, take back what was appended and
 * return 1 (the caller validates the UTF-8 and calls again with 0, which
 * must then be valid UTF-8 without NUL). Else b's status. */
static int jsonout_escaped(buf *b, const char *s, size_t len, int ascii_only) {
    static const char hex[] = "0123456789ABCDEF";
    size_t start = b->len;
    if (buf_grow(b, len + 2) < 0) return buf_failed(b);
    buf_addc(b, '"');
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; (i += jsonout_plain_len(s + i, len - i)) < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c == 0) {
            if (!ascii_only) continue;
            buf_truncate(b, start);
            return 1;
        }
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_add(b, s + run, i - run);
        run = i + 1;
        char e[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            n = 6;
        }
        buf_add(b, e, n);
    }
    buf_add(b, s + run, len - run);
    buf_addc(b, '"');
    return buf_failed(b);
}

int jsonout_str(buf *b, const char *s, size_t len) {
    int rc = jsonout_escaped(b, s, len, 1); /* ASCII: no UTF-8 to check */
    if (rc != 1) return rc;
    if (utf8_valid(s, len, NULL)) return jsonout_escaped(b, s, len, 0);
    char *fixed = utf8_repair(s, len);
    if (!fixed) {
        if (!b->err) b->err = NZ_ENOMEM;
        return NZ_ENOMEM;
    }
    rc = jsonout_escaped(b, fixed, strlen(fixed), 0);
    free(fixed);
    return rc;
}

/* Append the decimal digits of u; their count. */
static size_t jsonout_digits(char *t, unsigned long long u) {
    char r[20];
    size_t n = 0;
    do r[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    for (size_t i = 0; i < n; i++) t[i] = r[n - 1 - i];
    return n;
}

/* x as "%.10g" writes it, when x is the double nearest m / 1e6 for an
 * integer m with 1e-4 <= |x| < 1e4 (rounded scores and latencies): then
 * m / 1e6 has at most 10 significant digits, x lies within an ulp of it,
 * so %.10g prints exactly its digits, in fixed notation, trailing zeros
 * dropped. Its length, or 0 when x is not such a number (snprintf then). */
static size_t jsonout_real_fixed(char *t, double x) {
    double a = fabs(x);
    if (!(a >= 1e-4 && a < 1e4)) return 0;
    long long m = llround(x * 1e6);
    if ((double)m / 1e6 != x) return 0;
    unsigned long long u = m < 0 ? (unsigned long long)-m : (unsigned long long)m;
    unsigned long long frac = u % 1000000;
    size_t n = 0;
    if (m < 0) t[n++] = '-';
    n += jsonout_digits(t + n, u / 1000000);
    t[n++] = '.';
    if (frac == 0) { /* "%.10g" gives "100": jansson adds ".0" */
        t[n++] = '0';
        return n;
    }
    for (int d = 100000; frac; d /= 10) {
        t[n++] = (char)('0' + frac / (unsigned long long)d);
        frac %= (unsigned long long)d;
    }
    return n;
}

int jsonout_real(buf *b, double x) {
    char t[40];
    size_t fast = jsonout_real_fixed(t, x);
    if (fast) return buf_add(b, t, fast);
    int n = snprintf(t, sizeof t - 2, "%.10g", x);
    if (n < 0 || (size_t)n >= sizeof t - 2) n = snprintf(t, sizeof t, "0.0");
    if (!strchr(t, '.') && !strchr(t, 'e')) {
        memcpy(t + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(t, 'e');
    if (e) { /* "1e+20" -> "1e20", "1e-05" -> "1e-5" */
        char *start = e + 1, *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, (size_t)(t + n - end) + 1);
            n -= (int)(end - start);
        }
    }
    return buf_add(b, t, (size_t)n);
}

int jsonout_int(buf *b, long long x) {
    char t[24];
    size_t n = 0;
    if (x < 0) t[n++] = '-';
    n += jsonout_digits(t + n, x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x);
    return buf_add(b, t, n);
}
