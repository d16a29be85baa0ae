/* lang.c -- see lang.h. */
#include "lang.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const lang_id_words[] = {
    "yang", "dan",     "di",     "ke",    "dari",  "untuk", "dengan",   "adalah",
    "ini",  "itu",     "dalam",  "tidak", "atau",  "pada",  "oleh",     "sebagai",
    "akan", "dapat",   "harus",  "wajib", "bagi",  "serta", "tersebut", "juga",
    "jika", "apabila", "setiap", "belum", "sudah", "anda",  NULL};
static const char *const lang_en_words[] = {
    "the", "and",   "of",  "to",   "in",     "is",   "for",  "with", "that", "are", "be",
    "on",  "as",    "by",  "or",   "this",   "from", "must", "an",   "it",   "not", "your",
    "you", "which", "can", "will", "should", "have", "has",  "at",   NULL};

/* Function words are 2 to 8 letters: test length and first letter before
 * comparing, so the scan costs a few instructions a word. */
static int lang_in(const char *w, size_t n, const char *const *list) {
    if (n < 2 || n > 8) return 0;
    for (int i = 0; list[i]; i++)
        /* strncmp stops at the entry's NUL, so [n] is read only when the
         * entry is at least n long */
        if (list[i][0] == w[0] && strncmp(list[i], w, n) == 0 && list[i][n] == '\0') return 1;
    return 0;
}

const char *lang_guess(const char *text, size_t len) {
    size_t limit = len < 32768 ? len : 32768;
    long id = 0, en = 0;
    char w[16];
    size_t wn = 0;
    for (size_t i = 0; i <= limit; i++) {
        unsigned char c = i < limit ? (unsigned char)text[i] : ' ';
        if (isalpha(c)) {
            if (wn < sizeof w) w[wn] = (char)tolower(c);
            wn++;
            continue;
        }
        if (wn > 0 && wn < sizeof w) {
            id += lang_in(w, wn, lang_id_words);
            en += lang_in(w, wn, lang_en_words);
            /* enough evidence and a clear lead: stop reading */
            if (id + en >= 60 && (id > 3 * en || en > 3 * id)) break;
        }
        wn = 0;
    }
    if (id + en < 3) return "und";
    if (id > en * 3 / 2) return "id";
    if (en > id * 3 / 2) return "en";
    return id >= en ? "id" : "en";
}

void lang_normalise(const char *tag, char *out, size_t outlen) {
    size_t n = 0;
    while (tag[n] && isalpha((unsigned char)tag[n]) && n + 1 < outlen && n < 8) {
        out[n] = (char)tolower((unsigned char)tag[n]);
        n++;
    }
    out[n] = '\0';
    if (strcmp(out, "in") == 0) strcpy(out, "id"); /* ISO 639 legacy code */
    if (n == 0) snprintf(out, outlen, "und");
}
