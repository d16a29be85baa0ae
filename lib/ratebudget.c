/* ratebudget.c -- see ratebudget.h. */
#include "ratebudget.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

struct ratebudget {
    PGconn *conn;
    char *conninfo, *name;
    double rpm, tpm;
};

/* Refill both buckets ($2 requests, $3 tokens a second: 0 = no limit) and
 * take one request and $4 tokens when both are there; `granted` says
 * whether this statement took. The refill uses the row's latest version
 * (the row lock), so concurrent takers never see a stale balance. */
#define RB_NOW "extract(epoch from clock_timestamp())"
#define RB_ELAPSED "GREATEST(0, " RB_NOW " - updated)"
#define RB_REQ "LEAST(1, req + " RB_ELAPSED " * $2::float8)"
#define RB_TOK "LEAST(GREATEST($3::float8, $4::float8), tok + " RB_ELAPSED " * $3::float8)"
#define RB_OK \
    "(($2::float8 = 0 OR " RB_REQ " >= 1) AND ($3::float8 = 0 OR " RB_TOK " >= $4::float8))"
static const char rb_take_sql[] =
    "UPDATE nz_ratebudget SET "
    "req = " RB_REQ " - CASE WHEN " RB_OK " THEN 1 ELSE 0 END, "
    "tok = " RB_TOK " - CASE WHEN " RB_OK " THEN $4::float8 ELSE 0 END, "
    "granted = CASE WHEN " RB_OK " THEN 1 ELSE 0 END, "
    "updated = GREATEST(updated, " RB_NOW ") "
    "WHERE name = $1 RETURNING granted, req, tok";

static int rb_connect(ratebudget *b, char *err, size_t errlen) {
    if (b->conn && PQstatus(b->conn) == CONNECTION_OK) return NZ_OK;
    if (b->conn) PQfinish(b->conn);
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "nz-ratebudget", b->conninfo, NULL};
    b->conn = PQconnectdbParams(keys, vals, 1);
    if (b->conn && PQstatus(b->conn) == CONNECTION_OK) {
        const char *p[] = {b->name};
        PGresult *r = PQexecParams(b->conn,
                                   "INSERT INTO nz_ratebudget (name, req, tok, updated) "
                                   "VALUES ($1, 1, 1e15, " RB_NOW ") ON CONFLICT (name) DO NOTHING",
                                   1, NULL, p, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok) return NZ_OK;
        snprintf(err, errlen, "rate budget: the catalog has no nz_ratebudget table (schema 3)");
        return NZ_EIO;
    }
    /* libpq's connection messages never quote the password */
    snprintf(err, errlen, "rate budget: cannot connect to the catalog database: %s",
             b->conn ? PQerrorMessage(b->conn) : "out of memory");
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n') err[--n] = '\0';
    return NZ_EUNAVAILABLE;
}

ratebudget *ratebudget_open(const char *conninfo, const char *name, double rpm, double tpm,
                            char *err, size_t errlen) {
    ratebudget *b = calloc(1, sizeof *b);
    if (!b || !(b->conninfo = strdup(conninfo)) || !(b->name = strdup(name))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    b->rpm = rpm;
    b->tpm = tpm;
    if (rb_connect(b, err, errlen) < 0) goto fail;
    return b;
fail:
    ratebudget_close(b);
    return NULL;
}

int ratebudget_take(ratebudget *b, long tokens, double *wait, char *err, size_t errlen) {
    *wait = 0;
    int rc = rb_connect(b, err, errlen);
    if (rc < 0) return rc;
    char rps[32], tps[32], n[32];
    snprintf(rps, sizeof rps, "%.9g", b->rpm / 60.0);
    snprintf(tps, sizeof tps, "%.9g", b->tpm / 60.0);
    snprintf(n, sizeof n, "%ld", tokens > 0 ? tokens : 0);
    const char *p[] = {b->name, rps, tps, n};
    PGresult *r = PQexecParams(b->conn, rb_take_sql, 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "rate budget: %s",
                 PQntuples(r) == 0 && PQresultStatus(r) == PGRES_TUPLES_OK
                     ? "the row is gone"
                     : PQresultErrorMessage(r));
        size_t len = strlen(err);
        while (len && err[len - 1] == '\n') err[--len] = '\0';
        rc = PQstatus(b->conn) == CONNECTION_OK ? NZ_EIO : NZ_EUNAVAILABLE;
        PQclear(r);
        return rc;
    }
    if (atoi(PQgetvalue(r, 0, 0)) != 1) {
        double req = atof(PQgetvalue(r, 0, 1)), tok = atof(PQgetvalue(r, 0, 2));
        double w = 0.001;
        if (b->rpm > 0 && req < 1 && (1 - req) * 60.0 / b->rpm > w) w = (1 - req) * 60.0 / b->rpm;
        if (b->tpm > 0 && tok < (double)tokens && ((double)tokens - tok) * 60.0 / b->tpm > w)
            w = ((double)tokens - tok) * 60.0 / b->tpm;
        *wait = w;
    }
    PQclear(r);
    return NZ_OK;
}

void ratebudget_close(ratebudget *b) {
    if (!b) return;
    if (b->conn) PQfinish(b->conn);
    free(b->conninfo);
    free(b->name);
    free(b);
}
