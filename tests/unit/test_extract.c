/* test_extract.c -- unit tests of nz-extract's text, Markdown, language,
 * source-walking and input modules, and of the worker pool it runs on. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocks.h"
#include "input.h"
#include "lang.h"
#include "pool.h"
#include "sources.h"
#include "status.h"
#include "textdoc.h"
#include "unit.h"

static const char *blk_kind(json_t *blocks, size_t i) {
    return json_string_value(json_object_get(json_array_get(blocks, i), "kind"));
}
static const char *blk_text(json_t *blocks, size_t i) {
    return json_string_value(json_object_get(json_array_get(blocks, i), "text"));
}
static long blk_level(json_t *blocks, size_t i) {
    return (long)json_integer_value(json_object_get(json_array_get(blocks, i), "level"));
}

UNIT_TEST(markdown_blocks) {
    const char *md =
        "# Title #\n\nIntro line one\nline two.\n\n## Steps\n\n1. First step\n   continued\n"
        "- bullet\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n```sh\nmake test\n\n  indented\n```\n"
        "Setext\n------\n> quoted text\n";
    CHECK(textdoc_is_markdown(md, strlen(md)));
    json_t *b = json_array();
    CHECK(textdoc_parse(md, strlen(md), 1, b) == 0);
    CHECK(json_array_size(b) == 9);
    CHECK_STR(blk_kind(b, 0), "heading");
    CHECK_STR(blk_text(b, 0), "Title");
    CHECK(blk_level(b, 0) == 1);
    CHECK_STR(blk_text(b, 1), "Intro line one line two.");
    CHECK(blk_level(b, 2) == 2);
    CHECK_STR(blk_kind(b, 3), "list");
    CHECK_STR(blk_text(b, 3), "First step continued");
    CHECK_STR(blk_text(b, 4), "bullet");
    CHECK_STR(blk_kind(b, 5), "table");
    CHECK_STR(blk_text(b, 5), "a | b\n1 | 2");
    CHECK_STR(blk_kind(b, 6), "code");
    CHECK_STR(blk_text(b, 6), "make test\n\n  indented");
    CHECK_STR(blk_kind(b, 7), "heading");
    CHECK_STR(blk_text(b, 7), "Setext");
    CHECK(blk_level(b, 7) == 2);
    CHECK_STR(blk_text(b, 8), "quoted text");
    json_decref(b);
}

UNIT_TEST(plain_text_title_and_paragraphs) {
    const char *t =
        "Tax Residency of Foreigners\n\nFirst paragraph\nwrapped here.\n\n\nSecond one.\n";
    CHECK(!textdoc_is_markdown(t, strlen(t)));
    json_t *b = json_array();
    CHECK(textdoc_parse(t, strlen(t), 0, b) == 0);
    CHECK(json_array_size(b) == 3);
    CHECK_STR(blk_kind(b, 0), "heading");
    CHECK_STR(blk_text(b, 1), "First paragraph wrapped here.");
    CHECK_STR(blk_text(b, 2), "Second one.");
    json_decref(b);
    /* a first line that is a sentence is not a title */
    b = json_array();
    const char *u = "This is a sentence.\n\nMore.\n";
    CHECK(textdoc_parse(u, strlen(u), 0, b) == 0);
    CHECK_STR(blk_kind(b, 0), "para");
    json_decref(b);
}

UNIT_TEST(whitespace_only_text_gives_no_blocks) {
    json_t *b = json_array();
    CHECK(textdoc_parse(" \n\t\n \r\n", 7, 0, b) == 0);
    CHECK(json_array_size(b) == 0);
    json_decref(b);
}

UNIT_TEST(language_guess) {
    const char *id = "Pengusaha dengan peredaran bruto lebih dari Rp4,8 miliar wajib dikukuhkan "
                     "sebagai Pengusaha Kena Pajak dan memungut PPN yang berlaku.";
    const char *en = "A business whose annual turnover exceeds the threshold must register "
                     "and charge value-added tax on its deliveries.";
    CHECK_STR(lang_guess(id, strlen(id)), "id");
    CHECK_STR(lang_guess(en, strlen(en)), "en");
    CHECK_STR(lang_guess("KITAS", 5), "und");
    char out[16];
    lang_normalise("id-ID", out, sizeof out);
    CHECK_STR(out, "id");
    lang_normalise("in", out, sizeof out);
    CHECK_STR(out, "id");
    lang_normalise("EN_us", out, sizeof out);
    CHECK_STR(out, "en");
}

static void touch(const char *dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("x\n", f);
        fclose(f);
    }
}

