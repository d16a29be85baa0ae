/* test_lib.c -- unit tests of the shared modules in lib/. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include "atomicio.h"
#include "config.h"
#include "hashembed.h"
#include "jsonl.h"
#include "jsonout.h"
#include "log.h"
#include "progress.h"
#include "sha.h"
#include "status.h"
#include "unit.h"
#include "utf8.h"
#include "vecb64.h"

UNIT_TEST(sha256_known_vectors) {
    unsigned char d[SHA_LEN];
    char hex[SHA_HEX_LEN + 1];
    CHECK(sha256("abc", 3, d) == 0);
    sha_hex(d, SHA_LEN, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256("", 0, d) == 0);
    sha_hex(d, SHA_LEN, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* streaming equals one-shot */
    sha_ctx *c = sha_new();
    CHECK(c != NULL);
    unsigned char d2[SHA_LEN];
    sha_update(c, "a", 1);
    sha_update(c, "bc", 2);
    sha_final(c, d2);
    sha_free(c);
    CHECK(sha256("abc", 3, d) == 0);
    CHECK(memcmp(d, d2, SHA_LEN) == 0);
}

UNIT_TEST(sha_id_is_stable_and_separates_parts) {
    char a[ID_HEX_LEN + 1], b[ID_HEX_LEN + 1], c[ID_HEX_LEN + 1];
    CHECK(sha_id(a, "doc", "text") == 0);
    CHECK(sha_id(b, "doc", "text") == 0);
    CHECK(sha_id(c, "doct", "ext") == 0); /* the NUL separator matters */
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strlen(a) == ID_HEX_LEN);
}

UNIT_TEST(base64_roundtrip_all_paddings) {
    const char *data = "\x00\x01\x02\xff\xfe";
    for (size_t n = 0; n <= 5; n++) {
        char *e = b64_encode(data, n);
        CHECK(e != NULL);
        unsigned char *back;
        long m = b64_decode(e, strlen(e), &back);
        CHECK(m == (long)n);
        CHECK(n == 0 || memcmp(back, data, n) == 0);
        free(e);
        free(back);
    }
    unsigned char *bad;
    CHECK(b64_decode("abc", 3, &bad) < 0);  /* not a multiple of 4 */
    CHECK(b64_decode("a!c=", 4, &bad) < 0); /* not base64 */
}

UNIT_TEST(vecb64_little_endian_and_strict) {
    float v[3] = {1.0f, -2.5f, 0.125f};
    char *e = vecb64_encode(v, 3);
    CHECK(e != NULL);
    /* 1.0f is 00 00 80 3f little-endian */
    CHECK(strncmp(e, "AACAPw", 6) == 0);
    float *back;
    CHECK(vecb64_decode(e, strlen(e), 3, &back) == 3);
    CHECK(back[0] == 1.0f && back[1] == -2.5f && back[2] == 0.125f);
    free(back);
    CHECK(vecb64_decode(e, strlen(e), 4, &back) == NZ_EDIM); /* wrong dimension */
    free(e);
    float nan[1] = {NAN};
    e = vecb64_encode(nan, 1);
    CHECK(vecb64_decode(e, strlen(e), 0, &back) == NZ_ENONFINITE);
    free(e);
    CHECK(vecb64_decode("AAA=", 4, 0, &back) == NZ_EINVAL); /* 2 bytes: not a float */
}

UNIT_TEST(utf8_validate_and_repair) {
    size_t bad = 0;
    CHECK(utf8_valid("Pasal 5 ayat (1) – é", strlen("Pasal 5 ayat (1) – é"), NULL));
    CHECK(!utf8_valid("ab\xff"
                      "cd",
                      5, &bad));
    CHECK(bad == 2);
    CHECK(!utf8_valid("a\0b", 3, &bad)); /* NUL is not text */
    char *r = utf8_repair("ab\xff"
                          "cd",
                          5);
    CHECK_STR(r, "ab\xEF\xBF\xBD"
                 "cd");
    free(r);
    char *n = utf8_nfc("e\xCC\x81", 3); /* e + combining acute -> é */
    CHECK_STR(n, "\xC3\xA9");
    free(n);
}

