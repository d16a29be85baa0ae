/* fetch.c -- see fetch.h. */
#include "fetch.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicio.h"
#include "buf.h"
#include "gunzip.h"
#include "nz.h"
#include "sha.h"
#include "status.h"

#define FETCH_USER_AGENT "nuzantara-extract/" NZ_VERSION " (document ingestion; libcurl)"
#define FETCH_SITEMAP_DEPTH 2

int fetch_is_url(const char *s) {
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

int fetch_is_sitemap(const char *url) {
    const char *q = strpbrk(url, "?#");
    size_t n = q ? (size_t)(q - url) : strlen(url);
    const char *slash = memrchr(url, '/', n);
    const char *seg = slash ? slash + 1 : url;
    size_t sn = n - (size_t)(seg - url);
    if (sn < 11 || strncasecmp(seg, "sitemap", 7) != 0) return 0;
    return (sn >= 4 && strncasecmp(seg + sn - 4, ".xml", 4) == 0) ||
           (sn >= 7 && strncasecmp(seg + sn - 7, ".xml.gz", 7) == 0);
}

void fetch_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* The body as it streams in, capped at --max-bytes (buf.h says NZ_ELIMIT). */
static size_t fetch_write(char *p, size_t size, size_t n, void *ud) {
    buf *body = ud;
    size_t add = size * n;
    return buf_add(body, p, add) < 0 ? 0 : add; /* 0 aborts the transfer */
}

/* Keep ETag and Last-Modified as they arrive. */
static size_t fetch_header(char *p, size_t size, size_t n, void *ud) {
    fetch_result *r = ud;
    size_t len = size * n;
    char line[512];
    size_t c = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, c);
    line[c] = '\0';
    while (c && (line[c - 1] == '\r' || line[c - 1] == '\n')) line[--c] = '\0';
    if (strncasecmp(line, "HTTP/", 5) == 0) { /* a new response (redirect): forget */
        r->etag[0] = r->last_modified[0] = '\0';
    } else if (strncasecmp(line, "etag:", 5) == 0) {
        const char *v = line + 5;
        while (*v == ' ') v++;
        snprintf(r->etag, sizeof r->etag, "%.*s", (int)sizeof r->etag - 1, v);
    } else if (strncasecmp(line, "last-modified:", 14) == 0) {
        const char *v = line + 14;
        while (*v == ' ') v++;
        snprintf(r->last_modified, sizeof r->last_modified, "%.*s",
                 (int)sizeof r->last_modified - 1, v);
    }
    return len;
}

static char *fetch_state_path(const char *url, const fetch_opts *o) {
    char id[ID_HEX_LEN + 1], *p = NULL;
    if (!o->state_dir || sha_id(id, url, NULL) < 0) return NULL;
    if (asprintf(&p, "%s/%s.json", o->state_dir, id) < 0) return NULL;
    return p;
}

/* One CURL handle per process: connections stay alive between documents.
 * A worker forked from the parent must not reuse the parent's handle: its
 * connections are sockets shared with the parent and the other workers.
 * The inherited handle is left alone (cleaning it up could talk on those
 * shared sockets) and a fresh one is made. */
static CURL *fetch_handle(void) {
    static CURL *h;
    static pid_t owner;
    if (h && owner != getpid()) h = NULL;
    if (!h) {
        h = curl_easy_init();
        owner = getpid();
    } else {
        curl_easy_reset(h);
    }
    return h;
}

int fetch_url(const char *url, const fetch_opts *o, const fetch_validators *v, fetch_result *out,
              char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    CURL *h = fetch_handle();
    if (!h) {
        snprintf(err, errlen, "libcurl: cannot create a handle");
        return NZ_ENOMEM;
    }
    struct curl_slist *hdrs = NULL;
    char *sp = fetch_state_path(url, o);
    json_t *state = sp ? json_load_file(sp, 0, NULL) : NULL;
    const char *etag = v && v->etag ? v->etag : json_string_value(json_object_get(state, "etag"));
    const char *lm = v && v->last_modified
                         ? v->last_modified
                         : json_string_value(json_object_get(state, "last_modified"));
    char hb[400];
    if (etag && *etag) {
        snprintf(hb, sizeof hb, "If-None-Match: %s", etag);
        hdrs = curl_slist_append(hdrs, hb);
    }
    if (lm && *lm) {
        snprintf(hb, sizeof hb, "If-Modified-Since: %s", lm);
        hdrs = curl_slist_append(hdrs, hb);
    }
    buf body;
    buf_init(&body, (size_t)o->max_bytes);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->timeout < 10 ? o->timeout : 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, FETCH_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip/deflate, decoded by libcurl */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, fetch_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
    if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    int rc = NZ_EUNAVAILABLE;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (cc != CURLE_OK) {
        if (buf_failed(&body) == NZ_ELIMIT || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(err, errlen, "response larger than --max-bytes %ld", o->max_bytes);
            rc = NZ_ELIMIT;
        } else if (cc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(err, errlen, "timed out after %ld s", o->timeout);
        } else if (cc == CURLE_TOO_MANY_REDIRECTS) {
            snprintf(err, errlen, "too many redirects (more than 5)");
        } else {
            snprintf(err, errlen, "fetch failed: %s", curl_easy_strerror(cc));
        }
        goto out;
    }
    if (out->status == 304) {
        out->unchanged = 1;
        rc = NZ_OK;
        goto out;
    }
    if (out->status < 200 || out->status > 299) {
        snprintf(err, errlen, "HTTP %ld", out->status);
        goto out;
    }
    char *ct = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(out->content_type, sizeof out->content_type, "%s", ct);
    curl_off_t ft = -1;
    curl_easy_getinfo(h, CURLINFO_FILETIME_T, &ft);
    out->mtime = ft > 0 ? (time_t)ft : time(NULL);
    rc = NZ_ENOMEM;
    if (!(out->data = (unsigned char *)buf_detach(&body, &out->len))) goto out;
    rc = NZ_OK;
out:
    buf_free(&body);
    curl_slist_free_all(hdrs);
    json_decref(state);
    free(sp);
    return rc;
}

