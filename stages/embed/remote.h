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
    long embedded, rejected, cache_hits, sent, usage_tokens;
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
 * for remote_add. */
int remote_finish(remote *r);
void remote_free(remote *r);
const remote_stats *remote_get_stats(const remote *r);
const client_stats *remote_client_stats(const remote *r);

#endif