UNIT_TEST(sources_sorted_hidden_skipped_loops_reported) {
    const char *d = unit_tmpdir();
    char sub[4200], loop[4200];
    snprintf(sub, sizeof sub, "%s/b", d);
    mkdir(sub, 0755);
    touch(d, "c.txt");
    touch(d, "a.txt");
    touch(d, ".hidden");
    touch(sub, "z.md");
    snprintf(loop, sizeof loop, "%s/b/back", d);
    CHECK(symlink("..", loop) == 0);
    source_list l = {0};
    CHECK(sources_add(&l, d) == 0);
    CHECK(l.n == 4);
    CHECK(strstr(l.items[0], "/a.txt") && !l.errors[0]);
    CHECK(strstr(l.items[1], "/b/back") && l.errors[1] && strstr(l.errors[1], "loop"));
    CHECK(strstr(l.items[2], "/b/z.md") && !l.errors[2]);
    CHECK(strstr(l.items[3], "/c.txt"));
    sources_free(&l);
}

UNIT_TEST(input_read_bounded_with_statuses) {
    const char *d = unit_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/a b%%.txt", d);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("0123456789", f);
    fclose(f);
    unsigned char *data;
    size_t len;
    time_t mtime;
    CHECK(input_read(path, 10, &data, &len, &mtime, err, sizeof err) == NZ_OK);
    CHECK(len == 10 && memcmp(data, "0123456789", 10) == 0 && data[10] == 0);
    free(data);
    CHECK(input_read(path, 9, &data, &len, &mtime, err, sizeof err) == NZ_ELIMIT);
    CHECK(data == NULL);
    CHECK_STR(err, "file of 10 bytes exceeds --max-bytes 9");
    CHECK(input_read(d, 100, &data, &len, &mtime, err, sizeof err) == NZ_EINVAL);
    CHECK_STR(err, "is a directory");
    snprintf(path, sizeof path, "%s/missing", d);
    CHECK(input_read(path, 100, &data, &len, &mtime, err, sizeof err) == NZ_EIO);
    CHECK(strncmp(err, "cannot open: ", 13) == 0);
}

UNIT_TEST(input_file_uri_percent_encodes) {
    const char *d = unit_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/a b%%\xc3\xa9.txt", d);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fclose(f);
    char *uri = input_file_uri(path);
    CHECK(uri != NULL);
    CHECK(strncmp(uri, "file:///", 8) == 0);
    const char *tail = strrchr(uri, '/');
    CHECK_STR(tail, "/a%20b%25%C3%A9.txt");
    free(uri);
    snprintf(path, sizeof path, "%s/missing", d);
    CHECK(input_file_uri(path) == NULL);
}

/* The pool knows no stage: it names its workers as told and passes the
 * caller's kinds through. */
enum { TEST_KIND_A = 1, TEST_KIND_B, TEST_MAX_KIND = TEST_KIND_B };

static void pool_test_work(size_t i, void *ctx, pool_result *out) {
    (void)ctx;
    if (i == 1) abort(); /* a crash the pool must report */
    if (i == 2) {
        out->kind = 7; /* past max_kind: malformed */
        out->payload = strdup("x");
        out->len = 1;
        return;
    }
    out->kind = i == 0 ? TEST_KIND_A : TEST_KIND_B;
    out->payload = strdup(i == 0 ? "a" : "b");
    out->len = 1;
}

typedef struct {
    int kinds[4];
    char msgs[4][160];
} pool_test_seen;

static int pool_test_emit(size_t i, pool_result *r, void *ctx) {
    pool_test_seen *s = ctx;
    s->kinds[i] = r->kind;
    snprintf(s->msgs[i], sizeof s->msgs[i], "%s", r->payload);
    return NZ_OK;
}

UNIT_TEST(pool_names_its_workers_and_passes_kinds) {
    pool_test_seen seen;
    memset(&seen, 0, sizeof seen);
    pool_opts po = {.workers = 2, .what = "tester", .max_kind = TEST_MAX_KIND};
    CHECK(pool_run(4, &po, pool_test_work, NULL, pool_test_emit, &seen) == NZ_OK);
    CHECK(seen.kinds[0] == TEST_KIND_A && strcmp(seen.msgs[0], "a") == 0);
    CHECK(seen.kinds[1] == POOL_REJECT);
    CHECK(strncmp(seen.msgs[1], "tester crashed on this input: signal 6", 38) == 0);
    CHECK(seen.kinds[2] == POOL_REJECT);
    CHECK_STR(seen.msgs[2], "tester sent a malformed result");
    CHECK(seen.kinds[3] == TEST_KIND_B && strcmp(seen.msgs[3], "b") == 0);
}
