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
 * The manifest protects itself: its last key, "self_crc32", is the CRC32
 * (zlib, IEEE) of every byte of the file before that key, and the file
 * must end with exactly `"self_crc32": N\n}\n`. The files' CRC32s cover
 * every other byte of the snapshot, so one flipped byte anywhere fails the
 * reader. A manifest without the key (written before it existed, or with
 * the key itself damaged: the two look alike) is refused, never trusted.
 * The text stays plain JSON: `jq .self_crc32 MANIFEST.json` reads it.
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
#define MANIFEST_SELF_KEY "self_crc32"
/* The manifest's "format_version": 2 is sealed by self_crc32 and must be;
 * 1 is a manifest from before the seal, read with its bytes unchecked (so
 * an upgraded server still serves, and an incremental build still extends,
 * the snapshot the previous release wrote) and flagged in manifest_info.
 * One flipped byte cannot pass as the older form: a flip in the seal's key
 * leaves format_version 2, which requires the seal, and a flip of the
 * version digit leaves the seal, whose CRC then fails. */
#define MANIFEST_FORMAT_VERSION 2
#define MANIFEST_UNSEALED_VERSION 1
#define MANIFEST_MAX_BYTES (16u << 20) /* the most a reader loads */

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

/* Write the object m as dir/MANIFEST.json, sealed with its self_crc32
 * (m must not hold that key), atomically. NZ_OK, NZ_ENOMEM or NZ_EIO
 * (errno), with err set on failure. */
int manifest_save(const char *dir, const json_t *m, char *err, size_t errlen);

/* manifest_pack, then manifest_save: write dir/MANIFEST.json atomically. NZ_OK, NZ_ENOMEM or NZ_EIO (errno),
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
    int unsealed; /* 1: format_version 1, from before self_crc32 (its bytes unchecked) */
} manifest_info;

/* Check a manifest's text against its self_crc32 (above): NZ_OK, or
 * NZ_ECORRUPT with err set (the key missing, or the CRC32 not the bytes'). */
int manifest_check_seal(const char *text, size_t len, char *err, size_t errlen);

/* Load and check dir/MANIFEST.json: its self_crc32 (or, without the key,
 * format_version 1: MANIFEST_UNSEALED_VERSION above), the format version,
 * dim, count, a non-empty snapshot name, embedding provider and model, the
 * sizes of vectors.bin and chunks.bin, a known kind, and a vamana index's
 * entry node among the rows. Returns the document (the caller's reference)
 * and fills *info, or NULL with err set (a missing, damaged, unparsable or
 * unsupported manifest). */
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
