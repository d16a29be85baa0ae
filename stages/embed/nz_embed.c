/* nz-embed -- chunks.jsonl in, embedded.jsonl out.
 *
 * Plumbing stage: every chunk record gets `provider`, `model`, `dim` and
 * `embedding` of exactly what a provider is sent; all other fields pass
 * through and records leave in the order they came. This file parses the
 * options; the work (the hash and openai providers, the stats line) is
 * embed_run() in embed.h.
 */
#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "embed.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

#define EMBED_GO (-1) /* embed_parse: go on and run */

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
            "      --shared-budget NAME  share that pace with every process using NAME,\n"
            "                       through DATABASE_URL's catalog (nz-pipeline work)\n"
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

/* Parse the flags into *o (provider, model and dim go to config.h). EMBED_GO,
 * or the exit code for --help, --version and usage errors. */
static int embed_parse(int argc, char **argv, embed_options *o) {
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"provider", required_argument, 0, 'p'},
                                             {"model", required_argument, 0, 'm'},
                                             {"dim", required_argument, 0, 'd'},
                                             {"max-line", required_argument, 0, 'L'},
                                             {"batch", required_argument, 0, 'b'},
                                             {"concurrency", required_argument, 0, 'c'},
                                             {"rpm", required_argument, 0, 'R'},
                                             {"tpm", required_argument, 0, 'T'},
                                             {"shared-budget", required_argument, 0, 'S'},
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
        case 'o': o->output = optarg; break;
        case 'p': config_set(CFG_EMBEDDING_PROVIDER, optarg); break;
        case 'm': config_set(CFG_EMBEDDING_MODEL, optarg); break;
        case 'd': config_set(CFG_EMBEDDING_DIMENSIONS, optarg); break;
        case 'L':
            if (config_parse_long("--max-line", optarg, 1024, 1L << 40, &o->max_line) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'b':
            if (config_parse_long("--batch", optarg, 1, 2048, &o->batch) < 0) return NZ_EXIT_USAGE;
            break;
        case 'c':
            if (config_parse_long("--concurrency", optarg, 1, 64, &o->concurrency) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'R':
            if (config_parse_long("--rpm", optarg, 1, 100000000, &v) < 0) return NZ_EXIT_USAGE;
            o->rpm = (double)v;
            break;
        case 'T':
            if (config_parse_long("--tpm", optarg, 1, 1000000000, &v) < 0) return NZ_EXIT_USAGE;
            o->tpm = (double)v;
            break;
        case 'S': o->shared = optarg; break;
        case 't':
            if (config_parse_long("--timeout", optarg, 1, 3600, &o->timeout) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'r':
            if (config_parse_long("--max-retries", optarg, 0, 100, &o->max_retries) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'C': o->cache_dir = optarg; break;
        case 'N': o->no_cache = 1; break;
        case 'P':
            if (config_parse_double("--price-per-mtok", optarg, 0, 1e6, &o->price_per_mtok) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-embed %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    o->nfiles = argc - optind;
    o->files = argv + optind;
    return EMBED_GO;
}

int main(int argc, char **argv) {
    log_init("nz-embed");
    embed_options o = {.max_line = (long)JSONL_DEFAULT_MAX_LINE,
                       .batch = 2048,
                       .concurrency = 4,
                       .timeout = 60,
                       .max_retries = 8,
                       .price_per_mtok = 0.02};
    int rc = embed_parse(argc, argv, &o);
    if (rc != EMBED_GO) return rc;
    long dim;
    if (config_long(CFG_EMBEDDING_DIMENSIONS, 1, CONFIG_MAX_DIM, &dim) < 0) return NZ_EXIT_USAGE;
    o.dim = (size_t)dim;
    return embed_run(&o);
}
