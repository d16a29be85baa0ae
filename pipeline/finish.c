/* finish.c -- `nz-pipeline finish` (dist.h): the snapshot of a
 * distributed run, built once.
 *
 * Exactly one finish publishes: it takes the catalog's writer lock (a
 * session advisory lock in PostgreSQL, so a second finish, on any
 * machine, is refused while the first works, and the lock dies with a
 * finish that dies), then requires the run to be still `planned` (a run
 * already published is reported and left alone: exit 0) and every batch
 * done. It downloads every shard of the run into INDEX_PATH/.finish-RUN,
 * stages a DELETE for each known source no batch saw (catalog_work.h),
 * and runs nz-index build over the shards with --base on the snapshot the
 * plan named (its rows of unchanged sources are carried over) and
 * --drop-docs for the changed and removed ones. The root's current must
 * still be that base. Then, as `run` does: the staged changes are applied
 * with the published snapshot's chunk ids in one transaction with the
 * run's end (status published), and the snapshot is pushed to the plan's
 * object store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "buf.h"
#include "catalog.h"
#include "catalog_work.h"
#include "config.h"
#include "dist.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "publish.h"
#include "s3.h"
#include "snapinfo.h"
#include "snapshot.h"
#include "status.h"
#include "step.h"
#include "store.h"

static volatile sig_atomic_t finish_stop;

typedef struct finisher {
    const dist_opts *o;
    const char *root;
    catalog *cat;
    catalog_plan plan;
    char *dir, *drops, *bucket, *prefix;
    char label[48];
    char *input; /* every shard, one after another */
    size_t nshards;
    step build;
    json_t *summary;
    char err[512];
} finisher;

/* Append one downloaded shard to the build's input (f->input): one file,
 * so the number of shards is never bounded by the build's arguments. */
static int finish_append(finisher *f, const char *path) {
    FILE *in = fopen(path, "rb"), *out = fopen(f->input, "ab");
    char chunk[65536];
    size_t n;
    int rc = in && out ? NZ_OK : NZ_EIO;
    while (rc == NZ_OK && (n = fread(chunk, 1, sizeof chunk, in)) > 0)
        if (fwrite(chunk, 1, n, out) != n) rc = NZ_EIO;
    if (rc == NZ_OK && ferror(in)) rc = NZ_EIO;
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = NZ_EIO;
    if (rc < 0)
        snprintf(f->err, sizeof f->err, "cannot append %s to %s: %s", path, f->input,
                 strerror(errno));
    return rc;
}

/* Every shard of the run, downloaded into one input file. */
static int finish_fetch(finisher *f) {
    json_t *shards = catalog_plan_shards(f->cat, f->plan.run_id, f->err, sizeof f->err);
    s3_client s3;
    int rc = shards ? NZ_OK : NZ_EIO, opened = 0;
    if (rc == NZ_OK &&
        (rc = s3_parse_url(f->plan.store, &f->bucket, &f->prefix, f->err, sizeof f->err)) ==
            NZ_OK &&
        (rc = s3_open(&s3, f->err, sizeof f->err)) == NZ_OK)
        opened = 1;
    size_t i;
    json_t *sh;
    json_array_foreach(shards, i, sh) {
        char *path = NULL;
        if (rc != NZ_OK) break;
        const char *key = json_string_value(json_object_get(sh, "shard"));
        json_int_t bytes = json_integer_value(json_object_get(sh, "bytes"));
        if (asprintf(&path, "%s/%zu.jsonl", f->dir, i) < 0) {
            snprintf(f->err, sizeof f->err, "out of memory");
            rc = NZ_ENOMEM;
            break;
        }
        rc = s3_get_file(&s3, f->bucket, key, (uint64_t)bytes, path, f->err, sizeof f->err);
        if (rc == NZ_OK) rc = finish_append(f, path);
        unlink(path);
        free(path);
        f->nshards++;
    }
    if (opened) s3_close(&s3);
    json_decref(shards);
    return rc;
}

