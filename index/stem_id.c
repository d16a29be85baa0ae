/* stem_id.c -- the light Indonesian stemmer (stem.h).
 *
 * Nazief-Adriani's affixes without its dictionary: inflectional suffixes
 * first (a particle, then a possessive), then at most two derivational
 * prefixes, then one derivational suffix (prefixes before the suffix, as
 * Arifin and Setiono order them, so that berjalan meets jalan). Without a
 * dictionary to say when to stop, length guards do: a suffix goes only
 * when 4 letters stay, a prefix only when 3 stay. After peN-, per- or ke- the suffix is -an,
 * not -kan (the noun confixes: perpajakan -> pajak, not paja). The meN-/peN- nasal is recoded to the letter
 * it replaced the way Sastrawi's rules read it: meny+V -> s, men+V -> t,
 * mem+V -> p, meng+V -> V. Words are ASCII in practice; other bytes just
 * never match an affix.
 */
#include "stem.h"

#include <string.h>

static int sid_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* Strip suffix suf from w[0..*n) when at least keep bytes stay. */
static int sid_suffix(const char *w, size_t *n, const char *suf, size_t keep) {
    size_t l = strlen(suf);
    if (*n < l + keep || memcmp(w + *n - l, suf, l) != 0) return 0;
    *n -= l;
    return 1;
}

/* One derivational prefix off w (its stem written into buf, which may
 * alias nothing): returns the new length, or 0 when no prefix applies. */
static size_t sid_prefix(const char *w, size_t n, char *buf) {
    size_t cut = 0;
    char recode = 0;
    if (n < 5) return 0;
    if (!memcmp(w, "di", 2) || !memcmp(w, "ke", 2) || !memcmp(w, "se", 2)) cut = 2;
    else if (!memcmp(w, "ter", 3) || !memcmp(w, "ber", 3) || !memcmp(w, "per", 3)) cut = 3;
    else if (!memcmp(w, "me", 2) || !memcmp(w, "pe", 2)) {
        const char *r = w + 2;
        size_t left = n - 2;
        if (left > 2 && r[0] == 'n' && r[1] == 'y' && sid_vowel(r[2])) cut = 4, recode = 's';
        else if (left > 2 && r[0] == 'n' && r[1] == 'g') cut = 4;
        else if (left > 1 && r[0] == 'm' && strchr("bfpv", r[1])) cut = 3;
        else if (left > 1 && r[0] == 'm' && sid_vowel(r[1])) cut = 3, recode = 'p';
        else if (left > 1 && r[0] == 'n' && strchr("cdjstz", r[1])) cut = 3;
        else if (left > 1 && r[0] == 'n' && sid_vowel(r[1])) cut = 3, recode = 't';
        else if (strchr("lrwymn", r[0])) cut = 2;
    } else if (!memcmp(w, "be", 2) && n > 2 && !sid_vowel(w[2])) {
        cut = 2; /* bekerja */
    }
    if (!cut || n - cut + (recode != 0) < 3) return 0;
    size_t m = 0;
    if (recode) buf[m++] = recode;
    memmove(buf + m, w + cut, n - cut);
    return m + n - cut;
}

size_t stem_id(const char *w, size_t n, char *out) {
    memmove(out, w, n);
    if (n < 4) return n;
    if (!sid_suffix(out, &n, "lah", 4) && !sid_suffix(out, &n, "kah", 4) &&
        !sid_suffix(out, &n, "tah", 4))
        sid_suffix(out, &n, "pun", 4);
    if (!sid_suffix(out, &n, "nya", 4) && !sid_suffix(out, &n, "ku", 4))
        sid_suffix(out, &n, "mu", 4);
    /* peN-an, per-an and ke-an make nouns of -an, not -kan: perpajakan */
    int noun = !memcmp(out, "pe", 2) || !memcmp(out, "ke", 2);
    for (int round = 0; round < 2; round++) {
        size_t m = sid_prefix(out, n, out);
        if (!m) break;
        n = m;
    }
    if (noun || !sid_suffix(out, &n, "kan", 4)) sid_suffix(out, &n, "an", 4);
    return n;
}
