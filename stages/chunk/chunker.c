/* chunker.c -- see chunker.h for the rules. Five phases per section:
 * units (cut to fit), ranges (greedy packing, then exact counts), the
 * min-tokens fix, texts (with overlap), records (with dedupe). */
#include "chunker.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "buf.h"
#include "jsonl.h"
#include "segment.h"
#include "sha.h"

#define CHUNKER_MAX_DEPTH 6

/* Fields of docs.jsonl that the chunk record replaces; all others pass. */
static const char *const chunker_doc_fields[] = {"doc_id", "uri",   "title", "mime",   "lang",
                                                 "sha256", "bytes", "mtime", "blocks", NULL};

/* A piece of a section that is never cut: a block, a sentence, a run of
 * table rows (with the header), a run of words. */
typedef struct unit {
    const char *text; /* into a block, or `owned` */
    size_t len;
    const char *sep; /* what joins it to the unit before: "\n\n" or the
                        white space between sentences of one block */
    size_t sep_len;
    char *owned;
    long tokens; /* of text alone */
    int page;
    int block;      /* index of the block it came from */
    size_t hdr_len; /* a table part after the first: the repeated header
                       row and its newline, left out when the part follows
                       the part before it in the same chunk */
} unit;

typedef struct {
    unit *u;
    size_t n, cap;
} unit_list;

static int units_push(unit_list *l, unit u) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        unit *nu = realloc(l->u, cap * sizeof *nu);
        if (!nu) return -1;
        l->u = nu;
        l->cap = cap;
    }
    l->u[l->n++] = u;
    return 0;
}

static void units_clear(unit_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->u[i].owned);
    l->n = 0;
}

static long chunker_count(const char *s, size_t n) {
    long t = bpe_count(s, n);
    return t < 0 ? 0 : t;
}

/* The longest end in (pos, len] such that text[pos..end) has at most
 * `limit` tokens, preferring word boundaries; never cuts a UTF-8
 * sequence. The search window grows from a guess so that one enormous
 * word costs O(window log window), not O(document). */
static size_t chunker_fit(const char *t, size_t pos, size_t len, long limit) {
    size_t window = (size_t)limit * 16 + 64;
    size_t hi;
    for (;;) {
        hi = len - pos <= window ? len : pos + window;
        if (hi == len || chunker_count(t + pos, hi - pos) > limit) break;
        window *= 2;
    }
    if (chunker_count(t + pos, hi - pos) <= limit) return hi;
    /* largest word boundary that fits */
    size_t lo = pos, best = 0;
    size_t a = pos + 1, b = hi;
    while (a <= b) {
        size_t mid = a + (b - a) / 2;
        size_t wb = segment_word_break(t, pos, mid);
        if (wb <= lo) { /* no boundary at or before mid: look right */
            a = mid + 1;
            continue;
        }
        if (chunker_count(t + pos, wb - pos) <= limit) {
            best = wb;
            lo = wb;
            a = mid + 1;
        } else {
            b = wb - 1;
        }
    }
    if (best) return best;
    /* one word longer than the limit: cut between code points */
    a = pos + 1;
    b = hi;
    best = pos;
    while (a <= b) {
        size_t mid = a + (b - a) / 2;
        size_t m = mid;
        while (m > pos && m < len && ((unsigned char)t[m] & 0xC0) == 0x80) m--;
        if (m <= pos) {
            a = mid + 1;
            continue;
        }
        if (chunker_count(t + pos, m - pos) <= limit) {
            best = m;
            a = mid + 1;
        } else {
            b = m - 1;
        }
    }
    if (best == pos) { /* not even one code point fits: take one */
        best = pos + 1;
        while (best < len && ((unsigned char)t[best] & 0xC0) == 0x80) best++;
    }
    return best;
}

