/* assist.c -- see assist.h. */
#include "assist.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "status.h"

struct assist_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a task was queued, or stop: helpers wait on it */
    pthread_cond_t done; /* a task is done: joiners wait on it */
    assist_task *head, *tail;
    int stop;
    int cpus;    /* hand tasks over while fewer threads than this are at work */
    int working; /* callers between submit and join, and helpers running a task */
    int threads; /* started */
    pthread_t tid[];
};

/* Take the queue's first task (under the lock), or NULL. */
static assist_task *assist_pop(assist_pool *p) {
    assist_task *t = p->head;
    if (t) {
        p->head = t->next;
        if (!p->head) p->tail = NULL;
        t->state = ASSIST_RUNNING;
    }
    return t;
}

/* Take t out of the queue (under the lock); t is in it. */
static void assist_unlink(assist_pool *p, assist_task *t) {
    assist_task **at = &p->head, *prev = NULL;
    while (*at != t) prev = *at, at = &(*at)->next;
    *at = t->next;
    if (p->tail == t) p->tail = prev;
}

static void *assist_helper(void *arg) {
    assist_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        assist_task *t = assist_pop(p);
        if (!t) {
            if (p->stop) break;
            pthread_cond_wait(&p->work, &p->lock);
            continue;
        }
        p->working++;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&p->lock);
        p->working--;
        t->state = ASSIST_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int assist_cpus(void) {
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

int assist_pool_new(int threads, int cpus, assist_pool **out) {
    *out = NULL;
    if (cpus == 0) cpus = assist_cpus();
    if (threads < 1 || threads > 64 || cpus < 1 || cpus > 1024) return NZ_EINVAL;
    assist_pool *p = calloc(1, sizeof *p + (size_t)threads * sizeof p->tid[0]);
    if (!p) return NZ_ENOMEM;
    p->cpus = cpus;
    int rc = NZ_EIO, err;
    if ((err = pthread_mutex_init(&p->lock, NULL)) != 0) goto fail_free;
    if ((err = pthread_cond_init(&p->work, NULL)) != 0) goto fail_lock;
    if ((err = pthread_cond_init(&p->done, NULL)) != 0) goto fail_work;
    for (; p->threads < threads; p->threads++)
        if ((err = pthread_create(&p->tid[p->threads], NULL, assist_helper, p)) != 0) {
            assist_pool_free(p); /* stops and joins those started */
            errno = err;
            return NZ_EIO;
        }
    *out = p;
    return NZ_OK;
fail_work:
    pthread_cond_destroy(&p->work);
fail_lock:
    pthread_mutex_destroy(&p->lock);
fail_free:
    free(p);
    errno = err;
    return err == ENOMEM ? NZ_ENOMEM : rc;
}

void assist_pool_free(assist_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->threads; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void assist_submit(assist_pool *p, assist_task *t) {
    t->next = NULL;
    t->state = ASSIST_QUEUED;
    t->kept = 1;
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->working++; /* the caller */
    if (p->working < p->cpus) { /* a CPU for a helper */
        t->kept = 0;
        if (p->tail)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
}

void assist_join(assist_pool *p, assist_task *t) {
    if (!p) {
        if (t->state == ASSIST_QUEUED) t->fn(t->arg);
        t->state = ASSIST_DONE;
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (t->state == ASSIST_QUEUED) { /* no helper has it: run it here */
        if (!t->kept) assist_unlink(p, t);
        t->state = ASSIST_RUNNING;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&p->lock);
        t->state = ASSIST_DONE;
    }
    while (t->state != ASSIST_DONE) pthread_cond_wait(&p->done, &p->lock);
    p->working--;
    pthread_mutex_unlock(&p->lock);
}
