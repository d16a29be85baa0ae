/* client.c -- see client.h. */
#include "client.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "status.h"

#define CLIENT_BACKOFF_BASE 0.5
#define CLIENT_BACKOFF_CAP 30.0
#define CLIENT_MAX_SERVER_WAIT 120.0
#define CLIENT_MAX_BODY ((size_t)1 << 30)

typedef struct slot {
    CURL *h;
    embed_batch *b; /* NULL when idle */
    buf body;       /* the answer, capped at CLIENT_MAX_BODY */
    int too_big;
    char retry_after_ms[32], retry_after[64], should_retry[16];
    long rem_requests, rem_tokens; /* -1 unknown */
} slot;

/* An answer taken off its slot, waiting to be classified. */
typedef struct landed {
    embed_batch *b;
    CURLcode cc;
    long status;
    buf body; /* the slot's, handed over */
    int too_big;
    char retry_after_ms[32], retry_after[64], should_retry[16];
} landed;

struct client {
    client_opts o;
    CURLM *m;
    slot *slots;
    struct curl_slist *headers;
    embed_batch **queue;
    size_t qn, qcap;
    size_t inflight;
    double pause_until;              /* the server said wait */
    double next_start;               /* --rpm spacing */
    double token_budget, token_time; /* --tpm bucket */
    long rem_requests, rem_tokens;
    double rem_seen;
    client_stats stats;
    unsigned long long rng;
    landed *landed; /* answers harvested, not yet classified */
    size_t nlanded, landed_cap;
    int stopped; /* a batch failed for good: no request starts any more */
};

static double client_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double client_rand(client *c) {
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (double)(c->rng >> 11) / 9007199254740992.0;
}

static size_t client_write(char *p, size_t size, size_t n, void *ud) {
    slot *s = ud;
    size_t add = size * n;
    if (!s->body.cap && add && buf_grow(&s->body, (1 << 20) - 1) < 0) return 0; /* 1 MiB first */
    int st = buf_add(&s->body, p, add);
    if (st == NZ_ELIMIT) s->too_big = 1;
    return st < 0 ? 0 : add; /* 0: libcurl stops the transfer */
}

static void client_header_value(const char *line, size_t len, const char *name, char *out,
                                size_t outlen) {
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
    const char *v = line + nl + 1;
    size_t vn = len - nl - 1;
    while (vn && (*v == ' ' || *v == '\t')) v++, vn--;
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) vn--;
    snprintf(out, outlen, "%.*s", (int)vn, v);
}

static size_t client_header(char *p, size_t size, size_t n, void *ud) {
    slot *s = ud;
    size_t len = size * n;
    char v[64] = "";
    client_header_value(p, len, "retry-after-ms", s->retry_after_ms, sizeof s->retry_after_ms);
    client_header_value(p, len, "retry-after", s->retry_after, sizeof s->retry_after);
    client_header_value(p, len, "x-should-retry", s->should_retry, sizeof s->should_retry);
    client_header_value(p, len, "x-ratelimit-remaining-requests", v, sizeof v);
    if (*v) s->rem_requests = atol(v);
    v[0] = '\0';
    client_header_value(p, len, "x-ratelimit-remaining-tokens", v, sizeof v);
    if (*v) s->rem_tokens = atol(v);
    return len;
}

