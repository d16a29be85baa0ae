/* fvecs.c -- see fvecs.h. */
#include "fvecs.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomicio.h"
#include "status.h"

#define FVECS_MAX_DIM 65536

int fvecs_open(fvecs_reader *r, const char *path, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->name = path;
    if (!strcmp(path, "-")) {
        r->fp = stdin;
    } else if (!(r->fp = fopen(path, "rb"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NZ_EIO;
    } else {
        r->own = 1;
    }
    int32_t d;
    size_t got = fread(&d, 1, 4, r->fp);
    if (got != 4) {
        snprintf(err, errlen, "%s: %s", path, got == 0 ? "empty file" : "truncated in row 0");
        goto bad;
    }
    if (d < 1 || d > FVECS_MAX_DIM) {
        snprintf(err, errlen, "%s: row 0 has dimension %d (want 1..%d)", path, d, FVECS_MAX_DIM);
        goto bad;
    }
    r->dim = (uint32_t)d;
    r->have_d = 1; /* no seeking back: stdin may be a pipe */
    return NZ_OK;
bad:
    fvecs_close(r);
    return NZ_ECORRUPT;
}

void fvecs_close(fvecs_reader *r) {
    if (r->own && r->fp) fclose(r->fp);
    r->fp = NULL;
}

int fvecs_next(fvecs_reader *r, float *v, char *err, size_t errlen) {
    int32_t d;
    uint64_t row = r->row;
    if (r->have_d) {
        d = (int32_t)r->dim;
        r->have_d = 0;
    } else {
        size_t got = fread(&d, 1, 4, r->fp);
        if (got == 0 && feof(r->fp)) return 0;
        if (got != 4) {
            snprintf(err, errlen, "%s: %s in row %llu", r->name,
                     ferror(r->fp) ? strerror(errno) : "truncated", (unsigned long long)row);
            return ferror(r->fp) ? NZ_EIO : NZ_ECORRUPT;
        }
    }
    if (d != (int32_t)r->dim) {
        snprintf(err, errlen, "%s: row %llu has dimension %d, the first row %u", r->name,
                 (unsigned long long)row, d, r->dim);
        return NZ_EDIM;
    }
    if (fread(v, sizeof *v, r->dim, r->fp) != r->dim) {
        snprintf(err, errlen, "%s: %s in row %llu", r->name,
                 ferror(r->fp) ? strerror(errno) : "truncated", (unsigned long long)row);
        return ferror(r->fp) ? NZ_EIO : NZ_ECORRUPT;
    }
    for (uint32_t i = 0; i < r->dim; i++) {
        if (!isfinite(v[i])) {
            snprintf(err, errlen, "%s: row %llu has a NaN or infinite value at %u", r->name,
                     (unsigned long long)row, i);
            return NZ_ENONFINITE;
        }
    }
    r->row = row + 1;
    return 1;
}

float *fvecs_load(const char *path, uint64_t *rows, uint32_t *dim, char *err, size_t errlen) {
    fvecs_reader r;
    if (fvecs_open(&r, path, err, errlen) < 0) return NULL;
    /* start at 1 MiB of rows (at most 1024) and double: a one-row file
     * of dimension 65536 does not allocate 1024 rows (256 MiB) */
    size_t cap = ((size_t)1 << 20) / ((size_t)r.dim * sizeof(float)), n = 0;
    if (cap < 1) cap = 1;
    if (cap > 1024) cap = 1024;
    float *all = NULL;
    for (;;) {
        if (n == cap || !all) {
            cap = all ? cap * 2 : cap;
            float *na = realloc(all, cap * r.dim * sizeof *na);
            if (!na) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            all = na;
        }
        int rc = fvecs_next(&r, all + n * r.dim, err, errlen);
        if (rc < 0) goto fail;
        if (rc == 0) break;
        n++;
    }
    *rows = n;
    *dim = r.dim;
    fvecs_close(&r);
    return all;
fail:
    free(all);
    fvecs_close(&r);
    return NULL;
}

int ivecs_write(const char *path, const int32_t *ids, uint64_t rows, uint32_t k, char *err,
                size_t errlen) {
    atomic_file af;
    if (atomic_open(&af, path) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NZ_EIO;
    }
    int32_t d = (int32_t)k;
    for (uint64_t i = 0; i < rows; i++) {
        if (fwrite(&d, 4, 1, af.fp) != 1 || fwrite(ids + i * k, 4, k, af.fp) != k) {
            snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
            atomic_abort(&af);
            return NZ_EIO;
        }
    }
    if (atomic_commit(&af) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NZ_EIO;
    }
    return NZ_OK;
}
