/* unit.h -- a minimal unit-test harness (SQLite's discipline, not its size).
 *
 * UNIT_TEST(name) { ... } registers a test at load time; CHECK(cond) fails
 * the current test with file, line and the condition's text and returns.
 * The runner prints one "ok - name" or "not ok - name: why" line per test,
 * which tests/run.sh counts. unit_tmpdir() gives each test a fresh folder.
 */
#ifndef NZ_UNIT_H
#define NZ_UNIT_H

#include <stdio.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_fail(const char *file, int line, const char *what);
const char *unit_tmpdir(void); /* a fresh empty directory for this test */
/* XOR the byte at off (negative: from the end) of path with mask. 0, or -1. */
int unit_flip_byte(const char *path, long off, unsigned char mask);

#define UNIT_TEST(name)                                                                            \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void unit_reg_##name(void) { unit_register(#name, name); } \
    static void name(void)

#define CHECK(cond)                               \
    do {                                          \
        if (!(cond)) {                            \
            unit_fail(__FILE__, __LINE__, #cond); \
            return;                               \
        }                                         \
    } while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

#endif
