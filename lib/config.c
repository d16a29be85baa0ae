/* config.c -- see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct {
    const char *name;
    const char *dflt;
    int secret;
} config_table[CFG_COUNT] = {
    [CFG_INDEX_PATH] = {"INDEX_PATH", "./data/index", 0},
    [CFG_PORT] = {"PORT", "8000", 0},
    [CFG_EMBEDDING_PROVIDER] = {"EMBEDDING_PROVIDER", "hash", 0},
    [CFG_EMBEDDING_MODEL] = {"EMBEDDING_MODEL", "text-embedding-3-small", 0},
    [CFG_EMBEDDING_DIMENSIONS] = {"EMBEDDING_DIMENSIONS", "1536", 0},
    [CFG_OPENAI_API_KEY] = {"OPENAI_API_KEY", NULL, 1},
    [CFG_OPENAI_BASE_URL] = {"OPENAI_BASE_URL", "https://api.openai.com", 0},
    [CFG_DATABASE_URL] = {"DATABASE_URL", NULL, 1},
    [CFG_AWS_ENDPOINT_URL] = {"AWS_ENDPOINT_URL", NULL, 0},
    [CFG_AWS_REGION] = {"AWS_REGION", "us-east-1", 0},
    [CFG_AWS_ACCESS_KEY_ID] = {"AWS_ACCESS_KEY_ID", NULL, 1},
    [CFG_AWS_SECRET_ACCESS_KEY] = {"AWS_SECRET_ACCESS_KEY", NULL, 1},
    [CFG_NZ_S3_PART_SIZE] = {"NZ_S3_PART_SIZE", "16777216", 0},
    [CFG_SNAPSHOT_STORE] = {"SNAPSHOT_STORE", NULL, 0},
};

static const char *config_flags[CFG_COUNT];

void config_set(config_key key, const char *value) {
    if (key < CFG_COUNT) config_flags[key] = value;
}

const char *config_name(config_key key) { return config_table[key].name; }

const char *config_get(config_key key) {
    if (key >= CFG_COUNT) return NULL;
    if (config_flags[key]) return config_flags[key];
    const char *env = getenv(config_table[key].name);
    if (env && *env) return env;
    return config_table[key].dflt;
}

const char *config_source(config_key key) {
    if (config_flags[key]) return "flag";
    const char *env = getenv(config_table[key].name);
    if (env && *env) return "env";
    return "default";
}

/* 1 when text is exactly one number of the type: no blanks, no junk, no
 * overflow (and, for doubles, finite). */
static int config_whole_long(const char *text, long *v) {
    if (!text || !*text || isspace((unsigned char)*text)) return 0;
    char *end;
    errno = 0;
    *v = strtol(text, &end, 10);
    return !errno && !*end;
}

static int config_whole_double(const char *text, double *v) {
    if (!text || !*text || isspace((unsigned char)*text)) return 0;
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return !errno && !*end && isfinite(*v);
}

/* Log why a flag's text was refused; always -1. `want` says what was
 * expected ("an integer in [1, 10]"). */
static int config_refuse(const char *what, const char *text, const char *want) {
    if (!text || !*text) log_error("%s: empty value", what);
    else log_error("%s: expected %s, got \"%s\"", what, want, text);
    return -1;
}

int config_parse_long(const char *what, const char *text, long min, long max, long *out) {
    long v;
    if (config_whole_long(text, &v) && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    char want[96];
    snprintf(want, sizeof want, "an integer in [%ld, %ld]", min, max);
    return config_refuse(what, text, want);
}

int config_parse_double(const char *what, const char *text, double min, double max, double *out) {
    double v;
    if (config_whole_double(text, &v) && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    char want[96];
    snprintf(want, sizeof want, "a number in [%g, %g]", min, max);
    return config_refuse(what, text, want);
}

int config_long(config_key key, long min, long max, long *out) {
    const char *v = config_get(key);
    if (config_table[key].secret) { /* never echo a secret in an error */
        long n;
        if (!config_whole_long(v, &n) || n < min || n > max) {
            log_error("%s: invalid value", config_table[key].name);
            return -1;
        }
        *out = n;
        return 0;
    }
    return config_parse_long(config_table[key].name, v, min, max, out);
}

char *config_redact_url(const char *url) {
    if (!url) return NULL;
    const char *scheme = strstr(url, "://");
    const char *at = NULL;
    if (scheme) {
        const char *host = scheme + 3;
        const char *slash = strchr(host, '/');
        for (const char *p = host; *p && (!slash || p < slash); p++)
            if (*p == '@') at = p;
        if (at) {
            const char *colon = memchr(host, ':', (size_t)(at - host));
            if (colon) {
                char *out = NULL;
                if (asprintf(&out, "%.*s:***%s", (int)(colon - url), url, at) < 0) return NULL;
                return out;
            }
        }
    } else if (strstr(url, "password=")) {
        /* key=value connection strings: hide the password value */
        const char *p = strstr(url, "password=") + 9;
        const char *e = p;
        while (*e && *e != ' ') e++;
        char *out = NULL;
        if (asprintf(&out, "%.*s***%s", (int)(p - url), url, e) < 0) return NULL;
        return out;
    }
    return strdup(url);
}

json_t *config_describe(void) {
    json_t *o = json_object();
    if (!o) return NULL;
    for (int k = 0; k < CFG_COUNT; k++) {
        const char *v = config_get((config_key)k);
        json_t *val;
        if (!v) val = json_null();
        else if (k == CFG_DATABASE_URL) {
            char *r = config_redact_url(v);
            val = r ? json_string(r) : json_null();
            free(r);
        } else if (config_table[k].secret) val = json_string("***");
        else val = json_string(v);
        json_object_set_new(o, config_table[k].name,
                            json_pack("{s:o,s:s}", "value", val ? val : json_null(), "source",
                                      config_source((config_key)k)));
    }
    return o;
}