UNIT_TEST(config_flags_over_env_over_defaults) {
    unsetenv("INDEX_PATH");
    config_set(CFG_INDEX_PATH, NULL);
    CHECK_STR(config_get(CFG_INDEX_PATH), "./data/index");
    CHECK_STR(config_source(CFG_INDEX_PATH), "default");
    setenv("INDEX_PATH", "/env/ix", 1);
    CHECK_STR(config_get(CFG_INDEX_PATH), "/env/ix");
    CHECK_STR(config_source(CFG_INDEX_PATH), "env");
    config_set(CFG_INDEX_PATH, "/flag/ix");
    CHECK_STR(config_get(CFG_INDEX_PATH), "/flag/ix");
    CHECK_STR(config_source(CFG_INDEX_PATH), "flag");
    config_set(CFG_INDEX_PATH, NULL);
    unsetenv("INDEX_PATH");
    long v;
    setenv("PORT", "80x", 1);
    CHECK(config_long(CFG_PORT, 0, 65535, &v) < 0);
    setenv("PORT", "9000", 1);
    CHECK(config_long(CFG_PORT, 0, 65535, &v) == 0 && v == 9000);
    unsetenv("PORT");
}

UNIT_TEST(config_secrets_are_redacted) {
    char *r = config_redact_url("postgres://nz:s3cret@db.internal:5432/nz?sslmode=require");
    CHECK(strstr(r, "s3cret") == NULL);
    CHECK_STR(r, "postgres://nz:***@db.internal:5432/nz?sslmode=require");
    free(r);
    r = config_redact_url("host=db user=nz password=s3cret dbname=nz");
    CHECK(strstr(r, "s3cret") == NULL);
    free(r);
    setenv("OPENAI_API_KEY", "sk-test-SECRET", 1);
    setenv("DATABASE_URL", "postgres://u:pw-SECRET@h/d", 1);
    json_t *d = config_describe();
    char *s = json_dumps(d, 0);
    /* the values, not the word: the key AWS_SECRET_ACCESS_KEY is named in it */
    CHECK(strstr(s, "sk-test-SECRET") == NULL && strstr(s, "pw-SECRET") == NULL);
    free(s);
    json_decref(d);
    unsetenv("OPENAI_API_KEY");
    unsetenv("DATABASE_URL");
}

UNIT_TEST(atomic_write_replaces_whole_file) {
    const char *dir = unit_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    CHECK(atomic_write_file(path, "first", 5) == 0);
    CHECK(atomic_write_file(path, "second", 6) == 0);
    FILE *f = fopen(path, "r");
    char buf[16] = "";
    CHECK(f && fread(buf, 1, sizeof buf, f) == 6);
    fclose(f);
    CHECK(memcmp(buf, "second", 6) == 0);
    /* an aborted write leaves the old file and no temp file */
    atomic_file af;
    CHECK(atomic_open(&af, path) == 0);
    fputs("partial", af.fp);
    atomic_abort(&af);
    DIR *d = opendir(dir);
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) entries++;
    closedir(d);
    CHECK(entries == 1);
}

static FILE *unit_memfile(const char *text) {
    FILE *f = tmpfile();
    fputs(text, f);
    rewind(f);
    return f;
}

UNIT_TEST(jsonl_reader_reports_line_numbers) {
    FILE *f =
        unit_memfile("{\"a\":1,\"x-unknown\":[1,2]}\n\n{bad json}\n[1,2]\n"
                     "{\"long\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n"
                     "{\"b\":2}\n{\"trunc");
    jsonl_reader *r = jsonl_open(f, "t.jsonl", 40);
    json_t *o;
    CHECK(jsonl_next(r, &o) == JSONL_OK);
    CHECK(json_integer_value(json_object_get(o, "a")) == 1);
    /* unknown fields survive a write */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    jsonl_write(m, o);
    fclose(m);
    CHECK(strstr(buf, "\"x-unknown\":[1,2]") != NULL);
    free(buf);
    json_decref(o);
    CHECK(jsonl_next(r, &o) == JSONL_BAD); /* blank line 2 skipped, line 3 bad */
    CHECK(jsonl_lineno(r) == 3);
    CHECK(strstr(jsonl_error(r), "line 3") != NULL);
    CHECK(jsonl_next(r, &o) == JSONL_BAD); /* an array is not a record */
    CHECK(strstr(jsonl_error(r), "not a JSON object") != NULL);
    CHECK(jsonl_next(r, &o) == JSONL_BAD); /* longer than 40 bytes */
    CHECK(strstr(jsonl_error(r), "line 5: longer than") != NULL);
    CHECK(jsonl_next(r, &o) == JSONL_OK); /* reading resumes after it */
    CHECK(json_integer_value(json_object_get(o, "b")) == 2);
    json_decref(o);
    CHECK(jsonl_next(r, &o) == JSONL_BAD);
    CHECK(strstr(jsonl_error(r), "truncated") != NULL);
    CHECK(jsonl_next(r, &o) == JSONL_EOF);
    jsonl_close(r);
    fclose(f);
}

