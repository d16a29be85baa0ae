/* snapinfo.h -- what a published snapshot tells the catalog: the run that
 * built it (its run=ID label), the chunk ids of each document (for the
 * sources' rows), and whether the catalog describes the root's `current`
 * (only then may a run carry unchanged sources over from it). Shared by
 * `nz-pipeline run` (run.h) and `nz-pipeline finish` (finish.h).
 */
#ifndef NZ_SNAPINFO_H
#define NZ_SNAPINFO_H

#include <jansson.h>

#include "catalog.h"
#include "snapshot.h"

/* The run id a snapshot was labelled with (run=ID), or -1. */
long long snapinfo_label(const snapshot *s);

/* doc_id -> [chunk_id, ...] over every row (new reference), or NULL when
 * out of memory. */
json_t *snapinfo_chunk_map(const snapshot *s);

/* catalog_chunk_ids_fn over a snapinfo_chunk_map (ctx; NULL: none). */
char *snapinfo_chunk_ids(void *ctx, const char *doc_id);

/* The name of root's current snapshot (malloc'd) when the catalog holds
 * the run that built it, else NULL. */
char *snapinfo_carry_base(catalog *cat, const char *root);

#endif
