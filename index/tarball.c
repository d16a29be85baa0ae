/* tarball.c -- see tarball.h. */
#include "tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "atomicio.h"
#include "buf.h"
#include "format.h"
#include "manifest.h"
#include "publish.h"
#include "snapshot.h"
#include "status.h"

#define TARBALL_IO (1u << 20)    /* bytes a read or write */
#define TARBALL_SLACK (1u << 20) /* tar headers, padding and the end blocks */

int tarball_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > TARBALL_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int tarball_path_split(const char *path, char folder[TARBALL_NAME_MAX + 1],
                       char file[TARBALL_NAME_MAX + 1]) {
    const char *slash = path ? strchr(path, '/') : NULL;
    if (!slash || (size_t)(slash - path) > TARBALL_NAME_MAX || strlen(slash + 1) > TARBALL_NAME_MAX)
        return NZ_EINVAL;
    memcpy(folder, path, (size_t)(slash - path));
    folder[slash - path] = '\0';
    strcpy(file, slash + 1);
    if (!tarball_name_ok(folder) || !tarball_name_ok(file) ||
        strncmp(folder, NZI_SNAP_PREFIX, strlen(NZI_SNAP_PREFIX)) != 0)
        return NZ_EINVAL;
    return NZ_OK;
}

/* ---------------------------------------------------------------- export */

/* Add dir/name as folder/name; its CRC32 and size must be the manifest's
 * when want is set. */
static int tarball_add(struct archive *a, const snapshot *s, const char *name,
                       const manifest_file *want, unsigned char *io, char *err, size_t errlen) {
    char *p = NULL, *ep = NULL;
    struct archive_entry *e = archive_entry_new();
    int rc = NZ_ENOMEM, fd = -1;
    if (!e || asprintf(&p, "%s/%s", s->dir, name) < 0 ||
        asprintf(&ep, "%s/%s", s->name, name) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EIO;
    struct stat st;
    if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
        goto fail;
    }
    uint64_t size = want ? want->size : (uint64_t)st.st_size;
    archive_entry_set_pathname(e, ep);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, (time_t)s->created, 0);
    archive_entry_set_size(e, (la_int64_t)size);
    if (archive_write_header(a, e) != ARCHIVE_OK) goto archive_fail;
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, io, TARBALL_IO);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            goto fail;
        }
        if (n == 0 || total + (uint64_t)n > size) break;
        crc = crc32(crc, io, (uInt)n);
        total += (uint64_t)n;
        if (archive_write_data(a, io, (size_t)n) != n) goto archive_fail;
    }
    rc = NZ_ECORRUPT;
    if (total != size || (want && crc != want->crc)) {
        snprintf(err, errlen, "%s: size %llu CRC32 %08lx, the manifest says %llu %08lx", p,
                 (unsigned long long)total, (unsigned long)crc, (unsigned long long)size,
                 want ? want->crc : 0ul);
        goto fail;
    }
    rc = NZ_OK;
    goto fail;
archive_fail:
    snprintf(err, errlen, "%s: %s", ep, archive_error_string(a));
fail:
    if (fd >= 0) close(fd);
    archive_entry_free(e);
    free(p);
    free(ep);
    return rc;
}

/* The manifest's files list, checked: names fit for a tarball, sizes and
 * CRCs integers. NZ_OK or NZ_ECORRUPT. */
static int tarball_files(const json_t *m, manifest_file *f, int *nf, char *err, size_t errlen) {
    size_t i;
    json_t *j;
    *nf = 0;
    json_array_foreach(json_object_get(m, "files"), i, j) {
        const char *name = json_string_value(json_object_get(j, "name"));
        json_int_t size = json_integer_value(json_object_get(j, "size"));
        json_t *crc = json_object_get(j, "crc32");
        if (*nf == MANIFEST_MAX_FILES || !name || !tarball_name_ok(name) ||
            !strcmp(name, NZI_MANIFEST) || size < 0 || !json_is_integer(crc)) {
            snprintf(err, errlen, "%s: files entry %zu is malformed or one too many", NZI_MANIFEST,
                     i);
            return NZ_ECORRUPT;
        }
        for (int k = 0; k < *nf; k++) {
            if (!strcmp(f[k].name, name)) {
                snprintf(err, errlen, "%s: %s listed twice", NZI_MANIFEST, name);
                return NZ_ECORRUPT;
            }
        }
        f[*nf] = (manifest_file){name, (uint64_t)size, (unsigned long)json_integer_value(crc)};
        (*nf)++;
    }
    return NZ_OK;
}

