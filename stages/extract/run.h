/* run.h -- one nz-extract run: sources in, docs.jsonl out.
 *
 * The sources as given are expanded (a sitemap URL becomes its pages),
 * planned into tasks (plan.h), and handed to the worker pool (pool.h):
 * in a worker, a task reads its source (a file or stdin bounded by
 * input.h, or a URL by fetch.h) and turns it into one record or one
 * rejection (extract.h); in the parent, the results come back in source
 * order and are written to the output (atomically, when a file) or
 * logged, a rejection as one JSON error line on stderr. A source that
 * fails never stops the others.
 */
#ifndef NZ_RUN_H
#define NZ_RUN_H

#include "extract.h"
#include "fetch.h"
#include "sources.h"

typedef struct run_options {
    const char *output;        /* file written atomically; NULL or "-": stdout */
    const source_list *inputs; /* the sources as given (directories walked) */
    int threads;               /* worker processes */
    long timeout;              /* seconds per task */
    unsigned long max_memory;  /* address space per worker; 0: none */
    extract_opts eo;
    fetch_opts fo;
} run_options;

/* NZ_OK when every source was written or rejected (*rejected counts the
 * rejections); NZ_EIO when the output could not be opened, written or
 * committed, or the workers could not be started; NZ_ENOMEM. The reason
 * is logged. */
int run_extract(const run_options *o, long *rejected);

#endif
