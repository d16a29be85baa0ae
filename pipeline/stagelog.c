/* stagelog.c -- see stagelog.h. */
#include "stagelog.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "status.h"

struct stagelog {
    int read_fd, write_fd;
    pthread_t thread;
    int started, joined;
    stagelog_reject *rejects;
    size_t n, cap;
    stagelog_result result;
};

/* Keep a rejected input (NZ_OK, or NZ_ENOMEM / NZ_ELIMIT when it is only
 * counted). */
static int stagelog_keep_reject(stagelog *l, const char *stage, const char *uri,
                                const char *error) {
    if (l->n == STAGELOG_MAX_KEPT) return NZ_ELIMIT;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        stagelog_reject *nr = realloc(l->rejects, cap * sizeof *nr);
        if (!nr) return NZ_ENOMEM;
        l->rejects = nr;
        l->cap = cap;
    }
    stagelog_reject r = {strdup(stage ? stage : "?"), strdup(uri), strdup(error)};
    if (!r.stage || !r.uri || !r.error) {
        free(r.stage);
        free(r.uri);
        free(r.error);
        return NZ_ENOMEM;
    }
    l->rejects[l->n++] = r;
    return NZ_OK;
}

/* Keep what the run needs of one log line, if anything. Returns 1 for a
 * line not worth passing on: an "unchanged" note, one a source, which the
 * run's summary counts (passed on only at NZ_LOG_LEVEL=debug, so that a
 * quiet night under cron stays quiet). */
static int stagelog_keep(stagelog *l, const char *line, size_t len) {
    int quiet = 0;
    if (!memchr(line, '{', len > 8 ? 8 : len)) return 0;
    log_record r;
    if (log_record_parse(&r, line, len) < 0) return 0;
    const char *msg = r.msg;
    int rc = NZ_OK;
    if (r.is_reject) {
        rc = stagelog_keep_reject(l, r.stage, r.uri, r.error);
    } else if (msg && r.uri && (strcmp(msg, "unchanged") == 0 || strcmp(msg, "gone") == 0)) {
        quiet = strcmp(msg, "unchanged") == 0 && !log_enabled(LOG_DEBUG);
        if (json_array_size(l->result.notes) >= STAGELOG_MAX_KEPT) rc = NZ_ELIMIT;
        else if (json_array_append(l->result.notes, r.obj) < 0) rc = NZ_ENOMEM;
    } else if (msg && r.stage && strcmp(msg, "done") == 0) {
        json_object_set(l->result.done, r.stage, r.obj);
    }
    if (rc < 0) l->result.dropped++;
    log_record_free(&r);
    return quiet;
}

static void *stagelog_main(void *arg) {
    stagelog *l = arg;
    buf line;
    buf_init(&line, STAGELOG_MAX_LINE);
    int too_long = 0; /* in a line past the bound: pass it on, do not parse */
    char chunk[16384];
    for (;;) {
        ssize_t n = read(l->read_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (const char *p = chunk, *end = chunk + n; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = (size_t)((nl ? nl : end) - p);
            if (buf_add(&line, p, take) < 0) { /* past the bound: pass it on in pieces */
                log_relay(buf_str(&line), line.len);
                log_relay(p, take);
                buf_reset(&line);
                too_long = 1;
            }
            p += take;
            if (!nl) break;
            p++;
            int quiet = !too_long && stagelog_keep(l, buf_str(&line), line.len);
            if ((line.len || !too_long) && !quiet) log_relay(buf_str(&line), line.len);
            buf_reset(&line);
            too_long = 0;
        }
    }
    if (line.len) log_relay(line.s, line.len);
    buf_free(&line);
    return NULL;
}

stagelog *stagelog_start(int *write_fd, char *err, size_t errlen) {
    stagelog *l = calloc(1, sizeof *l);
    int fds[2] = {-1, -1};
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot make a pipe for the stages' logs: %s", strerror(errno));
        free(l);
        return NULL;
    }
    l->read_fd = fds[0];
    l->write_fd = fds[1];
    l->result.notes = json_array();
    l->result.done = json_object();
    if (!l->result.notes || !l->result.done) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int rc = pthread_create(&l->thread, NULL, stagelog_main, l);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the log reader: %s", strerror(rc));
        goto fail;
    }
    l->started = 1;
    *write_fd = l->write_fd;
    return l;
fail:
    stagelog_free(l);
    return NULL;
}

void stagelog_writer_done(stagelog *l) {
    if (l->write_fd >= 0) close(l->write_fd);
    l->write_fd = -1;
}

const stagelog_result *stagelog_wait(stagelog *l) {
    stagelog_writer_done(l);
    if (l->started && !l->joined) {
        pthread_join(l->thread, NULL);
        l->joined = 1;
    }
    l->result.rejects = l->rejects;
    l->result.nrejects = l->n;
    return &l->result;
}

void stagelog_free(stagelog *l) {
    if (!l) return;
    stagelog_wait(l);
    close(l->read_fd);
    json_decref(l->result.notes);
    json_decref(l->result.done);
    for (size_t i = 0; i < l->n; i++) {
        free(l->rejects[i].stage);
        free(l->rejects[i].uri);
        free(l->rejects[i].error);
    }
    free(l->rejects);
    free(l);
}
