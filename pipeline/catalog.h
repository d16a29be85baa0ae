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

/* The rejected inputs of run `run_id` (0: of every run), oldest first:
 * [{run, stage, uri, reason}]. */
json_t *catalog_rejects(catalog *c, long long run_id, char *err, size_t errlen);

#endif
