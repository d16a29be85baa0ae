/* nz-chunk -- docs.jsonl in, chunks.jsonl out.
 *
 * Plumbing stage: reads document records from stdin (or the files named),
 * cuts each document's blocks into chunks of at most --max-tokens exact
 * cl100k_base tokens (see chunker.h) and writes chunk records to stdout or
 * -o FILE. This file parses and checks the options; the work is
 * chunk_run() in chunk.h.
 */
#include <getopt.h>
#include <stdio.h>

#include "chunk.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

#define CHUNK_GO (-1) /* chunk_parse: go on and run */

static void usage(FILE *f) {
    fprintf(f, "usage: nz-chunk [options] [FILE...]\n"
               "\n"
               "Split docs.jsonl records (stdin or FILEs) into chunks.jsonl.\n"
               "\n"
               "  -o, --output FILE     write to FILE atomically instead of stdout\n"
               "      --max-tokens N    chunk size in cl100k_base tokens, context included\n"
               "                        (default 400, at most 8191)\n"
               "      --min-tokens N    merge smaller chunks into a neighbour (default 50)\n"
               "      --overlap N       repeat up to N tokens of the previous chunk (default 0)\n"
               "      --no-dedupe       keep chunks whose text repeats within a document\n"
               "      --max-line N      reject input lines longer than N bytes (default 1 GiB)\n"
               "  -h, --help            show this help\n"
               "      --version         show the version\n"
               "\n"
               "Exit: 0 ok, 1 failure, 2 usage, 3 some records rejected.\n");
}

/* Parse the flags into *o. CHUNK_GO, or the exit code for --help,
 * --version and usage errors. */
static int chunk_parse(int argc, char **argv, chunk_options *o) {
    chunker_opts *co = &o->chunker;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},   {"max-tokens", required_argument, 0, 't'},
        {"max-line", required_argument, 0, 'L'}, {"min-tokens", required_argument, 0, 'm'},
        {"overlap", required_argument, 0, 'O'},  {"no-dedupe", no_argument, 0, 'D'},
        {"dedupe", no_argument, 0, 'd'},         {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 't':
            if (config_parse_long("--max-tokens", optarg, 16, 8191, &co->max_tokens) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'L':
            if (config_parse_long("--max-line", optarg, 1024, 1L << 40, &o->max_line) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'm':
            if (config_parse_long("--min-tokens", optarg, 0, 8191, &co->min_tokens) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'O':
            if (config_parse_long("--overlap", optarg, 0, 4095, &co->overlap) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'D': co->dedupe = 0; break;
        case 'd': co->dedupe = 1; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-chunk %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    o->nfiles = argc - optind;
    o->files = argv + optind;
    return CHUNK_GO;
}

/* The sizes must leave room for text. 0, or -1 after saying why. */
static int chunk_check(const chunker_opts *co) {
    if (co->overlap * 2 >= co->max_tokens) {
        log_error("--overlap %ld must be under half of --max-tokens %ld", co->overlap,
                  co->max_tokens);
        return -1;
    }
    if (co->min_tokens >= co->max_tokens) {
        log_error("--min-tokens %ld must be under --max-tokens %ld", co->min_tokens,
                  co->max_tokens);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    log_init("nz-chunk");
    chunk_options o = {
        .chunker = {.max_tokens = 400, .min_tokens = 50, .overlap = 0, .dedupe = 1},
        .max_line = (long)JSONL_DEFAULT_MAX_LINE,
    };
    int rc = chunk_parse(argc, argv, &o);
    if (rc != CHUNK_GO) return rc;
    if (chunk_check(&o.chunker) < 0) return NZ_EXIT_USAGE;
    return chunk_run(&o);
}
