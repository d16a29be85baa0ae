/* plan.h -- the tasks of an nz-extract run, and the long PDFs shared
 * among workers.
 *
 * A run is a list of tasks handed to the worker pool (pool.h): one per
 * source, except that a long local PDF, when there are several workers,
 * becomes one task per page range ("part"). A worker reads its part's
 * pages into lines (extract_pdf_part) and keeps the document open for the
 * next part, since the parts of one document are handed out in a row; the
 * parent collects the parts in task order and, at the last one, lays the
 * whole document out (extract_pdf_assemble), so the record is the same
 * bytes whatever the number of workers.
 *
 * Also here: the result kinds a task returns through the pool, and the
 * rejection every task uses ({"uri","error"}, as JSON).
 */
#ifndef NZ_PLAN_H
#define NZ_PLAN_H

#include <stddef.h>

#include "extract.h"
#include "pool.h"
#include "sources.h"

/* What a task returns through the pool (pool_result.kind). */
enum {
    PLAN_REJECT = POOL_REJECT, /* {"uri","error"} JSON, or the pool's own text */
    PLAN_DOC,                  /* a docs.jsonl record */
    PLAN_NOTE,                 /* {"uri","status":"unchanged"|"gone",...} (run.h) */
    PLAN_PART,                 /* the packed lines of a PDF part */
    PLAN_MAX_KIND = PLAN_PART
};

/* A unit of work: a whole source, or one page range of a long PDF. */
typedef struct plan_task {
    size_t src;
    int part, nparts; /* nparts == 1: the whole source */
    int first, last;  /* page range of a part */
} plan_task;

typedef struct plan {
    plan_task *tasks;
    double *costs; /* per task: bytes to read, for the pool's scheduling */
    size_t ntasks;
    /* in the parent: the parts of the PDF being assembled, in task order */
    char **parts;
    size_t *part_lens;
    char *part_error;
} plan;

/* One task per source; a long local PDF (of at most max_pages) becomes
 * one task per page range when `workers` > 1, unless whole[i] (whole: NULL
 * or one flag a source) keeps it whole. NZ_OK or NZ_ENOMEM. */
int plan_make(plan *p, const source_list *sources, const unsigned char *whole, int workers,
              long max_pages);
void plan_free(plan *p);

/* A task's result is this rejection (out->payload NULL when out of memory). */
void plan_reject(pool_result *out, const char *uri, const char *error);

/* In a worker: one part of a long PDF to a PLAN_PART or PLAN_REJECT. */
void plan_part_work(const char *name, const plan_task *t, const extract_opts *eo, pool_result *out);
/* In a worker: close the PDF kept open for the next part. */
void plan_part_drop(void);

/* In the parent, in task order: take part t's result (r's payload is
 * taken when it is a part). 0 while parts are missing; 1 at the last part,
 * with either *json (the record, malloc'd) or *error (why the document is
 * rejected, malloc'd). NZ_ENOMEM is reported as an *error. */
int plan_part_collect(plan *p, const plan_task *t, pool_result *r, const char *name, char **json,
                      char **error);

#endif
