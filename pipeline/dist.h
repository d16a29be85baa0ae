/* dist.h -- distributed ingestion: `nz-pipeline plan`, `work`, `finish`.
 *
 * One run, many machines, no coordinator of our own: PostgreSQL (the
 * catalog, DATABASE_URL) holds the work queue (catalog_work.h) and the
 * shared rate budget (lib/ratebudget.h); S3-compatible object storage
 * holds each batch's embedded records as one immutable shard and, at the
 * end, the snapshot (index/store.h).
 *
 *   plan    (plan.c)   expand the sources (files, directories, --from
 *                      lists, URLs, sitemaps) and record them as work
 *                      items cut into batches of --batch-size; the run is
 *                      `planned`. It notes the snapshot it builds on: the
 *                      root's current when the catalog describes it.
 *   work    (work.c)   claim a batch under a lease (renewed by a thread
 *                      while it works), run nz-extract --known | nz-chunk
 *                      | nz-embed on it, upload the records as a shard
 *                      keyed by their SHA-256, and mark the batch done
 *                      with the shard's key in one transaction, if the
 *                      lease is still ours. A batch whose stages fail
 *                      is handed back for another attempt (failed after
 *                      3). Loops until every batch of the run is done
 *                      (exit 0) or failed (exit 1); --finish then
 *                      finishes.
 *   finish  (finish.c) under the catalog's writer lock, with the run
 *                      still `planned` and every batch done: nz-index
 *                      build --base (carrying unchanged sources) over
 *                      every shard, publish, record the sources, push.
 *
 * Each needs DATABASE_URL and the object store (plan: --store or
 * SNAPSHOT_STORE, recorded in the plan; AWS_* for the keys): without them
 * it is a usage error naming what is missing.
 */
#ifndef NZ_DIST_H
#define NZ_DIST_H

typedef struct dist_opts {
    /* plan */
    char *const *sources;
    int nsources;
    const char *from;       /* --from FILE */
    const char *store;      /* --store s3://B/P (plan) */
    long batch_size;        /* --batch-size */
    int full;               /* --full: build on nothing */
    const char *max_tokens; /* for nz-chunk, recorded in the plan */
    const char *rpm, *tpm;  /* for nz-embed, recorded in the plan */
    /* work and finish */
    long long run;   /* --run N; 0: the newest planned run */
    double lease;    /* --lease S (work) */
    int then_finish; /* work --finish */
    const char *keep;
} dist_opts;

/* Each returns the exit code: NZ_EXIT_OK; NZ_EXIT_FAIL; NZ_EXIT_USAGE
 * (DATABASE_URL or the object store missing, or a bad option). */
int dist_plan(const dist_opts *o);
int dist_work(const dist_opts *o);
int dist_finish(const dist_opts *o);

/* What all three check first: DATABASE_URL, and (store != NULL) that it
 * is an s3:// URL with AWS_ENDPOINT_URL or AWS keys around. Logs what is
 * missing. NZ_OK or NZ_EINVAL. */
int dist_require(const char *what, const char *store);

#endif
