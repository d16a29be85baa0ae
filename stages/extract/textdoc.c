/* textdoc.c -- see textdoc.h. A line-oriented state machine: one pass, no
 * backtracking beyond the one line of look-ahead that setext headings need. */
#include "textdoc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "buf.h"
#include "status.h"

typedef struct {
    const char *p;
    size_t len;
} textdoc_line;

/* The block being assembled. */
typedef struct {
    buf text;
    block_kind kind;
    int open;
} textdoc_acc;

/* Append n bytes, after `sep` unless the block is empty or sep is 0.
 * NZ_OK or NZ_ENOMEM. */
static int textdoc_acc_add(textdoc_acc *a, const char *p, size_t n, char sep) {
    if (a->text.len && sep && buf_addc(&a->text, sep) < 0) return NZ_ENOMEM;
    return buf_add(&a->text, p, n);
}

static int textdoc_flush(textdoc_acc *a, json_t *blocks) {
    int rc = 0;
    if (a->open && a->text.len) rc = blocks_add(blocks, a->kind, 0, 0, a->text.s, a->text.len);
    buf_reset(&a->text);
    a->open = 0;
    return rc;
}

static int textdoc_blank(textdoc_line l) {
    for (size_t i = 0; i < l.len; i++)
        if (!isspace((unsigned char)l.p[i])) return 0;
    return 1;
}

static size_t textdoc_indent(textdoc_line l) {
    size_t i = 0;
    while (i < l.len && l.p[i] == ' ') i++;
    return i;
}

/* ATX heading: returns level and sets *text, or 0. */
static int textdoc_atx(textdoc_line l, textdoc_line *text) {
    size_t i = textdoc_indent(l);
    if (i > 3) return 0;
    int level = 0;
    while (i < l.len && l.p[i] == '#' && level < 7) i++, level++;
    if (level < 1 || level > 6) return 0;
    if (i < l.len && l.p[i] != ' ' && l.p[i] != '\t') return 0;
    size_t end = l.len;
    while (end > i && isspace((unsigned char)l.p[end - 1])) end--;
    size_t close = end; /* optional closing #s preceded by a space */
    while (close > i && l.p[close - 1] == '#') close--;
    if (close < end && (close == i || l.p[close - 1] == ' ')) end = close;
    text->p = l.p + i;
    text->len = end - i;
    return level;
}

static int textdoc_setext(textdoc_line l) { /* 1 for ===, 2 for ---, else 0 */
    size_t i = textdoc_indent(l);
    if (i > 3 || i >= l.len) return 0;
    char c = l.p[i];
    if (c != '=' && c != '-') return 0;
    size_t n = 0;
    for (; i < l.len; i++) {
        if (l.p[i] == c) n++;
        else if (!isspace((unsigned char)l.p[i])) return 0;
    }
    return n >= 2 || c == '=' ? (c == '=' ? 1 : 2) : 0;
}

static int textdoc_fence(textdoc_line l, char *fc, size_t *flen) {
    size_t i = textdoc_indent(l);
    if (i > 3 || i >= l.len || (l.p[i] != '`' && l.p[i] != '~')) return 0;
    char c = l.p[i];
    size_t n = 0;
    while (i + n < l.len && l.p[i + n] == c) n++;
    if (n < 3) return 0;
    *fc = c;
    *flen = n;
    return 1;
}

/* List marker: returns the offset of the item text, or 0. */
static size_t textdoc_list_item(textdoc_line l) {
    size_t i = textdoc_indent(l);
    if (i >= l.len) return 0;
    if (l.p[i] == '-' || l.p[i] == '*' || l.p[i] == '+') {
        if (i + 1 < l.len && (l.p[i + 1] == ' ' || l.p[i + 1] == '\t')) return i + 2;
        return 0;
    }
    size_t d = i;
    while (d < l.len && d - i < 9 && isdigit((unsigned char)l.p[d])) d++;
    if (d > i && d + 1 < l.len && (l.p[d] == '.' || l.p[d] == ')') && l.p[d + 1] == ' ')
        return d + 2;
    return 0;
}

static int textdoc_table_row(textdoc_line l) {
    size_t i = textdoc_indent(l);
    return i < l.len && l.p[i] == '|';
}

/* |---|:--:| rows carry no text. */
static int textdoc_table_rule(textdoc_line l) {
    for (size_t i = 0; i < l.len; i++)
        if (!strchr("|-: \t", l.p[i])) return 0;
    return 1;
}

