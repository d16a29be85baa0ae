/* fuzz_manifest.c -- libFuzzer target: MANIFEST.json as every reader of a
 * snapshot reads it (snapshot_open, verify, import, pull).
 *
 * The input is written as a snapshot directory's MANIFEST.json and read by
 * manifest_read(), which checks what a reader relies on; on success the
 * accessors the readers call next run on it too: each file's size, the
 * labels, and the fields snapshot_open copies. The oracle: what
 * manifest_read accepts holds what it promises (dim 1..65536, count
 * 1..2^32-1, both data files listed, a known kind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "fuzzio.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(fuzz_path(NZI_MANIFEST), data, size);
    char err[512];
    manifest_info mi;
    json_t *m = manifest_read(fuzz_dir(), &mi, err, sizeof err);
    if (!m) return 0;
    uint64_t sz;
    if (mi.dim < 1 || mi.dim > 65536 || mi.count < 1 || mi.count > UINT32_MAX || !mi.provider ||
        !mi.model || !mi.metric || !mi.kind ||
        (strcmp(mi.kind, "flat") != 0 && strcmp(mi.kind, "vamana") != 0) ||
        manifest_file_size(m, NZI_VECTORS, &sz) != 0 || sz != mi.vectors_size ||
        manifest_file_size(m, NZI_CHUNKS, &sz) != 0 || sz != mi.chunks_size)
        abort();
    (void)manifest_file_size(m, NZI_CODES, &sz);
    (void)manifest_file_size(m, NZI_GRAPH, &sz);
    const char *v = manifest_label(m, "source");
    if (v) (void)strlen(v);
    json_decref(m);
    return 0;
}
