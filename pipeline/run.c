/* run.c -- see run.h. */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "catalog.h"
#include "config.h"
#include "delta.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "publish.h"
#include "snapinfo.h"
#include "snapshot.h"
#include "status.h"
#include "step.h"
#include "store.h"

#define RUN_DIR_PREFIX ".run-"

static volatile sig_atomic_t run_stop_signal;

static void run_on_signal(int sig) { run_stop_signal = sig; }

static double run_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Everything one run owns, freed in one place. */
typedef struct run_state {
    const pipeline_opts *o;
    const char *root;
    catalog *cat;
    long long id;
    int full;                         /* rebuild from the sources, no --base */
    char *dir, *known, *docs, *drops; /* the run's folder and files in it */
    char label[48];                   /* run=ID, in the snapshot's manifest */
    json_t *sources;                  /* what the catalog knows */
    delta d;
    step extract, index;
    json_t *index_summary; /* nz-index build's summary line */
    const char *status;    /* published, unchanged, failed */
    int rejected;          /* some stage rejected inputs */
} run_state;

/* Apply run `id`'s staged sources against the snapshot it published. */
static int run_apply(run_state *r, long long id, const snapshot *s, const json_t *summary) {
    char err[512];
    json_t *map = snapinfo_chunk_map(s);
    int rc = map ? catalog_apply(r->cat, id, snapinfo_chunk_ids, map, "published", s->name, summary,
                                 err, sizeof err)
                 : NZ_ENOMEM;
    if (!map) snprintf(err, sizeof err, "out of memory");
    if (rc < 0) log_error("run: cannot record run %lld's sources in the catalog: %s", id, err);
    json_decref(map);
    return rc;
}

/* Runs that died with staged sources: the one whose snapshot is current
 * had published it, so its sources are applied now; the others published
 * nothing, so theirs are dropped. */
static int run_repair(run_state *r) {
    char err[512];
    long long *ids = NULL;
    size_t n = 0;
    if (catalog_staged_runs(r->cat, &ids, &n, err, sizeof err) < 0) {
        log_error("run: run catalog: %s", err);
        return NZ_EIO;
    }
    snapshot *cur = NULL;
    int rc = NZ_OK;
    if (n && !(cur = snapshot_open(r->root, err, sizeof err))) cur = NULL;
    for (size_t i = 0; rc == NZ_OK && i < n; i++) {
        if (cur && snapinfo_label(cur) == ids[i]) {
            log_warn("run: run %lld published %s, then died before it recorded it: recorded now",
                     ids[i], cur->name);
            rc = run_apply(r, ids[i], cur, NULL);
        } else if ((rc = catalog_discard(r->cat, ids[i], err, sizeof err)) < 0) {
            log_error("run: run catalog: %s", err);
        }
    }
    snapshot_close(cur);
    free(ids);
    return rc;
}

/* Open the catalog, take the writer lock, record the run as started and
 * repair what an earlier run left: before any work, so a run that cannot
 * be recorded does nothing. */
static int run_open_catalog(run_state *r) {
    char err[512], holder[256];
    int crashed = 0;
    r->cat = catalog_open(config_get(CFG_DATABASE_URL), r->root, err, sizeof err);
    if (!r->cat) {
        log_error("run: run catalog: %s", err);
        return NZ_EUNAVAILABLE;
    }
    int rc = catalog_lock(r->cat, holder, sizeof holder, err, sizeof err);
    if (rc == NZ_OK) rc = catalog_run_begin(r->cat, &r->id, &crashed, err, sizeof err);
    if (rc < 0) {
        log_error("run: %s", err);
        return rc;
    }
    if (crashed)
        log_warn("run: %d earlier run(s) ended without finishing; the catalog now says crashed",
                 crashed);
    snprintf(r->label, sizeof r->label, "run=%lld", r->id);
    return run_repair(r);
}

