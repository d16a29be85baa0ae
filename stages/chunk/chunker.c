/* chunker.c -- see chunker.h for the packing rules. */
#include "chunker.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "sha.h"
#include "tokens.h"

#define CHUNKER_MAX_DEPTH 6

/* Fields of docs.jsonl that the chunk record replaces; all others pass. */
static const char *const chunker_doc_fields[] = {"doc_id", "uri",   "title", "mime",  "lang",
                                                 "sha256", "bytes", "mtime", "blocks", NULL};

typedef struct {
    char *s;
    size_t len, cap;
} chunker_buf;

static int chunker_buf_add(chunker_buf *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) return -1;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* Everything one document's chunking needs. */
typedef struct {
    const json_t *doc;
    const chunker_opts *o;
    json_t *out;
    const char *doc_id, *title;
    char *heads[CHUNKER_MAX_DEPTH + 1]; /* heading text per level, 1-based */
    chunker_buf heading, context, cur;
    long budget; /* tokens left for text once the context is paid for */
    int cur_page;
    long ord;
} chunker_state;

static int chunker_is_abbrev(const char *text, size_t dot) {
    static const char *const abbrevs[] = {"No",  "no",  "Pasal", "Ayat", "dll", "dsb", "Tbk",
                                          "PT",  "Rp",  "e.g",   "i.e",  "U.S", "Jl",  "Mr",
                                          "Mrs", "Dr",  "Prof",  "etc",  "vs",  "cf",  "Ir",
                                          "St",  "Co",  "Inc",   "Ltd",  "hlm", "tsb", "Kec",
                                          "Kab", "Sdr", "Bpk",   "Yth",  "a.n", "u.p", NULL};
    size_t start = dot;
    while (start > 0 && (isalpha((unsigned char)text[start - 1]) || text[start - 1] == '.')) start--;
    size_t n = dot - start;
    if (n == 1) return 1; /* single letters: initials, "a." list items */
    for (int i = 0; abbrevs[i]; i++)
        if (strlen(abbrevs[i]) == n && memcmp(text + start, abbrevs[i], n) == 0) return 1;
    return 0;
}

long chunker_sentences(const char *text, size_t len, size_t **ends) {
    size_t cap = 16, n = 0;
    size_t *e = malloc(cap * sizeof *e);
    if (!e) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        int boundary = 0;
        if ((c == '.' || c == '!' || c == '?') && i + 1 < len &&
            isspace((unsigned char)text[i + 1])) {
            size_t j = i + 1;
            while (j < len && isspace((unsigned char)text[j])) j++;
            unsigned char nx = j < len ? (unsigned char)text[j] : 0;
            int starts = isupper(nx) || isdigit(nx) || nx == '(' || nx == '"' || nx >= 0x80;
            boundary = starts && !(c == '.' && chunker_is_abbrev(text, i));
        } else if (c == '\n' && i + 1 < len && text[i + 1] == '\n') {
            boundary = 1;
        }
        if (boundary) {
            size_t end = i + 1;
            while (end < len && isspace((unsigned char)text[end])) end++;
            if (n == cap) {
                cap *= 2;
                size_t *ne = realloc(e, cap * sizeof *ne);
                if (!ne) {
                    free(e);
                    return -1;
                }
                e = ne;
            }
            e[n++] = end;
            i = end - 1;
        }
    }
    if (n == 0 || e[n - 1] != len) {
        if (n == cap) {
            size_t *ne = realloc(e, (cap + 1) * sizeof *ne);
            if (!ne) {
                free(e);
                return -1;
            }
            e = ne;
        }
        e[n++] = len;
    }
    *ends = e;
    return (long)n;
}

