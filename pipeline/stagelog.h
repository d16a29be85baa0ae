/* stagelog.h -- the stages' logs, as nz-pipeline reads them.
 *
 * Every stage of a run writes its stderr into one pipe (chain.h), in JSON
 * lines (NZ_LOG_FORMAT=json is set for them). A thread reads the pipe
 * until every stage has exited: each line is passed on to nz-pipeline's
 * own stderr at once (log_relay: as it is, or as text for a terminal), and
 * three kinds of line are also kept for the run:
 *  - each rejected input: "level":"error" with "uri" and "error" (the
 *    contract of DESIGN.md), for the run catalog;
 *  - each note on a source: "msg" "unchanged" or "gone" with "uri"
 *    (nz-extract --known), for the run's sources ("unchanged" notes, one a
 *    source every night, are passed on only at NZ_LOG_LEVEL=debug);
 *  - each stage's last "done" line (its counts: nz-embed's requests,
 *    tokens and cost), for the summary.
 * Lines are bounded (STAGELOG_MAX_LINE: a longer one is passed on but not
 * parsed), and so is what is kept (STAGELOG_MAX_KEPT rejects and notes;
 * the rest are only counted).
 */
#ifndef NZ_STAGELOG_H
#define NZ_STAGELOG_H

#include <jansson.h>
#include <stddef.h>

#define STAGELOG_MAX_LINE (1 << 20)
#define STAGELOG_MAX_KEPT 10000000

typedef struct stagelog_reject {
    char *stage, *uri, *error;
} stagelog_reject;

/* What one reading kept. */
typedef struct stagelog_result {
    const stagelog_reject *rejects;
    size_t nrejects;
    json_t *notes;  /* [{"msg":"unchanged"|"gone","uri",...}] as logged */
    json_t *done;   /* {"nz-embed": {its done line}, ...} */
    size_t dropped; /* rejects and notes past STAGELOG_MAX_KEPT */
} stagelog_result;

typedef struct stagelog stagelog;

/* Start reading. *write_fd gets the pipe's write end for the stages;
 * close it (stagelog_writer_done) once they have it. NULL with err. */
stagelog *stagelog_start(int *write_fd, char *err, size_t errlen);
void stagelog_writer_done(stagelog *l);
/* Wait until every writer has closed the pipe; what was kept, owned by l. */
const stagelog_result *stagelog_wait(stagelog *l);
void stagelog_free(stagelog *l);

#endif
