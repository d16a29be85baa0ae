/* nz-extract -- documents in, structured blocks out (docs.jsonl).
 *
 * Plumbing stage. Reads the sources named (files; directories walked in
 * sorted order; --from lists; http(s) URLs; sitemaps, expanded to their
 * pages), turns each into one docs.jsonl record (extract.h) and writes the
 * records to stdout or -o FILE (atomically), in source order.
 *
 * Documents are processed in parallel by --threads worker processes
 * (pool.h), each bounded in time (--timeout), memory (--max-memory), size
 * (--max-bytes) and pages (--max-pages). A source that fails any bound, is
 * malformed, or crashes its worker is rejected with one JSON error line on
 * stderr; every good source is still written, and the exit code is 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "config.h"
#include "extract.h"
#include "fetch.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "pdfdoc.h"
#include "pool.h"
#include "progress.h"
#include "sources.h"
#include "utf8.h"

#define EXTRACT_MAX_SITEMAP_URLS 100000

#define EXTRACT_SPLIT_MIN_PAGES 32 /* a PDF this long is read by several workers */
#define EXTRACT_SPLIT_PAGES 16     /* at least this many pages a part */
#define EXTRACT_SPLIT_MAX_PARTS 256

/* A unit of work: a whole source, or one page range of a long PDF. */
typedef struct extract_task {
    size_t src;
    int part, nparts; /* nparts == 1: the whole source */
    int first, last;  /* page range of a part */
} extract_task;

typedef struct extract_run {
    extract_opts eo;
    fetch_opts fo;
    source_list sources;
    extract_task *tasks;
    double *costs; /* per task: bytes to read, for the pool's scheduling */
    size_t ntasks;
    FILE *out;
    long docs, rejected, unchanged;
    progress prog;
    /* the parts of the PDF being assembled, in task order */
    char **parts;
    size_t *part_lens;
    char *part_error;
} extract_run;

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-extract [options] SOURCE...\n"
            "\n"
            "Turn documents into docs.jsonl records of structured blocks.\n"
            "SOURCE is a file, a directory (walked recursively, sorted), an http(s) URL,\n"
            "a sitemap URL (expanded to its pages), or - for stdin. Types are sniffed from\n"
            "the bytes: PDF, HTML/XHTML, XML, Markdown, text, and any of them gzipped.\n"
            "\n"
            "  -o, --output FILE    write to FILE atomically instead of stdout\n"
            "      --from FILE      read more sources from FILE, one a line\n"
            "  -j, --threads N      documents in parallel (worker processes; default: cores)\n"
            "      --max-bytes N    reject inputs (or their gzip contents) over N bytes (256 MiB)\n"
            "      --max-pages N    reject PDFs with more than N pages (10000)\n"
            "      --timeout S      reject a document that takes over S seconds (300)\n"
            "      --max-memory N   address-space limit per worker in bytes (8 GiB; 0: none)\n"
            "      --url-timeout S  total time for one HTTP fetch (30)\n"
            "      --state DIR      remember ETag/Last-Modified for conditional GETs\n"
            "  -h, --help           show this help\n"
            "      --version        show the version\n"
            "\n"
            "Exit: 0 ok, 1 failure, 2 usage, 3 some inputs rejected.\n");
}

/* file://<absolute path>, percent-encoding bytes outside RFC 3986 pchar. */
static char *extract_file_uri(const char *path) {
    char *abs = realpath(path, NULL);
    if (!abs) return NULL;
    size_t n = strlen(abs);
    char *uri = malloc(7 + 3 * n + 1);
    if (!uri) {
        free(abs);
        return NULL;
    }
    memcpy(uri, "file://", 7);
    size_t o = 7;
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)abs[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr(keep, c))
            uri[o++] = (char)c;
        else o += (size_t)sprintf(uri + o, "%%%02X", c);
    }
    uri[o] = '\0';
    free(abs);
    return uri;
}

