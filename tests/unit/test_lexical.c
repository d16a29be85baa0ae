/* test_lexical.c -- unit tests of the lexical index: the tokeniser
 * (lex_terms.h), the stemmers (stem.h), lexical.bin written by the builder
 * and checked by snapshot_verify, and block-max MaxScore (lex_search.h)
 * against its exhaustive oracle on random corpora. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "builder.h"
#include "jsonl.h"
#include "lex_search.h"
#include "lex_terms.h"
#include "query.h"
#include "snapshot.h"
#include "status.h"
#include "stem.h"
#include "unit.h"

/* The terms of text, space-separated. */
typedef struct lt_out {
    char s[1024];
    size_t n;
} lt_out;

static int lt_collect(const char *t, size_t n, void *ctx) {
    lt_out *o = ctx;
    if (o->n + n + 2 > sizeof o->s) return 1;
    if (o->n) o->s[o->n++] = ' ';
    memcpy(o->s + o->n, t, n);
    o->n += n;
    o->s[o->n] = '\0';
    return 0;
}

static const char *lt_terms(const char *text, int stemmer) {
    static lt_out o;
    o.n = 0;
    o.s[0] = '\0';
    if (lex_terms(text, strlen(text), stemmer, lt_collect, &o) != NZ_OK) return "(failed)";
    return o.s;
}

UNIT_TEST(lex_terms_keep_codes_whole_and_split) {
    CHECK_STR(lt_terms("PMK-81/2024", 0), "pmk-81/2024 pmk 81 2024");
    CHECK_STR(lt_terms("e-KTP", 0), "e-ktp e ktp");
    CHECK_STR(lt_terms("E33G", 0), "e33g e 33 g");
    CHECK_STR(lt_terms("PP 28/2025.", 0), "pp 28/2025 28 2025");
    CHECK_STR(lt_terms("Pasal 12 ayat (3)", 0), "pasal 12 ayat 3");
    CHECK_STR(lt_terms("-a- b/ /c", 0), "a b c");
    CHECK_STR(lt_terms("", 0), "");
}

UNIT_TEST(lex_terms_nfkc_and_casefold) {
    /* fullwidth letters and digits (NFKC), capitals and the German sharp s (fold) */
    CHECK_STR(lt_terms("\xef\xbc\xab\xef\xbc\xa9\xef\xbc\xb4\xef\xbc\xa1\xef\xbc\xb3 Kitas", 0),
              "kitas kitas");
    CHECK_STR(lt_terms("STRA\xc3\x9f"
                       "E \xef\xbc\x91\xef\xbc\x92",
                       0),
              "strasse 12");
    /* invalid UTF-8 is repaired, never a failure */
    CHECK_STR(lt_terms("ab\xff"
                       "cd",
                       0),
              "ab cd");
}

UNIT_TEST(lex_terms_stem_letter_pieces_only) {
    CHECK_STR(lt_terms("perpajakan pajak pajaknya", LEX_LANG_ID), "pajak pajak pajak");
    CHECK_STR(lt_terms("PMK-81/2024 peraturan", LEX_LANG_ID), "pmk-81/2024 pmk 81 2024 atur");
    CHECK_STR(lt_terms("taxes configured configuring", LEX_LANG_EN), "tax configur configur");
    /* a reduplicated word is the word (Indonesian plurals); other spans stay codes */
    CHECK_STR(lt_terms("berkas-berkas Dasar-dasar", LEX_LANG_ID), "berkas dasar");
    CHECK_STR(lt_terms("berkas-berkas", 0), "berkas");
    CHECK_STR(lt_terms("sayur-mayur e-e1", LEX_LANG_ID), "sayur-mayur sayur mayur e-e1 e e 1");
}

static const char *st(size_t (*fn)(const char *, size_t, char *), const char *w) {
    static char out[64];
    size_t n = fn(w, strlen(w), out);
    out[n] = '\0';
    return out;
}

