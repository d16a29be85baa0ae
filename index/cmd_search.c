/* cmd_search.c -- `nz-index search`: a batch of .fvecs queries against a
 * snapshot, timed: the benchmark's and the recall tests' entry point.
 *
 *   nz-index search [ROOT|SNAPSHOT] --fvecs Q [-k N] [--ef N] [--threads T]
 *                   [--exact] [--warmup] [--repeat N] [-o OUT.ivecs]
 *
 * Queries from an .fvecs file. A graph search runs each query on one
 * thread (--threads runs that many at once); --exact scans each query with
 * all the threads, one query after another; ids as .ivecs (-o) or JSON
 * lines, then a JSON line with the throughput. Timing covers the searches
 * only. Prefix: search_ (the file's statics), cmd_search.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config.h"
#include "fvecs.h"
#include "kernels.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "search.h"
#include "snapshot.h"

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
        cmd_print_json(json_pack("{s:I,s:o,s:o}", "query", (json_int_t)q, "ids", ja, "scores", sa));
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
    cmd_print_json(json_pack("{s:I,s:i,s:I,s:i,s:s,s:s,s:f,s:f}", "queries", (json_int_t)b->nq, "k",
                             (int)o->k, "ef", (json_int_t)o->ef, "threads", (int)o->threads,
                             "search", o->exact || !s->adj ? "exact" : "graph", "kernels",
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

int cmd_search(int argc, char **argv) {
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
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: cmd_usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (bad) return NZ_EXIT_USAGE;
    if (!o.qpath || argc - optind > 1) {
        log_error("search: --fvecs QUERIES is required");
        return NZ_EXIT_USAGE;
    }
    o.path = cmd_path_arg(argc, argv);
    return search_run(&o);
}
