/* tokbench.c -- cl100k_base encoding speed, in process: the texts are
 * read first, then encoded REPS times; only the encoding is timed.
 *
 *   nz-tokbench REPS < strings.jsonl     prints: tokens seconds tokens_per_s
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpe.h"

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    char *line = NULL;
    size_t cap = 0, n = 0, ncap = 1024;
    ssize_t len;
    json_t **texts = malloc(ncap * sizeof *texts);
    while (texts && (len = getline(&line, &cap, stdin)) > 0) {
        json_t *s = json_loadb(line, (size_t)len, JSON_DECODE_ANY, NULL);
        if (!json_is_string(s)) continue;
        if (n == ncap) texts = realloc(texts, (ncap *= 2) * sizeof *texts);
        if (texts) texts[n++] = s;
    }
    free(line);
    if (!texts || bpe_init(NULL, 0) < 0) return 1;
    uint32_t *ids = malloc(65536 * sizeof *ids);
    struct timespec t0, t1;
    long total = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++)
            total +=
                bpe_encode(json_string_value(texts[i]), json_string_length(texts[i]), ids, 65536);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld %.4f %.0f\n", total, s, (double)total / s);
    for (size_t i = 0; i < n; i++) json_decref(texts[i]);
    free(texts);
    free(ids);
    return 0;
}
