/* embed.c -- see embed.h. The hash provider fills a batch of records,
 * embeds it in parallel and writes it in order (embed_flush); the openai
 * provider hands each record to remote.h, which keeps the order itself. */
#include "embed.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicio.h"
#include "bpe.h"
#include "config.h"
#include "hashembed.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "ratebudget.h"
#include "remote.h"
#include "status.h"
#include "vecb64.h"

typedef struct embed_item {
    json_t *rec; /* owned */
    char *sent;  /* what the provider embeds */
    char *error; /* rejection reason, or NULL */
    char *b64;   /* the encoded vector */
} embed_item;

typedef struct embed_ctx {
    const char *provider, *model;
    size_t dim;
    FILE *out;
    long embedded, rejected;
    progress prog;
    embed_item *items; /* the batch being filled (hash) */
    size_t n;
    remote *rm;    /* the openai provider */
    int bpe_ready; /* the tokenizer, for records without "tokens" */
    vcache *cache; /* openai, unless --no-cache */
    char *endpoint, *default_cache;
    ratebudget *budget; /* --shared-budget */
    int budget_warned;
} embed_ctx;

/* client_opts.budget over the shared budget: a failure is logged once. */
static int embed_take_budget(void *ctx, long tokens, double *wait) {
    embed_ctx *cx = ctx;
    char err[512];
    int rc = ratebudget_take(cx->budget, tokens, wait, err, sizeof err);
    if (rc < 0 && !cx->budget_warned++) log_warn("%s: waiting, then asking again", err);
    if (rc == NZ_OK) cx->budget_warned = 0;
    return rc;
}

/* Build the text sent for a record, or set item->error. */
static void embed_prepare(embed_item *it, const char *name, size_t lineno) {
    const char *text = jsonl_str(it->rec, "text");
    const char *context = jsonl_str(it->rec, "context");
    if (!text) {
        if (asprintf(&it->error, "%s: line %zu: record has no \"text\" string", name, lineno) < 0)
            it->error = NULL;
        return;
    }
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (!*p) {
        if (asprintf(&it->error, "%s: line %zu: empty text is never embedded", name, lineno) < 0)
            it->error = NULL;
        return;
    }
    int n = context && *context ? asprintf(&it->sent, "%s\n\n%s", context, text)
                                : asprintf(&it->sent, "%s", text);
    if (n < 0) it->sent = NULL;
}

static void embed_hash_one(embed_item *it, size_t dim) {
    if (it->error || !it->sent) return;
    float *v = malloc(dim * sizeof *v);
    if (!v) {
        it->error = strdup("out of memory");
        return;
    }
    long nf = hashembed(it->sent, strlen(it->sent), v, dim);
    if (nf < 0) it->error = strdup("text cannot be embedded (invalid UTF-8 or out of memory)");
    else if (nf == 0) it->error = strdup("text has no words to embed");
    else if (!(it->b64 = vecb64_encode(v, dim))) it->error = strdup("out of memory");
    free(v);
}

static void embed_item_free(embed_item *it) {
    json_decref(it->rec);
    free(it->sent);
    free(it->error);
    free(it->b64);
    memset(it, 0, sizeof *it);
}

static void embed_flush_discard(embed_item *items, size_t n) {
    for (size_t k = 0; k < n; k++) embed_item_free(&items[k]);
}

/* Reject a record that was not embedded, saying why. */
static void embed_reject(embed_ctx *cx, const embed_item *it, const char *name) {
    const char *uri = jsonl_str(it->rec, "uri");
    log_reject(uri ? uri : name, "%s", it->error ? it->error : "out of memory");
    cx->rejected++;
}

/* Embed and write one batch, in order. NZ_OK, or NZ_EIO on a write
 * error. */
static int embed_flush(embed_ctx *cx, embed_item *items, size_t n, const char *name) {
    long i;
#pragma omp parallel for schedule(dynamic, 16)
    for (i = 0; i < (long)n; i++) embed_hash_one(&items[i], cx->dim);
    int rc = NZ_OK;
    for (size_t k = 0; k < n; k++) {
        embed_item *it = &items[k];
        if (rc == NZ_OK) {
            if (it->error || !it->b64) {
                embed_reject(cx, it, name);
            } else {
                json_object_set_new(it->rec, "provider", json_string(cx->provider));
                json_object_set_new(it->rec, "model", json_string(cx->model));
                json_object_set_new(it->rec, "dim", json_integer((json_int_t)cx->dim));
                json_object_set_new(it->rec, "embedding", json_string_nocheck(it->b64));
                if (jsonl_write(cx->out, it->rec) < 0) {
                    log_error("write error: %s", strerror(errno));
                    rc = NZ_EIO;
                }
                cx->embedded++;
            }
        }
        embed_item_free(it);
    }
    progress_add(&cx->prog, n);
    return rc;
}

/* One chunk record for a remote provider: NZ_OK, or remote_add's status,
 * or bpe_init's when the tokenizer cannot be built. */