UNIT_TEST(stem_id_affixes) {
    CHECK_STR(st(stem_id, "perpajakan"), "pajak");
    CHECK_STR(st(stem_id, "pajaknya"), "pajak");
    CHECK_STR(st(stem_id, "pajak"), "pajak");
    CHECK_STR(st(stem_id, "menggunakan"), "guna");
    CHECK_STR(st(stem_id, "penggunaan"), "guna");
    CHECK_STR(st(stem_id, "berjalan"), "jalan");
    CHECK_STR(st(stem_id, "menulis"), "tulis");
    CHECK_STR(st(stem_id, "memakai"), "pakai");
    CHECK_STR(st(stem_id, "menyusun"), "susun");
    CHECK_STR(st(stem_id, "diajukan"), st(stem_id, "mengajukan"));
    CHECK_STR(st(stem_id, "kebijakan"), "bijak");
    CHECK_STR(st(stem_id, "bukukah"), "buku");
    CHECK_STR(st(stem_id, "makan"), "makan"); /* too short to lose -an */
    CHECK_STR(st(stem_id, "ada"), "ada");
    /* roots keep two vowels: no affix leaves one (be-sar, ke-cil, ber-kas, bah-an) */
    CHECK_STR(st(stem_id, "besar"), "besar");
    CHECK_STR(st(stem_id, "kecil"), "kecil");
    CHECK_STR(st(stem_id, "berkas"), "berkas");
    CHECK_STR(st(stem_id, "bahan"), "bahan");
    CHECK_STR(st(stem_id, "jalan"), "jalan");
    CHECK_STR(st(stem_id, "bekerja"), "kerja"); /* be- before C-er- only */
}

UNIT_TEST(stem_en_light) {
    CHECK_STR(st(stem_en, "permits"), "permit");
    CHECK_STR(st(stem_en, "companies"), "company");
    CHECK_STR(st(stem_en, "boxes"), "box");
    CHECK_STR(st(stem_en, "classes"), "class");
    CHECK_STR(st(stem_en, "running"), "run");
    CHECK_STR(st(stem_en, "status"), "status");
    CHECK_STR(st(stem_en, "analysis"), "analysis");
    CHECK_STR(st(stem_en, "bed"), "bed");
    CHECK_STR(st(stem_en, "configure"), st(stem_en, "configured"));
}

/* ---------------------------------------------------------- the index */

#define LT_DIM 4

static uint64_t lt_rng;
static uint32_t lt_rand(void) { /* xorshift64*, seeded per test */
    lt_rng ^= lt_rng >> 12;
    lt_rng ^= lt_rng << 25;
    lt_rng ^= lt_rng >> 27;
    return (uint32_t)((lt_rng * 2685821657736338717ull) >> 32);
}

/* A word of a vocabulary of nv, skewed so that a few are in most rows. */
static void lt_word(char *w, size_t cap, uint32_t nv) {
    uint32_t r = lt_rand() % nv;
    r = r * (lt_rand() % nv) / nv; /* low words far more often */
    snprintf(w, cap, "w%u", r);
}

/* lt_build's rows repeat every lt_repeat rows when it is set (as
 * bench/corpus repeats the real chunks): exact ties on every score. */
static uint32_t lt_repeat;

/* A random corpus of n rows in dir: texts of 0..60 words of a vocabulary of
 * nv, langs id/en/fr, five documents, uri by row parity. */
static int lt_build(const char *dir, uint32_t n, uint32_t nv, const lex_params *lp) {
    char err[256], text[1024], id[32], doc[16], uri[32];
    static const char *langs[] = {"id", "en", "fr"};
    index_builder *b = builder_open(dir, err, sizeof err);
    if (!b || (lp && builder_set_lexical(b, lp) < 0)) return -1;
    int rc = NZ_OK;
    for (uint32_t r = 0; r < n && rc == NZ_OK; r++) {
        float v[LT_DIM] = {1, (float)(r % 7), (float)(r % 3), 0.5f};
        size_t len = 0;
        if (lt_repeat) lt_rng = 0x5bd1e995u + r % lt_repeat;
        uint32_t words = lt_rand() % 61;
        text[0] = '\0';
        for (uint32_t i = 0; i < words; i++) {
            char w[16];
            lt_word(w, sizeof w, nv);
            len += (size_t)snprintf(text + len, sizeof text - len, "%s ", w);
        }
        snprintf(id, sizeof id, "c%u", r);
        snprintf(doc, sizeof doc, "d%u", r % 5);
        snprintf(uri, sizeof uri, "%s/%u", r % 2 ? "odd" : "even", r);
        builder_meta m = {.page = 1};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = doc;
        m.f[NZI_F_URI] = uri;
        m.f[NZI_F_LANG] = langs[r % 3];
        m.f[NZI_F_TEXT] = text;
        rc = builder_add(b, v, LT_DIM, &m, err, sizeof err);
    }
    const char *name = strrchr(dir, '/'); /* verify wants the folder's own name */
    manifest_build mb = {.snapshot = name ? name + 1 : dir,
                         .created = 7,
                         .tool = "t",
                         .provider = "hash",
                         .model = "m"};
    if (rc == NZ_OK) rc = builder_finish(b, &mb, err, sizeof err);
    builder_free(b);
    return rc;
}

