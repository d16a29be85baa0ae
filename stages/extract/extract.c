/* extract.c -- see extract.h. */
#include "extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "charset.h"
#include "gunzip.h"
#include "htmldoc.h"
#include "lang.h"
#include "pdfdoc.h"
#include "sha.h"
#include "sniff.h"
#include "textclean.h"
#include "textdoc.h"
#include "utf8.h"
#include "xmldoc.h"

#define EXTRACT_MAX_GZIP_LAYERS 3

/* The base name without extension (and without .gz), as a last-resort title. */
static char *extract_name_title(const char *name) {
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    size_t n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, ".gz") == 0) n -= 3;
    const char *dot = memrchr(b, '.', n);
    if (dot && dot > b) n = (size_t)(dot - b);
    return n ? utf8_repair(b, n) : strdup("untitled");
}

/* Language from the text of the blocks, when the document declares none. */
static const char *extract_guess_lang(const json_t *blocks) {
    char buf[65536];
    size_t n = 0, i;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        const char *t = json_string_value(json_object_get(b, "text"));
        size_t tl = t ? strlen(t) : 0;
        if (n + tl + 1 >= sizeof buf) tl = sizeof buf - n - 2;
        memcpy(buf + n, t, tl);
        n += tl;
        buf[n++] = ' ';
        if (n + 2 >= sizeof buf) break;
    }
    return lang_guess(buf, n);
}

