/* pool.h -- run tasks in worker processes, deliver results in task order.
 *
 * Each worker is a forked copy of the caller that runs `work` on the task
 * numbers it is sent over a pipe and writes each result back as a frame.
 * Processes, not threads, because one task must not be able to take the
 * run down with it: a worker that crashes (a parser bug on a hostile
 * input), runs past `timeout` seconds, or passes the memory limit is
 * killed, its task is reported as rejected with the reason, and a fresh
 * worker takes its place. The parent keeps at most a small window of
 * finished results waiting for an earlier slow one, so output order is the
 * task order whatever the number of workers, and memory stays bounded.
 *
 * The pool knows nothing of what the tasks are. The caller names its
 * workers (pool_opts.what: "extractor" gives "extractor crashed on this
 * input: signal 11 ...") and defines its own result kinds: the small
 * integers 1..max_kind travel through the pool untouched, and the pool
 * keeps only POOL_REJECT (0) for itself, for the rejections it makes
 * (a crash, a timeout, a malformed frame, out of memory). A payload is
 * bytes, in any format the caller likes; the pool's own rejections carry
 * the reason as plain text.
 */
#ifndef NZ_POOL_H
#define NZ_POOL_H

#include <stddef.h>

/* The kind of the pool's own rejections; the caller's kinds are 1..max_kind. */
#define POOL_REJECT 0

typedef struct pool_result {
    int kind;      /* POOL_REJECT or one of the caller's kinds */
    char *payload; /* malloc'd bytes, NUL-terminated (not counted in len) */
    size_t len;
} pool_result;

/* In a worker: fill *out for task `index`. Must not fail silently: on any
 * problem set a kind of the caller's choosing with the reason. A NULL
 * payload becomes POOL_REJECT "out of memory". */
typedef void (*pool_work_fn)(size_t index, void *ctx, pool_result *out);
/* In the parent, in task order. Return a status < 0 to stop the run (a
 * write error): pool_run returns it. The payload is freed after the call
 * unless the callback takes it (and sets r->payload to NULL). */
typedef int (*pool_emit_fn)(size_t index, pool_result *r, void *ctx);

typedef struct pool_opts {
    int workers;
    const char *what;        /* the workers' name in rejections; NULL: "worker" */
    int max_kind;            /* largest kind `work` returns; a frame with a
                                larger one is rejected as malformed */
    double timeout;          /* seconds per task; 0: none */
    unsigned long mem_limit; /* bytes of address space per worker; 0: none */
    const double *cost;      /* estimated cost per task, or NULL: among the
                                tasks the window allows, the costliest is
                                started first, so the run does not end
                                waiting on one big task */
} pool_opts;

/* NZ_OK when every task was delivered; the emit callback's status when it
 * stopped the run; NZ_ENOMEM; NZ_EIO when workers could not be started
 * (fork, pipe or poll failed: errno tells). */
int pool_run(size_t ntasks, const pool_opts *o, pool_work_fn work, void *wctx, pool_emit_fn emit,
             void *ectx);

#endif