/* Append a pipe-table row as "a | b | c". */
static int textdoc_table_add(textdoc_acc *a, textdoc_line l) {
    const char *p = l.p, *end = l.p + l.len;
    while (p < end && isspace((unsigned char)*p)) p++;
    while (end > p && isspace((unsigned char)end[-1])) end--;
    if (p < end && *p == '|') p++;
    if (end > p && end[-1] == '|') end--;
    int first = 1;
    if (a->text.len && textdoc_acc_add(a, "", 0, '\n') < 0) return NZ_ENOMEM;
    while (p <= end) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *ce = bar ? bar : end;
        const char *cs = p;
        while (cs < ce && isspace((unsigned char)*cs)) cs++;
        const char *cend = ce;
        while (cend > cs && isspace((unsigned char)cend[-1])) cend--;
        if (!first && textdoc_acc_add(a, " | ", 3, 0) < 0) return NZ_ENOMEM;
        if (textdoc_acc_add(a, cs, (size_t)(cend - cs), 0) < 0) return NZ_ENOMEM;
        first = 0;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

int textdoc_is_markdown(const char *s, size_t len) {
    const char *p = s, *end = s + len;
    int lines = 0;
    while (p < end && lines < 2000) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        textdoc_line l = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
        textdoc_line t;
        char fc;
        size_t fl;
        if (textdoc_atx(l, &t) || textdoc_fence(l, &fc, &fl) ||
            (textdoc_table_row(l) && textdoc_table_rule(l) && memchr(l.p, '-', l.len)))
            return 1;
        lines++;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

/* Plain text often opens with a title line: short, alone, no full stop. */
static size_t textdoc_title_line(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && (s[i] == '\n' || s[i] == '\r')) i++;
    const char *nl = memchr(s + i, '\n', len - i);
    if (!nl) return 0;
    size_t n = (size_t)(nl - (s + i)), end = n;
    while (end > 0 && isspace((unsigned char)s[i + end - 1])) end--;
    size_t rest = (size_t)(nl - s) + 1;
    if (end == 0 || end > 120 || strchr(".:;,", s[i + end - 1])) return 0;
    if (rest < len && s[rest] != '\n' &&
        !(s[rest] == '\r' && rest + 1 < len && s[rest + 1] == '\n'))
        return 0; /* must be followed by a blank line */
    return rest;
}

int textdoc_parse(const char *s, size_t len, int markdown, json_t *blocks) {
    textdoc_acc a = {.text = BUF_INIT};
    const char *p = s, *end = s + len;
    if (!markdown) {
        size_t t = textdoc_title_line(s, len);
        if (t > 0) {
            if (blocks_add(blocks, BLOCK_HEADING, 1, 0, s, t) < 0) return NZ_ENOMEM;
            p = s + t;
        }
    }
    int in_fence = 0, rc = NZ_ENOMEM;
    char fence_c = 0;
    size_t fence_n = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        textdoc_line l = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
        if (l.len && l.p[l.len - 1] == '\r') l.len--;
        const char *next = nl ? nl + 1 : end;

        if (!markdown) {
            if (textdoc_blank(l)) {
                if (textdoc_flush(&a, blocks) < 0) goto err;
            } else {
                a.open = 1;
                a.kind = BLOCK_PARA;
                if (textdoc_acc_add(&a, l.p, l.len, ' ') < 0) goto err;
            }
            p = next;
            continue;
        }

        if (in_fence) {
            char fc;
            size_t fl;
            if (textdoc_fence(l, &fc, &fl) && fc == fence_c && fl >= fence_n &&
                textdoc_blank(
                    (textdoc_line){l.p + textdoc_indent(l) + fl, l.len - textdoc_indent(l) - fl})) {
                in_fence = 0;
                if (textdoc_flush(&a, blocks) < 0) goto err;
            } else {
                if (textdoc_acc_add(&a, l.p, l.len, '\n') < 0) goto err;
            }
            p = next;
            continue;
        }

        textdoc_line t;
        int level;
        char fc;
        size_t fl, item;
        if (textdoc_blank(l)) {
            if (textdoc_flush(&a, blocks) < 0) goto err;
        } else if ((level = textdoc_atx(l, &t)) > 0) {
            if (textdoc_flush(&a, blocks) < 0) goto err;
            if (blocks_add(blocks, BLOCK_HEADING, level, 0, t.p, t.len) < 0) goto err;
        } else if (textdoc_fence(l, &fc, &fl)) {
            if (textdoc_flush(&a, blocks) < 0) goto err;
            in_fence = 1;
            fence_c = fc;
            fence_n = fl;
            a.open = 1;
            a.kind = BLOCK_CODE;
        } else if (a.open && a.kind == BLOCK_PARA && (level = textdoc_setext(l)) > 0) {
            /* the paragraph so far was a setext heading */
            if (blocks_add(blocks, BLOCK_HEADING, level, 0, a.text.s, a.text.len) < 0) goto err;
            buf_reset(&a.text);
            a.open = 0;
        } else if (textdoc_table_row(l)) {
            if (a.open && a.kind != BLOCK_TABLE && textdoc_flush(&a, blocks) < 0) goto err;
            a.open = 1;
            a.kind = BLOCK_TABLE;
            if (!textdoc_table_rule(l) && textdoc_table_add(&a, l) < 0) goto err;
        } else if ((item = textdoc_list_item(l)) > 0) {
            if (textdoc_flush(&a, blocks) < 0) goto err;
            a.open = 1;
            a.kind = BLOCK_LIST;
            if (textdoc_acc_add(&a, l.p + item, l.len - item, ' ') < 0) goto err;
        } else if (!a.open && textdoc_indent(l) >= 4) {
            a.open = 1; /* indented code block */
            a.kind = BLOCK_CODE;
            if (textdoc_acc_add(&a, l.p + 4, l.len - 4, '\n') < 0) goto err;
        } else {
            size_t i = textdoc_indent(l);
            if (a.open && a.kind == BLOCK_CODE) {
                if (i >= 4) {
                    if (textdoc_acc_add(&a, l.p + 4, l.len - 4, '\n') < 0) goto err;
                    p = next;
                    continue;
                }
                if (textdoc_flush(&a, blocks) < 0) goto err;
            }
            if (a.open && a.kind == BLOCK_TABLE && textdoc_flush(&a, blocks) < 0) goto err;
            if (i < l.len && l.p[i] == '>') { /* block quote: keep the text */
                i++;
                if (i < l.len && l.p[i] == ' ') i++;
            }
            if (!a.open) {
                a.open = 1;
                a.kind = BLOCK_PARA;
            }
            /* continuation lines of a list item or paragraph join with a space */
            if (textdoc_acc_add(&a, l.p + i, l.len - i, ' ') < 0) goto err;
        }
        p = next;
    }
    if (textdoc_flush(&a, blocks) < 0) goto err;
    rc = 0;
err:
    buf_free(&a.text);
    return rc;
}
