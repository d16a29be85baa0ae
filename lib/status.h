/* status.h -- the status codes of nuzantara's library functions, by name.
 *
 * A library function that can fail returns an int (or a long, when it
 * also returns a count: a count >= 0, or a status < 0). 0 is NZ_OK; every
 * failure is one of the negative codes below, never a bare -1 or -2 whose
 * meaning depends on the function. Callers compare against the names, and
 * a binary maps them to its own answer: nz-index to an exit code (nz.h),
 * nz-serve to an HTTP status. Where the reason needs words (which field,
 * which row), the function also fills a caller's `char *err, size_t
 * errlen`; nz_strerror() gives the sentence below for logs.
 *
 * The codes are LMDB's pattern (lmdb.h): one list, each code a name and a
 * sentence, so that a reader never has to open a .c file to learn what a
 * return value means.
 */
#ifndef NZ_STATUS_H
#define NZ_STATUS_H

/** Success. */
#define NZ_OK 0
/** The input was refused: a bad record, request or value. The caller
 * rejects that one input, says why, and goes on with the others. */
#define NZ_EINVAL (-1)
/** Reading or writing a file failed (errno tells why). What was being
 * written must not be trusted. */
#define NZ_EIO (-2)
/** Memory could not be allocated. */
#define NZ_ENOMEM (-3)
/** Stopped on request (SIGTERM, SIGINT) before the work was done. */
#define NZ_ESTOPPED (-4)
/** A remote service (the embedding provider, the database) failed or
 * could not be reached. The input was fine: trying later may succeed. */
#define NZ_EUNAVAILABLE (-5)
/** A vector has a different number of dimensions than expected. */
#define NZ_EDIM (-6)
/** A number is NaN or infinite where a finite one is needed. */
#define NZ_ENONFINITE (-7)
/** Bytes do not match their format or their checksum: a corrupt file. */
#define NZ_ECORRUPT (-8)
/** A configured bound was passed: a size, a count or a nesting depth. */
#define NZ_ELIMIT (-9)
/** Another process holds the lock (one writer at a time); try again when
 * it is done. */
#define NZ_EBUSY (-10)

/* The sentence for a status, for logs ("unknown status" for others). */
const char *nz_strerror(int status);

#endif
