/* vecb64.c -- see vecb64.h. */
#include "vecb64.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

char *b64_encode(const void *data, size_t len) {
    if (len > (size_t)INT32_MAX / 4 * 3 - 3) return NULL; /* EVP takes int */
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1);
    if (!out) return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

/* Decode text (len a multiple of 4, checked by the caller) into dst, which
 * has room for len / 4 * 3 bytes; the byte count, or -1 when not base64. */
static long b64_decode_into(const char *text, size_t len, unsigned char *dst) {
    int n = EVP_DecodeBlock(dst, (const unsigned char *)text, (int)len);
    if (n < 0) return -1;
    /* EVP_DecodeBlock counts '=' padding as zero bytes: take them off. */
    if (len >= 1 && text[len - 1] == '=') n--;
    if (len >= 2 && text[len - 2] == '=') n--;
    return n;
}

long b64_decode(const char *text, size_t len, unsigned char **out) {
    *out = NULL;
    if (len % 4 != 0 || len > (size_t)INT32_MAX) return -1;
    unsigned char *buf = malloc(len / 4 * 3 + 1);
    if (!buf) return -1;
    long n = b64_decode_into(text, len, buf);
    if (n < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return n;
}

static uint32_t vecb64_load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

char *vecb64_encode(const float *v, size_t dim) {
    if (dim > SIZE_MAX / 4) return NULL;
    unsigned char *bytes = malloc(dim * 4 + 1);
    if (!bytes) return NULL;
    for (size_t i = 0; i < dim; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        bytes[4 * i] = (unsigned char)u;
        bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16);
        bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    char *out = b64_encode(bytes, dim * 4);
    free(bytes);
    return out;
}

/* The bytes are decoded straight into the float array (on a little-endian
 * host they are the floats already): no second buffer, no copy. */
long vecb64_decode(const char *b64, size_t len, size_t expect_dim, float **out) {
    *out = NULL;
    float *v = NULL;
    long rc = NZ_EINVAL;
    if (len % 4 != 0 || len > (size_t)INT32_MAX) goto fail;
    size_t raw = len / 4 * 3; /* what EVP writes, padding included */
    if (!(v = malloc((raw / 4 + 1) * sizeof *v))) {
        rc = NZ_ENOMEM;
        goto fail;
    }
    long n = b64_decode_into(b64, len, (unsigned char *)v);
    if (n < 0 || n % 4 != 0) goto fail;
    size_t dim = (size_t)n / 4;
    if (expect_dim && dim != expect_dim) {
        rc = NZ_EDIM;
        goto fail;
    }
    for (size_t i = 0; i < dim; i++) {
        uint32_t u = vecb64_load_le32((const unsigned char *)(v + i)); /* a no-op on x86 */
        memcpy(&v[i], &u, 4);
        if (!isfinite(v[i])) {
            rc = NZ_ENONFINITE;
            goto fail;
        }
    }
    *out = v;
    return (long)dim;
fail:
    free(v);
    return rc;
}
