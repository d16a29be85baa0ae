/* s3.c -- see s3.h. */
#include "s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sha.h"
#include "status.h"

#define S3_ERRBODY_MAX 4096

/* One request: what to send, and where the reply's body goes. */
typedef struct s3_req {
    const char *method; /* GET, PUT, POST, DELETE */
    const char *bucket, *key;
    const char *query; /* canonical form, or NULL */
    const void *body;  /* PUT and POST */
    size_t body_len, body_pos;
    const char *content_type, *range;
    buf *out; /* the reply (2xx), or NULL to drop it */
    int fd;   /* or into this file at off, when >= 0 */
    uint64_t off, want, got;
    buf errbody; /* the reply of a failed request */
    char etag[256];
    long status;
} s3_req;

int s3_parse_url(const char *url, char **bucket, char **prefix, char *err, size_t errlen) {
    *bucket = *prefix = NULL;
    if (!url || strncmp(url, "s3://", 5) != 0 || !url[5] || url[5] == '/') {
        snprintf(err, errlen, "expected s3://BUCKET/PREFIX, got \"%s\"", url ? url : "");
        return NZ_EINVAL;
    }
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    const char *p = slash ? slash + 1 : "";
    while (*p == '/') p++;
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/') plen--;
    *bucket = strndup(b, blen);
    *prefix = strndup(p, plen);
    if (!*bucket || !*prefix) {
        free(*bucket);
        free(*prefix);
        *bucket = *prefix = NULL;
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    return NZ_OK;
}

int s3_uri_encode(buf *b, const char *s, int keep_slash) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/'))
            buf_addc(b, (char)*p);
        else buf_printf(b, "%%%02X", *p);
    }
    return buf_failed(b);
}

char *s3_xml_value(const char *xml, const char *tag) {
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = xml ? strstr(xml, open) : NULL;
    if (!a) return NULL;
    a += strlen(open);
    const char *z = strstr(a, close);
    return z ? strndup(a, (size_t)(z - a)) : NULL;
}

int s3_open(s3_client *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    const char *ep = config_get(CFG_AWS_ENDPOINT_URL);
    c->access_key = config_get(CFG_AWS_ACCESS_KEY_ID);
    c->secret_key = config_get(CFG_AWS_SECRET_ACCESS_KEY);
    long part;
    if (!ep || !*ep) {
        snprintf(err, errlen, "AWS_ENDPOINT_URL is not set");
        return NZ_EINVAL;
    }
    if (!c->access_key || !c->secret_key) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
        return NZ_EINVAL;
    }
    int explicit = strcmp(config_source(CFG_NZ_S3_PART_SIZE), "default") != 0;
    if (config_long(CFG_NZ_S3_PART_SIZE, explicit ? S3_TEST_MIN_PART_SIZE : S3_MIN_PART_SIZE,
                    5L << 30, &part) < 0) {
        snprintf(err, errlen, "bad NZ_S3_PART_SIZE");
        return NZ_EINVAL;
    }
    if (part < S3_MIN_PART_SIZE)
        log_warn("NZ_S3_PART_SIZE %ld is below S3's 5 MiB minimum part (for tests only)", part);
    c->part_size = (size_t)part;
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/') n--;
    c->endpoint = strndup(ep, n);
    c->region = strdup(config_get(CFG_AWS_REGION));
    if (c->region && asprintf(&c->sigv4, "aws:amz:%s:s3", c->region) < 0) c->sigv4 = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) c->curl = curl_easy_init();
    if (!c->endpoint || !c->region || !c->sigv4 || !c->curl) {
        s3_close(c);
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    return NZ_OK;
}

void s3_close(s3_client *c) {
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->endpoint);
    free(c->region);
    free(c->sigv4);
    memset(c, 0, sizeof *c);
}

static size_t s3_on_read(char *dst, size_t size, size_t nmemb, void *arg) {
    s3_req *r = arg;
    size_t n = size * nmemb, left = r->body_len - r->body_pos;
    if (n > left) n = left;
    memcpy(dst, (const char *)r->body + r->body_pos, n);
    r->body_pos += n;
    return n;
}

