/* buf.c -- see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

void buf_init(buf *b, size_t max) { *b = (buf){.max = max}; }

void buf_free(buf *b) {
    size_t max = b->max;
    free(b->s);
    buf_init(b, max);
}

void buf_reset(buf *b) {
    b->len = 0;
    b->err = 0;
    if (b->s) b->s[0] = '\0';
}

static int buf_fail(buf *b, int status) {
    if (!b->err) b->err = status;
    return status;
}

int buf_grow(buf *b, size_t extra) {
    if (b->max && (extra > b->max || b->len > b->max - extra)) return buf_fail(b, NZ_ELIMIT);
    if (extra >= ((size_t)-1) / 2 - b->len) return buf_fail(b, NZ_ENOMEM);
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return NZ_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) return buf_fail(b, NZ_ENOMEM);
    b->s = s;
    b->cap = cap;
    return NZ_OK;
}

int buf_add(buf *b, const void *p, size_t n) {
    int rc = buf_grow(b, n);
    if (rc < 0) return rc;
    if (n) memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return NZ_OK;
}

int buf_adds(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

int buf_addc(buf *b, char c) { return buf_add(b, &c, 1); }

int buf_vprintf(buf *b, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc;
    if (n < 0) {
        rc = buf_fail(b, NZ_EINVAL);
        goto out;
    }
    if ((size_t)n < sizeof small) {
        rc = buf_add(b, small, (size_t)n);
        goto out;
    }
    if ((rc = buf_grow(b, (size_t)n)) < 0) goto out;
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
    rc = NZ_OK;
out:
    va_end(again);
    return rc;
}

int buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_truncate(buf *b, size_t len) {
    if (len >= b->len) return;
    b->len = len;
    b->s[len] = '\0';
}

const char *buf_str(const buf *b) { return b->s ? b->s : ""; }

int buf_failed(const buf *b) { return b->err; }

char *buf_detach(buf *b, size_t *len) {
    if (!b->s && buf_grow(b, 0) < 0) return NULL;
    if (!b->len) b->s[0] = '\0';
    char *s = b->s;
    if (len) *len = b->len;
    size_t max = b->max;
    buf_init(b, max);
    return s;
}
