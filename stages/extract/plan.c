/* plan.c -- see plan.h. */
#include "plan.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "input.h"
#include "jsonl.h"
#include "pdfdoc.h"
#include "status.h"
#include "utf8.h"

#define PLAN_SPLIT_MIN_PAGES 32 /* a PDF this long is read by several workers */
#define PLAN_SPLIT_PAGES 16     /* at least this many pages a part */
#define PLAN_SPLIT_MAX_PARTS 256

void plan_reject(pool_result *out, const char *uri, const char *error) {
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "uri", utf8_json_string(uri, strlen(uri)));
        json_object_set_new(o, "error", utf8_json_string(error, strlen(error)));
    }
    out->kind = PLAN_REJECT;
    out->payload = o ? json_dumps(o, JSONL_DUMP_FLAGS) : NULL;
    out->len = out->payload ? strlen(out->payload) : 0;
    json_decref(o);
}

/* Pages of a local PDF worth sharing among workers, else 0; *size gets
 * the size of any local file (the cost estimate), else 0. */
static int plan_pdf_pages(const char *name, int split, double *size) {
    *size = 0;
    if (fetch_is_url(name) || strcmp(name, "-") == 0) return 0;
    int fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return 0;
    struct stat st;
    char magic[5];
    int is_reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (is_reg) *size = (double)st.st_size;
    int pdf = split && is_reg && st.st_size >= 65536 && read(fd, magic, 5) == 5 &&
              memcmp(magic, "%PDF-", 5) == 0;
    close(fd);
    if (!pdf) return 0;
    int n = pdfdoc_count_pages_file(name);
    return n > 0 ? n : 0;
}

/* Room for `more` tasks. NZ_OK or NZ_ENOMEM. */
static int plan_reserve(plan *p, size_t *cap, size_t more) {
    if (p->ntasks + more <= *cap) return NZ_OK;
    *cap = (p->ntasks + more) * 2;
    plan_task *nt = realloc(p->tasks, *cap * sizeof *nt);
    if (nt) p->tasks = nt;
    double *nc = realloc(p->costs, *cap * sizeof *nc);
    if (nc) p->costs = nc;
    return nt && nc ? NZ_OK : NZ_ENOMEM;
}

int plan_make(plan *p, const source_list *sources, const unsigned char *whole, int workers,
              long max_pages) {
    size_t cap = 0;
    int max_parts = 1;
    memset(p, 0, sizeof *p);
    if (plan_reserve(p, &cap, sources->n + 16) < 0) goto fail;
    for (size_t i = 0; i < sources->n; i++) {
        double size = 0;
        int split = workers > 1 && !(whole && whole[i]);
        int pages = sources->errors[i] ? 0 : plan_pdf_pages(sources->items[i], split, &size);
        int nparts = 1;
        /* Parts are small, many more than workers: whichever worker is free
         * takes the next, so the workers finish together (the pages of a
         * manual differ in cost by 3x). A worker keeps the document open
         * between its parts, so a part costs no second parse of the file. */
        if (pages >= PLAN_SPLIT_MIN_PAGES && pages <= max_pages) {
            nparts = pages / PLAN_SPLIT_PAGES;
            if (nparts > PLAN_SPLIT_MAX_PARTS) nparts = PLAN_SPLIT_MAX_PARTS;
            if (nparts < 2) nparts = 1;
        }
        if (plan_reserve(p, &cap, (size_t)nparts) < 0) goto fail;
        for (int k = 0; k < nparts; k++) {
            p->costs[p->ntasks] = size; /* the document's: its parts stay together */
            p->tasks[p->ntasks++] = (plan_task){i, k, nparts, (int)((long)pages * k / nparts),
                                                (int)((long)pages * (k + 1) / nparts)};
        }
        if (nparts > max_parts) max_parts = nparts;
    }
    p->parts = calloc((size_t)max_parts, sizeof *p->parts);
    p->part_lens = calloc((size_t)max_parts, sizeof *p->part_lens);
    if (!p->parts || !p->part_lens) goto fail;
    return NZ_OK;
fail:
    plan_free(p);
    return NZ_ENOMEM;
}

