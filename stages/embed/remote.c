/* remote.c -- see remote.h. */
#include "remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "jsonl.h"
#include "log.h"
#include "sha.h"
#include "status.h"
#include "vecb64.h"

enum { R_WAIT, R_READY, R_REJECT };

typedef struct ritem {
    json_t *rec;
    char *sent;
    size_t len;
    long tokens;
    unsigned char key[VCACHE_KEY_LEN];
    float *vec;
    int state;
    char *error;
    size_t *twins; /* later records with the same text, waiting on this one */
    size_t ntwins;
} ritem;

struct remote {
    remote_opts o;
    FILE *out;
    client *cl;
    ritem *items; /* a ring: items[(seq - base) ...] */
    size_t base, n, cap;
    json_t *waiting;   /* hex key -> seq of the record its text waits on */
    embed_batch *open; /* the batch being filled */
    size_t *open_seq;
    size_t next_batch_id;
    unsigned since_pump; /* records added since the last pump */
    size_t window;
    int failed;     /* the first status that stopped the run, or NZ_OK */
    int logged;     /* a failed batch's message was logged */
    int out_broken; /* the output could not be written: write no more */
    remote_stats stats;
};

static ritem *remote_item(remote *r, size_t seq) { return &r->items[seq % r->cap]; }

static void remote_key_hex(const unsigned char *key, char *hex) {
    sha_hex(key, VCACHE_KEY_LEN, hex);
}

remote *remote_new(const remote_opts *o, FILE *out, char *err, size_t errlen) {
    remote *r = calloc(1, sizeof *r);
    if (!r) goto fail;
    r->o = *o;
    r->out = out;
    r->window = o->batch * (size_t)(o->co.concurrency > 0 ? o->co.concurrency : 1) * 2;
    if (r->window < 1024) r->window = 1024;
    r->cap = r->window + 1;
    r->items = calloc(r->cap, sizeof *r->items);
    r->waiting = json_object();
    if (!r->items || !r->waiting) goto fail;
    return r;
fail:
    snprintf(err, errlen, "out of memory");
    remote_free(r);
    return NULL;
}

/* A batch and what it holds (its request body, its records' seqs). */
static void remote_batch_free(embed_batch *b) {
    if (!b) return;
    free(b->user);
    free(b->texts);
    free(b->lens);
    free(b->vectors);
    free(b->req);
    free(b);
}

static void remote_item_free(ritem *it) {
    json_decref(it->rec);
    free(it->sent);
    free(it->vec);
    free(it->error);
    free(it->twins);
    memset(it, 0, sizeof *it);
}

void remote_free(remote *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) remote_item_free(remote_item(r, r->base + i));
    free(r->items);
    json_decref(r->waiting);
    remote_batch_free(r->open);
    free(r->open_seq);
    client_free(r->cl);
    free(r);
}

const remote_stats *remote_get_stats(const remote *r) { return &r->stats; }
const client_stats *remote_client_stats(const remote *r) {
    static const client_stats none;
    return r->cl ? client_get_stats(r->cl) : &none;
}

/* Write one embedded record. The record is dumped by jansson without its
 * vector, and the vector appended as text: base64 needs no JSON escaping,
 * and escaping 8 KiB a record was a third of the client's time. */
static int remote_write(remote *r, ritem *it) {
    char *b64 = vecb64_encode(it->vec, r->o.dim);
    json_object_set_new(it->rec, "provider", json_string(r->o.provider));
    json_object_set_new(it->rec, "model", json_string(r->o.model));
    json_object_set_new(it->rec, "dim", json_integer(r->o.dim));
    json_object_del(it->rec, "embedding");
    char *head = b64 ? json_dumps(it->rec, JSONL_DUMP_FLAGS) : NULL;
    int rc = NZ_ENOMEM;
    if (head) {
        size_t hl = strlen(head);
        /* {...} -> {...,"embedding":"<b64>"} */
        if (hl >= 2 && head[hl - 1] == '}' && fwrite(head, 1, hl - 1, r->out) == hl - 1 &&
            fputs(hl > 2 ? ",\"embedding\":\"" : "\"embedding\":\"", r->out) != EOF &&
            fputs(b64, r->out) != EOF && fputs("\"}\n", r->out) != EOF)
            rc = NZ_OK;
        else {
            log_error("write error: %s", strerror(errno));
            r->out_broken = 1;
            rc = NZ_EIO;
        }
    }
    free(head);
    free(b64);
    return rc;
}

/* Settle the record at the head of the window, which is not waiting:
 * log its rejection, or write it out. NZ_OK, or remote_write's status. */
static int remote_settle(remote *r, ritem *it) {
    int rc = NZ_OK;
    if (it->state == R_REJECT) {
        const char *uri = jsonl_str(it->rec, "uri");
        log_reject(uri ? uri : "-", "%s", it->error ? it->error : "rejected");
        r->stats.rejected++;
    } else if ((rc = remote_write(r, it)) == NZ_OK) {
        r->stats.embedded++;
    }
    remote_item_free(it);
    r->base++;
    r->n--;
    return rc;
}

