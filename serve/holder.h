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
 */
#ifndef NZ_HOLDER_H
#define NZ_HOLDER_H

#include "snapshot.h"
#include "stats.h"

typedef struct held_snapshot held_snapshot;

void holder_init(const char *root);
/* 1 when a new snapshot was installed, 0 when nothing changed, -1 when a
 * candidate was refused. force: re-check even a refused name. */
int holder_check(int force);
held_snapshot *holder_acquire(void); /* NULL when no index is loaded */
const snapshot *holder_snapshot(const held_snapshot *h);
void holder_release(held_snapshot *h);
void holder_info(stats_index_info *info, char *name_buf, size_t name_len);
void holder_shutdown(void);

#endif
