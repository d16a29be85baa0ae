/* sha.c -- see sha.h. */
#include "sha.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct sha_ctx {
    EVP_MD_CTX *md;
};

sha_ctx *sha_new(void) {
    sha_ctx *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        sha_free(c);
        return NULL;
    }
    return c;
}

int sha_update(sha_ctx *c, const void *data, size_t len) {
    return EVP_DigestUpdate(c->md, data, len) == 1 ? 0 : -1;
}

int sha_final(sha_ctx *c, unsigned char out[SHA_LEN]) {
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != SHA_LEN) return -1;
    return EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

void sha_free(sha_ctx *c) {
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

int sha256(const void *data, size_t len, unsigned char out[SHA_LEN]) {
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA_LEN) return -1;
    return 0;
}

void sha_hex(const unsigned char *digest, size_t nbytes, char *out) {
    static const char hexdig[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hexdig[digest[i] >> 4];
        out[2 * i + 1] = hexdig[digest[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

int sha_id(char out[ID_HEX_LEN + 1], const char *a, const char *b) {
    sha_ctx *c = sha_new();
    unsigned char d[SHA_LEN];
    int rc = -1;
    if (!c) return -1;
    if (sha_update(c, a, strlen(a)) < 0) goto err;
    if (b) {
        if (sha_update(c, "", 1) < 0 || sha_update(c, b, strlen(b)) < 0) goto err;
    }
    if (sha_final(c, d) < 0) goto err;
    sha_hex(d, ID_HEX_LEN / 2, out);
    rc = 0;
err:
    sha_free(c);
    return rc;
}