static size_t s3_on_write(char *src, size_t size, size_t nmemb, void *arg) {
    s3_req *r = arg;
    size_t n = size * nmemb;
    if (r->status >= 300 || r->status < 200) {
        if (r->errbody.len < S3_ERRBODY_MAX) buf_add(&r->errbody, src, n);
        return n;
    }
    if (r->fd >= 0) {
        if (r->got + n > r->want) return 0; /* more than asked for */
        for (size_t done = 0; done < n;) {
            ssize_t w = pwrite(r->fd, src + done, n - done, (off_t)(r->off + r->got + done));
            if (w <= 0) return 0;
            done += (size_t)w;
        }
    } else if (r->out && buf_add(r->out, src, n) < 0) return 0;
    r->got += n;
    return n;
}

static size_t s3_on_header(char *line, size_t size, size_t nmemb, void *arg) {
    s3_req *r = arg;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->status = 0;
        const char *sp = memchr(line, ' ', n);
        if (sp) r->status = strtol(sp + 1, NULL, 10);
    } else if (n > 5 && strncasecmp(line, "etag:", 5) == 0) {
        size_t a = 5, z = n;
        while (a < z && (line[a] == ' ' || line[a] == '\t')) a++;
        while (z > a && (line[z - 1] == '\r' || line[z - 1] == '\n' || line[z - 1] == ' ')) z--;
        if (z - a < sizeof r->etag) {
            memcpy(r->etag, line + a, z - a);
            r->etag[z - a] = '\0';
        }
    }
    return n;
}

/* Set up the handle for one attempt of r. NZ_OK or NZ_ENOMEM. */
static int s3_setup(s3_client *c, s3_req *r, const char *url, struct curl_slist **hdrs,
                    char *curlerr) {
    CURL *h = c->curl;
    unsigned char digest[SHA_LEN];
    char hex[SHA_HEX_LEN + 1], line[SHA_HEX_LEN + 64];
    if (sha256(r->body ? r->body : "", r->body ? r->body_len : 0, digest) < 0) return NZ_ENOMEM;
    sha_hex(digest, SHA_LEN, hex);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hex);
    struct curl_slist *l = curl_slist_append(NULL, line);
    char ct[128], range[96];
    if (l && r->content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", r->content_type);
        l = curl_slist_append(l, ct) ? l : (curl_slist_free_all(l), NULL);
    }
    if (l && r->range) {
        snprintf(range, sizeof range, "Range: %s", r->range);
        l = curl_slist_append(l, range) ? l : (curl_slist_free_all(l), NULL);
    }
    if (!l) return NZ_ENOMEM;
    *hdrs = l;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return NZ_OK;
}

/* Send r, retrying transport errors, 5xx and 429. NZ_OK on a 2xx. */
static int s3_do(s3_client *c, s3_req *r, char *err, size_t errlen) {
    buf url = BUF_INIT;
    struct curl_slist *hdrs = NULL;
    int rc = NZ_ENOMEM;
    buf_printf(&url, "%s/", c->endpoint);
    s3_uri_encode(&url, r->bucket, 0);
    buf_addc(&url, '/');
    s3_uri_encode(&url, r->key, 1);
    if (r->query && *r->query) buf_printf(&url, "?%s", r->query);
    if (buf_failed(&url)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int attempt = 0; attempt < S3_ATTEMPTS; attempt++) {
        if (attempt) {
            c->retries++;
            struct timespec ts = {0, (100L << attempt) * 1000000L};
            nanosleep(&ts, NULL);
        }
        char curlerr[CURL_ERROR_SIZE] = "";
        r->body_pos = 0;
        r->got = 0;
        r->status = 0;
        r->etag[0] = '\0';
        buf_reset(&r->errbody);
        if (r->out) buf_truncate(r->out, 0);
        curl_slist_free_all(hdrs);
        hdrs = NULL;
        if (s3_setup(c, r, buf_str(&url), &hdrs, curlerr) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = NZ_ENOMEM;
            goto fail;
        }
        c->requests++;
        CURLcode res = curl_easy_perform(c->curl);
        long status = 0;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        c->last_status = status;
        if (res == CURLE_OK && status >= 200 && status < 300) {
            c->bytes_up += r->body ? r->body_len : 0;
            c->bytes_down += r->got;
            rc = NZ_OK;
            goto fail;
        }
        rc = NZ_EUNAVAILABLE;
        if (res == CURLE_WRITE_ERROR && r->out && buf_failed(r->out)) rc = buf_failed(r->out);
        else if (res == CURLE_WRITE_ERROR) rc = r->fd >= 0 ? NZ_EIO : NZ_ELIMIT;
        if (res != CURLE_OK)
            snprintf(err, errlen, "%s s3://%s/%s: %s", r->method, r->bucket, r->key,
                     *curlerr ? curlerr : curl_easy_strerror(res));
        else {
            char *code = s3_xml_value(buf_str(&r->errbody), "Code");
            snprintf(err, errlen, "%s s3://%s/%s: HTTP %ld%s%s", r->method, r->bucket, r->key,
                     status, code ? " " : "", code ? code : "");
            free(code);
        }
        int transient =
            (res != CURLE_OK && res != CURLE_WRITE_ERROR) || status >= 500 || status == 429;
        if (!transient) goto fail;
        log_warn("%s (attempt %d of %d)", err, attempt + 1, S3_ATTEMPTS);
    }
fail:
    curl_slist_free_all(hdrs);
    buf_free(&url);
    buf_free(&r->errbody);
    return rc;
}

