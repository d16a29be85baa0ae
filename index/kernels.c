/* kernels.c -- see kernels.h. The portable kernel keeps eight independent
 * accumulators: without -ffast-math the compiler may not reorder a float sum,
 * so the independent lanes are what lets it issue SIMD multiply-adds. */
#include "kernels.h"

#include <math.h>

float kern_dot(const float *a, const float *b, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += a[i + l] * b[i + l];
    float tail = 0;
    for (; i < n; i++) tail += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

double kern_normalise(float *v, size_t n) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)v[i] * v[i];
    double norm = sqrt(ss);
    if (norm > 0) {
        double inv = 1.0 / norm;
        for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] * inv);
    }
    return norm;
}
