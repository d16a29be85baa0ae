/* test_embed.c -- unit tests of the OpenAI wire format and the vector cache,
 * and of the stages read from an open stream (chunk, embed, build). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "chunk.h"
#include "embed.h"
#include "openai.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"
#include "vcache.h"
#include "vecb64.h"

UNIT_TEST(openai_endpoint_and_request) {
    char *e = openai_endpoint("https://api.openai.com");
    CHECK_STR(e, "https://api.openai.com/v1/embeddings");
    free(e);
    e = openai_endpoint("http://127.0.0.1:8080/v1/");
    CHECK_STR(e, "http://127.0.0.1:8080/v1/embeddings");
    free(e);
    const char *texts[2] = {"satu", "dua"};
    size_t lens[2] = {4, 3};
    char *r = openai_request("text-embedding-3-small", 256, texts, lens, 2);
    CHECK(strstr(r, "\"input\":[\"satu\",\"dua\"]") && strstr(r, "\"dimensions\":256") &&
          strstr(r, "\"encoding_format\":\"base64\""));
    free(r);
    r = openai_request("nomic-embed-text", 768, texts, lens, 1); /* no dimensions for others */
    CHECK(!strstr(r, "dimensions"));
    free(r);
}

static openai_verdict parse(long status, const char *body, const char *ra_ms, const char *ra,
                            const char *should, size_t n, uint32_t dim, float *out,
                            openai_cause *cause, double *after, char *msg) {
    openai_reply rep = {status, body, strlen(body), ra_ms, ra, should};
    long tokens;
    return openai_parse(&rep, n, dim, out, &tokens, cause, after, "sk-SECRET", msg, 256);
}

