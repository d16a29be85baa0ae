/* builder.c -- see builder.h. */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "kernels.h"
#include "lex_format.h"
#include "lex_write.h"
#include "status.h"

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
    builder_file vec, chk, cod, lex;
    lex_writer *lw; /* the BM25 index, written at finish (lex_write.h) */
    int graph;
    graph_params gp;
    int incremental; /* builder_set_graph_base: base and base_name set */
    graph_base base;
    const char *base_name;
    uint64_t base_carried; /* base rows in the map: not inserted again */
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
        return NZ_ENOMEM;
    }
    f->fp = fopen(f->path, "wbx");
    if (!f->fp) return NZ_EIO;
    setvbuf(f->fp, NULL, _IOFBF, 1 << 20);
    static const char zero[sizeof(nzi_header)];
    if (fwrite(zero, 1, sizeof zero, f->fp) != sizeof zero) return NZ_EIO;
    f->pos = sizeof zero;
    f->body_crc = crc32(0L, Z_NULL, 0);
    return 0;
}

static int builder_file_write(builder_file *f, const void *data, size_t len) {
    if (len && fwrite(data, 1, len, f->fp) != len) return NZ_EIO;
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
        return NZ_EIO;
    int rc = fclose(f->fp);
    f->fp = NULL;
    if (rc != 0) return NZ_EIO;
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
    if (!(b->lw = lexw_new(NULL))) {
        snprintf(err, errlen, "out of memory");
        builder_free(b);
        return NULL;
    }
    if (builder_file_open(&b->vec, dir, NZI_VECTORS) < 0 ||
        builder_file_open(&b->chk, dir, NZI_CHUNKS) < 0 ||
        builder_file_open(&b->lex, dir, NZI_LEXICAL) < 0) {
        snprintf(err, errlen, "%s: cannot create index files: %s", dir, strerror(errno));
        builder_free(b);
        return NULL;
    }
    return b;
}

int builder_set_graph(index_builder *b, const graph_params *p, volatile sig_atomic_t *stop,
                      progress *prog) {
    if (b->count || b->graph) return NZ_EINVAL; /* before the first row, once */
    if (builder_file_open(&b->cod, b->dir, NZI_CODES) < 0) return NZ_EIO;
    b->graph = 1;
    b->gp = *p;
    b->stop = stop;
    b->prog = prog;
    return NZ_OK;
}

int builder_set_lexical(index_builder *b, const lex_params *p) {
    if (b->count) return NZ_EINVAL;
    lex_writer *lw = lexw_new(p);
    if (!lw) return NZ_ENOMEM;
    lexw_free(b->lw);
    b->lw = lw;
    return NZ_OK;
}

int builder_set_graph_base(index_builder *b, const graph_base *gb, const char *base_name) {
    if (!b->graph || gb->degree != b->gp.degree) return NZ_EINVAL;
    b->incremental = 1;
    b->base = *gb;
    b->base_name = base_name;
    b->base_carried = 0;
    for (uint64_t r = 0; r < gb->count; r++) b->base_carried += gb->map[r] != GRAPH_EMPTY;
    return NZ_OK;
}

uint64_t builder_count(const index_builder *b) { return b->count; }
uint32_t builder_dim(const index_builder *b) { return b->dim; }

/* Room for one more row of dim floats: the first row sets the dim. NZ_OK;
 * NZ_EINVAL (a full index, a dim out of range or unlike the first row's,
 * a non-finite value); NZ_ENOMEM. err set on failure. */
