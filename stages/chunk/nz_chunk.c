/* nz-chunk -- docs.jsonl in, chunks.jsonl out.
 *
 * Plumbing stage: reads document records from stdin (or the files named),
 * cuts each document's blocks into chunks of at most --max-tokens exact
 * cl100k_base tokens (see chunker.h) and writes chunk records to stdout or
 * -o FILE. A bad record (invalid JSON, no blocks, an over-long line) is
 * rejected with a JSON error line naming its line number; the others go
 * on and the exit code is 3. The final stats line counts documents,
 * chunks, tokens and the duplicate chunks dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicio.h"
#include "bpe.h"
#include "chunker.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "progress.h"

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

typedef struct chunk_ctx {
    const chunker_opts *o;
    FILE *out;
    long docs, rejected;
    chunker_stats stats;
    progress prog;
} chunk_ctx;

/* One document record: chunk it and write its chunks. */
static int chunk_record(void *vctx, json_t *doc, const char *name, size_t lineno) {
    chunk_ctx *cx = vctx;
    char err[256];
    int rc = 0;
    json_t *chunks = chunker_chunk_doc(doc, cx->o, &cx->stats, err, sizeof err);
    if (!chunks) {
        const char *uri = jsonl_str(doc, "uri");
        log_reject(uri ? uri : name, "%s: line %zu: %s", name, lineno, err);
        cx->rejected++;
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        if (jsonl_write(cx->out, c) < 0) {
            log_error("write error: %s", strerror(errno));
            rc = -1;
            goto out;
        }
    }
    cx->docs++;
    progress_add(&cx->prog, 1);
out:
    json_decref(chunks);
    json_decref(doc);
    return rc;
}

int main(int argc, char **argv) {
    log_init("nz-chunk");
    chunker_opts opts = {.max_tokens = 400, .min_tokens = 50, .overlap = 0, .dedupe = 1};
    long max_line = (long)JSONL_DEFAULT_MAX_LINE;
    const char *output = NULL;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},   {"max-tokens", required_argument, 0, 't'},
        {"max-line", required_argument, 0, 'L'}, {"min-tokens", required_argument, 0, 'm'},
        {"overlap", required_argument, 0, 'O'},  {"no-dedupe", no_argument, 0, 'D'},
        {"dedupe", no_argument, 0, 'd'},         {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 't':
            if (config_parse_long("--max-tokens", optarg, 16, 8191, &opts.max_tokens) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'L':
            if (config_parse_long("--max-line", optarg, 1024, 1L << 40, &max_line) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'm':
            if (config_parse_long("--min-tokens", optarg, 0, 8191, &opts.min_tokens) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'O':
            if (config_parse_long("--overlap", optarg, 0, 4095, &opts.overlap) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'D': opts.dedupe = 0; break;
        case 'd': opts.dedupe = 1; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-chunk %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (opts.overlap * 2 >= opts.max_tokens) {
        log_error("--overlap %ld must be under half of --max-tokens %ld", opts.overlap,
                  opts.max_tokens);
        return NZ_EXIT_USAGE;
    }
    if (opts.min_tokens >= opts.max_tokens) {
        log_error("--min-tokens %ld must be under --max-tokens %ld", opts.min_tokens,
                  opts.max_tokens);
        return NZ_EXIT_USAGE;
    }
    char berr[256];
    if (bpe_init(berr, sizeof berr) < 0) {
        log_error("tokenizer: %s", berr);
        return NZ_EXIT_FAIL;
    }
    out_stream out;
    if (out_open(&out, output) < 0) {
        log_error("cannot open output %s: %s", output, strerror(errno));
        return NZ_EXIT_FAIL;
    }
    chunk_ctx cx = {.o = &opts, .out = out.fp};
    progress_start(&cx.prog, "chunk (docs)", 0);
    int failed = jsonl_each(argc - optind, argv + optind, (size_t)max_line, chunk_record, &cx,
                            &cx.rejected) < 0;
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
               json_pack("{s:I,s:I,s:I,s:I,s:I}", "docs", (json_int_t)cx.docs, "chunks",
                         (json_int_t)cx.stats.chunks, "tokens", (json_int_t)cx.stats.tokens,
                         "duplicates_dropped", (json_int_t)cx.stats.duplicates, "rejected",
                         (json_int_t)cx.rejected));
    return cx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}