/* ROOT/.run-ID, after removing what earlier runs left (we hold the lock). */
static int run_workdir(run_state *r) {
    if (mkdir_p(r->root, 0755) < 0) {
        log_error("run: cannot create %s: %s", r->root, strerror(errno));
        return NZ_EIO;
    }
    DIR *d = opendir(r->root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, RUN_DIR_PREFIX, strlen(RUN_DIR_PREFIX)) != 0) continue;
        char *old = NULL;
        if (asprintf(&old, "%s/%s", r->root, e->d_name) >= 0) root_discard(old);
        free(old);
    }
    if (d) closedir(d);
    if (asprintf(&r->dir, "%s/" RUN_DIR_PREFIX "%lld", r->root, r->id) < 0 ||
        asprintf(&r->known, "%s/known.jsonl", r->dir) < 0 ||
        asprintf(&r->docs, "%s/docs.jsonl", r->dir) < 0 ||
        asprintf(&r->drops, "%s/drop-docs.txt", r->dir) < 0) {
        log_error("out of memory");
        return NZ_ENOMEM;
    }
    if (mkdir(r->dir, 0755) < 0 && errno != EEXIST) {
        log_error("run: cannot create %s: %s", r->dir, strerror(errno));
        return NZ_EIO;
    }
    return NZ_OK;
}

/* Files of the run's folder, then the folder. */
static void run_cleanup(run_state *r) {
    const char *files[] = {r->known, r->docs, r->drops};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (files[i]) unlink(files[i]);
    if (r->dir) rmdir(r->dir);
}

/* Rejected inputs of a step go to the catalog at once. */
static int run_record_rejects(run_state *r, step *s) {
    const stagelog_result *logs = step_logs(s);
    char err[512];
    for (size_t i = 0; i < logs->nrejects; i++) {
        const stagelog_reject *j = &logs->rejects[i];
        if (catalog_reject(r->cat, r->id, j->stage, j->uri, j->error, err, sizeof err) < 0) {
            log_error("run: cannot record a rejected input: %s", err);
            return NZ_EIO;
        }
    }
    if (logs->dropped)
        log_warn("run: %zu rejected inputs or notes past the first %d were not kept", logs->dropped,
                 STAGELOG_MAX_KEPT);
    if (step_rejected(s)) r->rejected = 1;
    return NZ_OK;
}

/* Does the catalog describe `current`? Only then may unchanged sources be
 * carried over from it; else this run rebuilds from the sources. */
static int run_can_carry(run_state *r) {
    char *base = snapinfo_carry_base(r->cat, r->root);
    free(base);
    return base != NULL;
}

/* Step one: nz-extract, told what the catalog knows, into docs.jsonl; then
 * what changed. */
static int run_extract(run_state *r) {
    char err[512];
    const pipeline_opts *o = r->o;
    if (!(r->sources = catalog_sources(r->cat, 0, err, sizeof err))) goto fail;
    if (!r->full && delta_write_known(r->sources, r->known, err, sizeof err) < 0) goto fail;
    step *s = &r->extract;
    step_add(s, "extract");
    if (!r->full) step_flag(s, "--known", r->known);
    step_flag(s, "-o", r->docs);
    step_flag(s, "--from", o->from);
    step_arg(s, "--");
    for (int i = 0; i < o->nsources; i++) step_arg(s, o->sources[i]);
    int rc = step_run(s, &run_stop_signal);
    if (run_record_rejects(r, s) < 0 || rc < 0) return NZ_EINVAL;
    if (delta_compute(&r->d, r->docs, r->sources, step_logs(s), o->keep_missing, err, sizeof err) <
        0)
        goto fail;
    return NZ_OK;
fail:
    log_error("run: %s", err);
    return NZ_EIO;
}

/* Step two: chunk | embed | index build, the build carrying over the
 * current snapshot's rows of unchanged sources. The run's changes are
 * staged in the catalog before the index build may publish. */
