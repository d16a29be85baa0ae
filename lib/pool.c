/* pool.c -- see pool.h. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "status.h"

#define POOL_MAX_PAYLOAD ((uint64_t)4 << 30)

typedef struct pool_frame {
    uint64_t index;
    uint64_t len;
    uint32_t kind;
    uint32_t pad;
} pool_frame;

typedef struct pool_worker {
    pid_t pid;
    int task_fd, res_fd;
    int busy;
    size_t task;
    double started;
} pool_worker;

typedef struct pool_slot {
    int done;
    pool_result r;
} pool_slot;

static double pool_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pool_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1: read n bytes; 0: EOF before any byte; -1: error or EOF mid-way. */
static int pool_read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

/* The worker's life: tasks in, frames out, until the task pipe closes. */
static void pool_worker_main(int task_fd, int res_fd, const pool_opts *o, pool_work_fn work,
                             void *wctx) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* the parent decides; a ^C reaches it too */
    signal(SIGPIPE, SIG_DFL);
    if (o->mem_limit) {
        struct rlimit rl = {o->mem_limit, o->mem_limit};
        setrlimit(RLIMIT_AS, &rl);
    }
    for (;;) {
        uint64_t idx;
        int r = pool_read_all(task_fd, &idx, sizeof idx);
        if (r <= 0) _exit(0);
        pool_result res = {POOL_REJECT, NULL, 0};
        work((size_t)idx, wctx, &res);
        if (!res.payload) {
            res.kind = POOL_REJECT;
            res.payload = strdup("out of memory");
            res.len = res.payload ? strlen(res.payload) : 0;
        }
        pool_frame f = {.index = idx, .len = res.len, .kind = (uint32_t)res.kind};
        if (pool_write_all(res_fd, &f, sizeof f) < 0 ||
            (res.len && pool_write_all(res_fd, res.payload, res.len) < 0))
            _exit(1);
        free(res.payload);
    }
}

static int pool_spawn(pool_worker *ws, int nw, int i, const pool_opts *o, pool_work_fn work,
                      void *wctx) {
    int t[2] = {-1, -1}, r[2] = {-1, -1};
    if (pipe2(t, O_CLOEXEC) < 0 || pipe2(r, O_CLOEXEC) < 0) goto fail;
    fflush(NULL); /* no buffered output may be written twice */
    pid_t pid = fork();
    if (pid < 0) goto fail;
    if (pid == 0) {
        /* keep only our own ends: the others' EOFs must not depend on us */
        for (int k = 0; k < nw; k++) {
            if (k == i || ws[k].pid <= 0) continue;
            close(ws[k].task_fd);
            close(ws[k].res_fd);
        }
        close(t[1]);
        close(r[0]);
        close(STDOUT_FILENO); /* documents go through the pipe only */
        pool_worker_main(t[0], r[1], o, work, wctx);
        _exit(0);
    }
    close(t[0]);
    close(r[1]);
    fcntl(r[0], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups for big documents */
    ws[i] = (pool_worker){.pid = pid, .task_fd = t[1], .res_fd = r[0]};
    return NZ_OK;
fail:
    for (int k = 0; k < 2; k++) {
        if (t[k] >= 0) close(t[k]);
        if (r[k] >= 0) close(r[k]);
    }
    return NZ_EIO;
}

static void pool_reap(pool_worker *w, int sig) {
    if (w->pid <= 0) return;
    if (sig) kill(w->pid, sig);
    close(w->task_fd);
    close(w->res_fd);
    int st;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
    }
    w->pid = -1;
}

static const char *pool_what(const pool_opts *o) { return o->what ? o->what : "worker"; }

/* Why a worker died, as the rejection of its task. */
static char *pool_death(int status, const pool_opts *o) {
    char *msg = NULL;
    if (WIFSIGNALED(status)) {
        int s = WTERMSIG(status);
        if (asprintf(&msg, "%s crashed on this input: signal %d (%s)%s", pool_what(o), s,
                     strsignal(s),
                     o->mem_limit && (s == SIGSEGV || s == SIGABRT || s == SIGBUS)
                         ? " (possibly the per-document memory limit)"
                         : "") < 0)
            msg = NULL;
    } else if (asprintf(&msg, "%s exited with status %d on this input", pool_what(o),
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1) < 0) {
        msg = NULL;
    }
    return msg;
}

/* What the parent needs to hand out tasks. */
typedef struct pool_dispatcher {
    pool_worker *ws;
    int nw;
    const pool_opts *o;
    pool_work_fn work;
    void *wctx;
    unsigned char *started;
    size_t ntasks, window, next_task, nstarted;
} pool_dispatcher;

/* Give each idle worker a task within the window, costliest first.
 * NZ_OK, or NZ_EIO when a dead worker cannot be replaced. */
static int pool_dispatch(pool_dispatcher *d, size_t next_emit) {
    for (int i = 0; i < d->nw && d->nstarted < d->ntasks; i++) {
        pool_worker *w = &d->ws[i];
        if (w->busy) continue;
        while (d->next_task < d->ntasks && d->started[d->next_task]) d->next_task++;
        size_t limit = next_emit + d->window < d->ntasks ? next_emit + d->window : d->ntasks;
        if (d->next_task >= limit) break;
        size_t pick = d->next_task;
        if (d->o->cost)
            for (size_t t = d->next_task + 1; t < limit; t++)
                if (!d->started[t] && d->o->cost[t] > d->o->cost[pick]) pick = t;
        if (w->pid <= 0 && pool_spawn(d->ws, d->nw, i, d->o, d->work, d->wctx) < 0) {
            log_error("cannot restart a worker: %s", strerror(errno));
            return NZ_EIO;
        }
        uint64_t idx = pick;
        if (pool_write_all(w->task_fd, &idx, sizeof idx) < 0) {
            pool_reap(w, SIGKILL); /* it died idle; respawn next round */
            continue;
        }
        d->started[pick] = 1;
        d->nstarted++;
        w->busy = 1;
        w->task = pick;
        w->started = pool_now();
    }
    return NZ_OK;
}

