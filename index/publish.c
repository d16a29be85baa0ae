/* publish.c -- see publish.h. */
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicio.h"
#include "format.h"
#include "status.h"

/* `current`'s replacement is made under this name, then renamed over it. */
#define ROOT_LINK_TMP ".current.tmp."

int root_lock(index_root *r, const char *root, char *err, size_t errlen) {
    char *lp = NULL;
    int rc = NZ_ENOMEM;
    r->lock_fd = -1;
    r->root = strdup(root);
    if (!r->root) goto fail;
    if (asprintf(&lp, "%s/%s", root, NZI_LOCK) < 0) {
        lp = NULL;
        goto fail;
    }
    rc = NZ_EIO;
    if (mkdir_p(root, 0755) < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", root, strerror(errno));
        goto fail;
    }
    r->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) {
        snprintf(err, errlen, "%s: %s", lp, strerror(errno));
        goto fail;
    }
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(err, errlen, "%s: another writer holds the lock", root);
            rc = NZ_EBUSY;
        } else {
            snprintf(err, errlen, "%s: cannot lock %s: %s", root, lp, strerror(errno));
        }
        goto fail;
    }
    rc = NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    free(lp);
    if (rc < 0) root_unlock(r);
    return rc;
}

void root_unlock(index_root *r) {
    if (r->lock_fd >= 0) close(r->lock_fd); /* releases the flock */
    r->lock_fd = -1;
    free(r->root);
    r->root = NULL;
}

int root_begin(index_root *r, char **name, char **tmpdir, char *err, size_t errlen) {
    struct timespec ts;
    struct tm tm;
    char stamp[64];
    *name = *tmpdir = NULL;
    for (int attempt = 0; attempt < 100; attempt++) {
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(stamp + n, sizeof stamp - n, ".%09ldZ", ts.tv_nsec);
        char *snap = NULL, *final = NULL;
        if (asprintf(&snap, "%s%s", NZI_SNAP_PREFIX, stamp) < 0) goto oom;
        if (asprintf(tmpdir, "%s/%s%s", r->root, NZI_TMP_PREFIX, snap) < 0) *tmpdir = NULL;
        if (!*tmpdir || asprintf(&final, "%s/%s", r->root, snap) < 0) {
            free(snap);
            goto oom;
        }
        struct stat st;
        if (stat(final, &st) < 0 && mkdir(*tmpdir, 0755) == 0) {
            free(final);
            *name = snap;
            return NZ_OK;
        }
        free(final);
        free(snap);
        free(*tmpdir);
        *tmpdir = NULL;
    }
    snprintf(err, errlen, "%s: cannot create a build directory: %s", r->root, strerror(errno));
    return NZ_EIO;
oom:
    free(*tmpdir);
    *tmpdir = NULL;
    snprintf(err, errlen, "out of memory");
    return NZ_ENOMEM;
}

int root_point(index_root *r, const char *name, char *err, size_t errlen) {
    char *link_tmp = NULL, *cur = NULL;
    int rc = NZ_ENOMEM;
    if (asprintf(&link_tmp, "%s/%s%ld", r->root, ROOT_LINK_TMP, (long)getpid()) < 0)
        link_tmp = NULL;
    if (asprintf(&cur, "%s/%s", r->root, NZI_CURRENT) < 0) cur = NULL;
    if (!link_tmp || !cur) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EIO;
    unlink(link_tmp);
    if (symlink(name, link_tmp) < 0) {
        snprintf(err, errlen, "symlink %s: %s", link_tmp, strerror(errno));
        goto fail;
    }
    if (rename(link_tmp, cur) < 0) {
        snprintf(err, errlen, "rename %s: %s", link_tmp, strerror(errno));
        unlink(link_tmp);
        goto fail;
    }
    if (fsync_path(r->root) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", r->root, strerror(errno));
        goto fail;
    }
    rc = NZ_OK;
fail:
    free(link_tmp);
    free(cur);
    return rc;
}

int root_publish(index_root *r, const char *name, const char *tmpdir, char *err, size_t errlen) {
    char *final = NULL;
    if (asprintf(&final, "%s/%s", r->root, name) < 0) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    int rc = NZ_EIO;
    if (fsync_path(tmpdir) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", tmpdir, strerror(errno));
        goto fail;
    }
    if (rename(tmpdir, final) < 0) {
        snprintf(err, errlen, "rename %s: %s", tmpdir, strerror(errno));
        goto fail;
    }
    if (fsync_path(r->root) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", r->root, strerror(errno));
        goto fail;
    }
    rc = root_point(r, name, err, errlen);
fail:
    free(final);
    return rc;
}

/* Remove a snapshot or build directory: flat, files only. */
static int root_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int dfd = dirfd(d);
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
    return rmdir(dir);
}

void root_discard(const char *tmpdir) {
    if (tmpdir) root_rmdir(tmpdir);
}

char *root_current(const char *root) {
    char *cur = NULL;
    if (asprintf(&cur, "%s/%s", root, NZI_CURRENT) < 0) return NULL;
    char buf[4096];
    ssize_t n = readlink(cur, buf, sizeof buf - 1);
    free(cur);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    const char *base = strrchr(buf, '/');
    return strdup(base ? base + 1 : buf);
}

static int root_cmp_desc(const void *a, const void *b) {
    return -strcmp(*(char *const *)a, *(char *const *)b);
}

int root_prune(index_root *r, int keep, json_t *removed, char *err, size_t errlen) {
    DIR *d = opendir(r->root);
    if (!d) {
        snprintf(err, errlen, "%s: %s", r->root, strerror(errno));
        return NZ_EIO;
    }
    char *current = root_current(r->root);
    char **snaps = NULL;
    size_t n = 0, cap = 0;
    int rc = NZ_ENOMEM;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *p = NULL;
        if (strncmp(e->d_name, NZI_TMP_PREFIX, strlen(NZI_TMP_PREFIX)) == 0 ||
            strncmp(e->d_name, ROOT_LINK_TMP, strlen(ROOT_LINK_TMP)) == 0) {
            /* we hold the lock: any build directory or new `current` link
             * is a crashed writer's */
            if (asprintf(&p, "%s/%s", r->root, e->d_name) >= 0) {
                if (unlink(p) < 0) root_rmdir(p);
                free(p);
            }
            continue;
        }
        if (strncmp(e->d_name, NZI_SNAP_PREFIX, strlen(NZI_SNAP_PREFIX)) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **ns = realloc(snaps, cap * sizeof *ns);
            if (!ns) goto fail;
            snaps = ns;
        }
        if (!(snaps[n] = strdup(e->d_name))) goto fail;
        n++;
    }
    if (n) qsort(snaps, n, sizeof *snaps, root_cmp_desc); /* snaps is NULL when n is 0 */
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        int is_current = current && strcmp(snaps[i], current) == 0;
        if (is_current || kept < keep) {
            kept++;
            continue;
        }
        char *p = NULL;
        if (asprintf(&p, "%s/%s", r->root, snaps[i]) < 0) goto fail;
        if (root_rmdir(p) == 0 && removed) json_array_append_new(removed, json_string(snaps[i]));
        free(p);
    }
    fsync_path(r->root);
    rc = NZ_OK;
fail:
    if (rc == NZ_ENOMEM) snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) free(snaps[i]);
    free(snaps);
    free(current);
    closedir(d);
    return rc;
}