/* Read a file or stdin fully, bounded. 0, or -1 with err. */
static int extract_read(const char *name, long max_bytes, unsigned char **data, size_t *len,
                        time_t *mtime, char *err, size_t errlen) {
    int fd = STDIN_FILENO;
    *data = NULL;
    *mtime = time(NULL);
    if (strcmp(name, "-") != 0) {
        /* O_NONBLOCK: opening a FIFO must never wait for a writer. */
        fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open: %s",
                     errno == ELOOP ? "symlink loop" : strerror(errno));
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
            snprintf(err, errlen, "cannot stat: %s", strerror(errno));
            goto err;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "is a directory");
            goto err;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "not a regular file (%s)",
                     S_ISFIFO(st.st_mode)   ? "FIFO"
                     : S_ISSOCK(st.st_mode) ? "socket"
                     : S_ISCHR(st.st_mode)  ? "character device"
                                            : "special file");
            goto err;
        }
        if (st.st_size > max_bytes) {
            snprintf(err, errlen, "file of %lld bytes exceeds --max-bytes %ld",
                     (long long)st.st_size, max_bytes);
            goto err;
        }
        *mtime = st.st_mtime;
    }
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    for (;;) {
        if (n == cap) {
            if (cap > (size_t)max_bytes) break;
            unsigned char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                snprintf(err, errlen, "out of memory");
                goto err;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "read error: %s", strerror(errno));
            free(buf);
            goto err;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n > (size_t)max_bytes) {
        free(buf);
        snprintf(err, errlen, "input exceeds --max-bytes %ld", max_bytes);
        goto err;
    }
    buf[n] = 0;
    if (fd != STDIN_FILENO) close(fd);
    *data = buf;
    *len = n;
    return 0;
err:
    if (fd != STDIN_FILENO) close(fd);
    return -1;
}

static void result_json(pool_result *out, pool_kind kind, json_t *obj) {
    out->kind = kind;
    out->payload = obj ? json_dumps(obj, JSONL_DUMP_FLAGS) : NULL;
    out->len = out->payload ? strlen(out->payload) : 0;
    json_decref(obj);
}

static void result_reject(pool_result *out, const char *uri, const char *error) {
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "uri", utf8_json_string(uri, strlen(uri)));
        json_object_set_new(o, "error", utf8_json_string(error, strlen(error)));
    }
    result_json(out, POOL_REJECT, o);
}

/* In a worker: the long PDF it last read a part of, kept open for its
 * next part, since the parts of one document are handed out in a row. */
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
} part_doc;

static void part_doc_drop(void) {
    pdfdoc_close(part_doc.doc);
    free(part_doc.data);
    free(part_doc.name);
    memset(&part_doc, 0, sizeof part_doc);
}

/* The open document for `name`, reusing the kept one while the file is
 * unchanged. 0, or -1 with err. */
static int part_doc_get(const char *name, const extract_opts *eo, char *err, size_t errlen) {
    struct stat st;
    if (stat(name, &st) < 0) memset(&st, 0, sizeof st); /* extract_read says why */
    else if (part_doc.doc && strcmp(part_doc.name, name) == 0 && part_doc.dev == st.st_dev &&
             part_doc.ino == st.st_ino && part_doc.size == st.st_size &&
             part_doc.mtim.tv_sec == st.st_mtim.tv_sec &&
             part_doc.mtim.tv_nsec == st.st_mtim.tv_nsec)
        return 0;
    part_doc_drop();
    if (extract_read(name, eo->max_bytes, &part_doc.data, &part_doc.len, &part_doc.mtime, err,
                     errlen) < 0)
        goto fail;
    if (!(part_doc.name = strdup(name))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(part_doc.doc = pdfdoc_open(part_doc.data, part_doc.len, eo->max_pages, err, errlen)))
        goto fail;
    part_doc.dev = st.st_dev;
    part_doc.ino = st.st_ino;
    part_doc.size = st.st_size;
    part_doc.mtim = st.st_mtim;
    return 0;
fail:
    part_doc_drop();
    return -1;
}

/* In a worker: one page range of a long PDF. */
static void extract_part_task(extract_run *run, const extract_task *t, pool_result *out) {
    const char *name = run->sources.items[t->src];
    char err[512] = "";
    char *uri = extract_file_uri(name);
    if (!uri) {
        result_reject(out, name, "cannot resolve the path");
        return;
    }
    if (part_doc_get(name, &run->eo, err, sizeof err) < 0) {
        result_reject(out, uri, err);
        free(uri);
        return;
    }
    extract_source src = {.name = name,
                          .uri = uri,
                          .data = part_doc.data,
                          .len = part_doc.len,
                          .mtime = part_doc.mtime};
    if (extract_pdf_part(&src, part_doc.doc, t->first, t->last, t->part == 0, &out->payload,
                         &out->len, err, sizeof err) < 0)
        result_reject(out, uri, err);
    else out->kind = POOL_PART;
    free(uri);
}