static int run_index(run_state *r) {
    char err[512];
    if (catalog_stage(r->cat, r->id, r->d.changes, r->d.n, err, sizeof err) < 0 ||
        (!r->full && delta_write_drops(&r->d, r->sources, r->drops, err, sizeof err) < 0)) {
        log_error("run: %s", err);
        return NZ_EIO;
    }
    step *s = &r->index;
    step_add(s, "chunk");
    step_flag(s, "--max-tokens", r->o->max_tokens);
    step_arg(s, r->docs);
    step_add(s, "embed");
    step_flag(s, "--provider", config_get(CFG_EMBEDDING_PROVIDER));
    step_flag(s, "--model", config_get(CFG_EMBEDDING_MODEL));
    step_flag(s, "--dim", config_get(CFG_EMBEDDING_DIMENSIONS));
    step_add(s, "index");
    step_arg(s, "build");
    step_flag(s, "-o", r->root);
    if (!r->full) {
        step_flag(s, "--base", r->root);
        step_flag(s, "--drop-docs", r->drops);
    }
    step_flag(s, "--label", r->label);
    step_flag(s, "--keep", r->o->keep);
    int rc = step_run(s, &run_stop_signal);
    if (run_record_rejects(r, s) < 0) rc = NZ_EIO;
    if (rc == NZ_OK && s->output.len) {
        char *nl = strchr(s->output.s, '\n');
        if (nl) *nl = '\0';
        r->index_summary = json_loads(s->output.s, 0, NULL);
    }
    const char *snap = json_string_value(json_object_get(r->index_summary, "snapshot"));
    if (rc == NZ_OK && !snap) {
        log_error("run: the index build said nothing of its snapshot");
        rc = NZ_EIO;
    }
    if (rc < 0 && catalog_discard(r->cat, r->id, err, sizeof err) < 0)
        log_error("run: run catalog: %s", err);
    /* Fault point for the crash tests (SQLite's way): die between the
     * publish and its record, which the next run must repair. */
    if (rc == NZ_OK && getenv("NZ_TEST_CRASH_AFTER_PUBLISH")) raise(SIGKILL);
    return rc;
}

/* The one JSON summary: what the run saw, did and published. */
static json_t *run_summary(run_state *r, int exit_code, double t0) {
    json_t *stages = step_results(&r->extract), *more = step_results(&r->index);
    json_array_extend(stages, more);
    json_decref(more);
    json_t *embed = json_object_get(step_logs(&r->index)->done, "nz-embed");
    json_t *sent = NULL; /* only a remote provider reports requests */
    if (json_object_get(embed, "requests"))
        sent = json_pack("{s:O*,s:O*,s:O*,s:O*}", "requests", json_object_get(embed, "requests"),
                         "tokens", json_object_get(embed, "tokens"), "cost_usd",
                         json_object_get(embed, "cost_usd"), "cache_hits",
                         json_object_get(embed, "cache_hits"));
    return json_pack("{s:s,s:i,s:I,s:s,s:b,s:{s:i,s:i,s:i,s:i,s:i,s:i},s:O*,s:o*,s:o,s:O*,s:f}",
                     "status", r->status, "exit", exit_code, "run", (json_int_t)r->id, "index_path",
                     r->root, "full", r->full, "sources", "added", (int)r->d.added, "changed",
                     (int)r->d.changed, "unchanged", (int)r->d.unchanged, "removed",
                     (int)r->d.removed, "rejected", (int)r->d.rejected, "kept_missing",
                     (int)r->d.kept_missing, "chunks", json_object_get(r->index_summary, "count"),
                     "embedding", sent, "stages", stages, "index", r->index_summary, "seconds",
                     (double)(long)((run_now() - t0) * 1000) / 1000);
}

/* --push: upload what the run published (index/store.h), then record the
 * push's report (or its error) in the run's summary. */
static int run_push(run_state *r, json_t *summary, const char *snap) {
    char err[512], *path = NULL;
    json_t *report = NULL;
    if (asprintf(&path, "%s/%s", r->root, snap) < 0) return NZ_ENOMEM;
    int rc = store_push(path, r->o->push, &report, err, sizeof err);
    free(path);
    if (rc < 0) {
        log_error("run: push to the object store failed: %s", err);
        report = json_pack("{s:s}", "error", err);
    }
    json_object_set_new(summary, "push", report);
    if (rc < 0) json_object_set_new(summary, "exit", json_integer(NZ_EXIT_FAIL));
    if (catalog_run_finish(r->cat, r->id, r->status, snap, summary, err, sizeof err) < 0)
        log_error("run: cannot record the push: %s", err);
    return rc;
}

