/* nz-index -- build, inspect, verify and query index snapshots.
 *
 *   nz-index build  [-o ROOT] [--keep N] [graph options] [FILE... | --fvecs F]
 *   nz-index search [ROOT|SNAPSHOT] --fvecs Q [-k N] [--ef N] [--threads T]
 *                   [--exact] [-o OUT.ivecs]
 *   nz-index info   [ROOT|SNAPSHOT]
 *   nz-index verify [ROOT|SNAPSHOT]
 *   nz-index query  [ROOT|SNAPSHOT] (--text T | --vector JSON) [-k N] [filters]
 *   nz-index prune  [ROOT] --keep N
 *
 * ROOT defaults to INDEX_PATH. `build` streams its input into a new
 * snapshot directory and publishes it atomically (publish.h): a failed or
 * killed build never touches `current`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "fvecs.h"
#include "kernels.h"
#include "search.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "publish.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"
#include "vecb64.h"

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
    fprintf(f,
            "usage: nz-index COMMAND [options]\n"
            "\n"
            "  build  [-o ROOT] [--keep N] [FILE...]  build a snapshot from embedded.jsonl\n"
            "                                         (stdin or FILEs) and make it current\n"
            "         [--fvecs FILE]                  ... or from an .fvecs file (ids = rows)\n"
            "         [--degree R] [--build-ef L] [--alpha A] [--seed S] [--threads T]\n"
            "         [--flat]                        graph parameters; --flat: exact only\n"
            "  search [ROOT|SNAPSHOT] --fvecs Q [-k N] [--ef N] [--threads T] [--exact]\n"
            "         [--warmup] [--repeat N]         untimed pass first; best of N passes\n"
            "         [-o OUT.ivecs]                  ids per query (.ivecs, or JSON lines),\n"
            "                                         then a JSON line with QPS\n"
            "  info   [ROOT|SNAPSHOT]                 print the manifest and status\n"
            "  verify [ROOT|SNAPSHOT]                 check every file's CRC32 and record\n"
            "  query  [ROOT|SNAPSHOT] --text T | --vector JSON  [-k N] [--ef N] [--exact]\n"
            "         [--lang L] [--doc-id ID] [--uri-prefix P]  search, print JSON\n"
            "  prune  [ROOT] --keep N                 remove all but the newest N snapshots\n"
            "\n"
            "ROOT defaults to INDEX_PATH (%s).\n"
            "Exit: 0 ok, 1 failure, 2 usage, 3 some records rejected.\n",
            config_get(CFG_INDEX_PATH));
}

static void print_json(const json_t *j) {
    char *s = json_dumps(j, JSONL_DUMP_FLAGS);
    if (s) {
        puts(s);
        free(s);
    }
}

/* ---------------------------------------------------------------- build */

typedef struct build_ctx {
    index_builder *b;
    char provider[64], model[256];
    long records, rejected;
    progress prog;
} build_ctx;

