/* pdfdoc.c -- read a PDF's pages into lines with poppler-glib (see pdfdoc.h);
 * pdflayout.c turns the lines into blocks. */
#include "pdfdoc.h"

#include <ctype.h>
#include <math.h>
#include <poppler.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdflayout.h"
#include "status.h"
#include "textclean.h"

#define PDF_ZONE 0.10 /* top and bottom share of a page for headers/footers */

/* Split a page's text into lines with their boxes, into a copy `out` of
 * at least twice the text's size. rects has one entry per character when
 * nr matches; otherwise lines get synthetic positions.
 *
 * poppler's selection text (what poppler_page_get_text returns) can run
 * the cells of a table together ("sizeevolutionV:28") because it joins
 * words across blocks without separators. The geometry repairs it: a
 * character on another baseline starts a new line, and a horizontal gap
 * (or a jump back to the left) between two characters becomes a space. */
static int pdf_page_lines(pdf_lines *st, int page, const char *text, const PopplerRectangle *r,
                          guint nr, double page_h) {
    size_t first = st->n;
    char *out = pdf_lines_reserve(st, strlen(text) * 2 + 16);
    if (!out) return NZ_ENOMEM;
    guint ci = 0; /* character index into r */
    const char *p = text;
    char *o = out;
    int have_geom = r && nr > 0;
    int lineno = 0;
    pdf_line l = {.s = o, .page = page, .x1 = 1e9f, .x2 = -1e9f, .y1 = 1e9f, .y2 = -1e9f};
    /* lines point into `out` while the page is read; offsets are kept */
    const PopplerRectangle *prev = NULL; /* last non-space character's box */
#define PDF_EMIT_LINE()                                                                         \
    do {                                                                                        \
        size_t len_ = (size_t)(o - l.s);                                                        \
        while (len_ && (l.s[len_ - 1] == ' ' || l.s[len_ - 1] == '\r')) len_--;                 \
        if (len_) {                                                                             \
            if (!have_geom || l.y1 > l.y2) {                                                    \
                l.x1 = 0;                                                                       \
                l.x2 = 1;                                                                       \
                l.y1 = (float)(lineno * 12);                                                    \
                l.y2 = l.y1 + 10;                                                               \
            }                                                                                   \
            l.len = (uint32_t)(len_ > UINT32_MAX ? UINT32_MAX : len_);                          \
            l.off = (uint64_t)(l.s - st->text.s);                                               \
            if (pdf_lines_push(st, &l) < 0) return NZ_ENOMEM;                                   \
            lineno++;                                                                           \
        }                                                                                       \
        l = (pdf_line){.s = o, .page = page, .x1 = 1e9f, .x2 = -1e9f, .y1 = 1e9f, .y2 = -1e9f}; \
        prev = NULL;                                                                            \
    } while (0)
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            PDF_EMIT_LINE();
            p++;
            ci++;
            continue;
        }
        size_t step = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        const PopplerRectangle *b = have_geom && ci < nr ? &r[ci] : NULL;
        if (c != ' ' && b && prev) {
            double h = fmax(prev->y2 - prev->y1, b->y2 - b->y1);
            if (fabs(b->y1 - prev->y1) > 0.6 * h) {
                PDF_EMIT_LINE(); /* another baseline: another line */
            } else if ((b->x1 - prev->x2 > 0.25 * h || b->x1 < prev->x1 - h) && o > l.s &&
                       o[-1] != ' ') {
                *o++ = ' '; /* a gap poppler did not fill */
            }
        }
        for (size_t k = 0; k < step && *p; k++) *o++ = *p++;
        if (c != ' ' && b) {
            if (b->x1 < l.x1) l.x1 = (float)b->x1;
            if (b->x2 > l.x2) l.x2 = (float)b->x2;
            if (b->y1 < l.y1) l.y1 = (float)b->y1;
            if (b->y2 > l.y2) l.y2 = (float)b->y2;
            prev = b;
        }
        ci++;
    }
    PDF_EMIT_LINE();
#undef PDF_EMIT_LINE
    pdf_lines_commit(st, o);
    /* header/footer zone keys for the first and last lines of the page */
    size_t n = st->n - first;
    for (size_t i = 0; i < n; i++) {
        pdf_line *l = &st->lines[first + i];
        int top = l->y2 <= page_h * PDF_ZONE;
        int bottom = l->y1 >= page_h * (1 - PDF_ZONE);
        if (!top && !bottom) continue;
        /* key: lower-cased letters, digits and roman-numeral words as '#' */
        uint64_t h = top ? 0x9e3779b97f4a7c15ULL : 0xc2b2ae3d27d4eb4fULL;
        const unsigned char *s = (const unsigned char *)l->s, *end = s + l->len;
        while (s < end) {
            if (isspace(*s)) {
                s++;
                continue;
            }
            const unsigned char *w = s;
            while (s < end && !isspace(*s)) s++;
            int numeric = 1;
            for (const unsigned char *c = w; c < s; c++)
                if (!isdigit(*c) && !strchr("ivxlcdmIVXLCDM.-/()", *c)) numeric = 0;
            if (numeric) {
                h = (h ^ '#') * 0x100000001b3ULL;
            } else {
                for (const unsigned char *c = w; c < s; c++)
                    h = (h ^ (unsigned char)tolower(isdigit(*c) ? '#' : *c)) * 0x100000001b3ULL;
            }
            h = (h ^ ' ') * 0x100000001b3ULL;
        }
        l->key = h | 1; /* never 0 */
    }
    return 0;
}

