/* run.c -- see run.h. */
#include "run.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicio.h"
#include "input.h"
#include "jsonl.h"
#include "log.h"
#include "plan.h"
#include "pool.h"
#include "progress.h"
#include "status.h"

#define RUN_MAX_SITEMAP_URLS 100000

typedef struct run_state {
    const run_options *o;
    source_list sources; /* expanded: one task each, or one per PDF part */
    plan plan;
    FILE *out;
    long docs, rejected, unchanged;
    progress prog;
} run_state;

/* In a worker: a source's bytes. 0 with src filled (and *uri, *data or
 * *fr for the caller to free); 1 when out already holds the task's result:
 * its rejection, or the note that a URL is unchanged. */
static int run_read(const run_state *run, const char *name, extract_source *src, char **uri,
                    unsigned char **data, fetch_result *fr, pool_result *out) {
    char err[512] = "";
    if (fetch_is_url(name)) {
        src->uri = name;
        if (fetch_url(name, &run->o->fo, fr, err, sizeof err) < 0) {
            plan_reject(out, name, err);
            return 1;
        }
        if (fr->unchanged) {
            json_t *o = json_pack("{s:s,s:s}", "uri", name, "status", "unchanged");
            out->kind = PLAN_NOTE;
            out->payload = o ? json_dumps(o, JSONL_DUMP_FLAGS) : NULL;
            out->len = out->payload ? strlen(out->payload) : 0;
            json_decref(o);
            return 1;
        }
        src->data = fr->data;
        src->len = fr->len;
        src->mtime = fr->mtime;
        src->content_type = fr->content_type[0] ? fr->content_type : NULL;
        return 0;
    }
    *uri = strcmp(name, "-") == 0 ? strdup("stdin:-") : input_file_uri(name);
    if (input_read(name, run->o->eo.max_bytes, data, &src->len, &src->mtime, err, sizeof err) < 0) {
        plan_reject(out, *uri ? *uri : name, err);
        return 1;
    }
    if (!*uri) {
        plan_reject(out, name, "cannot resolve the path");
        return 1;
    }
    src->uri = *uri;
    src->data = *data;
    return 0;
}

/* In a worker: one task to one result. */
static void run_task(size_t ti, void *vctx, pool_result *out) {
    run_state *run = vctx;
    const plan_task *t = &run->plan.tasks[ti];
    const char *name = run->sources.items[t->src];
    if (t->nparts > 1) {
        plan_part_work(name, t, &run->o->eo, out);
        return;
    }
    plan_part_drop(); /* memory for this one */
    if (run->sources.errors[t->src]) {
        char *uri = input_file_uri(name);
        plan_reject(out, uri ? uri : name, run->sources.errors[t->src]);
        free(uri);
        return;
    }
    extract_source src = {.name = name};
    char *uri = NULL, err[512] = "";
    unsigned char *data = NULL;
    fetch_result fr = {0};
    if (run_read(run, name, &src, &uri, &data, &fr, out) == 0) {
        json_t *doc = extract_document(&src, &run->o->eo, err, sizeof err);
        if (doc) {
            out->kind = PLAN_DOC;
            out->payload = json_dumps(doc, JSONL_DUMP_FLAGS);
            out->len = out->payload ? strlen(out->payload) : 0;
            json_decref(doc);
            if (fetch_is_url(name) && out->payload && fetch_save_state(name, &run->o->fo, &fr) < 0)
                log_warn("%s: cannot save fetch state in %s", name, run->o->fo.state_dir);
        } else {
            plan_reject(out, src.uri, err);
        }
    }
    fetch_result_free(&fr);
    free(data);
    free(uri);
}

static int run_write_doc(run_state *run, const char *json, size_t len) {
    if (fwrite(json, 1, len, run->out) != len || fputc('\n', run->out) == EOF) {
        log_error("write error: %s", strerror(errno));
        return NZ_EIO;
    }
    run->docs++;
    return NZ_OK;
}

