/* test_chunk.c -- unit tests of the tokenizer, the segmenter and the chunker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "chunker.h"
#include "jsonl.h"
#include "segment.h"
#include "status.h"
#include "unit.h"

UNIT_TEST(bpe_known_vectors) {
    uint32_t ids[16];
    CHECK(bpe_encode("Hello world!", 12, ids, 16) == 3);
    CHECK(ids[0] == 9906 && ids[1] == 1917 && ids[2] == 0);
    CHECK(bpe_count("", 0) == 0);
    CHECK(bpe_count("\xff", 1) < 0); /* not UTF-8 */
    /* special tokens are plain text for embeddings */
    CHECK(bpe_count("<|endoftext|>", 13) > 1);
    size_t n;
    const unsigned char *b = bpe_token_bytes(9906, &n);
    CHECK(b && n == 5 && memcmp(b, "Hello", 5) == 0);
}

UNIT_TEST(bpe_long_piece_merges_like_short_ones) {
    /* the heap merge (long pieces) and the scan (short ones) agree: a long
     * word tokenizes to the concatenation of its repeated short form */
    char w[1200];
    for (int i = 0; i < 1199; i++) w[i] = "abcdefghij"[i % 10];
    w[1199] = '\0';
    long n = bpe_count(w, 1199);
    CHECK(n > 100 && n < 1199);
    uint32_t *ids = malloc((size_t)n * sizeof *ids);
    CHECK(bpe_encode(w, 1199, ids, (size_t)n) == n);
    /* the ids decode back to the input */
    size_t off = 0;
    for (long i = 0; i < n; i++) {
        size_t len;
        const unsigned char *b = bpe_token_bytes(ids[i], &len);
        CHECK(b && off + len <= 1199 && memcmp(w + off, b, len) == 0);
        off += len;
    }
    CHECK(off == 1199);
    free(ids);
}

UNIT_TEST(segment_sentences_know_abbreviations_and_items) {
    const char *t =
        "Lihat Pasal 5 No. 3 tentang PT. Maju Tbk. di Jl. Sudirman. Berlaku sejak 1.1.2021 "
        "dan seterusnya! Ketentuan: a. Wajib Pajak; b. Pemotong; dan (1) Pemungut. Dr. Ana e.g. "
        "ok.";
    size_t *ends;
    long n = segment_sentences(t, strlen(t), &ends);
    CHECK(n == 7);
    CHECK(strncmp(t + ends[0], "Berlaku", 7) == 0);
    CHECK(strncmp(t + ends[1], "Ketentuan", 9) == 0);
    CHECK(strncmp(t + ends[2], "a. Wajib", 8) == 0); /* items start units after a colon */
    CHECK(strncmp(t + ends[3], "b. Pemotong", 11) == 0);
    CHECK(strncmp(t + ends[4], "(1) Pemungut", 12) == 0);
    CHECK(strncmp(t + ends[5], "Dr. Ana", 7) == 0);
    free(ends);
    CHECK(segment_ends_sentence("Selesai.  ", 10));
    CHECK(segment_ends_sentence("He said \"yes.\"", 14));
    CHECK(!segment_ends_sentence("tanpa titik", 11));
}

static json_t *doc_with(json_t *blocks) {
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "doc_id", "d1", "uri", "file:///x", "title",
                     "Guide", "lang", "en", "blocks", blocks, "x-source", "kept");
}

static json_t *blk(const char *kind, int level, const char *text) {
    return json_pack("{s:s,s:i,s:i,s:s}", "kind", kind, "level", level, "page", 3, "text", text);
}

/* dedupe off: the texts below repeat on purpose */
static chunker_opts defaults(long max) {
    return (chunker_opts){.max_tokens = max, .min_tokens = 0, .overlap = 0, .dedupe = 0};
}

UNIT_TEST(chunks_carry_heading_path_and_fields) {
    json_t *b = json_array();
    json_array_append_new(b, blk("heading", 1, "Guide"));
    json_array_append_new(b, blk("para", 0, "Intro."));
    json_array_append_new(b, blk("heading", 2, "Visas"));
    json_array_append_new(b, blk("heading", 3, "KITAS"));
    json_array_append_new(b, blk("para", 0, "A limited stay permit."));
    json_t *doc = doc_with(b);
    chunker_opts o = defaults(400);
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c != NULL);
    CHECK(json_array_size(c) == 2 && st.chunks == 2);
    json_t *c1 = json_array_get(c, 1);
    CHECK_STR(json_string_value(json_object_get(c1, "heading")), "Visas > KITAS");
    CHECK_STR(json_string_value(json_object_get(c1, "context")), "Guide > Visas > KITAS");
    CHECK_STR(json_string_value(json_object_get(c1, "text")), "A limited stay permit.");
    /* tokens: exactly what is sent (context, blank line, text) */
    const char *sent = "Guide > Visas > KITAS\n\nA limited stay permit.";
    CHECK(json_integer_value(json_object_get(c1, "tokens")) == bpe_count(sent, strlen(sent)));
    CHECK(json_integer_value(json_object_get(c1, "text_tokens")) ==
          bpe_count("A limited stay permit.", 22));
    CHECK(json_integer_value(json_object_get(c1, "page")) == 3);
    CHECK(json_integer_value(json_object_get(c1, "ord")) == 1);
    CHECK_STR(json_string_value(json_object_get(c1, "x-source")), "kept");
    CHECK(json_object_get(c1, "blocks") == NULL);
    json_decref(c);
    json_decref(doc);
}