static int chunker_rebuild_context(chunker_state *st) {
    st->heading.len = 0;
    st->context.len = 0;
    for (int l = 1; l <= CHUNKER_MAX_DEPTH; l++) {
        if (!st->heads[l]) continue;
        if (st->heading.len == 0 && strcmp(st->heads[l], st->title) == 0)
            continue; /* the top heading that is also the title is said once */
        if (st->heading.len && chunker_buf_add(&st->heading, " > ", 3) < 0) return -1;
        if (chunker_buf_add(&st->heading, st->heads[l], strlen(st->heads[l])) < 0) return -1;
    }
    if (chunker_buf_add(&st->context, st->title, strlen(st->title)) < 0) return -1;
    if (st->heading.len) {
        if (chunker_buf_add(&st->context, " > ", 3) < 0) return -1;
        if (chunker_buf_add(&st->context, st->heading.s, st->heading.len) < 0) return -1;
    }
    /* A context may take at most a quarter of the budget; cut deep paths. */
    long limit = st->o->max_tokens / 4;
    while (st->context.len > 0 && tokens_count(st->context.s, st->context.len) > limit) {
        size_t cut = st->context.len * 3 / 4;
        while (cut > 0 && ((unsigned char)st->context.s[cut] & 0xC0) == 0x80) cut--;
        st->context.len = cut;
        st->context.s[cut] = '\0';
    }
    if (!st->heading.s && chunker_buf_add(&st->heading, "", 0) < 0) return -1;
    if (!st->context.s && chunker_buf_add(&st->context, "", 0) < 0) return -1;
    st->budget = st->o->max_tokens - tokens_count(st->context.s, st->context.len) - 1;
    if (st->budget < 1) st->budget = 1;
    return 0;
}

/* Emit text as one chunk record. */
static int chunker_emit(chunker_state *st, const char *text, size_t len, int page) {
    while (len && isspace((unsigned char)*text)) text++, len--;
    while (len && isspace((unsigned char)text[len - 1])) len--;
    if (len == 0) return 0;
    char *t = strndup(text, len);
    if (!t) return -1;
    char id[ID_HEX_LEN + 1];
    chunker_buf sent = {0};
    json_t *rec = NULL;
    int rc = -1;
    if (sha_id(id, st->doc_id, t) < 0) goto err;
    if (chunker_buf_add(&sent, st->context.s, st->context.len) < 0 ||
        chunker_buf_add(&sent, "\n\n", 2) < 0 || chunker_buf_add(&sent, t, len) < 0)
        goto err;
    const char *uri = jsonl_str(st->doc, "uri"), *lang = jsonl_str(st->doc, "lang");
    rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:I}", "chunk_id", id,
                    "doc_id", st->doc_id, "ord", (json_int_t)st->ord, "uri", uri ? uri : "",
                    "title", st->title, "heading", st->heading.s, "page", page, "lang",
                    lang ? lang : "und", "context", st->context.s, "text", t, "tokens",
                    (json_int_t)tokens_count(sent.s, sent.len), "text_tokens",
                    (json_int_t)tokens_count(t, len));
    if (!rec) goto err;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)st->doc, key, val) {
        int known = 0;
        for (int i = 0; chunker_doc_fields[i]; i++)
            if (strcmp(key, chunker_doc_fields[i]) == 0) known = 1;
        if (!known && !json_object_get(rec, key)) json_object_set(rec, key, val);
    }
    if (json_array_append_new(st->out, rec) < 0) {
        rec = NULL;
        goto err;
    }
    rec = NULL;
    st->ord++;
    rc = 0;
err:
    json_decref(rec);
    free(t);
    free(sent.s);
    return rc;
}

static int chunker_flush(chunker_state *st) {
    int rc = chunker_emit(st, st->cur.s ? st->cur.s : "", st->cur.len, st->cur_page);
    st->cur.len = 0;
    return rc;
}

/* A span with no sentence break over budget: cut at spaces, or at code
 * point boundaries when there are none (one enormous "word"). */
