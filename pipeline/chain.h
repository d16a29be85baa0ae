/* chain.h -- run a chain of processes joined by pipes, with a gate.
 *
 * chain_start() forks and execs each stage (never system(): no shell, no
 * quoting), stage i's stdout feeding stage i+1's stdin. The last stage's
 * stdout comes back to the caller on a pipe; every stderr is inherited, or
 * goes to one descriptor the caller names (nz-pipeline reads its stages'
 * logs through it).
 *
 * The gate: the caller keeps its own copy of the write end of the pipe
 * into the last stage. So the last stage cannot see end-of-input until the
 * caller has seen every earlier stage succeed and calls chain_open_gate().
 * If an earlier stage fails, chain_kill_last() sends the last stage SIGTERM
 * while the gate is still shut, so it stops before it can act on a
 * truncated input (nz-index build removes its build directory and dies). For nz-pipeline that last stage is
 * `nz-index build`, which publishes only at end-of-input: a failed stage
 * anywhere means nothing is published. And if the caller itself dies
 * (SIGKILL), every stage is killed with it (PR_SET_PDEATHSIG), so the
 * gate's closing is never mistaken for a clean end of input.
 */
#ifndef NZ_CHAIN_H
#define NZ_CHAIN_H

#include <sys/types.h>

typedef struct chain_stage {
    const char *name;
    char **argv; /* argv[0] is the executable path */
    pid_t pid;
    int status; /* waitpid status, valid when done */
    int done;
    double seconds;
    double started;
} chain_stage;

typedef struct chain {
    chain_stage *st;
    int n;
    int gate_fd;   /* the caller's copy of the last stage's stdin; -1 once open */
    int output_fd; /* the last stage's stdout */
} chain;

/* 0 on success; -1 (with errno) when a pipe or fork failed (started
 * stages are killed and reaped). err_fd >= 0 becomes every stage's
 * stderr; -1 leaves stderr inherited. */
int chain_start(chain *c, chain_stage *stages, int n, int err_fd);
/* Wait for any stage; returns its index or -1 when none is left
 * (or on EINTR, with errno set). */
int chain_wait_any(chain *c);
void chain_open_gate(chain *c);
void chain_kill_last(chain *c);
void chain_kill_all(chain *c, int sig);

/* "exit 3", "signal 9 (Killed)"...: a stage's fate in words. */
const char *chain_describe(const chain_stage *s, char *buf, size_t len);
/* The exit code, or 128+signal for a signalled stage. */
int chain_exit_code(const chain_stage *s);

#endif
