/* fuzz_html.c -- libFuzzer target: bytes through charset detection and the
 * HTML extractor, as an http(s) page or a .html file would go. */
#include <stdint.h>
#include <stdlib.h>

#include "charset.h"
#include "htmldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char declared[CHARSET_NAME_MAX] = "", used[CHARSET_NAME_MAX], err[256];
    const char *note;
    char *utf8 = NULL;
    size_t len;
    charset_html_meta(data, size, declared, sizeof declared);
    if (charset_decode(data, size, declared, &utf8, &len, used, &note, err, sizeof err) < 0)
        return 0;
    json_t *blocks = json_array();
    htmldoc_info hi;
    if (htmldoc_extract(utf8, len, blocks, &hi, err, sizeof err) == 0) free(hi.title);
    json_decref(blocks);
    free(utf8);
    return 0;
}
