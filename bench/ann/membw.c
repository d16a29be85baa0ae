/* membw.c -- plain memory-read bandwidth, the anchor for the exact scan:
 * THREADS threads read a SIZE_MB buffer (touched first, so it is resident)
 * with four independent 256-bit accumulators where the CPU has AVX2
 * (eight 64-bit ones otherwise), so the loop is bound by memory, not by
 * the adder; best of five passes. Prints {"read_gbs":...}.
 *   nz-membw [SIZE_MB] [THREADS] */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Sum of words [lo, hi), as a checksum the compiler cannot drop. */
static uint64_t read_portable(const uint64_t *p, size_t lo, size_t hi) {
    uint64_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = lo; i + 8 <= hi; i += 8)
        for (int l = 0; l < 8; l++) s[l] += p[i + l];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint64_t *p, size_t lo, size_t hi) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = lo; i + 16 <= hi; i += 16) {
        const __m256i *q = (const __m256i *)(p + i);
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(q));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(q + 1));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(q + 2));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(q + 3));
    }
    __m256i a = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, a);
    return out[0] + out[1] + out[2] + out[3];
}
#endif

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (mb < 16 || mb > 65536 || threads < 1 || threads > 1024) {
        fprintf(stderr, "usage: nz-membw [SIZE_MB 16..65536] [THREADS]\n");
        return 2;
    }
    size_t n = mb * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *buf = aligned_alloc(64, n * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "nz-membw: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i;
    uint64_t (*reader)(const uint64_t *, size_t, size_t) = read_portable;
    const char *kind = "portable";
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        reader = read_avx2;
        kind = "avx2";
    }
#endif
    double best = 0;
    uint64_t total = 0;
    for (int pass = 0; pass < 5; pass++) {
        uint64_t sum = 0;
        double t0 = now();
#pragma omp parallel num_threads(threads) reduction(+ : sum)
        {
            /* 1 KiB-aligned slices, one per thread */
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t per = (n / (size_t)nt) & ~(size_t)127;
            size_t lo = per * (size_t)t, hi = t == nt - 1 ? n : lo + per;
            sum += reader(buf, lo, hi);
        }
        double secs = now() - t0;
        total += sum;
        double gbs = (double)(n * sizeof *buf) / secs / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("{\"read_gbs\":%.3f,\"size_mb\":%zu,\"threads\":%d,\"kernel\":\"%s\",\"check\":%llu}\n",
           best, mb, threads, kind, (unsigned long long)(total & 0xff));
    free(buf);
    return 0;
}
