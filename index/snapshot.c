/* snapshot.c -- see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "manifest.h"
#include "status.h"

char *snapshot_resolve(const char *path, char *err, size_t errlen) {
    char *cur = NULL, *dir = NULL;
    if (asprintf(&cur, "%s/%s", path, NZI_CURRENT) < 0) return NULL;
    struct stat st;
    if (lstat(cur, &st) == 0) {
        dir = realpath(cur, NULL);
        if (!dir) snprintf(err, errlen, "%s: cannot resolve: %s", cur, strerror(errno));
    } else {
        char *m = NULL;
        if (asprintf(&m, "%s/%s", path, NZI_MANIFEST) >= 0 && access(m, F_OK) == 0)
            dir = realpath(path, NULL);
        else
            snprintf(err, errlen, "%s: no index here (neither %s nor %s)", path, NZI_CURRENT,
                     NZI_MANIFEST);
        free(m);
    }
    free(cur);
    return dir;
}

/* Map a whole file read-only; checks its size against the manifest. */
static void *snapshot_map(const char *dir, const char *name, uint64_t want, size_t *size,
                          int *keep_fd, char *err, size_t errlen) {
    char *p = NULL;
    void *m = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0) return NULL;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size != want || st.st_size < (off_t)sizeof(nzi_header)) {
        snprintf(err, errlen, "%s: size %lld, manifest says %llu", p, (long long)st.st_size,
                 (unsigned long long)want);
        goto out;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", p, strerror(errno));
        m = NULL;
        goto out;
    }
    *size = (size_t)st.st_size;
    if (keep_fd) { /* the caller keeps the descriptor too */
        *keep_fd = fd;
        fd = -1;
    }
out:
    if (fd >= 0) close(fd);
    free(p);
    return m;
}

static int snapshot_check_header(const nzi_header *h, const char *magic, uint64_t size,
                                 const char *name, char *err, size_t errlen) {
    if (memcmp(h->magic, magic, 8) != 0) {
        snprintf(err, errlen, "%s: bad magic", name);
        return NZ_ECORRUPT;
    }
    if (h->version != NZI_FORMAT_VERSION || h->header_size != sizeof(nzi_header)) {
        snprintf(err, errlen, "%s: format version %u, this build reads %d", name, h->version,
                 NZI_FORMAT_VERSION);
        return NZ_ECORRUPT;
    }
    if (h->file_size != size || h->data_off < sizeof(nzi_header) || h->data_off > size ||
        h->data_len > size - h->data_off) {
        snprintf(err, errlen, "%s: header does not match the file", name);
        return NZ_ECORRUPT;
    }
    return 0;
}

/* codes.bin and graph.bin: headers checked against the manifest and each
 * other; the adjacency itself is bounds-checked as it is walked. */
