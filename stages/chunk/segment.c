/* segment.c -- see segment.h. */
#include "segment.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const segment_abbrevs[] = {
    /* English */
    "e.g", "i.e", "etc", "vs", "cf", "al", "approx", "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr",
    "St", "No", "no", "Nos", "Art", "art", "Sec", "sec", "Ch", "ch", "Fig", "fig", "Vol", "vol",
    "pp", "p", "Inc", "Ltd", "Co", "Corp", "U.S", "U.K", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul",
    "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
    /* Indonesian */
    "dll", "dsb", "dst", "tsb", "yth", "Yth", "Tbk", "tbk", "PT", "Pt", "CV", "Rp", "Jl", "Jln",
    "Kec", "Kab", "Kel", "Prov", "Bpk", "Sdr", "Sdri", "Ibu", "Hj", "H", "Ir", "Drs", "Dra", "hlm",
    "Hlm", "psl", "Psl", "Pasal", "Ayat", "ayat", "Nomor", "Kep", "Per", "Perpres", "Permen", "Tn",
    "Ny", "a.n", "u.p", "s.d", "a.l", NULL};

static int segment_is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Is the word ending just before text[dot] (the '.') an abbreviation? */
static int segment_abbrev(const char *text, size_t dot) {
    size_t start = dot;
    while (start > 0 && !segment_is_space((unsigned char)text[start - 1]) &&
           text[start - 1] != '(' && text[start - 1] != '"')
        start--;
    size_t n = dot - start;
    if (n == 0) return 0;
    const char *w = text + start;
    /* numbers and numbered headings: "1.2.", "Rp4.800.000" */
    int digits = 0, letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)w[i])) digits++;
        else if (isalpha((unsigned char)w[i])) letters++;
    }
    if (digits && !letters) return 1;
    if (letters == 1 && n <= 2) return 1; /* initials, "a." list markers */
    for (int i = 0; segment_abbrevs[i]; i++)
        if (strlen(segment_abbrevs[i]) == n && memcmp(w, segment_abbrevs[i], n) == 0) return 1;
    return 0;
}

/* Does a numbered item start at text[i]? "(1) ", "(a) ", "a. ", "12. ", "b) " */
static int segment_item_start(const char *text, size_t len, size_t i) {
    const unsigned char *u = (const unsigned char *)text;
    size_t j = i;
    if (j < len && u[j] == '(') {
        j++;
        size_t k = j;
        while (k < len && k - j < 4 && isalnum(u[k])) k++;
        return k > j && k + 1 < len && u[k] == ')' && u[k + 1] == ' ';
    }
    size_t k = j;
    while (k < len && k - j < 3 && isdigit(u[k])) k++;
    if (k == j && j < len && islower(u[j])) k = j + 1;
    return k > j && k + 1 < len && (u[k] == '.' || u[k] == ')') && u[k + 1] == ' ' &&
           /* "a." only when followed by a capital: not "a. m." times */
           (isdigit(u[j]) || (k + 2 < len && (isupper(u[k + 2]) || u[k + 2] >= 0x80)));
}

/* Can a sentence start at text[i]? */
static int segment_starts(const char *text, size_t len, size_t i) {
    unsigned char c = (unsigned char)text[i];
    return isupper(c) || isdigit(c) || c == '(' || c == '"' || c == '\'' || c == '[' || c >= 0x80 ||
           segment_item_start(text, len, i);
}

long segment_sentences(const char *text, size_t len, size_t **ends) {
    size_t cap = 16, n = 0;
    size_t *e = malloc(cap * sizeof *e);
    if (!e) return -1;
#define SEGMENT_PUSH(x)                                \
    do {                                               \
        if (n == cap) {                                \
            cap *= 2;                                  \
            size_t *ne_ = realloc(e, cap * sizeof *e); \
            if (!ne_) {                                \
                free(e);                               \
                return -1;                             \
            }                                          \
            e = ne_;                                   \
        }                                              \
        e[n++] = (x);                                  \
    } while (0)
    size_t last = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        size_t cut = 0;
        if (c == '.' || c == '!' || c == '?') {
            size_t j = i + 1;
            while (j < len && strchr("\"')]", text[j])) j++; /* closing quotes, brackets */
            if (j < len && segment_is_space((unsigned char)text[j])) {
                size_t k = j;
                while (k < len && segment_is_space((unsigned char)text[k])) k++;
                if (k < len && segment_starts(text, len, k) &&
                    !(c == '.' && segment_abbrev(text, i)))
                    cut = k;
            }
        } else if (segment_is_space((unsigned char)c) && i > last && i + 1 < len &&
                   !segment_is_space((unsigned char)text[i + 1]) &&
                   segment_item_start(text, len, i + 1)) {
            /* an item number starts a unit even after a colon or semicolon */
            char p = text[i - 1];
            if (p == ':' || p == ';' || p == ',' || (i >= 3 && !strncmp(text + i - 3, "dan", 3)) ||
                (i >= 4 && !strncmp(text + i - 4, "atau", 4)))
                cut = i + 1;
        }
        if (cut > last && cut < len) {
            SEGMENT_PUSH(cut);
            last = cut;
            i = cut - 1;
        }
    }
    SEGMENT_PUSH(len);
#undef SEGMENT_PUSH
    *ends = e;
    return (long)n;
}

int segment_ends_sentence(const char *text, size_t len) {
    while (len && segment_is_space((unsigned char)text[len - 1])) len--;
    while (len && strchr("\"')]", text[len - 1])) len--;
    if (!len) return 1;
    char c = text[len - 1];
    return c == '.' || c == '!' || c == '?' || c == ':' || c == ';';
}

size_t segment_word_break(const char *text, size_t from, size_t limit) {
    for (size_t i = limit; i > from; i--)
        if (segment_is_space((unsigned char)text[i - 1])) return i;
    return 0;
}
