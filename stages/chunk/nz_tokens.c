/* nz-tokens -- cl100k_base token ids or counts, for people and for tests.
 *
 *   nz-tokens [--count] [TEXT...]     each TEXT, or stdin as one text
 *   nz-tokens --jsonl [--count]       one JSON string a line on stdin
 *
 * Prints one JSON array of token ids per text (or its count), the same ids
 * js-tiktoken and OpenAI's tiktoken give for the cl100k_base encoding.
 * This file parses the options; the work is tokens_run() in tokens.h.
 */
#include <getopt.h>
#include <stdio.h>

#include "log.h"
#include "nz.h"
#include "tokens.h"

int main(int argc, char **argv) {
    log_init("nz-tokens");
    tokens_options o = {0};
    static const struct option longopts[] = {{"count", no_argument, 0, 'c'},
                                             {"jsonl", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "ch", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.count_only = 1; break;
        case 'j': o.jsonl = 1; break;
        case 'h':
            printf("usage: nz-tokens [--count] [TEXT...] | nz-tokens --jsonl [--count] < "
                   "strings.jsonl\n");
            return NZ_EXIT_OK;
        default: return NZ_EXIT_USAGE;
        }
    }
    o.ntexts = argc - optind;
    o.texts = argv + optind;
    return tokens_run(&o);
}
