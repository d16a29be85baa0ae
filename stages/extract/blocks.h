/* blocks.h -- the document record that nz-extract emits (docs.jsonl).
 *
 * Every input format maps to the same list of blocks
 * {"kind":"heading|para|list|table|code","level":N,"page":N,"text":...}, so
 * the chunker sees one structure. `page` is 1-based for paginated sources
 * and 0 for sources without pages; `level` is the heading level (1..6) and
 * 0 for other kinds. Text is NFC-normalised valid UTF-8 and never empty.
 */
#ifndef NZ_BLOCKS_H
#define NZ_BLOCKS_H

#include <jansson.h>
#include <stddef.h>

typedef enum { BLOCK_HEADING, BLOCK_PARA, BLOCK_LIST, BLOCK_TABLE, BLOCK_CODE } block_kind;

const char *block_kind_name(block_kind k);

/* Append a block to a JSON array. The text is trimmed of surrounding white
 * space and NFC-normalised; an empty block is silently skipped. NZ_OK,
 * NZ_EINVAL when normalising fails on text that is not valid UTF-8, or
 * NZ_ENOMEM. */
int blocks_add(json_t *blocks, block_kind kind, int level, int page, const char *text, size_t len);

/* The text of the first heading (lowest level seen first), or NULL. */
const char *blocks_first_heading(const json_t *blocks);

#endif
