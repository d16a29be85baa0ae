/* log.c -- see log.h for the design. */
#include "log.h"
#include "buf.h"
#include "jsonl.h"
#include "jsonout.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *log_stage_name = "nz";
static int log_format_human = -1; /* -1: not decided yet */
static log_level log_threshold = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *stage) {
    log_stage_name = stage;
    const char *fmt = getenv("NZ_LOG_FORMAT");
    if (fmt && strcmp(fmt, "json") == 0) log_format_human = 0;
    else if (fmt && strcmp(fmt, "human") == 0) log_format_human = 1;
    else log_format_human = isatty(STDERR_FILENO) ? 1 : 0;
    const char *lvl = getenv("NZ_LOG_LEVEL");
    if (lvl) {
        for (int i = 0; i < 4; i++)
            if (strcmp(lvl, log_level_names[i]) == 0) log_threshold = (log_level)i;
        if (strcmp(lvl, "off") == 0) log_threshold = (log_level)(LOG_ERROR + 1); /* no line */
    }
}

const char *log_stage(void) { return log_stage_name; }

int log_human(void) {
    if (log_format_human < 0) log_init(log_stage_name);
    return log_format_human;
}

int log_enabled(log_level level) { return level >= log_threshold; }

/* "2026-12-01T19:36:51.123Z": the text up to the seconds is kept per
 * thread and made again only when the second changes. */
static void log_timestamp(char *buf, size_t len) {
    static _Thread_local time_t sec = -1;
    static _Thread_local char head[32];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        if (!strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm)) head[0] = '\0';
        sec = tv.tv_sec;
    }
    snprintf(buf, len, "%s.%03ldZ", head, (long)(tv.tv_usec / 1000));
}

/* Write one finished line (without its newline) to stderr with a single
 * writev(2): a line shorter than PIPE_BUF is never interleaved with
 * another thread's or process's on a pipe, and a regular file's writes do
 * not interleave either, so only longer lines take the lock (one of our
 * threads at a time; another process may still cut into them). */
static void log_write_line(const char *line, size_t len) {
    int locked = len + 1 > PIPE_BUF;
    if (locked) pthread_mutex_lock(&log_lock);
    struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
    size_t left = len + 1;
    while (left) {
        ssize_t n = writev(STDERR_FILENO, iov, 2);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* stderr is gone: nothing else to tell */
        left -= (size_t)n;
        for (int i = 0; i < 2; i++) { /* past what was written */
            size_t d = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + d;
            iov[i].iov_len -= d;
            n -= (ssize_t)d;
        }
    }
    if (locked) pthread_mutex_unlock(&log_lock);
}

/* A line for people: "stage: level: msg key=value ...", skipping the keys
 * in `skip` (NULL-terminated, may be NULL). malloc'd, or NULL. */
static char *log_human_text(const char *stage, const char *level, const char *msg, json_t *fields,
                            const char *const *skip) {
    buf extra = BUF_INIT;
    const char *key;
    json_t *val;
    json_object_foreach(fields, key, val) {
        int skipped = 0;
        for (const char *const *k = skip; k && *k; k++) skipped |= strcmp(*k, key) == 0;
        if (skipped) continue;
        if (json_is_string(val)) {
            buf_printf(&extra, " %s=%s", key, json_string_value(val));
        } else {
            char *v = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
            if (v) buf_printf(&extra, " %s=%s", key, v);
            free(v);
        }
    }
    char *line = NULL;
    if (asprintf(&line, "%s: %s: %s%s", stage, level, msg ? msg : "", buf_str(&extra)) < 0)
        line = NULL;
    buf_free(&extra);
    return line;
}

/* Core: `fields` is owned; msg may be NULL. */
static void log_emit(log_level level, const char *msg, json_t *fields) {
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    if (log_human()) {
        char *line = log_human_text(log_stage_name, log_level_names[level], msg, fields, NULL);
        if (line) log_write_line(line, strlen(line));
        free(line);
        json_decref(fields);
        return;
    }
    json_t *obj = json_object();
    if (!obj) {
        json_decref(fields);
        return;
    }
    char ts[40];
    log_timestamp(ts, sizeof ts);
    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(log_level_names[level]));
    json_object_set_new(obj, "stage", json_string(log_stage_name));
    if (msg) json_object_set_new(obj, "msg", json_string(msg));
    if (fields) json_object_update(obj, fields);
    json_decref(fields);
    char *line = json_dumps(obj, JSONL_DUMP_FLAGS);
    if (line) {
        log_write_line(line, strlen(line));
        free(line);
    }
    json_decref(obj);
}

