/* remote.h -- embed a stream of chunk records through an OpenAI-compatible
 * server, in input order, paying for each distinct text once.
 *
 * Each record's text is looked up in the vector cache (vcache.h) first; a
 * hit costs nothing. Misses are packed into batches by count (--batch,
 * at most 2,048) and by tokens (300,000 a request, from the records' own
 * `tokens`), and sent by the client (client.h) several at a time. A text
 * already waiting in a batch is not sent again: the later record takes
 * the earlier one's vector. Vectors go into the cache the moment they
 * arrive, so a run killed at any point and started again re-sends only
 * what was in flight. Records leave in the order they came, a bounded
 * window behind the input.
 *
 * A failure stops the run (remote_stop): no request starts any more (the
 * client stops itself at a batch that failed for good, before any slot
 * restarts); the requests in flight land and their vectors reach the
 * cache; then every record that has its vector is written out, in input
 * order, skipping the records left without one.
 */
#ifndef NZ_REMOTE_H
#define NZ_REMOTE_H

#include <jansson.h>
#include <stdio.h>

#include "client.h"
#include "vcache.h"

typedef struct remote_opts {
    client_opts co;
    const char *provider, *model;
    uint32_t dim;
    size_t batch;      /* inputs a request */
    long batch_tokens; /* tokens a request */
    vcache *cache;     /* NULL: no cache */
} remote_opts;

typedef struct remote_stats {
    long embedded;     /* records written out with their vector */
    long rejected;     /* records rejected (over the model's limit) */
    long cache_hits;   /* records whose vector came from the cache */
    long sent;         /* inputs sent in requests (a retry counts once) */
    long paid;         /* inputs whose vectors the server returned: billed, and cached */
    long not_embedded; /* records read but left without a vector: the run stopped */
    long usage_tokens; /* usage.prompt_tokens summed */
} remote_stats;

typedef struct remote remote;

/* NULL with err when out of memory. */
remote *remote_new(const remote_opts *o, FILE *out, char *err, size_t errlen);
/* Queue one record (taken); `sent` is what to embed, `tokens` its count.
 * A record over BPE_MODEL_LIMIT tokens is rejected (logged, counted) and
 * is no error. NZ_OK, or a fatal status -- stop reading:
 *   NZ_ENOMEM        out of memory (logged when libcurl's);
 *   NZ_EIO           the output could not be written, the cache could not
 *                    be appended to, or libcurl's event loop failed (logged);
 *   NZ_EUNAVAILABLE  a batch failed for good: a fatal answer, or the
 *                    retries ran out (logged with the server's message). */
int remote_add(remote *r, json_t *rec, const char *sent, size_t len, long tokens, const char *name);
/* Send what is left and write everything out. NZ_OK, or a fatal status as
 * for remote_add, after remote_stop. */
int remote_finish(remote *r);
/* Stop the run with `status` (kept unless an earlier one was): start no
 * request, wait for those in flight, then write out every record that has
 * its vector (not_embedded counts the others). Returns the first status
 * that stopped the run. For a run that fails outside: the input, or a
 * fatal status of remote_add. */
int remote_stop(remote *r, int status);
void remote_free(remote *r);
const remote_stats *remote_get_stats(const remote *r);
const client_stats *remote_client_stats(const remote *r);

#endif
