/* kernels.h -- distance kernels, kept apart from the index code (hnswlib's
 * layout), so each can be tested and tuned on its own.
 *
 * Vectors are L2-normalised at build time, so cosine similarity is the
 * inner product and every search kernel is a dot product.
 */
#ifndef NZ_KERNELS_H
#define NZ_KERNELS_H

#include <stddef.h>

float kern_dot(const float *a, const float *b, size_t n);

/* Scale v to unit length. Returns the original norm (0: left unchanged). */
double kern_normalise(float *v, size_t n);

#endif
