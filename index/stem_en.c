/* stem_en.c -- the light English stemmer (stem.h): Porter's step 1 in
 * short. Plurals fold (-ies -> -y, -sses -> -ss, -es after s x z ch sh,
 * -s but not -ss -us -is), -ing and -ed go when a vowel stays before them
 * (a doubled final consonant other than l s z is then undone), and a
 * final -e goes from words longer than four letters, so that "configure",
 * "configured" and "configuring" meet.
 */
#include "stem.h"

#include <string.h>

static int sen_vowel(char c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

static int sen_ends(const char *w, size_t n, const char *suf) {
    size_t l = strlen(suf);
    return n >= l && memcmp(w + n - l, suf, l) == 0;
}

static int sen_has_vowel(const char *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (sen_vowel(w[i])) return 1;
    return 0;
}

size_t stem_en(const char *w, size_t n, char *out) {
    memmove(out, w, n);
    if (n <= 3) return n;
    if (sen_ends(out, n, "ies") && n > 4) {
        n -= 2;
        out[n - 1] = 'y';
    } else if (sen_ends(out, n, "sses")) {
        n -= 2;
    } else if (sen_ends(out, n, "es") && n > 4 &&
               (strchr("sxz", out[n - 3]) || sen_ends(out, n, "ches") ||
                sen_ends(out, n, "shes"))) {
        n -= 2;
    } else if (out[n - 1] == 's' && !sen_ends(out, n, "ss") && !sen_ends(out, n, "us") &&
               !sen_ends(out, n, "is")) {
        n -= 1;
    }
    size_t cut = sen_ends(out, n, "ing") ? 3 : sen_ends(out, n, "ed") ? 2 : 0;
    if (cut && n - cut >= 3 && sen_has_vowel(out, n - cut)) {
        n -= cut;
        if (out[n - 1] == out[n - 2] && !sen_vowel(out[n - 1]) && !strchr("lsz", out[n - 1])) n--;
    }
    if (n > 4 && out[n - 1] == 'e') n--;
    return n;
}