int tarball_export(const char *path, const char *out, tarball_result *res, char *err,
                   size_t errlen) {
    snapshot *s = snapshot_open(path, err, errlen);
    struct archive *a = NULL;
    unsigned char *io = NULL;
    out_stream os = {0};
    manifest_file f[MANIFEST_MAX_FILES];
    int nf = 0, rc = NZ_ECORRUPT, opened = 0;
    memset(res, 0, sizeof *res);
    if (!s) goto fail;
    if (!tarball_name_ok(s->name) || tarball_files(s->manifest, f, &nf, err, errlen) < 0) {
        if (!tarball_name_ok(s->name)) snprintf(err, errlen, "%s: not a snapshot name", s->name);
        goto fail;
    }
    rc = NZ_ENOMEM;
    if (!(io = malloc(TARBALL_IO)) || !(a = archive_write_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EIO;
    if (out_open(&os, out) < 0) {
        snprintf(err, errlen, "%s: %s", out, strerror(errno));
        goto fail;
    }
    opened = 1;
    /* pax_restricted: plain ustar headers unless a size or name needs more;
     * gzip without its timestamp, at level 1: float32 rows hardly compress
     * (on 100k rows of dim 1536, level 6 saved 0.3% more and took a third
     * longer); no padding past the end blocks */
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "compression-level", "1") != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_FILE(a, os.fp) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: %s", out, archive_error_string(a));
        goto fail;
    }
    if ((rc = tarball_add(a, s, NZI_MANIFEST, NULL, io, err, errlen)) < 0) goto fail;
    for (int i = 0; i < nf; i++) {
        if ((rc = tarball_add(a, s, f[i].name, &f[i], io, err, errlen)) < 0) goto fail;
        res->bytes += f[i].size;
    }
    rc = NZ_EIO;
    if (archive_write_close(a) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: %s", out, archive_error_string(a));
        goto fail;
    }
    if (out_finish(&os) < 0) {
        opened = 0;
        snprintf(err, errlen, "%s: %s", out, strerror(errno));
        goto fail;
    }
    opened = 0;
    snprintf(res->snapshot, sizeof res->snapshot, "%s", s->name);
    res->count = s->count;
    res->files = nf + 1;
    rc = NZ_OK;
fail:
    if (a) archive_write_free(a);
    if (opened) out_abort(&os);
    free(io);
    snapshot_close(s);
    return rc;
}

/* ---------------------------------------------------------------- import */

/* The gzip stream, inflated by zlib (which checks the trailer's CRC32 and
 * length) and handed to libarchive's tar reader; at most cap bytes. */
typedef struct tar_src {
    int fd;
    z_stream z;
    int z_init, ended;
    unsigned char *in, *out;
    uint64_t total, cap;
    int rc; /* why a read failed */
} tar_src;

static la_ssize_t tar_src_read(struct archive *a, void *p, const void **outp) {
    tar_src *t = p;
    const char *why = NULL;
    if (t->ended) return 0;
    t->z.next_out = t->out;
    t->z.avail_out = TARBALL_IO;
    while (t->z.avail_out == TARBALL_IO) {
        if (t->z.avail_in == 0) {
            ssize_t n = read(t->fd, t->in, TARBALL_IO);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                t->rc = n < 0 ? NZ_EIO : NZ_ECORRUPT;
                why = n < 0 ? strerror(errno) : "truncated: the gzip stream ends early";
                goto fail;
            }
            t->z.next_in = t->in;
            t->z.avail_in = (uInt)n;
        }
        int zr = inflate(&t->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            t->ended = 1;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            t->rc = zr == Z_MEM_ERROR ? NZ_ENOMEM : NZ_ECORRUPT;
            why = t->z.msg ? t->z.msg : "not a gzip stream";
            goto fail;
        }
    }
    size_t n = TARBALL_IO - t->z.avail_out;
    t->total += n;
    if (t->total > t->cap) {
        t->rc = NZ_ELIMIT;
        why = "more data than the manifest's files";
        goto fail;
    }
    *outp = t->out;
    return (la_ssize_t)n;