/* Add one embedded.jsonl record; -1 rejects it, -2 is fatal. */
static int build_record(build_ctx *bx, json_t *rec, char *err, size_t errlen) {
    const char *emb = jsonl_str(rec, "embedding");
    const char *provider = jsonl_str(rec, "provider");
    const char *model = jsonl_str(rec, "model");
    const char *chunk_id = jsonl_str(rec, "chunk_id"), *doc_id = jsonl_str(rec, "doc_id");
    if (!emb || !model || !chunk_id || !doc_id) {
        snprintf(err, errlen, "record needs string fields embedding, model, chunk_id, doc_id");
        return -1;
    }
    if (!provider) provider = strncmp(model, "nz-hash", 7) == 0 ? "hash" : "openai";
    if (!bx->provider[0]) {
        snprintf(bx->provider, sizeof bx->provider, "%s", provider);
        snprintf(bx->model, sizeof bx->model, "%s", model);
    } else if (strcmp(bx->provider, provider) || strcmp(bx->model, model)) {
        snprintf(err, errlen, "embedding %s/%s differs from the index's %s/%s", provider, model,
                 bx->provider, bx->model);
        return -1;
    }
    float *v = NULL;
    json_t *dimj = json_object_get(rec, "dim");
    long n = vecb64_decode(emb, strlen(emb), 0, &v);
    if (n == NZ_ENONFINITE) {
        snprintf(err, errlen, "embedding has a NaN or infinite value");
        return -1;
    }
    if (n <= 0) {
        free(v);
        snprintf(err, errlen, "embedding is not base64 of float32 values");
        return -1;
    }
    if (dimj && (!json_is_integer(dimj) || json_integer_value(dimj) != n)) {
        free(v);
        snprintf(err, errlen, "embedding has %ld values but \"dim\" says %lld", n,
                 (long long)json_integer_value(dimj));
        return -1;
    }
    builder_meta m = {.page = (int32_t)jsonl_int(rec, "page", 0)};
    m.f[NZI_F_CHUNK_ID] = chunk_id;
    m.f[NZI_F_DOC_ID] = doc_id;
    m.f[NZI_F_URI] = jsonl_str(rec, "uri");
    m.f[NZI_F_TITLE] = jsonl_str(rec, "title");
    m.f[NZI_F_HEADING] = jsonl_str(rec, "heading");
    m.f[NZI_F_LANG] = jsonl_str(rec, "lang");
    m.f[NZI_F_TEXT] = jsonl_str(rec, "text");
    int rc = builder_add(bx->b, v, (uint32_t)n, &m, err, errlen);
    free(v);
    return rc;
}

/* One embedded.jsonl record (jsonl_each callback); -1 stops the build. */
static int build_each(void *vctx, json_t *rec, const char *name, size_t lineno) {
    build_ctx *bx = vctx;
    char err[512];
    int rc = 0;
    bx->records++;
    int brc = build_stop ? -2 : build_record(bx, rec, err, sizeof err);
    if (brc == -2) {
        if (!build_stop) log_error("%s", err);
        rc = -1;
    } else if (brc == -1) {
        const char *uri = jsonl_str(rec, "uri");
        log_reject(uri ? uri : name, "%s: line %zu: %s", name, lineno, err);
        bx->rejected++;
    }
    json_decref(rec);
    progress_add(&bx->prog, 1);
    return rc;
}

/* Rows of an .fvecs file; row i becomes id i (chunk_id "row-i"). A bad
 * row fails the whole build (-1: skipping it would shift every later id);
 * -2 is an I/O error. */
static int build_fvecs(build_ctx *bx, const char *path, char *err, size_t errlen) {
    fvecs_reader r;
    if (fvecs_open(&r, path, err, errlen) < 0) return -1;
    float *v = malloc(r.dim * sizeof *v);
    int rc = -2;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(bx->provider, sizeof bx->provider, "fvecs");
    const char *base = strrchr(path, '/');
    snprintf(bx->model, sizeof bx->model, "%s", base ? base + 1 : path);
    for (;;) {
        if (build_stop) goto out;
        int n = fvecs_next(&r, v, err, errlen);
        if (n < 0) {
            rc = -1;
            goto out;
        }
        if (n == 0) break;
        char id[32];
        snprintf(id, sizeof id, "row-%llu", (unsigned long long)bx->records);
        builder_meta m = {.page = 0};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = bx->model;
        char e2[256];
        int brc = builder_add(bx->b, v, r.dim, &m, e2, sizeof e2);
        if (brc < 0) {
            snprintf(err, errlen, "%s: row %llu: %s", path, (unsigned long long)bx->records, e2);
            rc = brc == -1 ? -1 : -2;
            goto out;
        }
        bx->records++;
        progress_add(&bx->prog, 1);
    }
    rc = 0;
out:
    free(v);
    fvecs_close(&r);
    return rc;
}

