/* health.c -- see health.h. */
#include "health.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

static long long health_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The last answer and when it was asked (0: never). Read without the lock
 * while fresh; the lock is taken only to ping, and once there is an answer
 * a thread that finds another pinging answers with the last one rather
 * than wait up to connect_timeout for it. */
static struct {
    pthread_mutex_t lock;
    long long checked; /* CLOCK_MONOTONIC ns of the last ping, 0 before the first */
    const char *status;
} health = {.lock = PTHREAD_MUTEX_INITIALIZER, .status = "unknown"};

static int health_fresh(long long now) {
    long long t = __atomic_load_n(&health.checked, __ATOMIC_ACQUIRE);
    return t != 0 && now - t <= HEALTH_CACHE_SECONDS * 1000000000LL;
}

const char *health_database(const char *url) {
    if (!url) return "not_configured";
    long long now = health_now_ns();
    if (health_fresh(now)) return __atomic_load_n(&health.status, __ATOMIC_ACQUIRE);
    if (pthread_mutex_trylock(&health.lock) != 0) {
        if (__atomic_load_n(&health.checked, __ATOMIC_ACQUIRE) != 0)
            return __atomic_load_n(&health.status, __ATOMIC_ACQUIRE);
        pthread_mutex_lock(&health.lock); /* the first answer: wait for it */
    }
    if (!health_fresh(now)) { /* nobody pinged while we waited for the lock */
        /* PQping never returns the connection string or password */
        const char *keys[] = {"dbname", "connect_timeout", NULL};
        const char *vals[] = {url, "2", NULL};
        PGPing p = PQpingParams(keys, vals, 1);
        const char *s = p == PQPING_OK ? "ok" : p == PQPING_REJECT ? "rejecting" : "unreachable";
        __atomic_store_n(&health.status, s, __ATOMIC_RELEASE);
        __atomic_store_n(&health.checked, health_now_ns(), __ATOMIC_RELEASE);
    }
    const char *s = __atomic_load_n(&health.status, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&health.lock);
    return s;
}