client *client_new(const client_opts *o, char *err, size_t errlen) {
    client *c = calloc(1, sizeof *c);
    if (!c) goto fail;
    c->o = *o;
    if (c->o.concurrency < 1) c->o.concurrency = 1;
    c->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^
             0x9e3779b97f4a7c15ULL;
    c->rem_requests = c->rem_tokens = -1;
    c->token_budget = o->tpm > 0 ? o->tpm / 60.0 : 0; /* start with one second's worth */
    c->token_time = client_now();
    c->m = curl_multi_init();
    c->slots = calloc((size_t)c->o.concurrency, sizeof *c->slots);
    if (!c->m || !c->slots) goto fail;
    curl_multi_setopt(c->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(c->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.concurrency);
    char h[4200];
    snprintf(h, sizeof h, "Authorization: Bearer %s", o->api_key ? o->api_key : "");
    c->headers = curl_slist_append(c->headers, h);
    c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:"); /* no 100-continue round trip */
    if (o->organization && *o->organization) {
        snprintf(h, sizeof h, "OpenAI-Organization: %s", o->organization);
        c->headers = curl_slist_append(c->headers, h);
    }
    if (o->project && *o->project) {
        snprintf(h, sizeof h, "OpenAI-Project: %s", o->project);
        c->headers = curl_slist_append(c->headers, h);
    }
    memset(h, 0, sizeof h); /* the key does not linger on the stack */
    if (!c->headers) goto fail;
    for (int i = 0; i < c->o.concurrency; i++) {
        buf_init(&c->slots[i].body, CLIENT_MAX_BODY);
        if (!(c->slots[i].h = curl_easy_init())) goto fail;
    }
    return c;
fail:
    snprintf(err, errlen, "out of memory setting up libcurl");
    client_free(c);
    return NULL;
}

void client_free(client *c) {
    if (!c) return;
    for (int i = 0; c->slots && i < c->o.concurrency; i++) {
        if (c->slots[i].h) {
            if (c->slots[i].b) curl_multi_remove_handle(c->m, c->slots[i].h);
            curl_easy_cleanup(c->slots[i].h);
        }
        buf_free(&c->slots[i].body);
    }
    free(c->slots);
    for (size_t i = 0; i < c->nlanded; i++) buf_free(&c->landed[i].body);
    free(c->landed);
    if (c->m) curl_multi_cleanup(c->m);
    curl_slist_free_all(c->headers); /* holds the key: freed, and so gone */
    free(c->queue);
    free(c);
}

int client_submit(client *c, embed_batch *b) {
    if (c->stopped) return NZ_ESTOPPED;
    /* the body is built now, off the path between one answer and the next
     * request */
    if (!b->req && !(b->req = openai_request(c->o.model, c->o.dim, b->texts, b->lens, b->n)))
        return NZ_ENOMEM;
    if (c->qn == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 64;
        embed_batch **nq = realloc(c->queue, cap * sizeof *nq);
        if (!nq) return NZ_ENOMEM;
        c->queue = nq;
        c->qcap = cap;
    }
    /* every batch out may land at once */
    size_t need = c->qn + c->inflight + c->nlanded + 1;
    if (need > c->landed_cap) {
        size_t cap = need * 2;
        landed *nl = realloc(c->landed, cap * sizeof *nl);
        if (!nl) return NZ_ENOMEM;
        c->landed = nl;
        c->landed_cap = cap;
    }
    c->queue[c->qn++] = b;
    return NZ_OK;
}

size_t client_pending(const client *c) { return c->qn + c->inflight + c->nlanded; }

void client_stop(client *c) { c->stopped = 1; }

static void client_harvest(client *c);

void client_progress(client *c) {
    int running;
    if (!c->inflight) return;
    curl_multi_perform(c->m, &running);
    client_harvest(c);
}
const client_stats *client_get_stats(const client *c) { return &c->stats; }

/* When may the next request of `tokens` start? (now if already) */
static double client_gate(client *c, long tokens, double now) {
    double t = now > c->pause_until ? now : c->pause_until;
    if (c->o.rpm > 0 && c->next_start > t) t = c->next_start;
    if (c->o.tpm > 0) {
        double refill = (now - c->token_time) * c->o.tpm / 60.0;
        double have = c->token_budget + refill;
        if (have > c->o.tpm) have = c->o.tpm;
        if (have < (double)tokens) {
            double need = ((double)tokens - have) * 60.0 / c->o.tpm;
            if (now + need > t) t = now + need;
        }
    }
    /* what the server says is left (fresh for a second) */
    if (now - c->rem_seen < 1.0) {
        if (c->rem_requests == 0 || (c->rem_tokens >= 0 && c->rem_tokens < tokens))
            if (c->rem_seen + 1.0 > t) t = c->rem_seen + 1.0;
    }
    return t;
}

static void client_spend(client *c, long tokens, double now) {
    if (c->o.rpm > 0) c->next_start = (c->next_start > now ? c->next_start : now) + 60.0 / c->o.rpm;
    if (c->o.tpm > 0) {
        c->token_budget += (now - c->token_time) * c->o.tpm / 60.0;
        if (c->token_budget > c->o.tpm) c->token_budget = c->o.tpm;
        c->token_time = now;
        c->token_budget -= (double)tokens;
    }
}

static int client_start(client *c, slot *s, embed_batch *b) {
    buf_reset(&s->body);
    s->too_big = 0;
    s->retry_after_ms[0] = s->retry_after[0] = s->should_retry[0] = '\0';
    s->rem_requests = s->rem_tokens = -1;
    CURL *h = s->h;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->o.endpoint);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->req);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b->req));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, client_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->o.timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->o.timeout < 10 ? c->o.timeout : 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nuzantara-embed/0.1 (libcurl)");
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    /* a request body goes out in one piece where the socket takes it, not
     * 64 KiB per call while the caller is busy between calls */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20);
    s->b = b;
    b->attempts++;
    c->stats.requests++;
    c->inflight++;
    return curl_multi_add_handle(c->m, h) == CURLM_OK ? NZ_OK : NZ_ENOMEM;
}

