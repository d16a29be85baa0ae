/* fuzz_pdf.c -- libFuzzer target: bytes through the PDF reader and layout
 * (poppler-glib), including the packing used between workers. poppler's
 * global tables are built once (fuzz_poppler_hold), not for every input. */
#include <stdint.h>
#include <stdlib.h>

#include "pdfdoc.h"
#include "pdflayout.h"
#include "fuzzio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_poppler_hold(); /* poppler's GlobalParams once, not per input */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    pdf_lines pl;
    pdfdoc_info pi;
    if (pdfdoc_read(data, size, 50, 0, -1, &pl, &pi, err, sizeof err) < 0) return 0;
    size_t plen;
    char *packed = pdf_lines_pack(&pl, &plen);
    pdf_lines back;
    if (packed && pdf_lines_unpack(&back, packed, plen) == 0) {
        json_t *blocks = json_array();
        pdflayout_blocks(&back, blocks);
        json_decref(blocks);
        pdf_lines_free(&back);
    }
    free(packed);
    pdf_lines_free(&pl);
    pdfdoc_info_free(&pi);
    return 0;
}
