/* tarball.h -- one index snapshot as a gzip tarball, and back again
 * (`nz-index export` and `nz-index import`: backup and restore).
 *
 * The tarball holds one folder named after the snapshot, and in it regular
 * files only: MANIFEST.json first, then every file the manifest lists, in
 * its order. Owner 0:0, mode 0644 and mtime (the snapshot's created time)
 * are fixed, and the gzip header carries no time, so the same snapshot
 * always gives the same bytes. libarchive writes and reads the tar format;
 * nothing here writes tar by hand.
 *
 * Import trusts nothing in the archive. libarchive never writes to disk:
 * each entry's path is checked (tarball_path_split), its data read through
 * libarchive and written by us under a fresh build directory of the root
 * (publish.h's .tmp-, so a killed import leaves nothing a reader takes and
 * the next writer removes it). Refused: links, devices, directories, any
 * path but FOLDER/NAME, a second folder, a file the manifest does not list
 * or lists twice, an entry larger than the manifest says, a missing file,
 * a truncated or altered gzip stream (zlib checks the gzip CRC and length:
 * libarchive's own gzip reader does not), trailing bytes. The whole input
 * is bounded by the manifest's sizes. Only when every file's CRC32 verifies
 * (snapshot_open + snapshot_verify) is the directory published the way a
 * build publishes, under the root's writer lock, under its own name (the
 * tarball's folder, which snapshot_verify checks against the manifest's
 * `snapshot`). A snapshot of that name already in the root must verify,
 * and is made `current` again instead (nothing is replaced).
 */
#ifndef NZ_TARBALL_H
#define NZ_TARBALL_H

#include <stddef.h>
#include <stdint.h>

/* Longest file or folder name in a tarball, and MANIFEST.json's size. */
#define TARBALL_NAME_MAX 128
#define TARBALL_MAX_MANIFEST (1u << 20)
/* The most bytes an import accepts in all, whatever the manifest says. */
#define TARBALL_MAX_TOTAL (1ull << 40)

typedef struct tarball_result {
    char snapshot[TARBALL_NAME_MAX + 1]; /* the snapshot (exported or imported) */
    char from[TARBALL_NAME_MAX + 1];     /* import: the tarball's folder */
    uint64_t count;                      /* rows */
    uint64_t bytes;                      /* file bytes, uncompressed */
    int files;                           /* entries, MANIFEST.json included */
} tarball_result;

/* A name fit for a tarball entry: 1..TARBALL_NAME_MAX bytes of
 * [A-Za-z0-9._-], not starting with '.'. 1 if fit, else 0. */
int tarball_name_ok(const char *name);

/* Split an entry path "FOLDER/FILE" into its two names (each checked with
 * tarball_name_ok; FOLDER also starts with "snap-"). NZ_OK, or NZ_EINVAL
 * for anything else: absolute, "..", ".", empty parts, more levels. */
int tarball_path_split(const char *path, char folder[TARBALL_NAME_MAX + 1],
                       char file[TARBALL_NAME_MAX + 1]);

/* Write the snapshot at path (a root's current, or a snapshot directory)
 * to out ("-": stdout; else atomically: temp, fsync, rename). NZ_OK;
 * NZ_ECORRUPT (a file disagrees with the manifest's size or CRC32: nothing
 * written); NZ_EIO; NZ_ENOMEM. err set on failure. */
int tarball_export(const char *path, const char *out, tarball_result *res, char *err,
                   size_t errlen);

/* Restore the tarball at in ("-": stdin) into root as its new current.
 * NZ_OK; refused archives (nothing changed): NZ_EINVAL (an entry's type,
 * path or name), NZ_ECORRUPT (truncated, altered, or a CRC32 mismatch),
 * NZ_ELIMIT (past a size bound); NZ_EBUSY (another writer); NZ_EIO;
 * NZ_ENOMEM. err set on failure. */
int tarball_import(const char *in, const char *root, tarball_result *res, char *err, size_t errlen);

#endif
