/* work.c -- `nz-pipeline work` (dist.h): claim a batch, run the stages on
 * it, hand its records to object storage as one shard, mark it done;
 * until every batch of the run is done.
 *
 * The lease: a claimed batch is ours until lease_until (the server's
 * clock). A thread with its own connection renews it every third of the
 * lease while the stages run; when the renewal finds the batch taken over
 * (our lease expired and another worker claimed it), the stages are
 * stopped and the batch is left to that worker. A worker that dies simply
 * stops renewing. Done is guarded by the lease too (catalog_work.h), so a
 * late worker cannot mark a batch done twice; its shard, if uploaded, is
 * the same content-addressed object or an orphan nobody points at.
 *
 * The database going away (a restart, a failover) is waited out: each
 * catalog call that finds the connection broken reconnects with backoff,
 * for up to WORK_DB_PATIENCE seconds, and is then tried again. The
 * renewal thread does the same; a lease that expires meanwhile is simply
 * reclaimed by whoever gets there first.
 *
 * The worker's scratch files live under INDEX_PATH/.work-RUN-BATCH-PID
 * and are removed after each batch; nz-embed's cache sits beside
 * INDEX_PATH as in a `run`.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
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
#include "delta.h"
#include "dist.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "publish.h"
#include "s3.h"
#include "sha.h"
#include "status.h"
#include "step.h"

#define WORK_DB_PATIENCE 120.0 /* seconds of database outage waited out */
#define WORK_IDLE_MAX 1.0      /* seconds between looks while others hold batches */
#define WORK_MAX_ATTEMPTS 3    /* claims of a batch before it is marked failed */

static volatile sig_atomic_t work_stop; /* a signal, or the lease lost */
static volatile sig_atomic_t work_signal;

static void work_on_signal(int sig) { work_signal = work_stop = sig; }

static double work_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void work_sleep(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !work_signal) {
    }
}

typedef struct worker {
    const dist_opts *o;
    const char *root, *url;
    catalog *cat;
    catalog_plan plan;
    json_t *options; /* the plan's */
    json_t *known;   /* what the catalog knows, for --known (empty: full) */
    char owner[320];
    char *bucket, *prefix, *known_path;
    s3_client s3;
    int s3_open;
    long batches, rejected_batches, failed_batches;
    /* the renewal thread */
    pthread_t renewer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long renew_batch; /* -1: nothing to renew; -2: quit */
    double coord_ms;       /* claims that got a batch + renewals + done, summed */
} worker;

/* A catalog call that may find the database gone: reconnect and retry
 * for up to WORK_DB_PATIENCE seconds. Sets rc to the call's status. */
#define WORK_DB(w, rc, err, call)                                                     \
    do {                                                                              \
        double until_ = work_now() + WORK_DB_PATIENCE, nap_ = 0.2;                    \
        for (;;) {                                                                    \
            (rc) = (w)->cat ? (call) : NZ_EUNAVAILABLE;                               \
            if ((rc) != NZ_EUNAVAILABLE || work_signal || work_now() > until_) break; \
            work_reconnect(w, &nap_, err, sizeof err);                                \
        }                                                                             \
    } while (0)

static void work_reconnect(worker *w, double *nap, char *err, size_t errlen) {
    log_warn("work: the catalog database is unavailable (%s): reconnecting", err);
    catalog_close(w->cat);
    work_sleep(*nap);
    if (*nap < 4) *nap *= 2;
    w->cat = catalog_open(w->url, w->root, err, errlen);
}

/* The renewal thread: every third of the lease, renew the batch it is
 * told of; a lease found lost stops the batch's stages. */
static void *work_renew_loop(void *arg) {
    worker *w = arg;
    catalog *cat = NULL;
    char err[512];
    pthread_mutex_lock(&w->mu);
    while (w->renew_batch != -2) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double t = (double)ts.tv_nsec / 1e9 + w->o->lease / 3;
        ts.tv_sec += (time_t)t;
        ts.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        long long batch = w->renew_batch;
        if (batch < 0) continue;
        pthread_mutex_unlock(&w->mu);
        double t0 = work_now();
        if (!cat) cat = catalog_open(w->url, w->root, err, sizeof err);
        int rc = cat ? catalog_batch_renew(cat, w->plan.run_id, batch, w->owner, w->o->lease, err,
                                           sizeof err)
                     : NZ_EUNAVAILABLE;
        pthread_mutex_lock(&w->mu);
        w->coord_ms += (work_now() - t0) * 1000;
        if (rc == NZ_EBUSY && w->renew_batch == batch) {
            log_warn("work: %s: stopping the batch", err);
            work_stop = SIGTERM;
        } else if (rc < 0) {
            log_warn("work: cannot renew the lease of batch %lld: %s", batch, err);
            catalog_close(cat);
            cat = NULL;
        }
    }
    pthread_mutex_unlock(&w->mu);
    catalog_close(cat);
    return NULL;
}

