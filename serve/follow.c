/* follow.c -- see follow.h. */
#include "follow.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "s3.h"
#include "status.h"
#include "store.h"

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running, stop;
    char *url, *root;
    double interval;
} follow = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* One pull; logs what it did. */
static void follow_pull(void) {
    char err[512];
    json_t *report = NULL;
    int rc = store_pull(follow.url, follow.root, &report, err, sizeof err);
    if (rc == NZ_OK) {
        if (json_is_true(json_object_get(report, "downloaded")))
            log_fields(LOG_INFO, "followed: a new snapshot pulled", json_incref(report));
    } else if (rc == NZ_EBUSY) {
        log_debug("follow: the index root is busy (a local writer): next tick");
    } else {
        log_warn("follow: pull from the object store failed (%s): serving what we have", err);
    }
    json_decref(report);
}

static void *follow_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&follow.lock);
    while (!follow.stop) {
        pthread_mutex_unlock(&follow.lock);
        follow_pull();
        pthread_mutex_lock(&follow.lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double when = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + follow.interval;
        until.tv_sec = (time_t)when;
        until.tv_nsec = (long)((when - (double)until.tv_sec) * 1e9);
        while (!follow.stop && pthread_cond_timedwait(&follow.wake, &follow.lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&follow.lock);
    return NULL;
}

int follow_start(const char *url, const char *root, double interval, char *err, size_t errlen) {
    char *bucket = NULL, *prefix = NULL;
    int rc = s3_parse_url(url, &bucket, &prefix, err, errlen);
    free(bucket);
    free(prefix);
    if (rc < 0) return rc;
    if (!(follow.url = strdup(url)) || !(follow.root = strdup(root))) goto oom;
    follow.interval = interval;
    follow.stop = 0;
    if (pthread_create(&follow.thread, NULL, follow_main, NULL) != 0) goto oom;
    follow.running = 1;
    return NZ_OK;
oom:
    snprintf(err, errlen, "out of memory");
    free(follow.url);
    free(follow.root);
    follow.url = follow.root = NULL;
    return NZ_ENOMEM;
}

void follow_stop(void) {
    if (!follow.running) return;
    pthread_mutex_lock(&follow.lock);
    follow.stop = 1;
    pthread_cond_signal(&follow.wake);
    pthread_mutex_unlock(&follow.lock);
    pthread_join(follow.thread, NULL); /* a pull under way finishes first */
    follow.running = 0;
    free(follow.url);
    free(follow.root);
    follow.url = follow.root = NULL;
}
