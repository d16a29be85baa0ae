/* docset.c -- see docset.h. */
#include "docset.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "utf8.h"

static uint64_t docset_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t docset_find(char *const *slot, size_t cap, const char *s, size_t len) {
    size_t i = (size_t)docset_hash(s, len) & (cap - 1);
    while (slot[i] && (strlen(slot[i]) != len || memcmp(slot[i], s, len) != 0))
        i = (i + 1) & (cap - 1);
    return i;
}

static int docset_grow(docset *d) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot) return NZ_ENOMEM;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slot[i]) slot[docset_find(slot, cap, d->slot[i], strlen(d->slot[i]))] = d->slot[i];
    free(d->slot);
    d->slot = slot;
    d->cap = cap;
    return NZ_OK;
}

int docset_add(docset *d, const char *s, size_t len) {
    if (docset_has(d, s, len)) return NZ_OK;
    if ((d->n + 1) * 2 > d->cap && docset_grow(d) < 0) return NZ_ENOMEM;
    char *copy = strndup(s, len);
    if (!copy) return NZ_ENOMEM;
    d->slot[docset_find(d->slot, d->cap, s, len)] = copy;
    d->n++;
    return NZ_OK;
}

int docset_has(const docset *d, const char *s, size_t len) {
    return d->cap && d->slot[docset_find(d->slot, d->cap, s, len)] != NULL;
}

void docset_free(docset *d) {
    for (size_t i = 0; i < d->cap; i++) free(d->slot[i]);
    free(d->slot);
    *d = (docset)DOCSET_INIT;
}

/* One line of a --drop-docs file, its newline removed. */
static int docset_line(docset *d, const char *s, size_t len, long lineno, const char *path,
                       char *err, size_t errlen) {
    if (len == 0) return NZ_OK; /* blank */
    int ctl = 0;
    for (size_t i = 0; i < len; i++) ctl |= (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
    if (len > DOCSET_MAX_ID || ctl || !utf8_valid(s, len, NULL)) {
        snprintf(err, errlen,
                 "%s: line %ld: a doc_id is at most %d bytes of UTF-8 without control "
                 "characters",
                 path, lineno, DOCSET_MAX_ID);
        return NZ_EINVAL;
    }
    if (docset_add(d, s, len) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    return NZ_OK;
}

/* The next line into buf (at most max bytes, its newline removed): its
 * length; -1 at the end of the file; max + 1 when the line is longer. */
static long docset_getline(FILE *f, char *buf, size_t max) {
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n')
        if (n <= max) buf[n++] = (char)c;
    if (c == EOF && n == 0) return -1;
    return (long)n;
}

int docset_read(docset *d, const char *path, char *err, size_t errlen) {
    char line[DOCSET_MAX_ID + 1];
    long lineno = 0, n;
    int rc = NZ_OK;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NZ_EIO;
    }
    while (rc == NZ_OK && (n = docset_getline(f, line, DOCSET_MAX_ID)) >= 0) {
        if (++lineno > DOCSET_MAX_LINES) {
            snprintf(err, errlen, "%s: more than %ld lines", path, DOCSET_MAX_LINES);
            rc = NZ_ELIMIT;
        } else {
            rc = docset_line(d, line, (size_t)n, lineno, path, err, errlen);
        }
    }
    if (rc == NZ_OK && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = NZ_EIO;
    }
    fclose(f);
    return rc;
}