static char *log_vformat(const char *fmt, va_list ap) {
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) return NULL;
    return s;
}

void log_msg(log_level level, const char *fmt, ...) {
    if (!log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = log_vformat(fmt, ap);
    va_end(ap);
    log_emit(level, msg ? msg : fmt, NULL);
    free(msg);
}

void log_reject(const char *uri, const char *fmt, ...) {
    if (!log_enabled(LOG_ERROR)) return; /* NZ_LOG_LEVEL=off */
    va_list ap;
    va_start(ap, fmt);
    char *err = log_vformat(fmt, ap);
    va_end(ap);
    json_t *f = json_object();
    if (f) {
        const char *u = uri ? uri : "-", *e = err ? err : fmt;
        /* Input names and messages may carry invalid UTF-8: repair, never drop. */
        json_object_set_new(f, "uri", utf8_json_string(u, strlen(u)));
        json_object_set_new(f, "error", utf8_json_string(e, strlen(e)));
    }
    if (log_human()) {
        char *line = NULL;
        if (asprintf(&line, "%s: error: %s: %s", log_stage_name, uri ? uri : "-",
                     err ? err : fmt) >= 0) {
            log_write_line(line, strlen(line));
            free(line);
        }
        json_decref(f);
    } else {
        log_emit(LOG_ERROR, NULL, f);
    }
    free(err);
}

void log_fields(log_level level, const char *msg, json_t *fields) { log_emit(level, msg, fields); }

/* The level named in a JSON log line ("level":"warn"), or -1. */
static int log_line_level(const char *line, size_t len) {
    static const char key[] = "\"level\":\"";
    const char *p = memmem(line, len, key, sizeof key - 1);
    if (!p) return -1;
    p += sizeof key - 1;
    size_t left = len - (size_t)(p - line);
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(log_level_names[i]);
        if (left > n && memcmp(p, log_level_names[i], n) == 0 && p[n] == '"') return i;
    }
    return -1;
}

void log_relay(const char *line, size_t len) {
    int line_level = log_line_level(line, len);
    if (line_level >= 0 && !log_enabled((log_level)line_level)) return; /* below our threshold */
    if (!log_human()) { /* already a JSON line: pass it on as it is */
        log_write_line(line, len);
        return;
    }
    log_record r;
    log_record_parse(&r, line, len);
    char *text = NULL;
    static const char *const skip[] = {"ts", "stage", "level", "msg", NULL};
    if (!r.stage || !r.level) {
        if (asprintf(&text, "%.*s", (int)len, line) < 0) text = NULL;
    } else if (r.is_reject) { /* as log_reject prints it */
        if (asprintf(&text, "%s: error: %s: %s", r.stage, r.uri, r.error) < 0) text = NULL;
    } else {
        text = log_human_text(r.stage, r.level, r.msg, r.obj, skip);
    }
    if (text) log_write_line(text, strlen(text));
    free(text);
    log_record_free(&r);
}

int log_line_begin(buf *b, log_level level, const char *msg) {
    char ts[40];
    log_timestamp(ts, sizeof ts);
    buf_adds(b, "{\"ts\":\"");
    buf_adds(b, ts);
    buf_adds(b, "\",\"level\":\"");
    buf_adds(b, log_level_names[level]);
    buf_adds(b, "\",\"stage\":");
    jsonout_str(b, log_stage_name, strlen(log_stage_name));
    buf_adds(b, ",\"msg\":");
    return jsonout_str(b, msg, strlen(msg));
}

void log_line_end(buf *b) {
    if (buf_failed(b) || buf_addc(b, '}') < 0) return;
    if (log_human()) log_relay(b->s, b->len); /* the line for people */
    else log_write_line(b->s, b->len);
}

int log_record_parse(log_record *r, const char *line, size_t len) {
    memset(r, 0, sizeof *r);
    r->obj = json_loadb(line, len, 0, NULL);
    if (!json_is_object(r->obj)) {
        log_record_free(r);
        return -1;
    }
    r->stage = json_string_value(json_object_get(r->obj, "stage"));
    r->level = json_string_value(json_object_get(r->obj, "level"));
    r->msg = json_string_value(json_object_get(r->obj, "msg"));
    r->uri = json_string_value(json_object_get(r->obj, "uri"));
    r->error = json_string_value(json_object_get(r->obj, "error"));
    r->is_reject = r->level && strcmp(r->level, "error") == 0 && r->uri && r->error && !r->msg;
    return 0;
}

void log_record_free(log_record *r) {
    json_decref(r->obj);
    memset(r, 0, sizeof *r);
}