static double client_start_ready(client *c, double next_wake);

/* Queue an answer for client_classify. There is always room: every batch
 * submitted reserved its place (client_submit). */
static void client_land(client *c, const landed *l) { c->landed[c->nlanded++] = *l; }

/* Will this answer fail its batch for good? Only the status and a small
 * error body are read (openai_classify), never the vectors: this runs
 * before the freed slot restarts. */
static int client_final_failure(const client *c, const landed *l) {
    if (l->cc == CURLE_OK) {
        openai_reply r = {l->status, l->body.s, l->body.len,
                          NULL,      NULL,      l->should_retry[0] ? l->should_retry : NULL};
        openai_verdict v = openai_classify(&r);
        if (v != OPENAI_RETRY) return v == OPENAI_FATAL;
    }
    return l->b->attempts > c->o.max_retries; /* a retry, but none is left */
}

/* Take every finished transfer off its slot; the answers wait in
 * c->landed. One that fails its batch for good stops the client here,
 * before any slot restarts. Returns the number of slots freed. */
static int client_collect(client *c) {
    int left, freed = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->m, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        slot *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s || !s->b) continue;
        landed l = {.b = s->b,
                    .cc = msg->data.result,
                    .body = s->body, /* the bytes go with the answer */
                    .too_big = s->too_big};
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &l.status);
        memcpy(l.retry_after_ms, s->retry_after_ms, sizeof l.retry_after_ms);
        memcpy(l.retry_after, s->retry_after, sizeof l.retry_after);
        memcpy(l.should_retry, s->should_retry, sizeof l.should_retry);
        if (client_final_failure(c, &l)) c->stopped = 1;
        client_land(c, &l);
        curl_multi_remove_handle(c->m, s->h); /* msg is invalid from here */
        if (s->rem_requests >= 0 || s->rem_tokens >= 0) {
            c->rem_requests = s->rem_requests;
            c->rem_tokens = s->rem_tokens;
            c->rem_seen = client_now();
        }
        buf_init(&s->body, CLIENT_MAX_BODY);
        s->b = NULL;
        c->inflight--;
        freed++;
    }
    return freed;
}

/* Take every finished transfer off its slot and start the next request on
 * the slot at once (unless the client stopped); the answers wait in
 * c->landed. Nothing is parsed and nothing is handed back here, so this
 * is safe between any two steps of the caller's work: a slot never idles
 * while the caller is busy. */
static void client_harvest(client *c) {
    if (client_collect(c)) client_start_ready(c, client_now() + 1.0); /* it also sends */
}

/* Hand back a batch that will not be sent (again): the client stopped. */
static void client_cancel(embed_batch *b, void (*done)(embed_batch *, void *), void *ctx) {
    b->ok = -2;
    snprintf(b->error, sizeof b->error, "not sent: the run stopped");
    done(b, ctx);
}

/* Classify a harvested answer: hand the batch back (done or failed), or
 * queue it again for a retry after its backoff. */
static void client_classify(client *c, landed *l, void (*done)(embed_batch *, void *), void *ctx) {
    embed_batch *b = l->b;
    double now = client_now();
    openai_verdict v;
    openai_cause cause = CAUSE_CONNECTION;
    double after = -1;
    if (l->cc != CURLE_OK) {
        v = OPENAI_RETRY;
        cause = l->cc == CURLE_OPERATION_TIMEDOUT ? CAUSE_TIMEOUT : CAUSE_CONNECTION;
        snprintf(b->error, sizeof b->error, "%s%s", curl_easy_strerror(l->cc),
                 l->too_big ? " (reply larger than 1 GiB)" : "");
    } else {
        openai_reply r = {l->status,
                          l->body.s,
                          l->body.len,
                          l->retry_after_ms[0] ? l->retry_after_ms : NULL,
                          l->retry_after[0] ? l->retry_after : NULL,
                          l->should_retry[0] ? l->should_retry : NULL};
        v = openai_parse(&r, b->n, c->o.dim, b->vectors, &b->usage, &cause, &after, c->o.api_key,
                         b->error, sizeof b->error);
    }
    buf_free(&l->body);
    if (v == OPENAI_OK) {
        b->ok = 1;
        done(b, ctx);
        return;
    }
    if (v == OPENAI_FATAL || b->attempts > c->o.max_retries) {
        c->stopped = 1; /* client_collect knew already, unless a 200 was malformed */
        if (v != OPENAI_FATAL) {
            char last[512];
            snprintf(last, sizeof last, "%s", b->error);
            snprintf(b->error, sizeof b->error, "gave up after %d attempts; last: %.400s",
                     b->attempts, last);
        }
        b->ok = -1;
        done(b, ctx);
        return;
    }
    if (c->stopped) {
        client_cancel(b, done, ctx);
        return;
    }
    c->stats.retries[cause]++;
    double wait;
    if (after >= 0) {
        wait = after > CLIENT_MAX_SERVER_WAIT ? CLIENT_MAX_SERVER_WAIT : after;
        if (cause == CAUSE_RATE_LIMIT && now + wait > c->pause_until) c->pause_until = now + wait;
    } else {
        double cap = CLIENT_BACKOFF_BASE * pow(2, b->attempts - 1);
        if (cap > CLIENT_BACKOFF_CAP) cap = CLIENT_BACKOFF_CAP;
        wait = client_rand(c) * cap; /* full jitter */
    }
    b->not_before = now + wait;
    /* back at the front: the earliest batches hold up the output */
    if (client_submit(c, b) == NZ_OK) {
        memmove(c->queue + 1, c->queue, (c->qn - 1) * sizeof *c->queue);
        c->queue[0] = b;
    } else {
        b->ok = -1;
        snprintf(b->error, sizeof b->error, "out of memory");
        done(b, ctx);
    }
}

