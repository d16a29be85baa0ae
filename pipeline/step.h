/* step.h -- one step of a run: a chain of stage processes (chain.h) with
 * their logs read (stagelog.h), waited for, and summed up.
 *
 * A run has two steps: nz-extract alone (its output is a file the pipeline
 * reads before it decides anything), then nz-chunk | nz-embed | nz-index
 * build, gated: the index build sees end-of-input only after every stage
 * before it succeeded, and is stopped otherwise, so a failure anywhere
 * publishes nothing. The stages are found beside this executable
 * (NZ_BIN_DIR overrides) and log JSON lines to the pipeline. A SIGTERM or
 * SIGINT seen through `stop` stops every stage of the step.
 */
#ifndef NZ_STEP_H
#define NZ_STEP_H

#include <jansson.h>
#include <signal.h>

#include "buf.h"
#include "chain.h"
#include "stagelog.h"

#define STEP_MAX_STAGES 4
#define STEP_MAX_ARGS 4096

typedef struct step_stage {
    const char *name; /* "extract": runs nz-extract */
    char *argv[STEP_MAX_ARGS + 1];
    int argc;
    int full; /* an argument did not fit */
} step_stage;

typedef struct step {
    step_stage stage[STEP_MAX_STAGES];
    int n;
    int gated; /* the last stage waits at the gate (chain.h): two stages or more */
    chain_stage st[STEP_MAX_STAGES];
    chain ch;
    stagelog *logs;
    char *exe[STEP_MAX_STAGES];
    buf output; /* the last stage's stdout, up to 1 MiB */
    int failed, started;
} step;

/* Add a stage, then its arguments (NULL values are skipped, with their
 * flag). Too many arguments make step_run fail with NZ_ELIMIT. */
void step_add(step *s, const char *name);
void step_arg(step *s, const char *arg);
void step_flag(step *s, const char *flag, const char *value);

/* Run the step to its end. NZ_OK when every stage exited 0 or 3;
 * NZ_EINVAL when a stage failed (logged) or *stop was set; NZ_ELIMIT (too
 * many arguments), NZ_ENOMEM, NZ_EIO (cannot start) with a log line. */
int step_run(step *s, volatile sig_atomic_t *stop);

/* [{"name","result","exit","seconds"}] for the summary (new reference). */
json_t *step_results(const step *s);
/* 1 when some stage exited 3 (inputs rejected). */
int step_rejected(const step *s);
/* What the stages' logs held (after step_run). */
const stagelog_result *step_logs(step *s);

void step_free(step *s);

#endif
