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
 *
 * Incremental runs (--known, known.h): a source that needs no record is a
 * note, logged as an info line whose msg is its status. "unchanged" (uri;
 * for a file also size and mtime): a known file of the same size and
 * mtime (decided in the parent by a stat, before any task: nothing is
 * read), a known file of the same size whose bytes hash to the known
 * sha256 (in its worker; the note carries the new mtime), a URL answering
 * 304 to the validators from --known or --state. "gone" (uri, reason): a
 * known file that no longer exists, a known URL answering 404 or 410.
 * Neither is a rejection. Sources not in --known go as they always did.
 */
#ifndef NZ_RUN_H
#define NZ_RUN_H

#include "extract.h"
#include "fetch.h"
#include "known.h"
#include "sources.h"

typedef struct run_options {
    const char *output;        /* file written atomically; NULL or "-": stdout */
    const source_list *inputs; /* the sources as given (directories walked) */
    int threads;               /* worker processes */
    long timeout;              /* seconds per task */
    unsigned long max_memory;  /* address space per worker; 0: none */
    extract_opts eo;
    fetch_opts fo;
    known_table known; /* --known: what an earlier run knew (empty: nothing) */
} run_options;

/* NZ_OK when every source was written or rejected (*rejected counts the
 * rejections); NZ_EIO when the output could not be opened, written or
 * committed, or the workers could not be started; NZ_ENOMEM. The reason
 * is logged. */
int run_extract(const run_options *o, long *rejected);

#endif
