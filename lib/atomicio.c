/* atomicio.c -- see atomicio.h. */
#include "atomicio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    /* Some filesystems refuse fsync on directories; that is not an error. */
    if (rc < 0 && (errno == EINVAL || errno == EROFS)) rc = 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int fsync_parent(const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    int rc = fsync_path(dirname(copy));
    free(copy);
    return rc;
}

int mkdir_p(const char *path, unsigned mode) {
    char *p = strdup(path);
    if (!p) return -1;
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char saved = p[i];
            p[i] = '\0';
            if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            p[i] = saved;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int atomic_open(atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL; /* never rename over a device */
        return -1;
    }
    char *copy1 = strdup(path), *copy2 = strdup(path);
    if (!copy1 || !copy2) goto err;
    const char *dir = dirname(copy1), *base = basename(copy2);
    if (asprintf(&af->tmp, "%s/.%s.tmp.XXXXXX", dir, base) < 0) {
        af->tmp = NULL;
        goto err;
    }
    af->path = strdup(path);
    if (!af->path) goto err;
    int fd = mkostemp(af->tmp, O_CLOEXEC);
    if (fd < 0) goto err;
    /* mkostemp creates 0600; data files are meant to be shared readable. */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) < 0) {
        close(fd);
        unlink(af->tmp);
        goto err;
    }
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        close(fd);
        unlink(af->tmp);
        goto err;
    }
    free(copy1);
    free(copy2);
    return 0;
err : {
    int saved = errno;
    free(copy1);
    free(copy2);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
    errno = saved;
    return -1;
}
}

int atomic_commit(atomic_file *af) {
    if (!af->fp) {
        errno = EBADF;
        return -1;
    }
    int rc = 0;
    if (fflush(af->fp) != 0 || ferror(af->fp)) rc = -1;
    if (rc == 0 && fsync(fileno(af->fp)) < 0) rc = -1;
    int saved = errno;
    if (fclose(af->fp) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    af->fp = NULL;
    if (rc == 0 && rename(af->tmp, af->path) < 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && fsync_parent(af->path) < 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0) unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
    errno = saved;
    return rc;
}

void atomic_abort(atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp) unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
}

int atomic_write_file(const char *path, const void *data, size_t len) {
    atomic_file af;
    if (atomic_open(&af, path) < 0) return -1;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        int saved = errno;
        atomic_abort(&af);
        errno = saved;
        return -1;
    }
    return atomic_commit(&af);
}

int out_open(out_stream *o, const char *path) {
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->fp = stdout;
        return 0;
    }
    /* A device or FIFO (-o /dev/null, -o /dev/stdout, a named pipe) is
     * written in place: renaming a file over it would destroy it. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return -1;
        }
        o->fp = fopen(path, "w");
        if (!o->fp) return -1;
        o->is_device = 1;
        return 0;
    }
    if (atomic_open(&o->af, path) < 0) return -1;
    o->fp = o->af.fp;
    o->is_file = 1;
    return 0;
}

int out_finish(out_stream *o) {
    if (o->is_device) {
        int rc = fclose(o->fp);
        o->fp = NULL;
        return rc == 0 ? 0 : -1;
    }
    if (o->is_file) {
        o->fp = NULL;
        return atomic_commit(&o->af);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) return -1;
    return 0;
}

void out_abort(out_stream *o) {
    if (o->is_device && o->fp) fclose(o->fp);
    if (o->is_file) atomic_abort(&o->af);
    o->fp = NULL;
}