static double unit_norm(const float *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return sqrt(s);
}

UNIT_TEST(hashembed_normalised_and_deterministic) {
    float a[256], b[256];
    CHECK(hashembed("Visa on Arrival for tourism", 27, a, 256) > 0);
    CHECK(hashembed("Visa on Arrival for tourism", 27, b, 256) > 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(fabs(unit_norm(a, 256) - 1.0) < 1e-5);
    /* case, width and accents fold away */
    CHECK(hashembed("VISA ON ARRIVAL FOR TOURISM", 27, b, 256) > 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(hashembed("...!!!", 6, b, 256) == 0);  /* no words: no vector */
    CHECK(hashembed("\xff\xfe", 2, b, 256) < 0); /* not UTF-8 */
}

UNIT_TEST(hashembed_golden_bits) {
    /* The same bits on every platform: a digest of a fixed embedding.
     * If this changes, every index built with nz-hash-v1 changes too. */
    float v[1536];
    const char *t = "Pendaftaran NPWP badan dan Pengusaha Kena Pajak (PKP)";
    CHECK(hashembed(t, strlen(t), v, 1536) > 0);
    unsigned char d[SHA_LEN];
    char hex[SHA_HEX_LEN + 1];
    sha256(v, sizeof v, d);
    sha_hex(d, 8, hex);
    const char *golden = getenv("NZ_HASHEMBED_GOLDEN");
    if (golden) printf("# hashembed golden: %s\n", hex);
    CHECK_STR(hex, "04d7b0d8fc18317f");
}

UNIT_TEST(hashembed_similar_texts_score_higher) {
    float q[512], near[512], far[512];
    const char *qs = "how do I register for a tax number";
    const char *ns = "Registering for a Tax Identification Number (NPWP)";
    const char *fs = "Visa on Arrival allows a stay of 30 days";
    CHECK(hashembed(qs, strlen(qs), q, 512) > 0);
    CHECK(hashembed(ns, strlen(ns), near, 512) > 0);
    CHECK(hashembed(fs, strlen(fs), far, 512) > 0);
    double sn = 0, sf = 0;
    for (int i = 0; i < 512; i++) {
        sn += q[i] * near[i];
        sf += q[i] * far[i];
    }
    CHECK(sn > sf);
}

/* stderr into path (not a terminal: the JSON mode) and the log level set;
 * returns the saved stderr for stderr_back, or -1. */
static int stderr_to(const char *path, const char *level) {
    fflush(stderr);
    int saved = dup(STDERR_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved < 0 || fd < 0) {
        if (saved >= 0) close(saved);
        if (fd >= 0) close(fd);
        return -1;
    }
    dup2(fd, STDERR_FILENO);
    close(fd);
    setenv("NZ_LOG_LEVEL", level, 1);
    log_init("nz-unit");
    return saved;
}

/* stderr and the runner's log level ("error") back. */
static void stderr_back(int saved) {
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    setenv("NZ_LOG_LEVEL", "error", 1);
    log_init("nz-unit");
}

/* NZ_LOG_LEVEL=off: no line, not even an error or a rejection. */
UNIT_TEST(log_level_off_writes_nothing) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stderr-off", unit_tmpdir());
    int saved = stderr_to(path, "off");
    CHECK(saved >= 0);
    int off = !log_enabled(LOG_ERROR);
    log_error("an error");
    log_reject("file:///x", "line %d: bad", 3);
    log_fields(LOG_ERROR, "failed", json_pack("{s:i}", "n", 1));
    stderr_back(saved);
    CHECK(off && log_enabled(LOG_ERROR));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 0);
}

UNIT_TEST(progress_json_line_when_due_and_only_once) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stderr", unit_tmpdir());
    int saved = stderr_to(path, "info"); /* the runner keeps only errors */
    CHECK(saved >= 0);
    progress p;
    progress_start(&p, "embed", 1000);
    int json_mode = p.active == 0 && p.next_json_ms > 0;
    progress_add(&p, 10); /* not due yet: nothing */
    p.next_json_ms = 1;   /* due now */
    progress_add(&p, 10);
    progress_add(&p, 10); /* the next one is PROGRESS_JSON_EVERY away */
    progress_finish(&p);
    progress_add(&p, 10); /* finished: nothing */
    stderr_back(saved);
    CHECK(json_mode);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"msg\":\"progress\"")) continue;
        n++;
        CHECK(strstr(line, "\"what\":\"embed\"") && strstr(line, "\"done\":20") &&
              strstr(line, "\"total\":1000") && strstr(line, "\"eta_s\":"));
    }
    fclose(f);
    CHECK(n == 1);
}

