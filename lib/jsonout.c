/* jsonout.c -- see jsonout.h. */
#include "jsonout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "utf8.h"

/* s[0..len) is valid UTF-8 without NUL: escape it. */
static int jsonout_escaped(buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    if (buf_grow(b, len + 2) < 0) return buf_failed(b);
    buf_addc(b, '"');
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
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
    if (utf8_valid(s, len, NULL)) return jsonout_escaped(b, s, len);
    char *fixed = utf8_repair(s, len);
    if (!fixed) {
        if (!b->err) b->err = NZ_ENOMEM;
        return NZ_ENOMEM;
    }
    int rc = jsonout_escaped(b, fixed, strlen(fixed));
    free(fixed);
    return rc;
}

int jsonout_real(buf *b, double x) {
    char t[40];
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
    int n = snprintf(t, sizeof t, "%lld", x);
    return buf_add(b, t, (size_t)n);
}