static int builder_check(index_builder *b, const float *v, uint32_t dim, char *err, size_t errlen) {
    if (b->failed) return NZ_EIO;
    if (b->count >= UINT32_MAX - 1) {
        snprintf(err, errlen, "index is full (%u rows)", UINT32_MAX - 1);
        return NZ_EINVAL;
    }
    if (b->dim == 0) {
        if (dim == 0 || dim > 65536) {
            snprintf(err, errlen, "dimension %u out of range", dim);
            return NZ_EINVAL;
        }
        b->dim = dim;
        b->stride = (size_t)nzi_code_stride(dim);
        if (!(b->row = malloc(dim * sizeof *b->row)) || !(b->code = calloc(1, b->stride))) {
            snprintf(err, errlen, "out of memory");
            return NZ_ENOMEM;
        }
    } else if (dim != b->dim) {
        snprintf(err, errlen, "dimension %u differs from the index's %u", dim, b->dim);
        return NZ_EINVAL;
    }
    for (uint32_t i = 0; i < dim; i++) {
        if (!isfinite(v[i])) {
            snprintf(err, errlen, "vector has a non-finite value at %u", i);
            return NZ_EINVAL;
        }
    }
    if (b->count + 1 >= b->offsets_cap) {
        size_t cap = b->offsets_cap ? b->offsets_cap * 2 : 4096;
        uint64_t *no = realloc(b->offsets, cap * sizeof *no);
        if (!no) {
            snprintf(err, errlen, "out of memory");
            return NZ_ENOMEM;
        }
        b->offsets = no;
        b->offsets_cap = cap;
    }
    return NZ_OK;
}

/* Write a checked, normalised row: its vector, its code, its record. */
static int builder_append(index_builder *b, const float *row, const builder_meta *m, char *err,
                          size_t errlen) {
    uint32_t dim = b->dim;
    uint64_t blob_pos = b->chk.pos - sizeof(nzi_header);
    if (builder_file_write(&b->vec, row, dim * sizeof(float)) < 0) goto ioerr;
    if (b->graph) {
        float sc = kern_quantise(row, dim, (int8_t *)b->code);
        memcpy(b->code + nzi_code_scale_off(dim), &sc, sizeof sc);
        if (builder_file_write(&b->cod, b->code, b->stride) < 0) goto ioerr;
    }
    if (builder_file_write(&b->chk, &m->page, 4) < 0) goto ioerr;
    for (int f = 0; f < NZI_NFIELDS; f++) {
        const char *s = m->f[f] ? m->f[f] : "";
        size_t n = m->len ? m->len[f] : strlen(s);
        if (n > UINT32_MAX) n = UINT32_MAX;
        uint32_t n32 = (uint32_t)n;
        if (builder_file_write(&b->chk, &n32, 4) < 0 || builder_file_write(&b->chk, s, n) < 0)
            goto ioerr;
    }
    int rc =
        lexw_add(b->lw, m->f[NZI_F_TEXT] ? m->f[NZI_F_TEXT] : "",
                 m->len ? m->len[NZI_F_TEXT] : (m->f[NZI_F_TEXT] ? strlen(m->f[NZI_F_TEXT]) : 0),
                 m->f[NZI_F_LANG] ? m->f[NZI_F_LANG] : "",
                 m->len ? m->len[NZI_F_LANG] : (m->f[NZI_F_LANG] ? strlen(m->f[NZI_F_LANG]) : 0));
    if (rc < 0) {
        b->failed = 1;
        snprintf(err, errlen, "lexical index: %s", nz_strerror(rc));
        return rc;
    }
    b->offsets[b->count++] = blob_pos;
    return NZ_OK;
ioerr:
    b->failed = 1;
    snprintf(err, errlen, "write error: %s", strerror(errno));
    return NZ_EIO;
}

int builder_add(index_builder *b, const float *v, uint32_t dim, const builder_meta *m, char *err,
                size_t errlen) {
    int rc = builder_check(b, v, dim, err, errlen);
    if (rc < 0) return rc;
    memcpy(b->row, v, dim * sizeof *v);
    if (kern_normalise(b->row, dim) == 0) {
        snprintf(err, errlen, "vector is all zeros");
        return NZ_EINVAL;
    }
    return builder_append(b, b->row, m, err, errlen);
}

int builder_add_normalised(index_builder *b, const float *v, uint32_t dim, const builder_meta *m,
                           char *err, size_t errlen) {
    int rc = builder_check(b, v, dim, err, errlen);
    return rc < 0 ? rc : builder_append(b, v, m, err, errlen);
}