static int chunker_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Cut text[0..len) into pieces of at most `limit` tokens, as units. */
static int chunker_cut(unit_list *l, const char *t, size_t len, const char *sep, size_t sep_len,
                       int page, long limit) {
    size_t pos = 0;
    while (pos < len) {
        size_t end = chunker_fit(t, pos, len, limit);
        size_t e = end;
        while (e > pos && chunker_space(t[e - 1])) e--; /* the space joins the next */
        unit u = {t + pos, e - pos, sep, sep_len, NULL, 0, page, 0, 0};
        u.tokens = chunker_count(u.text, u.len);
        if (u.len && units_push(l, u) < 0) return -1;
        sep = t + e;
        sep_len = end - e;
        pos = end;
        while (pos < len && chunker_space(t[pos])) pos++, sep_len++;
    }
    return 0;
}

/* A table or code block too big: whole lines, tables repeating their
 * header row (the first line) in every part. */
static int chunker_lines(unit_list *l, const char *t, size_t len, int table, int page, long limit) {
    const char *hdr = NULL;
    size_t hdr_len = 0;
    const char *p = t, *end = t + len;
    if (table) {
        const char *nl = memchr(t, '\n', len);
        hdr = t;
        hdr_len = nl ? (size_t)(nl - t) : len;
        p = nl ? nl + 1 : end;
        if (hdr_len * 2 > (size_t)limit * 4) { /* a header that big is not worth repeating */
            hdr = NULL;
            hdr_len = 0;
            p = t;
        }
    }
    long hdr_tokens = hdr ? chunker_count(hdr, hdr_len) + 1 : 0;
    int first = 1;
    buf b = BUF_INIT; /* a part; its bytes go to the units that point into them */
    while (p < end) {
        long est = hdr_tokens;
        if (hdr && buf_add(&b, hdr, hdr_len) < 0) goto fail;
        const char *q = p;
        int rows = 0; /* at least one row a part, or no progress */
        while (q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            const char *le = nl ? nl : end;
            long lt = chunker_count(q, (size_t)(le - q)) + 1;
            if (rows && est + lt > limit) break;
            rows++;
            if (b.len && buf_addc(&b, '\n') < 0) goto fail;
            if (buf_add(&b, q, (size_t)(le - q)) < 0) goto fail;
            est += lt;
            q = nl ? nl + 1 : end;
        }
        /* exact check: a single line over the limit is cut into words */
        if (chunker_count(b.s, b.len) > limit) {
            size_t from = l->n;
            int rc = chunker_cut(l, b.s, b.len, first ? "\n\n" : "\n", first ? 2 : 1, page, limit);
            if (rc < 0 || l->n == from) goto fail;
            unit *p0 = &l->u[from]; /* a repeated header opens the first piece */
            if (!first && hdr && p0->len > hdr_len + 1 && p0->text[hdr_len] == '\n' &&
                memcmp(p0->text, hdr, hdr_len) == 0)
                p0->hdr_len = hdr_len + 1;
            /* the pieces point into b.s: the last unit keeps it alive */
            l->u[l->n - 1].owned = buf_detach(&b, NULL);
        } else {
            unit u = {b.s, b.len, first ? "\n\n" : "\n", first ? 2 : 1, b.s, 0, page, 0, 0};
            u.tokens = chunker_count(b.s, b.len);
            if (!first && hdr && b.len > hdr_len) u.hdr_len = hdr_len + 1;
            if (units_push(l, u) < 0) goto fail;
            buf_detach(&b, NULL); /* the unit owns the bytes now */
        }
        first = 0;
        p = q;
    }
    return 0;
fail:
    buf_free(&b);
    return -1;
}

static int chunker_block_units(unit_list *l, const char *kind, const char *t, int page, long limit);

/* One block to units that each fit `limit`, tagged with the block's index. */
static int chunker_block(unit_list *l, const char *kind, const char *t, int page, long limit,
                         int block) {
    size_t first = l->n;
    int rc = chunker_block_units(l, kind, t, page, limit);
    for (size_t i = first; i < l->n; i++) l->u[i].block = block;
    return rc;
}

