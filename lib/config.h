/* config.h -- configuration: flags over environment over defaults.
 *
 * The keys are the table of DESIGN.md. A binary's option parser calls
 * config_set() for each flag it was given; config_get() then answers from
 * the flag, else the environment variable of the same name, else the
 * default. Values are validated where they are read (config_long), so a
 * bad PORT is a usage error with a clear message, not a silent zero.
 *
 * Secret keys (OPENAI_API_KEY, DATABASE_URL, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY) are marked: config_describe()
 * prints them redacted, and nothing else in the tree prints them at all.
 */
#ifndef NZ_CONFIG_H
#define NZ_CONFIG_H

#include <jansson.h>

typedef enum {
    CFG_INDEX_PATH,
    CFG_PORT,
    CFG_EMBEDDING_PROVIDER,
    CFG_EMBEDDING_MODEL,
    CFG_EMBEDDING_DIMENSIONS,
    CFG_OPENAI_API_KEY,
    CFG_OPENAI_BASE_URL,
    CFG_DATABASE_URL,
    CFG_AWS_ENDPOINT_URL,
    CFG_AWS_REGION,
    CFG_AWS_ACCESS_KEY_ID,
    CFG_AWS_SECRET_ACCESS_KEY,
    CFG_NZ_S3_PART_SIZE,
    CFG_SNAPSHOT_STORE,
    CFG_COUNT
} config_key;

#define CONFIG_MAX_DIM 16384

void config_set(config_key key, const char *value); /* from a flag; NULL clears */
const char *config_get(config_key key);             /* NULL when unset and no default */
const char *config_name(config_key key);
const char *config_source(config_key key); /* "flag", "env" or "default" */

/* Parse an integer setting within [min,max]. 0 on success; on failure logs
 * a clear message naming the setting and returns -1. */
int config_long(config_key key, long min, long max, long *out);

/* Parse a flag's value the same way; `what` names it in errors. The whole
 * text must be the number: "", "12abc", " 1" and an out-of-range value are
 * refused, and so are NaN and infinities. 0, or -1 after logging why. */
int config_parse_long(const char *what, const char *text, long min, long max, long *out);
int config_parse_double(const char *what, const char *text, double min, double max, double *out);

/* {"INDEX_PATH":{"value":..,"source":..},...} with secrets redacted. */
json_t *config_describe(void);

/* A copy of a URL with any password replaced by "***". malloc'd. */
char *config_redact_url(const char *url);

#endif