/* The 64-byte header of a file whose first section starts right after it. */
static nzi_header builder_header(const char *magic, uint64_t count, uint32_t dim,
                                 uint64_t data_len) {
    nzi_header h = {.version = NZI_FORMAT_VERSION,
                    .header_size = sizeof(nzi_header),
                    .count = count,
                    .dim = dim,
                    .data_off = sizeof(nzi_header),
                    .data_len = data_len};
    memcpy(h.magic, magic, 8);
    return h;
}

/* A finished file's line in the manifest. */
static void builder_file_entry(manifest_index *ix, const builder_file *f, const char *name) {
    ix->files[ix->nfiles++] = (manifest_file){.name = name, .size = f->pos, .crc = f->crc};
}

/* codes.bin is complete: map it back, build the graph (from scratch or
 * from the base's), write graph.bin and note how in ix. NZ_OK; NZ_ENOMEM,
 * NZ_EIO, NZ_EINVAL or NZ_ESTOPPED with err set. */
static int builder_finish_graph(index_builder *b, builder_file *grf, manifest_index *ix, char *err,
                                size_t errlen) {
    uint32_t *entry = &ix->entry;
    int rc = NZ_EIO;
    uint32_t *adj = NULL;
    void *map = MAP_FAILED;
    size_t map_len = 0;
    nzi_header h = builder_header(NZI_MAGIC_CODES, b->count, b->dim, b->count * b->stride);
    if (builder_file_finish(&b->cod, &h) < 0) goto fail;
    int fd = open(b->cod.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto fail;
    map_len = (size_t)b->cod.pos;
    map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) goto fail;
    graph_codes gc = {.codes = (const int8_t *)((const char *)map + h.data_off),
                      .stride = b->stride,
                      .scale_off = (size_t)nzi_code_scale_off(b->dim),
                      .n = b->count,
                      .dim = b->dim};
    if (b->count > SIZE_MAX / sizeof *adj / b->gp.degree ||
        !(adj = malloc((size_t)b->count * b->gp.degree * sizeof *adj))) {
        snprintf(err, errlen, "out of memory for %llu x %u edges", (unsigned long long)b->count,
                 b->gp.degree);
        rc = NZ_ENOMEM;
        goto fail;
    }
    /* progress counts the rows inserted: all of them, or the new ones */
    if (b->prog) progress_start(b->prog, "index graph", b->count - b->base_carried);
    if (b->incremental) {
        rc = graph_update(&gc, &b->gp, &b->base, adj, entry, &ix->graph_stats, b->stop, b->prog,
                          err, errlen);
        if (ix->graph_stats.kept + ix->graph_stats.repaired) ix->graph_base = b->base_name;
    } else {
        rc = graph_build(&gc, &b->gp, adj, entry, b->stop, b->prog, err, errlen);
    }
    if (b->prog) progress_finish(b->prog);
    if (rc < 0) {
        if (rc == NZ_ESTOPPED) snprintf(err, errlen, "stopped");
        goto fail;
    }
    rc = NZ_EIO;
    if (builder_file_open(grf, b->dir, NZI_GRAPH) < 0) goto fail;
    nzi_graph_meta gm = {.entry = *entry,
                         .degree = b->gp.degree,
                         .build_ef = b->gp.build_ef,
                         .alpha = b->gp.alpha,
                         .seed = b->gp.seed};
    nzi_header gh = builder_header(NZI_MAGIC_GRAPH, b->count, b->gp.degree,
                                   b->count * b->gp.degree * sizeof *adj);
    gh.table_off = sizeof(nzi_header);
    gh.data_off = sizeof(nzi_header) + sizeof gm;
    if (builder_file_write(grf, &gm, sizeof gm) < 0 ||
        builder_file_write(grf, adj, gh.data_len) < 0 || builder_file_finish(grf, &gh) < 0)
        goto fail;
    rc = NZ_OK;
fail:
    if (rc == NZ_EIO) {
        snprintf(err, errlen, "write error in %s: %s", b->dir, strerror(errno));
        b->failed = 1;
    }
    if (map != MAP_FAILED) munmap(map, map_len);
    free(adj);
    return rc;
}