/* jsonout writes what json_dumps(JSONL_DUMP_FLAGS) writes, byte for byte. */
static int jsonout_same(json_t *v /* stolen */, const buf *b) {
    char *want = json_dumps(v, JSONL_DUMP_FLAGS | JSON_ENCODE_ANY);
    int same = want && strcmp(want, buf_str(b)) == 0;
    if (!same) fprintf(stderr, "# jsonout: %s, jansson: %s\n", buf_str(b), want ? want : "(null)");
    free(want);
    json_decref(v);
    return same;
}

UNIT_TEST(jsonout_matches_jansson) {
    buf b = BUF_INIT;
    char all[256];
    for (int i = 0; i < 255; i++) all[i] = (char)(i + 1); /* every byte but NUL */
    const struct {
        const char *s;
        size_t len;
    } strs[] = {{"", 0},
                {"plain", 5},
                {"q\"b\\s/t\t\n\r\b\f\x01\x1f\x7f", 15},
                {"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", 14},
                {"bad \xff\xfe here \xc3", 13},
                {"nul\0in", 6},
                {all, 127},
                {all, 255},
                {"0123456789abcdef0123456789\"bcdef0123456789abcdef\t123456789abcdef012", 67},
                {"0123456789abcdef0123456789abcdef0123456789abcd\xc3\xa9"
                 "f0123456789ab",
                 61},
                {"0123456789abcdef0123456789abcdef0123456789abcdef01234567\xe9", 57},
                {"0123456789abcdef\x1f", 17},
                {"0123456789abcde\"0123456789abcdef\\0123456789abcdef\x7f\x80", 51}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        buf_reset(&b);
        CHECK(jsonout_str(&b, strs[i].s, strs[i].len) == NZ_OK);
        CHECK(jsonout_same(utf8_json_string(strs[i].s, strs[i].len), &b));
    }
    const double reals[] = {
        0,       -0.0,         1,      0.1,     0.004,       123.456,      1e20,
        1e-5,    1e100,        1e-300, -2.5e-7, 1234567890., 12345678901., 0.123456,
        1.0 / 3, 0.9999999999, 3.4e38, -7.25,   100,         1e10};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        buf_reset(&b);
        CHECK(jsonout_real(&b, reals[i]) == NZ_OK);
        CHECK(jsonout_same(json_real(reals[i]), &b));
    }
    for (double x = 1e-6; x < 1e6; x *= 1.37) { /* scores and latencies, rounded as they are */
        double r = round(x * 1e6) / 1e6, m = (double)((long long)(x * 1000)) / 1000;
        buf_reset(&b);
        jsonout_real(&b, r);
        CHECK(jsonout_same(json_real(r), &b));
        buf_reset(&b);
        jsonout_real(&b, m);
        CHECK(jsonout_same(json_real(m), &b));
    }
    unsigned long long seed = 88172645463325252ULL; /* xorshift: millionths of every size */
    for (int i = 0; i < 20000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        long long m = (long long)(seed % 20000000000ULL) - 10000000000LL;
        m /= (long long)(1ULL << (seed >> 60) % 12) * (i % 3 ? 1 : 1000); /* short ones too */
        double r = (double)m / 1e6;
        buf_reset(&b);
        jsonout_real(&b, r);
        CHECK(jsonout_same(json_real(r), &b));
    }
    const long long ints[] = {0,  -1, 42,     9223372036854775807LL, -9223372036854775807LL - 1,
                              10, -9, 1000000};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        buf_reset(&b);
        CHECK(jsonout_int(&b, ints[i]) == NZ_OK);
        CHECK(jsonout_same(json_integer(ints[i]), &b));
    }
    buf_free(&b);
    char plain[48]; /* jsonout_plain_len stops at each special byte, wherever it sits */
    const char specials[] = {'"', '\\', '\0', '\n', 0x1f, (char)0x80, (char)0xff};
    for (size_t at = 0; at < sizeof plain; at++)
        for (size_t k = 0; k < sizeof specials; k++) {
            memset(plain, 'a', sizeof plain);
            plain[at] = specials[k];
            CHECK(jsonout_plain_len(plain, sizeof plain) == at);
            CHECK(jsonout_plain_len(plain, at) == at);
        }
    memset(plain, ' ', sizeof plain);
    CHECK(jsonout_plain_len(plain, sizeof plain) == sizeof plain);
    buf capped; /* a cap reached is reported */
    buf_init(&capped, 4);
    CHECK(jsonout_str(&capped, "too long", 8) == NZ_ELIMIT && buf_failed(&capped) == NZ_ELIMIT);
    buf_free(&capped);
}
