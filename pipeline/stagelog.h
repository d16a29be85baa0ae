/* stagelog.h -- the stages' logs, as nz-pipeline reads them.
 *
 * Every stage of a run writes its stderr into one pipe (chain.h), in JSON
 * lines (NZ_LOG_FORMAT=json is set for them). A thread reads the pipe
 * until every stage has exited: each line is passed on to nz-pipeline's
 * own stderr at once (log_relay: as it is, or as text for a terminal), and
 * each rejected input -- a line with "level":"error", "uri" and "error",
 * the contract of DESIGN.md -- is also kept for the run catalog. Lines are
 * bounded (STAGELOG_MAX_LINE: a longer one is passed on but not parsed),
 * and so is the number of rejects kept (the rest are only counted).
 */
#ifndef NZ_STAGELOG_H
#define NZ_STAGELOG_H

#include <stddef.h>

#define STAGELOG_MAX_LINE (1 << 20)
#define STAGELOG_MAX_REJECTS 100000

typedef struct stagelog_reject {
    char *stage, *uri, *error;
} stagelog_reject;

typedef struct stagelog stagelog;

/* Start reading. *write_fd gets the pipe's write end for the stages;
 * close it (stagelog_writer_done) once they have it. NULL with err. */
stagelog *stagelog_start(int *write_fd, char *err, size_t errlen);
void stagelog_writer_done(stagelog *l);
/* Wait until every writer has closed the pipe. Returns the rejects kept;
 * *n gets their count, *dropped how many more were seen. */
const stagelog_reject *stagelog_wait(stagelog *l, size_t *n, size_t *dropped);
void stagelog_free(stagelog *l);

#endif
