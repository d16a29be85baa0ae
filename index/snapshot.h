/* snapshot.h -- open an index snapshot for reading: mmap, no parsing.
 *
 * snapshot_open() takes either an index root (INDEX_PATH, whose `current`
 * symlink names the live snapshot) or a snapshot directory. It reads the
 * small MANIFEST.json, maps vectors.bin and chunks.bin (and lexical.bin,
 * codes.bin and graph.bin when listed) read-only and checks their headers
 * against the manifest: sizes, magic, version, count, dim.
 * That is all; nothing proportional to the index size is read, so opening
 * takes milliseconds and an index larger than RAM serves from the page cache.
 *
 * snapshot_verify() is the slow, thorough check, of every byte and of what
 * the bytes mean: the manifest's own self_crc32 (manifest.h) read again and
 * equal to what was opened; its snapshot name that of the folder (.tmp-NAME,
 * a download or import not yet published, counts as NAME); each listed
 * file once, its size and CRC32; every file with an "NZI" header agreeing
 * with the manifest's count (and dim: vectors.bin, codes.bin; the degree:
 * graph.bin); graph.bin's entry, degree, build_ef and seed the manifest's;
 * every record offset and every edge in range; every lexical posting
 * (lex_verify). The server runs it before
 * it swaps a new snapshot in; `nz-index verify` runs it on demand; push,
 * pull, export and import run it on what they move.
 *
 * A snapshot stays valid while open even if `current` moves on and the
 * directory is pruned: its mappings keep the unlinked files alive.
 */
#ifndef NZ_SNAPSHOT_H
#define NZ_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "lex_read.h"

/* One chunk's metadata: views into the mapping, not NUL-terminated. */
typedef struct snapshot_chunk {
    int32_t page;
    const char *f[NZI_NFIELDS];
    uint32_t len[NZI_NFIELDS];
} snapshot_chunk;

typedef struct snapshot {
    char *dir;  /* absolute path of the snapshot directory */
    char *name; /* its base name */
    json_t *manifest;
    uint32_t dim;
    uint64_t count;
    const char *provider, *model, *metric; /* owned by manifest */
    double created;                        /* unix seconds */
    const float *vectors;                  /* count x dim */
    const unsigned char *blob;             /* chunk records */
    uint64_t blob_len;
    const uint64_t *offsets; /* count + 1 */
    /* the graph index (kind "vamana"); NULL adj for a flat snapshot */
    const int8_t *codes; /* count x code_stride; each row's scale inside it */
    size_t code_stride, scale_off;
    const uint32_t *adj; /* count x degree */
    uint32_t degree, entry;
    const char *kind;     /* "flat" or "vamana"; owned by manifest */
    const json_t *labels; /* build.labels {KEY: VALUE} or NULL; owned by
                             manifest (manifest_label reads one) */
    /* vectors.bin stays open too: a graph search re-ranks its few rows
     * with pread, not through the map, because the kernel maps a 64 KiB
     * window around every page fault ("fault-around") and a serving
     * process would soon count all of vectors.bin in its RSS. */
    int vec_fd;
    uint64_t vec_off;
    void *vec_map, *chk_map, *cod_map, *grf_map;
    size_t vec_size, chk_size, cod_size, grf_size;
    /* lexical.bin, the BM25 index (lex_read.h); lex_map NULL in a snapshot
     * built before it existed */
    void *lex_map;
    size_t lex_size;
    lex_index lex;
} snapshot;

/* The snapshot directory that `path` stands for: path/current resolved when
 * path is an index root, else path itself. malloc'd absolute path or NULL. */
char *snapshot_resolve(const char *path, char *err, size_t errlen);

snapshot *snapshot_open(const char *path, char *err, size_t errlen);
void snapshot_close(snapshot *s);
/* NZ_OK; NZ_ECORRUPT (a CRC, size, header, name, record or edge is wrong);
 * NZ_EIO (a file cannot be read); NZ_ENOMEM. err set on failure. */
int snapshot_verify(const snapshot *s, char *err, size_t errlen);

/* Decode row's metadata: NZ_OK, or NZ_ECORRUPT when the record is out of
 * bounds. */
int snapshot_chunk_get(const snapshot *s, uint64_t row, snapshot_chunk *out);

/* Ask the CPU for the records of rows[0..n) before reading them one by one
 * (an answer's hits: their offsets, then each record's lines, up to 4 KB),
 * so their cache misses overlap. A hint: no effect on any result. */
void snapshot_chunk_prefetch(const snapshot *s, const uint32_t *rows, size_t n);

static inline const float *snapshot_vector(const snapshot *s, uint64_t row) {
    return s->vectors + row * s->dim;
}

static inline const int8_t *snapshot_code(const snapshot *s, uint64_t row) {
    return s->codes + row * s->code_stride;
}
static inline float snapshot_scale(const snapshot *s, uint64_t row) {
    return nzi_code_scale(snapshot_code(s, row), s->scale_off);
}

/* Copy row's float vector into out (dim floats) with pread; falls back to
 * the map if the read fails. */
void snapshot_read_vector(const snapshot *s, uint64_t row, float *out);

/* CRC32 (zlib) of a whole file, streaming; NZ_EIO on a read error. */
long long snapshot_file_crc(const char *path, uint64_t *size_out);

#endif
