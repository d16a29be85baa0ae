/* textdoc.h -- plain text and Markdown to blocks.
 *
 * Plain text: paragraphs are separated by blank lines; the lines of one
 * paragraph are joined with a space (hard-wrapped text reads as one).
 * Markdown (CommonMark's block structure, without inline markup):
 * ATX (#..######) and setext (===, ---) headings, fenced code (``` or ~~~)
 * and indented code, list items (-, *, +, 1. 1)) with their continuation
 * lines, pipe tables (cells joined by " | ", the --- rule dropped), block
 * quotes (the > taken off) and paragraphs. Inline emphasis and links are
 * kept as written: they are text to an embedder.
 */
#ifndef NZ_TEXTDOC_H
#define NZ_TEXTDOC_H

#include <jansson.h>
#include <stddef.h>

/* 1 when the bytes look like Markdown: an ATX heading, a fence or a pipe
 * table at the start of a line. */
int textdoc_is_markdown(const char *s, size_t len);

/* Append the blocks of s[0..len) (valid UTF-8) to `blocks`. NZ_OK or
 * NZ_ENOMEM. */
int textdoc_parse(const char *s, size_t len, int markdown, json_t *blocks);

#endif