/* The doc ids the base must not carry, one a line. */
static int finish_drops(finisher *f) {
    json_t *drops = catalog_plan_drops(f->cat, f->plan.run_id, f->err, sizeof f->err);
    buf b = BUF_INIT;
    size_t i;
    json_t *d;
    int rc = drops ? NZ_OK : NZ_EIO;
    json_array_foreach(drops, i, d) {
        if (buf_adds(&b, json_string_value(d)) < 0 || buf_adds(&b, "\n") < 0) rc = NZ_ENOMEM;
    }
    if (rc == NZ_OK && atomic_write_file(f->drops, b.s ? b.s : "", b.len) < 0) {
        snprintf(f->err, sizeof f->err, "cannot write %s: %s", f->drops, strerror(errno));
        rc = NZ_EIO;
    }
    buf_free(&b);
    json_decref(drops);
    return rc;
}

/* nz-index build over the shards, on the plan's base. */
static int finish_build(finisher *f) {
    step *s = &f->build;
    step_add(s, "index");
    step_arg(s, "build");
    step_flag(s, "-o", f->root);
    if (f->plan.base) {
        step_flag(s, "--base", f->root);
        step_flag(s, "--drop-docs", f->drops);
    }
    step_flag(s, "--label", f->label);
    step_flag(s, "--keep", f->o->keep);
    step_arg(s, f->input);
    int rc = step_run(s, &finish_stop);
    if (rc == NZ_OK && s->output.len) {
        char *nl = strchr(s->output.s, '\n');
        if (nl) *nl = '\0';
        f->summary = json_loads(s->output.s, 0, NULL);
    }
    if (rc == NZ_OK && !json_string_value(json_object_get(f->summary, "snapshot"))) {
        snprintf(f->err, sizeof f->err, "the index build said nothing of its snapshot");
        return NZ_EIO;
    }
    if (rc < 0) snprintf(f->err, sizeof f->err, "the index build failed");
    return rc;
}

/* Apply the staged sources against the published snapshot, end the run,
 * push. */
static int finish_record(finisher *f, json_t *line) {
    const char *snap = json_string_value(json_object_get(f->summary, "snapshot"));
    char *path = NULL;
    json_t *map = NULL, *report = NULL;
    snapshot *s = NULL;
    int rc = asprintf(&path, "%s/%s", f->root, snap) < 0 ? NZ_ENOMEM : NZ_OK;
    if (rc == NZ_OK && !(s = snapshot_open(path, f->err, sizeof f->err))) rc = NZ_EIO;
    if (rc == NZ_OK && !(map = snapinfo_chunk_map(s))) rc = NZ_ENOMEM;
    if (rc == NZ_OK)
        rc = catalog_apply(f->cat, f->plan.run_id, snapinfo_chunk_ids, map, "published", snap, line,
                           f->err, sizeof f->err);
    if (rc == NZ_OK && store_push(path, f->plan.store, &report, f->err, sizeof f->err) < 0) {
        json_object_set_new(line, "push", json_pack("{s:s}", "error", f->err));
        rc = NZ_EUNAVAILABLE;
    } else if (rc == NZ_OK) {
        json_object_set_new(line, "push", report);
    }
    if (rc == NZ_OK || rc == NZ_EUNAVAILABLE) {
        char e2[256];
        json_object_set_new(line, "status", json_string("published"));
        if (catalog_run_finish(f->cat, f->plan.run_id, "published", snap, line, e2, sizeof e2) < 0)
            log_warn("finish: cannot record the push: %s", e2);
    }
    json_decref(map);
    snapshot_close(s);
    free(path);
    return rc;
}

/* Is root's current the plan's base? When not, pull the store's latest
 * (the previous run pushed it), and ask again. */
static int finish_is_base(finisher *f) {
    char *cur = root_current(f->root);
    int same = cur && strcmp(cur, f->plan.base) == 0;
    free(cur);
    return same;
}

static int finish_base(finisher *f) {
    json_t *report = NULL;
    if (finish_is_base(f)) return NZ_OK;
    log_info("finish: pulling the base snapshot %s from %s", f->plan.base, f->plan.store);
    if (store_pull(f->plan.store, f->root, &report, f->err, sizeof f->err) == NZ_OK &&
        finish_is_base(f)) {
        json_decref(report);
        return NZ_OK;
    }
    json_decref(report);
    log_warn("finish: %s", f->err);
    snprintf(f->err, sizeof f->err,
             "the plan builds on snapshot %s, which is neither %s's current nor the store's "
             "latest",
             f->plan.base, f->root);
    return NZ_EINVAL;
}

