/* test_assist.c -- lib/assist.h: every task runs once, where it may run,
 * and a join never returns before its task is done. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assist.h"
#include "status.h"
#include "unit.h"

typedef struct at_job {
    atomic_int runs;
    pthread_t ran_on;
    atomic_int *gate; /* when set: wait until *gate is 1 */
    atomic_int started;
    long spin;        /* busy work, so tasks overlap */
    volatile long sum;
} at_job;

static void at_run(void *arg) {
    at_job *j = arg;
    j->ran_on = pthread_self(); /* before started: a caller that sees started reads it */
    atomic_store(&j->started, 1);
    if (j->gate)
        while (!atomic_load(j->gate)) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    for (long i = 0; i < j->spin; i++) j->sum += i;
    atomic_fetch_add(&j->runs, 1);
}

UNIT_TEST(assist_pool_refuses_bad_thread_counts) {
    assist_pool *p = (assist_pool *)1;
    CHECK(assist_pool_new(0, 2, &p) == NZ_EINVAL && p == NULL);
    CHECK(assist_pool_new(65, 2, &p) == NZ_EINVAL && p == NULL);
    CHECK(assist_pool_new(1, -1, &p) == NZ_EINVAL && p == NULL);
    CHECK(assist_pool_new(1, 1025, &p) == NZ_EINVAL && p == NULL);
    assist_pool_free(NULL); /* nothing */
}

UNIT_TEST(assist_cpus_counts_this_process_cpus_and_zero_asks_for_them) {
    int n = assist_cpus();
    CHECK(n >= 1 && n <= 1024);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(online < 1 || n <= online);
    assist_pool *p = NULL;
    CHECK(assist_pool_new(1, 0, &p) == NZ_OK && p);
    at_job j = {0};
    assist_task t = {.fn = at_run, .arg = &j};
    assist_submit(p, &t);
    assist_join(p, &t);
    CHECK(atomic_load(&j.runs) == 1);
    assist_pool_free(p);
}