int pool_run(size_t ntasks, const pool_opts *o, pool_work_fn work, void *wctx, pool_emit_fn emit,
             void *ectx) {
    int nw = o->workers < 1 ? 1 : o->workers;
    if ((size_t)nw > ntasks) nw = ntasks ? (int)ntasks : 1;
    size_t window = (size_t)nw * 4 + 16;
    pool_worker *ws = calloc((size_t)nw, sizeof *ws);
    pool_slot *slots = calloc(window, sizeof *slots);
    struct pollfd *pfds = calloc((size_t)nw, sizeof *pfds);
    unsigned char *started = calloc(ntasks ? ntasks : 1, 1);
    int rc = NZ_ENOMEM;
    size_t next_emit = 0;
    pool_dispatcher d = {ws, nw, o, work, wctx, started, ntasks, window, 0, 0};
    if (!ws || !slots || !pfds || !started) goto out;
    rc = NZ_EIO;
    for (int i = 0; i < nw; i++) ws[i].pid = -1;
    for (int i = 0; i < nw; i++)
        if (pool_spawn(ws, nw, i, o, work, wctx) < 0) {
            log_error("cannot start a worker: %s", strerror(errno));
            goto out;
        }

    while (next_emit < ntasks) {
        if (pool_dispatch(&d, next_emit) < 0) goto out;
        /* wait for a result or the nearest deadline */
        int np = 0, map[256];
        double now = pool_now(), wait_s = 1.0;
        for (int i = 0; i < nw && np < 256; i++) {
            if (!ws[i].busy) continue;
            if (o->timeout > 0) {
                double left = ws[i].started + o->timeout - now;
                if (left < wait_s) wait_s = left < 0 ? 0 : left;
            }
            pfds[np] = (struct pollfd){.fd = ws[i].res_fd, .events = POLLIN};
            map[np++] = i;
        }
        int pr = np ? poll(pfds, (nfds_t)np, (int)(wait_s * 1000) + 1) : 0;
        if (pr < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            goto out;
        }
        for (int k = 0; pr > 0 && k < np; k++) {
            if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            pool_worker *w = &ws[map[k]];
            pool_slot *s = &slots[w->task % window];
            pool_frame f;
            int r = pool_read_all(w->res_fd, &f, sizeof f);
            char *payload = NULL;
            if (r == 1 && f.index == w->task && f.len <= POOL_MAX_PAYLOAD &&
                f.kind <= (uint32_t)o->max_kind) {
                payload = malloc(f.len + 1);
                if (payload && (f.len == 0 || pool_read_all(w->res_fd, payload, f.len) == 1)) {
                    payload[f.len] = '\0';
                    s->r = (pool_result){(int)f.kind, payload, f.len};
                    s->done = 1;
                    w->busy = 0;
                    continue;
                }
                free(payload);
            }
            /* the worker died mid-task or spoke nonsense */
            pid_t pid = w->pid;
            kill(pid, SIGKILL);
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            close(w->task_fd);
            close(w->res_fd);
            w->pid = -1;
            char *msg = NULL;
            if (r != 1) msg = pool_death(status, o);
            else if (asprintf(&msg, "%s sent a malformed result", pool_what(o)) < 0) msg = NULL;
            s->r = (pool_result){POOL_REJECT, msg, msg ? strlen(msg) : 0};
            s->done = 1;
            w->busy = 0;
        }
        /* deadlines */
        if (o->timeout > 0) {
            now = pool_now();
            for (int i = 0; i < nw; i++) {
                if (!ws[i].busy || now - ws[i].started < o->timeout) continue;
                pool_slot *s = &slots[ws[i].task % window];
                pool_reap(&ws[i], SIGKILL);
                char *msg = NULL;
                if (asprintf(&msg, "timed out after %.0f s (--timeout)", o->timeout) < 0)
                    msg = NULL;
                s->r = (pool_result){POOL_REJECT, msg, msg ? strlen(msg) : 0};
                s->done = 1;
                ws[i].busy = 0;
            }
        }
        /* freed workers go back to work before the parent's own work
         * (emitting, or laying out a long PDF) */
        if (pool_dispatch(&d, next_emit) < 0) goto out;
        /* deliver in order */
        while (next_emit < ntasks && slots[next_emit % window].done) {
            pool_slot *s = &slots[next_emit % window];
            if (!s->r.payload) {
                s->r.kind = POOL_REJECT;
                s->r.payload = strdup("out of memory");
                s->r.len = s->r.payload ? strlen(s->r.payload) : 0;
            }
            int er = emit(next_emit, &s->r, ectx);
            free(s->r.payload);
            memset(s, 0, sizeof *s);
            next_emit++;
            if (er < 0) {
                rc = er;
                goto out;
            }
        }
    }
    rc = NZ_OK;
out:
    if (ws)
        for (int i = 0; i < nw; i++) pool_reap(&ws[i], ws[i].busy ? SIGKILL : 0);
    if (slots)
        for (size_t i = 0; i < window; i++) free(slots[i].r.payload);
    free(ws);
    free(slots);
    free(pfds);
    free(started);
    return rc;
}
