/* test_extract_known.c -- unit tests of nz-extract --known's table
 * (known.h) and of the uri of a file that is gone (input.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"
#include "known.h"
#include "status.h"
#include "unit.h"

#define J(x) (x), strlen(x)

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

UNIT_TEST(known_fields_parsed) {
    known_table t = {0};
    char err[256];
    const char *sha = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    char line[512];
    snprintf(line, sizeof line,
             "{\"uri\":\"file:///a\",\"size\":12,\"mtime\":1700000000,\"sha256\":\"%s\","
             "\"etag\":\"\\\"x\\\"\",\"last_modified\":\"Tue, 01 Dec 2026 10:00:00 GMT\","
             "\"doc_id\":\"ignored\"}",
             sha);
    CHECK(known_add_json(&t, J(line), err, sizeof err) == NZ_OK);
    CHECK(known_add_json(&t, J("{\"uri\":\"https://x/\",\"size\":null,\"mtime\":null}"), err,
                         sizeof err) == NZ_OK);
    CHECK(known_add_json(&t, J("{\"uri\":\"file:///b\",\"mtime\":\"2023-11-14T22:13:20Z\"}"), err,
                         sizeof err) == NZ_OK);
    const known_source *a = known_get(&t, "file:///a");
    CHECK(a && a->size == 12 && a->has_mtime && a->mtime == 1700000000);
    CHECK_STR(a->sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    CHECK(a->etag && !strcmp(a->etag, "\"x\"") && a->last_modified);
    const known_source *u = known_get(&t, "https://x/");
    CHECK(u && u->size == -1 && !u->has_mtime && !u->sha256[0] && !u->etag);
    const known_source *b = known_get(&t, "file:///b");
    CHECK(b && b->has_mtime && b->mtime == 1700000000); /* docs.jsonl's form, same second */
    CHECK(known_get(&t, "file:///c") == NULL);
    known_free(&t);
    CHECK(known_get(&t, "file:///a") == NULL && t.n == 0);
}

UNIT_TEST(known_refuses_malformed) {
    static const char *bad[] = {
        "[1]",
        "{\"size\":1}",
        "{\"uri\":\"\"}",
        "{\"uri\":7}",
        "{\"uri\":\"a\\u0000b\"}",
        "{\"uri\":\"f\",\"size\":-1}",
        "{\"uri\":\"f\",\"size\":\"1\"}",
        "{\"uri\":\"f\",\"mtime\":\"yesterday\"}",
        "{\"uri\":\"f\",\"mtime\":1.5}",
        "{\"uri\":\"f\",\"sha256\":\"abc\"}",
        "{\"uri\":\"f\",\"sha256\":"
        "\"zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
        "{\"uri\":\"f\",\"etag\":\"a\\r\\nX-Injected: 1\"}",
        "{\"uri\":\"f\",\"last_modified\":5}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        known_table t = {0};
        char err[256] = "";
        CHECK(known_add_json(&t, J(bad[i]), err, sizeof err) == NZ_EINVAL);
        CHECK(err[0] != '\0');
        CHECK(t.n == 0);
        known_free(&t);
    }
}

UNIT_TEST(known_many_and_duplicates) {
    known_table t = {0};
    char err[256], line[128];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "{\"uri\":\"file:///d/%d.txt\",\"size\":%d}", i, i);
        CHECK(known_add_json(&t, J(line), err, sizeof err) == NZ_OK);
    }
    CHECK(t.n == 5000 && t.cap >= 10000);
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "file:///d/%d.txt", i);
        const known_source *k = known_get(&t, line);
        CHECK(k && k->size == i);
    }
    CHECK(known_get(&t, "file:///d/5000.txt") == NULL);
    CHECK(known_add_json(&t, J("{\"uri\":\"file:///d/7.txt\"}"), err, sizeof err) == NZ_EINVAL);
    CHECK(strstr(err, "twice") != NULL);
    known_free(&t);
}

UNIT_TEST(known_load_file) {
    const char *d = unit_tmpdir();
    char path[512], err[512];
    known_table t = {0};
    snprintf(path, sizeof path, "%s/known.jsonl", d);
    CHECK(write_file(path, "{\"uri\":\"file:///a\",\"size\":1}\n\n{\"uri\":\"file:///b\"}\n") == 0);
    CHECK(known_load(&t, path, err, sizeof err) == NZ_OK);
    CHECK(t.n == 2 && known_get(&t, "file:///b"));
    known_free(&t);
    /* a bad line refuses the whole file, naming the line; the table stays empty */
    CHECK(write_file(path, "{\"uri\":\"file:///a\"}\n{\"uri\":\"file:///b\",\"size\":true}\n") ==
          0);
    CHECK(known_load(&t, path, err, sizeof err) == NZ_EINVAL);
    CHECK(strstr(err, "line 2") && strstr(err, "size"));
    CHECK(t.n == 0 && t.slots == NULL);
    /* a line over the bound */
    char *huge = malloc(KNOWN_MAX_LINE + 64);
    CHECK(huge);
    memset(huge, 'a', KNOWN_MAX_LINE + 32);
    memcpy(huge, "{\"uri\":\"", 8);
    strcpy(huge + KNOWN_MAX_LINE + 32, "\"}\n");
    int wr = write_file(path, huge);
    free(huge);
    CHECK(wr == 0);
    CHECK(known_load(&t, path, err, sizeof err) == NZ_EINVAL);
    CHECK(strstr(err, "limit") != NULL);
    snprintf(path, sizeof path, "%s/none.jsonl", d);
    CHECK(known_load(&t, path, err, sizeof err) == NZ_EIO);
}

UNIT_TEST(input_missing_uri_resolves_directory) {
    const char *d = unit_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/gone file.txt", d);
    CHECK(write_file(path, "x") == 0);
    char *live = input_file_uri(path);
    CHECK(live);
    CHECK(unlink(path) == 0);
    CHECK(input_file_uri(path) == NULL);
    char *gone = input_missing_uri(path);
    CHECK(gone && !strcmp(gone, live) && strstr(gone, "gone%20file.txt"));
    free(live);
    free(gone);
    snprintf(path, sizeof path, "%s/no-such-dir/x", d);
    CHECK(input_missing_uri(path) == NULL);
}
