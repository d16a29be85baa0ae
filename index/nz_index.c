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
 * ROOT defaults to INDEX_PATH. `build` streams its input into a new
 * snapshot directory and publishes it atomically (publish.h): a failed or
 * killed build never touches `current`. `push` and `pull` copy snapshots
 * to and from S3-compatible object storage (store.h), `pull` publishing
 * through the same atomic swap.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "build.h"
#include "config.h"
#include "docset.h"
#include "fvecs.h"
#include "jsonl.h"
#include "kernels.h"
#include "lex_terms.h"
#include "log.h"
#include "manifest.h"
#include "nz.h"
#include "progress.h"
#include "publish.h"
#include "query.h"
#include "search.h"
#include "snapshot.h"
#include "status.h"
#include "store.h"
#include "tarball.h"

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

static void usage(FILE *f) {
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
        "                                         answer line each, then timings\n"
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

/* Print one JSON line on stdout (and drop the reference). */
static void print_json(json_t *j) {
    if (j) jsonl_write(stdout, j);
    json_decref(j);
}

/* ---------------------------------------------------------------- build */

/* Build, publish, print the summary; the exit code. A build stopped by a
 * signal dies of it once cleaned up, so the caller sees why. */
static int index_build(const build_opts *o) {
    char err[512] = "";
    build_result r;
    int rc = build_run(o, &r, err, sizeof err);
    int exit_code = NZ_EXIT_FAIL;
    if (rc == NZ_OK) {
        print_json(json_pack(
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
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    return bad ? NZ_EXIT_USAGE : build_check(c, argc, argv);
}

static int cmd_build(int argc, char **argv) {
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
        rc = index_build(&c.o);
    }
    docset_free(&c.drop);
    json_decref(c.labels);
    return rc;
}

/* ------------------------------------------------------- info / verify */

static const char *path_arg(int argc, char **argv) {
    return optind < argc ? argv[optind] : config_get(CFG_INDEX_PATH);
}

static int simple_opts(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return NZ_EXIT_OK;
        }
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    return -1;
}

static int cmd_info(int argc, char **argv) {
    int rc = simple_opts(argc, argv);
    if (rc >= 0) return rc;
    char err[512];
    snapshot *s = snapshot_open(path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    print_json(json_pack("{s:s,s:O}", "path", s->dir, "manifest", s->manifest));
    snapshot_close(s);
    return NZ_EXIT_OK;
}

static int cmd_verify(int argc, char **argv) {
    int rc = simple_opts(argc, argv);
    if (rc >= 0) return rc;
    char err[512];
    snapshot *s = snapshot_open(path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("verify failed: %s", err);
        return NZ_EXIT_FAIL;
    }
    if (snapshot_verify(s, err, sizeof err) < 0) {
        log_error("verify failed: %s", err);
        snapshot_close(s);
        return NZ_EXIT_FAIL;
    }
    print_json(json_pack("{s:s,s:s,s:I}", "status", "ok", "snapshot", s->name, "count",
                         (json_int_t)s->count));
    snapshot_close(s);
    return NZ_EXIT_OK;
}

/* ---------------------------------------------------------------- query */

typedef struct query_opts {
    const char *path; /* ROOT or SNAPSHOT */
    const char *text, *vector;
    const char *lang, *doc_id, *uri_prefix;
    long k, ef; /* ef 0: the default */
    int exact;
    const char *mode;    /* or NULL: the request's default */
    double weight;       /* < 0: not given */
    const char *queries; /* --queries FILE, or NULL */
} query_opts;

/* --mode and --weight into a request that does not name its own. */
static void query_defaults(const query_opts *o, json_t *req) {
    if (o->mode && !json_object_get(req, "mode"))
        json_object_set_new(req, "mode", json_string(o->mode));
    if (o->weight >= 0 && !json_object_get(req, "weight"))
        json_object_set_new(req, "weight", json_real(o->weight));
}

/* The options as the request query_parse takes (query.h); NULL after
 * logging why for a usage error. */
static json_t *query_request(const query_opts *o) {
    json_t *req = json_object(), *filter = json_object(), *v = NULL;
    if (!req || !filter) goto fail;
    if (o->lang) json_object_set_new(filter, "lang", json_string(o->lang));
    if (o->doc_id) json_object_set_new(filter, "doc_id", json_string(o->doc_id));
    if (o->uri_prefix) json_object_set_new(filter, "uri_prefix", json_string(o->uri_prefix));
    if (o->ef) json_object_set_new(req, "ef", json_integer(o->ef));
    if (o->exact) json_object_set_new(req, "exact", json_true());
    query_defaults(o, req);
    if (o->text && !(v = json_string(o->text))) {
        log_error("query: --text is not valid UTF-8");
        goto fail;
    }
    json_error_t je;
    if (o->vector && !(v = json_loads(o->vector, 0, &je))) {
        log_error("query: --vector is not JSON: %s", je.text);
        goto fail;
    }
    json_object_set_new(req, o->text ? "query" : "vector", v);
    json_object_set_new(req, "k", json_integer(o->k));
    if (json_object_size(filter)) json_object_set(req, "filter", filter);
    json_decref(filter);
    return req;
fail:
    json_decref(req);
    json_decref(filter);
    return NULL;
}

/* One query against the snapshot; the exit code. */
static int query_cli(const query_opts *o) {
    char err[512];
    query_req q;
    snapshot *s = NULL;
    int exit_code = NZ_EXIT_USAGE;
    json_t *req = query_request(o), *ans = NULL;
    if (!req) return NZ_EXIT_USAGE;
    int rc = query_parse(req, &q, err, sizeof err);
    if (rc < 0) {
        log_error("query: %s", err);
        goto fail;
    }
    exit_code = NZ_EXIT_FAIL;
    if (!(s = snapshot_open(o->path, err, sizeof err))) {
        log_error("%s", err);
        goto fail;
    }
    rc = query_run(s, &q, 0, &ans, err, sizeof err);
    if (rc < 0) {
        log_error("query: %s", err);
        exit_code = rc == NZ_EINVAL ? NZ_EXIT_USAGE : NZ_EXIT_FAIL;
    } else {
        print_json(ans);
        exit_code = NZ_EXIT_OK;
    }
fail:
    query_free(&q); /* query_parse left it freeable, also when it failed */
    snapshot_close(s);
    json_decref(req);
    return exit_code;
}

/* --queries: one request a line, one answer line each. */
typedef struct query_batch {
    const query_opts *o;
    const snapshot *s;
    buf ms; /* each answered query's time, doubles */
    long answered, refused;
} query_batch;

static int query_batch_one(void *ctx, json_t *req, const char *name, size_t lineno) {
    query_batch *qb = ctx;
    char err[512];
    query_req q;
    json_t *ans = NULL;
    if (json_is_object(req) && !json_object_get(req, "k"))
        json_object_set_new(req, "k", json_integer(qb->o->k));
    if (json_is_object(req)) query_defaults(qb->o, req);
    double t0 = progress_now();
    int rc = query_parse(req, &q, err, sizeof err);
    if (rc == NZ_OK) rc = query_run(qb->s, &q, 0, &ans, err, sizeof err);
    double ms = (progress_now() - t0) * 1e3;
    query_free(&q);
    json_decref(req);
    if (rc == NZ_ENOMEM || rc == NZ_ECORRUPT || rc == NZ_EIO) {
        log_error("query: %s:%zu: %s", name, lineno, err);
        return rc;
    }
    if (rc < 0) /* this request refused; the others go on */
        ans = json_pack("{s:s,s:I,s:s}", "input", name, "line", (json_int_t)lineno, "error", err);
    else if (buf_add(&qb->ms, &ms, sizeof ms) == 0) qb->answered++;
    print_json(ans);
    if (rc < 0) {
        log_reject(name, "line %zu: %s", lineno, err);
        qb->refused++;
    }
    return NZ_OK;
}

static int query_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every request of o->queries; a JSON line of timings on stderr. */
static int query_file(const query_opts *o) {
    char err[512], *files[] = {(char *)o->queries};
    query_batch qb = {.o = o, .ms = BUF_INIT};
    long rejected = 0; /* lines that are not JSON */
    snapshot *s = snapshot_open(o->path, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    qb.s = s;
    int rc = jsonl_each(1, files, QUERY_MAX_TEXT * 8, query_batch_one, &qb, &rejected);
    rejected += qb.refused;
    double *ms = (double *)qb.ms.s, sum = 0;
    size_t n = (size_t)qb.answered;
    if (n) qsort(ms, n, sizeof *ms, query_cmp_double);
    for (size_t i = 0; i < n; i++) sum += ms[i];
    log_fields(LOG_INFO, "queries",
               json_pack("{s:I,s:I,s:f,s:f,s:f}", "answered", (json_int_t)n, "rejected",
                         (json_int_t)rejected, "p50_ms", n ? ms[n / 2] : 0.0, "p95_ms",
                         n ? ms[n * 95 / 100] : 0.0, "mean_ms", n ? sum / (double)n : 0.0));
    buf_free(&qb.ms);
    snapshot_close(s);
    if (rc < 0 || fflush(stdout) != 0) return NZ_EXIT_FAIL;
    return rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}

static int cmd_query(int argc, char **argv) {
    query_opts o = {.k = 10, .weight = -1};
    static const struct option longopts[] = {{"text", required_argument, 0, 't'},
                                             {"vector", required_argument, 0, 'v'},
                                             {"lang", required_argument, 0, 'l'},
                                             {"doc-id", required_argument, 0, 'd'},
                                             {"uri-prefix", required_argument, 0, 'u'},
                                             {"ef", required_argument, 0, 'e'},
                                             {"exact", no_argument, 0, 'x'},
                                             {"mode", required_argument, 0, 'm'},
                                             {"weight", required_argument, 0, 'w'},
                                             {"queries", required_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o.text = optarg; break;
        case 'v': o.vector = optarg; break;
        case 'k':
            if (config_parse_long("-k", optarg, 1, SEARCH_MAX_K, &o.k) < 0) return NZ_EXIT_USAGE;
            break;
        case 'l': o.lang = optarg; break;
        case 'd': o.doc_id = optarg; break;
        case 'u': o.uri_prefix = optarg; break;
        case 'e':
            if (config_parse_long("--ef", optarg, 1, 10000, &o.ef) < 0) return NZ_EXIT_USAGE;
            break;
        case 'x': o.exact = 1; break;
        case 'm': o.mode = optarg; break;
        case 'w':
            if (config_parse_double("--weight", optarg, 0, 1, &o.weight) < 0) return NZ_EXIT_USAGE;
            break;
        case 'q': o.queries = optarg; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if ((o.text != NULL) + (o.vector != NULL) + (o.queries != NULL) != 1 || argc - optind > 1) {
        log_error("query: give exactly one of --text, --vector or --queries");
        return NZ_EXIT_USAGE;
    }
    o.path = path_arg(argc, argv);
    return o.queries ? query_file(&o) : query_cli(&o);
}

/* --------------------------------------------------------------- search */

/* Queries from an .fvecs file. A graph search runs each query on one
 * thread (--threads runs that many at once); --exact scans each query with
 * all the threads, one query after another; ids as .ivecs (-o) or JSON
 * lines, then a JSON line with the throughput. Timing covers the searches
 * only. */
typedef struct search_opts {
    const char *path;  /* ROOT or SNAPSHOT */
    const char *qpath; /* the queries (.fvecs) */
    const char *out;   /* .ivecs, or NULL: JSON lines */
    long k, ef, threads, repeat;
    int exact, warmup;
} search_opts;

/* A batch of queries and its answers, k per query. */
typedef struct search_batch {
    float *qs;
    uint64_t nq;
    uint32_t dim;
    int32_t *ids;
    float *scores;
} search_batch;

/* Every query once; 0, or -1 when a search ran out of memory. */
static int search_pass(const search_opts *o, const snapshot *s, search_batch *b) {
    int failed = 0;
    size_t k = (size_t)o->k;
    long long i;
    /* graph: one query per thread; exact: every thread scans one query */
#pragma omp parallel for num_threads(o->exact ? 1 : (int)o->threads) schedule(dynamic, 1)
    for (i = 0; i < (long long)b->nq; i++) {
        topk_hit hits[SEARCH_MAX_K];
        search_params p = {.k = k,
                           .ef = (size_t)o->ef,
                           .threads = o->exact ? (int)o->threads : 1,
                           .exact = o->exact};
        long n = index_search(s, b->qs + (size_t)i * b->dim, &p, hits);
        if (n < 0) {
#pragma omp atomic write
            failed = 1;
            n = 0;
        }
        for (size_t j = 0; j < k; j++) {
            b->ids[(size_t)i * k + j] = (long)j < n ? (int32_t)hits[j].id : -1;
            b->scores[(size_t)i * k + j] = (long)j < n ? hits[j].score : 0;
        }
    }
    return failed ? -1 : 0;
}

/* The ids and scores: .ivecs (-o), or one JSON line per query. */
static int search_write(const search_opts *o, const search_batch *b, char *err, size_t errlen) {
    size_t k = (size_t)o->k;
    if (o->out) return ivecs_write(o->out, b->ids, b->nq, (uint32_t)k, err, errlen);
    for (uint64_t q = 0; q < b->nq; q++) {
        json_t *ja = json_array(), *sa = json_array();
        for (size_t j = 0; j < k && b->ids[q * k + j] >= 0; j++) {
            json_array_append_new(ja, json_integer(b->ids[q * k + j]));
            json_array_append_new(sa, json_real(b->scores[q * k + j]));
        }
        print_json(json_pack("{s:I,s:o,s:o}", "query", (json_int_t)q, "ids", ja, "scores", sa));
    }
    return 0;
}

/* The timed passes, the answers and the throughput line; the exit code. */
static int search_timed(const search_opts *o, const snapshot *s, search_batch *b) {
    char err[512];
    double secs = -1;
    for (uint64_t i = 0; i < b->nq; i++) kern_normalise(b->qs + i * b->dim, b->dim);
    /* pass 0 (--warmup) is untimed: it maps the pages in. Of --repeat timed
     * passes the fastest counts: the others measured the machine's noise. */
    for (long pass = o->warmup ? 0 : 1; pass <= o->repeat; pass++) {
        double t0 = progress_now();
        if (search_pass(o, s, b) < 0) {
            log_error("search: out of memory");
            return NZ_EXIT_FAIL;
        }
        double took = progress_now() - t0;
        if (pass > 0 && (secs < 0 || took < secs)) secs = took;
    }
    if (search_write(o, b, err, sizeof err) < 0) {
        log_error("search: %s", err);
        return NZ_EXIT_FAIL;
    }
    print_json(json_pack("{s:I,s:i,s:I,s:i,s:s,s:s,s:f,s:f}", "queries", (json_int_t)b->nq, "k",
                         (int)o->k, "ef", (json_int_t)o->ef, "threads", (int)o->threads, "search",
                         o->exact || !s->adj ? "exact" : "graph", "kernels",
                         kern_path_name(kern_active()), "seconds", secs, "qps",
                         secs > 0 ? (double)b->nq / secs : 0.0));
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

static int search_run(const search_opts *o) {
    char err[512];
    search_batch b = {0};
    snapshot *s = NULL;
    int exit_code = NZ_EXIT_REJECTED;
    if (!(b.qs = fvecs_load(o->qpath, &b.nq, &b.dim, err, sizeof err))) {
        log_error("search: %s", err);
        goto fail;
    }
    exit_code = NZ_EXIT_FAIL;
    if (!(s = snapshot_open(o->path, err, sizeof err))) {
        log_error("%s", err);
        goto fail;
    }
    if (b.dim != s->dim) {
        log_error("search: queries have dimension %u, the index %u", b.dim, s->dim);
        exit_code = NZ_EXIT_REJECTED;
        goto fail;
    }
    if (!(b.ids = malloc(b.nq * (size_t)o->k * sizeof *b.ids)) ||
        !(b.scores = malloc(b.nq * (size_t)o->k * sizeof *b.scores))) {
        log_error("search: out of memory");
        goto fail;
    }
    exit_code = search_timed(o, s, &b);
fail:
    free(b.qs);
    free(b.ids);
    free(b.scores);
    snapshot_close(s);
    return exit_code;
}

static int cmd_search(int argc, char **argv) {
    search_opts o = {.k = 10, .threads = 1, .repeat = 1};
    static const struct option longopts[] = {{"fvecs", required_argument, 0, 'f'},
                                             {"warmup", no_argument, 0, 'w'},
                                             {"repeat", required_argument, 0, 'r'},
                                             {"ef", required_argument, 0, 'e'},
                                             {"threads", required_argument, 0, 'T'},
                                             {"exact", no_argument, 0, 'x'},
                                             {"output", required_argument, 0, 'o'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.qpath = optarg; break;
        case 'o': o.out = optarg; break;
        case 'x': o.exact = 1; break;
        case 'w': o.warmup = 1; break;
        case 'r': bad = config_parse_long("--repeat", optarg, 1, 100, &o.repeat) < 0; break;
        case 'k': bad = config_parse_long("-k", optarg, 1, SEARCH_MAX_K, &o.k) < 0; break;
        case 'e': bad = config_parse_long("--ef", optarg, 1, 100000, &o.ef) < 0; break;
        case 'T': bad = config_parse_long("--threads", optarg, 1, 1024, &o.threads) < 0; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (bad) return NZ_EXIT_USAGE;
    if (!o.qpath || argc - optind > 1) {
        log_error("search: --fvecs QUERIES is required");
        return NZ_EXIT_USAGE;
    }
    o.path = path_arg(argc, argv);
    return search_run(&o);
}

/* ---------------------------------------------------------------- prune */

static int cmd_prune(int argc, char **argv) {
    long keep = -1;
    static const struct option longopts[] = {
        {"keep", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (config_parse_long("--keep", optarg, 1, 1000, &keep) < 0) return NZ_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (keep < 0 || argc - optind > 1) {
        log_error("prune: --keep N is required");
        return NZ_EXIT_USAGE;
    }
    char err[512];
    index_root ir = {.lock_fd = -1};
    if (root_lock(&ir, path_arg(argc, argv), err, sizeof err) < 0) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    json_t *removed = json_array();
    int rc = root_prune(&ir, (int)keep, removed, err, sizeof err);
    if (rc < 0) log_error("prune: %s", err);
    else {
        print_json(json_pack("{s:O}", "pruned", removed));
    }
    json_decref(removed);
    root_unlock(&ir);
    return rc < 0 ? NZ_EXIT_FAIL : NZ_EXIT_OK;
}

/* -------------------------------------------------------- export / import */

typedef struct tarball_opts {
    const char *root;     /* ROOT (export: where ID lives; import: where to restore) */
    const char *snapshot; /* export: --snapshot ID, or NULL for current */
    const char *file;     /* the tarball ("-": stdout / stdin) */
    int import;
} tarball_opts;

/* Export or import; the exit code: a refused tarball is bad input (3). */
static int tarball_cli(const tarball_opts *o) {
    char err[512] = "", *path = NULL;
    tarball_result r;
    double t0 = progress_now();
    int rc;
    if (o->import) {
        rc = tarball_import(o->file, o->root, &r, err, sizeof err);
    } else if (o->snapshot && !tarball_name_ok(o->snapshot)) {
        log_error("export: --snapshot %s: not a snapshot name", o->snapshot);
        return NZ_EXIT_USAGE;
    } else if (o->snapshot && asprintf(&path, "%s/%s", o->root, o->snapshot) < 0) {
        log_error("export: out of memory");
        return NZ_EXIT_FAIL;
    } else {
        rc = tarball_export(path ? path : o->root, o->file, &r, err, sizeof err);
    }
    free(path);
    if (rc < 0) {
        log_error("%s failed, nothing changed: %s", o->import ? "import" : "export", err);
        return o->import && (rc == NZ_EINVAL || rc == NZ_ECORRUPT || rc == NZ_ELIMIT)
                   ? NZ_EXIT_REJECTED
                   : NZ_EXIT_FAIL;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:i,s:I,s:f}", "snapshot", r.snapshot,
                          o->import ? "root" : "output", o->import ? o->root : o->file, "from",
                          o->import ? r.from : r.snapshot, "count", (json_int_t)r.count, "files",
                          r.files, "bytes", (json_int_t)r.bytes, "seconds",
                          round((progress_now() - t0) * 1000) / 1000);
    if (!o->import && strcmp(o->file, "-") == 0) { /* the tarball is on stdout */
        log_info("exported %s: %llu bytes", r.snapshot, (unsigned long long)r.bytes);
        json_decref(j);
        return NZ_EXIT_OK;
    }
    print_json(j);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

/* export [--snapshot ID] [ROOT] -o FILE, or import FILE [-o ROOT]. */
static int tarball_cmd(int argc, char **argv, int import) {
    tarball_opts o = {.import = import};
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"snapshot", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (import) goto usage;
            o.snapshot = optarg;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: goto usage;
        }
    }
    if (argc - optind > 1 || (import ? argc - optind != 1 : !out)) goto usage;
    o.file = import ? argv[optind] : out;
    o.root = import ? (out ? out : config_get(CFG_INDEX_PATH)) : path_arg(argc, argv);
    return tarball_cli(&o);
usage:
    log_error("usage: nz-index export [--snapshot ID] [ROOT] -o FILE.tar.gz | "
              "nz-index import FILE.tar.gz [-o ROOT]");
    return NZ_EXIT_USAGE;
}

static int cmd_export(int argc, char **argv) { return tarball_cmd(argc, argv, 0); }
static int cmd_import(int argc, char **argv) { return tarball_cmd(argc, argv, 1); }

/* ----------------------------------------------------------- push / pull */

typedef struct store_opts {
    int pull;             /* 0: push */
    const char *root;     /* -o ROOT, default INDEX_PATH */
    const char *snapshot; /* push --snapshot: a name in ROOT, or a path */
    const char *url;      /* s3://BUCKET/PREFIX */
} store_opts;

/* Push or pull, print the report; the exit code. */
static int store_run(const store_opts *o) {
    char err[512] = "", *path = NULL;
    json_t *report = NULL;
    int rc = NZ_ENOMEM;
    if (o->pull) rc = store_pull(o->url, o->root, &report, err, sizeof err);
    else if (!o->snapshot || strchr(o->snapshot, '/')) {
        rc = store_push(o->snapshot ? o->snapshot : o->root, o->url, &report, err, sizeof err);
    } else if (asprintf(&path, "%s/%s", o->root, o->snapshot) >= 0) {
        rc = store_push(path, o->url, &report, err, sizeof err);
        free(path);
    }
    if (rc < 0) {
        log_error("%s failed: %s", o->pull ? "pull" : "push", *err ? err : nz_strerror(rc));
        return NZ_EXIT_FAIL;
    }
    print_json(report);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

static int cmd_store(int argc, char **argv, int pull) {
    store_opts o = {.pull = pull};
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"snapshot", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.root = optarg; break;
        case 's': o.snapshot = optarg; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || strncmp(argv[optind], "s3://", 5) != 0 || (pull && o.snapshot)) {
        log_error("%s: expected one s3://BUCKET/PREFIX%s", pull ? "pull" : "push",
                  pull ? " (and no --snapshot)" : "");
        return NZ_EXIT_USAGE;
    }
    o.url = argv[optind];
    if (!o.root) o.root = config_get(CFG_INDEX_PATH);
    return store_run(&o);
}

int main(int argc, char **argv) {
    log_init("nz-index");
    if (argc < 2) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return NZ_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("nz-index %s\n", NZ_VERSION);
        return NZ_EXIT_OK;
    }
    /* let each command parse its own options */
    argc--;
    argv++;
    if (strcmp(cmd, "build") == 0) return cmd_build(argc, argv);
    if (strcmp(cmd, "info") == 0) return cmd_info(argc, argv);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc, argv);
    if (strcmp(cmd, "query") == 0) return cmd_query(argc, argv);
    if (strcmp(cmd, "search") == 0) return cmd_search(argc, argv);
    if (strcmp(cmd, "prune") == 0) return cmd_prune(argc, argv);
    if (strcmp(cmd, "push") == 0) return cmd_store(argc, argv, 0);
    if (strcmp(cmd, "pull") == 0) return cmd_store(argc, argv, 1);
    if (strcmp(cmd, "export") == 0) return cmd_export(argc, argv);
    if (strcmp(cmd, "import") == 0) return cmd_import(argc, argv);
    log_error("unknown command \"%s\"", cmd);
    usage(stderr);
    return NZ_EXIT_USAGE;
}
