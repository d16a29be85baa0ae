/* pool.h -- run tasks in worker processes, deliver results in task order.
 *
 * Each worker is a forked copy of the caller that runs `work` on the task
 * numbers it is sent over a pipe and writes each result back as a frame.
 * Processes, not threads, because a document must not be able to take the
 * run down with it: a worker that crashes (a parser bug on a hostile PDF),
 * runs past `timeout` seconds, or passes the memory limit is killed,
 * its task is reported as rejected with the reason, and a fresh worker
 * takes its place. The parent keeps at most a small window of finished
 * results waiting for an earlier slow one, so output order is the task
 * order whatever the number of workers, and memory stays bounded.
 */
#ifndef NZ_POOL_H
#define NZ_POOL_H

#include <stddef.h>

typedef enum { POOL_DOC = 0, POOL_REJECT = 1, POOL_NOTE = 2, POOL_PART = 3 } pool_kind;

typedef struct pool_result {
    pool_kind kind;
    char *payload; /* malloc'd: a JSON line (DOC, NOTE, REJECT) or bytes (PART) */
    size_t len;
} pool_result;

/* In a worker: fill *out for task `index`. Must not fail silently: on any
 * problem return POOL_REJECT with the reason. */
typedef void (*pool_work_fn)(size_t index, void *ctx, pool_result *out);
/* In the parent, in task order. Return -1 to stop the run (write error).
 * The payload is freed after the call unless the callback takes it (and
 * sets r->payload to NULL). */
typedef int (*pool_emit_fn)(size_t index, pool_result *r, void *ctx);

typedef struct pool_opts {
    int workers;
    double timeout;          /* seconds per task; 0: none */
    unsigned long mem_limit; /* bytes of address space per worker; 0: none */
    const double *cost;      /* estimated cost per task, or NULL: among the
                                tasks the window allows, the costliest is
                                started first, so the run does not end
                                waiting on one big task */
} pool_opts;

/* 0 when every task was delivered, -1 on a fatal error (emit failed, or
 * workers could not be started). */
int pool_run(size_t ntasks, const pool_opts *o, pool_work_fn work, void *wctx, pool_emit_fn emit,
             void *ectx);

#endif
