/* fuzz_chunks.c -- libFuzzer target: chunks.jsonl as nz-embed reads it.
 *
 * The input is given to embed_run(), nz-embed's own work, as an open
 * stream (its `in` option, read as a file is), with the offline `hash`
 * provider (EMBEDDING_PROVIDER unset): the JSON Lines reader, the record checks, the text sent (context and text),
 * the hash embedder (UTF-8, words, features) and the base64 encoding of
 * every vector. Dimension 64 keeps an execution cheap; the code paths are
 * those of 1536. Records go to /dev/null; the logs are off.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "embed.h"
#include "fuzzio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    unsetenv("EMBEDDING_PROVIDER");
    fuzz_quiet("fuzz-chunks");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *in = fuzz_stream(data, size);
    embed_options o = {.dim = 64, .max_line = 1 << 20, .in = in};
    int rc = embed_run(&o);
    fclose(in);
    if (rc != 0 && rc != 3) abort(); /* the hash provider never fails a run */
    return 0;
}
