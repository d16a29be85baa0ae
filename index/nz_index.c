/* nz-index -- build, inspect, verify and query index snapshots.
 *
 *   nz-index build  [-o ROOT] [--keep N] [graph options] [FILE... | --fvecs F]
 *                   [--base SNAPSHOT [--drop-docs FILE]] [--label KEY=VALUE...]
 *   nz-index search [ROOT|SNAPSHOT] --fvecs Q [-k N] [--ef N] [--threads T]
 *                   [--exact] [-o OUT.ivecs]
 *   nz-index info   [ROOT|SNAPSHOT]
 *   nz-index verify [ROOT|SNAPSHOT]
 *   nz-index query  [ROOT|SNAPSHOT] (--text T | --vector JSON | --queries FILE)
 *                   [--mode dense|lexical|hybrid] [--weight W] [-k N] [filters]
 *   nz-index prune  [ROOT] --keep N
 *   nz-index push   [-o ROOT] [--snapshot ID] s3://BUCKET/PREFIX
 *   nz-index pull   [-o ROOT] s3://BUCKET/PREFIX
 *   nz-index export [--snapshot ID] [ROOT] -o FILE.tar.gz
 *   nz-index import FILE.tar.gz [-o ROOT]
 *
 * ROOT defaults to INDEX_PATH. This file is the dispatch table, the usage
 * text and what every command shares (cmd.h); each command is its own
 * index/cmd_*.c, as git's builtin/ (cmd.h says which). `build` streams its
 * input into a new snapshot directory and publishes it atomically
 * (publish.h): a failed or killed build never touches `current`. `push`
 * and `pull` copy snapshots to and from S3-compatible object storage
 * (store.h), `pull` publishing through the same atomic swap.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

void cmd_usage(FILE *f) {
    fprintf(
        f,
        "usage: nz-index COMMAND [options]\n"
        "\n"
        "  build  [-o ROOT] [--keep N] [FILE...]  build a snapshot from embedded.jsonl\n"
        "                                         (stdin or FILEs) and make it current\n"
        "         [--fvecs FILE]                  ... or from an .fvecs file (ids = rows)\n"
        "         [--degree R] [--build-ef L] [--alpha A] [--seed S] [--threads T]\n"
        "         [--flat]                        graph parameters; --flat: exact only\n"
        "         [--base SNAPSHOT]               carry the rows of SNAPSHOT (or ROOT's\n"
        "                                         current) whose documents are not in\n"
        "         [--drop-docs FILE]              the input nor in FILE (a doc_id a line)\n"
        "         [--label KEY=VALUE]             into MANIFEST.json build.labels\n"
        "         [--rebuild-graph]               with --base: build the graph anew, not\n"
        "                                         from the base's graph\n"
        "         [--bm25-k1 K] [--bm25-b B]      the lexical index's BM25 (1.2, 0.75)\n"
        "         [--stem LANGS]                  stem these languages' rows: id,en (the\n"
        "                                         default), id, en or none\n"
        "  search [ROOT|SNAPSHOT] --fvecs Q [-k N] [--ef N] [--threads T] [--exact]\n"
        "         [--warmup] [--repeat N]         untimed pass first; best of N passes\n"
        "         [-o OUT.ivecs]                  ids per query (.ivecs, or JSON lines),\n"
        "                                         then a JSON line with QPS\n"
        "  info   [ROOT|SNAPSHOT]                 print the manifest and status\n"
        "  verify [ROOT|SNAPSHOT]                 check every file's CRC32 and record\n"
        "  query  [ROOT|SNAPSHOT] --text T | --vector JSON  [-k N] [--ef N] [--exact]\n"
        "         [--lang L] [--doc-id ID] [--uri-prefix P]  search, print JSON\n"
        "         [--mode dense|lexical|hybrid]   default: hybrid for text, dense for\n"
        "         [--weight W]                    vectors; W: hybrid's lexical share\n"
        "         [--queries FILE]                requests as JSON lines (- stdin), an\n"
        "                                         answer line each, then timings; the\n"
        "                                         flags are each line's defaults (its\n"
        "                                         own fields win, a filter key by key)\n"
        "         [--serial]                      hybrid's two lists on one thread (default:\n"
        "                                         BM25 on a helper beside the graph walk)\n"
        "  prune  [ROOT] --keep N                 remove all but the newest N snapshots\n"
        "  push   [-o ROOT] [--snapshot ID] s3://BUCKET/PREFIX\n"
        "                                         upload a snapshot (default: current),\n"
        "                                         then the `latest` pointer\n"
        "  pull   [-o ROOT] s3://BUCKET/PREFIX    download `latest`, verify, make current\n"
        "                                         (AWS_ENDPOINT_URL, AWS_REGION,\n"
        "                                         AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)\n"
        "  export [--snapshot ID] [ROOT] -o FILE  one snapshot (default: current) as a\n"
        "                                         gzip tarball (backup)\n"
        "  import FILE [-o ROOT]                  verify a tarball's snapshot and make it\n"
        "                                         ROOT's current (restore)\n"
        "\n"
        "ROOT defaults to INDEX_PATH (%s).\n"
        "Exit: 0 ok, 1 failure, 2 usage, 3 some records rejected (import: the tarball refused).\n",
        config_get(CFG_INDEX_PATH));
}

void cmd_print_json(json_t *j) {
    if (j) jsonl_write(stdout, j);
    json_decref(j);
}

const char *cmd_path_arg(int argc, char **argv) {
    return optind < argc ? argv[optind] : config_get(CFG_INDEX_PATH);
}

int cmd_simple_opts(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            cmd_usage(stdout);
            return NZ_EXIT_OK;
        }
        cmd_usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        cmd_usage(stderr);
        return NZ_EXIT_USAGE;
    }
    return -1;
}

/* The commands, by name: each is given argv from its own name on. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} index_cmds[] = {
    {"build", cmd_build},   {"info", cmd_info},     {"verify", cmd_verify}, {"query", cmd_query},
    {"search", cmd_search}, {"prune", cmd_prune},   {"push", cmd_push},     {"pull", cmd_pull},
    {"export", cmd_export}, {"import", cmd_import},
};

int main(int argc, char **argv) {
    log_init("nz-index");
    if (argc < 2) {
        cmd_usage(stderr);
        return NZ_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        cmd_usage(stdout);
        return NZ_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("nz-index %s\n", NZ_VERSION);
        return NZ_EXIT_OK;
    }
    /* let each command parse its own options */
    for (size_t i = 0; i < sizeof index_cmds / sizeof index_cmds[0]; i++)
        if (strcmp(cmd, index_cmds[i].name) == 0) return index_cmds[i].run(argc - 1, argv + 1);
    log_error("unknown command \"%s\"", cmd);
    cmd_usage(stderr);
    return NZ_EXIT_USAGE;
}
