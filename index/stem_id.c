/* stem_id.c -- the light Indonesian stemmer (stem.h).
 *
 * Nazief-Adriani's affixes without its dictionary: inflectional suffixes
 * first (a particle, then a possessive), then at most two derivational
 * prefixes, then one derivational suffix (prefixes before the suffix, as
 * Arifin and Setiono order them, so that berjalan meets jalan). Without a
 * dictionary to say when to stop, guards do: an affix goes only when what
 * stays has two vowels (Indonesian roots have two syllables or more:
 * besar, kecil, berkas, bahan and jalan are roots, not be-sar, ke-cil,
 * ber-kas, bah-an, jal-an) and at least 3 letters, a suffix only when 4
 * letters stay (keadaan stays adaan: ada, "there is", is everywhere). After peN-, per- or ke-
 * the suffix is -an, not -kan (the noun confixes: perpajakan -> pajak, not
 * paja). be- is a prefix only before C-er- (bekerja -> kerja; Sastrawi's
 * rule), ber- everywhere else. The meN-/peN- nasal is recoded to the
 * letter it replaced the way Sastrawi's rules read it: meny+V -> s,
 * men+V -> t, mem+V -> p, meng+V -> V. Words are ASCII in practice; other
 * bytes just never match an affix.
 */
#include "stem.h"

#include <string.h>

static int sid_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* 1 when w[0..n) may be a root: 3 letters or more, two of them vowels. */
static int sid_root(const char *w, size_t n) {
    size_t v = 0;
    for (size_t i = 0; i < n; i++) v += sid_vowel(w[i]);
    return n >= 3 && v >= 2;
}

/* Strip suffix suf from w[0..*n) when at least keep bytes stay, and a root. */
static int sid_suffix(const char *w, size_t *n, const char *suf, size_t keep) {
    size_t l = strlen(suf);
    if (*n < l + keep || memcmp(w + *n - l, suf, l) != 0 || !sid_root(w, *n - l)) return 0;
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
    } else if (!memcmp(w, "be", 2) && !sid_vowel(w[2]) && w[2] != 'r' && w[3] == 'e' &&
               w[4] == 'r') {
        cut = 2; /* bekerja */
    }
    if (!cut) return 0;
    char stem[64];
    size_t m = 0;
    if (n - cut + 1 > sizeof stem) return 0;
    if (recode) stem[m++] = recode;
    memcpy(stem + m, w + cut, n - cut);
    m += n - cut;
    if (!sid_root(stem, m)) return 0;
    memcpy(buf, stem, m);
    return m;
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
