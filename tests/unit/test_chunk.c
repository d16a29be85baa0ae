/* test_chunk.c -- unit tests of the chunker. */
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "tokens.h"
#include "unit.h"

static json_t *doc_with(json_t *blocks) {
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "doc_id", "d1", "uri", "file:///x", "title",
                     "Guide", "lang", "en", "blocks", blocks, "x-source", "kept");
}

static json_t *para(const char *kind, int level, const char *text) {
    return json_pack("{s:s,s:i,s:i,s:s}", "kind", kind, "level", level, "page", 3, "text", text);
}

UNIT_TEST(chunks_carry_heading_path_and_fields) {
    json_t *b = json_array();
    json_array_append_new(b, para("heading", 1, "Guide"));
    json_array_append_new(b, para("para", 0, "Intro."));
    json_array_append_new(b, para("heading", 2, "Visas"));
    json_array_append_new(b, para("heading", 3, "KITAS"));
    json_array_append_new(b, para("para", 0, "A limited stay permit."));
    json_t *doc = doc_with(b);
    chunker_opts o = {.max_tokens = 400};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, err, sizeof err);
    CHECK(c != NULL);
    CHECK(json_array_size(c) == 2);
    json_t *c1 = json_array_get(c, 1);
    CHECK_STR(json_string_value(json_object_get(c1, "heading")), "Visas > KITAS");
    CHECK_STR(json_string_value(json_object_get(c1, "context")), "Guide > Visas > KITAS");
    CHECK_STR(json_string_value(json_object_get(c1, "text")), "A limited stay permit.");
    CHECK(json_integer_value(json_object_get(c1, "page")) == 3);
    CHECK(json_integer_value(json_object_get(c1, "ord")) == 1);
    CHECK_STR(json_string_value(json_object_get(c1, "x-source")), "kept");
    CHECK(json_object_get(c1, "blocks") == NULL);
    json_decref(c);
    json_decref(doc);
}

UNIT_TEST(chunk_ids_stable_and_limits_kept) {
    /* a long paragraph of sentences, far over the limit */
    char *text = malloc(40000);
    text[0] = '\0';
    for (int i = 0; i < 400; i++)
        strcat(text, i % 7 == 0 ? "Pasal 5 No. 3 berlaku bagi PT. Maju Tbk. sejak tahun ini. "
                                : "Setiap wajib pajak harus melapor. ");
    json_t *b = json_array();
    json_array_append_new(b, para("para", 0, text));
    json_t *doc = doc_with(b);
    chunker_opts o = {.max_tokens = 100};
    char err[256];
    json_t *c1 = chunker_chunk_doc(doc, &o, err, sizeof err);
    json_t *c2 = chunker_chunk_doc(doc, &o, err, sizeof err);
    CHECK(c1 && c2 && json_array_size(c1) > 10);
    CHECK(json_array_size(c1) == json_array_size(c2));
    size_t i;
    json_t *ch;
    json_array_foreach(c1, i, ch) {
        CHECK(json_integer_value(json_object_get(ch, "tokens")) <= 100);
        CHECK_STR(json_string_value(json_object_get(ch, "chunk_id")),
                  json_string_value(json_object_get(json_array_get(c2, i), "chunk_id")));
        const char *t = json_string_value(json_object_get(ch, "text"));
        /* never split after an abbreviation */
        size_t n = strlen(t);
        CHECK(!(n >= 3 && strcmp(t + n - 3, "No.") == 0));
        CHECK(!(n >= 3 && strcmp(t + n - 3, "PT.") == 0));
    }
    json_decref(c1);
    json_decref(c2);
    json_decref(doc);
    free(text);
}

UNIT_TEST(one_huge_word_is_split_within_limit) {
    char *text = malloc(200001);
    memset(text, 'a', 200000);
    text[200000] = '\0';
    json_t *b = json_array();
    json_array_append_new(b, para("para", 0, text));
    json_t *doc = doc_with(b);
    chunker_opts o = {.max_tokens = 400};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, err, sizeof err);
    CHECK(c != NULL);
    size_t i, total = 0;
    json_t *ch;
    json_array_foreach(c, i, ch) {
        CHECK(json_integer_value(json_object_get(ch, "tokens")) <= 400);
        total += strlen(json_string_value(json_object_get(ch, "text")));
    }
    CHECK(total == 200000);
    json_decref(c);
    json_decref(doc);
    free(text);
}

UNIT_TEST(bad_records_are_explained) {
    chunker_opts o = {.max_tokens = 400};
    char err[256];
    json_t *doc = json_pack("{s:s}", "doc_id", "d1");
    CHECK(chunker_chunk_doc(doc, &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "blocks") != NULL);
    json_decref(doc);
    doc = json_pack("{s:[{s:s}]}", "blocks", "kind", "para");
    CHECK(chunker_chunk_doc(doc, &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "doc_id") != NULL);
    json_decref(doc);
    json_t *b = json_array();
    json_array_append_new(b, json_pack("{s:s}", "kind", "para"));
    doc = doc_with(b);
    CHECK(chunker_chunk_doc(doc, &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "block 0") != NULL);
    json_decref(doc);
}

UNIT_TEST(sentence_splitter_knows_abbreviations) {
    const char *t = "Lihat Pasal 5 No. 3 tentang PT. Maju. Berlaku sejak 2021. (1) Ayat baru.";
    size_t *ends;
    long n = chunker_sentences(t, strlen(t), &ends);
    CHECK(n == 3);
    CHECK(strncmp(t + ends[0], "Berlaku", 7) == 0);
    CHECK(strncmp(t + ends[1], "(1)", 3) == 0);
    free(ends);
}
