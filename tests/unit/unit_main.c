/* unit_main.c -- the runner for tests registered with UNIT_TEST.
 *
 *   nz-unit            run every test
 *   nz-unit PATTERN    run tests whose name contains PATTERN
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

#define UNIT_MAX 512

typedef struct unit_case {
    const char *name;
    unit_fn fn;
} unit_case;
static unit_case unit_tests[UNIT_MAX];
static int unit_count, unit_failed_now;
static char unit_why[1024];
static char unit_dir[4096];

void unit_register(const char *name, unit_fn fn) {
    if (unit_count < UNIT_MAX) unit_tests[unit_count++] = (unit_case){name, fn};
}

void unit_fail(const char *file, int line, const char *what) {
    if (!unit_failed_now) snprintf(unit_why, sizeof unit_why, "%s:%d: CHECK(%s)", file, line, what);
    unit_failed_now = 1;
}

const char *unit_tmpdir(void) {
    if (unit_dir[0]) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", unit_dir);
        if (system(cmd) != 0) { /* best effort */
        }
    }
    const char *base = getenv("TMPDIR");
    snprintf(unit_dir, sizeof unit_dir, "%s/nz-unit.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(unit_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return unit_dir;
}

int unit_flip_byte(const char *path, long off, unsigned char mask) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    off_t at = off >= 0 ? (off_t)off : lseek(fd, 0, SEEK_END) + off;
    unsigned char byte;
    int rc = -1;
    if (at >= 0 && pread(fd, &byte, 1, at) == 1) {
        byte ^= mask;
        if (pwrite(fd, &byte, 1, at) == 1) rc = 0;
    }
    close(fd);
    return rc;
}

static int unit_cmp(const void *a, const void *b) {
    return strcmp(((const unit_case *)a)->name, ((const unit_case *)b)->name);
}

int main(int argc, char **argv) {
    setenv("NZ_LOG_FORMAT", "json", 1);
    setenv("NZ_LOG_LEVEL", "error", 1);
    log_init("nz-unit");
    qsort(unit_tests, (size_t)unit_count, sizeof unit_tests[0], unit_cmp);
    int failed = 0, ran = 0;
    for (int i = 0; i < unit_count; i++) {
        if (argc > 1 && !strstr(unit_tests[i].name, argv[1])) continue;
        unit_failed_now = 0;
        unit_tests[i].fn();
        ran++;
        if (unit_failed_now) {
            printf("not ok - unit/%s: %s\n", unit_tests[i].name, unit_why);
            failed++;
        } else {
            printf("ok - unit/%s\n", unit_tests[i].name);
        }
        fflush(stdout);
    }
    if (unit_dir[0]) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", unit_dir);
        if (system(cmd) != 0) {
        }
    }
    return failed ? 1 : 0;
}
