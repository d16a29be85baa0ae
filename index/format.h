/* format.h -- the on-disk layout of an index snapshot.
 *
 * A snapshot is a directory of immutable files laid out for mmap:
 *
 *   MANIFEST.json   format version, dim, metric, count, embedding provider
 *                   and model, build parameters, each file's size and CRC32
 *   vectors.bin     header | float32 rows, count x dim, L2-normalised
 *   chunks.bin      header | records blob | u64 offsets[count + 1]
 *   codes.bin       header | rows of stride bytes: int8 code[dim], then
 *                   its float32 scale at nzi_code_scale_off(dim), padded
 *                   to a 64-byte stride (kernels.h). The scale sits in
 *                   the row, not a side table: a walk touching a row then
 *                   pays one cache miss and one TLB miss for both.
 *   graph.bin       header | graph_meta (64 bytes) | u32 adjacency,
 *                   count x degree, GRAPH_EMPTY-padded (below; graph.h)
 *
 * codes.bin and graph.bin exist when MANIFEST.json's index.kind is
 * "vamana"; a "flat" snapshot (format 1's only kind) has just the first two
 * and is searched by exact scan.
 *
 * Every binary file starts with the same 64-byte header: an 8-byte magic
 * naming the file kind, the format version, and the file offsets of its
 * sections. Sections start on 64-byte boundaries (cache lines, and the
 * alignment AVX-512 loads like). Integers and floats are little-endian; the
 * build refuses big-endian hosts rather than writing a different format.
 *
 * A chunks.bin record is: i32 page, then seven strings, each u32 length and
 * bytes (no NUL): chunk_id, doc_id, uri, title, heading, lang, text. The
 * offsets table is written after the blob so the build can stream; readers
 * find it through the header. Readers bounds-check every offset and length
 * they follow, so a corrupt file gives an error, never a wild read.
 */
#ifndef NZ_FORMAT_H
#define NZ_FORMAT_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nuzantara index files are little-endian; big-endian hosts are not supported"
#endif

#define NZI_FORMAT_VERSION 1
#define NZI_ALIGN 64
#define NZI_MAGIC_VECTORS "NZIVEC01"
#define NZI_MAGIC_CHUNKS "NZICHK01"
#define NZI_MAGIC_CODES "NZICOD01"
#define NZI_MAGIC_GRAPH "NZIGRF01"
#define NZI_MANIFEST "MANIFEST.json"
#define NZI_VECTORS "vectors.bin"
#define NZI_CHUNKS "chunks.bin"
#define NZI_CODES "codes.bin"
#define NZI_GRAPH "graph.bin"
#define NZI_CURRENT "current"
#define NZI_SNAP_PREFIX "snap-"
#define NZI_TMP_PREFIX ".tmp-"
#define NZI_LOCK ".lock"

/* Fields of a chunk record, in stored order. */
enum {
    NZI_F_CHUNK_ID,
    NZI_F_DOC_ID,
    NZI_F_URI,
    NZI_F_TITLE,
    NZI_F_HEADING,
    NZI_F_LANG,
    NZI_F_TEXT,
    NZI_NFIELDS
};

typedef struct nzi_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size; /* 64 */
    uint64_t count;       /* rows */
    uint32_t dim;         /* floats per row (vectors.bin), 0 otherwise */
    uint32_t flags;
    uint64_t data_off; /* first section: rows, or the records blob */
    uint64_t data_len;
    uint64_t table_off; /* chunks.bin: the offsets table; 0 otherwise */
    uint64_t file_size;
} nzi_header;

_Static_assert(sizeof(nzi_header) == 64, "nzi_header must be 64 bytes");

#define NZI_FLAG_NORMALISED 1u

/* graph.bin: the adjacency slot value after a node's last edge, and the
 * most slots per node a reader accepts. */
#define GRAPH_EMPTY UINT32_MAX
#define GRAPH_MAX_DEGREE 256

/* graph.bin's first section (header.table_off points at it). */
typedef struct nzi_graph_meta {
    uint32_t entry;  /* the medoid: where every search starts */
    uint32_t degree; /* adjacency slots per row */
    uint32_t build_ef;
    float alpha;
    uint64_t seed;
    char reserved[40];
} nzi_graph_meta;

_Static_assert(sizeof(nzi_graph_meta) == 64, "nzi_graph_meta must be 64 bytes");

static inline uint64_t nzi_align_up(uint64_t x) {
    return (x + NZI_ALIGN - 1) & ~(uint64_t)(NZI_ALIGN - 1);
}

/* codes.bin rows: where the scale sits, and the row stride */
static inline uint64_t nzi_code_scale_off(uint64_t dim) { return (dim + 3) & ~(uint64_t)3; }
static inline uint64_t nzi_code_stride(uint64_t dim) {
    return nzi_align_up(nzi_code_scale_off(dim) + 4);
}
/* The scale of the codes.bin row at `row` (a possibly unaligned read) */
static inline float nzi_code_scale(const int8_t *row, uint64_t scale_off) {
    float f;
    memcpy(&f, row + scale_off, sizeof f);
    return f;
}

#endif