static int chunker_block_units(unit_list *l, const char *kind, const char *t, int page,
                               long limit) {
    size_t len = strlen(t);
    while (len && chunker_space(t[len - 1])) len--;
    while (len && chunker_space(*t)) t++, len--;
    if (!len) return 0;
    long tok = chunker_count(t, len);
    if (tok <= limit) {
        unit u = {t, len, "\n\n", 2, NULL, tok, page, 0, 0};
        return units_push(l, u);
    }
    if (!strcmp(kind, "table") || !strcmp(kind, "code"))
        return chunker_lines(l, t, len, !strcmp(kind, "table"), page, limit);
    size_t *ends = NULL;
    long ns = segment_sentences(t, len, &ends);
    if (ns < 0) return -1;
    size_t start = 0;
    const char *sep = "\n\n";
    size_t sep_len = 2;
    int rc = 0;
    for (long i = 0; i < ns && rc == 0; i++) {
        size_t e = ends[i], te = e;
        while (te > start && chunker_space(t[te - 1])) te--;
        long st = chunker_count(t + start, te - start);
        if (st <= limit) {
            unit u = {t + start, te - start, sep, sep_len, NULL, st, page, 0, 0};
            rc = units_push(l, u);
        } else {
            rc = chunker_cut(l, t + start, te - start, sep, sep_len, page, limit);
        }
        sep = t + te;
        sep_len = e - te;
        start = e;
    }
    free(ends);
    return rc;
}

/* Everything one document's chunking needs. */
typedef struct chunker_doc {
    const json_t *doc;
    const chunker_opts *o;
    chunker_stats *stats;
    json_t *out;
    json_t *seen; /* chunk ids already emitted */
    const char *doc_id, *title;
    char *heads[CHUNKER_MAX_DEPTH + 1];
    buf heading, context;
    long ctx_tokens; /* of context + "\n\n" */
    long ord;
} chunker_doc;

static int chunker_context(chunker_doc *cd) {
    buf_reset(&cd->heading);
    buf_reset(&cd->context);
    if (buf_add(&cd->heading, "", 0) < 0 || buf_add(&cd->context, "", 0) < 0) return -1;
    for (int l = 1; l <= CHUNKER_MAX_DEPTH; l++) {
        if (!cd->heads[l]) continue;
        if (cd->heading.len == 0 && strcmp(cd->heads[l], cd->title) == 0)
            continue; /* the top heading that is also the title is said once */
        if (cd->heading.len && buf_add(&cd->heading, " > ", 3) < 0) return -1;
        if (buf_add(&cd->heading, cd->heads[l], strlen(cd->heads[l])) < 0) return -1;
    }
    if (buf_add(&cd->context, cd->title, strlen(cd->title)) < 0) return -1;
    if (cd->heading.len) {
        if (cd->context.len && buf_add(&cd->context, " > ", 3) < 0) return -1;
        if (buf_add(&cd->context, cd->heading.s, cd->heading.len) < 0) return -1;
    }
    /* A context may take at most a quarter of a chunk: cut deep paths. */
    long limit = cd->o->max_tokens / 4;
    if (chunker_count(cd->context.s, cd->context.len) > limit) {
        size_t end = chunker_fit(cd->context.s, 0, cd->context.len, limit - 1);
        buf_truncate(&cd->context, end);
    }
    if (cd->context.len && buf_add(&cd->context, "\n\n", 2) < 0) return -1;
    cd->ctx_tokens = chunker_count(cd->context.s, cd->context.len);
    if (cd->context.len) buf_truncate(&cd->context, cd->context.len - 2);
    return 0;
}

/* The text of units [a, b), joined. */
static int chunker_join(const unit_list *l, size_t a, size_t b, buf *out) {
    buf_reset(out);
    if (buf_add(out, "", 0) < 0) return -1;
    for (size_t i = a; i < b; i++) {
        size_t skip = i > a && l->u[i].block == l->u[i - 1].block ? l->u[i].hdr_len : 0;
        if (i > a && buf_add(out, l->u[i].sep, l->u[i].sep_len) < 0) return -1;
        if (buf_add(out, l->u[i].text + skip, l->u[i].len - skip) < 0) return -1;
    }
    return 0;
}

