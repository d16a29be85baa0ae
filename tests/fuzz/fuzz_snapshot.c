/* fuzz_snapshot.c -- libFuzzer target: the snapshot opener and every
 * reader of a mapped snapshot, fed corrupted headers and sections.
 *
 * At start two small valid snapshots are built with the real builder
 * (24 rows of dim 8): one "vamana" (codes.bin, graph.bin of degree 4) and
 * one "flat". Each input picks one and patches its files:
 *
 *   byte 0      flags: bit 0 the flat snapshot; bit 1 after the patches of
 *               the binary files, write MANIFEST.json anew with their real
 *               sizes and CRC32s (manifest_write, as a build does; the
 *               patches of MANIFEST.json then apply to that), so that
 *               snapshot_verify passes its CRC check and goes on to the
 *               records and edges: a self-consistent hostile snapshot, as
 *               a tarball or a store could bring
 *   then patches, each: u8 file (low 3 bits, mod the snapshot's files;
 *               bit 7: resize the file to `off` bytes instead), u16 off
 *               (little-endian, mod the file's size), u8 n (mod 17), n bytes
 *               written at off (cut at the end of the file)
 *
 * The files are written to a directory of this process named as the
 * manifest names the snapshot (a check may compare the two), then opened
 * (snapshot_open), searched (query_run on three vector requests: the
 * graph walk, an exact scan with a doc_id filter, a uri_prefix and lang
 * filter; and a text query when the provider is still "hash"), every
 * record read (snapshot_chunk_get), and verified (snapshot_verify). The
 * oracle besides the sanitizers: an input that patches nothing leaves the
 * base, which must open and verify.
 *
 * "A bad offset must never read outside the map": the mapping of a file
 * is not memory ASan watches, and a read past its end lands in the rest
 * of the page or another mapping without a fault. So this target is
 * linked with -Wl,--wrap=mmap,--wrap=munmap: a read-only mapping of a file
 * is served as an exact-size heap copy, where ASan reports any byte read
 * outside it. The readers only read their maps, so the copy behaves as the
 * mapping would.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "builder.h"
#include "fuzzio.h"
#include "manifest.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"

/* --- mmap as an exact-size heap copy ------------------------------------ */

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

#define FUZZ_MAX_MAPS 64
static void *fuzz_maps[FUZZ_MAX_MAPS];

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (addr || prot != PROT_READ || fd < 0 || len == 0)
        return __real_mmap(addr, len, prot, flags, fd, off);
    int slot = 0;
    while (slot < FUZZ_MAX_MAPS && fuzz_maps[slot]) slot++;
    if (slot == FUZZ_MAX_MAPS) abort(); /* a reader leaks its maps */
    void *p = NULL;
    if (posix_memalign(&p, 4096, len) != 0) return MAP_FAILED;
    size_t done = 0;
    while (done < len) { /* past the end of the file a mapping reads zeros */
        ssize_t n = pread(fd, (char *)p + done, len - done, off + (off_t)done);
        if (n <= 0) break;
        done += (size_t)n;
    }
    memset((char *)p + done, 0, len - done);
    fuzz_maps[slot] = p;
    return p;
}

int __wrap_munmap(void *addr, size_t len) {
    for (int i = 0; i < FUZZ_MAX_MAPS; i++) {
        if (fuzz_maps[i] == addr) {
            fuzz_maps[i] = NULL;
            free(addr);
            return 0;
        }
    }
    return __real_munmap(addr, len);
}

/* --- the base snapshots ------------------------------------------------- */

#define ROWS 24
#define DIM 8
#define NFILES 4

static const char *const file_names[NFILES + 1] = {NZI_MANIFEST, NZI_VECTORS, NZI_CHUNKS, NZI_CODES,
                                                   NZI_GRAPH};

typedef struct base {
    int nfiles; /* MANIFEST.json and the binary files */
    unsigned char *data[NFILES + 1];
    size_t size[NFILES + 1];
    manifest_build mb;
    manifest_index ix;
    graph_params gp;
    char dir[512]; /* named as the manifest names the snapshot; each input's
                      files are written here */
} base;

static base bases[2]; /* vamana, flat */

static void die(const char *what, const char *err) {
    fprintf(stderr, "fuzz-snapshot: %s: %s\n", what, err);
    abort();
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path, "cannot open");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *p = malloc(*len ? *len : 1);
    if (!p || fread(p, 1, *len, f) != *len) die(path, "cannot read");
    fclose(f);
    return p;
}

