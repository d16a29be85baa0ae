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
#include "dist.h"
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
            "       nz-pipeline plan [options] --store s3://B/P [--batch-size N] SOURCE...\n"
            "       nz-pipeline work [-o DIR] [--run N] [--lease S] [--finish]\n"
            "       nz-pipeline finish [-o DIR] [--run N] [--keep N]\n"
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
            "\n"
            "Distributed (docs/SCALING.md; needs DATABASE_URL and object storage, AWS_*):\n"
            "plan: the sources, cut into batches, in the catalog (a sitemap: its pages).\n"
            "work: on any number of machines, claim a batch under a lease, extract | chunk |\n"
            "embed it, upload it as one shard, mark it done; until every batch is done.\n"
            "finish: build the snapshot from every shard, on the current one, publish, push.\n"
            "      --store s3://B/P   where shards and the snapshot go (env SNAPSHOT_STORE)\n"
            "      --batch-size N     sources a batch (default 50)\n"
            "      --rpm N, --tpm N   embedding pace shared by every worker (nz-embed)\n"
            "      --run N            the planned run (default: the newest)\n"
            "      --lease S          seconds a claim lasts unless renewed (default 60)\n"
            "      --finish           work: finish once every batch is done\n"
            "\n"
            "Exit: 0 published, 1 a stage failed or another run holds the catalog (nothing\n"
            "      published), 2 usage,\n"
            "      3 published, but some inputs were rejected.\n"
            "plan, work, finish: 0 done (finish: published, now or by another finish), 1 failed\n"
            "      (finish: also another holds the catalog, or batches are not done), 2 usage.\n");
}

typedef enum { DIST_PLAN, DIST_WORK, DIST_FINISH } dist_what;

static const struct option dist_longopts[] = {{"index-path", required_argument, 0, 'o'},
                                              {"store", required_argument, 0, 'S'},
                                              {"batch-size", required_argument, 0, 'b'},
                                              {"from", required_argument, 0, 'f'},
                                              {"max-tokens", required_argument, 0, 't'},
                                              {"provider", required_argument, 0, 'p'},
                                              {"model", required_argument, 0, 'm'},
                                              {"dim", required_argument, 0, 'd'},
                                              {"rpm", required_argument, 0, 'R'},
                                              {"tpm", required_argument, 0, 'T'},
                                              {"full", no_argument, 0, 'F'},
                                              {"run", required_argument, 0, 'r'},
                                              {"lease", required_argument, 0, 'l'},
                                              {"finish", no_argument, 0, 'X'},
                                              {"keep", required_argument, 0, 'k'},
                                              {"help", no_argument, 0, 'h'},
                                              {0, 0, 0, 0}};

/* One option of plan, work or finish into *o: -1 to go on, else the exit
 * code (help, usage errors: an option that is not for this command too). */
static int dist_option(dist_opts *o, int c, const char *arg, dist_what what) {
    static const char *const only[] = {
        ['S'] = "P",  ['b'] = "P", ['f'] = "P", ['t'] = "P", ['p'] = "P",
        ['m'] = "P",  ['d'] = "P", ['R'] = "P", ['T'] = "P", ['F'] = "P",
        ['r'] = "WX", ['l'] = "W", ['X'] = "W", ['k'] = "WX"};
    long n;
    double d;
    if (c > 0 && c < (int)(sizeof only / sizeof *only) && only[c] &&
        !strchr(only[c], "PWX"[what])) {
        const struct option *l = dist_longopts;
        while (l->name && l->val != c) l++;
        log_error("--%s is not an option of this command", l->name ? l->name : "?");
        return NZ_EXIT_USAGE;
    }
    switch (c) {
    case 'o': config_set(CFG_INDEX_PATH, arg); break;
    case 'S': o->store = arg; break;
    case 'f': o->from = arg; break;
    case 't': o->max_tokens = arg; break;
    case 'p': config_set(CFG_EMBEDDING_PROVIDER, arg); break;
    case 'm': config_set(CFG_EMBEDDING_MODEL, arg); break;
    case 'd': config_set(CFG_EMBEDDING_DIMENSIONS, arg); break;
    case 'R':
    case 'T':
        if (config_parse_long(c == 'R' ? "--rpm" : "--tpm", arg, 1, 1000000000, &n) < 0)
            return NZ_EXIT_USAGE;
        *(c == 'R' ? &o->rpm : &o->tpm) = arg;
        break;
    case 'F': o->full = 1; break;
    case 'X': o->then_finish = 1; break;
    case 'k': o->keep = arg; break;
    case 'b':
    case 'r':
        if (config_parse_long(c == 'b' ? "--batch-size" : "--run", arg, 1,
                              c == 'b' ? 1000000 : LONG_MAX, &n) < 0)
            return NZ_EXIT_USAGE;
        if (c == 'b') o->batch_size = n;
        else o->run = n;
        break;
    case 'l':
        if (config_parse_double("--lease", arg, 1, 86400, &d) < 0) return NZ_EXIT_USAGE;
        o->lease = d;
        break;
    case 'h': usage(stdout); return NZ_EXIT_OK;
    default: usage(stderr); return NZ_EXIT_USAGE;
    }
    return -1;
}

/* plan, work and finish: one option set (dist.h), each taking its own. */
static int cmd_dist(int argc, char **argv, dist_what what) {
    dist_opts o = {.batch_size = 50, .lease = 60, .store = config_get(CFG_SNAPSHOT_STORE)};
    int c, rc;
    while ((c = getopt_long(argc, argv, "o:h", dist_longopts, NULL)) != -1)
        if ((rc = dist_option(&o, c, optarg, what)) != -1) return rc;
    o.sources = argv + optind;
    o.nsources = argc - optind;
    if (what != DIST_PLAN && o.nsources) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (what == DIST_PLAN) return dist_plan(&o);
    return what == DIST_WORK ? dist_work(&o) : dist_finish(&o);
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
    if (strcmp(argv[1], "plan") == 0) return cmd_dist(argc - 1, argv + 1, DIST_PLAN);
    if (strcmp(argv[1], "work") == 0) return cmd_dist(argc - 1, argv + 1, DIST_WORK);
    if (strcmp(argv[1], "finish") == 0) return cmd_dist(argc - 1, argv + 1, DIST_FINISH);
    log_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return NZ_EXIT_USAGE;
}
