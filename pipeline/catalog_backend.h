/* catalog_backend.h -- what catalog.c needs of a database, and the two
 * databases that provide it (catalog_pg.c, catalog_sqlite.c).
 *
 * A backend runs one SQL statement at a time with text parameters written
 * $1..$n, hands each result row to a callback as strings (NULL for SQL
 * NULL), and takes the catalog's writer lock. Everything else -- schema,
 * migrations, the statements themselves -- is catalog.c's, written once.
 */
#ifndef NZ_CATALOG_BACKEND_H
#define NZ_CATALOG_BACKEND_H

#include <stddef.h>

/* One result row; return non-zero to stop reading rows. */
typedef int (*catalog_row_fn)(void *ctx, int ncols, const char *const *vals);

typedef struct catalog_backend {
    const char *kind; /* "postgresql", "sqlite" */
    /* Start a transaction that serialises writers: a second process that
     * starts one waits until the first commits. serialize_sql (or NULL)
     * runs right after begin_write_sql. */
    const char *begin_write_sql;
    const char *serialize_sql;
    /* Run one statement. fn may be NULL. *changed (may be NULL) gets the
     * rows an INSERT/UPDATE/DELETE touched. NZ_OK, or NZ_EUNAVAILABLE /
     * NZ_EIO with err. */
    int (*exec)(void *db, const char *sql, int nparams, const char *const *params,
                catalog_row_fn fn, void *ctx, long long *changed, char *err, size_t errlen);
    /* Take the writer lock without waiting: NZ_OK, NZ_EBUSY, or another
     * status with err. It is released by close, or by the holder's death. */
    int (*try_lock)(void *db, char *err, size_t errlen);
    void (*close)(void *db);
} catalog_backend;

extern const catalog_backend catalog_pg_backend;
extern const catalog_backend catalog_sqlite_backend;

/* Connect to PostgreSQL (a URL or key=value string; connect_timeout 5 s
 * unless it names one). NULL with err, which never holds the password. */
void *catalog_pg_open(const char *conninfo, char *err, size_t errlen);

/* Open or create the SQLite file `path`; the writer lock is an flock on
 * `lock_path`. NULL with err. */
void *catalog_sqlite_open(const char *path, const char *lock_path, char *err, size_t errlen);

#endif
