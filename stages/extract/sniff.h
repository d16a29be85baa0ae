/* sniff.h -- a document's type from its first bytes, never its name.
 *
 * Order matters: binary signatures first (%PDF-, gzip's 1f 8b), then
 * markup. "<?xml" documents whose root is <html> (XHTML, as the PostgreSQL
 * manual ships) are HTML; other XML is XML. A UTF-8/16 byte-order mark and
 * leading white space or comments are skipped before looking for markup.
 * Anything with NUL bytes in its first 8 KiB that is none of these is
 * binary; what is left is text (Markdown when it looks like Markdown).
 */
#ifndef NZ_SNIFF_H
#define NZ_SNIFF_H

#include <stddef.h>

#define MIME_PDF "application/pdf"
#define MIME_GZIP "application/gzip"
#define MIME_HTML "text/html"
#define MIME_XHTML "application/xhtml+xml"
#define MIME_XML "application/xml"
#define MIME_MARKDOWN "text/markdown"
#define MIME_TEXT "text/plain"
#define MIME_BINARY "application/octet-stream"

const char *sniff_mime(const unsigned char *p, size_t n);

#endif
