/* test_s3.c -- unit tests of lib/s3 (URLs, encoding, settings, errors that
 * never carry the keys) and index/store's `latest` pointer. The client
 * against a real server is tests/e2e/store_s3.sh. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "s3.h"
#include "status.h"
#include "store.h"
#include "unit.h"

UNIT_TEST(s3_url_parses_bucket_and_prefix) {
    char err[256], *b, *p;
    CHECK(s3_parse_url("s3://bk/team/ix/", &b, &p, err, sizeof err) == NZ_OK);
    CHECK_STR(b, "bk");
    CHECK_STR(p, "team/ix");
    free(b);
    free(p);
    CHECK(s3_parse_url("s3://bk", &b, &p, err, sizeof err) == NZ_OK);
    CHECK_STR(b, "bk");
    CHECK_STR(p, "");
    free(b);
    free(p);
    CHECK(s3_parse_url("s3://", &b, &p, err, sizeof err) == NZ_EINVAL);
    CHECK(s3_parse_url("s3:///x", &b, &p, err, sizeof err) == NZ_EINVAL);
    CHECK(s3_parse_url("http://bk/x", &b, &p, err, sizeof err) == NZ_EINVAL);
    CHECK(b == NULL && p == NULL && strstr(err, "s3://BUCKET"));
}

UNIT_TEST(s3_uri_encode_keeps_unreserved_only) {
    buf b = BUF_INIT;
    CHECK(s3_uri_encode(&b, "a/B-9_.~ +=&%", 1) == NZ_OK);
    CHECK_STR(buf_str(&b), "a/B-9_.~%20%2B%3D%26%25");
    buf_reset(&b);
    CHECK(s3_uri_encode(&b, "up/1+x=", 0) == NZ_OK);
    CHECK_STR(buf_str(&b), "up%2F1%2Bx%3D");
    buf_free(&b);
}

UNIT_TEST(s3_xml_value_finds_tag) {
    char *v = s3_xml_value("<R><Bucket>b</Bucket><UploadId>abc</UploadId></R>", "UploadId");
    CHECK(v && strcmp(v, "abc") == 0);
    free(v);
    CHECK(s3_xml_value("<R><UploadId>abc</R>", "UploadId") == NULL);
    CHECK(s3_xml_value(NULL, "Code") == NULL);
}

UNIT_TEST(store_latest_pointer_parses_and_refuses) {
    char *name;
    unsigned long crc;
    const char *ok = "{\"snapshot\":\"snap-1\",\"manifest_crc32\":4294967295}";
    CHECK(store_parse_latest(ok, strlen(ok), &name, &crc) == NZ_OK);
    CHECK_STR(name, "snap-1");
    CHECK(crc == 4294967295UL);
    free(name);
    const char *bad[] = {"{\"snapshot\":\"../x\",\"manifest_crc32\":1}",
                         "{\"snapshot\":\".tmp-x\",\"manifest_crc32\":1}",
                         "{\"snapshot\":\"a/b\",\"manifest_crc32\":1}",
                         "{\"snapshot\":\"x\",\"manifest_crc32\":-1}",
                         "{\"snapshot\":\"x\",\"manifest_crc32\":4294967296}",
                         "{\"snapshot\":\"x\"}",
                         "not json",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(store_parse_latest(bad[i], strlen(bad[i]), &name, &crc) == NZ_EINVAL);
        CHECK(name == NULL);
    }
}

static void s3_env(const char *endpoint, const char *part) {
    if (endpoint) setenv("AWS_ENDPOINT_URL", endpoint, 1);
    else unsetenv("AWS_ENDPOINT_URL");
    if (part) setenv("NZ_S3_PART_SIZE", part, 1);
    else unsetenv("NZ_S3_PART_SIZE");
    setenv("AWS_ACCESS_KEY_ID", "AKIDUNIT-KEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "unit-SECRET-42", 1);
}

static void s3_env_clear(void) {
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("NZ_S3_PART_SIZE");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

UNIT_TEST(s3_open_reads_settings) {
    char err[256];
    s3_client c;
    s3_env(NULL, NULL);
    CHECK(s3_open(&c, err, sizeof err) == NZ_EINVAL && strstr(err, "AWS_ENDPOINT_URL"));
    s3_env("http://127.0.0.1:9/", NULL);
    CHECK(s3_open(&c, err, sizeof err) == NZ_OK);
    CHECK_STR(c.endpoint, "http://127.0.0.1:9");
    CHECK_STR(c.sigv4, "aws:amz:us-east-1:s3");
    CHECK(c.part_size == (size_t)S3_DEFAULT_PART_SIZE);
    s3_close(&c);
    s3_env("http://127.0.0.1:9", "65536"); /* set explicitly: tests may go below 5 MiB */
    CHECK(s3_open(&c, err, sizeof err) == NZ_OK && c.part_size == 65536);
    s3_close(&c);
    s3_env("http://127.0.0.1:9", "1000");
    CHECK(s3_open(&c, err, sizeof err) == NZ_EINVAL);
    s3_env("http://127.0.0.1:9", "12abc");
    CHECK(s3_open(&c, err, sizeof err) == NZ_EINVAL);
    s3_env_clear();
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    CHECK(s3_open(&c, err, sizeof err) == NZ_EINVAL && strstr(err, "AWS_SECRET_ACCESS_KEY"));
    s3_env_clear();
}

UNIT_TEST(s3_keys_redacted_and_never_in_errors) {
    char err[512];
    s3_client c;
    s3_env("http://127.0.0.1:1", NULL); /* nothing listens on port 1 */
    json_t *d = config_describe();
    char *text = json_dumps(d, 0);
    CHECK(text && !strstr(text, "unit-SECRET-42") && !strstr(text, "AKIDUNIT-KEY"));
    free(text);
    json_decref(d);
    CHECK(s3_open(&c, err, sizeof err) == NZ_OK);
    buf out = BUF_INIT;
    int rc = s3_get(&c, "bk", "a/latest", 4096, &out, err, sizeof err);
    CHECK(c.retries == S3_ATTEMPTS - 1);
    s3_close(&c);
    buf_free(&out);
    s3_env_clear();
    CHECK(rc == NZ_EUNAVAILABLE);
    CHECK(strstr(err, "GET s3://bk/a/latest"));
    CHECK(!strstr(err, "unit-SECRET-42") && !strstr(err, "AKIDUNIT-KEY"));
}
