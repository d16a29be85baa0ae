/* openai.h -- the /v1/embeddings wire format, both ways, and what an answer
 * means for the caller: done, retry (and after how long), or stop.
 *
 * Requests: {"model", "input": [...], "encoding_format": "base64"} plus
 * "dimensions" for the models that take it (text-embedding-3-*).
 * Answers: data[].embedding as base64 little-endian float32 or, from
 * servers such as Ollama, float arrays; every vector's length and every
 * index is checked, a wrong dimension is an error, never truncated.
 * Failures: 408, 409, 429 rate_limit_exceeded, 5xx, timeouts and broken
 * connections are retried; 400, 401, 403, 404 and 429 insufficient_quota
 * are not; an x-should-retry header overrides both ways.
 */
#ifndef NZ_OPENAI_H
#define NZ_OPENAI_H

#include <stddef.h>
#include <stdint.h>

/* The full endpoint from OPENAI_BASE_URL, with or without a trailing /v1. */
char *openai_endpoint(const char *base);
int openai_sends_dimensions(const char *model);

/* Request body for n texts; malloc'd JSON. */
char *openai_request(const char *model, uint32_t dim, const char *const *texts, const size_t *lens,
                     size_t n);

typedef enum {
    OPENAI_OK,
    OPENAI_RETRY, /* try again after *retry_after (seconds; < 0: use backoff) */
    OPENAI_FATAL, /* stop: the request can never succeed */
} openai_verdict;

/* Causes of retries, for the stats line. */
typedef enum {
    CAUSE_RATE_LIMIT,
    CAUSE_SERVER, /* 5xx, 408, 409 */
    CAUSE_TIMEOUT,
    CAUSE_CONNECTION, /* reset, refused, cut mid-body */
    CAUSE_MALFORMED,  /* bad JSON, wrong dimension, missing index */
    CAUSE_COUNT
} openai_cause;

extern const char *const openai_cause_names[CAUSE_COUNT];

typedef struct openai_reply {
    long status;
    const char *body;
    size_t body_len;
    const char *retry_after_ms, *retry_after, *should_retry; /* headers, or NULL */
} openai_reply;

/* Parse a reply to a request of n inputs into out[n * dim]. On OK, *tokens
 * gets usage.prompt_tokens. Otherwise msg says why (never the API key: the
 * caller passes `secret` to be masked from server messages) and *cause and
 * *retry_after are set for RETRY. */
openai_verdict openai_parse(const openai_reply *r, size_t n, uint32_t dim, float *out, long *tokens,
                            openai_cause *cause, double *retry_after, const char *secret, char *msg,
                            size_t msglen);

/* What a reply means, without reading its vectors: cheap enough to run
 * before the next request starts. OPENAI_FATAL exactly when openai_parse
 * would answer OPENAI_FATAL for a reason other than memory (400, 401, 403,
 * 404, 429 insufficient_quota, x-should-retry: false...); OPENAI_RETRY for
 * an error that is retried; OPENAI_OK for a 200, which only openai_parse
 * can tell apart from a malformed one. */
openai_verdict openai_classify(const openai_reply *r);

/* Parse a Retry-After value: seconds, or an HTTP date. -1 when neither. */
double openai_retry_after(const char *v);

#endif
