/* log.h -- structured logging on stderr for every nz-* binary.
 *
 * stdout carries data (JSON Lines); stderr carries logs. When stderr is a
 * terminal the lines are for people ("nz-chunk: warn: ..."); otherwise each
 * line is one JSON object {"ts","level","stage","msg",...} that a scheduler
 * or log shipper can parse. NZ_LOG_FORMAT=json|human overrides the choice,
 * NZ_LOG_LEVEL=debug|info|warn|error sets the threshold (default info);
 * NZ_LOG_LEVEL=off writes no line at all (the fuzz targets: a rejection
 * per input is not what they test).
 *
 * A rejected input is reported with log_reject(): one line carrying "uri"
 * and "error", the contract of DESIGN.md. Every line goes out with one
 * writev(2), so lines shorter than PIPE_BUF never interleave (threads or
 * processes sharing the pipe); longer ones also take a lock. Hot paths
 * write their lines in per-thread batches instead (log_line_begin).
 *
 * Never pass a secret (API key, database password) to these functions.
 */
#ifndef NZ_LOG_H
#define NZ_LOG_H

#include <jansson.h>
#include <stdarg.h>

#include "buf.h"

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_init(const char *stage);
const char *log_stage(void);
int log_human(void); /* 1 when lines are formatted for a terminal */
int log_enabled(log_level level);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* One rejected input: {"level":"error","stage":..,"uri":..,"error":..}. */
void log_reject(const char *uri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Emit an object of extra fields (stats, summaries) at the given level with
 * a message. Takes ownership of `fields` (may be NULL). */
void log_fields(log_level level, const char *msg, json_t *fields);

/* A log line written by hand, for hot paths (nz-serve's access log): no
 * jansson object, no allocation once the thread's batch has grown, and a
 * write(2) for many lines rather than one each. log_line_begin starts
 * {"ts":..,"level":..,"stage":..,"msg":.. in this thread's batch and
 * returns the batch's buf (NULL when level is not enabled, or out of
 * memory: nothing to do then); the caller appends ,"key":value members
 * with jsonout.h and must call log_line_end(b) next, on the same thread,
 * which closes the object. A line that failed (buf_failed) is dropped,
 * never the lines before it. In human mode the line is written at once,
 * for people (as log_relay does).
 *
 * A thread's JSON lines go out together in one write(2) of at most
 * PIPE_BUF bytes (so a batch is never interleaved with other writers'
 * lines, as a single line is not): when the batch nears PIPE_BUF, when
 * its oldest line is a second old at the next line, at log_flush(), when
 * the thread exits, and at exit(3). A process that may sit idle with
 * lines pending calls log_flush from a timer (nz-serve: every 250 ms).
 * Lines keep their own "ts", so one written late still says when. */
buf *log_line_begin(log_level level, const char *msg);
void log_line_end(buf *b);
/* Write every thread's pending lines now. Thread-safe. */
void log_flush(void);

/* A JSON log line read back (a child process's, for nz-pipeline): the
 * object, and its standard fields borrowed from it (NULL when absent). */
typedef struct log_record {
    json_t *obj;
    const char *stage, *level, *msg, *uri, *error;
    int is_reject; /* a rejected input, as log_reject writes it */
} log_record;
/* 0, or -1 when the line is not a JSON object (r is then empty). */
int log_record_parse(log_record *r, const char *line, size_t len);
void log_record_free(log_record *r);

/* Pass on one JSON log line written by a child process (nz-pipeline's
 * stages log in JSON to it): as it is in JSON mode, as a line for people
 * in human mode, and not at all when its level is below this process's
 * NZ_LOG_LEVEL. A line that is not a JSON log record passes as it is. */
void log_relay(const char *line, size_t len);

#endif
