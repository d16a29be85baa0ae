/* ratebudget.h -- one request/token budget shared by every process that
 * sends to the same provider, kept in PostgreSQL.
 *
 * An embedding provider's limits are per organisation, not per machine:
 * N machines each pacing themselves to --rpm would send N times too much.
 * So the budget is a token bucket in one row of the catalog's
 * nz_ratebudget table (name, req, tok, updated, granted), and taking from
 * it is ONE statement, an UPDATE ... RETURNING on that row: it refills
 * both buckets by the time since `updated` (the server's clock), takes
 * one request and the batch's tokens only when both are there, records
 * in `granted` whether it did, and returns the row. The row lock makes
 * concurrent takers queue, so the buckets are never overdrawn: N workers
 * together pace exactly as one client with --rpm/--tpm does (requests
 * evenly spaced, a bucket of at most one request; tokens refilled at
 * tpm/60 a second, up to one second's worth or one batch's).
 *
 * The connection is its own (libpq), opened from DATABASE_URL; errors
 * never carry the password.
 *
 * ratebudget_open: the budget `name`, NULL with err (NZ_EUNAVAILABLE when
 * the database cannot be reached). ratebudget_take: NZ_OK with *wait = 0
 * (taken) or the seconds to wait before asking again; NZ_EUNAVAILABLE or
 * NZ_EIO with err when the database failed (the caller waits and asks
 * again: it reconnects).
 */
#ifndef NZ_RATEBUDGET_H
#define NZ_RATEBUDGET_H

#include <stddef.h>

typedef struct ratebudget ratebudget;

ratebudget *ratebudget_open(const char *conninfo, const char *name, double rpm, double tpm,
                            char *err, size_t errlen);
int ratebudget_take(ratebudget *b, long tokens, double *wait, char *err, size_t errlen);
void ratebudget_close(ratebudget *b);

#endif