fail:
    archive_set_error(a, EINVAL, "gzip: %s", why);
    return ARCHIVE_FATAL;
}

/* One import in progress. */
typedef struct tar_in {
    struct archive *a;
    tar_src src;
    index_root ir;
    char *name, *tmpdir;
    int dirfd;
    unsigned char *io;
    char folder[TARBALL_NAME_MAX + 1];
    json_t *manifest;
    manifest_file f[MANIFEST_MAX_FILES];
    int nf, seen[MANIFEST_MAX_FILES];
    uint64_t count;
} tar_in;

/* The current entry's data into tmpdir/file: exactly size bytes. */
static int tar_write(tar_in *t, const char *file, uint64_t size, char *err, size_t errlen) {
    int fd = openat(t->dirfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int rc = NZ_EIO;
    uint64_t written = 0;
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NZ_EIO;
    }
    for (;;) {
        la_ssize_t n = archive_read_data(t->a, t->io, TARBALL_IO);
        if (n < 0) {
            rc = t->src.rc < 0 ? t->src.rc : NZ_ECORRUPT;
            snprintf(err, errlen, "%s: %s", file, archive_error_string(t->a));
            goto fail;
        }
        if (n == 0) break;
        if (written + (uint64_t)n > size) {
            rc = NZ_ELIMIT;
            snprintf(err, errlen, "%s: larger than the %llu bytes allowed", file,
                     (unsigned long long)size);
            goto fail;
        }
        for (la_ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, t->io + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                snprintf(err, errlen, "%s: %s", file, strerror(errno));
                goto fail;
            }
            off += w;
        }
        written += (uint64_t)n;
    }
    if (written != size) {
        rc = NZ_ECORRUPT;
        snprintf(err, errlen, "%s: %llu bytes, the manifest says %llu", file,
                 (unsigned long long)written, (unsigned long long)size);
        goto fail;
    }
    if (fsync(fd) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", file, strerror(errno));
        goto fail;
    }
    rc = NZ_OK;
fail:
    if (close(fd) < 0 && rc == NZ_OK) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        rc = NZ_EIO;
    }
    return rc;
}

/* The build directory renamed .tmp-FOLDER: the snapshot keeps its name
 * (verify checks the manifest's against it). The root is ours (locked). */
