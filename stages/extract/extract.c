/* extract.c -- see extract.h. */
#include "extract.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "charset.h"
#include "gunzip.h"
#include "htmldoc.h"
#include "lang.h"
#include "pdfdoc.h"
#include "pdflayout.h"
#include "sha.h"
#include "sniff.h"
#include "status.h"
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
        if (tl) memcpy(buf + n, t, tl);
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

static int extract_html(const unsigned char *p, size_t n, const char *content_type, json_t *rec,
                        json_t *blocks, char **title, char *lang, char *err, size_t errlen) {
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

int extract_sha256_hex(const unsigned char *data, size_t len, char out[SHA_HEX_LEN + 1]) {
    unsigned char digest[SHA_LEN];
    if (sha256(data, len, digest) < 0) return NZ_ENOMEM;
    sha_hex(digest, SHA_LEN, out);
    return NZ_OK;
}

void extract_time_string(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *extract_record(const extract_source *src, const char *mime, const json_t *extras) {
    char sha_hex_s[SHA_HEX_LEN + 1], doc_id[ID_HEX_LEN + 1], mtime_s[32];
    if (src->sha256) snprintf(sha_hex_s, sizeof sha_hex_s, "%s", src->sha256);
    else if (extract_sha256_hex(src->data, src->len, sha_hex_s) < 0) return NULL;
    if (sha_id(doc_id, src->uri, NULL) < 0) return NULL;
    extract_time_string(src->mtime, mtime_s);
    /* the contract's field order; title and lang are settled at the end */
    json_t *doc = json_pack("{s:s,s:s,s:n,s:s,s:s,s:s,s:I,s:s}", "doc_id", doc_id, "uri", src->uri,
                            "title", "mime", mime, "lang", "und", "sha256", sha_hex_s, "bytes",
                            (json_int_t)src->len, "mtime", mtime_s);
    if (!doc) return NULL;
    /* a validator that is not UTF-8 is left out (and a later run fetches
     * the URL whole): a repaired one would never match */
    const char *hv[2] = {src->etag, src->last_modified}, *hk[2] = {"etag", "last_modified"};
    for (int i = 0; i < 2; i++)
        if (hv[i] && *hv[i] && utf8_valid(hv[i], strlen(hv[i]), NULL) &&
            json_object_set_new(doc, hk[i], json_string(hv[i])) < 0) {
            json_decref(doc);
            return NULL;
        }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)extras, key, val) {
        if (!json_object_get(doc, key)) json_object_set(doc, key, val);
    }
    return doc;
}

int extract_record_finish(json_t *doc, json_t *blocks, const char *title, const char *lang,
                          const char *name) {
    char *t = NULL;
    if (!title) {
        const char *h = blocks_first_heading(blocks);
        t = h ? strdup(h) : extract_name_title(name);
        if (!t) {
            json_decref(blocks);
            return NZ_ENOMEM;
        }
        title = t;
    }
    if (!lang || !lang[0]) lang = extract_guess_lang(blocks);
    int rc = json_object_set_new(doc, "title", json_string(title)) |
             json_object_set_new(doc, "lang", json_string(lang)) |
             json_object_set_new(doc, "blocks", blocks);
    free(t);
    return rc ? NZ_ENOMEM : NZ_OK;
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

    json_t *doc = extract_record(src, json_string_value(json_object_get(rec, "mime")), rec);
    if (!doc) goto oom;
    free(inflated);
    json_decref(rec);
    if (extract_record_finish(doc, blocks, title, lang, src->name) < 0) {
        free(title);
        json_decref(doc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
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

/* Part payload: u64 length of the record JSON (0 when absent), the JSON,
 * then the packed lines. */
int extract_pdf_part(const extract_source *src, pdfdoc *doc, int first, int last, int with_record,
                     char **payload, size_t *len, char *err, size_t errlen) {
    pdf_lines pl;
    pdfdoc_info pi = {0};
    char *json = NULL, *packed = NULL;
    int rc = pdfdoc_pages(doc, first, last, &pl, err, errlen);
    *payload = NULL;
    if (rc < 0) return rc;
    if (with_record) { /* part 0 carries the record shell */
        pdfdoc_describe(doc, &pi);
        json_t *extras = json_object();
        if (pi.author) json_object_set_new(extras, "author", json_string(pi.author));
        if (pi.created[0]) json_object_set_new(extras, "created", json_string(pi.created));
        json_object_set_new(extras, "pages", json_integer(pi.pages));
        json_t *rec = extras ? extract_record(src, MIME_PDF, extras) : NULL;
        json_decref(extras);
        if (rec && pi.title) json_object_set_new(rec, "title", json_string(pi.title));
        json = rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(rec);
        if (!json) goto oom;
    }
    size_t plen, jlen = json ? strlen(json) : 0;
    packed = pdf_lines_pack(&pl, &plen);
    if (!packed) goto oom;
    uint64_t jl = jlen;
    *len = sizeof jl + jlen + plen;
    *payload = malloc(*len);
    if (!*payload) goto oom;
    memcpy(*payload, &jl, sizeof jl);
    if (jlen) memcpy(*payload + sizeof jl, json, jlen);
    memcpy(*payload + sizeof jl + jlen, packed, plen);
    rc = NZ_OK;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = NZ_ENOMEM;
out:
    free(json);
    free(packed);
    pdf_lines_free(&pl);
    pdfdoc_info_free(&pi);
    return rc;
}

json_t *extract_pdf_assemble(char *const *payloads, const size_t *lens, int nparts,
                             const char *name, char *err, size_t errlen) {
    pdf_lines all = {0};
    json_t *rec = NULL, *blocks = NULL;
    for (int k = 0; k < nparts; k++) {
        uint64_t jl;
        pdf_lines part;
        if (lens[k] < sizeof jl) goto bad;
        memcpy(&jl, payloads[k], sizeof jl);
        if (jl > lens[k] - sizeof jl) goto bad;
        if (k == 0) {
            rec = json_loadb(payloads[k] + sizeof jl, jl, 0, NULL);
            if (!json_is_object(rec)) goto bad;
        }
        if (pdf_lines_unpack(&part, payloads[k] + sizeof jl + jl, lens[k] - sizeof jl - jl) < 0)
            goto bad;
        if (pdf_lines_append(&all, &part) < 0) {
            pdf_lines_free(&part);
            goto oom;
        }
    }
    if (!(blocks = json_array()) || pdflayout_blocks(&all, blocks) < 0) goto oom;
    if (json_array_size(blocks) == 0) {
        snprintf(err, errlen, "no text: the document has only white space");
        goto fail;
    }
    const char *title = json_string_value(json_object_get(rec, "title"));
    char *t = title ? strdup(title) : NULL;
    if (title && !t) goto oom;
    int frc = extract_record_finish(rec, blocks, t, NULL, name);
    blocks = NULL;
    free(t);
    if (frc < 0) goto oom;
    pdf_lines_free(&all);
    return rec;
bad:
    snprintf(err, errlen, "a worker sent a malformed PDF part");
    goto fail;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    pdf_lines_free(&all);
    json_decref(rec);
    json_decref(blocks);
    return NULL;
}
