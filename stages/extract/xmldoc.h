/* xmldoc.h -- generic XML to blocks (libxml2, network and entity
 * expansion off, libxml2's depth and size limits on).
 *
 * The element structure is kept where it is obvious: an element named
 * like a heading (title, heading, head, caption, subject, h1-h6) becomes a
 * heading block whose level is its depth; an element with running text of
 * its own becomes one paragraph with the text of its whole subtree (so
 * inline markup joins its sentence); other elements are walked into.
 */
#ifndef NZ_XMLDOC_H
#define NZ_XMLDOC_H

#include <jansson.h>
#include <stddef.h>

typedef struct xmldoc_info {
    char *title; /* malloc'd, or NULL */
    char lang[16];
} xmldoc_info;

/* NZ_OK; else, with err: NZ_ELIMIT (over 2 GiB), NZ_EINVAL (malformed
 * XML, no document element) or NZ_ENOMEM. info->title is malloc'd. */
int xmldoc_extract(const char *data, size_t len, json_t *blocks, xmldoc_info *info, char *err,
                   size_t errlen);

#endif