/* Build one base snapshot and keep its files and how its manifest was
 * made (to write it anew after patches). */
static void base_make(base *b, int flat) {
    char err[512];
    const char *name = flat ? "snap-fuzz-flat" : "snap-fuzz-vamana", *dir = b->dir;
    snprintf(b->dir, sizeof b->dir, "%s/%s", fuzz_dir(), name);
    mkdir(dir, 0755);
    index_builder *ib = builder_open(dir, err, sizeof err);
    if (!ib) die("builder_open", err);
    b->gp = (graph_params){.degree = 4, .build_ef = 8, .alpha = 1.2f, .seed = 1, .threads = 1};
    if (!flat && builder_set_graph(ib, &b->gp, NULL, NULL) != NZ_OK) die("graph", dir);
    uint32_t x = 12345;
    for (int r = 0; r < ROWS; r++) {
        float v[DIM];
        for (int i = 0; i < DIM; i++) {
            x = x * 1103515245u + 12345u;
            v[i] = (float)((x >> 8) & 0xFFFF) / 65536.0f - 0.5f;
        }
        char chunk_id[32], doc_id[32], uri[64], title[32], text[96];
        snprintf(chunk_id, sizeof chunk_id, "c%02d", r);
        snprintf(doc_id, sizeof doc_id, "d%d", r % 4);
        snprintf(uri, sizeof uri, "file:///docs/%s/%d.txt", r % 3 ? "a" : "b", r);
        snprintf(title, sizeof title, "Title %d", r % 4);
        snprintf(text, sizeof text, "row %d: alpha beta gamma %s", r, r % 2 ? "satu dua" : "one");
        builder_meta m = {.page = r % 5};
        m.f[NZI_F_CHUNK_ID] = chunk_id;
        m.f[NZI_F_DOC_ID] = doc_id;
        m.f[NZI_F_URI] = uri;
        m.f[NZI_F_TITLE] = title;
        m.f[NZI_F_HEADING] = r % 2 ? "Heading > Sub" : "";
        m.f[NZI_F_LANG] = r % 2 ? "id" : "en";
        m.f[NZI_F_TEXT] = text;
        if (builder_add(ib, v, DIM, &m, err, sizeof err) != NZ_OK) die("builder_add", err);
    }
    b->mb = (manifest_build){.snapshot = name,
                             .created = 1796136190,
                             .tool = "fuzz-snapshot",
                             .provider = "hash",
                             .model = "nz-hash-v1",
                             .records = ROWS};
    if (builder_finish(ib, &b->mb, err, sizeof err) != NZ_OK) die("builder_finish", err);
    builder_free(ib);
    b->nfiles = flat ? 3 : 5;
    char p[600];
    for (int i = 0; i < b->nfiles; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, file_names[i]);
        b->data[i] = slurp(p, &b->size[i]);
    }
    /* what builder_finish gave manifest_write, to write it again */
    snapshot *s = snapshot_open(dir, err, sizeof err);
    if (!s) die("snapshot_open of a base", err);
    b->ix = (manifest_index){.dim = DIM,
                             .count = ROWS,
                             .graph = flat ? NULL : &b->gp,
                             .entry = s->entry,
                             .nfiles = b->nfiles - 1};
    snapshot_close(s);
    for (int i = 1; i < b->nfiles; i++)
        b->ix.files[i - 1] = (manifest_file){.name = file_names[i], .size = b->size[i]};
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    base_make(&bases[0], 0);
    base_make(&bases[1], 1);
    return 0;
}

/* --- one input ---------------------------------------------------------- */

typedef struct work {
    unsigned char *data[NFILES + 1];
    size_t size[NFILES + 1];
} work;

/* Apply the patches to the binary files (manifest 0) or to MANIFEST.json
 * (manifest 1); returns how many were applied. */
static int apply_patches(work *w, int nfiles, const uint8_t *p, size_t n, int manifest) {
    int applied = 0;
    while (n >= 4) {
        int f = (p[0] & 7) % nfiles, resize = p[0] & 0x80;
        size_t off = (size_t)p[1] | (size_t)p[2] << 8, len = p[3] % 17;
        p += 4;
        n -= 4;
        if (len > n) len = n;
        if ((f == 0) != manifest) {
            /* the other pass's */
        } else if (resize) {
            unsigned char *nd = realloc(w->data[f], off ? off : 1);
            if (!nd) abort();
            if (off > w->size[f]) memset(nd + w->size[f], 0, off - w->size[f]);
            w->data[f] = nd;
            w->size[f] = off;
            applied++;
        } else if (w->size[f]) {
            off %= w->size[f];
            size_t k = len < w->size[f] - off ? len : w->size[f] - off;
            memcpy(w->data[f] + off, p, k);
            applied++;
        }
        p += len;
        n -= len;
    }
    return applied;
}

