/* utf8.h -- small UTF-8 helpers over utf8proc.
 *
 * Every string that reaches a JSON record must be valid UTF-8 (jansson
 * refuses anything else). These helpers validate, repair (invalid bytes
 * become U+FFFD) and normalise text, so callers never hand-roll decoders.
 */
#ifndef NZ_UTF8_H
#define NZ_UTF8_H

#include <jansson.h>
#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. On failure, *bad_at
 * (if not NULL) receives the byte offset of the first invalid sequence. */
int utf8_valid(const char *s, size_t len, size_t *bad_at);

/* A malloc'd NUL-terminated copy with invalid sequences and NULs replaced
 * by U+FFFD. NULL only when out of memory. */
char *utf8_repair(const char *s, size_t len);

/* json_string that never fails on bad bytes: repairs first. */
json_t *utf8_json_string(const char *s, size_t len);

/* NFC-normalised malloc'd copy (valid UTF-8 input required); NULL on error. */
char *utf8_nfc(const char *s, size_t len);

#endif
