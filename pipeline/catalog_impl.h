/* catalog_impl.h -- what the catalog's own files share (catalog.c: runs,
 * schema, locks; catalog_sources.c: sources and staged changes). Not for
 * callers: they use catalog.h. */
#ifndef NZ_CATALOG_IMPL_H
#define NZ_CATALOG_IMPL_H

#include "catalog.h"
#include "catalog_backend.h"

struct catalog {
    const catalog_backend *be;
    void *db;
    char host[256];
};

/* UTC now, "2026-12-01T02:00:00.123Z". */
void catalog_now(char out[32]);

/* One statement (catalog_backend.h's exec). */
int catalog_exec(catalog *c, const char *sql, int nparams, const char *const *params,
                 catalog_row_fn fn, void *ctx, char *err, size_t errlen);
/* A write transaction that serialises writers. */
int catalog_begin_write(catalog *c, char *err, size_t errlen);
/* Commit when rc is NZ_OK, else roll back; returns the final status. */
int catalog_end(catalog *c, int rc, char *err, size_t errlen);

/* Row callbacks: the first column as a number (ctx: long long *, -1 for
 * NULL); every row as a JSON object (ctx: catalog_rows *). */
int catalog_first_long(void *ctx, int ncols, const char *const *vals);

/* Rows as JSON objects named by `names`; the columns id, pid, run, size,
 * mtime, first_seen, last_changed and last_seen are numbers, summary and
 * chunk_ids are parsed back into JSON. */
typedef struct catalog_rows {
    json_t *arr;
    const char *const *names;
    int failed;
} catalog_rows;
int catalog_row_json(void *ctx, int ncols, const char *const *vals);
json_t *catalog_select(catalog *c, const char *sql, int nparams, const char *const *params,
                       const char *const *names, char *err, size_t errlen);

/* catalog_stage's inserts, inside the caller's transaction. */
int catalog_stage_rows(catalog *c, long long run_id, const catalog_change *ch, size_t n, char *err,
                       size_t errlen);

#endif
