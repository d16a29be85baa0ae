/* run.h -- one `nz-pipeline run`: the nightly job, incremental.
 *
 *   1. Open the run catalog (catalog.h), take its writer lock, record the
 *      run as running, and repair what a dead run left (its staged
 *      sources applied if its snapshot is current, else dropped). A
 *      catalog that cannot be reached stops the run here, before any work.
 *   2. Step one (step.h): nz-extract --known, told what the catalog knows
 *      of each source, writes docs.jsonl for the new and changed ones
 *      only; unchanged ones cost a stat (or a 304), gone ones are noted.
 *      delta.h sets that against the catalog: added, changed, unchanged,
 *      removed (gone, or not seen at all unless --keep-missing), rejected.
 *   3. Nothing added, changed or removed: nothing is published; the run is
 *      recorded as `unchanged` and exits 0.
 *   4. Else the run's changes are staged in the catalog, and step two runs
 *      nz-chunk docs.jsonl | nz-embed | nz-index build --base current
 *      --drop-docs (changed and removed docs) --label run=ID, gated: it
 *      publishes only if every stage succeeded. Unchanged sources' rows are
 *      carried over byte for byte; unchanged chunk texts of a changed
 *      source hit nz-embed's cache, so only new text is sent. The catalog
 *      then applies the staged changes with the chunk ids the published
 *      snapshot holds, in one transaction with the run's end.
 *
 * --full (or a catalog that does not describe `current`) rebuilds from the
 * sources: everything is extracted, and nothing carried over. The stages
 * run beside this executable (NZ_BIN_DIR overrides), see INDEX_PATH set to
 * the root in use (so nz-embed's cache sits beside it), and log JSON lines
 * to nz-pipeline, which passes them on. SIGTERM or SIGINT stops every
 * stage and publishes nothing; SIGKILL kills the stages with it.
 *
 * --push s3://BUCKET/PREFIX uploads a published snapshot to object storage
 * (index/store.h: its files, then the `latest` pointer), where replicas
 * running `nz-serve --follow` pick it up; its report (or error: exit 1)
 * joins the summary. An unchanged run pushes nothing.
 *
 * For the crash tests, NZ_TEST_CRASH_AFTER_PUBLISH makes a run kill itself
 * right after its snapshot is published and before it is recorded.
 *
 * The run ends with one JSON summary line on stdout, also stored in the
 * catalog: status (published, unchanged, failed), exit, run, the sources
 * added/changed/unchanged/removed/rejected, chunks, what nz-embed sent and
 * its estimated cost, each stage's result and seconds, the index build's
 * summary, and the run's seconds.
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
    const char *push; /* --push s3://BUCKET/PREFIX: upload what was published, or NULL */
} pipeline_opts;

/* Run the job; the index root, provider, model and dimensions come from
 * config.h (flags already set there). Returns the exit code: NZ_EXIT_OK
 * (published or unchanged), NZ_EXIT_REJECTED (the same, but some inputs
 * were rejected), NZ_EXIT_FAIL (nothing published, or not recorded). */
int pipeline_run(const pipeline_opts *o);

#endif
