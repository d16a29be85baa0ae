/* vcache.c -- see vcache.h. */
#include "vcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "atomicio.h"
#include "sha.h"
#include "status.h"

#define VCACHE_MAGIC 0x31435a4eu /* "NZC1" read little-endian */
#define VCACHE_HDR (4 + 4 + VCACHE_KEY_LEN + 4)
#define VCACHE_MAX_DIM 65536
#define VCACHE_SYNC_SECONDS 5

typedef struct vcache_slot {
    unsigned char key[VCACHE_KEY_LEN];
    uint64_t off; /* of the vector data; 0 = empty */
    uint32_t dim;
} vcache_slot;

struct vcache {
    int fd, lock_fd;
    uint64_t size, recovered;
    vcache_slot *slots;
    size_t cap, n;
    time_t last_sync;
    int dirty;
};

static uint64_t vcache_hash(const unsigned char *key) {
    uint64_t h;
    memcpy(&h, key, 8); /* the key is SHA-256: its bytes are already random */
    return h;
}

static int vcache_insert(vcache *c, const unsigned char *key, uint64_t off, uint32_t dim) {
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        vcache_slot *ns = calloc(cap, sizeof *ns);
        if (!ns) return NZ_ENOMEM;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].off) continue;
            size_t j = vcache_hash(c->slots[i].key) & (cap - 1);
            while (ns[j].off) j = (j + 1) & (cap - 1);
            ns[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = ns;
        c->cap = cap;
    }
    size_t j = vcache_hash(key) & (c->cap - 1);
    while (c->slots[j].off) {
        if (!memcmp(c->slots[j].key, key, VCACHE_KEY_LEN)) { /* a later copy: same bytes */
            c->slots[j].off = off;
            c->slots[j].dim = dim;
            return NZ_OK;
        }
        j = (j + 1) & (c->cap - 1);
    }
    memcpy(c->slots[j].key, key, VCACHE_KEY_LEN);
    c->slots[j].off = off;
    c->slots[j].dim = dim;
    c->n++;
    return NZ_OK;
}

static const vcache_slot *vcache_find(const vcache *c, const unsigned char *key) {
    if (!c->cap) return NULL;
    size_t j = vcache_hash(key) & (c->cap - 1);
    while (c->slots[j].off) {
        if (!memcmp(c->slots[j].key, key, VCACHE_KEY_LEN)) return &c->slots[j];
        j = (j + 1) & (c->cap - 1);
    }
    return NULL;
}

static uint32_t vcache_crc(const unsigned char *rest, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    return (uint32_t)crc32(crc, rest, (uInt)n);
}

/* Scan the log; stop at the first record that is short or fails its CRC.
 * NZ_OK, NZ_ENOMEM, or NZ_EIO (errno says why) when the torn tail cannot
 * be cut off. */
static int vcache_scan(vcache *c) {
    unsigned char hdr[VCACHE_HDR];
    unsigned char *buf = malloc((size_t)VCACHE_MAX_DIM * 4 + VCACHE_HDR);
    int rc = NZ_ENOMEM;
    if (!buf) return NZ_ENOMEM;
    uint64_t off = 0;
    for (;;) {
        ssize_t r = pread(c->fd, hdr, VCACHE_HDR, (off_t)off);
        if (r < (ssize_t)VCACHE_HDR) break;
        uint32_t magic, crc, dim;
        memcpy(&magic, hdr, 4);
        memcpy(&crc, hdr + 4, 4);
        memcpy(&dim, hdr + 8 + VCACHE_KEY_LEN, 4);
        if (magic != VCACHE_MAGIC || dim == 0 || dim > VCACHE_MAX_DIM) break;
        size_t body = (size_t)dim * 4;
        memcpy(buf, hdr + 8, VCACHE_HDR - 8);
        if (pread(c->fd, buf + VCACHE_HDR - 8, body, (off_t)(off + VCACHE_HDR)) != (ssize_t)body)
            break;
        if (vcache_crc(buf, VCACHE_HDR - 8 + body) != crc) break;
        if (vcache_insert(c, hdr + 8, off + VCACHE_HDR, dim) < 0) goto fail;
        off += VCACHE_HDR + body;
    }
    rc = NZ_EIO;
    struct stat st;
    if (fstat(c->fd, &st) < 0) goto fail;
    if ((uint64_t)st.st_size > off) { /* a torn tail: never trusted, cut off */
        c->recovered = (uint64_t)st.st_size - off;
        if (ftruncate(c->fd, (off_t)off) < 0 || fsync(c->fd) < 0) goto fail;
    }
    c->size = off;
    rc = NZ_OK;
fail:
    free(buf);
    return rc;
}

