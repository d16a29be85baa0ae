/* log.c -- see log.h for the design. */
#include "log.h"
#include "buf.h"
#include "jsonl.h"
#include "jsonout.h"
#include "status.h"
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

/* "2026-12-01T19:36:51.123Z" into buf (at least LOG_TS_LEN + 1 bytes):
 * the text up to the seconds is kept per thread and made again only when
 * the second changes; the milliseconds are three digits put by hand. The
 * second is returned (for the batches' age). */
#define LOG_TS_LEN 24
static time_t log_timestamp(char *buf) {
    static _Thread_local time_t sec = -1;
    static _Thread_local char head[32];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        if (strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm) != LOG_TS_LEN - 5)
            memcpy(head, "0000-00-00T00:00:00", LOG_TS_LEN - 4); /* year past 9999 */
        sec = tv.tv_sec;
    }
    unsigned ms = (unsigned)(tv.tv_usec / 1000);
    memcpy(buf, head, LOG_TS_LEN - 5);
    buf[LOG_TS_LEN - 5] = '.';
    buf[LOG_TS_LEN - 4] = (char)('0' + ms / 100);
    buf[LOG_TS_LEN - 3] = (char)('0' + ms / 10 % 10);
    buf[LOG_TS_LEN - 2] = (char)('0' + ms % 10);
    buf[LOG_TS_LEN - 1] = 'Z';
    buf[LOG_TS_LEN] = '\0';
    return tv.tv_sec;
}

/* Write len bytes to stderr, all of them unless stderr is gone. One
 * write(2) of at most PIPE_BUF bytes is never interleaved with another
 * thread's or process's on a pipe, and a regular file's writes do not
 * interleave either, so only longer writes take the lock (one of our
 * threads at a time; another process may still cut into them). */
static void log_write_all(const char *p, size_t len) {
    int locked = len > PIPE_BUF;
    if (locked) pthread_mutex_lock(&log_lock);
    while (len) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* stderr is gone: nothing else to tell */
        p += n;
        len -= (size_t)n;
    }
    if (locked) pthread_mutex_unlock(&log_lock);
}

/* Write one finished line (without its newline) and its newline with a
 * single writev(2), under the same rule as log_write_all. */
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
    char ts[LOG_TS_LEN + 1];
    log_timestamp(ts);
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

/* Batched lines (log_line_begin): one batch a thread, found through a
 * thread-local pointer, registered in a list for log_flush, released by
 * the thread-specific destructor when its thread exits. Each batch has
 * its own lock, which only log_flush ever contends for. */
#define LOG_BATCH_FULL (PIPE_BUF - 512) /* write the batch once it holds this much */
#define LOG_BATCH_CAP (64 * 1024)       /* pending lines and the line being made */

typedef struct log_batch {
    pthread_mutex_t lock; /* held from log_line_begin to log_line_end */
    buf b;                /* complete lines, then the line being made */
    size_t start;         /* where the line being made starts */
    time_t first;         /* the second of the oldest pending line */
    time_t cur;           /* the second of the line being made */
    /* the text after "ts" for the last level and msg: made once, copied */
    buf head;
    log_level head_level;
    char head_msg[64]; /* "" when none is kept */
    struct log_batch *prev, *next;
} log_batch;

static pthread_once_t log_batch_once = PTHREAD_ONCE_INIT;
static pthread_key_t log_batch_key;
static int log_batch_keyed; /* log_batch_key was made */
static pthread_mutex_t log_batches_lock = PTHREAD_MUTEX_INITIALIZER;
static log_batch *log_batches;
static _Thread_local log_batch *log_mine;

/* Write a batch's complete lines (its lock held). */
static void log_batch_write(log_batch *t) {
    if (t->b.len) log_write_all(t->b.s, t->b.len);
    buf_truncate(&t->b, 0);
}

/* The thread is exiting: out of the list, its lines written, freed. */
static void log_batch_release(void *p) {
    log_batch *t = p;
    pthread_mutex_lock(&log_batches_lock);
    if (t->prev) t->prev->next = t->next;
    else log_batches = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&log_batches_lock);
    pthread_mutex_lock(&t->lock);
    log_batch_write(t);
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
    buf_free(&t->b);
    buf_free(&t->head);
    if (log_mine == t) log_mine = NULL;
    free(t);
}

