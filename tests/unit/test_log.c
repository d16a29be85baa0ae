/* test_log.c -- lib/log.c's batched lines (log_line_begin): every line
 * written once and whole, from several threads, long lines included; a
 * thread's pending lines out at log_flush and at its exit; a line too long
 * for the batch dropped alone. stderr goes to a file meanwhile. */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonout.h"
#include "log.h"
#include "unit.h"

#define TL_THREADS 4
#define TL_LINES 1500

static char tl_path[4200];
static int tl_saved = -1;

/* stderr into a fresh file, JSON lines at info level. */
static int tl_redirect(void) {
    snprintf(tl_path, sizeof tl_path, "%s/stderr", unit_tmpdir());
    fflush(stderr);
    tl_saved = dup(STDERR_FILENO);
    int fd = open(tl_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (tl_saved < 0 || fd < 0) return -1;
    dup2(fd, STDERR_FILENO);
    close(fd);
    setenv("NZ_LOG_LEVEL", "info", 1);
    setenv("NZ_LOG_FORMAT", "json", 1);
    log_init("nz-unit");
    return 0;
}

static void tl_restore(void) {
    log_flush();
    dup2(tl_saved, STDERR_FILENO);
    close(tl_saved);
    setenv("NZ_LOG_LEVEL", "error", 1);
    unsetenv("NZ_LOG_FORMAT");
    log_init("nz-unit");
}

/* One line: thread t, number i, and every 100th a field past PIPE_BUF. */
static void tl_line(int t, int i) {
    buf *b = log_line_begin(LOG_INFO, "t");
    if (!b) return;
    buf_adds(b, ",\"t\":");
    jsonout_int(b, t);
    buf_adds(b, ",\"i\":");
    jsonout_int(b, i);
    if (i % 100 == 7) {
        static char pad[6000];
        memset(pad, 'x', sizeof pad - 1);
        buf_adds(b, ",\"pad\":");
        jsonout_str(b, pad, sizeof pad - 1);
    }
    log_line_end(b);
}

static void *tl_thread(void *arg) {
    int t = (int)(long)arg;
    for (int i = 0; i < TL_LINES; i++) tl_line(t, i);
    return NULL; /* the rest goes out at the thread's exit */
}

/* Each (t, i) seen once, every line a whole JSON object; the count of
 * lines with msg "t", or -1 on a torn or repeated line. */
static int tl_count(unsigned char seen[][TL_LINES]) {
    FILE *f = fopen(tl_path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int count = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t)n, 0, NULL);
        const char *msg = json_string_value(json_object_get(o, "msg"));
        if (!o || !msg) {
            count = -1;
        } else if (strcmp(msg, "t") == 0 && count >= 0) {
            long long t = json_integer_value(json_object_get(o, "t"));
            long long i = json_integer_value(json_object_get(o, "i"));
            if (t < 0 || t >= TL_THREADS || i < 0 || i >= TL_LINES || seen[t][i]++) count = -1;
            else count++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return count;
}

UNIT_TEST(log_batches_every_line_once_and_whole) {
    static unsigned char seen[TL_THREADS][TL_LINES];
    memset(seen, 0, sizeof seen);
    CHECK(tl_redirect() == 0);
    pthread_t th[TL_THREADS];
    int started = 0;
    for (long t = 0; t < TL_THREADS; t++)
        if (pthread_create(&th[t], NULL, tl_thread, (void *)t) == 0) started++;
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    tl_restore();
    CHECK(started == TL_THREADS);
    CHECK(tl_count(seen) == TL_THREADS * TL_LINES);
}

UNIT_TEST(log_batches_flush_and_oversized_line) {
    static unsigned char seen[TL_THREADS][TL_LINES];
    memset(seen, 0, sizeof seen);
    CHECK(tl_redirect() == 0);
    tl_line(0, 1);
    tl_line(0, 2);
    log_flush();
    int flushed = tl_count(seen);
    memset(seen, 0, sizeof seen);
    tl_line(0, 3);                          /* pending when the next line fails */
    buf *b = log_line_begin(LOG_INFO, "t"); /* past the batch's cap: dropped alone */
    static char big[70 * 1024];
    memset(big, 'y', sizeof big - 1);
    if (b) {
        buf_adds(b, ",\"big\":");
        jsonout_str(b, big, sizeof big - 1);
        log_line_end(b);
    }
    tl_line(0, 4);
    log_flush();
    int after = tl_count(seen);
    int below = log_line_begin(LOG_DEBUG, "t") == NULL; /* below the level: nothing */
    tl_restore();
    CHECK(flushed == 2);
    CHECK(after == 4 && seen[0][3] == 1 && seen[0][4] == 1);
    CHECK(below);
}
