/* lang.h -- a document's language, Indonesian or English, from its words.
 *
 * NUZANTARA's corpus is Indonesian and English, so a full language
 * identifier would be overkill: the guess counts frequent function words of
 * each language (yang, dan, di, untuk... / the, and, of, to...) and picks the
 * clear winner. Too little evidence gives "und" (undetermined, BCP 47).
 */
#ifndef NZ_LANG_H
#define NZ_LANG_H

#include <stddef.h>

/* "id", "en" or "und". Looks at the first `limit` bytes at most. */
const char *lang_guess(const char *text, size_t len);

/* Normalise a declared tag ("id-ID", "EN_us", "in") to "id"/"en"/its
 * lower-cased primary subtag; writes into out (size >= 16). */
void lang_normalise(const char *tag, char *out, size_t outlen);

#endif
