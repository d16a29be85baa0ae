/* chunk.h -- nz-chunk's work: docs.jsonl in, chunks.jsonl out.
 *
 * Each document record is cut into chunk records by chunker.h and written
 * in order to the output (atomically, when it is a file). A bad record
 * (invalid JSON, no blocks, an over-long line) is rejected with a JSON
 * error line naming its line number, and the others go on. The run ends
 * with one stats line: docs, chunks, tokens, duplicates_dropped, rejected.
 */
#ifndef NZ_CHUNK_H
#define NZ_CHUNK_H

#include <stdio.h>

#include "chunker.h"

typedef struct chunk_options {
    chunker_opts chunker; /* sizes and dedupe, already validated */
    const char *output;   /* NULL: stdout */
    long max_line;        /* longest input line, bytes */
    int nfiles;           /* inputs; none: stdin */
    char *const *files;
    FILE *in; /* or this open stream ("-"; a buffer through fmemopen), not files */
} chunk_options;

/* Chunk every document of the inputs and log the stats line. Returns the
 * process exit code (nz.h): NZ_EXIT_OK, NZ_EXIT_REJECTED when some records
 * were rejected, NZ_EXIT_FAIL when the tokenizer cannot be built or the
 * output cannot be written (it is then left as it was). */
int chunk_run(const chunk_options *o);

#endif