static int snapshot_open_graph(snapshot *s, json_t *m, char *err, size_t errlen) {
    uint64_t csize, gsize;
    if (manifest_file_size(m, NZI_CODES, &csize) < 0 ||
        manifest_file_size(m, NZI_GRAPH, &gsize) < 0) {
        snprintf(err, errlen, "manifest: a vamana index needs %s and %s", NZI_CODES, NZI_GRAPH);
        return NZ_ECORRUPT;
    }
    if (!(s->cod_map = snapshot_map(s->dir, NZI_CODES, csize, &s->cod_size, NULL, err, errlen)) ||
        !(s->grf_map = snapshot_map(s->dir, NZI_GRAPH, gsize, &s->grf_size, NULL, err, errlen)))
        return NZ_EIO;
    const nzi_header *ch = s->cod_map, *gh = s->grf_map;
    if (snapshot_check_header(ch, NZI_MAGIC_CODES, s->cod_size, NZI_CODES, err, errlen) < 0 ||
        snapshot_check_header(gh, NZI_MAGIC_GRAPH, s->grf_size, NZI_GRAPH, err, errlen) < 0)
        return NZ_ECORRUPT;
    s->code_stride = (size_t)nzi_code_stride(s->dim);
    s->scale_off = (size_t)nzi_code_scale_off(s->dim);
    if (ch->count != s->count || ch->dim != s->dim || ch->data_off % NZI_ALIGN ||
        ch->data_len != s->count * s->code_stride) {
        snprintf(err, errlen, "%s: header disagrees with the manifest", NZI_CODES);
        return NZ_ECORRUPT;
    }
    if (gh->count != s->count || gh->table_off < sizeof(nzi_header) || gh->table_off % NZI_ALIGN ||
        gh->table_off > s->grf_size - sizeof(nzi_graph_meta)) {
        snprintf(err, errlen, "%s: header disagrees with the manifest", NZI_GRAPH);
        return NZ_ECORRUPT;
    }
    const nzi_graph_meta *gm = (const nzi_graph_meta *)((const char *)s->grf_map + gh->table_off);
    if (gm->degree < 1 || gm->degree > GRAPH_MAX_DEGREE || gh->dim != gm->degree ||
        gm->entry >= s->count || gh->data_off % NZI_ALIGN ||
        gh->data_len != s->count * gm->degree * sizeof(uint32_t)) {
        snprintf(err, errlen, "%s: bad degree, entry point or adjacency size", NZI_GRAPH);
        return NZ_ECORRUPT;
    }
    s->codes = (const int8_t *)((const char *)s->cod_map + ch->data_off);
    s->adj = (const uint32_t *)((const char *)s->grf_map + gh->data_off);
    s->degree = gm->degree;
    s->entry = gm->entry;
    return 0;
}

/* lexical.bin, when the manifest lists it: mapped and its layout checked. */
static int snapshot_open_lexical(snapshot *s, json_t *m, char *err, size_t errlen) {
    uint64_t size;
    if (manifest_file_size(m, NZI_LEXICAL, &size) < 0) return 0; /* built before it */
    if (!(s->lex_map = snapshot_map(s->dir, NZI_LEXICAL, size, &s->lex_size, NULL, err, errlen)))
        return NZ_EIO;
    if (s->lex_size >= 8 && !memcmp(s->lex_map, NZI_MAGIC_LEXICAL_OLD, 8)) {
        snprintf(err, errlen,
                 "%s: terms of an older tokeniser (%s; this build makes %s): rebuild the "
                 "snapshot",
                 NZI_LEXICAL, NZI_MAGIC_LEXICAL_OLD, NZI_MAGIC_LEXICAL);
        return NZ_ECORRUPT;
    }
    if (snapshot_check_header(s->lex_map, NZI_MAGIC_LEXICAL, s->lex_size, NZI_LEXICAL, err,
                              errlen) < 0)
        return NZ_ECORRUPT;
    return lex_open(&s->lex, s->lex_map, s->lex_size, s->count, err, errlen);
}

