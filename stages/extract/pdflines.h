/* pdflines.h -- the lines read from a PDF: text plus page geometry.
 *
 * The hand-off between reading (pdfdoc.c, poppler) and layout
 * (pdflayout.c, paragraphs and headings). Lines keep their text as an
 * offset into one buffer, so a set of lines can be packed into a flat byte
 * string and sent between processes: a long PDF is read by several
 * workers, one page range each, and laid out once, whole.
 */
#ifndef NZ_PDFLINES_H
#define NZ_PDFLINES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct pdf_line {
    uint64_t off; /* into pdf_lines.text */
    uint32_t len;
    int32_t page; /* 1-based */
    float x1, x2, y1, y2;
    uint64_t key;  /* header/footer identity in a page zone; 0 elsewhere */
    uint8_t drop;  /* set by layout: a running header, footer or page number */
    const char *s; /* text + off, after pdf_lines_resolve(); not packed */
} pdf_line;

typedef struct pdf_lines {
    pdf_line *lines;
    size_t n, cap;
    buf text;   /* every line's bytes, at its offset */
    int npages; /* pages of the whole document */
} pdf_lines;

/* NZ_OK or NZ_ENOMEM. */
int pdf_lines_push(pdf_lines *pl, const pdf_line *l);
/* Make room for `n` more text bytes; returns the write position (the end
 * of pl->text) or NULL. pdf_lines_commit then says where writing ended. */
char *pdf_lines_reserve(pdf_lines *pl, size_t n);
void pdf_lines_commit(pdf_lines *pl, const char *end);
/* Point every line's s at its text (after the text buffer stops moving). */
void pdf_lines_resolve(pdf_lines *pl);
/* Move all of src's lines to the end of dst (src is emptied). NZ_OK or
 * NZ_ENOMEM. */
int pdf_lines_append(pdf_lines *dst, pdf_lines *src);
void pdf_lines_free(pdf_lines *pl);

/* Flat form: malloc'd, *len bytes. */
char *pdf_lines_pack(const pdf_lines *pl, size_t *len);
/* Read a flat form back, checking every offset. NZ_OK, NZ_ECORRUPT when
 * malformed, or NZ_ENOMEM. */
int pdf_lines_unpack(pdf_lines *pl, const char *buf, size_t len);

#endif