/* MANIFEST.json anew, as the build writes it (manifest_write), from the
 * binary files' real sizes and CRC32s: into w->data[0]. */
static void fix_manifest(const base *b, work *w, const char *dir) {
    manifest_index ix = b->ix;
    for (int i = 1; i < b->nfiles; i++) {
        ix.files[i - 1].size = w->size[i];
        ix.files[i - 1].crc = crc32(crc32(0L, Z_NULL, 0), w->data[i], (uInt)w->size[i]);
    }
    char err[256], p[600];
    if (manifest_write(dir, &b->mb, &ix, err, sizeof err) != NZ_OK) die("manifest_write", err);
    snprintf(p, sizeof p, "%s/%s", dir, NZI_MANIFEST);
    free(w->data[0]);
    w->data[0] = slurp(p, &w->size[0]);
}

static void write_files(const base *b, const work *w, const char *dir) {
    char p[600];
    for (int i = 0; i < b->nfiles; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, file_names[i]);
        fuzz_write(p, w->data[i], w->size[i]);
    }
}

/* The requests a server would answer on this snapshot. */
static void search_all(const snapshot *s) {
    static const char *const reqs[] = {
        "{\"vector\":[0.1,0.2,-0.3,0.4,0.5,-0.1,0.2,0.3],\"k\":5}",
        "{\"vector\":[1,0,0,0,0,0,0,0],\"k\":30,\"exact\":true,\"filter\":{\"doc_id\":\"d1\"}}",
        ("{\"vector\":[0,0,0,1,0,0,0,-1],\"k\":3,\"ef\":4,"
         "\"filter\":{\"uri_prefix\":\"file:///docs/a\",\"lang\":\"id\"}}"),
        "{\"query\":\"alpha beta satu\",\"k\":4}",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        if (i == 3 && strcmp(s->provider, "hash") != 0) break; /* no network */
        json_t *body = json_loads(reqs[i], 0, NULL);
        query_req q;
        char err[512];
        json_t *answer = NULL;
        if (!body || query_parse(body, NULL, &q, err, sizeof err) != NZ_OK)
            die("query_parse", reqs[i]);
        if (query_run(s, &q, 1, &answer, err, sizeof err) == NZ_OK) {
            char *text = json_dumps(answer, JSON_COMPACT);
            if (!text) abort();
            free(text);
        }
        json_decref(answer);
        query_free(&q);
        json_decref(body);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const base *b = &bases[data[0] & 1];
    int fixup = data[0] & 2;
    work w;
    memset(&w, 0, sizeof w);
    for (int i = 0; i < b->nfiles; i++) {
        w.size[i] = b->size[i];
        if (!(w.data[i] = malloc(b->size[i]))) abort();
        memcpy(w.data[i], b->data[i], b->size[i]);
    }
    const char *dir = b->dir;
    char err[512];
    int binary_patched = apply_patches(&w, b->nfiles, data + 1, size - 1, 0);
    if (fixup) fix_manifest(b, &w, dir);
    int manifest_patched = apply_patches(&w, b->nfiles, data + 1, size - 1, 1);
    write_files(b, &w, dir);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    int pristine = !binary_patched && !manifest_patched; /* the base as built */
    if (!s && pristine) die("a base snapshot does not open", err);
    if (s) {
        search_all(s);
        for (uint64_t r = 0; r < s->count && r < 64; r++) {
            snapshot_chunk c;
            if (snapshot_chunk_get(s, r, &c) == NZ_OK)
                for (int f = 0; f < NZI_NFIELDS; f++)
                    if (c.len[f]) (void)((volatile const char *)c.f[f])[c.len[f] - 1];
        }
        if (snapshot_verify(s, err, sizeof err) != NZ_OK && pristine)
            die("a base snapshot does not verify", err);
        snapshot_close(s);
    }
    for (int i = 0; i < b->nfiles; i++) free(w.data[i]);
    return 0;
}