/* In a worker: one task to one result. */
static void extract_run_task(size_t ti, void *vctx, pool_result *out) {
    extract_run *run = vctx;
    const extract_task *t = &run->tasks[ti];
    if (t->nparts > 1) {
        extract_part_task(run, t, out);
        return;
    }
    part_doc_drop(); /* memory for this one */
    size_t i = t->src;
    const char *name = run->sources.items[i];
    char err[512] = "";
    if (run->sources.errors[i]) {
        char *uri = extract_file_uri(name);
        result_reject(out, uri ? uri : name, run->sources.errors[i]);
        free(uri);
        return;
    }
    extract_source src = {.name = name};
    char *uri = NULL;
    unsigned char *data = NULL;
    fetch_result fr = {0};
    int is_url = fetch_is_url(name);
    if (is_url) {
        src.uri = name;
        if (fetch_url(name, &run->fo, &fr, err, sizeof err) < 0) {
            result_reject(out, name, err);
            return;
        }
        if (fr.unchanged) {
            result_json(out, POOL_NOTE, json_pack("{s:s,s:s}", "uri", name, "status", "unchanged"));
            return;
        }
        src.data = fr.data;
        src.len = fr.len;
        src.mtime = fr.mtime;
        src.content_type = fr.content_type[0] ? fr.content_type : NULL;
    } else {
        uri = strcmp(name, "-") == 0 ? strdup("stdin:-") : extract_file_uri(name);
        time_t mtime;
        size_t len = 0;
        if (extract_read(name, run->eo.max_bytes, &data, &len, &mtime, err, sizeof err) < 0) {
            result_reject(out, uri ? uri : name, err);
            free(uri);
            return;
        }
        if (!uri) {
            free(data);
            result_reject(out, name, "cannot resolve the path");
            return;
        }
        src.uri = uri;
        src.data = data;
        src.len = len;
        src.mtime = mtime;
    }
    json_t *doc = extract_document(&src, &run->eo, err, sizeof err);
    if (doc) {
        result_json(out, POOL_DOC, doc);
        if (is_url && out->payload && fetch_save_state(name, &run->fo, &fr) < 0)
            log_warn("%s: cannot save fetch state in %s", name, run->fo.state_dir);
    } else {
        result_reject(out, src.uri, err);
    }
    fetch_result_free(&fr);
    free(data);
    free(uri);
}

static int extract_write_doc(extract_run *run, const char *json, size_t len) {
    if (fwrite(json, 1, len, run->out) != len || fputc('\n', run->out) == EOF) {
        log_error("write error: %s", strerror(errno));
        return -1;
    }
    run->docs++;
    return 0;
}

/* In the parent: collect the parts of a long PDF; at the last one, lay the
 * whole document out and write it (or reject it, if any part failed). */
static int extract_emit_part(extract_run *run, const extract_task *t, pool_result *r) {
    const char *name = run->sources.items[t->src];
    if (r->kind == POOL_PART) {
        run->parts[t->part] = r->payload;
        run->part_lens[t->part] = r->len;
        r->payload = NULL; /* kept until the document is whole */
    } else if (!run->part_error) {
        json_t *o = json_loadb(r->payload, r->len, 0, NULL);
        const char *e = json_string_value(json_object_get(o, "error"));
        run->part_error = strdup(e ? e : "a part failed");
        json_decref(o);
    }
    if (t->part + 1 < t->nparts) return 0;
    int rc = 0;
    progress_add(&run->prog, 1);
    if (!run->part_error) {
        char err[512];
        json_t *doc =
            extract_pdf_assemble(run->parts, run->part_lens, t->nparts, name, err, sizeof err);
        char *json = doc ? json_dumps(doc, JSONL_DUMP_FLAGS) : NULL;
        if (json) rc = extract_write_doc(run, json, strlen(json));
        else run->part_error = strdup(doc ? "out of memory" : err);
        free(json);
        json_decref(doc);
    }
    if (run->part_error) {
        char *uri = extract_file_uri(name);
        log_reject(uri ? uri : name, "%s", run->part_error);
        free(uri);
        run->rejected++;
    }
    for (int k = 0; k < t->nparts; k++) {
        free(run->parts[k]);
        run->parts[k] = NULL;
    }
    free(run->part_error);
    run->part_error = NULL;
    return rc;
}

