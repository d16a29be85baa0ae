/* log.c -- see log.h for the design. */
#include "log.h"
#include "jsonl.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
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
    }
}

const char *log_stage(void) { return log_stage_name; }

int log_human(void) {
    if (log_format_human < 0) log_init(log_stage_name);
    return log_format_human;
}

int log_enabled(log_level level) { return level >= log_threshold; }

static void log_timestamp(char *buf, size_t len) {
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

/* Write one finished line to stderr atomically with respect to other threads. */
static void log_write_line(const char *line) {
    pthread_mutex_lock(&log_lock);
    fputs(line, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

/* Core: `fields` is owned; msg may be NULL. */
static void log_emit(log_level level, const char *msg, json_t *fields) {
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    if (log_human()) {
        /* stage: level: msg key=value ... */
        char *extra = NULL;
        size_t extra_len = 0;
        FILE *mem = open_memstream(&extra, &extra_len);
        if (mem && fields) {
            const char *key;
            json_t *val;
            json_object_foreach(fields, key, val) {
                if (json_is_string(val)) fprintf(mem, " %s=%s", key, json_string_value(val));
                else {
                    char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
                    if (s) fprintf(mem, " %s=%s", key, s);
                    free(s);
                }
            }
        }
        if (mem) fclose(mem);
        char *line = NULL;
        if (asprintf(&line, "%s: %s: %s%s", log_stage_name, log_level_names[level], msg ? msg : "",
                     extra ? extra : "") >= 0) {
            log_write_line(line);
            free(line);
        }
        free(extra);
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
        log_write_line(line);
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
            log_write_line(line);
            free(line);
        }
        json_decref(f);
    } else {
        log_emit(LOG_ERROR, NULL, f);
    }
    free(err);
}

void log_fields(log_level level, const char *msg, json_t *fields) { log_emit(level, msg, fields); }
