/* membw.c -- plain memory-read bandwidth, the anchor for the exact scan:
 * THREADS threads sum 64-bit words (eight per step) of a SIZE_MB buffer (touched first, so
 * it is resident), best of five passes. Prints {"read_gbs":...}.
 *   nz-membw [SIZE_MB] [THREADS] */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (mb < 16 || mb > 65536 || threads < 1 || threads > 1024) {
        fprintf(stderr, "usage: nz-membw [SIZE_MB 16..65536] [THREADS]\n");
        return 2;
    }
    size_t n = mb * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "nz-membw: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0;
    uint64_t total = 0;
    for (int pass = 0; pass < 5; pass++) {
        uint64_t sum = 0;
        double t0 = now();
        long long i;
        /* eight independent sums: two loads a cycle, never the adder,
         * bound the loop, so what it measures is the memory */
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
        for (i = 0; i < (long long)(n / 8); i++) {
            const uint64_t *p = buf + (size_t)i * 8;
            sum += (p[0] + p[1]) + (p[2] + p[3]) + ((p[4] + p[5]) + (p[6] + p[7]));
        }
        double secs = now() - t0;
        total += sum;
        double gbs = (double)(n * sizeof *buf) / secs / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("{\"read_gbs\":%.3f,\"size_mb\":%zu,\"threads\":%d,\"check\":%llu}\n", best, mb, threads,
           (unsigned long long)(total & 0xff));
    free(buf);
    return 0;
}
