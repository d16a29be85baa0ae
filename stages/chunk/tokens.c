/* tokens.c -- see tokens.h. */
#include "tokens.h"

#include <ctype.h>

long tokens_count(const char *text, size_t len) {
    long words = 0, punct = 0;
    int in_word = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isalnum(c) || c >= 0x80) {
            if (!in_word) words++;
            in_word = 1;
        } else {
            in_word = 0;
            if (!isspace(c)) punct++;
        }
    }
    long by_bytes = (long)((len + 3) / 4);
    long by_units = words + punct;
    return by_bytes > by_units ? by_bytes : by_units;
}
