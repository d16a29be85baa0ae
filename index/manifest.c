/* manifest.c -- see manifest.h. */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "atomicio.h"
#include "buf.h"
#include "format.h"
#include "lex_terms.h"
#include "status.h"

/* The self-check's key with its separator, as it ends every manifest. */
#define MANIFEST_SELF_TAIL "\"" MANIFEST_SELF_KEY "\": "

/* "graph": how the graph was made. */
static json_t *manifest_pack_graph(const manifest_index *ix) {
    const graph_stats *st = &ix->graph_stats;
    if (!ix->graph_base) return json_pack("{s:s}", "method", "built");
    return json_pack("{s:s,s:s,s:I,s:I,s:I}", "method", "incremental", "base", ix->graph_base,
                     "kept", (json_int_t)st->kept, "repaired", (json_int_t)st->repaired, "inserted",
                     (json_int_t)st->inserted);
}

/* The "index" object: the kind, and a graph's parameters. */
static json_t *manifest_pack_index(const manifest_index *ix) {
    const graph_params *g = ix->graph;
    if (!g) return json_pack("{s:s}", "kind", "flat");
    /* "o" steals the graph object, also when the pack fails */
    return json_pack(
        "{s:s,s:i,s:i,s:f,s:I,s:i,s:s,s:o}", "kind", "vamana", "degree", (int)g->degree, "build_ef",
        (int)g->build_ef, "alpha", round(g->alpha * 1000) / 1000, "seed", (json_int_t)g->seed,
        "entry", (int)ix->entry, "quantisation", "int8 per row", "graph", manifest_pack_graph(ix));
}

/* The "lexical" object: BM25's parameters and which languages were stemmed. */
static json_t *manifest_pack_lexical(const manifest_index *ix) {
    const lex_params *p = ix->lex;
    json_t *stem = json_array();
    if (stem && (p->stem & LEX_LANG_ID)) json_array_append_new(stem, json_string("id"));
    if (stem && (p->stem & LEX_LANG_EN)) json_array_append_new(stem, json_string("en"));
    return json_pack("{s:s,s:f,s:f,s:o,s:I,s:I}", "kind", "bm25", "k1", round(p->k1 * 1000) / 1000,
                     "b", round(p->b * 1000) / 1000, "stem", stem, "terms",
                     (json_int_t)ix->lex_terms, "postings", (json_int_t)ix->lex_postings);
}

static json_t *manifest_pack_files(const manifest_index *ix) {
    json_t *files = json_array();
    for (int i = 0; files && i < ix->nfiles; i++) {
        const manifest_file *f = &ix->files[i];
        if (json_array_append_new(files, json_pack("{s:s,s:I,s:I}", "name", f->name, "size",
                                                   (json_int_t)f->size, "crc32",
                                                   (json_int_t)f->crc)) < 0) {
            json_decref(files);
            return NULL;
        }
    }
    return files;
}

/* The "build" object: base, carried and dropped only with a base, labels
 * only when given, so a plain build's manifest keeps its keys. */
static json_t *manifest_pack_build(const manifest_build *b) {
    json_t *j =
        json_pack("{s:s,s:f,s:I,s:I}", "tool", b->tool, "seconds", round(b->seconds * 1000) / 1000,
                  "records", (json_int_t)b->records, "rejected", (json_int_t)b->rejected);
    int bad = !j;
    if (j && b->base)
        bad |= json_object_set_new(j, "base", json_string(b->base)) < 0 ||
               json_object_set_new(j, "carried", json_integer((json_int_t)b->carried)) < 0 ||
               json_object_set_new(j, "dropped", json_integer((json_int_t)b->dropped)) < 0;
    if (j && b->labels && json_object_size(b->labels))
        bad |= json_object_set_new(j, "labels", json_deep_copy(b->labels)) < 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *manifest_pack(const manifest_build *b, const manifest_index *ix) {
    char created[32];
    struct tm tm;
    gmtime_r(&b->created, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* "o" steals the two parts, also when the pack fails */
    return json_pack("{s:s,s:i,s:s,s:s,s:I,s:s,s:{s:s,s:s,s:i},s:o,s:o*,s:o,s:i,s:I,s:o}", "format",
                     "nuzantara-index", "format_version", MANIFEST_FORMAT_VERSION, "snapshot",
                     b->snapshot, "created", created, "created_unix", (json_int_t)b->created,
                     "metric", "cosine", "embedding", "provider", b->provider, "model", b->model,
                     "dim", (int)ix->dim, "index", manifest_pack_index(ix), "lexical",
                     ix->lex ? manifest_pack_lexical(ix) : NULL, "build", manifest_pack_build(b),
                     "dim", (int)ix->dim, "count", (json_int_t)ix->count, "files",
                     manifest_pack_files(ix));
}

/* json_dumps's text (it ends "\n}") with the self-check as its last key:
 * the CRC32 of every byte before the key. */
static int manifest_seal(buf *out, const char *text) {
    size_t n = strlen(text);
    if (n < 2 || strcmp(text + n - 2, "\n}") != 0) return NZ_EINVAL;
    buf_add(out, text, n - 2);
    buf_adds(out, ",\n  ");
    if (buf_failed(out)) return buf_failed(out);
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)out->s, (uInt)out->len);
    return buf_printf(out, "%s%lu\n}\n", MANIFEST_SELF_TAIL, crc);
}

