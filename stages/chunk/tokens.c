/* tokens.c -- see tokens.h. */
#include "tokens.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bpe.h"
#include "buf.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"
#include "status.h"

long tokens_count(const char *text, size_t len) { return bpe_count(text, len); }

/* Print one text's ids or count. NZ_OK, or bpe_count's status (NZ_EINVAL:
 * not UTF-8), said in the log. */
static int tokens_print(const char *text, size_t len, int count_only) {
    long n = bpe_count(text, len);
    if (n < 0) {
        log_error("%s", n == NZ_EINVAL ? "text is not valid UTF-8" : nz_strerror((int)n));
        return (int)n;
    }
    if (count_only) {
        printf("%ld\n", n);
        return NZ_OK;
    }
    uint32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids) {
        log_error("out of memory");
        return NZ_ENOMEM;
    }
    bpe_encode(text, len, ids, (size_t)n);
    putchar('[');
    for (long i = 0; i < n; i++) printf(i ? ",%u" : "%u", ids[i]);
    puts("]");
    free(ids);
    return NZ_OK;
}

/* One JSON string a line of stdin. 1 when some line was refused. */
static int tokens_jsonl(int count_only) {
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int bad = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        json_error_t je;
        json_t *s = json_loadb(line, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!json_is_string(s)) {
            log_reject("-", "line %zu: expected a JSON string", lineno);
            bad = 1;
        } else if (tokens_print(json_string_value(s), json_string_length(s), count_only) < 0) {
            bad = 1;
        }
        json_decref(s);
    }
    free(line);
    return bad;
}

/* All of stdin as one text. 1 when it was refused. */
static int tokens_stdin(int count_only) {
    buf text = BUF_INIT;
    char chunk[65536];
    size_t r;
    int bad = 0;
    while ((r = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (buf_add(&text, chunk, r) < 0) break;
    if (buf_failed(&text)) {
        log_error("out of memory");
        bad = 1;
    } else if (tokens_print(buf_str(&text), text.len, count_only) < 0) {
        bad = 1;
    }
    buf_free(&text);
    return bad;
}

int tokens_run(const tokens_options *o) {
    char err[256];
    if (bpe_init(err, sizeof err) < 0) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    int bad = 0;
    if (o->jsonl) {
        bad = tokens_jsonl(o->count_only);
    } else if (o->ntexts > 0) {
        for (int i = 0; i < o->ntexts; i++)
            if (tokens_print(o->texts[i], strlen(o->texts[i]), o->count_only) < 0) bad = 1;
    } else {
        bad = tokens_stdin(o->count_only);
    }
    return bad ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}