static void log_batch_setup(void) {
    log_batch_keyed = pthread_key_create(&log_batch_key, log_batch_release) == 0;
    if (log_batch_keyed) atexit(log_flush);
}

/* This thread's batch, made at its first line; NULL when out of memory. */
static log_batch *log_batch_mine(void) {
    if (log_mine) return log_mine;
    pthread_once(&log_batch_once, log_batch_setup);
    log_batch *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (!log_batch_keyed || pthread_setspecific(log_batch_key, t) != 0) {
        free(t); /* without a destructor its lines could be lost */
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    buf_init(&t->b, LOG_BATCH_CAP);
    pthread_mutex_lock(&log_batches_lock);
    t->next = log_batches;
    if (log_batches) log_batches->prev = t;
    log_batches = t;
    pthread_mutex_unlock(&log_batches_lock);
    return log_mine = t;
}

void log_flush(void) {
    pthread_mutex_lock(&log_batches_lock);
    for (log_batch *t = log_batches; t; t = t->next) {
        pthread_mutex_lock(&t->lock);
        log_batch_write(t);
        pthread_mutex_unlock(&t->lock);
    }
    pthread_mutex_unlock(&log_batches_lock);
}

buf *log_line_begin(log_level level, const char *msg) {
    if (!log_enabled(level)) return NULL;
    log_batch *t = log_batch_mine();
    if (!t) return NULL;
    pthread_mutex_lock(&t->lock);
    buf *b = &t->b;
    t->start = b->len;
    char ts[LOG_TS_LEN + 1];
    time_t sec = t->cur = log_timestamp(ts);
    if (t->start == 0) t->first = sec;
    else if (sec != t->first) { /* the oldest pending line is a second old */ log_batch_write(t);
        t->start = 0;
        t->first = sec;
    }
    size_t mlen = strlen(msg);
    if (t->head_level != level || mlen >= sizeof t->head_msg || strcmp(t->head_msg, msg) != 0) {
        buf *h = &t->head; /* ","level":"info","stage":"nz-serve","msg":"request" */
        buf_reset(h);
        buf_adds(h, "\",\"level\":\"");
        buf_adds(h, log_level_names[level]);
        buf_adds(h, "\",\"stage\":");
        jsonout_str(h, log_stage_name, strlen(log_stage_name));
        buf_adds(h, ",\"msg\":");
        jsonout_str(h, msg, mlen);
        int keep = !buf_failed(h) && mlen < sizeof t->head_msg;
        memcpy(t->head_msg, keep ? msg : "", keep ? mlen + 1 : 1);
        t->head_level = level;
        if (buf_failed(h)) {
            buf_reset(h);
            b->err = NZ_ENOMEM; /* the line fails: log_line_end drops it */
        }
    }
    buf_add(b, "{\"ts\":\"", 7);
    buf_add(b, ts, LOG_TS_LEN);
    buf_add(b, t->head.s, t->head.len);
    return b;
}

void log_line_end(buf *b) {
    log_batch *t = log_mine; /* b is &t->b, locked by log_line_begin */
    if (!t || b != &t->b) return;
    size_t start = t->start;
    if (buf_failed(b) || buf_addc(b, '}') < 0 || buf_addc(b, '\n') < 0) {
        buf_truncate(b, start); /* this line only: the pending ones stay */
        b->err = 0;
    } else if (log_human()) { /* the line for people, now: a terminal is watching */
        log_relay(b->s + start, b->len - start - 1);
        buf_truncate(b, start);
    } else if (b->len > PIPE_BUF && start > 0) { /* the pending lines alone, then this one */
        log_write_all(b->s, start);
        memmove(b->s, b->s + start, b->len - start + 1);
        b->len -= start;
        t->first = t->cur;
    }
    if (b->len >= LOG_BATCH_FULL) log_batch_write(t);
    pthread_mutex_unlock(&t->lock);
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
