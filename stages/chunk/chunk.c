/* chunk.c -- see chunk.h. */
#include "chunk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "atomicio.h"
#include "bpe.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "status.h"

typedef struct chunk_ctx {
    const chunker_opts *o;
    FILE *out;
    long docs, rejected;
    chunker_stats stats;
    progress prog;
} chunk_ctx;

/* One document record (jsonl_each): chunk it and write its chunks. NZ_OK,
 * or NZ_EIO on a write error. */
static int chunk_record(void *vctx, json_t *doc, const char *name, size_t lineno) {
    chunk_ctx *cx = vctx;
    char err[256];
    int rc = NZ_OK;
    json_t *chunks = chunker_chunk_doc(doc, cx->o, &cx->stats, err, sizeof err);
    if (!chunks) {
        const char *uri = jsonl_str(doc, "uri");
        log_reject(uri ? uri : name, "%s: line %zu: %s", name, lineno, err);
        cx->rejected++;
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        if (jsonl_write(cx->out, c) < 0) {
            log_error("write error: %s", strerror(errno));
            rc = NZ_EIO;
            goto out;
        }
    }
    cx->docs++;
    progress_add(&cx->prog, 1);
out:
    json_decref(chunks);
    json_decref(doc);
    return rc;
}

int chunk_run(const chunk_options *o) {
    char berr[256];
    if (bpe_init(berr, sizeof berr) < 0) {
        log_error("tokenizer: %s", berr);
        return NZ_EXIT_FAIL;
    }
    out_stream out;
    if (out_open(&out, o->output) < 0) {
        log_error("cannot open output %s: %s", o->output, strerror(errno));
        return NZ_EXIT_FAIL;
    }
    chunk_ctx cx = {.o = &o->chunker, .out = out.fp};
    progress_start(&cx.prog, "chunk (docs)", 0);
    size_t max = (size_t)o->max_line;
    int failed =
        (o->in ? jsonl_each_fp(o->in, "-", max, chunk_record, &cx, &cx.rejected)
               : jsonl_each(o->nfiles, o->files, max, chunk_record, &cx, &cx.rejected)) < 0;
    progress_finish(&cx.prog);
    if (failed) {
        out_abort(&out);
        return NZ_EXIT_FAIL;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        return NZ_EXIT_FAIL;
    }
    log_fields(LOG_INFO, "done",
               json_pack("{s:I,s:I,s:I,s:I,s:I}", "docs", (json_int_t)cx.docs, "chunks",
                         (json_int_t)cx.stats.chunks, "tokens", (json_int_t)cx.stats.tokens,
                         "duplicates_dropped", (json_int_t)cx.stats.duplicates, "rejected",
                         (json_int_t)cx.rejected));
    return cx.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}
