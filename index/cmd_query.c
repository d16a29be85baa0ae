/* cmd_query.c -- `nz-index query`: one request, or a file of them, against
 * a snapshot; the JSON answers on stdout.
 *
 *   nz-index query [ROOT|SNAPSHOT] (--text T | --vector JSON | --queries FILE)
 *                  [--mode dense|lexical|hybrid] [--weight W] [-k N] [filters]
 *
 * The options become the request object query.h parses (query_parse), so
 * the tool and nz-serve's /v1/query take the same requests and give the
 * same answers; --queries reads one request a JSON line and prints one
 * answer line each, then a JSON line of timings on stderr: each query's
 * wall time and CPU time (the process's, so hybrid's helper thread counts)
 * at p50 and p95, and their means. Hybrid's lexical list runs on a helper
 * thread beside the graph walk, as in nz-serve; --serial runs the two
 * lists one after the other on one thread. Prefix: query_ (the file's
 * statics), cmd_query.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "assist.h"
#include "buf.h"
#include "cmd.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "query.h"
#include "search.h"
#include "snapshot.h"
#include "status.h"

typedef struct query_opts {
    const char *path; /* ROOT or SNAPSHOT */
    const char *text, *vector;
    const char *lang, *doc_id, *uri_prefix;
    long k, ef; /* ef 0: the default */
    int exact;
    const char *mode;    /* or NULL: the request's default */
    double weight;       /* < 0: not given */
    const char *queries; /* --queries FILE, or NULL */
    int serial;          /* --serial: no helper thread for hybrid's lexical list */
} query_opts;

/* value under key in obj, unless obj names key already (value is then
 * dropped); 0, or -1 when value is NULL or could not be added. */
static int query_default(json_t *obj, const char *key, json_t *value) {
    if (json_object_get(obj, key)) {
        json_decref(value);
        return 0;
    }
    return json_object_set_new(obj, key, value);
}

/* The command line's request fields into req, each one where req does not
 * name its own: the flags are defaults that a --queries line overrides,
 * a filter key by key (a "filter" that is not an object is left for
 * query_parse to refuse). 0, or -1 when a field could not be made: a flag
 * that is not valid UTF-8, or out of memory. */
static int query_defaults(const query_opts *o, json_t *req) {
    int rc = query_default(req, "k", json_integer(o->k));
    if (o->ef) rc |= query_default(req, "ef", json_integer(o->ef));
    if (o->exact) rc |= query_default(req, "exact", json_true());
    if (o->mode) rc |= query_default(req, "mode", json_string(o->mode));
    if (o->weight >= 0) rc |= query_default(req, "weight", json_real(o->weight));
    if (!o->lang && !o->doc_id && !o->uri_prefix) return rc;
    json_t *filter = json_object_get(req, "filter");
    if (!filter && query_default(req, "filter", json_object()) < 0) return -1;
    filter = json_object_get(req, "filter");
    if (!json_is_object(filter)) return rc;
    if (o->lang) rc |= query_default(filter, "lang", json_string(o->lang));
    if (o->doc_id) rc |= query_default(filter, "doc_id", json_string(o->doc_id));
    if (o->uri_prefix) rc |= query_default(filter, "uri_prefix", json_string(o->uri_prefix));
    return rc;
}

#define QUERY_FLAGS_BAD "an option is not valid UTF-8 (or out of memory)"

/* A local tool's bounds: those its options already check, and --exact on
 * any size. */
static const query_limits query_cli_limits = {
    .max_k = SEARCH_MAX_K, .max_ef = 10000, .max_depth = 8, .exact_max_rows = 0, .allow_exact = 1};

/* The options as the request query_parse takes (query.h); NULL after
 * logging why for a usage error. */
static json_t *query_request(const query_opts *o) {
    json_t *req = json_object(), *v = NULL;
    if (!req) {
        log_error("query: out of memory");
        return NULL;
    }
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
    if (query_defaults(o, req) < 0) {
        log_error("query: " QUERY_FLAGS_BAD);
        goto fail;
    }
    return req;
fail:
    json_decref(req);
    return NULL;
}

/* Hybrid's helper thread into *side (NULL with --serial). 0, or -1 after
 * saying why. */
static int query_side(const query_opts *o, assist_pool **side) {
    *side = NULL;
    if (o->serial) return 0;
    int rc = assist_pool_new(1, 0, side);
    if (rc < 0) log_error("query: cannot start a helper thread: %s", nz_strerror(rc));
    return rc < 0 ? -1 : 0;
}

/* The CPU seconds this process (all its threads) has used. */
static double query_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One query against the snapshot; the exit code. */
static int query_cli(const query_opts *o) {
    char err[512];
    query_req q;
    snapshot *s = NULL;
    int exit_code = NZ_EXIT_USAGE;
    json_t *req = query_request(o), *ans = NULL;
    if (!req) return NZ_EXIT_USAGE;
    int rc = query_parse(req, &query_cli_limits, &q, err, sizeof err);
    if (rc < 0) {
        log_error("query: %s", err);
        goto fail;
    }
    exit_code = NZ_EXIT_FAIL;
    if (!(s = snapshot_open(o->path, err, sizeof err))) {
        log_error("%s", err);
        goto fail;
    }
    if (query_side(o, &q.side) < 0) goto fail;
    rc = query_run(s, &q, 0, &ans, err, sizeof err);
    if (rc < 0) {
        log_error("query: %s", err);
        exit_code = rc == NZ_EINVAL ? NZ_EXIT_USAGE : NZ_EXIT_FAIL;
    } else {
        cmd_print_json(ans);
        exit_code = NZ_EXIT_OK;
    }
fail:
    assist_pool_free(q.side);
    query_free(&q); /* query_parse left it freeable, also when it failed */
    snapshot_close(s);
    json_decref(req);
    return exit_code;
}

