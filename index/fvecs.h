/* fvecs.h -- the ANN benchmark formats (corpus-texmex.irisa.fr):
 * .fvecs is rows of (int32 d, d x float32), .ivecs the same with int32
 * values; little-endian, every row carries its own d.
 *
 * The reader streams one row at a time and checks every row: d in
 * [1, 65536] and the same as the first row's, no short read (a truncated
 * file names the row it ends in), and (fvecs) finite values. The writer
 * goes through atomicio: temp file, fsync, rename.
 */
#ifndef NZ_FVECS_H
#define NZ_FVECS_H

#include <stdint.h>
#include <stdio.h>

typedef struct fvecs_reader {
    FILE *fp;
    const char *name;
    uint32_t dim; /* from the first row */
    uint64_t row; /* rows read so far */
    int own;
    int have_d; /* the next row's d was read by fvecs_open */
} fvecs_reader;

int fvecs_open(fvecs_reader *r, const char *path, char *err, size_t errlen);
void fvecs_close(fvecs_reader *r);

/* fvecs_open reads the first row's d into r->dim: NZ_OK; NZ_EIO (cannot
 * open); NZ_ECORRUPT (empty, or a bad first d). fvecs_next reads the next
 * row into v (r->dim floats): 1 = a row, 0 = end of file, or with err set
 * NZ_EIO (read error), NZ_ECORRUPT (truncated), NZ_EDIM (a d unlike the
 * first row's), NZ_ENONFINITE (a NaN or infinite value). */
int fvecs_next(fvecs_reader *r, float *v, char *err, size_t errlen);

/* Read a whole .fvecs file: malloc'd rows x dim floats, or NULL (err set). */
float *fvecs_load(const char *path, uint64_t *rows, uint32_t *dim, char *err, size_t errlen);

/* Write rows of k int32 each as .ivecs, atomically. NZ_OK or NZ_EIO. */
int ivecs_write(const char *path, const int32_t *ids, uint64_t rows, uint32_t k, char *err,
                size_t errlen);

#endif