static char *long_text(int sentences) {
    char *t = malloc((size_t)sentences * 64 + 1);
    t[0] = '\0';
    for (int i = 0; i < sentences; i++)
        strcat(t, i % 7 == 0 ? "Pasal 5 No. 3 berlaku bagi PT. Maju Tbk. sejak tahun ini. "
                             : "Setiap wajib pajak harus melapor. ");
    return t;
}

UNIT_TEST(chunks_within_limit_ids_stable_sentences_whole) {
    char *text = long_text(400);
    json_t *b = json_array();
    json_array_append_new(b, blk("para", 0, text));
    json_t *doc = doc_with(b);
    chunker_opts o = defaults(100);
    chunker_stats st = {0};
    char err[256];
    json_t *c1 = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    json_t *c2 = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c1 && c2 && json_array_size(c1) > 10);
    CHECK(json_array_size(c1) == json_array_size(c2));
    size_t i;
    json_t *ch;
    json_array_foreach(c1, i, ch) {
        CHECK(json_integer_value(json_object_get(ch, "tokens")) <= 100);
        CHECK_STR(json_string_value(json_object_get(ch, "chunk_id")),
                  json_string_value(json_object_get(json_array_get(c2, i), "chunk_id")));
        const char *t = json_string_value(json_object_get(ch, "text"));
        CHECK(segment_ends_sentence(t, strlen(t))); /* cut only between sentences */
    }
    json_decref(c1);
    json_decref(c2);
    json_decref(doc);
    free(text);
}

UNIT_TEST(dedupe_drops_repeated_chunks) {
    json_t *b = json_array();
    for (int i = 0; i < 3; i++) {
        json_array_append_new(b, blk("heading", 2, i == 1 ? "Other" : "Boilerplate"));
        json_array_append_new(b, blk("para", 0, "This page is part of the official guide."));
    }
    json_t *doc = doc_with(b);
    chunker_opts o = defaults(400);
    o.dedupe = 1;
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c && json_array_size(c) == 1 && st.duplicates == 2);
    json_decref(c);
    o.dedupe = 0;
    c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c && json_array_size(c) == 3);
    json_decref(c);
    json_decref(doc);
}

UNIT_TEST(tables_split_by_rows_repeat_header) {
    char *t = malloc(20000);
    strcpy(t, "Permit | Duration | Fee (IDR)");
    for (int i = 0; i < 200; i++) {
        char row[64];
        snprintf(row, sizeof row, "\nKITAS type %d | %d months | %d,000", i, i % 24, 1000 + i);
        strcat(t, row);
    }
    json_t *b = json_array();
    json_array_append_new(b, blk("table", 0, t));
    json_t *doc = doc_with(b);
    chunker_opts o = defaults(120);
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c && json_array_size(c) > 5);
    size_t i, rows = 0;
    json_t *ch;
    json_array_foreach(c, i, ch) {
        const char *x = json_string_value(json_object_get(ch, "text"));
        CHECK(strncmp(x, "Permit | Duration | Fee (IDR)\n", 30) == 0);
        CHECK(json_integer_value(json_object_get(ch, "tokens")) <= 120);
        for (const char *p = x; (p = strstr(p, "\nKITAS type ")); p++) rows++;
    }
    CHECK(rows == 200);
    json_decref(c);
    json_decref(doc);
    free(t);
}

UNIT_TEST(overlap_repeats_the_tail_and_says_how_much) {
    char *text = long_text(60);
    json_t *b = json_array();
    json_array_append_new(b, blk("para", 0, text));
    json_t *doc = doc_with(b);
    chunker_opts o = {.max_tokens = 100, .min_tokens = 0, .overlap = 20, .dedupe = 0};
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c && json_array_size(c) > 3);
    for (size_t i = 1; i < json_array_size(c); i++) {
        json_t *prev = json_array_get(c, i - 1), *cur = json_array_get(c, i);
        const char *pt = json_string_value(json_object_get(prev, "text"));
        const char *ct = json_string_value(json_object_get(cur, "text"));
        long ob = (long)json_integer_value(json_object_get(cur, "overlap_bytes"));
        CHECK(ob > 0);
        /* the repeated prefix (less its joining space) ends the previous chunk */
        size_t k = (size_t)ob;
        while (k > 0 && (ct[k - 1] == ' ' || ct[k - 1] == '\n')) k--;
        CHECK(strlen(pt) >= k && memcmp(pt + strlen(pt) - k, ct, k) == 0);
        CHECK(bpe_count(ct, k) <= 20);
        CHECK(json_integer_value(json_object_get(cur, "tokens")) <= 100);
    }
    json_decref(c);
    json_decref(doc);
    free(text);
}

