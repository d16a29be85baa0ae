/* fetch.h -- http(s) sources through libcurl.
 *
 * One GET, bounded every way: connect and total timeouts, at most 5
 * redirects (and only to http or https), the size cap enforced while the
 * body streams in, TLS verification on, an honest User-Agent naming the
 * tool. Conditional GET: the ETag and Last-Modified of the last successful
 * fetch of a URL live in the state folder (--state DIR, one small JSON
 * file per URL, written atomically), are sent back as If-None-Match and
 * If-Modified-Since, and a 304 comes back as `unchanged`. The state is
 * saved only after the document was extracted, so a failed run is fetched
 * again next time. The caller may also give the validators itself (what
 * nz-extract --known says of the URL); they take the place of the state's.
 *
 * A URL whose last path segment is sitemap*.xml(.gz) is a sitemap: its
 * <loc> pages (and those of nested sitemap indexes, two levels deep) are
 * the sources instead.
 */
#ifndef NZ_FETCH_H
#define NZ_FETCH_H

#include <stddef.h>
#include <time.h>

typedef struct fetch_opts {
    long max_bytes;
    long timeout;          /* seconds for the whole transfer */
    const char *state_dir; /* NULL: no conditional GET */
} fetch_opts;

typedef struct fetch_result {
    unsigned char *data; /* malloc'd body */
    size_t len;
    long status;
    int unchanged; /* 304 */
    char content_type[128];
    char etag[256], last_modified[64];
    time_t mtime;
} fetch_result;

int fetch_is_url(const char *s);
int fetch_is_sitemap(const char *url);
void fetch_global_init(void);

/* Validators for a conditional GET; a NULL field: the state folder's. */
typedef struct fetch_validators {
    const char *etag, *last_modified;
} fetch_validators;

/* v: validators to send, or NULL (the state folder's, if any). NZ_OK with
 * *out filled (status 200, or unchanged). Else, with err: NZ_EUNAVAILABLE
 * (connection, timeout, redirects, an HTTP error status: out->status says
 * which), NZ_ELIMIT (a body over max_bytes) or NZ_ENOMEM. */
int fetch_url(const char *url, const fetch_opts *o, const fetch_validators *v, fetch_result *out,
              char *err, size_t errlen);
void fetch_result_free(fetch_result *r);
/* Remember a successful fetch for the next conditional GET. NZ_OK (also
 * when there is nothing to remember), NZ_EIO or NZ_ENOMEM. */
int fetch_save_state(const char *url, const fetch_opts *o, const fetch_result *r);

/* Page URLs of a sitemap (recursing into sitemap indexes), appended via
 * add() (a status < 0 from it stops the walk). At most `max` URLs. NZ_OK;
 * else, with err: fetch_url's and gunzip_bounded's statuses, NZ_EINVAL
 * (not XML), NZ_ELIMIT (more than max pages), or add()'s. */
int fetch_sitemap(const char *url, const fetch_opts *o, size_t max,
                  int (*add)(void *ctx, const char *url), void *ctx, char *err, size_t errlen);

#endif
