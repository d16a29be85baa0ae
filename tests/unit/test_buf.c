/* test_buf.c -- unit tests of lib/buf, lib/status and the checked number
 * parsers of lib/config. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "status.h"
#include "unit.h"

UNIT_TEST(buf_starts_empty_and_nul_terminated) {
    buf b = BUF_INIT;
    CHECK_STR(buf_str(&b), "");
    CHECK(b.len == 0 && b.s == NULL);
    CHECK(buf_add(&b, "", 0) == NZ_OK);
    CHECK(b.s != NULL && b.s[0] == '\0');
    buf_free(&b);
    CHECK(b.s == NULL && b.len == 0);
}

UNIT_TEST(buf_appends_grow_and_stay_terminated) {
    buf b = BUF_INIT;
    for (int i = 0; i < 10000; i++) {
        CHECK(buf_addc(&b, (char)('a' + i % 26)) == NZ_OK);
        CHECK(b.s[b.len] == '\0');
    }
    CHECK(b.len == 10000 && b.cap > 10000);
    CHECK(b.s[25] == 'z' && b.s[26] == 'a');
    buf_reset(&b);
    CHECK(b.len == 0 && b.s[0] == '\0');
    CHECK(buf_adds(&b, "hello") == NZ_OK && buf_printf(&b, ", %s %d", "world", 42) == NZ_OK);
    CHECK_STR(b.s, "hello, world 42");
    buf_truncate(&b, 5);
    CHECK_STR(buf_str(&b), "hello");
    buf_truncate(&b, 50); /* longer: no-op */
    CHECK(b.len == 5);
    buf_free(&b);
}

UNIT_TEST(buf_printf_longer_than_its_scratch) {
    buf b = BUF_INIT;
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(buf_printf(&b, "<%s>", big) == NZ_OK);
    CHECK(b.len == 1001 && b.s[0] == '<' && b.s[1000] == '>' && b.s[1001] == '\0');
    buf_free(&b);
}

UNIT_TEST(buf_holds_binary_bytes) {
    buf b = BUF_INIT;
    CHECK(buf_add(&b, "a\0b", 3) == NZ_OK);
    CHECK(b.len == 3 && memcmp(b.s, "a\0b", 4) == 0);
    buf_free(&b);
}

UNIT_TEST(buf_cap_refuses_and_keeps_contents) {
    buf b;
    buf_init(&b, 8);
    CHECK(buf_adds(&b, "12345678") == NZ_OK);
    CHECK(buf_addc(&b, '9') == NZ_ELIMIT);
    CHECK(buf_failed(&b) == NZ_ELIMIT);
    CHECK_STR(b.s, "12345678"); /* unchanged by the refused append */
    CHECK(buf_printf(&b, "%d", 1) == NZ_ELIMIT);
    buf_reset(&b);
    CHECK(buf_failed(&b) == 0);
    CHECK(buf_add(&b, "x", (size_t)-1 / 2) == NZ_ELIMIT); /* no overflow */
    buf_free(&b);
    CHECK(b.max == 8); /* the cap outlives a free */
}

UNIT_TEST(buf_detach_hands_over_the_bytes) {
    buf b = BUF_INIT;
    size_t n = 99;
    char *s = buf_detach(&b, &n);
    CHECK(s != NULL && n == 0 && s[0] == '\0');
    free(s);
    CHECK(buf_adds(&b, "abc") == NZ_OK);
    s = buf_detach(&b, &n);
    CHECK(s && n == 3 && strcmp(s, "abc") == 0);
    CHECK(b.s == NULL && b.len == 0);
    free(s);
}

UNIT_TEST(status_codes_have_distinct_sentences) {
    int codes[] = {NZ_OK,   NZ_EINVAL,     NZ_EIO,      NZ_ENOMEM, NZ_ESTOPPED, NZ_EUNAVAILABLE,
                   NZ_EDIM, NZ_ENONFINITE, NZ_ECORRUPT, NZ_ELIMIT, NZ_EBUSY};
    size_t n = sizeof codes / sizeof *codes;
    for (size_t i = 0; i < n; i++) {
        CHECK(i == 0 || codes[i] < 0);
        CHECK(strcmp(nz_strerror(codes[i]), "unknown status") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[i] != codes[j]);
            CHECK(strcmp(nz_strerror(codes[i]), nz_strerror(codes[j])) != 0);
        }
    }
    CHECK_STR(nz_strerror(-999), "unknown status");
}

UNIT_TEST(config_parse_double_is_strict) {
    double d = -1;
    CHECK(config_parse_double("--x", "0.02", 0, 10, &d) == 0 && d == 0.02);
    CHECK(config_parse_double("--x", "1e1", 0, 10, &d) == 0 && d == 10);
    d = 7;
    CHECK(config_parse_double("--x", "", 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", NULL, 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", "1.5abc", 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", " 1", 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", "nan", 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", "inf", 0, 1e308, &d) < 0);
    CHECK(config_parse_double("--x", "-0.5", 0, 10, &d) < 0);
    CHECK(config_parse_double("--x", "11", 0, 10, &d) < 0);
    CHECK(d == 7); /* untouched on failure */
}

UNIT_TEST(config_parse_long_is_strict) {
    long v = 5;
    CHECK(config_parse_long("-k", "12", 1, 100, &v) == 0 && v == 12);
    CHECK(config_parse_long("-k", "", 1, 100, &v) < 0);
    CHECK(config_parse_long("-k", " 3", 1, 100, &v) < 0);
    CHECK(config_parse_long("-k", "3x", 1, 100, &v) < 0);
    CHECK(config_parse_long("-k", "101", 1, 100, &v) < 0);
    CHECK(config_parse_long("-k", "99999999999999999999", 1, 100, &v) < 0);
    CHECK(v == 12);
}