/* In the parent: the parts of a long PDF; written or rejected at the last. */
static int run_emit_part(run_state *run, const plan_task *t, pool_result *r) {
    const char *name = run->sources.items[t->src];
    char *json, *error;
    if (plan_part_collect(&run->plan, t, r, name, &json, &error) == 0) return NZ_OK;
    int rc = NZ_OK;
    progress_add(&run->prog, 1);
    if (json) rc = run_write_doc(run, json, strlen(json));
    else {
        char *uri = input_file_uri(name);
        log_reject(uri ? uri : name, "%s", error ? error : "out of memory");
        free(uri);
        run->rejected++;
    }
    free(json);
    free(error);
    return rc;
}

/* In the parent, in task order. */
static int run_emit(size_t ti, pool_result *r, void *vctx) {
    run_state *run = vctx;
    const plan_task *t = &run->plan.tasks[ti];
    if (t->nparts > 1) return run_emit_part(run, t, r);
    progress_add(&run->prog, 1);
    if (r->kind == PLAN_DOC) return run_write_doc(run, r->payload, r->len);
    json_t *o = json_loadb(r->payload, r->len, 0, NULL);
    if (r->kind == PLAN_NOTE) {
        run->unchanged++;
        log_fields(LOG_INFO, "unchanged", o);
        return NZ_OK;
    }
    const char *uri = json_string_value(json_object_get(o, "uri"));
    const char *error = json_string_value(json_object_get(o, "error"));
    log_reject(uri ? uri : run->sources.items[t->src], "%s", error ? error : r->payload);
    json_decref(o);
    run->rejected++;
    return NZ_OK;
}

static int run_add_url(void *ctx, const char *url) { return sources_push(ctx, url, NULL); }

/* The sources as tasks see them: sitemaps expanded to their pages (a
 * sitemap that fails is rejected here). NZ_OK or NZ_ENOMEM. */
static int run_expand(run_state *run) {
    const source_list *in = run->o->inputs;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = in->items[i];
        if (!in->errors[i] && fetch_is_url(s) && fetch_is_sitemap(s)) {
            char err[512];
            size_t before = run->sources.n;
            if (fetch_sitemap(s, &run->o->fo, RUN_MAX_SITEMAP_URLS, run_add_url, &run->sources, err,
                              sizeof err) < 0) {
                log_reject(s, "%s", err);
                run->rejected++;
            } else {
                log_fields(LOG_INFO, "sitemap expanded",
                           json_pack("{s:s,s:I}", "uri", s, "pages",
                                     (json_int_t)(run->sources.n - before)));
            }
            continue;
        }
        if (sources_push(&run->sources, s, in->errors[i]) < 0) {
            log_error("out of memory listing sources");
            return NZ_ENOMEM;
        }
    }
    return NZ_OK;
}

int run_extract(const run_options *o, long *rejected) {
    run_state run = {.o = o};
    out_stream out = {0};
    int rc;
    *rejected = 0;
    fetch_global_init();
    if ((rc = run_expand(&run)) < 0) goto fail;
    rc = NZ_EIO;
    if (out_open(&out, o->output) < 0) {
        log_error("cannot open output %s: %s", o->output, strerror(errno));
        goto fail;
    }
    run.out = out.fp;
    progress_start(&run.prog, "extract", run.sources.n);
    if ((rc = plan_make(&run.plan, &run.sources, o->threads, o->eo.max_pages)) < 0) {
        log_error("out of memory planning the work");
        out_abort(&out);
        goto fail;
    }
    pool_opts po = {.workers = o->threads,
                    .what = "extractor",
                    .max_kind = PLAN_MAX_KIND,
                    .timeout = (double)o->timeout,
                    .mem_limit = o->max_memory,
                    .cost = run.plan.costs};
    rc = run.plan.ntasks ? pool_run(run.plan.ntasks, &po, run_task, &run, run_emit, &run) : NZ_OK;
    progress_finish(&run.prog);
    if (rc < 0) {
        out_abort(&out);
        goto fail;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        rc = NZ_EIO;
        goto fail;
    }
    log_fields(LOG_INFO, "done",
               json_pack("{s:I,s:I,s:I}", "docs", (json_int_t)run.docs, "rejected",
                         (json_int_t)run.rejected, "unchanged", (json_int_t)run.unchanged));
    *rejected = run.rejected;
    rc = NZ_OK;
fail:
    sources_free(&run.sources);
    plan_free(&run.plan);
    return rc;
}