/* --queries: one request a line, one answer line each. */
typedef struct query_batch {
    const query_opts *o;
    const snapshot *s;
    assist_pool *side;
    buf ms, cpu; /* each answered query's wall and CPU time, doubles */
    long answered, refused;
} query_batch;

static int query_batch_one(void *ctx, json_t *req, const char *name, size_t lineno) {
    query_batch *qb = ctx;
    char err[512];
    query_req q;
    json_t *ans = NULL;
    if (json_is_object(req) && query_defaults(qb->o, req) < 0) { /* the flags were checked */
        log_error("query: %s:%zu: out of memory", name, lineno);
        json_decref(req);
        return NZ_ENOMEM;
    }
    double t0 = progress_now(), c0 = query_cpu_now();
    int rc = query_parse(req, &query_cli_limits, &q, err, sizeof err);
    q.side = qb->side;
    if (rc == NZ_OK) rc = query_run(qb->s, &q, 0, &ans, err, sizeof err);
    double ms = (progress_now() - t0) * 1e3, cpu = (query_cpu_now() - c0) * 1e3;
    query_free(&q);
    json_decref(req);
    if (rc == NZ_ENOMEM || rc == NZ_ECORRUPT || rc == NZ_EIO) {
        log_error("query: %s:%zu: %s", name, lineno, err);
        return rc;
    }
    if (rc < 0) /* this request refused; the others go on */
        ans = json_pack("{s:s,s:I,s:s}", "input", name, "line", (json_int_t)lineno, "error", err);
    else if (buf_add(&qb->ms, &ms, sizeof ms) < 0 || buf_add(&qb->cpu, &cpu, sizeof cpu) < 0) {
        log_error("query: out of memory");
        json_decref(ans);
        return NZ_ENOMEM;
    } else
        qb->answered++;
    cmd_print_json(ans);
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

/* The n times (ms) in b sorted, and their p50, p95 and mean into t. */
static void query_times(buf *b, size_t n, double t[3]) {
    double *v = (double *)b->s, sum = 0;
    if (n) qsort(v, n, sizeof *v, query_cmp_double);
    for (size_t i = 0; i < n; i++) sum += v[i];
    t[0] = n ? v[n / 2] : 0.0;
    t[1] = n ? v[n * 95 / 100] : 0.0;
    t[2] = n ? sum / (double)n : 0.0;
}

/* Every request of o->queries; a JSON line of timings on stderr. */
static int query_file(const query_opts *o) {
    char err[512], *files[] = {(char *)o->queries};
    query_batch qb = {.o = o, .ms = BUF_INIT, .cpu = BUF_INIT};
    long rejected = 0;             /* lines that are not JSON */
    json_t *probe = json_object(); /* the flags make request fields */
    int flags_ok = probe && query_defaults(o, probe) == 0;
    json_decref(probe);
    if (!flags_ok) {
        log_error("query: " QUERY_FLAGS_BAD);
        return NZ_EXIT_USAGE;
    }
    snapshot *s = snapshot_open(o->path, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    qb.s = s;
    if (query_side(o, &qb.side) < 0) {
        snapshot_close(s);
        return NZ_EXIT_FAIL;
    }
    int rc = jsonl_each(1, files, QUERY_MAX_TEXT * 8, query_batch_one, &qb, &rejected);
    rejected += qb.refused;
    size_t n = (size_t)qb.answered;
    double ms[3], cpu[3];
    query_times(&qb.ms, n, ms);
    query_times(&qb.cpu, n, cpu);
    log_fields(LOG_INFO, "queries",
               json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:b}", "answered", (json_int_t)n,
                         "rejected", (json_int_t)rejected, "p50_ms", ms[0], "p95_ms", ms[1],
                         "mean_ms", ms[2], "cpu_p50_ms", cpu[0], "cpu_p95_ms", cpu[1],
                         "cpu_mean_ms", cpu[2], "serial", o->serial));
    buf_free(&qb.ms);
    buf_free(&qb.cpu);
    assist_pool_free(qb.side);
    snapshot_close(s);
    if (rc < 0 || fflush(stdout) != 0) return NZ_EXIT_FAIL;
    return rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}

int cmd_query(int argc, char **argv) {
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
                                             {"serial", no_argument, 0, 's'},
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
        case 's': o.serial = 1; break;
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: cmd_usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if ((o.text != NULL) + (o.vector != NULL) + (o.queries != NULL) != 1 || argc - optind > 1) {
        log_error("query: give exactly one of --text, --vector or --queries");
        return NZ_EXIT_USAGE;
    }
    o.path = cmd_path_arg(argc, argv);
    return o.queries ? query_file(&o) : query_cli(&o);
}