UNIT_TEST(assist_cpus_follows_the_affinity_mask) {
    pid_t pid = fork(); /* the mask is the process's: narrow a child's */
    CHECK(pid >= 0);
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
        _exit(sched_setaffinity(0, sizeof one, &one) == 0 && assist_cpus() == 1 ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

UNIT_TEST(assist_without_a_pool_runs_the_task_at_the_join_on_the_caller) {
    at_job j = {0};
    assist_task t = {.fn = at_run, .arg = &j};
    assist_submit(NULL, &t);
    CHECK(atomic_load(&j.runs) == 0 && t.state == ASSIST_QUEUED);
    assist_join(NULL, &t);
    CHECK(atomic_load(&j.runs) == 1 && t.state == ASSIST_DONE);
    CHECK(pthread_equal(j.ran_on, pthread_self()));
    assist_join(NULL, &t); /* joined again: not run again */
    CHECK(atomic_load(&j.runs) == 1);
}

UNIT_TEST(assist_runs_a_task_on_a_helper_and_the_join_waits_for_it) {
    assist_pool *p = NULL;
    CHECK(assist_pool_new(1, 2, &p) == NZ_OK && p);
    atomic_int gate = 0;
    at_job j = {.gate = &gate};
    assist_task t = {.fn = at_run, .arg = &j};
    assist_submit(p, &t);
    while (!atomic_load(&j.started)) { /* the helper has it */
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    CHECK(!pthread_equal(j.ran_on, pthread_self()));
    CHECK(atomic_load(&j.runs) == 0);
    atomic_store(&gate, 1);
    assist_join(p, &t); /* must wait for the helper, not run it again */
    CHECK(atomic_load(&j.runs) == 1 && t.state == ASSIST_DONE);
    assist_pool_free(p);
}

UNIT_TEST(assist_join_takes_back_a_task_no_helper_has_started) {
    assist_pool *p = NULL;
    CHECK(assist_pool_new(1, 4, &p) == NZ_OK);
    atomic_int gate = 0;
    at_job busy = {.gate = &gate}, mine = {0};
    assist_task tb = {.fn = at_run, .arg = &busy}, tm = {.fn = at_run, .arg = &mine};
    assist_submit(p, &tb);
    while (!atomic_load(&busy.started)) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assist_submit(p, &tm); /* the only helper is held by tb */
    assist_join(p, &tm);
    CHECK(atomic_load(&mine.runs) == 1 && pthread_equal(mine.ran_on, pthread_self()));
    atomic_store(&gate, 1);
    assist_join(p, &tb);
    CHECK(atomic_load(&busy.runs) == 1);
    assist_pool_free(p);
}

UNIT_TEST(assist_keeps_the_task_for_the_caller_when_its_cpus_are_taken) {
    assist_pool *p = NULL;
    CHECK(assist_pool_new(1, 1, &p) == NZ_OK); /* one CPU: the caller's */
    at_job j = {0};
    assist_task t = {.fn = at_run, .arg = &j};
    assist_submit(p, &t);
    struct timespec ms = {0, 20000000};
    nanosleep(&ms, NULL); /* a helper given it would have started by now */
    CHECK(t.kept && atomic_load(&j.started) == 0);
    assist_join(p, &t);
    CHECK(atomic_load(&j.runs) == 1 && pthread_equal(j.ran_on, pthread_self()));
    /* two CPUs: the first caller's task goes to the helper, a second
     * caller's (while the first is inside) stays with it */
    assist_pool_free(p);
    CHECK(assist_pool_new(1, 2, &p) == NZ_OK);
    atomic_int gate = 0;
    at_job a = {.gate = &gate}, b = {0};
    assist_task ta = {.fn = at_run, .arg = &a}, tb = {.fn = at_run, .arg = &b};
    assist_submit(p, &ta);
    assist_submit(p, &tb);
    CHECK(!ta.kept && tb.kept);
    while (!atomic_load(&a.started)) nanosleep(&ms, NULL); /* the helper has it */
    assist_join(p, &tb);
    CHECK(pthread_equal(b.ran_on, pthread_self()));
    atomic_store(&gate, 1);
    assist_join(p, &ta);
    CHECK(atomic_load(&a.runs) == 1 && !pthread_equal(a.ran_on, pthread_self()));
    assist_pool_free(p);
}

/* Several callers at once (a server's workers), each submitting and
 * joining many tasks on a pool smaller than them: every task runs once. */
typedef struct at_caller {
    assist_pool *p;
    at_job jobs[200];
    int ok;
} at_caller;

static void *at_caller_run(void *arg) {
    at_caller *c = arg;
    for (int i = 0; i < 200; i++) {
        at_job *j = &c->jobs[i];
        j->spin = (i % 7) * 2000;
        assist_task t = {.fn = at_run, .arg = j};
        assist_submit(c->p, &t);
        volatile long mine = 0;
        for (long x = 0; x < (i % 5) * 3000; x++) mine += x;
        assist_join(c->p, &t);
        if (atomic_load(&j->runs) != 1 || t.state != ASSIST_DONE) return NULL;
    }
    c->ok = 1;
    return NULL;
}

UNIT_TEST(assist_runs_every_task_of_many_callers_exactly_once) {
    assist_pool *p = NULL;
    CHECK(assist_pool_new(2, 3, &p) == NZ_OK);
    static at_caller c[4];
    pthread_t tid[4];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 4; i++) {
        c[i].p = p;
        CHECK(pthread_create(&tid[i], NULL, at_caller_run, &c[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(tid[i], NULL);
    assist_pool_free(p);
    for (int i = 0; i < 4; i++) CHECK(c[i].ok);
}

UNIT_TEST(assist_pool_free_runs_the_tasks_still_queued) {
    assist_pool *p = NULL;
    CHECK(assist_pool_new(1, 64, &p) == NZ_OK);
    at_job j[5];
    assist_task t[5];
    memset(j, 0, sizeof j);
    for (int i = 0; i < 5; i++) {
        t[i] = (assist_task){.fn = at_run, .arg = &j[i]};
        assist_submit(p, &t[i]);
    }
    assist_pool_free(p);
    for (int i = 0; i < 5; i++) CHECK(atomic_load(&j[i].runs) == 1 && t[i].state == ASSIST_DONE);
}
