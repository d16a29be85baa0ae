/* nz-pipeline -- porcelain: run the four plumbing stages as one job.
 *
 *   nz-pipeline run [options] SOURCE...
 *
 * Parses the options and hands the job to pipeline_run() (run.h), which
 * runs extract | chunk | embed | index build as child processes and
 * publishes only if every stage succeeds.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "nz.h"
#include "report.h"
#include "run.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-pipeline run [options] SOURCE...\n"
            "       nz-pipeline status [-o DIR] [--format table|json]\n"
            "       nz-pipeline runs [-o DIR] [--last N] [--format table|json]\n"
            "       nz-pipeline sources [-o DIR] [--changed-since RUN | --rejected [--run N]]\n"
            "\n"
            "run: extract | chunk | embed | index build as one job; publish only if all succeed.\n"
            "Incremental: only new and changed sources are extracted, chunked and embedded;\n"
            "the chunks of unchanged ones are carried over, those of vanished ones dropped.\n"
            "Every run is recorded in the run catalog: PostgreSQL when DATABASE_URL is set,\n"
            "else INDEX_PATH/catalog.sqlite. One run per catalog at a time.\n"
            "status: the snapshot being served and the last run. runs: the newest runs (20).\n"
            "sources: what each source was when last seen, and its chunks; --rejected: the\n"
            "inputs the last run (or --run N) rejected.\n"
            "They print tables on a terminal, JSON lines otherwise (--format overrides).\n"
            "\n"
            "  -o, --index-path DIR   snapshot root       (env INDEX_PATH, default ./data/index)\n"
            "      --from FILE        read more sources from FILE, one a line\n"
            "      --max-tokens N     chunk size limit (default 400)\n"
            "      --provider P       embedding provider  (env EMBEDDING_PROVIDER)\n"
            "      --model M          embedding model     (env EMBEDDING_MODEL)\n"
            "      --dim N            vector size         (env EMBEDDING_DIMENSIONS)\n"
            "      --keep N           snapshots to keep (default 3)\n"
            "      --full             rebuild from the sources: extract, chunk and embed all\n"
            "      --keep-missing     a source that vanished keeps its chunks\n"
            "      --push s3://B/P    upload a published snapshot to object storage (AWS_*)\n"
            "  -h, --help             show this help\n"
            "\n"
            "Exit: 0 published, 1 a stage failed or another run holds the catalog (nothing\n"
            "      published), 2 usage,\n"
            "      3 published, but some inputs were rejected.\n");
}

static int cmd_run(int argc, char **argv) {
    pipeline_opts o = {0};
    static const struct option longopts[] = {{"index-path", required_argument, 0, 'o'},
                                             {"from", required_argument, 0, 'f'},
                                             {"max-tokens", required_argument, 0, 't'},
                                             {"provider", required_argument, 0, 'p'},
                                             {"model", required_argument, 0, 'm'},
                                             {"dim", required_argument, 0, 'd'},
                                             {"keep", required_argument, 0, 'k'},
                                             {"full", no_argument, 0, 'F'},
                                             {"keep-missing", no_argument, 0, 'K'},
                                             {"push", required_argument, 0, 'P'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': config_set(CFG_INDEX_PATH, optarg); break;
        case 'F': o.full = 1; break;
        case 'K': o.keep_missing = 1; break;
        case 'P': o.push = optarg; break;
        case 'f': o.from = optarg; break;
        case 't': o.max_tokens = optarg; break;
        case 'p': config_set(CFG_EMBEDDING_PROVIDER, optarg); break;
        case 'm': config_set(CFG_EMBEDDING_MODEL, optarg); break;
        case 'd': config_set(CFG_EMBEDDING_DIMENSIONS, optarg); break;
        case 'k': o.keep = optarg; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    o.sources = argv + optind;
    o.nsources = argc - optind;
    if (o.nsources == 0 && !o.from) {
        log_error("run: no sources given");
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    return pipeline_run(&o);
}

/* status, runs and sources: the same options, each with its own. */
typedef enum { REPORT_STATUS, REPORT_RUNS, REPORT_SOURCES } report_what;

static int cmd_report(int argc, char **argv, report_what what) {
    report_opts o = {.format = REPORT_AUTO, .last = 20};
    static const struct option longopts[] = {{"index-path", required_argument, 0, 'o'},
                                             {"format", required_argument, 0, 'F'},
                                             {"last", required_argument, 0, 'n'},
                                             {"rejected", no_argument, 0, 'r'},
                                             {"run", required_argument, 0, 'R'},
                                             {"changed-since", required_argument, 0, 'C'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    long n;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': config_set(CFG_INDEX_PATH, optarg); break;
        case 'F':
            if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
                log_error("--format: table or json, not \"%s\"", optarg);
                return NZ_EXIT_USAGE;
            }
            o.format = strcmp(optarg, "table") == 0 ? REPORT_TABLE : REPORT_JSON;
            break;
        case 'n':
            if (what != REPORT_RUNS || config_parse_long("--last", optarg, 1, 100000, &n) < 0)
                return NZ_EXIT_USAGE;
            o.last = (int)n;
            break;
        case 'r':
            if (what != REPORT_SOURCES) return NZ_EXIT_USAGE;
            o.rejected = 1;
            break;
        case 'R':
        case 'C':
            if (what != REPORT_SOURCES || config_parse_long(c == 'R' ? "--run" : "--changed-since",
                                                            optarg, 1, LONG_MAX, &n) < 0)
                return NZ_EXIT_USAGE;
            if (c == 'R') o.run = n;
            else o.changed_since = n;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (what == REPORT_RUNS) return report_runs(&o);
    if (what == REPORT_SOURCES) return report_sources(&o);
    return report_status(&o);
}

int main(int argc, char **argv) {
    log_init("nz-pipeline");
    if (argc < 2) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return NZ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nz-pipeline %s\n", NZ_VERSION);
        return NZ_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0) return cmd_report(argc - 1, argv + 1, REPORT_STATUS);
    if (strcmp(argv[1], "runs") == 0) return cmd_report(argc - 1, argv + 1, REPORT_RUNS);
    if (strcmp(argv[1], "sources") == 0) return cmd_report(argc - 1, argv + 1, REPORT_SOURCES);
    log_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return NZ_EXIT_USAGE;
}
