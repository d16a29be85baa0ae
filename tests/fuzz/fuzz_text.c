/* fuzz_text.c -- libFuzzer target: the whole dispatcher on any bytes, as a
 * local file would go (sniff, gzip, charset, text/Markdown, XML, HTML,
 * PDF), ending in the docs.jsonl record. */
#include <stdint.h>
#include <stdlib.h>

#include "extract.h"
#include "fuzzio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_poppler_hold(); /* poppler's GlobalParams once, not per input */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    extract_opts o = {.max_bytes = 1 << 22, .max_pages = 20};
    extract_source src = {.name = "fuzz.txt", .uri = "file:///fuzz.txt", .data = data, .len = size};
    char err[512];
    json_t *doc = extract_document(&src, &o, err, sizeof err);
    if (doc) {
        char *s = json_dumps(doc, JSON_COMPACT);
        free(s);
        json_decref(doc);
    }
    return 0;
}
