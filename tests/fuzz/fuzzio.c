/* fuzzio.c -- see fuzzio.h. */
#include "fuzzio.h"

#include <fcntl.h>
#include <ftw.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char fuzz_root[256];

static int fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void fuzz_cleanup(void) {
    if (fuzz_root[0]) nftw(fuzz_root, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_dir(void) {
    if (fuzz_root[0]) return fuzz_root;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : NULL;
    if (!base) base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_root, sizeof fuzz_root, "%s/nz-fuzz.XXXXXX", base);
    if (!mkdtemp(fuzz_root)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_root;
}

const char *fuzz_path(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
    return p;
}

void fuzz_write(const char *path, const uint8_t *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        abort();
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n <= 0) {
            perror(path);
            abort();
        }
        done += (size_t)n;
    }
    close(fd);
}

FILE *fuzz_stream(const uint8_t *data, size_t len) {
    FILE *f = fmemopen((void *)data, len, "r");
    if (!f) {
        perror("fuzz: fmemopen");
        abort();
    }
    return f;
}

void fuzz_quiet(const char *stage) {
    if (!freopen("/dev/null", "w", stdout)) {
        perror("fuzz: /dev/null");
        abort();
    }
    setenv("NZ_LOG_LEVEL", "off", 1);
    log_init(stage);
}

void fuzz_poppler_hold(void) {
    static const char pdf[] = "%PDF-1.4\n"
                              "1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                              "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                              "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
                              "trailer<</Root 1 0 R/Size 4>>\n%%EOF\n";
    static PopplerDocument *held; /* never closed: freed with the process */
    if (held) return;
    GBytes *b = g_bytes_new_static(pdf, sizeof pdf - 1);
    GError *gerr = NULL;
    held = poppler_document_new_from_bytes(b, NULL, &gerr);
    g_bytes_unref(b);
    if (!held) {
        fprintf(stderr, "fuzz: poppler cannot open the held PDF: %s\n", gerr ? gerr->message : "?");
        abort();
    }
}
