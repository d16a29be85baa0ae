/* run.c -- see run.h. */
#include "run.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomicio.h"
#include "input.h"
#include "jsonl.h"
#include "log.h"
#include "plan.h"
#include "pool.h"
#include "progress.h"
#include "sha.h"
#include "status.h"
#include "utf8.h"

#define RUN_MAX_SITEMAP_URLS 100000

typedef struct run_state {
    const run_options *o;
    source_list sources;  /* expanded: one task each, or one per PDF part */
    unsigned char *whole; /* per source: never split (a known file to compare whole) */
    plan plan;
    FILE *out;
    long docs, rejected, unchanged, gone;
    progress prog;
} run_state;

/* What a worker reads for one source, all freed by run_input_free. */
typedef struct run_input {
    extract_source src;
    char *uri;           /* a local source's */
    unsigned char *data; /* a local source's bytes */
    fetch_result fr;     /* a URL's */
    char sha256[SHA_HEX_LEN + 1];
} run_input;

static void run_input_free(run_input *in) {
    fetch_result_free(&in->fr);
    free(in->data);
    free(in->uri);
}

/* A note: the source needs no record. {"uri","status"} and, for an
 * unchanged file, its "size" and "mtime" (as docs.jsonl writes it); for a
 * gone source, the "reason". NULL when out of memory. */
