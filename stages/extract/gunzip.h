/* gunzip.h -- bounded streaming gzip decompression (zlib).
 *
 * Inflates in 64 KiB steps into a buffer that grows only as the output
 * does, and stops the moment the output would pass `max`: a gzip bomb is
 * rejected after reading at most `max` bytes of output, never by filling
 * memory. Concatenated gzip members are joined, as gzip(1) does. A stream
 * that ends before its trailer is "truncated", a bad CRC is "corrupt".
 */
#ifndef NZ_GUNZIP_H
#define NZ_GUNZIP_H

#include <stddef.h>

/* 0 on success with *out malloc'd (NUL-terminated, not counted in *outlen);
 * -1 with a message in err. */
int gunzip_bounded(const unsigned char *in, size_t inlen, size_t max, unsigned char **out,
                   size_t *outlen, char *err, size_t errlen);

#endif
