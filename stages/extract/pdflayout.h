/* pdflayout.h -- the blocks of a PDF, from its lines (see pdfdoc.h for the
 * rules: headers and footers, paragraphs, headings, hyphenation). */
#ifndef NZ_PDFLAYOUT_H
#define NZ_PDFLAYOUT_H

#include <jansson.h>

#include "pdflines.h"

/* Append the blocks of all lines (in page order) to `blocks`. NZ_OK or
 * NZ_ENOMEM. Marks dropped lines in place. */
int pdflayout_blocks(pdf_lines *pl, json_t *blocks);

#endif
