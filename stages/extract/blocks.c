/* blocks.c -- see blocks.h. */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "utf8.h"

static const char *const block_kind_names[] = {"heading", "para", "list", "table", "code"};

const char *block_kind_name(block_kind k) { return block_kind_names[k]; }

static int blocks_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int blocks_add(json_t *blocks, block_kind kind, int level, int page, const char *text, size_t len) {
    while (len && blocks_space(text[0])) text++, len--;
    while (len && blocks_space(text[len - 1])) len--;
    if (len == 0) return NZ_OK;
    char *nfc = utf8_nfc(text, len);
    if (!nfc) return utf8_valid(text, len, NULL) ? NZ_ENOMEM : NZ_EINVAL;
    json_t *b = json_pack("{s:s,s:i,s:i,s:s}", "kind", block_kind_names[kind], "level",
                          kind == BLOCK_HEADING ? level : 0, "page", page, "text", nfc);
    free(nfc);
    if (!b || json_array_append_new(blocks, b) < 0) return NZ_ENOMEM;
    return NZ_OK;
}

const char *blocks_first_heading(const json_t *blocks) {
    size_t i;
    json_t *b;
    const char *best = NULL;
    long best_level = 99;
    json_array_foreach(blocks, i, b) {
        if (strcmp(json_string_value(json_object_get(b, "kind")), "heading") != 0) continue;
        long lvl = (long)json_integer_value(json_object_get(b, "level"));
        if (lvl < best_level) {
            best_level = lvl;
            best = json_string_value(json_object_get(b, "text"));
            if (lvl == 1) break;
        }
    }
    return best;
}
