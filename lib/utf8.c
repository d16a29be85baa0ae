/* utf8.c -- see utf8.h. */
#include "utf8.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

int utf8_valid(const char *s, size_t len, size_t *bad_at) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) { /* ASCII fast path */
            if (p[i] == 0) goto bad;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) goto bad;
        i += (size_t)n;
    }
    return 1;
bad:
    if (bad_at) *bad_at = i;
    return 0;
}

char *utf8_repair(const char *s, size_t len) {
    /* Worst case every byte becomes the 3-byte U+FFFD. */
    if (len > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        if (p[i] < 0x80 && p[i] != 0) {
            out[o++] = (char)p[i++];
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = p[i] ? utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp) : -1;
        if (n <= 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        }
    }
    out[o] = '\0';
    return out;
}

json_t *utf8_json_string(const char *s, size_t len) {
    if (utf8_valid(s, len, NULL)) return json_stringn(s, len);
    char *fixed = utf8_repair(s, len);
    if (!fixed) return NULL;
    json_t *j = json_string(fixed);
    free(fixed);
    return j;
}

/* Could NFC change this text? Only combining marks, composition
 * exclusions, singleton decompositions and Hangul jamo can; text without
 * them (all ASCII, and most Latin text with precomposed letters) is
 * already NFC, and utf8proc's decompose-recompose pass is skipped. */
static int utf8_nfc_needed(const char *s, size_t len) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) return 1;
        i += (size_t)n;
        if (cp >= 0x1100 && cp <= 0x11FF) return 1; /* jamo */
        const utf8proc_property_t *pr = utf8proc_get_property(cp);
        if (pr->combining_class || pr->comp_exclusion) return 1;
        if (pr->decomp_seqindex != UINT16_MAX && pr->decomp_type == 0) {
            /* a canonical decomposition: a singleton one maps elsewhere */
            utf8proc_int32_t d[4];
            int last = 0;
            if (utf8proc_decompose_char(cp, d, 4, 0, &last) == 1) return 1;
        }
    }
    return 0;
}

char *utf8_nfc(const char *s, size_t len) {
    if (!utf8_nfc_needed(s, len)) {
        char *copy = malloc(len + 1);
        if (!copy) return NULL;
        memcpy(copy, s, len);
        copy[len] = '\0';
        return copy;
    }
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &out,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) return NULL;
    return (char *)out;
}
