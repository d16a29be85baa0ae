/* assist.h -- helper threads that run one side task of a caller's while
 * the caller does its own part (fork-join), for work that is cut in two
 * independent halves: hybrid search's lexical list beside its graph walk.
 *
 * Design: a task is queued (one mutex, one condition variable a side)
 * and an idle helper claims it. assist_join() takes back a task no helper
 * has claimed yet and runs it on the caller's thread, so a busy pool
 * never makes a caller wait in a queue: the task then costs what it would
 * serially, plus a lock. A task a helper is running is waited for.
 *
 * A helper only pays on an idle CPU. Handing a task over costs CPU (the
 * wake-up, the switch, a cold cache: some 40 us on this VM), and on a
 * saturated machine the helper only takes a CPU from another request. So
 * the pool counts the threads at work in it (callers between submit and
 * join, helpers running a task), and assist_submit queues a task only
 * while that count, the caller included, is below the pool's `cpus`;
 * otherwise the task is kept for the caller's join. Threads working
 * outside the pool are not seen: the count is a cheap estimate of a busy
 * machine, not a scheduler.
 *
 * With no pool (NULL) a task runs at the join, on the caller's thread, as
 * if the pool did not exist: the tests, the fuzz targets and any caller
 * who wants one thread.
 *
 * The helpers sleep on the condition variable between tasks (no spinning:
 * an idle server stays idle). Waking one costs tens of microseconds on a
 * virtual machine, so only work that takes longer than that is worth
 * handing over. Threads, not lib/pool.h's processes: the task reads the
 * caller's memory (the mapped snapshot) and writes into the caller's
 * buffers, and must cost no copy.
 *
 * Rules for a task: it must not fail in a way that needs the caller to
 * stop it (it reports its status in its own argument), must not call
 * assist functions itself, and must leave the caller's data alone until
 * assist_join() returns.
 */
#ifndef NZ_ASSIST_H
#define NZ_ASSIST_H

typedef struct assist_pool assist_pool;

typedef struct assist_task {
    void (*fn)(void *arg);
    void *arg;
    int state;                /* ASSIST_*: the pool's, under its lock */
    int kept;                 /* not queued: for the caller's join */
    struct assist_task *next; /* the queue's */
} assist_task;

enum { ASSIST_IDLE, ASSIST_QUEUED, ASSIST_RUNNING, ASSIST_DONE };

/* A pool of `threads` helpers (1..64) into *out, handing tasks over while
 * fewer than `cpus` (1..1024; 0: assist_cpus(), this process's) of its
 * threads are at work. NZ_OK; NZ_EINVAL for a count out of range;
 * NZ_ENOMEM; NZ_EIO when a thread could not be started (errno tells; none
 * is left running). */
int assist_pool_new(int threads, int cpus, assist_pool **out);

/* The CPUs this process may run on: its affinity mask's count (a cpuset or
 * `taskset` narrows it), else the online CPUs; 1..1024. */
int assist_cpus(void);

/* Stop the helpers and free the pool (NULL: nothing). Tasks still queued
 * are run by the helpers first; no task may be submitted meanwhile. */
void assist_pool_free(assist_pool *p);

/* Hand t (fn and arg set) to the pool, or keep it for assist_join when
 * the pool's threads at work fill its CPUs (above) or p is NULL. The
 * caller must join every task it submits. */
void assist_submit(assist_pool *p, assist_task *t);

/* Return once t has run: run it here if no helper has started it, else
 * wait for the helper to finish it. */
void assist_join(assist_pool *p, assist_task *t);

#endif
