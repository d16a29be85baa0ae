/* pdfdoc.h -- PDF to blocks with poppler-glib.
 *
 * Text comes page by page in poppler's reading order (its default mode,
 * which keeps columns apart), with one rectangle per character. From the
 * geometry the extractor rebuilds what the page showed:
 *  - lines: a box per line; the median line height is the body font size;
 *  - running headers and footers: lines in the top or bottom 10% of a page
 *    whose text, digits and roman numerals aside, recurs in that zone on
 *    most pages (three or more), and bare page numbers, are dropped;
 *  - paragraphs: a new block starts at a vertical gap larger than the
 *    usual line gap, a jump up (a new column), a change of font size, or
 *    a line that starts with a bullet or an item number; a block runs on
 *    across a page break when the sentence does;
 *  - headings: short blocks set larger than the body (their level is the
 *    rank of their size), and the numbering lines of Indonesian
 *    regulations (BAB, Bagian, Paragraf, Pasal) at any size;
 *  - words hyphenated at a line end are joined ("regu-" + "lation"), while
 *    real hyphens stay ("e-" + "KTP" is e-KTP, a one-letter prefix keeps
 *    its hyphen).
 * Ligatures and presentation forms are expanded (textclean.h). A PDF that
 * needs a user password, or that poppler cannot read, is rejected; one with
 * only an owner password (restrictions on copying and printing) is read.
 */
#ifndef NZ_PDFDOC_H
#define NZ_PDFDOC_H

#include <jansson.h>
#include <stddef.h>

#include "pdflines.h"

typedef struct pdfdoc_info {
    char *title, *author; /* malloc'd or NULL */
    char created[32];     /* ISO 8601, "" when unknown */
    int pages;
} pdfdoc_info;

/* The whole document: read every page, lay the lines out into blocks.
 * Returns as pdfdoc_read. */
int pdfdoc_extract(const unsigned char *data, size_t len, long max_pages, json_t *blocks,
                   pdfdoc_info *info, char *err, size_t errlen);

/* Pages [first, last) (0-based; last < 0: to the end) into lines, for a
 * document read by several workers and laid out once (pdflayout.h). info
 * describes the whole document. NZ_OK; else, with err: NZ_EINVAL (the
 * document cannot be opened: damaged, encrypted, no pages, over
 * max_pages) or NZ_ENOMEM. */
int pdfdoc_read(const unsigned char *data, size_t len, long max_pages, int first, int last,
                pdf_lines *out, pdfdoc_info *info, char *err, size_t errlen);

/* An open document, kept across page ranges: a worker that reads several
 * parts of one long PDF parses its cross-reference table and page tree
 * once. data must outlive it. NULL with err (damaged, encrypted, no pages,
 * over max_pages). */
typedef struct pdfdoc pdfdoc;
pdfdoc *pdfdoc_open(const unsigned char *data, size_t len, long max_pages, char *err,
                    size_t errlen);
/* The whole document's metadata and page count; pdfdoc_info_free it. */
void pdfdoc_describe(const pdfdoc *d, pdfdoc_info *info);
/* Pages [first, last) of an open document into lines (as pdfdoc_read).
 * NZ_OK or NZ_ENOMEM (with err). */
int pdfdoc_pages(pdfdoc *d, int first, int last, pdf_lines *out, char *err, size_t errlen);
void pdfdoc_close(pdfdoc *d);

/* A file's page count, read lazily by poppler (no copy in memory), or
 * NZ_EINVAL when poppler cannot open it. */
int pdfdoc_count_pages_file(const char *path);
void pdfdoc_info_free(pdfdoc_info *info);

#endif