/* Text and Markdown: charset check (UTF-8, else Windows-1252), NFC, blocks. */
static int extract_text(const unsigned char *p, size_t n, const char *mime,
                        const char *content_type, json_t *rec, json_t *blocks, char *err,
                        size_t errlen) {
    char declared[CHARSET_NAME_MAX] = "", used[CHARSET_NAME_MAX];
    const char *note;
    char *utf8 = NULL;
    size_t len;
    charset_from_content_type(content_type, declared, sizeof declared);
    if (charset_decode(p, n, declared, &utf8, &len, used, &note, err, errlen) < 0) return -1;
    if (memchr(utf8, 0, len)) { /* NULs past the sniffed prefix */
        char *fixed = utf8_repair(utf8, len);
        free(utf8);
        if (!(utf8 = fixed)) goto oom;
        len = strlen(utf8);
    }
    size_t cn;
    char *clean = textclean_chars(utf8, len, &cn);
    free(utf8);
    if (!clean) goto oom;
    int md = strcmp(mime, MIME_MARKDOWN) == 0 || textdoc_is_markdown(clean, cn);
    json_object_set_new(rec, "mime", json_string(md ? MIME_MARKDOWN : MIME_TEXT));
    if (strcmp(used, "UTF-8") != 0 || *note) {
        json_object_set_new(rec, "charset", json_string(used));
        if (*note) json_object_set_new(rec, "charset_note", json_string(note));
    }
    int rc = textdoc_parse(clean, cn, md, blocks);
    free(clean);
    if (rc < 0) goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int extract_html(const unsigned char *p, size_t n, const char *content_type,
                        json_t *rec, json_t *blocks, char **title, char *lang, char *err,
                        size_t errlen) {
    char declared[CHARSET_NAME_MAX] = "", used[CHARSET_NAME_MAX];
    const char *note;
    char *utf8 = NULL;
    size_t len;
    if (charset_from_content_type(content_type, declared, sizeof declared) < 0)
        charset_html_meta(p, n, declared, sizeof declared);
    if (charset_decode(p, n, declared, &utf8, &len, used, &note, err, errlen) < 0) return -1;
    htmldoc_info hi;
    int rc = htmldoc_extract(utf8, len, blocks, &hi, err, errlen);
    free(utf8);
    if (rc < 0) return -1;
    *title = hi.title;
    snprintf(lang, 16, "%s", hi.lang);
    if (strcmp(used, "UTF-8") != 0 || *note) {
        json_object_set_new(rec, "charset", json_string(used));
        if (*note) json_object_set_new(rec, "charset_note", json_string(note));
    }
    return 0;
}

json_t *extract_document(const extract_source *src, const extract_opts *o, char *err,
                         size_t errlen) {
    json_t *rec = json_object(), *blocks = json_array();
    unsigned char *inflated = NULL;
    char *title = NULL;
    char lang[16] = "";
    const unsigned char *p = src->data;
    size_t n = src->len;
    if (!rec || !blocks) goto oom;
    if (n == 0) {
        snprintf(err, errlen, "empty file");
        goto fail;
    }
    const char *mime = sniff_mime(p, n);
    for (int layer = 0; strcmp(mime, MIME_GZIP) == 0; layer++) {
        if (layer == EXTRACT_MAX_GZIP_LAYERS) {
            snprintf(err, errlen, "gzip nested more than %d deep", EXTRACT_MAX_GZIP_LAYERS);
            goto fail;
        }
        unsigned char *out;
        size_t outlen;
        if (gunzip_bounded(p, n, (size_t)o->max_bytes, &out, &outlen, err, errlen) < 0) goto fail;
        free(inflated);
        inflated = out;
        p = out;
        n = outlen;
        json_object_set_new(rec, "encoding", json_string("gzip"));
        if (n == 0) {
            snprintf(err, errlen, "empty file (inside gzip)");
            goto fail;
        }
        mime = sniff_mime(p, n);
    }
    json_object_set_new(rec, "mime", json_string(mime));

    if (strcmp(mime, MIME_PDF) == 0) {
        pdfdoc_info pi;
        if (pdfdoc_extract(p, n, o->max_pages, blocks, &pi, err, errlen) < 0) {
            pdfdoc_info_free(&pi);
            goto fail;
        }
        title = pi.title;
        pi.title = NULL;
        if (pi.author) json_object_set_new(rec, "author", json_string(pi.author));
        if (pi.created[0]) json_object_set_new(rec, "created", json_string(pi.created));
        json_object_set_new(rec, "pages", json_integer(pi.pages));
        pdfdoc_info_free(&pi);
    } else if (strcmp(mime, MIME_HTML) == 0 || strcmp(mime, MIME_XHTML) == 0) {
        if (extract_html(p, n, src->content_type, rec, blocks, &title, lang, err, errlen) < 0)
            goto fail;
    } else if (strcmp(mime, MIME_XML) == 0) {
        xmldoc_info xi;
        if (xmldoc_extract((const char *)p, n, blocks, &xi, err, errlen) < 0) goto fail;
        title = xi.title;
        snprintf(lang, sizeof lang, "%s", xi.lang);
    } else if (strcmp(mime, MIME_BINARY) == 0) {
        snprintf(err, errlen, "unsupported binary content (not PDF, HTML, XML, text or gzip)");
        goto fail;
    } else if (extract_text(p, n, mime, src->content_type, rec, blocks, err, errlen) < 0) {
        goto fail;
    }
    if (json_array_size(blocks) == 0) {
        snprintf(err, errlen, "no text: the document has only white space");
        goto fail;
    }

    unsigned char digest[SHA_LEN];
    char sha_hex_s[SHA_HEX_LEN + 1], doc_id[ID_HEX_LEN + 1], mtime_s[32];
    if (sha256(src->data, src->len, digest) < 0 || sha_id(doc_id, src->uri, NULL) < 0) goto oom;
    sha_hex(digest, SHA_LEN, sha_hex_s);
    struct tm tm;
    gmtime_r(&src->mtime, &tm);
    strftime(mtime_s, sizeof mtime_s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!title) {
        const char *h = blocks_first_heading(blocks);
        title = h ? strdup(h) : extract_name_title(src->name);
        if (!title) goto oom;
    }
    if (!lang[0]) snprintf(lang, sizeof lang, "%s", extract_guess_lang(blocks));
    /* the contract's field order, then the format's extras, then blocks */
    json_t *doc = json_pack("{s:s,s:s,s:s,s:O,s:s,s:s,s:I,s:s}", "doc_id", doc_id, "uri", src->uri,
                            "title", title, "mime", json_object_get(rec, "mime"), "lang", lang,
                            "sha256", sha_hex_s, "bytes", (json_int_t)src->len, "mtime", mtime_s);
    if (!doc) goto oom;
    json_object_del(rec, "mime");
    json_object_update(doc, rec);
    json_object_set(doc, "blocks", blocks);
    json_decref(rec);
    json_decref(blocks);
    free(inflated);
    free(title);
    return doc;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(rec);
    json_decref(blocks);
    free(inflated);
    free(title);
    return NULL;
}
