/* build.h -- one build of an index root, from input rows to a published
 * snapshot: what `nz-index build` does, with the options in one struct.
 *
 *   lock the root (publish.h) -> a fresh .tmp- build directory -> with
 *   --base, open and verify the base (carry.h) -> a builder (builder.h),
 *   with a graph unless flat -> the new rows (ingest.h), their doc_ids
 *   noted -> the base's rows not dropped nor replaced (carry.h) -> finish:
 *   the graph, from the base's graph when the base has one of the same
 *   degree (graph_update; --rebuild-graph: from scratch), and MANIFEST.json
 *   (manifest.h) -> publish -> prune old ones
 *
 * Any failure, or *stop (SIGTERM) at any point, removes the build
 * directory and publishes nothing; `current` is never touched.
 */
#ifndef NZ_BUILD_H
#define NZ_BUILD_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "docset.h"
#include "graph.h"
#include "lex_write.h"

typedef struct build_opts {
    const char *root;  /* the index root (INDEX_PATH) */
    const char *fvecs; /* rows from this .fvecs file, or NULL: */
    int nfiles;        /* ... embedded.jsonl files (stdin when 0) */
    char *const *files;
    FILE *in;              /* ... or this open stream ("-"; a buffer through fmemopen) */
    long keep;             /* snapshots to keep after publishing */
    int flat;              /* no graph: exact search only */
    graph_params graph;    /* unless flat */
    const char *tool;      /* for the manifest: "nz-index 0.1.0" */
    const char *base;      /* carry rows from this snapshot (or root), or NULL */
    const docset *drop;    /* with base: documents not carried (may be NULL) */
    const json_t *labels;  /* build.labels for the manifest, or NULL */
    int rebuild_graph;     /* with base: build the graph anew, not from the base's */
    const lex_params *lex; /* the lexical index's BM25 and stemming (lex_write.h);
                              NULL: the defaults */
    volatile sig_atomic_t *stop;
} build_opts;

typedef struct build_result {
    char *snapshot; /* the published snapshot's name (malloc'd) */
    uint64_t count;
    uint32_t dim;
    long records, rejected;
    uint64_t carried, dropped; /* base rows carried, and left out */
    json_t *pruned;            /* names of snapshots removed after publishing */
    double seconds;            /* from the first row to the finished files */
} build_result;

/* Returns NZ_OK (r filled; free with build_result_free), or with err set:
 *   NZ_EINVAL    the input was refused: a bad .fvecs file or row, or
 *                embedded.jsonl with no valid record (and no row carried);
 *   NZ_EDIM      the input's provider, model or dim is not the base's;
 *   NZ_ESTOPPED  *stop was set (err not set);
 *   NZ_EIO, NZ_ENOMEM, NZ_ECORRUPT  the build or the publish failed, or
 *                the base could not be opened or does not verify. */
int build_run(const build_opts *o, build_result *r, char *err, size_t errlen);
void build_result_free(build_result *r);

#endif
