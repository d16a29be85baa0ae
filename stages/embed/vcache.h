/* vcache.h -- the embedding cache: content-addressed, on disk, append-only.
 *
 * Embeddings are what a run pays for, so each one is kept the moment it
 * arrives. The key is SHA-256 of provider, model, dimensions and the exact
 * text sent; the value the float32 vector. The store is one log file,
 * DIR/vectors.log, of records
 *     u32 magic "NZC1" | u32 CRC32 of the rest | key[32] | u32 dim | dim x f32
 * each appended with a single write(2). Opening reads the log once and
 * indexes it in memory (about 48 bytes per vector); a record cut short or
 * with a bad CRC -- what a crash leaves at the end -- stops the scan, is
 * never trusted, and is cut off so that appends start clean. One writer at
 * a time (flock on DIR/.lock; a second waits). The data is fdatasync'ed
 * every few seconds and at close: a killed process loses nothing it
 * appended, a crashed machine at most those seconds.
 */
#ifndef NZ_VCACHE_H
#define NZ_VCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct vcache vcache;

#define VCACHE_KEY_LEN 32

/* Open (creating) DIR. NULL with err on failure (the directory, the lock,
 * the log, or out of memory). */
vcache *vcache_open(const char *dir, char *err, size_t errlen);
void vcache_close(vcache *c);

/* The key of a text for a provider/model/dim. */
void vcache_key(const char *provider, const char *model, uint32_t dim, const char *text, size_t len,
                unsigned char key[VCACHE_KEY_LEN]);

/* Copy a cached vector of `dim` floats into out: 1 found, 0 not there,
 * NZ_EDIM when the cached vector has another dimension, NZ_EIO on a read
 * error. */
int vcache_get(vcache *c, const unsigned char key[VCACHE_KEY_LEN], uint32_t dim, float *out);
/* Append. NZ_OK; NZ_EIO on a write error (errno says why; a short write
 * is cut off again), NZ_EDIM for a dim of 0 or over 65,536, NZ_ENOMEM. */
int vcache_put(vcache *c, const unsigned char key[VCACHE_KEY_LEN], uint32_t dim, const float *v);

size_t vcache_count(const vcache *c);
/* Bytes of torn tail cut off at open (0 normally). */
uint64_t vcache_recovered(const vcache *c);

#endif
