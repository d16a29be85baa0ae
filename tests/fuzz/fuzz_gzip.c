/* fuzz_gzip.c -- libFuzzer target: bounded gzip decompression, then the
 * sniffer on what comes out. */
#include <stdint.h>
#include <stdlib.h>

#include "gunzip.h"
#include "sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *out;
    size_t outlen;
    char err[256];
    if (gunzip_bounded(data, size, 1 << 20, &out, &outlen, err, sizeof err) == 0) {
        (void)sniff_mime(out, outlen);
        free(out);
    }
    return 0;
}
