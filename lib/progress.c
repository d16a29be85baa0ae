/* progress.c -- see progress.h. */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(progress *p, const char *what, uint64_t total) {
    p->what = what;
    p->total = total;
    p->done = 0;
    p->start = progress_now();
    p->last_draw = 0;
    p->active = isatty(STDERR_FILENO) && log_human();
    p->next_json_ms = p->active ? 0 : (int64_t)((p->start + PROGRESS_JSON_EVERY) * 1000);
}

/* The JSON line, when one is due; one thread wins the slot. */
static void progress_json(progress *p) {
    int64_t due = __atomic_load_n(&p->next_json_ms, __ATOMIC_RELAXED);
    double now = progress_now();
    if (!due || (int64_t)(now * 1000) < due) return;
    int64_t next = (int64_t)((now + PROGRESS_JSON_EVERY) * 1000);
    if (!__atomic_compare_exchange_n(&p->next_json_ms, &due, next, 0, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return;
    uint64_t done = __atomic_load_n(&p->done, __ATOMIC_RELAXED);
    double el = now - p->start, rate = el > 0 ? (double)done / el : 0;
    json_t *f = json_pack("{s:s,s:I,s:f}", "what", p->what, "done", (json_int_t)done, "rate",
                          round(rate * 10) / 10);
    if (f && p->total) {
        json_object_set_new(f, "total", json_integer((json_int_t)p->total));
        if (rate > 0 && done < p->total)
            json_object_set_new(f, "eta_s",
                                json_integer((json_int_t)((double)(p->total - done) / rate)));
    }
    log_fields(LOG_INFO, "progress", f);
}

static void progress_draw(progress *p, int final) {
    double el = progress_now() - p->start;
    double rate = el > 0 ? (double)p->done / el : 0;
    char eta[32] = "";
    if (p->total && rate > 0 && p->done < p->total) {
        long s = (long)((double)(p->total - p->done) / rate);
        snprintf(eta, sizeof eta, " ETA %ld:%02ld", s / 60, s % 60);
    }
    if (p->total)
        fprintf(stderr, "\r%s: %llu/%llu (%.1f%%) %.0f/s%s\033[K", p->what,
                (unsigned long long)p->done, (unsigned long long)p->total,
                100.0 * (double)p->done / (double)p->total, rate, eta);
    else fprintf(stderr, "\r%s: %llu %.0f/s\033[K", p->what, (unsigned long long)p->done, rate);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

void progress_add(progress *p, uint64_t n) {
    if (!p->active) {
        __atomic_add_fetch(&p->done, n, __ATOMIC_RELAXED);
        progress_json(p);
        return;
    }
#pragma omp critical(nz_progress)
    {
        p->done += n;
        double now = progress_now();
        if (now - p->last_draw >= 0.1) {
            p->last_draw = now;
            progress_draw(p, 0);
        }
    }
}

void progress_finish(progress *p) {
    if (p->active) progress_draw(p, 1);
    p->active = 0;
    p->next_json_ms = 0;
}
