/* carry.c -- see carry.h. */
#include "carry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"

#define CARRY_BLOCK (1u << 20) /* bytes of vectors.bin read at a time */

int carry_open(const char *path, snapshot **out, char *err, size_t errlen) {
    char why[512] = "";
    *out = NULL;
    snapshot *s = snapshot_open(path, why, sizeof why);
    if (!s) {
        snprintf(err, errlen, "base %s: %s", path, why);
        return NZ_EIO;
    }
    int rc = snapshot_verify(s, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "base %s does not verify: %s", path, why);
        snapshot_close(s);
        return rc;
    }
    *out = s;
    return NZ_OK;
}

int carry_check(const snapshot *base, const char *provider, const char *model, uint32_t dim,
                char *err, size_t errlen) {
    int same_model = !provider || !provider[0] ||
                     (!strcmp(provider, base->provider) && model && !strcmp(model, base->model));
    if (same_model && (dim == 0 || dim == base->dim)) return NZ_OK;
    snprintf(err, errlen,
             "the input's embedding %s/%s (dim %u) differs from the base snapshot's %s/%s "
             "(dim %u): rebuild without --base",
             provider ? provider : "", model ? model : "", dim ? dim : base->dim, base->provider,
             base->model, base->dim);
    return NZ_EDIM;
}

/* Rows [first, first + n) of vectors.bin into buf, with pread. */
static int carry_read(const snapshot *s, uint64_t first, uint64_t n, float *buf, char *err,
                      size_t errlen) {
    size_t want = (size_t)n * s->dim * sizeof *buf, got = 0;
    off_t at = (off_t)(s->vec_off + first * s->dim * sizeof *buf);
    while (got < want) {
        ssize_t r = pread(s->vec_fd, (char *)buf + got, want - got, at + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "base %s/%s: %s", s->dir, NZI_VECTORS,
                     r < 0 ? strerror(errno) : "unexpected end of file");
            return NZ_EIO;
        }
        got += (size_t)r;
    }
    return NZ_OK;
}

/* Append base row r (its vector at v) unless its document is left out. */
static int carry_row(index_builder *b, const snapshot *s, uint64_t r, const float *v,
                     const docset *drop, const docset *replaced, uint32_t *map, carry_stats *st,
                     char *err, size_t errlen) {
    snapshot_chunk c;
    if (snapshot_chunk_get(s, r, &c) < 0) {
        snprintf(err, errlen, "base %s: record %llu out of bounds", s->dir, (unsigned long long)r);
        return NZ_ECORRUPT;
    }
    const char *doc = c.f[NZI_F_DOC_ID];
    size_t len = c.len[NZI_F_DOC_ID];
    if ((drop && docset_has(drop, doc, len)) || (replaced && docset_has(replaced, doc, len))) {
        st->dropped++;
        return NZ_OK;
    }
    builder_meta m = {.page = c.page, .len = c.len};
    memcpy(m.f, c.f, sizeof m.f);
    uint64_t at = builder_count(b);
    int rc = builder_add_normalised(b, v, s->dim, &m, err, errlen);
    if (rc == NZ_OK) st->carried++;
    if (rc == NZ_OK && map) map[r] = (uint32_t)at;
    return rc;
}

int carry_rows(index_builder *b, const snapshot *base, const docset *drop, const docset *replaced,
               uint32_t *map, volatile sig_atomic_t *stop, progress *prog, carry_stats *st,
               char *err, size_t errlen) {
    size_t row_bytes = (size_t)base->dim * sizeof(float);
    uint64_t per = CARRY_BLOCK / row_bytes ? CARRY_BLOCK / row_bytes : 1;
    float *buf = malloc((size_t)per * row_bytes);
    int rc = NZ_ENOMEM;
    memset(st, 0, sizeof *st);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint64_t r = 0; map && r < base->count; r++) map[r] = GRAPH_EMPTY;
    posix_fadvise(base->vec_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (uint64_t first = 0; first < base->count; first += per) {
        rc = NZ_ESTOPPED;
        if (stop && *stop) goto fail;
        uint64_t n = base->count - first < per ? base->count - first : per;
        if ((rc = carry_read(base, first, n, buf, err, errlen)) < 0) goto fail;
        for (uint64_t i = 0; i < n; i++) {
            rc = carry_row(b, base, first + i, buf + i * base->dim, drop, replaced, map, st, err,
                           errlen);
            if (rc < 0) goto fail;
        }
        if (prog) progress_add(prog, n);
    }
    rc = NZ_OK;
fail:
    free(buf);
    return rc;
}
