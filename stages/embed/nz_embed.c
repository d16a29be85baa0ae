/* nz-embed -- chunks.jsonl in, embedded.jsonl out.
 *
 * Plumbing stage: every chunk record gets `provider`, `model`, `dim` and
 * `embedding` (base64 of little-endian float32, the OpenAI API's own
 * encoding) of exactly what a provider is sent: the chunk's `context`, a
 * blank line, then its `text`. All other fields pass through untouched and
 * records leave in the order they came.
 *
 * Providers: `hash` (offline, deterministic; see lib/hashembed.h) embeds
 * batches of records in parallel with OpenMP. Records are read in batches
 * of EMBED_BATCH so memory stays bounded on any input size.
 */
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
#include "progress.h"
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
            "      --max-line N     reject input lines longer than N bytes\n"
            "  -h, --help           show this help\n"
            "      --version        show the version\n"
            "\n"
            "Exit: 0 ok, 1 failure, 2 usage, 3 some records rejected.\n");
}

typedef struct embed_item {
    json_t *rec;    /* owned */
    char *sent;     /* what the provider embeds */
    char *error;    /* rejection reason, or NULL */
    char *b64;      /* the encoded vector */
} embed_item;

typedef struct embed_ctx {
    const char *provider, *model;
    size_t dim;
    FILE *out;
    long embedded, rejected;
    progress prog;
    embed_item *items; /* the batch being filled */
    size_t n;
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
    if (nf < 0)
        it->error = strdup("text cannot be embedded (invalid UTF-8 or out of memory)");
    else if (nf == 0)
        it->error = strdup("text has no words to embed");
    else if (!(it->b64 = vecb64_encode(v, dim)))
        it->error = strdup("out of memory");
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

/* One chunk record: queue it; a full batch is embedded and written. */
static int embed_record(void *vctx, json_t *rec, const char *name, size_t lineno) {
    embed_ctx *cx = vctx;
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

int main(int argc, char **argv) {
    log_init("nz-embed");
    const char *output = NULL;
    long max_line = (long)JSONL_DEFAULT_MAX_LINE, dim;
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"provider", required_argument, 0, 'p'},
                                             {"model", required_argument, 0, 'm'},
                                             {"dim", required_argument, 0, 'd'},
                                             {"max-line", required_argument, 0, 'L'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int c;
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
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-embed %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (config_long(CFG_EMBEDDING_DIMENSIONS, 1, CONFIG_MAX_DIM, &dim) < 0) return NZ_EXIT_USAGE;
    embed_ctx cx = {.dim = (size_t)dim};
    cx.provider = config_get(CFG_EMBEDDING_PROVIDER);
    if (strcmp(cx.provider, "hash") == 0) {
        cx.model = HASHEMBED_MODEL; /* the hash provider has one model */
    } else if (strcmp(cx.provider, "openai") == 0) {
        log_error("EMBEDDING_PROVIDER=openai is not available in this build yet; use hash");
        return NZ_EXIT_USAGE;
    } else {
        log_error("EMBEDDING_PROVIDER: unknown provider \"%s\" (hash, openai)", cx.provider);
        return NZ_EXIT_USAGE;
    }
    out_stream out;
    if (out_open(&out, output) < 0) {
        log_error("cannot open output %s: %s", output, strerror(errno));
        return NZ_EXIT_FAIL;
    }
    cx.out = out.fp;
    progress_start(&cx.prog, "embed", 0);
    if (!(cx.items = calloc(EMBED_BATCH, sizeof *cx.items))) {
        log_error("out of memory");
        out_abort(&out);
        return NZ_EXIT_FAIL;
    }
    int failed = jsonl_each(argc - optind, argv + optind, (size_t)max_line, embed_record, &cx,
                            &cx.rejected) < 0;
    if (!failed) failed = embed_flush(&cx, cx.items, cx.n, "-") < 0;
    else embed_flush_discard(cx.items, cx.n);
    free(cx.items);
    progress_finish(&cx.prog);
    if (failed) {
        out_abort(&out);
        return NZ_EXIT_FAIL;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        return NZ_EXIT_FAIL;
    }
    log_fields(LOG_INFO, "done",
               json_pack("{s:s,s:s,s:i,s:i,s:i}", "provider", cx.provider, "model", cx.model,
                         "dim", (int)cx.dim, "embedded", (int)cx.embedded, "rejected",
                         (int)cx.rejected));
    return cx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}
