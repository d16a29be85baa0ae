/* fuzz_embedded.c -- libFuzzer target: embedded.jsonl as nz-index reads it.
 *
 * The input is built with build_run(), what `nz-index build` does, read
 * as an open stream (its `in` option, read as a file is): the JSON Lines
 * reader, each record's fields, the base64 float32 vector (vecb64), the
 * dim and embedding checks, then the
 * files, the graph (degree 4, or flat when the input's length is odd),
 * MANIFEST.json, the publish and the prune, in a root of its own. The
 * oracle: whatever the input, a build that publishes gives a snapshot
 * that opens, verifies (every CRC32, record and edge) and answers a
 * search; anything else is a finding (abort).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "build.h"
#include "fuzzio.h"
#include "search.h"
#include "snapshot.h"
#include "status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet("fuzz-embedded");
    return 0;
}

/* The published snapshot must open, verify and answer. */
static void check_published(const char *root) {
    char err[512];
    snapshot *s = snapshot_open(root, err, sizeof err);
    if (!s) {
        fprintf(stderr, "fuzz-embedded: published snapshot does not open: %s\n", err);
        abort();
    }
    if (snapshot_verify(s, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz-embedded: published snapshot does not verify: %s\n", err);
        abort();
    }
    float *q = calloc(s->dim, sizeof *q);
    topk_hit hits[4];
    if (!q) abort();
    q[0] = 1.0f;
    search_params p = {.k = 4, .ef = 8, .threads = 1};
    long n = index_search(s, q, &p, hits);
    if (n < 0 || (uint64_t)n > s->count) abort();
    for (long i = 0; i < n; i++) {
        snapshot_chunk c;
        if (hits[i].id >= s->count || snapshot_chunk_get(s, hits[i].id, &c) != 0) abort();
    }
    free(q);
    snapshot_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *in = fuzz_stream(data, size);
    char root[512], err[512];
    snprintf(root, sizeof root, "%s/index", fuzz_dir());
    build_opts o = {.root = root,
                    .in = in,
                    .keep = 1,
                    .flat = (int)(size & 1),
                    .graph = {.degree = 4, .build_ef = 8, .alpha = 1.2f, .seed = 1, .threads = 1},
                    .tool = "fuzz-embedded"};
    build_result r;
    int rc = build_run(&o, &r, err, sizeof err);
    fclose(in);
    if (rc == 0) {
        check_published(root);
        build_result_free(&r);
    } else if (rc != NZ_EINVAL) { /* refused input is the only failure allowed */
        fprintf(stderr, "fuzz-embedded: build failed: %s (%s)\n", nz_strerror(rc), err);
        abort();
    }
    return 0;
}
