/* delta.h -- what changed since the last run, source by source.
 *
 * nz-pipeline gives nz-extract the sources the catalog knows (--known), so
 * that nz-extract skips what did not change: it writes a docs.jsonl record
 * for each new or changed source, logs "unchanged" for one that did not
 * change and "gone" for a known one that no longer exists (stagelog.h
 * keeps those notes). delta_compute() sets that against the catalog:
 *
 *   a record, uri unknown         added    PUT     (its doc's chunks are new)
 *   a record, uri known           changed  PUT     (old chunks dropped)
 *   an "unchanged" note           unchanged SEEN   (chunks carried over)
 *   a "gone" note                 removed  DELETE  (chunks dropped)
 *   rejected, uri known           kept as it was   (chunks carried over)
 *   known, not seen at all        removed  DELETE  (chunks dropped),
 *                                 or kept as it was with --keep-missing
 *
 * The doc ids to drop from the base snapshot (changed and removed) are
 * written one a line for `nz-index build --drop-docs`.
 */
#ifndef NZ_DELTA_H
#define NZ_DELTA_H

#include <jansson.h>
#include <stddef.h>

#include "catalog.h"
#include "stagelog.h"

typedef struct delta {
    catalog_change *changes; /* strings borrowed from `keep` */
    size_t n;
    long added, changed, unchanged, removed, rejected, kept_missing;
    json_t *keep; /* what the changes point into */
} delta;

/* Write the known sources (catalog_sources' array) as nz-extract --known
 * JSON lines to path. NZ_OK, or NZ_EIO / NZ_ENOMEM with err. */
int delta_write_known(const json_t *known, const char *path, char *err, size_t errlen);

/* Compute the run's changes from docs.jsonl at docs_path, the known
 * sources, and what the stages' logs kept. NZ_OK, or a status with err. */
int delta_compute(delta *d, const char *docs_path, const json_t *known, const stagelog_result *logs,
                  int keep_missing, char *err, size_t errlen);

/* Write the doc ids of changed and removed sources, one a line. */
int delta_write_drops(const delta *d, const json_t *known, const char *path, char *err,
                      size_t errlen);

/* 1 when the run changes nothing in the index (no PUT, no DELETE). */
int delta_is_empty(const delta *d);

void delta_free(delta *d);

#endif
