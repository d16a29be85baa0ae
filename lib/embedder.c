/* embedder.c -- see embedder.h. */
#include "embedder.h"

#include <stdio.h>
#include <string.h>

#include "hashembed.h"

int embedder_query(const char *provider, const char *model, size_t dim, const char *text,
                   float *out, char *err, size_t errlen) {
    if (strcmp(provider, "hash") == 0) {
        if (strcmp(model, HASHEMBED_MODEL) != 0) {
            snprintf(err, errlen, "hash provider: unknown model \"%s\"", model);
            return -1;
        }
        long nf = hashembed(text, strlen(text), out, dim);
        if (nf < 0) {
            snprintf(err, errlen, "query text cannot be embedded");
            return -1;
        }
        if (nf == 0) {
            snprintf(err, errlen, "query text has no words");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "embedding provider \"%s\" is not available in this build", provider);
    return -1;
}
