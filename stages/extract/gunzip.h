/* gunzip.h -- bounded streaming gzip decompression (zlib).
 *
 * Inflates in 64 KiB steps into a buffer (buf.h) that grows only as the
 * output does, and stops the moment the output would pass `max`: a gzip bomb is
 * rejected after reading at most `max` bytes of output, never by filling
 * memory. Concatenated gzip members are joined, as gzip(1) does. A stream
 * that ends before its trailer is "truncated", a bad CRC is "corrupt".
 */
#ifndef NZ_GUNZIP_H
#define NZ_GUNZIP_H

#include <stddef.h>

/* NZ_OK with *out malloc'd (NUL-terminated, not counted in *outlen).
 * Else, with a message in err: NZ_ELIMIT (the output passes max: a bomb?),
 * NZ_ECORRUPT (truncated or corrupt stream) or NZ_ENOMEM. */
int gunzip_bounded(const unsigned char *in, size_t inlen, size_t max, unsigned char **out,
                   size_t *outlen, char *err, size_t errlen);

#endif
