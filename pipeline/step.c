/* step.c -- see step.h. */
#include "step.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nz.h"
#include "status.h"

#define STEP_MAX_OUTPUT (1 << 20) /* of the last stage's stdout */
#define STEP_KILL_AFTER 10.0      /* seconds a stopped last stage gets */

static double step_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Directory of this executable: the stages are installed beside it. */
static char *step_bin_dir(void) {
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

void step_add(step *s, const char *name) {
    if (s->n < STEP_MAX_STAGES) s->stage[s->n++] = (step_stage){.name = name};
}

void step_arg(step *s, const char *arg) {
    step_stage *t = &s->stage[s->n - 1];
    if (t->argc >= STEP_MAX_ARGS - 1) {
        t->full = 1;
        return;
    }
    if (t->argc == 0) t->argc = 1; /* argv[0], the executable, is set at run */
    t->argv[t->argc++] = (char *)arg;
    t->argv[t->argc] = NULL;
}

void step_flag(step *s, const char *flag, const char *value) {
    if (!value) return;
    step_arg(s, flag);
    step_arg(s, value);
}

static int step_stage_ok(const chain_stage *c) {
    int code = chain_exit_code(c);
    return c->done && (code == NZ_EXIT_OK || code == NZ_EXIT_REJECTED);
}

/* A signal arrived: stop every stage (the gated one first), once. */
static void step_check_stop(step *s, volatile sig_atomic_t *stop) {
    if (!*stop || s->failed) return;
    log_warn("run: signal %d: stopping every stage, nothing will be published", (int)*stop);
    chain_kill_last(&s->ch);
    chain_kill_all(&s->ch, SIGTERM);
    s->failed = 1;
}

/* Wait for every stage but a gated last one; one that fails stops it. */
static void step_wait_upstream(step *s, volatile sig_atomic_t *stop) {
    int left = s->gated ? s->n - 1 : s->n;
    while (left > 0) {
        step_check_stop(s, stop);
        int i = chain_wait_any(&s->ch);
        if (i == -1) {
            if (errno == EINTR) continue;
            break; /* ECHILD: nothing left */
        }
        if (i < 0) continue;
        if (!s->gated || i < s->n - 1) left--;
        if (!step_stage_ok(&s->st[i]) && !s->failed) {
            char how[64];
            log_error("run: stage %s failed (%s): nothing will be published", s->st[i].name,
                      chain_describe(&s->st[i], how, sizeof how));
            s->failed = 1;
            chain_kill_last(&s->ch);
        }
    }
}

/* Read the last stage's stdout (STEP_MAX_OUTPUT kept, the rest drained)
 * until it exits. A stopped stage gets STEP_KILL_AFTER s, then SIGKILL. */
static void step_collect(step *s, volatile sig_atomic_t *stop) {
    double kill_at = s->failed ? step_now() + STEP_KILL_AFTER : 0;
    for (;;) {
        if (*stop && !s->failed) {
            chain_kill_last(&s->ch);
            s->failed = 1;
            kill_at = step_now() + STEP_KILL_AFTER;
        }
        if (kill_at && step_now() > kill_at) {
            log_warn("run: stage %s did not stop: killing it", s->st[s->n - 1].name);
            chain_kill_all(&s->ch, SIGKILL);
            kill_at = 0;
        }
        struct pollfd pfd = {.fd = s->ch.output_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        char chunk[4096];
        ssize_t n = read(s->ch.output_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;                     /* EOF: the stage is gone */
        buf_add(&s->output, chunk, (size_t)n); /* past the cap: dropped */
    }
    close(s->ch.output_fd);
    for (int i = 0; i < s->n; i++)
        while (!s->st[i].done && chain_wait_any(&s->ch) != -1) {
        }
    chain_open_gate(&s->ch);
    for (int i = 0; i < s->n; i++)
        if (!step_stage_ok(&s->st[i])) s->failed = 1;
}

/* The executables and argv[0]s. */
static int step_prepare(step *s) {
    char *bin = step_bin_dir();
    if (!bin) return NZ_ENOMEM;
    int rc = NZ_OK;
    for (int i = 0; i < s->n && rc == NZ_OK; i++) {
        step_stage *t = &s->stage[i];
        if (asprintf(&s->exe[i], "%s/nz-%s", bin, t->name) < 0) {
            s->exe[i] = NULL;
            rc = NZ_ENOMEM;
        } else if (t->full) {
            rc = NZ_ELIMIT;
        } else {
            if (t->argc == 0) t->argc = 1;
            t->argv[0] = s->exe[i];
            t->argv[t->argc] = NULL;
            s->st[i] = (chain_stage){.name = t->name, .argv = t->argv};
        }
    }
    free(bin);
    return rc;
}

int step_run(step *s, volatile sig_atomic_t *stop) {
    char err[256];
    int log_fd = -1;
    buf_init(&s->output, STEP_MAX_OUTPUT);
    int rc = step_prepare(s);
    if (rc == NZ_ELIMIT) log_error("run: more than %d arguments; use --from FILE", STEP_MAX_ARGS);
    if (rc == NZ_ENOMEM) log_error("out of memory");
    if (rc < 0) return rc;
    if (!(s->logs = stagelog_start(&log_fd, err, sizeof err))) {
        log_error("run: %s", err);
        return NZ_EIO;
    }
    s->gated = s->n > 1;
    if (chain_start(&s->ch, s->st, s->n, log_fd) < 0) {
        log_error("run: cannot start the stages: %s", strerror(errno));
        stagelog_writer_done(s->logs);
        s->failed = 1;
        return NZ_EIO;
    }
    s->started = 1;
    stagelog_writer_done(s->logs);
    step_wait_upstream(s, stop);
    if (!s->failed) chain_open_gate(&s->ch); /* the last stage sees its end of input */
    step_collect(s, stop);
    stagelog_wait(s->logs);
    return s->failed ? NZ_EINVAL : NZ_OK;
}

json_t *step_results(const step *s) {
    json_t *a = json_array();
    for (int i = 0; a && i < s->n; i++) {
        char how[64];
        const chain_stage *c = &s->st[i];
        int code = c->done ? chain_exit_code(c) : -1;
        json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:f}", "name", s->stage[i].name, "result",
                                           chain_describe(c, how, sizeof how), "exit", code,
                                           "seconds", (double)(long)(c->seconds * 1000) / 1000));
    }
    return a;
}

int step_rejected(const step *s) {
    for (int i = 0; i < s->n; i++)
        if (s->st[i].done && chain_exit_code(&s->st[i]) == NZ_EXIT_REJECTED) return 1;
    return 0;
}

const stagelog_result *step_logs(step *s) {
    static const stagelog_result none; /* a step that never ran */
    return s->logs ? stagelog_wait(s->logs) : &none;
}

void step_free(step *s) {
    stagelog_free(s->logs);
    for (int i = 0; i < s->n; i++) free(s->exe[i]);
    buf_free(&s->output);
    memset(s, 0, sizeof *s);
}
