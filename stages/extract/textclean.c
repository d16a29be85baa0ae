/* textclean.c -- see textclean.h. */
#include "textclean.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int textclean_is_presentation(utf8proc_int32_t cp) {
    return (cp >= 0xFB00 && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFF && cp != 0xFEFF);
}

static int textclean_is_invisible(utf8proc_int32_t cp) {
    return cp == 0x00AD || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

char *textclean_chars(const char *s, size_t len, size_t *outlen) {
    /* a presentation form expands to at most 4 code points of 3 bytes */
    if (len > (SIZE_MAX - 1) / 4) return NULL;
    char *out = malloc(len * 4 + 1);
    if (!out) return NULL;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            out[o++] = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F ? ' ' : (char)c;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        i += (size_t)n;
        if (textclean_is_invisible(cp)) continue;
        if (cp >= 0x80 && cp < 0xA0) { /* C1 controls */
            out[o++] = ' ';
            continue;
        }
        if (textclean_is_presentation(cp)) {
            utf8proc_int32_t dec[8];
            int last = 0;
            utf8proc_ssize_t m =
                utf8proc_decompose_char(cp, dec, 8, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last);
            if (m > 0 && m <= 4) {
                for (utf8proc_ssize_t k = 0; k < m; k++)
                    o += (size_t)utf8proc_encode_char(dec[k], (utf8proc_uint8_t *)out + o);
                continue;
            }
        }
        memcpy(out + o, p + i - (size_t)n, (size_t)n);
        o += (size_t)n;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static int textclean_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t textclean_collapse(char *s, size_t len) {
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* U+00A0 no-break space counts as space too */
        if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xA0) {
            pending = o > 0;
            i++;
            continue;
        }
        if (textclean_space(c)) {
            pending = o > 0;
            continue;
        }
        if (pending) s[o++] = ' ';
        pending = 0;
        s[o++] = (char)c;
    }
    s[o] = '\0';
    return o;
}
