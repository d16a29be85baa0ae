/* report.h -- what `nz-pipeline status` and `nz-pipeline runs` print.
 *
 * The data engineer's morning view of the nightly job: the snapshot being
 * served and the last run (status), the newest runs (runs), or the sources
 * and rejected inputs (sources), read from the run catalog (catalog.h). On a terminal they print aligned tables for
 * people; otherwise JSON lines (one object a line) for scripts and jq.
 */
#ifndef NZ_REPORT_H
#define NZ_REPORT_H

typedef enum { REPORT_AUTO, REPORT_TABLE, REPORT_JSON } report_format;

typedef struct report_opts {
    report_format format;    /* AUTO: a table when stdout is a terminal */
    int last;                /* runs: how many, newest first */
    int rejected;            /* sources: the rejected inputs instead */
    long long run;           /* sources --rejected: of this run (0: the last one) */
    long long changed_since; /* sources: changed by a later run (0: all) */
} report_opts;

/* Each returns an exit code (nz.h): 0, or 1 when the catalog cannot be
 * read (the reason is logged, without any password). */
int report_status(const report_opts *o);
int report_runs(const report_opts *o);
/* The sources the catalog knows (what each was when last seen, and its
 * chunk ids), or with o->rejected the inputs a run rejected. */
int report_sources(const report_opts *o);

#endif
