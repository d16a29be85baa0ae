/* pdflines.c -- see pdflines.h. */
#include "pdflines.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

#define PDF_LINES_MAGIC 0x4e5a504c31ULL /* "NZPL1" */

typedef struct pdf_lines_header {
    uint64_t magic;
    uint64_t nlines, text_len;
    int64_t npages;
} pdf_lines_header;

int pdf_lines_push(pdf_lines *pl, const pdf_line *l) {
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 1024;
        pdf_line *nl = realloc(pl->lines, cap * sizeof *nl);
        if (!nl) return NZ_ENOMEM;
        pl->lines = nl;
        pl->cap = cap;
    }
    pl->lines[pl->n++] = *l;
    return NZ_OK;
}

char *pdf_lines_reserve(pdf_lines *pl, size_t n) {
    if (buf_grow(&pl->text, n) < 0) return NULL;
    return pl->text.s + pl->text.len;
}

void pdf_lines_commit(pdf_lines *pl, const char *end) {
    pl->text.len = (size_t)(end - pl->text.s);
    pl->text.s[pl->text.len] = '\0';
}

void pdf_lines_resolve(pdf_lines *pl) {
    for (size_t i = 0; i < pl->n; i++) pl->lines[i].s = pl->text.s + pl->lines[i].off;
}

int pdf_lines_append(pdf_lines *dst, pdf_lines *src) {
    uint64_t base = dst->text.len;
    if (buf_add(&dst->text, src->text.s, src->text.len) < 0) return NZ_ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        pdf_line l = src->lines[i];
        l.off += base;
        if (pdf_lines_push(dst, &l) < 0) return NZ_ENOMEM;
    }
    if (src->npages > dst->npages) dst->npages = src->npages;
    pdf_lines_free(src);
    return NZ_OK;
}

void pdf_lines_free(pdf_lines *pl) {
    free(pl->lines);
    buf_free(&pl->text);
    memset(pl, 0, sizeof *pl);
}

char *pdf_lines_pack(const pdf_lines *pl, size_t *len) {
    pdf_lines_header h = {PDF_LINES_MAGIC, pl->n, pl->text.len, pl->npages};
    size_t n = sizeof h + pl->n * sizeof(pdf_line) + pl->text.len;
    char *flat = malloc(n);
    if (!flat) return NULL;
    memcpy(flat, &h, sizeof h);
    if (pl->n) memcpy(flat + sizeof h, pl->lines, pl->n * sizeof(pdf_line));
    if (pl->text.len) memcpy(flat + sizeof h + pl->n * sizeof(pdf_line), pl->text.s, pl->text.len);
    *len = n;
    return flat;
}

int pdf_lines_unpack(pdf_lines *pl, const char *flat, size_t len) {
    memset(pl, 0, sizeof *pl);
    pdf_lines_header h;
    int rc = NZ_ECORRUPT;
    if (len < sizeof h) return NZ_ECORRUPT;
    memcpy(&h, flat, sizeof h);
    if (h.magic != PDF_LINES_MAGIC || h.nlines > len / sizeof(pdf_line) ||
        sizeof h + h.nlines * sizeof(pdf_line) + h.text_len != len || h.npages < 0 ||
        h.npages > INT32_MAX)
        return NZ_ECORRUPT;
    pl->lines = malloc((h.nlines ? h.nlines : 1) * sizeof(pdf_line));
    if (!pl->lines ||
        buf_add(&pl->text, flat + sizeof h + h.nlines * sizeof(pdf_line), h.text_len) < 0) {
        rc = NZ_ENOMEM;
        goto fail;
    }
    if (h.nlines) memcpy(pl->lines, flat + sizeof h, h.nlines * sizeof(pdf_line));
    pl->n = pl->cap = h.nlines;
    pl->npages = (int)h.npages;
    for (size_t i = 0; i < pl->n; i++) {
        pdf_line *l = &pl->lines[i];
        if (l->off > pl->text.len || l->len > pl->text.len - l->off) goto fail;
        l->s = NULL;
    }
    return NZ_OK;
fail:
    pdf_lines_free(pl);
    return rc;
}