/* Write out the records at the head of the window that are settled.
 * NZ_OK, or remote_write's status. */
static int remote_emit(remote *r) {
    unsigned k = 0;
    int rc;
    while (r->n) {
        if (r->cl && ++k % 16 == 0) client_progress(r->cl);
        ritem *it = remote_item(r, r->base);
        if (it->state == R_WAIT) break;
        if ((rc = remote_settle(r, it)) < 0) return rc;
    }
    return NZ_OK;
}

/* Remember the first fatal status of an answer. */
static void remote_fail(remote *r, int status) {
    if (!r->failed) r->failed = status;
}

/* A batch came back. */
static void remote_done(embed_batch *b, void *ctx) {
    remote *r = ctx;
    size_t *seqs = b->user;
    if (b->ok < 0) {
        if (b->ok == -1 && !r->logged) log_error("embedding request failed: %s", b->error);
        if (b->ok == -1) r->logged = 1;
        if (b->ok == -2 && !b->attempts) r->stats.sent -= (long)b->n; /* never went out */
        remote_fail(r, NZ_EUNAVAILABLE);
    } else {
        r->stats.usage_tokens += b->usage;
        r->stats.paid += (long)b->n;
        for (size_t i = 0; i < b->n; i++) {
            ritem *it = remote_item(r, seqs[i]);
            it->vec = malloc(r->o.dim * sizeof *it->vec);
            if (!it->vec) {
                remote_fail(r, NZ_ENOMEM);
                break;
            }
            memcpy(it->vec, b->vectors + i * r->o.dim, r->o.dim * sizeof *it->vec);
            it->state = R_READY;
            char hex[2 * VCACHE_KEY_LEN + 1];
            remote_key_hex(it->key, hex);
            json_object_del(r->waiting, hex);
            if (r->o.cache && vcache_put(r->o.cache, it->key, r->o.dim, it->vec) < 0 &&
                !r->failed) {
                log_error("embedding cache: write failed: %s", strerror(errno));
                remote_fail(r, NZ_EIO);
            }
            for (size_t t = 0; t < it->ntwins; t++) {
                ritem *tw = remote_item(r, it->twins[t]);
                tw->vec = malloc(r->o.dim * sizeof *tw->vec);
                if (!tw->vec) {
                    remote_fail(r, NZ_ENOMEM);
                    break;
                }
                memcpy(tw->vec, it->vec, r->o.dim * sizeof *tw->vec);
                tw->state = R_READY;
            }
        }
    }
    remote_batch_free(b);
}

/* Send the open batch. NZ_OK, NZ_ENOMEM (logged when libcurl's), or
 * NZ_ESTOPPED when the client stopped after a failed batch; a batch that
 * cannot be sent is dropped (its records keep waiting). */
static int remote_seal(remote *r) {
    embed_batch *b = r->open;
    int rc = NZ_ENOMEM;
    if (!b || !b->n) return NZ_OK;
    r->open = NULL;
    b->user = r->open_seq; /* remote_done finds the records here */
    r->open_seq = NULL;
    b->vectors = malloc(b->n * r->o.dim * sizeof *b->vectors);
    if (!b->vectors) goto fail;
    r->since_pump = 16; /* it goes out at the next chance */
    if (!r->cl) {
        char err[256];
        if (!(r->cl = client_new(&r->o.co, err, sizeof err))) {
            log_error("%s", err);
            goto fail;
        }
    }
    if ((rc = client_submit(r->cl, b)) < 0) goto fail;
    r->stats.sent += (long)b->n;
    return NZ_OK;
fail:
    remote_batch_free(b);
    return rc;
}

/* Let the client run for up to `wait` seconds. NZ_OK, client_run's
 * status, or the first fatal status of an answer (r->failed). */
static int remote_pump(remote *r, double wait) {
    if (!r->cl) return NZ_OK;
    int rc = client_run(r->cl, wait, remote_done, r);
    if (rc < 0) {
        log_error("libcurl failed");
        return rc;
    }
    return r->failed;
}

/* Room in the window for one more record: drive the requests until the
 * head moves. NZ_OK, or the status that stops the run. */
static int remote_room(remote *r) {
    int rc;
    while (r->n + 1 >= r->cap) {
        if ((rc = remote_emit(r)) < 0) return rc;
        if (r->n + 1 < r->cap) break;
        /* While requests are out, one of them holds the head: wait for it
         * and keep filling the open batch afterwards. Sealing it here would
         * send a part-filled batch each time an answer overtakes the head's,
         * and every extra request costs a round trip. */
        int idle = !r->cl || !client_pending(r->cl);
        if (idle && (rc = remote_seal(r)) < 0) return rc;
        if ((rc = remote_pump(r, 1.0)) < 0) return rc;
    }
    return NZ_OK;
}

/* Put record `seq`'s text in the open batch, sealing a full one. NZ_OK,
 * NZ_ENOMEM, or remote_seal's status. */
