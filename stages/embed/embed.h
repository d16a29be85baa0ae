/* embed.h -- nz-embed's work: chunk records in, embedded records out.
 *
 * Every chunk record gets `provider`, `model`, `dim` and `embedding`
 * (base64 of little-endian float32, the OpenAI API's own encoding) of
 * exactly what a provider is sent: the chunk's `context`, a blank line,
 * then its `text`. All other fields pass through untouched and records
 * leave in the order they came.
 *
 * Providers (EMBEDDING_PROVIDER, read from config.h):
 *  - `hash` (offline, deterministic; lib/hashembed.h) embeds batches of
 *    EMBED_BATCH records in parallel with OpenMP, then writes them in
 *    order;
 *  - `openai`: any OpenAI-compatible /v1/embeddings (remote.h): batches in
 *    parallel over libcurl, a vector cache (vcache.h) that makes re-runs
 *    free and resumes killed runs, retries with backoff, pacing to rate
 *    limits. Its setup (the API key, the endpoint, the cache) lives here.
 * The run ends with one JSON stats line ("done", or the failure): provider,
 * model, dim; for openai requests, retries (total and by cause), cache
 * hits, inputs sent, paid (inputs whose vectors the server returned: billed,
 * and in the cache), not_embedded (records read but left without a vector
 * because the run stopped), tokens, the estimated cost and the seconds
 * waited; then embedded (records written out with their vector) and
 * rejected.
 *
 * A failure (for openai: an answer that can never succeed, such as 401 or
 * 429 insufficient_quota, or retries run out) stops the run at once: no
 * request starts after it, the requests in flight land, every record that
 * has its vector is written out in input order (skipping those without),
 * and nz-embed exits 1.
 */
#ifndef NZ_EMBED_H
#define NZ_EMBED_H

#include <stddef.h>
#include <stdio.h>

#define EMBED_BATCH 1024 /* records a hash batch */

typedef struct embed_options {
    const char *output;    /* written atomically; NULL: stdout */
    const char *cache_dir; /* NULL: embed-cache beside INDEX_PATH */
    int no_cache;          /* neither read nor write the cache */
    size_t dim;            /* vector size, already validated */
    long max_line;         /* longest input line, bytes */
    long batch;            /* openai: inputs a request */
    long concurrency;      /* openai: requests in flight */
    long max_retries;      /* openai: attempts after the first */
    long timeout;          /* openai: seconds a request */
    double rpm, tpm;       /* openai: pace (0: none) */
    const char *shared;    /* openai: --shared-budget NAME in DATABASE_URL's catalog, or NULL */
    double price_per_mtok; /* USD a million tokens, for cost_usd */
    int nfiles;            /* inputs; none: stdin */
    char *const *files;
    FILE *in; /* or this open stream ("-"; a buffer through fmemopen), not files */
} embed_options;

/* Embed every record of the inputs and log the stats line. Returns the
 * process exit code (nz.h): NZ_EXIT_OK, NZ_EXIT_REJECTED when some records
 * were rejected, NZ_EXIT_USAGE for a provider that is unknown or lacks its
 * API key, NZ_EXIT_FAIL when the run failed (on stdout every record
 * already embedded was written; an -o file is not written, being atomic;
 * what the openai provider paid for is in the cache either way). */
int embed_run(const embed_options *o);

#endif
