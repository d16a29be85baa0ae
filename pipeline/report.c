/* report.c -- see report.h. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

static int report_table(const report_opts *o) {
    return o->format == REPORT_TABLE || (o->format == REPORT_AUTO && isatty(STDOUT_FILENO));
}

static catalog *report_catalog(void) {
    char err[512];
    catalog *c =
        catalog_open(config_get(CFG_DATABASE_URL), config_get(CFG_INDEX_PATH), err, sizeof err);
    if (!c) log_error("run catalog: %s", err);
    return c;
}

static const char *report_str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

/* The snapshot `current` points at, from its MANIFEST.json, or NULL. */
static json_t *report_current(const char *root) {
    char *path = NULL;
    if (asprintf(&path, "%s/current/MANIFEST.json", root) < 0) return NULL;
    json_t *m = json_load_file(path, 0, NULL);
    free(path);
    if (!m) return NULL;
    json_t *emb = json_object_get(m, "embedding");
    json_t *cur =
        json_pack("{s:O*,s:O*,s:O*,s:O*,s:O*,s:O*}", "snapshot", json_object_get(m, "snapshot"),
                  "count", json_object_get(m, "count"), "dim", json_object_get(m, "dim"),
                  "provider", json_object_get(emb, "provider"), "model",
                  json_object_get(emb, "model"), "created", json_object_get(m, "created"));
    json_decref(m);
    return cur;
}

/* One run as a table row. */
static void report_run_row(const json_t *run) {
    json_t *sum = json_object_get(run, "summary");
    json_t *secs = json_object_get(sum, "seconds");
    json_t *exit_code = json_object_get(sum, "exit");
    char sec[32] = "-", ex[16] = "-";
    if (json_is_number(secs)) snprintf(sec, sizeof sec, "%.2f", json_number_value(secs));
    if (json_is_integer(exit_code))
        snprintf(ex, sizeof ex, "%lld", (long long)json_integer_value(exit_code));
    printf("%5lld  %-9s  %-24s  %8s  %4s  %s\n",
           (long long)json_integer_value(json_object_get(run, "id")), report_str(run, "status"),
           report_str(run, "started"), sec, ex, report_str(run, "snapshot"));
}

static const char *const report_run_header =
    "  RUN  STATUS     STARTED                    SECONDS  EXIT  SNAPSHOT\n";

int report_runs(const report_opts *o) {
    catalog *c = report_catalog();
    if (!c) return NZ_EXIT_FAIL;
    char err[512];
    json_t *runs = catalog_runs(c, o->last, err, sizeof err);
    catalog_close(c);
    if (!runs) {
        log_error("run catalog: %s", err);
        return NZ_EXIT_FAIL;
    }
    int table = report_table(o);
    if (table) fputs(report_run_header, stdout);
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) {
        if (table) report_run_row(run);
        else jsonl_write(stdout, run);
    }
    json_decref(runs);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

int report_status(const report_opts *o) {
    catalog *c = report_catalog();
    if (!c) return NZ_EXIT_FAIL;
    char err[512];
    const char *root = config_get(CFG_INDEX_PATH);
    json_t *runs = catalog_runs(c, 1, err, sizeof err);
    json_t *st =
        json_pack("{s:s,s:s,s:o*,s:O*}", "index_path", root, "catalog", catalog_kind(c), "current",
                  report_current(root), "last_run", runs ? json_array_get(runs, 0) : NULL);
    catalog_close(c);
    json_decref(runs);
    if (!runs || !st) {
        log_error("run catalog: %s", runs ? "out of memory" : err);
        json_decref(st);
        return NZ_EXIT_FAIL;
    }
    if (report_table(o)) {
        json_t *cur = json_object_get(st, "current"), *last = json_object_get(st, "last_run");
        printf("index     %s (catalog: %s)\n", root, report_str(st, "catalog"));
        if (cur)
            printf("current   %s: %lld chunks, %lld dimensions, %s/%s, created %s\n",
                   report_str(cur, "snapshot"),
                   (long long)json_integer_value(json_object_get(cur, "count")),
                   (long long)json_integer_value(json_object_get(cur, "dim")),
                   report_str(cur, "provider"), report_str(cur, "model"),
                   report_str(cur, "created"));
        else printf("current   none: nothing published yet\n");
        if (last) {
            printf("last run\n%s", report_run_header);
            report_run_row(last);
        } else {
            printf("last run  none\n");
        }
    } else {
        jsonl_write(stdout, st);
    }
    json_decref(st);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

/* One source, or one rejected input, as a table row. */
static void report_source_row(const json_t *src, int rejected) {
    if (rejected) {
        printf("%5lld  %-11s  %s: %s\n", (long long)json_integer_value(json_object_get(src, "run")),
               report_str(src, "stage"), report_str(src, "uri"), report_str(src, "reason"));
        return;
    }
    printf("%6zu  %10lld  %5lld  %5lld  %s\n", json_array_size(json_object_get(src, "chunk_ids")),
           (long long)json_integer_value(json_object_get(src, "size")),
           (long long)json_integer_value(json_object_get(src, "first_seen")),
           (long long)json_integer_value(json_object_get(src, "last_changed")),
           report_str(src, "uri"));
}

int report_sources(const report_opts *o) {
    catalog *c = report_catalog();
    if (!c) return NZ_EXIT_FAIL;
    char err[512];
    json_t *rows;
    if (o->rejected) {
        long long run = o->run;
        if (run == 0) { /* the last run */
            json_t *last = catalog_runs(c, 1, err, sizeof err);
            run = json_integer_value(json_object_get(json_array_get(last, 0), "id"));
            json_decref(last);
        }
        rows = run > 0 ? catalog_rejects(c, run, err, sizeof err) : json_array();
    } else {
        rows = catalog_sources(c, o->changed_since, err, sizeof err);
    }
    catalog_close(c);
    if (!rows) {
        log_error("run catalog: %s", err);
        return NZ_EXIT_FAIL;
    }
    int table = report_table(o);
    if (table)
        fputs(o->rejected ? "  RUN  STAGE        URI: REASON\n"
                          : "CHUNKS       BYTES  FIRST  CHANGED  URI\n",
              stdout);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (table) report_source_row(row, o->rejected);
        else jsonl_write(stdout, row);
    }
    json_decref(rows);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}