UNIT_TEST(lex_maxscore_equals_the_exhaustive_oracle_on_random_corpora) {
    static const struct {
        uint32_t rows, vocab;
    } corpora[] = {{1, 5}, {40, 8}, {700, 30}, {3000, 400}};
    topk_hit got[64], want[64];
    lt_rng = 0x9e3779b97f4a7c15ull;
    long nonempty = 0;
    for (size_t ci = 0; ci < sizeof corpora / sizeof *corpora; ci++) {
        const char *dir = unit_tmpdir();
        char err[256];
        CHECK(lt_build(dir, corpora[ci].rows, corpora[ci].vocab, NULL) == NZ_OK);
        snapshot *s = snapshot_open(dir, err, sizeof err);
        CHECK(s != NULL && s->lex_map != NULL);
        CHECK(snapshot_verify(s, err, sizeof err) == NZ_OK);
        for (int qi = 0; qi < 300; qi++) {
            char q[256] = "";
            size_t len = 0;
            uint32_t words = 1 + lt_rand() % 6;
            for (uint32_t i = 0; i < words; i++) {
                char w[16];
                lt_word(w, sizeof w, corpora[ci].vocab + 3); /* some words unknown */
                len += (size_t)snprintf(q + len, sizeof q - len, "%s ", w);
            }
            search_filter f = {0};
            uint32_t fr = lt_rand() % 8;
            if (fr == 1) f.doc_id = "d2";
            if (fr == 2) f.uri_prefix = "odd/";
            if (fr == 3) f.lang = "en";
            search_params p = {.k = 1 + lt_rand() % 40, .filter = &f};
            long n = lex_search(s, q, &p, got), m = lex_search_exhaustive(s, q, &p, want);
            CHECK(n >= 0 && n == m);
            for (long i = 0; i < n; i++) {
                CHECK(got[i].id == want[i].id);
                CHECK(memcmp(&got[i].score, &want[i].score, sizeof(float)) == 0);
                CHECK(!f.uri_prefix || got[i].id % 2 == 1);
            }
            nonempty += n > 0;
        }
        snapshot_close(s);
    }
    CHECK(nonempty > 600); /* the queries did find rows */
}

UNIT_TEST(lex_index_parameters_and_stemming_recorded) {
    const char *dir = unit_tmpdir();
    char err[256];
    lt_rng = 42;
    lex_params lp = {.k1 = 2.0f, .b = 0.5f, .stem = LEX_LANG_EN};
    CHECK(lt_build(dir, 30, 10, &lp) == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL);
    CHECK(s->lex.k1 == 2.0f && s->lex.b == 0.5f && s->lex.stem == LEX_LANG_EN);
    json_t *lx = json_object_get(s->manifest, "lexical");
    CHECK(json_real_value(json_object_get(lx, "k1")) == 2.0);
    CHECK(json_array_size(json_object_get(lx, "stem")) == 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(lx, "stem"), 0)), "en");
    snapshot_close(s);
    CHECK(lex_stem_parse("id,en") == LEX_STEM_ALL && lex_stem_parse("none") == 0);
    CHECK(lex_stem_parse("en") == LEX_LANG_EN && lex_stem_parse("id,") < 0);
    CHECK(lex_stem_parse("fr") < 0 && lex_stem_parse("id,id") < 0 && lex_stem_parse("") < 0);
}