void plan_free(plan *p) {
    free(p->tasks);
    free(p->costs);
    free(p->parts);
    free(p->part_lens);
    free(p->part_error);
    memset(p, 0, sizeof *p);
}

/* In a worker: the long PDF it last read a part of, kept open for its
 * next part. */
static struct {
    char *name;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
    unsigned char *data;
    size_t len;
    time_t mtime;
    pdfdoc *doc;
} plan_doc;

void plan_part_drop(void) {
    pdfdoc_close(plan_doc.doc);
    free(plan_doc.data);
    free(plan_doc.name);
    memset(&plan_doc, 0, sizeof plan_doc);
}

/* The open document for `name`, reusing the kept one while the file is
 * unchanged. NZ_OK, or the status of reading or opening it with err. */
static int plan_doc_get(const char *name, const extract_opts *eo, char *err, size_t errlen) {
    struct stat st;
    int rc;
    if (stat(name, &st) < 0) memset(&st, 0, sizeof st); /* input_read says why */
    else if (plan_doc.doc && strcmp(plan_doc.name, name) == 0 && plan_doc.dev == st.st_dev &&
             plan_doc.ino == st.st_ino && plan_doc.size == st.st_size &&
             plan_doc.mtim.tv_sec == st.st_mtim.tv_sec &&
             plan_doc.mtim.tv_nsec == st.st_mtim.tv_nsec)
        return NZ_OK;
    plan_part_drop();
    if ((rc = input_read(name, eo->max_bytes, &plan_doc.data, &plan_doc.len, &plan_doc.mtime, err,
                         errlen)) < 0)
        goto fail;
    rc = NZ_ENOMEM;
    if (!(plan_doc.name = strdup(name))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EINVAL;
    if (!(plan_doc.doc = pdfdoc_open(plan_doc.data, plan_doc.len, eo->max_pages, err, errlen)))
        goto fail;
    plan_doc.dev = st.st_dev;
    plan_doc.ino = st.st_ino;
    plan_doc.size = st.st_size;
    plan_doc.mtim = st.st_mtim;
    return NZ_OK;
fail:
    plan_part_drop();
    return rc;
}

void plan_part_work(const char *name, const plan_task *t, const extract_opts *eo,
                    pool_result *out) {
    char err[512] = "";
    char *uri = input_file_uri(name);
    if (!uri) {
        plan_reject(out, name, "cannot resolve the path");
        return;
    }
    if (plan_doc_get(name, eo, err, sizeof err) < 0) goto fail;
    extract_source src = {.name = name,
                          .uri = uri,
                          .data = plan_doc.data,
                          .len = plan_doc.len,
                          .mtime = plan_doc.mtime};
    if (extract_pdf_part(&src, plan_doc.doc, t->first, t->last, t->part == 0, &out->payload,
                         &out->len, err, sizeof err) < 0)
        goto fail;
    out->kind = PLAN_PART;
    free(uri);
    return;
fail:
    plan_reject(out, uri, err);
    free(uri);
}

int plan_part_collect(plan *p, const plan_task *t, pool_result *r, const char *name, char **json,
                      char **error) {
    *json = *error = NULL;
    if (r->kind == PLAN_PART) {
        p->parts[t->part] = r->payload;
        p->part_lens[t->part] = r->len;
        r->payload = NULL; /* kept until the document is whole */
    } else if (!p->part_error) {
        json_t *o = json_loadb(r->payload, r->len, 0, NULL);
        const char *e = json_string_value(json_object_get(o, "error"));
        p->part_error = strdup(e ? e : "a part failed");
        json_decref(o);
    }
    if (t->part + 1 < t->nparts) return 0;
    if (!p->part_error) {
        char err[512];
        json_t *doc =
            extract_pdf_assemble(p->parts, p->part_lens, t->nparts, name, err, sizeof err);
        *json = doc ? json_dumps(doc, JSONL_DUMP_FLAGS) : NULL;
        if (!*json) p->part_error = strdup(doc ? "out of memory" : err);
        json_decref(doc);
    }
    for (int k = 0; k < t->nparts; k++) {
        free(p->parts[k]);
        p->parts[k] = NULL;
    }
    *error = p->part_error;
    p->part_error = NULL;
    if (!*json && !*error) *error = strdup("out of memory");
    return 1;
}