/* Tokens of what the embedder is sent: context, blank line, text. */
static long chunker_sent_tokens(chunker_doc *cd, const char *text, size_t len, buf *scratch) {
    buf_reset(scratch);
    if (cd->context.len &&
        (buf_add(scratch, cd->context.s, cd->context.len) < 0 || buf_add(scratch, "\n\n", 2) < 0))
        return -1;
    if (buf_add(scratch, text, len) < 0) return -1;
    return chunker_count(scratch->s, scratch->len);
}

static int chunker_emit(chunker_doc *cd, const char *text, size_t len, size_t overlap_bytes,
                        int page, long sent_tokens) {
    char *t = strndup(text, len);
    char id[ID_HEX_LEN + 1];
    json_t *rec = NULL;
    int rc = -1;
    if (!t || sha_id(id, cd->doc_id, t) < 0) goto out;
    if (cd->o->dedupe && json_object_get(cd->seen, id)) {
        cd->stats->duplicates++;
        rc = 0;
        goto out;
    }
    json_object_set_new(cd->seen, id, json_true());
    const char *uri = jsonl_str(cd->doc, "uri"), *lang = jsonl_str(cd->doc, "lang");
    rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:I}", "chunk_id", id, "doc_id",
                    cd->doc_id, "ord", (json_int_t)cd->ord, "uri", uri ? uri : "", "title",
                    cd->title, "heading", cd->heading.s, "page", page, "lang", lang ? lang : "und",
                    "context", cd->context.s, "text", t, "tokens", (json_int_t)sent_tokens,
                    "text_tokens", (json_int_t)chunker_count(t, len));
    if (!rec) goto out;
    if (overlap_bytes)
        json_object_set_new(rec, "overlap_bytes", json_integer((json_int_t)overlap_bytes));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)cd->doc, key, val) {
        int known = 0;
        for (int i = 0; chunker_doc_fields[i]; i++)
            if (strcmp(key, chunker_doc_fields[i]) == 0) known = 1;
        if (!known && !json_object_get(rec, key)) json_object_set(rec, key, val);
    }
    if (json_array_append_new(cd->out, rec) < 0) {
        rec = NULL;
        goto out;
    }
    rec = NULL;
    cd->ord++;
    cd->stats->chunks++;
    cd->stats->tokens += sent_tokens;
    rc = 0;
out:
    json_decref(rec);
    free(t);
    return rc;
}

/* Emit, cutting further should the exact count still pass the limit (a
 * join that tokenizes differently than its parts): the hard limit holds
 * whatever the estimates said. */
static int chunker_emit_checked(chunker_doc *cd, const char *text, size_t len, size_t ob, int page,
                                buf *scratch) {
    long t = chunker_sent_tokens(cd, text, len, scratch);
    if (t < 0) return -1;
    if (t <= cd->o->max_tokens) return chunker_emit(cd, text, len, ob, page, t);
    long limit = cd->o->max_tokens - cd->ctx_tokens - 2;
    if (limit < 1) limit = 1;
    for (size_t pos = 0; pos < len;) {
        size_t end = chunker_fit(text, pos, len, limit);
        size_t e = end;
        while (e > pos && chunker_space(text[e - 1])) e--;
        if (e > pos) {
            t = chunker_sent_tokens(cd, text + pos, e - pos, scratch);
            if (t < 0 || chunker_emit(cd, text + pos, e - pos, 0, page, t) < 0) return -1;
        }
        pos = end;
        while (pos < len && chunker_space(text[pos])) pos++;
    }
    return 0;
}

/* The overlap: the last words of `prev` worth at most `limit` tokens.
 * Returns the offset in prev where it starts (prev->len: none). */
