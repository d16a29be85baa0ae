/* manifest.h -- MANIFEST.json, written and read in one place.
 *
 * The manifest is a snapshot's small text description (format.h): format
 * and version, the snapshot's name and time, the metric, the embedding
 * (provider, model, dim), the index (kind "flat", or "vamana" with its
 * graph parameters, entry point, and how the graph was made: "graph":
 * {"method": "built"}, or {"method": "incremental", "base": NAME, "kept",
 * "repaired", "inserted": rows} when it grew from a base's graph), how the build went (tool, seconds,
 * records, rejected; with a base, its name and the rows carried and
 * dropped; labels when given), dim, count, and each file's name, size and
 * CRC32.
 * Its keys are written in that order, indented by 2, one trailing newline;
 * snapshots already published are read by the same reader, so the bytes
 * do not change from one build of nuzantara to the next.
 *
 * The builder (builder.c) fills a manifest_index at finish and calls
 * manifest_write(); the reader (snapshot.c) calls manifest_read(), which
 * checks everything a reader relies on before any file is mapped.
 */
#ifndef NZ_MANIFEST_H
#define NZ_MANIFEST_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "graph.h"
#include "lex_write.h"

#define MANIFEST_MAX_FILES 5

#define MANIFEST_MAX_LABELS 32
#define MANIFEST_MAX_LABEL_KEY 64
#define MANIFEST_MAX_LABEL_VALUE 1024

/* What the caller of a build knows: where the rows came from. */
typedef struct manifest_build {
    const char *snapshot; /* the snapshot's name */
    time_t created;       /* unix seconds */
    const char *tool;     /* "nz-index 0.1.0" */
    const char *provider, *model;
    double seconds; /* reading the input */
    long records, rejected;
    const char *base;          /* the base snapshot's name, or NULL (no --base) */
    uint64_t carried, dropped; /* base rows carried, and left out (with base) */
    const json_t *labels;      /* {KEY: VALUE} (manifest_label_add), or NULL */
} manifest_build;

typedef struct manifest_file {
    const char *name;
    uint64_t size;
    unsigned long crc; /* CRC32 of the whole file */
} manifest_file;

/* What the builder knows at finish: the index itself. */
typedef struct manifest_index {
    uint32_t dim;
    uint64_t count;
    const graph_params *graph; /* NULL: kind "flat" */
    uint32_t entry;            /* the graph's entry point */
    const char *graph_base;    /* graph_update from this base's graph; NULL: built */
    graph_stats graph_stats;   /* with graph_base: rows kept, repaired, inserted */
    const lex_params *lex;     /* lexical.bin's parameters; NULL: no lexical index */
    uint64_t lex_terms, lex_postings;
    manifest_file files[MANIFEST_MAX_FILES];
    int nfiles;
} manifest_index;

/* The manifest as a JSON object (new reference), or NULL out of memory. */
json_t *manifest_pack(const manifest_build *b, const manifest_index *ix);

/* Write dir/MANIFEST.json atomically. NZ_OK, NZ_ENOMEM or NZ_EIO (errno),
 * with err set on failure. */
int manifest_write(const char *dir, const manifest_build *b, const manifest_index *ix, char *err,
                   size_t errlen);

/* What a reader needs from a manifest; strings are owned by the JSON. */
typedef struct manifest_info {
    uint32_t dim;
    uint64_t count;
    const char *provider, *model, *metric;
    const char *kind; /* "flat" (also when absent) or "vamana" */
    double created;   /* unix seconds, 0 when absent */
    uint64_t vectors_size, chunks_size;
} manifest_info;

/* Load and check dir/MANIFEST.json: the format version, dim, count,
 * embedding, the sizes of vectors.bin and chunks.bin, and a known kind.
 * Returns the document (the caller's reference) and fills *info, or NULL
 * with err set (a missing, unparsable or unsupported manifest). */
json_t *manifest_read(const char *dir, manifest_info *info, char *err, size_t errlen);

/* Parse a --label "KEY=VALUE" into the object labels: KEY is [a-z0-9_]+
 * (at most MANIFEST_MAX_LABEL_KEY bytes), VALUE valid UTF-8 of at most
 * MANIFEST_MAX_LABEL_VALUE bytes; at most MANIFEST_MAX_LABELS keys, each
 * once. NZ_OK; NZ_EINVAL or NZ_ELIMIT (err set); NZ_ENOMEM. */
int manifest_label_add(json_t *labels, const char *kv, char *err, size_t errlen);

/* The value of build.labels.KEY in a manifest read back, or NULL. */
const char *manifest_label(const json_t *m, const char *key);

/* A file's size from the manifest's "files" list: NZ_OK, or NZ_ECORRUPT
 * when the file is not listed with a size. */
int manifest_file_size(const json_t *m, const char *name, uint64_t *size);

#endif
