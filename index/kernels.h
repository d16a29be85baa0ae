/* kernels.h -- distance kernels, kept apart from the index code (hnswlib's
 * layout), so each can be tested and tuned on its own.
 *
 * Vectors are L2-normalised at build time, so cosine similarity is the
 * inner product and every search kernel is a dot product: float32 for
 * exact scores and re-ranking, int8 x int8 -> int32 for graph traversal.
 *
 * Each kernel has a portable C path and x86 paths for AVX2+FMA and
 * AVX-512 (F+BW), chosen once at run time from what the CPU reports
 * (GCC's __builtin_cpu_supports). NZ_KERNELS=portable|avx2|avx512 in the
 * environment forces a path the CPU has, for tests and benchmarks.
 *
 * Agreement between paths: the int8 kernel is exact integer arithmetic, so
 * every path returns the same value; index builds use only it, which is
 * why a snapshot is byte-identical whatever the CPU. The float kernels sum
 * in different orders, so they agree within a relative error of 1e-5 of
 * sum(|a_i b_i|) (tests/unit/test_index.c checks both).
 */
#ifndef NZ_KERNELS_H
#define NZ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { KERN_PORTABLE, KERN_AVX2, KERN_AVX512, KERN_NPATHS } kern_path;

typedef struct kern_ops {
    float (*dot)(const float *a, const float *b, size_t n);
    int32_t (*dot_i8)(const int8_t *a, const int8_t *b, size_t n);
} kern_ops;

/* The ops of the chosen path (chosen on first use). */
extern kern_ops kern;

static inline float kern_dot(const float *a, const float *b, size_t n) { return kern.dot(a, b, n); }
static inline int32_t kern_dot_i8(const int8_t *a, const int8_t *b, size_t n) {
    return kern.dot_i8(a, b, n);
}

/* 1 when this CPU (and this build) can run `p`. */
int kern_supported(kern_path p);
/* The ops of one path; NULL when unsupported. For tests and benchmarks. */
const kern_ops *kern_ops_for(kern_path p);
kern_path kern_active(void);
const char *kern_path_name(kern_path p);

/* Scale v to unit length. Returns the original norm (0: left unchanged).
 * The same bytes on every CPU (the build normalises rows with it). */
double kern_normalise(float *v, size_t n);

/* Symmetric per-vector int8 quantisation: code_i = round(x_i * 127 / max|x|).
 * Returns the scale max|x| / 127 (0 for the zero vector, all codes 0), so
 * that x . y ~= scale_x * scale_y * dot_i8(code_x, code_y). */
float kern_quantise(const float *x, size_t n, int8_t *code);

#endif
