/* lex_terms.c -- see lex_terms.h. */
#include "lex_terms.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "status.h"
#include "stem.h"
#include "utf8.h"

enum { LEX_C_OTHER, LEX_C_LETTER, LEX_C_DIGIT, LEX_C_MARK, LEX_C_CONNECTOR };

static int lex_class(utf8proc_int32_t c) {
    if (c == '-' || c == '/' || c == '.' || c == '_' || c == 0x2010 || c == 0x2011)
        return LEX_C_CONNECTOR;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return LEX_C_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return LEX_C_DIGIT;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: return LEX_C_MARK;
    default: return LEX_C_OTHER;
    }
}

int lex_lang(const char *lang, size_t len) {
    if (len < 2 || (len > 2 && lang[2] != '-' && lang[2] != '_')) return LEX_LANG_OTHER;
    char a = (char)(lang[0] | 0x20), b = (char)(lang[1] | 0x20);
    if (a == 'i' && b == 'd') return LEX_LANG_ID;
    if (a == 'e' && b == 'n') return LEX_LANG_EN;
    return LEX_LANG_OTHER;
}

int lex_stem_parse(const char *list) {
    if (!strcmp(list, "none")) return 0;
    int mask = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int l = lex_lang(p, n);
        if (n != 2 || l == LEX_LANG_OTHER || (mask & l)) return -1;
        mask |= l;
        p += n + (p[n] == ',');
        if (p[-1] == ',' && !*p) return -1;
    }
    return mask ? mask : -1;
}

/* One decoded code point of the normalised text. */
typedef struct lex_cp {
    size_t at, len;
    int cls;
} lex_cp;

/* A piece: emit it, stemmed when it is all letters and a stemmer is set. */
static int lex_piece(const char *s, size_t n, int letters, int stemmer, lex_term_fn fn, void *ctx) {
    if (n == 0 || n > LEX_MAX_TERM) return 0;
    if (!letters || stemmer == LEX_LANG_OTHER) return fn(s, n, ctx);
    char out[LEX_MAX_TERM];
    size_t m = stemmer == LEX_LANG_ID ? stem_id(s, n, out) : stem_en(s, n, out);
    return fn(out, m, ctx);
}

/* The span cp[0..n): the whole (when it has several pieces), then each
 * piece. A piece starts at a letter or digit and runs on through marks and
 * code points of its own class. */
static int lex_span(const char *t, const lex_cp *cp, size_t n, int stemmer, lex_term_fn fn,
                    void *ctx) {
    size_t ps[LEX_MAX_TERM * 2], pe[LEX_MAX_TERM * 2], np = 0;
    int letters[LEX_MAX_TERM * 2], rc;
    for (size_t i = 0; i < n;) {
        if (cp[i].cls == LEX_C_CONNECTOR) {
            i++;
            continue;
        }
        int cls = cp[i].cls == LEX_C_DIGIT ? LEX_C_DIGIT : LEX_C_LETTER;
        size_t j = i + 1;
        while (j < n && (cp[j].cls == LEX_C_MARK || cp[j].cls == cls)) j++;
        ps[np] = cp[i].at;
        pe[np] = cp[j - 1].at + cp[j - 1].len;
        letters[np++] = cls == LEX_C_LETTER;
        i = j;
    }
    if (np == 2 && letters[0] && letters[1] && pe[0] - ps[0] == pe[1] - ps[1] &&
        !memcmp(t + ps[0], t + ps[1], pe[0] - ps[0])) /* a reduplicated word: the word */
        return lex_piece(t + ps[0], pe[0] - ps[0], 1, stemmer, fn, ctx);
    size_t start = cp[0].at, end = cp[n - 1].at + cp[n - 1].len;
    if (np > 1 && end - start <= LEX_MAX_TERM && (rc = fn(t + start, end - start, ctx))) return rc;
    for (size_t p = 0; p < np; p++)
        if ((rc = lex_piece(t + ps[p], pe[p] - ps[p], letters[p], stemmer, fn, ctx))) return rc;
    return 0;
}

/* Walk normalised text t (NUL-terminated), a span at a time. */
static int lex_walk(const char *t, size_t tlen, int stemmer, lex_term_fn fn, void *ctx) {
    lex_cp span[LEX_MAX_TERM * 2];
    size_t n = 0, at = 0;
    int rc = 0;
    while (at <= tlen) {
        utf8proc_int32_t c = 0;
        utf8proc_ssize_t l = at < tlen ? utf8proc_iterate((const utf8proc_uint8_t *)t + at,
                                                          (utf8proc_ssize_t)(tlen - at), &c)
                                       : 0;
        int cls = l > 0 ? lex_class(c) : LEX_C_OTHER;
        if (l <= 0) l = 1;
        if (cls == LEX_C_CONNECTOR && n > 0 && at + (size_t)l < tlen) {
            /* a connector continues the span only before a letter or digit */
            utf8proc_int32_t d = 0;
            utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)t + at + l,
                                                  (utf8proc_ssize_t)(tlen - at - (size_t)l), &d);
            int dc = m > 0 ? lex_class(d) : LEX_C_OTHER;
            if (dc != LEX_C_LETTER && dc != LEX_C_DIGIT) cls = LEX_C_OTHER;
        } else if (cls == LEX_C_CONNECTOR || (cls == LEX_C_MARK && n == 0)) {
            cls = LEX_C_OTHER;
        }
        if (cls != LEX_C_OTHER) {
            if (n == sizeof span / sizeof *span) { /* too long for a term: cut */
                if ((rc = lex_span(t, span, n, stemmer, fn, ctx))) return rc;
                n = 0;
            }
            span[n++] = (lex_cp){at, (size_t)l, cls};
        } else if (n > 0) {
            if ((rc = lex_span(t, span, n, stemmer, fn, ctx))) return rc;
            n = 0;
        }
        at += (size_t)l;
    }
    return 0;
}

int lex_terms(const char *text, size_t len, int stemmer, lex_term_fn fn, void *ctx) {
    return lex_terms_each(text, len, &stemmer, 1, fn, ctx);
}

int lex_terms_each(const char *text, size_t len, const int *stemmers, int nstemmers,
                   lex_term_fn fn, void *ctx) {
    if (len > LEX_MAX_TEXT) return NZ_ELIMIT;
    char *fixed = NULL;
    utf8proc_uint8_t *norm = NULL;
    if (!utf8_valid(text, len, NULL)) {
        if (!(fixed = utf8_repair(text, len))) return NZ_ENOMEM;
        text = fixed;
        len = strlen(fixed);
    }
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &norm,
                     UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    int rc = n < 0 ? NZ_ENOMEM : 0;
    for (int i = 0; rc == 0 && i < nstemmers; i++)
        rc = lex_walk((const char *)norm, (size_t)n, stemmers[i], fn, ctx);
    free(norm);
    free(fixed);
    return rc;
}