/* Start queued batches on idle slots, as far as the gates allow; returns
 * the time the next one could start. The only place a request starts:
 * finished transfers are collected first, so none starts after an answer
 * that stopped the client has arrived. */
static double client_start_ready(client *c, double next_wake) {
    double now = client_now();
    client_collect(c);
    for (int i = 0; i < c->o.concurrency && c->qn && !c->stopped; i++) {
        slot *s = &c->slots[i];
        if (s->b) continue;
        size_t pick = c->qn;
        for (size_t q = 0; q < c->qn; q++)
            if (c->queue[q]->not_before <= now) {
                pick = q;
                break;
            }
        if (pick == c->qn) break;
        double t = client_gate(c, c->queue[pick]->tokens, now);
        if (t <= now && c->o.budget) { /* the shared budget: checked last, it takes */
            double w = 0;
            if (c->o.budget(c->o.budget_ctx, c->queue[pick]->tokens, &w) < 0) w = 1.0;
            if (w > 0) t = now + w;
        }
        if (t > now) {
            if (t < next_wake) next_wake = t;
            break;
        }
        embed_batch *b = c->queue[pick];
        memmove(c->queue + pick, c->queue + pick + 1, (c->qn - pick - 1) * sizeof *c->queue);
        c->qn--;
        client_spend(c, b->tokens, now);
        if (client_start(c, s, b) < 0) { /* out of memory in libcurl: an attempt that failed */
            if (s->b == b) c->inflight--;
            s->b = NULL;
            buf_reset(&s->body);
            client_land(c, &(landed){.b = b, .cc = CURLE_OUT_OF_MEMORY});
            break;
        }
    }
    for (size_t q = 0; q < c->qn; q++)
        if (c->queue[q]->not_before > now && c->queue[q]->not_before < next_wake)
            next_wake = c->queue[q]->not_before;
    int running;
    curl_multi_perform(c->m, &running); /* send what was just started */
    return next_wake;
}

int client_run(client *c, double wait, void (*done)(embed_batch *, void *), void *ctx) {
    double deadline = client_now() + wait;
    for (;;) {
        double now, next_wake = client_start_ready(c, deadline);
        int running = 0;
        if (curl_multi_perform(c->m, &running) != CURLM_OK) return NZ_EIO;
        client_harvest(c);
        if (c->nlanded) {
            /* oldest first; between two answers, slots freed meanwhile
             * restart before the next parse */
            while (c->nlanded) {
                landed l = c->landed[0];
                memmove(c->landed, c->landed + 1, --c->nlanded * sizeof *c->landed);
                client_classify(c, &l, done, ctx);
                client_progress(c);
            }
            client_start_ready(c, deadline); /* retries due now; it also sends */
            break;
        }
        now = client_now();
        if (now >= deadline || (!c->inflight && (!c->qn || c->stopped))) break;
        double until = (next_wake < deadline ? next_wake : deadline) - now;
        int ms = until <= 0 ? 0 : (int)(until * 1000) + 1;
        if (ms > 1000) ms = 1000;
        if (c->inflight) {
            if (curl_multi_poll(c->m, NULL, 0, ms, NULL) != CURLM_OK) return NZ_EIO;
        } else if (ms > 0) {
            c->stats.waited_seconds += ms / 1000.0;
            usleep((useconds_t)ms * 1000);
        }
    }
    while (c->stopped && c->qn) client_cancel(c->queue[--c->qn], done, ctx);
    return NZ_OK;
}
