/* charset.c -- see charset.h. */
#include "charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "status.h"
#include "utf8.h"

const char *charset_bom(const unsigned char *p, size_t n, size_t *bomlen) {
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        *bomlen = 3;
        return "UTF-8";
    }
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        *bomlen = 2;
        return "UTF-16LE";
    }
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        *bomlen = 2;
        return "UTF-16BE";
    }
    *bomlen = 0;
    return NULL;
}

/* Copy a charset token (letters, digits, - _ . : ) into out. */
static int charset_token(const char *p, const char *end, char *out, size_t outlen) {
    while (p < end && (*p == ' ' || *p == '"' || *p == '\'' || *p == '=')) p++;
    size_t n = 0;
    while (p < end && n + 1 < outlen && (isalnum((unsigned char)*p) || strchr("-_.:", *p)))
        out[n++] = *p++;
    out[n] = '\0';
    return n ? 0 : -1;
}

int charset_from_content_type(const char *ct, char *out, size_t outlen) {
    if (!ct) return -1;
    const char *c = strcasestr(ct, "charset");
    if (!c) return -1;
    c += 7;
    while (*c == ' ') c++;
    if (*c != '=') return -1;
    return charset_token(c + 1, c + strlen(c), out, outlen);
}

int charset_html_meta(const unsigned char *p, size_t n, char *out, size_t outlen) {
    size_t limit = n < 4096 ? n : 4096;
    const char *s = (const char *)p, *end = s + limit;
    for (const char *m = s; m + 5 < end; m++) {
        if (*m != '<' || strncasecmp(m, "<meta", 5) != 0) continue;
        const char *close = memchr(m, '>', (size_t)(end - m));
        if (!close) return -1;
        for (const char *c = m; c + 7 < close; c++)
            if (strncasecmp(c, "charset", 7) == 0) {
                const char *v = c + 7;
                while (v < close && *v == ' ') v++;
                if (v < close && *v == '=' && charset_token(v + 1, close, out, outlen) == 0)
                    return 0;
            }
    }
    return -1;
}

int charset_is_utf8(const char *name) {
    return name && (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0 ||
                    strcasecmp(name, "unicode-1-1-utf-8") == 0);
}

/* Latin-1 declarations mean Windows-1252 in practice (WHATWG). */
static const char *charset_alias(const char *name) {
    if (!strcasecmp(name, "iso-8859-1") || !strcasecmp(name, "latin1") ||
        !strcasecmp(name, "us-ascii") || !strcasecmp(name, "ascii") ||
        !strcasecmp(name, "iso8859-1") || !strcasecmp(name, "l1"))
        return "WINDOWS-1252";
    return name;
}

int charset_to_utf8(const char *from, const unsigned char *in, size_t len, char **out,
                    size_t *outlen, char *err, size_t errlen) {
    buf b = BUF_INIT;
    int rc = NZ_ENOMEM;
    *out = NULL;
    iconv_t cd = iconv_open("UTF-8", charset_alias(from));
    if (cd == (iconv_t)-1) {
        snprintf(err, errlen, "unknown charset \"%s\"", from);
        return NZ_EINVAL;
    }
    if (len > (SIZE_MAX - 16) / 4) {
        snprintf(err, errlen, "input too large");
        rc = NZ_ELIMIT;
        goto fail;
    }
    /* any single-byte charset fits; grow for others */
    if (buf_grow(&b, len * 3 + 16) < 0) goto oom;
    char *ip = (char *)in;
    size_t il = len;
    while (il > 0) {
        /* iconv writes straight into the buffer's free room */
        char *op = b.s + b.len;
        size_t room = b.cap - b.len - 1, ol = room;
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        int e = errno;
        b.len += room - ol;
        b.s[b.len] = '\0';
        if (r != (size_t)-1) break;
        if (e == E2BIG) {
            if (buf_grow(&b, b.cap) < 0) goto oom;
        } else if (e == EILSEQ || e == EINVAL) {
            /* undefined or truncated: one U+FFFD, skip one byte */
            if (buf_add(&b, "\xEF\xBF\xBD", 3) < 0) goto oom;
            ip++;
            il--;
            iconv(cd, NULL, NULL, NULL, NULL); /* reset shift state */
        } else {
            snprintf(err, errlen, "iconv: %s", strerror(e));
            rc = NZ_EINVAL;
            goto fail;
        }
    }
    iconv_close(cd);
    *out = buf_detach(&b, outlen);
    return NZ_OK;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    buf_free(&b);
    iconv_close(cd);
    return rc;
}

static int charset_has_multibyte_utf8(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80) return 1;
    return 0;
}

int charset_decode(const unsigned char *p, size_t n, const char *declared, char **out,
                   size_t *outlen, char used[CHARSET_NAME_MAX], const char **note, char *err,
                   size_t errlen) {
    size_t bomlen;
    const char *bom = charset_bom(p, n, &bomlen);
    *note = "";
    if (bom) {
        snprintf(used, CHARSET_NAME_MAX, "%s", bom);
        p += bomlen;
        n -= bomlen;
    } else if (declared && *declared) {
        snprintf(used, CHARSET_NAME_MAX, "%s", declared);
    } else {
        snprintf(used, CHARSET_NAME_MAX, "UTF-8");
    }
    int valid = utf8_valid((const char *)p, n, NULL);
    if (charset_is_utf8(used)) {
        if (!valid) {
            *note = declared && *declared
                        ? "declared UTF-8 but is not valid UTF-8: read as Windows-1252"
                        : "not valid UTF-8: read as Windows-1252";
            snprintf(used, CHARSET_NAME_MAX, "WINDOWS-1252");
        }
    } else if (!bom && valid && charset_has_multibyte_utf8(p, n) &&
               strncasecmp(used, "UTF-16", 6) != 0) {
        *note = "declared a single-byte charset but is valid UTF-8: read as UTF-8";
        snprintf(used, CHARSET_NAME_MAX, "UTF-8");
    }
    if (charset_is_utf8(used)) {
        char *copy = malloc(n + 1);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(copy, p, n);
        copy[n] = '\0';
        *out = copy;
        *outlen = n;
        snprintf(used, CHARSET_NAME_MAX, "UTF-8");
        return 0;
    }
    return charset_to_utf8(used, p, n, out, outlen, err, errlen);
}
