/* jsonout.h -- JSON text written straight into a buf, byte for byte as
 * jansson's json_dumps(..., JSONL_DUMP_FLAGS) would write it.
 *
 * The hot paths of nz-serve (a query's answer, the access log line) used to
 * build jansson objects only to dump them at once: an allocation per value
 * and per key, then a second pass. These helpers append the same bytes
 * directly, so a caller writes `{"key":` itself and a value with one call:
 *
 *   - strings: invalid UTF-8 and NULs repaired to U+FFFD as
 *     utf8_json_string does (utf8.h), then escaped as jansson does without
 *     JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH: \" \\ \b \f \n \r \t, other
 *     bytes below 0x20 as \u00XX (upper-case hex), the rest as they are;
 *   - reals: "%.10g" (JSON_REAL_PRECISION(10)), ".0" added when the text
 *     has neither '.' nor 'e', the exponent without '+' or leading zeros;
 *     a number of at most 6 decimals between 1e-4 and 1e4 (a rounded score
 *     or latency) is written from its integer millionths without snprintf,
 *     the same bytes at a tenth of the cost;
 *   - integers: "%lld", written digit by digit.
 *
 * tests/unit/test_lib.c checks each against jansson's own output.
 * Returns, as buf's appends: NZ_OK, NZ_ENOMEM, or NZ_ELIMIT past the buf's
 * cap (the failure is also kept in buf_failed, so a caller may append many
 * values and check once); after a failure the buf may end in part of the
 * value, so the caller drops the whole text.
 */
#ifndef NZ_JSONOUT_H
#define NZ_JSONOUT_H

#include <stddef.h>

#include "buf.h"

int jsonout_str(buf *b, const char *s, size_t len); /* a string value, quoted */
int jsonout_real(buf *b, double x);                 /* a real (finite) */
int jsonout_int(buf *b, long long x);               /* an integer */

/* How many leading bytes of s[0..len) are printable ASCII other than '"'
 * and '\\' (nothing to escape, nothing to validate), looked at 16 bytes at
 * a time (SSE2), else 8: for scanners of JSON strings (index/query.c's). */
size_t jsonout_plain_len(const char *s, size_t len);

#endif
