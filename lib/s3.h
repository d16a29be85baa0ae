/* s3.h -- a small S3-compatible object store client (S3, R2, MinIO).
 *
 * One libcurl easy handle per client, requests one at a time. Requests
 * are signed by libcurl itself (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3");
 * we give it what its signer needs and does not compute: the payload's
 * SHA-256 in x-amz-content-sha256 and a query string already in canonical
 * form (keys sorted, every key with its "=", values URI-encoded). URLs
 * are path-style: ENDPOINT/BUCKET/KEY.
 *
 * Settings (config.h): AWS_ENDPOINT_URL, AWS_REGION (us-east-1),
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (both secrets: they go to
 * libcurl and nowhere else; no error or log line carries them), and
 * NZ_S3_PART_SIZE (16 MiB). S3 wants parts of at least 5 MiB; a smaller
 * NZ_S3_PART_SIZE set explicitly is allowed (down to 64 KiB, with a
 * warning) so tests can exercise multipart uploads on small files.
 *
 * Files above the part size are uploaded in parts (CreateMultipartUpload,
 * UploadPart, CompleteMultipartUpload; AbortMultipartUpload on failure)
 * and downloaded in Range requests of the part size. Every request is
 * retried on a transport error, a 5xx or a 429, at most S3_ATTEMPTS times
 * with exponential backoff.
 *
 * The int functions return NZ_OK; or with err set NZ_EINVAL (a bad URL or
 * setting), NZ_EUNAVAILABLE (the server failed or answered an error; the
 * HTTP status is in c->last_status, 404 for a missing object), NZ_EIO (a
 * local file), NZ_ECORRUPT (a reply of the wrong size or shape), NZ_ELIMIT
 * (a reply larger than asked for) or NZ_ENOMEM (status.h).
 */
#ifndef NZ_S3_H
#define NZ_S3_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define S3_ATTEMPTS 4
#define S3_DEFAULT_PART_SIZE (16L << 20)
#define S3_MIN_PART_SIZE (5L << 20)
#define S3_TEST_MIN_PART_SIZE (64L << 10)

typedef struct s3_client {
    char *endpoint; /* no trailing slash */
    char *region;
    char *sigv4; /* "aws:amz:REGION:s3" */
    const char *access_key, *secret_key;
    size_t part_size;
    void *curl;
    long last_status;
    uint64_t requests, retries, bytes_up, bytes_down;
} s3_client;

/* s3://BUCKET[/PREFIX] into malloc'd bucket and prefix (no slashes at
 * either end; "" when absent). NZ_OK or NZ_EINVAL. */
int s3_parse_url(const char *url, char **bucket, char **prefix, char *err, size_t errlen);

/* Append `s` URI-encoded (RFC 3986 unreserved kept; '/' kept when
 * keep_slash) to b. NZ_OK or the buf's failure. */
int s3_uri_encode(buf *b, const char *s, int keep_slash);

/* The text between <tag> and </tag> in an XML reply, malloc'd, or NULL. */
char *s3_xml_value(const char *xml, const char *tag);

/* From config.h's settings. */
int s3_open(s3_client *c, char *err, size_t errlen);
void s3_close(s3_client *c);

/* Upload bytes, or a file (in parts above the part size). */
int s3_put(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
           char *err, size_t errlen);
int s3_put_file(s3_client *c, const char *bucket, const char *key, const char *path, char *err,
                size_t errlen);

/* Download a small object into out (capped at max bytes). */
int s3_get(s3_client *c, const char *bucket, const char *key, size_t max, buf *out, char *err,
           size_t errlen);
/* Download an object of known size into a new file at path (written in
 * Range requests of the part size, then fsynced). */
int s3_get_file(s3_client *c, const char *bucket, const char *key, uint64_t size, const char *path,
                char *err, size_t errlen);

#endif
