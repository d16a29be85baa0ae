/* test_lexical.c -- unit tests of the lexical index: the tokeniser
 * (lex_terms.h), the stemmers (stem.h), lexical.bin written by the builder
 * and checked by snapshot_verify, and block-max MaxScore (lex_search.h)
 * against its exhaustive oracle on random corpora. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "lex_search.h"
#include "lex_terms.h"
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
