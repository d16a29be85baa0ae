/* builder.h -- stream rows into the files of a new snapshot directory.
 *
 * The builder never holds the vectors in memory: each row is normalised
 * and appended to vectors.bin, its metadata to chunks.bin's blob, and only
 * the 8-byte record offsets stay in RAM until the end. Each row's int8
 * code, with its scale, goes to codes.bin as it arrives;
 * the graph is built at finish over codes.bin mapped back in, so the
 * build's memory is the codes' page cache plus count x degree edges. CRC32s are computed
 * while writing (zlib's crc32_combine joins the header written last), so
 * finishing does not re-read anything. builder_finish() writes both
 * headers, fsyncs the files and writes MANIFEST.json; each row's text also
 * feeds the lexical index (lex_write.h), written to lexical.bin at finish; publishing the
 * directory is the caller's job (see publish.h).
 */
#ifndef NZ_BUILDER_H
#define NZ_BUILDER_H

#include <stdint.h>

#include "format.h"
#include "graph.h"
#include "lex_write.h"
#include "manifest.h"

typedef struct index_builder index_builder;

/* One row's metadata: NUL-terminated strings (NULL counts as ""), or,
 * when len is set, len[i] bytes at f[i] (views into a snapshot's record,
 * snapshot_chunk, are taken as they are). */
typedef struct builder_meta {
    int32_t page;
    const char *f[NZI_NFIELDS];
    const uint32_t *len; /* NULL: strlen of each field */
} builder_meta;

index_builder *builder_open(const char *dir, char *err, size_t errlen);

/* Append one row. The vector is copied and normalised. Returns NZ_OK, or
 * with err set:
 *   NZ_EINVAL  the row is refused (a zero, NaN or infinite vector, a dim
 *              unlike the first row's, a full index): the caller rejects
 *              that record and goes on;
 *   NZ_EIO     a write failed (now or earlier): the build is lost;
 *   NZ_ENOMEM  out of memory: the build is lost. */
int builder_add(index_builder *b, const float *v, uint32_t dim, const builder_meta *m, char *err,
                size_t errlen);

/* Append a row whose vector is already L2-normalised (a row carried from
 * another snapshot's vectors.bin): written as it is, bit for bit, and
 * quantised like any row. The same returns as builder_add, except that a
 * zero vector is not looked for. */
int builder_add_normalised(index_builder *b, const float *v, uint32_t dim, const builder_meta *m,
                           char *err, size_t errlen);

/* Also build a graph index at finish (codes.bin, graph.bin; kind
 * "vamana"). Without this call the snapshot is "flat". The builder checks
 * *stop between graph rounds and reports rounds to prog (either may be
 * NULL). Call before the first row. */
int builder_set_graph(index_builder *b, const graph_params *p, volatile sig_atomic_t *stop,
                      progress *prog); /* NZ_OK; NZ_EIO: cannot create codes.bin (errno);
                                          NZ_EINVAL: called after a row or twice */

/* BM25 parameters and stemming of lexical.bin (lex_write.h), which every
 * snapshot has; without this call the defaults. Call before the first
 * row. NZ_OK; NZ_EINVAL (after a row); NZ_ENOMEM. */
int builder_set_lexical(index_builder *b, const lex_params *p);

/* Make the graph at finish from a base snapshot's (graph_update) rather
 * than from scratch. gb->adj and gb->map, and base_name (for the
 * manifest), must stay valid until builder_finish. Call after
 * builder_set_graph. NZ_OK; NZ_EINVAL: no graph, or gb->degree is not the
 * graph's. */
int builder_set_graph_base(index_builder *b, const graph_base *gb, const char *base_name);

uint64_t builder_count(const index_builder *b);
uint32_t builder_dim(const index_builder *b);

/* Finish all files and write MANIFEST.json (manifest.h) from what the
 * caller knows (mb) and what the builder knows (kind, graph, dim, count,
 * files). Returns NZ_OK, or with err set: NZ_EINVAL (no rows); NZ_EIO
 * (a write failed, now or earlier); NZ_ENOMEM; NZ_ESTOPPED (*stop was set
 * during the graph build). */
int builder_finish(index_builder *b, const manifest_build *mb, char *err, size_t errlen);

/* Close without finishing (the directory is left for the caller to remove). */
void builder_free(index_builder *b);

#endif
