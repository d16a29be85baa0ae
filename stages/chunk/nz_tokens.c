/* nz-tokens -- cl100k_base token ids or counts, for people and for tests.
 *
 *   nz-tokens [--count] [TEXT...]     each TEXT, or stdin as one text
 *   nz-tokens --jsonl [--count]       one JSON string a line on stdin
 *
 * Prints one JSON array of token ids per text (or its count), the same ids
 * js-tiktoken and OpenAI's tiktoken give for the cl100k_base encoding.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

static int tokens_print(const char *text, size_t len, int count_only) {
    long n = bpe_count(text, len);
    if (n < 0) {
        log_error("text is not valid UTF-8");
        return -1;
    }
    if (count_only) {
        printf("%ld\n", n);
        return 0;
    }
    uint32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids) {
        log_error("out of memory");
        return -1;
    }
    bpe_encode(text, len, ids, (size_t)n);
    putchar('[');
    for (long i = 0; i < n; i++) printf(i ? ",%u" : "%u", ids[i]);
    puts("]");
    free(ids);
    return 0;
}

int main(int argc, char **argv) {
    log_init("nz-tokens");
    int count_only = 0, jsonl = 0;
    static const struct option longopts[] = {{"count", no_argument, 0, 'c'},
                                             {"jsonl", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "ch", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': count_only = 1; break;
        case 'j': jsonl = 1; break;
        case 'h':
            printf("usage: nz-tokens [--count] [TEXT...] | nz-tokens --jsonl [--count] < "
                   "strings.jsonl\n");
            return NZ_EXIT_OK;
        default: return NZ_EXIT_USAGE;
        }
    }
    char err[256];
    if (bpe_init(err, sizeof err) < 0) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    int bad = 0;
    if (jsonl) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        size_t lineno = 0;
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
    } else if (optind < argc) {
        for (int i = optind; i < argc; i++)
            if (tokens_print(argv[i], strlen(argv[i]), count_only) < 0) bad = 1;
    } else {
        size_t cap = 65536, len = 0;
        char *buf = malloc(cap);
        size_t r;
        while (buf && (r = fread(buf + len, 1, cap - len, stdin)) > 0) {
            len += r;
            if (len == cap) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) break;
                buf = nb;
                cap *= 2;
            }
        }
        if (!buf || tokens_print(buf, len, count_only) < 0) bad = 1;
        free(buf);
    }
    return bad ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
}