/* Record the end and print the summary; returns the exit code. */
static int run_finish(run_state *r, double t0) {
    char err[512];
    int exit_code = !strcmp(r->status, "failed") ? NZ_EXIT_FAIL
                    : r->rejected                ? NZ_EXIT_REJECTED
                                                 : NZ_EXIT_OK;
    json_t *summary = run_summary(r, exit_code, t0);
    int rc = summary ? NZ_OK : NZ_ENOMEM;
    const char *snap = json_string_value(json_object_get(r->index_summary, "snapshot"));
    if (rc == NZ_OK && !strcmp(r->status, "published")) {
        char *path = NULL;
        snapshot *s = NULL;
        if (asprintf(&path, "%s/%s", r->root, snap) >= 0) s = snapshot_open(path, err, sizeof err);
        rc = s ? run_apply(r, r->id, s, summary) : NZ_EIO;
        if (!s) log_error("run: cannot open the published snapshot: %s", err);
        snapshot_close(s);
        free(path);
    } else if (rc == NZ_OK && !strcmp(r->status, "unchanged")) {
        rc = catalog_stage(r->cat, r->id, r->d.changes, r->d.n, err, sizeof err);
        if (rc == NZ_OK)
            rc = catalog_apply(r->cat, r->id, snapinfo_chunk_ids, NULL, "unchanged", NULL, summary,
                               err, sizeof err);
        if (rc < 0) log_error("run: cannot record the run: %s", err);
    } else if (rc == NZ_OK) {
        rc = catalog_run_finish(r->cat, r->id, r->status, NULL, summary, err, sizeof err);
        if (rc < 0) log_error("run: cannot record the run: %s", err);
    }
    if (rc == NZ_OK && r->o->push && !strcmp(r->status, "published") &&
        run_push(r, summary, snap) < 0)
        exit_code = NZ_EXIT_FAIL;
    if (rc < 0) { /* the next run repairs a published one (run_repair) */
        exit_code = NZ_EXIT_FAIL;
        json_object_set_new(summary, "exit", json_integer(exit_code));
        json_object_set_new(summary, "recorded", json_false());
    }
    if (!summary || jsonl_write(stdout, summary) < 0 || fflush(stdout) != 0)
        exit_code = NZ_EXIT_FAIL;
    json_decref(summary);
    return exit_code;
}

static void run_signals(void) {
    struct sigaction sa = {.sa_handler = run_on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int pipeline_run(const pipeline_opts *o) {
    double t0 = run_now();
    run_state r = {.o = o, .root = config_get(CFG_INDEX_PATH), .status = "failed"};
    int exit_code = NZ_EXIT_FAIL;
    run_signals();
    /* The stages log JSON lines to us, at info at least (their notes on
     * each source are how the run learns what is unchanged; what we pass
     * on follows our own level), and see the index root in use. */
    setenv("NZ_LOG_FORMAT", "json", 1);
    if (!log_enabled(LOG_INFO)) setenv("NZ_LOG_LEVEL", "info", 1);
    setenv("INDEX_PATH", r.root, 1);
    if (run_open_catalog(&r) < 0) goto out;
    if (run_workdir(&r) < 0) goto done;
    r.full = o->full || !run_can_carry(&r);
    if (r.full && !o->full) log_info("run: the catalog does not describe current: full rebuild");
    if (run_extract(&r) < 0) goto done;
    if (!r.full && delta_is_empty(&r.d)) {
        r.status = "unchanged";
        goto done;
    }
    if (run_index(&r) == NZ_OK) r.status = "published";
done:
    exit_code = run_finish(&r, t0);
    run_cleanup(&r);
out:
    step_free(&r.extract);
    step_free(&r.index);
    delta_free(&r.d);
    json_decref(r.sources);
    json_decref(r.index_summary);
    catalog_close(r.cat);
    free(r.dir);
    free(r.known);
    free(r.docs);
    free(r.drops);
    return exit_code;
}
