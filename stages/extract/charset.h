/* charset.h -- finding a document's character set and converting it to UTF-8.
 *
 * nuzantara works in UTF-8 only; everything else is converted on the way
 * in with iconv(3). The declared charset comes, in order of authority,
 * from a byte-order mark, the HTTP Content-Type header, then an HTML
 * <meta charset>. Declarations lie, so the bytes are checked: a document
 * "declared" UTF-8 that is not valid UTF-8 is read as Windows-1252 (the
 * superset of Latin-1 that browsers use for it), and one declared as a
 * single-byte charset whose bytes are valid multi-byte UTF-8 is read as
 * UTF-8. Bytes that the source charset does not define become U+FFFD.
 */
#ifndef NZ_CHARSET_H
#define NZ_CHARSET_H

#include <stddef.h>

#define CHARSET_NAME_MAX 40

/* "UTF-8", "UTF-16LE" or "UTF-16BE" and the BOM's length, or NULL. */
const char *charset_bom(const unsigned char *p, size_t n, size_t *bomlen);
/* charset=... of a Content-Type value into out; 0 when found. */
int charset_from_content_type(const char *ct, char *out, size_t outlen);
/* <meta charset=...> or <meta http-equiv content="...charset=..."> in the
 * first 4 KiB; 0 when found. */
int charset_html_meta(const unsigned char *p, size_t n, char *out, size_t outlen);
/* 1 when the name means UTF-8 (utf8, UTF-8, unicode-1-1-utf-8...). */
int charset_is_utf8(const char *name);

/* Convert to a malloc'd NUL-terminated UTF-8 string. Undefined bytes become
 * U+FFFD. NZ_OK; else, with err: NZ_EINVAL (unknown charset, or iconv
 * failed), NZ_ELIMIT (input too large to convert) or NZ_ENOMEM. */
int charset_to_utf8(const char *from, const unsigned char *in, size_t len, char **out,
                    size_t *outlen, char *err, size_t errlen);

/* Decide the charset of bytes given what was declared (may be NULL or "")
 * and convert. *used gets the charset actually used and *note a short
 * remark when the bytes overruled the declaration (else ""). Returns as
 * charset_to_utf8. */
int charset_decode(const unsigned char *p, size_t n, const char *declared, char **out,
                   size_t *outlen, char used[CHARSET_NAME_MAX], const char **note, char *err,
                   size_t errlen);

#endif