/* In the parent, in task order. */
static int extract_emit(size_t ti, pool_result *r, void *vctx) {
    extract_run *run = vctx;
    const extract_task *t = &run->tasks[ti];
    size_t i = t->src;
    if (t->nparts > 1) return extract_emit_part(run, t, r);
    progress_add(&run->prog, 1);
    if (r->kind == POOL_DOC) return extract_write_doc(run, r->payload, r->len);
    json_t *o = json_loadb(r->payload, r->len, 0, NULL);
    if (r->kind == POOL_NOTE) {
        run->unchanged++;
        log_fields(LOG_INFO, "unchanged", o);
        return 0;
    }
    const char *uri = json_string_value(json_object_get(o, "uri"));
    const char *error = json_string_value(json_object_get(o, "error"));
    log_reject(uri ? uri : run->sources.items[i], "%s", error ? error : r->payload);
    json_decref(o);
    run->rejected++;
    return 0;
}

/* Pages of a local PDF worth sharing among workers, else 0; *size gets
 * the size of any local file (the cost estimate), else 0. */
static int extract_pdf_pages(const char *name, int split, double *size) {
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

/* One task per source; a long local PDF becomes one task per page range
 * when there are several workers to share it. */
static int extract_plan(extract_run *run, int workers) {
    size_t cap = run->sources.n + 16;
    int max_parts = 1;
    run->tasks = malloc(cap * sizeof *run->tasks);
    run->costs = malloc(cap * sizeof *run->costs);
    if (!run->tasks || !run->costs) return -1;
    for (size_t i = 0; i < run->sources.n; i++) {
        double size = 0;
        int pages = run->sources.errors[i]
                        ? 0
                        : extract_pdf_pages(run->sources.items[i], workers > 1, &size);
        int nparts = 1;
        /* Parts are small, many more than workers: whichever worker is free
         * takes the next, so the workers finish together (the pages of a
         * manual differ in cost by 3x). A worker keeps the document open
         * between its parts, so a part costs no second parse of the file. */
        if (pages >= EXTRACT_SPLIT_MIN_PAGES && pages <= run->eo.max_pages) {
            nparts = pages / EXTRACT_SPLIT_PAGES;
            if (nparts > EXTRACT_SPLIT_MAX_PARTS) nparts = EXTRACT_SPLIT_MAX_PARTS;
            if (nparts < 2) nparts = 1;
        }
        if (run->ntasks + (size_t)nparts > cap) {
            cap = (run->ntasks + (size_t)nparts) * 2;
            extract_task *nt = realloc(run->tasks, cap * sizeof *nt);
            if (nt) run->tasks = nt;
            double *nc = realloc(run->costs, cap * sizeof *nc);
            if (nc) run->costs = nc;
            if (!nt || !nc) return -1;
        }
        for (int k = 0; k < nparts; k++) {
            run->costs[run->ntasks] = size; /* the document's: its parts stay together */
            run->tasks[run->ntasks++] =
                (extract_task){i, k, nparts, (int)((long)pages * k / nparts),
                               (int)((long)pages * (k + 1) / nparts)};
        }
        if (nparts > max_parts) max_parts = nparts;
    }
    run->parts = calloc((size_t)max_parts, sizeof *run->parts);
    run->part_lens = calloc((size_t)max_parts, sizeof *run->part_lens);
    return run->parts && run->part_lens ? 0 : -1;
}

static int extract_add_url(void *ctx, const char *url) { return sources_push(ctx, url, NULL); }

int main(int argc, char **argv) {
    log_init("nz-extract");
    extract_run run = {
        .eo = {.max_bytes = EXTRACT_DEFAULT_MAX_BYTES, .max_pages = EXTRACT_DEFAULT_MAX_PAGES},
        .fo = {.timeout = 30}};
    run.fo.max_bytes = run.eo.max_bytes;
    long threads = sysconf(_SC_NPROCESSORS_ONLN), timeout = 300, max_memory = 8L << 30;
    if (threads < 1) threads = 1;
#if defined(__SANITIZE_ADDRESS__)
    max_memory = 0; /* ASan reserves terabytes of address space */
#endif
    const char *output = NULL;
    out_stream out = {0};
    int exit_code = NZ_EXIT_FAIL;
    source_list inputs = {0};

    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},     {"from", required_argument, 0, 'f'},
        {"threads", required_argument, 0, 'j'},    {"max-bytes", required_argument, 0, 'm'},
        {"max-pages", required_argument, 0, 'P'},  {"timeout", required_argument, 0, 'T'},
        {"max-memory", required_argument, 0, 'M'}, {"url-timeout", required_argument, 0, 'U'},
        {"state", required_argument, 0, 's'},      {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'o': output = optarg; break;
        case 'f':
            if (sources_add_from(&inputs, optarg) < 0) {
                log_error("--from %s: %s", optarg, strerror(errno));
                exit_code = NZ_EXIT_USAGE;
                goto done;
            }
            break;
        case 'j':
            if (config_parse_long("--threads", optarg, 1, 256, &threads) < 0) goto usage;
            break;
        case 'm':
            if (config_parse_long("--max-bytes", optarg, 1, LONG_MAX, &v) < 0) goto usage;
            run.eo.max_bytes = run.fo.max_bytes = v;
            break;
        case 'P':
            if (config_parse_long("--max-pages", optarg, 1, 1000000, &run.eo.max_pages) < 0)
                goto usage;
            break;
        case 'T':
            if (config_parse_long("--timeout", optarg, 1, 86400, &timeout) < 0) goto usage;
            break;
        case 'M':
            if (config_parse_long("--max-memory", optarg, 0, LONG_MAX, &max_memory) < 0) goto usage;
            break;
        case 'U':
            if (config_parse_long("--url-timeout", optarg, 1, 3600, &run.fo.timeout) < 0)
                goto usage;
            break;
        case 's': run.fo.state_dir = optarg; break;
        case 'h':
            usage(stdout);
            exit_code = NZ_EXIT_OK;
            goto done;
        case 'V':
            printf("nz-extract %s\n", NZ_VERSION);
            exit_code = NZ_EXIT_OK;
            goto done;
        default: goto usage;
        }
    }
    for (int i = optind; i < argc; i++)
        if (sources_add(&inputs, argv[i]) < 0) {
            log_error("out of memory listing sources");
            goto done;
        }
    if (inputs.n == 0) goto usage;

    /* Expand sitemaps here, so that the pages are tasks like any other. */
    fetch_global_init();
    for (size_t i = 0; i < inputs.n; i++) {
        const char *s = inputs.items[i];
        if (!inputs.errors[i] && fetch_is_url(s) && fetch_is_sitemap(s)) {
            char err[512];
            size_t before = run.sources.n;
            if (fetch_sitemap(s, &run.fo, EXTRACT_MAX_SITEMAP_URLS, extract_add_url, &run.sources,
                              err, sizeof err) < 0) {
                log_reject(s, "%s", err);
                run.rejected++;
            } else {
                log_fields(LOG_INFO, "sitemap expanded",
                           json_pack("{s:s,s:I}", "uri", s, "pages",
                                     (json_int_t)(run.sources.n - before)));
            }
            continue;
        }
        if (sources_push(&run.sources, s, inputs.errors[i]) < 0) {
            log_error("out of memory listing sources");
            goto done;
        }
    }
    if (out_open(&out, output) < 0) {
        log_error("cannot open output %s: %s", output, strerror(errno));
        goto done;
    }
    run.out = out.fp;
    progress_start(&run.prog, "extract", run.sources.n);
    pool_opts po = {.workers = (int)threads,
                    .timeout = (double)timeout,
                    .mem_limit = (unsigned long)max_memory};
    if (extract_plan(&run, (int)threads) < 0) {
        log_error("out of memory planning the work");
        out_abort(&out);
        goto done;
    }
    po.cost = run.costs;
    int rc = run.ntasks ? pool_run(run.ntasks, &po, extract_run_task, &run, extract_emit, &run) : 0;
    progress_finish(&run.prog);
    if (rc < 0) {
        out_abort(&out);
        goto done;
    }
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        goto done;
    }
    log_fields(LOG_INFO, "done",
               json_pack("{s:I,s:I,s:I}", "docs", (json_int_t)run.docs, "rejected",
                         (json_int_t)run.rejected, "unchanged", (json_int_t)run.unchanged));
    exit_code = run.rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
    goto done;
usage:
    usage(stderr);
    exit_code = NZ_EXIT_USAGE;
done:
    sources_free(&inputs);
    sources_free(&run.sources);
    free(run.tasks);
    free(run.costs);
    free(run.parts);
    free(run.part_lens);
    free(run.part_error);
    return exit_code;
}
