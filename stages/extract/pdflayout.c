/* pdflayout.c -- blocks from the lines of a PDF (pdflines.h): running
 * headers and footers dropped, paragraphs and headings rebuilt, words
 * hyphenated at line ends joined. See pdfdoc.h for the rules. */
#include "pdflayout.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocks.h"
#include "buf.h"
#include "status.h"
#include "textclean.h"

/* What layout works with: the lines, and what it measured of them. */
typedef struct pdf_state {
    pdf_line *lines;
    size_t n;
    int npages;
    float body_h, gap;
} pdf_state;

/* Is this zone line only a page number? "12", "- 12 -", "(xii)", "12 / 233",
 * "Page 3 of 40", "Halaman 2 dari 9", "hlm. 4": numbers (arabic or roman)
 * with only separators and the words that go with page numbers. */
static int pdf_is_page_number(const pdf_line *l) {
    static const char *const words[] = {"page", "pages", "p",    "pp",    "of", "halaman",
                                        "hal",  "hlm",   "dari", "seite", NULL};
    const char *s = l->s, *end = l->s + l->len;
    int numbers = 0;
    while (s < end) {
        while (s < end && strchr(" /-()[].:|\xe2\x80\x93", *s)) s++; /* separators, en dash bytes */
        if (s >= end) break;
        const char *w = s;
        while (s < end && isalnum((unsigned char)*s)) s++;
        size_t n = (size_t)(s - w);
        if (n == 0) return 0; /* another symbol */
        int digits = 1, roman = 1;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)w[i])) digits = 0;
            if (!strchr("ivxlcdmIVXLCDM", w[i])) roman = 0;
        }
        if (digits || (roman && n <= 8)) {
            numbers++;
            continue;
        }
        int known = 0;
        for (int k = 0; words[k] && !known; k++)
            known = strlen(words[k]) == n && strncasecmp(w, words[k], n) == 0;
        if (!known) return 0;
    }
    return numbers >= 1 && numbers <= 2;
}

typedef struct {
    uint64_t key;
    int32_t page;
} pdf_keypage;

static int pdf_cmp_keypage(const void *a, const void *b) {
    const pdf_keypage *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? 1 : -1;
    return (x->page > y->page) - (x->page < y->page);
}

/* Mark running headers and footers: zone lines whose key is in the zones
 * of `need` or more distinct pages, and bare page numbers. */
static int pdf_mark_headers(pdf_state *st) {
    if (st->npages < 2) return 0;
    pdf_keypage *kp = malloc((st->n + 1) * sizeof *kp);
    if (!kp) return NZ_ENOMEM;
    size_t nk = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->lines[i].key) kp[nk++] = (pdf_keypage){st->lines[i].key, st->lines[i].page};
    qsort(kp, nk, sizeof *kp, pdf_cmp_keypage);
    /* collapse to (key, distinct pages) in place */
    size_t nd = 0;
    for (size_t i = 0; i < nk;) {
        size_t j = i;
        int32_t pages = 0, last = -1;
        while (j < nk && kp[j].key == kp[i].key) {
            if (kp[j].page != last) pages++;
            last = kp[j].page;
            j++;
        }
        kp[nd++] = (pdf_keypage){kp[i].key, pages};
        i = j;
    }
    int need = st->npages == 2 ? 2 : 3;
    for (size_t i = 0; i < st->n; i++) {
        pdf_line *l = &st->lines[i];
        if (!l->key) continue;
        if (pdf_is_page_number(l)) {
            l->drop = 1;
            continue;
        }
        pdf_keypage probe = {l->key, INT32_MIN};
        size_t lo = 0, hi = nd; /* first entry with key >= probe */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (kp[mid].key < probe.key) lo = mid + 1;
            else hi = mid;
        }
        if (lo < nd && kp[lo].key == l->key && kp[lo].page >= need) l->drop = 1;
    }
    free(kp);
    return 0;
}