static int chunker_split_words(chunker_state *st, const char *s, size_t len, int page) {
    size_t pos = 0;
    while (pos < len) {
        size_t lo = pos, end = len;
        if (tokens_count(s + pos, len - pos) > st->budget) {
            /* longest prefix within budget, by binary search on the end */
            size_t a = pos + 1, b = len;
            while (a < b) {
                size_t mid = a + (b - a + 1) / 2;
                if (tokens_count(s + pos, mid - pos) <= st->budget)
                    a = mid;
                else
                    b = mid - 1;
            }
            end = a;
            size_t sp = end;
            while (sp > lo && !isspace((unsigned char)s[sp - 1])) sp--;
            if (sp > lo)
                end = sp;
            else
                while (end > lo + 1 && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        if (chunker_emit(st, s + pos, end - pos, page) < 0) return -1;
        pos = end;
    }
    return 0;
}

static int chunker_add_block(chunker_state *st, const char *text, int page) {
    size_t len = strlen(text);
    long t = tokens_count(text, len);
    if (st->cur.len) {
        long joined = tokens_count(st->cur.s, st->cur.len) + 1 + t;
        if (joined > st->budget && chunker_flush(st) < 0) return -1;
    }
    if (t <= st->budget) {
        if (!st->cur.len) st->cur_page = page;
        if (st->cur.len && chunker_buf_add(&st->cur, "\n\n", 2) < 0) return -1;
        return chunker_buf_add(&st->cur, text, len);
    }
    /* Too big alone: pack its sentences. */
    size_t *ends = NULL;
    long n = chunker_sentences(text, len, &ends);
    if (n < 0) return -1;
    size_t start = 0;
    int rc = -1;
    for (long i = 0; i < n; i++) {
        const char *s = text + start;
        size_t slen = ends[i] - start;
        long st_tok = tokens_count(s, slen);
        if (st->cur.len && tokens_count(st->cur.s, st->cur.len) + st_tok > st->budget &&
            chunker_flush(st) < 0)
            goto err;
        if (st_tok > st->budget) {
            if (chunker_split_words(st, s, slen, page) < 0) goto err;
        } else {
            if (!st->cur.len) st->cur_page = page;
            if (chunker_buf_add(&st->cur, s, slen) < 0) goto err;
        }
        start = ends[i];
    }
    rc = 0;
err:
    free(ends);
    return rc;
}

json_t *chunker_chunk_doc(const json_t *doc, const chunker_opts *o, char *err, size_t errlen) {
    chunker_state st = {.doc = doc, .o = o};
    json_t *blocks = json_object_get(doc, "blocks");
    st.doc_id = json_string_value(json_object_get(doc, "doc_id"));
    st.title = json_string_value(json_object_get(doc, "title"));
    if (!st.doc_id || !*st.doc_id) {
        snprintf(err, errlen, "record has no \"doc_id\" string");
        return NULL;
    }
    if (!json_is_array(blocks)) {
        snprintf(err, errlen, "record has no \"blocks\" array");
        return NULL;
    }
    if (!st.title) st.title = "";
    st.out = json_array();
    if (!st.out || chunker_rebuild_context(&st) < 0) goto oom;
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        const char *kind = json_string_value(json_object_get(b, "kind"));
        const char *text = json_string_value(json_object_get(b, "text"));
        if (!json_is_object(b) || !kind || !text) {
            snprintf(err, errlen, "block %zu: needs string \"kind\" and \"text\"", i);
            goto fail;
        }
        int page = (int)jsonl_int(b, "page", 0);
        if (strcmp(kind, "heading") == 0) {
            long level = (long)json_integer_value(json_object_get(b, "level"));
            if (level < 1) level = 1;
            if (level > CHUNKER_MAX_DEPTH) level = CHUNKER_MAX_DEPTH;
            if (chunker_flush(&st) < 0) goto oom;
            for (long l = level; l <= CHUNKER_MAX_DEPTH; l++) {
                free(st.heads[l]);
                st.heads[l] = NULL;
            }
            if (!(st.heads[level] = strdup(text))) goto oom;
            if (chunker_rebuild_context(&st) < 0) goto oom;
            continue;
        }
        if (chunker_add_block(&st, text, page) < 0) goto oom;
    }
    if (chunker_flush(&st) < 0) goto oom;
    if (json_array_size(st.out) == 0) {
        snprintf(err, errlen, "no text to chunk");
        goto fail;
    }
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(st.out);
    st.out = NULL;
done:
    for (int l = 0; l <= CHUNKER_MAX_DEPTH; l++) free(st.heads[l]);
    free(st.heading.s);
    free(st.context.s);
    free(st.cur.s);
    return st.out;
}