snapshot *snapshot_open(const char *path, char *err, size_t errlen) {
    snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->vec_fd = -1;
    if (!(s->dir = snapshot_resolve(path, err, errlen))) goto fail;
    const char *base = strrchr(s->dir, '/');
    if (!(s->name = strdup(base ? base + 1 : s->dir))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    manifest_info mi;
    if (!(s->manifest = manifest_read(s->dir, &mi, err, errlen))) goto fail;
    if (mi.unsealed)
        log_warn("%s: format_version %d, written before manifests sealed themselves: its own "
                 "bytes are not checked; the next build replaces it",
                 s->name, MANIFEST_UNSEALED_VERSION);
    s->provider = mi.provider;
    s->model = mi.model;
    s->metric = mi.metric;
    s->created = mi.created;
    s->kind = mi.kind;
    s->labels = json_object_get(json_object_get(s->manifest, "build"), "labels");
    s->dim = mi.dim;
    s->count = mi.count;
    if (!(s->vec_map = snapshot_map(s->dir, NZI_VECTORS, mi.vectors_size, &s->vec_size, &s->vec_fd,
                                    err, errlen)))
        goto fail;
    if (!(s->chk_map =
              snapshot_map(s->dir, NZI_CHUNKS, mi.chunks_size, &s->chk_size, NULL, err, errlen)))
        goto fail;

    const nzi_header *vh = s->vec_map, *ch = s->chk_map;
    if (snapshot_check_header(vh, NZI_MAGIC_VECTORS, s->vec_size, NZI_VECTORS, err, errlen) < 0 ||
        snapshot_check_header(ch, NZI_MAGIC_CHUNKS, s->chk_size, NZI_CHUNKS, err, errlen) < 0)
        goto fail;
    if (vh->count != s->count || vh->dim != s->dim ||
        vh->data_len != s->count * s->dim * sizeof(float) || vh->data_off % NZI_ALIGN) {
        snprintf(err, errlen, "%s: count or dim disagrees with the manifest", NZI_VECTORS);
        goto fail;
    }
    if (ch->count != s->count || ch->table_off % 8 || ch->table_off > s->chk_size ||
        (s->chk_size - ch->table_off) / 8 < s->count + 1) {
        snprintf(err, errlen, "%s: offsets table out of bounds", NZI_CHUNKS);
        goto fail;
    }
    if (!strcmp(s->kind, "vamana") && snapshot_open_graph(s, s->manifest, err, errlen) < 0)
        goto fail;
    if (snapshot_open_lexical(s, s->manifest, err, errlen) < 0) goto fail;
    s->vectors = (const float *)((const char *)s->vec_map + vh->data_off);
    s->vec_off = vh->data_off;
    s->blob = (const unsigned char *)s->chk_map + ch->data_off;
    s->blob_len = ch->data_len;
    s->offsets = (const uint64_t *)((const char *)s->chk_map + ch->table_off);
    return s;
fail:
    snapshot_close(s);
    return NULL;
}

void snapshot_close(snapshot *s) {
    if (!s) return;
    if (s->vec_map) munmap(s->vec_map, s->vec_size);
    if (s->vec_fd >= 0) close(s->vec_fd);
    if (s->chk_map) munmap(s->chk_map, s->chk_size);
    if (s->cod_map) munmap(s->cod_map, s->cod_size);
    if (s->grf_map) munmap(s->grf_map, s->grf_size);
    if (s->lex_map) munmap(s->lex_map, s->lex_size);
    json_decref(s->manifest);
    free(s->dir);
    free(s->name);
    free(s);
}

int snapshot_chunk_get(const snapshot *s, uint64_t row, snapshot_chunk *out) {
    if (row >= s->count) return NZ_ECORRUPT;
    uint64_t a = s->offsets[row], b = s->offsets[row + 1];
    if (a > b || b > s->blob_len || b - a < 4) return NZ_ECORRUPT;
    const unsigned char *p = s->blob + a, *end = s->blob + b;
    memcpy(&out->page, p, 4);
    p += 4;
    for (int f = 0; f < NZI_NFIELDS; f++) {
        uint32_t n;
        if (end - p < 4) return NZ_ECORRUPT;
        memcpy(&n, p, 4);
        p += 4;
        if ((uint64_t)(end - p) < n) return NZ_ECORRUPT;
        out->f[f] = (const char *)p;
        out->len[f] = n;
        p += n;
    }
    return 0;
}

void snapshot_chunk_prefetch(const snapshot *s, const uint32_t *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (rows[i] < s->count) __builtin_prefetch(&s->offsets[rows[i]]);
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= s->count) continue;
        uint64_t a = s->offsets[rows[i]], b = s->offsets[rows[i] + 1];
        if (a >= b || b > s->blob_len) continue;
        if (b - a > 4096) b = a + 4096; /* a record's first 4 KB: text beyond streams in */
        for (uint64_t o = a & ~(uint64_t)63; o < b; o += 64) __builtin_prefetch(s->blob + o);
    }
}

