/* builder.c -- see builder.h. */
#include "builder.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "atomicio.h"
#include "kernels.h"

#include <fcntl.h>
#include <sys/mman.h>

/* A file being written: header placeholder, then a CRC'd body. */
typedef struct builder_file {
    FILE *fp;
    char *path;
    uLong body_crc;
    uint64_t pos; /* bytes written, header included */
    uLong crc;    /* of the whole file, after finish */
} builder_file;

struct index_builder {
    char *dir;
    builder_file vec, chk, cod;
    int graph;
    graph_params gp;
    volatile sig_atomic_t *stop;
    progress *prog;
    unsigned char *code; /* scratch: one codes.bin row, stride bytes */
    size_t stride;
    uint32_t dim;
    uint64_t count;
    uint64_t *offsets; /* blob offset of each record */
    size_t offsets_cap;
    float *row; /* scratch for normalising */
    int failed;
};

static int builder_file_open(builder_file *f, const char *dir, const char *name) {
    if (asprintf(&f->path, "%s/%s", dir, name) < 0) {
        f->path = NULL;
        return -1;
    }
    f->fp = fopen(f->path, "wbx");
    if (!f->fp) return -1;
    setvbuf(f->fp, NULL, _IOFBF, 1 << 20);
    static const char zero[sizeof(nzi_header)];
    if (fwrite(zero, 1, sizeof zero, f->fp) != sizeof zero) return -1;
    f->pos = sizeof zero;
    f->body_crc = crc32(0L, Z_NULL, 0);
    return 0;
}

static int builder_file_write(builder_file *f, const void *data, size_t len) {
    if (len && fwrite(data, 1, len, f->fp) != len) return -1;
    const unsigned char *p = data;
    size_t left = len;
    while (left) { /* zlib takes uInt lengths */
        uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
        f->body_crc = crc32(f->body_crc, p, n);
        p += n;
        left -= n;
    }
    f->pos += len;
    return 0;
}

static int builder_file_pad(builder_file *f) {
    static const char zero[NZI_ALIGN];
    size_t pad = (size_t)(nzi_align_up(f->pos) - f->pos);
    return builder_file_write(f, zero, pad);
}

/* Write the header in place, flush, fsync, close; computes f->crc. */
static int builder_file_finish(builder_file *f, nzi_header *h) {
    h->file_size = f->pos;
    if (fflush(f->fp) != 0 || fseeko(f->fp, 0, SEEK_SET) != 0 ||
        fwrite(h, 1, sizeof *h, f->fp) != sizeof *h || fflush(f->fp) != 0 ||
        fsync(fileno(f->fp)) != 0)
        return -1;
    int rc = fclose(f->fp);
    f->fp = NULL;
    if (rc != 0) return -1;
    uLong hcrc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)h, sizeof *h);
    f->crc = crc32_combine(hcrc, f->body_crc, (z_off_t)(f->pos - sizeof *h));
    return 0;
}

static void builder_file_close(builder_file *f) {
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    free(f->path);
    f->path = NULL;
}

index_builder *builder_open(const char *dir, char *err, size_t errlen) {
    index_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->dir = strdup(dir))) {
        snprintf(err, errlen, "out of memory");
        free(b);
        return NULL;
    }
    if (builder_file_open(&b->vec, dir, NZI_VECTORS) < 0 ||
        builder_file_open(&b->chk, dir, NZI_CHUNKS) < 0) {
        snprintf(err, errlen, "%s: cannot create index files: %s", dir, strerror(errno));
        builder_free(b);
        return NULL;
    }
    return b;
}

int builder_set_graph(index_builder *b, const graph_params *p, volatile sig_atomic_t *stop,
                      progress *prog) {
    if (b->count || b->graph) return -1; /* before the first row, once */
    if (builder_file_open(&b->cod, b->dir, NZI_CODES) < 0) return -1;
    b->graph = 1;
    b->gp = *p;
    b->stop = stop;
    b->prog = prog;
    return 0;
}

uint64_t builder_count(const index_builder *b) { return b->count; }
uint32_t builder_dim(const index_builder *b) { return b->dim; }