/* A request with no body and no sink yet. */
static s3_req s3_req_make(const char *method, const char *bucket, const char *key,
                          const char *query) {
    s3_req r = {.method = method,
                .bucket = bucket,
                .key = key,
                .query = query,
                .fd = -1,
                .errbody = BUF_INIT};
    return r;
}

/* q = "[partNumber=N&]uploadId=ID", canonical (part 0: no partNumber). */
static const char *s3_upload_query(buf *q, int part, const char *upload_id) {
    buf_reset(q);
    if (part) buf_printf(q, "partNumber=%d&", part);
    buf_adds(q, "uploadId=");
    s3_uri_encode(q, upload_id, 0);
    return buf_failed(q) ? NULL : buf_str(q);
}

int s3_put(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
           char *err, size_t errlen) {
    s3_req r = s3_req_make("PUT", bucket, key, NULL);
    r.body = data ? data : "";
    r.body_len = len;
    return s3_do(c, &r, err, errlen);
}

/* Read len bytes at off of fd into b (replacing its contents). */
static int s3_read_part(int fd, uint64_t off, size_t len, buf *b) {
    buf_reset(b);
    if (buf_grow(b, len) < 0) return NZ_ENOMEM;
    while (b->len < len) {
        ssize_t n = pread(fd, b->s + b->len, len - b->len, (off_t)(off + b->len));
        if (n <= 0) return NZ_EIO;
        b->len += (size_t)n;
    }
    b->s[b->len] = '\0';
    return NZ_OK;
}

/* The multipart upload of fd (size bytes) to key. */
static int s3_put_parts(s3_client *c, const char *bucket, const char *key, int fd, uint64_t size,
                        char *err, size_t errlen) {
    buf reply = BUF_INIT, part = BUF_INIT, xml = BUF_INIT, q = BUF_INIT;
    char *upload_id = NULL;
    int rc;
    s3_req r = s3_req_make("POST", bucket, key, "uploads=");
    r.out = &reply;
    buf_init(&reply, 1 << 20);
    if ((rc = s3_do(c, &r, err, errlen)) < 0) goto fail;
    upload_id = s3_xml_value(buf_str(&reply), "UploadId");
    if (!upload_id || !*upload_id) {
        snprintf(err, errlen, "POST s3://%s/%s?uploads: no UploadId in the reply", bucket, key);
        rc = NZ_ECORRUPT;
        goto fail;
    }
    buf_adds(&xml, "<CompleteMultipartUpload>");
    int nparts = 0;
    for (uint64_t off = 0; off < size; off += c->part_size) {
        size_t len = size - off < c->part_size ? (size_t)(size - off) : c->part_size;
        if ((rc = s3_read_part(fd, off, len, &part)) < 0) {
            snprintf(err, errlen, "%s: read failed", key);
            goto fail;
        }
        s3_req p = s3_req_make("PUT", bucket, key, s3_upload_query(&q, ++nparts, upload_id));
        p.body = part.s;
        p.body_len = part.len;
        rc = NZ_ENOMEM;
        if (!p.query || (rc = s3_do(c, &p, err, errlen)) < 0) goto fail;
        if (!*p.etag) {
            snprintf(err, errlen, "PUT s3://%s/%s part %d: no ETag in the reply", bucket, key,
                     nparts);
            rc = NZ_ECORRUPT;
            goto fail;
        }
        buf_printf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", nparts, p.etag);
    }
    buf_adds(&xml, "</CompleteMultipartUpload>");
    s3_req done = s3_req_make("POST", bucket, key, s3_upload_query(&q, 0, upload_id));
    done.body = xml.s;
    done.body_len = xml.len;
    done.content_type = "application/xml";
    done.out = &reply;
    rc = buf_failed(&xml) ? buf_failed(&xml) : done.query ? NZ_OK : NZ_ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = s3_do(c, &done, err, errlen)) < 0) goto fail;
    if (strstr(buf_str(&reply), "<Error>")) { /* S3 may fail a completion with a 200 */
        snprintf(err, errlen, "POST s3://%s/%s?uploadId: the upload was not completed", bucket,
                 key);
        rc = NZ_EUNAVAILABLE;
    }
