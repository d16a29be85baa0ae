/* nz-extract -- documents in, structured blocks out (docs.jsonl).
 *
 * Plumbing stage: reads the sources named on the command line (files,
 * directories walked in sorted order, --from lists), sniffs each one's type
 * from its bytes, turns it into blocks and writes one docs.jsonl record per
 * document to stdout or -o FILE (atomically). Each source is isolated: a bad
 * one is rejected with one JSON error line on stderr, the others go on, and
 * the exit code is 3. Sizes are bounded (--max-bytes) before anything is read.
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
#include "blocks.h"
#include "config.h"
#include "jsonl.h"
#include "lang.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "sha.h"
#include "sources.h"
#include "textdoc.h"
#include "utf8.h"

#define EXTRACT_DEFAULT_MAX_BYTES (256L << 20)

typedef struct extract_opts {
    long max_bytes;
} extract_opts;

/* An input read into memory, with what the record needs about it. */
typedef struct extract_input {
    const char *name; /* as given */
    char *uri;
    unsigned char *data;
    size_t len;
    time_t mtime;
} extract_input;

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-extract [options] SOURCE...\n"
            "\n"
            "Turn documents into docs.jsonl records of structured blocks.\n"
            "SOURCE is a file, a directory (walked recursively, sorted) or - for stdin.\n"
            "\n"
            "  -o, --output FILE    write to FILE atomically instead of stdout\n"
            "      --from FILE      read more sources from FILE, one a line\n"
            "      --max-bytes N    reject inputs larger than N bytes (default 256 MiB)\n"
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
    size_t o = 0;
    memcpy(uri, "file://", 7);
    o = 7;
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)abs[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr(keep, c)) {
            uri[o++] = (char)c;
        } else {
            o += (size_t)sprintf(uri + o, "%%%02X", c);
        }
    }
    uri[o] = '\0';
    free(abs);
    return uri;
}

/* Read a source fully, bounded. 0 on success; on failure writes err. */
static int extract_read(extract_input *in, const extract_opts *o, char *err, size_t errlen) {
    int fd = -1;
    if (strcmp(in->name, "-") == 0) {
        fd = STDIN_FILENO;
        in->uri = strdup("stdin:-");
        in->mtime = time(NULL);
    } else {
        in->uri = extract_file_uri(in->name); /* NULL when it cannot resolve */
        /* O_NONBLOCK: opening a FIFO must never wait for a writer. */
        fd = open(in->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open: %s", errno == ELOOP ? "symlink loop" : strerror(errno));
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
        if (st.st_size > o->max_bytes) {
            snprintf(err, errlen, "file of %lld bytes exceeds --max-bytes %ld",
                     (long long)st.st_size, o->max_bytes);
            goto err;
        }
        in->mtime = st.st_mtime;
    }
    if (!in->uri) {
        snprintf(err, errlen, "cannot resolve path: %s", strerror(errno));
        goto err;
    }
    size_t cap = 65536, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) goto oom;
    for (;;) {
        if (len == cap) {
            if (cap > (size_t)o->max_bytes) {
                free(buf);
                snprintf(err, errlen, "input exceeds --max-bytes %ld", o->max_bytes);
                goto err;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                goto oom;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "read error: %s", strerror(errno));
            free(buf);
            goto err;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len > (size_t)o->max_bytes) {
            free(buf);
            snprintf(err, errlen, "input exceeds --max-bytes %ld", o->max_bytes);
            goto err;
        }
    }
    if (fd != STDIN_FILENO) close(fd);
    in->data = buf;
    in->len = len;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
err:
    if (fd >= 0 && fd != STDIN_FILENO) close(fd);
    return -1;
}

/* The base name without extension, as a last-resort title. */
static json_t *extract_name_title(const char *name) {
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot > b ? (size_t)(dot - b) : strlen(b);
    return utf8_json_string(b, n);
}

