/* store.c -- see store.h. */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "atomicio.h"
#include "buf.h"
#include "format.h"
#include "log.h"
#include "manifest.h"
#include "publish.h"
#include "s3.h"
#include "snapshot.h"
#include "status.h"

#define STORE_MANIFEST_MAX (16u << 20)

/* Where one run talks to: the client and the parsed s3:// URL. */
typedef struct store_conn {
    s3_client c;
    char *bucket, *prefix;
    struct timespec t0;
} store_conn;

static int store_connect(store_conn *sc, const char *url, char *err, size_t errlen) {
    memset(sc, 0, sizeof *sc);
    clock_gettime(CLOCK_MONOTONIC, &sc->t0);
    int rc = s3_parse_url(url, &sc->bucket, &sc->prefix, err, errlen);
    return rc < 0 ? rc : s3_open(&sc->c, err, errlen);
}

static void store_disconnect(store_conn *sc) {
    s3_close(&sc->c);
    free(sc->bucket);
    free(sc->prefix);
}

/* PREFIX/snapshots/NAME/FILE, or PREFIX/FILE when name is NULL. */
static const char *store_key(buf *k, const store_conn *sc, const char *name, const char *file) {
    buf_reset(k);
    if (*sc->prefix) buf_printf(k, "%s/", sc->prefix);
    if (name) buf_printf(k, "snapshots/%s/", name);
    buf_adds(k, file);
    return buf_failed(k) ? NULL : buf_str(k);
}

/* What a run did, as the commands print it. */
static json_t *store_report(const store_conn *sc, const char *verb, const char *name, int files) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - sc->t0.tv_sec) + (t1.tv_nsec - sc->t0.tv_nsec) / 1e9;
    double bytes = (double)(sc->c.bytes_up + sc->c.bytes_down);
    return json_pack("{s:s,s:i,s:I,s:I,s:I,s:f,s:f}", verb, name, "files", files, "bytes",
                     (json_int_t)bytes, "requests", (json_int_t)sc->c.requests, "retries",
                     (json_int_t)sc->c.retries, "seconds", secs, "mb_per_s",
                     secs > 0 ? bytes / 1e6 / secs : 0.0);
}

int store_parse_latest(const char *text, size_t len, char **name, unsigned long *crc) {
    *name = NULL;
    json_t *j = json_loadb(text, len, 0, NULL);
    const char *n = json_string_value(json_object_get(j, "snapshot"));
    json_t *c = json_object_get(j, "manifest_crc32");
    int ok = n && *n && n[0] != '.' && !strchr(n, '/') && strlen(n) < 256 && json_is_integer(c) &&
             json_integer_value(c) >= 0 && json_integer_value(c) <= 0xffffffffLL;
    if (ok) {
        *crc = (unsigned long)json_integer_value(c);
        *name = strdup(n);
    }
    json_decref(j);
    return ok ? (*name ? NZ_OK : NZ_ENOMEM) : NZ_EINVAL;
}

