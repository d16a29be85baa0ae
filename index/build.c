/* build.c -- see build.h. */
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder.h"
#include "carry.h"
#include "ingest.h"
#include "log.h"
#include "manifest.h"
#include "publish.h"
#include "status.h"

static int build_stopped(const build_opts *o) { return o->stop && *o->stop; }

/* The new rows, from whichever input the options name. */
static int build_ingest(const build_opts *o, ingest *in, char *err, size_t errlen) {
    progress_start(&in->prog, "index build", 0);
    int rc = o->fvecs ? ingest_fvecs(in, o->fvecs, err, errlen)
                      : ingest_jsonl(in, o->in, o->nfiles, o->files, err, errlen);
    progress_finish(&in->prog);
    if (rc == NZ_OK && build_stopped(o)) rc = NZ_ESTOPPED;
    return rc;
}

/* Whether the new graph grows from the base's (graph_update). */
static int build_from_base_graph(const build_opts *o, const snapshot *base) {
    return !o->flat && !o->rebuild_graph && base->adj && base->degree == o->graph.degree;
}

/* After the new rows: the base's, unless dropped or replaced by them; with
 * map, the new graph grows from the base's. */
static int build_carry(const build_opts *o, const snapshot *base, ingest *in, uint32_t *map,
                       carry_stats *cs, char *err, size_t errlen) {
    uint32_t dim = builder_count(in->b) ? builder_dim(in->b) : 0;
    int rc = carry_check(base, in->provider, in->model, dim, err, errlen);
    if (rc < 0) return rc;
    if (!in->provider[0]) { /* no new records: the base names the embedding */
        snprintf(in->provider, sizeof in->provider, "%s", base->provider);
        snprintf(in->model, sizeof in->model, "%s", base->model);
    }
    progress_start(&in->prog, "index carry", base->count);
    rc = carry_rows(in->b, base, o->drop, in->docs, map, o->stop, &in->prog, cs, err, errlen);
    progress_finish(&in->prog);
    if (rc == NZ_ESTOPPED) snprintf(err, errlen, "stopped");
    if (rc < 0 || !map) return rc;
    graph_base gb = {.adj = base->adj,
                     .count = base->count,
                     .degree = base->degree,
                     .entry = base->entry,
                     .map = map};
    return builder_set_graph_base(in->b, &gb, base->name);
}

/* Fill a snapshot directory: rows in, files and manifest out. */
static int build_fill(const build_opts *o, const char *dir, const char *name, build_result *r,
                      char *err, size_t errlen) {
    double t0 = progress_now();
    ingest in = {.stop = o->stop};
    docset seen = DOCSET_INIT;
    snapshot *base = NULL;
    carry_stats cs = {0};
    uint32_t *map = NULL;
    int rc;
    if (o->base && (rc = carry_open(o->base, &base, err, errlen)) < 0) goto fail;
    rc = NZ_ENOMEM;
    if (base && build_from_base_graph(o, base) && !(map = malloc(base->count * sizeof *map))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EIO;
    if (!(in.b = builder_open(dir, err, errlen))) goto fail;
    if (o->lex && (rc = builder_set_lexical(in.b, o->lex)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!o->flat && (rc = builder_set_graph(in.b, &o->graph, o->stop, &in.prog)) < 0) {
        snprintf(err, errlen, "%s: cannot create %s: %s", dir, NZI_CODES, strerror(errno));
        goto fail;
    }
    in.docs = base ? &seen : NULL;
    if ((rc = build_ingest(o, &in, err, errlen)) < 0) goto fail;
    if (base && (rc = build_carry(o, base, &in, map, &cs, err, errlen)) < 0) goto fail;
    if (builder_count(in.b) == 0) {
        snprintf(err, errlen, "no valid vectors in %ld input records%s; nothing published",
                 in.records, base ? " and none carried from the base" : "");
        rc = NZ_EINVAL;
        goto fail;
    }
    manifest_build mb = {.snapshot = name,
                         .created = time(NULL),
                         .tool = o->tool,
                         .provider = in.provider,
                         .model = in.model,
                         .seconds = progress_now() - t0,
                         .records = in.records,
                         .rejected = in.rejected,
                         .base = base ? base->name : NULL,
                         .carried = cs.carried,
                         .dropped = cs.dropped,
                         .labels = o->labels};
    if ((rc = builder_finish(in.b, &mb, err, errlen)) < 0) goto fail;
    if (build_stopped(o)) rc = NZ_ESTOPPED;
    r->count = builder_count(in.b);
    r->dim = builder_dim(in.b);
    r->records = in.records;
    r->rejected = in.rejected;
    r->carried = cs.carried;
    r->dropped = cs.dropped;
    r->seconds = progress_now() - t0;
fail:
    builder_free(in.b);
    snapshot_close(base);
    free(map);
    docset_free(&seen);
    return rc;
}

int build_run(const build_opts *o, build_result *r, char *err, size_t errlen) {
    index_root ir = {.lock_fd = -1};
    char *tmpdir = NULL;
    memset(r, 0, sizeof *r);
    int rc = NZ_EIO;
    if (root_lock(&ir, o->root, err, errlen) < 0) goto fail;
    if (root_begin(&ir, &r->snapshot, &tmpdir, err, errlen) < 0) goto fail;
    if ((rc = build_fill(o, tmpdir, r->snapshot, r, err, errlen)) < 0) goto fail;
    rc = NZ_EIO;
    if (root_publish(&ir, r->snapshot, tmpdir, err, errlen) < 0) goto fail;
    free(tmpdir);
    tmpdir = NULL;
    rc = NZ_ENOMEM;
    if (!(r->pruned = json_array())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (root_prune(&ir, (int)o->keep, r->pruned, err, errlen) < 0) log_warn("prune: %s", err);
    log_fields(LOG_INFO, "published",
               json_pack("{s:s,s:I,s:I,s:I,s:I}", "snapshot", r->snapshot, "count",
                         (json_int_t)r->count, "rejected", (json_int_t)r->rejected, "carried",
                         (json_int_t)r->carried, "dropped", (json_int_t)r->dropped));
    rc = NZ_OK;
fail:
    if (tmpdir) root_discard(tmpdir);
    free(tmpdir);
    root_unlock(&ir);
    if (rc < 0) build_result_free(r);
    return rc;
}

void build_result_free(build_result *r) {
    free(r->snapshot);
    r->snapshot = NULL;
    json_decref(r->pruned);
    r->pruned = NULL;
}