static int pdf_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Body font size (median line height) and the usual gap between lines. */
static int pdf_measure(pdf_state *st) {
    float *v = malloc((st->n + 1) * sizeof *v);
    if (!v) return NZ_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < st->n; i++)
        if (!st->lines[i].drop) v[k++] = st->lines[i].y2 - st->lines[i].y1;
    st->body_h = 10;
    if (k) {
        qsort(v, k, sizeof *v, pdf_cmp_float);
        st->body_h = v[k / 2] > 0.5f ? v[k / 2] : 10;
    }
    k = 0;
    const pdf_line *prev = NULL;
    for (size_t i = 0; i < st->n; i++) {
        const pdf_line *l = &st->lines[i];
        if (l->drop) continue;
        if (prev && prev->page == l->page) {
            float g = l->y1 - prev->y2;
            float h = l->y2 - l->y1, ph = prev->y2 - prev->y1;
            if (g >= 0 && fabsf(h - st->body_h) < 0.15f * st->body_h &&
                fabsf(ph - st->body_h) < 0.15f * st->body_h)
                v[k++] = g;
        }
        prev = l;
    }
    st->gap = st->body_h * 0.3f;
    if (k) {
        qsort(v, k, sizeof *v, pdf_cmp_float);
        st->gap = v[k / 2];
    }
    free(v);
    return 0;
}

static int pdf_starts_item(const char *s, uint32_t n) {
    const unsigned char *u = (const unsigned char *)s;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA2 || u[2] == 0x93 || u[2] == 0x94))
        return 1;                                         /* • – — */
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xB7) return 1; /* · */
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x97 && (u[2] == 0xA6 || u[2] == 0x8F))
        return 1; /* ◦ ● */
    if (n >= 2 && (u[0] == '-' || u[0] == '*') && u[1] == ' ') return 1;
    /* (1) (a) 1. a. 1) */
    uint32_t i = 0;
    if (u[0] == '(') {
        i = 1;
        while (i < n && i < 5 && isalnum(u[i])) i++;
        return i > 1 && i < n && u[i] == ')';
    }
    while (i < n && i < 3 && isdigit(u[i])) i++;
    if (i == 0 && n >= 2 && islower(u[0])) i = 1;
    return i > 0 && i + 1 < n && (u[i] == '.' || u[i] == ')') && u[i + 1] == ' ';
}

/* Numbering lines of Indonesian regulations: the heading level, or 0. */
static int pdf_legal_heading(const char *s, uint32_t n) {
    static const struct {
        const char *word;
        int level;
    } kinds[] = {{"BAB ", 1},      {"Bab ", 1},      {"Bagian ", 2}, {"BAGIAN ", 2},
                 {"Paragraf ", 3}, {"PARAGRAF ", 3}, {"Pasal ", 4},  {"PASAL ", 4}};
    if (n > 40) return 0;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        size_t w = strlen(kinds[k].word);
        if (n > w && memcmp(s, kinds[k].word, w) == 0) {
            /* one token after the word: a number, a roman numeral, or a word
             * such as Kesatu */
            for (uint32_t i = (uint32_t)w; i < n; i++)
                if (s[i] == ' ' || s[i] == '.') return 0;
            return kinds[k].level;
        }
    }
    return 0;
}

/* The block being assembled. */
typedef struct pdf_block {
    buf text;
    int page, nlines;
    float h; /* height of its first line */
    int item;
} pdf_block;

/* Append a line, joining words hyphenated at the end of the previous one. */
static int pdf_block_line(pdf_block *b, const pdf_line *l) {
    buf *t = &b->text;
    const unsigned char *u = (const unsigned char *)l->s;
    if (t->len) {
        const unsigned char *s = (const unsigned char *)t->s;
        size_t n = t->len;
        int next_lower = islower(u[0]);
        if (n >= 2 && s[n - 2] == 0xC2 && s[n - 1] == 0xAD) {
            buf_truncate(t, n - 2); /* soft hyphen: always a break point, never a character */
        } else if (s[n - 1] == '-' && n >= 2 && isalpha(s[n - 2])) {
            /* the word fragment before the hyphen */
            size_t w = n - 1;
            while (w > 0 && isalpha(s[w - 1])) w--;
            size_t frag = n - 1 - w;
            int word_case = 1; /* "regu" or "Indo", not "COVID" */
            for (size_t i = w + 1; i < n - 1; i++)
                if (!islower(s[i])) word_case = 0;
            if (next_lower && frag >= 2 && word_case) buf_truncate(t, n - 1); /* regu-lation */
            /* else keep the hyphen: e-KTP, e-mail, COVID-19 */
        } else if (buf_addc(t, ' ') < 0) {
            return NZ_ENOMEM;
        }
    }
    b->nlines++;
    return buf_add(t, l->s, l->len);
}

static int pdf_ends_sentence(const pdf_block *b) {
    if (!b->text.len) return 1;
    char c = b->text.s[b->text.len - 1];
    return strchr(".:;!?", c) != NULL;
}

