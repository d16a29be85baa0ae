/* vecb64.h -- the embedding wire format: base64 of little-endian float32.
 *
 * This is the OpenAI API's own `encoding_format: "base64"`, and the
 * `embedding` field of embedded.jsonl. Base64 itself is libcrypto's
 * EVP_EncodeBlock/EVP_DecodeBlock; this module adds the float packing
 * (explicitly little-endian, so big-endian hosts read the same bytes) and
 * strict length checks: a vector of the wrong size is an error, never
 * truncated.
 */
#ifndef NZ_VECB64_H
#define NZ_VECB64_H

#include <stddef.h>

/* malloc'd NUL-terminated base64 of dim floats; NULL when out of memory. */
char *vecb64_encode(const float *v, size_t dim);

/* Decode into a malloc'd array. Returns the number of floats, or a status
 * (status.h): NZ_EINVAL when the text is not base64 or not a whole number
 * of float32 values, NZ_EDIM when expect_dim > 0 and the count differs,
 * NZ_ENONFINITE for a NaN or infinite value, NZ_ENOMEM. */
long vecb64_decode(const char *b64, size_t len, size_t expect_dim, float **out);

/* Plain base64 of bytes / back; used for binary fields. */
char *b64_encode(const void *data, size_t len);
long b64_decode(const char *text, size_t len, unsigned char **out);

#endif