int builder_add(index_builder *b, const float *v, uint32_t dim, const builder_meta *m, char *err,
                size_t errlen) {
    if (b->failed) return -2;
    if (b->count >= UINT32_MAX - 1) {
        snprintf(err, errlen, "index is full (%u rows)", UINT32_MAX - 1);
        return -1;
    }
    if (b->dim == 0) {
        if (dim == 0 || dim > 65536) {
            snprintf(err, errlen, "dimension %u out of range", dim);
            return -1;
        }
        b->dim = dim;
        b->stride = (size_t)nzi_code_stride(dim);
        if (!(b->row = malloc(dim * sizeof *b->row)) || !(b->code = calloc(1, b->stride))) {
            snprintf(err, errlen, "out of memory");
            return -2;
        }
    } else if (dim != b->dim) {
        snprintf(err, errlen, "dimension %u differs from the index's %u", dim, b->dim);
        return -1;
    }
    for (uint32_t i = 0; i < dim; i++) {
        if (!isfinite(v[i])) {
            snprintf(err, errlen, "vector has a non-finite value at %u", i);
            return -1;
        }
    }
    memcpy(b->row, v, dim * sizeof *v);
    if (kern_normalise(b->row, dim) == 0) {
        snprintf(err, errlen, "vector is all zeros");
        return -1;
    }
    if (b->count + 1 >= b->offsets_cap) {
        size_t cap = b->offsets_cap ? b->offsets_cap * 2 : 4096;
        uint64_t *no = realloc(b->offsets, cap * sizeof *no);
        if (!no) {
            snprintf(err, errlen, "out of memory");
            return -2;
        }
        b->offsets = no;
        b->offsets_cap = cap;
    }
    uint64_t blob_pos = b->chk.pos - sizeof(nzi_header);
    if (builder_file_write(&b->vec, b->row, dim * sizeof(float)) < 0) goto ioerr;
    if (b->graph) {
        float sc = kern_quantise(b->row, dim, (int8_t *)b->code);
        memcpy(b->code + nzi_code_scale_off(dim), &sc, sizeof sc);
        if (builder_file_write(&b->cod, b->code, b->stride) < 0) goto ioerr;
    }
    if (builder_file_write(&b->chk, &m->page, 4) < 0) goto ioerr;
    for (int f = 0; f < NZI_NFIELDS; f++) {
        const char *s = m->f[f] ? m->f[f] : "";
        size_t n = strlen(s);
        if (n > UINT32_MAX) n = UINT32_MAX;
        uint32_t n32 = (uint32_t)n;
        if (builder_file_write(&b->chk, &n32, 4) < 0 || builder_file_write(&b->chk, s, n) < 0)
            goto ioerr;
    }
    b->offsets[b->count++] = blob_pos;
    return 0;
ioerr:
    b->failed = 1;
    snprintf(err, errlen, "write error: %s", strerror(errno));
    return -2;
}

static json_t *builder_file_entry(const builder_file *f, const char *name) {
    return json_pack("{s:s,s:I,s:I}", "name", name, "size", (json_int_t)f->pos, "crc32",
                     (json_int_t)f->crc);
}

/* codes.bin is complete: map it back, build the graph, write graph.bin.
 * -1 on error (err set), -2 when stopped. */
static int builder_finish_graph(index_builder *b, builder_file *grf, json_t *manifest, char *err,
                                size_t errlen) {
    int rc = -1;
    uint32_t *adj = NULL;
    void *map = MAP_FAILED;
    size_t map_len = 0;
    nzi_header h = {.version = NZI_FORMAT_VERSION,
                    .header_size = sizeof(nzi_header),
                    .count = b->count,
                    .dim = b->dim,
                    .data_off = sizeof(nzi_header),
                    .data_len = b->count * b->stride};
    memcpy(h.magic, NZI_MAGIC_CODES, 8);
    if (builder_file_finish(&b->cod, &h) < 0) goto ioerr;
    int fd = open(b->cod.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto ioerr;
    map_len = (size_t)b->cod.pos;
    map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) goto ioerr;
    graph_codes gc = {.codes = (const int8_t *)((const char *)map + h.data_off),
                      .stride = b->stride,
                      .scale_off = (size_t)nzi_code_scale_off(b->dim),
                      .n = b->count,
                      .dim = b->dim};
    if (b->count > SIZE_MAX / sizeof *adj / b->gp.degree ||
        !(adj = malloc((size_t)b->count * b->gp.degree * sizeof *adj))) {
        snprintf(err, errlen, "out of memory for %llu x %u edges", (unsigned long long)b->count,
                 b->gp.degree);
        goto out;
    }
    uint32_t entry = 0;
    if (b->prog) progress_start(b->prog, "index graph", b->count);
    int grc = graph_build(&gc, &b->gp, adj, &entry, b->stop, b->prog, err, errlen);
    if (b->prog) progress_finish(b->prog);
    if (grc < 0) {
        rc = grc;
        if (grc == -2) snprintf(err, errlen, "stopped");
        goto out;
    }
    if (builder_file_open(grf, b->dir, NZI_GRAPH) < 0) goto ioerr;
    nzi_graph_meta gm = {.entry = entry,
                         .degree = b->gp.degree,
                         .build_ef = b->gp.build_ef,
                         .alpha = b->gp.alpha,
                         .seed = b->gp.seed};
    nzi_header gh = {.version = NZI_FORMAT_VERSION,
                     .header_size = sizeof(nzi_header),
                     .count = b->count,
                     .dim = b->gp.degree,
                     .table_off = sizeof(nzi_header),
                     .data_off = sizeof(nzi_header) + sizeof gm,
                     .data_len = b->count * b->gp.degree * sizeof *adj};
    memcpy(gh.magic, NZI_MAGIC_GRAPH, 8);
    if (builder_file_write(grf, &gm, sizeof gm) < 0 ||
        builder_file_write(grf, adj, gh.data_len) < 0 || builder_file_finish(grf, &gh) < 0)
        goto ioerr;
    json_t *ix = json_object_get(manifest, "index");
    if (json_is_object(ix)) {
        json_object_set_new(ix, "kind", json_string("vamana"));
        json_object_set_new(ix, "degree", json_integer(b->gp.degree));
        json_object_set_new(ix, "build_ef", json_integer(b->gp.build_ef));
        json_object_set_new(ix, "alpha", json_real(round(b->gp.alpha * 1000) / 1000));
        json_object_set_new(ix, "seed", json_integer((json_int_t)b->gp.seed));
        json_object_set_new(ix, "entry", json_integer(entry));
        json_object_set_new(ix, "quantisation", json_string("int8 per row"));
    }
    rc = 0;
    goto out;
ioerr:
    snprintf(err, errlen, "write error in %s: %s", b->dir, strerror(errno));
    b->failed = 1;
out:
    if (map != MAP_FAILED) munmap(map, map_len);
    free(adj);
    return rc;
}