int store_push(const char *path, const char *url, json_t **report, char *err, size_t errlen) {
    store_conn sc;
    snapshot *s = NULL;
    buf key = BUF_INIT, file = BUF_INIT;
    char *latest = NULL;
    int rc = store_connect(&sc, url, err, errlen), nfiles = 0;
    *report = NULL;
    if (rc < 0) goto fail;
    rc = NZ_EINVAL;
    if (!(s = snapshot_open(path, err, errlen))) goto fail;
    rc = NZ_ECORRUPT;
    if (snapshot_verify(s, err, errlen) < 0) goto fail;
    /* the data files first, the manifest after them, `latest` last */
    size_t i, n = json_array_size(json_object_get(s->manifest, "files"));
    for (i = 0; i <= n; i++) {
        json_t *f = json_array_get(json_object_get(s->manifest, "files"), i);
        const char *fname = i < n ? json_string_value(json_object_get(f, "name")) : NZI_MANIFEST;
        buf_reset(&file);
        buf_printf(&file, "%s/%s", s->dir, fname);
        rc = NZ_ENOMEM;
        if (buf_failed(&file) || !store_key(&key, &sc, s->name, fname)) goto fail;
        if ((rc = s3_put_file(&sc.c, sc.bucket, key.s, file.s, err, errlen)) < 0) goto fail;
        nfiles++;
    }
    long long crc = snapshot_file_crc(file.s, NULL); /* file: the manifest */
    rc = NZ_EIO;
    if (crc < 0) {
        snprintf(err, errlen, "%s: cannot read", file.s);
        goto fail;
    }
    rc = NZ_ENOMEM;
    json_t *l = json_pack("{s:s,s:I}", "snapshot", s->name, "manifest_crc32", (json_int_t)crc);
    latest = l ? json_dumps(l, JSON_COMPACT) : NULL;
    json_decref(l);
    if (!latest || !store_key(&key, &sc, NULL, STORE_LATEST)) goto fail;
    if ((rc = s3_put(&sc.c, sc.bucket, key.s, latest, strlen(latest), err, errlen)) < 0) goto fail;
    *report = store_report(&sc, "pushed", s->name, nfiles);
    log_info("pushed %s to %s (%d files)", s->name, url, nfiles);
fail:
    free(latest);
    buf_free(&key);
    buf_free(&file);
    snapshot_close(s);
    store_disconnect(&sc);
    return rc;
}

/* 1 when dir holds a snapshot whose every file matches its manifest. */
static int store_have(const char *dir) {
    char err[512];
    snapshot *s = snapshot_open(dir, err, sizeof err);
    int ok = s && snapshot_verify(s, err, sizeof err) == NZ_OK;
    snapshot_close(s);
    return ok;
}

/* Download snapshot `name` into tmpdir and check it. */
static int store_fetch(store_conn *sc, const char *name, unsigned long want_crc, const char *tmpdir,
                       int *nfiles, char *err, size_t errlen) {
    buf key = BUF_INIT, man = BUF_INIT, path = BUF_INIT;
    json_t *m = NULL;
    manifest_info info;
    int rc = NZ_ENOMEM;
    if (!store_key(&key, sc, name, NZI_MANIFEST)) goto fail;
    if ((rc = s3_get(&sc->c, sc->bucket, key.s, STORE_MANIFEST_MAX, &man, err, errlen)) < 0)
        goto fail;
    rc = NZ_ECORRUPT;
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)buf_str(&man), (uInt)man.len);
    if (crc != want_crc) {
        snprintf(err, errlen, "%s: MANIFEST.json has CRC32 %lu, latest says %lu", name, crc,
                 want_crc);
        goto fail;
    }
    buf_printf(&path, "%s/%s", tmpdir, NZI_MANIFEST);
    rc = NZ_EIO;
    if (!buf_failed(&path) && atomic_write_file(path.s, man.s, man.len) < 0) {
        snprintf(err, errlen, "%s: %s", path.s, strerror(errno));
        goto fail;
    }
    rc = NZ_ECORRUPT;
    if (!(m = manifest_read(tmpdir, &info, err, errlen))) goto fail;
    *nfiles = 1;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f) {
        const char *fname = json_string_value(json_object_get(f, "name"));
        json_t *size = json_object_get(f, "size");
        rc = NZ_ECORRUPT;
        if (!fname || !*fname || fname[0] == '.' || strchr(fname, '/') || !json_is_integer(size) ||
            json_integer_value(size) < 0) {
            snprintf(err, errlen, "%s: malformed files entry %zu in its manifest", name, i);
            goto fail;
        }
        buf_reset(&path);
        buf_printf(&path, "%s/%s", tmpdir, fname);
        rc = NZ_ENOMEM;
        if (buf_failed(&path) || !store_key(&key, sc, name, fname)) goto fail;
        rc = s3_get_file(&sc->c, sc->bucket, key.s, (uint64_t)json_integer_value(size), path.s, err,
                         errlen);
        if (rc < 0) goto fail;
        (*nfiles)++;
    }
    rc = NZ_ECORRUPT;
    snapshot *s = snapshot_open(tmpdir, err, errlen);
    if (s && snapshot_verify(s, err, errlen) == NZ_OK) rc = NZ_OK;
    snapshot_close(s);
