/* store.h -- index snapshots in object storage (S3, R2, MinIO; lib/s3.h).
 *
 *   s3://BUCKET/PREFIX/
 *     snapshots/<name>/MANIFEST.json, *.bin    one prefix per snapshot
 *     latest        {"snapshot": name, "manifest_crc32": CRC}, written last
 *
 * push uploads a snapshot's files (the .bin files, then MANIFEST.json),
 * and only then the small `latest` pointer, so a reader never follows
 * `latest` into a half-uploaded snapshot.
 *
 * pull reads `latest`, downloads that snapshot into ROOT/.tmp-<name>
 * (the build's temp prefix: a killed pull leaves nothing a reader would
 * take, and the next writer removes it), checks the manifest's CRC32
 * against `latest` and every file's CRC32 against the manifest
 * (snapshot_verify), and only then publishes it with the build's atomic
 * `current` swap (publish.h), under the root's writer lock. A snapshot
 * already here under that name, and verified, is not downloaded again.
 *
 * Both return NZ_OK and fill *report (a new JSON object: the snapshot,
 * files, bytes, seconds, MB/s); or with err set NZ_EINVAL (a bad URL,
 * setting or `latest`), NZ_EBUSY (another writer holds the root),
 * NZ_EUNAVAILABLE (the object store failed), NZ_ECORRUPT (a download that
 * does not match its manifest), NZ_EIO or NZ_ENOMEM.
 */
#ifndef NZ_STORE_H
#define NZ_STORE_H

#include <jansson.h>
#include <stddef.h>

#define STORE_LATEST "latest"
#define STORE_LATEST_MAX 4096

/* Upload snapshot (ROOT or SNAPSHOT directory, as snapshot_resolve) to url. */
int store_push(const char *snapshot, const char *url, json_t **report, char *err, size_t errlen);

/* Download the latest snapshot at url into root and make it current. */
int store_pull(const char *url, const char *root, json_t **report, char *err, size_t errlen);

/* Parse a `latest` object: its snapshot name (malloc'd; a plain directory
 * name) and manifest CRC32. NZ_OK or NZ_EINVAL. */
int store_parse_latest(const char *text, size_t len, char **name, unsigned long *crc);

#endif
