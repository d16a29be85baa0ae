/* samework.c -- bench/serve's second anchor for the one-connection rows:
 * nz-serve's own work on a /v1/query body, in process, without HTTP.
 *
 * `nz-index search --fvecs` (the first anchor, issue 13's) walks the graph
 * and re-ranks, then writes 10 ids; the server does that too, and also
 * parses the body (base64 straight from it, query_parse_bytes), reads the
 * 10 results' records and writes them as the answer's JSON (query_answer:
 * ~12 KB a query on the bench corpus). This program does exactly the
 * server's route work for each body of the file, on one thread, so the
 * HTTP row can be read against both: the search alone, and the same work
 * minus the transport.
 *
 *   nz-samework SNAPSHOT BODIES [ROUNDS]
 *
 * One untimed pass, then ROUNDS (default 3) timed passes over all bodies
 * (wall clock, as nz-index search); prints one JSON line with the best:
 * {"queries","seconds","qps","answer_bytes"} (mean bytes of an answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"

#define SW_MAX_BODY (1024 * 1024) /* nz-serve's default --max-body */

static double sw_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The lines of path, each a body, into bodies (NUL-separated in one buf,
 * offsets in ends); NZ_OK, NZ_EIO, NZ_ENOMEM or NZ_ELIMIT. */
static int sw_load(const char *path, buf *bodies, size_t **ends, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) return NZ_EIO;
    char *line = NULL;
    size_t cap = 0, have = 0;
    ssize_t len;
    int rc = NZ_OK;
    *ends = NULL;
    *n = 0;
    while (rc == NZ_OK && (len = getline(&line, &cap, f)) > 0) {
        while (len && line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0) continue;
        if (*n == have) {
            size_t *e = realloc(*ends, (have = have ? have * 2 : 256) * sizeof *e);
            if (!e) rc = NZ_ENOMEM;
            else *ends = e;
        }
        if (rc == NZ_OK && (size_t)len > SW_MAX_BODY) rc = NZ_ELIMIT;
        if (rc == NZ_OK && (rc = buf_add(bodies, line, (size_t)len + 1)) == NZ_OK)
            (*ends)[(*n)++] = bodies->len;
    }
    if (ferror(f)) rc = NZ_EIO;
    free(line);
    fclose(f);
    return rc;
}

/* One pass: parse and answer every body; its seconds, or -1 (err set). */
static double sw_pass(const snapshot *s, const buf *bodies, const size_t *ends, size_t n,
                      size_t *bytes, char *err, size_t errlen) {
    buf out = BUF_INIT;
    double t0 = sw_now();
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = i ? ends[i - 1] : 0;
        query_req q;
        long results;
        int rc = query_parse_bytes(bodies->s + start, ends[i] - start - 1, NULL, &q, err, errlen);
        if (rc == NZ_OK) rc = query_answer(s, &q, 1, &out, &results, err, errlen);
        query_free(&q);
        if (rc < 0) {
            buf_free(&out);
            return -1;
        }
        *bytes += out.len;
        buf_reset(&out);
    }
    buf_free(&out);
    return sw_now() - t0;
}

static int sw_run(const char *snap, const char *path, long rounds) {
    char err[512];
    buf bodies = BUF_INIT;
    size_t *ends = NULL, n = 0, bytes = 0;
    int rc = 1;
    snapshot *s = snapshot_open(snap, err, sizeof err);
    if (!s) {
        fprintf(stderr, "nz-samework: %s\n", err);
        return 3;
    }
    if (sw_load(path, &bodies, &ends, &n) != NZ_OK || n == 0) {
        fprintf(stderr, "nz-samework: cannot read the bodies in %s\n", path);
        rc = 3;
        goto fail;
    }
    double best = -1;
    for (long r = 0; r <= rounds; r++) { /* round 0: warm-up, untimed */
        double t = sw_pass(s, &bodies, ends, n, &bytes, err, sizeof err);
        if (t < 0) {
            fprintf(stderr, "nz-samework: %s\n", err);
            rc = 3;
            goto fail;
        }
        if (r && (best < 0 || t < best)) best = t;
    }
    printf("{\"queries\":%zu,\"seconds\":%.6f,\"qps\":%.1f,\"answer_bytes\":%zu}\n", n, best,
           (double)n / best, bytes / n);
    rc = 0;
fail:
    snapshot_close(s);
    buf_free(&bodies);
    free(ends);
    return rc;
}

int main(int argc, char **argv) {
    long rounds = 3;
    if (argc < 3 || argc > 4 ||
        (argc == 4 && config_parse_long("ROUNDS", argv[3], 1, 1000, &rounds) != 0)) {
        fprintf(stderr, "usage: nz-samework SNAPSHOT BODIES [ROUNDS]\n");
        return 2;
    }
    return sw_run(argv[1], argv[2], rounds);
}
