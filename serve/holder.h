/* holder.h -- the snapshot the server is serving, swapped without downtime.
 *
 * Requests take a counted reference (holder_acquire) and drop it when done
 * (holder_release); a swap installs the new snapshot and the old one is
 * closed by whichever request releases it last. So a swap never waits for
 * requests and a request never sees a half-swapped index.
 *
 * holder_check() is called by the server's main thread once a second and
 * on SIGHUP: when INDEX_PATH/current names a snapshot other than the one
 * served, it is opened AND fully verified (every CRC) before the swap; a
 * snapshot that fails is refused, logged, and not retried until `current`
 * changes again or a SIGHUP forces it.
 *
 * A snapshot must also match the embedder the server was configured for
 * (holder_expect: EMBEDDING_PROVIDER / EMBEDDING_MODEL when set): vectors
 * of another model answer queries with plausible nonsense, so such a
 * snapshot is refused like a corrupt one, before its CRCs are read. The
 * newest refusal (name and reason) is kept for /health until a newer
 * snapshot is installed (holder_refused).
 */
#ifndef NZ_HOLDER_H
#define NZ_HOLDER_H

#include "snapshot.h"
#include "stats.h"

typedef struct held_snapshot held_snapshot;

void holder_init(const char *root);
/* The embedder a snapshot must match; NULL or "" = any. Before the first holder_check. */
void holder_expect(const char *provider, const char *model);
/* Look at INDEX_PATH/current; force: re-check even a refused name.
 * Returns 1 when a new snapshot was installed, 0 when nothing changed, or,
 * when the candidate was refused (logged, and kept for holder_refused):
 *   NZ_EINVAL   its embedder does not match holder_expect's;
 *   NZ_ECORRUPT it cannot be opened or fails verification;
 *   NZ_EIO      one of its files cannot be read;
 *   NZ_ENOMEM   out of memory. */
int holder_check(int force);
/* 1 when the newest candidate snapshot was refused and nothing newer has been installed
   since, filling its name and the reason; 0 otherwise. Thread-safe (HTTP threads call it). */
int holder_refused(char *name, size_t namelen, char *reason, size_t reasonlen);
/* A number that changes whenever the snapshot served or the refusal
   changes (never the same after a change), read without a lock: a caller
   that keeps something made from them (route.c's /health body) reads it
   first, then the state, and makes its copy again when it differs. */
unsigned long holder_generation(void);
held_snapshot *holder_acquire(void); /* NULL when no index is loaded */
const snapshot *holder_snapshot(const held_snapshot *h);
void holder_release(held_snapshot *h);
void holder_info(stats_index_info *info, char *name_buf, size_t name_len);
void holder_shutdown(void);

#endif
