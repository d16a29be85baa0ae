/* sha.h -- SHA-256 through OpenSSL's libcrypto, and hex ids.
 *
 * Ids in nuzantara are hex SHA-256 prefixes: doc_id hashes the canonical
 * URI, chunk_id hashes doc_id and chunk text, the embedding cache hashes
 * what is sent. sha_ctx is the streaming form for large inputs.
 */
#ifndef NZ_SHA_H
#define NZ_SHA_H

#include <stddef.h>

#define SHA_LEN 32
#define SHA_HEX_LEN 64
#define ID_HEX_LEN 32 /* ids keep 128 bits: collision-free at any corpus size */

typedef struct sha_ctx sha_ctx;

sha_ctx *sha_new(void);
int sha_update(sha_ctx *c, const void *data, size_t len);
int sha_final(sha_ctx *c, unsigned char out[SHA_LEN]); /* also resets */
void sha_free(sha_ctx *c);

/* One-shot digest; 0 on success. */
int sha256(const void *data, size_t len, unsigned char out[SHA_LEN]);
/* hex of the first `nbytes` bytes into out (2*nbytes+1 chars). */
void sha_hex(const unsigned char *digest, size_t nbytes, char *out);
/* Digest of the parts joined by a NUL byte, as ID_HEX_LEN hex chars. */
int sha_id(char out[ID_HEX_LEN + 1], const char *a, const char *b);

#endif
