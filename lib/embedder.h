/* embedder.h -- embed one query text with a snapshot's own provider.
 *
 * An index answers text queries only in the vector space it was built in,
 * so the provider, model and dimension come from the snapshot's manifest,
 * never from the caller's environment (only the credentials do:
 * OPENAI_API_KEY, OPENAI_BASE_URL). `hash` runs in process; `openai` makes
 * one request to /v1/embeddings (10 s timeout, two retries on the
 * failures that deserve one). A small LRU cache (EMBEDDER_CACHE entries,
 * thread-safe) answers repeated queries without a request.
 */
#ifndef NZ_EMBEDDER_H
#define NZ_EMBEDDER_H

#include <stddef.h>

#define EMBEDDER_CACHE 256

/* Fill out[0..dim). Returns (status.h), with err set on failure:
 *   NZ_OK            out holds the embedding;
 *   NZ_EINVAL        the text cannot be embedded (a bad query: no words,
 *                    or a model the in-process provider does not know);
 *   NZ_EUNAVAILABLE  the provider failed (unreachable, refused, quota, no
 *                    credentials, or not in this build): try later. */
int embedder_query(const char *provider, const char *model, size_t dim, const char *text,
                   float *out, char *err, size_t errlen);

/* Counters for /performance: cache hits and misses. */
void embedder_cache_stats(unsigned long long *hits, unsigned long long *misses);

#endif
