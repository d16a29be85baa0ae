/* bpe.c -- see bpe.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "utf8.h"

extern const unsigned char nz_cl100k_data[], nz_cl100k_end[];

#define BPE_SHORT 64 /* pieces up to this many bytes use the quadratic merge */
#define BPE_NONE UINT32_MAX

typedef struct bpe_token {
    const unsigned char *p;
    uint32_t len;
} bpe_token;

static struct {
    pthread_once_t once;
    int ok;
    int status; /* why not ok: NZ_ECORRUPT (the rank data, the pattern) or NZ_ENOMEM */
    char err[256];
    bpe_token *tokens;
    uint32_t ntokens;
    uint32_t *table; /* open addressing: rank + 1, 0 = empty */
    uint32_t mask;
    uint32_t maxlen; /* the longest token, bytes */
    uint32_t byte_rank[256];
    pcre2_code *re;
} bpe = {.once = PTHREAD_ONCE_INIT};

static uint64_t bpe_hash(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

/* Rank of the byte string, or BPE_NONE. */
static uint32_t bpe_rank(const unsigned char *p, size_t n) {
    if (n == 1) return bpe.byte_rank[p[0]];
    if (n > bpe.maxlen) return BPE_NONE;
    uint32_t i = (uint32_t)bpe_hash(p, n) & bpe.mask;
    for (;;) {
        uint32_t v = bpe.table[i];
        if (!v) return BPE_NONE;
        const bpe_token *t = &bpe.tokens[v - 1];
        if (t->len == n && memcmp(t->p, p, n) == 0) return v - 1;
        i = (i + 1) & bpe.mask;
    }
}

static void bpe_build(void) {
    bpe.status = NZ_ECORRUPT;
    const unsigned char *d = nz_cl100k_data, *end = nz_cl100k_end;
    uint32_t n, patlen;
    if (end - d < 16 || memcmp(d, "NZBPE1\0\0", 8) != 0) {
        snprintf(bpe.err, sizeof bpe.err, "cl100k_base: bad rank data");
        return;
    }
    memcpy(&n, d + 8, 4);
    memcpy(&patlen, d + 12, 4);
    const unsigned char *pat = d + 16, *p = pat + patlen;
    if (n == 0 || n > (1u << 24) || patlen > (size_t)(end - pat)) {
        snprintf(bpe.err, sizeof bpe.err, "cl100k_base: bad rank header");
        return;
    }
    bpe.tokens = malloc(n * sizeof *bpe.tokens);
    uint32_t cap = 1;
    while (cap < n * 2) cap <<= 1;
    bpe.table = calloc(cap, sizeof *bpe.table);
    if (!bpe.tokens || !bpe.table) {
        snprintf(bpe.err, sizeof bpe.err, "out of memory");
        bpe.status = NZ_ENOMEM;
        return;
    }
    bpe.mask = cap - 1;
    for (int b = 0; b < 256; b++) bpe.byte_rank[b] = BPE_NONE;
    for (uint32_t r = 0; r < n; r++) {
        uint16_t len;
        if (end - p < 2) goto bad;
        memcpy(&len, p, 2);
        p += 2;
        if (len == 0 || end - p < len) goto bad;
        bpe.tokens[r] = (bpe_token){p, len};
        if (len == 1) bpe.byte_rank[p[0]] = r;
        if (len > bpe.maxlen) bpe.maxlen = len;
        uint32_t i = (uint32_t)bpe_hash(p, len) & bpe.mask;
        while (bpe.table[i]) i = (i + 1) & bpe.mask;
        bpe.table[i] = r + 1;
        p += len;
    }
    for (int b = 0; b < 256; b++)
        if (bpe.byte_rank[b] == BPE_NONE) goto bad; /* every byte must be a token */
    bpe.ntokens = n;
    int ec;
    PCRE2_SIZE eo;
    bpe.re = pcre2_compile(pat, patlen, PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
    if (!bpe.re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(bpe.err, sizeof bpe.err, "cl100k_base pattern: %s at %zu", (char *)msg,
                 (size_t)eo);
        return;
    }
    pcre2_jit_compile(bpe.re, PCRE2_JIT_COMPLETE); /* the interpreter runs if JIT is missing */
    bpe.ok = 1;
    return;
bad:
    snprintf(bpe.err, sizeof bpe.err, "cl100k_base: truncated or inconsistent rank data");
}

int bpe_init(char *err, size_t errlen) {
    pthread_once(&bpe.once, bpe_build);
    if (!bpe.ok && err) snprintf(err, errlen, "%s", bpe.err);
    return bpe.ok ? NZ_OK : bpe.status;
}

const unsigned char *bpe_token_bytes(uint32_t id, size_t *len) {
    if (bpe_init(NULL, 0) < 0 || id >= bpe.ntokens) return NULL;
    *len = bpe.tokens[id].len;
    return bpe.tokens[id].p;
}

/* Output sink: count always, store while there is room. */
typedef struct bpe_out {
    uint32_t *ids;
    size_t cap;
    long n;
} bpe_out;

static inline void bpe_emit(bpe_out *o, uint32_t id) {
    if ((size_t)o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* tiktoken's merge for short pieces: starts[] are part boundaries; ranks[i]
 * is the rank of the pair starting at part i. */
static void bpe_merge_short(const unsigned char *p, size_t n, bpe_out *o) {
    size_t starts[BPE_SHORT + 2];
    uint32_t ranks[BPE_SHORT + 2];
    size_t m = n + 1; /* boundaries 0..n */
    for (size_t i = 0; i <= n; i++) starts[i] = i;
    for (size_t i = 0; i + 2 <= n; i++) ranks[i] = bpe_rank(p + i, 2);
    ranks[n - 1] = BPE_NONE;
    while (m > 2) {
        uint32_t best = BPE_NONE;
        size_t bi = 0;
        for (size_t i = 0; i + 2 < m; i++)
            if (ranks[i] < best) {
                best = ranks[i];
                bi = i;
            }
        if (best == BPE_NONE) break;
        /* merge parts bi and bi+1: drop boundary bi+1 */
        memmove(&starts[bi + 1], &starts[bi + 2], (m - bi - 2) * sizeof *starts);
        memmove(&ranks[bi + 1], &ranks[bi + 2], (m - bi - 3) * sizeof *ranks);
        m--;
        ranks[bi] = bi + 2 < m ? bpe_rank(p + starts[bi], starts[bi + 2] - starts[bi]) : BPE_NONE;
        if (bi > 0) ranks[bi - 1] = bpe_rank(p + starts[bi - 1], starts[bi + 1] - starts[bi - 1]);
    }
    for (size_t i = 0; i + 1 < m; i++)
        bpe_emit(o, bpe_rank(p + starts[i], starts[i + 1] - starts[i]));
}

/* Heap merge for long pieces. A part is named by its first byte; next[]
 * and prev[] link the parts, pair[s] is the rank of part s joined with
 * the part after it (BPE_NONE when that is no token or s is the last or a
 * dead part). The candidates are 64-bit keys rank << 32 | s in a 4-ary
 * min-heap (built in O(n), then at most two pushes a merge), so the lowest
 * rank pops first and the leftmost among equal ranks, as in the scan.
 * A key is stale when pair[s] no longer holds its rank: the string of a
 * part's pair only grows, and a rank names one string, so a pair's rank
 * never comes back once it changed. No comparison follows a pointer:
 * O(n log n) with few cache misses; the rank lookups are O(1) each, as a
 * string longer than the longest token is never looked up. */
static void bpe_sift_down(uint64_t *heap, size_t hn, size_t k) {
    uint64_t v = heap[k];
    for (;;) {
        size_t c = 4 * k + 1, end = c + 4 < hn ? c + 4 : hn;
        if (c >= hn) break;
        size_t m = c;
        for (size_t j = c + 1; j < end; j++)
            if (heap[j] < heap[m]) m = j;
        if (heap[m] >= v) break;
        heap[k] = heap[m];
        k = m;
    }
    heap[k] = v;
}

static void bpe_push(uint64_t *heap, size_t *hn, uint64_t v) {
    size_t k = (*hn)++;
    while (k && heap[(k - 1) / 4] > v) {
        heap[k] = heap[(k - 1) / 4];
        k = (k - 1) / 4;
    }
    heap[k] = v;
}

static int bpe_merge_long(const unsigned char *p, size_t n, bpe_out *o) {
    uint32_t *next = malloc(n * sizeof *next), *prev = malloc(n * sizeof *prev),
             *pair = malloc(n * sizeof *pair);
    uint64_t *heap = malloc(3 * n * sizeof *heap); /* n-1 pairs, then <= 2 per merge */
    size_t hn = 0;
    int rc = NZ_ELIMIT; /* part indexes and the heap key's low word are 32 bits */
    if (n >= BPE_NONE) goto fail;
    rc = NZ_ENOMEM;
    if (!next || !prev || !pair || !heap) goto fail;
    for (uint32_t i = 0; i < n; i++) {
        next[i] = i + 1;
        prev[i] = i ? i - 1 : BPE_NONE;
        pair[i] = i + 1 < n ? bpe_rank(p + i, 2) : BPE_NONE;
        if (pair[i] != BPE_NONE) heap[hn++] = (uint64_t)pair[i] << 32 | i;
    }
    if (hn > 1)
        for (size_t k = hn / 4 + 1; k-- > 0;) bpe_sift_down(heap, hn, k);
#define BPE_PAIR(s) (next[s] < n ? bpe_rank(p + (s), next[next[s]] - (s)) : BPE_NONE)
    while (hn) {
        uint64_t top = heap[0];
        heap[0] = heap[--hn];
        if (hn) bpe_sift_down(heap, hn, 0);
        uint32_t s = (uint32_t)top, rank = (uint32_t)(top >> 32);
        if (pair[s] != rank) continue; /* stale */
        uint32_t r = next[s];          /* merge s and r: r dies */
        next[s] = next[r];
        if (next[r] < n) prev[next[r]] = s;
        pair[r] = BPE_NONE;
        pair[s] = BPE_PAIR(s);
        if (pair[s] != BPE_NONE) bpe_push(heap, &hn, (uint64_t)pair[s] << 32 | s);
        uint32_t q = prev[s];
        if (q != BPE_NONE) {
            pair[q] = BPE_PAIR(q);
            if (pair[q] != BPE_NONE) bpe_push(heap, &hn, (uint64_t)pair[q] << 32 | q);
        }
    }
#undef BPE_PAIR
    for (uint32_t s = 0; s < n; s = next[s]) bpe_emit(o, bpe_rank(p + s, next[s] - s));
    rc = NZ_OK;
fail:
    free(next);
    free(prev);
    free(pair);
    free(heap);
    return rc;
}

static int bpe_piece(const unsigned char *p, size_t n, bpe_out *o) {
    uint32_t r = bpe_rank(p, n);
    if (r != BPE_NONE) {
        bpe_emit(o, r);
        return NZ_OK;
    }
    if (n <= BPE_SHORT) {
        bpe_merge_short(p, n, o);
        return NZ_OK;
    }
    return bpe_merge_long(p, n, o);
}

/* Per-thread matching state, made once: a JIT stack is an mmap, too dear
 * to make per call.  The state is reached through a _Thread_local pointer
 * (fast) and also registered under a pthread key whose destructor frees
 * it when the thread ends: servers that run one thread per connection
 * (libmicrohttpd) must not leak a matcher per connection. */
typedef struct bpe_matcher {
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *js;
} bpe_matcher;

static _Thread_local bpe_matcher *bpe_tls;
static pthread_key_t bpe_tls_key;
static pthread_once_t bpe_tls_once = PTHREAD_ONCE_INIT;
static int bpe_tls_key_ok;

static void bpe_matcher_free(void *p) {
    bpe_matcher *m = p;
    if (!m) return;
    pcre2_jit_stack_free(m->js);
    pcre2_match_context_free(m->mc);
    pcre2_match_data_free(m->md);
    free(m);
}

static void bpe_tls_key_make(void) {
    bpe_tls_key_ok = pthread_key_create(&bpe_tls_key, bpe_matcher_free) == 0;
}

static bpe_matcher *bpe_matcher_get(void) {
    if (bpe_tls) return bpe_tls;
    pthread_once(&bpe_tls_once, bpe_tls_key_make);
    if (!bpe_tls_key_ok) return NULL;
    bpe_matcher *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->md = pcre2_match_data_create_from_pattern(bpe.re, NULL);
    m->mc = pcre2_match_context_create(NULL);
    m->js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!m->md || !m->mc || !m->js) goto err;
    pcre2_jit_stack_assign(m->mc, NULL, m->js);
    if (pthread_setspecific(bpe_tls_key, m) != 0) goto err;
    bpe_tls = m;
    return m;
err:
    bpe_matcher_free(m);
    return NULL;
}

/* The count of tokens, or a status (see bpe.h). */
static long bpe_run(const char *text, size_t len, bpe_out *o) {
    int st = bpe_init(NULL, 0);
    if (st < 0) return st;
    /* valid UTF-8, NUL bytes allowed (PCRE2 runs without its own check) */
    for (size_t off = 0, bad; off < len; off += bad + 1) {
        if (utf8_valid(text + off, len - off, &bad)) break;
        if (text[off + bad] != '\0') return NZ_EINVAL;
    }
    bpe_matcher *mt = bpe_matcher_get();
    if (!mt) return NZ_ENOMEM;
    pcre2_match_data *md = mt->md;
    pcre2_match_context *mc = mt->mc;
    long rc = NZ_ENOMEM; /* a PCRE2 match error: its JIT stack, its heap */
    const unsigned char *s = (const unsigned char *)text;
    PCRE2_SIZE pos = 0;
    while (pos < len) {
        int m = pcre2_match(bpe.re, s, len, pos, PCRE2_NO_UTF_CHECK, md, mc);
        if (m < 0) {
            if (m == PCRE2_ERROR_NOMATCH) break;
            goto out;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] <= ov[0]) { /* cannot happen with this pattern; never loop */
            pos = ov[0] + 1;
            continue;
        }
        int pst = bpe_piece(s + ov[0], ov[1] - ov[0], o);
        if (pst < 0) {
            rc = pst;
            goto out;
        }
        pos = ov[1];
    }
    rc = o->n;
out:
    return rc;
}

long bpe_count(const char *text, size_t len) {
    bpe_out o = {0};
    return bpe_run(text, len, &o);
}

long bpe_encode(const char *text, size_t len, uint32_t *out, size_t cap) {
    bpe_out o = {out, cap, 0};
    return bpe_run(text, len, &o);
}
