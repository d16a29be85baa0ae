/* embedder.c -- see embedder.h. */
#include "embedder.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "hashembed.h"
#include "openai.h"
#include "sha.h"
#include "status.h"

typedef struct lru_entry {
    unsigned char key[SHA_LEN];
    unsigned long long used;
    size_t dim;
    float *v; /* NULL: empty */
} lru_entry;

static struct {
    pthread_mutex_t lock;
    lru_entry e[EMBEDDER_CACHE];
    unsigned long long clock, hits, misses;
} lru = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void lru_key(const char *provider, const char *model, size_t dim, const char *text,
                    unsigned char key[SHA_LEN]) {
    sha_ctx *s = sha_new();
    char d[24];
    int n = snprintf(d, sizeof d, "%zu", dim);
    if (!s) {
        memset(key, 0, SHA_LEN);
        return;
    }
    sha_update(s, provider, strlen(provider) + 1);
    sha_update(s, model, strlen(model) + 1);
    sha_update(s, d, (size_t)n + 1);
    sha_update(s, text, strlen(text));
    sha_final(s, key);
    sha_free(s);
}

static int lru_get(const unsigned char *key, size_t dim, float *out) {
    int found = 0;
    pthread_mutex_lock(&lru.lock);
    for (int i = 0; i < EMBEDDER_CACHE; i++) {
        lru_entry *e = &lru.e[i];
        if (e->v && e->dim == dim && !memcmp(e->key, key, SHA_LEN)) {
            memcpy(out, e->v, dim * sizeof *out);
            e->used = ++lru.clock;
            found = 1;
            break;
        }
    }
    if (found) lru.hits++;
    else lru.misses++;
    pthread_mutex_unlock(&lru.lock);
    return found;
}

static void lru_put(const unsigned char *key, size_t dim, const float *v) {
    float *copy = malloc(dim * sizeof *copy);
    if (!copy) return;
    memcpy(copy, v, dim * sizeof *copy);
    pthread_mutex_lock(&lru.lock);
    lru_entry *victim = &lru.e[0];
    for (int i = 0; i < EMBEDDER_CACHE; i++) {
        if (!lru.e[i].v) {
            victim = &lru.e[i];
            break;
        }
        if (lru.e[i].used < victim->used) victim = &lru.e[i];
    }
    free(victim->v);
    memcpy(victim->key, key, SHA_LEN);
    victim->dim = dim;
    victim->v = copy;
    victim->used = ++lru.clock;
    pthread_mutex_unlock(&lru.lock);
}

void embedder_cache_stats(unsigned long long *hits, unsigned long long *misses) {
    pthread_mutex_lock(&lru.lock);
    *hits = lru.hits;
    *misses = lru.misses;
    pthread_mutex_unlock(&lru.lock);
}

#define EMBEDDER_MAX_REPLY (64u << 20)

/* libcurl's write callback: the reply body into a capped buf. */
static size_t embedder_write(char *p, size_t size, size_t n, void *ud) {
    buf *b = ud;
    size_t add = size * n;
    return buf_add(b, p, add) < 0 ? 0 : add;
}

static int embedder_openai(const char *model, size_t dim, const char *text, float *out, char *err,
                           size_t errlen) {
    const char *key = config_get(CFG_OPENAI_API_KEY);
    if (!key || !*key) {
        snprintf(err, errlen, "the index was built with openai embeddings: set OPENAI_API_KEY");
        return NZ_EUNAVAILABLE;
    }
    char *url = openai_endpoint(config_get(CFG_OPENAI_BASE_URL));
    size_t len = strlen(text);
    const char *texts[1] = {text};
    char *req = openai_request(model, (uint32_t)dim, texts, &len, 1);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    memset(auth, 0, sizeof auth);
    int rc = NZ_EUNAVAILABLE;
    if (!url || !req || !h || !hdr) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        buf b;
        buf_init(&b, EMBEDDER_MAX_REPLY);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, embedder_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        CURLcode cc = curl_easy_perform(h);
        openai_verdict v;
        openai_cause cause;
        double after = -1;
        long tokens;
        if (cc != CURLE_OK) {
            v = OPENAI_RETRY;
            snprintf(err, errlen, "embedding provider unreachable: %s", curl_easy_strerror(cc));
        } else {
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            openai_reply r = {status, b.s, b.len, NULL, NULL, NULL};
            v = openai_parse(&r, 1, (uint32_t)dim, out, &tokens, &cause, &after, key, err, errlen);
        }
        buf_free(&b);
        if (v == OPENAI_OK) {
            rc = NZ_OK;
            break;
        }
        if (v == OPENAI_FATAL) break;
        usleep((useconds_t)(after >= 0 && after < 2 ? after * 1e6 : 200000 * (attempt + 1)));
    }
fail:
    curl_slist_free_all(hdr);
    if (h) curl_easy_cleanup(h);
    free(url);
    free(req);
    return rc;
}

int embedder_query(const char *provider, const char *model, size_t dim, const char *text,
                   float *out, char *err, size_t errlen) {
    unsigned char key[SHA_LEN];
    lru_key(provider, model, dim, text, key);
    if (lru_get(key, dim, out)) return NZ_OK;
    int rc;
    if (strcmp(provider, "hash") == 0) {
        if (strcmp(model, HASHEMBED_MODEL) != 0) {
            snprintf(err, errlen, "hash provider: unknown model \"%s\"", model);
            return NZ_EINVAL;
        }
        long nf = hashembed(text, strlen(text), out, dim);
        if (nf < 0) {
            snprintf(err, errlen, "query text cannot be embedded");
            return NZ_EINVAL;
        }
        if (nf == 0) {
            snprintf(err, errlen, "query text has no words");
            return NZ_EINVAL;
        }
        rc = NZ_OK;
    } else if (strcmp(provider, "openai") == 0) {
        rc = embedder_openai(model, dim, text, out, err, errlen);
    } else {
        snprintf(err, errlen, "embedding provider \"%s\" is not available in this build", provider);
        return NZ_EUNAVAILABLE;
    }
    if (rc == NZ_OK) lru_put(key, dim, out);
    return rc;
}