int manifest_save(const char *dir, const json_t *m, char *err, size_t errlen) {
    char *text = NULL, *path = NULL;
    buf sealed = BUF_INIT;
    int rc = NZ_ENOMEM;
    if (!(text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) goto fail;
    if (manifest_seal(&sealed, text) < 0) goto fail;
    if (asprintf(&path, "%s/%s", dir, NZI_MANIFEST) < 0) {
        path = NULL;
        goto fail;
    }
    rc = atomic_write_file(path, sealed.s, sealed.len) < 0 ? NZ_EIO : NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    else if (rc == NZ_EIO) snprintf(err, errlen, "write error in %s: %s", dir, strerror(errno));
    free(text);
    free(path);
    buf_free(&sealed);
    return rc;
}

int manifest_write(const char *dir, const manifest_build *b, const manifest_index *ix, char *err,
                   size_t errlen) {
    json_t *m = manifest_pack(b, ix);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    int rc = manifest_save(dir, m, err, errlen);
    json_decref(m);
    return rc;
}

int manifest_check_seal(const char *text, size_t len, char *err, size_t errlen) {
    const size_t klen = strlen(MANIFEST_SELF_TAIL);
    size_t end = len >= 3 ? len - 3 : 0, d = end;
    while (d > 0 && end - d < 10 && text[d - 1] >= '0' && text[d - 1] <= '9') d--;
    if (len < 3 || memcmp(text + end, "\n}\n", 3) != 0 || d == end || d < klen ||
        memcmp(text + d - klen, MANIFEST_SELF_TAIL, klen) != 0) {
        snprintf(err, errlen,
                 "no %s as its last key: damaged, or written before manifests checked "
                 "themselves (rebuild the snapshot with this nz-index)",
                 MANIFEST_SELF_KEY);
        return NZ_ECORRUPT;
    }
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)(d - klen));
    char want[24];
    int n = snprintf(want, sizeof want, "%lu", crc);
    if ((size_t)n != end - d || memcmp(want, text + d, (size_t)n) != 0) {
        snprintf(err, errlen, "%s %.*s, but the bytes before it give %s: damaged",
                 MANIFEST_SELF_KEY, (int)(end - d), text + d, want);
        return NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* The whole file into out, at most MANIFEST_MAX_BYTES. NZ_OK, NZ_EIO
 * (errno), NZ_ELIMIT, NZ_ENOMEM. */
static int manifest_slurp(const char *path, buf *out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NZ_EIO;
    int rc = NZ_OK;
    buf_init(out, MANIFEST_MAX_BYTES);
    for (;;) {
        if ((rc = buf_grow(out, 4096)) < 0) break; /* a manifest is a few KiB */
        ssize_t n = read(fd, out->s + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? NZ_EIO : NZ_OK;
            break;
        }
        out->len += (size_t)n;
        out->s[out->len] = '\0';
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int manifest_label_add(json_t *labels, const char *kv, char *err, size_t errlen) {
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : 0;
    if (klen == 0 || klen > MANIFEST_MAX_LABEL_KEY ||
        strspn(kv, "abcdefghijklmnopqrstuvwxyz"
                   "0123456789_") != klen) {
        snprintf(err, errlen, "--label %.80s: want KEY=VALUE, KEY of [a-z0-9_] (at most %d)", kv,
                 MANIFEST_MAX_LABEL_KEY);
        return NZ_EINVAL;
    }
    char key[MANIFEST_MAX_LABEL_KEY + 1];
    memcpy(key, kv, klen);
    key[klen] = '\0';
    if (json_object_get(labels, key)) {
        snprintf(err, errlen, "--label %s given twice", key);
        return NZ_EINVAL;
    }
    if (json_object_size(labels) >= MANIFEST_MAX_LABELS ||
        strlen(eq + 1) > MANIFEST_MAX_LABEL_VALUE) {
        snprintf(err, errlen, "--label: at most %d labels of at most %d bytes", MANIFEST_MAX_LABELS,
                 MANIFEST_MAX_LABEL_VALUE);
        return NZ_ELIMIT;
    }
    json_t *v = json_string(eq + 1);
    if (!v) {
        snprintf(err, errlen, "--label %s: the value is not valid UTF-8", key);
        return NZ_EINVAL;
    }
    if (json_object_set_new(labels, key, v) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    return NZ_OK;
}

const char *manifest_label(const json_t *m, const char *key) {
    json_t *labels = json_object_get(json_object_get(m, "build"), "labels");
    return json_string_value(json_object_get(labels, key));
}

int manifest_file_size(const json_t *m, const char *name, uint64_t *size) {
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        json_t *sz = json_object_get(f, "size");
        if (n && strcmp(n, name) == 0 && json_is_integer(sz) && json_integer_value(sz) >= 0) {
            *size = (uint64_t)json_integer_value(sz);
            return NZ_OK;
        }
    }
    return NZ_ECORRUPT;
}

/* The meaning a reader relies on, beyond types: non-empty names, and a
 * graph's entry node among the rows. NZ_OK or NZ_ECORRUPT (err set). */
static int manifest_check_meaning(const json_t *m, const manifest_info *info, char *err,
                                  size_t errlen) {
    const char *snap = json_string_value(json_object_get(m, "snapshot"));
    if (!snap || !*snap || !*info->provider || !*info->model) {
        snprintf(err, errlen, "an empty or missing snapshot name, embedding provider or model");
        return NZ_ECORRUPT;
    }
    if (strcmp(info->kind, "vamana") == 0) {
        json_t *e = json_object_get(json_object_get(m, "index"), "entry");
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            (uint64_t)json_integer_value(e) >= info->count) {
            snprintf(err, errlen, "index.entry is not a row of the %llu",
                     (unsigned long long)info->count);
            return NZ_ECORRUPT;
        }
    }
    return NZ_OK;
}

json_t *manifest_read(const char *dir, manifest_info *info, char *err, size_t errlen) {
    char *mp = NULL;
    json_t *m = NULL;
    buf text = BUF_INIT;
    char why[256];
    memset(info, 0, sizeof *info);
    if (asprintf(&mp, "%s/%s", dir, NZI_MANIFEST) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = manifest_slurp(mp, &text);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", mp,
                 rc == NZ_EIO      ? strerror(errno)
                 : rc == NZ_ELIMIT ? "larger than 16 MiB"
                                   : "out of memory");
        goto fail;
    }
    /* no "self_crc32" anywhere: at most a format_version 1 manifest, below */
    info->unsealed =
        !memmem(text.s, text.len, "\"" MANIFEST_SELF_KEY "\"", strlen(MANIFEST_SELF_KEY) + 2);
    if (!info->unsealed && manifest_check_seal(buf_str(&text), text.len, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", mp, why);
        goto fail;
    }
    json_error_t je;
    m = json_loadb(text.s, text.len, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        snprintf(err, errlen, "%s: %s", mp, je.text);
        goto fail;
    }
    json_t *emb = json_object_get(m, "embedding");
    json_int_t ver = json_integer_value(json_object_get(m, "format_version"));
    json_int_t dim = json_integer_value(json_object_get(m, "dim"));
    json_int_t count = json_integer_value(json_object_get(m, "count"));
    info->provider = json_string_value(json_object_get(emb, "provider"));
    info->model = json_string_value(json_object_get(emb, "model"));
    info->metric = json_string_value(json_object_get(m, "metric"));
    info->created = json_number_value(json_object_get(m, "created_unix"));
    if (info->unsealed && ver == MANIFEST_FORMAT_VERSION) {
        snprintf(err, errlen,
                 "%s: format_version %d but no %s as its last key: damaged (rebuild the snapshot)",
                 mp, MANIFEST_FORMAT_VERSION, MANIFEST_SELF_KEY);
        goto fail;
    }
    if (ver != (info->unsealed ? MANIFEST_UNSEALED_VERSION : MANIFEST_FORMAT_VERSION)) {
        snprintf(err, errlen, "%s: format_version %lld, this build reads %d (and %d, unsealed)", mp,
                 (long long)ver, MANIFEST_FORMAT_VERSION, MANIFEST_UNSEALED_VERSION);
        goto fail;
    }
    if (dim < 1 || dim > 65536 || count < 1 || count > UINT32_MAX || !info->provider ||
        !info->model || !info->metric) {
        snprintf(err, errlen, "%s: missing or invalid dim, count or embedding", mp);
        goto fail;
    }
    info->dim = (uint32_t)dim;
    info->count = (uint64_t)count;
    if (manifest_file_size(m, NZI_VECTORS, &info->vectors_size) < 0 ||
        manifest_file_size(m, NZI_CHUNKS, &info->chunks_size) < 0) {
        snprintf(err, errlen, "%s: files list lacks %s or %s", mp, NZI_VECTORS, NZI_CHUNKS);
        goto fail;
    }
    info->kind = json_string_value(json_object_get(json_object_get(m, "index"), "kind"));
    if (!info->kind) info->kind = "flat";
    if (strcmp(info->kind, "vamana") != 0 && strcmp(info->kind, "flat") != 0) {
        snprintf(err, errlen, "%s: index kind \"%.32s\" unknown to this build", mp, info->kind);
        goto fail;
    }
    if (manifest_check_meaning(m, info, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", mp, why);
        goto fail;
    }
    free(mp);
    buf_free(&text);
    return m;
fail:
    json_decref(m);
    free(mp);
    buf_free(&text);
    return NULL;
}
