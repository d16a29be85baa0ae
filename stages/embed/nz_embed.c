/* nz-embed -- chunks.jsonl in, embedded.jsonl out.
 *
 * Plumbing stage: every chunk record gets `provider`, `model`, `dim` and
 * `embedding` (base64 of little-endian float32, the OpenAI API's own
 * encoding) of exactly what a provider is sent: the chunk's `context`, a
 * blank line, then its `text`. All other fields pass through untouched and
 * records leave in the order they came.
 *
 * Providers:
 *  - `hash` (offline, deterministic; lib/hashembed.h) embeds batches of
 *    records in parallel with OpenMP;
 *  - `openai`: any OpenAI-compatible /v1/embeddings (remote.h): batches in
 *    parallel over libcurl, a vector cache that makes re-runs free and
 *    resumes killed runs, retries with backoff, pacing to rate limits.
 * The run ends with one JSON stats line: requests, retries by cause, cache
 * hits, tokens and the estimated cost.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicio.h"
#include "config.h"
#include "hashembed.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "bpe.h"
#include "progress.h"
#include "remote.h"
#include "vecb64.h"

#define EMBED_BATCH 1024

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-embed [options] [FILE...]\n"
            "\n"
            "Add embeddings to chunks.jsonl records (stdin or FILEs).\n"
            "\n"
            "  -o, --output FILE    write to FILE atomically instead of stdout\n"
            "      --provider P     hash | openai        (env EMBEDDING_PROVIDER, default hash)\n"
            "      --model M        model name           (env EMBEDDING_MODEL)\n"
            "      --dim N          vector size          (env EMBEDDING_DIMENSIONS, default 1536)\n"
            "  openai provider (env OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, "
            "OPENAI_PROJECT_ID):\n"
            "      --batch N        inputs a request, at most 2048 (default 2048)\n"
            "      --concurrency N  requests in flight (default 4)\n"
            "      --rpm N, --tpm N pace to requests / tokens a minute\n"
            "      --timeout S      seconds a request (default 60)\n"
            "      --max-retries N  attempts after the first (default 8)\n"
            "      --cache DIR      vector cache (default: embed-cache beside INDEX_PATH)\n"
            "      --no-cache       neither read nor write the cache\n"
            "      --price-per-mtok USD  for the cost estimate (default 0.02)\n"
            "      --max-line N     reject input lines longer than N bytes\n"
            "  -h, --help           show this help\n"
            "      --version        show the version\n"
            "\n"
            "Exit: 0 ok, 1 failure, 2 usage, 3 some records rejected.\n");
}

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
} embed_ctx;

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

/* Embed and write one batch, in order. -1 on a write error. */
static int embed_flush(embed_ctx *cx, embed_item *items, size_t n, const char *name) {
    long i;
#pragma omp parallel for schedule(dynamic, 16)
    for (i = 0; i < (long)n; i++) embed_hash_one(&items[i], cx->dim);
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        embed_item *it = &items[k];
        if (rc == 0) {
            if (it->error || !it->b64) {
                const char *uri = jsonl_str(it->rec, "uri");
                log_reject(uri ? uri : name, "%s", it->error ? it->error : "out of memory");
                cx->rejected++;
            } else {
                json_object_set_new(it->rec, "provider", json_string(cx->provider));
                json_object_set_new(it->rec, "model", json_string(cx->model));
                json_object_set_new(it->rec, "dim", json_integer((json_int_t)cx->dim));
                json_object_set_new(it->rec, "embedding", json_string_nocheck(it->b64));
                if (jsonl_write(cx->out, it->rec) < 0) {
                    log_error("write error: %s", strerror(errno));
                    rc = -1;
                }
                cx->embedded++;
            }
        }
        embed_item_free(it);
    }
    progress_add(&cx->prog, n);
    return rc;
}