static char *pdf_meta_string(gchar *s) {
    if (!s) return NULL;
    size_t n = strlen(s), cn;
    char *clean = textclean_chars(s, n, &cn);
    g_free(s);
    if (clean) cn = textclean_collapse(clean, cn);
    if (clean && cn) return clean;
    free(clean);
    return NULL;
}

static int pdf_open(const unsigned char *data, size_t len, GBytes **bytes, PopplerDocument **doc,
                    char *err, size_t errlen) {
    GError *gerr = NULL;
    *bytes = g_bytes_new_static(data, len);
    *doc = poppler_document_new_from_bytes(*bytes, NULL, &gerr);
    if (*doc) return NZ_OK;
    if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
        snprintf(err, errlen, "encrypted PDF: it needs a user password to be read");
    else snprintf(err, errlen, "damaged PDF: %s", gerr ? gerr->message : "cannot be read");
    if (gerr) g_error_free(gerr);
    return NZ_EINVAL;
}

struct pdfdoc {
    GBytes *bytes;
    PopplerDocument *doc;
    int npages;
};

pdfdoc *pdfdoc_open(const unsigned char *data, size_t len, long max_pages, char *err,
                    size_t errlen) {
    pdfdoc *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pdf_open(data, len, &d->bytes, &d->doc, err, errlen) < 0) goto fail;
    d->npages = poppler_document_get_n_pages(d->doc);
    if (d->npages <= 0) {
        snprintf(err, errlen, "PDF has no pages");
        goto fail;
    }
    if (d->npages > max_pages) {
        snprintf(err, errlen, "PDF has %d pages, over --max-pages %ld", d->npages, max_pages);
        goto fail;
    }
    return d;
fail:
    pdfdoc_close(d);
    return NULL;
}

void pdfdoc_close(pdfdoc *d) {
    if (!d) return;
    if (d->doc) g_object_unref(d->doc);
    if (d->bytes) g_bytes_unref(d->bytes);
    free(d);
}

void pdfdoc_describe(const pdfdoc *d, pdfdoc_info *info) {
    memset(info, 0, sizeof *info);
    info->pages = d->npages;
    info->title = pdf_meta_string(poppler_document_get_title(d->doc));
    info->author = pdf_meta_string(poppler_document_get_author(d->doc));
    GDateTime *dt = poppler_document_get_creation_date_time(d->doc);
    if (dt) {
        gchar *iso = g_date_time_format_iso8601(dt);
        if (iso) snprintf(info->created, sizeof info->created, "%s", iso);
        g_free(iso);
        g_date_time_unref(dt);
    }
}

int pdfdoc_pages(pdfdoc *d, int first, int last, pdf_lines *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    PopplerDocument *doc = d->doc;
    int npages = d->npages;
    int rc = NZ_ENOMEM;
    out->npages = npages;
    if (last < 0 || last > npages) last = npages;
    if (first < 0) first = 0;
    for (int i = first; i < last; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) continue;
        double w, h;
        poppler_page_get_size(page, &w, &h);
        char *text = poppler_page_get_text(page);
        PopplerRectangle *rects = NULL;
        guint nr = 0;
        if (text && *text && !poppler_page_get_text_layout(page, &rects, &nr)) {
            rects = NULL;
            nr = 0;
        }
        int prc = text ? pdf_page_lines(out, i + 1, text, rects, nr, h) : 0;
        g_free(text);
        g_free(rects);
        g_object_unref(page);
        if (prc < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = NZ_OK;
out:
    if (rc < 0) pdf_lines_free(out);
    return rc;
}

int pdfdoc_read(const unsigned char *data, size_t len, long max_pages, int first, int last,
                pdf_lines *out, pdfdoc_info *info, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    memset(out, 0, sizeof *out);
    pdfdoc *d = pdfdoc_open(data, len, max_pages, err, errlen);
    if (!d) return NZ_EINVAL;
    pdfdoc_describe(d, info);
    int rc = pdfdoc_pages(d, first, last, out, err, errlen);
    if (rc < 0) pdfdoc_info_free(info);
    pdfdoc_close(d);
    return rc;
}

int pdfdoc_count_pages_file(const char *path) {
    char *abs = realpath(path, NULL);
    gchar *uri = abs ? g_filename_to_uri(abs, NULL, NULL) : NULL;
    free(abs);
    if (!uri) return NZ_EINVAL;
    PopplerDocument *doc = poppler_document_new_from_file(uri, NULL, NULL);
    g_free(uri);
    if (!doc) return NZ_EINVAL;
    int n = poppler_document_get_n_pages(doc);
    g_object_unref(doc);
    return n;
}

int pdfdoc_extract(const unsigned char *data, size_t len, long max_pages, json_t *blocks,
                   pdfdoc_info *info, char *err, size_t errlen) {
    pdf_lines pl;
    int rc = pdfdoc_read(data, len, max_pages, 0, -1, &pl, info, err, errlen);
    if (rc < 0) return rc;
    rc = pdflayout_blocks(&pl, blocks);
    pdf_lines_free(&pl);
    if (rc < 0) snprintf(err, errlen, "out of memory");
    return rc;
}

void pdfdoc_info_free(pdfdoc_info *info) {
    free(info->title);
    free(info->author);
    info->title = info->author = NULL;
}
