/* health.c -- see health.h. */
#include "health.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

static double health_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *health_database(const char *url) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static double checked;
    static const char *status = "unknown";
    if (!url) return "not_configured";
    pthread_mutex_lock(&lock);
    double now = health_now();
    if (now - checked > HEALTH_CACHE_SECONDS || checked == 0) {
        /* PQping never returns the connection string or password */
        const char *keys[] = {"dbname", "connect_timeout", NULL};
        const char *vals[] = {url, "2", NULL};
        PGPing p = PQpingParams(keys, vals, 1);
        status = p == PQPING_OK ? "ok" : p == PQPING_REJECT ? "rejecting" : "unreachable";
        checked = now;
    }
    const char *s = status;
    pthread_mutex_unlock(&lock);
    return s;
}