/* Heading levels by size: distinct heights above the body, largest first. */
typedef struct {
    float h[6];
    int n;
} pdf_sizes;

static int pdf_size_level(const pdf_sizes *sz, float h) {
    for (int i = 0; i < sz->n; i++)
        if (fabsf(sz->h[i] - h) < 0.05f * h) return i + 1;
    return sz->n ? sz->n : 1;
}

static int pdf_emit(json_t *blocks, pdf_block *b, const pdf_state *st, const pdf_sizes *sz) {
    if (!b->text.len) return 0;
    block_kind kind = b->item ? BLOCK_LIST : BLOCK_PARA;
    int level = 0;
    int legal = b->nlines == 1 ? pdf_legal_heading(b->text.s, (uint32_t)b->text.len) : 0;
    if (legal) {
        kind = BLOCK_HEADING;
        level = legal;
    } else if (b->h > st->body_h * 1.15f && b->nlines <= 3 && b->text.len < 200) {
        kind = BLOCK_HEADING;
        level = pdf_size_level(sz, b->h);
    }
    size_t n;
    char *clean = textclean_chars(b->text.s, b->text.len, &n);
    if (!clean) return NZ_ENOMEM;
    n = textclean_collapse(clean, n);
    int rc = blocks_add(blocks, kind, level, b->page, clean, n);
    free(clean);
    buf_reset(&b->text);
    b->nlines = 0;
    return rc;
}

static void pdf_collect_sizes(const pdf_state *st, pdf_sizes *sz) {
    sz->n = 0;
    for (size_t i = 0; i < st->n && sz->n < 6; i++) {
        const pdf_line *l = &st->lines[i];
        float h = l->y2 - l->y1;
        if (l->drop || h <= st->body_h * 1.15f || l->len > 150) continue;
        int seen = 0;
        for (int k = 0; k < sz->n; k++)
            if (fabsf(sz->h[k] - h) < 0.05f * h) seen = 1;
        if (!seen) sz->h[sz->n++] = h;
    }
    /* largest first */
    for (int a = 0; a < sz->n; a++)
        for (int b = a + 1; b < sz->n; b++)
            if (sz->h[b] > sz->h[a]) {
                float t = sz->h[a];
                sz->h[a] = sz->h[b];
                sz->h[b] = t;
            }
}

static int pdf_paragraphs(pdf_state *st, json_t *blocks) {
    pdf_sizes sz;
    pdf_collect_sizes(st, &sz);
    pdf_block b = {.text = BUF_INIT};
    const pdf_line *prev = NULL;
    float bh = st->body_h;
    int rc = NZ_ENOMEM;
    for (size_t i = 0; i < st->n; i++) {
        const pdf_line *l = &st->lines[i];
        if (l->drop) continue;
        float h = l->y2 - l->y1;
        int item = pdf_starts_item(l->s, l->len);
        int brk = 1;
        if (prev && b.text.len) {
            float ph = prev->y2 - prev->y1;
            int same_size = fabsf(h - ph) < 0.15f * bh;
            int lower = islower((unsigned char)l->s[0]);
            if (l->page != prev->page || l->y1 < prev->y1 - 0.5f * bh) {
                /* new page or new column: go on only mid-sentence */
                brk = !(same_size && lower && !pdf_ends_sentence(&b) && !item);
            } else {
                float gap = l->y1 - prev->y2;
                brk = !same_size || item || gap > st->gap + 0.6f * bh ||
                      pdf_legal_heading(l->s, l->len) ||
                      (b.nlines == 1 && pdf_legal_heading(b.text.s, (uint32_t)b.text.len));
            }
        }
        if (brk) {
            if (pdf_emit(blocks, &b, st, &sz) < 0) goto out;
            b.page = l->page;
            b.h = h;
            b.item = item;
        }
        if (pdf_block_line(&b, l) < 0) goto out;
        prev = l;
    }
    rc = pdf_emit(blocks, &b, st, &sz);
out:
    buf_free(&b.text);
    return rc;
}

int pdflayout_blocks(pdf_lines *pl, json_t *blocks) {
    pdf_lines_resolve(pl);
    pdf_state st = {.lines = pl->lines, .n = pl->n, .npages = pl->npages};
    if (pdf_mark_headers(&st) < 0 || pdf_measure(&st) < 0) return NZ_ENOMEM;
    return pdf_paragraphs(&st, blocks);
}
