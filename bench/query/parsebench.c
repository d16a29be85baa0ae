/* parsebench.c -- what a vector query's request costs to parse, as 1536
 * JSON numbers and as base64 of float32 (query_parse_bytes, in process),
 * beside the search it asks for (query_run, ef 64, k 10) on the snapshot.
 *
 *   nz-parsebench SNAPSHOT [REPS]
 *
 * The query vectors are dense and of unit length, like an embedding
 * API's (a fixed pseudo-random sequence), the JSON numbers printed with
 * %.9g: the shortest form that gives back every float32. Times are CPU
 * time of the process, so that other load on the machine counts less.
 * Prints one JSON line: microseconds per request for each form and for
 * the search, and the ratios.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"
#include "vecb64.h"

#define PB_QUERIES 32

static double pb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The request bodies for query number r: [0] JSON numbers, [1] base64. */
static int pb_bodies(const snapshot *s, uint64_t r, buf out[2]) {
    float *v = malloc(s->dim * sizeof *v);
    if (!v) return NZ_ENOMEM;
    uint64_t x = 0x9e3779b97f4a7c15ULL * (r + 1);
    double norm = 0;
    for (uint32_t i = 0; i < s->dim; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
        norm += (double)v[i] * v[i];
    }
    for (uint32_t i = 0; i < s->dim; i++) v[i] = (float)(v[i] / sqrt(norm));
    buf_adds(&out[0], "{\"vector\":[");
    for (uint32_t i = 0; i < s->dim; i++) buf_printf(&out[0], "%s%.9g", i ? "," : "", (double)v[i]);
    buf_adds(&out[0], "],\"k\":10,\"ef\":64}");
    char *b64 = vecb64_encode(v, s->dim);
    free(v);
    if (!b64) return NZ_ENOMEM;
    buf_printf(&out[1], "{\"vector\":\"%s\",\"k\":10,\"ef\":64}", b64);
    free(b64);
    return buf_failed(&out[0]) || buf_failed(&out[1]) ? NZ_ENOMEM : NZ_OK;
}

/* Seconds per request: parse (and, with s, run) every body reps times. */
static double pb_time(buf *bodies, size_t n, long reps, const snapshot *s) {
    char err[256];
    double t0 = pb_now();
    for (long r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++) {
            query_req q;
            json_t *ans = NULL;
            if (query_parse_bytes(buf_str(&bodies[i]), bodies[i].len, NULL, &q, err, sizeof err) <
                    0 ||
                (s && query_run(s, &q, 1, &ans, err, sizeof err) < 0)) {
                fprintf(stderr, "nz-parsebench: %s\n", err);
                exit(1);
            }
            json_decref(ans);
            query_free(&q);
        }
    return (pb_now() - t0) / (double)(reps * (long)n);
}

int main(int argc, char **argv) {
    char err[256];
    long reps = argc > 2 ? atol(argv[2]) : 200;
    snapshot *s = argc > 1 ? snapshot_open(argv[1], err, sizeof err) : NULL;
    if (!s || reps < 1) {
        fprintf(stderr, "usage: nz-parsebench SNAPSHOT [REPS]%s%s\n", s ? "" : ": ", s ? "" : err);
        return 2;
    }
    size_t n = PB_QUERIES;
    buf json[PB_QUERIES], b64[PB_QUERIES];
    for (size_t i = 0; i < n; i++) {
        buf two[2] = {BUF_INIT, BUF_INIT};
        if (pb_bodies(s, i, two) < 0) return 1;
        json[i] = two[0];
        b64[i] = two[1];
    }
    pb_time(json, n, 1, s); /* warm the caches and the snapshot's pages */
    double tj = pb_time(json, n, reps, NULL), tb = pb_time(b64, n, reps, NULL);
    double tq = pb_time(b64, n, reps, s) - tb; /* the search and its answer alone */
    printf("{\"dim\":%u,\"rows\":%llu,\"json_bytes\":%zu,\"base64_bytes\":%zu,"
           "\"json_parse_us\":%.1f,\"base64_parse_us\":%.1f,\"search_us\":%.1f,"
           "\"json_over_base64\":%.2f,\"json_over_search\":%.2f,\"base64_over_search\":%.3f}\n",
           s->dim, (unsigned long long)s->count, json[0].len, b64[0].len, tj * 1e6, tb * 1e6,
           tq * 1e6, tj / tb, tj / tq, tb / tq);
    for (size_t i = 0; i < n; i++) {
        buf_free(&json[i]);
        buf_free(&b64[i]);
    }
    snapshot_close(s);
    return 0;
}