vcache *vcache_open(const char *dir, char *err, size_t errlen) {
    vcache *c = calloc(1, sizeof *c);
    char *p = NULL;
    snprintf(err, errlen, "out of memory"); /* unless a failure below says otherwise */
    if (!c) goto fail;
    c->fd = c->lock_fd = -1;
    if (mkdir_p(dir, 0755) < 0) {
        snprintf(err, errlen, "embedding cache %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (asprintf(&p, "%s/.lock", dir) < 0) {
        p = NULL;
        goto fail;
    }
    c->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX) < 0) {
        snprintf(err, errlen, "embedding cache %s: cannot lock: %s", dir, strerror(errno));
        goto fail;
    }
    free(p);
    if (asprintf(&p, "%s/vectors.log", dir) < 0) {
        p = NULL;
        goto fail;
    }
    c->fd = open(p, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->fd < 0) {
        snprintf(err, errlen, "embedding cache %s: %s", p, strerror(errno));
        goto fail;
    }
    int st = vcache_scan(c);
    if (st < 0) {
        snprintf(err, errlen, "embedding cache %s: %s", p, strerror(st == NZ_EIO ? errno : ENOMEM));
        goto fail;
    }
    c->last_sync = time(NULL);
    free(p);
    return c;
fail:
    free(p);
    vcache_close(c);
    return NULL;
}

void vcache_close(vcache *c) {
    if (!c) return;
    if (c->fd >= 0) {
        if (c->dirty) fdatasync(c->fd);
        close(c->fd);
    }
    if (c->lock_fd >= 0) close(c->lock_fd);
    free(c->slots);
    free(c);
}

void vcache_key(const char *provider, const char *model, uint32_t dim, const char *text, size_t len,
                unsigned char key[VCACHE_KEY_LEN]) {
    sha_ctx *s = sha_new();
    char d[16];
    int dn = snprintf(d, sizeof d, "%u", dim);
    if (!s) { /* out of memory: a key that never matches */
        memset(key, 0xff, VCACHE_KEY_LEN);
        return;
    }
    sha_update(s, provider, strlen(provider) + 1);
    sha_update(s, model, strlen(model) + 1);
    sha_update(s, d, (size_t)dn + 1);
    sha_update(s, text, len);
    sha_final(s, key);
    sha_free(s);
}

int vcache_get(vcache *c, const unsigned char key[VCACHE_KEY_LEN], uint32_t dim, float *out) {
    const vcache_slot *s = vcache_find(c, key);
    if (!s) return 0;
    if (s->dim != dim) return NZ_EDIM;
    size_t n = (size_t)dim * 4;
    return pread(c->fd, out, n, (off_t)s->off) == (ssize_t)n ? 1 : NZ_EIO;
}

int vcache_put(vcache *c, const unsigned char key[VCACHE_KEY_LEN], uint32_t dim, const float *v) {
    if (dim == 0 || dim > VCACHE_MAX_DIM) return NZ_EDIM;
    size_t body = (size_t)dim * 4, n = VCACHE_HDR + body;
    unsigned char *rec = malloc(n);
    if (!rec) return NZ_ENOMEM;
    uint32_t magic = VCACHE_MAGIC;
    memcpy(rec, &magic, 4);
    memcpy(rec + 8, key, VCACHE_KEY_LEN);
    memcpy(rec + 8 + VCACHE_KEY_LEN, &dim, 4);
    memcpy(rec + VCACHE_HDR, v, body);
    uint32_t crc = vcache_crc(rec + 8, n - 8);
    memcpy(rec + 4, &crc, 4);
    ssize_t w = write(c->fd, rec, n); /* O_APPEND: one record, one write */
    free(rec);
    if (w != (ssize_t)n) {
        if (w > 0 && ftruncate(c->fd, (off_t)c->size) < 0) { /* undo a short write */
        }
        return NZ_EIO;
    }
    uint64_t off = c->size + VCACHE_HDR;
    c->size += n;
    c->dirty = 1;
    if (time(NULL) - c->last_sync >= VCACHE_SYNC_SECONDS) {
        fdatasync(c->fd);
        c->last_sync = time(NULL);
        c->dirty = 0;
    }
    return vcache_insert(c, key, off, dim);
}

size_t vcache_count(const vcache *c) { return c->n; }
uint64_t vcache_recovered(const vcache *c) { return c->recovered; }
