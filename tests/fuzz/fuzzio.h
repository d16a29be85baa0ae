/* fuzzio.h -- what the fuzz targets share: a private scratch directory
 * per process (under /dev/shm when it exists, so the files the parsers
 * open never touch a disk) and writing the fuzz input there; poppler's
 * global state held for the PDF targets.
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
#include <stdio.h>

/* The scratch directory (made on the first call; aborts if it cannot be). */
const char *fuzz_dir(void);

/* fuzz_dir()/name, in a static buffer per call site's copy: the caller
 * copies it when it needs two at once. */
const char *fuzz_path(const char *name);

/* Write data[0..len) to path, replacing it; aborts on a write error (a
 * full /dev/shm must not pass for a parser's finding). */
void fuzz_write(const char *path, const uint8_t *data, size_t len);

/* The input as a read-only stream (fmemopen): what the stages' `in`
 * option reads instead of a file. Aborts when it cannot be made. */
FILE *fuzz_stream(const uint8_t *data, size_t len);

/* Send stdout to /dev/null (the stages write their records there) and
 * turn the logs off (NZ_LOG_LEVEL=off, log.h): a rejection per input is
 * not what the targets test, and formatting it cost more than parsing
 * the input. */
void fuzz_quiet(const char *stage);

/* Open a one-page PDF with poppler-glib and keep it open for the life of
 * the process. poppler builds its GlobalParams (font tables, encodings:
 * most of an execution on a small input) when the first document opens
 * and frees them when the last one closes; with this one held, each
 * input's document reuses them. Aborts if the PDF does not open. */
void fuzz_poppler_hold(void);

#endif