UNIT_TEST(openai_parse_replies) {
    float v[4] = {1, 2, 3, 4}, out[8];
    char *b = vecb64_encode(v, 4);
    char body[512];
    snprintf(body, sizeof body,
             "{\"data\":[{\"index\":1,\"embedding\":\"%s\"},{\"index\":0,\"embedding\":[4,3,2,1]}],"
             "\"usage\":{\"prompt_tokens\":7}}",
             b);
    free(b);
    openai_cause cause;
    double after;
    char msg[256];
    openai_reply rep = {200, body, strlen(body), NULL, NULL, NULL};
    long tokens;
    CHECK(openai_parse(&rep, 2, 4, out, &tokens, &cause, &after, NULL, msg, sizeof msg) ==
          OPENAI_OK);
    CHECK(tokens == 7 && out[0] == 4 && out[4] == 1 && out[7] == 4); /* placed by index */
    CHECK(parse(200, body, NULL, NULL, NULL, 2, 5, out, &cause, &after, msg) == OPENAI_RETRY);
    CHECK(strstr(msg, "wrong dimension") && cause == CAUSE_MALFORMED);
    CHECK(parse(200, "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[1]}]}",
                NULL, NULL, NULL, 2, 1, out, &cause, &after,
                msg) == OPENAI_RETRY); /* repeated index */
    CHECK(parse(200, "{not json", NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) ==
          OPENAI_RETRY);
    /* rate limits wait as told; quota never retries */
    CHECK(parse(429, "{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}}",
                "1500", NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_RETRY);
    CHECK(cause == CAUSE_RATE_LIMIT && after > 1.49 && after < 1.51);
    CHECK(parse(429, "{\"error\":{\"code\":\"rate_limit_exceeded\"}}", NULL, "3", NULL, 1, 4, out,
                &cause, &after, msg) == OPENAI_RETRY &&
          after == 3);
    CHECK(parse(429,
                "{\"error\":{\"code\":\"insufficient_quota\",\"type\":\"insufficient_quota\"}}",
                NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_FATAL);
    CHECK(parse(503, "", NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_RETRY &&
          cause == CAUSE_SERVER);
    CHECK(parse(408, "", NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_RETRY);
    CHECK(parse(409, "", NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_RETRY);
    for (long st = 400; st <= 404; st++)
        if (st != 402)
            CHECK(parse(st, "{}", NULL, NULL, NULL, 1, 4, out, &cause, &after, msg) ==
                  OPENAI_FATAL);
    /* x-should-retry overrides */
    CHECK(parse(400, "{}", NULL, NULL, "true", 1, 4, out, &cause, &after, msg) == OPENAI_RETRY);
    CHECK(parse(500, "{}", NULL, NULL, "false", 1, 4, out, &cause, &after, msg) == OPENAI_FATAL);
    /* the key is masked out of server messages */
    CHECK(parse(401, "{\"error\":{\"message\":\"Incorrect API key provided: sk-SECRET.\"}}", NULL,
                NULL, NULL, 1, 4, out, &cause, &after, msg) == OPENAI_FATAL);
    CHECK(strstr(msg, "sk-SECRET") == NULL && strstr(msg, "Incorrect API key") != NULL);
    CHECK(openai_retry_after("2.5") == 2.5);
    CHECK(openai_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0); /* in the past: now */
    CHECK(openai_retry_after("soon") < 0);
}

/* openai_classify: the verdict before the slot restarts, never read from
 * the vectors, and always openai_parse's own for an error. */
UNIT_TEST(openai_classify_matches_parse) {
    static const struct {
        long status;
        const char *body, *should;
        openai_verdict want;
    } cases[] = {
        {200, "{\"data\":[]}", NULL, OPENAI_OK}, /* only parsing tells a malformed 200 */
        {200, "{not json", NULL, OPENAI_OK},
        {401, "{\"error\":{\"code\":\"invalid_api_key\"}}", NULL, OPENAI_FATAL},
        {400, "{}", NULL, OPENAI_FATAL},
        {403, "", NULL, OPENAI_FATAL},
        {404, "{}", NULL, OPENAI_FATAL},
        {429, "{\"error\":{\"code\":\"insufficient_quota\"}}", NULL, OPENAI_FATAL},
        {429, "{\"error\":{\"type\":\"insufficient_quota\"}}", NULL, OPENAI_FATAL},
        {429, "{\"error\":{\"code\":\"rate_limit_exceeded\"}}", NULL, OPENAI_RETRY},
        {429, "", NULL, OPENAI_RETRY},
        {429, "{\"error\":{\"code\":\"insufficient_quota\"}}", "true", OPENAI_RETRY},
        {500, "", NULL, OPENAI_RETRY},
        {503, "", "false", OPENAI_FATAL},
        {400, "{}", "true", OPENAI_RETRY},
        {408, "", NULL, OPENAI_RETRY},
    };
    float out[4];
    openai_cause cause;
    double after;
    char msg[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        openai_reply r = {cases[i].status, cases[i].body, strlen(cases[i].body), NULL, NULL,
                          cases[i].should};
        CHECK(openai_classify(&r) == cases[i].want);
        if (cases[i].status != 200)
            CHECK(parse(cases[i].status, cases[i].body, NULL, NULL, cases[i].should, 1, 4, out,
                        &cause, &after, msg) == cases[i].want);
    }
}

UNIT_TEST(vcache_roundtrip_and_torn_tail) {
    const char *dir = unit_tmpdir();
    char err[256];
    unsigned char k1[VCACHE_KEY_LEN], k2[VCACHE_KEY_LEN];
    vcache_key("openai", "m", 4, "satu", 4, k1);
    vcache_key("openai", "m", 4, "dua", 3, k2);
    CHECK(memcmp(k1, k2, VCACHE_KEY_LEN) != 0);
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, out[4];
    vcache *c = vcache_open(dir, err, sizeof err);
    CHECK(c != NULL);
    CHECK(vcache_get(c, k1, 4, out) == 0);
    CHECK(vcache_put(c, k1, 4, a) == 0 && vcache_put(c, k2, 4, b) == 0);
    CHECK(vcache_get(c, k1, 4, out) == 1 && out[3] == 4);
    CHECK(vcache_get(c, k1, 5, out) == NZ_EDIM); /* another dimension is not a hit */
    vcache_close(c);
    /* a torn last record: the reopened cache keeps what came before it */
    char path[4200];
    snprintf(path, sizeof path, "%s/vectors.log", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "NZC1partial", 11) == 11);
    close(fd);
    c = vcache_open(dir, err, sizeof err);
    CHECK(c && vcache_count(c) == 2 && vcache_recovered(c) == 11);
    CHECK(vcache_get(c, k2, 4, out) == 1 && out[0] == 5);
    vcache_close(c);
    /* a flipped byte inside the last record: that record is dropped */
    CHECK(unit_flip_byte(path, -2, 0x40) == 0);
    c = vcache_open(dir, err, sizeof err);
    CHECK(c && vcache_count(c) == 1 && vcache_get(c, k2, 4, out) == 0 &&
          vcache_get(c, k1, 4, out) == 1);
    vcache_close(c);
}

/* A whole file as a malloc'd string (NULL when it cannot be read). */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *p = malloc(1 << 20);
    *len = p ? fread(p, 1, (1 << 20) - 1, f) : 0;
    if (p) p[*len] = '\0';
    fclose(f);
    return p;
}

/* chunk_run, embed_run and build_run each read an open stream (here a
 * buffer through fmemopen, as the fuzz targets do) as they read a file:
 * docs -> chunks -> embedded -> a snapshot of every chunk, and a bad line
 * in the stream is a rejection, not a failure. */
UNIT_TEST(stages_read_an_open_stream) {
    const char *dir = unit_tmpdir();
    char chunks[4096], embedded[4096], root[4096], err[512];
    snprintf(chunks, sizeof chunks, "%s/chunks.jsonl", dir);
    snprintf(embedded, sizeof embedded, "%s/embedded.jsonl", dir);
    snprintf(root, sizeof root, "%s/index", dir);
    static const char docs[] =
        "{\"doc_id\":\"d1\",\"uri\":\"file:///a.md\",\"title\":\"A\",\"lang\":\"en\","
        "\"blocks\":[{\"kind\":\"paragraph\",\"text\":\"Visa on arrival. It allows a stay of "
        "thirty days.\"},{\"kind\":\"paragraph\",\"text\":\"Tax numbers are issued by the "
        "office.\"}]}\n"
        "not json\n";
    FILE *in = fmemopen((void *)docs, sizeof docs - 1, "r");
    CHECK(in != NULL);
    chunk_options co = {.chunker = {.max_tokens = 8, .min_tokens = 0, .overlap = 0, .dedupe = 1},
                        .output = chunks,
                        .max_line = 1 << 20,
                        .in = in};
    CHECK(chunk_run(&co) == 3); /* the "not json" line is rejected */
    fclose(in);
    size_t len = 0;
    char *text = read_all(chunks, &len);
    size_t nchunks = 0;
    for (size_t i = 0; text && i < len; i++) nchunks += text[i] == '\n';
    CHECK(nchunks >= 2);

    unsetenv("EMBEDDING_PROVIDER");
    in = text ? fmemopen(text, len, "r") : NULL;
    CHECK(in != NULL);
    embed_options eo = {.output = embedded, .dim = 8, .max_line = 1 << 20, .in = in};
    CHECK(in && embed_run(&eo) == 0);
    if (in) fclose(in);
    free(text);

    text = read_all(embedded, &len);
    in = text ? fmemopen(text, len, "r") : NULL;
    CHECK(in != NULL);
    build_opts bo = {.root = root, .in = in, .keep = 1, .flat = 1, .tool = "nz-unit"};
    build_result r = {0};
    CHECK(in && build_run(&bo, &r, err, sizeof err) == NZ_OK && r.count == nchunks && r.dim == 8);
    if (in) fclose(in);
    free(text);
    build_result_free(&r);
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s && s->count == nchunks && snapshot_verify(s, err, sizeof err) == 0);
    if (s) snapshot_close(s);
}