UNIT_TEST(lex_corrupt_postings_fail_verify_and_never_read_outside) {
    const char *dir = unit_tmpdir();
    char err[256], path[4096];
    lt_rng = 7;
    CHECK(lt_build(dir, 500, 20, NULL) == NZ_OK);
    snprintf(path, sizeof path, "%s/%s", dir, NZI_LEXICAL);
    topk_hit hits[10];
    search_params p = {.k = 10};
    for (long off = -1; off >= -400; off -= 37) {
        CHECK(unit_flip_byte(path, off, 0xff) == 0);
        snapshot *s = snapshot_open(dir, err, sizeof err);
        CHECK(s != NULL);
        CHECK(snapshot_verify(s, err, sizeof err) == NZ_ECORRUPT);
        /* the search copes with what the flip did (ASan watches) */
        CHECK(lex_search(s, "w0 w1 w2 w3", &p, hits) >= 0);
        snapshot_close(s);
        CHECK(unit_flip_byte(path, off, 0xff) == 0);
    }
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL && snapshot_verify(s, err, sizeof err) == NZ_OK);
    snapshot_close(s);
}

static int lt_query(const snapshot *s, const char *json, json_t **ans) {
    char err[256];
    query_req q;
    json_t *body = json_loads(json, 0, NULL);
    int rc = query_parse(body, NULL, &q, err, sizeof err);
    if (rc == NZ_OK) rc = query_run(s, &q, 1, ans, err, sizeof err);
    query_free(&q);
    json_decref(body);
    return rc;
}

UNIT_TEST(query_modes_parse_run_and_say_who_found_what) {
    const char *dir = unit_tmpdir();
    char err[256];
    json_t *a = NULL, *b = NULL;
    lt_rng = 99;
    CHECK(lt_build(dir, 200, 12, NULL) == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL);
    CHECK(lt_query(s, "{\"query\":\"w1\",\"mode\":\"bm25\"}", &a) == NZ_EINVAL && !a);
    CHECK(lt_query(s, "{\"query\":\"w1\",\"weight\":1.5}", &a) == NZ_EINVAL && !a);
    CHECK(lt_query(s, "{\"query\":\"w1\",\"mode\":7}", &a) == NZ_EINVAL && !a);
    /* lexical needs text */
    CHECK(lt_query(s, "{\"vector\":[1,0,0,0],\"mode\":\"lexical\"}", &a) == NZ_EINVAL && !a);
    /* a vector defaults to dense */
    CHECK(lt_query(s, "{\"vector\":[1,0,0,0],\"k\":2}", &a) == NZ_OK);
    CHECK_STR(json_string_value(json_object_get(a, "mode")), "dense");
    json_t *r0 = json_array_get(json_object_get(a, "results"), 0);
    CHECK(json_integer_value(json_object_get(json_object_get(r0, "found_by"), "dense")) == 1);
    json_decref(a);
    a = NULL;
    /* lexical needs no embedder, and "exact" (every posting) agrees with MaxScore */
    CHECK(lt_query(s, "{\"query\":\"w1 w3 w7\",\"mode\":\"lexical\",\"k\":5}", &a) == NZ_OK);
    CHECK(lt_query(s, "{\"query\":\"w1 w3 w7\",\"mode\":\"lexical\",\"k\":5,\"exact\":true}", &b) ==
          NZ_OK);
    json_t *ra = json_object_get(a, "results"), *rb = json_object_get(b, "results");
    CHECK(json_array_size(ra) == 5 && json_equal(ra, rb));
    for (size_t i = 0; i < 5; i++) {
        json_t *fb = json_object_get(json_array_get(ra, i), "found_by");
        CHECK(json_object_size(fb) == 1 &&
              json_integer_value(json_object_get(fb, "lexical")) == (json_int_t)i + 1);
    }
    json_decref(a);
    json_decref(b);
    snapshot_close(s);
}

/* query_answer (nz-serve's text path) writes the bytes json_dumps writes for
 * query_run's answer, found_by and mode included, in every mode it can run. */
