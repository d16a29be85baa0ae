/* catalog.h -- the run catalog: every run of nz-pipeline and every input
 * it rejected, in PostgreSQL or in an embedded SQLite file.
 *
 * Where it lives: DATABASE_URL set means PostgreSQL through libpq (the
 * production catalog, shared by every machine that ingests into the same
 * index); unset means an SQLite file, INDEX_PATH/catalog.sqlite, so a
 * laptop or `make demo` needs no server. Both backends run the same
 * schema and the same statements through one small interface
 * (catalog_backend.h): parameters are written $1..$n and bound, never
 * pasted into SQL text; the SQLite backend binds them as ?1..?n.
 *
 * The schema is created and migrated by the program: nz_schema holds the
 * version, and each migration runs once, in a transaction, under a lock
 * (PostgreSQL: a transaction-scoped advisory lock; SQLite: BEGIN
 * IMMEDIATE), so two processes starting at once migrate once.
 *
 * One writer: catalog_lock() takes the writer lock of this catalog
 * (PostgreSQL: a session advisory lock, so a second machine sharing the
 * catalog is refused too; SQLite: the file's own write lock is too short
 * for a whole run, so an flock on INDEX_PATH/.pipeline.lock). The lock
 * dies with its holder, whatever kills it, so a run found `running` by
 * the next holder of the lock is dead: catalog_run_begin() marks it
 * `crashed` before it starts the new run.
 *
 * A run row is written when the run starts and completed when it ends:
 * id, started, ended, status (running, published, unchanged, failed,
 * crashed), the snapshot it published, its JSON summary, host and pid.
 *
 * Errors never contain the database password: libpq's messages do not
 * carry it, and every message is also scrubbed of it before it is shown.
 */
#ifndef NZ_CATALOG_H
#define NZ_CATALOG_H

#include <jansson.h>
#include <stddef.h>

typedef struct catalog catalog;

#define CATALOG_SCHEMA_VERSION 3 /* the schema this program writes */

/* Open (and create or migrate) the catalog for index root `index_root`:
 * PostgreSQL when database_url is non-empty, else SQLite. NULL with err on
 * failure: unreachable, refused, or a schema newer than this program. */
catalog *catalog_open(const char *database_url, const char *index_root, char *err, size_t errlen);
void catalog_close(catalog *c); /* releases the writer lock too */

const char *catalog_kind(const catalog *c); /* "postgresql" or "sqlite" */
int catalog_schema_version(catalog *c);     /* the version the schema is at, or < 0 */

/* Take the writer lock without waiting. NZ_OK; NZ_EBUSY when another run
 * holds it (holder gets "pid 123 on host, run 7 since ..." when known);
 * NZ_EIO/NZ_EUNAVAILABLE with err otherwise. */
int catalog_lock(catalog *c, char *holder, size_t holderlen, char *err, size_t errlen);

/* With the lock held: mark runs left `running` as `crashed` (their holders
 * are gone), then record a new run as `running`. *crashed gets how many
 * were found. NZ_OK or a status with err. */
int catalog_run_begin(catalog *c, long long *run_id, int *crashed, char *err, size_t errlen);

/* Complete a run: status, the snapshot it published (or NULL) and its
 * summary (borrowed). NZ_OK or a status with err. */
int catalog_run_finish(catalog *c, long long run_id, const char *status, const char *snapshot,
                       const json_t *summary, char *err, size_t errlen);

/* Record one rejected input of a run. */
int catalog_reject(catalog *c, long long run_id, const char *stage, const char *uri,
                   const char *reason, char *err, size_t errlen);

/* The newest `last` runs, newest first, as a JSON array of objects
 * {id, started, ended, status, snapshot, host, pid, summary}. NULL with
 * err on failure. */
json_t *catalog_runs(catalog *c, int last, char *err, size_t errlen);

/* The snapshot run `run_id` published (malloc'd), or NULL when it
 * published none, is unknown, or the catalog cannot be read. */
char *catalog_run_snapshot(catalog *c, long long run_id);

/* The rejected inputs of run `run_id` (0: of every run), oldest first:
 * [{run, stage, uri, reason}]. */
json_t *catalog_rejects(catalog *c, long long run_id, char *err, size_t errlen);

/* ---- Sources (schema 2) ----
 *
 * Per source the catalog keeps what the next run needs to tell whether it
 * changed: uri, size, mtime, sha256 of the bytes, a URL's ETag and
 * Last-Modified, its doc_id, the chunk ids it produced, and the runs that
 * first saw, last changed and last saw it. A run does not change these
 * rows directly: it stages its changes (catalog_stage) before its snapshot
 * is published, and they are applied (catalog_apply) in one transaction
 * with the run's completion once it is. A run that dies between the two
 * leaves them staged; the next run applies them if `current` is that
 * run's snapshot, else discards them. So the catalog and the published
 * snapshot never disagree. */

/* What a run learned of one source. NULL strings and negative numbers are
 * unknown. */
typedef struct catalog_source {
    const char *uri, *sha256, *etag, *last_modified, *doc_id;
    long long size, mtime;
} catalog_source;

typedef enum {
    CATALOG_PUT,   /* new or changed: every field replaced, chunk ids taken at apply */
    CATALOG_SEEN,  /* unchanged: last_seen, and mtime when known */
    CATALOG_DELETE /* vanished: the row goes */
} catalog_op;

typedef struct catalog_change {
    catalog_op op;
    catalog_source src;
} catalog_change;

/* Every known source, by uri: [{uri, size, mtime, sha256, etag,
 * last_modified, doc_id, chunk_ids, first_seen, last_changed, last_seen}].
 * changed_since > 0 keeps those changed by a later run. NULL with err. */
json_t *catalog_sources(catalog *c, long long changed_since, char *err, size_t errlen);

/* Stage a run's changes, in one transaction. NZ_OK or a status with err. */
int catalog_stage(catalog *c, long long run_id, const catalog_change *ch, size_t n, char *err,
                  size_t errlen);

/* The chunk ids the published snapshot holds for doc_id, as the text of a
 * JSON array (malloc'd; "[]" for none), or NULL when out of memory. */
typedef char *(*catalog_chunk_ids_fn)(void *ctx, const char *doc_id);

/* The run's snapshot is published: in one transaction, apply its staged
 * changes (PUT rows get their chunk ids from fn), drop them from staging,
 * and complete the run as catalog_run_finish does. */
int catalog_apply(catalog *c, long long run_id, catalog_chunk_ids_fn fn, void *ctx,
                  const char *status, const char *snapshot, const json_t *summary, char *err,
                  size_t errlen);

/* The run published nothing: drop its staged changes. */
int catalog_discard(catalog *c, long long run_id, char *err, size_t errlen);

/* Runs that left staged changes behind (crashed), oldest first. *ids is
 * malloc'd. NZ_OK or a status with err. */
int catalog_staged_runs(catalog *c, long long **ids, size_t *n, char *err, size_t errlen);

#endif
