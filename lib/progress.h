/* progress.h -- progress line for long work: count, rate, ETA.
 *
 * Shown only when stderr is a terminal, redrawn in place at most ten times
 * a second; on a pipe it prints nothing (the final stats line of each stage
 * is the machine-readable record). Thread-safe: progress_add may be called
 * from OpenMP workers.
 */
#ifndef NZ_PROGRESS_H
#define NZ_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    const char *what;
    uint64_t total; /* 0 when unknown: no percentage or ETA */
    uint64_t done;
    double start, last_draw;
    int active;
} progress;

double progress_now(void); /* monotonic seconds */
void progress_start(progress *p, const char *what, uint64_t total);
void progress_add(progress *p, uint64_t n);
void progress_finish(progress *p);

#endif