UNIT_TEST(min_tokens_merges_a_small_tail) {
    json_t *b = json_array();
    json_array_append_new(b, blk("para", 0, "First paragraph with a handful of words in it."));
    json_array_append_new(b, blk("para", 0, "Tiny."));
    json_t *doc = doc_with(b);
    chunker_opts o = {.max_tokens = 22, .min_tokens = 5, .overlap = 0, .dedupe = 1};
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c != NULL);
    /* "Tiny." alone would be under 5 tokens: merged when it fits */
    size_t i;
    json_t *ch;
    json_array_foreach(c, i, ch) CHECK(
        json_integer_value(json_object_get(ch, "text_tokens")) >= 5 || json_array_size(c) == 1);
    json_decref(c);
    json_decref(doc);
}

UNIT_TEST(one_huge_word_is_split_exactly) {
    size_t n = 400000;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++) text[i] = "qzxjkvbw"[i % 8]; /* few merges: ~100k tokens */
    text[n] = '\0';
    json_t *b = json_array();
    json_array_append_new(b, blk("para", 0, text));
    json_t *doc = doc_with(b);
    chunker_opts o = defaults(400);
    chunker_stats st = {0};
    char err[256];
    json_t *c = chunker_chunk_doc(doc, &o, &st, err, sizeof err);
    CHECK(c != NULL);
    size_t i, total = 0;
    json_t *ch;
    json_array_foreach(c, i, ch) {
        CHECK(json_integer_value(json_object_get(ch, "tokens")) <= 400);
        total += strlen(json_string_value(json_object_get(ch, "text")));
    }
    CHECK(total == n);
    json_decref(c);
    json_decref(doc);
    free(text);
}

UNIT_TEST(bad_records_are_explained) {
    chunker_opts o = defaults(400);
    chunker_stats st = {0};
    char err[256];
    json_t *doc = json_pack("{s:s}", "doc_id", "d1");
    CHECK(chunker_chunk_doc(doc, &o, &st, err, sizeof err) == NULL);
    CHECK(strstr(err, "blocks") != NULL);
    json_decref(doc);
    doc = json_pack("{s:[{s:s}]}", "blocks", "kind", "para");
    CHECK(chunker_chunk_doc(doc, &o, &st, err, sizeof err) == NULL);
    CHECK(strstr(err, "doc_id") != NULL);
    json_decref(doc);
    json_t *b = json_array();
    json_array_append_new(b, json_pack("{s:s}", "kind", "para"));
    doc = doc_with(b);
    CHECK(chunker_chunk_doc(doc, &o, &st, err, sizeof err) == NULL);
    CHECK(strstr(err, "block 0") != NULL);
    json_decref(doc);
    b = json_array();
    json_array_append_new(b, blk("para", 0, "   \n\t  "));
    doc = doc_with(b);
    CHECK(chunker_chunk_doc(doc, &o, &st, err, sizeof err) == NULL);
    CHECK(strstr(err, "no text") != NULL);
    json_decref(doc);
}

/* The line bound is exact: a line of max_line bytes is read, one byte more
 * is refused by number and skipped to its end, and the next line reads. */
UNIT_TEST(jsonl_max_line_bound_is_exact) {
    char in[256];
    /* {"a":"..."} of exactly 40 bytes, then 41, then 40 with no newline */
    snprintf(in, sizeof in, "{\"a\":\"%032d\"}\n{\"a\":\"%033d\"}\n{\"b\":\"%032d\"}", 0, 0, 0);
    FILE *f = fmemopen(in, strlen(in), "r");
    jsonl_reader *r = jsonl_open(f, "t", 40);
    json_t *o = NULL;
    CHECK(jsonl_next(r, &o) == JSONL_OK && o);
    json_decref(o);
    CHECK(jsonl_next(r, &o) == JSONL_BAD && JSONL_BAD == NZ_EINVAL);
    CHECK_STR(jsonl_error(r), "t: line 2: longer than the limit of 40 bytes");
    CHECK(jsonl_next(r, &o) == JSONL_OK && json_object_get(o, "b"));
    json_decref(o);
    CHECK(jsonl_next(r, &o) == JSONL_EOF && jsonl_lineno(r) == 3);
    jsonl_close(r);
    fclose(f);
}
