/* catalog_sqlite.c -- the catalog in an embedded SQLite file.
 *
 * For machines without DATABASE_URL: the same schema and statements as
 * PostgreSQL. Statements are written with $1..$n; SQLite reads `$1` as a
 * parameter *named* "$1", so they are prepared with `?1`..`?n` instead,
 * which bind by number. WAL and synchronous=FULL: a committed run row
 * survives a power cut. SQLite's own write lock lasts a transaction, not
 * a run, so the writer lock is an flock on a file beside the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "buf.h"
#include "catalog_backend.h"
#include "status.h"

#define CATALOG_SQLITE_BUSY_MS 10000

typedef struct catalog_sqlite {
    sqlite3 *db;
    char *lock_path;
    int lock_fd;
} catalog_sqlite;

static void catalog_sqlite_close(void *v) {
    catalog_sqlite *c = v;
    if (!c) return;
    if (c->db) sqlite3_close_v2(c->db);
    if (c->lock_fd >= 0) close(c->lock_fd);
    free(c->lock_path);
    free(c);
}

static int catalog_sqlite_exec(void *v, const char *sql, int nparams, const char *const *params,
                               catalog_row_fn fn, void *ctx, long long *changed, char *err,
                               size_t errlen) {
    catalog_sqlite *c = v;
    sqlite3_stmt *st = NULL;
    buf q = BUF_INIT;
    int rc = NZ_EIO;
    if (buf_adds(&q, sql) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    for (size_t i = 0; i < q.len; i++)
        if (q.s[i] == '$') q.s[i] = '?';
    if (sqlite3_prepare_v2(c->db, q.s, (int)q.len, &st, NULL) != SQLITE_OK) goto fail;
    for (int i = 0; i < nparams; i++) {
        int brc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC)
                            : sqlite3_bind_null(st, i + 1);
        if (brc != SQLITE_OK) goto fail;
    }
    const char *vals[64];
    int step, stopped = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int cols = sqlite3_column_count(st);
        if (cols > 64) cols = 64;
        for (int k = 0; k < cols; k++) vals[k] = (const char *)sqlite3_column_text(st, k);
        if (!stopped && fn && fn(ctx, cols, vals)) stopped = 1;
    }
    if (step != SQLITE_DONE) goto fail;
    if (changed) *changed = sqlite3_changes(c->db);
    rc = NZ_OK;
    goto out;
fail:
    snprintf(err, errlen, "catalog database: %s", sqlite3_errmsg(c->db));
out:
    sqlite3_finalize(st);
    buf_free(&q);
    return rc;
}

void *catalog_sqlite_open(const char *path, const char *lock_path, char *err, size_t errlen) {
    catalog_sqlite *c = calloc(1, sizeof *c);
    if (!c || !(c->lock_path = strdup(lock_path))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->lock_fd = -1;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the catalog %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, CATALOG_SQLITE_BUSY_MS);
    static const char *const pragmas[] = {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                                          "PRAGMA foreign_keys=ON"};
    for (size_t i = 0; i < sizeof pragmas / sizeof *pragmas; i++) {
        char e2[512];
        if (catalog_sqlite_exec(c, pragmas[i], 0, NULL, NULL, NULL, NULL, e2, sizeof e2) < 0) {
            snprintf(err, errlen, "cannot open the catalog %s: %s", path, e2);
            goto fail;
        }
    }
    return c;
fail:
    catalog_sqlite_close(c);
    return NULL;
}

static int catalog_sqlite_try_lock(void *v, char *err, size_t errlen) {
    catalog_sqlite *c = v;
    if (c->lock_fd < 0) c->lock_fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", c->lock_path, strerror(errno));
        return NZ_EIO;
    }
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0) return NZ_OK;
    if (errno == EWOULDBLOCK) return NZ_EBUSY;
    snprintf(err, errlen, "cannot lock %s: %s", c->lock_path, strerror(errno));
    return NZ_EIO;
}

const catalog_backend catalog_sqlite_backend = {
    .kind = "sqlite",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .serialize_sql = NULL,
    .exec = catalog_sqlite_exec,
    .try_lock = catalog_sqlite_try_lock,
    .close = catalog_sqlite_close,
};