static int remote_batch_add(remote *r, const ritem *it, size_t seq) {
    int rc;
    if (r->open &&
        (r->open->n + 1 > r->o.batch || r->open->tokens + it->tokens > r->o.batch_tokens))
        if ((rc = remote_seal(r)) < 0) return rc;
    if (!r->open) {
        r->open = calloc(1, sizeof *r->open);
        if (!r->open) return NZ_ENOMEM;
        r->open->id = r->next_batch_id++;
        r->open->texts = calloc(r->o.batch, sizeof *r->open->texts);
        r->open->lens = calloc(r->o.batch, sizeof *r->open->lens);
        r->open_seq = calloc(r->o.batch, sizeof *r->open_seq);
        if (!r->open->texts || !r->open->lens || !r->open_seq) return NZ_ENOMEM;
    }
    embed_batch *b = r->open;
    b->texts[b->n] = it->sent;
    b->lens[b->n] = it->len;
    r->open_seq[b->n] = seq;
    b->n++;
    b->tokens += it->tokens;
    return b->n == r->o.batch ? remote_seal(r) : NZ_OK;
}

int remote_add(remote *r, json_t *rec, const char *sent, size_t len, long tokens,
               const char *name) {
    (void)name;
    int rc = remote_room(r);
    if (rc < 0) {
        json_decref(rec);
        return rc;
    }
    size_t seq = r->base + r->n;
    ritem *it = remote_item(r, seq);
    memset(it, 0, sizeof *it);
    it->rec = rec;
    r->n++;
    if (tokens > BPE_MODEL_LIMIT) {
        it->state = R_REJECT;
        if (asprintf(&it->error, "text of %ld tokens is over the model's limit of %d", tokens,
                     BPE_MODEL_LIMIT) < 0)
            it->error = NULL;
        return remote_emit(r);
    }
    it->sent = strndup(sent, len);
    it->len = len;
    it->tokens = tokens;
    if (!it->sent) return NZ_ENOMEM;
    vcache_key(r->o.provider, r->o.model, r->o.dim, sent, len, it->key);
    if (r->o.cache) {
        float *v = malloc(r->o.dim * sizeof *v);
        if (!v) return NZ_ENOMEM;
        if (vcache_get(r->o.cache, it->key, r->o.dim, v) == 1) {
            it->vec = v;
            it->state = R_READY;
            r->stats.cache_hits++;
            return remote_emit(r);
        }
        free(v); /* not there (or unreadable): it is sent */
    }
    char hex[2 * VCACHE_KEY_LEN + 1];
    remote_key_hex(it->key, hex);
    json_t *w = json_object_get(r->waiting, hex);
    if (w) { /* the same text is already on its way */
        ritem *orig = remote_item(r, (size_t)json_integer_value(w));
        size_t *nt = realloc(orig->twins, (orig->ntwins + 1) * sizeof *nt);
        if (!nt) return NZ_ENOMEM;
        orig->twins = nt;
        orig->twins[orig->ntwins++] = seq;
        return NZ_OK;
    }
    json_object_set_new(r->waiting, hex, json_integer((json_int_t)seq));
    if ((rc = remote_batch_add(r, it, seq)) < 0) return rc;
    /* keep the pipe full without blocking: let finished requests land.
     * Right after a batch is sealed (it goes out now), else every 16th
     * record: a pump is a libcurl round of system calls, and a record
     * takes a few microseconds. */
    if (r->cl && client_pending(r->cl) && ++r->since_pump >= 16) {
        r->since_pump = 0;
        if ((rc = remote_pump(r, 0)) < 0) return rc;
    }
    return remote_emit(r);
}

int remote_finish(remote *r) {
    int rc = r->failed ? r->failed : remote_seal(r);
    while (rc == NZ_OK && r->cl && client_pending(r->cl))
        if ((rc = remote_pump(r, 1.0)) == NZ_OK) rc = remote_emit(r);
    if (rc == NZ_OK) rc = remote_emit(r);
    if (rc == NZ_OK && r->n) rc = NZ_EUNAVAILABLE; /* a record left without its vector */
    return rc == NZ_OK ? NZ_OK : remote_stop(r, rc);
}

int remote_stop(remote *r, int status) {
    remote_fail(r, status);
    if (r->cl) { /* no request starts; those in flight land, and their vectors are kept */
        client_stop(r->cl);
        while (client_pending(r->cl) && client_run(r->cl, 1.0, remote_done, r) == NZ_OK) {
        }
    }
    while (r->n) { /* in order, every record that has its vector, past the gaps */
        ritem *it = remote_item(r, r->base);
        if (it->state == R_WAIT || (it->state == R_READY && r->out_broken)) {
            r->stats.not_embedded++;
            remote_item_free(it);
            r->base++;
            r->n--;
        } else if (remote_settle(r, it) < 0) {
            r->stats.not_embedded++;
        }
    }
    return r->failed;
}
