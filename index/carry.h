/* carry.h -- rows carried over from a base snapshot into a new build.
 *
 * An incremental build (`nz-index build --base SNAPSHOT`) streams only the
 * changed documents' rows through the embedder; every other row comes from
 * the base snapshot as it is. The steps, in build.c's order:
 *
 *   carry_open    open the base and verify every CRC (snapshot_verify)
 *                 before a single row is trusted;
 *   (the new input goes into the builder, its doc_ids into a docset)
 *   carry_check   the new input's provider, model and dim are the base's:
 *                 an index answers in one vector space;
 *   carry_rows    append each base row, in base order, unless its doc_id
 *                 is in `drop` (--drop-docs) or in `replaced` (the new
 *                 input has that document: its new version replaces the
 *                 old one wholly), noting the row each base row became
 *                 (the map graph_update renumbers the base graph with).
 *
 * A carried row is the original, byte for byte: its float32 vector, read
 * from vectors.bin (already normalised, so builder_add_normalised writes
 * it as it is), and its chunks.bin record (page and the seven strings,
 * with their lengths). vectors.bin is read sequentially in blocks of about
 * 1 MiB with pread, so the vectors are never all in memory, and the
 * result depends only on the base, the lists and the input: deterministic.
 */
#ifndef NZ_CARRY_H
#define NZ_CARRY_H

#include <signal.h>
#include <stdint.h>

#include "builder.h"
#include "docset.h"
#include "progress.h"
#include "snapshot.h"

typedef struct carry_stats {
    uint64_t carried; /* base rows appended */
    uint64_t dropped; /* base rows left out: dropped or replaced */
} carry_stats;

/* Open the snapshot at path (a snapshot directory, or an index root whose
 * `current` is used) and verify it. NZ_OK with *out set; with err set:
 * NZ_EIO (no snapshot there, or a file cannot be read), NZ_ECORRUPT (a
 * CRC, size or record is wrong), NZ_ENOMEM. */
int carry_open(const char *path, snapshot **out, char *err, size_t errlen);

/* The new input's embedding against the base's: provider and model (when
 * the input named one; "" or NULL: no input records) and dim (0: no rows).
 * NZ_OK, or NZ_EDIM with err set (saying to rebuild without --base). */
int carry_check(const snapshot *base, const char *provider, const char *model, uint32_t dim,
                char *err, size_t errlen);

/* Append the base's rows that are in neither set (either may be NULL),
 * checking *stop between blocks and counting rows in prog (either may be
 * NULL). With map (base->count entries, may be NULL), map[b] is the new
 * row that base row b became, or GRAPH_EMPTY when it was left out.
 * NZ_OK with *st filled; NZ_ESTOPPED; with err set: NZ_EIO (a read
 * or a write failed), NZ_ECORRUPT (a record out of bounds), NZ_EINVAL or
 * NZ_ENOMEM from the builder. */
int carry_rows(index_builder *b, const snapshot *base, const docset *drop, const docset *replaced,
               uint32_t *map, volatile sig_atomic_t *stop, progress *prog, carry_stats *st,
               char *err, size_t errlen);

#endif
