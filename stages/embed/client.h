/* client.h -- embedding requests in parallel over libcurl's multi interface.
 *
 * Up to `concurrency` requests are in flight at once, each on its own easy
 * handle whose connection the multi handle keeps alive (HTTP/2 multiplexed
 * where the server speaks it over TLS). Starting a request waits for:
 *  - its own backoff (a retried batch);
 *  - a pause the server asked for (429 with retry-after-ms / retry-after:
 *    every slot waits, not just the one that was told);
 *  - the pace set by --rpm and --tpm (evenly spaced starts, and a token
 *    budget refilled at tpm/60 a second);
 *  - what x-ratelimit-remaining-requests / -tokens say is left;
 *  - a budget shared by every worker (client_opts.budget), when set.
 * Failed batches are retried (openai.h decides which) with exponential
 * backoff and full jitter: a random wait in [0, min(cap, base * 2^n)].
 * After max_retries, or at the first failure that can never succeed, the
 * batch is handed back as failed.
 *
 * A failed batch stops the client: the answer is classified (cheaply, by
 * its status and error code: openai_classify) the moment it is taken off
 * its slot, before the slot could restart, and from then on no request
 * starts on any slot. Requests already in flight finish and are handed
 * back as usual; queued batches and retries are handed back unsent
 * (ok == -2). A fatal answer therefore costs no request after it.
 *
 * Each slot's answer is a buf (buf.h) capped at 1 GiB: a bigger reply is
 * cut off and fails its attempt. Returns are status.h codes, named below.
 */
#ifndef NZ_CLIENT_H
#define NZ_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "openai.h"

typedef struct embed_batch {
    size_t id;
    size_t n;
    const char **texts;
    size_t *lens;
    long tokens;    /* estimated from the records: for pacing */
    float *vectors; /* n x dim, valid when ok */
    long usage;     /* usage.prompt_tokens */
    int attempts;
    double not_before;
    int ok; /* 1 done, -1 failed (error holds why), -2 not sent: the client stopped */
    char error[512];
    void *user; /* the caller's */
    char *req;  /* the request body, built at submit; the caller frees */
} embed_batch;

typedef struct client_opts {
    const char *endpoint, *model, *api_key, *organization, *project;
    uint32_t dim;
    int concurrency, max_retries;
    long timeout; /* seconds per request */
    double rpm, tpm;
    /* A budget shared with other processes (lib/ratebudget.h), or NULL:
     * asked after the local pace allows a start; it takes one request and
     * `tokens`, or says how many seconds to wait (< 0: it failed; the
     * client waits a second and asks again). */
    int (*budget)(void *ctx, long tokens, double *wait);
    void *budget_ctx;
} client_opts;

typedef struct client_stats {
    long requests, retries[CAUSE_COUNT];
    double waited_seconds; /* paused by the server or the pace */
} client_stats;

typedef struct client client;

/* NULL with err when out of memory. */
client *client_new(const client_opts *o, char *err, size_t errlen);
void client_free(client *c);
/* Queue a batch (its request body is built now). NZ_OK, NZ_ENOMEM, or
 * NZ_ESTOPPED when the client has stopped (the batch is not queued). */
int client_submit(client *c, embed_batch *b);
/* Run transfers for up to `wait` seconds or until a batch finishes; each
 * finished batch (ok, failed, or not sent once stopped) goes to done().
 * Returns early once stopped with nothing in flight. NZ_OK, or NZ_EIO when
 * libcurl's multi interface fails (a fatal socket or poll error): stop. */
int client_run(client *c, double wait, void (*done)(embed_batch *, void *), void *ctx);
size_t client_pending(const client *c); /* queued and in flight */
/* Start no request any more, as after a batch that failed for good: what
 * is in flight finishes; the next client_run hands the queue back unsent. */
void client_stop(client *c);
/* Move bytes of the transfers in flight, and take finished ones off their
 * slots so the next queued requests start at once; their answers are
 * parsed and handed back by the next client_run. Calls no callback: safe
 * from long work between client_run calls, so no slot idles through it. */
void client_progress(client *c);
const client_stats *client_get_stats(const client *c);

#endif
