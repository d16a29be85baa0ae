/* plan.c -- `nz-pipeline plan` (dist.h): the run's sources, cut into
 * batches, in the catalog.
 *
 * Sources are expanded here the way nz-extract expands them (sources.h:
 * directories walked in byte order, --from lists), and sitemaps into
 * their pages (fetch.h), so each batch is a list nz-extract takes as it
 * is. The plan is written in one transaction, under the catalog's writer
 * lock, which also keeps a second plan (or a `run`) out meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_work.h"
#include "config.h"
#include "dist.h"
#include "fetch.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "s3.h"
#include "snapinfo.h"
#include "sources.h"
#include "status.h"

#define PLAN_MAX_ITEMS 50000000L /* a plan's sources: 10M chunks is ~1M pages */

int dist_require(const char *what, const char *store) {
    const char *db = config_get(CFG_DATABASE_URL);
    char err[256], *bucket = NULL, *prefix = NULL;
    if (!db || !*db) {
        log_error("%s: distributed runs need PostgreSQL: set DATABASE_URL", what);
        return NZ_EINVAL;
    }
    if (!store) return NZ_OK;
    if (!*store) {
        log_error("%s: distributed runs need object storage: --store s3://BUCKET/PREFIX or "
                  "SNAPSHOT_STORE",
                  what);
        return NZ_EINVAL;
    }
    int rc = s3_parse_url(store, &bucket, &prefix, err, sizeof err);
    free(bucket);
    free(prefix);
    if (rc < 0) {
        log_error("%s: %s", what, err);
        return NZ_EINVAL;
    }
    const char *ep = config_get(CFG_AWS_ENDPOINT_URL), *key = config_get(CFG_AWS_ACCESS_KEY_ID);
    if ((!ep || !*ep) && (!key || !*key)) {
        log_error("%s: object storage needs AWS_ENDPOINT_URL or AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY",
                  what);
        return NZ_EINVAL;
    }
    return NZ_OK;
}

static int plan_add_page(void *ctx, const char *url) { return sources_push(ctx, url, NULL); }

/* Every source given, expanded; sitemaps into their pages. */
static int plan_expand(const dist_opts *o, source_list *out) {
    source_list given = {0};
    int rc = NZ_OK;
    for (int i = 0; rc == NZ_OK && i < o->nsources; i++) rc = sources_add(&given, o->sources[i]);
    if (rc == NZ_OK && o->from && (rc = sources_add_from(&given, o->from)) == NZ_EIO)
        log_error("plan: cannot read --from %s", o->from);
    fetch_opts fo = {.max_bytes = 256L << 20, .timeout = 30};
    fetch_global_init();
    for (size_t i = 0; rc == NZ_OK && i < given.n; i++) {
        char err[512];
        if (!fetch_is_url(given.items[i]) || !fetch_is_sitemap(given.items[i])) {
            rc = sources_push(out, given.items[i], NULL);
        } else if ((rc = fetch_sitemap(given.items[i], &fo, (size_t)PLAN_MAX_ITEMS, plan_add_page,
                                       out, err, sizeof err)) < 0) {
            log_error("plan: sitemap %s: %s", given.items[i], err);
        }
        if (rc == NZ_OK && out->n > (size_t)PLAN_MAX_ITEMS) {
            log_error("plan: more than %ld sources", PLAN_MAX_ITEMS);
            rc = NZ_ELIMIT;
        }
    }
    sources_free(&given);
    if (rc == NZ_ENOMEM) log_error("out of memory");
    return rc;
}

/* The options the workers apply, as JSON text (malloc'd). */
static char *plan_options(const dist_opts *o) {
    json_t *j =
        json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}", "max_tokens", o->max_tokens, "rpm", o->rpm,
                  "tpm", o->tpm, "provider", config_get(CFG_EMBEDDING_PROVIDER), "model",
                  config_get(CFG_EMBEDDING_MODEL), "dim", config_get(CFG_EMBEDDING_DIMENSIONS));
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

int dist_plan(const dist_opts *o) {
    const char *root = config_get(CFG_INDEX_PATH);
    char err[512], holder[256], *base = NULL, *options = NULL;
    source_list items = {0};
    catalog *cat = NULL;
    long long run = 0;
    int crashed = 0, exit_code = NZ_EXIT_FAIL;
    if (dist_require("plan", o->store ? o->store : "") < 0) return NZ_EXIT_USAGE;
    if (plan_expand(o, &items) < 0) goto out;
    if (items.n == 0) {
        log_error("plan: no sources");
        exit_code = NZ_EXIT_USAGE;
        goto out;
    }
    if (!(options = plan_options(o))) goto oom;
    if (!(cat = catalog_open(config_get(CFG_DATABASE_URL), root, err, sizeof err)) ||
        catalog_lock(cat, holder, sizeof holder, err, sizeof err) < 0 ||
        catalog_run_begin(cat, &run, &crashed, err, sizeof err) < 0)
        goto fail;
    catalog_plan open = {0};
    if (catalog_plan_get(cat, 0, &open, err, sizeof err) == NZ_OK) {
        snprintf(err, sizeof err, "run %lld is planned and not finished: finish it first",
                 open.run_id);
        catalog_plan_free(&open);
        goto fail;
    }
    if (!o->full) base = snapinfo_carry_base(cat, root);
    if (catalog_plan_create(cat, run, o->store, base, options, items.items, items.n, o->batch_size,
                            err, sizeof err) < 0)
        goto fail;
    json_t *line =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:s?,s:s}", "status", "planned", "run", (json_int_t)run,
                  "items", (json_int_t)items.n, "batches",
                  (json_int_t)((items.n + (size_t)o->batch_size - 1) / (size_t)o->batch_size),
                  "batch_size", (json_int_t)o->batch_size, "base", base, "store", o->store);
    if (!line || jsonl_write(stdout, line) < 0 || fflush(stdout) != 0) {
        json_decref(line);
        goto oom;
    }
    json_decref(line);
    exit_code = NZ_EXIT_OK;
    goto out;
oom:
    snprintf(err, sizeof err, "out of memory");
fail:
    log_error("plan: %s", err);
    if (run > 0 && catalog_run_finish(cat, run, "failed", NULL, NULL, err, sizeof err) < 0)
        log_error("plan: %s", err);
out:
    catalog_close(cat);
    sources_free(&items);
    free(base);
    free(options);
    return exit_code;
}