int builder_finish(index_builder *b, json_t *manifest, char *err, size_t errlen) {
    char *mpath = NULL;
    if (b->failed) {
        snprintf(err, errlen, "earlier write error");
        return -1;
    }
    if (b->count == 0) {
        snprintf(err, errlen, "no vectors to index");
        return -1;
    }
    /* vectors.bin */
    nzi_header vh = {.version = NZI_FORMAT_VERSION,
                     .header_size = sizeof(nzi_header),
                     .count = b->count,
                     .dim = b->dim,
                     .flags = NZI_FLAG_NORMALISED,
                     .data_off = sizeof(nzi_header),
                     .data_len = b->count * b->dim * sizeof(float)};
    memcpy(vh.magic, NZI_MAGIC_VECTORS, 8);
    if (builder_file_finish(&b->vec, &vh) < 0) goto ioerr;

    /* chunks.bin: blob, padding, offsets table */
    nzi_header ch = {.version = NZI_FORMAT_VERSION,
                     .header_size = sizeof(nzi_header),
                     .count = b->count,
                     .data_off = sizeof(nzi_header),
                     .data_len = b->chk.pos - sizeof(nzi_header)};
    memcpy(ch.magic, NZI_MAGIC_CHUNKS, 8);
    b->offsets[b->count] = ch.data_len;
    if (builder_file_pad(&b->chk) < 0) goto ioerr;
    ch.table_off = b->chk.pos;
    if (builder_file_write(&b->chk, b->offsets, (b->count + 1) * sizeof(uint64_t)) < 0) goto ioerr;
    if (builder_file_finish(&b->chk, &ch) < 0) goto ioerr;

    builder_file grf = {0};
    if (b->graph) {
        int grc = builder_finish_graph(b, &grf, manifest, err, errlen);
        if (grc < 0) {
            builder_file_close(&grf);
            return grc;
        }
    }

    json_object_set_new(manifest, "dim", json_integer(b->dim));
    json_object_set_new(manifest, "count", json_integer((json_int_t)b->count));
    json_t *files = json_array();
    json_array_append_new(files, builder_file_entry(&b->vec, NZI_VECTORS));
    json_array_append_new(files, builder_file_entry(&b->chk, NZI_CHUNKS));
    if (b->graph) {
        json_array_append_new(files, builder_file_entry(&b->cod, NZI_CODES));
        json_array_append_new(files, builder_file_entry(&grf, NZI_GRAPH));
    }
    builder_file_close(&grf);
    json_object_set_new(manifest, "files", files);
    char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (asprintf(&mpath, "%s/%s", b->dir, NZI_MANIFEST) < 0) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t tlen = strlen(text);
    text[tlen] = '\n';
    int rc = atomic_write_file(mpath, text, tlen + 1);
    free(text);
    free(mpath);
    if (rc < 0) goto ioerr;
    return 0;
ioerr:
    b->failed = 1;
    snprintf(err, errlen, "write error in %s: %s", b->dir, strerror(errno));
    return -1;
}

void builder_free(index_builder *b) {
    if (!b) return;
    builder_file_close(&b->vec);
    builder_file_close(&b->chk);
    builder_file_close(&b->cod);
    free(b->offsets);
    free(b->code);
    free(b->row);
    free(b->dir);
    free(b);
}
