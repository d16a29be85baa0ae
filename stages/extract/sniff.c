/* sniff.c -- see sniff.h. */
#include "sniff.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "textdoc.h"

/* Skip a BOM, white space and <!-- comments -->; returns the offset of the
 * first meaningful byte. UTF-16 text is left to the caller (it has NULs). */
static size_t sniff_skip(const unsigned char *p, size_t n) {
    size_t i = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) i = 3;
    for (;;) {
        while (i < n && isspace(p[i])) i++;
        if (i + 4 <= n && memcmp(p + i, "<!--", 4) == 0) {
            const unsigned char *end = NULL;
            for (size_t j = i + 4; j + 3 <= n; j++)
                if (p[j] == '-' && p[j + 1] == '-' && p[j + 2] == '>') {
                    end = p + j + 3;
                    break;
                }
            if (!end) return i;
            i = (size_t)(end - p);
            continue;
        }
        return i;
    }
}

static int sniff_prefix_ci(const unsigned char *p, size_t n, const char *s) {
    size_t k = strlen(s);
    return n >= k && strncasecmp((const char *)p, s, k) == 0;
}

/* Is the root element <html>? Looks past the XML declaration, doctype,
 * processing instructions and comments. */
static int sniff_xml_is_html(const unsigned char *p, size_t n) {
    size_t limit = n < 4096 ? n : 4096;
    for (size_t i = 0; i + 5 < limit; i++) {
        if (p[i] != '<') continue;
        if (p[i + 1] == '?' || p[i + 1] == '!') {
            if (sniff_prefix_ci(p + i, limit - i, "<!DOCTYPE html")) return 1;
            continue;
        }
        return sniff_prefix_ci(p + i, limit - i, "<html");
    }
    return 0;
}

const char *sniff_mime(const unsigned char *p, size_t n) {
    if (n >= 5 && memcmp(p, "%PDF-", 5) == 0) return MIME_PDF;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return MIME_GZIP;
    /* %PDF- may follow junk bytes (the spec allows 1024) */
    for (size_t i = 1; i + 5 <= n && i < 1024; i++)
        if (p[i] == '%' && memcmp(p + i, "%PDF-", 5) == 0) return MIME_PDF;
    if (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF))) {
        /* UTF-16 with a BOM: markup is decided after conversion */
        return MIME_TEXT;
    }
    size_t i = sniff_skip(p, n);
    const unsigned char *q = p + i;
    size_t m = n - i;
    if (sniff_prefix_ci(q, m, "<?xml")) return sniff_xml_is_html(q, m) ? MIME_XHTML : MIME_XML;
    if (sniff_prefix_ci(q, m, "<!DOCTYPE html") || sniff_prefix_ci(q, m, "<html") ||
        sniff_prefix_ci(q, m, "<head") || sniff_prefix_ci(q, m, "<body"))
        return MIME_HTML;
    size_t probe = n < 8192 ? n : 8192;
    if (memchr(p, 0, probe)) return MIME_BINARY;
    return textdoc_is_markdown((const char *)p, n) ? MIME_MARKDOWN : MIME_TEXT;
}