void fetch_result_free(fetch_result *r) {
    free(r->data);
    r->data = NULL;
}

int fetch_save_state(const char *url, const fetch_opts *o, const fetch_result *r) {
    if (!o->state_dir || (!r->etag[0] && !r->last_modified[0])) return NZ_OK;
    if (mkdir_p(o->state_dir, 0755) < 0) return NZ_EIO;
    char *sp = fetch_state_path(url, o);
    if (!sp) return NZ_ENOMEM;
    json_t *st =
        json_pack("{s:s,s:s,s:s}", "url", url, "etag", r->etag, "last_modified", r->last_modified);
    char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
    int rc = !text ? NZ_ENOMEM : atomic_write_file(sp, text, strlen(text)) < 0 ? NZ_EIO : NZ_OK;
    free(text);
    json_decref(st);
    free(sp);
    return rc;
}

static int fetch_sitemap_level(const char *url, const fetch_opts *o, size_t max, size_t *count,
                               int depth, int (*add)(void *, const char *), void *ctx, char *err,
                               size_t errlen) {
    fetch_opts plain = *o;
    plain.state_dir = NULL; /* a sitemap is always read whole */
    fetch_result r;
    int rc = fetch_url(url, &plain, NULL, &r, err, errlen);
    if (rc < 0) return rc;
    unsigned char *xml = r.data;
    size_t xlen = r.len;
    unsigned char *inflated = NULL;
    xmlDocPtr doc = NULL;
    if (xlen >= 2 && xml[0] == 0x1f && xml[1] == 0x8b) {
        rc = gunzip_bounded(xml, xlen, (size_t)o->max_bytes, &inflated, &xlen, err, errlen);
        if (rc < 0) goto out;
        xml = inflated;
    }
    rc = NZ_EINVAL;
    doc = xlen <= INT32_MAX
              ? xmlReadMemory((const char *)xml, (int)xlen, url, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
              : NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        snprintf(err, errlen, "sitemap %s is not XML", url);
        goto out;
    }
    int is_index = !strcmp((const char *)root->name, "sitemapindex");
    for (xmlNode *e = root->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE) continue;
        for (xmlNode *l = e->children; l; l = l->next) {
            if (l->type != XML_ELEMENT_NODE || strcmp((const char *)l->name, "loc")) continue;
            xmlChar *loc = xmlNodeGetContent(l);
            if (!loc) continue;
            char *s = (char *)loc;
            while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
            size_t sl = strlen(s);
            while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\n' || s[sl - 1] == '\r'))
                s[--sl] = '\0';
            int arc = 0;
            if (!fetch_is_url(s)) {
                /* not http(s): ignore, a sitemap must not point at files */
            } else if (is_index && depth < FETCH_SITEMAP_DEPTH) {
                arc = fetch_sitemap_level(s, o, max, count, depth + 1, add, ctx, err, errlen);
            } else if (!is_index) {
                if (*count >= max) {
                    xmlFree(loc);
                    snprintf(err, errlen, "sitemap %s lists more than %zu pages", url, max);
                    rc = NZ_ELIMIT;
                    goto out;
                }
                if ((arc = add(ctx, s)) < 0) snprintf(err, errlen, "out of memory");
                (*count)++;
            }
            xmlFree(loc);
            if (arc < 0) {
                rc = arc;
                goto out;
            }
        }
    }
    rc = NZ_OK;
out:
    if (doc) xmlFreeDoc(doc);
    free(inflated);
    fetch_result_free(&r);
    return rc;
}

int fetch_sitemap(const char *url, const fetch_opts *o, size_t max,
                  int (*add)(void *ctx, const char *url), void *ctx, char *err, size_t errlen) {
    size_t count = 0;
    return fetch_sitemap_level(url, o, max, &count, 0, add, ctx, err, errlen);
}