static void work_renew_set(worker *w, long long batch) {
    pthread_mutex_lock(&w->mu);
    w->renew_batch = batch;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Add one option the plan recorded as a flag of the current stage. */
static void work_plan_flag(worker *w, step *s, const char *flag, const char *key) {
    step_flag(s, flag, json_string_value(json_object_get(w->options, key)));
}

/* The SHA-256 of a file, as hex. NZ_OK, NZ_EIO or NZ_ENOMEM. */
static int work_sha_file(const char *path, char hex[SHA_HEX_LEN + 1], long long *bytes) {
    FILE *f = fopen(path, "rb");
    sha_ctx *c = sha_new();
    unsigned char d[SHA_LEN], chunk[65536];
    size_t n;
    int rc = f && c ? NZ_OK : NZ_EIO;
    *bytes = 0;
    while (rc == NZ_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (sha_update(c, chunk, n) < 0) rc = NZ_ENOMEM;
        *bytes += (long long)n;
    }
    if (rc == NZ_OK && (ferror(f) || sha_final(c, d) < 0)) rc = NZ_EIO;
    if (rc == NZ_OK) sha_hex(d, SHA_LEN, hex);
    if (f) fclose(f);
    sha_free(c);
    return rc;
}

/* Upload the shard under the SHA-256 of its bytes; *key malloc'd. */
static int work_upload(worker *w, const char *path, char **key, long long *bytes) {
    char hex[SHA_HEX_LEN + 1], err[512];
    if (work_sha_file(path, hex, bytes) < 0) {
        log_error("work: cannot read the shard %s", path);
        return NZ_EIO;
    }
    if (asprintf(key, "%s%sshards/%s.jsonl", w->prefix, *w->prefix ? "/" : "", hex) < 0) {
        *key = NULL;
        return NZ_ENOMEM;
    }
    int rc = s3_put_file(&w->s3, w->bucket, *key, path, err, sizeof err);
    if (rc < 0) log_error("work: cannot upload the shard: %s", err);
    return rc;
}

/* The batch's scratch files. */
typedef struct work_files {
    char *dir, *items, *docs, *shard;
} work_files;

static int work_files_make(worker *w, long long batch, json_t *items, work_files *f) {
    buf b = BUF_INIT;
    size_t i;
    json_t *it;
    if (asprintf(&f->dir, "%s/.work-%lld-%lld-%ld", w->root, w->plan.run_id, batch,
                 (long)getpid()) < 0 ||
        asprintf(&f->items, "%s/items.txt", f->dir) < 0 ||
        asprintf(&f->docs, "%s/docs.jsonl", f->dir) < 0 ||
        asprintf(&f->shard, "%s/shard.jsonl", f->dir) < 0)
        return NZ_ENOMEM;
    json_array_foreach(items, i, it) {
        if (buf_adds(&b, json_string_value(it)) < 0 || buf_adds(&b, "\n") < 0) {
            buf_free(&b);
            return NZ_ENOMEM;
        }
    }
    int rc =
        mkdir_p(f->dir, 0755) < 0 || atomic_write_file(f->items, b.s, b.len) < 0 ? NZ_EIO : NZ_OK;
    if (rc < 0) log_error("work: cannot write %s: %s", f->items, strerror(errno));
    buf_free(&b);
    return rc;
}

static void work_files_free(work_files *f) {
    const char *files[] = {f->items, f->docs, f->shard};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (files[i]) unlink(files[i]);
    if (f->dir) rmdir(f->dir);
    free(f->dir);
    free(f->items);
    free(f->docs);
    free(f->shard);
}

/* nz-extract on the batch's sources, told what the catalog knows. */
static int work_extract(worker *w, work_files *f, step *s, delta *d) {
    char err[512];
    step_add(s, "extract");
    if (w->plan.base) step_flag(s, "--known", w->known_path);
    step_flag(s, "-o", f->docs);
    step_flag(s, "--from", f->items);
    if (step_run(s, &work_stop) < 0) return NZ_EINVAL;
    /* unseen known sources are other batches': kept (keep_missing) */
    if (delta_compute(d, f->docs, w->known, step_logs(s), 1, err, sizeof err) < 0) {
        log_error("work: %s", err);
        return NZ_EIO;
    }
    return NZ_OK;
}

/* nz-chunk | nz-embed into the shard file. */
static int work_embed(worker *w, work_files *f, step *s) {
    step_add(s, "chunk");
    work_plan_flag(w, s, "--max-tokens", "max_tokens");
    step_arg(s, f->docs);
    step_add(s, "embed");
    work_plan_flag(w, s, "--provider", "provider");
    work_plan_flag(w, s, "--model", "model");
    work_plan_flag(w, s, "--dim", "dim");
    work_plan_flag(w, s, "--rpm", "rpm");
    work_plan_flag(w, s, "--tpm", "tpm");
    if (json_string_value(json_object_get(w->options, "rpm")) ||
        json_string_value(json_object_get(w->options, "tpm")))
        step_flag(s, "--shared-budget", "embed");
    step_flag(s, "-o", f->shard);
    return step_run(s, &work_stop) < 0 ? NZ_EINVAL : NZ_OK;
}

/* The rejects of a step, recorded once the batch is ours for good. */
static void work_rejects(worker *w, step *s) {
    const stagelog_result *logs = step_logs(s);
    char err[512];
    for (size_t i = 0; i < logs->nrejects; i++) {
        const stagelog_reject *j = &logs->rejects[i];
        int rc;
        WORK_DB(
            w, rc, err,
            catalog_reject(w->cat, w->plan.run_id, j->stage, j->uri, j->error, err, sizeof err));
        if (rc < 0) log_warn("work: cannot record a rejected input: %s", err);
    }
}

/* One claimed batch, start to done. NZ_OK; NZ_EBUSY (lost: not ours any
 * more); another status when it failed (the lease then runs out and the
 * batch goes to another worker). */
static int work_batch(worker *w, long long batch, json_t *items) {
    work_files f = {0};
    step ex = {0}, em = {0};
    delta d = {0};
    char err[512], *key = NULL;
    long long bytes = 0;
    work_stop = work_signal;
    work_renew_set(w, batch);
    int rc = work_files_make(w, batch, items, &f);
    if (rc == NZ_OK) rc = work_extract(w, &f, &ex, &d);
    if (rc == NZ_OK && d.added + d.changed > 0) rc = work_embed(w, &f, &em);
    if (rc == NZ_OK && d.added + d.changed > 0) rc = work_upload(w, f.shard, &key, &bytes);
    if (rc == NZ_OK && work_stop) rc = NZ_ESTOPPED;
    work_renew_set(w, -1);
    if (rc == NZ_OK) {
        double t0 = work_now();
        WORK_DB(w, rc, err,
                catalog_batch_done(w->cat, w->plan.run_id, batch, w->owner, key, bytes, d.changes,
                                   d.n, err, sizeof err));
        w->coord_ms += (work_now() - t0) * 1000;
        if (rc == NZ_EBUSY) log_warn("work: %s: another worker finishes it", err);
        else if (rc < 0) log_error("work: cannot mark batch %lld done: %s", batch, err);
    }
    if (rc == NZ_OK) {
        work_rejects(w, &ex);
        work_rejects(w, &em);
        w->batches++;
        if (step_rejected(&ex) || step_rejected(&em)) w->rejected_batches++;
        log_info("work: batch %lld done: %ld added, %ld changed, %ld unchanged, shard %s", batch,
                 d.added, d.changed, d.unchanged, key ? key : "(none)");
    } else if (work_stop && !work_signal) {
        rc = NZ_EBUSY;
    }
    step_free(&ex);
    step_free(&em);
    delta_free(&d);
    work_files_free(&f);
    free(key);
    return rc;
}

/* Claim and work batches until none is left to anyone. */
static int work_loop(worker *w) {
    char err[512];
    for (;;) {
        long long batch = -1, counts[4];
        json_t *items = NULL;
        if (work_signal) return NZ_ESTOPPED;
        double t0 = work_now();
        int rc;
        WORK_DB(w, rc, err,
                catalog_batch_claim(w->cat, w->plan.run_id, w->owner, w->o->lease, &batch, &items,
                                    err, sizeof err));
        if (rc < 0) goto fail;
        if (batch >= 0) {
            w->coord_ms += (work_now() - t0) * 1000; /* a claim that got one */
            rc = work_batch(w, batch, items);
            json_decref(items);
            if (rc < 0 && rc != NZ_EBUSY && !work_signal) { /* another attempt, maybe elsewhere */
                w->failed_batches++;
                WORK_DB(w, rc, err,
                        catalog_batch_release(w->cat, w->plan.run_id, batch, w->owner,
                                              WORK_MAX_ATTEMPTS, err, sizeof err));
                if (rc < 0) log_warn("work: cannot hand batch %lld back: %s", batch, err);
            }
            continue;
        }
        WORK_DB(w, rc, err, catalog_plan_progress(w->cat, w->plan.run_id, counts, err, sizeof err));
        if (rc < 0) goto fail;
        if (counts[0] == 0 && counts[1] == 0) return counts[3] ? NZ_EINVAL : NZ_OK;
        /* others hold the rest: look again, in case a lease runs out */
        work_sleep(w->o->lease / 4 < WORK_IDLE_MAX ? w->o->lease / 4 : WORK_IDLE_MAX);
        continue;
    fail:
        log_error("work: catalog: %s", err);
        return rc;
    }
}

/* Catalog, plan, options, known sources, object store. */
static int work_setup(worker *w) {
    char err[512], host[256];
    if (!(w->cat = catalog_open(w->url, w->root, err, sizeof err)) ||
        catalog_plan_get(w->cat, w->o->run, &w->plan, err, sizeof err) < 0)
        goto fail;
    if (strcmp(w->plan.status, "planned") != 0) {
        snprintf(err, sizeof err, "run %lld is %s, not planned", w->plan.run_id, w->plan.status);
        goto fail;
    }
    if (!(w->options = json_loads(w->plan.options ? w->plan.options : "{}", 0, NULL))) {
        snprintf(err, sizeof err, "the plan's options are not JSON");
        goto fail;
    }
    /* a full rebuild knows nothing: every source is added */
    if (!(w->known = w->plan.base ? catalog_sources(w->cat, 0, err, sizeof err) : json_array()))
        goto fail;
    if (w->plan.base) {
        if (asprintf(&w->known_path, "%s/.work-known-%ld.jsonl", w->root, (long)getpid()) < 0)
            goto oom;
        if (mkdir_p(w->root, 0755) < 0 ||
            delta_write_known(w->known, w->known_path, err, sizeof err) < 0)
            goto fail;
    }
    if (s3_parse_url(w->plan.store, &w->bucket, &w->prefix, err, sizeof err) < 0 ||
        s3_open(&w->s3, err, sizeof err) < 0)
        goto fail;
    w->s3_open = 1;
    if (gethostname(host, sizeof host) < 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(w->owner, sizeof w->owner, "%s:%ld:%lx", host, (long)getpid(),
             (unsigned long)time(NULL) ^ (unsigned long)random());
    return NZ_OK;
oom:
    snprintf(err, sizeof err, "out of memory");
fail:
    log_error("work: %s", err);
    return NZ_EIO;
}

static void work_signals(void) {
    struct sigaction sa = {.sa_handler = work_on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int dist_work(const dist_opts *o) {
    worker w = {.o = o,
                .root = config_get(CFG_INDEX_PATH),
                .url = config_get(CFG_DATABASE_URL),
                .renew_batch = -1};
    int exit_code = NZ_EXIT_FAIL, started = 0;
    double t0 = work_now();
    if (dist_require("work", NULL) < 0) return NZ_EXIT_USAGE;
    work_signals();
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    setenv("NZ_LOG_FORMAT", "json", 1);
    if (!log_enabled(LOG_INFO)) setenv("NZ_LOG_LEVEL", "info", 1);
    setenv("INDEX_PATH", w.root, 1);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (work_setup(&w) < 0) goto out;
    if (pthread_create(&w.renewer, NULL, work_renew_loop, &w) != 0) {
        log_error("work: cannot start the lease renewal thread");
        goto out;
    }
    started = 1;
    int rc = work_loop(&w);
    if (rc == NZ_EINVAL)
        log_error("work: some batches failed %d times: see the logs", WORK_MAX_ATTEMPTS);
    json_t *line =
        json_pack("{s:s,s:I,s:i,s:i,s:f,s:f}", "status", rc == NZ_OK ? "done" : "failed", "run",
                  (json_int_t)w.plan.run_id, "batches", (int)w.batches, "failed_attempts",
                  (int)w.failed_batches, "coordination_ms", w.coord_ms, "seconds", work_now() - t0);
    if (line) jsonl_write(stdout, line);
    json_decref(line);
    fflush(stdout);
    exit_code = rc == NZ_OK ? NZ_EXIT_OK : NZ_EXIT_FAIL;
out:
    if (started) {
        work_renew_set(&w, -2);
        pthread_join(w.renewer, NULL);
    }
    if (w.known_path) unlink(w.known_path);
    catalog_close(w.cat);
    if (w.s3_open) s3_close(&w.s3);
    catalog_plan_free(&w.plan);
    json_decref(w.options);
    json_decref(w.known);
    free(w.bucket);
    free(w.prefix);
    free(w.known_path);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (exit_code == NZ_EXIT_OK && o->then_finish) return dist_finish(o);
    return exit_code;
}
