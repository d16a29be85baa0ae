/* chain.c -- see chain.h. */
#include "chain.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double chain_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int chain_start(chain *c, chain_stage *stages, int n, int err_fd) {
    int pipes[n][2];
    c->st = stages;
    c->n = n;
    c->gate_fd = -1;
    c->output_fd = -1;
    for (int i = 0; i < n; i++) {
        stages[i].pid = -1;
        stages[i].done = 0;
        pipes[i][0] = pipes[i][1] = -1;
    }
    /* pipes[i]: stage i's stdout -> stage i+1's stdin (the last: -> us).
     * O_CLOEXEC everywhere: a child keeps only what dup2 gives it. */
    for (int i = 0; i < n; i++)
        if (pipe2(pipes[i], O_CLOEXEC) < 0) goto err;
    /* A signal sent to a child between fork and exec would run the
     * parent's handler in the child and be lost. Block them across fork;
     * the child resets them to default before unblocking. */
    sigset_t block, saved_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &saved_mask);
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        stages[i].started = chain_now();
        pid_t pid = fork();
        if (pid < 0) {
            sigprocmask(SIG_SETMASK, &saved_mask, NULL);
            goto err;
        }
        if (pid == 0) {
            /* The caller's death kills the chain: with its gate gone, the
             * last stage would otherwise see a clean end of a truncated
             * input, and act on it. */
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(127);
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            sigprocmask(SIG_SETMASK, &saved_mask, NULL);
            int in_fd = i > 0 ? pipes[i - 1][0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (in_fd < 0 || dup2(in_fd, STDIN_FILENO) < 0 ||
                dup2(pipes[i][1], STDOUT_FILENO) < 0 ||
                (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
                _exit(127);
            signal(SIGPIPE, SIG_DFL);
            execv(stages[i].argv[0], stages[i].argv);
            dprintf(
                STDERR_FILENO,
                "{\"level\":\"error\",\"stage\":\"nz-pipeline\",\"msg\":\"cannot run %s: %s\"}\n",
                stages[i].argv[0], strerror(errno));
            _exit(127);
        }
        stages[i].pid = pid;
    }
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    /* Keep: the last stage's stdout, and the gate (write end into the last
     * stage). Close everything else so EOF flows between the others. */
    for (int i = 0; i < n; i++) {
        if (i == n - 1) {
            c->output_fd = pipes[i][0];
            close(pipes[i][1]);
        } else if (i == n - 2) {
            c->gate_fd = pipes[i][1];
            close(pipes[i][0]);
        } else {
            close(pipes[i][0]);
            close(pipes[i][1]);
        }
    }
    return 0;
err : {
    int saved = errno;
    for (int i = 0; i < n; i++) {
        if (pipes[i][0] >= 0) close(pipes[i][0]);
        if (pipes[i][1] >= 0) close(pipes[i][1]);
    }
    chain_kill_all(c, SIGKILL);
    for (int i = 0; i < n; i++)
        if (stages[i].pid > 0) waitpid(stages[i].pid, &stages[i].status, 0);
    c->output_fd = c->gate_fd = -1;
    errno = saved;
    return -1;
}
}

int chain_wait_any(chain *c) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) return -1;
    for (int i = 0; i < c->n; i++) {
        if (c->st[i].pid == pid) {
            c->st[i].status = status;
            c->st[i].done = 1;
            c->st[i].seconds = chain_now() - c->st[i].started;
            return i;
        }
    }
    errno = ECHILD; /* not ours: let the caller loop */
    return -2;
}

void chain_open_gate(chain *c) {
    if (c->gate_fd >= 0) close(c->gate_fd);
    c->gate_fd = -1;
}

void chain_kill_last(chain *c) {
    chain_stage *last = &c->st[c->n - 1];
    if (last->pid > 0 && !last->done) kill(last->pid, SIGTERM);
    /* The gate stays shut: the last stage must never see a clean EOF. */
}

void chain_kill_all(chain *c, int sig) {
    for (int i = 0; i < c->n; i++)
        if (c->st[i].pid > 0 && !c->st[i].done) kill(c->st[i].pid, sig);
}

const char *chain_describe(const chain_stage *s, char *buf, size_t len) {
    if (!s->done) snprintf(buf, len, "not finished");
    else if (WIFEXITED(s->status)) snprintf(buf, len, "exit %d", WEXITSTATUS(s->status));
    else if (WIFSIGNALED(s->status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(s->status), strsignal(WTERMSIG(s->status)));
    else snprintf(buf, len, "status %d", s->status);
    return buf;
}

int chain_exit_code(const chain_stage *s) {
    if (WIFEXITED(s->status)) return WEXITSTATUS(s->status);
    if (WIFSIGNALED(s->status)) return 128 + WTERMSIG(s->status);
    return 255;
}