static int tar_stage(tar_in *t, char *err, size_t errlen) {
    char *stage = NULL, *name = strdup(t->folder);
    if (!name || asprintf(&stage, "%s/%s%s", t->ir.root, NZI_TMP_PREFIX, t->folder) < 0) {
        free(name);
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    if (rename(t->tmpdir, stage) < 0) {
        snprintf(err, errlen, "rename %s: %s", t->tmpdir, strerror(errno));
        free(stage);
        free(name);
        return NZ_EIO;
    }
    free(t->tmpdir);
    free(t->name);
    t->tmpdir = stage;
    t->name = name;
    if (fsync_path(t->ir.root) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", t->ir.root, strerror(errno));
        return NZ_EIO;
    }
    return NZ_OK;
}

/* The first entry, MANIFEST.json: written, read back and checked; the
 * files it lists become the only entries allowed, and their sizes the
 * bound of the whole input. */
static int tar_manifest(tar_in *t, const char *file, uint64_t size, char *err, size_t errlen) {
    if (strcmp(file, NZI_MANIFEST) != 0) {
        snprintf(err, errlen, "the first entry must be %s/%s, not %s", t->folder, NZI_MANIFEST,
                 file);
        return NZ_EINVAL;
    }
    if (size > TARBALL_MAX_MANIFEST) {
        snprintf(err, errlen, "%s: %llu bytes, at most %u allowed", file, (unsigned long long)size,
                 TARBALL_MAX_MANIFEST);
        return NZ_ELIMIT;
    }
    int rc = tar_stage(t, err, errlen);
    if (rc < 0) return rc;
    rc = tar_write(t, file, size, err, errlen);
    if (rc < 0) return rc;
    manifest_info mi;
    if (!(t->manifest = manifest_read(t->tmpdir, &mi, err, errlen))) return NZ_ECORRUPT;
    t->count = mi.count;
    if ((rc = tarball_files(t->manifest, t->f, &t->nf, err, errlen)) < 0) return rc;
    uint64_t total = 0;
    for (int i = 0; i < t->nf; i++) {
        if (t->f[i].size > TARBALL_MAX_TOTAL - total) {
            snprintf(err, errlen, "%s: the files add up to more than %llu bytes", NZI_MANIFEST,
                     (unsigned long long)TARBALL_MAX_TOTAL);
            return NZ_ELIMIT;
        }
        total += t->f[i].size;
    }
    t->src.cap = total + TARBALL_MAX_MANIFEST + TARBALL_SLACK;
    return NZ_OK;
}

/* One entry: checked, then written. */
static int tar_entry(tar_in *t, struct archive_entry *e, int first, char *err, size_t errlen) {
    const char *path = archive_entry_pathname(e);
    char folder[TARBALL_NAME_MAX + 1], file[TARBALL_NAME_MAX + 1];
    if (!path) path = "";
    if (archive_entry_hardlink(e) || archive_entry_symlink(e) ||
        archive_entry_filetype(e) != AE_IFREG) {
        snprintf(err, errlen, "%.200s: not a regular file (a link, device or folder)", path);
        return NZ_EINVAL;
    }
    if (tarball_path_split(path, folder, file) < 0) {
        snprintf(err, errlen, "%.200s: not SNAPSHOT/FILE (snap-NAME/[A-Za-z0-9._-]+)", path);
        return NZ_EINVAL;
    }
    if (first) {
        memcpy(t->folder, folder, sizeof folder);
    } else if (strcmp(folder, t->folder) != 0) {
        snprintf(err, errlen, "%.200s: outside the snapshot folder %s", path, t->folder);
        return NZ_EINVAL;
    }
    uint64_t size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
    if (first) return tar_manifest(t, file, size, err, errlen);
    int i = 0;
    while (i < t->nf && strcmp(t->f[i].name, file) != 0) i++;
    if (i == t->nf || t->seen[i]) {
        snprintf(err, errlen, "%.200s: %s", path,
                 i == t->nf ? "a file the manifest does not list" : "a second copy");
        return NZ_EINVAL;
    }
    t->seen[i] = 1;
    if (!archive_entry_size_is_set(e) || size != t->f[i].size) {
        snprintf(err, errlen, "%.200s: %llu bytes, the manifest says %llu", path,
                 (unsigned long long)size, (unsigned long long)t->f[i].size);
        return NZ_ELIMIT;
    }
    return tar_write(t, file, size, err, errlen);
}

/* Every entry, then the end of the gzip stream and nothing after it. */
static int tar_entries(tar_in *t, char *err, size_t errlen) {
    struct archive_entry *e;
    int n = 0, rc;
    for (;; n++) {
        int r = archive_read_next_header(t->a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) {
            snprintf(err, errlen, "entry %d: %s", n + 1, archive_error_string(t->a));
            return t->src.rc < 0 ? t->src.rc : NZ_ECORRUPT;
        }
        if ((rc = tar_entry(t, e, n == 0, err, errlen)) < 0) return rc;
    }
    if (n == 0) {
        snprintf(err, errlen, "an empty archive");
        return NZ_EINVAL;
    }
    for (int i = 0; i < t->nf; i++) {
        if (!t->seen[i]) {
            snprintf(err, errlen, "%s/%s is missing", t->folder, t->f[i].name);
            return NZ_EINVAL;
        }
    }
    const void *p;
    la_ssize_t got;
    while ((got = tar_src_read(t->a, &t->src, &p)) > 0) {
    }
    ssize_t more = t->src.z.avail_in ? 1 : 0;
    if (got == 0 && !more) more = read(t->src.fd, t->io, 1);
    if (got < 0 || more != 0) {
        snprintf(err, errlen, "%s",
                 got < 0 ? archive_error_string(t->a) : "bytes after the end of the gzip stream");
        return got < 0 ? t->src.rc : NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* Open the input, the gzip stream and libarchive's tar reader. */
static int tar_open(tar_in *t, const char *in, char *err, size_t errlen) {
    t->src.fd = strcmp(in, "-") == 0 ? STDIN_FILENO : open(in, O_RDONLY | O_CLOEXEC);
    if (t->src.fd < 0) {
        snprintf(err, errlen, "%s: %s", in, strerror(errno));
        return NZ_EIO;
    }
    t->src.cap = TARBALL_MAX_MANIFEST + TARBALL_SLACK; /* until the manifest is read */
    if (!(t->src.in = malloc(TARBALL_IO)) || !(t->src.out = malloc(TARBALL_IO)) ||
        !(t->io = malloc(TARBALL_IO)) || !(t->a = archive_read_new())) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    if (inflateInit2(&t->src.z, 16 + MAX_WBITS) != Z_OK) { /* 16: the gzip wrapper */
        snprintf(err, errlen, "zlib: out of memory");
        return NZ_ENOMEM;
    }
    t->src.z_init = 1;
    if (archive_read_support_format_tar(t->a) != ARCHIVE_OK ||
        archive_read_open(t->a, &t->src, NULL, tar_src_read, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: %s", in, archive_error_string(t->a));
        return t->src.rc < 0 ? t->src.rc : NZ_ECORRUPT;
    }
    return NZ_OK;
}

/* The extracted snapshot verified (every CRC32), then published. */
static int tar_publish(tar_in *t, char *err, size_t errlen) {
    snapshot *s = snapshot_open(t->tmpdir, err, errlen);
    if (!s) return NZ_ECORRUPT;
    int rc = snapshot_verify(s, err, errlen);
    snapshot_close(s);
    if (rc < 0) return rc;
    if (fsync(t->dirfd) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", t->tmpdir, strerror(errno));
        return NZ_EIO;
    }
    char *final = NULL;
    if (asprintf(&final, "%s/%s", t->ir.root, t->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    struct stat st;
    int here = lstat(final, &st) == 0;
    if (here) { /* the same snapshot, imported before: it must verify too */
        s = snapshot_open(final, err, errlen);
        rc = s ? snapshot_verify(s, err, errlen) : NZ_ECORRUPT;
        snapshot_close(s);
        if (rc < 0) {
            snprintf(err, errlen, "%s is here but does not verify; remove it to import again",
                     t->name);
        }
    }
    free(final);
    if (rc < 0) return rc;
    if (!here) return root_publish(&t->ir, t->name, t->tmpdir, err, errlen);
    root_discard(t->tmpdir);
    return root_point(&t->ir, t->name, err, errlen);
}

int tarball_import(const char *in, const char *root, tarball_result *res, char *err,
                   size_t errlen) {
    tar_in t = {.ir = {.lock_fd = -1}, .dirfd = -1, .src = {.fd = -1}};
    int rc, published = 0;
    memset(res, 0, sizeof *res);
    if ((rc = root_lock(&t.ir, root, err, errlen)) < 0) goto fail;
    /* we hold the lock: remove what crashed writers left (no snapshot) */
    if ((rc = root_prune(&t.ir, INT_MAX, NULL, err, errlen)) < 0) goto fail;
    if ((rc = root_begin(&t.ir, &t.name, &t.tmpdir, err, errlen)) < 0) goto fail;
    if ((t.dirfd = open(t.tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: %s", t.tmpdir, strerror(errno));
        rc = NZ_EIO;
        goto fail;
    }
    if ((rc = tar_open(&t, in, err, errlen)) < 0 || (rc = tar_entries(&t, err, errlen)) < 0 ||
        (rc = tar_publish(&t, err, errlen)) < 0)
        goto fail;
    published = 1;
    snprintf(res->snapshot, sizeof res->snapshot, "%s", t.name);
    snprintf(res->from, sizeof res->from, "%s", t.folder);
    res->count = t.count;
    res->files = t.nf + 1;
    for (int i = 0; i < t.nf; i++) res->bytes += t.f[i].size;
fail:
    if (t.a) archive_read_free(t.a);
    if (t.src.z_init) inflateEnd(&t.src.z);
    if (t.src.fd > STDIN_FILENO) close(t.src.fd);
    if (t.dirfd >= 0) close(t.dirfd);
    if (!published && t.tmpdir) root_discard(t.tmpdir);
    free(t.src.in);
    free(t.src.out);
    free(t.io);
    free(t.name);
    free(t.tmpdir);
    json_decref(t.manifest);
    root_unlock(&t.ir);
    return rc;
}
