/* follow.h -- a read replica following an object store (nz-serve --follow).
 *
 * A thread pulls the latest snapshot of s3://BUCKET/PREFIX into the index
 * root at once, then every `interval` seconds (index/store.h: a snapshot
 * already here is not downloaded again; a new one is verified, every CRC,
 * before it becomes `current` through the build's atomic swap). The
 * server's main thread then swaps it in as it does any new `current`
 * (holder.h). So a replica started on an empty volume answers 503 on
 * /health until its first pull lands, and N replicas serve what one
 * ingestion machine pushes (`nz-pipeline run --push`). A failed pull is
 * logged and tried again at the next tick; the snapshot being served
 * stays. The object store's keys come from the environment (lib/s3.h) and
 * are never logged.
 */
#ifndef NZ_FOLLOW_H
#define NZ_FOLLOW_H

#include <stddef.h>

#define FOLLOW_DEFAULT_INTERVAL 60

/* Start following. NZ_OK, or NZ_EINVAL (a bad URL) / NZ_ENOMEM with err. */
int follow_start(const char *url, const char *root, double interval, char *err, size_t errlen);
/* Stop the thread (at once, even mid-wait) and wait for it. */
void follow_stop(void);

#endif