static json_t *run_note_make(const char *status, const char *uri, long long size, time_t mtime,
                             const char *reason) {
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "uri", utf8_json_string(uri, strlen(uri))) < 0 ||
        json_object_set_new(o, "status", json_string(status)) < 0)
        goto fail;
    if (size >= 0) {
        char ts[32];
        extract_time_string(mtime, ts);
        if (json_object_set_new(o, "size", json_integer(size)) < 0 ||
            json_object_set_new(o, "mtime", json_string(ts)) < 0)
            goto fail;
    }
    if (reason && json_object_set_new(o, "reason", utf8_json_string(reason, strlen(reason))) < 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* In a worker: the task's result is this note. */
static void run_note_result(pool_result *out, const char *status, const char *uri, long long size,
                            time_t mtime, const char *reason) {
    json_t *o = run_note_make(status, uri, size, mtime, reason);
    out->kind = PLAN_NOTE;
    out->payload = o ? json_dumps(o, JSONL_DUMP_FLAGS) : NULL;
    out->len = out->payload ? strlen(out->payload) : 0;
    json_decref(o);
}

/* In the parent: log a note (taken) as an info line whose msg is its
 * status, and count it. */
static void run_note_log(run_state *run, json_t *note) {
    const char *status = json_string_value(json_object_get(note, "status"));
    if (!status) status = "unchanged";
    if (!strcmp(status, "gone")) run->gone++;
    else run->unchanged++;
    log_fields(LOG_INFO, status, note);
}

/* In a worker: a URL's bytes (conditional on what --known or --state
 * says of it). 0, or 1 when out holds the result. */
static int run_read_url(const run_state *run, const char *name, run_input *in, pool_result *out) {
    char err[512] = "";
    const known_source *k = known_get(&run->o->known, name);
    fetch_validators v = {k ? k->etag : NULL, k ? k->last_modified : NULL};
    in->src.uri = name;
    if (fetch_url(name, &run->o->fo, &v, &in->fr, err, sizeof err) < 0) {
        if (k && (in->fr.status == 404 || in->fr.status == 410))
            run_note_result(out, "gone", name, -1, 0, err);
        else plan_reject(out, name, err);
        return 1;
    }
    if (in->fr.unchanged) {
        run_note_result(out, "unchanged", name, -1, 0, NULL);
        return 1;
    }
    in->src.data = in->fr.data;
    in->src.len = in->fr.len;
    in->src.mtime = in->fr.mtime;
    in->src.content_type = in->fr.content_type[0] ? in->fr.content_type : NULL;
    in->src.etag = in->fr.etag;
    in->src.last_modified = in->fr.last_modified;
    return 0;
}

/* In a worker: a source's bytes into in. 0, or 1 when out already holds
 * the task's result: its rejection, or a note. A known file of the known
 * size is hashed: the same bytes are unchanged, whatever its mtime. */
static int run_read(const run_state *run, const char *name, run_input *in, pool_result *out) {
    char err[512] = "";
    if (fetch_is_url(name)) return run_read_url(run, name, in, out);
    in->uri = strcmp(name, "-") == 0 ? strdup("stdin:-") : input_file_uri(name);
    if (input_read(name, run->o->eo.max_bytes, &in->data, &in->src.len, &in->src.mtime, err,
                   sizeof err) < 0) {
        plan_reject(out, in->uri ? in->uri : name, err);
        return 1;
    }
    if (!in->uri) {
        plan_reject(out, name, "cannot resolve the path");
        return 1;
    }
    in->src.uri = in->uri;
    in->src.data = in->data;
    const known_source *k = known_get(&run->o->known, in->uri);
    if (k && k->sha256[0] && k->size == (long long)in->src.len) {
        if (extract_sha256_hex(in->data, in->src.len, in->sha256) < 0) {
            plan_reject(out, in->uri, "out of memory");
            return 1;
        }
        in->src.sha256 = in->sha256; /* the record's, not computed twice */
        if (!strcmp(in->sha256, k->sha256)) {
            run_note_result(out, "unchanged", in->uri, k->size, in->src.mtime, NULL);
            return 1;
        }
    }
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
    run_input in = {.src = {.name = name}};
    char err[512] = "";
    if (run_read(run, name, &in, out) == 0) {
        json_t *doc = extract_document(&in.src, &run->o->eo, err, sizeof err);
        if (doc) {
            out->kind = PLAN_DOC;
            out->payload = json_dumps(doc, JSONL_DUMP_FLAGS);
            out->len = out->payload ? strlen(out->payload) : 0;
            json_decref(doc);
            if (fetch_is_url(name) && out->payload &&
                fetch_save_state(name, &run->o->fo, &in.fr) < 0)
                log_warn("%s: cannot save fetch state in %s", name, run->o->fo.state_dir);
        } else {
            plan_reject(out, in.src.uri, err);
        }
    }
    run_input_free(&in);
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
        run_note_log(run, o);
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

/* In the parent, with --known: is source i a known local file that needs
 * no task? 1 when it was noted here: gone (missing), or unchanged by its
 * size and mtime (a stat: nothing is read). 0 when it is a task; whole[i]
 * is set when the worker is to compare its bytes (so it is never split). */
static int run_known_file(run_state *run, size_t i) {
    const char *name = run->sources.items[i];
    const known_source *k;
    struct stat st;
    char *uri = NULL;
    json_t *note = NULL;
    if (run->sources.errors[i] || fetch_is_url(name) || !strcmp(name, "-")) return 0;
    if (stat(name, &st) < 0) {
        if (errno != ENOENT || !(uri = input_missing_uri(name))) return 0;
        if ((k = known_get(&run->o->known, uri)))
            note = run_note_make("gone", uri, -1, 0, strerror(ENOENT));
    } else if (S_ISREG(st.st_mode) && (uri = input_file_uri(name)) &&
               (k = known_get(&run->o->known, uri))) {
        if (k->size == (long long)st.st_size && k->has_mtime && k->mtime == (long long)st.st_mtime)
            note = run_note_make("unchanged", uri, k->size, st.st_mtime, NULL);
        else run->whole[i] = k->size == (long long)st.st_size && k->sha256[0];
    }
    free(uri);
    if (!note) return 0; /* also out of memory: the task will say */
    run_note_log(run, note);
    return 1;
}

/* With --known: the known local files that need no task are noted and
 * left out of the sources. NZ_OK or NZ_ENOMEM. */
static int run_known(run_state *run) {
    size_t n = run->sources.n, j = 0;
    unsigned char *keep = malloc(n + 1);
    if (!keep || !(run->whole = calloc(n + 1, 1))) {
        free(keep);
        log_error("out of memory listing sources");
        return NZ_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) keep[i] = run->o->known.n == 0 || !run_known_file(run, i);
    for (size_t i = 0; i < n; i++)
        if (keep[i]) run->whole[j++] = run->whole[i];
    sources_keep(&run->sources, keep);
    free(keep);
    return NZ_OK;
}

int run_extract(const run_options *o, long *rejected) {
    run_state run = {.o = o};
    out_stream out = {0};
    int rc;
    *rejected = 0;
    fetch_global_init();
    if ((rc = run_expand(&run)) < 0 || (rc = run_known(&run)) < 0) goto fail;
    rc = NZ_EIO;
    if (out_open(&out, o->output) < 0) {
        log_error("cannot open output %s: %s", o->output, strerror(errno));
        goto fail;
    }
    run.out = out.fp;
    progress_start(&run.prog, "extract", run.sources.n);
    if ((rc = plan_make(&run.plan, &run.sources, run.whole, o->threads, o->eo.max_pages)) < 0) {
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
               json_pack("{s:I,s:I,s:I,s:I}", "docs", (json_int_t)run.docs, "rejected",
                         (json_int_t)run.rejected, "unchanged", (json_int_t)run.unchanged, "gone",
                         (json_int_t)run.gone));
    *rejected = run.rejected;
    rc = NZ_OK;
fail:
    sources_free(&run.sources);
    free(run.whole);
    plan_free(&run.plan);
    return rc;
}
