/* run.h -- one `nz-pipeline run`: the four stages as one job.
 *
 * Runs  nz-extract SOURCE... | nz-chunk | nz-embed | nz-index build
 * as child processes joined by pipes (chain.h), the stages found beside
 * this executable (or in NZ_BIN_DIR). The index build is gated: it sees
 * end-of-input only after extract, chunk and embed have all finished
 * without failing, so a failure anywhere publishes nothing. Exit code 3
 * from a stage (some inputs rejected) is not a failure: the good inputs
 * are published and the run says so. SIGTERM or SIGINT stops every stage
 * and publishes nothing.
 *
 * The run ends with one JSON summary line on stdout: status, exit, the
 * index root, each stage's result, exit code and seconds, the index
 * build's own summary (the new snapshot), and the run's seconds. The
 * stages' logs go to stderr as they are.
 */
#ifndef NZ_RUN_H
#define NZ_RUN_H

typedef struct pipeline_opts {
    const char *from;       /* --from FILE, or NULL */
    const char *max_tokens; /* passed to nz-chunk as given (it validates), or NULL */
    const char *keep;       /* passed to nz-index build, or NULL */
    char *const *sources;   /* SOURCE... */
    int nsources;
    int full;         /* --full: rebuild from the sources, carry nothing over */
    int keep_missing; /* --keep-missing: a vanished source keeps its chunks */
} pipeline_opts;

/* Run the job; the index root, provider, model and dimensions come from
 * config.h (flags already set there). Returns the exit code: NZ_EXIT_OK
 * (published), NZ_EXIT_REJECTED (published, some inputs rejected),
 * NZ_EXIT_FAIL (nothing published), NZ_EXIT_USAGE (too many arguments). */
int pipeline_run(const pipeline_opts *o);

#endif