fail:
    if (rc < 0 && upload_id) { /* abort, so the store drops the parts */
        char ignored[256];
        buf_free(&q);
        s3_req a = s3_req_make("DELETE", bucket, key, s3_upload_query(&q, 0, upload_id));
        if (a.query) s3_do(c, &a, ignored, sizeof ignored);
    }
    free(upload_id);
    buf_free(&reply);
    buf_free(&part);
    buf_free(&xml);
    buf_free(&q);
    return rc;
}

int s3_put_file(s3_client *c, const char *bucket, const char *key, const char *path, char *err,
                size_t errlen) {
    buf body = BUF_INIT;
    int rc = NZ_EIO;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size > c->part_size) {
        rc = s3_put_parts(c, bucket, key, fd, (uint64_t)st.st_size, err, errlen);
        goto fail;
    }
    if ((rc = s3_read_part(fd, 0, (size_t)st.st_size, &body)) < 0) {
        snprintf(err, errlen, "%s: read failed", path);
        goto fail;
    }
    rc = s3_put(c, bucket, key, body.s, body.len, err, errlen);
fail:
    if (fd >= 0) close(fd);
    buf_free(&body);
    return rc;
}

int s3_get(s3_client *c, const char *bucket, const char *key, size_t max, buf *out, char *err,
           size_t errlen) {
    buf_init(out, max);
    s3_req r = s3_req_make("GET", bucket, key, NULL);
    r.out = out;
    int rc = s3_do(c, &r, err, errlen);
    if (rc == NZ_ELIMIT)
        snprintf(err, errlen, "s3://%s/%s: larger than %zu bytes", bucket, key, max);
    return rc;
}

int s3_get_file(s3_client *c, const char *bucket, const char *key, uint64_t size, const char *path,
                char *err, size_t errlen) {
    int rc = NZ_EIO;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    uint64_t off = 0;
    do {
        uint64_t len = size - off < c->part_size ? size - off : c->part_size;
        char range[96];
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
        s3_req r = s3_req_make("GET", bucket, key, NULL);
        r.range = size > c->part_size ? range : NULL;
        r.fd = fd;
        r.off = off;
        r.want = len;
        if ((rc = s3_do(c, &r, err, errlen)) < 0) goto fail;
        if (r.got != len) {
            snprintf(err, errlen, "GET s3://%s/%s: %llu bytes at %llu, expected %llu", bucket, key,
                     (unsigned long long)r.got, (unsigned long long)off, (unsigned long long)len);
            rc = NZ_ECORRUPT;
            goto fail;
        }
        off += len;
    } while (off < size);
    rc = NZ_EIO;
    if (fsync(fd) < 0) {
        snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
        goto fail;
    }
    rc = NZ_OK;
fail:
    if (fd >= 0 && close(fd) < 0 && rc == NZ_OK) {
        snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
        rc = NZ_EIO;
    }
    return rc;
}
