/* htmldoc.h -- HTML and XHTML to blocks, with libxml2's HTML parser.
 *
 * The parser runs with network access off and its own limits on (libxml2
 * stops at 256 levels of nesting; such a document is rejected, not
 * silently cut). The tree is walked iteratively, so no input can overflow
 * the stack:
 *  - script, style, nav, header, footer, aside, form, noscript, template
 *    and svg are dropped with their content, as are elements marked
 *    hidden and the navigation boxes of generated manuals (class
 *    navheader, navfooter, breadcrumb...);
 *  - h1-h6 become headings with their level, p paragraphs, li list items,
 *    pre and block-level code code blocks (white space kept), tables one
 *    row a line with cells joined by " | ";
 *  - text directly inside other block containers (div, section, dd...)
 *    becomes paragraphs; inline elements join the text around them.
 * The title is <title>, else the first h1; lang is <html lang>.
 */
#ifndef NZ_HTMLDOC_H
#define NZ_HTMLDOC_H

#include <jansson.h>
#include <stddef.h>

typedef struct htmldoc_info {
    char *title;   /* malloc'd, or NULL */
    char lang[16]; /* "" when undeclared */
} htmldoc_info;

/* utf8 must be UTF-8 (see charset.h). NZ_OK; else, with err: NZ_ELIMIT
 * (over 2 GiB, or nested past libxml2's depth limit), NZ_EINVAL (no
 * document element) or NZ_ENOMEM. */
int htmldoc_extract(const char *utf8, size_t len, json_t *blocks, htmldoc_info *info, char *err,
                    size_t errlen);

#endif
