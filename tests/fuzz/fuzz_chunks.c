/* fuzz_chunks.c -- libFuzzer target: chunks.jsonl as nz-embed reads it.
 *
 * The input is written to a file and given to embed_run(), nz-embed's own
 * work, with the offline `hash` provider (EMBEDDING_PROVIDER unset): the
 * JSON Lines reader, the record checks, the text sent (context and text),
 * the hash embedder (UTF-8, words, features) and the base64 encoding of
 * every vector. Dimension 64 keeps an execution cheap; the code paths are
 * those of 1536. Records go to /dev/null; the logs are off.
 */
#include <stdint.h>
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
    const char *path = fuzz_path("chunks.jsonl");
    fuzz_write(path, data, size);
    char *files[] = {(char *)path};
    embed_options o = {.dim = 64, .max_line = 1 << 20, .nfiles = 1, .files = files};
    int rc = embed_run(&o);
    if (rc != 0 && rc != 3) abort(); /* the hash provider never fails a run */
    return 0;
}
