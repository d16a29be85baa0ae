/* jsonl.c -- see jsonl.h for the design. */
#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "status.h"

#define JSONL_BUF 65536

struct jsonl_reader {
    FILE *fp;
    char *name;
    size_t max_line;
    size_t lineno;
    char *buf; /* read buffer */
    size_t buf_pos, buf_len;
    buf line; /* the current line, capped at max_line bytes */
    int eof;
    char err[512];
};

jsonl_reader *jsonl_open(FILE *fp, const char *name, size_t max_line) {
    jsonl_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fp = fp;
    r->max_line = max_line ? max_line : JSONL_DEFAULT_MAX_LINE;
    buf_init(&r->line, r->max_line);
    r->name = strdup(name ? name : "-");
    r->buf = malloc(JSONL_BUF);
    if (!r->name || !r->buf) goto fail;
    return r;
fail:
    jsonl_close(r);
    return NULL;
}

void jsonl_close(jsonl_reader *r) {
    if (!r) return;
    free(r->name);
    free(r->buf);
    buf_free(&r->line);
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

/* Read the next raw line into r->line. Returns 1 (line), 0 (EOF),
 * JSONL_BAD (too long, skipped), JSONL_IOERR. *had_newline tells whether the
 * line was terminated. */
static int jsonl_read_line(jsonl_reader *r, int *had_newline) {
    buf_reset(&r->line);
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
            int st = buf_add(&r->line, start, take);
            if (st == NZ_ELIMIT) { /* past max_line: skipped to its end */
                too_long = 1;
            } else if (st < 0) {
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
        if (jsonl_blank(buf_str(&r->line), r->line.len)) continue;
        json_error_t jerr;
        json_t *obj = json_loadb(buf_str(&r->line), r->line.len, 0, &jerr);
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

int jsonl_each_fp(FILE *in, const char *name, size_t max_line, jsonl_record_fn fn, void *ctx,
                  long *rejected) {
    jsonl_reader *r = jsonl_open(in, name, max_line);
    if (!r) {
        log_error("out of memory");
        return NZ_ENOMEM;
    }
    int rc;
    for (;;) {
        json_t *rec;
        int st = jsonl_next(r, &rec);
        if (st == JSONL_EOF) break;
        if (st == JSONL_IOERR) {
            log_error("%s", jsonl_error(r));
            rc = NZ_EIO;
            goto fail;
        }
        if (st == JSONL_BAD) {
            log_reject(name, "%s", jsonl_error(r));
            (*rejected)++;
            continue;
        }
        if ((rc = fn(ctx, rec, name, jsonl_lineno(r))) < 0) goto fail;
    }
    rc = NZ_OK;
fail:
    jsonl_close(r);
    return rc;
}

int jsonl_each(int nfiles, char *const *files, size_t max_line, jsonl_record_fn fn, void *ctx,
               long *rejected) {
    if (nfiles == 0) return jsonl_each_fp(stdin, "-", max_line, fn, ctx, rejected);
    for (int i = 0; i < nfiles; i++) {
        int is_stdin = strcmp(files[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(files[i], "r");
        if (!f) {
            log_reject(files[i], "cannot open: %s", strerror(errno));
            (*rejected)++;
            continue;
        }
        int rc = jsonl_each_fp(f, files[i], max_line, fn, ctx, rejected);
        if (!is_stdin) fclose(f);
        if (rc < 0) return rc;
    }
    return NZ_OK;
}

int jsonl_write(FILE *fp, const json_t *obj) {
    if (json_dumpf(obj, fp, JSONL_DUMP_FLAGS) != 0) return NZ_EIO;
    if (fputc('\n', fp) == EOF) return NZ_EIO;
    return NZ_OK;
}

const char *jsonl_str(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jsonl_int(const json_t *obj, const char *key, long long dflt) {
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}