UNIT_TEST(query_answer_text_equals_query_run_json_in_each_mode) {
    const char *dir = unit_tmpdir();
    char err[256];
    lt_rng = 7;
    CHECK(lt_build(dir, 300, 20, NULL) == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL);
    static const char *reqs[] = {"{\"query\":\"w1 w3 w7\",\"mode\":\"lexical\",\"k\":7}",
                                 "{\"query\":\"w2 w5\",\"mode\":\"hybrid\",\"k\":6}",
                                 "{\"query\":\"w4\",\"k\":4}", "{\"vector\":[1,0.5,0,0],\"k\":5}"};
    int compared = 0;
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        json_t *a = NULL;
        if (lt_query(s, reqs[i], &a) != NZ_OK) continue; /* no embedder for this text */
        char *results = json_dumps(json_object_get(a, "results"), JSONL_DUMP_FLAGS);
        buf want = BUF_INIT, got = BUF_INIT;
        buf_printf(&want, "{\"results\":%s,\"mode\":\"%s\",\"took_ms\":", results ? results : "",
                   json_string_value(json_object_get(a, "mode")));
        query_req q;
        long nres = -1;
        json_t *body = json_loads(reqs[i], 0, NULL);
        CHECK(query_parse(body, NULL, &q, err, sizeof err) == NZ_OK);
        CHECK(query_answer(s, &q, 1, &got, &nres, err, sizeof err) == NZ_OK);
        CHECK(nres == (long)json_array_size(json_object_get(a, "results")));
        CHECK(results && strncmp(buf_str(&got), buf_str(&want), want.len) == 0);
        compared++;
        query_free(&q);
        json_decref(body);
        free(results);
        buf_free(&want);
        buf_free(&got);
        json_decref(a);
    }
    CHECK(compared >= 2); /* lexical and the vector at least */
    snapshot_close(s);
}

/* Rows repeated 12 times (as in bench/corpus): every top row ties with its
 * copies, the threshold starts from the terms' kth and rises through ties;
 * MaxScore must still return the oracle's rows, the lower of tied rows
 * first, bit for bit. The same with the kth fields zeroed, as in a file
 * written before them; and lex_verify refuses a kth above the true one. */
UNIT_TEST(lex_maxscore_equals_the_oracle_on_repeated_rows_and_checks_kth) {
    const char *dir = unit_tmpdir();
    char err[256];
    topk_hit got[40], want[40];
    lt_rng = 99;
    lt_repeat = 150;
    int rc = lt_build(dir, 1800, 60, NULL);
    lt_repeat = 0;
    CHECK(rc == NZ_OK);
    snapshot *s = snapshot_open(dir, err, sizeof err);
    CHECK(s != NULL && s->lex_map != NULL);
    long seeded = 0, full = 0;
    for (uint32_t t = 0; t < s->lex.nterms; t++) seeded += s->lex.terms[t].kth > 0;
    CHECK(seeded > 10); /* the kth fields are written */
    for (int pass = 0; pass < 2; pass++) {
        lex_index x = s->lex; /* pass 1: a copy of the file with every kth 0 */
        unsigned char *copy = NULL;
        if (pass) {
            CHECK((copy = malloc(s->lex_size)) != NULL);
            memcpy(copy, s->lex_map, s->lex_size);
            CHECK(lex_open(&x, copy, s->lex_size, s->count, err, sizeof err) == NZ_OK);
            for (uint32_t t = 0; t < x.nterms; t++) ((nzi_lex_term *)x.terms)[t].kth = 0;
            CHECK(lex_verify(&x, err, sizeof err) == NZ_OK);
        }
        snapshot alt = *s;
        alt.lex = x;
        for (int qi = 0; qi < 200; qi++) {
            char q[256] = "";
            size_t len = 0;
            uint32_t words = 1 + lt_rand() % 6;
            for (uint32_t i = 0; i < words; i++) {
                char w[16];
                lt_word(w, sizeof w, 60);
                len += (size_t)snprintf(q + len, sizeof q - len, "%s ", w);
            }
            search_params p = {.k = 1 + lt_rand() % (qi % 4 ? 12 : 40)};
            long n = lex_search(&alt, q, &p, got), m = lex_search_exhaustive(&alt, q, &p, want);
            CHECK(n >= 0 && n == m);
            for (long i = 0; i < n; i++) {
                CHECK(got[i].id == want[i].id);
                CHECK(memcmp(&got[i].score, &want[i].score, sizeof(float)) == 0);
            }
            full += n == (long)p.k;
        }
        if (pass) { /* one kth above its term's true LEX_SEED_K-th best part */
            for (uint32_t t = 0; t < x.nterms; t++)
                if (x.terms[t].df >= LEX_SEED_K) {
                    ((nzi_lex_term *)x.terms)[t].kth = x.terms[t].max * 1.01f;
                    break;
                }
            CHECK(lex_verify(&x, err, sizeof err) == NZ_ECORRUPT);
        }
        free(copy);
    }
    CHECK(full > 200); /* most queries filled their k */
    snapshot_close(s);
}