/* One chunk record for a remote provider. */
static int embed_record_remote(embed_ctx *cx, json_t *rec, const char *name, size_t lineno) {
    embed_item it = {.rec = rec};
    embed_prepare(&it, name, lineno);
    progress_add(&cx->prog, 1);
    if (it.error || !it.sent) {
        const char *uri = jsonl_str(rec, "uri");
        log_reject(uri ? uri : name, "%s", it.error ? it.error : "out of memory");
        cx->rejected++;
        free(it.error);
        json_decref(rec);
        return 0;
    }
    size_t len = strlen(it.sent);
    long tokens = jsonl_int(rec, "tokens", -1);
    if (tokens <
        0) { /* not from nz-chunk: count them (the tables are built once, when first needed) */
        char err[256];
        if (!cx->bpe_ready && bpe_init(err, sizeof err) < 0) {
            log_error("tokenizer: %s", err);
            free(it.sent);
            json_decref(rec);
            return -1;
        }
        cx->bpe_ready = 1;
        tokens = bpe_count(it.sent, len);
    }
    int rc = remote_add(cx->rm, rec, it.sent, len, tokens, name);
    free(it.sent);
    return rc;
}

/* One chunk record: queue it; a full batch is embedded and written. */
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
    return 0;
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

int main(int argc, char **argv) {
    log_init("nz-embed");
    const char *output = NULL, *cache_dir = NULL;
    long max_line = (long)JSONL_DEFAULT_MAX_LINE, dim, batch = 2048, concurrency = 4, timeout = 60,
         max_retries = 8;
    double rpm = 0, tpm = 0, price = 0.02;
    int no_cache = 0;
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"provider", required_argument, 0, 'p'},
                                             {"model", required_argument, 0, 'm'},
                                             {"dim", required_argument, 0, 'd'},
                                             {"max-line", required_argument, 0, 'L'},
                                             {"batch", required_argument, 0, 'b'},
                                             {"concurrency", required_argument, 0, 'c'},
                                             {"rpm", required_argument, 0, 'R'},
                                             {"tpm", required_argument, 0, 'T'},
                                             {"timeout", required_argument, 0, 't'},
                                             {"max-retries", required_argument, 0, 'r'},
                                             {"cache", required_argument, 0, 'C'},
                                             {"no-cache", no_argument, 0, 'N'},
                                             {"price-per-mtok", required_argument, 0, 'P'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'p': config_set(CFG_EMBEDDING_PROVIDER, optarg); break;
        case 'm': config_set(CFG_EMBEDDING_MODEL, optarg); break;
        case 'd': config_set(CFG_EMBEDDING_DIMENSIONS, optarg); break;
        case 'L':
            if (config_parse_long("--max-line", optarg, 1024, 1L << 40, &max_line) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'b':
            if (config_parse_long("--batch", optarg, 1, 2048, &batch) < 0) return NZ_EXIT_USAGE;
            break;
        case 'c':
            if (config_parse_long("--concurrency", optarg, 1, 64, &concurrency) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'R':
            if (config_parse_long("--rpm", optarg, 1, 100000000, &v) < 0) return NZ_EXIT_USAGE;
            rpm = (double)v;
            break;
        case 'T':
            if (config_parse_long("--tpm", optarg, 1, 1000000000, &v) < 0) return NZ_EXIT_USAGE;
            tpm = (double)v;
            break;
        case 't':
            if (config_parse_long("--timeout", optarg, 1, 3600, &timeout) < 0) return NZ_EXIT_USAGE;
            break;
        case 'r':
            if (config_parse_long("--max-retries", optarg, 0, 100, &max_retries) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'C': cache_dir = optarg; break;
        case 'N': no_cache = 1; break;
        case 'P': {
            char *end;
            price = strtod(optarg, &end);
            if (*end || price < 0) {
                log_error("--price-per-mtok: expected a number of dollars, got \"%s\"", optarg);
                return NZ_EXIT_USAGE;
            }
            break;
        }
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-embed %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (config_long(CFG_EMBEDDING_DIMENSIONS, 1, CONFIG_MAX_DIM, &dim) < 0) return NZ_EXIT_USAGE;
    embed_ctx cx = {.dim = (size_t)dim};
    cx.provider = config_get(CFG_EMBEDDING_PROVIDER);
    vcache *cache = NULL;
    char *endpoint = NULL, *default_cache = NULL;
    int exit_code = NZ_EXIT_FAIL;
    out_stream out = {0};
    if (strcmp(cx.provider, "hash") == 0) {
        cx.model = HASHEMBED_MODEL; /* the hash provider has one model */
    } else if (strcmp(cx.provider, "openai") == 0) {
        cx.model = config_get(CFG_EMBEDDING_MODEL);
        const char *key = config_get(CFG_OPENAI_API_KEY);
        if (!key || !*key) {
            log_error("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY");
            return NZ_EXIT_USAGE;
        }
        char err[512];
        if (!(endpoint = openai_endpoint(config_get(CFG_OPENAI_BASE_URL)))) return NZ_EXIT_FAIL;
        if (!no_cache) {
            if (!cache_dir && !(cache_dir = default_cache = embed_default_cache()))
                return NZ_EXIT_FAIL;
            if (!(cache = vcache_open(cache_dir, err, sizeof err))) {
                log_error("%s", err);
                goto done;
            }
            if (vcache_recovered(cache))
                log_warn("embedding cache: a torn record of %llu bytes at the end was dropped",
                         (unsigned long long)vcache_recovered(cache));
        }
        remote_opts ro = {.co = {.endpoint = endpoint,
                                 .model = cx.model,
                                 .api_key = key,
                                 .organization = getenv("OPENAI_ORG_ID"),
                                 .project = getenv("OPENAI_PROJECT_ID"),
                                 .dim = (uint32_t)dim,
                                 .concurrency = (int)concurrency,
                                 .max_retries = (int)max_retries,
                                 .timeout = timeout,
                                 .rpm = rpm,
                                 .tpm = tpm},
                          .provider = "openai",
                          .model = cx.model,
                          .dim = (uint32_t)dim,
                          .batch = (size_t)batch,
                          .batch_tokens = 300000,
                          .cache = cache};
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (out_open(&out, output) < 0) {
            log_error("cannot open output %s: %s", output, strerror(errno));
            goto done;
        }
        if (!(cx.rm = remote_new(&ro, out.fp, err, sizeof err))) {
            log_error("%s", err);
            out_abort(&out);
            goto done;
        }
    } else {
        log_error("EMBEDDING_PROVIDER: unknown provider \"%s\" (hash, openai)", cx.provider);
        return NZ_EXIT_USAGE;
    }
    if (!out.fp && out_open(&out, output) < 0) {
        log_error("cannot open output %s: %s", output, strerror(errno));
        goto done;
    }
    cx.out = out.fp;
    progress_start(&cx.prog, "embed", 0);
    if (!(cx.items = calloc(EMBED_BATCH, sizeof *cx.items))) {
        log_error("out of memory");
        out_abort(&out);
        goto done;
    }
    int failed = jsonl_each(argc - optind, argv + optind, (size_t)max_line, embed_record, &cx,
                            &cx.rejected) < 0;
    if (cx.rm) {
        if (!failed) failed = remote_finish(cx.rm) < 0;
    } else if (!failed) {
        failed = embed_flush(&cx, cx.items, cx.n, "-") < 0;
    } else {
        embed_flush_discard(cx.items, cx.n);
    }
    free(cx.items);
    progress_finish(&cx.prog);
    json_t *stats =
        json_pack("{s:s,s:s,s:i}", "provider", cx.provider, "model", cx.model, "dim", (int)cx.dim);
    if (cx.rm) {
        const remote_stats *rs = remote_get_stats(cx.rm);
        const client_stats *cs = remote_client_stats(cx.rm);
        cx.embedded = rs->embedded;
        cx.rejected += rs->rejected;
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
        json_object_set_new(stats, "tokens", json_integer(rs->usage_tokens));
        json_object_set_new(stats, "cost_usd", json_real((double)rs->usage_tokens / 1e6 * price));
        json_object_set_new(stats, "waited_seconds", json_real(cs->waited_seconds));
    }
    json_object_set_new(stats, "embedded", json_integer(cx.embedded));
    json_object_set_new(stats, "rejected", json_integer(cx.rejected));
    if (failed) {
        out_abort(&out);
        log_fields(LOG_ERROR, "failed: everything already embedded is in the cache", stats);
        goto done;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        json_decref(stats);
        goto done;
    }
    log_fields(LOG_INFO, "done", stats);
    exit_code = cx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
done:
    remote_free(cx.rm);
    vcache_close(cache);
    free(endpoint);
    free(default_cache);
    return exit_code;
}
