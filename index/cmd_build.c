/* cmd_build.c -- `nz-index build`: embedded.jsonl (or .fvecs) into a new
 * snapshot, published atomically.
 *
 *   nz-index build [-o ROOT] [--keep N] [graph options] [FILE... | --fvecs F]
 *                  [--base SNAPSHOT [--drop-docs FILE]] [--label KEY=VALUE...]
 *
 * build_parse reads the options into a build_cli, build_check validates
 * them together and fills build.h's build_opts; build_cli_run calls
 * build_run (build.h), which streams the input into a new snapshot
 * directory and publishes it (publish.h): a failed or killed build never
 * touches `current`. Prefix: build_ (the file's statics), cmd_build.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "build.h"
#include "cmd.h"
#include "config.h"
#include "docset.h"
#include "lex_terms.h"
#include "log.h"
#include "manifest.h"
#include "nz.h"
#include "status.h"

#define INDEX_DEFAULT_KEEP 3

/* SIGTERM/SIGINT during a build: stop reading, remove the build directory,
 * publish nothing, then die of the signal. No SA_RESTART, so a read blocked
 * on stdin returns EINTR at once; and stdin is closed, so a read that was
 * about to start fails at once too (no window between check and read). */
static volatile sig_atomic_t build_stop;

static void build_on_signal(int sig) {
    build_stop = sig;
    close(STDIN_FILENO); /* async-signal-safe */
}

/* Build, publish, print the summary; the exit code. A build stopped by a
 * signal dies of it once cleaned up, so the caller sees why. */
static int build_cli_run(const build_opts *o) {
    char err[512] = "";
    build_result r;
    int rc = build_run(o, &r, err, sizeof err);
    int exit_code = NZ_EXIT_FAIL;
    if (rc == NZ_OK) {
        cmd_print_json(json_pack(
            "{s:s,s:s,s:I,s:i,s:I,s:I,s:I,s:O,s:s,s:f}", "snapshot", r.snapshot, "root", o->root,
            "count", (json_int_t)r.count, "dim", (int)r.dim, "rejected", (json_int_t)r.rejected,
            "carried", (json_int_t)r.carried, "dropped", (json_int_t)r.dropped, "pruned", r.pruned,
            "kind", o->flat ? "flat" : "vamana", "seconds", round(r.seconds * 1000) / 1000));
        exit_code = r.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
        if (fflush(stdout) != 0) exit_code = NZ_EXIT_FAIL;
        build_result_free(&r);
    } else if (*o->stop) {
        log_error("build stopped by signal %d: nothing published", (int)*o->stop);
    } else {
        log_error("build failed: %s", err);
        /* a bad .fvecs file fails whole; embedded.jsonl records are rejected one by one */
        if (rc == NZ_EINVAL && o->fvecs) exit_code = NZ_EXIT_REJECTED;
    }
    if (*o->stop) { /* die of the signal, so the caller sees why */
        signal((int)*o->stop, SIG_DFL);
        raise((int)*o->stop);
    }
    return exit_code;
}

/* build's options; drop and labels are filled while parsing. */
typedef struct build_cli {
    build_opts o;
    long degree, build_ef, seed, threads;
    double alpha, k1, b;
    lex_params lex;
    const char *drop_path;
    docset drop;
    json_t *labels;
} build_cli;

/* One --label KEY=VALUE into c->labels; 1 for a usage error. */
static int build_label(build_cli *c, const char *arg) {
    char err[512] = "out of memory";
    if (!c->labels && !(c->labels = json_object())) {
        log_error("build: %s", err);
        return 1;
    }
    if (manifest_label_add(c->labels, arg, err, sizeof err) == NZ_OK) return 0;
    log_error("build: %s", err);
    return 1;
}

