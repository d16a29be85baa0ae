/* kernels_x86.c -- AVX2+FMA and AVX-512 (F+BW) kernels, compiled with
 * per-function target attributes so the rest of the build stays baseline
 * x86-64; kernels.c only calls them when the CPU has the instructions.
 *
 * float: four independent FMA accumulators hide the FMA latency.
 * int8:  vpmaddubsw on |a| and sign(a) * b gives pair sums in int16,
 *        vpmaddwd by ones widens them into int32 lanes. Codes are in
 *        [-127, 127], so a pair sum is at most 32,258 (no saturation) and
 *        an int32 lane cannot overflow below 66,000 dimensions. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

float kern_dot_avx2(const float *a, const float *b, size_t n);
int32_t kern_dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n);
float kern_dot_avx512(const float *a, const float *b, size_t n);
int32_t kern_dot_i8_avx512(const int8_t *a, const int8_t *b, size_t n);

__attribute__((target("avx2,fma"))) float kern_dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

__attribute__((target("avx2"))) int32_t kern_dot_i8_avx2(const int8_t *a, const int8_t *b,
                                                         size_t n) {
    /* vpmaddubsw multiplies unsigned by signed bytes: feed it |a| and b
     * with a's sign moved over (vpsignb). A pair sum is at most
     * 2 x 127 x 127 = 32,258, under int16's saturation, so this is exact. */
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + i + 32));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + i + 32));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
        __m256i p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(a1), _mm256_sign_epi8(b1, a1));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, ones));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, ones));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, ones));
    }
    __m256i s = _mm256_add_epi32(s0, s1);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    int32_t r = _mm_cvtsi128_si32(h);
    for (; i < n; i++) r += (int32_t)a[i] * b[i];
    return r;
}

__attribute__((target("avx512f"))) float kern_dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) { /* masked tail: no scalar loop */
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f,avx512bw"))) int32_t kern_dot_i8_avx512(const int8_t *a,
                                                                       const int8_t *b, size_t n) {
    /* as AVX2's: |a| times b with a's sign, by vpmaddubsw; AVX-512 has no
     * vpsignb, so b is negated under the mask of a's negative bytes (a zero
     * a contributes 0 either way) */
    const __m512i ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m512i a0 = _mm512_loadu_si512(a + i), b0 = _mm512_loadu_si512(b + i);
        __m512i a1 = _mm512_loadu_si512(a + i + 64), b1 = _mm512_loadu_si512(b + i + 64);
        __m512i sb0 = _mm512_mask_sub_epi8(b0, _mm512_movepi8_mask(a0), zero, b0);
        __m512i sb1 = _mm512_mask_sub_epi8(b1, _mm512_movepi8_mask(a1), zero, b1);
        s0 = _mm512_add_epi32(
            s0, _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(a0), sb0), ones));
        s1 = _mm512_add_epi32(
            s1, _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(a1), sb1), ones));
    }
    for (; i + 64 <= n; i += 64) {
        __m512i a0 = _mm512_loadu_si512(a + i), b0 = _mm512_loadu_si512(b + i);
        __m512i sb0 = _mm512_mask_sub_epi8(b0, _mm512_movepi8_mask(a0), zero, b0);
        s0 = _mm512_add_epi32(
            s0, _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(a0), sb0), ones));
    }
    int32_t r = _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
    for (; i < n; i++) r += (int32_t)a[i] * b[i];
    return r;
}
#else
typedef int kernels_x86_empty; /* ISO C: a translation unit is not empty */
#endif