/* Build the docs.jsonl record for one input. NULL with err on rejection. */
static json_t *extract_document(const extract_input *in, char *err, size_t errlen) {
    json_t *doc = NULL, *blocks = NULL;
    const char *mime;
    size_t bad;
    if (in->len == 0) {
        snprintf(err, errlen, "empty file");
        return NULL;
    }
    size_t probe = in->len < 8192 ? in->len : 8192;
    if (memchr(in->data, 0, probe)) {
        snprintf(err, errlen, "unsupported binary content (NUL bytes in the first %zu bytes)", probe);
        return NULL;
    }
    if (!utf8_valid((const char *)in->data, in->len, &bad)) {
        snprintf(err, errlen, "invalid UTF-8 at byte %zu", bad);
        return NULL;
    }
    int markdown = textdoc_is_markdown((const char *)in->data, in->len);
    mime = markdown ? "text/markdown" : "text/plain";
    blocks = json_array();
    if (!blocks) goto oom;
    if (textdoc_parse((const char *)in->data, in->len, markdown, blocks) < 0) goto oom;
    if (json_array_size(blocks) == 0) {
        snprintf(err, errlen, "no text: the document has only white space");
        goto fail;
    }

    unsigned char digest[SHA_LEN];
    char sha_hex_s[SHA_HEX_LEN + 1], doc_id[ID_HEX_LEN + 1], mtime_s[32];
    if (sha256(in->data, in->len, digest) < 0 || sha_id(doc_id, in->uri, NULL) < 0) goto oom;
    sha_hex(digest, SHA_LEN, sha_hex_s);
    struct tm tm;
    gmtime_r(&in->mtime, &tm);
    strftime(mtime_s, sizeof mtime_s, "%Y-%m-%dT%H:%M:%SZ", &tm);

    const char *heading = blocks_first_heading(blocks);
    json_t *title = heading ? json_string(heading) : extract_name_title(in->name);
    doc = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:O}", "doc_id", doc_id, "uri", in->uri,
                    "title", title ? title : json_string(""), "mime", mime, "lang",
                    lang_guess((const char *)in->data, in->len), "sha256", sha_hex_s, "bytes",
                    (json_int_t)in->len, "mtime", mtime_s, "blocks", blocks);
    if (!doc) goto oom;
    json_decref(blocks);
    return doc;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(blocks);
    json_decref(doc);
    return NULL;
}

int main(int argc, char **argv) {
    log_init("nz-extract");
    extract_opts opts = {.max_bytes = EXTRACT_DEFAULT_MAX_BYTES};
    const char *output = NULL;
    source_list sources = {0};
    out_stream out = {0};
    int exit_code = NZ_EXIT_FAIL;
    long ndocs = 0, nrejected = 0;

    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"from", required_argument, 0, 'f'},
                                             {"max-bytes", required_argument, 0, 'm'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'f':
            if (sources_add_from(&sources, optarg) < 0) {
                log_error("--from %s: %s", optarg, strerror(errno));
                exit_code = NZ_EXIT_USAGE;
                goto done;
            }
            break;
        case 'm':
            if (config_parse_long("--max-bytes", optarg, 1, LONG_MAX, &opts.max_bytes) < 0) {
                exit_code = NZ_EXIT_USAGE;
                goto done;
            }
            break;
        case 'h': usage(stdout); exit_code = NZ_EXIT_OK; goto done;
        case 'V': printf("nz-extract %s\n", NZ_VERSION); exit_code = NZ_EXIT_OK; goto done;
        default: usage(stderr); exit_code = NZ_EXIT_USAGE; goto done;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (sources_add(&sources, argv[i]) < 0) {
            log_error("out of memory listing sources");
            goto done;
        }
    }
    if (sources.n == 0) {
        usage(stderr);
        exit_code = NZ_EXIT_USAGE;
        goto done;
    }
    if (out_open(&out, output) < 0) {
        log_error("cannot open output %s: %s", output, strerror(errno));
        goto done;
    }

    progress prog;
    progress_start(&prog, "extract", sources.n);
    for (size_t i = 0; i < sources.n; i++) {
        char err[512] = "";
        extract_input in = {.name = sources.items[i]};
        json_t *doc = NULL;
        if (sources.errors[i]) {
            snprintf(err, sizeof err, "%s", sources.errors[i]);
        } else if (extract_read(&in, &opts, err, sizeof err) == 0) {
            doc = extract_document(&in, err, sizeof err);
        }
        if (doc) {
            if (jsonl_write(out.fp, doc) < 0) {
                log_error("write error: %s", strerror(errno));
                json_decref(doc);
                free(in.uri);
                free(in.data);
                out_abort(&out);
                goto done;
            }
            ndocs++;
        } else {
            log_reject(in.uri ? in.uri : in.name, "%s", err);
            nrejected++;
        }
        json_decref(doc);
        free(in.uri);
        free(in.data);
        progress_add(&prog, 1);
    }
    progress_finish(&prog);
    if (out_finish(&out) < 0) {
        log_error("cannot finish output: %s", strerror(errno));
        goto done;
    }
    log_fields(LOG_INFO, "done", json_pack("{s:i,s:i}", "docs", (int)ndocs, "rejected", (int)nrejected));
    exit_code = nrejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
done:
    sources_free(&sources);
    return exit_code;
}