/* After getopt: what the options say together; -1, or the exit code. */
static int build_check(build_cli *c, int argc, char **argv) {
    char err[512];
    if (c->o.fvecs && optind < argc) {
        log_error("build: give either --fvecs or embedded.jsonl files, not both");
        return NZ_EXIT_USAGE;
    }
    if (c->drop_path && !c->o.base) {
        log_error("build: --drop-docs needs --base");
        return NZ_EXIT_USAGE;
    }
    int rc = c->drop_path ? docset_read(&c->drop, c->drop_path, err, sizeof err) : NZ_OK;
    if (rc < 0) {
        log_error("build: --drop-docs %s", err);
        return rc == NZ_ENOMEM ? NZ_EXIT_FAIL : NZ_EXIT_USAGE;
    }
    c->o.drop = c->drop_path ? &c->drop : NULL;
    c->lex.k1 = (float)c->k1;
    c->lex.b = (float)c->b;
    c->o.lex = &c->lex;
    c->o.labels = c->labels;
    c->o.graph = (graph_params){.degree = (uint32_t)c->degree,
                                .build_ef = (uint32_t)c->build_ef,
                                .alpha = (float)c->alpha,
                                .seed = (uint64_t)c->seed,
                                .threads = (int)c->threads};
    if (!c->o.root) c->o.root = config_get(CFG_INDEX_PATH);
    c->o.nfiles = argc - optind;
    c->o.files = argv + optind;
    return -1;
}

/* Parse build's options into c: -1 to go on, or the exit code. */
static int build_parse(build_cli *c, int argc, char **argv) {
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"keep", required_argument, 0, 'k'},
                                             {"fvecs", required_argument, 0, 'f'},
                                             {"degree", required_argument, 0, 'R'},
                                             {"build-ef", required_argument, 0, 'L'},
                                             {"alpha", required_argument, 0, 'a'},
                                             {"seed", required_argument, 0, 's'},
                                             {"threads", required_argument, 0, 'T'},
                                             {"flat", no_argument, 0, 'F'},
                                             {"base", required_argument, 0, 'B'},
                                             {"drop-docs", required_argument, 0, 'D'},
                                             {"label", required_argument, 0, 'l'},
                                             {"rebuild-graph", no_argument, 0, 'G'},
                                             {"bm25-k1", required_argument, 0, '1'},
                                             {"bm25-b", required_argument, 0, '2'},
                                             {"stem", required_argument, 0, '3'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int opt, bad = 0;
    while (!bad && (opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': c->o.root = optarg; break;
        case 'k': bad = config_parse_long("--keep", optarg, 1, 1000, &c->o.keep) < 0; break;
        case 'f': c->o.fvecs = optarg; break;
        case 'R':
            bad = config_parse_long("--degree", optarg, 2, GRAPH_MAX_DEGREE, &c->degree) < 0;
            break;
        case 'L': bad = config_parse_long("--build-ef", optarg, 2, 10000, &c->build_ef) < 0; break;
        case 's': bad = config_parse_long("--seed", optarg, 0, LONG_MAX, &c->seed) < 0; break;
        case 'T': bad = config_parse_long("--threads", optarg, 1, 1024, &c->threads) < 0; break;
        case 'a': bad = config_parse_double("--alpha", optarg, 1.0, 4.0, &c->alpha) < 0; break;
        case 'F': c->o.flat = 1; break;
        case 'B': c->o.base = optarg; break;
        case 'D': c->drop_path = optarg; break;
        case 'l': bad = build_label(c, optarg); break;
        case 'G': c->o.rebuild_graph = 1; break;
        case '1': bad = config_parse_double("--bm25-k1", optarg, 0, 100, &c->k1) < 0; break;
        case '2': bad = config_parse_double("--bm25-b", optarg, 0, 1, &c->b) < 0; break;
        case '3':
            if ((c->lex.stem = lex_stem_parse(optarg)) < 0) {
                log_error("build: --stem %s: want id,en, id, en or none", optarg);
                bad = 1;
            }
            break;
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: cmd_usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    return bad ? NZ_EXIT_USAGE : build_check(c, argc, argv);
}

int cmd_build(int argc, char **argv) {
    build_cli c = {
        .o = {.keep = INDEX_DEFAULT_KEEP, .tool = "nz-index " NZ_VERSION, .stop = &build_stop},
        .degree = GRAPH_DEFAULT_DEGREE,
        .build_ef = GRAPH_DEFAULT_BUILD_EF,
        .seed = GRAPH_DEFAULT_SEED,
        .alpha = GRAPH_DEFAULT_ALPHA,
        .k1 = LEX_K1_DEFAULT,
        .b = LEX_B_DEFAULT,
        .drop = DOCSET_INIT};
    c.lex.stem = LEX_STEM_ALL;
    int rc = build_parse(&c, argc, argv);
    if (rc < 0) {
        struct sigaction sa = {.sa_handler = build_on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        rc = build_cli_run(&c.o);
    }
    docset_free(&c.drop);
    json_decref(c.labels);
    return rc;
}
