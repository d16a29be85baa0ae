/* fuzz_docs.c -- libFuzzer target: docs.jsonl as nz-chunk reads it.
 *
 * The input is given to chunk_run(), nz-chunk's own work, as an open
 * stream (its `in` option, read as a file is): the JSON Lines reader
 * (lines capped at 1 MiB, as --max-line could), the record checks and the chunker, with the tokenizer counting
 * every chunk. The sizes come from the input's length, so that the
 * overlap, min-tokens and table paths all run: the defaults (400/50/0),
 * small chunks with an overlap (64/8/16), and no dedupe or merging
 * (32/0/0). Records go to /dev/null; the logs are off.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "chunk.h"
#include "fuzzio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet("fuzz-docs");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const chunker_opts presets[] = {
        {.max_tokens = 400, .min_tokens = 50, .overlap = 0, .dedupe = 1},
        {.max_tokens = 64, .min_tokens = 8, .overlap = 16, .dedupe = 1},
        {.max_tokens = 32, .min_tokens = 0, .overlap = 0, .dedupe = 0},
    };
    FILE *in = fuzz_stream(data, size);
    chunk_options o = {.chunker = presets[size % 3], .max_line = 1 << 20, .in = in};
    int rc = chunk_run(&o);
    fclose(in);
    if (rc != 0 && rc != 3) abort(); /* only a write error may fail, and /dev/null takes all */
    return 0;
}