/* Lock, check, then fetch, build, record. */
static int finish_run(finisher *f) {
    char holder[256];
    long long n[4]; /* todo, claimed, done, failed */
    if (!(f->cat = catalog_open(config_get(CFG_DATABASE_URL), f->root, f->err, sizeof f->err)) ||
        catalog_lock(f->cat, holder, sizeof holder, f->err, sizeof f->err) < 0 ||
        catalog_plan_get(f->cat, f->o->run, &f->plan, f->err, sizeof f->err) < 0)
        return NZ_EBUSY;
    if (strcmp(f->plan.status, "planned") != 0) {
        log_info("finish: run %lld is already %s", f->plan.run_id, f->plan.status);
        return NZ_OK;
    }
    if (catalog_plan_progress(f->cat, f->plan.run_id, n, f->err, sizeof f->err) < 0) return NZ_EIO;
    if (n[0] + n[1] + n[3] > 0) {
        snprintf(f->err, sizeof f->err, "run %lld: %lld of %lld batches are not done (%lld failed)",
                 f->plan.run_id, n[0] + n[1] + n[3], n[0] + n[1] + n[2] + n[3], n[3]);
        return NZ_EBUSY;
    }
    if (f->plan.base && finish_base(f) < 0) return NZ_EINVAL;
    snprintf(f->label, sizeof f->label, "run=%lld", f->plan.run_id);
    if (asprintf(&f->dir, "%s/.finish-%lld", f->root, f->plan.run_id) < 0 ||
        asprintf(&f->drops, "%s/drop-docs.txt", f->dir) < 0 ||
        asprintf(&f->input, "%s/shards.jsonl", f->dir) < 0)
        return NZ_ENOMEM;
    root_discard(f->dir); /* what a dead finish left */
    if (mkdir_p(f->dir, 0755) < 0 || atomic_write_file(f->input, "", 0) < 0) {
        snprintf(f->err, sizeof f->err, "cannot create %s: %s", f->input, strerror(errno));
        return NZ_EIO;
    }
    int rc = finish_fetch(f);
    if (rc == NZ_OK && f->plan.base) rc = finish_drops(f);
    if (rc == NZ_OK) rc = finish_build(f);
    return rc;
}

int dist_finish(const dist_opts *o) {
    finisher f = {.o = o, .root = config_get(CFG_INDEX_PATH)};
    int exit_code = NZ_EXIT_FAIL;
    if (dist_require("finish", NULL) < 0) return NZ_EXIT_USAGE;
    setenv("NZ_LOG_FORMAT", "json", 1);
    if (!log_enabled(LOG_INFO)) setenv("NZ_LOG_LEVEL", "info", 1);
    setenv("INDEX_PATH", f.root, 1);
    int rc = finish_run(&f);
    if (rc == NZ_OK && f.summary) {
        json_t *line =
            json_pack("{s:s,s:I,s:I,s:O}", "status", "published", "run", (json_int_t)f.plan.run_id,
                      "shards", (json_int_t)f.nshards, "index", f.summary);
        rc = line ? finish_record(&f, line) : NZ_ENOMEM;
        if (line && jsonl_write(stdout, line) == 0 && fflush(stdout) == 0 && rc == NZ_OK)
            exit_code = NZ_EXIT_OK;
        json_decref(line);
    } else if (rc == NZ_OK) {
        exit_code = NZ_EXIT_OK; /* already published by another finish */
    }
    if (rc < 0) log_error("finish: %s", f.err);
    if (f.dir) root_discard(f.dir);
    step_free(&f.build);
    catalog_close(f.cat);
    catalog_plan_free(&f.plan);
    free(f.input);
    json_decref(f.summary);
    free(f.dir);
    free(f.drops);
    free(f.bucket);
    free(f.prefix);
    return exit_code;
}