/* vectors.bin and chunks.bin (blob, padding, offsets table): headers
 * written, fsynced, closed. NZ_OK, or NZ_EIO (errno). */
static int builder_finish_rows(index_builder *b) {
    nzi_header vh =
        builder_header(NZI_MAGIC_VECTORS, b->count, b->dim, b->count * b->dim * sizeof(float));
    vh.flags = NZI_FLAG_NORMALISED;
    if (builder_file_finish(&b->vec, &vh) < 0) return NZ_EIO;
    nzi_header ch = builder_header(NZI_MAGIC_CHUNKS, b->count, 0, b->chk.pos - sizeof(nzi_header));
    b->offsets[b->count] = ch.data_len;
    if (builder_file_pad(&b->chk) < 0) return NZ_EIO;
    ch.table_off = b->chk.pos;
    if (builder_file_write(&b->chk, b->offsets, (b->count + 1) * sizeof(uint64_t)) < 0)
        return NZ_EIO;
    return builder_file_finish(&b->chk, &ch);
}

static int builder_lex_emit(const void *data, size_t len, void *ctx) {
    return builder_file_write(ctx, data, len);
}

/* lexical.bin from the rows' texts (lex_write.h). NZ_OK; NZ_EIO (errno),
 * NZ_ENOMEM or NZ_ELIMIT. */
static int builder_finish_lexical(index_builder *b, manifest_index *ix) {
    nzi_header h;
    int rc = lexw_finish(b->lw, builder_lex_emit, &b->lex, &h);
    if (rc < 0) return rc;
    if (builder_file_finish(&b->lex, &h) < 0) return NZ_EIO;
    ix->lex = lexw_params(b->lw);
    ix->lex_terms = lexw_terms(b->lw);
    ix->lex_postings = lexw_postings(b->lw);
    return NZ_OK;
}

int builder_finish(index_builder *b, const manifest_build *mb, char *err, size_t errlen) {
    builder_file grf = {0};
    manifest_index ix = {.dim = b->dim, .count = b->count, .graph = b->graph ? &b->gp : NULL};
    int rc = NZ_EIO;
    if (b->failed) {
        snprintf(err, errlen, "earlier write error");
        goto fail;
    }
    rc = NZ_EINVAL;
    if (b->count == 0) {
        snprintf(err, errlen, "no vectors to index");
        goto fail;
    }
    if (builder_finish_rows(b) < 0) {
        rc = NZ_EIO;
        b->failed = 1;
        snprintf(err, errlen, "write error in %s: %s", b->dir, strerror(errno));
        goto fail;
    }
    if ((rc = builder_finish_lexical(b, &ix)) < 0) {
        b->failed = 1;
        snprintf(err, errlen, "%s in %s/%s: %s", rc == NZ_EIO ? "write error" : "lexical index",
                 b->dir, NZI_LEXICAL, rc == NZ_EIO ? strerror(errno) : nz_strerror(rc));
        goto fail;
    }
    if (b->graph && (rc = builder_finish_graph(b, &grf, &ix, err, errlen)) < 0) goto fail;
    builder_file_entry(&ix, &b->vec, NZI_VECTORS);
    builder_file_entry(&ix, &b->chk, NZI_CHUNKS);
    if (b->graph) {
        builder_file_entry(&ix, &b->cod, NZI_CODES);
        builder_file_entry(&ix, &grf, NZI_GRAPH);
    }
    builder_file_entry(&ix, &b->lex, NZI_LEXICAL);
    rc = manifest_write(b->dir, mb, &ix, err, errlen);
    if (rc == NZ_EIO) b->failed = 1;
fail:
    builder_file_close(&grf);
    return rc;
}

void builder_free(index_builder *b) {
    if (!b) return;
    builder_file_close(&b->vec);
    builder_file_close(&b->chk);
    builder_file_close(&b->cod);
    builder_file_close(&b->lex);
    lexw_free(b->lw);
    free(b->offsets);
    free(b->code);
    free(b->row);
    free(b->dir);
    free(b);
}
