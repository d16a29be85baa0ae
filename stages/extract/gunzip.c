/* gunzip.c -- see gunzip.h. */
#include "gunzip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GUNZIP_STEP 65536

int gunzip_bounded(const unsigned char *in, size_t inlen, size_t max, unsigned char **out,
                   size_t *outlen, char *err, size_t errlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    *out = NULL;
    *outlen = 0;
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* +32: gzip or zlib header */
        snprintf(err, errlen, "zlib: cannot initialise");
        return -1;
    }
    const unsigned char *p = in;
    size_t left = inlen;
    int rc = -1;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.next_in = (Bytef *)p;
            zs.avail_in = n;
            p += n;
            left -= n;
        }
        if (cap - len < GUNZIP_STEP) {
            if (len >= max) {
                snprintf(err, errlen, "gzip output exceeds --max-bytes %zu (a gzip bomb?)", max);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : GUNZIP_STEP * 4;
            if (ncap > max + GUNZIP_STEP + 1) ncap = max + GUNZIP_STEP + 1;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len - 1;
        if (room > GUNZIP_STEP) room = GUNZIP_STEP;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (len > max) {
            snprintf(err, errlen, "gzip output exceeds --max-bytes %zu (a gzip bomb?)", max);
            goto out;
        }
        if (z == Z_STREAM_END) {
            /* another member follows? gzip(1) concatenates them */
            if (zs.avail_in == 0 && left == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                snprintf(err, errlen, "zlib: cannot reset");
                goto out;
            }
            continue;
        }
        if (z == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            snprintf(err, errlen, "truncated gzip stream (ends after %zu bytes of output)", len);
            goto out;
        }
        if (z == Z_DATA_ERROR) {
            snprintf(err, errlen, "corrupt gzip stream: %s", zs.msg ? zs.msg : "bad data");
            goto out;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            snprintf(err, errlen, "zlib error %d", z);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = 0;
out:
    inflateEnd(&zs);
    free(buf);
    return rc;
}
