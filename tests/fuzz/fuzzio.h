/* fuzzio.h -- what the file-reading fuzz targets share: a private scratch
 * directory per process (under /dev/shm when it exists, so the files the
 * parsers open never touch a disk) and writing the fuzz input there.
 *
 * The targets fuzz the stages' own entry points, which read files by
 * name; the input is written to a file in the scratch directory first,
 * the same bytes a user's file would hold. The directory is removed when
 * the process exits.
 */
#ifndef NZ_FUZZIO_H
#define NZ_FUZZIO_H

#include <stddef.h>
#include <stdint.h>

/* The scratch directory (made on the first call; aborts if it cannot be). */
const char *fuzz_dir(void);

/* fuzz_dir()/name, in a static buffer per call site's copy: the caller
 * copies it when it needs two at once. */
const char *fuzz_path(const char *name);

/* Write data[0..len) to path, replacing it; aborts on a write error (a
 * full /dev/shm must not pass for a parser's finding). */
void fuzz_write(const char *path, const uint8_t *data, size_t len);

/* Send stdout to /dev/null: the stages write their records there. */
void fuzz_quiet_stdout(void);

#endif
