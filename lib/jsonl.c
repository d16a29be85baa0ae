/* jsonl.c -- see jsonl.h for the design. */
#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define JSONL_BUF 65536

struct jsonl_reader {
    FILE *fp;
    char *name;
    size_t max_line;
    size_t lineno;
    char *buf; /* read buffer */
    size_t buf_pos, buf_len;
    char *line; /* current line */
    size_t line_len, line_cap;
    int eof;
    char err[512];
};

jsonl_reader *jsonl_open(FILE *fp, const char *name, size_t max_line) {
    jsonl_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fp = fp;
    r->max_line = max_line ? max_line : JSONL_DEFAULT_MAX_LINE;
    r->name = strdup(name ? name : "-");
    r->buf = malloc(JSONL_BUF);
    if (!r->name || !r->buf) goto err;
    return r;
err:
    jsonl_close(r);
    return NULL;
}

void jsonl_close(jsonl_reader *r) {
    if (!r) return;
    free(r->name);
    free(r->buf);
    free(r->line);
    free(r);
}

const char *jsonl_error(const jsonl_reader *r) { return r->err; }
size_t jsonl_lineno(const jsonl_reader *r) { return r->lineno; }
const char *jsonl_name(const jsonl_reader *r) { return r->name; }

/* Refill the read buffer. Returns bytes read, 0 at EOF, -1 on error. */
static long jsonl_fill(jsonl_reader *r) {
    if (r->eof) return 0;
    size_t n = fread(r->buf, 1, JSONL_BUF, r->fp);
    if (n == 0) {
        if (ferror(r->fp)) return -1;
        r->eof = 1;
    }
    r->buf_pos = 0;
    r->buf_len = n;
    return (long)n;
}

static int jsonl_append(jsonl_reader *r, const char *p, size_t n) {
    if (r->line_len + n + 1 > r->line_cap) {
        size_t cap = r->line_cap ? r->line_cap : 4096;
        while (cap < r->line_len + n + 1) cap *= 2;
        char *nl = realloc(r->line, cap);
        if (!nl) return -1;
        r->line = nl;
        r->line_cap = cap;
    }
    memcpy(r->line + r->line_len, p, n);
    r->line_len += n;
    return 0;
}

/* Read the next raw line into r->line. Returns 1 (line), 0 (EOF),
 * JSONL_BAD (too long, skipped), JSONL_IOERR. *had_newline tells whether the
 * line was terminated. */
static int jsonl_read_line(jsonl_reader *r, int *had_newline) {
    r->line_len = 0;
    int too_long = 0, any = 0;
    *had_newline = 0;
    for (;;) {
        if (r->buf_pos == r->buf_len) {
            long n = jsonl_fill(r);
            if (n < 0) {
                snprintf(r->err, sizeof r->err, "%s: read error: %s", r->name, strerror(errno));
                return JSONL_IOERR;
            }
            if (n == 0) break;
        }
        any = 1;
        char *start = r->buf + r->buf_pos;
        size_t avail = r->buf_len - r->buf_pos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (!too_long) {
            if (r->line_len + take > r->max_line) {
                too_long = 1;
            } else if (jsonl_append(r, start, take) < 0) {
                snprintf(r->err, sizeof r->err, "%s: line %zu: out of memory", r->name,
                         r->lineno + 1);
                return JSONL_IOERR;
            }
        }
        r->buf_pos += take + (nl ? 1 : 0);
        if (nl) {
            *had_newline = 1;
            break;
        }
    }
    if (!any) return 0;
    r->lineno++;
    if (too_long) {
        snprintf(r->err, sizeof r->err, "%s: line %zu: longer than the limit of %zu bytes", r->name,
                 r->lineno, r->max_line);
        return JSONL_BAD;
    }
    r->line[r->line_len] = '\0';
    return 1;
}

static int jsonl_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

int jsonl_next(jsonl_reader *r, json_t **out) {
    *out = NULL;
    for (;;) {
        int had_newline;
        int rc = jsonl_read_line(r, &had_newline);
        if (rc <= 0) return rc;
        if (jsonl_blank(r->line, r->line_len)) continue;
        json_error_t jerr;
        json_t *obj = json_loadb(r->line, r->line_len, 0, &jerr);
        if (!obj) {
            snprintf(r->err, sizeof r->err, "%s: line %zu: %s JSON: %s (column %d)", r->name,
                     r->lineno, had_newline ? "invalid" : "truncated or invalid", jerr.text,
                     jerr.column);
            return JSONL_BAD;
        }
        if (!json_is_object(obj)) {
            json_decref(obj);
            snprintf(r->err, sizeof r->err, "%s: line %zu: not a JSON object", r->name, r->lineno);
            return JSONL_BAD;
        }
        *out = obj;
        return JSONL_OK;
    }
}

static int jsonl_each_stream(FILE *in, const char *name, size_t max_line, jsonl_record_fn fn,
                             void *ctx, long *rejected) {
    jsonl_reader *r = jsonl_open(in, name, max_line);
    if (!r) {
        log_error("out of memory");
        return -1;
    }
    int rc = -1;
    for (;;) {
        json_t *rec;
        int st = jsonl_next(r, &rec);
        if (st == JSONL_EOF) break;
        if (st == JSONL_IOERR) {
            log_error("%s", jsonl_error(r));
            goto out;
        }
        if (st == JSONL_BAD) {
            log_reject(name, "%s", jsonl_error(r));
            (*rejected)++;
            continue;
        }
        if (fn(ctx, rec, name, jsonl_lineno(r)) < 0) goto out;
    }
    rc = 0;
out:
    jsonl_close(r);
    return rc;
}

int jsonl_each(int nfiles, char *const *files, size_t max_line, jsonl_record_fn fn, void *ctx,
               long *rejected) {
    if (nfiles == 0) return jsonl_each_stream(stdin, "-", max_line, fn, ctx, rejected);
    for (int i = 0; i < nfiles; i++) {
        int is_stdin = strcmp(files[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(files[i], "r");
        if (!f) {
            log_reject(files[i], "cannot open: %s", strerror(errno));
            (*rejected)++;
            continue;
        }
        int rc = jsonl_each_stream(f, files[i], max_line, fn, ctx, rejected);
        if (!is_stdin) fclose(f);
        if (rc < 0) return -1;
    }
    return 0;
}

int jsonl_write(FILE *fp, const json_t *obj) {
    if (json_dumpf(obj, fp, JSONL_DUMP_FLAGS) != 0) return -1;
    if (fputc('\n', fp) == EOF) return -1;
    return 0;
}

const char *jsonl_str(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jsonl_int(const json_t *obj, const char *key, long long dflt) {
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}
