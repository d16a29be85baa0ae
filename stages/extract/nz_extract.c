/* nz-extract -- documents in, structured blocks out (docs.jsonl).
 *
 * Plumbing stage. Reads the sources named (files; directories walked in
 * sorted order; --from lists; http(s) URLs; sitemaps, expanded to their
 * pages), turns each into one docs.jsonl record (extract.h) and writes the
 * records to stdout or -o FILE (atomically), in source order.
 *
 * Documents are processed in parallel by --threads worker processes
 * (pool.h), each bounded in time (--timeout), memory (--max-memory), size
 * (--max-bytes) and pages (--max-pages). A source that fails any bound, is
 * malformed, or crashes its worker is rejected with one JSON error line on
 * stderr; every good source is still written, and the exit code is 3.
 *
 * With --known FILE (known.h), sources an earlier run extracted and that
 * did not change are not read or written, only noted (run.h).
 *
 * This file is the command line only: options into a run_options, then
 * run.h does the run (plan.h the tasks, input.h the reading, pool.h the
 * workers).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "nz.h"
#include "run.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-extract [options] SOURCE...\n"
            "\n"
            "Turn documents into docs.jsonl records of structured blocks.\n"
            "SOURCE is a file, a directory (walked recursively, sorted), an http(s) URL,\n"
            "a sitemap URL (expanded to its pages), or - for stdin. Types are sniffed from\n"
            "the bytes: PDF, HTML/XHTML, XML, Markdown, text, and any of them gzipped.\n"
            "\n"
            "  -o, --output FILE    write to FILE atomically instead of stdout\n"
            "      --from FILE      read more sources from FILE, one a line\n"
            "  -j, --threads N      documents in parallel (worker processes; default: cores)\n"
            "      --max-bytes N    reject inputs (or their gzip contents) over N bytes (256 MiB)\n"
            "      --max-pages N    reject PDFs with more than N pages (10000)\n"
            "      --timeout S      reject a document that takes over S seconds (300)\n"
            "      --max-memory N   address-space limit per worker in bytes (8 GiB; 0: none)\n"
            "      --url-timeout S  total time for one HTTP fetch (30)\n"
            "      --state DIR      remember ETag/Last-Modified for conditional GETs\n"
            "      --known FILE     what an earlier run knew (JSON lines: uri, size, mtime,\n"
            "                       sha256, etag, last_modified): unchanged sources are\n"
            "                       noted, not read or written; known ones that are gone\n"
            "                       are noted, not rejected\n"
            "  -h, --help           show this help\n"
            "      --version        show the version\n"
            "\n"
            "Exit: 0 ok, 1 failure, 2 usage, 3 some inputs rejected.\n");
}

/* Options into *o; the sources given into *inputs. -1 to go on, else the
 * exit code (help, version, usage errors). */
static int parse_options(int argc, char **argv, run_options *o, source_list *inputs) {
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"from", required_argument, 0, 'f'},
                                             {"threads", required_argument, 0, 'j'},
                                             {"max-bytes", required_argument, 0, 'm'},
                                             {"max-pages", required_argument, 0, 'P'},
                                             {"timeout", required_argument, 0, 'T'},
                                             {"max-memory", required_argument, 0, 'M'},
                                             {"url-timeout", required_argument, 0, 'U'},
                                             {"state", required_argument, 0, 's'},
                                             {"known", required_argument, 0, 'k'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    char err[600];
    long threads = o->threads, max_memory = (long)o->max_memory, v;
    int c;
    while ((c = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'f':
            if (sources_add_from(inputs, optarg) < 0) {
                log_error("--from %s: %s", optarg, strerror(errno));
                return NZ_EXIT_USAGE;
            }
            break;
        case 'j':
            if (config_parse_long("--threads", optarg, 1, 256, &threads) < 0) goto usage;
            break;
        case 'm':
            if (config_parse_long("--max-bytes", optarg, 1, LONG_MAX, &v) < 0) goto usage;
            o->eo.max_bytes = o->fo.max_bytes = v;
            break;
        case 'P':
            if (config_parse_long("--max-pages", optarg, 1, 1000000, &o->eo.max_pages) < 0)
                goto usage;
            break;
        case 'T':
            if (config_parse_long("--timeout", optarg, 1, 86400, &o->timeout) < 0) goto usage;
            break;
        case 'M':
            if (config_parse_long("--max-memory", optarg, 0, LONG_MAX, &max_memory) < 0) goto usage;
            break;
        case 'U':
            if (config_parse_long("--url-timeout", optarg, 1, 3600, &o->fo.timeout) < 0) goto usage;
            break;
        case 's': o->fo.state_dir = optarg; break;
        case 'k':
            known_free(&o->known); /* the last --known counts */
            if (known_load(&o->known, optarg, err, sizeof err) < 0) {
                log_error("--known: %s", err);
                return NZ_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        case 'V': printf("nz-extract %s\n", NZ_VERSION); return NZ_EXIT_OK;
        default: goto usage;
        }
    }
    o->threads = (int)threads;
    o->max_memory = (unsigned long)max_memory;
    for (int i = optind; i < argc; i++)
        if (sources_add(inputs, argv[i]) < 0) {
            log_error("out of memory listing sources");
            return NZ_EXIT_FAIL;
        }
    if (inputs->n > 0) return -1;
usage:
    usage(stderr);
    return NZ_EXIT_USAGE;
}

int main(int argc, char **argv) {
    log_init("nz-extract");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    source_list inputs = {0};
    run_options o = {
        .inputs = &inputs,
        .threads = cores < 1 ? 1 : (int)cores,
        .timeout = 300,
        .max_memory = 8UL << 30,
        .eo = {.max_bytes = EXTRACT_DEFAULT_MAX_BYTES, .max_pages = EXTRACT_DEFAULT_MAX_PAGES},
        .fo = {.max_bytes = EXTRACT_DEFAULT_MAX_BYTES, .timeout = 30}};
#if defined(__SANITIZE_ADDRESS__)
    o.max_memory = 0; /* ASan reserves terabytes of address space */
#endif
    long rejected = 0;
    int exit_code = parse_options(argc, argv, &o, &inputs);
    if (exit_code < 0)
        exit_code = run_extract(&o, &rejected) < 0 ? NZ_EXIT_FAIL
                    : rejected                     ? NZ_EXIT_REJECTED
                                                   : NZ_EXIT_OK;
    sources_free(&inputs);
    known_free(&o.known);
    return exit_code;
}
