/* catalog_work.c -- see catalog_work.h. */
#include "catalog_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_impl.h"
#include "status.h"

/* The server's clock, in epoch seconds: leases never trust a worker's. */
#define CATALOG_NOW "extract(epoch from clock_timestamp())"

void catalog_plan_free(catalog_plan *p) {
    free(p->store);
    free(p->base);
    free(p->status);
    free(p->options);
    memset(p, 0, sizeof *p);
}

int catalog_plan_create(catalog *c, long long run_id, const char *store, const char *base,
                        const char *options, char *const *items, size_t n, long batch_size,
                        char *err, size_t errlen) {
    char run[32], now[32], bs[32], nitems[32], nb[32], batch[32], ord[32];
    long long batches = (long long)((n + (size_t)batch_size - 1) / (size_t)batch_size);
    snprintf(run, sizeof run, "%lld", run_id);
    snprintf(bs, sizeof bs, "%ld", batch_size);
    snprintf(nitems, sizeof nitems, "%zu", n);
    snprintf(nb, sizeof nb, "%lld", batches);
    catalog_now(now);
    int rc = catalog_begin_write(c, err, errlen);
    const char *pp[] = {run, now, store, bs, nitems, nb, base, options};
    if (rc == NZ_OK)
        rc = catalog_exec(
            c,
            "INSERT INTO nz_plans (run_id, created, store, batch_size, items, batches, "
            "base, options) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            8, pp, NULL, NULL, err, errlen);
    for (long long b = 0; rc == NZ_OK && b < batches; b++) {
        snprintf(batch, sizeof batch, "%lld", b);
        const char *p[] = {run, batch};
        rc =
            catalog_exec(c, "INSERT INTO nz_batches (run_id, batch, state) VALUES ($1, $2, 'todo')",
                         2, p, NULL, NULL, err, errlen);
    }
    for (size_t i = 0; rc == NZ_OK && i < n; i++) {
        snprintf(batch, sizeof batch, "%zu", i / (size_t)batch_size);
        snprintf(ord, sizeof ord, "%zu", i);
        const char *p[] = {run, batch, ord, items[i]};
        rc = catalog_exec(
            c, "INSERT INTO nz_items (run_id, batch, ord, source) VALUES ($1, $2, $3, $4)", 4, p,
            NULL, NULL, err, errlen);
    }
    const char *pr[] = {run};
    if (rc == NZ_OK)
        rc = catalog_exec(c, "UPDATE nz_runs SET status = 'planned' WHERE id = $1", 1, pr, NULL,
                          NULL, err, errlen);
    return catalog_end(c, rc, err, errlen);
}

static int catalog_plan_row(void *ctx, int ncols, const char *const *vals) {
    catalog_plan *p = ctx;
    if (ncols < 6) return 1;
    p->run_id = atoll(vals[0]);
    p->store = vals[1] ? strdup(vals[1]) : NULL;
    p->base = vals[2] ? strdup(vals[2]) : NULL;
    p->status = vals[3] ? strdup(vals[3]) : NULL;
    p->options = vals[4] ? strdup(vals[4]) : NULL;
    p->batches = vals[5] ? atoll(vals[5]) : 0;
    return 1;
}

int catalog_plan_get(catalog *c, long long run_id, catalog_plan *p, char *err, size_t errlen) {
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *pr[] = {run};
    memset(p, 0, sizeof *p);
    int rc = catalog_exec(
        c,
        run_id > 0 ? "SELECT p.run_id, p.store, p.base, r.status, p.options, p.batches "
                     "FROM nz_plans p JOIN nz_runs r ON r.id = p.run_id WHERE p.run_id = $1"
                   : "SELECT p.run_id, p.store, p.base, r.status, p.options, p.batches "
                     "FROM nz_plans p JOIN nz_runs r ON r.id = p.run_id "
                     "WHERE r.status = 'planned' ORDER BY p.run_id DESC LIMIT 1",
        run_id > 0 ? 1 : 0, pr, catalog_plan_row, p, err, errlen);
    if (rc < 0) return rc;
    if (!p->run_id) {
        if (run_id > 0) snprintf(err, errlen, "run %lld is not a planned run", run_id);
        else snprintf(err, errlen, "no planned run in the catalog: run `nz-pipeline plan` first");
        return NZ_EINVAL;
    }
    if (!p->store || !p->status) {
        catalog_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    return NZ_OK;
}

static int catalog_state_counts(void *ctx, int ncols, const char *const *vals) {
    static const char *const states[] = {"todo", "claimed", "done", "failed"};
    long long *counts = ctx;
    for (int i = 0; ncols >= 2 && vals[0] && vals[1] && i < 4; i++)
        if (!strcmp(vals[0], states[i])) counts[i] = atoll(vals[1]);
    return 0;
}

int catalog_plan_progress(catalog *c, long long run_id, long long counts[4], char *err,
                          size_t errlen) {
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *p[] = {run};
    memset(counts, 0, 4 * sizeof *counts);
    return catalog_exec(c,
                        "SELECT state, count(*) FROM nz_batches WHERE run_id = $1 GROUP BY state",
                        1, p, catalog_state_counts, counts, err, errlen);
}

int catalog_batch_release(catalog *c, long long run_id, long long batch, const char *owner,
                          int max_attempts, char *err, size_t errlen) {
    char run[32], b[32], max[32];
    snprintf(run, sizeof run, "%lld", run_id);
    snprintf(b, sizeof b, "%lld", batch);
    snprintf(max, sizeof max, "%d", max_attempts);
    const char *p[] = {run, b, owner, max};
    return catalog_exec(c,
                        "UPDATE nz_batches SET state = CASE WHEN attempts >= $4::bigint "
                        "THEN 'failed' ELSE 'todo' END, owner = NULL, lease_until = NULL "
                        "WHERE run_id = $1 AND batch = $2 AND owner = $3 AND state = 'claimed'",
                        4, p, NULL, NULL, err, errlen);
}

static int catalog_push_text(void *ctx, int ncols, const char *const *vals) {
    json_t *arr = ctx;
    if (ncols < 1 || !vals[0]) return 0;
    return json_array_append_new(arr, json_string(vals[0])) < 0;
}

int catalog_batch_claim(catalog *c, long long run_id, const char *owner, double lease_s,
                        long long *batch, json_t **items, char *err, size_t errlen) {
    char run[32], lease[32], b[32];
    snprintf(run, sizeof run, "%lld", run_id);
    snprintf(lease, sizeof lease, "%.3f", lease_s);
    const char *p[] = {run, owner, lease};
    *batch = -1;
    *items = NULL;
    int rc = catalog_exec(c,
                          "UPDATE nz_batches SET state = 'claimed', owner = $2, "
                          "lease_until = " CATALOG_NOW " + $3::float8, attempts = attempts + 1 "
                          "WHERE run_id = $1 AND batch = (SELECT batch FROM nz_batches "
                          "WHERE run_id = $1 AND (state = 'todo' OR (state = 'claimed' AND "
                          "lease_until < " CATALOG_NOW ")) ORDER BY batch LIMIT 1 "
                          "FOR UPDATE SKIP LOCKED) RETURNING batch",
                          3, p, catalog_first_long, batch, err, errlen);
    if (rc < 0 || *batch < 0) return rc;
    snprintf(b, sizeof b, "%lld", *batch);
    const char *pi[] = {run, b};
    json_t *arr = json_array();
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    rc =
        catalog_exec(c, "SELECT source FROM nz_items WHERE run_id = $1 AND batch = $2 ORDER BY ord",
                     2, pi, catalog_push_text, arr, err, errlen);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *items = arr;
    return NZ_OK;
}

int catalog_batch_renew(catalog *c, long long run_id, long long batch, const char *owner,
                        double lease_s, char *err, size_t errlen) {
    char run[32], b[32], lease[32];
    long long changed = 0;
    snprintf(run, sizeof run, "%lld", run_id);
    snprintf(b, sizeof b, "%lld", batch);
    snprintf(lease, sizeof lease, "%.3f", lease_s);
    const char *p[] = {run, b, owner, lease};
    int rc = c->be->exec(c->db,
                         "UPDATE nz_batches SET lease_until = " CATALOG_NOW " + $4::float8 "
                         "WHERE run_id = $1 AND batch = $2 AND owner = $3 AND state = 'claimed'",
                         4, p, NULL, NULL, &changed, err, errlen);
    if (rc == NZ_OK && changed != 1) {
        snprintf(err, errlen, "batch %lld: the lease is no longer ours", batch);
        rc = NZ_EBUSY;
    }
    return rc;
}

int catalog_batch_done(catalog *c, long long run_id, long long batch, const char *owner,
                       const char *shard, long long bytes, const catalog_change *ch, size_t n,
                       char *err, size_t errlen) {
    char run[32], b[32], nbytes[32];
    long long changed = 0;
    snprintf(run, sizeof run, "%lld", run_id);
    snprintf(b, sizeof b, "%lld", batch);
    snprintf(nbytes, sizeof nbytes, "%lld", bytes);
    const char *p[] = {run, b, owner, shard, shard ? nbytes : NULL};
    int rc = catalog_begin_write(c, err, errlen);
    if (rc == NZ_OK)
        rc = c->be->exec(c->db,
                         "UPDATE nz_batches SET state = 'done', shard = $4, shard_bytes = $5, "
                         "done_by = $3, owner = NULL, lease_until = NULL "
                         "WHERE run_id = $1 AND batch = $2 AND owner = $3 AND state = 'claimed'",
                         5, p, NULL, NULL, &changed, err, errlen);
    if (rc == NZ_OK && changed != 1) {
        snprintf(err, errlen, "batch %lld: the lease is no longer ours", batch);
        rc = NZ_EBUSY;
    }
    if (rc == NZ_OK) rc = catalog_stage_rows(c, run_id, ch, n, err, errlen);
    return catalog_end(c, rc, err, errlen);
}

json_t *catalog_plan_shards(catalog *c, long long run_id, char *err, size_t errlen) {
    static const char *const names[] = {"batch", "shard", "bytes", NULL};
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *p[] = {run};
    return catalog_select(c,
                          "SELECT batch, shard, shard_bytes FROM nz_batches WHERE run_id = $1 "
                          "AND state = 'done' AND shard IS NOT NULL ORDER BY batch",
                          1, p, names, err, errlen);
}

json_t *catalog_plan_drops(catalog *c, long long run_id, char *err, size_t errlen) {
    char run[32];
    snprintf(run, sizeof run, "%lld", run_id);
    const char *p[] = {run};
    json_t *drops = NULL;
    int rc = catalog_begin_write(c, err, errlen);
    if (rc == NZ_OK)
        rc = catalog_exec(c,
                          "INSERT INTO nz_pending (run_id, op, uri, doc_id) "
                          "SELECT $1, 'delete', s.uri, s.doc_id FROM nz_sources s WHERE NOT EXISTS "
                          "(SELECT 1 FROM nz_pending q WHERE q.run_id = $1 AND q.uri = s.uri) "
                          "AND NOT EXISTS (SELECT 1 FROM nz_rejects j WHERE j.run_id = $1 AND "
                          "j.uri = s.uri)",
                          1, p, NULL, NULL, err, errlen);
    if (rc == NZ_OK && !(drops = json_array())) {
        snprintf(err, errlen, "out of memory");
        rc = NZ_ENOMEM;
    }
    if (rc == NZ_OK)
        rc = catalog_exec(c,
                          "SELECT DISTINCT s.doc_id FROM nz_sources s JOIN nz_pending q ON "
                          "q.uri = s.uri AND q.run_id = $1 WHERE q.op IN ('put', 'delete')",
                          1, p, catalog_push_text, drops, err, errlen);
    rc = catalog_end(c, rc, err, errlen);
    if (rc < 0) {
        json_decref(drops);
        return NULL;
    }
    return drops;
}
