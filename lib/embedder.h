/* embedder.h -- embed one query text with a snapshot's own provider.
 *
 * An index answers text queries only in the vector space it was built in,
 * so the provider, model and dimension come from the snapshot's manifest,
 * never from the caller's environment. The `hash` provider runs in process.
 */
#ifndef NZ_EMBEDDER_H
#define NZ_EMBEDDER_H

#include <stddef.h>

/* Fill out[0..dim). 0 on success; -1 with err on failure. */
int embedder_query(const char *provider, const char *model, size_t dim, const char *text,
                   float *out, char *err, size_t errlen);

#endif
