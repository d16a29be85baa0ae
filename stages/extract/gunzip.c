/* gunzip.c -- see gunzip.h. */
#include "gunzip.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "status.h"

#define GUNZIP_STEP 16384

int gunzip_bounded(const unsigned char *in, size_t inlen, size_t max, unsigned char **out,
                   size_t *outlen, char *err, size_t errlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    buf b;
    /* one byte over the cap is room enough to tell a bomb */
    buf_init(&b, max < SIZE_MAX - 1 ? max + 1 : 0);
    *out = NULL;
    *outlen = 0;
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* +32: gzip or zlib header */
        snprintf(err, errlen, "zlib: cannot initialise");
        return NZ_ENOMEM;
    }
    const unsigned char *p = in;
    size_t left = inlen;
    int rc = NZ_ECORRUPT;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.next_in = (Bytef *)p;
            zs.avail_in = n;
            p += n;
            left -= n;
        }
        size_t room = GUNZIP_STEP;
        if (b.max && room > b.max - b.len) room = b.max - b.len;
        if (buf_grow(&b, room) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = NZ_ENOMEM;
            goto fail;
        }
        /* inflate straight into the buffer's free room, all of it once
         * the buffer has grown past the first step */
        if (b.cap - b.len - 1 > room) room = b.cap - b.len - 1;
        if (b.max && room > b.max - b.len) room = b.max - b.len;
        if (room > (1u << 30)) room = 1u << 30; /* zlib's avail_out is a uInt */
        zs.next_out = (Bytef *)b.s + b.len;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        b.len += room - zs.avail_out;
        b.s[b.len] = '\0';
        if (b.len > max) {
            snprintf(err, errlen, "gzip output exceeds --max-bytes %zu (a gzip bomb?)", max);
            rc = NZ_ELIMIT;
            goto fail;
        }
        if (z == Z_STREAM_END) {
            /* another member follows? gzip(1) concatenates them */
            if (zs.avail_in == 0 && left == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                snprintf(err, errlen, "zlib: cannot reset");
                goto fail;
            }
            continue;
        }
        if (z == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            snprintf(err, errlen, "truncated gzip stream (ends after %zu bytes of output)", b.len);
            goto fail;
        }
        if (z == Z_DATA_ERROR) {
            snprintf(err, errlen, "corrupt gzip stream: %s", zs.msg ? zs.msg : "bad data");
            goto fail;
        }
        if (z == Z_MEM_ERROR) {
            snprintf(err, errlen, "zlib error %d", z);
            rc = NZ_ENOMEM;
            goto fail;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            snprintf(err, errlen, "zlib error %d", z);
            goto fail;
        }
    }
    inflateEnd(&zs);
    *out = (unsigned char *)buf_detach(&b, outlen);
    return NZ_OK;
fail:
    inflateEnd(&zs);
    buf_free(&b);
    return rc;
}
