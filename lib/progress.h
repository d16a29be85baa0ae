/* progress.h -- progress of long work: count, rate, ETA.
 *
 * On a terminal, one line redrawn in place at most ten times a second.
 * Elsewhere (cron, `fly logs`, nz-pipeline reading its stages), a JSON log
 * line {"msg":"progress","what","done","total","rate","eta_s"} at most
 * every PROGRESS_JSON_EVERY seconds, so that someone watching a long run
 * sees it move; work shorter than that prints nothing (the final stats
 * line of each stage is the record). Thread-safe: progress_add may be
 * called from OpenMP workers.
 */
#ifndef NZ_PROGRESS_H
#define NZ_PROGRESS_H

#include <stdint.h>

#define PROGRESS_JSON_EVERY 10.0 /* seconds between JSON progress lines */

typedef struct progress {
    const char *what;
    uint64_t total; /* 0 when unknown: no percentage or ETA */
    uint64_t done;
    double start, last_draw;
    int active;           /* a terminal line is drawn */
    int64_t next_json_ms; /* when the next JSON line is due (0: never) */
} progress;

double progress_now(void); /* monotonic seconds */
void progress_start(progress *p, const char *what, uint64_t total);
void progress_add(progress *p, uint64_t n);
void progress_finish(progress *p);

#endif