void snapshot_read_vector(const snapshot *s, uint64_t row, float *out) {
    size_t len = (size_t)s->dim * sizeof *out;
    off_t at = (off_t)(s->vec_off + row * len);
    if (s->vec_fd < 0 || pread(s->vec_fd, out, len, at) != (ssize_t)len)
        memcpy(out, snapshot_vector(s, row), len);
}

/* Read in 64 KiB steps: a small allocation for the many small files
 * verify reads (a 1 MiB buffer, an mmap each under ASan, was a third of
 * the snapshot fuzz target's time). */
#define SNAP_CRC_BUF ((size_t)1 << 16)

long long snapshot_file_crc(const char *path, uint64_t *size_out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NZ_EIO;
    unsigned char *buf = malloc(SNAP_CRC_BUF);
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    long long rc = NZ_EIO;
    if (!buf) goto fail;
    for (;;) {
        ssize_t n = read(fd, buf, SNAP_CRC_BUF);
        if (n < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        if (n == 0) break;
        crc = crc32(crc, buf, (uInt)n);
        total += (uint64_t)n;
    }
    if (size_out) *size_out = total;
    rc = (long long)crc;
fail:
    free(buf);
    close(fd);
    return rc;
}

/* A listed file's 64-byte header, when it has one (an "NZI" magic): the
 * format, its own size, and the manifest's count (and dim, for the files
 * whose rows are vectors). NZ_OK, NZ_ECORRUPT, NZ_EIO. */
static int snapshot_verify_header(const snapshot *s, const char *path, const char *name,
                                  uint64_t size, char *err, size_t errlen) {
    nzi_header h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : pread(fd, &h, sizeof h, 0);
    if (fd >= 0) close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NZ_EIO;
    }
    if (n != (ssize_t)sizeof h || memcmp(h.magic, "NZI", 3) != 0) return NZ_OK; /* not ours */
    uint32_t dim = !strcmp(name, NZI_VECTORS) || !strcmp(name, NZI_CODES) ? s->dim
                   : !strcmp(name, NZI_GRAPH)                             ? s->degree
                   : !strcmp(name, NZI_CHUNKS)                            ? 0
                                                                          : h.dim;
    if (h.version != NZI_FORMAT_VERSION || h.header_size != sizeof h || h.file_size != size ||
        h.count != s->count || h.dim != dim) {
        snprintf(err, errlen,
                 "%s: header (count %llu, dim %u) disagrees with the manifest's %llu, %u", name,
                 (unsigned long long)h.count, h.dim, (unsigned long long)s->count, dim);
        return NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* The manifest's graph parameters are graph.bin's. */
static int snapshot_verify_graph(const snapshot *s, char *err, size_t errlen) {
    const nzi_header *gh = s->grf_map;
    const nzi_graph_meta *gm = (const nzi_graph_meta *)((const char *)s->grf_map + gh->table_off);
    json_t *ix = json_object_get(s->manifest, "index");
    if (json_integer_value(json_object_get(ix, "entry")) != (json_int_t)gm->entry ||
        json_integer_value(json_object_get(ix, "degree")) != (json_int_t)gm->degree ||
        json_integer_value(json_object_get(ix, "build_ef")) != (json_int_t)gm->build_ef ||
        json_integer_value(json_object_get(ix, "seed")) != (json_int_t)gm->seed) {
        snprintf(err, errlen, "%s: entry, degree, build_ef or seed disagrees with the manifest",
                 NZI_GRAPH);
        return NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* What the manifest says about itself: still the bytes opened (and
 * sealed), and named after its folder (a download's or import's
 * .tmp-NAME counts as NAME). */
static int snapshot_verify_manifest(const snapshot *s, char *err, size_t errlen) {
    manifest_info mi;
    json_t *m = manifest_read(s->dir, &mi, err, errlen);
    if (!m) return NZ_ECORRUPT;
    int same = json_equal(m, s->manifest);
    json_decref(m);
    if (!same) {
        snprintf(err, errlen, "%s changed since the snapshot was opened", NZI_MANIFEST);
        return NZ_ECORRUPT;
    }
    const char *folder = s->name, *snap;
    if (!strncmp(folder, NZI_TMP_PREFIX, strlen(NZI_TMP_PREFIX))) folder += strlen(NZI_TMP_PREFIX);
    snap = json_string_value(json_object_get(s->manifest, "snapshot"));
    if (!snap || strcmp(snap, folder) != 0) {
        snprintf(err, errlen, "%s: names snapshot \"%.80s\", but its folder is %s", NZI_MANIFEST,
                 snap ? snap : "", s->name);
        return NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* One listed file: a single entry, its size and CRC32, then its header. */
static int snapshot_verify_file(const snapshot *s, const json_t *files, size_t i, char *err,
                                size_t errlen) {
    json_t *f = json_array_get(files, i);
    const char *name = json_string_value(json_object_get(f, "name"));
    json_t *want_crc = json_object_get(f, "crc32");
    json_t *want_size = json_object_get(f, "size");
    if (!name || !*name || strchr(name, '/') || !strcmp(name, NZI_MANIFEST) ||
        !json_is_integer(want_crc) || !json_is_integer(want_size)) {
        snprintf(err, errlen, "manifest: malformed files entry %zu", i);
        return NZ_ECORRUPT;
    }
    for (size_t j = 0; j < i; j++) {
        const char *other = json_string_value(json_object_get(json_array_get(files, j), "name"));
        if (other && !strcmp(other, name)) {
            snprintf(err, errlen, "manifest: %s listed twice", name);
            return NZ_ECORRUPT;
        }
    }
    char *p = NULL;
    if (asprintf(&p, "%s/%s", s->dir, name) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    uint64_t size = 0;
    long long crc = snapshot_file_crc(p, &size);
    int rc = NZ_OK;
    if (crc < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", p, strerror(errno));
        rc = NZ_EIO;
    } else if (size != (uint64_t)json_integer_value(want_size) ||
               crc != (long long)json_integer_value(want_crc)) {
        snprintf(err, errlen, "%s: CRC32 %08llx size %llu, manifest says %08llx size %lld", p, crc,
                 (unsigned long long)size, (long long)json_integer_value(want_crc),
                 (long long)json_integer_value(want_size));
        rc = NZ_ECORRUPT;
    } else {
        rc = snapshot_verify_header(s, p, name, size, err, errlen);
    }
    free(p);
    return rc;
}

int snapshot_verify(const snapshot *s, char *err, size_t errlen) {
    int rc = snapshot_verify_manifest(s, err, errlen);
    if (rc < 0) return rc;
    const json_t *files = json_object_get(s->manifest, "files");
    size_t nfiles = json_array_size(files);
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = snapshot_verify_file(s, files, i, err, errlen)) < 0) return rc;
    if (nfiles < 2) {
        snprintf(err, errlen, "manifest lists %zu files, expected at least 2", nfiles);
        return NZ_ECORRUPT;
    }
    if (s->grf_map && (rc = snapshot_verify_graph(s, err, errlen)) < 0) return rc;
    /* The mapping may differ from what was just read if the file changed. */
    for (uint64_t r = 0; r < s->count; r++) {
        snapshot_chunk c;
        if (snapshot_chunk_get(s, r, &c) < 0) {
            snprintf(err, errlen, "%s: record %llu out of bounds", NZI_CHUNKS,
                     (unsigned long long)r);
            return NZ_ECORRUPT;
        }
    }
    if (s->adj) {
        for (uint64_t i = 0; i < s->count * s->degree; i++) {
            if (s->adj[i] >= s->count && s->adj[i] != GRAPH_EMPTY) {
                snprintf(err, errlen, "%s: edge %llu points outside the index", NZI_GRAPH,
                         (unsigned long long)i);
                return NZ_ECORRUPT;
            }
        }
    }
    return s->lex_map ? lex_verify(&s->lex, err, errlen) : 0;
}
