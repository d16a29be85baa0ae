/* input.c -- see input.h. */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "status.h"

#define INPUT_STEP 65536 /* bytes a read() asks for, at least */

/* file:// and the bytes of s percent-encoded, appended to uri. */
static void input_uri_add(buf *uri, const char *s) {
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr(keep, c))
            buf_addc(uri, (char)c);
        else buf_printf(uri, "%%%02X", c);
    }
}

/* The uri of a real directory `abs` and, when not NULL, a name in it. */
static char *input_uri_make(char *abs, const char *name) {
    buf uri = BUF_INIT;
    if (!abs) return NULL;
    buf_adds(&uri, "file://");
    input_uri_add(&uri, abs);
    if (name) {
        if (uri.len && uri.s[uri.len - 1] != '/') buf_addc(&uri, '/');
        input_uri_add(&uri, name);
    }
    free(abs);
    if (buf_failed(&uri)) {
        buf_free(&uri);
        return NULL;
    }
    return buf_detach(&uri, NULL);
}

char *input_file_uri(const char *path) { return input_uri_make(realpath(path, NULL), NULL); }

char *input_missing_uri(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) return NULL;
    if (!slash) return input_uri_make(realpath(".", NULL), name);
    char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    char *uri = dir ? input_uri_make(realpath(dir, NULL), name) : NULL;
    free(dir);
    return uri;
}

/* Why a file cannot be read, before reading it: NZ_OK, or a status with err. */
static int input_check(int fd, long max_bytes, time_t *mtime, char *err, size_t errlen) {
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat: %s", strerror(errno));
        return NZ_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        return NZ_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file (%s)",
                 S_ISFIFO(st.st_mode)   ? "FIFO"
                 : S_ISSOCK(st.st_mode) ? "socket"
                 : S_ISCHR(st.st_mode)  ? "character device"
                                        : "special file");
        return NZ_EINVAL;
    }
    if (st.st_size > max_bytes) {
        snprintf(err, errlen, "file of %lld bytes exceeds --max-bytes %ld", (long long)st.st_size,
                 max_bytes);
        return NZ_ELIMIT;
    }
    *mtime = st.st_mtime;
    return NZ_OK;
}

int input_read(const char *name, long max_bytes, unsigned char **data, size_t *len, time_t *mtime,
               char *err, size_t errlen) {
    int fd = STDIN_FILENO, rc;
    buf b = BUF_INIT;
    *data = NULL;
    *mtime = time(NULL);
    if (strcmp(name, "-") != 0) {
        /* O_NONBLOCK: opening a FIFO must never wait for a writer. */
        fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open: %s",
                     errno == ELOOP ? "symlink loop" : strerror(errno));
            return NZ_EIO;
        }
        if ((rc = input_check(fd, max_bytes, mtime, err, errlen)) < 0) goto fail;
    }
    /* read straight into the buffer (as git's strbuf_read), past the cap
     * by at most one read, so that a stream over it is told apart */
    for (;;) {
        if ((rc = buf_grow(&b, INPUT_STEP)) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        ssize_t r = read(fd, b.s + b.len, b.cap - b.len - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "read error: %s", strerror(errno));
            rc = NZ_EIO;
            goto fail;
        }
        if (r == 0) break;
        b.len += (size_t)r;
        b.s[b.len] = '\0';
        if (b.len > (size_t)max_bytes) {
            snprintf(err, errlen, "input exceeds --max-bytes %ld", max_bytes);
            rc = NZ_ELIMIT;
            goto fail;
        }
    }
    if (fd != STDIN_FILENO) close(fd);
    *data = (unsigned char *)buf_detach(&b, len);
    return NZ_OK;
fail:
    if (fd != STDIN_FILENO) close(fd);
    buf_free(&b);
    return rc;
}