static int cmd_build(int argc, char **argv) {
    const char *root = NULL, *fvecs = NULL;
    long keep = INDEX_DEFAULT_KEEP, degree = GRAPH_DEFAULT_DEGREE,
         build_ef = GRAPH_DEFAULT_BUILD_EF;
    long seed = GRAPH_DEFAULT_SEED, threads = 0;
    double alpha = GRAPH_DEFAULT_ALPHA;
    int flat = 0;
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"keep", required_argument, 0, 'k'},
                                             {"fvecs", required_argument, 0, 'f'},
                                             {"degree", required_argument, 0, 'R'},
                                             {"build-ef", required_argument, 0, 'L'},
                                             {"alpha", required_argument, 0, 'a'},
                                             {"seed", required_argument, 0, 's'},
                                             {"threads", required_argument, 0, 'T'},
                                             {"flat", no_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': root = optarg; break;
        case 'k':
            if (config_parse_long("--keep", optarg, 1, 1000, &keep) < 0) return NZ_EXIT_USAGE;
            break;
        case 'f': fvecs = optarg; break;
        case 'R':
            if (config_parse_long("--degree", optarg, 2, GRAPH_MAX_DEGREE, &degree) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 'L':
            if (config_parse_long("--build-ef", optarg, 2, 10000, &build_ef) < 0)
                return NZ_EXIT_USAGE;
            break;
        case 's':
            if (config_parse_long("--seed", optarg, 0, LONG_MAX, &seed) < 0) return NZ_EXIT_USAGE;
            break;
        case 'T':
            if (config_parse_long("--threads", optarg, 1, 1024, &threads) < 0) return NZ_EXIT_USAGE;
            break;
        case 'a': {
            char *end;
            errno = 0;
            alpha = strtod(optarg, &end);
            if (errno || *end || !(alpha >= 1.0 && alpha <= 4.0)) {
                log_error("--alpha: want a number from 1 to 4, not \"%s\"", optarg);
                return NZ_EXIT_USAGE;
            }
            break;
        }
        case 'F': flat = 1; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (fvecs && optind < argc) {
        log_error("build: give either --fvecs or embedded.jsonl files, not both");
        return NZ_EXIT_USAGE;
    }
    graph_params gp = {.degree = (uint32_t)degree,
                       .build_ef = (uint32_t)build_ef,
                       .alpha = (float)alpha,
                       .seed = (uint64_t)seed,
                       .threads = (int)threads};
    if (!root) root = config_get(CFG_INDEX_PATH);

    struct sigaction sa = {.sa_handler = build_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char err[512] = "";
    index_root ir = {.lock_fd = -1};
    char *name = NULL, *tmpdir = NULL;
    build_ctx bx = {0};
    json_t *manifest = NULL, *pruned = NULL;
    int exit_code = NZ_EXIT_FAIL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (root_lock(&ir, root, err, sizeof err) < 0) goto fail;
    if (root_begin(&ir, &name, &tmpdir, err, sizeof err) < 0) goto fail;
    if (!(bx.b = builder_open(tmpdir, err, sizeof err))) goto fail;
    if (!flat && builder_set_graph(bx.b, &gp, &build_stop, &bx.prog) < 0) {
        snprintf(err, sizeof err, "%s: cannot create %s: %s", tmpdir, NZI_CODES, strerror(errno));
        goto fail;
    }
    progress_start(&bx.prog, "index build", 0);
    int failed;
    if (fvecs) {
        int frc = build_fvecs(&bx, fvecs, err, sizeof err);
        if (frc == -1) exit_code = NZ_EXIT_REJECTED; /* bad input file */
        failed = frc < 0 || build_stop;
    } else {
        long bad_lines = 0;
        failed = jsonl_each(argc - optind, argv + optind, 0, build_each, &bx, &bad_lines) < 0 ||
                 build_stop;
        bx.records += bad_lines;
        bx.rejected += bad_lines;
        if (failed)
            snprintf(err, sizeof err, "input could not be read to the end; nothing published");
    }
    progress_finish(&bx.prog);
    if (failed) goto fail;
    if (builder_count(bx.b) == 0) {
        snprintf(err, sizeof err, "no valid vectors in %ld input records; nothing published",
                 bx.records);
        goto fail;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char created[32];
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    manifest = json_pack(
        "{s:s,s:i,s:s,s:s,s:I,s:s,s:{s:s,s:s,s:i},s:{s:s},s:{s:s,s:f,s:I,s:I}}", "format",
        "nuzantara-index", "format_version", NZI_FORMAT_VERSION, "snapshot", name, "created",
        created, "created_unix", (json_int_t)now.tv_sec, "metric", "cosine", "embedding",
        "provider", bx.provider, "model", bx.model, "dim", (int)builder_dim(bx.b), "index", "kind",
        "flat", "build", "tool", "nz-index " NZ_VERSION, "seconds", round(secs * 1000) / 1000,
        "records", (json_int_t)bx.records, "rejected", (json_int_t)bx.rejected);
    if (!manifest) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (builder_finish(bx.b, manifest, err, sizeof err) < 0) goto fail;
    if (build_stop) goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (root_publish(&ir, name, tmpdir, err, sizeof err) < 0) goto fail;
    free(tmpdir);
    tmpdir = NULL;
    pruned = json_array();
    if (root_prune(&ir, (int)keep, pruned, err, sizeof err) < 0) log_warn("prune: %s", err);
    json_t *summary =
        json_pack("{s:s,s:s,s:I,s:i,s:I,s:O,s:s,s:f}", "snapshot", name, "root", root, "count",
                  (json_int_t)builder_count(bx.b), "dim", (int)builder_dim(bx.b), "rejected",
                  (json_int_t)bx.rejected, "pruned", pruned, "kind", flat ? "flat" : "vamana",
                  "seconds", round(secs * 1000) / 1000);
    if (summary) {
        print_json(summary);
        json_decref(summary);
    }
    log_fields(LOG_INFO, "published",
               json_pack("{s:s,s:I,s:I}", "snapshot", name, "count",
                         (json_int_t)builder_count(bx.b), "rejected", (json_int_t)bx.rejected));
    exit_code = bx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
    if (fflush(stdout) != 0) exit_code = NZ_EXIT_FAIL;
    goto out;
fail:
    if (build_stop) log_error("build stopped by signal %d: nothing published", (int)build_stop);
    else log_error("build failed: %s", err);
    if (tmpdir) root_discard(tmpdir);
out:
    builder_free(bx.b);
    json_decref(manifest);
    json_decref(pruned);
    root_unlock(&ir);
    free(name);
    free(tmpdir);
    if (build_stop) { /* die of the signal, so the caller sees why */
        signal((int)build_stop, SIG_DFL);
        raise((int)build_stop);
    }
    return exit_code;
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
    json_t *o = json_pack("{s:s,s:O}", "path", s->dir, "manifest", s->manifest);
    print_json(o);
    json_decref(o);
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
    json_t *o = json_pack("{s:s,s:s,s:I}", "status", "ok", "snapshot", s->name, "count",
                          (json_int_t)s->count);
    print_json(o);
    json_decref(o);
    snapshot_close(s);
    return NZ_EXIT_OK;
}

/* ---------------------------------------------------------------- query */

static int cmd_query(int argc, char **argv) {
    const char *text = NULL, *vector = NULL;
    json_t *req = json_object(), *filter = json_object();
    static const struct option longopts[] = {{"text", required_argument, 0, 't'},
                                             {"vector", required_argument, 0, 'v'},
                                             {"lang", required_argument, 0, 'l'},
                                             {"doc-id", required_argument, 0, 'd'},
                                             {"uri-prefix", required_argument, 0, 'u'},
                                             {"ef", required_argument, 0, 'e'},
                                             {"exact", no_argument, 0, 'x'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c, exit_code = NZ_EXIT_USAGE;
    long k = 10;
    while ((c = getopt_long(argc, argv, "k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': text = optarg; break;
        case 'v': vector = optarg; break;
        case 'k':
            if (config_parse_long("-k", optarg, 1, SEARCH_MAX_K, &k) < 0) goto out;
            break;
        case 'l': json_object_set_new(filter, "lang", json_string(optarg)); break;
        case 'd': json_object_set_new(filter, "doc_id", json_string(optarg)); break;
        case 'u': json_object_set_new(filter, "uri_prefix", json_string(optarg)); break;
        case 'e': {
            long ef;
            if (config_parse_long("--ef", optarg, 1, 10000, &ef) < 0) goto out;
            json_object_set_new(req, "ef", json_integer(ef));
            break;
        }
        case 'x': json_object_set_new(req, "exact", json_true()); break;
        case 'h':
            usage(stdout);
            exit_code = NZ_EXIT_OK;
            goto out;
        default: usage(stderr); goto out;
        }
    }
    if ((text != NULL) == (vector != NULL) || argc - optind > 1) {
        log_error("query: give exactly one of --text or --vector");
        goto out;
    }
    if (text) {
        json_t *t = json_string(text);
        if (!t) {
            log_error("query: --text is not valid UTF-8");
            goto out;
        }
        json_object_set_new(req, "query", t);
    } else {
        json_error_t je;
        json_t *v = json_loads(vector, 0, &je);
        if (!v) {
            log_error("query: --vector is not JSON: %s", je.text);
            goto out;
        }
        json_object_set_new(req, "vector", v);
    }
    json_object_set_new(req, "k", json_integer(k));
    if (json_object_size(filter)) json_object_set(req, "filter", filter);

    char err[512];
    query_req q;
    if (query_parse(req, &q, err, sizeof err) < 0) {
        log_error("query: %s", err);
        goto out;
    }
    exit_code = NZ_EXIT_FAIL;
    snapshot *s = snapshot_open(path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("%s", err);
        query_free(&q);
        goto out;
    }
    json_t *ans;
    int qrc = query_run(s, &q, 0, &ans, err, sizeof err);
    if (qrc < 0) {
        log_error("query: %s", err);
        exit_code = qrc == NZ_EINVAL ? NZ_EXIT_USAGE : NZ_EXIT_FAIL;
    } else {
        print_json(ans);
        json_decref(ans);
        exit_code = NZ_EXIT_OK;
    }
    query_free(&q);
    snapshot_close(s);
out:
    json_decref(req);
    json_decref(filter);
    return exit_code;
}

/* --------------------------------------------------------------- search */

/* Queries from an .fvecs file. A graph search runs each query on one
 * thread (--threads runs that many at once); --exact scans each query with
 * all the threads, one query after another; ids as .ivecs (-o) or JSON lines, then a JSON
 * line with the throughput. Timing covers the searches only. */
static int cmd_search(int argc, char **argv) {
    const char *qpath = NULL, *out = NULL;
    long k = 10, ef = 0, threads = 1;
    int exact = 0, warmup = 0;
    long repeat = 1;
    static const struct option longopts[] = {{"fvecs", required_argument, 0, 'f'},
                                             {"warmup", no_argument, 0, 'w'},
                                             {"repeat", required_argument, 0, 'r'},
                                             {"ef", required_argument, 0, 'e'},
                                             {"threads", required_argument, 0, 'T'},
                                             {"exact", no_argument, 0, 'x'},
                                             {"output", required_argument, 0, 'o'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': qpath = optarg; break;
        case 'o': out = optarg; break;
        case 'x': exact = 1; break;
        case 'w': warmup = 1; break;
        case 'r':
            if (config_parse_long("--repeat", optarg, 1, 100, &repeat) < 0) return NZ_EXIT_USAGE;
            break;
        case 'k':
            if (config_parse_long("-k", optarg, 1, SEARCH_MAX_K, &k) < 0) return NZ_EXIT_USAGE;
            break;
        case 'e':
            if (config_parse_long("--ef", optarg, 1, 100000, &ef) < 0) return NZ_EXIT_USAGE;
            break;
        case 'T':
            if (config_parse_long("--threads", optarg, 1, 1024, &threads) < 0) return NZ_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (!qpath || argc - optind > 1) {
        log_error("search: --fvecs QUERIES is required");
        return NZ_EXIT_USAGE;
    }
    char err[512];
    uint64_t nq = 0;
    uint32_t qdim = 0;
    float *qs = fvecs_load(qpath, &nq, &qdim, err, sizeof err);
    if (!qs) {
        log_error("search: %s", err);
        return NZ_EXIT_REJECTED;
    }
    int exit_code = NZ_EXIT_FAIL;
    int32_t *ids = NULL;
    float *scores = NULL;
    snapshot *s = snapshot_open(path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("%s", err);
        goto out;
    }
    if (qdim != s->dim) {
        log_error("search: queries have dimension %u, the index %u", qdim, s->dim);
        exit_code = NZ_EXIT_REJECTED;
        goto out;
    }
    if (!(ids = malloc(nq * (size_t)k * sizeof *ids)) ||
        !(scores = malloc(nq * (size_t)k * sizeof *scores))) {
        log_error("search: out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < nq; i++) kern_normalise(qs + i * qdim, qdim);
    int failed = 0;
    double t0 = 0, secs = -1;
    long long i;
    /* graph: one query per thread; exact: every thread scans one query */
    int across = exact ? 1 : (int)threads;
    /* pass 0 (--warmup) is untimed: it maps the pages in. Of --repeat timed
     * passes the fastest counts: the others measured the machine's noise. */
    for (long pass = warmup ? 0 : 1; pass <= repeat; pass++) {
        t0 = progress_now();
#pragma omp parallel for num_threads(across) schedule(dynamic, 1)
        for (i = 0; i < (long long)nq; i++) {
            topk_hit hits[SEARCH_MAX_K];
            search_params p = {.k = (size_t)k,
                               .ef = (size_t)ef,
                               .threads = exact ? (int)threads : 1,
                               .exact = exact};
            long n = index_search(s, qs + (size_t)i * qdim, &p, hits);
            if (n < 0) {
#pragma omp atomic write
                failed = 1;
                n = 0;
            }
            for (long j = 0; j < k; j++) {
                ids[(size_t)i * (size_t)k + (size_t)j] = j < n ? (int32_t)hits[j].id : -1;
                scores[(size_t)i * (size_t)k + (size_t)j] = j < n ? hits[j].score : 0;
            }
        }
        double took = progress_now() - t0;
        if (pass > 0 && (secs < 0 || took < secs)) secs = took;
    }
    if (failed) {
        log_error("search: out of memory");
        goto out;
    }
    if (out) {
        if (ivecs_write(out, ids, nq, (uint32_t)k, err, sizeof err) < 0) {
            log_error("search: %s", err);
            goto out;
        }
    } else {
        for (uint64_t q = 0; q < nq; q++) {
            json_t *ja = json_array(), *sa = json_array();
            for (long j = 0; j < k && ids[q * (size_t)k + (size_t)j] >= 0; j++) {
                json_array_append_new(ja, json_integer(ids[q * (size_t)k + (size_t)j]));
                json_array_append_new(sa, json_real(scores[q * (size_t)k + (size_t)j]));
            }
            json_t *o = json_pack("{s:I,s:o,s:o}", "query", (json_int_t)q, "ids", ja, "scores", sa);
            print_json(o);
            json_decref(o);
        }
    }
    json_t *sum =
        json_pack("{s:I,s:i,s:I,s:i,s:s,s:s,s:f,s:f}", "queries", (json_int_t)nq, "k", (int)k, "ef",
                  (json_int_t)ef, "threads", (int)threads, "search",
                  exact || !s->adj ? "exact" : "graph", "kernels", kern_path_name(kern_active()),
                  "seconds", secs, "qps", secs > 0 ? (double)nq / secs : 0.0);
    print_json(sum);
    json_decref(sum);
    exit_code = fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
out:
    free(qs);
    free(ids);
    free(scores);
    snapshot_close(s);
    return exit_code;
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
        json_t *o = json_pack("{s:O}", "pruned", removed);
        print_json(o);
        json_decref(o);
    }
    json_decref(removed);
    root_unlock(&ir);
    return rc < 0 ? NZ_EXIT_FAIL : NZ_EXIT_OK;
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
    log_error("unknown command \"%s\"", cmd);
    usage(stderr);
    return NZ_EXIT_USAGE;
}