fail:
    json_decref(m);
    buf_free(&key);
    buf_free(&man);
    buf_free(&path);
    return rc;
}

int store_pull(const char *url, const char *root, json_t **report, char *err, size_t errlen) {
    store_conn sc;
    index_root ir = {.lock_fd = -1};
    buf latest = BUF_INIT, key = BUF_INIT;
    char *name = NULL, *final = NULL, *tmpdir = NULL, *cur = NULL;
    unsigned long crc = 0;
    int made_tmp = 0, nfiles = 0;
    int rc = store_connect(&sc, url, err, errlen);
    *report = NULL;
    if (rc < 0) goto fail;
    rc = NZ_ENOMEM;
    if (!store_key(&key, &sc, NULL, STORE_LATEST)) goto fail;
    if ((rc = s3_get(&sc.c, sc.bucket, key.s, STORE_LATEST_MAX, &latest, err, errlen)) < 0)
        goto fail;
    if ((rc = store_parse_latest(latest.s, latest.len, &name, &crc)) < 0) {
        snprintf(err, errlen, "%s/latest: not a snapshot pointer", url);
        goto fail;
    }
    if ((rc = root_lock(&ir, root, err, errlen)) < 0) goto fail;
    /* we hold the lock: remove crashed builds' and pulls' directories */
    if ((rc = root_prune(&ir, INT_MAX, NULL, err, errlen)) < 0) goto fail;
    rc = NZ_ENOMEM;
    if (asprintf(&final, "%s/%s", ir.root, name) < 0) final = NULL;
    if (asprintf(&tmpdir, "%s/%s%s", ir.root, NZI_TMP_PREFIX, name) < 0) tmpdir = NULL;
    if (!final || !tmpdir) goto fail;
    struct stat st;
    if (stat(final, &st) == 0) {
        rc = NZ_ECORRUPT;
        if (!store_have(final)) {
            snprintf(err, errlen, "%s is here but does not verify; remove it to pull again", name);
            goto fail;
        }
        cur = root_current(ir.root);
        if (!cur || strcmp(cur, name) != 0) {
            /* here but not current: point current at it, nothing to download */
            if ((rc = root_point(&ir, name, err, errlen)) < 0) goto fail;
        }
        rc = NZ_OK;
        *report = store_report(&sc, "pulled", name, 0);
        json_object_set_new(*report, "downloaded", json_false());
        goto fail;
    }
    rc = NZ_EIO;
    if (mkdir(tmpdir, 0755) < 0) {
        snprintf(err, errlen, "%s: %s", tmpdir, strerror(errno));
        goto fail;
    }
    made_tmp = 1;
    if ((rc = store_fetch(&sc, name, crc, tmpdir, &nfiles, err, errlen)) < 0) goto fail;
    if ((rc = root_publish(&ir, name, tmpdir, err, errlen)) < 0) goto fail;
    made_tmp = 0;
    *report = store_report(&sc, "pulled", name, nfiles);
    json_object_set_new(*report, "downloaded", json_true());
    log_info("pulled %s from %s (%d files)", name, url, nfiles);
fail:
    if (made_tmp) root_discard(tmpdir);
    if (rc == NZ_OK && !*report) rc = NZ_ENOMEM;
    free(cur);
    free(name);
    free(final);
    free(tmpdir);
    buf_free(&latest);
    buf_free(&key);
    root_unlock(&ir);
    store_disconnect(&sc);
    return rc;
}
