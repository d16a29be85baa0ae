/* pdflines.c -- see pdflines.h. */
#include "pdflines.h"

#include <stdlib.h>
#include <string.h>

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
        if (!nl) return -1;
        pl->lines = nl;
        pl->cap = cap;
    }
    pl->lines[pl->n++] = *l;
    return 0;
}

char *pdf_lines_reserve(pdf_lines *pl, size_t n) {
    if (pl->text_len + n + 1 > pl->text_cap) {
        size_t cap = pl->text_cap ? pl->text_cap * 2 : 65536;
        while (cap < pl->text_len + n + 1) cap *= 2;
        char *t = realloc(pl->text, cap);
        if (!t) return NULL;
        pl->text = t;
        pl->text_cap = cap;
    }
    return pl->text + pl->text_len;
}

void pdf_lines_resolve(pdf_lines *pl) {
    for (size_t i = 0; i < pl->n; i++) pl->lines[i].s = pl->text + pl->lines[i].off;
}

int pdf_lines_append(pdf_lines *dst, pdf_lines *src) {
    char *w = pdf_lines_reserve(dst, src->text_len);
    if (!w) return -1;
    if (src->text_len) memcpy(w, src->text, src->text_len);
    uint64_t base = dst->text_len;
    dst->text_len += src->text_len;
    for (size_t i = 0; i < src->n; i++) {
        pdf_line l = src->lines[i];
        l.off += base;
        if (pdf_lines_push(dst, &l) < 0) return -1;
    }
    if (src->npages > dst->npages) dst->npages = src->npages;
    pdf_lines_free(src);
    return 0;
}

void pdf_lines_free(pdf_lines *pl) {
    free(pl->lines);
    free(pl->text);
    memset(pl, 0, sizeof *pl);
}

char *pdf_lines_pack(const pdf_lines *pl, size_t *len) {
    pdf_lines_header h = {PDF_LINES_MAGIC, pl->n, pl->text_len, pl->npages};
    size_t n = sizeof h + pl->n * sizeof(pdf_line) + pl->text_len;
    char *buf = malloc(n);
    if (!buf) return NULL;
    memcpy(buf, &h, sizeof h);
    if (pl->n) memcpy(buf + sizeof h, pl->lines, pl->n * sizeof(pdf_line));
    if (pl->text_len) memcpy(buf + sizeof h + pl->n * sizeof(pdf_line), pl->text, pl->text_len);
    *len = n;
    return buf;
}

int pdf_lines_unpack(pdf_lines *pl, const char *buf, size_t len) {
    memset(pl, 0, sizeof *pl);
    pdf_lines_header h;
    if (len < sizeof h) return -1;
    memcpy(&h, buf, sizeof h);
    if (h.magic != PDF_LINES_MAGIC || h.nlines > len / sizeof(pdf_line) ||
        sizeof h + h.nlines * sizeof(pdf_line) + h.text_len != len || h.npages < 0 ||
        h.npages > INT32_MAX)
        return -1;
    pl->lines = malloc((h.nlines ? h.nlines : 1) * sizeof(pdf_line));
    pl->text = malloc(h.text_len + 1);
    if (!pl->lines || !pl->text) {
        pdf_lines_free(pl);
        return -1;
    }
    if (h.nlines) memcpy(pl->lines, buf + sizeof h, h.nlines * sizeof(pdf_line));
    if (h.text_len) memcpy(pl->text, buf + sizeof h + h.nlines * sizeof(pdf_line), h.text_len);
    pl->n = pl->cap = h.nlines;
    pl->text_len = h.text_len;
    pl->text_cap = h.text_len + 1;
    pl->npages = (int)h.npages;
    for (size_t i = 0; i < pl->n; i++) {
        pdf_line *l = &pl->lines[i];
        if (l->off > pl->text_len || l->len > pl->text_len - l->off) {
            pdf_lines_free(pl);
            return -1;
        }
        l->s = NULL;
    }
    return 0;
}
