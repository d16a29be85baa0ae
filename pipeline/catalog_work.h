/* catalog_work.h -- the catalog's work queue for distributed runs
 * (schema 3): a plan's sources cut into batches that any number of
 * `nz-pipeline work` processes, on any number of machines, claim under a
 * lease. PostgreSQL only: the claim is SELECT ... FOR UPDATE SKIP LOCKED
 * and the clock is the server's, so machines' clocks never matter.
 *
 *   nz_plans    run_id (an nz_runs row with status `planned`), the object
 *               store its shards go to, batch size, counts, the snapshot
 *               it builds on (NULL: a full rebuild), its options (JSON)
 *   nz_batches  run_id, batch, state (todo, claimed, done, failed), owner,
 *               lease_until (server epoch seconds), attempts, shard key
 *               and bytes, done_by
 *   nz_items    run_id, batch, ord, source (as nz-extract takes it)
 *
 * A batch is claimable when `todo`, or `claimed` with its lease expired
 * (its worker died or lost the database). Claiming bumps attempts and
 * sets owner and lease in one UPDATE over a row locked with SKIP LOCKED,
 * so two workers never claim the same batch at once. Renewal and done are
 * guarded by owner = me AND state = 'claimed': a worker whose lease was
 * taken over can neither renew it nor mark the batch done, so each batch
 * is done exactly once, with exactly one shard key. Done also stages the
 * batch's source changes (catalog_stage) in the same transaction.
 *
 * Every function returns NZ_OK, or with err: NZ_EUNAVAILABLE (the
 * database is unreachable: retry after reconnecting), NZ_EIO, NZ_ENOMEM;
 * and the ones that say so NZ_EBUSY (the lease is not ours any more).
 */
#ifndef NZ_CATALOG_WORK_H
#define NZ_CATALOG_WORK_H

#include <jansson.h>
#include <stddef.h>

#include "catalog.h"

typedef struct catalog_plan {
    long long run_id;
    char *store;   /* s3://BUCKET/PREFIX */
    char *base;    /* the snapshot it builds on, or NULL: full */
    char *status;  /* the run's: planned, published, ... */
    char *options; /* JSON text: max_tokens, provider, model, dim, rpm, tpm */
    long long batches;
} catalog_plan;

void catalog_plan_free(catalog_plan *p);

/* With the writer lock held and run_id begun: record the plan, its items
 * (`n` sources, in order, `batch_size` a batch) and mark the run planned.
 * One transaction. */
int catalog_plan_create(catalog *c, long long run_id, const char *store, const char *base,
                        const char *options, char *const *items, size_t n, long batch_size,
                        char *err, size_t errlen);

/* The plan of run_id, or (run_id 0) the newest one still planned. NZ_OK;
 * NZ_EINVAL (err) when there is none. */
int catalog_plan_get(catalog *c, long long run_id, catalog_plan *p, char *err, size_t errlen);

/* Counts of the plan's batches by state: todo, claimed, done, failed. */
int catalog_plan_progress(catalog *c, long long run_id, long long counts[4], char *err,
                          size_t errlen);

/* Our batch failed: hand it back (`todo`) for another attempt, or mark it
 * `failed` once it has been claimed max_attempts times. NZ_OK (also when
 * the lease was no longer ours: nothing written). */
int catalog_batch_release(catalog *c, long long run_id, long long batch, const char *owner,
                          int max_attempts, char *err, size_t errlen);

/* Claim one batch for `owner` for lease_s seconds. NZ_OK with *batch set
 * (-1: nothing claimable now) and *items its sources (a new JSON array of
 * strings, NULL when none). */
int catalog_batch_claim(catalog *c, long long run_id, const char *owner, double lease_s,
                        long long *batch, json_t **items, char *err, size_t errlen);

/* Extend our lease. NZ_OK; NZ_EBUSY when it is no longer ours. */
int catalog_batch_renew(catalog *c, long long run_id, long long batch, const char *owner,
                        double lease_s, char *err, size_t errlen);

/* In one transaction: mark the batch done with its shard (key NULL: the
 * batch had nothing to embed) and stage its changes. NZ_EBUSY (nothing
 * written) when the lease is no longer ours. */
int catalog_batch_done(catalog *c, long long run_id, long long batch, const char *owner,
                       const char *shard, long long bytes, const catalog_change *ch, size_t n,
                       char *err, size_t errlen);

/* The shards of the plan, in batch order: [{batch, shard, bytes}]. */
json_t *catalog_plan_shards(catalog *c, long long run_id, char *err, size_t errlen);

/* At finish: stage a DELETE for every known source no batch of the run saw
 * nor rejected (it vanished), then return the doc ids whose rows the base
 * must not carry (changed or removed), as a JSON array of strings. */
json_t *catalog_plan_drops(catalog *c, long long run_id, char *err, size_t errlen);

#endif