static int embed_record_remote(embed_ctx *cx, json_t *rec, const char *name, size_t lineno) {
    embed_item it = {.rec = rec};
    embed_prepare(&it, name, lineno);
    progress_add(&cx->prog, 1);
    if (it.error || !it.sent) {
        embed_reject(cx, &it, name);
        free(it.error);
        json_decref(rec);
        return NZ_OK;
    }
    size_t len = strlen(it.sent);
    long tokens = jsonl_int(rec, "tokens", -1);
    if (tokens < 0) { /* not from nz-chunk: count them (the tables are built once, when needed) */
        char err[256];
        int st = cx->bpe_ready ? NZ_OK : bpe_init(err, sizeof err);
        if (st < 0) {
            log_error("tokenizer: %s", err);
            free(it.sent);
            json_decref(rec);
            return st;
        }
        cx->bpe_ready = 1;
        tokens = bpe_count(it.sent, len);
    }
    int rc = remote_add(cx->rm, rec, it.sent, len, tokens, name);
    free(it.sent);
    return rc;
}

/* One chunk record (jsonl_each): queue it; a full batch is embedded and
 * written. */
static int embed_record(void *vctx, json_t *rec, const char *name, size_t lineno) {
    embed_ctx *cx = vctx;
    if (cx->rm) return embed_record_remote(cx, rec, name, lineno);
    embed_item *it = &cx->items[cx->n];
    it->rec = rec;
    embed_prepare(it, name, lineno);
    if (!it->error && !it->sent) it->error = strdup("out of memory");
    if (++cx->n == EMBED_BATCH) {
        size_t n = cx->n;
        cx->n = 0;
        return embed_flush(cx, cx->items, n, name);
    }
    return NZ_OK;
}

/* The default cache: embed-cache beside INDEX_PATH. */
static char *embed_default_cache(void) {
    const char *ix = config_get(CFG_INDEX_PATH);
    char *copy = strdup(ix), *out = NULL;
    if (!copy) return NULL;
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) *slash = '\0';
    else if (slash) copy[1] = '\0';
    else strcpy(copy, ".");
    if (asprintf(&out, "%s/embed-cache", copy) < 0) out = NULL;
    free(copy);
    return out;
}

/* The openai provider before the output opens: the key, the endpoint, the
 * cache, libcurl. NZ_EXIT_OK with *ro filled, or the exit code. */
static int embed_openai_setup(embed_ctx *cx, const embed_options *o, remote_opts *ro) {
    cx->model = config_get(CFG_EMBEDDING_MODEL);
    const char *key = config_get(CFG_OPENAI_API_KEY);
    if (!key || !*key) {
        log_error("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY");
        return NZ_EXIT_USAGE;
    }
    if (!(cx->endpoint = openai_endpoint(config_get(CFG_OPENAI_BASE_URL)))) return NZ_EXIT_FAIL;
    if (!o->no_cache) {
        const char *dir = o->cache_dir;
        char err[512];
        if (!dir && !(dir = cx->default_cache = embed_default_cache())) return NZ_EXIT_FAIL;
        if (!(cx->cache = vcache_open(dir, err, sizeof err))) {
            log_error("%s", err);
            return NZ_EXIT_FAIL;
        }
        if (vcache_recovered(cx->cache))
            log_warn("embedding cache: a torn record of %llu bytes at the end was dropped",
                     (unsigned long long)vcache_recovered(cx->cache));
    }
    if (o->shared) {
        const char *url = config_get(CFG_DATABASE_URL);
        char err[512];
        if (!url || !*url) {
            log_error("--shared-budget needs DATABASE_URL (the PostgreSQL catalog)");
            return NZ_EXIT_USAGE;
        }
        if (o->rpm <= 0 && o->tpm <= 0) {
            log_error("--shared-budget needs --rpm or --tpm");
            return NZ_EXIT_USAGE;
        }
        if (!(cx->budget = ratebudget_open(url, o->shared, o->rpm, o->tpm, err, sizeof err))) {
            log_error("%s", err);
            return NZ_EXIT_FAIL;
        }
    }
    *ro = (remote_opts){.co = {.endpoint = cx->endpoint,
                               .model = cx->model,
                               .api_key = key,
                               .organization = getenv("OPENAI_ORG_ID"),
                               .project = getenv("OPENAI_PROJECT_ID"),
                               .dim = (uint32_t)cx->dim,
                               .concurrency = (int)o->concurrency,
                               .max_retries = (int)o->max_retries,
                               .timeout = o->timeout,
                               .rpm = o->rpm,
                               .tpm = o->tpm,
                               .budget = cx->budget ? embed_take_budget : NULL,
                               .budget_ctx = cx},
                        .provider = "openai",
                        .model = cx->model,
                        .dim = (uint32_t)cx->dim,
                        .batch = (size_t)o->batch,
                        .batch_tokens = 300000,
                        .cache = cx->cache};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return NZ_EXIT_OK;
}

/* The provider and the output. NZ_EXIT_OK, or the exit code (the output
 * is then closed). */
