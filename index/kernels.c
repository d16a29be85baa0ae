/* kernels.c -- the portable kernels and the run-time choice of path; the
 * x86 paths live in kernels_x86.c. See kernels.h.
 *
 * The portable float kernel keeps eight independent accumulators: without
 * -ffast-math the compiler may not reorder a float sum, so the independent
 * lanes are what lets it issue SIMD multiply-adds. */
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the float path's floor on a sum of squares (kern_normalise) */
#define KERN_NORM_FLOAT_MIN 1e-20f

static float kern_dot_portable(const float *a, const float *b, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += a[i + l] * b[i + l];
    float tail = 0;
    for (; i < n; i++) tail += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

static int32_t kern_dot_i8_portable(const int8_t *a, const int8_t *b, size_t n) {
    int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += (int32_t)a[i + l] * b[i + l];
    int32_t t = 0;
    for (; i < n; i++) t += (int32_t)a[i] * b[i];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7] + t;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* kernels_x86.c */
float kern_dot_avx2(const float *a, const float *b, size_t n);
int32_t kern_dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n);
float kern_dot_avx512(const float *a, const float *b, size_t n);
int32_t kern_dot_i8_avx512(const int8_t *a, const int8_t *b, size_t n);
#define KERN_X86 1
#endif

static const kern_ops kern_table[KERN_NPATHS] = {
    [KERN_PORTABLE] = {kern_dot_portable, kern_dot_i8_portable},
#ifdef KERN_X86
    [KERN_AVX2] = {kern_dot_avx2, kern_dot_i8_avx2},
    [KERN_AVX512] = {kern_dot_avx512, kern_dot_i8_avx512},
#endif
};

int kern_supported(kern_path p) {
    switch (p) {
    case KERN_PORTABLE: return 1;
#ifdef KERN_X86
    case KERN_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KERN_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
    default: return 0;
    }
}

const kern_ops *kern_ops_for(kern_path p) {
    return p < KERN_NPATHS && kern_supported(p) ? &kern_table[p] : NULL;
}

const char *kern_path_name(kern_path p) {
    static const char *names[KERN_NPATHS] = {"portable", "avx2", "avx512"};
    return p < KERN_NPATHS ? names[p] : "?";
}

static kern_path kern_chosen = KERN_NPATHS;

static kern_path kern_choose(void) {
    const char *force = getenv("NZ_KERNELS");
    if (force && *force)
        for (int p = 0; p < KERN_NPATHS; p++)
            if (!strcmp(force, kern_path_name((kern_path)p)) && kern_supported((kern_path)p))
                return (kern_path)p;
    for (int p = KERN_NPATHS - 1; p > 0; p--)
        if (kern_supported((kern_path)p)) return (kern_path)p;
    return KERN_PORTABLE;
}

/* The first call through `kern` lands here, picks the path for good and
 * forwards. Racing first calls pick the same path, so the race is benign;
 * the pointers are written whole. */
static void kern_resolve(void) {
    kern_chosen = kern_choose();
    kern = kern_table[kern_chosen];
}
static float kern_dot_first(const float *a, const float *b, size_t n) {
    kern_resolve();
    return kern.dot(a, b, n);
}
static int32_t kern_dot_i8_first(const int8_t *a, const int8_t *b, size_t n) {
    kern_resolve();
    return kern.dot_i8(a, b, n);
}

kern_ops kern = {kern_dot_first, kern_dot_i8_first};

kern_path kern_active(void) {
    if (kern_chosen == KERN_NPATHS) kern_resolve();
    return kern_chosen;
}

/* Float with eight lanes (kern_dot_portable's order, which the compiler
 * vectorises at baseline x86-64): never the dispatched kern.dot, because
 * the build normalises every row with this and a snapshot must come out
 * byte for byte the same on every CPU. A double a lane cost ~2.2 us at dim
 * 1536 (this: ~0.45 us); on the unit test's vectors it is within 1e-6 of
 * the double result (tests/unit/test_index.c), measured, not a bound: a
 * row may differ from the double one by an ulp, so a snapshot rebuilt by
 * an older build differs in its last bits. Squares that
 * overflow float, or a sum so small that subnormals lose its digits, take
 * the double path: a query vector may hold any finite float. */
double kern_normalise(float *v, size_t n) {
    float ss = kern_dot_portable(v, v, n);
    if (isfinite(ss) && ss >= KERN_NORM_FLOAT_MIN) {
        float norm = sqrtf(ss), inv = 1.0f / norm;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) /* blocks of eight: -O2 vectorises them */
            for (int l = 0; l < 8; l++) v[i + l] *= inv;
        for (; i < n; i++) v[i] *= inv;
        return norm;
    }
    double dss = 0;
    for (size_t i = 0; i < n; i++) dss += (double)v[i] * v[i];
    double norm = sqrt(dss);
    if (norm > 0) {
        double inv = 1.0 / norm;
        for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] * inv);
    }
    return norm;
}

float kern_quantise(const float *x, size_t n, int8_t *code) {
    float mx = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > mx) mx = a;
    }
    if (!(mx > 0) || !isfinite(mx)) {
        memset(code, 0, n);
        return 0;
    }
    float inv = 127.0f / mx;
    for (size_t i = 0; i < n; i++) {
        long c = lrintf(x[i] * inv);
        code[i] = (int8_t)(c > 127 ? 127 : c < -127 ? -127 : c);
    }
    return mx / 127.0f;
}
