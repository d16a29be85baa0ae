/* run.c -- see run.h. */
#include "run.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "chain.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "stagelog.h"
#include "status.h"

#define RUN_MAX_ARGS 4096
#define RUN_MAX_OUTPUT (1 << 20) /* of the index build's summary */
#define RUN_KILL_AFTER 10.0      /* seconds a stopped index build gets */
#define RUN_STAGES 4

enum { RUN_EXTRACT, RUN_CHUNK, RUN_EMBED, RUN_INDEX };
static const char *const run_names[RUN_STAGES] = {"extract", "chunk", "embed", "index"};

static volatile sig_atomic_t run_stop_signal;

static void run_on_signal(int sig) { run_stop_signal = sig; }

static double run_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Directory of this executable: the stages are installed beside it. */
static char *run_bin_dir(void) {
    const char *env = getenv("NZ_BIN_DIR");
    if (env && *env) return strdup(env);
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return strdup(".");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
    return strdup(path);
}

/* A stage's argv, NULL-terminated, bounded. */
typedef struct run_argv {
    char *v[RUN_MAX_ARGS + 1];
    int n;
    int full; /* an argument did not fit */
} run_argv;

static void run_arg(run_argv *a, const char *s) {
    if (a->n >= RUN_MAX_ARGS) {
        a->full = 1;
        return;
    }
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static void run_flag(run_argv *a, const char *flag, const char *value) {
    if (!value) return;
    run_arg(a, flag);
    run_arg(a, value);
}

/* Everything one run owns, freed in one place. */
typedef struct run_state {
    const pipeline_opts *o;
    char *exe[RUN_STAGES];
    run_argv argv[RUN_STAGES];
    chain_stage st[RUN_STAGES];
    chain ch;
    int failed, stopped;
    buf output; /* the index build's stdout */
    catalog *cat;
    long long run_id;
    stagelog *logs;
} run_state;

/* The four command lines. NZ_OK, NZ_ENOMEM, or NZ_ELIMIT (too many). */
static int run_command_lines(run_state *r) {
    char *bin = run_bin_dir();
    if (!bin) return NZ_ENOMEM;
    for (int i = 0; i < RUN_STAGES; i++)
        if (asprintf(&r->exe[i], "%s/nz-%s", bin, run_names[i]) < 0) {
            r->exe[i] = NULL;
            free(bin);
            return NZ_ENOMEM;
        }
    free(bin);
    run_argv *a = r->argv;
    run_arg(&a[RUN_EXTRACT], r->exe[RUN_EXTRACT]);
    run_flag(&a[RUN_EXTRACT], "--from", r->o->from);
    run_arg(&a[RUN_EXTRACT], "--");
    for (int i = 0; i < r->o->nsources; i++) run_arg(&a[RUN_EXTRACT], r->o->sources[i]);
    run_arg(&a[RUN_CHUNK], r->exe[RUN_CHUNK]);
    run_flag(&a[RUN_CHUNK], "--max-tokens", r->o->max_tokens);
    run_arg(&a[RUN_EMBED], r->exe[RUN_EMBED]);
    run_flag(&a[RUN_EMBED], "--provider", config_get(CFG_EMBEDDING_PROVIDER));
    run_flag(&a[RUN_EMBED], "--model", config_get(CFG_EMBEDDING_MODEL));
    run_flag(&a[RUN_EMBED], "--dim", config_get(CFG_EMBEDDING_DIMENSIONS));
    run_arg(&a[RUN_INDEX], r->exe[RUN_INDEX]);
    run_arg(&a[RUN_INDEX], "build");
    run_flag(&a[RUN_INDEX], "-o", config_get(CFG_INDEX_PATH));
    run_flag(&a[RUN_INDEX], "--keep", r->o->keep);
    for (int i = 0; i < RUN_STAGES; i++)
        if (a[i].full) return NZ_ELIMIT;
    return NZ_OK;
}

static int run_stage_ok(const chain_stage *s) {
    int code = chain_exit_code(s);
    return s->done && (code == NZ_EXIT_OK || code == NZ_EXIT_REJECTED);
}

/* A signal arrived: stop every stage (the index build first, while its
 * gate is shut), once. */
static void run_check_signal(run_state *r) {
    if (!run_stop_signal || r->stopped) return;
    log_warn("run: signal %d: stopping every stage, nothing will be published",
             (int)run_stop_signal);
    chain_kill_last(&r->ch);
    chain_kill_all(&r->ch, SIGTERM);
    r->stopped = r->failed = 1;
}

/* Wait for extract, chunk and embed; the index build waits at the gate,
 * and is stopped if any of them fails. */
static void run_wait_upstream(run_state *r) {
    int left = RUN_STAGES - 1;
    while (left > 0) {
        run_check_signal(r);
        int i = chain_wait_any(&r->ch);
        if (i == -1) {
            if (errno == EINTR) continue;
            break; /* ECHILD: nothing left */
        }
        if (i < 0) continue;
        if (i < RUN_INDEX) left--;
        if (!run_stage_ok(&r->st[i]) && !r->failed) {
            char how[64];
            log_error("run: stage %s failed (%s): nothing will be published", r->st[i].name,
                      chain_describe(&r->st[i], how, sizeof how));
            r->failed = 1;
            chain_kill_last(&r->ch);
        }
    }
}

/* Read the index build's summary (at most RUN_MAX_OUTPUT bytes are kept;
 * the rest is drained) until it exits. A stopped build gets RUN_KILL_AFTER
 * seconds, then SIGKILL. */
static void run_collect_index(run_state *r) {
    double kill_at = r->failed ? run_now() + RUN_KILL_AFTER : 0;
    for (;;) {
        if (run_stop_signal && !r->stopped) {
            chain_kill_last(&r->ch);
            r->stopped = r->failed = 1;
            kill_at = run_now() + RUN_KILL_AFTER;
        }
        if (kill_at && run_now() > kill_at) {
            log_warn("run: index build did not stop: killing it");
            chain_kill_all(&r->ch, SIGKILL);
            kill_at = 0;
        }
        struct pollfd pfd = {.fd = r->ch.output_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        char chunk[4096];
        ssize_t n = read(r->ch.output_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;                     /* EOF: the index build is gone */
        buf_add(&r->output, chunk, (size_t)n); /* past the cap: dropped */
    }
    close(r->ch.output_fd);
    while (!r->st[RUN_INDEX].done) {
        int i = chain_wait_any(&r->ch);
        if (i == -1 && errno != EINTR) break;
    }
    chain_open_gate(&r->ch);
    if (!run_stage_ok(&r->st[RUN_INDEX])) r->failed = 1;
}

/* Record the run's rejected inputs and its end in the catalog. A run that
 * cannot record its result fails (exit 1). */
static int run_record(run_state *r, const char *status, json_t *summary) {
    char err[512];
    size_t n = 0, dropped = 0;
    const stagelog_reject *rj = stagelog_wait(r->logs, &n, &dropped);
    int rc = NZ_OK;
    for (size_t i = 0; rc == NZ_OK && i < n; i++)
        rc =
            catalog_reject(r->cat, r->run_id, rj[i].stage, rj[i].uri, rj[i].error, err, sizeof err);
    if (dropped)
        log_warn("run: %zu rejected inputs past the first %zu were not recorded", dropped, n);
    const char *snapshot =
        json_string_value(json_object_get(json_object_get(summary, "index"), "snapshot"));
    if (rc == NZ_OK)
        rc = catalog_run_finish(r->cat, r->run_id, status, snapshot, summary, err, sizeof err);
    if (rc < 0) log_error("run: cannot record the run in the catalog: %s", err);
    return rc;
}

/* The one JSON summary line, also stored in the catalog; returns the
 * run's exit code. */
static int run_summary(run_state *r, double t0) {
    int any_rejected = 0;
    json_t *stages = json_array();
    for (int i = 0; i < RUN_STAGES; i++) {
        char how[64];
        const chain_stage *s = &r->st[i];
        int code = s->done ? chain_exit_code(s) : -1;
        if (code == NZ_EXIT_REJECTED) any_rejected = 1;
        json_array_append_new(stages,
                              json_pack("{s:s,s:s,s:i,s:f}", "name", s->name, "result",
                                        chain_describe(s, how, sizeof how), "exit", code, "seconds",
                                        (double)(long)(s->seconds * 1000) / 1000));
    }
    json_t *index = NULL;
    if (!r->failed && r->output.len) {
        char *nl = strchr(r->output.s, '\n');
        if (nl) *nl = '\0';
        index = json_loads(r->output.s, 0, NULL);
    }
    int exit_code = r->failed ? NZ_EXIT_FAIL : any_rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
    const char *status = r->failed ? "failed" : "published";
    json_t *summary =
        json_pack("{s:s,s:i,s:I,s:s,s:o,s:o*,s:f}", "status", status, "exit", exit_code, "run",
                  (json_int_t)r->run_id, "index_path", config_get(CFG_INDEX_PATH), "stages", stages,
                  "index", index, "seconds", (double)(long)((run_now() - t0) * 1000) / 1000);
    if (!summary || run_record(r, status, summary) < 0) exit_code = NZ_EXIT_FAIL;
    if (!summary || jsonl_write(stdout, summary) < 0 || fflush(stdout) != 0)
        exit_code = NZ_EXIT_FAIL;
    json_decref(summary);
    return exit_code;
}

/* Open the catalog, take the writer lock and record the run as started:
 * before any work, so a run that cannot be recorded does nothing. */
static int run_open_catalog(run_state *r) {
    char err[512], holder[256];
    int crashed = 0;
    r->cat =
        catalog_open(config_get(CFG_DATABASE_URL), config_get(CFG_INDEX_PATH), err, sizeof err);
    if (!r->cat) {
        log_error("run: run catalog: %s", err);
        return NZ_EUNAVAILABLE;
    }
    int rc = catalog_lock(r->cat, holder, sizeof holder, err, sizeof err);
    if (rc == NZ_OK) rc = catalog_run_begin(r->cat, &r->run_id, &crashed, err, sizeof err);
    if (rc < 0) {
        log_error("run: %s", err);
        return rc;
    }
    if (crashed)
        log_warn("run: %d earlier run(s) ended without finishing; the catalog now says crashed",
                 crashed);
    return NZ_OK;
}

int pipeline_run(const pipeline_opts *o) {
    double t0 = run_now();
    run_state r = {.o = o};
    buf_init(&r.output, RUN_MAX_OUTPUT);
    int exit_code = NZ_EXIT_FAIL;
    int rc = run_command_lines(&r);
    if (rc == NZ_ELIMIT) {
        log_error("run: more than %d arguments; use --from FILE", RUN_MAX_ARGS);
        exit_code = NZ_EXIT_USAGE;
        goto out;
    }
    if (rc < 0) {
        log_error("out of memory");
        goto out;
    }
    if (run_open_catalog(&r) < 0) goto out;
    char err[512];
    int log_fd = -1;
    if (!(r.logs = stagelog_start(&log_fd, err, sizeof err))) {
        log_error("run: %s", err);
        catalog_run_finish(r.cat, r.run_id, "failed", NULL, NULL, err, sizeof err);
        goto out;
    }
    setenv("NZ_LOG_FORMAT", "json", 1); /* the stages' logs are read as JSON lines */
    struct sigaction sa = {.sa_handler = run_on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < RUN_STAGES; i++)
        r.st[i] = (chain_stage){.name = run_names[i], .argv = r.argv[i].v};
    if (chain_start(&r.ch, r.st, RUN_STAGES, log_fd) < 0) {
        log_error("run: cannot start the stages: %s", strerror(errno));
        r.failed = 1;
        stagelog_writer_done(r.logs);
        exit_code = run_summary(&r, t0);
        goto out;
    }
    stagelog_writer_done(r.logs);
    run_wait_upstream(&r);
    if (!r.failed) chain_open_gate(&r.ch); /* the index build sees EOF and publishes */
    run_collect_index(&r);
    exit_code = run_summary(&r, t0);
out:
    stagelog_free(r.logs);
    catalog_close(r.cat);
    buf_free(&r.output);
    for (int i = 0; i < RUN_STAGES; i++) free(r.exe[i]);
    return exit_code;
}