static int embed_setup(embed_ctx *cx, const embed_options *o, out_stream *out) {
    remote_opts ro;
    int openai = 0, rc;
    cx->provider = config_get(CFG_EMBEDDING_PROVIDER);
    if (strcmp(cx->provider, "hash") == 0) {
        cx->model = HASHEMBED_MODEL; /* the hash provider has one model */
    } else if (strcmp(cx->provider, "openai") == 0) {
        if ((rc = embed_openai_setup(cx, o, &ro)) != NZ_EXIT_OK) return rc;
        openai = 1;
    } else {
        log_error("EMBEDDING_PROVIDER: unknown provider \"%s\" (hash, openai)", cx->provider);
        return NZ_EXIT_USAGE;
    }
    if (out_open(out, o->output) < 0) {
        log_error("cannot open output %s: %s", o->output, strerror(errno));
        return NZ_EXIT_FAIL;
    }
    if (openai) {
        char err[512];
        if (!(cx->rm = remote_new(&ro, out->fp, err, sizeof err))) {
            log_error("%s", err);
            out_abort(out);
            return NZ_EXIT_FAIL;
        }
    }
    cx->out = out->fp;
    return NZ_EXIT_OK;
}

/* The stats line's fields (see embed.h). */
static json_t *embed_stats(const embed_ctx *cx, double price_per_mtok) {
    json_t *stats = json_pack("{s:s,s:s,s:i}", "provider", cx->provider, "model", cx->model, "dim",
                              (int)cx->dim);
    if (cx->rm) {
        const remote_stats *rs = remote_get_stats(cx->rm);
        const client_stats *cs = remote_client_stats(cx->rm);
        json_t *retries = json_object();
        long total_retries = 0;
        for (int k = 0; k < CAUSE_COUNT; k++) {
            json_object_set_new(retries, openai_cause_names[k], json_integer(cs->retries[k]));
            total_retries += cs->retries[k];
        }
        json_object_set_new(stats, "requests", json_integer(cs->requests));
        json_object_set_new(stats, "retries", json_integer(total_retries));
        json_object_set_new(stats, "retries_by_cause", retries);
        json_object_set_new(stats, "cache_hits", json_integer(rs->cache_hits));
        json_object_set_new(stats, "sent", json_integer(rs->sent));
        json_object_set_new(stats, "paid", json_integer(rs->paid));
        json_object_set_new(stats, "not_embedded", json_integer(rs->not_embedded));
        json_object_set_new(stats, "tokens", json_integer(rs->usage_tokens));
        json_object_set_new(stats, "cost_usd",
                            json_real((double)rs->usage_tokens / 1e6 * price_per_mtok));
        json_object_set_new(stats, "waited_seconds", json_real(cs->waited_seconds));
    }
    json_object_set_new(stats, "embedded", json_integer(cx->embedded));
    json_object_set_new(stats, "rejected", json_integer(cx->rejected));
    return stats;
}

/* Read every input through the provider; 1 when the run failed. */
static int embed_all(embed_ctx *cx, const embed_options *o) {
    size_t max = (size_t)o->max_line;
    int failed =
        (o->in ? jsonl_each_fp(o->in, "-", max, embed_record, cx, &cx->rejected)
               : jsonl_each(o->nfiles, o->files, max, embed_record, cx, &cx->rejected)) < 0;
    if (cx->rm) {
        failed = (failed ? remote_stop(cx->rm, NZ_ESTOPPED) : remote_finish(cx->rm)) < 0;
        const remote_stats *rs = remote_get_stats(cx->rm);
        cx->embedded = rs->embedded;
        cx->rejected += rs->rejected;
    } else if (!failed) {
        failed = embed_flush(cx, cx->items, cx->n, "-") < 0;
    } else {
        embed_flush_discard(cx->items, cx->n);
    }
    return failed;
}

int embed_run(const embed_options *o) {
    embed_ctx cx = {.dim = o->dim};
    out_stream out = {0};
    int exit_code = embed_setup(&cx, o, &out);
    if (exit_code != NZ_EXIT_OK) goto fail;
    exit_code = NZ_EXIT_FAIL;
    progress_start(&cx.prog, "embed", 0);
    if (!(cx.items = calloc(EMBED_BATCH, sizeof *cx.items))) {
        log_error("out of memory");
        out_abort(&out);
        goto fail;
    }
    int failed = embed_all(&cx, o);
    free(cx.items);
    progress_finish(&cx.prog);
    json_t *stats = embed_stats(&cx, o->price_per_mtok);
    if (failed) {
        out_abort(&out);
        log_fields(LOG_ERROR,
                   out.is_file ? "failed: the output is not written; what was paid for is cached"
                               : "failed: what was embedded is written out; what was paid for is "
                                 "cached",
                   stats);
        goto fail;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        json_decref(stats);
        goto fail;
    }
    log_fields(LOG_INFO, "done", stats);
    exit_code = cx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
fail:
    remote_free(cx.rm);
    vcache_close(cx.cache);
    ratebudget_close(cx.budget);
    free(cx.endpoint);
    free(cx.default_cache);
    return exit_code;
}
