/* catalog_pg.c -- the catalog in PostgreSQL, through libpq.
 *
 * One connection for the run's life: the writer lock is a session
 * advisory lock, so it lasts exactly as long as the connection, and the
 * server drops it when the holder dies. Statements go through
 * PQexecParams with text parameters; nothing is pasted into SQL.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_backend.h"
#include "status.h"

/* The advisory lock of the catalog's one writer ("NZPI"). */
#define CATALOG_PG_LOCK_KEY "1314541641"

typedef struct catalog_pg {
    PGconn *conn;
    char *password; /* scrubbed from every message; NULL when none */
} catalog_pg;

/* Copy msg into err with every occurrence of the password replaced. */
static void catalog_pg_error(const catalog_pg *pg, const char *what, const char *msg, char *err,
                             size_t errlen) {
    char clean[1024];
    size_t o = 0, plen = pg->password ? strlen(pg->password) : 0;
    for (const char *p = msg; *p && o + 4 < sizeof clean;) {
        if (plen && strncmp(p, pg->password, plen) == 0) {
            memcpy(clean + o, "***", 3);
            o += 3;
            p += plen;
        } else {
            clean[o++] = *p++;
        }
    }
    while (o && (clean[o - 1] == '\n' || clean[o - 1] == ' ')) o--;
    clean[o] = '\0';
    snprintf(err, errlen, "%s: %s", what, clean);
}

static void catalog_pg_close(void *db) {
    catalog_pg *pg = db;
    if (!pg) return;
    /* Release the writer lock now: the server would only notice the
     * closed connection a moment later, and refuse the next run meanwhile. */
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
        PQclear(PQexec(pg->conn, "SELECT pg_advisory_unlock_all()"));
    if (pg->conn) PQfinish(pg->conn);
    if (pg->password) {
        memset(pg->password, 0, strlen(pg->password));
        free(pg->password);
    }
    free(pg);
}

static void catalog_pg_quiet(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

void *catalog_pg_open(const char *conninfo, char *err, size_t errlen) {
    catalog_pg *pg = calloc(1, sizeof *pg);
    if (!pg) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Parse first: libpq's own parse errors may quote the string. */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        PQfreemem(perr);
        snprintf(err, errlen, "DATABASE_URL is not a valid PostgreSQL connection string");
        goto fail;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val &&
            !(pg->password = strdup(o->val))) {
            PQconninfoFree(opts);
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    PQconninfoFree(opts);
    /* Defaults first: what the string names itself wins (expand_dbname). */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "nz-pipeline", conninfo, NULL};
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!pg->conn) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        catalog_pg_error(pg, "cannot connect to the catalog database", PQerrorMessage(pg->conn),
                         err, errlen);
        goto fail;
    }
    PQsetNoticeProcessor(pg->conn, catalog_pg_quiet, NULL); /* "relation exists, skipping" */
    return pg;
fail:
    catalog_pg_close(pg);
    return NULL;
}

static int catalog_pg_exec(void *db, const char *sql, int nparams, const char *const *params,
                           catalog_row_fn fn, void *ctx, long long *changed, char *err,
                           size_t errlen) {
    catalog_pg *pg = db;
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = NZ_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        catalog_pg_error(pg, "catalog database",
                         res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn), err, errlen);
        rc = PQstatus(pg->conn) == CONNECTION_OK ? NZ_EIO : NZ_EUNAVAILABLE;
        goto out;
    }
    if (changed) *changed = atoll(PQcmdTuples(res));
    int rows = PQntuples(res), cols = PQnfields(res);
    const char *vals[64];
    if (cols > 64) cols = 64;
    for (int r = 0; fn && r < rows; r++) {
        for (int k = 0; k < cols; k++)
            vals[k] = PQgetisnull(res, r, k) ? NULL : PQgetvalue(res, r, k);
        if (fn(ctx, cols, vals)) break;
    }
out:
    PQclear(res);
    return rc;
}

static int catalog_pg_value_is_true(void *ctx, int ncols, const char *const *vals) {
    *(int *)ctx = ncols > 0 && vals[0] && strcmp(vals[0], "t") == 0;
    return 1;
}

static int catalog_pg_try_lock(void *db, char *err, size_t errlen) {
    int got = 0;
    int rc = catalog_pg_exec(db, "SELECT pg_try_advisory_lock(" CATALOG_PG_LOCK_KEY ")", 0, NULL,
                             catalog_pg_value_is_true, &got, NULL, err, errlen);
    if (rc < 0) return rc;
    return got ? NZ_OK : NZ_EBUSY;
}

const catalog_backend catalog_pg_backend = {
    .kind = "postgresql",
    .begin_write_sql = "BEGIN",
    .serialize_sql = "SELECT pg_advisory_xact_lock(" CATALOG_PG_LOCK_KEY "1)",
    .exec = catalog_pg_exec,
    .try_lock = catalog_pg_try_lock,
    .close = catalog_pg_close,
};