static size_t chunker_overlap_start(const buf *prev, long limit) {
    if (limit <= 0 || !prev->len) return prev->len;
    /* binary search over word starts from the end */
    size_t lo = 0, hi = prev->len, best = prev->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t s = mid;
        while (s < prev->len && !chunker_space(prev->s[s])) s++; /* next word start */
        while (s < prev->len && chunker_space(prev->s[s])) s++;
        if (s >= prev->len) {
            hi = mid;
            continue;
        }
        if (chunker_count(prev->s + s, prev->len - s) <= limit) {
            best = s < best ? s : best;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return best;
}

typedef struct {
    size_t a, b; /* units [a, b) */
} chunk_range;

/* Pack a section's units into chunks and emit them. */
static int chunker_section(chunker_doc *cd, unit_list *l) {
    if (!l->n) return 0;
    const chunker_opts *o = cd->o;
    long room = o->max_tokens - cd->ctx_tokens; /* tokens left for text */
    long ov = o->overlap < room / 2 ? o->overlap : room / 2;
    chunk_range *r = malloc((l->n + 1) * sizeof *r);
    buf text = BUF_INIT, scratch = BUF_INIT, prev = BUF_INIT, full = BUF_INIT;
    size_t nr = 0;
    int rc = -1;
    if (!r) return -1;
    /* ranges: greedy on estimates, then shrunk until the exact count fits */
    for (size_t i = 0; i < l->n;) {
        long budget = room - (nr ? ov : 0);
        long est = 0;
        size_t j = i;
        while (j < l->n) {
            long cost = l->u[j].tokens + (j > i ? 1 : 0);
            if (j > i && est + cost > budget) break;
            est += cost;
            j++;
        }
        for (;;) {
            if (chunker_join(l, i, j, &text) < 0) goto out;
            long t = chunker_sent_tokens(cd, text.s, text.len, &scratch);
            if (t < 0) goto out;
            if (t <= o->max_tokens - (nr ? ov : 0) || j == i + 1) break;
            j--;
        }
        r[nr++] = (chunk_range){i, j};
        i = j;
    }
    /* min-tokens: merge the last chunk into the one before, or rebalance */
    if (nr >= 2 && o->min_tokens > 0) {
        chunk_range *last = &r[nr - 1], *before = &r[nr - 2];
        if (chunker_join(l, last->a, last->b, &text) < 0) goto out;
        if (chunker_count(text.s, text.len) < o->min_tokens) {
            if (chunker_join(l, before->a, last->b, &text) < 0) goto out;
            long t = chunker_sent_tokens(cd, text.s, text.len, &scratch);
            if (t < 0) goto out;
            if (t <= o->max_tokens - (nr > 2 ? ov : 0)) {
                before->b = last->b;
                nr--;
            } else {
                /* take units from the chunk before while both stay sound */
                while (last->a - 1 > before->a) {
                    if (chunker_join(l, last->a - 1, last->b, &text) < 0) goto out;
                    long t2 = chunker_sent_tokens(cd, text.s, text.len, &scratch);
                    if (t2 < 0) goto out;
                    if (t2 > o->max_tokens - ov) break;
                    if (chunker_join(l, before->a, last->a - 1, &text) < 0) goto out;
                    if (chunker_count(text.s, text.len) < o->min_tokens) break;
                    last->a--;
                    before->b--;
                    if (chunker_join(l, last->a, last->b, &text) < 0) goto out;
                    if (chunker_count(text.s, text.len) >= o->min_tokens) break;
                }
            }
        }
    }
    /* texts, with the overlap of the chunk before; exact counts */
    for (size_t k = 0; k < nr; k++) {
        if (chunker_join(l, r[k].a, r[k].b, &text) < 0) goto out;
        size_t ob = 0;
        buf_reset(&full);
        const unit *u0 = &l->u[r[k].a];
        if (u0->hdr_len && u0->hdr_len < u0->len) {
            /* a table part: its repeated header row is the overlap */
            ob = u0->hdr_len;
            if (buf_add(&full, text.s, text.len) < 0) goto out;
        } else if (k > 0 && ov > 0) {
            size_t s = chunker_overlap_start(&prev, ov);
            for (;;) {
                buf_reset(&full);
                ob = 0;
                if (s < prev.len) {
                    if (buf_add(&full, prev.s + s, prev.len - s) < 0 ||
                        buf_add(&full, l->u[r[k].a].sep, l->u[r[k].a].sep_len) < 0)
                        goto out;
                    ob = full.len;
                }
                if (buf_add(&full, text.s, text.len) < 0) goto out;
                long t = chunker_sent_tokens(cd, full.s, full.len, &scratch);
                if (t < 0) goto out;
                if (t <= o->max_tokens || s >= prev.len) break;
                /* too long with the overlap: drop its first word */
                while (s < prev.len && !chunker_space(prev.s[s])) s++;
                while (s < prev.len && chunker_space(prev.s[s])) s++;
            }
        } else if (buf_add(&full, text.s, text.len) < 0) {
            goto out;
        }
        if (chunker_emit_checked(cd, full.s, full.len, ob, l->u[r[k].a].page, &scratch) < 0)
            goto out;
        buf_reset(&prev);
        if (buf_add(&prev, text.s, text.len) < 0) goto out;
    }
    rc = 0;
out:
    free(r);
    buf_free(&text);
    buf_free(&scratch);
    buf_free(&prev);
    buf_free(&full);
    return rc;
}

json_t *chunker_chunk_doc(const json_t *doc, const chunker_opts *o, chunker_stats *st, char *err,
                          size_t errlen) {
    chunker_doc cd = {.doc = doc, .o = o, .stats = st};
    unit_list units = {0};
    json_t *blocks = json_object_get(doc, "blocks");
    char berr[128];
    if (bpe_init(berr, sizeof berr) < 0) {
        snprintf(err, errlen, "tokenizer: %s", berr);
        return NULL;
    }
    cd.doc_id = json_string_value(json_object_get(doc, "doc_id"));
    cd.title = json_string_value(json_object_get(doc, "title"));
    if (!cd.doc_id || !*cd.doc_id) {
        snprintf(err, errlen, "record has no \"doc_id\" string");
        return NULL;
    }
    if (!json_is_array(blocks)) {
        snprintf(err, errlen, "record has no \"blocks\" array");
        return NULL;
    }
    if (!cd.title) cd.title = "";
    int ok = 0;
    snprintf(err, errlen, "out of memory"); /* unless a failure below says otherwise */
    cd.out = json_array();
    cd.seen = json_object();
    long chunks_before = st->chunks, dups_before = st->duplicates;
    if (!cd.out || !cd.seen || chunker_context(&cd) < 0) goto fail;
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
            long level = (long)jsonl_int(b, "level", 1);
            if (level < 1) level = 1;
            if (level > CHUNKER_MAX_DEPTH) level = CHUNKER_MAX_DEPTH;
            if (chunker_section(&cd, &units) < 0) goto fail;
            units_clear(&units);
            for (long l = level; l <= CHUNKER_MAX_DEPTH; l++) {
                free(cd.heads[l]);
                cd.heads[l] = NULL;
            }
            if (!(cd.heads[level] = strdup(text))) goto fail;
            if (chunker_context(&cd) < 0) goto fail;
            continue;
        }
        long room = o->max_tokens - cd.ctx_tokens;
        long ov = o->overlap < room / 2 ? o->overlap : room / 2;
        long limit = room - ov - 2; /* room for joins and the overlap */
        if (limit < 1) limit = 1;
        if (chunker_block(&units, kind, text, page, limit, (int)i) < 0) goto fail;
    }
    if (chunker_section(&cd, &units) < 0) goto fail;
    if (json_array_size(cd.out) == 0 && st->duplicates == dups_before) {
        snprintf(err, errlen, "no text to chunk");
        goto fail;
    }
    ok = 1;
fail:
    if (!ok) {
        st->chunks = chunks_before;
        json_decref(cd.out);
        cd.out = NULL;
    }
    units_clear(&units);
    free(units.u);
    json_decref(cd.seen);
    for (int l = 0; l <= CHUNKER_MAX_DEPTH; l++) free(cd.heads[l]);
    buf_free(&cd.heading);
    buf_free(&cd.context);
    return cd.out;
}
